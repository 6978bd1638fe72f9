# Reads a JSON list of connection strings on stdin and prints, for each, what libpq's own
# PQconninfoParse makes of it (the options it sets) or its error. No server is needed.
import ctypes, ctypes.util, json, sys

lib = ctypes.CDLL(ctypes.util.find_library("pq") or "libpq.so.5")

class Option(ctypes.Structure):
    _fields_ = [("keyword", ctypes.c_char_p), ("envvar", ctypes.c_char_p), ("compiled", ctypes.c_char_p),
                ("val", ctypes.c_char_p), ("label", ctypes.c_char_p), ("dispchar", ctypes.c_char_p), ("dispsize", ctypes.c_int)]

lib.PQconninfoParse.restype = ctypes.POINTER(Option)
lib.PQconninfoParse.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p)]
lib.PQconninfoFree.argtypes = [ctypes.POINTER(Option)]
lib.PQlibVersion.restype = ctypes.c_int

results = []
for text in json.load(sys.stdin):
    error = ctypes.c_char_p()
    options = lib.PQconninfoParse(text.encode("utf-8"), ctypes.byref(error))
    if not options:
        results.append({"error": (error.value or b"?").decode("utf-8", "replace").strip()})
        continue
    values, i = {}, 0
    while options[i].keyword:
        if options[i].val is not None:
            values[options[i].keyword.decode()] = options[i].val.decode("utf-8", "replace")
        i += 1
    lib.PQconninfoFree(options)
    results.append({"values": values})
print(json.dumps({"version": lib.PQlibVersion(), "results": results}))

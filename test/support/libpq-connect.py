# Reads a JSON list of {"url", "env"} on stdin and prints, for each, what libpq itself resolves
# when it starts connecting with exactly that environment (no other PG* variable): the user,
# database, host, port and the password it would send (PQpass: the URL's, PGPASSWORD's or the
# password file's line for that host), or the error that stops it before connecting.
# PQconnectStart runs libpq's whole option processing (defaults, environment, passfile) and
# only begins a non-blocking connect: nothing reaches a server, so the hosts must be loopback
# addresses or socket directories the caller controls.
import ctypes, ctypes.util, json, os, sys

lib = ctypes.CDLL(ctypes.util.find_library("pq") or "libpq.so.5")
lib.PQconnectStart.restype = ctypes.c_void_p
lib.PQconnectStart.argtypes = [ctypes.c_char_p]
for name in ["PQuser", "PQdb", "PQpass", "PQhost", "PQport", "PQerrorMessage"]:
    getattr(lib, name).restype = ctypes.c_char_p
    getattr(lib, name).argtypes = [ctypes.c_void_p]
lib.PQstatus.argtypes = [ctypes.c_void_p]
lib.PQfinish.argtypes = [ctypes.c_void_p]
lib.PQlibVersion.restype = ctypes.c_int

CONNECTION_BAD = 1
base = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
results = []
for case in json.load(sys.stdin):
    os.environ.clear()
    os.environ.update(base)
    os.environ.update(case.get("env", {}))
    conn = lib.PQconnectStart(case["url"].encode("utf-8"))
    text = lambda name: (getattr(lib, name)(conn) or b"").decode("utf-8", "replace")
    error = text("PQerrorMessage").strip()
    # Option errors (invalid sslmode...) leave CONNECTION_BAD before any connect() is tried;
    # an integer option libpq reads when it sets up the socket (keepalives...) fails just after.
    if lib.PQstatus(conn) == CONNECTION_BAD and (" failed:" not in error or "invalid integer value" in error):
        results.append({"error": error})
    else:
        password = text("PQpass")
        # libpq sends no password when it has none or an empty one ("no password supplied").
        results.append({"user": text("PQuser"), "database": text("PQdb"), "host": text("PQhost"), "port": text("PQport"), "password": password or None})
    lib.PQfinish(conn)
print(json.dumps({"version": lib.PQlibVersion(), "results": results}))

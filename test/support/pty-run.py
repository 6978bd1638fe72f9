"""Runs a command on a pseudo-terminal, as a person at a terminal would.

usage: python3 pty-run.py EXPECT ANSWER TIMEOUT_SECONDS COMMAND [ARG...]

Waits until the command's output holds EXPECT, then types ANSWER (use \\r for Enter),
and prints everything the terminal showed on stdout. Exits with the command's status
(124 when it had to be killed after TIMEOUT_SECONDS). The environment is inherited.
"""
import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time


def main() -> int:
    expect, answer, timeout = sys.argv[1].encode(), sys.argv[2].encode().decode("unicode_escape").encode(), float(sys.argv[3])
    command = sys.argv[4:]
    pid, fd = pty.fork()
    if pid == 0:
        # A real terminal has a size; a new pty has 0x0, and prompt libraries wrap at 0 columns.
        fcntl.ioctl(sys.stdout.fileno(), termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
        os.execvp(command[0], command)
    transcript = b""
    sent = False
    deadline = time.time() + timeout
    killed = False
    while True:
        if time.time() > deadline:
            os.kill(pid, 9)
            killed = True
            break
        ready, _, _ = select.select([fd], [], [], 0.05)
        if fd in ready:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            transcript += data
            if not sent and expect in transcript:
                time.sleep(0.3)  # let the prompt finish drawing and enter raw mode
                os.write(fd, answer)
                sent = True
    _, status = os.waitpid(pid, 0)
    sys.stdout.buffer.write(transcript)
    sys.stdout.flush()
    if killed:
        return 124
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())

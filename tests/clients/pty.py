#!/usr/bin/env python3
"""Runs a command on a fresh pseudo-terminal, as a person at a terminal would.

usage: pty.py [--timeout SEC] [--send-after MARKER TEXT]... [--send TEXT] -- CMD [ARG...]

The command gets the terminal's slave side as stdin, stdout, stderr and
controlling terminal (80x24). Everything it writes to the terminal is copied
to our stdout, byte for byte (so expect \r\n). --send TEXT is typed at once;
--send-after MARKER TEXT is typed once MARKER has appeared in the output
(so input reaches a program that is already reading). \n in TEXT is a newline,
\x04 (Ctrl-D) ends input in canonical mode. Exits with the command's exit status
(128+N if a signal N killed it), or 124 after --timeout, having killed the
command's process group (only what this script started).
"""
import errno
import fcntl
import os
import select
import signal
import struct
import sys
import termios
import time


def unescape(s):
    return s.encode().decode("unicode_escape").encode("latin-1")


def main(argv):
    timeout = 60.0
    sends = []  # (marker bytes or None, text bytes)
    i = 0
    while i < len(argv) and argv[i] != "--":
        a = argv[i]
        if a == "--timeout":
            timeout = float(argv[i + 1]); i += 2
        elif a == "--send":
            sends.append((None, unescape(argv[i + 1]))); i += 2
        elif a == "--send-after":
            sends.append((unescape(argv[i + 1]), unescape(argv[i + 2]))); i += 3
        else:
            sys.exit("pty.py: unknown option %s" % a)
    cmd = argv[i + 1:]
    if not cmd:
        sys.exit(__doc__)

    pid, master = os.forkpty()
    if pid == 0:
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
            os.execvp(cmd[0], cmd)
        except OSError as e:
            os.write(2, ("pty.py: %s: %s\n" % (cmd[0], e.strerror)).encode())
        os._exit(127)

    out = bytearray()
    deadline = time.monotonic() + timeout
    status = None
    eof = False
    while True:
        while sends and (sends[0][0] is None or sends[0][0] in out):
            os.write(master, sends.pop(0)[1])
        if status is None:
            wpid, st = os.waitpid(pid, os.WNOHANG)
            if wpid == pid:
                status = st
        if status is not None and eof:
            break
        left = deadline - time.monotonic()
        if left <= 0:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            if status is None:
                os.waitpid(pid, 0)
            sys.stdout.buffer.write(bytes(out))
            sys.stderr.write("pty.py: timed out after %gs: %s\n" % (timeout, " ".join(cmd)))
            return 124
        if eof:  # the terminal closed, the command not yet reaped
            time.sleep(0.02)
            continue
        r, _, _ = select.select([master], [], [], min(left, 0.1))
        if r:
            try:
                data = os.read(master, 65536)
            except OSError as e:
                if e.errno != errno.EIO:
                    raise
                data = b""
            if data:
                out += data
            else:
                eof = True
        elif status is not None:
            # the command is gone; children that still hold the terminal do not keep us
            eof = True
    sys.stdout.buffer.write(bytes(out))
    sys.stdout.flush()
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

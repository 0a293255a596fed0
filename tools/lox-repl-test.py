#!/usr/bin/env python3
"""Drives the Lox REPL through a pseudo-terminal: line editing and history must work
when stdin is a terminal. Types `print 1+2;` and Enter, then the Up arrow and Enter
(which must recall and rerun the line), then Ctrl-D; asserts that `3` was printed twice,
that no literal `^[[A` was echoed, and that the REPL exited with status 0.

Usage: tools/lox-repl-test.py --lox build/release/bin/lox
"""

import argparse
import os
import pty
import select
import subprocess
import sys
import tempfile
import time

UP = b"\x1b[A"


def read_until(fd, proc, out, done, timeout=20.0):
    """Appends what the pty gives to `out` until done(out), EOF or the timeout."""
    deadline = time.monotonic() + timeout
    while not done(out) and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child has closed the terminal
            break
        if not chunk:
            break
        out += chunk
    return out


def settle():
    """libedit prints the prompt before it switches the terminal to raw mode: give it time
    to do so, or a key typed in between is read by the line discipline instead."""
    time.sleep(0.3)


def threes(out):
    """How many output lines are exactly `3` (the result of print 1+2;)."""
    return sum(1 for line in out.replace(b"\r", b"").split(b"\n") if line.strip() == b"3")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lox", required=True)
    args = ap.parse_args()
    master, slave = pty.openpty()
    with tempfile.TemporaryDirectory() as home:
        # A known terminal type, and no ~/.editrc of the user's.
        env = dict(os.environ, TERM="xterm", HOME=home)
        env.pop("EDITRC", None)
        proc = subprocess.Popen([args.lox], stdin=slave, stdout=slave, stderr=slave, env=env,
                                close_fds=True, start_new_session=True)
        os.close(slave)
        out = b""
        status = None
        try:
            out = read_until(master, proc, out, lambda o: b"> " in o)
            settle()
            os.write(master, b"print 1+2;\r")
            out = read_until(master, proc, out, lambda o: threes(o) >= 1 and o.endswith(b"> "))
            settle()
            os.write(master, UP + b"\r")
            out = read_until(master, proc, out, lambda o: threes(o) >= 2 and o.endswith(b"> "))
            settle()
            os.write(master, b"\x04")  # Ctrl-D on an empty line: end of input
            out = read_until(master, proc, out, lambda o: proc.poll() is not None, timeout=10.0)
            status = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.close(master)
    failures = []
    if threes(out) != 2:
        failures.append(f"expected '3' printed twice, got {threes(out)} times")
    if b"^[" in out:
        failures.append("the Up arrow was echoed literally (^[[A): no line editing")
    if b"Unexpected character" in out:
        failures.append("the Up arrow's escape sequence reached the compiler")
    if status != 0:
        failures.append(f"exit status {status}, expected 0 after Ctrl-D")
    if failures:
        print("FAIL lox REPL on a terminal:\n     " + "\n     ".join(failures))
        print("     terminal output: " + repr(out.decode("utf-8", "replace")))
        return 1
    print("lox REPL on a terminal: history and line editing work")
    return 0


if __name__ == "__main__":
    sys.exit(main())

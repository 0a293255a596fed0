#!/usr/bin/env python3
"""The mal REPL's line editing (libedit) through a pseudo-terminal: types a form, then the
Up arrow and Enter, and checks that the recalled line was evaluated again (the escape
sequence must not reach the reader as text, nor be echoed as ^[[A).
Usage: tools/mal-pty-test.py build/release/bin/mal"""
import os
import pty
import select
import sys
import time

if len(sys.argv) != 2:
    sys.exit(__doc__)
mal = sys.argv[1]


def read_until(fd, needle, timeout=60.0):
    """Reads from fd until `needle` (bytes) appears; returns everything read. After a
    prompt, pauses as a typist would: libedit switches the terminal to raw mode around
    the time it prints the prompt, and bytes that arrive before that are echoed by the
    terminal itself (typeahead is a different test from line editing)."""
    data = b""
    end = time.time() + timeout
    while needle not in data:
        left = end - time.time()
        if left <= 0:
            raise TimeoutError(f"no {needle!r} after {timeout}s; got {data!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                chunk = b""
            if not chunk:
                raise EOFError(f"mal exited before {needle!r}; got {data!r}")
            data += chunk
    time.sleep(0.05)
    return data


pid, fd = pty.fork()
if pid == 0:
    os.environ["TERM"] = "xterm"
    os.execv(mal, [mal])

failures = []
try:
    read_until(fd, b"user> ")
    os.write(fd, b"(def! n (atom 0))\r")
    read_until(fd, b"user> ")
    os.write(fd, b"(swap! n + 1)\r")
    first = read_until(fd, b"user> ")
    if b"\n1" not in first.replace(b"\r", b""):
        failures.append(f"(swap! n + 1) did not print 1: {first!r}")
    os.write(fd, b"\x1b[A")  # Up: recall (swap! n + 1)
    time.sleep(0.2)
    os.write(fd, b"\r")
    recalled = read_until(fd, b"user> ")
    text = recalled.replace(b"\r", b"")
    if b"^[[A" in recalled or b"\x1b[A" in text.split(b"\n")[-1]:
        failures.append(f"the Up arrow was echoed literally: {recalled!r}")
    if b"(swap! n + 1)" not in recalled:
        failures.append(f"the Up arrow did not recall the line: {recalled!r}")
    if b"\n2" not in text:
        failures.append(f"the recalled line was not evaluated again (expected 2): {recalled!r}")
    os.write(fd, b"@n\r")
    last = read_until(fd, b"user> ")
    if b"\n2" not in last.replace(b"\r", b""):
        failures.append(f"@n is not 2 after the recalled swap!: {last!r}")
    os.write(fd, b"\x04")  # Ctrl-D: end of input
    _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        failures.append(f"mal did not exit cleanly at end of input: status {status}")
except (TimeoutError, EOFError) as e:
    failures.append(str(e))
    try:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    except OSError:
        pass

for f in failures:
    print(f"mal-pty-test: {f}")
print("mal-pty-test: " + ("FAILED" if failures else "line editing and history work"))
sys.exit(1 if failures else 0)

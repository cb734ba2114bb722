#!/usr/bin/env python3
"""Copies QEMU's serial output to LOG, and to LOG.stamped with each line
prefixed by the host's monotonic time in seconds: the one clock that runs
on across a kexec jump (each kernel's printk time starts again at 0).

    qemu ... -serial stdio | stamp.py LOG [--echo]
"""
import sys
import time

log = sys.argv[1]
echo = "--echo" in sys.argv[2:]
with open(log, "wb") as raw, open(log + ".stamped", "wb") as stamped:
    for line in sys.stdin.buffer:
        raw.write(line)
        raw.flush()
        stamped.write(b"%.3f " % time.monotonic() + line)
        stamped.flush()
        if echo:
            sys.stdout.buffer.write(line)
            sys.stdout.buffer.flush()

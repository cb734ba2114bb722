#!/usr/bin/env python3
"""Writes a memory-like file: 4 KiB pages, 35% zero pages, 45% pages taken
from a system binary, 20% random pages, in a fixed pseudo-random order
(seeded), so every run of a benchmark sees the same bytes.

    make-memory-like.py OUTPUT SIZE_MIB [BINARY]
"""
import os
import random
import sys

out, size_mib = sys.argv[1], int(sys.argv[2])
binary = sys.argv[3] if len(sys.argv) > 3 else "/usr/bin/qemu-system-x86_64"
code = open(binary, "rb").read()
code_pages = max(1, len(code) // 4096)
rng = random.Random(20071113)
zero = bytes(4096)
with open(out, "wb") as f:
    for _ in range(size_mib * 256):
        r = rng.random()
        if r < 0.35:
            f.write(zero)
        elif r < 0.80:
            p = rng.randrange(code_pages)
            f.write(code[p * 4096:(p + 1) * 4096].ljust(4096, b"\0"))
        else:
            f.write(rng.randbytes(4096))

#!/usr/bin/env python3
"""What makes up a static binary: sums the allocated input sections of a GNU
linker map (-Xlinker -Map=FILE) by where they came from.

    size-breakdown.py MAPFILE
"""
import re
import sys
from collections import defaultdict

ALLOC = re.compile(r"^\.(text|rodata|data|bss|tbss|tdata|eh_frame|gcc_except_table|init_array|fini_array|"
                   r"swift5_|rela|got|init|fini)")


def origin(path):
    rules = [
        ("libswiftCore.a", "Swift standard library (libswiftCore)"),
        ("swift_static", "other Swift runtime libraries"),
        ("libblkid.a", "libblkid"),
        ("liblz4.a", "liblz4"),
        ("SystemPackage", "swift-system"),
        ("ResumeCore.build", "ResumeCore (ours)"),
        ("ResumeSystem.build", "ResumeSystem (ours)"),
        ("ResumeAgentKit.build", "ResumeAgentKit (ours)"),
        ("resume_agent.build", "resume-agent main (ours)"),
        ("CResumeShims", "C shims (ours)"),
        ("libstdc++", "C++ runtime (libstdc++, used by the Swift runtime)"),
        ("libgcc", "libgcc"),
        ("/libc.a", "glibc (static)"),
        ("libm", "glibc (static)"),
        ("libpthread", "glibc (static)"),
        ("libdl", "glibc (static)"),
        ("crt", "C start-up files"),
    ]
    for key, name in rules:
        if key in path:
            if key == "swift_static":
                return "Swift runtime: " + re.sub(r"\(.*", "", path.split("/")[-1])
            return name
    return "other: " + path.split("/")[-1]


sizes = defaultdict(int)
in_map = False
pending = None
for line in open(sys.argv[1], errors="replace"):
    if line.startswith("Linker script and memory map") or line.startswith("Memory map"):
        in_map = True
        continue
    if not in_map:
        continue
    parts = line.split()
    if pending is not None:
        # A long section name on its own line; address, size, file follow.
        if len(parts) >= 3 and parts[0].startswith("0x"):
            addr, size, path = int(parts[0], 16), int(parts[1], 16), parts[2]
            if addr:
                sizes[origin(path)] += size
        pending = None
        continue
    if len(parts) == 1 and line.startswith(" .") and ALLOC.match(parts[0]):
        pending = parts[0]
        continue
    if len(parts) >= 4 and line.startswith(" .") and ALLOC.match(parts[0]) and parts[1].startswith("0x"):
        addr, size, path = int(parts[1], 16), int(parts[2], 16), parts[3]
        if addr:
            sizes[origin(path)] += size

total = sum(sizes.values())
for name, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
    print(f"{size / 1024:10.0f} KiB  {100 * size / total:5.1f}%  {name}")
print(f"{total / 1024:10.0f} KiB  total of allocated sections")

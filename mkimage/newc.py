#!/usr/bin/env python3
"""Writes a cpio "newc" archive (the initramfs format) of a directory, plus
/dev/console as a character device, without needing root for mknod.

    newc.py DIR OUTPUT
"""
import os
import stat
import sys

root, out = sys.argv[1], sys.argv[2]
ino = 1


def entry(f, name, mode, data=b"", rdev=(0, 0)):
    global ino
    name_bytes = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_bytes), 0]
    ino += 1
    f.write(b"070701" + b"".join(b"%08X" % v for v in fields))
    f.write(name_bytes)
    f.write(b"\0" * ((4 - (110 + len(name_bytes)) % 4) % 4))
    f.write(data)
    f.write(b"\0" * ((4 - len(data) % 4) % 4))


with open(out, "wb") as f:
    names = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for n in sorted(dirnames + filenames):
            names.append(os.path.join(dirpath, n))
    entry(f, "dev", stat.S_IFDIR | 0o755)
    entry(f, "dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
    for path in names:
        rel = os.path.relpath(path, root)
        st = os.lstat(path)
        if rel == "dev":
            continue
        if stat.S_ISLNK(st.st_mode):
            entry(f, rel, stat.S_IFLNK | 0o777, os.readlink(path).encode())
        elif stat.S_ISDIR(st.st_mode):
            entry(f, rel, stat.S_IFDIR | (st.st_mode & 0o7777))
        else:
            entry(f, rel, stat.S_IFREG | (st.st_mode & 0o7777), open(path, "rb").read())
    entry(f, "TRAILER!!!", 0)

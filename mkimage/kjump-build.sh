#!/bin/bash
# Build the kexec-jump test guests (issue 9) into build/kjump/:
#
#   kjump      mkimage/kjump/kjump.c, static (liblz4)
#   stub.bin   the freestanding restore stub (stub-entry.S + stub.c), flat
#   b.cpio     kernel B's initramfs: busybox, kjump, the stub, /init
#   a.cpio     A's (and C's) initramfs: the same plus kexec-tools, the
#              KEXEC_JUMP bzImage and b.cpio under /boot
#
# The kernel comes from mkimage/kernel-jump.sh (cached). Prints the
# directory on stdout. Needs gcc, liblz4-dev, busybox-static, kexec-tools.
set -euo pipefail
# shellcheck source=mkimage/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SRC="$MKIMAGE_DIR/kjump"
OUT="$REPO_ROOT/build/kjump"
need_cmd gcc gcc
need_cmd ld binutils
need_cmd objcopy binutils
need_cmd python3 python3
[ -x /bin/busybox ] || die "/bin/busybox missing: apt-get install busybox-static"
[ -x /sbin/kexec ] || die "/sbin/kexec missing: apt-get install kexec-tools"
[ -e /usr/lib/x86_64-linux-gnu/liblz4.a ] || die "liblz4.a missing: apt-get install liblz4-dev"

bzimage="$("$MKIMAGE_DIR/kernel-jump.sh")"
mkdir -p "$OUT"

log "kjump: building the test tool and the restore stub"
gcc -O2 -Wall -Wextra -Werror -static -o "$OUT/kjump" "$SRC/kjump.c" -llz4
stubflags=(-ffreestanding -nostdlib -fpie -fvisibility=hidden -mno-red-zone -mgeneral-regs-only
	-fno-stack-protector -fcf-protection=none -fno-asynchronous-unwind-tables -O2 -Wall -Wextra -Werror)
gcc "${stubflags[@]}" -c "$SRC/stub.c" -o "$OUT/stub.o"
gcc -c "$SRC/stub-entry.S" -o "$OUT/stub-entry.o"
# The stub runs wherever it is loaded: only rip-relative references.
if readelf -rW "$OUT/stub.o" "$OUT/stub-entry.o" | grep -E 'R_X86_64_(64|32|32S|GOT)' >&2; then
	die "the stub has absolute or GOT relocations (above): it must be position independent"
fi
ld -T "$SRC/stub.ld" -nostdlib -static -o "$OUT/stub.elf" "$OUT/stub-entry.o" "$OUT/stub.o"
objcopy -O binary "$OUT/stub.elf" "$OUT/stub.bin"
rm -f "$OUT/stub.o" "$OUT/stub-entry.o"

# tree DIR: the files B needs (A and C need them too).
tree()
{
	rm -rf "$1"
	mkdir -p "$1"/{bin,sbin,proc,sys,dev,boot}
	cp /bin/busybox "$1/bin/busybox"
	cp "$OUT/kjump" "$1/bin/kjump"
	cp "$OUT/stub.bin" "$1/stub.bin"
	cp "$SRC/init" "$1/init"
	chmod 0755 "$1/init"
}

log "kjump: b.cpio"
tree "$OUT/tree"
python3 "$MKIMAGE_DIR/newc.py" "$OUT/tree" "$OUT/b.cpio"

log "kjump: a.cpio (with kexec-tools, $bzimage and b.cpio)"
cp /sbin/kexec "$OUT/tree/sbin/kexec"
# kexec-tools is dynamic: its libraries at their paths, and the loader.
for lib in $(ldd /sbin/kexec | awk '/=> \//{ print $3 } /^\t\/lib/{ print $1 }'); do
	mkdir -p "$OUT/tree$(dirname "$lib")"
	cp -L "$lib" "$OUT/tree$lib"
done
cp "$bzimage" "$OUT/tree/boot/bzImage"
cp "$OUT/b.cpio" "$OUT/tree/boot/b.cpio"
python3 "$MKIMAGE_DIR/newc.py" "$OUT/tree" "$OUT/a.cpio"
rm -rf "$OUT/tree"
cp "$bzimage" "$OUT/bzImage"
log "kjump: $OUT: a.cpio $(stat -c %s "$OUT/a.cpio") bytes, b.cpio $(stat -c %s "$OUT/b.cpio") bytes, stub $(stat -c %s "$OUT/stub.bin") bytes"
echo "$OUT"

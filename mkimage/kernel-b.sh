#!/bin/bash
# Build what the jump scenarios restore (issue: jump to kernel B):
#
#   build/vm/initrd-b.img   kernel B's initrd: busybox and an /init that
#                           prints "FASTRESUME-KERNEL-B <its /proc/cmdline>"
#                           and powers off; padded with 30 MiB of random
#                           bytes, so that with Debian's 8 MiB bzImage the
#                           image holds about 40 MB raw, as a real kernel +
#                           initrd does (the jump timing measures that)
#   build/vm/payload.elf    the freestanding x86-64 payload of
#                           mkimage/payload/ (segments restore): it writes
#                           FASTRESUME-SEGMENTS-OK to the serial port and
#                           leaves QEMU through isa-debug-exit
#
# Each skipped when up to date. Needs busybox-static, python3, binutils.
set -euo pipefail
# shellcheck source=mkimage/lib.sh source-path=SCRIPTDIR/..
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_cmd as binutils
need_cmd ld binutils
need_cmd python3 python3
mkdir -p "$VM_DIR"

initrd="$VM_DIR/initrd-b.img"
if up_to_date "$initrd" "initrd-b" "$MKIMAGE_DIR/kernel-b.sh" "$MKIMAGE_DIR/newc.py" /bin/busybox; then
	log "kernel B initrd: up to date"
else
	log "kernel B initrd: building $initrd"
	tree="$VM_DIR/initrd-b"
	rm -rf "$tree"
	mkdir -p "$tree"/{bin,proc}
	cp /bin/busybox "$tree/bin/busybox"
	cat >"$tree/init" <<'INIT'
#!/bin/busybox sh
# Kernel B's init: say that B runs, with the command line the image gave it.
/bin/busybox mount -t proc proc /proc
echo "FASTRESUME-KERNEL-B $(/bin/busybox cat /proc/cmdline)"
/bin/busybox poweroff -f
INIT
	chmod 0755 "$tree/init"
	# Incompressible padding: the restore must move real bytes.
	head -c $((30 * 1024 * 1024)) /dev/urandom >"$tree/padding.bin"
	python3 "$MKIMAGE_DIR/newc.py" "$tree" "$initrd.tmp"
	rm -rf "$tree"
	mv "$initrd.tmp" "$initrd"
	mark_built "$initrd" "initrd-b"
fi

elf="$VM_DIR/payload.elf"
src="$MKIMAGE_DIR/payload/serial-marker.S" script="$MKIMAGE_DIR/payload/payload.ld"
if up_to_date "$elf" "payload" "$MKIMAGE_DIR/kernel-b.sh" "$src" "$script"; then
	log "segments payload: up to date"
else
	log "segments payload: assembling $elf"
	as --64 -o "$VM_DIR/payload.o" "$src"
	ld -T "$script" -nostdlib -static -z max-page-size=4096 -o "$elf" "$VM_DIR/payload.o"
	rm -f "$VM_DIR/payload.o"
	mark_built "$elf" "payload"
fi

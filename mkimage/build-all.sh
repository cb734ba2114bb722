#!/bin/bash
# Build everything the boot tests share, into build/vm/:
#
#   vmlinuz            Debian's kernel (kernel.sh)
#   initrd.img         mkinitramfs with our hook and boot script (initramfs.sh)
#   root.img           ext4 root with busybox and the test init (rootfs.sh)
#   resume-empty.img   GPT disk, empty "fastresume" partition (resume-disks.sh)
#   resume-corrupt.img the same holding a corrupted image (resume-disks.sh)
#   resume-hibernate.img a bigger empty one, for kernel hibernation (ditto)
#   resume-kernel-b.img, resume-kernel-b-reusable.img, resume-segments.img,
#   resume-not-a-kernel.img  images to jump to (resume-disks.sh, kernel-b.sh)
#
# Usage: mkimage/build-all.sh [TARGET...]
#   TARGET: kernel initramfs rootfs resume-empty resume-hibernate
#           resume-corrupt resume-jumps (default: all)
#
# Each step is skipped when its output is newer than its inputs, so calling
# this once per test run costs well under a second when nothing changed.
# Needs: build/static/resume-agent (make static) for the initramfs and
# build/release/resume-image (make build) for resume-corrupt.
set -euo pipefail
# shellcheck source=mkimage/lib.sh source-path=SCRIPTDIR/..
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -gt 0 ] || set -- kernel initramfs rootfs resume-empty resume-hibernate resume-corrupt resume-jumps
for target in "$@"; do
	case "$target" in
	kernel) "$MKIMAGE_DIR/kernel.sh" ;;
	initramfs) "$MKIMAGE_DIR/initramfs.sh" ;;
	rootfs) "$MKIMAGE_DIR/rootfs.sh" ;;
	resume-empty) "$MKIMAGE_DIR/resume-disks.sh" empty ;;
	resume-hibernate) "$MKIMAGE_DIR/resume-disks.sh" hibernate ;;
	resume-corrupt)
		# The image is made from the kernel copy.
		"$MKIMAGE_DIR/kernel.sh"
		"$MKIMAGE_DIR/resume-disks.sh" corrupt
		;;
	resume-jumps)
		"$MKIMAGE_DIR/kernel.sh"
		"$MKIMAGE_DIR/resume-disks.sh" kernel-b kernel-b-reusable segments not-a-kernel
		;;
	*) die "unknown target '$target' (kernel initramfs rootfs resume-empty resume-hibernate resume-corrupt resume-jumps)" ;;
	esac
done

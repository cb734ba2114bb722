#!/bin/bash
# Build build/vm/root.img: a small ext4 root file system (label
# fastresume-root) made with mke2fs -d, holding busybox-static and the test
# /sbin/init (mkimage/rootfs/init). Nothing is mounted or loop-attached, so
# this needs no privileges beyond reading the inputs. Skipped when up to date.
set -euo pipefail
# shellcheck source=mkimage/lib.sh source-path=SCRIPTDIR/..
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_cmd mke2fs e2fsprogs
busybox=/bin/busybox
[ -x "$busybox" ] || die "$busybox not found: apt-get install busybox-static"
# The root has no libraries, so busybox must be the static build
# (Debian's "busybox" package is dynamic; "busybox-static" is not).
if ldd "$busybox" >/dev/null 2>&1; then
	die "$busybox is dynamically linked: apt-get install busybox-static"
fi

out="$VM_DIR/root.img"
init="$MKIMAGE_DIR/rootfs/init"
key="rootfs label=$ROOT_LABEL busybox=$busybox agent=$AGENT_BINARY v2"
# The static resume-image (make static): the root hibernates with `capture`.
image_tool="$(dirname "$AGENT_BINARY")/resume-image"
[ -x "$image_tool" ] || die "$image_tool is missing: build it with 'make static' (the root runs resume-image capture)"
[ -x "$AGENT_BINARY" ] || die "$AGENT_BINARY is missing: build it with 'make static' (the root runs resume-probe)"

mkdir -p "$VM_DIR"
if up_to_date "$out" "$key" "$MKIMAGE_DIR/rootfs.sh" "$init" "$busybox" "$AGENT_BINARY" "$image_tool"; then
	log "root disk: up to date"
	exit 0
fi

log "root disk: building $out"
tree="$VM_DIR/rootfs"
rm -rf "$tree"
mkdir -p "$tree"/{bin,sbin,dev,proc,sys,run,tmp,root,etc}
cp "$busybox" "$tree/bin/busybox"
# One symlink per applet, so the init script can call them by name.
for applet in $("$busybox" --list); do
	[ -e "$tree/bin/$applet" ] || ln -s busybox "$tree/bin/$applet"
done
install -m 0755 "$init" "$tree/sbin/init"
# The agent binary, so the root can run resume-probe as a person would.
install -m 0755 "$AGENT_BINARY" "$tree/sbin/resume-agent"
ln -s resume-agent "$tree/sbin/resume-probe"
install -m 0755 "$image_tool" "$tree/sbin/resume-image"
# Debian keeps the kernel's config in /boot; resume-probe reads KEXEC_JUMP there.
mkdir -p "$tree/boot"
cp "/boot/config-$(detect_kver)" "$tree/boot/"
# initramfs-tools mounts the root read-only and runs fsck only if asked;
# an empty fstab keeps busybox tools from complaining.
: >"$tree/etc/fstab"

# 64 MiB: busybox is about 2 MiB, the agent 8, resume-image 16; ext4 needs
# room for its journal.
rm -f "$out.tmp"
mke2fs -q -F -t ext4 -L "$ROOT_LABEL" -d "$tree" -E root_owner=0:0 \
	"$out.tmp" 64M >/dev/null || die "mke2fs failed"
mv "$out.tmp" "$out"
mark_built "$out" "$key"

#!/bin/bash
# Copy Debian's kernel to build/vm/vmlinuz (QEMU boots it with -kernel).
# Prints nothing to stdout; skipped when the copy is up to date.
set -euo pipefail
# shellcheck source=mkimage/lib.sh source-path=SCRIPTDIR/..
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

kver="$(detect_kver)"
src="/boot/vmlinuz-$kver"
out="$VM_DIR/vmlinuz"
key="kernel $kver"

mkdir -p "$VM_DIR"
if up_to_date "$out" "$key" "$src"; then
	log "kernel $kver: up to date"
	exit 0
fi
# /boot/vmlinuz-* is mode 0600 on Debian: reading it needs root.
[ -r "$src" ] || die "cannot read $src (run as root)"
log "kernel $kver: copying $src"
cp "$src" "$out.tmp"
mv "$out.tmp" "$out"
echo "$kver" >"$VM_DIR/kver"
mark_built "$out" "$key"

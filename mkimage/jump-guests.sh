#!/bin/bash
# Build the guests of the kexec-jump tests (Tests/jump/run.sh)
# into build/jump/:
#
#   b.cpio    the hibernate kernel B's initramfs: busybox, the static
#             resume-agent (build/static, `make static`), /init
#             (mkimage/jump/init)
#   a.cpio    A's and C's initramfs: the same plus the static resume-image,
#             Debian's kexec-tools (with its libraries), the KEXEC_JUMP
#             bzImage and b.cpio under /boot
#   bzImage   the kernel of A, B and C (mkimage/kernel-jump.sh, cached)
#   keys/     two signing key pairs (resume-image keygen, made once): A
#             signs with keys/a (in a.cpio as /etc/fastresume/jump-test.key)
#   a+trust-a.cpio, a+trust-other.cpio
#             a.cpio with /etc/fastresume/keys/*.pub of keys/a or keys/other
#             appended (the kernel unpacks concatenated archives): C with
#             trusted keys
#
# Prints the directory on stdout. Env: STATIC_DIR (default build/static).
set -euo pipefail
# shellcheck source=mkimage/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OUT="$REPO_ROOT/build/jump"
STATIC="${STATIC_DIR:-$REPO_ROOT/build/static}"
need_cmd python3 python3
[ -x /bin/busybox ] || die "/bin/busybox missing: apt-get install busybox-static"
[ -x /sbin/kexec ] || die "/sbin/kexec missing: apt-get install kexec-tools"
for tool in resume-agent resume-image; do
	[ -x "$STATIC/$tool" ] || die "$STATIC/$tool missing: make static"
done

bzimage="$("$MKIMAGE_DIR/kernel-jump.sh")"
mkdir -p "$OUT"
tree="$OUT/tree"
rm -rf "$tree"
mkdir -p "$tree"/{bin,sbin,proc,sys,dev,boot,run,tmp}
cp /bin/busybox "$tree/bin/busybox"
cp "$STATIC/resume-agent" "$tree/sbin/resume-agent"
cp "$MKIMAGE_DIR/jump/init" "$tree/init"
# What modules.builtin would list of the modules the agent loads to bring
# held-back memory online: the kernel has them built in (init puts this
# under /lib/modules/RELEASE).
config="$(dirname "$bzimage")/config"
mkdir -p "$tree/etc"
: >"$tree/etc/modules.builtin"
grep -qx CONFIG_DEV_DAX=y "$config" && echo kernel/drivers/dax/device_dax.ko >>"$tree/etc/modules.builtin"
grep -qx CONFIG_DEV_DAX_HMEM=y "$config" && echo kernel/drivers/dax/hmem/dax_hmem.ko >>"$tree/etc/modules.builtin"
grep -qx CONFIG_DEV_DAX_KMEM=y "$config" && echo kernel/drivers/dax/kmem.ko >>"$tree/etc/modules.builtin"
chmod 0755 "$tree/init"
log "jump: b.cpio"
python3 "$MKIMAGE_DIR/newc.py" "$tree" "$OUT/b.cpio"

log "jump: a.cpio (with resume-image, kexec-tools, the bzImage and b.cpio)"
cp "$STATIC/resume-image" "$tree/sbin/resume-image"
cp /sbin/kexec "$tree/sbin/kexec"
# kexec-tools is dynamic: its libraries at their paths, and the loader.
for lib in $(ldd /sbin/kexec | awk '/=> \//{ print $3 } /^\t\/lib/{ print $1 }'); do
	mkdir -p "$tree$(dirname "$lib")"
	cp -L "$lib" "$tree$lib"
done
cp "$bzimage" "$tree/boot/bzImage"
cp "$OUT/b.cpio" "$tree/boot/b.cpio"
mkdir -p "$OUT/keys"
for key in a other; do
	[ -s "$OUT/keys/$key" ] || "$STATIC/resume-image" keygen --force "$OUT/keys/$key" >/dev/null
done
mkdir -p "$tree/etc/fastresume"
install -m 0600 "$OUT/keys/a" "$tree/etc/fastresume/jump-test.key"
python3 "$MKIMAGE_DIR/newc.py" "$tree" "$OUT/a.cpio"
rm -rf "$tree"
for key in a other; do
	mkdir -p "$tree/etc/fastresume/keys"
	cp "$OUT/keys/$key.pub" "$tree/etc/fastresume/keys/$key.pub"
	python3 "$MKIMAGE_DIR/newc.py" "$tree" "$OUT/trust-$key.cpio"
	cat "$OUT/a.cpio" "$OUT/trust-$key.cpio" >"$OUT/a+trust-$key.cpio"
	rm -rf "$tree"
done
cp "$bzimage" "$OUT/bzImage"
log "jump: $OUT: a.cpio $(stat -c %s "$OUT/a.cpio") bytes, b.cpio $(stat -c %s "$OUT/b.cpio") bytes"
echo "$OUT"

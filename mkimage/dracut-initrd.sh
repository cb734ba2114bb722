#!/bin/bash
# shellcheck disable=SC2016 # dpkg-query formats are literal
# Build an initramfs with Debian's own dracut and the package's dracut
# module 90fastresume, without installing dracut on this machine (Debian's
# dracut and initramfs-tools conflict as packages):
#
#   mkimage/dracut-initrd.sh build/deb/fastresume_VERSION_amd64.deb
#
# 1. build/debroot/dracut: a minimal Debian 12 root (debroot-lib.sh) with
#    dracut and systemd-sysv, and this machine's Debian kernel
#    (debroot_host_kernel).
# 2. dpkg -i the package there (chroot). Its update-initramfs trigger
#    (debian/fastresume.triggers, from dh_installinitramfs) is one Debian's
#    dracut is interested in: dracut regenerates /boot/initrd.img-KVER,
#    with its default configuration. 90fastresume must be among the
#    included modules (lsinitrd -m) and the image must hold
#    /sbin/resume-agent, /sbin/resume-probe and the pre-mount hook. It is
#    copied to build/vm/initrd-dracut.img, the root's kernel to
#    build/vm/vmlinuz-dracut; mkimage/boot-initrd.sh boots them.
# 3. dpkg --purge it: the trigger again; the regenerated initramfs must not
#    hold the agent (build/vm/initrd-dracut-purged.img).
#
# Needs root (chroot, mounts), debootstrap, and a Debian mirror the first
# time (the root is kept in build/debroot/). Each dracut run takes minutes
# under load.
set -euo pipefail
# shellcheck source=mkimage/debroot-lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/debroot-lib.sh"

deb="${1:-}"
if [ -z "$deb" ] || [ ! -f "$deb" ]; then
	die "usage: mkimage/dracut-initrd.sh FASTRESUME.deb (make deb builds it)"
fi
[ "$(id -u)" -eq 0 ] || die "needs root (chroot)"

root="$DEBROOT_DIR/dracut"
# systemd-sysv: Debian's default init, and dracut needs its poweroff,
# reboot and halt (minbase has none); with systemd there, dracut builds a
# systemd initramfs, where the pre-mount hook runs from
# dracut-pre-mount.service. The kernel is this machine's
# (debroot_host_kernel), not a package downloaded again.
debroot_with "$root" "dracut systemd-sysv v3" dracut systemd-sysv

# The root's dracut configuration, as its administrator would set it
# (/etc/dracut.conf.d/): DRACUT_DRIVERS=list (the default here) includes
# only the test VM's drivers (dracut's drivers=, exclusive, like
# initramfs-tools' MODULES=list; the module's own instmods still add
# theirs): each of the two dracut runs then takes far less than with
# Debian's default of every storage driver (DRACUT_DRIVERS=all tests
# that one).
case "${DRACUT_DRIVERS:-list}" in
list) echo 'drivers+=" virtio_pci virtio_blk ext4 "' >"$root/etc/dracut.conf.d/zz-test-drivers.conf" ;;
all) rm -f "$root/etc/dracut.conf.d/zz-test-drivers.conf" ;;
*) die "DRACUT_DRIVERS=${DRACUT_DRIVERS}: list or all" ;;
esac

trap debroot_umount EXIT
debroot_mount "$root"
debroot_host_kernel "$root"
kver="$DEBROOT_KVER"
img="/boot/initrd.img-$kver"
ok() { echo "ok: $*"; }

if in_root "$root" dpkg-query -W -f='${Status}\n' fastresume 2>/dev/null | grep -qv 'not-installed'; then
	in_root "$root" dpkg --purge fastresume >/dev/null
fi
# A public key in /etc/fastresume/keys must reach the initramfs, as the
# initramfs-tools hook copies it (removed again before the purge).
need_cmd "$RESUME_IMAGE_TOOL" "nothing: make build"
rm -rf "$root/etc/fastresume/keys" "$DEBROOT_DIR/dracut-test-key" "$DEBROOT_DIR/dracut-test-key.pub"
"$RESUME_IMAGE_TOOL" keygen "$DEBROOT_DIR/dracut-test-key" >/dev/null
mkdir -p "$root/etc/fastresume/keys"
cp "$DEBROOT_DIR/dracut-test-key.pub" "$root/etc/fastresume/keys/test.pub"
cp "$deb" "$root/tmp/fastresume.deb"
log "dpkg -i $(basename "$deb") in $root (dracut $(in_root "$root" dpkg-query -W -f='${Version}' dracut), kernel $kver)"
in_root "$root" dpkg -i /tmp/fastresume.deb 2>&1 | tee "$root.install.log" || die "dpkg -i failed"
[ -x "$root/usr/lib/dracut/modules.d/90fastresume/module-setup.sh" ] || die "90fastresume not installed"
grep -q "^dracut: Generating $img" "$root.install.log" ||
	die "installing did not make dracut regenerate $img (see $root.install.log)"
ok "installing triggered Debian's dracut: $img regenerated"

modules="$(in_root "$root" lsinitrd -m "$img")"
grep -qx 'fastresume' <<<"$modules" || die "lsinitrd -m: fastresume is not among the dracut modules"
ok "lsinitrd -m $img: fastresume among the dracut modules"
listing="$(in_root "$root" lsinitrd "$img")"
for want in 'sbin/resume-agent$' 'sbin/resume-probe -> .*resume-agent$' 'hooks/pre-mount/05-fastresume-pre-mount.sh$' '/virtio_blk\.ko' \
	'etc/fastresume/keys/test\.pub$'; do
	grep -Eq "$want" <<<"$listing" || die "lsinitrd $img: nothing matches $want"
done
ok "lsinitrd $img: sbin/resume-agent, sbin/resume-probe, hooks/pre-mount/05-fastresume-pre-mount.sh, etc/fastresume/keys/test.pub"
rm -rf "$root/etc/fastresume/keys"
mkdir -p "$VM_DIR"
cp "$root$img" "$VM_DIR/initrd-dracut.img"
cp "$root/boot/vmlinuz-$kver" "$VM_DIR/vmlinuz-dracut"
ok "wrote $VM_DIR/initrd-dracut.img ($(du -h "$VM_DIR/initrd-dracut.img" | cut -f1)) and $VM_DIR/vmlinuz-dracut ($kver)"

log "dpkg --purge fastresume in $root"
in_root "$root" dpkg --purge fastresume 2>&1 | tee "$root.purge.log" || die "dpkg --purge failed"
grep -q "^dracut: Generating $img" "$root.purge.log" ||
	die "purging did not make dracut regenerate $img (see $root.purge.log)"
if in_root "$root" lsinitrd "$img" | grep -E 'resume-agent|fastresume'; then
	die "the initramfs still holds the agent after purge"
fi
ok "purging triggered dracut again: $img regenerated without the agent"
[ ! -e "$root/usr/lib/dracut/modules.d/90fastresume" ] || die "90fastresume left after purge"
cp "$root$img" "$VM_DIR/initrd-dracut-purged.img"
ok "wrote $VM_DIR/initrd-dracut-purged.img"

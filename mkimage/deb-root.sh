#!/bin/bash
# shellcheck disable=SC2015,SC2016 # "a && b || die" is meant; dpkg-query formats are literal
# Prove the Debian package installs and removes cleanly, with the
# installation's own update-initramfs, and make the initramfs images a boot
# scenario boots:
#
#   mkimage/deb-root.sh build/deb/fastresume_VERSION_amd64.deb
#
# 1. build/debroot/initramfs-tools: a minimal Debian 12 root (debootstrap,
#    see debroot-lib.sh) with initramfs-tools, and this machine's Debian
#    kernel (debroot_host_kernel: its modules bind-mounted, no kernel
#    package downloaded again).
# 2. dpkg -i the package there (in a chroot): its postinst runs
#    update-initramfs -u (deferred to initramfs-tools' trigger, as dpkg
#    does); lsinitramfs must show the agent, resume-probe and the boot
#    script in /boot/initrd.img-KVER, which is copied to
#    build/vm/initrd-deb.img (with its kernel, build/vm/vmlinuz-deb).
# 3. dpkg --purge it: postrm rebuilds the initramfs, which must no longer
#    hold any of it (copied to build/vm/initrd-deb-purged.img), and no file
#    of the package may be left in the root.
#
# Each check prints "ok: ..."; the first failure stops with "mkimage: error".
# Needs root (chroot, mounts), debootstrap and the network to a Debian
# mirror the first time (the roots are kept in build/debroot/).
set -euo pipefail
# shellcheck source=mkimage/debroot-lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/debroot-lib.sh"

deb="${1:-}"
[ -n "$deb" ] && [ -f "$deb" ] || die "usage: mkimage/deb-root.sh FASTRESUME.deb (make deb builds it)"
[ "$(id -u)" -eq 0 ] || die "needs root (chroot)"
need_cmd lsinitramfs initramfs-tools-core

root="$DEBROOT_DIR/initramfs-tools"
# zstd: initramfs-tools' default compressor (a Recommends, which minbase
# and --no-install-recommends leave out).
debroot_with "$root" "initramfs-tools zstd v2" initramfs-tools zstd

# The root's initramfs-tools configuration, as its administrator would set
# it (conf.d/): DEB_ROOT_MODULES=list (the default here) takes only the
# test VM's drivers, as the test initramfs does: each of the three
# update-initramfs runs then takes seconds instead of about 40 s with
# Debian's default, MODULES=most (DEB_ROOT_MODULES=most tests that one).
modules_mode="${DEB_ROOT_MODULES:-list}"
case "$modules_mode" in
list)
	echo "MODULES=list" >"$root/etc/initramfs-tools/conf.d/zz-test-modules"
	grep -v '^#' "$MKIMAGE_DIR/initramfs-conf/modules" >"$root/etc/initramfs-tools/modules"
	;;
most)
	rm -f "$root/etc/initramfs-tools/conf.d/zz-test-modules"
	cp "$root/usr/share/initramfs-tools/modules" "$root/etc/initramfs-tools/modules"
	;;
*) die "DEB_ROOT_MODULES=$modules_mode: list or most" ;;
esac

trap debroot_umount EXIT
debroot_mount "$root"
debroot_host_kernel "$root"
kver="$DEBROOT_KVER"
initrd="/boot/initrd.img-$kver"

ok() { echo "ok: $*"; }

# listing: what the root's initramfs holds (host lsinitramfs reads it).
listing() { lsinitramfs "$root$initrd"; }

# Start from a root without the package (a run stopped half-way).
if in_root "$root" dpkg-query -W -f='${Status}' fastresume 2>/dev/null | grep -q 'ok installed\|config-files\|half'; then
	log "purging the fastresume left from an earlier run"
	in_root "$root" dpkg --purge fastresume >/dev/null
fi

cp "$deb" "$root/tmp/fastresume.deb"
log "dpkg -i $(basename "$deb") in $root (kernel $kver)"
in_root "$root" dpkg -i /tmp/fastresume.deb 2>&1 | tee "$root.install.log" || die "dpkg -i failed"
grep -q 'update-initramfs: Generating' "$root.install.log" ||
	die "installing did not regenerate the initramfs (see $root.install.log)"
ok "postinst regenerated $initrd with the root's own update-initramfs"

for f in /usr/sbin/resume-agent /usr/bin/resume-image /usr/share/initramfs-tools/hooks/resume-agent \
	/usr/share/initramfs-tools/scripts/init-premount/resume-agent \
	/usr/lib/dracut/modules.d/90fastresume/module-setup.sh /etc/fastresume/hibernate.conf \
	/usr/share/man/man8/resume-agent.8.gz /usr/share/bash-completion/completions/resume-image; do
	[ -e "$root$f" ] || die "the package did not install $f"
done
[ "$(readlink "$root/usr/sbin/resume-probe")" = resume-agent ] || die "/usr/sbin/resume-probe is not a link to resume-agent"
in_root "$root" resume-image --version >/dev/null || die "resume-image does not run in the Debian root"
in_root "$root" resume-probe --help >/dev/null || die "resume-probe does not run in the Debian root"
ok "files installed; resume-image and resume-probe run in the root"
# The systemd drop-in is shipped, not active.
[ ! -e "$root/etc/systemd/system/systemd-hibernate.service.d/fastresume.conf" ] &&
	[ ! -e "$root/usr/lib/systemd/system/systemd-hibernate.service.d/fastresume.conf" ] ||
	die "the hibernate drop-in is active after install"
ok "systemd-hibernate drop-in shipped disabled"

l="$(listing)"
for want in usr/sbin/resume-agent usr/sbin/resume-probe scripts/init-premount/resume-agent; do
	grep -qx "$want" <<<"$l" || die "the installed initramfs lacks $want"
done
grep -q '/virtio_blk\.ko' <<<"$l" || die "the installed initramfs lacks virtio_blk (cannot boot the test disks)"
ok "lsinitramfs $initrd: usr/sbin/resume-agent, usr/sbin/resume-probe, scripts/init-premount/resume-agent"
cmp -s "$root$initrd" /dev/null && die "empty initramfs"
mkdir -p "$VM_DIR"
cp "$root$initrd" "$VM_DIR/initrd-deb.img"
cp "$root/boot/vmlinuz-$kver" "$VM_DIR/vmlinuz-deb"
ok "wrote $VM_DIR/initrd-deb.img and $VM_DIR/vmlinuz-deb ($kver)"

log "dpkg --purge fastresume in $root"
in_root "$root" dpkg --purge fastresume 2>&1 | tee "$root.purge.log" || die "dpkg --purge failed"
grep -q 'update-initramfs: Generating' "$root.purge.log" ||
	die "purging did not regenerate the initramfs (see $root.purge.log)"
l="$(listing)"
if grep -E 'resume-agent|resume-probe|fastresume' <<<"$l"; then
	die "the initramfs still holds the package's files after purge"
fi
ok "postrm regenerated $initrd without the agent"
for f in /usr/sbin/resume-agent /usr/sbin/resume-probe /usr/bin/resume-image /etc/fastresume \
	/usr/share/initramfs-tools/hooks/resume-agent /usr/lib/dracut/modules.d/90fastresume /usr/libexec/fastresume; do
	[ ! -e "$root$f" ] && [ ! -L "$root$f" ] || die "$f is left after purge"
done
ok "no file of the package left after purge"
cp "$root$initrd" "$VM_DIR/initrd-deb-purged.img"
ok "wrote $VM_DIR/initrd-deb-purged.img"

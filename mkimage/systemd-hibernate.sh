#!/bin/bash
# shellcheck disable=SC2016 # dpkg-query formats are literal
# "systemctl hibernate" through the package's drop-in, in QEMU:
#
#   mkimage/systemd-hibernate.sh build/deb/fastresume_VERSION_amd64.deb
#
# 1. build/debroot/systemd: a minimal Debian 12 root (debroot-lib.sh) with
#    systemd-sysv, and the package installed (dpkg -i); then, as a person
#    would: TARGET=PARTLABEL=fastresume and IMAGE_SIZE=0 in
#    /etc/fastresume/hibernate.conf, the drop-in linked into
#    /etc/systemd/system/systemd-hibernate.service.d/. A unit,
#    fastresume-test.service, runs after boot: with fastresume.test=
#    systemd-hibernate on the command line it prints a token that lives
#    only in its memory, runs "systemctl start hibernate.target" (what
#    "systemctl hibernate" does when there is no logind, but waiting for
#    the job) and, when that returns (after the restore), prints the token
#    again and powers off; without it, it reports and powers off. The root becomes build/vm/root-systemd.img
#    (ext4, label fastresume-root).
# 2. Boot A (the package's initramfs, build/vm/{vmlinuz,initrd}-deb.img
#    from mkimage/deb-root.sh): hibernate; systemd runs
#    systemd-hibernate.service, whose ExecStart is now fastresume-hibernate
#    -> resume-image capture, which powers the VM off.
# 3. Boot B, same disk, resume=PARTLABEL=fastresume: the agent restores the
#    image, "systemctl hibernate" returns in the same process, which prints
#    the same token.
#
# The root has no D-Bus, so there is no systemd-logind: "systemctl
# hibernate" would start hibernate.target itself but without waiting
# (--no-block), and the test could not tell before from after; so the
# test starts the target, which is the same job, and waits. It also skips
# logind's check for swap (the image does not go to swap).
# Needs root, debootstrap, QEMU. Prints checks and PASS/FAIL.
set -euo pipefail
# shellcheck source=mkimage/debroot-lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/debroot-lib.sh"
# shellcheck source=Tests/boot/lib.sh source-path=SCRIPTDIR/../Tests/boot
. "$MKIMAGE_DIR/../Tests/boot/lib.sh"

deb="${1:-}"
if [ -z "$deb" ] || [ ! -f "$deb" ]; then
	die "usage: mkimage/systemd-hibernate.sh FASTRESUME.deb (make deb builds it)"
fi
[ "$(id -u)" -eq 0 ] || die "needs root (chroot)"
for f in "$VM_DIR/vmlinuz-deb" "$VM_DIR/initrd-deb.img"; do
	[ -f "$f" ] || die "$f is missing: run mkimage/deb-root.sh first"
done

root="$DEBROOT_DIR/systemd"
debroot_with "$root" "systemd-sysv v1" systemd-sysv
trap debroot_umount EXIT
debroot_mount "$root"
if in_root "$root" dpkg-query -W -f='${Status}\n' fastresume 2>/dev/null | grep -qv not-installed; then
	in_root "$root" dpkg --purge fastresume >/dev/null
fi
cp "$deb" "$root/tmp/fastresume.deb"
in_root "$root" dpkg -i /tmp/fastresume.deb >"$root.install.log" 2>&1 || die "dpkg -i failed (see $root.install.log)"
debroot_umount

# Configure and enable, as README.md says.
cat >"$root/etc/fastresume/hibernate.conf" <<'CONF'
TARGET=PARTLABEL=fastresume
IMAGE_SIZE=0
CONF
mkdir -p "$root/etc/systemd/system/systemd-hibernate.service.d"
ln -sfn /usr/share/fastresume/systemd/systemd-hibernate.service.d/fastresume.conf \
	"$root/etc/systemd/system/systemd-hibernate.service.d/fastresume.conf"

cat >"$root/usr/local/sbin/fastresume-test" <<'TEST'
#!/bin/sh
# The test unit's script (mkimage/systemd-hibernate.sh).
say() { echo "$*" >/dev/ttyS0; }
say "FASTRESUME-SYSTEMD-UP $(systemctl is-system-running 2>/dev/null)"
say "FASTRESUME-DROPIN $(systemctl show -p DropInPaths --value systemd-hibernate.service)"
say "FASTRESUME-EXECSTART $(systemctl show -p ExecStart --value systemd-hibernate.service | grep -o 'path=[^ ;]*' | tr '\n' ' ')"
say "FASTRESUME-COMMAND $(/usr/libexec/fastresume/fastresume-hibernate --print 2>&1)"
case " $(cat /proc/cmdline) " in
*" fastresume.test=systemd-hibernate "*)
	token="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	say "FASTRESUME-TOKEN-BEFORE $token pid $$"
	if systemctl start hibernate.target; then
		say "FASTRESUME-SYSTEMD-RESUMED $token pid $$"
	else
		say "FASTRESUME-SYSTEMD-HIBERNATE-FAILED"
		journalctl -b -u systemd-hibernate.service --no-pager >/dev/ttyS0 2>&1
	fi
	;;
*)
	say "FASTRESUME-SYSTEMD-FRESH-BOOT"
	;;
esac
say "FASTRESUME-DMESG-BEGIN"
dmesg | grep resume-agent >/dev/ttyS0
say "FASTRESUME-DMESG-END"
systemctl poweroff --no-block
TEST
chmod 0755 "$root/usr/local/sbin/fastresume-test"
cat >"$root/etc/systemd/system/fastresume-test.service" <<'UNIT'
[Unit]
Description=fastresume test: systemctl hibernate through the drop-in
After=multi-user.target

[Service]
Type=simple
ExecStart=/usr/local/sbin/fastresume-test

[Install]
WantedBy=multi-user.target
UNIT
ln -sfn /etc/systemd/system/fastresume-test.service "$root/etc/systemd/system/multi-user.target.wants/fastresume-test.service"
# A read-only root without fstab entries; no getty on the serial line.
: >"$root/etc/fstab"
echo fastresume-test >"$root/etc/hostname"
ln -sfn /dev/null "$root/etc/systemd/system/serial-getty@ttyS0.service"
ln -sfn /dev/null "$root/etc/systemd/system/getty@tty1.service"

img="$VM_DIR/root-systemd.img"
log "systemd root: $img"
rm -f "$img.tmp"
mke2fs -q -F -t ext4 -L "$ROOT_LABEL" -d "$root" -E root_owner=0:0 "$img.tmp" 1G >/dev/null ||
	die "mke2fs failed"
mv "$img.tmp" "$img"

"$MKIMAGE_DIR/build-all.sh" resume-hibernate
alt="$VM_DIR/alt-systemd"
rm -rf "$alt"
mkdir -p "$alt" "$VM_DIR/run" "$LOG_DIR"
ln -s "$VM_DIR/vmlinuz-deb" "$alt/vmlinuz"
ln -s "$VM_DIR/initrd-deb.img" "$alt/initrd.img"
ln -s "$img" "$alt/root.img"
disk="$VM_DIR/run/systemd-hibernate.img"
cp --sparse=always "$VM_DIR/resume-hibernate.img" "$disk"

not() { ! "$@"; }
fails=()
check()
{
	local what="$1"
	shift
	if "$@"; then echo "  ok    $what"; else
		echo "  FAIL  $what"
		fails+=("$what")
	fi
}

log_a="$LOG_DIR/systemd-hibernate-a.serial.log"
log_b="$LOG_DIR/systemd-hibernate-b.serial.log"
rc=0
BOOT_TIMEOUT="${BOOT_TIMEOUT:-480}" VM_DIR="$alt" VM_KERNEL="$alt/vmlinuz" VM_INITRD="$alt/initrd.img" boot_vm "$log_a" "$disk" fastresume.test=systemd-hibernate || rc=$?
echo "boot A (hibernate), QEMU status $rc, log $log_a"
check "boot A: the kernel booted the package's initramfs (initrd-deb.img)" booted_initrd "$log_a" "$VM_DIR/initrd-deb.img"
check "boot A: systemd ran the test unit" has "$log_a" 'FASTRESUME-SYSTEMD-UP'
check "boot A: the drop-in is active" has "$log_a" 'FASTRESUME-DROPIN .*systemd-hibernate.service.d/fastresume.conf'
check "boot A: ExecStart is fastresume-hibernate" has "$log_a" 'FASTRESUME-EXECSTART path=/usr/libexec/fastresume/fastresume-hibernate *$'
check "boot A: the command from hibernate.conf" has "$log_a" 'FASTRESUME-COMMAND /usr/bin/resume-image capture --image-size 0 -- PARTLABEL=fastresume'
check "boot A: QEMU powered off (status $rc)" test "$rc" -eq 0
check "boot A: not failed" not has "$log_a" 'FASTRESUME-SYSTEMD-HIBERNATE-FAILED'
token="$(capture '^.*FASTRESUME-TOKEN-BEFORE ([0-9a-f]+ pid [0-9]+).*' "$log_a")"
check "boot A: token printed before hibernating" test -n "$token"

rc=0
BOOT_TIMEOUT="${BOOT_TIMEOUT:-480}" VM_DIR="$alt" VM_KERNEL="$alt/vmlinuz" VM_INITRD="$alt/initrd.img" boot_vm "$log_b" "$disk" "resume=PARTLABEL=$RESUME_PARTLABEL" || rc=$?
echo "boot B (restore), QEMU status $rc, log $log_b"
check "boot B: the agent restored the snapshot" has "$log_b" 'resume-agent: .*(restor|snapshot)'
check "boot B: systemctl start hibernate.target returned in the same process with the same token ($token)" \
	has "$log_b" "FASTRESUME-SYSTEMD-RESUMED $token\$"
check "boot B: not a fresh boot" not has "$log_b" 'FASTRESUME-SYSTEMD-FRESH-BOOT'
check "boot B: QEMU powered off (status $rc)" test "$rc" -eq 0

if [ "${#fails[@]}" -eq 0 ]; then
	echo "PASS systemd-hibernate"
else
	echo "FAIL systemd-hibernate: ${fails[*]}"
	exit 1
fi

# shellcheck shell=bash
# Shared by mkimage/deb-root.sh and mkimage/dracut-initrd.sh: a minimal
# Debian 12 root made by debootstrap (cached in build/debroot/base), copies
# of it with a kernel and an initramfs generator, and chroot helpers that
# mount /proc, /sys and /dev for the duration of a call. Needs root and
# debootstrap; the packages come from the Debian mirror apt uses here
# ($DEBIAN_MIRROR overrides it).
# shellcheck source=mkimage/lib.sh source-path=SCRIPTDIR/..
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEBROOT_DIR="${DEBROOT_DIR:-$REPO_ROOT/build/debroot}"
DEBIAN_SUITE="${DEBIAN_SUITE:-bookworm}"

# The first Debian mirror apt is configured with (sources.list or deb822).
debian_mirror()
{
	local m
	if [ -n "${DEBIAN_MIRROR:-}" ]; then
		echo "$DEBIAN_MIRROR"
		return 0
	fi
	m="$(grep -rhoE '^(deb |URIs: )[^ ]*https?://[^ ]*/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
		grep -oE 'https?://[^ ]*/debian/?' | head -n1)"
	echo "${m:-http://deb.debian.org/debian}"
}

# debroot_base: build/debroot/base, a --variant=minbase root of the suite
# (about 2 minutes the first time; kept).
debroot_base()
{
	local base="$DEBROOT_DIR/base"
	if [ -e "$base/.complete" ]; then
		log "debian root base: up to date ($base)"
		return 0
	fi
	need_cmd debootstrap debootstrap
	[ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
	rm -rf "$base.tmp"
	mkdir -p "$DEBROOT_DIR"
	log "debian root base: debootstrap --variant=minbase $DEBIAN_SUITE from $(debian_mirror)"
	debootstrap --variant=minbase "$DEBIAN_SUITE" "$base.tmp" "$(debian_mirror)" >"$DEBROOT_DIR/debootstrap.log" 2>&1 ||
		die "debootstrap failed (see $DEBROOT_DIR/debootstrap.log)"
	# debootstrap can leave its /proc mounted.
	umount "$base.tmp/proc" 2>/dev/null || true
	umount "$base.tmp/sys" 2>/dev/null || true
	# No daemons in the chroot (package scripts ask policy-rc.d).
	printf '#!/bin/sh\nexit 101\n' >"$base.tmp/usr/sbin/policy-rc.d"
	chmod 0755 "$base.tmp/usr/sbin/policy-rc.d"
	touch "$base.tmp/.complete"
	mv "$base.tmp" "$base"
}

# Mount points of the chroot at DIR, undone by debroot_umount (and on exit).
DEBROOT_MOUNTED=()
debroot_mount()
{
	local dir="$1" m
	for m in proc sys dev dev/pts; do
		mkdir -p "$dir/$m"
		if ! mountpoint -q "$dir/$m"; then
			case "$m" in
			proc) mount -t proc proc "$dir/proc" ;;
			sys) mount -t sysfs sysfs "$dir/sys" ;;
			dev) mount --bind /dev "$dir/dev" ;;
			dev/pts) mount --bind /dev/pts "$dir/dev/pts" ;;
			esac
			DEBROOT_MOUNTED=("$dir/$m" "${DEBROOT_MOUNTED[@]}")
		fi
	done
	# Name resolution for apt inside.
	cp -L /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
}

debroot_umount()
{
	local m
	for m in "${DEBROOT_MOUNTED[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	DEBROOT_MOUNTED=()
}

# in_root DIR COMMAND...: run COMMAND in the chroot, Debian's way.
in_root()
{
	local dir="$1"
	shift
	chroot "$dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 HOME=/root "$@"
}

# debroot_with DIR STAMP PACKAGE...: DIR is a copy of the base with
# PACKAGE... installed (apt-get, no recommends), made once; STAMP names
# what it was made with.
debroot_with()
{
	local dir="$1" stamp="$2"
	shift 2
	if [ -e "$dir/.complete" ] && [ "$(cat "$dir/.complete")" = "$stamp" ]; then
		log "debian root $(basename "$dir"): up to date"
		return 0
	fi
	debroot_base
	log "debian root $(basename "$dir"): installing $*"
	rm -rf "$dir"
	cp -a "$DEBROOT_DIR/base" "$dir"
	rm -f "$dir/.complete"
	debroot_mount "$dir"
	if ! { in_root "$dir" apt-get update && in_root "$dir" apt-get install -y --no-install-recommends "$@"; } >"$dir.log" 2>&1; then
		debroot_umount
		die "apt-get install in $dir failed (see $dir.log)"
	fi
	in_root "$dir" apt-get clean
	debroot_umount
	echo "$stamp" >"$dir/.complete"
}

# debroot_host_kernel DIR: the kernel the boot tests boot (this machine's
# Debian linux-image-amd64, which make deps installs; mkimage/lib.sh's
# detect_kver) made the root's own, without a kernel package there (its
# download and unpacking cost minutes in CI): /boot/vmlinuz-KVER,
# config-KVER and System.map-KVER copied into DIR, /lib/modules/KVER
# bind-mounted read-only (undone by debroot_umount, after debroot_mount).
# Then, as the kernel package's postinst would, update-initramfs -c makes
# its first initramfs (once: the root keeps it). Sets DEBROOT_KVER.
DEBROOT_KVER=""
debroot_host_kernel()
{
	local dir="$1" kver f
	kver="$(detect_kver)"
	for f in vmlinuz config System.map; do
		cp "/boot/$f-$kver" "$dir/boot/"
	done
	mkdir -p "$dir/lib/modules/$kver"
	if ! mountpoint -q "$dir/lib/modules/$kver"; then
		mount --bind "/lib/modules/$kver" "$dir/lib/modules/$kver"
		mount -o remount,bind,ro "$dir/lib/modules/$kver"
		DEBROOT_MOUNTED=("$dir/lib/modules/$kver" "${DEBROOT_MOUNTED[@]}")
	fi
	if [ ! -e "$dir/boot/initrd.img-$kver" ] && [ -x "$dir/usr/sbin/update-initramfs" ]; then
		log "debian root $(basename "$dir"): update-initramfs -c -k $kver (what the kernel package's postinst does)"
		in_root "$dir" update-initramfs -c -k "$kver" >"$dir.kernel.log" 2>&1 ||
			die "update-initramfs -c failed in $dir (see $dir.kernel.log)"
	fi
	DEBROOT_KVER="$kver"
}

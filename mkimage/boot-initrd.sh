#!/bin/bash
# Boot the test system with another kernel and initramfs than
# build/vm/{vmlinuz,initrd.img}: one made by an installed Debian package
# (mkimage/deb-root.sh) or by Debian's dracut (mkimage/dracut-initrd.sh).
#
#   mkimage/boot-initrd.sh NAME KERNEL INITRD EXPECT [KERNEL_PARAM...]
#
# EXPECT is "agent" (the agent ran, found no image on the empty resume
# partition and the boot went on) or "no-agent" (an initramfs without the
# agent, e.g. after the package was purged: the boot still reaches the
# root). Boots under TCG with Tests/boot/lib.sh's boot_vm (the test root,
# a fresh copy of build/vm/resume-empty.img, 512 MiB + a 1 GiB DIMM whose
# memory starts offline), serial log in build/vm/logs/NAME.serial.log.
# Prints each check, then "PASS NAME" or "FAIL NAME: ..."; exits non-zero
# on failure.
#
# The root is build/vm/root.img plus an /etc/os-release
# (build/vm/root-os-release.img, made here with debugfs): systemd's
# switch-root, in a dracut initramfs, refuses a root without one ("does
# not seem to be an OS tree"). BOOT_TIMEOUT defaults to 480 s here: a
# systemd initramfs under TCG takes two to four minutes to reach the root
# on two busy cores.
set -euo pipefail
: "${BOOT_TIMEOUT:=480}"
# shellcheck source=Tests/boot/lib.sh source-path=SCRIPTDIR/../Tests/boot
. "$(dirname "${BASH_SOURCE[0]}")/../Tests/boot/lib.sh"

[ $# -ge 4 ] || die "usage: mkimage/boot-initrd.sh NAME KERNEL INITRD agent|no-agent [KERNEL_PARAM...]"
name="$1" kernel="$2" initrd="$3" want="$4"
shift 4
case "$want" in agent | no-agent) ;; *) die "EXPECT must be agent or no-agent, not '$want'" ;; esac
for f in "$kernel" "$initrd"; do
	[ -f "$f" ] || die "$f is missing"
done
need_cmd "$QEMU" qemu-system-x86
need_cmd debugfs e2fsprogs
"$MKIMAGE_DIR/build-all.sh" rootfs resume-empty

rootimg="$VM_DIR/root-os-release.img"
if ! up_to_date "$rootimg" "root.img + os-release" "$VM_DIR/root.img" "$MKIMAGE_DIR/boot-initrd.sh"; then
	log "root disk with /etc/os-release: building $rootimg"
	cp --sparse=always "$VM_DIR/root.img" "$rootimg.tmp"
	printf 'ID=fastresume-test\nNAME="fastresume test root"\nPRETTY_NAME="fastresume test root"\n' >"$VM_DIR/os-release"
	printf 'cd /etc\nwrite %s os-release\n' "$VM_DIR/os-release" >"$VM_DIR/os-release.debugfs"
	debugfs -w -f "$VM_DIR/os-release.debugfs" "$rootimg.tmp" >/dev/null 2>&1 || die "debugfs failed on $rootimg.tmp"
	debugfs -R 'stat /etc/os-release' "$rootimg.tmp" 2>/dev/null | grep -q 'Type: regular' ||
		die "/etc/os-release did not get into $rootimg.tmp"
	rm -f "$VM_DIR/os-release" "$VM_DIR/os-release.debugfs"
	mv "$rootimg.tmp" "$rootimg"
	mark_built "$rootimg" "root.img + os-release"
fi

# boot_vm boots VM_KERNEL and VM_INITRD (set when lib.sh was sourced, to
# the test kernel and initramfs) with $VM_DIR/root.img: give it this
# boot's kernel and initramfs, and a directory where root.img is the root
# with os-release.
alt="$VM_DIR/alt-$name"
rm -rf "$alt"
mkdir -p "$alt" "$VM_DIR/run" "$LOG_DIR"
ln -s "$(realpath "$kernel")" "$alt/vmlinuz"
ln -s "$(realpath "$initrd")" "$alt/initrd.img"
ln -s "$rootimg" "$alt/root.img"
disk="$VM_DIR/run/$name.img"
cp --sparse=always "$VM_DIR/resume-empty.img" "$disk"
log="$LOG_DIR/$name.serial.log"

echo "boot $name: $(basename "$kernel") + $(basename "$initrd"), extra parameters: ${*:-none}"
rc=0
VM_DIR="$alt" VM_KERNEL="$alt/vmlinuz" VM_INITRD="$alt/initrd.img" boot_vm "$log" "$disk" "$@" || rc=$?

fails=()
check()
{
	local what="$1"
	shift
	if "$@"; then
		echo "  ok    $what"
	else
		echo "  FAIL  $what"
		fails+=("$what")
	fi
}
all_online()
{
	local states
	states="$(section "$log" MEMSTATE)"
	[ -n "$states" ] && grep -q online <<<"$states" && ! grep -q offline <<<"$states"
}
not() { ! "$@"; }

check "QEMU powered off by itself (status $rc)" test "$rc" -eq 0
check "the kernel booted $(basename "$initrd") (Freeing initrd memory: its size)" booted_initrd "$log" "$initrd"
check "the root was reached (FASTRESUME-ROOT-OK)" has "$log" '^FASTRESUME-ROOT-OK'
if [ "$want" = agent ]; then
	check "every memory block online in the root" all_online
	check "MemTotal above 1 GiB (the DIMM's memory is in use)" \
		test "$(memtotal_kib "$log")" -gt 1048576 2>/dev/null
	check "resume-agent ran (resume-agent: start)" has "$log" 'resume-agent: start'
	check "resume-agent: decision: boot normally" has "$log" 'resume-agent: decision: boot normally'
	check "no fallback: the agent itself onlined the memory" not has "$log" 'resume-agent-boot: .*(fallback|failed|missing)'
else
	# Nothing onlines the DIMM's memory (memhp_default_state=offline is
	# the test's, not a real machine's): only the boot is checked.
	check "no resume-agent line (the agent is not in this initramfs)" not has "$log" 'resume-agent'
fi
if [ "${#fails[@]}" -eq 0 ]; then
	echo "PASS $name"
else
	echo "FAIL $name: ${fails[*]} (log: $log)"
	exit 1
fi

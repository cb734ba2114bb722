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
# root). Boots under TCG with Tests/boot/lib.sh's boot_vm (the test root
# build/vm/root.img, a fresh copy of build/vm/resume-empty.img, 512 MiB +
# a 1 GiB DIMM whose memory starts offline), serial log in
# build/vm/logs/NAME.serial.log. Prints each check, then "PASS NAME" or
# "FAIL NAME: ..."; exits non-zero on failure.
set -euo pipefail
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
"$MKIMAGE_DIR/build-all.sh" rootfs resume-empty

# boot_vm boots $VM_DIR/{vmlinuz,initrd.img,root.img}: give it a directory
# where those names are this boot's files.
alt="$VM_DIR/alt-$name"
rm -rf "$alt"
mkdir -p "$alt" "$VM_DIR/run" "$LOG_DIR"
ln -s "$(realpath "$kernel")" "$alt/vmlinuz"
ln -s "$(realpath "$initrd")" "$alt/initrd.img"
ln -s "$VM_DIR/root.img" "$alt/root.img"
disk="$VM_DIR/run/$name.img"
cp --sparse=always "$VM_DIR/resume-empty.img" "$disk"
log="$LOG_DIR/$name.serial.log"

echo "boot $name: $(basename "$kernel") + $(basename "$initrd"), extra parameters: ${*:-none}"
rc=0
VM_DIR="$alt" boot_vm "$log" "$disk" "$@" || rc=$?

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
check "the root was reached (FASTRESUME-ROOT-OK)" has "$log" '^FASTRESUME-ROOT-OK'
if [ "$want" = agent ]; then
	check "every memory block online in the root" all_online
	check "MemTotal above 1 GiB (the DIMM's memory is in use)" \
		test "$(memtotal_kib "$log" || echo 0)" -gt 1048576
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

# shellcheck shell=bash
# The QEMU boot-test harness: boot_vm and the helpers that read a serial log.
# Sourced by Tests/boot/run.sh and mkimage/demo.sh (which set -euo pipefail).

BOOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=mkimage/lib.sh source-path=SCRIPTDIR/../..
. "$BOOT_DIR/../../mkimage/lib.sh"

# shellcheck disable=SC2034 # used by the scripts that source this
LOG_DIR="$VM_DIR/logs"
QEMU="${QEMU:-qemu-system-x86_64}"
# A TCG boot of Debian's kernel to the test root takes 5-12 s here; a boot
# that has not powered off after this long is hung, and fails.
BOOT_TIMEOUT="${BOOT_TIMEOUT:-120}"

# The kernel command line every test boot starts with:
#   console=ttyS0                 the serial log is what the tests read
#   memhp_default_state=offline   the DIMM's memory comes up offline: the
#                                 agent must bring it online
#   root=LABEL=... ro fastboot    the test root, read-only, no fsck
#   printk.time=1                 timestamps on the agent's kmsg lines, which
#                                 the console echoes (the timings come
#                                 from them)
#   panic=-1                      a panic reboots at once, and -no-reboot
#                                 turns that into a QEMU exit: a broken boot
#                                 fails fast instead of waiting for timeout
# Deliberately not printk.devkmsg=on: with the kernel's default, /dev/kmsg
# keeps 10 lines per 5 s from one open file and drops the rest, as on a
# real machine; an agent that logs more than that loses lines, and the
# tests see it.
BASE_CMDLINE="console=ttyS0 memhp_default_state=offline root=LABEL=$ROOT_LABEL ro fastboot printk.time=1 panic=-1"

# boot_vm LOG RESUME_DISK [KERNEL_PARAM...]
#
# Boots build/vm/{vmlinuz,initrd.img} under TCG (KVM hangs on these
# machines) with 512 MiB of boot memory plus a 1 GiB DIMM whose blocks start
# offline, the root disk read-only as the first virtio-blk disk and
# RESUME_DISK (read-write) as the second. The serial console goes to LOG
# (and, with BOOT_LIVE=1, to the terminal as well); QEMU's own messages go
# to LOG.qemu. Returns QEMU's exit status; 124 means BOOT_TIMEOUT expired.
boot_vm()
{
	local log="$1" disk="$2"
	shift 2
	local cmdline="$BASE_CMDLINE${*:+ $*}" f
	# QEMU_EXTRA: more QEMU arguments for one scenario (a debug-exit device);
	# QEMU_MEM: boot memory other than 512M (a machine with more RAM).
	local extra=()
	read -r -a extra <<<"${QEMU_EXTRA:-}"
	for f in "$VM_DIR/vmlinuz" "$VM_DIR/initrd.img" "$VM_DIR/root.img" "$disk"; do
		[ -e "$f" ] || die "boot_vm: $f is missing (run mkimage/build-all.sh)"
		# QEMU's option syntax uses commas; a path with one would need
		# escaping, and none of ours has one.
		case "$f" in *,*) die "boot_vm: path $f contains a comma" ;; esac
	done
	mkdir -p "$(dirname "$log")"
	rm -f "$log" "$log.qemu"
	# shellcheck disable=SC2054 # the commas are inside QEMU option values
	local qemu=(
		"$QEMU" -accel tcg
		-nodefaults -no-user-config -display none -no-reboot
		-m "${QEMU_MEM:-512M},slots=4,maxmem=4G"
		-object memory-backend-ram,id=m1,size=1G
		-device pc-dimm,id=dimm1,memdev=m1
		-kernel "$VM_DIR/vmlinuz" -initrd "$VM_DIR/initrd.img"
		-append "$cmdline"
		-drive "file=$VM_DIR/root.img,format=raw,if=none,id=rootdisk,readonly=on"
		-device virtio-blk-pci,drive=rootdisk
		-drive "file=$disk,format=raw,if=none,id=resumedisk"
		-device virtio-blk-pci,drive=resumedisk
		"${extra[@]}"
	)
	local rc=0
	if [ "${BOOT_LIVE:-0}" = 1 ]; then
		# stdin from /dev/null: the person watches, QEMU leaves the
		# terminal's modes alone.
		timeout -k 5 "$BOOT_TIMEOUT" "${qemu[@]}" -serial stdio \
			</dev/null 2>"$log.qemu" | python3 -u "$BOOT_DIR/stamp.py" "$log" --echo || rc="${PIPESTATUS[0]}"
	else
		# LOG.stamped carries host times, the clock that runs on across a
		# kexec jump (see stamp.py).
		timeout -k 5 "$BOOT_TIMEOUT" "${qemu[@]}" -serial stdio \
			</dev/null 2>"$log.qemu" | python3 -u "$BOOT_DIR/stamp.py" "$log" || rc="${PIPESTATUS[0]}"
	fi
	# The console ends lines with CR LF.
	[ -e "$log" ] && sed -i 's/\r$//' "$log"
	[ -e "$log.stamped" ] && sed -i 's/\r$//' "$log.stamped"
	return "$rc"
}

# capture ERE [FILE]: group 1 of the first line (of FILE or stdin) that
# ERE matches; ERE must match the whole line. Prints nothing, and still
# succeeds, when no line matches (no "| head -n1", whose early exit can
# fail a pipeline under pipefail).
capture()
{
	sed -nE "s/$1/\\1/;T;p;q" "${@:2}"
}

# has LOG ERE: some line of LOG matches (unanchored: on the console, a
# kmsg echo can land in the middle of a line another writer was printing).
has()
{
	grep -Eq -- "$2" "$1"
}

# first_match LOG ERE: the first matching line.
first_match()
{
	grep -Em1 -- "$2" "$1" || true
}

# console LOG: the serial log without the test root's dmesg copy, i.e.
# what was printed during this boot (after a hibernation restore the copy
# holds the earlier boot's lines).
console()
{
	sed '/FASTRESUME-DMESG-BEGIN/,/FASTRESUME-DMESG-END/d' "$1"
}

# section LOG NAME: the lines the test root printed between
# FASTRESUME-NAME-BEGIN and FASTRESUME-NAME-END.
section()
{
	sed -n "/FASTRESUME-$2-BEGIN/,/FASTRESUME-$2-END/{/FASTRESUME-$2-/d;p}" "$1"
}

# kmsg_time LOG ERE: the printk timestamp (seconds since boot) of the
# first kmsg line "[ T] resume-agent: ..." whose text matches ERE, as the
# console echoed it during the boot (a printk line reaches the console
# whole, though it may land after part of a line another writer printed).
# The test root's dmesg copy is the fallback; it is not searched first
# because after a hibernation restore it holds the earlier boot's lines.
# Prints nothing when there is no such line.
kmsg_time()
{
	local log="$1" re="$2" t
	t="$(console "$log" | capture "^.*\[ *([0-9]+\.[0-9]+)\] ($re).*")"
	if [ -z "$t" ]; then
		t="$(section "$log" DMESG | capture "^.*\[ *([0-9]+\.[0-9]+)\] ($re).*")"
	fi
	echo "$t"
}

# root_uptime LOG: the guest's uptime when the test root's init started.
root_uptime()
{
	capture '^FASTRESUME-UPTIME ([0-9.]+).*' "$1"
}

# memtotal_kib LOG: MemTotal as the test root saw it.
memtotal_kib()
{
	capture '^MemTotal: *([0-9]+) kB.*' "$1"
}

# fcmp A OP B: compare decimal numbers (awk, since bash has no floats).
fcmp()
{
	awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {
		if (op == "<") exit !(a < b); if (op == "<=") exit !(a <= b);
		if (op == ">") exit !(a > b); if (op == ">=") exit !(a >= b);
		exit 2 }'
}

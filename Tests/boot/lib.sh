# shellcheck shell=bash disable=SC2034,SC2054
# (SC2034: the variables are for the scripts that source this; SC2054: the
# commas are inside QEMU option values.)
# The QEMU boot-test harness, shared by Tests/boot/run.sh and its scenario
# files (Tests/boot/scenarios/), mkimage/demo.sh and bench/: the test VM
# (boot_vm and the variables a scenario sets to change it), reading a
# serial log, the assertions (expect ...) and the boots of the scenario
# being run (vm_boot, boot_again, end). Sourcing it only defines things;
# the callers use set -euo pipefail. How to add a scenario:
# Tests/boot/README.md.

BOOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=mkimage/lib.sh source-path=SCRIPTDIR/../..
. "$BOOT_DIR/../../mkimage/lib.sh"

LOG_DIR="${BOOT_LOG_DIR:-$VM_DIR/logs}"
RUN_DIR="$VM_DIR/run"
QEMU="${QEMU:-qemu-system-x86_64}"
# A TCG boot of Debian's kernel to the test root takes 5-12 s here; a boot
# that has not powered off after this long is hung, and fails.
BOOT_TIMEOUT="${BOOT_TIMEOUT:-120}"
# initramfs-tools waits max(30 s, rootdelay) for a missing resume device,
# and so does the agent by default; a test boot reaches its root in about
# 6-10 s of guest time. A root reached later than this means some resume
# wait ran to its default length instead of the bound the test gave.
MAX_ROOT_UPTIME="${MAX_ROOT_UPTIME:-30}"
# The test VM confines its kernel as a real machine would: 1536 MiB of RAM, 512 MiB
# of it below 4 GiB (max-ram-below-4g) and 1 GiB at 4 GiB, one NUMA node
# (QEMU then makes an ACPI SRAT, without which kmem rejects the memory),
# and memmap=1G%4G-1+0xefffffff holding the GiB at 4 GiB back as "Soft
# Reserved": the kernel boots in 512 MiB (MemTotal about 400000 kB) and
# the agent hands the rest to kmem and onlines it (about 1450000 kB).
# With all of it online MemTotal is about 1.4 GiB; confined, under 0.6 GiB.
MIN_MEMTOTAL_KIB=1363148   # 1.3 GiB
MAX_CONFINED_KIB=629146    # 0.6 GiB: MemTotal before the agent onlined
# The memory below 4 GiB the kernel boots in.
LOW_MEM=512M
# The one DIMM scenario's memory (the QEMU-only way: a pc-dimm whose blocks
# come up offline with memhp_default_state=offline).
DIMM_MEMORY=(-m 512M,slots=4,maxmem=4G -object memory-backend-ram,id=m1,size=1G -device pc-dimm,id=dimm1,memdev=m1)

# The agent's exit statuses, from its one list (resume_exit.h, printed by
# `resume-agent --exit-codes`): RESUME_EXIT_WATCHDOG and the rest. The boot
# script logs the watchdog's as "failed (exit status N: the watchdog gave up)".
if [ -x "$AGENT_BINARY" ]; then
	eval "$("$AGENT_BINARY" --exit-codes)"
fi
AGENT_EXIT_WATCHDOG="${RESUME_EXIT_WATCHDOG:-3}"

# The kernel command line every test boot starts with:
#   console=ttyS0                 the serial log is what the tests read
#   memhp_default_state=offline   memory added later (by kmem, or a DIMM)
#                                 comes up offline: the agent onlines it
#                                 (Debian's default too; explicit here)
# and, unless HOLD_BACK says otherwise, the memmap= that holds back the
# memory above LOW_MEM (see boot_vm).
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

# --- the test VM -------------------------------------------------------------
# What boot_vm boots, from these variables. A scenario file may set any of
# them at its top level (it runs in a subshell of its own: nothing leaks
# into the next scenario):
#   VM_KERNEL, VM_INITRD  default build/vm/vmlinuz and build/vm/initrd.img
#   QEMU_MEM              all RAM, default 1536M: LOW_MEM below 4 GiB, the
#                         rest at 4 GiB, held back at boot (memmap=)
#   QEMU_MEMORY=(...)     replaces all the memory arguments (-m, -machine,
#                         -numa), e.g. "${DIMM_MEMORY[@]}" or a machine
#                         without -numa; QEMU_MEM is then not used
#   HOLD_BACK             the memmap= parameter; default "auto": the RAM
#                         above 4 GiB when QEMU_MEMORY is not set, none
#                         when it is; "" for none
#   QEMU_ARGS=(...)       appended last: -machine, -smp, devices; add_disk
#                         and add_usb_disk append here
#   QEMU_EXTRA="..."      the same as one word-split string (bench/ uses it)
VM_KERNEL="$VM_DIR/vmlinuz"
VM_INITRD="$VM_DIR/initrd.img"
QEMU_MEMORY=()
QEMU_ARGS=()
HOLD_BACK=auto

# mib SIZE: 1536M, 2G -> MiB.
mib()
{
	case "$1" in
	*G) echo $((${1%G} * 1024)) ;;
	*M) echo "${1%M}" ;;
	*) die "mib: $1 is not NNNM or NNG" ;;
	esac
}

# add_disk FILE [readonly]: FILE (raw) as one more virtio disk, after the
# root (vda) and the resume disk (vdb): vdc, vdd, ... in the order added.
# Without readonly the VM writes FILE itself: give it a copy.
add_disk()
{
	local id="disk${#QEMU_ARGS[@]}"
	QEMU_ARGS+=(-drive "$(drive_spec "$id" "$@")" -device "virtio-blk-pci,drive=$id")
}

# add_usb_disk FILE [readonly]: FILE as a USB stick (usb-storage on an xHCI
# controller, which is added once). The guest sees it as /dev/sdX only with
# xhci_pci, usb_storage and sd_mod in the initramfs
# (mkimage/initramfs-conf/modules).
add_usb_disk()
{
	local id="usb${#QEMU_ARGS[@]}"
	case " ${QEMU_ARGS[*]} " in
	*" qemu-xhci,id=xhci "*) ;;
	*) QEMU_ARGS+=(-device qemu-xhci,id=xhci) ;;
	esac
	QEMU_ARGS+=(-drive "$(drive_spec "$id" "$@")" -device "usb-storage,bus=xhci.0,drive=$id")
}

# drive_spec ID FILE [readonly]: the value of a -drive option.
drive_spec()
{
	local id="$1" file="$2" spec
	# QEMU's option syntax uses commas; a path with one would need escaping.
	case "$file" in *,*) die "drive_spec: path $file contains a comma" ;; esac
	spec="file=$file,format=raw,if=none,id=$id"
	case "${3:-}" in
	"") ;;
	readonly) spec="$spec,readonly=on" ;;
	*) die "drive_spec: unknown option '$3' (readonly)" ;;
	esac
	echo "$spec"
}

# boot_vm LOG RESUME_DISK [KERNEL_PARAM...]
#
# Boots VM_KERNEL and VM_INITRD under TCG (KVM hangs on these machines)
# with the confined memory described at the top (or QEMU_MEMORY),
# the root disk read-only as the first virtio-blk disk and RESUME_DISK
# (read-write) as the second, then QEMU_ARGS (see above). The serial
# console goes to LOG (and, with BOOT_LIVE=1, to the terminal as well);
# QEMU's own messages go to LOG.qemu. Returns QEMU's exit status; 124
# means BOOT_TIMEOUT expired.
boot_vm()
{
	local log="$1" disk="$2"
	shift 2
	local cmdline="$BASE_CMDLINE" f extra=() memory=("${QEMU_MEMORY[@]}") hold="$HOLD_BACK" total
	read -r -a extra <<<"${QEMU_EXTRA:-}"
	if [ "${#memory[@]}" -eq 0 ]; then
		total="${QEMU_MEM:-1536M}"
		memory=(-m "$total" -machine "pc,max-ram-below-4g=$LOW_MEM"
			-object "memory-backend-ram,id=m0,size=$total" -numa node,nodeid=0,memdev=m0)
		[ "$hold" != auto ] || hold="memmap=$(($(mib "$total") - $(mib "$LOW_MEM")))M%4G-1+0xefffffff"
	fi
	[ "$hold" != auto ] || hold=""
	cmdline="$cmdline${hold:+ $hold}${*:+ $*}"
	for f in "$VM_KERNEL" "$VM_INITRD" "$VM_DIR/root.img" "$disk"; do
		[ -e "$f" ] || die "boot_vm: $f is missing (run mkimage/build-all.sh)"
		case "$f" in *,*) die "boot_vm: path $f contains a comma" ;; esac
	done
	mkdir -p "$(dirname "$log")"
	rm -f "$log" "$log.qemu"
	local qemu=(
		"$QEMU" -accel tcg
		-nodefaults -no-user-config -display none -no-reboot
		"${memory[@]}"
		-kernel "$VM_KERNEL" -initrd "$VM_INITRD"
		-append "$cmdline"
		-drive "file=$VM_DIR/root.img,format=raw,if=none,id=rootdisk,readonly=on"
		-device virtio-blk-pci,drive=rootdisk
		-drive "file=$disk,format=raw,if=none,id=resumedisk"
		-device virtio-blk-pci,drive=resumedisk
		"${QEMU_ARGS[@]}" "${extra[@]}"
	)
	local rc=0 echo=()
	# LOG.stamped carries host times, the clock that runs on across a kexec
	# jump (see stamp.py). With BOOT_LIVE=1 the person watches; stdin from
	# /dev/null either way, so QEMU leaves the terminal's modes alone.
	[ "${BOOT_LIVE:-0}" = 1 ] && echo=(--echo)
	timeout -k 5 "$BOOT_TIMEOUT" "${qemu[@]}" -serial stdio \
		</dev/null 2>"$log.qemu" | python3 -u "$BOOT_DIR/stamp.py" "$log" "${echo[@]}" || rc="${PIPESTATUS[0]}"
	# The console ends lines with CR LF.
	[ -e "$log" ] && sed -i 's/\r$//' "$log"
	[ -e "$log.stamped" ] && sed -i 's/\r$//' "$log.stamped"
	return "$rc"
}

# --- reading a serial log ----------------------------------------------------
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

# booted_initrd LOG FILE: the kernel of this boot unpacked FILE as its
# initramfs: it frees that memory in whole pages ("Freeing initrd memory:
# NK"), so the size says which file it was.
booted_initrd()
{
	local kib want
	kib="$(capture '.*Freeing initrd memory: ([0-9]+)K.*' "$1")"
	want=$((($(stat -L -c %s "$2") + 4095) / 4096 * 4))
	[ -n "$kib" ] && [ "$kib" -ge $((want - 4)) ] && [ "$kib" -le "$want" ]
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

# decision LOG: the agent's last "decision: ..." of this boot (it may first
# pick an image whose header checks out and then reject it while reading
# its payload), without the prefix; empty when it logged none.
decision()
{
	console "$1" | grep -Eo 'resume-agent: decision: .*' | tail -n1 | sed 's/^resume-agent: decision: //' || true
}

# stamp LOG ERE: the host time (LOG.stamped) of the first line matching ERE.
stamp()
{
	grep -Em1 -- "$2" "$1.stamped" | cut -d' ' -f1 || true
}

# fcmp A OP B: compare decimal numbers (awk, since bash has no floats).
fcmp()
{
	awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {
		if (op == "<") exit !(a < b); if (op == "<=") exit !(a <= b);
		if (op == ">") exit !(a > b); if (op == ">=") exit !(a >= b);
		exit 2 }'
}

# delta A B: B - A in seconds, or "?" when either is unknown.
delta()
{
	awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "") printf "%.3f", b - a; else print "?" }'
}

# --- assertions ----------------------------------------------------------------
# expect WHAT CMD...: one check of the scenario: prints "ok" or "FAIL" and
# WHAT; a failure fails the scenario (which goes on with its other checks).
expect()
{
	local what="$1"
	shift
	if "$@"; then
		echo "  ok    $what"
	else
		echo "  FAIL  $what"
		S_FAILS+=("$what")
	fi
}

# fail REASON: the scenario fails without a check (a disk it could not make).
fail()
{
	echo "  FAIL  $1"
	S_FAILS+=("$1")
}

# not CMD...: negation usable through expect.
not()
{
	! "$@"
}

# all_online STATES: the root's "uniq -c" of memory block states names
# online blocks and no offline one.
all_online()
{
	[ -n "$1" ] && grep -q online <<<"$1" && ! grep -q offline <<<"$1"
}

# has_prefix TEXT PREFIX
has_prefix()
{
	[ -n "$1" ] && [ "${1#"$2"}" != "$1" ]
}

# in_range VALUE LOW HIGH: LOW <= VALUE <= HIGH; false when VALUE is empty.
in_range()
{
	[ -n "$1" ] && fcmp "$1" ">=" "$2" && fcmp "$1" "<=" "$3"
}

# expect_normal_boot [--disk-may-change]: the checks every boot that does
# not resume makes: the boot went on to the root with all memory online,
# the agent itself did the onlining (the boot script's fallback did not
# have to), and (unless --disk-may-change) this boot did not write the
# resume disk.
expect_normal_boot()
{
	local log="$S_LOG" mem memtotal onlined decision disk_check=yes
	[ "${1:-}" = --disk-may-change ] && disk_check=no
	expect "root file system reached (FASTRESUME-ROOT-OK)" has "$log" '^FASTRESUME-ROOT-OK$'
	mem="$(section "$log" MEMSTATE)"
	expect "no offline memory block in the root [$(echo "$mem" | xargs)]" \
		all_online "$mem"
	memtotal="$(memtotal_kib "$log")"
	expect "MemTotal ${memtotal:-?} kB > $MIN_MEMTOTAL_KIB kB" \
		fcmp "${memtotal:-0}" ">" "$MIN_MEMTOTAL_KIB"
	decision="$(decision "$log")"
	expect "agent's final decision is to boot normally [$decision]" \
		has_prefix "$decision" 'boot normally: '
	# The blocks the agent onlined this boot, over all its memory lines
	# (a snapshot restore onlines them before its final line).
	onlined="$(console "$log" | { grep -Eo 'resume-agent: memory: [0-9]+ blocks onlined' || true; } | awk '{ n += $3 } END { print n + 0 }')"
	expect "agent onlined the offline blocks (${onlined:-?} blocks onlined; its last memory line: all ... online)" \
		fcmp "${onlined:-0}" ">" 0
	expect "agent's last memory line says all blocks are online" \
		has "$log" 'resume-agent: memory: [0-9]+ blocks onlined, all [0-9]+ blocks online \([0-9]+ MiB\)'
	expect_memtotal_before
	expect "agent logged its handover" has "$log" 'resume-agent: handover after [0-9]+ ms, peak memory [0-9]+ KiB'
	expect "agent exited 0 (no fallback by the boot script)" \
		not has "$log" 'resume-agent-boot: (/sbin/resume-agent (failed|is missing)|fallback)'
	if [ "$disk_check" = yes ]; then
		expect "resume disk unchanged (sha256 before = after)" [ "$S_SUM_BEFORE" = "$S_SUM_AFTER" ]
	fi
}

# memtotal_before LOG: MemTotal (kB) when the agent started onlining, from
# its memory line ("MemTotal A -> B kB"); memtotal_after: B.
memtotal_before()
{
	console "$1" | capture '.*resume-agent: memory: .*MemTotal ([0-9]+) -> [0-9]+ kB.*'
}
memtotal_after()
{
	console "$1" | capture '.*resume-agent: memory: .*MemTotal [0-9]+ -> ([0-9]+) kB.*'
}

# expect_memtotal_before: on a confined boot (memmap= held memory back)
# the kernel ran in its low memory until the agent onlined the rest:
# MemTotal before < MAX_CONFINED_KIB, after > MIN_MEMTOTAL_KIB, both as the
# guest read them.
expect_memtotal_before()
{
	local before after
	grep -q 'Command line: .*memmap=[^ ]*%' "$S_LOG" || return 0
	# A snapshot restore that failed onlined the memory before this line.
	! has "$S_LOG" 'resume-agent: memory: [0-9]+ blocks onlined for the snapshot' || return 0
	before="$(memtotal_before "$S_LOG")"
	after="$(memtotal_after "$S_LOG")"
	expect "confined: MemTotal ${before:-?} kB before the agent onlined < $MAX_CONFINED_KIB kB" \
		fcmp "${before:-999999999}" "<" "$MAX_CONFINED_KIB"
	expect "confined: MemTotal ${after:-?} kB after the agent onlined > $MIN_MEMTOTAL_KIB kB" \
		fcmp "${after:-0}" ">" "$MIN_MEMTOTAL_KIB"
}

# expect_not_stalled: the boot was not held up by a resume wait (see
# MAX_ROOT_UPTIME).
expect_not_stalled()
{
	local up
	up="$(root_uptime "$S_LOG")"
	expect "root reached at ${up:-?} s uptime < ${MAX_ROOT_UPTIME} s (no unbounded resume wait)" \
		fcmp "${up:-999}" "<" "$MAX_ROOT_UPTIME"
}

KERNEL_B_MARKER='^FASTRESUME-KERNEL-B console=ttyS0 panic=-1 fastresume.kernel=B$'

# expect_jump_to_b [DEVICE]: boot A's agent loaded the kernel image on DEVICE
# (default /dev/vdb1) and jumped, and
# kernel B ran with the image's command line, A's root never mounted. Its
# timings (host clock) go to build/vm/logs/jump-timings.txt (bench/jump.sh).
expect_jump_to_b()
{
	local t_start t_jump t_b agent total device="${1:-/dev/vdb1}"
	expect "agent: decision: resume kernel image on $device" has "$S_LOG" "resume-agent: decision: resume kernel image on $device\$"
	expect "agent: jumping (reboot LINUX_REBOOT_CMD_KEXEC)" has "$S_LOG" 'resume-agent: jumping to the kernel image'
	expect "kernel A: kexec_core: Starting new kernel" has "$S_LOG" 'kexec_core: Starting new kernel'
	expect "kernel B ran with the image's command line (FASTRESUME-KERNEL-B ...)" has "$S_LOG" "$KERNEL_B_MARKER"
	expect "A's root was never mounted" not has "$S_LOG" '^FASTRESUME-ROOT-OK$'
	# Host times: the agent's start, its jump, and kernel B's first line
	# (the second "Linux version" banner of the log).
	t_start="$(stamp "$S_LOG" 'resume-agent: start$')"
	t_jump="$(stamp "$S_LOG" 'resume-agent: jumping to the kernel image')"
	t_b="$(grep -E 'Linux version' "$S_LOG.stamped" | sed -n 2p | cut -d' ' -f1 || true)"
	agent="$(delta "$t_start" "$t_jump")"
	total="$(delta "$t_start" "$t_b")"
	echo "  jump timing (host clock, TCG): agent start to kernel B's first line ${total} s, of which the agent (start to jump) ${agent} s"
	printf '%s %-20s agent_start_to_kernel_b=%ss agent_start_to_jump=%ss image_raw_bytes=%s %s\n' \
		"$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$S_NAME" "$total" "$agent" \
		"$(capture '.*resume-agent: found kernel image on [^:]*: ([0-9]+) bytes.*' "$S_LOG")" \
		"$(console "$S_LOG" | grep -Eo 'resume-agent: (decoded and checked|kexec_file_load took) .*' | sed 's/resume-agent: //; s/; kernel B command line.*//' | paste -sd' ')" \
		>>"$LOG_DIR/jump-timings.txt"
}

# --- resume disks (geometry: mkimage/lib.sh) ---------------------------------
# make_resume_disk OUT MIB: a GPT disk of MIB MiB, partition 1 named
# $RESUME_PARTLABEL from RESUME_PART_FIRST_SECTOR to the end, empty.
make_resume_disk()
{
	rm -f "$1"
	truncate -s "$2M" "$1"
	sgdisk --clear --new="1:$RESUME_PART_FIRST_SECTOR:0" --change-name="1:$RESUME_PARTLABEL" "$1" >/dev/null
}

# partition_image DISK OUT [BYTES]: the resume partition's bytes (to the
# disk's end), or those from BYTES into it.
partition_image()
{
	dd if="$1" of="$2" bs=1M iflag=skip_bytes skip=$((RESUME_PART_OFFSET + ${3:-0})) status=none
}

# copy_partition SRC DST [PAGES]: the resume partition of disk SRC into
# that of disk DST, PAGES 4 KiB pages into it (what resume_offset=PAGES
# names), as much as fits in DST's partition; the rest of DST is kept.
copy_partition()
{
	local pages="${3:-0}" room
	room=$(($(resume_part_bytes "$(stat -c %s "$2")") - pages * PAGE_BYTES))
	dd if="$1" of="$2" bs=1M iflag=skip_bytes,count_bytes skip="$RESUME_PART_OFFSET" count="$room" \
		oflag=seek_bytes seek=$((RESUME_PART_OFFSET + pages * PAGE_BYTES)) conv=notrunc,sparse status=none
}

# inspect_field DISK FIELD [BYTES]: a field of `resume-image inspect --json`
# on the resume partition, or on what starts BYTES into it (a logical
# volume's extents): "state": valid, consumed, ...; "unreadable" if none.
inspect_field()
{
	local part="$RUN_DIR/$S_NAME.partition.tmp" value
	partition_image "$1" "$part" "${3:-0}"
	value="$("$RESUME_IMAGE_TOOL" inspect --json "$part" 2>/dev/null | sed -n "s/^ *\"$2\": \"\\{0,1\\}\\([^\"]*\\)\"\\{0,1\\},\$/\\1/p")"
	rm -f "$part"
	echo "${value:-unreadable}"
}

# image_state DISK [BYTES]: "valid", "consumed", ... as resume-image inspect
# says of the resume partition (or of what starts BYTES into it).
image_state()
{
	inspect_field "$1" state "${2:-}"
}

# --- stacked devices and initramfs variants -----------------------------------
# with_loop FILE CMD...: CMD runs with FILE attached to a free loop device,
# LOOP_DEV (LVM and cryptsetup work on block devices); detached afterwards
# whatever CMD did. Returns CMD's status; a failure to attach is recorded.
LOOP_DEV=""
with_loop()
{
	local file="$1" rc=0
	shift
	LOOP_DEV="$(losetup --find --show "$file")" || {
		fail "losetup could not attach $file (no loop device?)"
		return 1
	}
	"$@" || rc=$?
	losetup -d "$LOOP_DEV" || rc=1
	LOOP_DEV=""
	return "$rc"
}

# initrd_with_tree DIR OUT: the test initramfs (build/vm/initrd.img) with
# the files under DIR added (conf/conf.d/resume, cryptroot/crypttab, a
# scripts/local-top script, ...). The test initramfs is unpacked
# (unmkinitramfs), DIR copied over it and the whole packed again (cpio,
# zstd -1, as mkinitramfs does here). A stage's ORDER in DIR is put in
# front of the one mkinitramfs wrote, so DIR's scripts run first and the
# packages' (cryptroot, ...) still run. (A cpio in front of the
# compressed one would be cheaper, but the kernel lets the later
# archive's files win: an ORDER there is lost.)
initrd_with_tree()
{
	local dir="$1" out="$2" tree="$RUN_DIR/$S_NAME.initrd.d" f
	rm -rf "$tree"
	unmkinitramfs "$VM_DIR/initrd.img" "$tree"
	# One archive expected: mkinitramfs adds an early (microcode) one only
	# when there is microcode to put in, and the test config has none.
	[ ! -d "$tree/main" ] || die "initrd_with_tree: $VM_DIR/initrd.img has an early archive (not handled)"
	(cd "$dir" && find . ! -type d) | while read -r f; do
		mkdir -p "$(dirname "$tree/$f")"
		case "$f" in
		./scripts/*/ORDER)
			{ cat "$dir/$f"; [ ! -e "$tree/$f" ] || cat "$tree/$f"; } >"$tree/$f.new"
			mv "$tree/$f.new" "$tree/$f"
			;;
		*) cp -a "$dir/$f" "$tree/$f" ;;
		esac
	done
	(cd "$tree" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | zstd -q -1 >"$out"
	rm -rf "$tree"
}

# --- the snapshot (hibernation) scenarios ------------------------------------
# The disk the snapshot scenario's capture boot left, kept for the ones
# that change it (truncated, other memory).
CAPTURED_DISK="$RUN_DIR/snapshot-captured.img"

# expect_capture: the boot just ended was a capture boot (the root
# hibernated with resume-image capture): check it, and keep a copy of its
# disk as CAPTURED_DISK.
expect_capture()
{
	local token
	token="$(capture '^FASTRESUME-TOKEN-BEFORE ([0-9a-f]+) pid [0-9]+$' "$S_LOG")"
	expect "capture boot: the root holds token ${token:-?}" [ -n "$token" ]
	expect "capture boot: resume-image capture saved the snapshot" \
		has "$S_LOG" '^resume-image: saved [0-9]+ bytes of snapshot into [0-9]+ bytes on /dev/vdb1'
	expect "capture boot: and powered off (no FASTRESUME-CAPTURE-FAILED, no normal poweroff)" \
		not has "$S_LOG" '^FASTRESUME-(CAPTURE-FAILED|POWEROFF)$'
	expect "capture boot: the image on disk is valid" [ "$(image_state "$S_DISK")" = valid ]
	cp --sparse=always "$S_DISK" "$CAPTURED_DISK"
}

# captured_disk: CAPTURED_DISK from this run's snapshot scenario, or made
# now by a capture boot of this scenario ("capture", checked as above) on
# the standard VM, whatever memory and devices the scenario gives its own
# boot. Returns 1, the reason recorded, when there is none.
captured_disk()
{
	local QEMU_MEM="" QEMU_MEMORY=() QEMU_ARGS=() HOLD_BACK=auto
	if [ -e "$CAPTURED_DISK" ] && [ "$CAPTURED_DISK" -nt "$AGENT_BINARY" ]; then
		return 0
	fi
	echo "  (no captured image from this run: capturing one first)"
	cp --sparse=always "$VM_DIR/resume-hibernate.img" "$RUN_DIR/$S_NAME-capture.img"
	if vm_boot capture "$RUN_DIR/$S_NAME-capture.img" fastresume.test=capture; then
		expect_capture
	fi
	[ -e "$CAPTURED_DISK" ] || {
		fail "no captured snapshot image"
		return 1
	}
}

# --- the boots of a scenario -----------------------------------------------------
# The scenario being run; run.sh sets S_NAME and S_RESULT, the rest
# describes its latest boot (read them in checks).
S_NAME="" S_RESULT="" S_LOG="" S_DISK="" S_RC=0 S_WALL=0 S_T0=""
S_SUM_FIRST="" S_SUM_BEFORE="" S_SUM_AFTER="" S_BOOT_SUFFIX=""
S_FAILS=()

# vm_boot SUFFIX DISK [KERNEL_PARAM...]: one boot of the scenario, DISK its
# resume disk (written in place). Its serial log is LOG_DIR/NAME.serial.log
# (NAME-SUFFIX.serial.log with a SUFFIX). Then S_LOG, S_DISK, S_RC (0 when
# QEMU ended as EXPECT_RC says, default 0), S_WALL and S_SUM_BEFORE/AFTER
# (the disk's sha256 before and after this boot) describe it. Records its
# timings (timings.txt) and a row of boots.tsv (the demo's table). Returns
# 1, the reason recorded, when QEMU did not end as expected (a hung boot).
vm_boot()
{
	local suffix="$1" disk="$2" t0 t1 what
	shift 2
	# An earlier boot of this scenario: its timings now, under NAME/A.
	[ -n "$S_LOG" ] && [ -e "$S_LOG" ] && record_timings "$S_NAME${S_BOOT_SUFFIX:-/A}"
	S_BOOT_SUFFIX="${suffix:+/$suffix}"
	S_LOG="$LOG_DIR/$S_NAME${suffix:+-$suffix}.serial.log"
	[ -n "$suffix" ] || echo
	echo "--- $S_NAME${suffix:+ (boot $suffix)}: ${*:-(no extra kernel parameters)}"
	# A later boot of the same disk starts from the last one's end (hashing
	# a 512 MiB disk takes seconds; nothing between the boots writes it).
	if [ "$disk" = "$S_DISK" ] && [ -n "$S_SUM_AFTER" ]; then
		S_SUM_BEFORE="$S_SUM_AFTER"
	else
		S_SUM_BEFORE="$(sha256sum <"$disk")"
	fi
	[ -n "$S_SUM_FIRST" ] || S_SUM_FIRST="$S_SUM_BEFORE"
	S_DISK="$disk"
	t0="$(date +%s.%N)"
	S_RC=0
	boot_vm "$S_LOG" "$disk" "$@" || S_RC=$?
	t1="$(date +%s.%N)"
	S_WALL="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
	# A scenario that ends QEMU on purpose (isa-debug-exit) says how.
	[ "$S_RC" -eq "${EXPECT_RC:-0}" ] && S_RC=0
	S_SUM_AFTER="$(sha256sum <"$disk")"
	printf '%s\t%s\t%s\t%s\t%s\n' "$S_NAME" "${suffix:-A}" "$S_WALL" "$(decision "$S_LOG")" "$S_LOG" >>"$LOG_DIR/boots.tsv"
	echo "  boot took ${S_WALL} s wall; serial log: $S_LOG"
	what="${suffix:+boot $suffix: }"
	if [ "$S_RC" -eq 124 ] || [ "$S_RC" -eq 137 ]; then
		fail "${what}the VM did not power off within ${BOOT_TIMEOUT} s (hung boot)"
	elif [ "$S_RC" -ne 0 ]; then
		fail "${what}QEMU exited with status $S_RC (see $S_LOG.qemu)"
	fi
	[ "$S_RC" -eq 0 ]
}

# boot_again SUFFIX [KERNEL_PARAM...]: boot the scenario's disk once more
# (boot B, C, ...), as it was left.
boot_again()
{
	local suffix="$1"
	shift
	vm_boot "$suffix" "$S_DISK" "$@"
}

# Append this boot's timings (printk times, seconds since the kernel
# started): when the boot script started the agent, the agent's first
# line, its handover line, what the handover line reports, when the root's
# init started, and the wall time of the whole QEMU run.
record_timings()
{
	local label="$1" log="$S_LOG" script first handover startup span ms kib up
	script="$(kmsg_time "$log" 'resume-agent-boot: running ')"
	first="$(kmsg_time "$log" 'resume-agent: ')"
	handover="$(kmsg_time "$log" 'resume-agent: handover after')"
	startup="$(delta "$script" "$first")"
	span="$(delta "$first" "$handover")"
	ms="$(capture '.*resume-agent: handover after ([0-9]+) ms.*' "$log")"
	kib="$(capture '.*resume-agent: handover after [0-9]+ ms, peak memory ([0-9]+) KiB.*' "$log")"
	up="$(root_uptime "$log")"
	printf '%s %-20s script_start=%ss agent_first=%ss handover=%ss agent_startup=%ss agent_span=%ss reported_ms=%s peak_kib=%s root_uptime=%ss wall=%ss agent=%s kernel=%s\n' \
		"$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$label" "${script:-?}" "${first:-?}" "${handover:-?}" \
		"$startup" "$span" "${ms:-?}" "${kib:-?}" "${up:-?}" "$S_WALL" "$(sha256sum "$AGENT_BINARY" | cut -c1-12)" \
		"$(cat "$VM_DIR/kver")" >>"$LOG_DIR/timings.txt"
	echo "  timings: agent started by the script at ${script:-?} s, first line at ${first:-?} s (startup ${startup} s), handover at ${handover:-?} s (span ${span} s; agent says ${ms:-?} ms, peak ${kib:-?} KiB), root at ${up:-?} s"
}

# end: the scenario's result: its PASS or FAIL line (with the reasons and
# the last relevant serial lines), also written to S_RESULT for run.sh.
end()
{
	local wall reasons="" r line
	if [ -n "$S_LOG" ] && [ -e "$S_LOG" ]; then
		record_timings "$S_NAME$S_BOOT_SUFFIX"
	fi
	wall="$(awk -v a="$S_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
	if [ "${#S_FAILS[@]}" -eq 0 ]; then
		line="PASS $S_NAME ($wall s)"
		echo "$line"
	else
		for r in "${S_FAILS[@]}"; do
			reasons="${reasons:+$reasons; }$r"
		done
		line="FAIL $S_NAME: $reasons"
		echo "$line"
		if [ -n "$S_LOG" ] && [ -e "$S_LOG" ]; then
			echo "  last relevant serial lines (full log: $S_LOG):"
			grep -E 'resume-agent|FASTRESUME|Kernel panic|ALERT|Gave up' "$S_LOG" | tail -n 20 | sed 's/^/    | /' || true
		fi
	fi
	[ -z "$S_RESULT" ] || echo "$line" >"$S_RESULT"
}

# Why a build-all.sh target could not be built, by target (run.sh).
declare -A BUILD_ERROR=()

# run_scenario FILE: run.sh runs each scenario file through this, in a
# subshell under set -eE, S_NAME, S_RESULT and S_T0 set. The file sets its
# variables and functions (Tests/boot/README.md); then, unless it defines
# run (a scenario without the usual first boot), the resume disk (DISK
# copied, or made by prepare_disk) is booted with PARAMS, and checks reads
# the result. A NEEDS target that could not be built (BUILD_ERROR, from
# run.sh) fails the scenario. An unexpected error stops the scenario
# (set -e), naming the command, and run.sh records a FAIL.
run_scenario()
{
	local file="$1" disk="$RUN_DIR/$S_NAME.img" t
	# (Not in a command substitution, where bash clears -e and a failure
	# is the caller's to judge.)
	trap 'S_ERR=$?; [[ $- != *e* ]] || echo "  error: ${BASH_SOURCE[0]##*/}:$LINENO: \"$BASH_COMMAND\" failed (status $S_ERR)" >&2' ERR
	NEEDS=() PARAMS=() DISK=""
	# shellcheck source=/dev/null
	. "$file"
	for t in "${NEEDS[@]}"; do
		[ -z "${BUILD_ERROR[$t]:-}" ] || fail "no $t disk: ${BUILD_ERROR[$t]}"
	done
	if [ "${#S_FAILS[@]}" -eq 0 ] && declare -F run >/dev/null; then
		run
	elif [ "${#S_FAILS[@]}" -eq 0 ]; then
		if declare -F prepare_disk >/dev/null; then
			prepare_disk "$disk"
		else
			cp --sparse=always "$(case "$DISK" in /*) echo "$DISK" ;; *) echo "$VM_DIR/$DISK" ;; esac)" "$disk"
		fi
		if [ "${#S_FAILS[@]}" -eq 0 ] && vm_boot "" "$disk" "${PARAMS[@]}"; then
			checks
		fi
	fi
	end
}

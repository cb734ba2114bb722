#!/bin/bash
# QEMU boot tests: boot Debian's kernel with the initramfs that mkinitramfs
# made with our hook and boot script, through the real agent, and check the
# serial log.
#
# Usage: Tests/boot/run.sh [SCENARIO...]
#   SCENARIO: a number or name from the list below (default: all)
#     1 no-image            empty resume partition, no resume=: the agent
#                           scans and finds nothing
#     2 noresume            noresume: the agent does not probe at all
#     3 missing-device      resume= names a device that never appears; the
#                           wait is bounded by resume_agent.wait=3
#     4 corrupt-image       resume=PARTLABEL=fastresume holds an image with
#                           one payload byte flipped: rejected, not written
#     5 corrupt-image-scan  the same image found by the scan (no resume=)
#     6 kernel-hibernation  two boots: the test root hibernates with the
#                           kernel's own swsusp to the resume partition;
#                           the next boot, resume= on it, the agent hands
#                           that image to the kernel (/sys/power/resume),
#                           after bringing the memory online, and the
#                           hibernated root carries on
#     7 install-script      no boot: initramfs/install.sh --root installs,
#                           re-installs and uninstalls; the installed
#                           config dir builds an initramfs with the agent
#     8 kernel-b            A/B swap: the partition holds a one-shot kernel
#                           image (Debian's kernel, a marker initrd, its own
#                           command line); boot A jumps to B, which prints
#                           the image's command line; the image is then
#                           consumed, and the next boot is a normal one
#     9 kernel-b-reusable   the same image made --reusable: two boots, two
#                           jumps, the disk never written
#    10 segments            a segments image of a freestanding payload
#                           (mkimage/payload/): kexec_load and the jump
#                           reach it; it prints its marker and leaves QEMU
#                           through isa-debug-exit
#    11 not-a-kernel        a kernel image whose kernel is random bytes:
#                           kexec_file_load refuses it (ENOEXEC), the agent
#                           says so, unloads, and the boot goes on
#    12 pid1                rdinit=/sbin/resume-agent: the agent runs as PID
#                           1, decides, onlines memory and execs /init
#                           (initramfs-tools), whose boot script does not
#                           run it again
#    13 probe               the booted root runs resume-probe (text and
#                           JSON) with a valid kernel image on the disk
#    14 snapshot            three boots: (a) the root keeps a token in a
#                           process and in tmpfs and hibernates with
#                           resume-image capture; (b) the agent restores
#                           that snapshot and the same process prints the
#                           same token; (c) a normal boot: never twice
#    15 snapshot-truncated  the captured image cut short (a partition too
#                           small for it): rejected, normal boot
#    16 snapshot-other-memory  the captured image booted on a machine with
#                           256 MiB more RAM: refused with the reason,
#                           normal boot
#    17 capture-refused     resume-image capture on a kernel booted with
#                           nohibernate: refused with the reason, nothing
#                           frozen, no image written, the system goes on
#    18 watchdog            resume_agent.timeout=2 shorter than the device
#                           wait: the agent gives up at 2 s, the boot script
#                           brings memory online, and the boot goes on
#    19 dry-run             resume_agent.dry_run on a disk with a valid
#                           kernel image: the agent decides, says what it
#                           would do, changes nothing; the boot script
#                           brings memory online
#    20 resume-offset       the kernel image 256 pages into the partition,
#                           resume_offset=256: found there, and the jump
#                           to kernel B happens
#
# Every boot must end in a normal boot with all memory online (the DIMM's
# 1 GiB starts offline: memhp_default_state=offline) and, but for the
# hibernation one, the resume disk unchanged. Each scenario prints its
# checks and a PASS or FAIL line; serial logs go to build/vm/logs/, timings
# are appended to build/vm/logs/timings.txt, and the last line is
# "N passed, N failed". Exits non-zero when anything failed.
#
# It builds what it boots first (mkimage/build-all.sh; each step is skipped
# when up to date) from build/static/resume-agent (make static) and
# build/release/resume-image (make build); a missing agent fails every
# scenario, a missing resume-image fails the corrupt-image ones.
#
# Environment: BOOT_TIMEOUT (default 120 s per boot), MAX_ROOT_UPTIME
# (default 30 s), RESUME_AGENT_BINARY, RESUME_IMAGE_TOOL, KVER.
set -euo pipefail
# shellcheck source=Tests/boot/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# initramfs-tools waits max(30 s, rootdelay) for a missing resume device,
# and so does the agent by default; a test boot reaches its root in about
# 6-10 s of guest time. A root reached later than this means some resume
# wait ran to its default length instead of the bound the test gave.
MAX_ROOT_UPTIME="${MAX_ROOT_UPTIME:-30}"
# The DIMM adds 1 GiB to the 512 MiB of boot memory: with all of it online
# MemTotal is about 1.4 GiB; with the DIMM offline it is under 0.5 GiB.
MIN_MEMTOTAL_KIB=1363148 # 1.3 GiB

ALL_SCENARIOS=(no-image noresume missing-device corrupt-image corrupt-image-scan kernel-hibernation install-script
	kernel-b kernel-b-reusable segments not-a-kernel pid1 probe snapshot snapshot-truncated snapshot-other-memory capture-refused watchdog dry-run resume-offset)
RUN_DIR="$VM_DIR/run"
TIMINGS="$LOG_DIR/timings.txt"

passed=0
failed=0
summary=()

finish()
{
	echo
	local line
	for line in "${summary[@]}"; do
		echo "$line"
	done
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

# A failure before any boot (a missing tool or binary) fails every
# requested scenario, with the reason, and still ends with the count line.
setup_failure()
{
	local reason="$1" name
	echo "FAIL setup: $reason" >&2
	for name in "${selected[@]}"; do
		summary+=("FAIL $name: setup: $reason")
		failed=$((failed + 1))
	done
	finish || exit 1
}

# --- which scenarios --------------------------------------------------------
selected=()
if [ $# -eq 0 ]; then
	selected=("${ALL_SCENARIOS[@]}")
fi
for arg in "$@"; do
	case "$arg" in
	[1-9]) [ "$arg" -le "${#ALL_SCENARIOS[@]}" ] || die "no scenario $arg"
		selected+=("${ALL_SCENARIOS[$((arg - 1))]}") ;;
	*)
		found=no
		for name in "${ALL_SCENARIOS[@]}"; do
			[ "$name" = "$arg" ] && found=yes
		done
		[ "$found" = yes ] || die "unknown scenario '$arg' (${ALL_SCENARIOS[*]})"
		selected+=("$arg")
		;;
	esac
done

# --- prerequisites and the shared build --------------------------------------
for tool in "$QEMU:qemu-system-x86" timeout:coreutils sha256sum:coreutils \
	awk:mawk sgdisk:gdisk mke2fs:e2fsprogs mkinitramfs:initramfs-tools; do
	if ! command -v "${tool%%:*}" >/dev/null 2>&1; then
		setup_failure "'${tool%%:*}' not found: apt-get install ${tool#*:}"
	fi
done
if [ ! -f "$AGENT_BINARY" ] || [ ! -x "$AGENT_BINARY" ]; then
	setup_failure "agent binary $AGENT_BINARY is missing: build it with 'make static'"
fi
agent_id="$(sha256sum "$AGENT_BINARY" | cut -c1-12)"
echo "boot tests: agent $AGENT_BINARY (sha256 $agent_id...), kernel $(detect_kver)"

mkdir -p "$LOG_DIR" "$RUN_DIR"
if ! "$MKIMAGE_DIR/build-all.sh" kernel initramfs rootfs resume-empty resume-hibernate; then
	setup_failure "mkimage/build-all.sh failed (see above)"
fi
# The corrupt-image disk needs the host tool; without it only the
# scenarios that use that disk fail.
corrupt_disk_error=""
if ! "$MKIMAGE_DIR/build-all.sh" resume-corrupt 2>"$LOG_DIR/build-corrupt.err"; then
	corrupt_disk_error="$(grep 'error:' "$LOG_DIR/build-corrupt.err" | tail -n1 || true)"
	corrupt_disk_error="${corrupt_disk_error:-building resume-corrupt.img failed}"
fi
cat "$LOG_DIR/build-corrupt.err" >&2
# The images to jump to (they need the host tool too).
jump_disks_error=""
if ! "$MKIMAGE_DIR/build-all.sh" resume-jumps 2>"$LOG_DIR/build-jumps.err"; then
	jump_disks_error="$(grep 'error:' "$LOG_DIR/build-jumps.err" | tail -n1 || true)"
	jump_disks_error="${jump_disks_error:-building the jump images failed}"
fi
cat "$LOG_DIR/build-jumps.err" >&2

# --- one scenario ------------------------------------------------------------
# State of the scenario being run, shared by the helpers below.
S_NAME="" S_LOG="" S_DISK="" S_RC=0 S_WALL=0 S_WALL_TOTAL=0 S_SUM_BEFORE="" S_SUM_AFTER=""
# "/B" while a scenario's second boot is the one being described.
S_BOOT_SUFFIX=""
S_FAILS=()

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

# begin NAME DISK_SOURCE [KERNEL_PARAM...]: boot one scenario on a private
# copy of DISK_SOURCE (the agent must not write it, and a scenario that
# did must not spoil the next one). Returns 1 when the VM did not boot to
# the end; the reason is recorded.
begin()
{
	S_NAME="$1"
	local src="$2"
	shift 2
	S_FAILS=()
	S_LOG="$LOG_DIR/$S_NAME.serial.log"
	S_DISK="$RUN_DIR/$S_NAME.img"
	echo
	echo "--- $S_NAME: ${*:-(no extra kernel parameters)}"
	cp --sparse=always "$src" "$S_DISK"
	S_SUM_BEFORE="$(sha256sum <"$S_DISK")"
	local t0 t1
	t0="$(date +%s.%N)"
	S_RC=0
	boot_vm "$S_LOG" "$S_DISK" "$@" || S_RC=$?
	t1="$(date +%s.%N)"
	S_WALL="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
	S_WALL_TOTAL="$S_WALL"
	# A scenario that ends QEMU on purpose (isa-debug-exit) says how.
	[ "$S_RC" -eq "${EXPECT_RC:-0}" ] && S_RC=0
	S_SUM_AFTER="$(sha256sum <"$S_DISK")"
	echo "  boot took ${S_WALL} s wall; serial log: $S_LOG"
	if [ "$S_RC" -eq 124 ] || [ "$S_RC" -eq 137 ]; then
		S_FAILS+=("the VM did not power off within ${BOOT_TIMEOUT} s (hung boot)")
	elif [ "$S_RC" -ne 0 ]; then
		S_FAILS+=("QEMU exited with status $S_RC (see $S_LOG.qemu)")
	fi
	if [ "${#S_FAILS[@]}" -gt 0 ]; then
		echo "  FAIL  ${S_FAILS[0]}"
		return 1
	fi
	return 0
}

# The checks every scenario makes: the boot went on to the root with all
# memory online, the agent itself did the onlining (the boot script's
# fallback did not have to), and (unless given --disk-may-change) the
# resume disk was not written.
expect_normal_boot()
{
	local log="$S_LOG" mem memtotal onlined decision disk_check=yes
	[ "${1:-}" = --disk-may-change ] && disk_check=no
	expect "root file system reached (FASTRESUME-ROOT-OK)" has "$log" '^FASTRESUME-ROOT-OK$'
	mem="$(section "$log" MEMSTATE)"
	expect "no offline memory block in the root [$(echo "$mem" | xargs)]" \
		all_online "$mem"
	memtotal="$(memtotal_kib "$log")"
	expect "MemTotal ${memtotal:-?} kB > $MIN_MEMTOTAL_KIB kB (1.3 GiB)" \
		fcmp "${memtotal:-0}" ">" "$MIN_MEMTOTAL_KIB"
	# The last decision counts: the agent may first pick an image whose
	# header checks out and then reject it while reading its payload.
	decision="$(console "$log" | grep -Eo 'resume-agent: decision: .*' | tail -n1 || true)"
	expect "agent's final decision is to boot normally [${decision#resume-agent: decision: }]" \
		has_prefix "$decision" 'resume-agent: decision: boot normally: '
	# The blocks the agent onlined this boot, over all its memory lines
	# (a snapshot restore onlines them before its final line).
	onlined="$(console "$log" | grep -Eo 'resume-agent: memory: [0-9]+ blocks onlined' | awk '{ n += $3 } END { print n + 0 }')"
	expect "agent onlined the offline blocks (${onlined:-?} blocks onlined; its last memory line: all ... online)" \
		fcmp "${onlined:-0}" ">" 0
	expect "agent's last memory line says all blocks are online" \
		has "$log" 'resume-agent: memory: [0-9]+ blocks onlined, all [0-9]+ blocks online \([0-9]+ MiB\)'

	expect "agent logged its handover" has "$log" 'resume-agent: handover after [0-9]+ ms, peak memory [0-9]+ KiB'
	expect "agent exited 0 (no fallback by the boot script)" \
		not has "$log" 'resume-agent-boot: (/sbin/resume-agent (failed|is missing)|fallback)'
	if [ "$disk_check" = yes ]; then
		expect "resume disk unchanged (sha256 before = after)" [ "$S_SUM_BEFORE" = "$S_SUM_AFTER" ]
	fi
}

# The boot was not held up by a resume wait (see MAX_ROOT_UPTIME).
expect_not_stalled()
{
	local up
	up="$(root_uptime "$S_LOG")"
	expect "root reached at ${up:-?} s uptime < ${MAX_ROOT_UPTIME} s (no unbounded resume wait)" \
		fcmp "${up:-999}" "<" "$MAX_ROOT_UPTIME"
}

# Append this boot's timings (printk times, seconds since the kernel
# started): when the boot script started the agent, the agent's first
# line, its handover line, what the handover line reports, when the root's
# init started, and the wall time of the whole QEMU run.
record_timings()
{
	local label="${1:-$S_NAME}" log="$S_LOG" script first handover startup span ms kib up
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
		"$startup" "$span" "${ms:-?}" "${kib:-?}" "${up:-?}" "$S_WALL" "$agent_id" "$(cat "$VM_DIR/kver")" >>"$TIMINGS"
	echo "  timings: agent started by the script at ${script:-?} s, first line at ${first:-?} s (startup ${startup} s), handover at ${handover:-?} s (span ${span} s; agent says ${ms:-?} ms, peak ${kib:-?} KiB), root at ${up:-?} s"
}

# delta A B: B - A in seconds, or "?" when either is unknown.
delta()
{
	awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "") printf "%.3f", b - a; else print "?" }'
}

end()
{
	local log_tail
	if [ -n "$S_LOG" ] && [ -e "$S_LOG" ]; then
		record_timings "$S_NAME${S_BOOT_SUFFIX:-}"
	fi
	S_BOOT_SUFFIX=""
	if [ "${#S_FAILS[@]}" -eq 0 ]; then
		summary+=("PASS $S_NAME (${S_WALL_TOTAL} s)")
		echo "PASS $S_NAME"
		passed=$((passed + 1))
	else
		local reasons="" r
		for r in "${S_FAILS[@]}"; do
			reasons="${reasons:+$reasons; }$r"
		done
		summary+=("FAIL $S_NAME: $reasons")
		echo "FAIL $S_NAME: $reasons"
		failed=$((failed + 1))
		if [ -e "$S_LOG" ]; then
			log_tail="$(grep -E 'resume-agent|FASTRESUME|Kernel panic|ALERT|Gave up' "$S_LOG" | tail -n 20 || true)"
			echo "  last relevant serial lines (full log: $S_LOG):"
			# shellcheck disable=SC2001 # a prefix on every line
			sed 's/^/    | /' <<<"$log_tail"
		fi
	fi
}

# disks_or_fail NAME WHAT ERROR: a scenario whose disks could not be built
# (ERROR non-empty) fails at once, saying so.
disks_or_fail()
{
	if [ -n "$3" ]; then
		S_NAME="$1"
		S_FAILS=("no $2: $3")
		S_LOG="" S_WALL=0 S_WALL_TOTAL=0
		echo
		echo "--- $S_NAME"
		echo "  FAIL  ${S_FAILS[0]}"
		return 1
	fi
}

corrupt_disk_or_fail()
{
	disks_or_fail "$1" "corrupt-image disk" "$corrupt_disk_error"
}

# --- the scenarios -----------------------------------------------------------
scenario_no_image()
{
	if begin no-image "$VM_DIR/resume-empty.img"; then
		expect_normal_boot
		expect_not_stalled
		expect "empty partition is no image, not a rejected one" \
			not has "$S_LOG" 'resume-agent: rejected '
	fi
	end
}

scenario_noresume()
{
	if begin noresume "$VM_DIR/resume-empty.img" noresume; then
		expect "agent: noresume given: not probing" has "$S_LOG" 'resume-agent: noresume given: not probing'
		expect "agent did not wait for or probe a device" \
			not has "$S_LOG" 'resume-agent: (waiting up to|rejected )'
		expect_normal_boot
		expect_not_stalled
	fi
	end
}

scenario_missing_device()
{
	local spec=PARTLABEL=does-not-exist t_wait t_gone waited
	if begin missing-device "$VM_DIR/resume-empty.img" "resume=$spec" resume_agent.wait=3; then
		expect "agent: waiting up to 3 s for $spec" has "$S_LOG" "resume-agent: waiting up to 3 s for $spec\$"
		expect "agent: $spec did not appear within 3 s" has "$S_LOG" "resume-agent: $spec did not appear within 3 s\$"
		t_wait="$(kmsg_time "$S_LOG" "resume-agent: waiting up to 3 s for $spec")"
		t_gone="$(kmsg_time "$S_LOG" "resume-agent: $spec did not appear within 3 s")"
		waited="$(awk -v a="$t_wait" -v b="$t_gone" 'BEGIN { if (a != "" && b != "") printf "%.2f", b - a }')"
		expect "the wait lasted ${waited:-?} s (bounded: 2.5 to 6 s)" \
			in_range "$waited" 2.5 6
		expect "boot script told initramfs-tools not to wait again for $spec" \
			has "$S_LOG" "resume-agent-boot: resume device $spec is missing"
		expect_normal_boot
		expect_not_stalled
	fi
	end
}

scenario_corrupt_image()
{
	if corrupt_disk_or_fail corrupt-image &&
		begin corrupt-image "$VM_DIR/resume-corrupt.img" "resume=PARTLABEL=$RESUME_PARTLABEL"; then
		expect "agent: rejected /dev/vdb1: <reason> [$(first_match "$S_LOG" 'resume-agent: rejected ' | sed 's/.*resume-agent: rejected //')]" \
			has "$S_LOG" 'resume-agent: rejected /dev/vdb1: [^ ]'
		expect "boot script skipped initramfs-tools' resume for the agent's partition" \
			has "$S_LOG" "resume-agent-boot: resume device PARTLABEL=$RESUME_PARTLABEL .*local-premount/resume skipped"
		expect_normal_boot
		expect_not_stalled
	fi
	end
}

scenario_corrupt_image_scan()
{
	if corrupt_disk_or_fail corrupt-image-scan &&
		begin corrupt-image-scan "$VM_DIR/resume-corrupt.img"; then
		expect "agent: rejected /dev/vdb1: <reason> [$(first_match "$S_LOG" 'resume-agent: rejected ' | sed 's/.*resume-agent: rejected //')]" \
			has "$S_LOG" 'resume-agent: rejected /dev/vdb1: [^ ]'
		expect_normal_boot
		expect_not_stalled
	fi
	end
}

scenario_kernel_hibernation()
{
	local t_resume onlined mem
	# Boot A: a normal boot through the agent, then the root hibernates.
	if begin kernel-hibernation "$VM_DIR/resume-hibernate.img" fastresume.test=hibernate; then
		expect_normal_boot --disk-may-change
		expect "boot A: the root made the partition swap and hibernated" \
			has "$S_LOG" '^FASTRESUME-HIBERNATING to /dev/vdb1'
		expect "boot A: the kernel wrote its image" has "$S_LOG" 'PM: hibernation: Wrote [0-9]+ kbytes'
		expect "boot A: powered off by hibernation, not by the root's poweroff" \
			not has "$S_LOG" '^FASTRESUME-POWEROFF'
		# Boot B, on the same disk: the agent finds the kernel's own
		# image (TYPE=swsuspend) on the resume= device, brings the
		# memory online (the kernel refuses an image made with another
		# amount) and hands it to the kernel, which restores it: the
		# hibernated root carries on.
		if [ "${#S_FAILS[@]}" -eq 0 ] &&
			second_boot "resume=PARTLABEL=$RESUME_PARTLABEL"; then
			expect "boot B: agent found the kernel's image" \
				has "$S_LOG" "resume-agent: found the kernel's own hibernation image \\(TYPE=swsuspend\\) on /dev/vdb1"
			expect "boot B: agent decided to resume it" \
				has "$S_LOG" "resume-agent: decision: resume the kernel's hibernation image on /dev/vdb1"
			onlined="$(console "$S_LOG" | capture '.*resume-agent: memory: ([0-9]+) blocks onlined.*')"
			expect "boot B: agent onlined ${onlined:-?} blocks before handing over" \
				fcmp "${onlined:-0}" ">" 0
			expect "boot B: agent wrote MAJ:MIN to /sys/power/resume" \
				has "$S_LOG" 'resume-agent: writing [0-9]+:[0-9]+ to /sys/power/resume'
			expect "boot B: the kernel restored the image" \
				has "$S_LOG" 'PM: hibernation: (resume from hibernation|Read [0-9]+ kbytes)'
			expect "boot B: the hibernated root carried on (FASTRESUME-RESUMED-FROM-HIBERNATION)" \
				has "$S_LOG" '^FASTRESUME-RESUMED-FROM-HIBERNATION$'
			expect "boot B: initramfs-tools' own resume did not run (the agent's resume does not return)" \
				not has "$S_LOG" 'Begin: Running /scripts/local-premount'
			mem="$(section "$S_LOG" MEMSTATE | tail -n 2)"
			expect "boot B: no offline memory block after the restore [$(echo "$mem" | xargs)]" all_online "$mem"
			t_resume="$(capture '^\[ *([0-9]+\.[0-9]+)\] PM: hibernation: resume from hibernation.*' "$S_LOG")"
			expect "boot B: restore began at ${t_resume:-?} s < ${MAX_ROOT_UPTIME} s (no resume wait)" \
				fcmp "${t_resume:-999}" "<" "$MAX_ROOT_UPTIME"
		fi
	fi
	end
}

# install.sh, without booting: into a scratch root, twice, then out again;
# and the config dir it installed is one mkinitramfs builds from.
scenario_install_script()
{
	local root="$RUN_DIR/install-root" out="$LOG_DIR/install-script.log"
	local installer="$REPO_ROOT/initramfs/install.sh" conf listing t0 t1
	local files=(usr/local/sbin/resume-agent etc/initramfs-tools/hooks/resume-agent
		etc/initramfs-tools/scripts/init-premount/resume-agent)
	S_NAME=install-script S_LOG="" S_FAILS=()
	echo
	echo "--- install-script: initramfs/install.sh --root $root (output: $out)"
	t0="$(date +%s.%N)"
	rm -rf "$root" "$out"
	mkdir -p "$root"
	expect "install.sh --root installs" run_logged "$out" "$installer" --root "$root" --binary "$AGENT_BINARY"
	expect "the binary, hook and boot script are installed, mode 0755" installed_755 "$root" "${files[@]}"
	expect "the installed files are the repository's" \
		cmp -s "$root/${files[2]}" "$REPO_ROOT/initramfs/scripts/init-premount/resume-agent"
	expect "installing again succeeds (idempotent)" run_logged "$out" "$installer" --root "$root" --binary "$AGENT_BINARY"
	expect "and leaves the same files" installed_755 "$root" "${files[@]}"
	# What a machine has: its initramfs.conf next to the installed hook
	# and script (the test one, to keep this quick).
	conf="$root/etc/initramfs-tools"
	cp "$MKIMAGE_DIR/initramfs-conf/initramfs.conf" "$MKIMAGE_DIR/initramfs-conf/modules" "$conf/"
	mkdir -p "$RUN_DIR/tmp"
	expect "mkinitramfs -d <installed config dir> builds" run_logged "$out" \
		env TMPDIR="$RUN_DIR/tmp" RESUME_AGENT_BINARY="$root/usr/local/sbin/resume-agent" \
		mkinitramfs -d "$conf" -o "$RUN_DIR/install-initrd.img" "$(cat "$VM_DIR/kver")"
	listing="$(lsinitramfs "$RUN_DIR/install-initrd.img" 2>/dev/null || true)"
	expect "that initramfs has /sbin/resume-agent, the resume-probe link and the boot script" \
		lists_all "$listing" usr/sbin/resume-agent usr/sbin/resume-probe scripts/init-premount/resume-agent
	rm -f "$conf/initramfs.conf" "$conf/modules"
	expect "install.sh --uninstall succeeds" run_logged "$out" "$installer" --root "$root" --uninstall
	expect "and removes all three files" none_exist "$root" "${files[@]}"
	t1="$(date +%s.%N)"
	S_WALL_TOTAL="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
	end
}

# run_logged LOG CMD...: run CMD with its output appended to LOG.
run_logged()
{
	local log="$1"
	shift
	echo "+ $*" >>"$log"
	"$@" >>"$log" 2>&1
}

# installed_755 ROOT PATH...: every ROOT/PATH is a regular file, mode 755.
installed_755()
{
	local root="$1" f
	shift
	for f in "$@"; do
		[ -f "$root/$f" ] && [ "$(stat -c %a "$root/$f")" = 755 ] || return 1
	done
}

# none_exist ROOT PATH...
none_exist()
{
	local root="$1" f
	shift
	for f in "$@"; do
		[ ! -e "$root/$f" ] || return 1
	done
}

# lists_all LISTING PATH...: every PATH is a line of LISTING.
lists_all()
{
	local listing="$1" f
	shift
	for f in "$@"; do
		grep -qx "$f" <<<"$listing" || return 1
	done
}

# second_boot KERNEL_PARAM...: boot the current scenario's disk again (its
# first boot's timings are recorded first); S_LOG and S_WALL then describe
# the second boot. Returns 1 when it did not run to the end.
second_boot()
{
	another_boot B "$@"
}

jump_disks_or_fail()
{
	disks_or_fail "$1" "jump image disks" "$jump_disks_error"
}

# partition_image DISK OUT: the resume partition's bytes (from 1 MiB).
partition_image()
{
	dd if="$1" of="$2" bs=1M skip=1 status=none
}

# image_state DISK: "valid", "consumed", ... as resume-image inspect says.
image_state()
{
	local part="$RUN_DIR/partition.tmp" state
	partition_image "$1" "$part"
	state="$("$RESUME_IMAGE_TOOL" inspect --json "$part" 2>/dev/null | sed -n 's/^ *"state": "\(.*\)",$/\1/p')"
	rm -f "$part"
	echo "${state:-unreadable}"
}

# stamp LOG ERE: the host time (LOG.stamped) of the first line matching ERE.
stamp()
{
	grep -Em1 -- "$2" "$1.stamped" | cut -d' ' -f1 || true
}

KERNEL_B_MARKER='^FASTRESUME-KERNEL-B console=ttyS0 panic=-1 fastresume.kernel=B$'

# expect_jump_to_b: boot A's agent loaded the kernel image and jumped, and
# kernel B ran with the image's command line, A's root never mounted.
expect_jump_to_b()
{
	local t_start t_jump t_b agent total
	expect "agent: decision: resume kernel image on /dev/vdb1" has "$S_LOG" 'resume-agent: decision: resume kernel image on /dev/vdb1$'
	expect "agent: jumping (reboot LINUX_REBOOT_CMD_KEXEC)" has "$S_LOG" 'resume-agent: jumping to the kernel image'
	expect "kernel A: kexec_core: Starting new kernel" has "$S_LOG" 'kexec_core: Starting new kernel'
	expect "kernel B ran with the image's command line (FASTRESUME-KERNEL-B ...)" has "$S_LOG" "$KERNEL_B_MARKER"
	expect "A's root was never mounted" not has "$S_LOG" '^FASTRESUME-ROOT-OK$'
	# Host times: the agent's start, its jump, and kernel B's first line
	# (the second "Linux version" banner of the log).
	t_start="$(stamp "$S_LOG" 'resume-agent: start$')"
	t_jump="$(stamp "$S_LOG" 'resume-agent: jumping to the kernel image')"
	t_b="$(grep -E 'Linux version' "$S_LOG.stamped" | sed -n 2p | cut -d' ' -f1)"
	agent="$(delta "$t_start" "$t_jump")"
	total="$(delta "$t_start" "$t_b")"
	echo "  jump timing (host clock, TCG): agent start to kernel B's first line ${total} s, of which the agent (start to jump) ${agent} s"
	printf '%s %-20s agent_start_to_kernel_b=%ss agent_start_to_jump=%ss image_raw_bytes=%s %s\n' \
		"$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$S_NAME" "$total" "$agent" \
		"$(capture '.*resume-agent: found kernel image on [^:]*: ([0-9]+) bytes.*' "$S_LOG")" \
		"$(console "$S_LOG" | grep -Eo 'resume-agent: (decoded and checked|kexec_file_load took) .*' | sed 's/resume-agent: //; s/; kernel B command line.*//' | paste -sd' ')" \
		>>"$LOG_DIR/jump-timings.txt"
}

scenario_kernel_b()
{
	local after_a
	if jump_disks_or_fail kernel-b && begin kernel-b "$VM_DIR/resume-kernel-b.img" "resume=PARTLABEL=$RESUME_PARTLABEL"; then
		expect_jump_to_b
		expect "agent marked the one-shot image consumed before the jump" \
			has "$S_LOG" 'resume-agent: marked the one-shot image on /dev/vdb1 consumed \(synced\)'
		expect "the image on disk now reads as consumed" [ "$(image_state "$S_DISK")" = consumed ]
		after_a="$(sha256sum <"$S_DISK")"
		if [ "${#S_FAILS[@]}" -eq 0 ] && second_boot "resume=PARTLABEL=$RESUME_PARTLABEL"; then
			expect "boot 2: agent rejected the consumed image" \
				has "$S_LOG" 'resume-agent: rejected /dev/vdb1: image already consumed'
			S_SUM_BEFORE="$after_a"
			S_SUM_AFTER="$(sha256sum <"$S_DISK")"
			expect "boot 2: no jump" not has "$S_LOG" 'kexec_core: Starting new kernel'
			expect_normal_boot
		fi
	fi
	end
}

scenario_kernel_b_reusable()
{
	if jump_disks_or_fail kernel-b-reusable &&
		begin kernel-b-reusable "$VM_DIR/resume-kernel-b-reusable.img" "resume=PARTLABEL=$RESUME_PARTLABEL"; then
		expect_jump_to_b
		expect "a reusable image is not marked" not has "$S_LOG" 'resume-agent: marked the one-shot image'
		expect "the disk was not written" [ "$S_SUM_BEFORE" = "$(sha256sum <"$S_DISK")" ]
		if [ "${#S_FAILS[@]}" -eq 0 ] && second_boot "resume=PARTLABEL=$RESUME_PARTLABEL"; then
			expect_jump_to_b
			expect "boot 2: the disk was still not written" [ "$S_SUM_BEFORE" = "$(sha256sum <"$S_DISK")" ]
		fi
	fi
	end
}

scenario_segments()
{
	# isa-debug-exit: the payload writes 0x21 to port 0xf4, QEMU exits
	# with (0x21 << 1) | 1 = 67.
	if jump_disks_or_fail segments &&
		QEMU_EXTRA="-device isa-debug-exit,iobase=0xf4,iosize=0x04" EXPECT_RC=67 \
			begin segments "$VM_DIR/resume-segments.img"; then
		expect "agent: decision: resume segments image on /dev/vdb1" has "$S_LOG" 'resume-agent: decision: resume segments image on /dev/vdb1$'
		expect "agent: jumping" has "$S_LOG" 'resume-agent: jumping to the segments image'
		expect "the payload ran: FASTRESUME-SEGMENTS-OK on the serial port" has "$S_LOG" '^FASTRESUME-SEGMENTS-OK: reached the payload through kexec_load'
		expect "QEMU left through the payload's isa-debug-exit (status 67)" [ "$S_RC" -eq 0 ]
		expect "the one-shot image on disk reads as consumed" [ "$(image_state "$S_DISK")" = consumed ]
	fi
	end
}

scenario_not_a_kernel()
{
	if jump_disks_or_fail not-a-kernel &&
		begin not-a-kernel "$VM_DIR/resume-not-a-kernel.img" "resume=PARTLABEL=$RESUME_PARTLABEL"; then
		expect "agent: rejected /dev/vdb1: kexec_file_load ... (ENOEXEC)" \
			has "$S_LOG" 'resume-agent: rejected /dev/vdb1: kexec_file_load: the kernel does not recognise the image as a kernel it can load \(ENOEXEC\)'
		expect "no jump" not has "$S_LOG" 'kexec_core: Starting new kernel'
		expect_normal_boot
		expect_not_stalled
	fi
	end
}

scenario_pid1()
{
	if begin pid1 "$VM_DIR/resume-empty.img" rdinit=/sbin/resume-agent; then
		expect "agent: running as PID 1 (mounted /proc, /sys, /dev)" has "$S_LOG" 'resume-agent: running as PID 1 \(mounted /proc, /sys, /dev\)'
		expect "agent: exec /init" has "$S_LOG" 'resume-agent: exec /init: handing over to the next init'
		expect "boot script: did not run the agent twice" has "$S_LOG" 'resume-agent-boot: the agent already ran as PID 1'
		expect "the agent ran once" [ "$(console "$S_LOG" | grep -c 'resume-agent: start$')" -eq 1 ]
		expect_normal_boot
		expect_not_stalled
	fi
	end
}

scenario_probe()
{
	local report json
	if jump_disks_or_fail probe &&
		begin probe "$VM_DIR/resume-kernel-b.img" noresume fastresume.test=probe; then
		report="$(section "$S_LOG" PROBE)"
		json="$(section "$S_LOG" PROBEJSON)"
		expect "probe: kernel release" grep -q "^kernel: $(cat "$VM_DIR/kver") x86_64" <<<"$report"
		expect "probe: kexec_file_load available" grep -q '^  kexec_file_load: available' <<<"$report"
		expect "probe: this kernel can restore kernel images" grep -q '^  restore kernel images: yes' <<<"$report"
		expect "probe: KEXEC_JUMP not set (Debian's config)" grep -q '^  kexec_jump: no' <<<"$report"
		expect "probe: noresume parsed" grep -q '^  noresume: yes' <<<"$report"
		expect "probe: all memory blocks online" grep -Eq '^memory: 12 blocks of 128 MiB, 12 online' <<<"$report"
		expect "probe: /dev/vdb1 with its PARTLABEL" grep -q '^  /dev/vdb1: .*PARTLABEL=fastresume' <<<"$report"
		expect "probe: the image on /dev/vdb1, all checks passed" grep -q 'resume image, all checks passed' <<<"$report"
		expect "probe: the root's ext4 on /dev/vda" grep -q '^  /dev/vda: TYPE=ext4' <<<"$report"
		expect "probe: the decision and why" grep -q '^decision: boot normally: noresume given' <<<"$report"
		expect "probe --json: the image's state and kind" grep -q '"kind": "kernel"' <<<"$json"
		expect "probe --json: the decision" grep -q '"action": "boot-normally"' <<<"$json"
		expect "probe --json parses as JSON" python3 -c 'import json,sys; json.loads(sys.stdin.read())' <<<"$json"
		expect_normal_boot
	fi
	end
}

# another_boot SUFFIX KERNEL_PARAM...: one more boot of the current
# scenario's disk (second_boot's generalisation); S_LOG names it.
another_boot()
{
	local suffix="$1" t0 t1
	shift
	record_timings "$S_NAME${S_BOOT_SUFFIX:-/A}"
	S_BOOT_SUFFIX="/$suffix"
	S_LOG="$LOG_DIR/${S_NAME}-$suffix.serial.log"
	echo "--- $S_NAME (boot $suffix): $*"
	t0="$(date +%s.%N)"
	S_RC=0
	boot_vm "$S_LOG" "$S_DISK" "$@" || S_RC=$?
	t1="$(date +%s.%N)"
	S_WALL="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
	S_WALL_TOTAL="$(awk -v a="$S_WALL_TOTAL" -v b="$S_WALL" 'BEGIN { printf "%.1f", a + b }')"
	echo "  boot took ${S_WALL} s wall; serial log: $S_LOG"
	if [ "$S_RC" -ne 0 ]; then
		S_FAILS+=("boot $suffix: QEMU exited with status $S_RC or timed out (see $S_LOG.qemu)")
	fi
	[ "$S_RC" -eq 0 ]
}

CAPTURED_DISK="$RUN_DIR/snapshot-captured.img"

# capture_boot: boot A of the snapshot scenarios: the root hibernates into
# the resume partition with resume-image capture. Checks it and keeps a
# copy of the disk with the image (CAPTURED_DISK) for the other scenarios.
capture_boot()
{
	local token
	token="$(capture '^FASTRESUME-TOKEN-BEFORE ([0-9a-f]+) pid [0-9]+$' "$S_LOG")"
	expect "boot A: the root holds token ${token:-?}" [ -n "$token" ]
	expect "boot A: resume-image capture saved the snapshot" \
		has "$S_LOG" '^resume-image: saved [0-9]+ bytes of snapshot into [0-9]+ bytes on /dev/vdb1'
	expect "boot A: and powered off (no FASTRESUME-CAPTURE-FAILED, no normal poweroff)" \
		not has "$S_LOG" '^FASTRESUME-(CAPTURE-FAILED|POWEROFF)$'
	expect "boot A: the image on disk is valid" [ "$(image_state "$S_DISK")" = valid ]
	cp --sparse=always "$S_DISK" "$CAPTURED_DISK"
}

# captured_disk_or_capture NAME: CAPTURED_DISK from this run's snapshot
# scenario, or made now by a capture boot of its own.
captured_disk_or_capture()
{
	if [ -e "$CAPTURED_DISK" ] && [ "$CAPTURED_DISK" -nt "$AGENT_BINARY" ]; then
		return 0
	fi
	echo "  (no captured image from this run: capturing one first)"
	begin "$1-capture" "$VM_DIR/resume-hibernate.img" fastresume.test=capture && capture_boot
	end
	[ -e "$CAPTURED_DISK" ]
}

scenario_snapshot()
{
	local before process tmpfs pid_before pid_after
	rm -f "$CAPTURED_DISK"
	if begin snapshot "$VM_DIR/resume-hibernate.img" fastresume.test=capture; then
		capture_boot
		before="$(capture '^FASTRESUME-TOKEN-BEFORE ([0-9a-f]+) pid [0-9]+$' "$S_LOG")"
		pid_before="$(capture '^FASTRESUME-TOKEN-BEFORE [0-9a-f]+ pid ([0-9]+)$' "$S_LOG")"
		if [ "${#S_FAILS[@]}" -eq 0 ] && another_boot B "resume=PARTLABEL=$RESUME_PARTLABEL"; then
			expect "boot B: agent decided to resume the snapshot" has "$S_LOG" 'resume-agent: decision: resume snapshot image on /dev/vdb1$'
			expect "boot B: agent reported the restore speed (Read N kbytes in S seconds)" \
				has "$S_LOG" 'resume-agent: Read [0-9]+ kbytes in [0-9.]+ seconds \([0-9]+ MB/s\)'
			expect "boot B: agent marked the image consumed, then restored" \
				has "$S_LOG" 'resume-agent: restoring the snapshot \(SNAPSHOT_ATOMIC_RESTORE\)'
			expect "boot B: capture returned in the restored system" has "$S_LOG" '^FASTRESUME-CAPTURE-RESUMED$'
			process="$(capture '^FASTRESUME-PROCESS-TOKEN ([0-9a-f]+) pid [0-9]+$' "$S_LOG")"
			pid_after="$(capture '^FASTRESUME-PROCESS-TOKEN [0-9a-f]+ pid ([0-9]+)$' "$S_LOG")"
			tmpfs="$(capture '^FASTRESUME-TMPFS-TOKEN ([0-9a-f]+)$' "$S_LOG")"
			expect "boot B: the same process (pid ${pid_after:-?} = ${pid_before:-?}) prints the same token" \
				[ -n "$process" ] && [ "$process" = "$before" ] && [ "$pid_after" = "$pid_before" ]
			expect "boot B: tmpfs holds the same token" [ -n "$tmpfs" ] && [ "$tmpfs" = "$before" ]
			expect "boot B: the image on disk is consumed" [ "$(image_state "$S_DISK")" = consumed ]
			if another_boot C "resume=PARTLABEL=$RESUME_PARTLABEL"; then
				expect "boot C: agent rejected the consumed image" has "$S_LOG" 'resume-agent: rejected /dev/vdb1: image already consumed'
				S_SUM_BEFORE="$(sha256sum <"$S_DISK")"
				S_SUM_AFTER="$S_SUM_BEFORE"
				expect "boot C: a normal boot, not a restore" not has "$S_LOG" '^FASTRESUME-CAPTURE-RESUMED$'
				expect_normal_boot
			fi
		fi
	fi
	end
}

scenario_snapshot_truncated()
{
	local image="$RUN_DIR/snapshot-image.bin" size disk="$RUN_DIR/snapshot-truncated-src.img" mib
	if captured_disk_or_capture snapshot-truncated; then
		partition_image "$CAPTURED_DISK" "$image"
		size="$("$RESUME_IMAGE_TOOL" inspect --json "$image" | sed -n 's/^ *"image_bytes": \([0-9]*\),$/\1/p')"
		# A partition of half the image: what an interrupted copy leaves.
		mib=$(( size / 2 / 1048576 + 2 ))
		truncate -s "${mib}M" "$disk"
		sgdisk --clear --new=1:2048:0 --change-name="1:$RESUME_PARTLABEL" "$disk" >/dev/null
		# Partition 1 runs from sector 2048 to the last usable one (the
		# backup GPT takes the last 33 sectors): fill exactly that.
		dd if="$image" of="$disk" bs=1M seek=1 conv=notrunc status=none \
			iflag=count_bytes count=$(( (mib * 2048 - 34 - 2048 + 1) * 512 ))
		rm -f "$image"
		if begin snapshot-truncated "$disk" "resume=PARTLABEL=$RESUME_PARTLABEL"; then
			expect "agent: rejected /dev/vdb1: truncated ... [$(first_match "$S_LOG" 'resume-agent: rejected ' | sed 's/.*resume-agent: rejected //')]" \
				has "$S_LOG" 'resume-agent: rejected /dev/vdb1: truncated: image needs [0-9]+ bytes'
			expect "no restore" not has "$S_LOG" 'SNAPSHOT_ATOMIC_RESTORE'
			expect_normal_boot
			expect_not_stalled
		fi
		end
	else
		S_NAME=snapshot-truncated S_FAILS=("no captured snapshot image") S_LOG=""
		end
	fi
}

scenario_snapshot_other_memory()
{
	if captured_disk_or_capture snapshot-other-memory; then
		if QEMU_MEM=768M begin snapshot-other-memory "$CAPTURED_DISK" "resume=PARTLABEL=$RESUME_PARTLABEL"; then
			expect "agent refused the snapshot, naming the memory [$(console "$S_LOG" | grep -Eo 'resume from /dev/vdb1 failed: .*' | head -n1)]" \
				has "$S_LOG" 'resume-agent: decision: boot normally: resume from /dev/vdb1 failed: the snapshot needs 1536 MiB online in blocks of 128 MiB; this machine has 1792 MiB'
			expect "the image is left valid (not consumed)" [ "$(image_state "$S_DISK")" = valid ]
			expect "no restore" not has "$S_LOG" 'SNAPSHOT_ATOMIC_RESTORE'
			# 768 MiB + the 1 GiB DIMM, all online.
			MIN_MEMTOTAL_KIB=1600000 expect_normal_boot
			expect_not_stalled
		fi
		end
	else
		S_NAME=snapshot-other-memory S_FAILS=("no captured snapshot image") S_LOG=""
		end
	fi
}

scenario_capture_refused()
{
	if begin capture-refused "$VM_DIR/resume-hibernate.img" nohibernate fastresume.test=capture; then
		expect "resume-image capture says hibernation is unavailable" \
			has "$S_LOG" '^resume-image: hibernation is unavailable on this kernel'
		expect "capture failed and the system went on (FASTRESUME-CAPTURE-FAILED, then its normal poweroff)" \
			has "$S_LOG" '^FASTRESUME-CAPTURE-FAILED$'
		expect "nothing was frozen" not has "$S_LOG" 'Freezing user space processes'
		expect "no image was written" [ "$S_SUM_BEFORE" = "$(sha256sum <"$S_DISK")" ]
		expect "and the machine powered off normally" has "$S_LOG" '^FASTRESUME-POWEROFF$'
	fi
	end
}

scenario_watchdog()
{
	local mem memtotal
	if begin watchdog "$VM_DIR/resume-empty.img" resume=PARTLABEL=does-not-exist resume_agent.wait=20 resume_agent.timeout=2; then
		expect "agent: watchdog gave up" has "$S_LOG" 'resume-agent: watchdog: gave up \(resume_agent.timeout\); the boot goes on'
		expect "the wait did not run its 20 s" not has "$S_LOG" 'did not appear within 20 s'
		expect "boot script: the agent failed (status 3), memory onlined by the script" \
			has "$S_LOG" 'resume-agent-boot: /sbin/resume-agent failed \(exit status 3\)'
		expect "root file system reached (FASTRESUME-ROOT-OK)" has "$S_LOG" '^FASTRESUME-ROOT-OK$'
		mem="$(section "$S_LOG" MEMSTATE)"
		expect "no offline memory block in the root [$(echo "$mem" | xargs)]" all_online "$mem"
		memtotal="$(memtotal_kib "$S_LOG")"
		expect "MemTotal ${memtotal:-?} kB > $MIN_MEMTOTAL_KIB kB" fcmp "${memtotal:-0}" ">" "$MIN_MEMTOTAL_KIB"
		expect_not_stalled
	fi
	end
}

scenario_dry_run()
{
	local mem
	if jump_disks_or_fail dry-run &&
		begin dry-run "$VM_DIR/resume-kernel-b.img" "resume=PARTLABEL=$RESUME_PARTLABEL" resume_agent.dry_run; then
		expect "agent: start (dry run)" has "$S_LOG" 'resume-agent: start \(dry run: nothing will be changed\)'
		expect "agent: the decision it would take" has "$S_LOG" 'resume-agent: decision: resume kernel image on /dev/vdb1$'
		expect "agent: did not jump" not has "$S_LOG" 'kexec_core: Starting new kernel'
		expect "agent: would online 8 blocks" has "$S_LOG" 'resume-agent: dry run: would online 8 memory blocks'
		expect "boot script onlined them" has "$S_LOG" 'resume-agent-boot: fallback: onlined 8 memory blocks, 0 failed'
		expect "root file system reached (FASTRESUME-ROOT-OK)" has "$S_LOG" '^FASTRESUME-ROOT-OK$'
		mem="$(section "$S_LOG" MEMSTATE)"
		expect "no offline memory block in the root [$(echo "$mem" | xargs)]" all_online "$mem"
		expect "the image was not touched" [ "$S_SUM_BEFORE" = "$(sha256sum <"$S_DISK")" ]
	fi
	end
}

scenario_resume_offset()
{
	local disk="$RUN_DIR/resume-offset-src.img" image="$RUN_DIR/resume-offset-image.bin"
	if jump_disks_or_fail resume-offset; then
		# The reusable kernel image, moved 256 pages (1 MiB) into the partition.
		partition_image "$VM_DIR/resume-kernel-b-reusable.img" "$image"
		cp --sparse=always "$VM_DIR/resume-empty.img" "$disk"
		dd if="$image" of="$disk" bs=1M seek=2 conv=notrunc,sparse status=none \
			iflag=count_bytes count=$(( 60 * 1048576 ))
		rm -f "$image"
		if begin resume-offset "$disk" "resume=PARTLABEL=$RESUME_PARTLABEL" resume_offset=256; then
			expect "agent found the image at the offset" has "$S_LOG" 'resume-agent: found kernel image on /dev/vdb1: '
			expect_jump_to_b
		fi
		end
	fi
}

suite_t0="$(date +%s)"
for name in "${selected[@]}"; do
	"scenario_${name//-/_}"
done
echo
echo "boot tests took $(($(date +%s) - suite_t0)) s; timings appended to $TIMINGS"
finish

#!/bin/bash
# Watch the agent at work: build everything, then run these boot scenarios
# of the boot tests (Tests/boot/scenarios/) under QEMU, with all their
# checks:
#
#   no-image        an empty resume partition: the agent finds no image,
#                   brings the DIMM's offline memory online, boots on;
#   noresume        the agent does not look at all, and boots on;
#   missing-device  resume= names a device that never appears: the agent
#                   waits its bound (resume_agent.wait=3) and boots on;
#   corrupt-image   a corrupted image on resume=PARTLABEL=fastresume: the
#                   agent rejects it, says why, and boots on;
#   kernel-b        the A/B swap: kernel A's agent loads the one-shot kernel
#                   image of kernel B and jumps; kernel B prints the command
#                   line it got; the next boot finds the image consumed;
#   snapshot        hibernation: the root hides a token in a process and
#                   hibernates with `resume-image capture`; the next boot's
#                   agent restores it and the same process prints the same
#                   token; the boot after that is a normal one.
#
# Then the seed's flow, on the KEXEC_JUMP kernel (mkimage/kernel-jump.sh,
# built once and cached; -smp 2):
#
#   kexec-jump      kernel A (a token process, one bound to CPU 1, 64 MiB of
#                   random tmpfs data) runs `resume-image hibernate
#                   --kexec-jump`: the agent in the hibernate kernel B saves
#                   A and powers off; copies of the image are refused (another
#                   memory map, a flipped byte, lockdown); the boot kernel C,
#                   confined to its first 512 MiB, restores A (its pages in
#                   held-back memory written in place through device-dax), the
#                   token and CPU 1 go on; the next boot is a normal one
#                   (never twice) with all memory online;
#   figures         bench/kexec-jump.sh: the same A hibernated by the kernel's
#                   own hibernation and by ours (with a kept hibernate kernel),
#                   image size, save and restore time, as ratios.
#
# It prints a line as each boot starts and each scenario ends, then a table:
# each boot, what the agent decided (its "decision:" line), how long the
# boot took, what happened and whether the scenario's checks passed.
# Everything else is kept in build/vm/logs/demo/: run.log (every check),
# NAME[-BOOT].serial.log (each boot's serial console), timings.txt.
# BOOT_LIVE=1 shows the serial consoles as well (about 3,000 lines).
#
# Usage: mkimage/demo.sh [SCENARIO...]   (default: the six above, then the
# seed's flow; naming boot scenarios runs only those)
set -euo pipefail
# shellcheck source=Tests/boot/lib.sh source-path=SCRIPTDIR/../Tests/boot
. "$(dirname "${BASH_SOURCE[0]}")/../Tests/boot/lib.sh"

LOG_DIR="$VM_DIR/logs/demo"
export BOOT_LOG_DIR="$LOG_DIR"
seed_flow=0
[ $# -gt 0 ] || { seed_flow=1; set -- no-image noresume missing-device corrupt-image kernel-b snapshot; }
mkdir -p "$LOG_DIR"
echo "demo: $* (QEMU, TCG: each boot takes a minute or so; building first if needed)"
echo "demo: the full output goes to $LOG_DIR/run.log"

set +e
if [ "${BOOT_LIVE:-0}" = 1 ]; then
	bash "$REPO_ROOT/Tests/boot/run.sh" "$@" 2>&1 | tee "$LOG_DIR/run.log"
else
	bash "$REPO_ROOT/Tests/boot/run.sh" "$@" 2>&1 | tee "$LOG_DIR/run.log" |
		awk '/^boot tests took/ { done = 1 } !done && /^(--- |PASS |FAIL |unknown scenario)/ { print; fflush() }'
fi
rc="${PIPESTATUS[0]}"
set -e

# outcome LOG: what became of the boot, from the markers on its console.
outcome()
{
	local log="$1" kib
	if has "$log" "$KERNEL_B_MARKER"; then
		echo "jumped: kernel B ran with the image's command line"
	elif has "$log" '^FASTRESUME-SEGMENTS-OK'; then
		echo "jumped: the segments payload ran"
	elif has "$log" '^FASTRESUME-CAPTURE-RESUMED$'; then
		echo "restored: the hibernated system carried on"
	elif has "$log" '^FASTRESUME-RESUMED-FROM-HIBERNATION$'; then
		echo "restored by the kernel: the hibernated system carried on"
	elif has "$log" '^resume-image: saved '; then
		echo "root reached, then hibernated with resume-image capture"
	elif has "$log" '^FASTRESUME-HIBERNATING'; then
		echo "root reached, then hibernated with the kernel's swsusp"
	elif has "$log" '^FASTRESUME-ROOT-OK$'; then
		kib="$(memtotal_kib "$log")"
		echo "root reached, MemTotal ${kib:+$((kib / 1024)) MiB}"
	else
		echo "no root file system (see the log)"
	fi
}

# The table: one row per boot (boots.tsv: scenario, boot, wall time,
# decision, log), with its scenario's PASS or FAIL (results.txt).
echo
while IFS=$'\t' read -r name boot wall decision log; do
	result="$(grep -Eo "^(PASS|FAIL) $name( |:|$)" "$LOG_DIR/results.txt" | cut -d' ' -f1 || true)"
	[ "$boot" = A ] || name="$name/$boot"
	printf '%s\t%s\t%s s\t%s: %s\n' "$name" "${decision:-(no decision logged)}" "$wall" "${result:-?}" "$(outcome "$log")"
done <"$LOG_DIR/boots.tsv" |
	awk -F'\t' '
		{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } }
		END {
			split("scenario\tthe agent decided\ttime\tresult", h, "\t")
			for (i = 1; i <= 4; i++) if (length(h[i]) > w[i]) w[i] = length(h[i])
			printf "%-" w[1] "s  %-" w[2] "s  %" w[3] "s  %s\n", h[1], h[2], h[3], h[4]
			for (r = 1; r <= NR; r++)
				printf "%-" w[1] "s  %-" w[2] "s  %" w[3] "s  %s\n", cell[r, 1], cell[r, 2], cell[r, 3], cell[r, 4]
		}'
echo
tail -n 1 "$LOG_DIR/run.log"
echo "logs: $LOG_DIR/ (run.log: every check; NAME.serial.log: each boot's console)"
[ "$seed_flow" = 1 ] || exit "$rc"

# The seed's flow: the hibernate scenario of the jump tests, then the
# benchmark, each with all its checks.
echo
echo "demo: the seed's flow (kexec-jump hibernation on the KEXEC_JUMP kernel; its first build takes about 5 minutes)"
jump_logs="$LOG_DIR/kexec-jump"
set +e
JUMP_LOGS="$jump_logs" bash "$REPO_ROOT/Tests/jump/run.sh" hibernate >"$LOG_DIR/kexec-jump.log" 2>&1
jump_rc=$?
KEXEC_JUMP_RESULTS="$LOG_DIR/kexec-jump-figures.txt" bash "$REPO_ROOT/bench/kexec-jump.sh" >"$LOG_DIR/kexec-jump-bench.log" 2>&1
bench_rc=$?
# The rows below read logs that may lack a line: no errexit from here on.
# jump_row BOOT WHAT: a table row from one boot of the jump scenario.
jump_row()
{
	local log="$jump_logs/$1.log" decision wall
	decision="$(grep -o 'resume-agent: decision: [^:]*' "$log" 2>/dev/null | tail -n1 | sed 's/resume-agent: decision: //')"
	wall="$(tail -n1 "$log" 2>/dev/null | awk '{ print $1 }')"
	printf '%s\t%s\t%s s\t%s\n' "kexec-jump/$1" "${decision:--}" "${wall:-?}" "$2"
}
tok="$(sed -n 's/.*JT-A up at .*: token \([0-9a-f]*\) .*/\1/p' "$jump_logs/hibernate-a.log" 2>/dev/null | head -n1)"
{
	jump_row hibernate-a "A hibernated through a kexec jump: $(grep -o 'resume-agent: saved kernel A to .* pages' "$jump_logs/hibernate-a.log" 2>/dev/null | head -n1 | sed 's/resume-agent: //')"
	for r in refuse-memmap refuse-corrupt refuse-lockdown; do
		jump_row "$r" "refused: $(grep -o 'resume-agent: decision: boot normally: .*' "$jump_logs/$r.log" 2>/dev/null | tail -n1 | sed 's/.*decision: boot normally: //' | cut -c1-100)"
	done
	jump_row hibernate-c "restored: token ${tok:-?} goes on$(grep -q 'on cpu 1' "$jump_logs/hibernate-c.log" 2>/dev/null && echo ', and on CPU 1'); $(grep -o '[0-9]* pages put in place through dax' "$jump_logs/hibernate-c.log" 2>/dev/null | head -n1)"
	jump_row hibernate-again "normal boot, never twice: $(grep -o 'MemTotal *[0-9]* kB' "$jump_logs/hibernate-again.log" 2>/dev/null | tail -n1)"
} | awk -F'\t' '{ printf "%-27s  %-32s  %8s  %s\n", $1, $2, $3, $4 }'
echo
[ "$jump_rc" = 0 ] && echo "PASS kexec-jump (every check: $LOG_DIR/kexec-jump.log)" || echo "FAIL kexec-jump (see $LOG_DIR/kexec-jump.log)"
if [ "$bench_rc" = 0 ]; then
	echo "figures, ours/kernel's own hibernation, same VM, same kernel, same RAM content ($LOG_DIR/kexec-jump-figures.txt):"
	grep -E '^(kernel|ours|ratios)' "$LOG_DIR/kexec-jump-figures.txt" | sed 's/^/  /'
else
	echo "FAIL figures (see $LOG_DIR/kexec-jump-bench.log)"
fi
[ "$rc" = 0 ] && [ "$jump_rc" = 0 ] && [ "$bench_rc" = 0 ]

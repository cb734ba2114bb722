#!/bin/bash
# QEMU boot tests: boot Debian's kernel with the initramfs that mkinitramfs
# made with our hook and boot script, through the real agent, and check the
# serial log. Each scenario is one file, Tests/boot/scenarios/NN-NAME.sh,
# declaring its disks, kernel parameters, QEMU arguments and checks (how to
# add one: Tests/boot/README.md); the harness is Tests/boot/lib.sh.
#
# Usage: Tests/boot/run.sh [--list] [SCENARIO...]
#   SCENARIO: a number (NN) or a name (default: all, in the order of NN);
#   --list: the scenarios and what each one does.
#
# Each scenario prints its checks and a PASS or FAIL line; then the summary
# and "N passed, N failed" (exit status 1 if any failed). Logs, timings and
# boots.tsv (a row per boot) go to build/vm/logs/ (Tests/boot/README.md).
# It first builds what it boots (mkimage/build-all.sh, and what the chosen
# scenarios NEED; up-to-date steps are skipped) from make static and make
# build: a missing agent fails every scenario, a disk that cannot be built
# the scenarios that need it.
#
# Environment: BOOT_TIMEOUT (default 120 s per boot), MAX_ROOT_UPTIME
# (default 30 s), BOOT_LOG_DIR (default build/vm/logs), BOOT_LIVE=1 (serial
# consoles on the terminal too), RESUME_AGENT_BINARY, RESUME_IMAGE_TOOL, KVER.
set -euo pipefail
# shellcheck source=Tests/boot/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- the scenarios: the files themselves ------------------------------------
files=() names=() numbers=()
for f in "$BOOT_DIR"/scenarios/[0-9]*-*.sh; do
	b="${f##*/}" && b="${b%.sh}"
	for n in "${numbers[@]}"; do
		[ "$n" -ne "$((10#${b%%-*}))" ] || die "two scenarios numbered ${b%%-*} in $BOOT_DIR/scenarios"
	done
	files+=("$f") names+=("${b#*-}") numbers+=("$((10#${b%%-*}))")
done

# list: number, name and description (the file's leading comment) of each.
list()
{
	local i
	for i in "${!files[@]}"; do
		sed -n '/^#/!q; s/^# \{0,1\}//p' "${files[i]}" | awk -v n="${numbers[i]}" -v name="${names[i]}" \
			'NR == 1 { printf "  %2d %-22s %s\n", n, name, $0; next } { printf "  %2s %-22s %s\n", "", "", $0 }'
	done
}

selected=()
for arg in "$@"; do
	case "$arg" in -h | --help | --list)
		sed -n '2,/^set -/{/^set -/d; s/^# \{0,1\}//p}' "$0" | sed -n '/^Usage/,/^$/p'
		list
		exit 0
		;;
	esac
	found=""
	for i in "${!files[@]}"; do
		if [ "$arg" = "${names[i]}" ] || { [[ "$arg" =~ ^[0-9]+$ ]] && [ "$((10#$arg))" -eq "${numbers[i]}" ]; }; then
			found="$i"
		fi
	done
	[ -n "$found" ] || { echo "unknown scenario '$arg'; the scenarios are:" >&2 && list >&2 && exit 2; }
	case " ${selected[*]} " in *" $found "*) ;; *) selected+=("$found") ;; esac
done
[ $# -gt 0 ] || selected=("${!files[@]}")

# --- prerequisites and the shared build --------------------------------------
passed=0 failed=0 summary=()
mkdir -p "$LOG_DIR" "$RUN_DIR"
: >"$LOG_DIR/boots.tsv"
: >"$LOG_DIR/results.txt"
finish()
{
	echo
	[ "${#summary[@]}" -eq 0 ] || printf '%s\n' "${summary[@]}" | tee "$LOG_DIR/results.txt"
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

# A failure before any boot (a missing tool or binary) fails every
# selected scenario, with the reason, and still ends with the count line.
setup_failure()
{
	local i
	echo "FAIL setup: $1" >&2
	for i in "${selected[@]}"; do
		summary+=("FAIL ${names[i]}: setup: $1") && failed=$((failed + 1))
	done
	finish || exit 1
}

for tool in "$QEMU:qemu-system-x86" timeout:coreutils sha256sum:coreutils awk:mawk \
	sgdisk:gdisk mke2fs:e2fsprogs mkinitramfs:initramfs-tools python3:python3; do
	command -v "${tool%%:*}" >/dev/null 2>&1 || setup_failure "'${tool%%:*}' not found: apt-get install ${tool#*:}"
done
if [ ! -f "$AGENT_BINARY" ] || [ ! -x "$AGENT_BINARY" ]; then
	setup_failure "agent binary $AGENT_BINARY is missing: build it with 'make static'"
fi
echo "boot tests: agent $AGENT_BINARY (sha256 $(sha256sum "$AGENT_BINARY" | cut -c1-12)...), kernel $(detect_kver)"

"$MKIMAGE_DIR/build-all.sh" kernel initramfs rootfs resume-empty resume-hibernate ||
	setup_failure "mkimage/build-all.sh failed (see above)"
# What the selected scenarios NEED beyond that; a target that fails fails
# only the scenarios that need it, with the error it printed.
# shellcheck source=/dev/null
for target in $(for i in "${selected[@]}"; do (NEEDS=() && . "${files[i]}" && echo "${NEEDS[@]}"); done | tr ' ' '\n' | sort -u); do
	if ! "$MKIMAGE_DIR/build-all.sh" "$target" 2>"$LOG_DIR/build-$target.err"; then
		BUILD_ERROR[$target]="$(grep 'error:' "$LOG_DIR/build-$target.err" | tail -n1 || true)"
		BUILD_ERROR[$target]="${BUILD_ERROR[$target]:-building $target failed}"
	fi
	cat "$LOG_DIR/build-$target.err" >&2
done

suite_t0="$(date +%s)"
for i in "${selected[@]}"; do
	result="$RUN_DIR/${names[i]}.result"
	rm -f "$result"
	set +e
	(
		set -eE
		S_NAME="${names[i]}" S_RESULT="$result" S_T0="$(date +%s.%N)"
		run_scenario "${files[i]}"
	) # in a subshell: nothing it sets reaches the next one
	rc=$?
	set -e
	if [ ! -s "$result" ]; then
		echo "FAIL ${names[i]}: the scenario stopped at an unexpected error (status $rc; see above)" | tee "$result"
	fi
	summary+=("$(cat "$result")")
	case "${summary[-1]}" in PASS*) passed=$((passed + 1)) ;; *) failed=$((failed + 1)) ;; esac
done
echo
echo "boot tests took $(($(date +%s) - suite_t0)) s; timings appended to $LOG_DIR/timings.txt"
finish

#!/usr/bin/env bash
# Benchmark (fuzz): each libFuzzer target (fuzz/run.sh: image-decoder,
# memory-image, kept-kernel, cmdline, elf) for at least a million executions; records executions,
# speed and the outcome in bench/results/fuzz.txt (one line per target,
# dated; a run of some targets replaces their lines and keeps the others).
# CI keeps fuzz/run.sh's short runs.
#   bench/fuzz.sh [RUNS [TARGET...]]     (default 1000000, all five)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000000}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(cmdline elf image-decoder memory-image kept-kernel)
mkdir -p bench/results build/fuzz
log=build/fuzz/bench.log results=bench/results/fuzz.txt
touch "$results"
kept=$(grep -v '^#' "$results" | grep -Ev "^($(IFS='|'; echo "${targets[*]}")) " || true)
{
	echo "# fuzz benchmark, $(nproc) cores, $(uname -m), libFuzzer with ASan; each line: target, date, figures"
	echo "# command: bench/fuzz.sh RUNS [TARGET...], RUNS $runs for the lines of $(date -u +%Y-%m-%d)"
	[ -z "$kept" ] || echo "$kept"
} >"$results.new"
mv "$results.new" "$results"
for target in "${targets[@]}"; do
	start=$(date +%s.%N)
	if bash fuzz/run.sh "$runs" "$target" >"$log" 2>&1; then outcome="no crash, hang, leak or out-of-memory"; else outcome="FAILED (see $log)"; fi
	end=$(date +%s.%N)
	done_runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n1)
	speed=$(( ${done_runs:-0} / (${secs:-0} > 0 ? ${secs:-1} : 1) ))
	cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -n1 | awk '{print $2}' || true)
	rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n1)
	printf '%-14s %s %9s executions, %6s exec/s, coverage %5s edges, peak RSS %4s MB (ASan), %5.0f s wall: %s\n' \
		"$target" "$(date -u +%Y-%m-%d)" "${done_runs:-?}" "${speed:-?}" "${cov:-?}" "${rss:-?}" "$(echo "$end - $start" | bc -l)" "$outcome" | tee -a "$results"
	if [[ $outcome == FAILED* ]]; then tail -n 30 "$log"; exit 1; fi
done

#!/usr/bin/env bash
# Benchmark (fuzz): each libFuzzer target (fuzz/run.sh: image-decoder,
# cmdline, elf) for at least a million executions; records executions,
# speed and the outcome in bench/results/fuzz.txt. CI keeps fuzz/run.sh's
# short runs.
#   bench/fuzz.sh [RUNS]     (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000000}
mkdir -p bench/results build/fuzz
log=build/fuzz/bench.log
{
	echo "# fuzz benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m), libFuzzer with ASan"
	echo "# command: bench/fuzz.sh $runs"
} >bench/results/fuzz.txt
for target in cmdline elf image-decoder; do
	start=$(date +%s.%N)
	if bash fuzz/run.sh "$runs" "$target" >"$log" 2>&1; then outcome="no crash, hang, leak or out-of-memory"; else outcome="FAILED (see $log)"; fi
	end=$(date +%s.%N)
	done_runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
	cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -n1 | awk '{print $2}')
	printf '%-14s %9s executions, %6s exec/s, coverage %5s edges, %5.0f s wall: %s\n' \
		"$target" "${done_runs:-?}" "${speed:-?}" "${cov:-?}" "$(echo "$end - $start" | bc -l)" "$outcome" | tee -a bench/results/fuzz.txt
	[[ $outcome == FAILED* ]] && { tail -n 30 "$log"; exit 1; }
done

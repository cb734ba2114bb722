#!/usr/bin/env bash
# Benchmark (fuzz): each libFuzzer target (fuzz/run.sh: image-decoder,
# cmdline, elf) for at least a million executions; records executions,
# speed and the outcome in bench/results/fuzz.txt. CI keeps fuzz/run.sh's
# short runs.
#   bench/fuzz.sh [RUNS [TARGET...]]     (default 1000000, all three)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000000}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(cmdline elf image-decoder)
mkdir -p bench/results build/fuzz
log=build/fuzz/bench.log
{
	echo "# fuzz benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m), libFuzzer with ASan"
	echo "# command: bench/fuzz.sh $runs"
} >bench/results/fuzz.txt
for target in "${targets[@]}"; do
	start=$(date +%s.%N)
	if bash fuzz/run.sh "$runs" "$target" >"$log" 2>&1; then outcome="no crash, hang, leak or out-of-memory"; else outcome="FAILED (see $log)"; fi
	end=$(date +%s.%N)
	done_runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n1)
	speed=$(( ${done_runs:-0} / (${secs:-0} > 0 ? ${secs:-1} : 1) ))
	cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -n1 | awk '{print $2}' || true)
	rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n1)
	printf '%-14s %9s executions, %6s exec/s, coverage %5s edges, peak RSS %4s MB (ASan), %5.0f s wall: %s\n' \
		"$target" "${done_runs:-?}" "${speed:-?}" "${cov:-?}" "${rss:-?}" "$(echo "$end - $start" | bc -l)" "$outcome" | tee -a bench/results/fuzz.txt
	if [[ $outcome == FAILED* ]]; then tail -n 30 "$log"; exit 1; fi
done

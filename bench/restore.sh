#!/usr/bin/env bash
# Benchmark 2 (end to end in the agent): the static agent's restore
# pipeline streams an image of memory-like data into a sink (/dev/null, as
# /dev/snapshot takes a stream): throughput, and the agent's peak resident
# memory, which must not grow with the image (goal: at most 32 MiB), shown
# at 128 MiB and 1 GiB. The baseline in the same run is `cat` of the image
# file to the same sink (the read alone).
#   bench/restore.sh [RUNS]     results: bench/results/restore.txt
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
work=build/bench
mkdir -p "$work" bench/results
make --no-print-directory build static >/dev/null
# The restore pipeline, as the agent runs it, from the static resume-image
# (the benchmark is not in the initramfs binary).
image_tool=build/static/resume-image
now() { date +%s.%N; }
{
	echo "# restore benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m)"
	echo "# command: bench/restore.sh $runs"
	for size in 128 1024; do
		input=$work/memory-$size.bin
		[ -f "$input" ] || python3 bench/make-memory-like.py "$input" "$size"
		build/release/resume-image create kernel --no-kernel-check --kernel "$input" "$work/memory-$size.img" >/dev/null
		cat "$work/memory-$size.img" >/dev/null
		best_agent=999 best_cat=999 line=""
		for _ in $(seq "$runs"); do
			t0=$(now); line=$("$image_tool" bench-restore "$work/memory-$size.img"); t1=$(now)
			cat "$work/memory-$size.img" >/dev/null; t2=$(now)
			a=$(echo "$t1 - $t0" | bc -l); c=$(echo "$t2 - $t1" | bc -l)
			best_agent=$(echo "if ($a < $best_agent) $a else $best_agent" | bc -l)
			best_cat=$(echo "if ($c < $best_cat) $c else $best_cat" | bc -l)
		done
		echo "$size MiB image: agent: $line"
		printf '  best of %d: agent %.3f s, cat (read only) %.3f s: the restore takes %.2f times the time of reading the image\n' \
			"$runs" "$best_agent" "$best_cat" "$(echo "$best_agent / $best_cat" | bc -l)"
	done
} | tee bench/results/restore.txt

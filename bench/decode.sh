#!/usr/bin/env bash
# Benchmark 1 (decode): `resume-image verify` (every chunk read, decoded on
# all cores and checked, output dropped) against `lz4 -d` of the same input
# compressed with `lz4 -1`, in alternating runs of one session, reported as
# a ratio. The input is 512 MiB of memory-like data (bench/make-memory-like.py).
#   bench/decode.sh [SIZE_MIB] [RUNS]     results: bench/results/decode.txt
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-512}
runs=${2:-7}
work=build/bench
mkdir -p "$work" bench/results
make --no-print-directory build >/dev/null
tool=build/release/resume-image
input=$work/memory-$size.bin
[ -f "$input" ] || python3 bench/make-memory-like.py "$input" "$size"
# A kernel image is the container here because its entry holds any bytes;
# --no-kernel-check says so.
"$tool" create kernel --no-kernel-check --kernel "$input" "$work/memory-$size.img" >/dev/null
lz4 -1 -f -q "$input" "$work/memory-$size.lz4"
sync

now() { date +%s.%N; }
ours=() theirs=()
"$tool" verify "$work/memory-$size.img" >/dev/null          # warm the page cache
lz4 -d -c "$work/memory-$size.lz4" >/dev/null
for _ in $(seq "$runs"); do
	t0=$(now); "$tool" verify "$work/memory-$size.img" >/dev/null; t1=$(now)
	lz4 -d -c "$work/memory-$size.lz4" >/dev/null; t2=$(now)
	ours+=("$(echo "$t1 - $t0" | bc -l)")
	theirs+=("$(echo "$t2 - $t1" | bc -l)")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
m_ours=$(median "${ours[@]}")
m_theirs=$(median "${theirs[@]}")
ratio=$(echo "$m_theirs / $m_ours" | bc -l)
stored=$(stat -c %s "$work/memory-$size.img")
lz4size=$(stat -c %s "$work/memory-$size.lz4")
{
	echo "# decode benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m)"
	echo "# command: bench/decode.sh $size $runs"
	echo "input: $size MiB memory-like (35% zero pages, 45% code pages, 20% random)"
	echo "image: $stored bytes; lz4 -1 frame: $lz4size bytes"
	printf 'resume-image verify: median %.3f s (%.0f MiB/s)\n' "$m_ours" "$(echo "$size / $m_ours" | bc -l)"
	printf 'lz4 -d:              median %.3f s (%.0f MiB/s)\n' "$m_theirs" "$(echo "$size / $m_theirs" | bc -l)"
	printf 'ratio: resume-image verify is %.2f times as fast as lz4 -d (goal on 2 cores: 1.8)\n' "$ratio"
} | tee bench/results/decode.txt

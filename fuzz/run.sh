#!/usr/bin/env bash
# Builds the libFuzzer target over the image decoder and runs it for a
# bounded number of runs, seeded with the golden fixtures.
#   fuzz/run.sh [RUNS]     (default 100000; FUZZ_RUNS overrides too)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-${FUZZ_RUNS:-100000}}
out=build/fuzz
mkdir -p "$out/corpus"
cp Tests/ResumeCoreTests/Fixtures/*.img "$out/corpus/"
mapfile -t sources < <(find Sources/ResumeCore -name '*.swift' | sort)
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name ResumeFuzz \
    -I Sources/CLZ4 "${sources[@]}" fuzz/FuzzImageDecoder.swift \
    -Xlinker -llz4 -o "$out/fuzz-image-decoder"
# -max_len covers a header, a table and a few chunks; -timeout fails a hang.
"$out/fuzz-image-decoder" -runs="$runs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "$out/corpus" 2>&1 | tail -n 25
echo "fuzz: $runs runs of the image decoder without a crash, hang or leak"

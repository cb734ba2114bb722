#!/usr/bin/env bash
# Benchmark (hashes): the chunk hashes alone, one thread, in one process:
# the hand-written XXH64 and SHA-256 this project had until format 1.1
# (taken from git history, commit cd53876) against libxxhash's XXH64 and
# XXH3-64 and libsodium's SHA-256 and BLAKE2b-128, over 256 KiB chunks (the
# default chunk size) of memory-like data. Complements bench/decode.sh,
# where hashing is a small share next to LZ4 and the ratio is noisy.
#   bench/hashes.sh     results: bench/results/hashes.txt
set -euo pipefail
cd "$(dirname "$0")/.."
work=build/bench/hashes
mkdir -p "$work" bench/results
git show cd53876:Sources/ResumeCore/Hashing/XXH64.swift | sed 's/public struct XXH64/struct HandXXH64/' >"$work/HandXXH64.swift"
git show cd53876:Sources/ResumeCore/Hashing/SHA256.swift | sed 's/public struct SHA256/struct HandSHA256/; s/SHA256\([.(]\)/HandSHA256\1/g' >"$work/HandSHA256.swift"
cat >"$work/main.swift" <<'SWIFT'
import CSodium
import CXXHash
#if canImport(Glibc)
import Glibc
#endif
func now() -> Double { var t = timespec(); clock_gettime(CLOCK_MONOTONIC, &t); return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9 }
let chunk = 256 << 10, chunks = 256   // 64 MiB per pass
var data = [UInt8](repeating: 0, count: chunk * chunks)
var x: UInt64 = 0x9E3779B97F4A7C15
for i in stride(from: 0, to: data.count, by: 8) where (i / 4096) % 3 != 0 {   // a third zero pages
    x ^= x << 13; x ^= x >> 7; x ^= x << 17
    withUnsafeBytes(of: x) { for j in 0..<8 { data[i + j] = $0[j] } }
}
_ = sodium_init()
func measure(_ name: String, _ body: (UnsafeRawBufferPointer) -> UInt64) -> Double {
    var best = Double.infinity, sink: UInt64 = 0
    data.withUnsafeBytes { all in
        for _ in 0..<7 {
            let t0 = now()
            for c in 0..<chunks { sink &+= body(UnsafeRawBufferPointer(rebasing: all[(c * chunk)..<((c + 1) * chunk)])) }
            best = min(best, now() - t0)
        }
    }
    let mibs = Double(data.count >> 20) / best
    print(name + String(repeating: " ", count: max(1, 34 - name.count)) + "\(Int(mibs)) MiB/s" + (sink == 42 ? " " : ""))
    return mibs
}
let hand64 = measure("XXH64, hand-written Swift") { HandXXH64.hash($0) }
let lib64 = measure("XXH64, libxxhash") { XXH64($0.baseAddress, $0.count, 0) }
let lib3 = measure("XXH3-64, libxxhash") { XXH3_64bits($0.baseAddress, $0.count) }
let handSHA = measure("SHA-256, hand-written Swift") { b in var h = HandSHA256(); h.update(b); return UInt64(h.finalize()[0]) }
let libSHA = measure("SHA-256, libsodium") { b in
    var out = [UInt8](repeating: 0, count: 32)
    crypto_hash_sha256(&out, b.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(b.count)); return UInt64(out[0]) }
let blake = measure("BLAKE2b-128, libsodium") { b in
    var out = [UInt8](repeating: 0, count: 16)
    crypto_generichash(&out, 16, b.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(b.count), nil, 0); return UInt64(out[0]) }
func r(_ v: Double) -> String { let h = Int((v * 100).rounded()); return "\(h / 100).\(h % 100 < 10 ? "0" : "")\(h % 100)" }
print("ratio: libxxhash XXH3-64 is \(r(lib3 / hand64)) times as fast as the hand-written XXH64 (libxxhash XXH64: \(r(lib64 / hand64)))")
print("ratio: libsodium SHA-256 is \(r(libSHA / handSHA)) times as fast as the hand-written SHA-256")
print("ratio: BLAKE2b-128 (signed images) is \(r(blake / hand64)) times as fast as the hand-written XXH64")
SWIFT
swiftc -O -module-name HashBench -I Sources/CSodium -I Sources/CXXHash \
	"$work/main.swift" "$work/HandXXH64.swift" "$work/HandSHA256.swift" -Xlinker -lsodium -Xlinker -lxxhash -o "$work/hashbench" 2>&1 | grep -v warning || true
{
	echo "# hash benchmark, $(date -u +%Y-%m-%d), one thread, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
	echo "# command: bench/hashes.sh (best of 7 passes over 64 MiB in 256 KiB chunks; load average $(cut -d' ' -f1 /proc/loadavg))"
	"$work/hashbench"
} | tee bench/results/hashes.txt

#!/usr/bin/env bash
# Jump benchmark (A/B swap, under QEMU TCG): boots the kernel-b scenario of
# the boot tests, kernel A's agent restoring a ~40 MB kernel image (Debian's
# bzImage + a 33 MB initrd) and jumping to it, RUNS times, and reports, on
# the host clock (the one clock that runs across the jump): the time from
# the agent's start to kernel B's first line, and the agent's share of it
# (start to its jump), split into decoding and the kernel's kexec_file_load.
#   bench/jump.sh [RUNS]     results: bench/results/jump.txt
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
make --no-print-directory build static >/dev/null
log=build/vm/logs/jump-timings.txt
rm -f "$log"
for _ in $(seq "$runs"); do
	bash Tests/boot/run.sh kernel-b-reusable >/dev/null || { echo "the kernel-b-reusable boot test failed" >&2; exit 1; }
done
{
	echo "# jump benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, QEMU TCG (no KVM here), Debian kernel $(cat build/vm/kver)"
	echo "# command: bench/jump.sh $runs   (each run boots kernel-b-reusable twice: two jumps)"
	awk '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		sub(/s$/, "", v["agent_start_to_kernel_b"]); sub(/s$/, "", v["agent_start_to_jump"])
		match($0, /in [0-9]+ ms/); dec = substr($0, RSTART + 3, RLENGTH - 6)
		match($0, /took [0-9]+ ms/); kfl = substr($0, RSTART + 5, RLENGTH - 8)
		n++; tot += v["agent_start_to_kernel_b"]; ag += v["agent_start_to_jump"]; d += dec; k += kfl
		printf "jump %d: agent start to kernel B first line %.2f s; agent start to jump %.2f s (decode %d ms, kexec_file_load %d ms); image %s bytes raw\n",
			n, v["agent_start_to_kernel_b"], v["agent_start_to_jump"], dec, kfl, v["image_raw_bytes"]
	} END {
		printf "mean: %.2f s to kernel B; the agent until its jump: %.2f s = %.0f%% of it; of the agent, decoding %.0f%% and the kernel'"'"'s kexec_file_load %.0f%%\n",
			tot / n, ag / n, 100 * ag / tot, 100 * d / 1000 / ag, 100 * k / 1000 / ag
		print "the rest (jump to kernel B'"'"'s first line) is the kernel'"'"'s: device shutdown, purgatory (which checks a SHA-256 of every segment), kernel B'"'"'s decompression"
	}' "$log"
} | tee bench/results/jump.txt

#!/usr/bin/env bash
# A kept hibernate kernel against a cold-booted one, in one run,
# same VM (QEMU TCG, -smp 2, -m 2G, A mem=1G, the KEXEC_JUMP kernel): the
# `kept` scenario of Tests/jump/run.sh, read back from its logs.
#   B ready:  from A's jump to B's first agent line that acts (cold: B boots
#             its kernel and initramfs, then parks; kept: B resumes from its
#             saved image and reads A's request)
#   whole hibernation: from A's "hibernating" line to the end of that QEMU
#             (B powered off after saving A); the cold round also boots B,
#             reads it out of A's kexec image and saves it (once)
# Ratios kept/cold. Results: bench/results/kept-hibernate-kernel.txt
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory kernel-jump static >/dev/null
export JUMP_LOGS="$PWD/build/jump/bench-kept-logs"
bash Tests/jump/run.sh kept >/dev/null
L="$JUMP_LOGS"
at() { grep -E -m1 -- "$2" "$L/$1.log" | awk '{ print $1 }'; }
end() { tail -n1 "$L/$1.log" | awk '{ print $1 }'; }
cold_ready=$(bc <<<"$(at kept-a 'resume-agent: kexec jump from kernel A .*parking') - $(at kept-a 'jumping to the hibernate kernel to boot it once')")
kept_ready=$(bc <<<"$(at kept-c1 'resume-agent: kexec jump from kernel A .*saving') - $(at kept-c1 'resuming the saved hibernate kernel')")
cold_whole=$(bc <<<"$(end kept-a) - $(at kept-a 'JT-A hibernating .*round 1')")
kept_whole=$(bc <<<"$(end kept-c1) - $(at kept-c1 'JT-A hibernating .*round 2')")
mkdir -p bench/results
{
	echo "# kept hibernate kernel, $(date -u +%Y-%m-%d), $(nproc) host cores (load $(cut -d' ' -f1 /proc/loadavg)), QEMU TCG (1 vCPU), -m 2G, A mem=1G"
	echo "# command: bench/kept-hibernate-kernel.sh   (logs: $L)"
	echo "B ready to save A, from A's jump:   cold boot ${cold_ready} s, kept ${kept_ready} s, ratio $(bc <<<"scale=2; $kept_ready / $cold_ready")"
	echo "whole hibernation (A's command to power off): cold ${cold_whole} s (boots B once and saves it), kept ${kept_whole} s, ratio $(bc <<<"scale=2; $kept_whole / $cold_whole")"
} | tee bench/results/kept-hibernate-kernel.txt

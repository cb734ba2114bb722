#!/bin/bash
# shellcheck disable=SC2317 # the scenario_* functions are called by name
# The kexec-jump hibernation scenarios, in QEMU TCG (-smp 2: A's token
# process and one bound to CPU 1 must go on after each return) on
# the KEXEC_JUMP kernel (mkimage/kernel-jump.sh) with the guests of
# mkimage/jump-guests.sh (mkimage/jump/init plays A, B and C):
#
#   Tests/jump/run.sh [SCENARIO...]   default: all, two at a time (JUMP_LANES=1: one)
#
#   checkpoint  A (mem=1G of 2 GiB) runs `resume-image hibernate --kexec-jump
#               --checkpoint /dev/vda`; the agent in B saves A and jumps back;
#               A's token process goes on with the same token, so does the
#               one bound to CPU 1, on CPU 1; the command says "checkpoint
#               written", and the image on the disk verifies (`resume-image
#               verify` on the host). C trusting a key refuses that unsigned
#               image (a normal boot). Then the same with one CPU (-smp 1).
#   hibernate   A (mem=1G of 2 GiB, 64 MiB of random tmpfs data) runs
#               `resume-image hibernate --kexec-jump --sign KEY /dev/vda`; B
#               saves, signed with the key A handed it, and powers off (the
#               image verifies with A's public key). Copies of that image
#               are booted first where the
#               agent must refuse, each ending in a normal boot with the
#               reason in the log: C with another memory map (-m 1G), the
#               image with one byte of chunk data flipped, C under
#               lockdown=integrity, C trusting another key. Then a fresh
#               QEMU boots C, trusting A's key, on the image:
#               the agent restores A, whose token goes on ticking (same
#               token, later ticks) with its tmpfs data intact; a third boot
#               of the same disk is a normal boot (never twice).
#   kept        A keeps its hibernate kernel (--keep-hibernate-kernel
#               on a second disk, --sign, the target a swap partition): the
#               first hibernation boots B cold
#               and saves it (signed), the second resumes it from its file
#               (no boot, the key in its mailbox); both signed, both
#               restored by C with A's token going on; then the target is the
#               same swap again (swapon; UUID, label); a saved B for another
#               window is refused and B boots cold
#   powercut    power cuts (the target a swap partition): B stopped (resume_agent.break=) after the page
#               map, at half of A's pages, and before the header, the disk
#               taken there: each a normal boot, no image; C killed after
#               marking the image consumed: the next boot is normal; each
#               normal boot gives the swap back, the same UUID; a
#               target too small: B jumps back, A says why and goes on
#   refusals    A's command refuses, one line each, before any jump: no
#               unused memory (A without mem=; with --force, the target's
#               filesystem is not erased for nothing), a target holding a
#               filesystem, an unreadable hibernate kernel, lockdown
#
# Logs (host-timestamped: seconds since that QEMU started) in
# build/jump/logs/. Exits 1 if any scenario fails.
set -euo pipefail
# shellcheck source=Tests/jump/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

scenario_checkpoint()
{
	local disk="$dir/checkpoint.img" tok before after
	fresh_disk "$disk" 1G
	boot checkpoint 2G "$disk" "mem=1G jt.role=a jt.checkpoint=1 jt.after=4"
	tok="$(token_of checkpoint)"
	[ -n "$tok" ] || fail "checkpoint: A never printed its token"
	expect checkpoint "JT-B up" && expect checkpoint "checkpoint written to /dev/vda" &&
		expect checkpoint "JT-A resume-image hibernate returned .*: exit status 0" || return 1
	before="$(sed -n '/JT-A hibernating/,/JT-B up/p' "$logs/checkpoint.log" | sed -n "s/.*JT-TOKEN $tok tick \([0-9]*\).*/\1/p" | tail -n1)"
	after="$(last_tick checkpoint "$tok" "JT-A resume-image hibernate returned")"
	[ "${after:--1}" -gt "${before:-0}" ] || fail "checkpoint: token $tok does not tick on after the return (ticks $before, then $after)" || return 1
	cpus_back checkpoint "$tok" checkpoint "JT-A resume-image hibernate returned" || return 1
	"$STATIC/resume-image" verify "$disk" >"$logs/checkpoint-verify.log" 2>&1 ||
		fail "checkpoint: the image does not verify: $(cat "$logs/checkpoint-verify.log")" || return 1
	log "jump: checkpoint: $(cat "$logs/checkpoint-verify.log"); A's token $tok ticked $before before the jump, $after after"
	# A boot kernel that trusts keys refuses this unsigned image: a normal boot.
	JUMP_TRUST=a boot checkpoint-unsigned 2G "$disk" "jt.role=c resume=/dev/vda"
	refused checkpoint-unsigned "image is not signed, and only signed images are trusted" || return 1
	# One CPU: the same round trip (no secondary CPU to bring back).
	fresh_disk "$disk" 1G
	JUMP_SMP=1 boot checkpoint-up 2G "$disk" "mem=1G jt.role=a jt.checkpoint=1 jt.after=2"
	tok="$(token_of checkpoint-up)"
	expect checkpoint-up "checkpoint written to /dev/vda" &&
		expect checkpoint-up "JT-A CPUs online 0, 1 in /proc/cpuinfo" || return 1
	[ "$(last_tick checkpoint-up "$tok" "JT-A resume-image hibernate returned")" -gt 0 ] || fail "checkpoint-up: token $tok does not go on"
}

scenario_refusals()
{
	local disk="$dir/refusals.img"
	fresh_disk "$disk" 64M
	mkfs.ext4 -q -F "$disk" 2>/dev/null || true
	boot refusals 1G "$disk" "jt.role=r"
	boot refusals-lockdown 1G "$disk" "mem=256M jt.role=r lockdown=integrity"
	expect refusals "r1: resume-image: no memory for the hibernate kernel: boot A with mem=, memmap=SIZE\\\$START or crashkernel=" &&
		expect refusals "r2: resume-image: refusing to write over /dev/vda: libblkid sees" &&
		expect refusals "r3: resume-image: the hibernate kernel /nonexistent is unreadable" &&
		expect refusals-lockdown "r4: resume-image: kernel lockdown \\(integrity\\) refuses kexec_load" &&
		refute refusals "r1: resume-image: erased signatures" &&
		refute refusals "JT-B up" && refute refusals-lockdown "JT-B up"
}

# refused NAME REASON: the agent in C logged REASON (grep -E), and the boot
# went on as a normal boot without A's token.
refused()
{
	expect "$1" "resume-agent.*($2)" && expect "$1" "JT-NORMAL-BOOT" && refute "$1" "JT-TOKEN"
}

# A hibernates once; copies of the image are offered to C where it must
# refuse, then the image itself is restored, then booted again.
scenario_hibernate()
{
	local disk="$dir/hibernate.img" tok before after
	fresh_disk "$disk" 1G
	boot hibernate-a 2G "$disk" "mem=1G jt.role=a jt.fill=64 jt.sign=1"
	tok="$(token_of hibernate-a)"
	[ -n "$tok" ] || fail "hibernate: A never printed its token" || return 1
	expect hibernate-a "JT-B up" && refute hibernate-a "JT-A resume-image hibernate returned" || return 1
	before="$(last_tick hibernate-a "$tok")"
	# B signed it with the key A handed over (in B's initrd, in memory).
	"$STATIC/resume-image" verify --key "$dir/keys/a.pub" "$disk" >"$logs/hibernate-verify.log" 2>&1 ||
		fail "hibernate: B's image does not verify as signed by A's key: $(cat "$logs/hibernate-verify.log")" || return 1
	expect hibernate-a "resume-agent: signing kernel A's image with the key kernel A handed over" &&
		expect hibernate-a "resume-agent: saved kernel A to /dev/vda: .*, signed by key" || return 1

	# Refusals, each on a copy: a normal boot with the reason in the log.
	cp --sparse=always "$disk" "$dir/refuse.img"
	boot refuse-memmap 1G "$dir/refuse.img" "jt.role=c resume=/dev/vda"
	cp --sparse=always "$disk" "$dir/refuse.img"
	# One byte in the middle of the chunk data (from 4096 to the table
	# offset, header field 0x048: docs/FORMAT.md) flipped.
	python3 - "$dir/refuse.img" <<-'PY'
		import struct, sys
		with open(sys.argv[1], "r+b") as f:
		    f.seek(0x48)
		    table = struct.unpack("<Q", f.read(8))[0]
		    at = 4096 + (table - 4096) // 2
		    f.seek(at)
		    byte = f.read(1)[0]
		    f.seek(at)
		    f.write(bytes([byte ^ 0xFF]))
	PY
	boot refuse-corrupt 2G "$dir/refuse.img" "jt.role=c resume=/dev/vda"
	cp --sparse=always "$disk" "$dir/refuse.img"
	boot refuse-lockdown 2G "$dir/refuse.img" "jt.role=c resume=/dev/vda lockdown=integrity"
	cp --sparse=always "$disk" "$dir/refuse.img"
	JUMP_TRUST=other boot refuse-otherkey 2G "$dir/refuse.img" "jt.role=c resume=/dev/vda"
	rm -f "$dir/refuse.img"
	local ok=0
	refused refuse-memmap "another firmware memory map|beyond what this machine" || ok=1
	refused refuse-corrupt "chunk [0-9]+: .*mismatch" || ok=1
	# The kernel's own line says why kexec_load failed; the agent's, what it did.
	refused refuse-lockdown "kexec_load is not permitted|lockdown" &&
		expect refuse-lockdown "Lockdown: resume-agent: kexec of unsigned images is restricted" || ok=1
	refused refuse-otherkey "image is signed by key [0-9a-f]+, which is not trusted" || ok=1

	# C confined to its first 512 MiB, as on real hardware: most of the rest
	# (half of A's RAM, and B's window) is soft reserved. This kernel has
	# kmem built in, which takes dax0.0 at boot with its blocks offline; the
	# agent gives it back to device_dax and puts A's pages there in place
	# through /dev/dax0.0; only A's pages in C's own 512 MiB go through the
	# restore stub. The log counts both.
	JUMP_TRUST=a boot hibernate-c 2G "$disk" "jt.role=c resume=/dev/vda $CONFINE_C"
	after="$(last_tick hibernate-c "$tok")"
	refute hibernate-c "JT-NORMAL-BOOT" && expect hibernate-c "A resumed from kexec-jump hibernation" &&
		expect hibernate-c "JT-A tmpfs data intact" &&
		expect hibernate-c "resume-agent: memory: dax0.0 taken back from kmem for device_dax" &&
		expect hibernate-c "resume-agent: kernel A's image: .*; [1-9][0-9]* pages put in place through dax \(dax0.0 .*\) and [1-9][0-9]* left to the restore stub" || ok=1
	log "jump: hibernate: $(grep -o "kernel A's image: .*" "$logs/hibernate-c.log" | head -n1)"
	[ "$after" -gt "$before" ] || fail "hibernate: token $tok ticked to $before in A, $after after C" || ok=1
	cpus_back hibernate-c "$tok" hibernate-a "resume-agent: decision: resume" || ok=1
	log "jump: hibernate: token $tok: tick $before before B, $after after the restore; decision to token: $(at hibernate-c "resume-agent: decision: resume") -> $(at hibernate-c "JT-TOKEN $tok")"

	JUMP_TRUST=a boot hibernate-again 2G "$disk" "jt.role=c resume=/dev/vda $CONFINE_C"
	expect hibernate-again "JT-NORMAL-BOOT" && refute hibernate-again "JT-TOKEN $tok" || ok=1
	# The normal boot brought the held-back memory online (kmem): about 2 GiB.
	all_memory hibernate-again || ok=1
	return "$ok"
}

# A keeps its hibernate kernel in a file on a second disk. The
# first hibernation boots B cold; B parks; A saves B and resumes it from
# there (the log says which); C restores A; A hibernates again, now
# resuming the saved B with no boot; C restores A again (same token, ticks
# going on). Then a fresh A with another window: the saved B is refused
# with its reason, B is booted cold, and the hibernation still works.
# Prints B's readiness (A's jump to B's first save line) both ways.
scenario_kept()
{
	local disk="$dir/kept.img" tok t1 t2 ok=0
	# The target is a swap partition (swap off): set aside for each
	# hibernation, swap again, with its UUID, once A goes on.
	swap_disk "$disk" 1G
	fresh_disk "$dir/kept-b.img" 200M
	export JUMP_DISK2="$dir/kept-b.img"
	boot kept-a 2G "$disk" "mem=1G jt.role=a jt.keep=/dev/vdb jt.rounds=2 jt.after=2 jt.sign=1 jt.swapon=1"
	tok="$(token_of kept-a)"
	[ -n "$tok" ] || fail "kept: A never printed its token" || { unset JUMP_DISK2; return 1; }
	expect kept-a "JT-P saved hibernate kernel /dev/vdb: none usable" &&
		expect kept-a "booting it cold and saving it again" && expect kept-a "saved the parked hibernate kernel to /dev/vdb" &&
		expect kept-a "kernel A jumped here again \\(this kernel resumed from its saved image\\)" &&
		expect kept-a "resume-agent: saved kernel A to /dev/vda" || ok=1
	JUMP_TRUST=a boot kept-c1 2G "$disk" "jt.role=c resume=/dev/vda"
	expect kept-c1 "resume-agent: saved kernel A to /dev/vda: .*, signed by key" &&
		expect kept-c1 "JT-P .*this one: usable" && expect kept-c1 "JT-P .*the same firmware memory map" &&
		expect kept-c1 "JT-TOKEN $tok" && expect kept-c1 "the saved hibernate kernel in /dev/vdb fits: resuming it, no boot" &&
		refute kept-c1 "JT-B up" && expect kept-c1 "resume-agent: saved kernel A to /dev/vda" || ok=1
	JUMP_TRUST=a boot kept-c2 2G "$disk" "jt.role=c resume=/dev/vda"
	expect kept-c2 "JT-TOKEN $tok" && expect kept-c2 "JT-END A" || ok=1
	expect kept-a "set the swap signature of /dev/vda aside" && expect kept-c2 "JT-A swapon /dev/vda: swap again" &&
		swap_again "$disk" "kept: two hibernations into it, each restored" || ok=1
	cpus_back kept-c2 "$tok" kept-a "resume-agent: decision: resume" || ok=1
	[ "$(last_tick kept-c2 "$tok")" -gt "$(last_tick kept-a "$tok")" ] || fail "kept: token $tok does not go on" || ok=1
	t1="$(bc <<<"$(at kept-a "resume-agent: kexec jump from kernel A .*parking") - $(at kept-a "jumping to the hibernate kernel to boot it once")")"
	t2="$(bc <<<"$(at kept-c1 "resume-agent: kexec jump from kernel A .*saving") - $(at kept-c1 "resuming the saved hibernate kernel")")"
	log "jump: kept: B ready from A's jump: cold boot $t1 s, resumed from its file $t2 s (ratio $(bc <<<"scale=2; $t2 / $t1"))"
	# Another window: the saved B does not fit; B boots cold, A is saved all the same.
	fresh_disk "$disk" 1G
	boot kept-other 2G "$disk" "mem=1G jt.role=a jt.keep=/dev/vdb jt.window=46000000-4bffffff"
	expect kept-other "not using the saved hibernate kernel in /dev/vdb: .*not in this window" &&
		expect kept-other "JT-B up" && expect kept-other "resume-agent: saved kernel A to /dev/vda" || ok=1
	unset JUMP_DISK2
	return "$ok"
}

# Power cuts, into a swap partition. B stops 10 s (resume_agent.break=) where a cut hurts most: the
# target's header zeroed and the page map written; half of A's pages
# written; every chunk and the table written and synced, the header not.
# At each stop the host takes the disk as a cut would leave it (QEMU has
# written what the guest wrote to the file), and B goes on to a valid
# image. Each cut copy: `resume-image verify` says it is no image, and C
# boots it normally with all memory online. Then C stops right after
# marking the image consumed and QEMU is killed there: the next boot is a
# normal boot (never twice). Each normal boot gives the swap back: the same
# swap (UUID, label) as mkswap made it. Last, a target too small: B's
# writes fail, B jumps back, A says why and goes on.
scenario_powercut()
{
	local disk="$dir/powercut.img" point pid tok ok=0
	local points=(save-start save-middle save-before-header)
	swap_disk "$disk" 1G
	boot powercut-a 2G "$disk" "mem=1G jt.role=a jt.bbreak=save-start:save-middle:save-before-header" &
	pid=$!
	for point in "${points[@]}"; do
		wait_line powercut-a "resume-agent: resume_agent.break=$point: stopping here" 240 || { ok=1; break; }
		cp --sparse=always "$disk" "$dir/cut-$point.img"
	done
	wait "$pid"
	expect powercut-a "resume-agent: saved kernel A to /dev/vda" || ok=1
	for point in "${points[@]}"; do
		[ -f "$dir/cut-$point.img" ] || continue
		if "$STATIC/resume-image" verify "$dir/cut-$point.img" >"$logs/cut-$point-verify.log" 2>&1; then
			fail "powercut: the disk cut at $point verifies as an image: $(cat "$logs/cut-$point-verify.log")"
			ok=1
		fi
		boot "cut-$point" 2G "$dir/cut-$point.img" "jt.role=c resume=/dev/vda $CONFINE_C"
		expect "cut-$point" "resume-agent: decision: boot normally" && expect "cut-$point" "JT-NORMAL-BOOT" &&
			all_memory "cut-$point" && swap_again "$dir/cut-$point.img" "powercut: a normal boot after the cut at $point" || ok=1
		rm -f "$dir/cut-$point.img"
	done
	log "jump: powercut: cut during B's save at ${points[*]}: each a normal boot, no image"

	tok="$(token_of powercut-a)"
	boot powercut-c 2G "$disk" "jt.role=c resume=/dev/vda $CONFINE_C resume_agent.break=consumed resume_agent.break_seconds=120" &
	pid=$!
	wait_line powercut-c "resume-agent: resume_agent.break=consumed: stopping here" 120 && cut_power powercut-c || ok=1
	wait "$pid"
	refute powercut-c "JT-TOKEN $tok" || ok=1
	boot powercut-again 2G "$disk" "jt.role=c resume=/dev/vda $CONFINE_C"
	refused powercut-again "consumed" && all_memory powercut-again &&
		swap_again "$disk" "powercut: the normal boot after the consumed image" || ok=1
	log "jump: powercut: cut after C marked the image consumed: the next boot is normal"

	fresh_disk "$dir/powercut-small.img" 16M
	boot powercut-full 2G "$dir/powercut-small.img" "mem=1G jt.role=a jt.after=2"
	tok="$(token_of powercut-full)"
	expect powercut-full "resume-agent: kernel A not saved: writing the image to /dev/vda: .*; jumping back to A" &&
		expect powercut-full "JT-A resume-image hibernate returned .*: exit status 1" &&
		expect powercut-full "back from the hibernate kernel without an image on /dev/vda" || ok=1
	[ "$(last_tick powercut-full "$tok" "JT-A resume-image hibernate returned")" -ge 0 ] ||
		fail "powercut: A's token $tok does not go on after the failed save" || ok=1
	rm -f "$dir/powercut-small.img"
	return "$ok"
}

# run_lane SCENARIO...: one after the other; fails if any failed.
run_lane()
{
	local one t0 failed=0
	for one in "$@"; do
		t0="$EPOCHREALTIME"
		if "scenario_$one"; then
			log "PASS: $one ($(bc <<<"$EPOCHREALTIME - $t0") s)"
		else
			log "FAIL: $one ($(bc <<<"$EPOCHREALTIME - $t0") s; logs: $logs/$one*.log)"
			failed=1
		fi
	done
	return "$failed"
}

# All of them: two lanes at once (each QEMU's TCG keeps about a core busy),
# balanced by their length; JUMP_LANES=1 runs them one at a time. Named
# scenarios run one at a time, in order.
failed=0
if [ $# -gt 0 ]; then
	# shellcheck disable=SC2048,SC2086 # "a b" as one argument names two
	run_lane $* || failed=1
elif [ "${JUMP_LANES:-2}" -ge 2 ]; then
	run_lane powercut hibernate &
	first=$!
	run_lane kept checkpoint refusals || failed=1
	wait "$first" || failed=1
else
	run_lane refusals checkpoint hibernate kept powercut || failed=1
fi
exit "$failed"

#!/bin/bash
# shellcheck disable=SC2317 # the scenario_* functions are called by name
# The kexec-jump proofs of issue 9 under QEMU TCG (-smp 1), on the
# KEXEC_JUMP kernel of mkimage/kernel-jump.sh and the guests of
# mkimage/kjump-build.sh (mkimage/kjump/init says what each part does).
#
#   kjump-run.sh [SCENARIO...]     default: roundtrip hibernate free stub
#
#   roundtrip  A (mem=256M of 1 GiB) jumps to B, B jumps back, A's token
#              process goes on
#   hibernate  A -> B saves A's RAM whole to a disk and ends QEMU; a fresh
#              QEMU boots C, which kexec_loads A's RAM as segments and
#              enters A: the same token goes on
#   free       A (mem=1G of 2 GiB): B counts A's buddy-free pages through
#              A's vmcoreinfo and jumps back
#   stub       A (mem=1G of 2 GiB, 64 MiB of tmpfs data): B saves only the
#              pages in use, LZ4-compressed; C loads the restore stub and the
#              image as one segment in A's free pages; the stub puts the
#              pages in place and enters A: same token, tmpfs data intact
#
# Logs (host-timestamped, seconds since that QEMU started) in
# build/kjump/logs/SCENARIO-RUN.log. Exits 1 if any scenario fails.
set -euo pipefail
# shellcheck source=mkimage/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_cmd qemu-system-x86_64 qemu-system-x86
dir="$("$MKIMAGE_DIR/kjump-build.sh")"
logs="$dir/logs"
mkdir -p "$logs"
TIMEOUT="${KJUMP_TIMEOUT:-300}"

# boot LOG MEM APPEND: one QEMU run (TCG, one CPU, the disk as /dev/vda),
# its serial output timestamped into LOG. QEMU ends when the guest reboots.
boot()
{
	log "kjump: $(basename "$1" .log): -m $2: $3"
	qemu_jump_guest "$1" "$2" "$dir/bzImage" "$dir/a.cpio" "$dir/disk.img" "$3"
}

# The token A printed first, and whether it ticks on after A came back.
token_of() { sed -n 's/.*KJ-A up at .*: token \([0-9a-f]*\) .*/\1/p' "$1" | head -n1; }
expect() { grep -q -- "$2" "$1" || { log "FAIL: $(basename "$1"): no line matching '$2'"; return 1; }; }

# ticks_after LOG TOKEN: the token lines after A's "back from kexec -e".
ticks_after() { sed -n '/KJ-A back from kexec -e/,$p' "$1" | grep -c "KJ-TOKEN $2 tick" || true; }

fresh_disk() { rm -f "$dir/disk.img"; truncate -s "$1" "$dir/disk.img"; }

scenario_roundtrip()
{
	local log="$logs/roundtrip-1.log" tok
	fresh_disk 16M
	boot "$log" 1G "mem=256M fr.role=a fr.bwin=0x10000000-0x15ffffff fr.top=0x40000000 fr.bact=back fr.after=4"
	tok="$(token_of "$log")"
	expect "$log" "KJ-B up" && expect "$log" "KJ-A back from kexec -e" || return 1
	[ "$(ticks_after "$log" "$tok")" -ge 2 ] || { log "FAIL: roundtrip: token $tok does not tick after the return"; return 1; }
}

scenario_hibernate()
{
	local log1="$logs/hibernate-1.log" log2="$logs/hibernate-2.log" tok
	fresh_disk 300M
	boot "$log1" 1G "mem=256M fr.role=a fr.bwin=0x10000000-0x15ffffff fr.top=0x40000000 fr.bact=save"
	tok="$(token_of "$log1")"
	expect "$log1" "KJ-END B saved A" || return 1
	boot "$log2" 1G "fr.role=c fr.cact=restore"
	expect "$log2" "KJ-A back from kexec -e" || return 1
	[ "$(ticks_after "$log2" "$tok")" -ge 2 ] || { log "FAIL: hibernate: token $tok does not tick in the restored A"; return 1; }
}

scenario_free()
{
	local log="$logs/free-1.log"
	fresh_disk 16M
	boot "$log" 2G "mem=1G fr.role=a fr.bwin=0x40000000-0x45ffffff fr.top=0x80000000 fr.bact=free fr.after=2"
	expect "$log" "kjump: A has .* pages in .* ranges, [1-9][0-9]* free" && expect "$log" "KJ-A back from kexec -e"
}

scenario_stub()
{
	local log1="$logs/stub-1.log" log2="$logs/stub-2.log" tok
	fresh_disk 1200M
	boot "$log1" 2G "mem=1G fr.role=a fr.bwin=0x40000000-0x45ffffff fr.top=0x80000000 fr.bact=savefree fr.fill=64"
	tok="$(token_of "$log1")"
	expect "$log1" "KJ-END B saved A" || return 1
	boot "$log2" 2G "fr.role=c fr.cact=stub"
	expect "$log2" "kjump-stub: .* pages in place" && expect "$log2" "KJ-A back from kexec -e" &&
		expect "$log2" "KJ-A tmpfs data intact" || return 1
	[ "$(ticks_after "$log2" "$tok")" -ge 2 ] || { log "FAIL: stub: token $tok does not tick in the restored A"; return 1; }
}

failed=0
for s in "${@:-roundtrip hibernate free stub}"; do
	for one in $s; do
		if "scenario_$one"; then log "PASS: $one"; else log "FAIL: $one (logs: $logs/$one-*.log)"; failed=1; fi
	done
done
exit "$failed"

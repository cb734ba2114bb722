# shellcheck shell=bash disable=SC2034
# The kexec-jump test harness, shared by Tests/jump/run.sh and
# bench/kexec-jump.sh: the guests (mkimage/jump-guests.sh: one /init plays
# A, B and C, mkimage/jump/init), one QEMU boot per call with a
# host-timestamped log, and reading those logs. Sourcing it builds the
# guests (cached kernel) and sets dir, logs, STATIC (for the scripts that source it).
# shellcheck source=mkimage/lib.sh source-path=SCRIPTDIR/../..
. "$(dirname "${BASH_SOURCE[0]}")/../../mkimage/lib.sh"

need_cmd qemu-system-x86_64 qemu-system-x86
dir="$("$MKIMAGE_DIR/jump-guests.sh")"
STATIC="${STATIC_DIR:-$REPO_ROOT/build/static}"
logs="${JUMP_LOGS:-$dir/logs}"
rm -rf "$logs"
mkdir -p "$logs"
# One boot's limit: A's boot, kexec -l, B's boot and save take 60-150 s
# of TCG on 2 busy cores.
TIMEOUT="${JUMP_TIMEOUT:-300}"

# boot NAME MEM DISK APPEND: one QEMU run (TCG, $JUMP_SMP CPUs: 2; DISK as /dev/vda),
# its serial output timestamped into $logs/NAME.log. QEMU ends when the
# guest reboots or powers off (-no-reboot). JUMP_TRUST=a or other: the
# initramfs trusts that key (C refuses images it did not sign).
boot()
{
	local initrd="$dir/a.cpio"
	[ -z "${JUMP_TRUST:-}" ] || initrd="$dir/a+trust-$JUMP_TRUST.cpio"
	log "jump: $1: -m $2: $4${JUMP_TRUST:+ (trusting key $JUMP_TRUST)}"
	qemu_jump_guest "$logs/$1.log" "$2" "$dir/bzImage" "$initrd" "$3" "$4"
}

# The boot kernel C confined to its first 512 MiB of a 2 GiB guest, as
# the boot scenarios confine Debian's kernel: the rest is soft reserved,
# a device-dax device (dax0.0) until the agent decides. 1408 MiB: whole
# 128 MiB memory blocks (kmem adds whole blocks), ending 2 MiB aligned
# (dax_hmem refuses a range that does not: the guest's RAM below 4 GiB ends
# with QEMU's ACPI tables, so the last 128 MiB stay C's).
CONFINE_C="memmap=1408M%512M-1+0xefffffff"

fail() { log "FAIL: $*"; return 1; }
# expect NAME PATTERN / refute NAME PATTERN: a line of NAME's log (grep -E).
expect() { grep -qE -- "$2" "$logs/$1.log" || fail "$1: no line matching '$2' (log: $logs/$1.log)"; }
refute() { ! grep -qE -- "$2" "$logs/$1.log" || fail "$1: a line matches '$2' (log: $logs/$1.log)"; }
# The token A printed first.
token_of() { sed -n 's/.*JT-A up at .*: token \([0-9a-f]*\) .*/\1/p' "$logs/$1.log" | head -n1; }
# last_tick NAME TOKEN [AFTER]: the highest tick of TOKEN in NAME's log
# (after the first line matching AFTER, when given); -1 if none.
last_tick()
{
	local from="${3:-.}"
	sed -n "/$from/,\$p" "$logs/$1.log" | sed -n "s/.*JT-TOKEN $2 tick \([0-9]*\).*/\1/p" | sort -n | tail -n1 | grep . || echo -1
}
# cpus_back NAME TOKEN BEFORE AFTER: A, back after a jump (its log from the
# first line matching AFTER: a restore, C's log), has both CPUs online, and
# the ticker bound to CPU 1 goes on there: its last tick is later than the
# last one in BEFORE (the log A jumped away in, up to its jump), on cpu 1.
cpus_back()
{
	local name="$1" tok="$2" before after line
	before="$(sed -n '1,/JT-A hibernating/p' "$logs/$3.log" | sed -n "s/.*JT-CPU1 $tok tick \([0-9]*\).*/\1/p" | tail -n1)"
	line="$(sed -n "/$4/,\$p" "$logs/$name.log" | grep "JT-CPU1 $tok tick" | tail -n1)"
	after="$(sed -n 's/.*tick \([0-9]*\) on cpu.*/\1/p' <<<"$line")"
	expect "$name" "JT-A CPUs online 0-1, 2 in /proc/cpuinfo" || return 1
	[ "${after:--1}" -gt "${before:--1}" ] && [[ "$line" == *" on cpu 1" ]] ||
		fail "$name: the process bound to CPU 1 does not go on there (tick ${before:-none} before the jump; last after: '${line:-none}')"
}
# at NAME PATTERN: the host time of the first line matching PATTERN.
at() { grep -E -m1 -- "$2" "$logs/$1.log" | awk '{ print $1 }'; }
fresh_disk() { rm -f "$1"; truncate -s "$2" "$1"; }
# swap_disk FILE SIZE: a fresh disk made swap (mkswap) with a known UUID and label.
SWAP_UUID=6a1f3c52-0d4e-4b7a-9c2e-5f0b8d3a7e11
swap_disk()
{
	fresh_disk "$1" "$2"
	mkswap -q -U "$SWAP_UUID" -L fastresume-swap "$1" >/dev/null 2>&1 || fail "mkswap $1 failed"
}
# swap_again FILE WHAT: FILE is the same swap as swap_disk made (libblkid:
# TYPE=swap, its UUID and label), after WHAT.
swap_again()
{
	local found
	found="$(blkid -p -o export "$1" 2>/dev/null | grep -E '^(TYPE|UUID|LABEL)=' | sort | tr '\n' ' ')"
	[ "$found" = "LABEL=fastresume-swap TYPE=swap UUID=$SWAP_UUID " ] ||
		fail "$2: $(basename "$1") is not the same swap again (libblkid: ${found:-nothing})"
}
# wait_line NAME PATTERN SECONDS: until a line of NAME's log matches
# PATTERN (grep -E); fails after SECONDS.
wait_line()
{
	local deadline=$((SECONDS + $3))
	until grep -qE -- "$2" "$logs/$1.log" 2>/dev/null; do
		[ "$SECONDS" -lt "$deadline" ] || { fail "$1: no line matching '$2' within $3 s"; return 1; }
		sleep 0.2
	done
}
# cut_power NAME: kill NAME's QEMU, as a power cut would stop the machine.
cut_power() { kill -KILL "$(cat "$logs/$1.log.pid")" 2>/dev/null || true; }
# all_memory NAME: NAME's normal boot has (about) all of the 2 GiB online.
all_memory()
{
	local total
	total="$(sed -n 's/.*JT-NORMAL-BOOT after resume-agent .*MemTotal *\([0-9]*\) kB.*/\1/p' "$logs/$1.log" | head -n1)"
	[ "${total:-0}" -gt 1800000 ] || fail "$1: the normal boot has MemTotal ${total:-?} kB, not all of the 2 GiB online"
}


# memmap= holds back the GiB at 4 GiB on a machine without an ACPI SRAT
# (no -numa): kmem would reject it ("invalid node"), so the agent says so
# in one line, leaves it offline, and the boot goes on in 512 MiB with
# nothing lost
DISK=resume-empty.img
QEMU_MEMORY=(-m 1536M -machine "pc,max-ram-below-4g=$LOW_MEM")
HOLD_BACK="memmap=1G%4G-1+0xefffffff"

checks()
{
	local memtotal mem
	expect "agent: the region has no NUMA node (no SRAT) and stays offline this boot" \
		has "$S_LOG" 'resume-agent: memory: dax0\.0 \(0x100000000-0x13fffffff, 1024 MiB\) has no NUMA node from the firmware \(no ACPI SRAT: target_node missing\), so kmem rejects it; this memory stays offline this boot$'
	expect "agent: did not hand it to kmem" not has "$S_LOG" 'resume-agent: memory: held-back memory handed to kmem'
	expect "agent: decision: boot normally" has_prefix "$(decision "$S_LOG")" 'boot normally: '
	expect "agent: its memory line (all 4 boot blocks online)" has "$S_LOG" 'resume-agent: memory: 0 blocks onlined, all 4 blocks online \(512 MiB\)'
	expect "agent exited 0 (no fallback by the boot script)" \
		not has "$S_LOG" 'resume-agent-boot: (/sbin/resume-agent (failed|is missing)|fallback)'
	expect "root file system reached (FASTRESUME-ROOT-OK)" has "$S_LOG" '^FASTRESUME-ROOT-OK$'
	mem="$(section "$S_LOG" MEMSTATE)"
	expect "no offline memory block in the root [$(echo "$mem" | xargs)]" all_online "$mem"
	memtotal="$(memtotal_kib "$S_LOG")"
	expect "MemTotal ${memtotal:-?} kB: the boot memory only (< $MAX_CONFINED_KIB kB)" \
		fcmp "${memtotal:-999999999}" "<" "$MAX_CONFINED_KIB"
	expect "resume disk unchanged (sha256 before = after)" [ "$S_SUM_BEFORE" = "$S_SUM_AFTER" ]
	expect_not_stalled
}

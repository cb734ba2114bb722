# two boots: the test root hibernates with the kernel's own swsusp to the
# resume partition; the next boot, resume= on it, the agent hands that
# image to the kernel (/sys/power/resume), after bringing the memory
# online, and the hibernated root carries on
DISK=resume-hibernate.img
PARAMS=(fastresume.test=hibernate)

checks()
{
	local t_resume onlined mem
	# Boot A: a normal boot through the agent, then the root hibernates.
	expect_normal_boot --disk-may-change
	expect "boot A: the root made the partition swap and hibernated" \
		has "$S_LOG" '^FASTRESUME-HIBERNATING to /dev/vdb1'
	expect "boot A: the kernel wrote its image" has "$S_LOG" 'PM: hibernation: Wrote [0-9]+ kbytes'
	expect "boot A: powered off by hibernation, not by the root's poweroff" \
		not has "$S_LOG" '^FASTRESUME-POWEROFF'
	[ "${#S_FAILS[@]}" -eq 0 ] || return 0
	# Boot B, on the same disk: the agent finds the kernel's own image
	# (TYPE=swsuspend) on the resume= device, brings the memory online
	# (the kernel refuses an image made with another amount) and hands it
	# to the kernel, which restores it: the hibernated root carries on.
	boot_again B "resume=PARTLABEL=$RESUME_PARTLABEL" || return 0
	expect "boot B: agent found the kernel's image" \
		has "$S_LOG" "resume-agent: found the kernel's own hibernation image \\(TYPE=swsuspend\\) on /dev/vdb1"
	expect "boot B: agent decided to resume it" \
		has "$S_LOG" "resume-agent: decision: resume the kernel's hibernation image on /dev/vdb1"
	onlined="$(console "$S_LOG" | capture '.*resume-agent: memory: ([0-9]+) blocks onlined.*')"
	expect "boot B: agent onlined ${onlined:-?} blocks before handing over" \
		fcmp "${onlined:-0}" ">" 0
	expect "boot B: agent wrote MAJ:MIN to /sys/power/resume" \
		has "$S_LOG" 'resume-agent: writing [0-9]+:[0-9]+ to /sys/power/resume'
	expect "boot B: the kernel restored the image" \
		has "$S_LOG" 'PM: hibernation: (resume from hibernation|Read [0-9]+ kbytes)'
	expect "boot B: the hibernated root carried on (FASTRESUME-RESUMED-FROM-HIBERNATION)" \
		has "$S_LOG" '^FASTRESUME-RESUMED-FROM-HIBERNATION$'
	expect "boot B: initramfs-tools' own resume did not run (the agent's resume does not return)" \
		not has "$S_LOG" 'Begin: Running /scripts/local-premount'
	mem="$(section "$S_LOG" MEMSTATE | tail -n 2)"
	expect "boot B: no offline memory block after the restore [$(echo "$mem" | xargs)]" all_online "$mem"
	t_resume="$(capture '^\[ *([0-9]+\.[0-9]+)\] PM: hibernation: resume from hibernation.*' "$S_LOG")"
	expect "boot B: restore began at ${t_resume:-?} s < ${MAX_ROOT_UPTIME} s (no resume wait)" \
		fcmp "${t_resume:-999}" "<" "$MAX_ROOT_UPTIME"
}

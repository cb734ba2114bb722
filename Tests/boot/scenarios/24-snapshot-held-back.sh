# a snapshot that lives in memory soft-reserved at boot: the root fills
# tmpfs with 448 MiB (more than the kernel has when it boots in 512 MiB,
# so it must use the GiB at 4 GiB the agent onlined) and hibernates with
# resume-image capture; the agent onlines the held-back memory before it
# feeds /dev/snapshot, restores, and the data comes back whole
PARAMS=(fastresume.test=capture-high)

prepare_disk()
{
	# capture wants room for the image uncompressed: about 640 MB here.
	make_resume_disk "$1" 1024
}

checks()
{
	local before after bytes
	before="$(capture '^FASTRESUME-HIGH-BEFORE ([0-9a-f]+)$' "$S_LOG")"
	expect "capture boot: 448 MiB in tmpfs (md5 ${before:-?})" [ -n "$before" ]
	expect "capture boot: resume-image capture saved the snapshot" \
		has "$S_LOG" '^resume-image: saved [0-9]+ bytes of snapshot into [0-9]+ bytes on /dev/vdb1'
	bytes="$(capture '^resume-image: saved ([0-9]+) bytes of snapshot.*' "$S_LOG")"
	expect "capture boot: the snapshot (${bytes:-?} bytes) is larger than all the memory the kernel booted with (MemTotal 402112 kB)" \
		fcmp "${bytes:-0}" ">" $((402112 * 1024))
	[ "${#S_FAILS[@]}" -eq 0 ] || return 0
	boot_again B "resume=PARTLABEL=$RESUME_PARTLABEL" || return 0
	expect "boot B: agent handed the held-back memory to kmem and onlined it for the snapshot" \
		has "$S_LOG" 'resume-agent: memory: held-back memory handed to kmem in [0-9]+ ms: dax0\.0 \(0x100000000-0x13fffffff, 1024 MiB, node 0\)'
	expect "boot B: ... and onlined its blocks before feeding /dev/snapshot" \
		has "$S_LOG" 'resume-agent: memory: 8 blocks onlined for the snapshot \(1536 MiB online\)'
	expect "boot B: agent decided to resume the snapshot" has "$S_LOG" 'resume-agent: decision: resume snapshot image on /dev/vdb1$'
	expect "boot B: restored (SNAPSHOT_ATOMIC_RESTORE)" has "$S_LOG" 'resume-agent: restoring the snapshot \(SNAPSHOT_ATOMIC_RESTORE\)'
	after="$(capture '^FASTRESUME-HIGH-AFTER ([0-9a-f]+)$' "$S_LOG")"
	expect "boot B: the 448 MiB came back whole (md5 ${after:-?} = ${before:-?})" [ -n "$after" ] && [ "$after" = "$before" ]
}

# three boots: (a) the root keeps a token in a process and in tmpfs and
# hibernates with resume-image capture; (b) the agent restores that
# snapshot and the same process prints the same token; (c) a normal boot:
# never twice
DISK=resume-hibernate.img
PARAMS=(fastresume.test=capture)

prepare_disk()
{
	# This run's captured image, for snapshot-truncated and -other-memory.
	rm -f "$CAPTURED_DISK"
	cp --sparse=always "$VM_DIR/$DISK" "$1"
}

checks()
{
	local before process tmpfs pid_before pid_after
	expect_capture
	before="$(capture '^FASTRESUME-TOKEN-BEFORE ([0-9a-f]+) pid [0-9]+$' "$S_LOG")"
	pid_before="$(capture '^FASTRESUME-TOKEN-BEFORE [0-9a-f]+ pid ([0-9]+)$' "$S_LOG")"
	[ "${#S_FAILS[@]}" -eq 0 ] || return 0
	boot_again B "resume=PARTLABEL=$RESUME_PARTLABEL" || return 0
	expect "boot B: agent decided to resume the snapshot" has "$S_LOG" 'resume-agent: decision: resume snapshot image on /dev/vdb1$'
	expect "boot B: agent reported the restore speed (Read N kbytes in S seconds)" \
		has "$S_LOG" 'resume-agent: Read [0-9]+ kbytes in [0-9.]+ seconds \([0-9]+ MB/s\)'
	expect "boot B: agent marked the image consumed, then restored" \
		has "$S_LOG" 'resume-agent: restoring the snapshot \(SNAPSHOT_ATOMIC_RESTORE\)'
	expect "boot B: capture returned in the restored system" has "$S_LOG" '^FASTRESUME-CAPTURE-RESUMED$'
	process="$(capture '^FASTRESUME-PROCESS-TOKEN ([0-9a-f]+) pid [0-9]+$' "$S_LOG")"
	pid_after="$(capture '^FASTRESUME-PROCESS-TOKEN [0-9a-f]+ pid ([0-9]+)$' "$S_LOG")"
	tmpfs="$(capture '^FASTRESUME-TMPFS-TOKEN ([0-9a-f]+)$' "$S_LOG")"
	expect "boot B: the same process (pid ${pid_after:-?} = ${pid_before:-?}) prints the same token" \
		[ -n "$process" ] && [ "$process" = "$before" ] && [ "$pid_after" = "$pid_before" ]
	expect "boot B: tmpfs holds the same token" [ -n "$tmpfs" ] && [ "$tmpfs" = "$before" ]
	expect "boot B: the image on disk is consumed" [ "$(image_state "$S_DISK")" = consumed ]
	boot_again C "resume=PARTLABEL=$RESUME_PARTLABEL" || return 0
	expect "boot C: agent rejected the consumed image" has "$S_LOG" 'resume-agent: rejected /dev/vdb1: image already consumed'
	expect "boot C: a normal boot, not a restore" not has "$S_LOG" '^FASTRESUME-CAPTURE-RESUMED$'
	expect_normal_boot
}

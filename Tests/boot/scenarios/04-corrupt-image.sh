# resume=PARTLABEL=fastresume holds an image with one payload byte
# flipped: rejected, not written
NEEDS=(resume-corrupt)
DISK=resume-corrupt.img
PARAMS=("resume=PARTLABEL=$RESUME_PARTLABEL")

checks()
{
	expect "agent: rejected /dev/vdb1: <reason> [$(first_match "$S_LOG" 'resume-agent: rejected ' | sed 's/.*resume-agent: rejected //')]" \
		has "$S_LOG" 'resume-agent: rejected /dev/vdb1: [^ ]'
	expect "boot script skipped initramfs-tools' resume for the agent's partition" \
		has "$S_LOG" "resume-agent-boot: resume device PARTLABEL=$RESUME_PARTLABEL .*local-premount/resume skipped"
	expect_normal_boot
	expect_not_stalled
}

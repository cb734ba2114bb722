# resume= names a device that never appears; the wait is bounded by
# resume_agent.wait=3
DISK=resume-empty.img
SPEC=PARTLABEL=does-not-exist
PARAMS=("resume=$SPEC" resume_agent.wait=3)

checks()
{
	local t_wait t_gone waited
	expect "agent: waiting up to 3 s for $SPEC" has "$S_LOG" "resume-agent: waiting up to 3 s for $SPEC\$"
	expect "agent: $SPEC did not appear within 3 s" has "$S_LOG" "resume-agent: $SPEC did not appear within 3 s\$"
	t_wait="$(kmsg_time "$S_LOG" "resume-agent: waiting up to 3 s for $SPEC")"
	t_gone="$(kmsg_time "$S_LOG" "resume-agent: $SPEC did not appear within 3 s")"
	waited="$(awk -v a="$t_wait" -v b="$t_gone" 'BEGIN { if (a != "" && b != "") printf "%.2f", b - a }')"
	expect "the wait lasted ${waited:-?} s (bounded: 2.5 to 6 s)" \
		in_range "$waited" 2.5 6
	expect "boot script told initramfs-tools not to wait again for $SPEC" \
		has "$S_LOG" "resume-agent-boot: resume device $SPEC is missing"
	expect_normal_boot
	expect_not_stalled
}

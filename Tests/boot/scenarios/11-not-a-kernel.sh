# a kernel image whose kernel is random bytes: kexec_file_load refuses it
# (ENOEXEC), the agent says so, unloads, and the boot goes on
NEEDS=(resume-jumps)
DISK=resume-not-a-kernel.img
PARAMS=("resume=PARTLABEL=$RESUME_PARTLABEL")

checks()
{
	expect "agent: rejected /dev/vdb1: kexec_file_load ... (ENOEXEC)" \
		has "$S_LOG" 'resume-agent: rejected /dev/vdb1: kexec_file_load: the kernel does not recognise the image as a kernel it can load \(ENOEXEC\)'
	expect "no jump" not has "$S_LOG" 'kexec_core: Starting new kernel'
	expect_normal_boot
	expect_not_stalled
}

# the QEMU-only way of confining kept working: no memmap=, a 1 GiB DIMM
# whose blocks come up offline (memhp_default_state=offline); the agent
# onlines them and loads no dax module
DISK=resume-empty.img
QEMU_MEMORY=("${DIMM_MEMORY[@]}")

checks()
{
	expect_normal_boot
	expect_not_stalled
	expect "agent: 8 DIMM blocks onlined" has "$S_LOG" 'resume-agent: memory: 8 blocks onlined, all 12 blocks online \(1536 MiB\)'
	expect "agent: nothing held back, no dax module loaded" not has "$S_LOG" 'resume-agent: memory: (held-back|cannot load)'
}

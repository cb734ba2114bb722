# the booted root runs resume-probe (text and JSON) with a valid kernel
# image on the disk
NEEDS=(resume-jumps)
DISK=resume-kernel-b.img
PARAMS=(noresume fastresume.test=probe)

checks()
{
	local report json suggest
	report="$(section "$S_LOG" PROBE)"
	json="$(section "$S_LOG" PROBEJSON)"
	expect "probe: kernel release" grep -q "^kernel: $(cat "$VM_DIR/kver") x86_64" <<<"$report"
	expect "probe: kexec_file_load available" grep -q '^  kexec_file_load: available' <<<"$report"
	expect "probe: this kernel can restore kernel images" grep -q '^  restore kernel images: yes' <<<"$report"
	expect "probe: KEXEC_JUMP not set (Debian's config)" grep -q '^  kexec_jump: no' <<<"$report"
	expect "probe: noresume parsed" grep -q '^  noresume: yes' <<<"$report"
	expect "probe: all memory blocks online" grep -Eq '^memory: 12 blocks of 128 MiB, 12 online' <<<"$report"
	expect "probe: /dev/vdb1 with its PARTLABEL" grep -q "^  /dev/vdb1: .*PARTLABEL=$RESUME_PARTLABEL" <<<"$report"
	expect "probe: the image on /dev/vdb1, all checks passed" grep -q 'resume image, all checks passed' <<<"$report"
	expect "probe: the root's ext4 on /dev/vda" grep -q '^  /dev/vda: TYPE=ext4' <<<"$report"
	expect "probe: the decision and why" grep -q '^decision: boot normally: noresume given' <<<"$report"
	expect "probe --json: the image's state and kind" grep -q '"kind": "kernel"' <<<"$json"
	expect "probe --json: the decision" grep -q '"action": "boot-normally"' <<<"$json"
	expect "probe --json parses as JSON" python3 -c 'import json,sys; json.loads(sys.stdin.read())' <<<"$json"
	expect "probe: the held-back GiB, its dax device, node, onlined by kmem" \
		grep -q '^  0x100000000-0x13fffffff (1024 MiB): dax0.0, driver kmem, node 0, can be onlined: yes (kmem has it)$' <<<"$report"
	expect "probe --json: held_back_memory with dax0.0 on node 0" \
		python3 -c 'import json,sys; r=json.loads(sys.stdin.read())["held_back_memory"]["regions"][0]; sys.exit(not (r["dax"]=="dax0.0" and r["node"]==0 and r["can_online"]))' <<<"$json"
	suggest="$(section "$S_LOG" SUGGEST)"
	expect "probe --suggest-memmap: memmap=1G%4G-1+0xefffffff for this VM" grep -q '^  memmap=1G%4G-1+0xefffffff$' <<<"$suggest"
	expect "probe --suggest-memmap: says how much low memory the boot needs" grep -Eq 'leaves [0-9]+ (MiB|KiB) below it for the boot, which needs at least 401 MiB' <<<"$suggest"
	expect "probe --suggest-memmap: the SRAT is there" grep -q 'ACPI SRAT: present' <<<"$suggest"
	expect "probe --json --suggest-memmap: suggested_memmap" \
		python3 -c 'import json,sys; sys.exit(json.loads(sys.stdin.read())["suggested_memmap"]["memmap"] != "memmap=1G%4G-1+0xefffffff")' <<<"$json"
	expect_normal_boot
}

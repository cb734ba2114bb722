# the booted root runs resume-probe (text and JSON) with a valid kernel
# image on the disk
NEEDS=(resume-jumps)
DISK=resume-kernel-b.img
PARAMS=(noresume fastresume.test=probe)

checks()
{
	local report json
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
	expect_normal_boot
}

# resume-image capture on a kernel booted with nohibernate: refused with
# the reason, nothing frozen, no image written, the system goes on
DISK=resume-hibernate.img
PARAMS=(nohibernate fastresume.test=capture)

checks()
{
	expect "resume-image capture says hibernation is unavailable" \
		has "$S_LOG" '^resume-image: hibernation is unavailable on this kernel'
	expect "capture failed and the system went on (FASTRESUME-CAPTURE-FAILED, then its normal poweroff)" \
		has "$S_LOG" '^FASTRESUME-CAPTURE-FAILED$'
	expect "nothing was frozen" not has "$S_LOG" 'Freezing user space processes'
	expect "no image was written" [ "$S_SUM_BEFORE" = "$S_SUM_AFTER" ]
	expect "and the machine powered off normally" has "$S_LOG" '^FASTRESUME-POWEROFF$'
}

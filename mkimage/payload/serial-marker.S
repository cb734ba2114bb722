/*
 * A freestanding x86-64 payload for the segments restore test: kexec_load
 * enters it in 64-bit mode with identity-mapped paging and interrupts off.
 * It writes a marker line to the first serial port (0x3F8) and leaves QEMU
 * through -device isa-debug-exit (port 0xf4): QEMU exits with status
 * (0x21 << 1) | 1 = 67, which the test checks along with the marker.
 */
	.code64
	.section .text
	.globl _start
_start:
	lea	message(%rip), %rsi
	mov	$0x3f8, %dx
1:	lodsb
	test	%al, %al
	jz	2f
	outb	%al, %dx
	jmp	1b
2:	mov	$0xf4, %dx
	mov	$0x21, %al
	outb	%al, %dx
3:	hlt
	jmp	3b

	.section .rodata
message:
	.asciz	"FASTRESUME-SEGMENTS-OK: reached the payload through kexec_load\r\n"

/*
 * The restore stub's entry (restore-stub.h). C's relocate_kernel enters
 * here, at the segment's first byte: 64-bit mode, C's identity page tables,
 * interrupts off, the stack in C's control page (which may be one of A's
 * pages, about to be overwritten: leave it at once). stub_main builds and
 * loads its own page tables, puts A's pages in place and returns A's
 * re-entry point, which is called the way A's relocate_kernel expects from
 * its peer (it reads the peer's re-entry point at 0(%rsp), then leaves it).
 */
	.code64
	.section .text.entry, "ax"
	.globl _start
_start:
	cli
	cld
	lea	__params(%rip), %rdi
	mov	0x18(%rdi), %rax	/* params->scratch_off (restore-stub.c asserts it) */
	lea	_start(%rip), %rsi
	add	%rsi, %rax
	lea	0x10000(%rax), %rsp	/* 64 KiB of stack at the start of scratch */
	call	stub_main
	test	%rax, %rax
	jz	1f
	call	*%rax
1:	hlt
	jmp	1b

	.section .note.GNU-stack, "", @progbits

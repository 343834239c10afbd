/*
 * PVH entry: the loader (Xen, QEMU -kernel, stubvmm) finds the physical
 * entry point in the "Xen" ELF note and jumps there in 32-bit protected
 * mode with paging off and %ebx = physical address of struct hvm_start_info.
 * We zero .bss, identity-map the first 4 GiB with 2 MiB pages (so MMIO just
 * below 4 GiB is reachable), switch to long mode and call guest_start().
 */

#include "identity_map.inc"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define MSR_EFER                 0xc0000080
#define EFER_LME                 (1 << 8)
#define CR4_PAE                  (1 << 5)
#define CR0_PE_PG                0x80000001

/*
 * The descriptor is 8 bytes wide: QEMU reads a full pointer-sized value
 * from it, so a 4-byte descriptor would leave garbage in the high half.
 * Loaders that read only 32 bits get the same address.
 */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4				/* namesz: "Xen\0" */
	.long 8				/* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.balign 4
	.quad pvh_start32
	.balign 4

	.section .text.entry, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	movl %ebx, %esi			/* keep start info across the bss wipe */

	/* Loaders should zero .bss; we do not rely on it. */
	movl $__bss_start, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	shrl $2, %ecx
	xorl %eax, %eax
	rep stosl
	movl %esi, pvh_start_info_paddr

	identity_map_4g pml4, pdpt, pd

	movl $pml4, %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $CR0_PE_PG, %eax
	movl %eax, %cr0
	lgdt gdt_desc
	ljmp $0x08, $start64

	.code64
start64:
	movl $0x10, %eax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movq $boot_stack_top, %rsp
	xorl %ebp, %ebp
	movl pvh_start_info_paddr, %edi
	call guest_start
3:	cli
	hlt
	jmp 3b

/*
 * Exception stubs: push a dummy error code where the CPU pushes none, then
 * the vector, so guest_exception() always sees the same frame layout.
 */
	.macro isr_noerr n
isr\n:
	pushq $0
	pushq $\n
	jmp isr_common
	.endm
	.macro isr_err n
isr\n:
	pushq $\n
	jmp isr_common
	.endm

	.irp n, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31
	isr_noerr \n
	.endr
	.irp n, 8,10,11,12,13,14,17,21,29,30
	isr_err \n
	.endr

isr_common:
	movq %rsp, %rdi
	andq $-16, %rsp
	call guest_exception
4:	cli
	hlt
	jmp 4b

	.section .rodata
	.balign 8
	.globl isr_table
isr_table:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad isr\n
	.endr

	.data
	.balign 16
	/* null, kernel code, kernel data, user data, user code, TSS (2 slots) */
	.globl gdt
gdt:
	.quad 0
	.quad 0x00af9a000000ffff
	.quad 0x00cf92000000ffff
	.quad 0x00cff2000000ffff
	.quad 0x00affa000000ffff
	.quad 0, 0
gdt_end:
	.globl gdt_desc			/* also loaded by the bzImage guest's entries */
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt

	.globl pvh_start_info_paddr
	.balign 4
pvh_start_info_paddr:
	.long 0

	.bss
	.balign 4096
pml4:
	.skip 4096
pdpt:
	.skip 4096
pd:
	.skip 4 * 4096
	.balign 16
	.skip 16384
	.globl boot_stack_top
boot_stack_top:
	.skip 8192
	.globl exception_stack_top
exception_stack_top:

	.section .note.GNU-stack, "", @progbits

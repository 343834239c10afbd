/*
 * A Linux/x86 bzImage of our own (Documentation/x86/boot.rst, protocol
 * 2.15) with the three entries a real kernel has:
 *
 *   16-bit real-mode setup at setup + 0x200 (QEMU's -kernel, GRUB's
 *     linux16): collects the BIOS e820 map (int 15h) into a zero page of
 *     its own, then enters the 32-bit entry as the protocol says;
 *   32-bit startup_32 at the protected-mode kernel (GRUB's linux):
 *     %esi = boot_params, flat segments, paging off;
 *   64-bit startup_64 at + 0x200 (stubvmm): %rsi = boot_params, long mode
 *     on the loader's identity map.
 *
 * Each builds its own page tables, loads the guest kit's GDT and calls
 * bz_start(boot_params, entry) in C (main.c), which checks what the loader
 * handed over.  The file is the .setup section (linked at 0, 4 sectors)
 * followed by the kernel (linked at 1 MiB): see link.ld.
 */

#include "identity_map.inc"

#define SETUP_SECTS    3          /* + the boot sector: 2048 bytes of setup */
#define ZP             0x1000     /* our zero page, in the setup's segment */
#define ZP_E820_COUNT  0x1e8
#define ZP_HDR         0x1f1
#define ZP_CODE32      0x214
#define ZP_E820_TABLE  0x2d0
#define E820_MAX       128
#define SMAP           0x534d4150
#define ENTRY16_MAGIC  0x16161616 /* %eax from our setup into startup_32 */
#define MSR_EFER       0xc0000080

	.section .setup, "ax"
	.code16
	/* The boot sector: not bootable on its own. */
	.fill 0x1f1, 1, 0
	.byte SETUP_SECTS		/* 0x1f1 setup_sects */
	.word 0				/* 0x1f2 root_flags */
	.long bz_syssize		/* 0x1f4 syssize, 16-byte units */
	.word 0				/* 0x1f8 ram_size */
	.word 0xffff			/* 0x1fa vid_mode: normal */
	.word 0				/* 0x1fc root_dev */
	.word 0xaa55			/* 0x1fe boot_flag */
	.byte 0xeb, setup_code - 1f	/* 0x200 jump over the header */
1:	.ascii "HdrS"			/* 0x202 header */
	.word 0x020f			/* 0x206 version 2.15 */
	.long 0				/* 0x208 realmode_swtch */
	.word 0				/* 0x20c start_sys_seg */
	.word 0				/* 0x20e kernel_version */
	.byte 0				/* 0x210 type_of_loader */
	.byte 0x01			/* 0x211 loadflags: LOADED_HIGH */
	.word 0				/* 0x212 setup_move_size */
	.long 0x100000			/* 0x214 code32_start */
	.long 0				/* 0x218 ramdisk_image */
	.long 0				/* 0x21c ramdisk_size */
	.long 0				/* 0x220 bootsect_kludge */
	.word 0				/* 0x224 heap_end_ptr */
	.byte 0				/* 0x226 ext_loader_ver */
	.byte 0				/* 0x227 ext_loader_type */
	.long 0				/* 0x228 cmd_line_ptr */
	.long 0x7fffffff		/* 0x22c initrd_addr_max */
	.long 0x200000			/* 0x230 kernel_alignment */
	.byte 0				/* 0x234 relocatable_kernel: no */
	.byte 0				/* 0x235 min_alignment */
	.word 0x0001			/* 0x236 xloadflags: XLF_KERNEL_64 */
	.long 2047			/* 0x238 cmdline_size */
	.long 0				/* 0x23c hardware_subarch */
	.quad 0				/* 0x240 hardware_subarch_data */
	.long 0				/* 0x248 payload_offset */
	.long 0				/* 0x24c payload_length */
	.quad 0				/* 0x250 setup_data */
	.quad 0x100000			/* 0x258 pref_address */
	.long bz_init_size		/* 0x260 init_size */
	.long 0				/* 0x264 handover_offset */
	.long 0				/* 0x268 kernel_info_offset */
hdr_end:

/* The loader jumps to setup segment + 0x20 : 0 in real mode, BIOS below. */
setup_code:
	cli
	cld
	movw %cs, %ax
	subw $0x20, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw $0xf000, %sp
	sti

	/* Our zero page: zeros, then the setup header as the loader left it. */
	movw $ZP, %di
	movw $2048, %cx
	xorw %ax, %ax
	rep stosw
	movw $ZP_HDR, %si
	movw $(ZP + ZP_HDR), %di
	movw $(hdr_end - ZP_HDR), %cx
	rep movsb

	/* The BIOS memory map. */
	xorl %ebx, %ebx
	xorw %bp, %bp
	movw $(ZP + ZP_E820_TABLE), %di
2:	movl $0xe820, %eax
	movl $SMAP, %edx
	movl $20, %ecx
	int $0x15
	jc 3f
	cmpl $SMAP, %eax
	jne 3f
	incw %bp
	addw $20, %di
	testl %ebx, %ebx
	jz 3f
	cmpw $E820_MAX, %bp
	jb 2b
3:	movw %bp, %ax
	movb %al, (ZP + ZP_E820_COUNT)

	/* Linear addresses: our GDT, the zero page, the 32-bit entry. */
	xorl %eax, %eax
	movw %ds, %ax
	shll $4, %eax
	addl %eax, (gdt16_desc + 2)
	movl %eax, %esi
	addl $ZP, %esi
	movl (ZP + ZP_CODE32), %eax
	movl %eax, (pm_jump + 2)		/* the far jump's offset */

	cli
	inb $0x92, %al			/* A20 on (fast gate) */
	orb $2, %al
	andb $0xfe, %al
	outb %al, $0x92
	lgdtl (gdt16_desc)
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	jmp 4f				/* serialise after the mode switch */
4:	movw $0x18, %ax			/* __BOOT_DS */
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	xorl %ebx, %ebx
	xorl %edi, %edi
	xorl %ebp, %ebp
	movl $ENTRY16_MAGIC, %eax
pm_jump:
	.byte 0x66, 0xea		/* ljmpl __BOOT_CS : code32_start */
	.long 0
	.word 0x10

	.balign 8
gdt16:
	.quad 0
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x10 __BOOT_CS: flat 32-bit code */
	.quad 0x00cf92000000ffff	/* 0x18 __BOOT_DS: flat data */
gdt16_desc:
	.word 4 * 8 - 1
	.long gdt16			/* + the segment's base at run time */
	.org SETUP_SECTS * 512 + 512	/* the setup is exactly this long */

/* ---- the protected-mode kernel, at 1 MiB ---- */

	.section .text.head, "ax"
	.code32
	.globl startup_32
startup_32:
	cli
	cld
	movl %eax, %ebp			/* ENTRY16_MAGIC when our setup came first */
	movl $__bss_start, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	shrl $2, %ecx
	xorl %eax, %eax
	rep stosl
	movl %esi, bz_boot_params
	movl $32, bz_entry
	cmpl $ENTRY16_MAGIC, %ebp
	jne 6f
	movl $16, bz_entry
6:	identity_map_4g bz_pml4, bz_pdpt, bz_pd
	movl $bz_pml4, %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $0x20, %eax			/* PAE */
	movl %eax, %cr4
	movl $MSR_EFER, %ecx
	rdmsr
	orl $0x100, %eax		/* LME */
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax		/* PG | PE */
	movl %eax, %cr0
	lgdt gdt_desc
	ljmp $0x08, $bz_common64

	.org 0x200
	.code64
	.globl startup_64
startup_64:
	cli
	cld
	movq %rsi, %r12
	movl $__bss_start, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	shrl $2, %ecx
	xorl %eax, %eax
	rep stosl
	movl %r12d, bz_boot_params
	movl $64, bz_entry
	identity_map_4g bz_pml4, bz_pdpt, bz_pd
	movl $bz_pml4, %eax
	movq %rax, %cr3
	lgdt gdt_desc
	movq $boot_stack_top, %rsp	/* the protocol gives no stack */
	pushq $0x08
	pushq $bz_common64
	lretq

bz_common64:
	movl $0x10, %eax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movq $boot_stack_top, %rsp
	xorl %ebp, %ebp
	movl bz_boot_params, %edi
	movl bz_entry, %esi
	call bz_start
7:	cli
	hlt
	jmp 7b

	.bss
	.balign 4096
bz_pml4:
	.skip 4096
bz_pdpt:
	.skip 4096
bz_pd:
	.skip 4 * 4096
	.globl bz_boot_params, bz_entry
bz_boot_params:
	.long 0
bz_entry:
	.long 0

	.section .note.GNU-stack, "", @progbits

/* Direct-boot images (bootimage.h): the PVH ELF and bzImage parsers and
 * the placement of the ramdisk.  Pure functions of their inputs, so the
 * fuzzer and stubctl reach them without KVM. */
#include "lib/bootimage.h"

#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define PAGE_SIZE                4096u

/* The setup header (boot.rst), offsets in the file and in the zero page. */
#define BZ_SETUP_SECTS      0x1f1
#define BZ_BOOT_FLAG        0x1fe
#define BZ_JUMP             0x200
#define BZ_HEADER           0x202
#define BZ_VERSION          0x206
#define BZ_LOADFLAGS        0x211
#define BZ_INITRD_ADDR_MAX  0x22c
#define BZ_KERNEL_ALIGNMENT 0x230
#define BZ_RELOCATABLE      0x234
#define BZ_XLOADFLAGS       0x236
#define BZ_CMDLINE_SIZE     0x238
#define BZ_PREF_ADDRESS     0x258
#define BZ_INIT_SIZE        0x260
#define BZ_HEADER_MIN_END   0x264       /* init_size is the last field we need */
#define BZ_MAGIC            0x53726448u /* "HdrS" */
#define BZ_MIN_VERSION      0x20c       /* 2.12: xloadflags */
#define LOADED_HIGH         0x01
#define XLF_KERNEL_64       0x01

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -ENOEXEC;
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static bool within(uint64_t size, uint64_t off, uint64_t len)
{
    return off <= size && len <= size - off;
}

/* RAM the kernel may use: what the guest has, below the PCI hole. */
static uint64_t ram_top(uint64_t ram_bytes)
{
    return ram_bytes < BOOT_PCI_HOLE ? ram_bytes : BOOT_PCI_HOLE;
}

unsigned boot_e820_map(uint64_t ram_bytes, struct boot_e820 *map)
{
    uint64_t top = ram_top(ram_bytes);
    unsigned n = 0;

    map[n++] = (struct boot_e820){0, 0x9fc00, BOOT_E820_RAM};
    map[n++] = (struct boot_e820){0x9fc00, 0x400, BOOT_E820_RESERVED};
    map[n++] = (struct boot_e820){0xf0000, 0x10000, BOOT_E820_RESERVED};
    if (top > 0x100000)
        map[n++] = (struct boot_e820){0x100000, top - 0x100000, BOOT_E820_RAM};
    map[n++] = (struct boot_e820){0xfec00000, 0x1000, BOOT_E820_RESERVED}; /* IOAPIC */
    map[n++] = (struct boot_e820){0xfee00000, 0x1000, BOOT_E820_RESERVED}; /* local APIC */
    return n;
}

/* ---- PVH ELF ---- */

/* Walk the notes of one PT_NOTE segment looking for "Xen" type 18. */
static bool find_entry_note(const uint8_t *img, size_t size, uint64_t off, uint64_t len,
                            uint32_t *entry)
{
    uint64_t end;

    if (!within(size, off, len))
        return false;
    end = off + len;
    while (end - off >= sizeof(Elf32_Nhdr)) {
        Elf32_Nhdr n;
        uint64_t name_len, desc_len, desc_off;

        memcpy(&n, img + off, sizeof(n));
        name_len = ((uint64_t)n.n_namesz + 3) & ~3ull;
        desc_len = ((uint64_t)n.n_descsz + 3) & ~3ull;
        desc_off = off + sizeof(n) + name_len;
        if (desc_off > end || desc_len > end - desc_off)
            return false;
        if (n.n_type == XEN_ELFNOTE_PHYS32_ENTRY && n.n_namesz == 4 &&
            memcmp(img + off + sizeof(n), "Xen", 4) == 0) {
            if (n.n_descsz == 4) {
                *entry = le32(img + desc_off);
                return true;
            }
            if (n.n_descsz == 8) {
                uint64_t e = le64(img + desc_off);
                if (e > UINT32_MAX)
                    return false;
                *entry = (uint32_t)e;
                return true;
            }
            return false;
        }
        off = desc_off + desc_len;
    }
    return false;
}

/* One program header, whichever ELF class it came from. */
static int read_phdr(const uint8_t *img, size_t size, bool is64, uint64_t off, uint32_t *type,
                     struct boot_segment *s)
{
    if (is64) {
        Elf64_Phdr h;
        if (!within(size, off, sizeof(h)))
            return -ENOEXEC;
        memcpy(&h, img + off, sizeof(h));
        *type = h.p_type;
        *s = (struct boot_segment){h.p_offset, h.p_paddr, h.p_filesz, h.p_memsz};
    } else {
        Elf32_Phdr h;
        if (!within(size, off, sizeof(h)))
            return -ENOEXEC;
        memcpy(&h, img + off, sizeof(h));
        *type = h.p_type;
        *s = (struct boot_segment){h.p_offset, h.p_paddr, h.p_filesz, h.p_memsz};
    }
    return 0;
}

static int parse_pvh(const uint8_t *img, size_t size, uint64_t ram_bytes, struct boot_image *bi,
                     char *err, size_t errlen)
{
    uint64_t phoff, phentsize, phnum;
    bool is64 = img[EI_CLASS] == ELFCLASS64, have_entry = false;

    if (img[EI_DATA] != ELFDATA2LSB)
        return fail(err, errlen, "kernel: a big-endian ELF file; x86 kernels are little-endian");
    if (is64 && size >= sizeof(Elf64_Ehdr)) {
        Elf64_Ehdr eh;
        memcpy(&eh, img, sizeof(eh));
        phoff = eh.e_phoff, phentsize = eh.e_phentsize, phnum = eh.e_phnum;
        if (eh.e_machine != EM_X86_64 || phentsize != sizeof(Elf64_Phdr))
            return fail(err, errlen, "kernel: malformed or unsupported ELF header");
    } else if (!is64 && img[EI_CLASS] == ELFCLASS32 && size >= sizeof(Elf32_Ehdr)) {
        Elf32_Ehdr eh;
        memcpy(&eh, img, sizeof(eh));
        phoff = eh.e_phoff, phentsize = eh.e_phentsize, phnum = eh.e_phnum;
        if ((eh.e_machine != EM_386 && eh.e_machine != EM_X86_64) ||
            phentsize != sizeof(Elf32_Phdr))
            return fail(err, errlen, "kernel: malformed or unsupported ELF header");
    } else {
        return fail(err, errlen, "kernel: malformed or unsupported ELF header");
    }
    if (phnum == 0 || !within(size, phoff, phnum * phentsize))
        return fail(err, errlen, "kernel: malformed or unsupported ELF header");

    /* The note first: an ELF that is not a PVH kernel is told so, whatever
     * its segments look like. */
    for (uint64_t i = 0; i < phnum && !have_entry; i++) {
        struct boot_segment s;
        uint32_t type;

        if (read_phdr(img, size, is64, phoff + i * phentsize, &type, &s) < 0)
            return fail(err, errlen, "kernel: malformed or unsupported ELF header");
        if (type == PT_NOTE)
            have_entry = find_entry_note(img, size, s.offset, s.filesz, &bi->entry);
    }
    if (!have_entry)
        return fail(err, errlen,
                    "kernel: an ELF file without a PVH entry (Xen ELF note "
                    "PHYS32_ENTRY); stubvisor boots PVH ELFs and Linux bzImages");
    bi->kind = BOOT_IMAGE_PVH;
    bi->lo = UINT64_MAX;
    bi->hi = 0;
    for (uint64_t i = 0; i < phnum; i++) {
        struct boot_segment s;
        uint32_t type;

        if (read_phdr(img, size, is64, phoff + i * phentsize, &type, &s) < 0)
            return fail(err, errlen, "kernel: malformed or unsupported ELF header");
        if (type != PT_LOAD || s.memsz == 0)
            continue;
        if (s.filesz > s.memsz || !within(size, s.offset, s.filesz) ||
            !within(ram_top(ram_bytes), s.paddr, s.memsz))
            return fail(
                err, errlen, "kernel: segment %llu (0x%llx + 0x%llx) does not fit in guest RAM",
                (unsigned long long)i, (unsigned long long)s.paddr, (unsigned long long)s.memsz);
        if (s.paddr < BOOT_INFO_END && s.paddr + s.memsz > BOOT_GDT_GPA)
            return fail(err, errlen,
                        "kernel: segment %llu overlaps the boot information at 0x%x-0x%x",
                        (unsigned long long)i, BOOT_GDT_GPA, BOOT_INFO_END);
        if (bi->nr_segments == BOOT_MAX_SEGMENTS)
            return fail(err, errlen, "kernel: more than %d loadable segments", BOOT_MAX_SEGMENTS);
        bi->seg[bi->nr_segments++] = s;
        if (s.paddr < bi->lo)
            bi->lo = s.paddr;
        if (s.paddr + s.memsz > bi->hi)
            bi->hi = s.paddr + s.memsz;
    }
    if (!within(ram_top(ram_bytes), bi->entry, 1))
        return fail(err, errlen, "kernel: PVH entry 0x%x is outside guest RAM", bi->entry);
    if (bi->nr_segments == 0)
        bi->lo = bi->hi = 0;
    return 0;
}

/* ---- bzImage ---- */

static bool is_bzimage(const uint8_t *img, size_t size)
{
    return size >= BZ_HEADER + 4 && le16(img + BZ_BOOT_FLAG) == 0xaa55 &&
           le32(img + BZ_HEADER) == BZ_MAGIC;
}

static int parse_bzimage(const uint8_t *img, size_t size, uint64_t ram_bytes, struct boot_image *bi,
                         char *err, size_t errlen)
{
    uint64_t top = ram_top(ram_bytes), need, align, pref;
    unsigned sects;
    uint8_t loadflags, relocatable;
    uint16_t xloadflags;

    bi->kind = BOOT_IMAGE_BZIMAGE;
    bi->version = le16(img + BZ_VERSION);
    if (bi->version < BZ_MIN_VERSION)
        return fail(err, errlen,
                    "bzImage: boot protocol %u.%02u is older than 2.12 (no 64-bit entry point)",
                    bi->version >> 8, bi->version & 0xff);
    /* The header's length is in the jump at 0x200: "jmp short" over it. */
    bi->header_end = BZ_HEADER + (size_t)img[BZ_JUMP + 1];
    if (img[BZ_JUMP] != 0xeb || bi->header_end < BZ_HEADER_MIN_END || bi->header_end > size)
        return fail(err, errlen, "bzImage: truncated setup header");
    sects = img[BZ_SETUP_SECTS] ? img[BZ_SETUP_SECTS] : 4;
    bi->setup_size = ((size_t)sects + 1) * 512;
    if (bi->setup_size < bi->header_end || bi->setup_size >= size)
        return fail(err, errlen, "bzImage: %u setup sectors, but the file has %zu bytes", sects,
                    size);
    bi->kernel_size = size - bi->setup_size;
    loadflags = img[BZ_LOADFLAGS];
    xloadflags = le16(img + BZ_XLOADFLAGS);
    if (!(loadflags & LOADED_HIGH))
        return fail(err, errlen, "bzImage: not loaded high (a zImage); only bzImages boot");
    if (!(xloadflags & XLF_KERNEL_64))
        return fail(err, errlen, "bzImage: no 64-bit entry point (XLF_KERNEL_64 is clear)");
    bi->cmdline_size = le32(img + BZ_CMDLINE_SIZE);
    bi->initrd_max = le32(img + BZ_INITRD_ADDR_MAX);
    if (!bi->initrd_max)
        bi->initrd_max = 0x37ffffff; /* boot.rst: the value of old kernels */
    bi->init_size = le32(img + BZ_INIT_SIZE);
    if (bi->init_size < bi->kernel_size)
        return fail(err, errlen, "bzImage: init_size %u is smaller than the kernel (%llu bytes)",
                    bi->init_size, (unsigned long long)bi->kernel_size);
    need = bi->init_size;
    relocatable = img[BZ_RELOCATABLE];
    align = le32(img + BZ_KERNEL_ALIGNMENT);
    pref = le64(img + BZ_PREF_ADDRESS);
    if (relocatable && (align < PAGE_SIZE || align > (1u << 30) || (align & (align - 1))))
        return fail(err, errlen,
                    "bzImage: kernel_alignment 0x%llx is not a power of two "
                    "from 4 KiB to 1 GiB",
                    (unsigned long long)align);
    if (pref < BOOT_KERNEL_MIN || (relocatable && pref % align)) {
        if (!relocatable)
            return fail(err, errlen, "bzImage: pref_address 0x%llx is below 1 MiB",
                        (unsigned long long)pref);
        pref = (BOOT_KERNEL_MIN + align - 1) & ~(align - 1);
    }
    /* The preferred address; a relocatable kernel that does not fit there
     * goes as low as its alignment allows. */
    if (!within(top, pref, need) && relocatable)
        pref = (BOOT_KERNEL_MIN + align - 1) & ~(align - 1);
    if (pref >= BOOT_PCI_HOLE || need > BOOT_PCI_HOLE - pref)
        return fail(err, errlen,
                    "bzImage: the kernel needs 0x%llx-0x%llx, which overlaps the PCI hole at "
                    "0x%llx",
                    (unsigned long long)pref, (unsigned long long)(pref + need),
                    (unsigned long long)BOOT_PCI_HOLE);
    if (!within(top, pref, need))
        return fail(err, errlen,
                    "bzImage: the kernel needs %llu KiB from 0x%llx; the guest has %llu KiB of RAM",
                    (unsigned long long)(need >> 10), (unsigned long long)pref,
                    (unsigned long long)(ram_bytes >> 10));
    bi->load_addr = pref;
    bi->lo = pref;
    bi->hi = pref + need;
    return 0;
}

int boot_image_parse(const uint8_t *img, size_t size, uint64_t ram_bytes, struct boot_image *bi,
                     char *err, size_t errlen)
{
    memset(bi, 0, sizeof(*bi));
    if (size >= SELFMAG && memcmp(img, ELFMAG, SELFMAG) == 0) {
        if (size < EI_NIDENT)
            return fail(err, errlen, "kernel: truncated ELF header");
        return parse_pvh(img, size, ram_bytes, bi, err, errlen);
    }
    if (is_bzimage(img, size))
        return parse_bzimage(img, size, ram_bytes, bi, err, errlen);
    return fail(err, errlen,
                "kernel: not a PVH ELF (an ELF with Xen's PHYS32_ENTRY note) or a "
                "Linux bzImage (boot protocol 2.12 or later)");
}

int boot_ramdisk_place(const struct boot_image *bi, uint64_t ram_bytes, uint64_t size,
                       uint64_t *gpa, char *err, size_t errlen)
{
    uint64_t top = ram_top(ram_bytes), floor = bi->hi > BOOT_INFO_END ? bi->hi : BOOT_INFO_END;

    if (bi->kind == BOOT_IMAGE_BZIMAGE && (uint64_t)bi->initrd_max + 1 < top)
        top = (uint64_t)bi->initrd_max + 1;
    top &= ~(uint64_t)(PAGE_SIZE - 1);
    floor = (floor + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
    if (size == 0 || top < floor || size > top - floor) {
        snprintf(err, errlen,
                 "ramdisk: %llu bytes do not fit: the guest has %llu KiB free for it between the "
                 "kernel's end (0x%llx) and 0x%llx",
                 (unsigned long long)size,
                 (unsigned long long)(top > floor ? (top - floor) >> 10 : 0),
                 (unsigned long long)floor, (unsigned long long)top);
        return -E2BIG;
    }
    *gpa = (top - size) & ~(uint64_t)(PAGE_SIZE - 1);
    return 0;
}

int boot_cmdline_check(const struct boot_image *bi, size_t len, char *err, size_t errlen)
{
    uint32_t max = BOOT_CMDLINE_MAX;

    if (bi->kind == BOOT_IMAGE_BZIMAGE && bi->cmdline_size < max)
        max = bi->cmdline_size;
    if (len > max) {
        snprintf(err, errlen, "kernel: command line of %zu bytes; this kernel takes at most %u",
                 len, max);
        return -E2BIG;
    }
    return 0;
}

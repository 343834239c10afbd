/* PVH direct boot: load an ELF that carries Xen's PHYS32_ENTRY note and
 * hand it an hvm_start_info (the format QEMU's -kernel boots).  The image is
 * untrusted: every header field is checked against the file and every
 * guest address goes through gpa_ptr(). */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "lib/log.h"
#include "vmm/vmm.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC          0x336ec578u
#define E820_RAM                 1
#define E820_RESERVED            2

/* Xen's public/arch-x86/hvm/start_info.h, version 1. */
struct hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;
    uint32_t memmap_entries;
    uint32_t reserved;
};

struct hvm_memmap_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};

/* Where the boot information goes: two low pages, below the ELF. */
#define START_INFO_GPA 0x1000u
#define CMDLINE_GPA    0x2000u
#define BOOT_INFO_END  0x3000u

/* A program header, whichever ELF class it came from. */
struct phdr {
    uint32_t type;
    uint64_t offset, paddr, filesz, memsz;
};

static bool within(size_t size, uint64_t off, uint64_t len)
{
    return off <= size && len <= size - off;
}

static int read_phdr(const uint8_t *img, size_t size, bool is64, uint64_t off, struct phdr *p)
{
    if (is64) {
        Elf64_Phdr h;
        if (!within(size, off, sizeof(h)))
            return -ENOEXEC;
        memcpy(&h, img + off, sizeof(h));
        *p = (struct phdr){h.p_type, h.p_offset, h.p_paddr, h.p_filesz, h.p_memsz};
    } else {
        Elf32_Phdr h;
        if (!within(size, off, sizeof(h)))
            return -ENOEXEC;
        memcpy(&h, img + off, sizeof(h));
        *p = (struct phdr){h.p_type, h.p_offset, h.p_paddr, h.p_filesz, h.p_memsz};
    }
    return 0;
}

/* Walk the notes of one PT_NOTE segment looking for "Xen" type 18. */
static bool find_entry_note(const uint8_t *img, size_t size, const struct phdr *p, uint32_t *entry)
{
    uint64_t off = p->offset, end;

    if (!within(size, p->offset, p->filesz))
        return false;
    end = p->offset + p->filesz;
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
                memcpy(entry, img + desc_off, 4);
                return true;
            }
            if (n.n_descsz == 8) {
                uint64_t e;
                memcpy(&e, img + desc_off, 8);
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

static int write_start_info(struct vmm *vmm, const char *cmdline)
{
    size_t len = strlen(cmdline);
    struct hvm_memmap_entry map[] = {
        {0, 0x9fc00, E820_RAM, 0},
        {0x9fc00, 0x400, E820_RESERVED, 0},
        {0xf0000, 0x10000, E820_RESERVED, 0},
        {0x100000, vmm->ram_size - 0x100000, E820_RAM, 0},
    };
    struct hvm_start_info si = {
        .magic = HVM_START_MAGIC,
        .version = 1,
        .cmdline_paddr = CMDLINE_GPA,
        .memmap_paddr = START_INFO_GPA + sizeof(si),
        .memmap_entries = sizeof(map) / sizeof(map[0]),
    };
    uint8_t *p_si = gpa_ptr(vmm, START_INFO_GPA, sizeof(si) + sizeof(map));
    uint8_t *p_cmd = gpa_ptr(vmm, CMDLINE_GPA, len + 1);

    if (!p_si || !p_cmd || len > VMM_MAX_CMDLINE)
        return -EINVAL;
    memcpy(p_si, &si, sizeof(si));
    memcpy(p_si + sizeof(si), map, sizeof(map));
    memcpy(p_cmd, cmdline, len + 1);
    vmm->start_info = START_INFO_GPA;
    return 0;
}

int pvh_load(struct vmm *vmm, const uint8_t *img, size_t size, const char *cmdline)
{
    uint64_t phoff, phentsize, phnum;
    bool is64, have_entry = false;
    uint32_t entry = 0;

    if (size < EI_NIDENT || memcmp(img, ELFMAG, SELFMAG) != 0 || img[EI_DATA] != ELFDATA2LSB) {
        log_error("kernel: not a little-endian ELF file");
        return -ENOEXEC;
    }
    is64 = img[EI_CLASS] == ELFCLASS64;
    if (is64 && size >= sizeof(Elf64_Ehdr)) {
        Elf64_Ehdr eh;
        memcpy(&eh, img, sizeof(eh));
        phoff = eh.e_phoff, phentsize = eh.e_phentsize, phnum = eh.e_phnum;
        if (eh.e_machine != EM_X86_64 || phentsize != sizeof(Elf64_Phdr))
            goto bad_header;
    } else if (!is64 && img[EI_CLASS] == ELFCLASS32 && size >= sizeof(Elf32_Ehdr)) {
        Elf32_Ehdr eh;
        memcpy(&eh, img, sizeof(eh));
        phoff = eh.e_phoff, phentsize = eh.e_phentsize, phnum = eh.e_phnum;
        if ((eh.e_machine != EM_386 && eh.e_machine != EM_X86_64) ||
            phentsize != sizeof(Elf32_Phdr))
            goto bad_header;
    } else {
        goto bad_header;
    }
    if (phnum == 0 || !within(size, phoff, phnum * phentsize))
        goto bad_header;

    for (uint64_t i = 0; i < phnum; i++) {
        struct phdr p;
        uint8_t *dst;

        if (read_phdr(img, size, is64, phoff + i * phentsize, &p) < 0)
            goto bad_header;
        if (p.type == PT_NOTE && !have_entry)
            have_entry = find_entry_note(img, size, &p, &entry);
        if (p.type != PT_LOAD || p.memsz == 0)
            continue;
        dst = gpa_ptr(vmm, p.paddr, p.memsz);
        if (p.filesz > p.memsz || !within(size, p.offset, p.filesz) || !dst) {
            log_error("kernel: segment %llu (0x%llx + 0x%llx) does not fit in guest RAM",
                      (unsigned long long)i, (unsigned long long)p.paddr,
                      (unsigned long long)p.memsz);
            return -ENOEXEC;
        }
        if (p.paddr < BOOT_INFO_END && p.paddr + p.memsz > START_INFO_GPA) {
            log_error("kernel: segment %llu overlaps the boot information at 0x%x-0x%x",
                      (unsigned long long)i, START_INFO_GPA, BOOT_INFO_END);
            return -ENOEXEC;
        }
        memcpy(dst, img + p.offset, p.filesz);
        memset(dst + p.filesz, 0, p.memsz - p.filesz);
    }
    if (!have_entry) {
        log_error("kernel: no PVH entry (Xen ELF note PHYS32_ENTRY); not a PVH kernel");
        return -ENOEXEC;
    }
    if (!gpa_ptr(vmm, entry, 1)) {
        log_error("kernel: PVH entry 0x%x is outside guest RAM", entry);
        return -ENOEXEC;
    }
    vmm->entry = entry;
    if (write_start_info(vmm, cmdline) < 0) {
        log_error("kernel: command line too long");
        return -EINVAL;
    }
    return 0;
bad_header:
    log_error("kernel: malformed or unsupported ELF header");
    return -ENOEXEC;
}

/* libFuzzer harness: the direct-boot loader (lib/bootimage.c's PVH ELF and
 * bzImage header parsers, vmm/pvh.c and vmm/bzimage.c) on arbitrary
 * images, into 4 MiB of guest RAM.  The first two bytes pick a ramdisk size
 * (in KiB, 0: none) and the command line length.  Whatever the image, the
 * loader stays inside RAM and the file, and what it accepts has an entry
 * point in RAM. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "vmm/vmm.h"

#define RAM_SIZE    (4u << 20)
#define CMDLINE_MAX (255 * 17) /* data[1] * 17: up to past the limit */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vmm vmm;
    static uint8_t *ram, *initrd;
    static char cmdline[CMDLINE_MAX + 1];
    static int quiet = -1;
    size_t initrd_size, cmdline_len;

    if (quiet < 0) {
        quiet = open("/dev/null", O_WRONLY | O_CLOEXEC);
        log_set_fd(quiet);
        ram = malloc(RAM_SIZE);
        initrd = calloc(1, 255u << 10);
        memset(cmdline, 'c', CMDLINE_MAX);
    }
    if (size < 2)
        return 0;
    initrd_size = (size_t)data[0] << 10;
    cmdline_len = (size_t)data[1] * 17;
    cmdline[cmdline_len] = '\0';
    vmm_init(&vmm);
    vmm.ram = ram;
    vmm.ram_size = RAM_SIZE;
    if (vmm_load_guest(&vmm, data + 2, size - 2, cmdline, initrd_size ? initrd : NULL,
                       initrd_size) == 0 &&
        (!gpa_ptr(&vmm, vmm.entry, 1) || vmm.start_info == 0))
        __builtin_trap();
    cmdline[cmdline_len] = 'c';
    vmm.ram = NULL; /* not ours to unmap */
    vmm_destroy(&vmm);
    return 0;
}

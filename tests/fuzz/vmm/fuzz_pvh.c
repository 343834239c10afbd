/* libFuzzer harness: the PVH ELF loader on arbitrary images, into 4 MiB of
 * guest RAM.  Whatever the image, the loader stays inside RAM and the file. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/log.h"
#include "vmm/vmm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vmm vmm;
    static uint8_t *ram;
    static int quiet = -1;

    if (quiet < 0) {
        quiet = open("/dev/null", O_WRONLY | O_CLOEXEC);
        log_set_fd(quiet);
        ram = malloc(4u << 20);
    }
    vmm_init(&vmm);
    vmm.ram = ram;
    vmm.ram_size = 4u << 20;
    if (pvh_load(&vmm, data, size, "console=ttyS0") == 0 &&
        (!gpa_ptr(&vmm, vmm.entry, 1) || vmm.start_info == 0))
        __builtin_trap();
    vmm.ram = NULL; /* not ours to unmap */
    vmm_destroy(&vmm);
    return 0;
}

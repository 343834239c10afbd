/* Direct boot, the one entry point the monitor calls: recognise the kernel
 * (lib/bootimage.c), place the ramdisk, and load either a PVH ELF (pvh.c)
 * or a bzImage (bzimage.c).  Nothing is written to guest RAM before the
 * whole plan has been checked. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/log.h"
#include "vmm/boot.h"

int boot_write_cmdline(struct vmm *vmm, const char *cmdline)
{
    size_t len = strlen(cmdline);
    uint8_t *p = len <= BOOT_CMDLINE_MAX ? gpa_ptr(vmm, BOOT_CMDLINE_GPA, len + 1) : NULL;

    if (!p)
        return -EINVAL;
    memcpy(p, cmdline, len + 1);
    return 0;
}

int vmm_load_guest(struct vmm *vmm, const uint8_t *image, size_t size, const char *cmdline,
                   const uint8_t *initrd, size_t initrd_size)
{
    struct boot_image *bi = calloc(1, sizeof(*bi));
    struct boot_extras x = {.cmdline = cmdline};
    char err[256];
    uint8_t *dst;
    int rc;

    if (!bi)
        return -ENOMEM;
    rc = boot_image_parse(image, size, vmm->ram_size, bi, err, sizeof(err));
    if (rc == 0)
        rc = boot_cmdline_check(bi, strlen(cmdline), err, sizeof(err));
    if (rc == 0 && initrd)
        rc = boot_ramdisk_place(bi, vmm->ram_size, initrd_size, &x.initrd_gpa, err, sizeof(err));
    if (rc < 0) {
        log_error("%s", err);
        goto out;
    }
    if (initrd) {
        dst = gpa_ptr(vmm, x.initrd_gpa, initrd_size);
        if (!dst) {
            log_error("ramdisk: 0x%llx + %zu is outside guest RAM",
                      (unsigned long long)x.initrd_gpa, initrd_size);
            rc = -E2BIG;
            goto out;
        }
        memcpy(dst, initrd, initrd_size);
        x.initrd_size = initrd_size;
    }
    rc = bi->kind == BOOT_IMAGE_PVH ? pvh_load(vmm, bi, image, &x)
                                    : bzimage_load(vmm, bi, image, &x);
    if (rc == 0 && initrd)
        log_debug("ramdisk: %zu bytes at 0x%llx", initrd_size, (unsigned long long)x.initrd_gpa);
out:
    free(bi);
    return rc;
}

const uint8_t *vmm_map_file(const char *what, const char *path, size_t *size)
{
    struct stat st;
    void *p = MAP_FAILED;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        log_error("%s %s: %s", what, path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (uint64_t)st.st_size > VMM_MAX_MEMORY_MIB * (1ull << 20)) {
        log_error("%s %s: not a regular file of 1 byte to %u MiB", what, path, VMM_MAX_MEMORY_MIB);
    } else {
        p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED)
            log_error("%s %s: %s", what, path, strerror(errno));
        else
            *size = (size_t)st.st_size;
    }
    close(fd);
    return p == MAP_FAILED ? NULL : p;
}

void vmm_unmap_file(const uint8_t *p, size_t size)
{
    if (p)
        munmap((void *)p, size);
}

/* Does the device model binary need a program interpreter?  Normal builds
 * link it statically, so it runs in the empty root; sanitizer builds cannot
 * (ASan has no static runtime), and only then does the sandbox bind-mount the
 * library directories the loader needs.  The binary is ours, but the parse
 * still checks every offset so that a truncated file gives an error, not a
 * wrong answer. */
#include "sandbox/sandbox.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/fdio.h"

/* pread() everything or fail: a short read means a truncated binary. */
static int pread_exact(int fd, void *buf, size_t len, off_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t r = pread(fd, (char *)buf + done, len - done, off + (off_t)done);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return -ENOEXEC;
        done += (size_t)r;
    }
    return 0;
}

int sandbox_exe_is_dynamic(int fd)
{
    int rfd = -1, rc;
    Elf64_Ehdr eh;

    if (fd < 0)
        return -EBADF;
    /* An O_PATH descriptor cannot be read: reopen it through /proc. */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    if (fl & O_PATH) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        rfd = open(path, O_RDONLY | O_CLOEXEC);
        if (rfd < 0)
            return -errno;
    } else {
        rfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (rfd < 0)
            return -errno;
    }

    rc = pread_exact(rfd, &eh, sizeof(eh), 0);
    if (rc < 0)
        goto out;
    rc = -ENOEXEC;
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64)
        goto out;
    if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
        goto out;
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum >= PN_XNUM)
        goto out;

    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        uint64_t off = eh.e_phoff + (uint64_t)i * sizeof(ph);
        if (off < eh.e_phoff || off > (uint64_t)INT64_MAX - sizeof(ph)) {
            rc = -ENOEXEC;
            goto out;
        }
        rc = pread_exact(rfd, &ph, sizeof(ph), (off_t)off);
        if (rc < 0)
            goto out;
        if (ph.p_type == PT_INTERP) {
            rc = 1;
            goto out;
        }
    }
    rc = 0;
out:
    close_quietly(rfd);
    return rc;
}

/* libFuzzer harness: the device model's ioreq dispatch.  The input fills
 * the shared pages as a hostile or broken monitor could: slot contents,
 * ring pointers and entries, bounce page; then the server takes one pass
 * (ring first, then the slots) through the real devices. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "dm/machine.h"
#include "dm/server.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int f_map(void *h, int t, uint64_t s, uint64_t e, uint32_t f)
{
    return 0;
}
static int f_unmap(void *h, int t, uint64_t s, uint64_t e)
{
    return 0;
}
static int f_irq(void *h, unsigned irq, int level)
{
    return irq < 16 ? 0 : -22;
}
static int f_msi(void *h, uint64_t a, uint32_t d)
{
    return 0;
}
static int f_ioeventfd(void *h, int t, uint64_t a, uint32_t l, int fd, bool d)
{
    return 0;
}
static int f_irqfd(void *h, unsigned g, int fd, bool d)
{
    return 0;
}
static int f_shutdown(void *h, unsigned r, unsigned s)
{
    return s > 255 ? -22 : 0;
}
static int f_write(void *h, unsigned i, const void *b, size_t l)
{
    return 0;
}
static ssize_t f_read(void *h, unsigned i, void *b, size_t l)
{
    if (l > 0)
        memset(b, 'k', 1);
    return l > 0 ? 1 : 0;
}

static const struct dm_host_ops ops = {
    f_map,      f_unmap, f_irq,  f_msi, f_ioeventfd, f_irqfd,
    f_shutdown, f_write, f_read, NULL,  NULL,        NULL,
};

enum { VCPUS = 2 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t shm[IOREQ_SHM_SIZE(VCPUS)];
    struct dm_machine *m;
    struct ioreq_server s = {.dmop_fd = -1, .nr_vcpus = VCPUS, .shm = shm, .shm_size = sizeof(shm)};
    struct dm *dm;
    size_t n;

    static int quiet = -1;
    if (quiet < 0) {
        quiet = open("/dev/null", O_WRONLY | O_CLOEXEC);
        log_set_fd(quiet); /* errors are expected here, by the thousand */
    }
    memset(shm, 0, sizeof(shm));
    /* The input lays out, in order: the two slots, the ring header and
     * entries, then the bounce pages; whatever is left is console input. */
    n = size < sizeof(struct ioreq) * VCPUS ? size : sizeof(struct ioreq) * VCPUS;
    memcpy(shm, data, n);
    data += n, size -= n;
    n = size < IOREQ_PAGE_SIZE ? size : IOREQ_PAGE_SIZE;
    memcpy(shm + IOREQ_BUF_PAGE_OFFSET, data, n);
    data += n, size -= n;
    n = size < 2 * IOREQ_PAGE_SIZE ? size : 2 * IOREQ_PAGE_SIZE;
    memcpy(shm + IOREQ_BOUNCE_OFFSET(0), data, n);

    s.page = (struct ioreq_page *)shm;
    s.buf = (struct ioreq_buf_page *)(shm + IOREQ_BUF_PAGE_OFFSET);
    s.buf_read = 0;
    for (unsigned v = 0; v < VCPUS; v++)
        s.vcpu_fd[v] = -1; /* vp_eport set: the notify write fails quietly */

    dm = dm_new(&ops, &s, NULL, 0);
    m = dm ? dm_machine_new(dm, NULL, &(struct dm_machine_params){.nr_vcpus = VCPUS}) : NULL;
    if (!m)
        __builtin_trap();
    for (int pass = 0; pass < 2; pass++) {
        if (ioreq_server_poll(&s, dm) < 0)
            break;
        dm_console_poll(dm);
    }
    dm_machine_free(m);
    dm_free(dm);
    return 0;
}

/* libFuzzer harness: the virtio-pci transport (modern and legacy
 * registers, MSI-X table, config space) of a transitional virtio-blk
 * function, driven by a fuzzed list of accesses, with fuzzed guest RAM
 * behind its queues.  Input: a count byte, then 16-byte accesses
 * {kind, size, pad[2], offset u32, value u64}, then guest RAM. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dm/virtio/blk.h"
#include "dm/virtio/pci.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_SIZE  (256u * 1024)
#define BAR_GPA   0xe0000000u
#define IO_BASE   0xc000u
#define DEVFN     (3u << 3)
#define DISK_SIZE (64u * 1024)

static int f_map(void *h, int t, uint64_t s, uint64_t e, uint32_t f)
{
    (void)h, (void)t, (void)s, (void)e, (void)f;
    return 0;
}

static int f_unmap(void *h, int t, uint64_t s, uint64_t e)
{
    (void)h, (void)t, (void)s, (void)e;
    return 0;
}

static int f_irq(void *h, unsigned irq, int level)
{
    (void)h, (void)level;
    return irq < 16 ? 0 : -22;
}

static int f_msi(void *h, uint64_t a, uint32_t d)
{
    (void)h, (void)a, (void)d;
    return 0;
}

static int f_ioeventfd(void *h, int t, uint64_t a, uint32_t l, int fd, bool d)
{
    (void)h, (void)t, (void)a, (void)l, (void)fd, (void)d;
    return 0;
}

static const struct dm_host_ops host = {
    .map_range = f_map,
    .unmap_range = f_unmap,
    .set_isa_irq = f_irq,
    .inject_msi = f_msi,
    .ioeventfd = f_ioeventfd,
};

static struct pci_bus bus;
static struct virtio_blk blk;
static struct virtio_pci vp;
static struct disk disk;
static int disk_fd = -1;

struct access {
    uint8_t kind, size, pad[2];
    uint32_t off;
    uint64_t value;
};

static void config_io(struct dm *dm, unsigned reg, uint8_t *buf, uint32_t size, bool write)
{
    pci_bus_config_io(dm, (uint64_t)DEVFN << 32 | reg, buf, size, write, &bus);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t sizes[4] = {1, 2, 4, 8};
    uint8_t *ram;
    struct dm *dm;
    unsigned n;

    if (size < 1)
        return 0;
    if (disk_fd < 0) {
        int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null_fd >= 0)
            log_set_fd(null_fd);
        disk_fd = memfd_create("fuzz-disk", 0);
        if (disk_fd < 0 || ftruncate(disk_fd, DISK_SIZE) < 0)
            abort();
    }
    n = data[0];
    data++;
    size--;
    if ((size_t)n * sizeof(struct access) > size)
        n = (unsigned)(size / sizeof(struct access));

    ram = calloc(1, RAM_SIZE);
    if (!ram)
        return 0;
    if (size > n * sizeof(struct access)) {
        size_t rest = size - n * sizeof(struct access);
        memcpy(ram, data + n * sizeof(struct access), rest < RAM_SIZE ? rest : RAM_SIZE);
    }
    dm = dm_new(&host, NULL, ram, RAM_SIZE);
    if (!dm || dm_events_enable(dm) < 0 || pci_bus_setup(&bus, dm) < 0 ||
        disk_raw_open(&disk, disk_fd, false) < 0)
        abort();
    virtio_blk_init(&blk, dm, &disk, "fuzz");
    if (virtio_pci_init(&vp, &bus, DEVFN, &blk.vdev, 0x018000,
                        VIRTIO_PCI_TRANSITIONAL | VIRTIO_PCI_KICK_EVENTFD) < 0)
        abort();
    {
        uint32_t bar1 = BAR_GPA, bar0 = IO_BASE, cmd = 0x7;
        config_io(dm, PCI_BAR0 + 4, (uint8_t *)&bar1, 4, true);
        config_io(dm, PCI_BAR0, (uint8_t *)&bar0, 4, true);
        config_io(dm, PCI_COMMAND, (uint8_t *)&cmd, 2, true);
    }

    for (unsigned i = 0; i < n; i++) {
        struct access a;
        uint8_t buf[8];
        uint32_t sz;

        memcpy(&a, data + i * sizeof(a), sizeof(a));
        sz = sizes[a.size & 3];
        memcpy(buf, &a.value, sizeof(buf));
        switch (a.kind % 7) {
        case 0:
        case 1:
            config_io(dm, a.off & 0xff, buf, sz > 4 ? 4 : sz, a.kind % 7 == 1);
            break;
        case 2:
        case 3:
            dm_dispatch(dm, DM_TRAP_MMIO, BAR_GPA + (a.off % (2 * VIRTIO_PCI_BAR_SIZE)), buf, sz,
                        a.kind % 7 == 3);
            break;
        case 4:
        case 5:
            dm_dispatch(dm, DM_TRAP_PIO, IO_BASE + (a.off & 0xff), buf, sz, a.kind % 7 == 5);
            break;
        default: {
            uint64_t one = 1;
            unsigned q = a.off % VIRTIO_MAX_QUEUES;
            if (vp.kick_fd[q] >= 0 && write(vp.kick_fd[q], &one, sizeof(one)) < 0)
                break;
            dm_events_run(dm);
            break;
        }
        }
    }
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
        if (vp.kick_fd[q] >= 0)
            close(vp.kick_fd[q]);
    dm_free(dm);
    free(ram);
    return 0;
}

/* The virtio-pci transport on the real PCI bus, driven the way a guest
 * driver would (config cycles and BAR accesses through the trap registry):
 * IDs and capabilities, the common configuration, hostile register
 * accesses, notifications, ISR and INTx, MSI-X vectors, and ioeventfds
 * that follow the BAR. */
#include <errno.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dm/virtio/pci.h"
#include "fake_guest.h"

#define DEVFN   (5u << 3)
#define BAR_GPA 0xe0000000u
#define NQ      2

struct fake_dev {
    struct virtio_dev vd;
    struct virtio_pci vp;
    uint8_t config[8];
    unsigned kicks[NQ];
};

static struct pci_bus bus;
static struct fake_dev dev;
static int intx_level = -1;

static void fd_config_read(struct virtio_dev *vd, uint32_t off, uint8_t *data, uint32_t size)
{
    memcpy(data, dev.config + off, size);
    (void)vd;
}

static void fd_config_write(struct virtio_dev *vd, uint32_t off, const uint8_t *data, uint32_t size)
{
    memcpy(dev.config + off, data, size);
    (void)vd;
}

static void fd_notify(struct virtio_dev *vd, unsigned q)
{
    (void)vd;
    dev.kicks[q]++;
}

static const struct virtio_dev_ops fake_ops = {
    .name = "fake",
    .device_id = VIRTIO_ID_RNG,
    .nr_queues = NQ,
    .features = 1ull << 3,
    .config_size = sizeof(dev.config),
    .config_read = fd_config_read,
    .config_write = fd_config_write,
    .queue_notify = fd_notify,
};

static void router(void *r, const struct pci_dev *d, unsigned pin, bool level)
{
    (void)r;
    assert_int_equal(d->devfn, DEVFN);
    assert_int_equal(pin, 0);
    intx_level = level;
}

static int setup_with_flags(bool events, unsigned flags)
{
    fg_setup();
    if (events)
        assert_true(dm_events_enable(fg.dm) >= 0);
    assert_int_equal(pci_bus_setup(&bus, fg.dm), 0);
    pci_bus_set_router(&bus, router, NULL);
    memset(&dev, 0, sizeof(dev));
    intx_level = -1;
    virtio_dev_init(&dev.vd, fg.dm, &fake_ops, &dev);
    assert_int_equal(virtio_pci_init(&dev.vp, &bus, DEVFN, &dev.vd, 0x00ff00, flags), 0);
    return 0;
}

static int setup_with(bool events)
{
    return setup_with_flags(events, 0);
}

static int setup_transitional(void **state)
{
    (void)state;
    return setup_with_flags(false, VIRTIO_PCI_TRANSITIONAL);
}

static int setup(void **state)
{
    (void)state;
    return setup_with(false);
}

static int setup_events(void **state)
{
    (void)state;
    return setup_with_flags(true, VIRTIO_PCI_KICK_EVENTFD);
}

static int teardown(void **state)
{
    (void)state;
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
        if (dev.vp.kick_fd[q] >= 0)
            close(dev.vp.kick_fd[q]);
    fg_teardown();
    return 0;
}

static uint32_t cfg_read(unsigned reg, unsigned size)
{
    uint8_t data[8] = {0};
    uint32_t v = 0;

    pci_bus_config_io(fg.dm, (uint64_t)DEVFN << 32 | reg, data, size, false, &bus);
    memcpy(&v, data, size);
    return v;
}

static void cfg_write(unsigned reg, unsigned size, uint32_t v)
{
    uint8_t data[8] = {0};

    memcpy(data, &v, size);
    pci_bus_config_io(fg.dm, (uint64_t)DEVFN << 32 | reg, data, size, true, &bus);
}

static uint64_t bar_read(uint64_t off, unsigned size)
{
    uint8_t data[8] = {0};
    uint64_t v = 0;

    dm_dispatch(fg.dm, DM_TRAP_MMIO, BAR_GPA + off, data, size, false);
    memcpy(&v, data, size);
    return v;
}

static void bar_write(uint64_t off, unsigned size, uint64_t v)
{
    uint8_t data[8] = {0};

    memcpy(data, &v, size);
    dm_dispatch(fg.dm, DM_TRAP_MMIO, BAR_GPA + off, data, size, true);
}

static void map_bar(uint32_t where)
{
    cfg_write(PCI_BAR0 + 4 * VIRTIO_PCI_BAR, 4, where);
    cfg_write(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

#define COMMON(reg) (VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_##reg)

static uint8_t status(void)
{
    return (uint8_t)bar_read(COMMON(STATUS), 1);
}

/* A driver's bring-up of queue q (size 16) on the fake rings. */
static void driver_bring_up(unsigned nq)
{
    map_bar(BAR_GPA);
    bar_write(COMMON(STATUS), 1, 0);
    bar_write(COMMON(STATUS), 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    bar_write(COMMON(GFSELECT), 4, 1);
    bar_write(COMMON(GF), 4, 1); /* VERSION_1 */
    bar_write(COMMON(GFSELECT), 4, 0);
    bar_write(COMMON(GF), 4, 1u << 3);
    bar_write(COMMON(STATUS), 1,
              VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    assert_true(status() & VIRTIO_CONFIG_S_FEATURES_OK);
    for (unsigned q = 0; q < nq; q++) {
        uint32_t base = 0x40000 * (q + 1);
        bar_write(COMMON(Q_SELECT), 2, q);
        bar_write(COMMON(Q_SIZE), 2, 16);
        bar_write(COMMON(Q_DESCLO), 4, base);
        bar_write(COMMON(Q_AVAILLO), 4, base + 0x1000);
        bar_write(COMMON(Q_USEDLO), 4, base + 0x2000);
        bar_write(COMMON(Q_ENABLE), 2, 1);
        assert_int_equal(bar_read(COMMON(Q_ENABLE), 2), 1);
    }
    bar_write(COMMON(STATUS), 1,
              VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
                  VIRTIO_CONFIG_S_DRIVER_OK);
    assert_true(status() & VIRTIO_CONFIG_S_DRIVER_OK);
}

static void test_ids_and_caps(void **state)
{
    bool seen[6] = {false};
    unsigned cap;

    (void)state;
    assert_int_equal(cfg_read(PCI_VENDOR_ID, 2), VIRTIO_PCI_VENDOR);
    assert_int_equal(cfg_read(PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_RNG);
    assert_int_equal(cfg_read(PCI_REVISION_ID, 1), 1);
    assert_int_equal(cfg_read(PCI_SUBSYSTEM_ID, 2), VIRTIO_ID_RNG);
    assert_int_equal(cfg_read(PCI_INTERRUPT_PIN, 1), 1);
    assert_true(cfg_read(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
    /* BAR sizing. */
    cfg_write(PCI_BAR0 + 4 * VIRTIO_PCI_BAR, 4, 0xffffffffu);
    assert_int_equal(cfg_read(PCI_BAR0 + 4 * VIRTIO_PCI_BAR, 4), ~(VIRTIO_PCI_BAR_SIZE - 1));

    cap = cfg_read(PCI_CAPABILITY_LIST, 1);
    for (unsigned n = 0; cap && n < 16; n++) {
        unsigned id = cfg_read(cap, 1);
        if (id == 0x09) {
            unsigned type = cfg_read(cap + VIRTIO_PCI_CAP_CFG_TYPE, 1);
            uint32_t off = cfg_read(cap + VIRTIO_PCI_CAP_OFFSET, 4);
            uint32_t len = cfg_read(cap + VIRTIO_PCI_CAP_LENGTH, 4);
            assert_int_equal(cfg_read(cap + VIRTIO_PCI_CAP_BAR, 1), VIRTIO_PCI_BAR);
            assert_true(off + len <= VIRTIO_PCI_BAR_SIZE);
            assert_true(type >= 1 && type <= 4);
            seen[type] = true;
            if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
                assert_int_equal(cfg_read(cap + VIRTIO_PCI_NOTIFY_CAP_MULT, 4), 4);
                assert_int_equal(off, VIRTIO_PCI_NOTIFY_OFF);
            }
            if (type == VIRTIO_PCI_CAP_DEVICE_CFG)
                assert_int_equal(len, sizeof(dev.config));
        } else if (id == PCI_CAP_ID_MSIX) {
            assert_int_equal((cfg_read(cap + 2, 2) & 0x7ff) + 1, NQ + 1);
            seen[5] = true;
        }
        cap = cfg_read(cap + 1, 1);
    }
    for (unsigned t = 1; t <= 5; t++)
        assert_true(seen[t]);
}

static void test_bring_up_and_kick(void **state)
{
    (void)state;
    map_bar(BAR_GPA);
    assert_int_equal(bar_read(COMMON(NUMQ), 2), NQ);
    bar_write(COMMON(DFSELECT), 4, 1);
    assert_int_equal(bar_read(COMMON(DF), 4), 1); /* VERSION_1 */
    bar_write(COMMON(DFSELECT), 4, 0);
    assert_true(bar_read(COMMON(DF), 4) & (1u << 3));
    bar_write(COMMON(DFSELECT), 4, 7);
    assert_int_equal(bar_read(COMMON(DF), 4), 0);

    driver_bring_up(1);
    /* DRIVER_OK looks at every queue once (buffers queued before it). */
    assert_int_equal(dev.kicks[0], 1);
    dev.kicks[0] = 0;
    bar_write(VIRTIO_PCI_NOTIFY_OFF, 2, 0);
    assert_int_equal(dev.kicks[0], 1);
    /* Queue 1 was never enabled, queue 7 does not exist, offset 2 is no
     * queue's: none of these kick anything. */
    bar_write(VIRTIO_PCI_NOTIFY_OFF + 4, 2, 1);
    bar_write(VIRTIO_PCI_NOTIFY_OFF + 28, 2, 7);
    bar_write(VIRTIO_PCI_NOTIFY_OFF + 2, 2, 0);
    assert_int_equal(dev.kicks[0], 1);
    assert_int_equal(dev.kicks[1], 0);

    /* Device config through the BAR; out of bounds reads zero. */
    bar_write(VIRTIO_PCI_DEVICE_OFF + 4, 4, 0x12345678);
    assert_int_equal(bar_read(VIRTIO_PCI_DEVICE_OFF + 4, 4), 0x12345678);
    assert_int_equal(bar_read(VIRTIO_PCI_DEVICE_OFF + 6, 4), 0);
    assert_int_equal(bar_read(VIRTIO_PCI_DEVICE_OFF + 0x100, 8), 0);
}

static void test_hostile_common(void **state)
{
    (void)state;
    map_bar(BAR_GPA);
    /* Wrong widths: reads are zero, writes do nothing. */
    assert_int_equal(bar_read(COMMON(NUMQ), 4), 0);
    assert_int_equal(bar_read(COMMON(DF), 8), 0);
    bar_write(COMMON(Q_SELECT), 1, 1);
    assert_int_equal(bar_read(COMMON(Q_SELECT), 2), 0);
    bar_write(COMMON(Q_SIZE) + 1, 1, 0xff);
    /* A queue that does not exist reads as absent and takes no writes. */
    bar_write(COMMON(Q_SELECT), 2, 99);
    assert_int_equal(bar_read(COMMON(Q_SIZE), 2), 0);
    bar_write(COMMON(Q_SIZE), 2, 16);
    bar_write(COMMON(Q_ENABLE), 2, 1);
    assert_int_equal(bar_read(COMMON(Q_ENABLE), 2), 0);
    assert_int_equal(bar_read(COMMON(Q_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
    /* Vectors beyond the table read back as NO_VECTOR. */
    bar_write(COMMON(Q_SELECT), 2, 0);
    bar_write(COMMON(Q_MSIX), 2, NQ + 1);
    assert_int_equal(bar_read(COMMON(Q_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
    bar_write(COMMON(MSIX), 2, 0x7fff);
    assert_int_equal(bar_read(COMMON(MSIX), 2), VIRTIO_MSI_NO_VECTOR);
    /* Enabling a queue with a bad size breaks the device, nothing else. */
    bar_write(COMMON(Q_SIZE), 2, 3);
    bar_write(COMMON(Q_ENABLE), 2, 1);
    assert_true(status() & VIRTIO_CONFIG_S_NEEDS_RESET);
    /* Ring addresses far outside RAM: the same. */
    bar_write(COMMON(STATUS), 1, 0);
    assert_int_equal(status(), 0);
    bar_write(COMMON(Q_SELECT), 2, 0);
    bar_write(COMMON(Q_DESCHI), 4, 0xffffffffu);
    bar_write(COMMON(Q_ENABLE), 2, 1);
    assert_true(status() & VIRTIO_CONFIG_S_NEEDS_RESET);
    assert_int_equal(bar_read(COMMON(Q_ENABLE), 2), 0);
    /* Reads anywhere in the BAR are answered. */
    for (uint64_t off = 0; off < VIRTIO_PCI_BAR_SIZE; off += 4)
        (void)bar_read(off, 4);
}

static void test_isr_intx(void **state)
{
    (void)state;
    driver_bring_up(1);
    assert_int_equal(cfg_read(PCI_INTERRUPT_PIN, 1), 1);
    /* The device used a buffer: INTx goes up until the ISR is read. */
    dev.vd.vq[0].used_idx++;
    virtio_queue_notify_used(&dev.vd, 0);
    assert_int_equal(intx_level, 1);
    assert_true(cfg_read(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    assert_int_equal(bar_read(VIRTIO_PCI_ISR_OFF, 1), VIRTIO_ISR_QUEUE);
    assert_int_equal(intx_level, 0);
    assert_int_equal(bar_read(VIRTIO_PCI_ISR_OFF, 1), 0);
    /* A broken device raises a config interrupt. */
    virtio_dev_broken(&dev.vd, 0, "test");
    assert_int_equal(intx_level, 1);
    assert_int_equal(bar_read(VIRTIO_PCI_ISR_OFF, 1), VIRTIO_ISR_CONFIG);
    assert_int_equal(fg.nr_msis, 0);
}

static void test_msix(void **state)
{
    unsigned cap = 0x88;

    (void)state;
    driver_bring_up(1);
    assert_int_equal(cfg_read(cap, 1), PCI_CAP_ID_MSIX);
    cfg_write(cap + 2, 2, PCI_MSIX_FLAGS_ENABLE);
    /* Vector 1 for queue 0, vector 0 for config. */
    bar_write(VIRTIO_PCI_MSIX_TABLE + 16, 4, 0xfee00000u);
    bar_write(VIRTIO_PCI_MSIX_TABLE + 16 + 8, 4, 0x41);
    bar_write(VIRTIO_PCI_MSIX_TABLE + 16 + 12, 4, 0);
    bar_write(VIRTIO_PCI_MSIX_TABLE, 4, 0xfee00000u);
    bar_write(VIRTIO_PCI_MSIX_TABLE + 8, 4, 0x42);
    bar_write(VIRTIO_PCI_MSIX_TABLE + 12, 4, 0);
    bar_write(COMMON(Q_SELECT), 2, 0);
    bar_write(COMMON(Q_MSIX), 2, 1);
    assert_int_equal(bar_read(COMMON(Q_MSIX), 2), 1);
    bar_write(COMMON(MSIX), 2, 0);

    dev.vd.vq[0].used_idx++;
    virtio_queue_notify_used(&dev.vd, 0);
    assert_int_equal(fg.nr_msis, 1);
    assert_int_equal(fg.msi_data[0], 0x41);
    assert_int_equal(intx_level, -1); /* never touched */
    virtio_dev_broken(&dev.vd, 0, "test");
    assert_int_equal(fg.nr_msis, 2);
    assert_int_equal(fg.msi_data[1], 0x42);

    /* Reset forgets the vectors. */
    bar_write(COMMON(STATUS), 1, 0);
    assert_int_equal(bar_read(COMMON(MSIX), 2), VIRTIO_MSI_NO_VECTOR);
    assert_int_equal(bar_read(COMMON(Q_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
}

static bool assigned_at(uint64_t addr)
{
    for (unsigned i = 0; i < fg.nr_ioeventfds; i++)
        if (fg.ioeventfds[i].addr == addr && fg.ioeventfds[i].len == 2)
            return true;
    return false;
}

static void test_no_event_loop_no_ioeventfd(void **state)
{
    (void)state;
    driver_bring_up(NQ);
    assert_int_equal(fg.nr_ioeventfds, 0);
    assert_int_equal(dev.vp.kick_fd[0], -1);
}

static void test_ioeventfd_follows_bar(void **state)
{
    uint64_t one = 1;

    (void)state;
    assert_true(dev.vp.kick_fd[0] >= 0 && dev.vp.kick_fd[1] >= 0);
    map_bar(BAR_GPA);
    assert_int_equal(fg.nr_ioeventfds, 0); /* not before DRIVER_OK */
    driver_bring_up(NQ);
    assert_int_equal(fg.nr_ioeventfds, NQ);
    assert_true(assigned_at(BAR_GPA + VIRTIO_PCI_NOTIFY_OFF));
    assert_true(assigned_at(BAR_GPA + VIRTIO_PCI_NOTIFY_OFF + 4));

    /* A kick through the eventfd reaches the device. */
    dev.kicks[0] = dev.kicks[1] = 0;
    assert_int_equal(write(dev.vp.kick_fd[1], &one, sizeof(one)), sizeof(one));
    dm_events_run(fg.dm);
    assert_int_equal(dev.kicks[1], 1);
    assert_int_equal(dev.kicks[0], 0);

    /* Moving the BAR moves them; turning decode off drops them. */
    cfg_write(PCI_BAR0 + 4 * VIRTIO_PCI_BAR, 4, BAR_GPA + 0x100000);
    assert_int_equal(fg.nr_ioeventfds, NQ);
    assert_true(assigned_at(BAR_GPA + 0x100000 + VIRTIO_PCI_NOTIFY_OFF));
    assert_false(assigned_at(BAR_GPA + VIRTIO_PCI_NOTIFY_OFF));
    cfg_write(PCI_COMMAND, 2, 0);
    assert_int_equal(fg.nr_ioeventfds, 0);
    cfg_write(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    assert_int_equal(fg.nr_ioeventfds, NQ);

    /* A reset drops them too. */
    cfg_write(PCI_BAR0 + 4 * VIRTIO_PCI_BAR, 4, BAR_GPA);
    bar_write(COMMON(STATUS), 1, 0);
    assert_int_equal(fg.nr_ioeventfds, 0);
}

#define IO_BASE 0xc000u

static uint32_t io_read(unsigned off, unsigned size)
{
    uint8_t data[8] = {0};
    uint32_t v = 0;

    dm_dispatch(fg.dm, DM_TRAP_PIO, IO_BASE + off, data, size, false);
    memcpy(&v, data, size);
    return v;
}

static void io_write(unsigned off, unsigned size, uint32_t v)
{
    uint8_t data[8] = {0};

    memcpy(data, &v, size);
    dm_dispatch(fg.dm, DM_TRAP_PIO, IO_BASE + off, data, size, true);
}

static void test_transitional_legacy_driver(void **state)
{
    const uint32_t pfn = 0x40; /* rings at 256 KiB */

    (void)state;
    assert_int_equal(cfg_read(PCI_DEVICE_ID, 2), 0x1005);
    assert_int_equal(cfg_read(PCI_REVISION_ID, 1), 0);
    assert_int_equal(cfg_read(PCI_SUBSYSTEM_ID, 2), VIRTIO_ID_RNG);
    cfg_write(PCI_BAR0, 4, 0xffffffffu);
    assert_int_equal(cfg_read(PCI_BAR0, 4), 0xffffffe1u); /* 32 bytes of I/O */
    cfg_write(PCI_BAR0, 4, IO_BASE);
    cfg_write(PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MASTER);

    /* The legacy sequence: no FEATURES_OK, rings by page frame number. */
    io_write(VIRTIO_PCI_STATUS, 1, 0);
    io_write(VIRTIO_PCI_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    assert_int_equal(io_read(VIRTIO_PCI_HOST_FEATURES, 4), (uint32_t)dev.vd.offered);
    io_write(VIRTIO_PCI_GUEST_FEATURES, 4, 1u << 3);
    io_write(VIRTIO_PCI_QUEUE_SEL, 2, 0);
    assert_int_equal(io_read(VIRTIO_PCI_QUEUE_NUM, 2), VIRTIO_QUEUE_SIZE);
    io_write(VIRTIO_PCI_QUEUE_PFN, 4, pfn);
    assert_int_equal(io_read(VIRTIO_PCI_QUEUE_PFN, 4), pfn);
    assert_int_equal(dev.vd.vq[0].avail_gpa, (pfn << 12) + 16 * VIRTIO_QUEUE_SIZE);
    assert_int_equal(dev.vd.vq[0].used_gpa % 4096, 0);
    assert_true(dev.vd.vq[0].used_gpa >= dev.vd.vq[0].avail_gpa + 6 + 2 * VIRTIO_QUEUE_SIZE);
    io_write(VIRTIO_PCI_STATUS, 1,
             VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
    assert_true(io_read(VIRTIO_PCI_STATUS, 1) & VIRTIO_CONFIG_S_DRIVER_OK);
    dev.kicks[0] = 0;
    io_write(VIRTIO_PCI_QUEUE_NOTIFY, 2, 0);
    io_write(VIRTIO_PCI_QUEUE_NOTIFY, 2, 9); /* no such queue */
    assert_int_equal(dev.kicks[0], 1);

    /* Device config right after the header (MSI-X off), and the ISR. */
    dev.config[0] = 0x5a;
    assert_int_equal(io_read(VIRTIO_PCI_CONFIG_OFF(0), 1), 0x5a);
    assert_int_equal(io_read(VIRTIO_PCI_CONFIG_OFF(0) + 8, 1), 0);
    dev.vd.vq[0].used_idx++;
    virtio_queue_notify_used(&dev.vd, 0);
    assert_int_equal(intx_level, 1);
    assert_int_equal(io_read(VIRTIO_PCI_ISR, 1), 1);
    assert_int_equal(intx_level, 0);
    /* Odd widths read zero and write nothing. */
    assert_int_equal(io_read(VIRTIO_PCI_QUEUE_NUM, 4), 0);
    io_write(VIRTIO_PCI_STATUS, 4, 0);
    assert_true(io_read(VIRTIO_PCI_STATUS, 1) & VIRTIO_CONFIG_S_DRIVER_OK);

    /* A PFN outside RAM breaks the device. */
    io_write(VIRTIO_PCI_STATUS, 1, 0);
    io_write(VIRTIO_PCI_QUEUE_PFN, 4, 0xfffff);
    assert_true(io_read(VIRTIO_PCI_STATUS, 1) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ids_and_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bring_up_and_kick, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_common, setup, teardown),
        cmocka_unit_test_setup_teardown(test_isr_intx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_msix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_event_loop_no_ioeventfd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ioeventfd_follows_bar, setup_events, teardown),
        cmocka_unit_test_setup_teardown(test_transitional_legacy_driver, setup_transitional,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

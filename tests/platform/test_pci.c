/* The PCI bus, the i440FX/PIIX3 pair and MSI-X against a fake host:
 * IDs and classes, absent devices, masks, BAR sizing and relocation,
 * command-register decode bits, PIRQ routing of INTx, MSI-X table,
 * masking and pending bits. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dm/hw/piix.h"
#include "dm/machine.h"
#include "dm/pci_msix.h"
#include "lib/dmop.h"
#include "tests/platform/fake_host.h"

/* A test device: BAR0 4 KiB memory (MSI-X table at 0, PBA at 0x800),
 * BAR1 32 bytes of I/O, BAR2/3 a 64-bit 1 MiB memory BAR. */
struct test_dev {
    struct pci_dev pci;
    struct pci_msix msix;
    uint64_t last_off;
    unsigned last_bar;
    unsigned accesses;
};

static void test_bar_io(struct pci_dev *d, unsigned bar, uint64_t off, uint8_t *data, uint32_t size,
                        bool is_write, void *opaque)
{
    struct test_dev *t = opaque;

    (void)d;
    if (pci_msix_bar_access(&t->msix, bar, off, data, size, is_write))
        return;
    t->last_bar = bar;
    t->last_off = off;
    t->accesses++;
    if (!is_write)
        memset(data, 0x5a, size);
}

static void test_config_write(struct pci_dev *d, unsigned reg, uint32_t size, void *opaque)
{
    struct test_dev *t = opaque;

    (void)d;
    pci_msix_config_write(&t->msix, reg, size);
}

struct fixture {
    struct dm *dm;
    struct dm_machine *m;
    struct test_dev t;
};

#define TEST_DEVFN (3u << 3) /* 00:03.0 */

static int setup(void **state)
{
    static struct fixture f;
    struct test_dev *t = &f.t;

    memset(&f, 0, sizeof(f));
    f.dm = fake_dm_new(64u << 20);
    assert_non_null(f.dm);
    f.m = fake_machine_new(f.dm, 1);
    assert_non_null(f.m);
    pci_dev_init(&t->pci, 0x1af4, 0x1042, 0x010000, 1, 0);
    t->pci.cfg[PCI_INTERRUPT_PIN] = 1;
    t->pci.config_write = test_config_write;
    t->pci.opaque = t;
    assert_int_equal(pci_bar_init(&t->pci, 0, PCI_BAR_KIND_MEM32, 4096, 0, test_bar_io, t), 0);
    assert_int_equal(pci_bar_init(&t->pci, 1, PCI_BAR_KIND_IO, 32, 0, test_bar_io, t), 0);
    assert_int_equal(pci_bar_init(&t->pci, 2, PCI_BAR_KIND_MEM64, 1u << 20, 0, test_bar_io, t), 0);
    assert_int_equal(pci_msix_init(&t->msix, &t->pci, 0x40, 4, 0, 0, 0x800), 0);
    assert_int_equal(pci_bus_add(f.m->pci, &t->pci, TEST_DEVFN), 0);
    fake.nr_maps = fake.nr_unmaps = 0;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    dm_machine_free(f->m);
    dm_free(f->dm);
    return 0;
}

static void test_bridges_ids(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(fake_cfg_read(f->dm, 0x00, PCI_VENDOR_ID, 4), 0x12378086);
    assert_int_equal(fake_cfg_read(f->dm, 0x00, PCI_CLASS_DEVICE, 2), 0x0600);
    assert_int_equal(fake_cfg_read(f->dm, 0x00, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x11001af4);
    assert_int_equal(fake_cfg_read(f->dm, 0x08, PCI_VENDOR_ID, 2), 0x8086);
    assert_int_equal(fake_cfg_read(f->dm, 0x08, PCI_DEVICE_ID, 2), 0x7000);
    assert_int_equal(fake_cfg_read(f->dm, 0x08, PCI_CLASS_DEVICE, 2), 0x0601);
    assert_int_equal(fake_cfg_read(f->dm, 0x08, PCI_HEADER_TYPE, 1), 0x80);
    /* Read-only fields stay. */
    fake_cfg_write(f->dm, 0x00, PCI_VENDOR_ID, 4, 0);
    fake_cfg_write(f->dm, 0x08, PCI_CLASS_PROG, 4, 0);
    assert_int_equal(fake_cfg_read(f->dm, 0x00, PCI_VENDOR_ID, 4), 0x12378086);
    assert_int_equal(fake_cfg_read(f->dm, 0x08, PCI_CLASS_DEVICE, 2), 0x0601);
}

static void test_absent_devices(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(fake_cfg_read(f->dm, 0x10, PCI_VENDOR_ID, 4), 0xffffffff);
    assert_int_equal(fake_cfg_read(f->dm, 0x09, PCI_VENDOR_ID, 2), 0xffff); /* 00:01.1 */
    assert_int_equal(fake_cfg_read(f->dm, 0xff, 0, 1), 0xff);
    /* Extended config space of a 256-byte device, and past the bus. */
    assert_int_equal(fake_cfg_read(f->dm, 0x00, 0x100, 4), 0xffffffff);
    assert_int_equal(fake_cfg_read(f->dm, 0x00, 0xfe, 4), 0xffffffff);
    fake_cfg_write(f->dm, 0x10, PCI_COMMAND, 2, 0xffff);
    assert_int_equal(fake_cfg_read(f->dm, 0x10, PCI_COMMAND, 2), 0xffff);
}

static void test_pam_smram(void **state)
{
    struct fixture *f = *state;

    fake_cfg_write(f->dm, 0x00, I440FX_PAM0, 4, 0x33333330);
    assert_int_equal(fake_cfg_read(f->dm, 0x00, I440FX_PAM0, 1), 0x30);
    assert_int_equal(fake_cfg_read(f->dm, 0x00, I440FX_PAM0 + 1, 2), 0x3333);
    fake_cfg_write(f->dm, 0x00, I440FX_PAM0, 1, 0xff);
    assert_int_equal(fake_cfg_read(f->dm, 0x00, I440FX_PAM0, 1), 0x30); /* low nibble reserved */
    assert_int_equal(fake_cfg_read(f->dm, 0x00, I440FX_SMRAM, 1), 0x02);
    fake_cfg_write(f->dm, 0x00, I440FX_SMRAM, 1, 0x4a);
    assert_int_equal(fake_cfg_read(f->dm, 0x00, I440FX_SMRAM, 1), 0x4a);
}

static void test_bar_sizing(void **state)
{
    struct fixture *f = *state;

    fake_cfg_write(f->dm, TEST_DEVFN, PCI_BAR0, 4, 0xffffffff);
    assert_int_equal(fake_cfg_read(f->dm, TEST_DEVFN, PCI_BAR0, 4), 0xfffff000);
    fake_cfg_write(f->dm, TEST_DEVFN, PCI_BAR0 + 4, 4, 0xffffffff);
    assert_int_equal(fake_cfg_read(f->dm, TEST_DEVFN, PCI_BAR0 + 4, 4), 0xffffffe1);
    fake_cfg_write(f->dm, TEST_DEVFN, PCI_BAR0 + 8, 4, 0xffffffff);
    fake_cfg_write(f->dm, TEST_DEVFN, PCI_BAR0 + 12, 4, 0xffffffff);
    assert_int_equal(fake_cfg_read(f->dm, TEST_DEVFN, PCI_BAR0 + 8, 4), 0xfff00004);
    assert_int_equal(fake_cfg_read(f->dm, TEST_DEVFN, PCI_BAR0 + 12, 4), 0xffffffff);
    /* Unused BARs and the ROM BAR read 0 whatever is written. */
    fake_cfg_write(f->dm, TEST_DEVFN, PCI_BAR0 + 16, 4, 0xffffffff);
    fake_cfg_write(f->dm, TEST_DEVFN, PCI_ROM_ADDRESS, 4, 0xffffffff);
    assert_int_equal(fake_cfg_read(f->dm, TEST_DEVFN, PCI_BAR0 + 16, 4), 0);
    assert_int_equal(fake_cfg_read(f->dm, TEST_DEVFN, PCI_ROM_ADDRESS, 4), 0);
    /* Decode is off: sizing mapped nothing. */
    assert_int_equal(fake.nr_maps, 0);
}

static void test_bar_relocation(void **state)
{
    struct fixture *f = *state;
    struct test_dev *t = &f->t;

    fake_cfg_write(f->dm, TEST_DEVFN, PCI_BAR0, 4, 0xfebf0000);
    fake_cfg_write(f->dm, TEST_DEVFN, PCI_BAR0 + 4, 4, 0xc000);
    assert_int_equal(fake.nr_maps, 0);
    fake_cfg_write(f->dm, TEST_DEVFN, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    assert_int_equal(fake.nr_maps, 1);
    assert_int_equal(fake.maps[0].type, DM_TRAP_MMIO);
    assert_int_equal(fake.maps[0].start, 0xfebf0000);
    assert_int_equal(fake.maps[0].end, 0xfebf0fff);
    assert_int_equal(fake_mmio_read(f->dm, 0xfebf0904, 4), 0x5a5a5a5a);
    assert_int_equal(t->last_off, 0x904);

    fake_cfg_write(f->dm, TEST_DEVFN, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
    assert_int_equal(fake.nr_maps, 2);
    assert_int_equal(fake.maps[1].type, DM_TRAP_PIO);
    assert_int_equal(fake.maps[1].start, 0xc000);
    assert_int_equal(fake.maps[1].end, 0xc01f);
    fake_out(f->dm, 0xc010, 2, 0x1234);
    assert_int_equal(t->last_bar, 1);
    assert_int_equal(t->last_off, 0x10);

    /* Move BAR0: the old range goes, the new one comes. */
    fake_cfg_write(f->dm, TEST_DEVFN, PCI_BAR0, 4, 0xfeb00000);
    assert_int_equal(fake.nr_unmaps, 1);
    assert_int_equal(fake.unmaps[0].start, 0xfebf0000);
    assert_int_equal(fake.nr_maps, 3);
    assert_int_equal(fake.maps[2].start, 0xfeb00000);
    assert_int_equal(fake_mmio_read(f->dm, 0xfebf0904, 4), 0xffffffff); /* nobody there */
    assert_int_equal(fake_mmio_read(f->dm, 0xfeb00904, 4), 0x5a5a5a5a);

    /* Decode off: both unmapped. */
    fake_cfg_write(f->dm, TEST_DEVFN, PCI_COMMAND, 2, 0);
    assert_int_equal(fake.nr_unmaps, 3);
    assert_int_equal(fake_in(f->dm, 0xc010, 2), 0xffff);

    /* A 64-bit BAR above 4 GiB. */
    fake_cfg_write(f->dm, TEST_DEVFN, PCI_BAR0 + 8, 4, 0x00000000);
    fake_cfg_write(f->dm, TEST_DEVFN, PCI_BAR0 + 12, 4, 0x8);
    fake_cfg_write(f->dm, TEST_DEVFN, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    assert_int_equal(pci_bar_address(&t->pci, 2), 0x800000000ull);
    assert_int_equal(fake_mmio_read(f->dm, 0x800000010ull, 8), 0x5a5a5a5a5a5a5a5aull);
    assert_int_equal(t->last_bar, 2);
}

/* An expansion ROM: sized like a BAR (2 KiB granularity, bit 0 enable),
 * decoded only with both its enable bit and the memory bit, read-only,
 * zeros past the image; a saved and restored function maps it again. */
static void test_expansion_rom(void **state)
{
    struct fixture *f = *state;
    static struct pci_dev rom_dev;
    static uint8_t image[3000];
    struct pci_dev_state st;
    struct srec_w w;
    struct srec_r r, rec;
    uint8_t *blob;
    size_t len;
    uint32_t tag, inst;

    for (size_t i = 0; i < sizeof(image); i++)
        image[i] = (uint8_t)(i + 1);
    image[0] = 0x55;
    image[1] = 0xaa;
    pci_dev_init(&rom_dev, 0x1af4, 0x1000, 0x020000, 0, 0);
    assert_int_equal(pci_rom_init(&rom_dev, image, 0), -EINVAL);
    assert_int_equal(pci_rom_init(&rom_dev, image, PCI_ROM_MAX + 1), -EINVAL);
    assert_int_equal(pci_rom_init(&rom_dev, image, sizeof(image)), 0);
    assert_int_equal(pci_bus_add(f->m->pci, &rom_dev, 4u << 3), 0);

    fake_cfg_write(f->dm, 4u << 3, PCI_ROM_ADDRESS, 4, 0xffffffff);
    assert_int_equal(fake_cfg_read(f->dm, 4u << 3, PCI_ROM_ADDRESS, 4), 0xfffff001); /* 4 KiB */
    fake_cfg_write(f->dm, 4u << 3, PCI_ROM_ADDRESS, 4, 0xfeb80000);
    fake_cfg_write(f->dm, 4u << 3, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    assert_int_equal(fake.nr_maps, 0); /* not enabled */
    fake_cfg_write(f->dm, 4u << 3, PCI_ROM_ADDRESS, 4, 0xfeb80001);
    assert_int_equal(fake.nr_maps, 1);
    assert_int_equal(fake.maps[0].start, 0xfeb80000);
    assert_int_equal(fake.maps[0].end, 0xfeb80fff);
    assert_int_equal(fake_mmio_read(f->dm, 0xfeb80000, 2), 0xaa55);
    assert_int_equal(fake_mmio_read(f->dm, 0xfeb80004, 4), 0x08070605);
    fake_mmio_write(f->dm, 0xfeb80004, 4, 0);
    assert_int_equal(fake_mmio_read(f->dm, 0xfeb80004, 4), 0x08070605); /* read-only */
    assert_int_equal(fake_mmio_read(f->dm, 0xfeb80000 + sizeof(image), 4), 0);
    assert_int_equal(fake_mmio_read(f->dm, 0xfeb80ffc, 4), 0);
    fake_cfg_write(f->dm, 4u << 3, PCI_COMMAND, 2, 0);
    assert_int_equal(fake.nr_unmaps, 1); /* memory decode off */
    fake_cfg_write(f->dm, 4u << 3, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    assert_int_equal(fake.nr_maps, 2);

    /* Save, turn it off, restore: mapped where it was. */
    srec_w_init(&w);
    srec_begin(&w, 1, 4u << 3);
    pci_dev_state_save(&rom_dev, &w);
    srec_end(&w);
    assert_int_equal(srec_w_finish(&w, &blob, &len), 0);
    fake_cfg_write(f->dm, 4u << 3, PCI_ROM_ADDRESS, 4, 0);
    assert_int_equal(fake.nr_unmaps, 2);
    assert_int_equal(srec_r_open(&r, blob, len), 0);
    assert_int_equal(srec_next(&r, &tag, &inst, &rec), 1);
    pci_dev_state_parse(&rom_dev, &st, &rec);
    assert_true(srec_done(&rec));
    pci_dev_state_apply(&rom_dev, &st);
    assert_int_equal(fake.nr_maps, 3);
    assert_int_equal(fake.maps[2].start, 0xfeb80000);
    assert_int_equal(fake_mmio_read(f->dm, 0xfeb80000, 2), 0xaa55);
    free(blob);
}

static void test_bar_refused_by_host(void **state)
{
    struct fixture *f = *state;

    fake.refuse_map = -1; /* -EPERM: e.g. over RAM */
    fake_cfg_write(f->dm, TEST_DEVFN, PCI_BAR0, 4, 0x00100000);
    fake_cfg_write(f->dm, TEST_DEVFN, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    assert_false(f->t.pci.bars[0].mapped);
    fake.refuse_map = 0;
    fake_cfg_write(f->dm, TEST_DEVFN, PCI_BAR0, 4, 0xfebf0000);
    assert_true(f->t.pci.bars[0].mapped);
}

static void test_command_and_status(void **state)
{
    struct fixture *f = *state;

    fake_cfg_write(f->dm, TEST_DEVFN, PCI_COMMAND, 2, 0xffff);
    assert_int_equal(fake_cfg_read(f->dm, TEST_DEVFN, PCI_COMMAND, 2), 0x0547);
    /* Status: capability list bit read-only, error bits write-1-to-clear. */
    assert_int_equal(fake_cfg_read(f->dm, TEST_DEVFN, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST,
                     PCI_STATUS_CAP_LIST);
    f->t.pci.cfg[PCI_STATUS + 1] = 0x80;
    fake_cfg_write(f->dm, TEST_DEVFN, PCI_STATUS, 2, 0x8000);
    assert_int_equal(fake_cfg_read(f->dm, TEST_DEVFN, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
    assert_int_equal(fake_cfg_read(f->dm, TEST_DEVFN, PCI_CAPABILITY_LIST, 1), 0x40);
    assert_int_equal(fake_cfg_read(f->dm, TEST_DEVFN, 0x40, 2), PCI_CAP_ID_MSIX);
}

static void test_intx_pirq_routing(void **state)
{
    struct fixture *f = *state;
    unsigned link = piix_intx_link(TEST_DEVFN, 0); /* slot 3, INTA: PIRQC */

    assert_int_equal(link, 2);
    /* Unrouted (PIRQ disabled): nothing reaches the host. */
    pci_set_intx(&f->t.pci, true);
    for (unsigned irq = 0; irq < 16; irq++)
        assert_int_equal(fake.irq_changes[irq], 0);
    assert_true(fake_cfg_read(f->dm, TEST_DEVFN, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    /* Routing the link raises the IRQ at once; moving it moves the level. */
    fake_cfg_write(f->dm, 0x08, PIIX_PIRQ_BASE + link, 1, 11);
    assert_int_equal(fake.irq_level[11], 1);
    fake_cfg_write(f->dm, 0x08, PIIX_PIRQ_BASE + link, 1, 10);
    assert_int_equal(fake.irq_level[11], 0);
    assert_int_equal(fake.irq_level[10], 1);
    pci_set_intx(&f->t.pci, false);
    assert_int_equal(fake.irq_level[10], 0);
    assert_false(fake_cfg_read(f->dm, TEST_DEVFN, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    /* INTx disable masks the pin. */
    fake_cfg_write(f->dm, TEST_DEVFN, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
    pci_set_intx(&f->t.pci, true);
    assert_int_equal(fake.irq_level[10], 0);
    fake_cfg_write(f->dm, TEST_DEVFN, PCI_COMMAND, 2, 0);
    assert_int_equal(fake.irq_level[10], 1);
    /* Disabling the link drops it. */
    fake_cfg_write(f->dm, 0x08, PIIX_PIRQ_BASE + link, 1, 0x80);
    assert_int_equal(fake.irq_level[10], 0);
}

static void test_intx_shared_link(void **state)
{
    struct fixture *f = *state;
    static struct pci_dev other;
    unsigned other_devfn = 7u << 3; /* slot 7 INTA: link (0 + 6) & 3 = 2, as slot 3 */

    pci_dev_init(&other, 0x1234, 0x5678, 0xff0000, 0, 0);
    other.cfg[PCI_INTERRUPT_PIN] = 1;
    assert_int_equal(pci_bus_add(f->m->pci, &other, other_devfn), 0);
    assert_int_equal(piix_intx_link(other_devfn, 0), piix_intx_link(TEST_DEVFN, 0));
    fake_cfg_write(f->dm, 0x08, PIIX_PIRQ_BASE + 2, 1, 5);
    pci_set_intx(&f->t.pci, true);
    pci_set_intx(&other, true);
    assert_int_equal(fake.irq_level[5], 1);
    pci_set_intx(&f->t.pci, false);
    assert_int_equal(fake.irq_level[5], 1); /* the other one still asserts */
    pci_set_intx(&other, false);
    assert_int_equal(fake.irq_level[5], 0);
    f->m->pci->devs[other_devfn] = NULL;
}

/* How many times eventfd fd was written since the last look (0: none). */
static uint64_t eventfd_count(int fd)
{
    uint64_t v = 0;

    assert_true(fd >= 0);
    if (read(fd, &v, sizeof(v)) != sizeof(v))
        return 0;
    return v;
}

/* A host with level-triggered irqfds (process, stubdom): routes go to the
 * host, each routed IRQ gets an irqfd, a rising line writes it instead of
 * a set_isa_irq, a resample re-asserts while the device holds the line. */
static void test_intx_irqfd(void **state)
{
    struct dm_machine *m;
    static struct pci_dev d;
    unsigned devfn = 3u << 3, link = piix_intx_link(devfn, 0);
    struct dm *dm = fake_dm_new_irqfd(64u << 20);
    uint64_t one = 1;
    int efd, rfd;

    (void)state;
    assert_non_null(dm);
    m = fake_machine_new(dm, 1);
    assert_non_null(m);
    assert_true(m->piix->use_irqfd);
    pci_dev_init(&d, 0x1af4, 0x1042, 0x010000, 1, 0);
    d.cfg[PCI_INTERRUPT_PIN] = 1;
    assert_int_equal(pci_bus_add(m->pci, &d, devfn), 0);

    fake_cfg_write(dm, 0x08, PIIX_PIRQ_BASE + link, 1, 10);
    assert_int_equal(fake.link_route[link], 10);
    efd = fake.irqfd_efd[10];
    rfd = fake.irqfd_rfd[10];
    assert_true(efd >= 0 && rfd >= 0);
    pci_set_intx(&d, true);
    assert_int_equal(eventfd_count(efd), 1);
    assert_int_equal(fake.irq_changes[10], 0); /* no set_isa_irq */
    /* The guest EOIs while the device still holds the line: again. */
    assert_int_equal(write(rfd, &one, sizeof(one)), (ssize_t)sizeof(one));
    dm_events_run(dm);
    assert_int_equal(eventfd_count(efd), 1);
    /* Once it let go, a resample leaves the line down. */
    pci_set_intx(&d, false);
    assert_int_equal(write(rfd, &one, sizeof(one)), (ssize_t)sizeof(one));
    dm_events_run(dm);
    assert_int_equal(eventfd_count(efd), 0);
    assert_int_equal(fake.irq_changes[10], 0);

    /* Moving the link moves the irqfd; one already high is raised there. */
    pci_set_intx(&d, true);
    assert_int_equal(eventfd_count(efd), 1);
    fake_cfg_write(dm, 0x08, PIIX_PIRQ_BASE + link, 1, 11);
    assert_int_equal(fake.link_route[link], 11);
    assert_int_equal(fake.irqfd_efd[10], -1);
    assert_true(fake.irqfd_efd[11] >= 0);
    assert_int_equal(eventfd_count(fake.irqfd_efd[11]), 1);
    pci_set_intx(&d, false);

    /* An irqfd the host refuses: that IRQ goes through set_isa_irq. */
    fake.refuse_irqfd = -28;
    fake_cfg_write(dm, 0x08, PIIX_PIRQ_BASE + link, 1, 5);
    assert_int_equal(fake.link_route[link], 5);
    assert_int_equal(fake.irqfd_efd[5], -1);
    pci_set_intx(&d, true);
    assert_int_equal(fake.irq_level[5], 1);
    pci_set_intx(&d, false);
    assert_int_equal(fake.irq_level[5], 0);
    /* Disabled: the host hears the link goes nowhere. */
    fake_cfg_write(dm, 0x08, PIIX_PIRQ_BASE + link, 1, 0x80);
    assert_int_equal(fake.link_route[link], 0);
    dm_machine_free(m);
    dm_free(dm);
}

static void test_msix(void **state)
{
    struct fixture *f = *state;
    struct pci_msix *m = &f->t.msix;
    const uint64_t bar = 0xfebf0000;

    assert_int_equal(fake_cfg_read(f->dm, TEST_DEVFN, 0x42, 2), 3); /* 4 vectors */
    assert_int_equal(fake_cfg_read(f->dm, TEST_DEVFN, 0x44, 4), 0x000);
    assert_int_equal(fake_cfg_read(f->dm, TEST_DEVFN, 0x48, 4), 0x800);
    fake_cfg_write(f->dm, TEST_DEVFN, PCI_BAR0, 4, (uint32_t)bar);
    fake_cfg_write(f->dm, TEST_DEVFN, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);

    /* Vector 1: address and data, still masked. */
    fake_mmio_write(f->dm, bar + 16, 8, 0xfee00000ull);
    fake_mmio_write(f->dm, bar + 24, 4, 0x4041);
    assert_int_equal(fake_mmio_read(f->dm, bar + 16, 4), 0xfee00000);
    assert_int_equal(fake_mmio_read(f->dm, bar + 28, 4), 1); /* masked at reset */

    /* MSI-X off: notify leaves it pending. */
    pci_msix_notify(m, 1);
    assert_int_equal(fake.nr_msis, 0);
    assert_int_equal(fake_mmio_read(f->dm, bar + 0x800, 8), 0x2);

    /* Enable with the function masked, then unmask the vector: still held. */
    fake_cfg_write(f->dm, TEST_DEVFN, 0x42, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    fake_mmio_write(f->dm, bar + 28, 4, 0);
    assert_int_equal(fake.nr_msis, 0);
    /* Function unmasked: the pending vector goes out, its bit clears. */
    fake_cfg_write(f->dm, TEST_DEVFN, 0x42, 2, PCI_MSIX_FLAGS_ENABLE);
    assert_int_equal(fake.nr_msis, 1);
    assert_int_equal(fake.msi_addr[0], 0xfee00000ull);
    assert_int_equal(fake.msi_data[0], 0x4041);
    assert_int_equal(fake_mmio_read(f->dm, bar + 0x800, 8), 0);

    /* Unmasked: straight through.  Masked vector: pending until unmasked. */
    pci_msix_notify(m, 1);
    assert_int_equal(fake.nr_msis, 2);
    fake_mmio_write(f->dm, bar + 28, 4, 1);
    pci_msix_notify(m, 1);
    assert_int_equal(fake.nr_msis, 2);
    assert_int_equal(fake_mmio_read(f->dm, bar + 0x800, 4), 0x2);
    fake_mmio_write(f->dm, bar + 28, 4, 0);
    assert_int_equal(fake.nr_msis, 3);

    /* Out of range vectors, misaligned and odd-sized table accesses, PBA
     * writes: ignored. */
    pci_msix_notify(m, 4);
    pci_msix_notify(m, 1000);
    assert_int_equal(fake.nr_msis, 3);
    fake_mmio_write(f->dm, bar + 18, 2, 0xffff);
    assert_int_equal(fake_mmio_read(f->dm, bar + 16, 4), 0xfee00000);
    assert_int_equal(fake_mmio_read(f->dm, bar + 17, 1), 0xff);
    fake_mmio_write(f->dm, bar + 0x800, 8, ~0ull);
    assert_int_equal(fake_mmio_read(f->dm, bar + 0x800, 8), 0);
    /* Outside table and PBA: the device's own registers. */
    assert_int_equal(fake_mmio_read(f->dm, bar + 0x100, 4), 0x5a5a5a5a);
}

static void test_msix_init_checks(void **state)
{
    struct fixture *f = *state;
    struct pci_msix m2;

    (void)f;
    assert_int_equal(pci_msix_init(&m2, &f->t.pci, 0x50, 0, 0, 0, 0x800), -EINVAL);
    assert_int_equal(pci_msix_init(&m2, &f->t.pci, 0x50, 65, 0, 0, 0x800), -EINVAL);
    assert_int_equal(pci_msix_init(&m2, &f->t.pci, 0x50, 4, 1, 0, 0x800), -EINVAL); /* I/O */
    assert_int_equal(pci_msix_init(&m2, &f->t.pci, 0x50, 4, 0, 0, 0x20), -EINVAL);  /* overlap */
    assert_int_equal(pci_msix_init(&m2, &f->t.pci, 0x50, 4, 0, 0xff8, 0x800), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bridges_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absent_devices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pam_smram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bar_sizing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bar_relocation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expansion_rom, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bar_refused_by_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_and_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intx_pirq_routing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intx_shared_link, setup, teardown),
        cmocka_unit_test(test_intx_irqfd),
        cmocka_unit_test_setup_teardown(test_msix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_msix_init_checks, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

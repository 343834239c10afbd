/* Exit routing without KVM: port I/O (string I/O included), PCI config
 * cycles and MMIO through iobus_*() to the inline device model, with a
 * hand-made kvm_run. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include <cmocka.h>

#include "vmm/vmm.h"

#define RUN_SIZE 8192
#define DATA_OFF 4096

struct fixture {
    struct vmm vmm;
    uint8_t *run_area;
};

static int setup(void **state)
{
    static struct fixture f;

    vmm_init(&f.vmm);
    f.vmm.ram_size = 16ull << 20;
    f.vmm.nr_vcpus = 1;
    f.vmm.placement = PLACEMENT_INLINE;
    f.vmm.run_size = RUN_SIZE;
    f.vmm.out_fd = -1;
    f.vmm.stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    f.run_area = calloc(1, RUN_SIZE);
    f.vmm.vcpus[0].vmm = &f.vmm;
    f.vmm.vcpus[0].run = (struct kvm_run *)f.run_area;
    assert_int_equal(inline_dm_create(&f.vmm), 0);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    inline_dm_destroy(&f->vmm);
    f->vmm.vcpus[0].run = NULL;
    f->vmm.nr_vcpus = 0;
    vmm_destroy(&f->vmm);
    free(f->run_area);
    return 0;
}

/* One port access; returns the data area. */
static uint8_t *pio(struct fixture *f, uint16_t port, bool out, uint8_t size, uint32_t count,
                    const void *data)
{
    struct kvm_run *run = f->vmm.vcpus[0].run;
    uint8_t *buf = f->run_area + DATA_OFF;

    run->exit_reason = KVM_EXIT_IO;
    run->io.direction = out ? KVM_EXIT_IO_OUT : KVM_EXIT_IO_IN;
    run->io.size = size;
    run->io.port = port;
    run->io.count = count;
    run->io.data_offset = DATA_OFF;
    memset(buf, 0x5a, (size_t)size * count);
    if (data)
        memcpy(buf, data, (size_t)size * count);
    assert_int_equal(iobus_pio(&f->vmm.vcpus[0]), 0);
    return buf;
}

static void test_scratch_round_trip(void **state)
{
    struct fixture *f = *state;

    pio(f, 0x3ff, true, 1, 1, "\x42");
    assert_int_equal(pio(f, 0x3ff, false, 1, 1, NULL)[0], 0x42);
}

static void test_string_io(void **state)
{
    struct fixture *f = *state;
    uint8_t *d;

    /* rep outsb to the scratch register: the last byte stays. */
    pio(f, 0x3ff, true, 1, 5, "abcde");
    d = pio(f, 0x3ff, false, 1, 3, NULL);
    assert_memory_equal(d, "eee", 3);
    /* Unclaimed string input: all-ones, every element. */
    d = pio(f, 0x2e8, false, 2, 100, NULL);
    for (int i = 0; i < 200; i++)
        assert_int_equal(d[i], 0xff);
}

static void test_unclaimed(void **state)
{
    struct fixture *f = *state;
    uint8_t *d = pio(f, 0x80, false, 4, 1, NULL);

    assert_memory_equal(d, "\xff\xff\xff\xff", 4);
    pio(f, 0x80, true, 4, 1, "\x01\x02\x03\x04"); /* dropped, no crash */
    /* Straddling the end of COM1: not the UART's. */
    d = pio(f, 0x3ff, false, 2, 1, NULL);
    assert_memory_equal(d, "\xff\xff", 2);
}

static void test_pci_config(void **state)
{
    struct fixture *f = *state;
    uint32_t addr = 0x80001808; /* bus 0, device 3, function 0, register 8 */
    uint8_t *d;

    pio(f, 0xcf8, true, 4, 1, &addr);
    d = pio(f, 0xcf8, false, 4, 1, NULL);
    assert_memory_equal(d, &addr, 4);
    /* Nobody claims that SBDF: all-ones, at any offset and width. */
    d = pio(f, 0xcfc, false, 4, 1, NULL);
    assert_memory_equal(d, "\xff\xff\xff\xff", 4);
    d = pio(f, 0xcfe, false, 2, 1, NULL);
    assert_memory_equal(d, "\xff\xff", 2);
    /* Crossing the dword, or with the enable bit off: all-ones too. */
    d = pio(f, 0xcff, false, 2, 1, NULL);
    assert_memory_equal(d, "\xff\xff", 2);
    addr = 0x1808;
    pio(f, 0xcf8, true, 4, 1, &addr);
    d = pio(f, 0xcfc, false, 1, 1, NULL);
    assert_int_equal(d[0], 0xff);
    /* Byte accesses to 0xcf8 do not touch the latch. */
    pio(f, 0xcf8, true, 1, 1, "\x00");
    d = pio(f, 0xcf8, false, 4, 1, NULL);
    assert_memory_equal(d, &addr, 4);
}

static void test_mmio_unclaimed(void **state)
{
    struct fixture *f = *state;
    struct kvm_run *run = f->vmm.vcpus[0].run;

    run->exit_reason = KVM_EXIT_MMIO;
    run->mmio.phys_addr = 0xd0000000;
    run->mmio.len = 4;
    run->mmio.is_write = 0;
    memset(run->mmio.data, 0, sizeof(run->mmio.data));
    assert_int_equal(iobus_mmio(&f->vmm.vcpus[0]), 0);
    assert_memory_equal(run->mmio.data, "\xff\xff\xff\xff", 4);
    run->mmio.len = 3; /* odd widths are nobody's */
    assert_int_equal(iobus_mmio(&f->vmm.vcpus[0]), 0);
}

static void test_debug_exit(void **state)
{
    struct fixture *f = *state;

    pio(f, 0xf4, true, 1, 1, "\x2a");
    assert_int_equal(atomic_load(&f->vmm.stopping), 1);
    assert_int_equal(f->vmm.exit_status, 42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_scratch_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_string_io, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unclaimed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmio_unclaimed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_debug_exit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* fw_cfg against a fake host: signature, feature bits, the file directory
 * and its files, CPU count, unknown items and reads past the end. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dm/hw/fw_cfg.h"
#include "tests/platform/fake_host.h"

struct fixture {
    struct dm *dm;
    struct fw_cfg cfg;
};

static int setup(void **state)
{
    static struct fixture f;

    memset(&f, 0, sizeof(f));
    f.dm = fake_dm_new(64u << 20);
    assert_int_equal(fw_cfg_setup(&f.cfg, f.dm, 64u << 20, 2), 0);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    dm_free(f->dm);
    return 0;
}

static void read_item(struct dm *dm, uint16_t key, uint8_t *buf, size_t len)
{
    fake_out(dm, FW_CFG_PORT, 2, key);
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)fake_in(dm, FW_CFG_PORT + 1, 1);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_signature_and_id(void **state)
{
    struct fixture *f = *state;
    uint8_t buf[8];

    read_item(f->dm, FW_CFG_SIGNATURE, buf, 6);
    assert_memory_equal(buf, "QEMU\0\0", 6); /* past the end: zeros */
    read_item(f->dm, FW_CFG_ID, buf, 4);
    assert_memory_equal(buf, "\x01\0\0\0", 4); /* traditional, no DMA */
    assert_int_equal(fake_in(f->dm, FW_CFG_PORT, 2), FW_CFG_ID);
    read_item(f->dm, FW_CFG_NB_CPUS, buf, 2);
    assert_memory_equal(buf, "\x02\0", 2);
    fw_cfg_set_nr_cpus(&f->cfg, 4);
    read_item(f->dm, FW_CFG_MAX_CPUS, buf, 2);
    assert_memory_equal(buf, "\x04\0", 2);
    read_item(f->dm, FW_CFG_RAM_SIZE, buf, 8);
    assert_memory_equal(buf, "\0\0\0\x04\0\0\0\0", 8);
    /* Unknown items read as zeros (NUMA, ACPI, SMBIOS counts). */
    read_item(f->dm, 0x0d, buf, 8);
    assert_memory_equal(buf, "\0\0\0\0\0\0\0\0", 8);
    read_item(f->dm, 0x8001, buf, 2);
    assert_memory_equal(buf, "\0\0", 2);
}

static void test_file_directory(void **state)
{
    struct fixture *f = *state;
    uint8_t dir[4 + FW_CFG_FILE_ENTRY_SIZE], buf[4];
    uint16_t select;

    read_item(f->dm, FW_CFG_FILE_DIR, dir, sizeof(dir));
    assert_int_equal(be32(dir), 1);
    assert_int_equal(be32(dir + 4), 4);
    select = (uint16_t)(dir[8] << 8 | dir[9]);
    assert_int_equal(select, FW_CFG_FILE_FIRST);
    assert_string_equal((const char *)dir + 12, "etc/boot-fail-wait");
    read_item(f->dm, select, buf, 4);
    assert_int_equal(buf[0] | buf[1] << 8 | buf[2] << 16 | (uint32_t)buf[3] << 24,
                     FW_CFG_BOOT_FAIL_WAIT);
}

/* Files devices add: found by name in the directory, read whole, names
 * unique and bounded, the directory bounded. */
static void test_added_files(void **state)
{
    struct fixture *f = *state;
    static const char order[] = "/pci@i0cf8/*@3\n";
    static uint8_t big[3000];
    uint8_t dir[4 + 3 * FW_CFG_FILE_ENTRY_SIZE], buf[sizeof(big)];
    char name[FW_CFG_FILE_NAME_SIZE + 1];
    int sel_order, sel_big;

    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    sel_order = fw_cfg_add_file(&f->cfg, "bootorder", order, sizeof(order) - 1);
    sel_big = fw_cfg_add_file(&f->cfg, "etc/acpi/tables", big, sizeof(big));
    assert_int_equal(sel_order, FW_CFG_FILE_FIRST + 1);
    assert_int_equal(sel_big, FW_CFG_FILE_FIRST + 2);
    assert_int_equal(fw_cfg_add_file(&f->cfg, "bootorder", order, 1), -EEXIST);
    assert_int_equal(fw_cfg_add_file(&f->cfg, "", order, 1), -EINVAL);
    memset(name, 'x', sizeof(name) - 1);
    name[FW_CFG_FILE_NAME_SIZE] = '\0'; /* one byte too long for the entry */
    assert_int_equal(fw_cfg_add_file(&f->cfg, name, order, 1), -EINVAL);

    read_item(f->dm, FW_CFG_FILE_DIR, dir, sizeof(dir));
    assert_int_equal(be32(dir), 3);
    assert_int_equal(be32(dir + 4 + FW_CFG_FILE_ENTRY_SIZE), sizeof(order) - 1);
    assert_int_equal(dir[4 + FW_CFG_FILE_ENTRY_SIZE + 4] << 8 | dir[4 + FW_CFG_FILE_ENTRY_SIZE + 5],
                     sel_order);
    assert_string_equal((const char *)dir + 4 + FW_CFG_FILE_ENTRY_SIZE + 8, "bootorder");
    assert_string_equal((const char *)dir + 4 + 2 * FW_CFG_FILE_ENTRY_SIZE + 8, "etc/acpi/tables");
    read_item(f->dm, (uint16_t)sel_order, buf, sizeof(order) - 1);
    assert_memory_equal(buf, order, sizeof(order) - 1);
    read_item(f->dm, (uint16_t)sel_big, buf, sizeof(big));
    assert_memory_equal(buf, big, sizeof(big));
    /* A selector past the last file is an unknown item. */
    read_item(f->dm, (uint16_t)(sel_big + 1), buf, 4);
    assert_memory_equal(buf, "\0\0\0\0", 4);

    /* The directory is bounded: the 33rd file is refused. */
    for (int i = 3; i < FW_CFG_MAX_FILES; i++) {
        snprintf(name, sizeof(name), "etc/file%d", i);
        assert_true(fw_cfg_add_file(&f->cfg, name, order, 1) > 0);
    }
    assert_int_equal(fw_cfg_add_file(&f->cfg, "etc/one-too-many", order, 1), -ENOSPC);
}

static void test_odd_accesses(void **state)
{
    struct fixture *f = *state;
    uint8_t buf[4];

    /* A byte write to the selector, writes to data, wide data reads: no
     * effect, zeros. */
    fake_out(f->dm, FW_CFG_PORT, 2, FW_CFG_SIGNATURE);
    fake_out(f->dm, FW_CFG_PORT, 1, 0x19);
    fake_out(f->dm, FW_CFG_PORT + 1, 1, 0x55);
    assert_int_equal(fake_in(f->dm, FW_CFG_PORT + 1, 2), 0xffff); /* not fully ours */
    assert_int_equal(fake_in(f->dm, FW_CFG_PORT, 1), 0);
    read_item(f->dm, FW_CFG_SIGNATURE, buf, 4);
    assert_memory_equal(buf, "QEMU", 4);
    /* Reading on and on stays at zero. */
    for (int i = 0; i < 100000; i++)
        (void)fake_in(f->dm, FW_CFG_PORT + 1, 1);
    assert_int_equal(fake_in(f->dm, FW_CFG_PORT + 1, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_signature_and_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_added_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_odd_accesses, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

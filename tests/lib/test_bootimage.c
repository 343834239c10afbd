/* Unit tests for lib/bootimage (where a kernel's pieces go) and lib/cpuid
 * (the cpuid= settings and the restore check): the rules as examples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bootimage.h"
#include "lib/cpuid.h"

#define MIB (1ull << 20)

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v), put16(p + 2, (uint16_t)(v >> 16));
}

/* A bzImage of 4 setup sectors + 1 boot sector and 64 KiB of kernel. */
static uint8_t *bzimage(size_t *size, uint8_t relocatable, uint32_t align, uint32_t pref,
                        uint32_t init_size)
{
    uint8_t *img = calloc(1, 5 * 512 + 65536);
    img[0x1f1] = 4;
    put16(img + 0x1fe, 0xaa55);
    img[0x200] = 0xeb, img[0x201] = 0x6a; /* header up to 0x26c */
    memcpy(img + 0x202, "HdrS", 4);
    put16(img + 0x206, 0x020f);
    img[0x211] = 0x01; /* LOADED_HIGH */
    put32(img + 0x22c, 0x7fffffff);
    put32(img + 0x230, align);
    img[0x234] = relocatable;
    put16(img + 0x236, 0x1); /* XLF_KERNEL_64 */
    put32(img + 0x238, 2047);
    put32(img + 0x258, pref);
    put32(img + 0x260, init_size);
    *size = 5 * 512 + 65536;
    return img;
}

static void test_bzimage_where_it_asks(void **state)
{
    struct boot_image bi;
    char err[256];
    size_t size;
    uint8_t *img = bzimage(&size, 1, 2 * MIB, 16 * MIB, 4 * MIB);

    assert_int_equal(boot_image_parse(img, size, 64 * MIB, &bi, err, sizeof(err)), 0);
    assert_int_equal(bi.kind, BOOT_IMAGE_BZIMAGE);
    assert_int_equal(bi.load_addr, 16 * MIB); /* pref_address */
    assert_int_equal(bi.setup_size, 5 * 512);
    assert_int_equal(bi.kernel_size, 65536);
    assert_int_equal(bi.hi, 20 * MIB);
    /* Too little RAM at pref_address: relocatable goes low, aligned. */
    assert_int_equal(boot_image_parse(img, size, 16 * MIB, &bi, err, sizeof(err)), 0);
    assert_int_equal(bi.load_addr, 2 * MIB);
    /* Not relocatable: pref_address or nothing. */
    img[0x234] = 0;
    assert_int_equal(boot_image_parse(img, size, 16 * MIB, &bi, err, sizeof(err)), -ENOEXEC);
    assert_non_null(strstr(err, "the kernel needs 4096 KiB from 0x1000000"));
    free(img);
}

static void test_bzimage_refusals(void **state)
{
    struct boot_image bi;
    char err[256];
    size_t size;
    uint8_t *img = bzimage(&size, 1, 3 * MIB, 16 * MIB, 4 * MIB);

    assert_int_equal(boot_image_parse(img, size, 64 * MIB, &bi, err, sizeof(err)), -ENOEXEC);
    assert_non_null(strstr(err, "kernel_alignment 0x300000 is not a power of two"));
    put32(img + 0x230, 2 * MIB);
    put16(img + 0x206, 0x0206);
    assert_int_equal(boot_image_parse(img, size, 64 * MIB, &bi, err, sizeof(err)), -ENOEXEC);
    assert_non_null(strstr(err, "boot protocol 2.06 is older than 2.12"));
    put16(img + 0x206, 0x020f);
    assert_int_equal(boot_image_parse(img, 0x240, 64 * MIB, &bi, err, sizeof(err)), -ENOEXEC);
    assert_non_null(strstr(err, "truncated setup header"));
    put32(img + 0x258, 0xc0000000u);
    img[0x234] = 0;
    assert_int_equal(boot_image_parse(img, size, 64 * MIB, &bi, err, sizeof(err)), -ENOEXEC);
    assert_non_null(strstr(err, "overlaps the PCI hole"));
    assert_int_equal(boot_image_parse((const uint8_t *)"hello", 5, 64 * MIB, &bi, err, sizeof(err)),
                     -ENOEXEC);
    assert_non_null(strstr(err, "not a PVH ELF"));
    assert_non_null(strstr(err, "Linux bzImage"));
    free(img);
}

static void test_ramdisk_and_cmdline(void **state)
{
    struct boot_image bi;
    char err[256];
    size_t size;
    uint64_t gpa;
    uint8_t *img = bzimage(&size, 0, 2 * MIB, 1 * MIB, 1 * MIB);

    assert_int_equal(boot_image_parse(img, size, 64 * MIB, &bi, err, sizeof(err)), 0);
    /* At the top of RAM, page-aligned. */
    assert_int_equal(boot_ramdisk_place(&bi, 64 * MIB, 50001, &gpa, err, sizeof(err)), 0);
    assert_int_equal(gpa, 64 * MIB - 53248);
    /* Below initrd_addr_max (inclusive) when that is lower. */
    bi.initrd_max = 32 * MIB - 1;
    assert_int_equal(boot_ramdisk_place(&bi, 64 * MIB, 4096, &gpa, err, sizeof(err)), 0);
    assert_int_equal(gpa, 32 * MIB - 4096);
    /* Never over the kernel. */
    assert_int_equal(boot_ramdisk_place(&bi, 64 * MIB, 31 * MIB, &gpa, err, sizeof(err)), -E2BIG);
    assert_non_null(strstr(err, "do not fit"));
    assert_int_equal(boot_cmdline_check(&bi, 2047, err, sizeof(err)), 0);
    assert_int_equal(boot_cmdline_check(&bi, 2048, err, sizeof(err)), -E2BIG);
    free(img);
}

static void test_e820(void **state)
{
    struct boot_e820 map[BOOT_E820_MAX];
    unsigned n = boot_e820_map(64 * MIB, map);

    assert_int_equal(n, 6);
    assert_int_equal(map[3].addr, MIB);
    assert_int_equal(map[3].size, 63 * MIB);
    assert_int_equal(map[3].type, BOOT_E820_RAM);
    for (unsigned i = 1; i < n; i++)
        assert_true(map[i].addr >= map[i - 1].addr + map[i - 1].size);
    /* RAM never reaches into the PCI hole. */
    n = boot_e820_map(8192 * MIB, map);
    assert_int_equal(map[3].addr + map[3].size, BOOT_PCI_HOLE);
}

/* A table with leaf 1 and leaf 7.0, every feature bit set. */
static struct kvm_cpuid2 *table(void)
{
    struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 3 * sizeof(c->entries[0]));
    c->nent = 3;
    c->entries[0] = (struct kvm_cpuid_entry2){.function = 1, .ecx = ~0u, .edx = ~0u};
    c->entries[1] = (struct kvm_cpuid_entry2){.function = 7,
                                              .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
                                              .ebx = ~0u,
                                              .ecx = ~0u,
                                              .edx = ~0u};
    c->entries[2] = (struct kvm_cpuid_entry2){.function = 0xa, .eax = 0x07300402};
    return c;
}

static void test_cpuid_settings(void **state)
{
    struct cpuid_settings cs;
    struct kvm_cpuid2 *c = table();
    char err[256];

    assert_int_equal(cpuid_settings_parse("host,tm=0,sse4.2=0,avx2=0", &cs, err, sizeof(err)), 0);
    assert_int_equal(cs.n, 3);
    cpuid_restrict(c);
    assert_false(cpuid_feature_get(c, cpuid_feature_find("vmx"))); /* never for guests */
    assert_int_equal(c->entries[2].eax, 0);                        /* no PMU */
    assert_int_equal(cpuid_settings_apply(c, &cs, err, sizeof(err)), 0);
    assert_false(cpuid_feature_get(c, cpuid_feature_find("tm")));
    assert_false(cpuid_feature_get(c, cpuid_feature_find("sse4_2"))); /* the same bit */
    assert_false(cpuid_feature_get(c, cpuid_feature_find("avx2")));
    assert_true(cpuid_feature_get(c, cpuid_feature_find("sse4_1")));
    assert_int_equal(c->entries[0].ecx,
                     ~0u & ~(1u << 20) & ~(1u << 5) & ~(1u << 6) & ~(1u << 2) & ~(1u << 15));

    assert_int_equal(cpuid_settings_parse("host,sse9=0", &cs, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "cpuid: unknown feature \"sse9\" (the names are xl.cfg(5)'s)");
    assert_int_equal(cpuid_settings_parse("host,sse3=x", &cs, err, sizeof(err)), -EINVAL);
    assert_int_equal(cpuid_settings_parse("host,,sse3=0", &cs, err, sizeof(err)), -EINVAL);
    assert_int_equal(cpuid_settings_parse("host,sse3", &cs, err, sizeof(err)), -EINVAL);
    assert_int_equal(cpuid_settings_parse("host,vmx=1", &cs, err, sizeof(err)), 0);
    assert_int_equal(cpuid_settings_apply(c, &cs, err, sizeof(err)), -ENOTSUP);
    assert_non_null(strstr(err, "stubvisor does not give guests vmx"));
    free(c);
}

static void test_cpuid_restore_check(void **state)
{
    struct kvm_cpuid2 *host = table(), *saved = table();

    cpuid_restrict(host);
    cpuid_restrict(saved);
    assert_null(cpuid_missing(saved, host));
    cpuid_feature_set(host, cpuid_feature_find("avx2"), false);
    assert_string_equal(cpuid_missing(saved, host)->name, "avx2");
    cpuid_feature_set(saved, cpuid_feature_find("avx2"), false);
    assert_null(cpuid_missing(saved, host));
    /* What the guest switches itself does not count. */
    cpuid_feature_set(host, cpuid_feature_find("osxsave"), false);
    assert_null(cpuid_missing(saved, host));
    free(host);
    free(saved);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bzimage_where_it_asks), cmocka_unit_test(test_bzimage_refusals),
        cmocka_unit_test(test_ramdisk_and_cmdline),   cmocka_unit_test(test_e820),
        cmocka_unit_test(test_cpuid_settings),        cmocka_unit_test(test_cpuid_restore_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

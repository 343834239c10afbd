/* Unit tests for config_format: the text a save file keeps parses back to
 * the same domain, whatever bytes the strings hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/config.h"

static void parse_ok(const char *name, const char *text, size_t len, struct domain_config *cfg)
{
    struct config_error err;

    config_error_init(&err);
    if (config_parse_buffer(name, text, len, "/cfg", cfg, &err) < 0)
        fail_msg("parse of %s failed: %s\n%.*s", name, err.message, (int)len, text);
    config_error_dispose(&err);
}

static void assert_str_eq_or_null(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void assert_same(const struct domain_config *a, const struct domain_config *b)
{
    assert_string_equal(a->name, b->name);
    assert_memory_equal(a->uuid, b->uuid, 16);
    assert_int_equal(a->memory_mib, b->memory_mib);
    assert_int_equal(a->vcpus, b->vcpus);
    assert_str_eq_or_null(a->kernel, b->kernel);
    assert_str_eq_or_null(a->ramdisk, b->ramdisk);
    assert_str_eq_or_null(a->cmdline, b->cmdline);
    assert_str_eq_or_null(a->firmware, b->firmware);
    assert_int_equal(a->ndisks, b->ndisks);
    for (size_t i = 0; i < a->ndisks; i++) {
        assert_string_equal(a->disks[i].target, b->disks[i].target);
        assert_int_equal(a->disks[i].index, b->disks[i].index);
        assert_int_equal(a->disks[i].readonly, b->disks[i].readonly);
    }
    assert_int_equal(a->nvifs, b->nvifs);
    for (size_t i = 0; i < a->nvifs; i++) {
        const struct vif_spec *x = &a->vifs[i], *y = &b->vifs[i];
        assert_int_equal(x->mac_set, y->mac_set);
        if (x->mac_set)
            assert_memory_equal(x->mac, y->mac, 6);
        assert_int_equal(x->backend, y->backend);
        assert_str_eq_or_null(x->tap_name, y->tap_name);
        assert_str_eq_or_null(x->bridge, y->bridge);
        assert_str_eq_or_null(x->socket_path, y->socket_path);
        assert_int_equal(x->mtu, y->mtu);
    }
    assert_int_equal(a->nserials, b->nserials);
    for (size_t i = 0; i < a->nserials; i++) {
        assert_int_equal(a->serials[i].kind, b->serials[i].kind);
        assert_str_eq_or_null(a->serials[i].path, b->serials[i].path);
    }
    assert_int_equal(a->on_poweroff, b->on_poweroff);
    assert_int_equal(a->on_reboot, b->on_reboot);
    assert_int_equal(a->on_crash, b->on_crash);
    assert_int_equal(a->placement, b->placement);
    assert_int_equal(a->stubdomain_memory_mib, b->stubdomain_memory_mib);
}

/* Parse text, format it, parse the result: the same domain, and formatting
 * again gives the same text. */
static void round_trip(const char *text)
{
    struct domain_config a, b;
    char *t1 = NULL, *t2 = NULL;
    size_t l1, l2;

    parse_ok("in.cfg", text, strlen(text), &a);
    assert_int_equal(config_format(&a, &t1, &l1), 0);
    assert_int_equal(strlen(t1), l1);
    parse_ok("formatted", t1, l1, &b);
    assert_same(&a, &b);
    assert_int_equal(config_format(&b, &t2, &l2), 0);
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
    config_dispose(&a);
    config_dispose(&b);
}

static void test_minimal(void **state)
{
    (void)state;
    /* The generated UUID is written out, so it survives. */
    round_trip("name = \"web\"\nkernel = \"k.elf\"\n");
}

static void test_every_key(void **state)
{
    (void)state;
    round_trip("name = \"web-1.x\"\nuuid = \"12345678-9abc-4def-8123-456789ABCDEF\"\n"
               "memory = 512\nvcpus = 3\nkernel = \"/boot/k.elf\"\nramdisk = \"initrd\"\n"
               "root = \"/dev/xvda\"\nextra = \"quiet\"\n"
               "disk = [ '/srv/a.img,raw,xvda,rw', 'format=raw, vdev=hdc, access=ro, "
               "target=/srv/with, comma.img', 'format=raw, vdev=xvdb, target=/srv/k=v.img' ]\n"
               "vif = [ 'mac=00:16:3e:01:02:03, backend=socket:/run/sw.sock, mtu=9000', "
               "'bridge=br0, vifname=tap7', 'model=virtio' ]\n"
               "serial = [ 'file:/var/log/c.log', 'null', 'pty' ]\n"
               "on_poweroff = \"restart\"\non_reboot = \"destroy\"\non_crash = \"preserve\"\n"
               "device_model_placement = \"process\"\nstubdomain_memory = 32\n");
}

static void test_firmware_inline_no_serial(void **state)
{
    (void)state;
    round_trip("name = \"fw\"\nfirmware = \"seabios\"\nserial = []\n"
               "device_model_placement = \"inline\"\n");
}

static void test_hostile_strings(void **state)
{
    (void)state;
    /* Quotes, backslashes, control bytes, high bytes in the command line. */
    round_trip("name = \"h\"\nkernel = \"/k\"\n"
               "cmdline = \"a \\\"b\\\" c\\\\d \\x01\\t\\x7f \\xc3\\xa9 ' # ; ]\"\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_firmware_inline_no_serial),
        cmocka_unit_test(test_hostile_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for the config parser: configs that must be refused.  Each
 * checks the exact file, line and key of the error, the message, and that
 * nothing was produced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/config.h"

/* Parse `len` bytes that must fail with -EINVAL at web.cfg:LINE in KEY
 * (line 0 and key "" when the error has none) with exactly `message`. */
static void expect_error_len(const char *text, size_t len, unsigned line, const char *key,
                             const char *message)
{
    static const struct domain_config zero;
    struct domain_config cfg;
    struct config_error err;
    char prefix[128];

    config_error_init(&err);
    memset(&cfg, 0xa5, sizeof(cfg)); /* whatever was there is overwritten */
    int rc = config_parse_buffer("web.cfg", text, len, "/cfg", &cfg, &err);
    if (rc != -EINVAL)
        fail_msg("expected -EINVAL, got %d (%s) for:\n%s", rc, err.message, text);
    /* Nothing half-built is left behind. */
    assert_memory_equal(&cfg, &zero, sizeof(cfg));
    assert_string_equal(err.file, "web.cfg");
    assert_int_equal(err.line, line);
    assert_string_equal(err.key, key);
    if (line && key[0])
        snprintf(prefix, sizeof(prefix), "web.cfg:%u: %s: ", line, key);
    else if (line)
        snprintf(prefix, sizeof(prefix), "web.cfg:%u: ", line);
    else
        snprintf(prefix, sizeof(prefix), "web.cfg: %s: ", key);
    if (strncmp(err.message, prefix, strlen(prefix)) != 0)
        fail_msg("message \"%s\" does not start with \"%s\"", err.message, prefix);
    if (message)
        assert_string_equal(err.message + strlen(prefix), message);
    config_dispose(&cfg);
    config_error_dispose(&err);
}

static void expect_error(const char *text, unsigned line, const char *key, const char *message)
{
    expect_error_len(text, strlen(text), line, key, message);
}

#define BASE "name = \"web\"\nkernel = \"k.elf\"\n"

static void test_syntax_errors(void **state)
{
    expect_error("name \"web\"\n", 1, "name", "expected '=' after the key, got '\"'");
    expect_error(BASE "memory 256\n", 3, "memory", "expected '=' after the key, got '256'");
    expect_error("name = \"web\nkernel = 'k'\n", 1, "name", "unterminated string: no closing \"");
    expect_error(BASE "cmdline = 'abc\n", 3, "cmdline", "unterminated string: no closing '");
    expect_error(BASE "disk = [ 'a.img,,xvda',\n 'b.img,,xvdb'\n", 3, "disk",
                 "unterminated list: no ']'");
    /* An unterminated list runs into the next statement. */
    expect_error(BASE "disk = [ 'a.img,,xvda'\nmemory = 5\n", 4, "disk",
                 "expected ',' or ']' in the list opened on line 3, got 'memory'");
    expect_error(BASE "memory =\n", 3, "memory", "missing value after '='");
    expect_error(BASE "= 5\n", 3, "", "expected a key, got '='");
    expect_error(BASE "memory = 5 6\n", 3, "memory",
                 "expected the end of the line or ';' after the value, got '6'");
    expect_error(BASE "disk = [ ['a'] ]\n", 3, "disk", "lists inside lists are not supported");
    expect_error(BASE "cmdline = 'a\\qb'\n", 3, "cmdline", "unknown escape \\q in a string");
    expect_error(BASE "cmdline = 'a\\x0'\n", 3, "cmdline", "\\x in a string needs two hex digits");
    expect_error(BASE "cmdline = 'a\\0b'\n", 3, "cmdline",
                 "a NUL byte (\\0) is not allowed in a string");
    expect_error_len(BASE "cmdline = 'a\0b'\n", sizeof(BASE "cmdline = 'a\0b'\n") - 1, 3, "cmdline",
                     "a NUL byte is not allowed in a string");
    expect_error_len(BASE "\0", sizeof(BASE), 3, "", "expected a key, got byte 0x00");
    expect_error(BASE "memory += 5\nmemory += 6\n", 4, "memory", "can't use += with numbers");
    expect_error(BASE "disk = ['a,,xvda']\ndisk += 'b,,xvdb'\n", 4, "disk",
                 "+= needs a value of the same kind as before: a list to a list, a string to a "
                 "string");
}

static void test_limits(void **state)
{
    /* A line over the limit. */
    size_t n = 9000;
    char *text = malloc(n + 64);
    assert_non_null(text);
    int k = snprintf(text, n + 64, BASE "cmdline = '");
    memset(text + k, 'a', n);
    strcpy(text + k + n, "'\n");
    expect_error(text, 3, "", "line longer than 8192 bytes");

    /* A string over the limit, in lines under it. */
    k = snprintf(text, n + 64, BASE "cmdline = '");
    memset(text + k, 'a', 4097);
    strcpy(text + k + 4097, "'\n");
    expect_error(text, 3, "cmdline", "string longer than 4096 bytes");
    free(text);

    /* A list over the limit. */
    char list[1024] = BASE "serial = [";
    for (int i = 0; i < 65; i++)
        strcat(list, "'pty',");
    strcat(list, "]\n");
    expect_error(list, 3, "serial", "list has more than 64 entries");
    expect_error(BASE "serial = ['pty','pty','pty','pty','pty']\n", 3, "serial",
                 "more than 4 serial ports");

    /* Over the size limit: -EFBIG, not -EINVAL. */
    struct domain_config cfg;
    struct config_error err;
    config_error_init(&err);
    assert_int_equal(config_parse_buffer("web.cfg", "", CONFIG_MAX_FILE_SIZE + 1, NULL, &cfg, &err),
                     -EFBIG);
    assert_null(cfg.name);
    config_error_dispose(&err);
}

static void test_number_errors(void **state)
{
    expect_error(BASE "memory = \"lots\"\n", 3, "memory", "expected a number of MiB, got \"lots\"");
    expect_error(BASE "memory = lots\n", 3, "memory", "expected a number of MiB, got \"lots\"");
    expect_error(BASE "memory = 256M\n", 3, "memory", "expected a number of MiB, got \"256M\"");
    expect_error(BASE "memory = 8\n", 3, "memory",
                 "\"8\" is out of range: expected 16 to 1048576 MiB");
    expect_error(BASE "memory = 1048577\n", 3, "memory",
                 "\"1048577\" is out of range: expected 16 to 1048576 MiB");
    expect_error(BASE "memory = 99999999999999999999999\n", 3, "memory",
                 "\"99999999999999999999999\" is out of range: expected 16 to 1048576 MiB");
    expect_error(BASE "memory = 0256\n", 3, "memory", "expected a number of MiB, got \"0256\"");
    expect_error(BASE "memory = [ '256' ]\n", 3, "memory", "expected a single value, not a list");
    expect_error(BASE "vcpus = -1\n", 3, "vcpus", "expected a number of vCPUs, got \"-1\"");
    expect_error(BASE "vcpus = 0\n", 3, "vcpus", "\"0\" is out of range: expected 1 to 128 vCPUs");
    expect_error(BASE "vcpus = 129\n", 3, "vcpus",
                 "\"129\" is out of range: expected 1 to 128 vCPUs");
    expect_error(BASE "stubdomain_memory = 1.5\n", 3, "stubdomain_memory",
                 "expected a number of MiB, got \"1.5\"");
    expect_error(BASE "virtio_console = 2\n", 3, "virtio_console", "expected 1 or 0, got \"2\"");
    expect_error(BASE "virtio_rng = 'yes'\n", 3, "virtio_rng", "expected 1 or 0, got \"yes\"");
}

static void test_uuid_errors(void **state)
{
    expect_error(BASE "uuid = 'not-a-uuid'\n", 3, "uuid",
                 "bad UUID \"not-a-uuid\": expected 8-4-4-4-12 hex digits, as in "
                 "6f8c1e0a-5b2d-4c7e-9a10-3d2f4b5c6e7f");
    expect_error(BASE "uuid = '6f8c1e0a-5b2d-4c7e-9a10-3d2f4b5c6e7g'\n", 3, "uuid", NULL);
    expect_error(BASE "uuid = '6f8c1e0a5b2d-4c7e-9a10-3d2f4b5c6e7f0'\n", 3, "uuid", NULL);
    expect_error(BASE "uuid = '00000000-0000-0000-0000-000000000000'\n", 3, "uuid",
                 "the nil UUID is not a domain's UUID");
}

static void test_action_errors(void **state)
{
    expect_error(BASE "on_crash = 'explode'\n", 3, "on_crash",
                 "unknown action \"explode\": expected destroy, restart or preserve");
    expect_error(BASE "on_reboot = 'rename-restart'\n", 3, "on_reboot",
                 "rename-restart is not supported: expected destroy, restart or preserve");
    expect_error(BASE "on_poweroff = destroy\n", 3, "on_poweroff",
                 "unquoted word destroy: strings must be in quotes, as in on_poweroff = "
                 "\"destroy\"");
}

static void test_disk_errors(void **state)
{
    expect_error(BASE "disk = [ 'format=raw,vdev=xvda' ]\n", 3, "disk",
                 "no target: give the image or device, as in '/srv/disk.img,raw,xvda,rw'");
    expect_error(BASE "disk = [ '/srv/a.qcow2,qcow2,xvda,rw' ]\n", 3, "disk",
                 "format \"qcow2\" is not supported, only raw images are (qemu-img convert -O "
                 "raw makes one)");
    expect_error(BASE "disk = [ 'qcow2:/srv/a.qcow2,xvda,w' ]\n", 3, "disk", NULL);
    expect_error(BASE "disk = [ '/srv/a.img,raw,xvda,rx' ]\n", 3, "disk",
                 "bad access mode \"rx\": expected rw, w, ro or r");
    expect_error(BASE "disk = [ '/srv/a.img,raw' ]\n", 3, "disk",
                 "no vdev: name the disk as the guest sees it, e.g. xvda");
    expect_error(BASE "disk = [ '/srv/a.img,raw,xvda1' ]\n", 3, "disk",
                 "vdev \"xvda1\" names a partition; name the whole disk");
    expect_error(BASE "disk = [ '/srv/a.img,raw,nvme0' ]\n", 3, "disk",
                 "bad vdev \"nvme0\": expected xvdX, hdX, sdX or vdX (X = a..z or aa..zz)");
    expect_error(BASE "disk = [ '/srv/a.iso,raw,hdc,cdrom' ]\n", 3, "disk",
                 "CD-ROM drives are not supported");
    expect_error(BASE "disk = [ '/srv/a.iso,raw,hdc:cdrom,r' ]\n", 3, "disk",
                 "CD-ROM drives are not supported");
    expect_error(BASE "disk = [ '/srv/a.img,raw,xvda,rw,extra' ]\n", 3, "disk",
                 "too many parameters: expected at most target, format, vdev, access");
    expect_error(BASE "disk = [ 'colour=red,/srv/a.img,raw,xvda' ]\n", 3, "disk",
                 "unknown disk parameter \"colour\"");
    /* A duplicate is reported at its own line. */
    expect_error(BASE "disk = [ '/srv/a.img,raw,xvda,rw',\n"
                      "         '/srv/b.img,raw,xvdb,rw',\n"
                      "         '/srv/c.img,raw,xvda,rw' ]\n",
                 5, "disk", "vdev xvda is given twice");
    expect_error(BASE "disk = [ '/srv/a.img,raw,xvda,rw', '/srv/b.img,raw,hda,rw' ]\n", 3, "disk",
                 "vdev hda is the same disk as xvda (disk 0)");
    expect_error(BASE "disk = [ 'a.img,,xvda', 5 ]\n", 3, "disk", NULL);
}

static void test_vif_errors(void **state)
{
    expect_error(BASE "vif = [ 'mac=00:16:3e:zz:00:01' ]\n", 3, "vif",
                 "bad MAC address \"00:16:3e:zz:00:01\": expected six hex pairs like "
                 "00:16:3e:12:34:56");
    expect_error(BASE "vif = [ 'mac=00:16:3e:00:01' ]\n", 3, "vif", NULL);
    expect_error(BASE "vif = [ 'mac=00:16:3e:00:01:02:03' ]\n", 3, "vif", NULL);
    expect_error(BASE "vif = [ 'mac=01:00:5e:00:00:01' ]\n", 3, "vif",
                 "MAC address \"01:00:5e:00:00:01\" is a multicast address");
    expect_error(BASE "vif = [ 'model=e1000' ]\n", 3, "vif",
                 "model \"e1000\" is not supported: only virtio-net is");
    expect_error(BASE "vif = [ 'backend=socket:/run/x.sock,bridge=br0' ]\n", 3, "vif",
                 "bridge only applies to a tap back end");
    expect_error(BASE "vif = [ 'backend=dom1' ]\n", 3, "vif",
                 "bad backend \"dom1\": expected tap, tap:NAME, socket:PATH or none");
    expect_error(BASE "vif = [ 'bridge' ]\n", 3, "vif", "expected KEY=VALUE, got \"bridge\"");
    expect_error(BASE "vif = [ 'mac=00:16:3e:00:00:01', 'mac=00:16:3e:00:00:01' ]\n", 3, "vif",
                 "two interfaces have the same MAC address");
    expect_error(BASE "vif = [ 'mtu=10' ]\n", 3, "vif",
                 "bad mtu \"10\": expected a number from 68 to 65535");
    expect_error(BASE "vif = [ 'backend=socket:/run/x.sock,script=vif-bridge' ]\n", 3, "vif",
                 "script only applies to a tap back end");
    expect_error(BASE "vif = [ 'script=' ]\n", 3, "vif", "empty script");
    expect_error(BASE "vif = [ 'script=a,script=b' ]\n", 3, "vif", "script given twice");
}

static void test_placement_errors(void **state)
{
    expect_error(BASE "device_model_stubdomain_override = 1\n"
                      "device_model_placement = 'process'\n",
                 4, "device_model_placement",
                 "device_model_stubdomain_override = 1 and device_model_placement = "
                 "\"process\" disagree (the other is on line 3)");
    expect_error(BASE "device_model_placement = 'vm'\n", 3, "device_model_placement",
                 "unknown placement \"vm\": expected stubdom, process or inline");
    expect_error(BASE "device_model_stubdomain_override = 2\n", 3,
                 "device_model_stubdomain_override",
                 "expected 1 (stub domain) or 0 (process), got \"2\"");
}

static void test_name_errors(void **state)
{
    expect_error("name = 'web server'\nkernel = 'k'\n", 1, "name",
                 "\"web server\" has a character other than A-Z a-z 0-9 _ . -");
    expect_error("name = 'web/1'\nkernel = 'k'\n", 1, "name", NULL);
    expect_error("name = 'Domain-0'\nkernel = 'k'\n", 1, "name",
                 "Domain-0 is the name of the control domain");
    expect_error("name = 'web-dm'\nkernel = 'k'\n", 1, "name",
                 "names ending in -dm are reserved for device-model stub domains");
    expect_error("name = ''\nkernel = 'k'\n", 1, "name", "empty name");
    expect_error("name = '1234'\nkernel = 'k'\n", 1, "name",
                 "\"1234\" is a number, which would read as a domain id");
    expect_error("name = '..'\nkernel = 'k'\n", 1, "name", "a name may not start with '.'");
    expect_error(
        "name = "
        "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'\nkernel='k'\n",
        1, "name", "name longer than 64 characters");
    expect_error("kernel = 'k'\n", 0, "name", "missing: every domain needs a name");
}

static void test_boot_errors(void **state)
{
    expect_error("name = 'web'\nmemory = 256\n", 0, "kernel",
                 "no kernel or firmware: give one, e.g. kernel = \"guest.elf\" or firmware = "
                 "\"seabios\"");
    expect_error(BASE "firmware = 'seabios'\n", 3, "firmware",
                 "give kernel or firmware, not both (kernel is on line 2)");
    expect_error("name = 'w'\nfirmware = 'seabios'\nbios = 'seabios'\n", 3, "bios",
                 "give firmware or bios, not both (firmware is on line 2)");
    expect_error("name = 'w'\nbios = 'ovmf'\n", 2, "bios",
                 "bios \"ovmf\" is not supported: only seabios is");
    expect_error(BASE "kernel = ''\n", 3, "kernel", NULL);
    expect_error(BASE "type = 'pv'\n", 3, "type", "PV guests are not supported: use hvm or pvh");
    expect_error("name = 'w'\nfirmware = 'seabios'\ntype = 'pvh'\n", 3, "type",
                 "a pvh guest needs a kernel");
    expect_error(BASE "serial = 'tcp:localhost:4555'\n", 3, "serial",
                 "serial \"tcp:localhost:4555\" is not supported: expected pty, file:PATH or null");
}

/* The first bad line is the one reported, whatever the keys. */
static void test_first_error_wins(void **state)
{
    expect_error("vcpus = 0\nname = 'Domain-0'\nkernel = 'k'\n", 1, "vcpus", NULL);
    expect_error("name = 'Domain-0'\nvcpus = 0\nkernel = 'k'\n", 1, "name", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syntax_errors),    cmocka_unit_test(test_limits),
        cmocka_unit_test(test_number_errors),    cmocka_unit_test(test_uuid_errors),
        cmocka_unit_test(test_action_errors),    cmocka_unit_test(test_disk_errors),
        cmocka_unit_test(test_vif_errors),       cmocka_unit_test(test_placement_errors),
        cmocka_unit_test(test_name_errors),      cmocka_unit_test(test_boot_errors),
        cmocka_unit_test(test_first_error_wins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for the config parser: configs that must parse, and what they
 * parse to (keys, defaults, syntax variants, overrides, files). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl/config.h"

/* Parse a config that must be good; the base directory is /cfg. */
static void parse_ok(const char *text, struct domain_config *cfg, struct config_error *err)
{
    config_error_init(err);
    int rc = config_parse_buffer("web.cfg", text, strlen(text), "/cfg", cfg, err);
    if (rc)
        fail_msg("parse failed: %s", err->message);
}

static bool has_warning(const struct config_error *err, const char *text)
{
    for (size_t i = 0; i < err->nwarnings; i++)
        if (strcmp(err->warnings[i], text) == 0)
            return true;
    return false;
}

static void dispose(struct domain_config *cfg, struct config_error *err)
{
    config_dispose(cfg);
    config_error_dispose(err);
}

#define BASE "name = \"web\"\nkernel = \"k.elf\"\n"

static void test_defaults(void **state)
{
    struct domain_config cfg;
    struct config_error err;
    parse_ok(BASE, &cfg, &err);
    assert_string_equal(cfg.name, "web");
    assert_string_equal(cfg.kernel, "/cfg/k.elf");
    assert_null(cfg.firmware);
    assert_null(cfg.ramdisk);
    assert_null(cfg.cmdline);
    assert_int_equal(cfg.memory_mib, 128);
    assert_int_equal(cfg.vcpus, 1);
    assert_int_equal(cfg.placement, PLACEMENT_STUBDOM);
    assert_int_equal(cfg.on_poweroff, ACTION_DESTROY);
    assert_int_equal(cfg.on_reboot, ACTION_RESTART);
    assert_int_equal(cfg.on_crash, ACTION_DESTROY);
    assert_int_equal(cfg.stubdomain_memory_mib, 64);
    assert_int_equal(cfg.ndisks, 0);
    assert_int_equal(cfg.nvifs, 0);
    assert_int_equal(cfg.nserials, 1);
    assert_int_equal(cfg.serials[0].kind, SERIAL_PTY);
    /* A generated UUID is random, version 4, RFC 4122 variant. */
    assert_false(cfg.uuid_set);
    assert_int_equal(cfg.uuid[6] >> 4, 4);
    assert_int_equal(cfg.uuid[8] >> 6, 2);
    assert_int_equal(err.nwarnings, 0);

    struct domain_config other;
    struct config_error err2;
    parse_ok(BASE, &other, &err2);
    assert_memory_not_equal(cfg.uuid, other.uuid, 16);
    dispose(&other, &err2);
    dispose(&cfg, &err);
}

static void test_every_key(void **state)
{
    static const char text[] = "name = 'db-2.prod'\n"
                               "uuid = \"6F8C1E0A-5b2d-4c7e-9a10-3d2f4b5c6e7f\"\n"
                               "memory = 2048\n"
                               "vcpus = 4\n"
                               "firmware = \"seabios\"\n"
                               "disk = [ '/srv/a.img,raw,xvda,rw' ]\n"
                               "vif = [ 'mac=00:16:3E:0a:0B:0c,bridge=xenbr0,model=virtio-net' ]\n"
                               "serial = 'file:/var/log/db.log'\n"
                               "on_poweroff = 'preserve'\n"
                               "on_reboot = 'destroy'\n"
                               "on_crash = 'restart'\n"
                               "device_model_stubdomain_override = 0\n"
                               "stubdomain_memory = 32\n";
    static const uint8_t uuid[16] = {0x6f, 0x8c, 0x1e, 0x0a, 0x5b, 0x2d, 0x4c, 0x7e,
                                     0x9a, 0x10, 0x3d, 0x2f, 0x4b, 0x5c, 0x6e, 0x7f};
    static const uint8_t mac[6] = {0x00, 0x16, 0x3e, 0x0a, 0x0b, 0x0c};
    struct domain_config cfg;
    struct config_error err;
    parse_ok(text, &cfg, &err);
    assert_string_equal(cfg.name, "db-2.prod");
    assert_true(cfg.uuid_set);
    assert_memory_equal(cfg.uuid, uuid, 16);
    char text_uuid[CONFIG_UUID_STRLEN];
    config_uuid_format(cfg.uuid, text_uuid);
    assert_string_equal(text_uuid, "6f8c1e0a-5b2d-4c7e-9a10-3d2f4b5c6e7f");
    assert_int_equal(cfg.memory_mib, 2048);
    assert_int_equal(cfg.vcpus, 4);
    assert_null(cfg.kernel);
    assert_string_equal(cfg.firmware, CONFIG_SEABIOS_PATH);
    assert_int_equal(cfg.ndisks, 1);
    assert_string_equal(cfg.disks[0].target, "/srv/a.img");
    assert_string_equal(cfg.disks[0].vdev, "xvda");
    assert_int_equal(cfg.disks[0].index, 0);
    assert_false(cfg.disks[0].readonly);
    assert_int_equal(cfg.nvifs, 1);
    assert_true(cfg.vifs[0].mac_set);
    assert_memory_equal(cfg.vifs[0].mac, mac, 6);
    assert_int_equal(cfg.vifs[0].backend, VIF_BACKEND_TAP);
    assert_string_equal(cfg.vifs[0].bridge, "xenbr0");
    assert_null(cfg.vifs[0].tap_name);
    assert_int_equal(cfg.nserials, 1);
    assert_int_equal(cfg.serials[0].kind, SERIAL_FILE);
    assert_string_equal(cfg.serials[0].path, "/var/log/db.log");
    assert_int_equal(cfg.on_poweroff, ACTION_PRESERVE);
    assert_int_equal(cfg.on_reboot, ACTION_DESTROY);
    assert_int_equal(cfg.on_crash, ACTION_RESTART);
    assert_int_equal(cfg.placement, PLACEMENT_PROCESS);
    assert_int_equal(cfg.stubdomain_memory_mib, 32);
    assert_int_equal(err.nwarnings, 0);
    dispose(&cfg, &err);
}

static void test_kernel_ramdisk_cmdline(void **state)
{
    struct domain_config cfg;
    struct config_error err;
    parse_ok("name='k'\nkernel='/boot/vmlinuz'\nramdisk='initrd.img'\ncmdline='console=ttyS0 "
             "quiet'\n",
             &cfg, &err);
    assert_string_equal(cfg.kernel, "/boot/vmlinuz");
    assert_string_equal(cfg.ramdisk, "/cfg/initrd.img");
    assert_string_equal(cfg.cmdline, "console=ttyS0 quiet");
    dispose(&cfg, &err);

    /* xl: root and extra make the command line when cmdline is absent... */
    parse_ok(BASE "root = '/dev/xvda1'\nextra = 'console=hvc0'\n", &cfg, &err);
    assert_string_equal(cfg.cmdline, "root=/dev/xvda1 console=hvc0");
    dispose(&cfg, &err);
    parse_ok(BASE "extra = 'console=hvc0'\n", &cfg, &err);
    assert_string_equal(cfg.cmdline, "console=hvc0");
    dispose(&cfg, &err);

    /* ...and are ignored, with a warning, when it is there. */
    parse_ok(BASE "cmdline = 'a'\nextra = 'b'\n", &cfg, &err);
    assert_string_equal(cfg.cmdline, "a");
    assert_true(has_warning(&err, "web.cfg:3: cmdline: root and extra are ignored in favour of "
                                  "cmdline"));
    dispose(&cfg, &err);

    /* Without a kernel they mean nothing. */
    parse_ok("name='f'\nfirmware='bios.bin'\ncmdline='x'\n", &cfg, &err);
    assert_null(cfg.cmdline);
    assert_string_equal(cfg.firmware, "/cfg/bios.bin");
    assert_true(has_warning(&err, "web.cfg:3: cmdline: ignored without kernel"));
    dispose(&cfg, &err);
}

static void test_syntax_variants(void **state)
{
    static const char text[] = "# a comment line\n"
                               "\n"
                               "   name='web'   # trailing comment with 'quotes' and = signs\n"
                               "kernel = \"path # not a comment\"; memory=256 ;vcpus = 2\r\n"
                               "cmdline = 'it\\'s \\\"quoted\\\" \\x41\\102\\t'\n"
                               ";;\n"
                               "on_crash = \"preserve\"";
    struct domain_config cfg;
    struct config_error err;
    parse_ok(text, &cfg, &err);
    assert_string_equal(cfg.name, "web");
    assert_string_equal(cfg.kernel, "/cfg/path # not a comment");
    assert_int_equal(cfg.memory_mib, 256);
    assert_int_equal(cfg.vcpus, 2);
    assert_string_equal(cfg.cmdline, "it's \"quoted\" AB\t");
    assert_int_equal(cfg.on_crash, ACTION_PRESERVE);
    dispose(&cfg, &err);

    /* Numbers: hex, and quoted numbers as xl takes them. */
    parse_ok(BASE "memory = 0x100\nvcpus = \"3\"\n", &cfg, &err);
    assert_int_equal(cfg.memory_mib, 256);
    assert_int_equal(cfg.vcpus, 3);
    dispose(&cfg, &err);
}

static void test_multiline_lists(void **state)
{
    static const char text[] =
        BASE "disk = [\n"
             "    '/srv/a.img,raw,xvda,rw',   # system\n"
             "    # a comment between entries\n"
             "    \"format=raw, vdev=xvdb, access=ro, target=/srv/b,c.img\"\n"
             "    ,\n"
             "    'data.img,,hdc',\n"
             "]\n"
             "vif = []\n";
    struct domain_config cfg;
    struct config_error err;
    parse_ok(text, &cfg, &err);
    assert_int_equal(cfg.ndisks, 3);
    assert_string_equal(cfg.disks[1].target, "/srv/b,c.img");
    assert_string_equal(cfg.disks[1].vdev, "xvdb");
    assert_int_equal(cfg.disks[1].index, 1);
    assert_true(cfg.disks[1].readonly);
    assert_string_equal(cfg.disks[2].target, "/cfg/data.img");
    assert_int_equal(cfg.disks[2].index, 2);
    assert_false(cfg.disks[2].readonly);
    assert_int_equal(cfg.nvifs, 0);
    dispose(&cfg, &err);
}

static void test_disk_forms(void **state)
{
    static const char text[] = BASE "disk = [ 'raw:/dev/vg/a,xvda,w',\n"
                                    "         'phy:/dev/vg/b,hdb,r',\n"
                                    "         '/srv/c.img,,sdc',\n"
                                    "         'vdev=vdd, target=/srv/d.img',\n"
                                    "         '/srv/e.img,raw,xvdaa,ro,discard',\n"
                                    "         'access=r,/srv/f.img,raw,xvdf:disk' ]\n";
    struct domain_config cfg;
    struct config_error err;
    parse_ok(text, &cfg, &err);
    assert_int_equal(cfg.ndisks, 6);
    assert_string_equal(cfg.disks[0].target, "/dev/vg/a");
    assert_false(cfg.disks[0].readonly);
    assert_string_equal(cfg.disks[1].target, "/dev/vg/b");
    assert_int_equal(cfg.disks[1].index, 1);
    assert_true(cfg.disks[1].readonly);
    assert_int_equal(cfg.disks[2].index, 2);
    assert_string_equal(cfg.disks[3].vdev, "vdd");
    assert_int_equal(cfg.disks[3].index, 3);
    assert_int_equal(cfg.disks[4].index, 26);
    assert_true(cfg.disks[4].readonly);
    assert_true(has_warning(&err, "web.cfg:7: disk: flag discard is ignored"));
    assert_string_equal(cfg.disks[5].target, "/srv/f.img");
    assert_string_equal(cfg.disks[5].vdev, "xvdf");
    assert_true(cfg.disks[5].readonly);
    dispose(&cfg, &err);
}

static void test_vif_forms(void **state)
{
    static const char text[] =
        BASE "vif = [ 'mac=02:00:00:00:00:01',\n"
             "        'backend=socket:run/net.sock, mtu=9000',\n"
             "        'vifname=vm0,bridge=br0,type=ioemu,script=vif-bridge',\n"
             "        'backend=tap:vm1,ip=10.0.0.2,colour=blue' ]\n";
    struct domain_config cfg;
    struct config_error err;
    parse_ok(text, &cfg, &err);
    assert_int_equal(cfg.nvifs, 4);
    /* xl's default: a tap on xenbr0, plugged in by the toolstack. */
    assert_int_equal(cfg.vifs[0].backend, VIF_BACKEND_TAP);
    assert_string_equal(cfg.vifs[0].bridge, "xenbr0");
    assert_null(cfg.vifs[0].tap_name);
    assert_null(cfg.vifs[0].script);
    assert_true(cfg.vifs[0].mac_set);
    assert_int_equal(cfg.vifs[1].backend, VIF_BACKEND_SOCKET);
    assert_string_equal(cfg.vifs[1].socket_path, "/cfg/run/net.sock");
    assert_int_equal(cfg.vifs[1].mtu, 9000);
    assert_false(cfg.vifs[1].mac_set);
    assert_int_equal(cfg.vifs[2].backend, VIF_BACKEND_TAP);
    assert_string_equal(cfg.vifs[2].tap_name, "vm0");
    assert_string_equal(cfg.vifs[2].bridge, "br0");
    /* A bare script name is an installed script, as in Xen's script dir. */
    assert_string_equal(cfg.vifs[2].script, CONFIG_SCRIPT_DIR "/vif-bridge");
    /* backend=tap:NAME alone: the tap as it is, on no bridge. */
    assert_int_equal(cfg.vifs[3].backend, VIF_BACKEND_TAP);
    assert_string_equal(cfg.vifs[3].tap_name, "vm1");
    assert_null(cfg.vifs[3].bridge);
    assert_true(has_warning(&err, "web.cfg:6: vif: ip= is not supported, ignored"));
    assert_true(has_warning(&err, "web.cfg:6: vif: unknown vif parameter \"colour\", ignored"));
    dispose(&cfg, &err);
}

/* xl's vif forms: with no back end a tap on xenbr0 (or bridge=), made by
 * the toolstack; script= with or without a path. */
static void test_vif_bridged(void **state)
{
    static const char text[] = BASE "vif = [ '', 'bridge=br1, vifname=web0',\n"
                                    "        'script=hooks/up, mac=00:16:3e:00:00:07',\n"
                                    "        'backend=tap:t1, script=vif-custom' ]\n";
    struct domain_config cfg;
    struct config_error err;
    parse_ok(text, &cfg, &err);
    assert_int_equal(cfg.nvifs, 4);
    for (size_t i = 0; i < cfg.nvifs; i++)
        assert_int_equal(cfg.vifs[i].backend, VIF_BACKEND_TAP);
    assert_string_equal(cfg.vifs[0].bridge, "xenbr0");
    assert_null(cfg.vifs[0].tap_name);
    assert_string_equal(cfg.vifs[1].bridge, "br1");
    assert_string_equal(cfg.vifs[1].tap_name, "web0");
    assert_string_equal(cfg.vifs[2].bridge, "xenbr0");
    assert_string_equal(cfg.vifs[2].script, "/cfg/hooks/up");
    /* A script makes even backend=tap:NAME a tap the toolstack plugs in. */
    assert_string_equal(cfg.vifs[3].tap_name, "t1");
    assert_string_equal(cfg.vifs[3].bridge, "xenbr0");
    assert_string_equal(cfg.vifs[3].script, CONFIG_SCRIPT_DIR "/vif-custom");
    assert_int_equal(err.nwarnings, 0);
    dispose(&cfg, &err);
    /* backend=tap without a name is the default too. */
    parse_ok(BASE "vif = [ 'backend=tap' ]\n", &cfg, &err);
    assert_string_equal(cfg.vifs[0].bridge, "xenbr0");
    dispose(&cfg, &err);
}

static void test_serial_forms(void **state)
{
    struct domain_config cfg;
    struct config_error err;
    parse_ok(BASE "serial = [ 'pty', 'file:com2.log', 'null' ]\n", &cfg, &err);
    assert_int_equal(cfg.nserials, 3);
    assert_int_equal(cfg.serials[0].kind, SERIAL_PTY);
    assert_int_equal(cfg.serials[1].kind, SERIAL_FILE);
    assert_string_equal(cfg.serials[1].path, "/cfg/com2.log");
    assert_int_equal(cfg.serials[2].kind, SERIAL_NULL);
    dispose(&cfg, &err);

    parse_ok(BASE "serial = []\n", &cfg, &err);
    assert_int_equal(cfg.nserials, 0);
    assert_null(cfg.serials);
    assert_false(cfg.virtio_console);
    assert_false(cfg.virtio_rng);
    dispose(&cfg, &err);

    parse_ok(BASE "virtio_console = 1\nvirtio_rng = 1\n", &cfg, &err);
    assert_true(cfg.virtio_console);
    assert_true(cfg.virtio_rng);
    assert_int_equal(err.nwarnings, 0);
    dispose(&cfg, &err);
    parse_ok(BASE "virtio_console = 1\nvirtio_console = 0\n", &cfg, &err);
    assert_false(cfg.virtio_console);
    dispose(&cfg, &err);
}

static void test_placement(void **state)
{
    struct domain_config cfg;
    struct config_error err;
    parse_ok(BASE "device_model_stubdomain_override = 1\n", &cfg, &err);
    assert_int_equal(cfg.placement, PLACEMENT_STUBDOM);
    dispose(&cfg, &err);
    parse_ok(BASE "device_model_placement = 'inline'\n", &cfg, &err);
    assert_int_equal(cfg.placement, PLACEMENT_INLINE);
    dispose(&cfg, &err);
    /* Both, agreeing, is fine. */
    parse_ok(BASE "device_model_stubdomain_override = 0\ndevice_model_placement = 'process'\n",
             &cfg, &err);
    assert_int_equal(cfg.placement, PLACEMENT_PROCESS);
    dispose(&cfg, &err);
}

static void test_firmware_and_type(void **state)
{
    struct domain_config cfg;
    struct config_error err;
    parse_ok("name='w'\nbios='seabios'\ntype='hvm'\n", &cfg, &err);
    assert_string_equal(cfg.firmware, CONFIG_SEABIOS_PATH);
    dispose(&cfg, &err);
    parse_ok("name='w'\nfirmware='/opt/fw.bin'\nbuilder='hvm'\n", &cfg, &err);
    assert_string_equal(cfg.firmware, "/opt/fw.bin");
    dispose(&cfg, &err);
    parse_ok(BASE "type='pvh'\n", &cfg, &err);
    dispose(&cfg, &err);
}

/* xl: the last assignment wins.  Within one file it is likely a slip, so it
 * is also a warning that names both lines. */
static void test_duplicate_key_last_wins(void **state)
{
    struct domain_config cfg;
    struct config_error err;
    parse_ok(BASE "memory = 256\nvcpus = 2\nmemory = 512\n", &cfg, &err);
    assert_int_equal(cfg.memory_mib, 512);
    assert_int_equal(err.nwarnings, 1);
    assert_string_equal(err.warnings[0], "web.cfg:5: memory: set again; the value on line 3 is "
                                         "ignored (the last one wins)");
    dispose(&cfg, &err);
}

static void test_append(void **state)
{
    struct domain_config cfg;
    struct config_error err;
    parse_ok(BASE "disk = ['a.img,,xvda']\ndisk += ['b.img,,xvdb']\n"
                  "cmdline = 'console=ttyS0'\ncmdline += ' quiet'\nserial += ['null']\n",
             &cfg, &err);
    assert_int_equal(cfg.ndisks, 2);
    assert_string_equal(cfg.disks[1].target, "/cfg/b.img");
    assert_string_equal(cfg.cmdline, "console=ttyS0 quiet");
    /* += with nothing before is a plain assignment. */
    assert_int_equal(cfg.nserials, 1);
    assert_int_equal(cfg.serials[0].kind, SERIAL_NULL);
    assert_int_equal(err.nwarnings, 0);
    dispose(&cfg, &err);
}

static void test_unknown_key_warns(void **state)
{
    struct domain_config cfg;
    struct config_error err;
    parse_ok(BASE "frobnicate = 'yes'\nacpi = 1\nvnc = 1\n", &cfg, &err);
    assert_string_equal(cfg.name, "web");
    assert_int_equal(err.nwarnings, 3);
    assert_string_equal(err.warnings[0], "web.cfg:3: frobnicate: unknown key, ignored");
    assert_string_equal(err.warnings[1], "web.cfg:4: acpi: not supported by stubvisor, ignored");
    assert_string_equal(err.warnings[2], "web.cfg:5: vnc: not supported by stubvisor, ignored");
    /* A warning never fills the error. */
    assert_string_equal(err.message, "");
    dispose(&cfg, &err);
}

static void test_warnings_bounded(void **state)
{
    struct domain_config cfg;
    struct config_error err;
    char text[4096] = BASE;
    for (int i = 0; i < 200; i++)
        strcat(text, "memory = 256\n");
    parse_ok(text, &cfg, &err);
    assert_int_equal(err.nwarnings, CONFIG_MAX_WARNINGS + 1);
    assert_string_equal(err.warnings[CONFIG_MAX_WARNINGS], "(more warnings not shown)");
    dispose(&cfg, &err);
}

static void test_overrides(void **state)
{
    struct domain_config cfg;
    struct config_error err;
    char cwd[PATH_MAX], expect[PATH_MAX + 16];
    assert_non_null(getcwd(cwd, sizeof(cwd)));

    parse_ok(BASE "memory = 512\ndisk = ['a.img,,xvda']\n", &cfg, &err);
    uint8_t uuid[16];
    memcpy(uuid, cfg.uuid, 16);

    assert_int_equal(config_apply_override(&cfg, "memory=256", &err), 0);
    assert_int_equal(cfg.memory_mib, 256);
    assert_string_equal(cfg.name, "web");
    /* A generated UUID survives overrides. */
    assert_memory_equal(cfg.uuid, uuid, 16);

    /* Quoted as in the file, or with the quotes the shell took off. */
    assert_int_equal(config_apply_override(&cfg, "name=\"db\"", &err), 0);
    assert_string_equal(cfg.name, "db");
    assert_int_equal(config_apply_override(&cfg, "name=db2", &err), 0);
    assert_string_equal(cfg.name, "db2");
    assert_int_equal(config_apply_override(&cfg, "on_crash=preserve", &err), 0);
    assert_int_equal(cfg.on_crash, ACTION_PRESERVE);

    /* A list replaces the file's list; += adds to it.  Relative paths given
     * on the command line are relative to the current directory. */
    assert_int_equal(config_apply_override(&cfg, "disk=['/srv/x.img,raw,xvdb,ro']", &err), 0);
    assert_int_equal(cfg.ndisks, 1);
    assert_string_equal(cfg.disks[0].vdev, "xvdb");
    assert_int_equal(config_apply_override(&cfg, "disk += [ 'y.img,,xvdc' ]", &err), 0);
    assert_int_equal(cfg.ndisks, 2);
    snprintf(expect, sizeof(expect), "%s/y.img", cwd);
    assert_string_equal(cfg.disks[1].target, expect);

    /* Unquoted paths and specs from the shell are strings. */
    assert_int_equal(config_apply_override(&cfg, "kernel=/boot/other.elf", &err), 0);
    assert_string_equal(cfg.kernel, "/boot/other.elf");
    assert_int_equal(config_apply_override(&cfg, "cmdline=console=ttyS0 quiet", &err), 0);
    assert_string_equal(cfg.cmdline, "console=ttyS0 quiet");
    assert_int_equal(config_apply_override(&cfg, "vcpus=2; memory=1024", &err), 0);
    assert_int_equal(cfg.vcpus, 2);
    assert_int_equal(cfg.memory_mib, 1024);

    /* A bad override fails with a message and changes nothing. */
    assert_int_equal(config_apply_override(&cfg, "memory=lots", &err), -EINVAL);
    assert_string_equal(err.message,
                        "command line: memory: expected a number of MiB, got \"lots\"");
    assert_string_equal(err.key, "memory");
    assert_int_equal(err.line, 0);
    assert_int_equal(cfg.memory_mib, 1024);
    assert_int_equal(config_apply_override(&cfg, "vcpus", &err), -EINVAL);
    assert_string_equal(err.message,
                        "command line: vcpus: expected '=' after the key, got the end of the file");
    /* An override can create a conflict with the file, and say so. */
    assert_int_equal(config_apply_override(&cfg, "firmware='seabios'", &err), -EINVAL);
    assert_string_equal(err.message, "command line: firmware: give kernel or firmware, not both "
                                     "(kernel is on the command line)");
    assert_string_equal(cfg.kernel, "/boot/other.elf");
    assert_null(cfg.firmware);

    /* uuid=... set explicitly replaces the generated one. */
    assert_int_equal(
        config_apply_override(&cfg, "uuid='00000000-0000-4000-8000-000000000001'", &err), 0);
    assert_true(cfg.uuid_set);
    assert_int_equal(cfg.uuid[15], 1);
    dispose(&cfg, &err);
}

static void test_override_warnings_complete(void **state)
{
    struct domain_config cfg;
    struct config_error err;
    parse_ok(BASE "memory = 256\nmemory = 300\nfoo = 1\n", &cfg, &err);
    assert_int_equal(err.nwarnings, 2);
    /* After an override the warnings describe the whole result again. */
    assert_int_equal(config_apply_override(&cfg, "bar='x'", &err), 0);
    assert_int_equal(err.nwarnings, 3);
    assert_string_equal(err.warnings[2], "command line: bar: unknown key, ignored");
    dispose(&cfg, &err);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void test_parse_file(void **state)
{
    char dir[] = "/tmp/stubvisor-config-XXXXXX";
    char path[PATH_MAX], expect[2 * PATH_MAX], real[PATH_MAX];
    struct domain_config cfg;
    struct config_error err;
    config_error_init(&err);

    assert_non_null(mkdtemp(dir));
    assert_non_null(realpath(dir, real));
    snprintf(path, sizeof(path), "%s/hello.cfg", dir);
    write_file(path, "name = 'hello'\nkernel = '../guests/hello.elf'\n"
                     "disk = ['disk.img,raw,xvda,rw']\n");
    assert_int_equal(config_parse_file(path, &cfg, &err), 0);
    /* Relative paths are relative to the directory of the file. */
    snprintf(expect, sizeof(expect), "%s/../guests/hello.elf", real);
    assert_string_equal(cfg.kernel, expect);
    snprintf(expect, sizeof(expect), "%s/disk.img", real);
    assert_string_equal(cfg.disks[0].target, expect);
    config_dispose(&cfg);

    /* Errors name the file as it was given. */
    write_file(path, "name = 'hello'\nmemory = 'lots'\nkernel = 'k'\n");
    assert_int_equal(config_parse_file(path, &cfg, &err), -EINVAL);
    snprintf(expect, sizeof(expect), "%s:2: memory: expected a number of MiB, got \"lots\"", path);
    assert_string_equal(err.message, expect);

    /* Too big: refused before parsing. */
    char *big = malloc(CONFIG_MAX_FILE_SIZE + 2);
    assert_non_null(big);
    memset(big, '\n', CONFIG_MAX_FILE_SIZE + 1);
    big[CONFIG_MAX_FILE_SIZE + 1] = '\0';
    write_file(path, big);
    free(big);
    assert_int_equal(config_parse_file(path, &cfg, &err), -EFBIG);
    assert_non_null(strstr(err.message, "larger than"));
    assert_null(cfg.name);

    assert_int_equal(unlink(path), 0);
    assert_int_equal(config_parse_file(path, &cfg, &err), -ENOENT);
    snprintf(expect, sizeof(expect), "%s: cannot open: No such file or directory", path);
    assert_string_equal(err.message, expect);
    assert_int_equal(config_parse_file(dir, &cfg, &err), -EISDIR);
    assert_int_equal(rmdir(dir), 0);
    config_error_dispose(&err);
}

/* The examples shipped in examples/ must parse. */
static void test_examples(void **state)
{
    static const char *const names[] = {"hello.cfg", "seabios-disk.cfg", "counter.cfg",
                                        "grub-disk.cfg", "linux.cfg"};
    const char *src = getenv("STUBVISOR_SRC");
    if (!src)
        skip();
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char path[PATH_MAX];
        struct domain_config cfg;
        struct config_error err;
        config_error_init(&err);
        snprintf(path, sizeof(path), "%s/examples/%s", src, names[i]);
        int rc = config_parse_file(path, &cfg, &err);
        if (rc)
            fail_msg("%s", err.message);
        assert_int_equal(err.nwarnings, 0);
        dispose(&cfg, &err);
    }
}

/* Dispose twice, and dispose a zeroed config: both harmless. */
static void test_dispose_idempotent(void **state)
{
    struct domain_config cfg;
    struct config_error err;
    parse_ok(BASE, &cfg, &err);
    config_dispose(&cfg);
    config_dispose(&cfg);
    config_error_dispose(&err);
    config_error_dispose(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_kernel_ramdisk_cmdline),
        cmocka_unit_test(test_syntax_variants),
        cmocka_unit_test(test_multiline_lists),
        cmocka_unit_test(test_disk_forms),
        cmocka_unit_test(test_vif_forms),
        cmocka_unit_test(test_vif_bridged),
        cmocka_unit_test(test_serial_forms),
        cmocka_unit_test(test_placement),
        cmocka_unit_test(test_firmware_and_type),
        cmocka_unit_test(test_duplicate_key_last_wins),
        cmocka_unit_test(test_append),
        cmocka_unit_test(test_unknown_key_warns),
        cmocka_unit_test(test_warnings_bounded),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_override_warnings_complete),
        cmocka_unit_test(test_parse_file),
        cmocka_unit_test(test_examples),
        cmocka_unit_test(test_dispose_idempotent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The device description (dm/argv.c) and the machine built from it
 * (dm/machine.c): the grammar's words and refusals, the device table's
 * entries, PCI slots in the words' order or at addr=, descriptors taken in
 * order, and machines that cannot be built leaving nothing behind. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "dm/argv.h"
#include "dm/machine.h"
#include "dm/pci.h"
#include "tests/platform/fake_host.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int parse(struct dm_config *cfg, const char *const *w, unsigned n, char *err)
{
    return dm_config_parse(cfg, w, n, err, 256);
}

static void test_globals(void **state)
{
    static const char *const w[] = {"stubdm",
                                    "-name",
                                    "web",
                                    "-m",
                                    "64",
                                    "-smp",
                                    "2",
                                    "-serial",
                                    "null",
                                    "-bios",
                                    "/usr/share/seabios/bios.bin",
                                    "-incoming",
                                    "console2"};
    struct dm_config cfg;
    char err[256];

    (void)state;
    assert_int_equal(parse(&cfg, w, N(w), err), 0);
    assert_string_equal(cfg.name, "web");
    assert_int_equal(cfg.memory_mib, 64);
    assert_int_equal(cfg.vcpus, 2);
    assert_int_equal(cfg.serial, DM_SERIAL_NULL);
    assert_string_equal(cfg.firmware, "/usr/share/seabios/bios.bin");
    assert_true(cfg.incoming);
    assert_int_equal(cfg.nr_devs, 0);
    dm_config_dispose(&cfg);
}

static void test_devices(void **state)
{
    static const char *const w[] = {"stubdm",
                                    "-device",
                                    "virtio-blk,readonly=on",
                                    "-device",
                                    "virtio-net,mac=00:16:3E:01:02:03,addr=0x7",
                                    "-device",
                                    "virtio-console",
                                    "-device",
                                    "virtio-rng,addr=1f.0",
                                    "-device",
                                    "virtio-blk"};
    struct dm_config cfg;
    char err[256];

    (void)state;
    assert_int_equal(parse(&cfg, w, N(w), err), 0);
    assert_int_equal(cfg.nr_devs, 5);
    assert_string_equal(cfg.devs[0].type->name, "virtio-blk");
    assert_true(*(const bool *)cfg.devs[0].config); /* readonly=on */
    assert_int_equal(cfg.devs[0].devfn, DM_DEVFN_AUTO);
    assert_int_equal(cfg.devs[1].devfn, 7 << 3);
    assert_memory_equal(cfg.devs[1].config, ((uint8_t[]){0, 0x16, 0x3e, 1, 2, 3}), 6);
    assert_int_equal(cfg.devs[3].devfn, 31 << 3);
    assert_false(*(const bool *)cfg.devs[4].config); /* readonly defaults to off */
    assert_int_equal(dm_config_nr_fds(&cfg), 4);
    dm_config_dispose(&cfg);
}

/* Each refused with a message naming the word; nothing is kept. */
static void test_refusals(void **state)
{
    static const struct {
        const char *w[4];
        const char *why;
    } bad[] = {
        {{"qemu"}, "word 0"},
        {{"stubdm", "-name"}, "needs a value"},
        {{"stubdm", "-hda", "x.img"}, "unknown word"},
        {{"stubdm", "-m", "0"}, "memory size"},
        {{"stubdm", "-m", "64k"}, "memory size"},
        {{"stubdm", "-smp", "99"}, "vCPU count"},
        {{"stubdm", "-serial", "pty"}, "console or null"},
        {{"stubdm", "-incoming", "tcp:1"}, "console2"},
        {{"stubdm", "-name", "a\tb"}, "printable"},
        {{"stubdm", "-device", "virtio-gpu"}, "unknown device"},
        {{"stubdm", "-device", ""}, "unknown device"},
        {{"stubdm", "-device", ",virtio-blk"}, "unknown device"},
        {{"stubdm", "-device", "isa-serial"}, "part of the PC machine"},
        {{"stubdm", "-device", "virtio-blk,ro=on"},
         "unknown option ro; virtio-blk takes readonly, addr"},
        {{"stubdm", "-device", "virtio-blk,readonly=yes"}, "on or off"},
        {{"stubdm", "-device", "virtio-blk,readonly=on,readonly=off"}, "given twice"},
        {{"stubdm", "-device", "virtio-blk,readonly"}, "KEY=VALUE"},
        {{"stubdm", "-device", "virtio-blk,"}, "empty option"},
        {{"stubdm", "-device", "virtio-blk,,readonly=on"}, "empty option"},
        {{"stubdm", "-device", "virtio-blk,addr=20"}, "SLOT[.FUNCTION]"},
        {{"stubdm", "-device", "virtio-blk,addr=3.8"}, "SLOT[.FUNCTION]"},
        {{"stubdm", "-device", "virtio-net"}, "mac= is required"},
        {{"stubdm", "-device", "virtio-net,mac=01:00:00:00:00:01"}, "unicast"},
        {{"stubdm", "-device", "virtio-net,mac=00:16:3e:0:0:1"}, "MAC address"},
        {{"stubdm", "-device", "virtio-rng", "-device"}, "needs a value"},
    };
    struct dm_config cfg;
    char err[256];

    (void)state;
    for (size_t i = 0; i < N(bad); i++) {
        unsigned n = 0;
        while (n < 4 && bad[i].w[n])
            n++;
        assert_int_equal(parse(&cfg, bad[i].w, n, err), -EINVAL);
        if (!strstr(err, bad[i].why))
            fail_msg("%s %s: \"%s\" does not say \"%s\"", bad[i].w[1] ? bad[i].w[1] : "",
                     bad[i].w[2] ? bad[i].w[2] : "", err, bad[i].why);
        assert_int_equal(cfg.nr_devs, 0);
    }
}

/* A type's limit: a ninth disk, a second RNG. */
static void test_limits(void **state)
{
    const char *w[2 + 2 * 9] = {"stubdm"};
    struct dm_config cfg;
    char err[256];
    unsigned n = 1;

    (void)state;
    for (unsigned i = 0; i < 9; i++) {
        w[n++] = "-device";
        w[n++] = "virtio-blk";
    }
    assert_int_equal(parse(&cfg, w, n, err), -EINVAL);
    assert_non_null(strstr(err, "more than 8 virtio-blk"));
    static const char *const rng[] = {"stubdm", "-device", "virtio-rng", "-device", "virtio-rng"};
    assert_int_equal(parse(&cfg, rng, N(rng), err), -EINVAL);
}

/* Every entry of the table is well-formed: unique names and state tags, a
 * record type with its functions, at most DM_DEV_MAX_OPTS options. */
static void test_table(void **state)
{
    size_t n;
    const struct dm_device_type *const *t = dm_device_types(&n);
    unsigned platform = 0;

    (void)state;
    assert_true(n >= 11);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(t[i]->name);
        assert_non_null(t[i]->create);
        assert_true(t[i]->nr_opts <= DM_DEV_MAX_OPTS);
        assert_true(t[i]->nr_fds <= DM_DEV_MAX_FDS);
        if (t[i]->state_tag) {
            assert_non_null(t[i]->save);
            assert_non_null(t[i]->parse);
            assert_non_null(t[i]->apply);
        }
        platform += t[i]->pc_default;
        assert_ptr_equal(dm_device_type_find(t[i]->name), t[i]);
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(t[i]->name, t[j]->name);
            assert_true(!t[i]->state_tag || t[i]->state_tag != t[j]->state_tag);
        }
    }
    /* The PC machine's own: part of every guest, never a -device word. */
    static const char *const pc[] = {"i440fx-piix3", "fw_cfg",       "mc146818rtc",   "i8042",
                                     "isa-serial",   "isa-debugcon", "isa-debug-exit"};
    for (size_t i = 0; i < N(pc); i++) {
        assert_non_null(dm_device_type_find(pc[i]));
        assert_true(dm_device_type_find(pc[i])->pc_default);
    }
    assert_true(platform >= N(pc));
}

static int pipe_fd(void)
{
    int p[2];

    assert_int_equal(pipe(p), 0);
    close(p[1]);
    return p[0];
}

/* Slots in the words' order from 3, skipping what addr= asked for later;
 * descriptors in the words' order. */
static void test_machine_slots(void **state)
{
    static const char *const w[] = {"stubdm",        "-device", "virtio-blk",        "-device",
                                    "virtio-rng",    "-device", "virtio-blk,addr=4", "-device",
                                    "virtio-console"};
    struct dm_config cfg;
    struct dm_fd_list list;
    int disk0 = memfd_create("d0", MFD_CLOEXEC), disk1 = memfd_create("d1", MFD_CLOEXEC);
    int sp[2], fds[3];
    char err[256];
    struct dm *dm = fake_dm_new(16u << 20);
    struct dm_machine *m;

    (void)state;
    assert_int_equal(ftruncate(disk0, 4096), 0);
    assert_int_equal(ftruncate(disk1, 8192), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    fds[0] = disk0, fds[1] = disk1, fds[2] = sp[0];
    assert_int_equal(parse(&cfg, w, N(w), err), 0);
    dm_fd_list_init(&list, fds, 3);
    m = dm_machine_new(dm, &cfg, &(struct dm_machine_params){.nr_vcpus = 1, .fds = &list.src});
    assert_non_null(m);
    assert_int_equal(dm_machine_find(m, "virtio-blk", 0)->devfn, 3 << 3);
    assert_int_equal(dm_machine_find(m, "virtio-rng", 0)->devfn, 5 << 3);
    assert_int_equal(dm_machine_find(m, "virtio-blk", 1)->devfn, 4 << 3);
    assert_int_equal(dm_machine_find(m, "virtio-console", 0)->devfn, 6 << 3);
    assert_int_equal(dm_machine_find(m, "virtio-blk", 0)->fds[0], disk0);
    assert_int_equal(dm_machine_find(m, "virtio-blk", 1)->fds[0], disk1);
    assert_int_equal(dm_machine_find(m, "virtio-console", 0)->fds[0], sp[0]);
    assert_null(dm_machine_find(m, "virtio-blk", 2));
    /* The platform is there, and the bus has its functions. */
    assert_non_null(m->pci->devs[0]);
    assert_non_null(m->pci->devs[1 << 3]);
    assert_non_null(m->fw_cfg);
    assert_non_null(dm_machine_state(m, "isa-serial", 0));
    dm_machine_free(m);
    /* The machine closed the descriptors it took. */
    assert_int_equal(fcntl(disk0, F_GETFD), -1);
    assert_int_equal(fcntl(sp[0], F_GETFD), -1);
    close(sp[1]);
    dm_config_dispose(&cfg);
    dm_free(dm);
}

/* A device added to a running machine (as hot-plug will): the first free
 * slot, its descriptor from a source of its own; the type's limit holds. */
static void test_machine_add(void **state)
{
    static const char *const w[] = {"stubdm", "-device", "virtio-rng,addr=3"};
    struct dm_config cfg;
    struct dm_dev_spec spec;
    struct dm_fd_list list;
    struct dm *dm = fake_dm_new(16u << 20);
    struct dm_machine *m;
    char err[256];
    int sp[2];

    (void)state;
    assert_int_equal(parse(&cfg, w, N(w), err), 0);
    m = dm_machine_new(dm, &cfg, &(struct dm_machine_params){.nr_vcpus = 1});
    assert_non_null(m);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    dm_fd_list_init(&list, &sp[0], 1);
    assert_int_equal(dm_dev_spec_parse(&spec, "virtio-console", err, sizeof(err)), 0);
    assert_int_equal(dm_machine_add_device(m, &spec, &list.src), 0);
    assert_int_equal(dm_machine_find(m, "virtio-console", 0)->devfn, 4 << 3);
    assert_int_equal(dm_machine_find(m, "virtio-console", 0)->fds[0], sp[0]);
    assert_non_null(m->pci->devs[4 << 3]);
    assert_int_equal(dm_machine_add_device(m, &spec, &list.src), -ENOSPC); /* one at most */
    dm_dev_spec_dispose(&spec);
    dm_machine_free(m);
    close(sp[1]);
    dm_config_dispose(&cfg);
    dm_free(dm);
}

/* A machine that cannot be built: NULL, and the descriptors it took closed. */
static void test_machine_refusals(void **state)
{
    static const char *const mem[] = {"stubdm", "-m", "32"};
    static const char *const smp[] = {"stubdm", "-smp", "2"};
    static const char *const taken[] = {"stubdm", "-device", "virtio-rng,addr=1"};
    static const char *const twice[] = {"stubdm", "-device", "virtio-rng,addr=5", "-device",
                                        "virtio-blk,addr=5"};
    static const char *const bad_disk[] = {"stubdm", "-device", "virtio-blk"};
    static const char *const two_disks[] = {"stubdm", "-device", "virtio-blk", "-device",
                                            "virtio-blk"};
    const struct {
        const char *const *w;
        unsigned n;
    } cases[] = {{mem, N(mem)},     {smp, N(smp)},           {taken, N(taken)},
                 {twice, N(twice)}, {bad_disk, N(bad_disk)}, {two_disks, N(two_disks)}};
    char err[256];

    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        struct dm *dm = fake_dm_new(16u << 20);
        struct dm_config cfg;
        struct dm_fd_list list;
        int fd = pipe_fd(); /* not a disk image */

        assert_int_equal(parse(&cfg, cases[i].w, cases[i].n, err), 0);
        dm_fd_list_init(&list, &fd, 1);
        assert_null(
            dm_machine_new(dm, &cfg, &(struct dm_machine_params){.nr_vcpus = 1, .fds = &list.src}));
        if (list.next == 1)
            assert_int_equal(fcntl(fd, F_GETFD), -1);
        else
            close(fd);
        dm_config_dispose(&cfg);
        dm_free(dm);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_globals),
        cmocka_unit_test(test_devices),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_machine_slots),
        cmocka_unit_test(test_machine_refusals),
        cmocka_unit_test(test_machine_add),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* stubdm: the device model as a process of its own (placements process and
 * stubdom).  Its descriptors are the fixed ones of lib/dmfds.h; it never
 * opens /dev/kvm and, once set up, asks the sandbox to lock it down before
 * it reads the first request.
 *
 * usage: stubdm [--lockdown] [--spin-us=N] [--poll-us=N] [--fault=NAME] --store
 *        stubdm [--lockdown] [--spin-us=N] [--poll-us=N] [--fault=NAME] [WORD...]
 *
 * The process flags come first.  The guest's description is dm-argv
 * (dm/argv.h): with --store the words in the store, otherwise the words
 * that follow the flags (stubvmm without a toolstack passes them so).  The
 * -device words' descriptors follow DMFD_DISK0, in the words' order.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dm/argv.h"
#include "dm/machine.h"
#include "dm/qmp.h"
#include "dm/serve.h"
#include "dm/server.h"
#include "dm/store_dm.h"
#include "dm/uart.h"
#include "lib/dmfds.h"
#include "lib/log.h"
#include "lib/spin.h"
#include "lib/version.h"
#include "vmm/sandbox_api.h"

/* How long a kicked queue is polled after its last request: about what a
 * wake-up costs on a nested host (docs/ioreq.md). */
#define DEFAULT_POLL_US 200

struct options {
    bool lockdown;
    bool store; /* the words and commands come through DMFD_STORE */
    unsigned spin_us, poll_us;
    enum dm_fault fault;
    /* The words after the flags, with "stubdm" in front (argv[first - 1]
     * is overwritten with it). */
    const char *const *words;
    unsigned nr_words;
};

static noreturn void usage(void)
{
    die(EXIT_USAGE,
        "usage: stubdm [--lockdown] [--spin-us=N] [--poll-us=N] [--fault=NAME] "
        "(--store | [WORD...]) (run by stubvmm with descriptors 3..%d)",
        DMFD_CONSOLE3);
}

static void parse_args(int argc, char **argv, struct options *o)
{
    int i = 1;

    o->spin_us = SPIN_DM_DEFAULT_US;
    o->poll_us = DEFAULT_POLL_US;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *a = argv[i];
        char *end;
        if (strcmp(a, "--lockdown") == 0) {
            o->lockdown = true;
        } else if (strcmp(a, "--store") == 0) {
            o->store = true;
        } else if (strncmp(a, "--spin-us=", 10) == 0) {
            unsigned long v = strtoul(a + 10, &end, 10);
            if (*end || end == a + 10 || v > 100000)
                usage();
            o->spin_us = (unsigned)v;
        } else if (strncmp(a, "--poll-us=", 10) == 0) {
            unsigned long v = strtoul(a + 10, &end, 10);
            if (*end || end == a + 10 || v > 100000)
                usage();
            o->poll_us = (unsigned)v;
        } else if (strncmp(a, "--fault=", 8) == 0) {
#ifdef STUBVISOR_TEST_HOOKS
            const char *f = a + 8;
            if (strcmp(f, "bad-state") == 0)
                o->fault = DM_FAULT_BAD_STATE;
            else if (strcmp(f, "backwards") == 0)
                o->fault = DM_FAULT_BACKWARDS;
            else if (strcmp(f, "bad-dmops") == 0)
                o->fault = DM_FAULT_BAD_DMOPS;
            else if (strcmp(f, "bad-ring") == 0)
                o->fault = DM_FAULT_BAD_RING;
            else if (strcmp(f, "hang") == 0)
                o->fault = DM_FAULT_HANG;
            else
                usage();
#else
            die(EXIT_USAGE, "--fault is only available in test builds");
#endif
        } else {
            usage();
        }
    }
    if (o->store && i < argc)
        die(EXIT_USAGE, "--store: the words come from the store, not the command line");
    argv[i - 1] = "stubdm";
    o->words = (const char *const *)argv + i - 1;
    o->nr_words = (unsigned)(argc - i + 1);
}

/* Test hook: every one of these must be refused by stubvmm. */
static void send_bad_dmops(struct ioreq_server *s)
{
    static const struct dmop_req bad[] = {
        {.op = 200},
        {.op = DMOP_MAP_IO_RANGE_TO_IOREQ_SERVER,
         .u.range = {.type = 0, .start = 0x10000, .end = 0x10001}},
        {.op = DMOP_MAP_IO_RANGE_TO_IOREQ_SERVER,
         .u.range = {.type = 0, .start = 0xcf8, .end = 0xcfb}},
        {.op = DMOP_MAP_IO_RANGE_TO_IOREQ_SERVER,
         .u.range = {.type = 1, .start = 0x1000, .end = 0x1fff}},
        {.op = DMOP_MAP_IO_RANGE_TO_IOREQ_SERVER,
         .u.range = {.type = 1, .start = 0xfee00000, .end = 0xfee00fff}},
        {.op = DMOP_MAP_IO_RANGE_TO_IOREQ_SERVER,
         .u.range = {.type = 1, .start = ~0ull - 1, .end = 1}},
        {.op = DMOP_MAP_IO_RANGE_TO_IOREQ_SERVER, .u.range = {.type = 9, .start = 1, .end = 2}},
        {.op = DMOP_SET_ISA_IRQ_LEVEL, .u.isa_irq = {.isa_irq = 16, .level = 1}},
        {.op = DMOP_INJECT_MSI, .u.msi = {.addr = 0x1000, .data = 0}},
        {.op = DMOP_IRQFD, .u.irqfd = {.gsi = 1000}},
        {.op = DMOP_REMOTE_SHUTDOWN, .u.shutdown = {.reason = 0, .status = 256}},
        {.op = DMOP_REMOTE_SHUTDOWN, .u.shutdown = {.reason = DMOP_SHUTDOWN_CRASH, .status = 7}},
        {.op = DMOP_GET_IOREQ_SERVER_INFO, .u.server = {.id = 7}},
    };
    unsigned refused = 0;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct dmop_req req = bad[i];
        if (req.op == DMOP_MAP_IO_RANGE_TO_IOREQ_SERVER)
            req.u.range.id = s->host.server_id;
        int rc = dmop_call(s->dmop_fd, &req, -1, NULL, NULL, NULL);
        if (rc < 0)
            refused++;
        else
            log_error("fault injection: bad dm_op #%zu (op %u) was accepted", i, req.op);
    }
    log_info("fault injection: %u of %zu bad dm_ops refused", refused,
             sizeof(bad) / sizeof(bad[0]));
}

static void *map_guest_ram(uint64_t *size)
{
    struct stat st;
    void *p;

    if (fstat(DMFD_GUEST_RAM, &st) < 0 || st.st_size <= 0)
        die(EXIT_SYSTEM, "guest RAM descriptor %d: %s", DMFD_GUEST_RAM, strerror(errno));
    p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, DMFD_GUEST_RAM, 0);
    if (p == MAP_FAILED)
        die(EXIT_SYSTEM, "mapping guest RAM: %s", strerror(errno));
    *size = (uint64_t)st.st_size;
    return p;
}

/* ---- the loop's sources (dm/serve.h): what each descriptor means ---- */

static void on_notify(struct dm_loop *l, struct dm_loop_source *src, uint32_t revents)
{
    uint64_t count;

    (void)l, (void)revents;
    if (read(src->fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
        die(EXIT_SYSTEM, "notify eventfd: %s", strerror(errno));
}

/* COM1's input.  While the UART is full the descriptor is not listened to;
 * a request may have made room (com1_resume). */
static void on_com1_input(struct dm_loop *l, struct dm_loop_source *src, uint32_t revents)
{
    if (dm_console_poll_one(l->dm, DM_COM1_CONSOLE))
        dm_loop_pause(l, src, true);
    else if (revents & (EPOLLRDHUP | EPOLLHUP))
        dm_loop_remove(l, src);
}

static bool com1_resume(struct dm_loop *l, struct dm_loop_source *src)
{
    (void)src;
    return !dm_console_poll_one(l->dm, DM_COM1_CONSOLE);
}

static void on_device_fds(struct dm_loop *l, struct dm_loop_source *src, uint32_t revents)
{
    (void)src, (void)revents;
    dm_events_run(l->dm); /* queue kicks, NIC back ends, the virtio console */
}

static void on_timers(struct dm_loop *l, struct dm_loop_source *src, uint32_t revents)
{
    (void)src, (void)revents;
    dm_timer_poll(l->dm);
}

static void on_qmp(struct dm_loop *l, struct dm_loop_source *src, uint32_t revents)
{
    (void)l, (void)src, (void)revents;
    qmp_handle();
}

static void on_store(struct dm_loop *l, struct dm_loop_source *src, uint32_t revents)
{
    (void)l, (void)src, (void)revents;
    store_dm_handle(); /* a store that hung up leaves the epoll set by itself */
}

static void on_monitor_gone(struct dm_loop *l, struct dm_loop_source *src, uint32_t revents)
{
    (void)l, (void)src, (void)revents;
    log_info("monitor went away; exiting");
    exit(0);
}

/* Before a save: serve what the vCPUs left waiting (posted writes in the
 * buffered ring).  Bounded: the vCPUs are paused, so it empties. */
struct drain_ctx {
    struct ioreq_server *s;
    struct dm *dm;
};
static struct drain_ctx drain_ctx;

static void drain_requests(void *opaque)
{
    struct drain_ctx *c = opaque;

    for (unsigned i = 0; i < 64 && ioreq_server_pending(c->s); i++)
        if (ioreq_server_poll(c->s, c->dm) < 0)
            break;
}

/* The devices of cfg, their descriptors from DMFD_DISK0 on, in the
 * words' order: every one must be there.  Dies on failure. */
static struct dm_machine *build_machine(struct dm *dm, const struct dm_config *cfg,
                                        unsigned nr_vcpus)
{
    int fds[DM_MAX_DEVICES * DM_DEV_MAX_FDS];
    unsigned n = dm_config_nr_fds(cfg);
    struct dm_fd_list list;
    struct dm_machine_params p = {.nr_vcpus = nr_vcpus, .kick_eventfds = true};
    struct dm_machine *m;

    if (n > sizeof(fds) / sizeof(fds[0]))
        die(EXIT_USAGE, "dm-argv: the devices take too many descriptors");
    for (unsigned i = 0; i < n; i++) {
        fds[i] = DMFD_DISK0 + (int)i;
        if (fcntl(fds[i], F_GETFD) < 0)
            die(EXIT_USAGE, "descriptor %d is missing: the -device words take %u from %d on",
                fds[i], n, DMFD_DISK0);
    }
    dm_fd_list_init(&list, fds, n);
    p.fds = &list.src;
    m = dm_machine_new(dm, cfg, &p);
    if (!m)
        die(EXIT_SYSTEM, "cannot set up the devices");
    dm_machine_log(m);
    return m;
}

int main(int argc, char **argv)
{
    struct ioreq_server server = {.dmop_fd = DMFD_DMOP};
    struct dm_machine *machine;
    struct dm_config cfg;
    struct dm_loop loop;
    struct options opt = {0};
    uint64_t ram_size;
    void *ram;
    struct dm *dm;

    version_option(argc, argv, "stubdm");
    prctl(PR_SET_NAME, "stubdm", 0, 0, 0);
    log_set_program("stubdm");
    for (int fd = DMFD_DMOP; fd <= DMFD_CONSOLE3; fd++)
        if (fcntl(fd, F_GETFD) < 0)
            die(EXIT_USAGE, "descriptor %d is missing: stubdm is started by stubvmm", fd);
    log_set_fd(DMFD_CONSOLE0);
    parse_args(argc, argv, &opt);
    server.fault = opt.fault;

    ram = map_guest_ram(&ram_size);
    if (ioreq_server_connect(&server) < 0)
        die(EXIT_SYSTEM, "cannot set up the ioreq server");
    dm = dm_new(dmop_host_ops(true), &server.host, ram, ram_size);
    if (!dm)
        die(EXIT_SYSTEM, "out of memory");
    if (dm_events_enable(dm) < 0)
        die(EXIT_SYSTEM, "epoll: %s", strerror(errno));
    if (opt.fault == DM_FAULT_BAD_DMOPS)
        send_bad_dmops(&server);
    if (opt.store) {
        if (fcntl(DMFD_STORE, F_GETFD) < 0)
            die(EXIT_USAGE, "--store: descriptor %d is missing", DMFD_STORE);
        if (store_dm_init(&cfg) < 0)
            die(EXIT_USAGE, "cannot take my arguments from the store");
    } else {
        char err[512];
        if (dm_config_parse(&cfg, opt.words, opt.nr_words, err, sizeof(err)) < 0)
            die(EXIT_USAGE, "%s", err);
    }
    machine = build_machine(dm, &cfg, server.nr_vcpus);
    dm_config_dispose(&cfg);
    drain_ctx = (struct drain_ctx){&server, dm};
    store_dm_attach(machine, drain_requests, &drain_ctx);

    /* The table from descriptor to handler. */
    if (dm_loop_init(&loop, &server, dm, opt.spin_us, opt.poll_us) < 0 ||
        dm_loop_add(&loop, server.notify_fd, EPOLLIN, on_notify, NULL) < 0 ||
        dm_loop_add(&loop, DMFD_CONSOLE3, EPOLLIN | EPOLLRDHUP, on_com1_input, com1_resume) < 0 ||
        dm_loop_add(&loop, DMFD_DMOP, EPOLLRDHUP, on_monitor_gone, NULL) < 0 ||
        dm_loop_add(&loop, dm_events_enable(dm), EPOLLIN, on_device_fds, NULL) < 0 ||
        (dm_timer_fd(dm) >= 0 &&
         dm_loop_add(&loop, dm_timer_fd(dm), EPOLLIN, on_timers, NULL) < 0) ||
        (store_dm_fd() >= 0 && dm_loop_add(&loop, store_dm_fd(), EPOLLIN, on_store, NULL) < 0) ||
        (opt.store && qmp_init(DMFD_DMOP) >= 0 &&
         dm_loop_add(&loop, DMFD_QMP, EPOLLIN, on_qmp, NULL) < 0))
        die(EXIT_SYSTEM, "epoll: %s", strerror(errno));

    if (opt.lockdown) {
        int rc = sandbox_lockdown();
        if (rc < 0)
            die(EXIT_SYSTEM, "sandbox lockdown: %s", strerror(-rc));
    }
    if (ioreq_server_enable(&server) < 0)
        die(EXIT_SYSTEM, "cannot enable the ioreq server");
    if (store_dm_ready() < 0)
        die(EXIT_SYSTEM, "cannot tell the toolstack I am running");
    log_debug("serving %u vCPU(s)", server.nr_vcpus);
    dm_loop_run(&loop);
}

/* stubdm: the device model as a process of its own (placements process and
 * stubdom).  Its descriptors are the fixed ones of lib/dmfds.h; it never
 * opens /dev/kvm and, once set up, asks the sandbox to lock it down before
 * it reads the first request.
 *
 * usage: stubdm [--lockdown] [--spin-us=N] [--fault=NAME] [--disk=rw|ro]...
 *               [--nic=MAC]... [--rng] [--virtio-console]
 *
 * Each --disk is a virtio-blk disk, each --nic a virtio-net NIC; their
 * descriptors follow DMFD_DISK0: the disks in order, then the NICs, then
 * with --virtio-console the virtio console's (lib/dmfds.h).
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

#include "dm/devices.h"
#include "dm/qmp.h"
#include "dm/server.h"
#include "dm/store_dm.h"
#include "dm/virtio/setup.h"
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
    bool store; /* arguments and commands come through DMFD_STORE */
    unsigned spin_us, poll_us;
    enum dm_fault fault;
    struct virtio_config virtio;
};

static noreturn void usage(void)
{
    die(EXIT_USAGE,
        "usage: stubdm [--lockdown] [--spin-us=N] [--poll-us=N] [--fault=NAME] [--disk=rw|ro]... "
        "[--nic=MAC]... [--rng] [--virtio-console] "
        "(run by stubvmm with descriptors 3..%d)",
        DMFD_CONSOLE3);
}

static void parse_args(int argc, char **argv, struct options *o)
{
    o->spin_us = SPIN_DM_DEFAULT_US;
    o->poll_us = DEFAULT_POLL_US;
    for (int i = 1; i < argc; i++) {
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
        } else if (strcmp(a, "--disk=rw") == 0 || strcmp(a, "--disk=ro") == 0) {
            struct virtio_config *v = &o->virtio;
            if (v->nr_disks == VIRTIO_MAX_DISKS)
                usage();
            v->disks[v->nr_disks++].read_only = strcmp(a, "--disk=ro") == 0;
        } else if (strncmp(a, "--nic=", 6) == 0) {
            struct virtio_config *v = &o->virtio;
            unsigned m[6];
            char extra;
            if (v->nr_nics == VIRTIO_MAX_NICS ||
                sscanf(a + 6, "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5],
                       &extra) != 6)
                usage();
            for (int k = 0; k < 6; k++)
                v->nics[v->nr_nics].mac[k] = (uint8_t)m[k];
            v->nr_nics++;
        } else if (strcmp(a, "--rng") == 0) {
            o->virtio.rng = true;
        } else if (strcmp(a, "--virtio-console") == 0) {
            o->virtio.console = true;
            o->virtio.console_idx = DM_VIRTIO_CONSOLE;
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
    /* Descriptors from DMFD_DISK0: the disks, then the NICs. */
    for (unsigned i = 0; i < o->virtio.nr_disks; i++)
        o->virtio.disks[i].fd = DMFD_DISK0 + (int)i;
    for (unsigned i = 0; i < o->virtio.nr_nics; i++)
        o->virtio.nics[i].fd = DMFD_DISK0 + (int)(o->virtio.nr_disks + i);
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
        {.op = DMOP_GET_IOREQ_SERVER_INFO, .u.server = {.id = 7}},
    };
    unsigned refused = 0;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct dmop_req req = bad[i];
        if (req.op == DMOP_MAP_IO_RANGE_TO_IOREQ_SERVER)
            req.u.range.id = s->id;
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

static int epoll_set(int epfd, int op, int fd, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.fd = fd};

    return epoll_ctl(epfd, op, fd, &ev);
}

/* A console input descriptor.  One whose device is full is taken out of
 * the epoll set and retried after the guest ran (a request or a queue kick
 * may have made room). */
struct console_in {
    int fd;
    unsigned idx;
    bool paused, open;
};

static void consoles_retry(struct dm *dm, int epfd, struct console_in *cons, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (!cons[i].paused || !cons[i].open || dm_console_poll_one(dm, cons[i].idx))
            continue;
        cons[i].paused = false;
        epoll_set(epfd, EPOLL_CTL_MOD, cons[i].fd, EPOLLIN | EPOLLRDHUP);
    }
}

/* The server loop: after each request spin for the adaptive budget (the
 * next request tends to come within microseconds when the guest is busy),
 * then sleep on the notify eventfd with dm_sleeping set so stubvmm knows to
 * signal.  Queues that were kicked are polled (dm_pollers_run) until
 * poll_us passed without a request on them: a guest doing back-to-back I/O
 * then needs neither kicks nor wake-ups (vhost's busy polling). */
static noreturn void serve(struct ioreq_server *s, struct dm *dm, int epfd, unsigned spin_us,
                           unsigned poll_us)
{
    uint64_t last_work = spin_now_ns(), last_poll = 0, poll_ns = (uint64_t)poll_us * 1000;
    struct spin_budget spin;
    /* Console input: COM1 and the virtio console. */
    struct console_in cons[2] = {{DMFD_CONSOLE3, DM_COM1_CONSOLE, false, true},
                                 {s->virtio_console_fd > 0 ? s->virtio_console_fd : -1,
                                  DM_VIRTIO_CONSOLE, false, s->virtio_console_fd > 0}};
    bool polling = false;

    spin_budget_init(&spin, (uint64_t)spin_us * 1000);
    for (unsigned iter = 0;; iter++) {
        if (store_dm_quiesced()) { /* between save and continue */
            if (polling)
                dm_pollers_run(dm, true, &polling);
            store_dm_hold();
            continue;
        }
        int n = ioreq_server_poll(s, dm);
        if (n < 0)
            die(EXIT_SYSTEM, "stubvmm broke the ioreq protocol; stopping");
        if (n > 0) {
            consoles_retry(dm, epfd, cons, 2);
            uint64_t now = spin_now_ns();
            spin_budget_update(&spin, now - last_work);
            last_work = now;
            continue;
        }
        if (polling) {
            uint64_t now = spin_now_ns();
            if (dm_pollers_run(dm, false, &polling) > 0) {
                last_poll = now;
                continue;
            }
            if (now - last_poll < poll_ns) {
                if ((iter & 63) == 0) {
                    dm_timer_poll(dm);
                    dm_events_run(dm); /* back ends, other queues' kicks */
                }
                __builtin_ia32_pause();
                continue;
            }
            dm_pollers_run(dm, true, &polling); /* idle: kicks back on */
        }
        if ((iter & 63) == 0)
            dm_timer_poll(dm); /* a busy guest must not starve the timers */
        if ((iter & 63) == 0) {
            dm_events_run(dm); /* queue kicks (ioeventfds) while we spin */
            consoles_retry(dm, epfd, cons, 2);
            if (!polling) {
                dm_pollers_run(dm, poll_ns == 0, &polling); /* kicked queues */
                last_poll = spin_now_ns();
            }
        }
        if (polling || (iter & 63) != 0 || spin_now_ns() - last_work < spin.cur_ns) {
            __builtin_ia32_pause(); /* never sleep while a queue's kicks are off */
            continue;
        }

        atomic_store_explicit(&s->page->dm_sleeping, 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst);
        if (!ioreq_server_pending(s)) {
            struct epoll_event evs[4];
            int nev = epoll_wait(epfd, evs, 4, -1);
            if (nev < 0 && errno != EINTR)
                die(EXIT_SYSTEM, "epoll_wait: %s", strerror(errno));
            for (int i = 0; i < nev; i++) {
                int fd = evs[i].data.fd;
                if (fd == s->notify_fd) {
                    uint64_t count;
                    if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
                        die(EXIT_SYSTEM, "notify eventfd: %s", strerror(errno));
                } else if (fd == cons[0].fd || fd == cons[1].fd) {
                    struct console_in *c = &cons[fd == cons[0].fd ? 0 : 1];
                    if (dm_console_poll_one(dm, c->idx)) {
                        c->paused = true;
                        epoll_set(epfd, EPOLL_CTL_MOD, fd, 0);
                    } else if (evs[i].events & (EPOLLRDHUP | EPOLLHUP)) {
                        c->open = false;
                        epoll_set(epfd, EPOLL_CTL_DEL, fd, 0);
                    }
                } else if (fd == dm_events_enable(dm)) {
                    dm_events_run(dm);
                } else if (fd == dm_timer_fd(dm)) {
                    dm_timer_poll(dm);
                } else if (fd == DMFD_QMP) {
                    qmp_handle();
                } else if (fd == store_dm_fd()) {
                    store_dm_handle();
                } else if (fd == s->dmop_fd) {
                    log_info("monitor went away; exiting");
                    exit(0);
                }
            }
        }
        atomic_store_explicit(&s->page->dm_sleeping, 0, memory_order_relaxed);
        consoles_retry(dm, epfd, cons, 2);
        if (!polling) { /* kicks came: poll those queues (poll_us 0: kicks on) */
            dm_pollers_run(dm, poll_ns == 0, &polling);
            last_poll = spin_now_ns();
        }
    }
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

int main(int argc, char **argv)
{
    struct ioreq_server server = {.dmop_fd = DMFD_DMOP};
    struct dm_devices devices;
    struct options opt = {0};
    uint64_t ram_size;
    void *ram;
    struct dm *dm;
    int epfd;

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
    dm = dm_new(&dm_host_dmop_ops, &server, ram, ram_size);
    if (!dm)
        die(EXIT_SYSTEM, "out of memory");
    if (dm_events_enable(dm) < 0)
        die(EXIT_SYSTEM, "epoll: %s", strerror(errno));
    if (opt.fault == DM_FAULT_BAD_DMOPS)
        send_bad_dmops(&server);
    if (dm_devices_setup(dm, &devices) < 0)
        die(EXIT_SYSTEM, "cannot set up the devices");
    dm_devices_set_nr_vcpus(&devices, server.nr_vcpus);
    if (opt.store) {
        /* Under the toolstack the devices come from dm-argv, not the
         * command line: the descriptors are in the same order. */
        struct dm_store_args args;
        if (fcntl(DMFD_STORE, F_GETFD) < 0)
            die(EXIT_USAGE, "--store: descriptor %d is missing", DMFD_STORE);
        if (store_dm_init(&devices, ram_size, &args) < 0)
            die(EXIT_USAGE, "cannot take my arguments from the store");
        if (args.nr_disks || args.nr_nics) {
            struct virtio_config *v = &opt.virtio;
            if (v->nr_disks || v->nr_nics)
                die(EXIT_USAGE, "devices both on the command line and in the store");
            for (unsigned i = 0; i < args.nr_disks; i++) {
                v->disks[i].read_only = args.disk_ro[i];
                v->disks[i].fd = DMFD_DISK0 + (int)i;
            }
            v->nr_disks = args.nr_disks;
            for (unsigned i = 0; i < args.nr_nics; i++) {
                memcpy(v->nics[i].mac, args.nic_mac[i], 6);
                v->nics[i].fd = DMFD_DISK0 + (int)(args.nr_disks + i);
            }
            v->nr_nics = args.nr_nics;
        }
    }
    for (unsigned i = 0; i < opt.virtio.nr_disks + opt.virtio.nr_nics; i++)
        if (fcntl(DMFD_DISK0 + (int)i, F_GETFD) < 0)
            die(EXIT_USAGE, "disk or NIC descriptor %d is missing", DMFD_DISK0 + (int)i);
    if (opt.virtio.console) {
        server.virtio_console_fd = DMFD_DISK0 + (int)(opt.virtio.nr_disks + opt.virtio.nr_nics);
        if (fcntl(server.virtio_console_fd, F_GETFD) < 0)
            die(EXIT_USAGE, "virtio console descriptor %d is missing", server.virtio_console_fd);
    }
    opt.virtio.kick_eventfds = true;
    struct virtio_devices *vdevs = virtio_devices_new(dm, &devices.pci, &opt.virtio);
    if (!vdevs)
        die(EXIT_SYSTEM, "cannot set up the virtio devices");
    drain_ctx = (struct drain_ctx){&server, dm};
    store_dm_attach(dm, vdevs, drain_requests, &drain_ctx);

    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0 || epoll_set(epfd, EPOLL_CTL_ADD, server.notify_fd, EPOLLIN) < 0 ||
        epoll_set(epfd, EPOLL_CTL_ADD, DMFD_CONSOLE3, EPOLLIN | EPOLLRDHUP) < 0 ||
        (server.virtio_console_fd > 0 &&
         epoll_set(epfd, EPOLL_CTL_ADD, server.virtio_console_fd, EPOLLIN | EPOLLRDHUP) < 0) ||
        epoll_set(epfd, EPOLL_CTL_ADD, DMFD_DMOP, EPOLLRDHUP) < 0 ||
        epoll_set(epfd, EPOLL_CTL_ADD, dm_events_enable(dm), EPOLLIN) < 0 ||
        (dm_timer_fd(dm) >= 0 && epoll_set(epfd, EPOLL_CTL_ADD, dm_timer_fd(dm), EPOLLIN) < 0) ||
        (store_dm_fd() >= 0 && epoll_set(epfd, EPOLL_CTL_ADD, store_dm_fd(), EPOLLIN) < 0) ||
        (opt.store && qmp_init(DMFD_DMOP) >= 0 &&
         epoll_set(epfd, EPOLL_CTL_ADD, DMFD_QMP, EPOLLIN) < 0))
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
    serve(&server, dm, epfd, opt.spin_us, opt.poll_us);
}

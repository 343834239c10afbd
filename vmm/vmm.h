/* stubvmm internals.  One header for the monitor's core, Solo5-hvt style:
 * every function documented with who owns what.  vmm/monitor.h is the
 * layer above (one guest with its device model, consoles and sockets).
 *
 *   kvm.c       VM, guest RAM, the checked guest-address helper
 *   cpu.c       vCPU creation and boot state (CPUID, MSRs, LAPIC, PVH entry)
 *   boot.c      direct boot: recognise the kernel, place the ramdisk (boot.h)
 *   pvh.c       PVH ELF loading and hvm_start_info
 *   bzimage.c   Linux bzImage: zero page, page tables, GDT for startup_64
 *   cpuid.c     the CPUID policy the vCPUs get (lib/cpuid.h names the bits)
 *   firmware.c  firmware (SeaBIOS) mapping and the reset-vector vCPU state
 *   vcpu.c      the vCPU threads and their exit handling; stopping
 *   pause.c     pause references (toolstack, device model, monitor)
 *   iobus.c     routing of port/MMIO/PCI-config accesses to the ioreq server
 *   ioreq.c     the monitor's side of the shared ioreq page
 *   dmop.c      dm_op validation and dispatch (every placement)
 *   dmproc.c    spawning and serving stubdm (process, stubdom)
 *   dm_words.c  the device model's descriptors and (standalone) its words
 *   inline.c    the device model inside stubvmm (inline)
 *   snapshot.c, snapshot_fmt.c   the VM's part of a save file
 *   options.c   the guest options of the command line
 *   main.c      the command line of both modes; everything else is monitor.h's
 *
 * Threads: the main thread runs the event loop (monitor.h); each vCPU has a
 * thread.  The ioreq server state (ranges, eventfds) is changed by the main
 * thread (or, inline, by the vCPU thread holding the device lock) under
 * io_lock, read by vCPU threads.
 */
#ifndef STUBVISOR_VMM_H
#define STUBVISOR_VMM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/dmfds.h"
#include "lib/dmop.h"
#include "lib/ioreq.h"
#include "lib/spin.h"
#include "vmm/sandbox_api.h"

#define VMM_MIN_MEMORY_MIB 2
#define VMM_MAX_MEMORY_MIB 3072 /* RAM stays below the 32-bit PCI hole */
#define VMM_MAX_VCPUS      IOREQ_MAX_VCPUS
#define VMM_NR_GSIS        24 /* the in-kernel IOAPIC's pins */
#define VMM_LAPIC_BASE     0xfee00000ull
#define VMM_IOAPIC_BASE    0xfec00000ull
#define VMM_MAX_DEV_FDS    (DMFD_MAX_DISKS + DMFD_MAX_NICS + 4)

/* Exit statuses besides the guest's own (0..255 from port 0xf4 fit in
 * the same byte, so these are only used when the guest did not choose). */
enum {
    VMM_EXIT_GUEST_CRASH = 101,  /* triple fault, emulation failure, reboot */
    VMM_EXIT_DM_FAILED = 102,    /* device model died or broke the protocol */
    VMM_EXIT_GUEST_REBOOT = 103, /* the guest reset itself (i8042, port 0x92) */
};

enum vmm_placement { PLACEMENT_INLINE, PLACEMENT_PROCESS, PLACEMENT_STUBDOM };

/* Who holds a pause (pause.c).  Each takes and drops its own references. */
enum vmm_pause_holder {
    VMM_PAUSE_TOOLSTACK, /* stubctl pause, save, a guest created paused */
    VMM_PAUSE_DM,        /* the device model's dm_op (QMP stop) */
    VMM_PAUSE_MONITOR,   /* the monitor: a dead device model, the start-up */
    VMM_PAUSE_HOLDERS
};
#define VMM_PAUSE_MAX_REFS 255 /* per holder, as Xen's controller pause count */
/* How vCPU 0 enters a directly booted kernel (firmware: firmware.c). */
enum vmm_boot_mode {
    VMM_BOOT_PVH,     /* 32-bit protected mode, %ebx = hvm_start_info */
    VMM_BOOT_LINUX64, /* long mode at startup_64, %rsi = the zero page */
};

struct vmm;

struct vcpu {
    struct vmm *vmm;
    unsigned id;
    int fd;
    struct kvm_run *run;
    pthread_t thread;
    bool started;
    int efd;                 /* DM -> this vCPU: reply ready (process placements) */
    struct spin_budget spin; /* how long to spin for the next answer */
    /* vmm_pause_sync(): the last request this thread answered, and how. */
    unsigned sync_seen;
    int sync_rc;
    bool holding;      /* in vmm_pause_wait(), or gone */
    bool gone;         /* the thread has ended */
    _Atomic pid_t tid; /* the thread's id once it runs, for `vcpus` (control.c) */
    /* Its /proc stat and status, opened before the lockdown (-1: not). */
    int sched_fds[2];
};

/* A range an ioreq server claimed (inclusive bounds). */
struct io_range {
    uint32_t type; /* DMOP_IO_RANGE_* */
    uint32_t flags;
    uint64_t start, end;
};

/* An ioeventfd or irqfd registered through dm_op. */
struct io_eventfd {
    bool is_irqfd;
    uint32_t type; /* ioeventfd: DMOP_IO_RANGE_PORT/_MEMORY */
    uint64_t addr;
    uint32_t len;
    uint64_t datamatch;
    uint32_t flags; /* irqfd: DMOP_FD_RESAMPLE when it has a resample_fd */
    uint32_t gsi;
    int fd;
    int resample_fd;
};

/* An MSI route allocated through dm_op (what its GSI's irqfd sends). */
struct msi_route {
    bool used;
    uint32_t addr, data;
};

/* The one ioreq server a guest has (Xen allows several; one is enough for
 * one device model per guest). */
struct ioreq_server_state {
    bool created, enabled, bufioreq;
    unsigned nr_ranges;
    struct io_range ranges[DMOP_MAX_RANGES];
    unsigned nr_eventfds; /* ioeventfds and irqfds, each kind within its own limit */
    struct io_eventfd eventfds[DMOP_MAX_IOEVENTFDS + DMOP_MAX_IRQFDS];
    /* MSI routes: route i is GSI DMOP_MSI_GSI_BASE + i. */
    unsigned nr_msi_routes, msi_routes_allocated;
    struct msi_route msi_routes[DMOP_MAX_MSI_ROUTES];
};

struct vmm {
    int kvm_fd, vm_fd;
    int ram_fd;
    uint8_t *ram;
    uint64_t ram_size;
    size_t run_size;
    unsigned nr_vcpus;
    struct vcpu vcpus[VMM_MAX_VCPUS];
    enum vmm_boot_mode boot_mode;
    uint32_t entry, start_info; /* entry point; hvm_start_info or zero page address */
    /* The CPUID every vCPU gets (its APIC ids aside): cpuid.c.  malloc'd. */
    struct kvm_cpuid2 *cpuid;
    enum vmm_placement placement;

    /* I/O routing */
    pthread_rwlock_t io_lock;
    struct ioreq_server_state server;
    _Atomic uint32_t pci_cf8; /* the CONFIG_ADDRESS latch at 0xcf8 */
    uint8_t pci_link_irq[4];  /* set_pci_link_route */
    unsigned nr_inject_msi;   /* inject_msi dm_ops handled: logged at exit */
    unsigned nr_set_irq;      /* set_isa_irq / set_pci_intx dm_ops: logged at exit */

    /* Shared ioreq pages (process placements), created with the server. */
    int shm_fd, notify_fd;
    uint8_t *shm;
    pthread_mutex_t buf_lock; /* producers of the buffered ring */
    uint32_t buf_write;       /* our own copy of the ring's write pointer */
    unsigned spin_us;         /* how long a vCPU spins for an answer */
    unsigned dm_spin_us;      /* how long the DM spins for the next request */
    int dm_poll_us;           /* how long it polls a kicked queue; -1: its default */

    /* Inline placement: the device model and the lock that serialises it. */
    struct vmm_inline *inl;

    /* Stopping: the first vmm_stop() wins and sets the exit status.
     * crash_reason: what the device model said of a crash ("guest
     * panicked"), set before its stop; NULL otherwise. */
    const char *crash_reason;
    atomic_int stopping;
    atomic_bool dm_dead;
    int exit_status;
    int stop_efd;

    /* The device model's devices (docs/devices.md): their description,
     * the dm-argv words ("stubdm" first; none when stubdm reads them from
     * the store), and the descriptors the -device words take, in the
     * words' order (disk images, NIC back ends, console sockets), opened
     * here: the device model opens nothing.  stubvmm hands both over and
     * never interprets a word (vmm/dm_words.c). */
    char **dm_words;
    unsigned nr_dm_words;
    int dev_fds[VMM_MAX_DEV_FDS];
    unsigned nr_dev_fds;

    /* Serial: the guest's COM1 output goes to out_fd; in_fd feeds it. */
    int in_fd, out_fd;
    atomic_bool in_eof; /* in_fd reached its end (inline: seen by the DM's read) */

    /* Toolstack-managed mode: the device model's store connection (handed to
     * stubdm as DMFD_STORE, then closed here), or -1. */
    int dm_store_fd;
    /* ... and its consoles 1 and 2 (save and restore streams), -1: /dev/null. */
    int dm_save_fd, dm_restore_fd;
    int dm_qmp_fd; /* its end of the QMP relay, or -1 */
    /* vCPUs hold still (pause.c) while set: while any pause reference is
     * held.  pause_refs is pause.c's, under its lock. */
    atomic_bool paused;
    unsigned pause_refs[VMM_PAUSE_HOLDERS];
    /* Written (eventfd) when every started vCPU holds still, -1: nobody
     * asks (pause.c; the main loop watches it). */
    int hold_efd;
    /* The kind of file an eventfd is (fstat's st_dev and type), noted
     * before any lockdown: dm_ops check resample descriptors against it. */
    dev_t eventfd_dev;
    unsigned eventfd_type;
};

/* ---- kvm.c ---- */

/* Put *vmm in its empty state: zeroes, every descriptor -1, locks ready.
 * Enough for dm_op dispatch without KVM (tests, fuzzers). */
void vmm_init(struct vmm *vmm);

/* Open /dev/kvm, create the VM (in-kernel irqchip, PIT) and memory_mib MiB
 * of guest RAM backed by a memfd, mapped at guest-physical 0, and the
 * eventfds stop_efd and hold_efd.  Initialises every descriptor in *vmm to
 * -1 first, so vmm_destroy() is always safe.  Returns 0 or a negative
 * errno (logged). */
int vmm_create(struct vmm *vmm, unsigned memory_mib);

/* Release what vmm_create() and later set-up made (vCPUs, RAM, server
 * state and its descriptors).  Threads must have been joined. */
void vmm_destroy(struct vmm *vmm);

/* The host address of guest-physical [gpa, gpa + len), or NULL if any byte
 * lies outside guest RAM.  Overflow-safe; the only way monitor code turns a
 * guest address into a pointer. */
void *gpa_ptr(struct vmm *vmm, uint64_t gpa, uint64_t len);

/* ---- cpu.c ---- */

/* Create nr vCPUs with CPUID (vmm->cpuid, made by vmm_cpuid_init() if not
 * yet), MSRs and LAPIC set, vCPU 0 at the kernel's entry as
 * vmm->boot_mode says (PVH: flat 32-bit protected mode, %ebx = start_info;
 * Linux: long mode, %rsi = zero page); the others wait for INIT/SIPI in
 * the kernel.  Returns 0 or -errno (logged). */
int vmm_create_vcpus(struct vmm *vmm, unsigned nr);

/* ---- cpuid.c ---- */

/* The guest's CPUID: KVM_GET_SUPPORTED_CPUID less what stubvisor does not
 * support (lib/cpuid.h), then the cpuid= settings (libxl's string form,
 * NULL or "" for none).  Sets vmm->cpuid.  0 or -errno (logged). */
int vmm_cpuid_init(struct vmm *vmm, const char *settings);

/* A restore: the CPUID the guest saw (nent entries, untrusted, from the
 * save file) replaces vmm->cpuid, unless the guest saw a feature this host
 * cannot give it: then -ENOTSUP with the feature named in err.  Call before
 * vmm_create_vcpus() or re-apply with vmm_cpuid_apply(). */
int vmm_cpuid_adopt(struct vmm *vmm, const struct kvm_cpuid_entry2 *e, uint32_t nent, char *err,
                    size_t errlen);

/* Give vCPU v vmm->cpuid with its own APIC ids.  0 or -errno. */
int vmm_cpuid_apply(struct vcpu *v);

/* ---- boot.c ---- */

/* Load a kernel for direct boot: a PVH ELF (an ELF with Xen's PHYS32_ENTRY
 * note) or a Linux bzImage (64-bit boot protocol), with its command line
 * and optional ramdisk (initrd NULL: none; PVH: hvm_start_info module 0;
 * bzImage: ramdisk_image/size).  image and initrd are untrusted.  Anything
 * else is refused naming the formats taken.  Sets vmm->boot_mode, entry,
 * start_info.  Returns 0 or -errno with a message logged. */
int vmm_load_guest(struct vmm *vmm, const uint8_t *image, size_t size, const char *cmdline,
                   const uint8_t *initrd, size_t initrd_size);

/* Map a file read-only (a ramdisk): its bytes and *size, or NULL with a
 * message logged naming `what` and path.  Release with vmm_unmap_file(). */
const uint8_t *vmm_map_file(const char *what, const char *path, size_t *size);
void vmm_unmap_file(const uint8_t *p, size_t size);

/* ---- vcpu.c ---- */

/* Start one thread per vCPU.  Returns 0 or -errno. */
int vmm_start_vcpus(struct vmm *vmm);

/* Make a started vCPU's thread leave KVM_RUN, or not enter it: sets
 * immediate_exit, then signals the thread.  Any thread. */
void vmm_kick_vcpu(struct vcpu *v);

/* Ask every vCPU to leave KVM_RUN and any wait for the device model, then
 * join the threads.  Called from the main thread after vmm_stop(). */
void vmm_join_vcpus(struct vmm *vmm);

/* Stop the guest with `status` (the first caller wins; later calls are
 * ignored) and wake the main loop.  Thread-safe, async-signal-unsafe. */
void vmm_stop(struct vmm *vmm, int status);

/* ---- pause.c ---- */

/* Take one of who's pause references.  The first reference anybody holds
 * makes every started vCPU leave KVM_RUN (or finish the access it is in)
 * and wait; vCPUs started later wait from the start.  Returns 0 or
 * -EOVERFLOW (VMM_PAUSE_MAX_REFS held already).  Any thread. */
int vmm_pause_get(struct vmm *vmm, enum vmm_pause_holder who);

/* Drop one of who's references; the vCPUs run again when nobody holds one.
 * Returns 0, or -EALREADY when who holds none (nothing changes).  Any
 * thread. */
int vmm_pause_put(struct vmm *vmm, enum vmm_pause_holder who);

/* who's references; the holders as a mask of 1 << enum vmm_pause_holder;
 * their names ("toolstack", "device-model", "monitor"), and all holders as
 * "toolstack,device-model" in buf ("" when none). */
unsigned vmm_pause_refs(struct vmm *vmm, enum vmm_pause_holder who);
unsigned vmm_pause_holders(struct vmm *vmm);
const char *vmm_pause_holder_name(enum vmm_pause_holder who);
void vmm_pause_describe(struct vmm *vmm, char *buf, size_t len);

/* Called by a vCPU thread that found vmm->paused set: waits for the end of
 * the pause (or for the guest to stop), answering vmm_pause_sync(). */
void vmm_pause_wait(struct vcpu *v);

/* Wake every vCPU waiting in vmm_pause_wait() to look at its flags again
 * (after vmm_stop()). */
void vmm_pause_wake(struct vmm *vmm);

/* With the vCPUs paused: have each started vCPU's own thread finish the
 * port or MMIO access it last exited for (KVM_RUN with immediate_exit set,
 * as KVM requires before its state is read or saved) and wait until every
 * one is holding still.  Returns 0, -ETIMEDOUT if a vCPU did not come
 * within timeout_ms, or the first vCPU's error.  Main thread. */
int vmm_pause_sync(struct vmm *vmm, unsigned timeout_ms);

/* Whether every started vCPU is holding still in vmm_pause_wait(): none is
 * inside KVM_RUN or waiting for the device model's answer.  When that
 * becomes true, vmm->hold_efd is written. */
bool vmm_vcpus_holding(struct vmm *vmm);

/* Wait until every started vCPU holds still (with a pause held).  Returns
 * 0 or -ETIMEDOUT.  Main thread. */
int vmm_vcpus_wait_holding(struct vmm *vmm, unsigned timeout_ms);

/* The vCPU's thread is ending: it counts as holding still from now on. */
void vmm_vcpu_gone(struct vcpu *v);

/* ---- iobus.c ---- */

/* Handle a port-I/O exit (string I/O included) / an MMIO exit of vcpu:
 * decode 0xcf8/0xcfc, route claimed accesses, answer unclaimed ones
 * (all-ones reads, dropped writes).  Returns 0, or -ESHUTDOWN when the
 * guest is being stopped (the vCPU thread then ends). */
int iobus_pio(struct vcpu *vcpu);
int iobus_mmio(struct vcpu *vcpu);

/* Whether an enabled server claims all of [addr, addr + size) of `type`
 * (DMOP_IO_RANGE_*); if so *flags gets the range's flags.  Takes io_lock. */
bool iobus_lookup(struct vmm *vmm, uint32_t type, uint64_t addr, uint64_t size, uint32_t *flags);

/* ---- ioreq.c ---- */

/* Create the shared ioreq pages and eventfds for nr_vcpus (on
 * create_ioreq_server in the process placements).  Returns 0 or -errno. */
int ioreq_shm_create(struct vmm *vmm);
void ioreq_shm_destroy(struct vmm *vmm);

/* Send one request for vcpu and wait for the answer.  req carries addr,
 * size, count, dir, type, flags and (writes) data; string data is in the
 * vCPU's bounce page.  On return req->data holds a read's value.  Returns 0,
 * -ESHUTDOWN if the guest is stopping or the DM died, or -EPROTO after a
 * protocol violation (the guest has been stopped with a message). */
int ioreq_send(struct vcpu *vcpu, struct ioreq *req);

/* Queue a posted write in the buffered ring.  Returns 0, or -ENOSPC when the
 * ring is full (the caller then sends it synchronously). */
int ioreq_post(struct vmm *vmm, uint8_t type, uint64_t addr, uint32_t size, uint32_t data);

/* Wake the device model if posted writes wait in the ring.  The main loop
 * calls it at least every VMM_POSTED_FLUSH_MS. */
void ioreq_flush_posted(struct vmm *vmm);
#define VMM_POSTED_FLUSH_MS 5

/* The vCPU's bounce page in the shared memory. */
uint8_t *ioreq_bounce(struct vmm *vmm, unsigned vcpu);

/* ---- dmop.c ---- */

/* Static checks of one dm_op: op known, ranges within bounds, IRQ/GSI
 * numbers, MSI address.  Needs no state besides RAM size.  Returns 0 or
 * -EINVAL/-EOPNOTSUPP/-EPERM. */
int dmop_validate(const struct dmop_req *req, uint64_t ram_size);

/* Validate and carry out one dm_op, filling *rep (op, rc and payload).
 * fd_in is the descriptor that came with the message or -1; it is consumed
 * (kept or closed) in every case.  For GET_IOREQ_SERVER_INFO, fds_out gets
 * the descriptors to send back (owned by vmm, do not close) and *nfds_out
 * their number.  Never fails as a whole: errors go in rep->rc.  Caller is
 * the main thread or the inline device model; takes io_lock itself. */
void dmop_dispatch(struct vmm *vmm, const struct dmop_req *req, int fd_in, struct dmop_reply *rep,
                   int *fds_out, size_t *nfds_out);
/* The same with up to two descriptors (IRQFD with DMOP_FD_RESAMPLE takes
 * two; any other op refuses a second).  All of fds_in are consumed. */
void dmop_dispatch_fds(struct vmm *vmm, const struct dmop_req *req, const int *fds_in, size_t nin,
                       struct dmop_reply *rep, int *fds_out, size_t *nfds_out);

/* Forget the server: ranges, eventfds (unregistered from KVM, closed) and
 * shared pages. */
void dmop_server_destroy(struct vmm *vmm);

/* ---- dmproc.c ---- */

/* stubdm running as a process of its own (process, stubdom). */
struct dm_process {
    struct sandbox_child child;
    int dmop_fd;    /* our end of the dm_op channel */
    int console_fd; /* our end of console 3 (COM1), non-blocking */
    bool reaped;
    /* The monitor may no longer remove directories (it is locked down):
     * the cgroup stays for sandbox_cgroup_sweep(). */
    bool cgroup_stays;
};

/* Open the stubdm binary O_PATH: "stubdm" next to /proc/self/exe (the
 * installation puts both in libexec/stubvisor).  Done early, before any untrusted input.  Returns
 * the descriptor or -errno (logged). */
int dm_exe_open(void);

/* Spawn stubdm from exe_fd at the placement's sandbox level with its
 * descriptors (lib/dmfds.h).  dm_spin_us and fault (NULL: none) become its
 * arguments.  Fills *p; returns 0 or -errno (logged). */
int dm_process_spawn(struct vmm *vmm, struct dm_process *p, int exe_fd, const char *fault);

/* Receive and answer one dm_op.  Returns 0, or -EPIPE when the device
 * model closed the channel, or another -errno on a channel failure. */
int dm_process_serve(struct vmm *vmm, struct dm_process *p);

/* The device model's pidfd became readable: reap it and say how it ended
 * (e.g. "killed by signal 9") in buf.  Returns 0 or -errno. */
int dm_process_reap(struct dm_process *p, char *buf, size_t len);

/* Kill (SIGKILL) and reap the device model if still there, and release
 * everything in *p (its cgroup removed unless cgroup_stays).  Idempotent. */
void dm_process_destroy(struct dm_process *p);

/* ---- dm_words.c ---- */

/* Open a backend and append its descriptor to vmm->dev_fds: a disk image
 * (PATH[,ro]), a NIC back end (udp:LPORT:RPORT, unix:PATH, tap:IFNAME), a
 * virtio console's host side (unix:PATH, connected here; "none", a socket
 * whose peer is gone; NULL, a socket pair whose other end is returned, for
 * a console stubvmm serves itself).  Die on error (start-up).  The console
 * returns our end or -1. */
void vmm_open_disk(struct vmm *vmm, const char *spec);
void vmm_open_nic(struct vmm *vmm, const char *spec);
int vmm_open_console(struct vmm *vmm, const char *spec);

/* Standalone: open the backends of a guest's options and make the words
 * that describe its devices (-m, -smp, -serial, -bios, then -device words
 * for the disks, the NICs, the virtio console (vcon: its spec, NULL for
 * none) and the RNG, in that order, the descriptors in the same).  Dies on
 * error. */
struct vmm_guest_options;
void vmm_dm_words_standalone(struct vmm *vmm, const struct vmm_guest_options *o, const char *vcon);

/* Keep a copy of words ("stubdm" first) as the device model's.  Dies when
 * out of memory. */
void vmm_dm_words_set(struct vmm *vmm, const char *const *words, unsigned n);

/* Close the descriptors not handed over yet and drop the words. */
void vmm_dm_words_dispose(struct vmm *vmm);

/* ---- inline.c ---- */

/* Create the inline device model: devices registered through dmop_dispatch.
 * Returns 0 or -errno (logged). */
int inline_dm_create(struct vmm *vmm);
void inline_dm_destroy(struct vmm *vmm);

/* Run one access on the inline device model, serialised by its lock. */
void inline_dm_access(struct vmm *vmm, uint32_t type, uint64_t addr, uint8_t *data, uint32_t size,
                      bool is_write);

/* The inline device model's timerfd (-1 if none), and running what is
 * due when it is readable (main thread, under the device lock). */
int inline_dm_timer_fd(struct vmm *vmm);
void inline_dm_timer_poll(struct vmm *vmm);

/* The inline device model's state (dm/state.h) under its lock: quiesce
 * and save into a malloc'd blob, or load one (untrusted).  0 or -errno. */
int inline_dm_save(struct vmm *vmm, uint8_t **blob, size_t *len);
int inline_dm_load(struct vmm *vmm, const uint8_t *blob, size_t len);

/* Feed guest serial input (stdin became readable, or a retry).  Returns
 * true if the device is full and input is left waiting. */
bool inline_dm_console_poll(struct vmm *vmm);

/* The descriptor the main loop polls for the inline devices' watched
 * descriptors (-1 if none), and the call to make when it is readable
 * (under the device lock). */
int inline_dm_events_fd(struct vmm *vmm);
void inline_dm_events_run(struct vmm *vmm);

#endif

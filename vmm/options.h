/* The options both of stubvmm's modes take (docs/stubvmm.md): what guest to
 * run and with which devices.  main.c (standalone) and managed.c (under
 * the toolstack) each add their own and hand every other word here, so the
 * guest's options are spelled and checked one way. */
#ifndef STUBVISOR_VMM_OPTIONS_H
#define STUBVISOR_VMM_OPTIONS_H

#include <stdbool.h>

#include "vmm/vmm.h"

/* A descriptor the device model's devices get: what to open. */
enum vmm_backend_kind {
    VMM_BACKEND_DISK,    /* --disk PATH[,ro]: an image */
    VMM_BACKEND_NIC,     /* --nic SPEC: a NIC back end */
    VMM_BACKEND_CONSOLE, /* a virtio console's host side (each mode spells it its own way) */
};

struct vmm_backend {
    enum vmm_backend_kind kind;
    const char *spec;
};

struct vmm_guest_options {
    const char *kernel;   /* a PVH ELF or a bzImage ... */
    const char *firmware; /* ... or "seabios" or a firmware path */
    const char *cmdline;
    const char *ramdisk; /* with kernel: an initrd, or NULL */
    const char *cpuid;   /* libxl's cpuid= string (lib/cpuid.h), or NULL */
    unsigned memory_mib, vcpus;
    enum vmm_placement placement;
    /* In the order given: under the toolstack, the order of the -device
     * words that take them. */
    struct vmm_backend backends[VMM_MAX_DEV_FDS];
    unsigned nr_backends, nr_disks, nr_nics;
    bool rng;
};

/* Prints why (if not NULL) and the mode's usage, and exits 100: it must
 * not return (C11 cannot say so in a pointer's type). */
typedef void (*vmm_usage_fn)(const char *why);

/* The defaults: 64 MiB, 1 vCPU, empty cmdline, stubdom. */
void vmm_guest_options_init(struct vmm_guest_options *o);

/* If word a is one of the guest options, take it and (when it has one) its
 * value v (NULL if a is the last word): returns the words used, 1 or 2, or
 * 0 when a is not a guest option.  A bad or missing value calls usage. */
int vmm_guest_option(struct vmm_guest_options *o, const char *a, const char *v, vmm_usage_fn usage);

/* Append a backend (usage() when there are too many). */
void vmm_guest_add_backend(struct vmm_guest_options *o, enum vmm_backend_kind kind,
                           const char *spec, vmm_usage_fn usage);

/* A decimal number in [min, max], or usage. */
unsigned vmm_option_uint(const char *s, unsigned min, unsigned max, const char *what,
                         vmm_usage_fn usage);

#endif

/* The options both of stubvmm's modes take (options.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bootimage.h"
#include "vmm/options.h"

void vmm_guest_options_init(struct vmm_guest_options *o)
{
    *o = (struct vmm_guest_options){
        .memory_mib = 64, .vcpus = 1, .cmdline = "", .placement = PLACEMENT_STUBDOM};
}

unsigned vmm_option_uint(const char *s, unsigned min, unsigned max, const char *what,
                         vmm_usage_fn usage)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || end == s || *end || *s == '-' || v < min || v > max) {
        fprintf(stderr, "stubvmm: %s must be a number from %u to %u\n", what, min, max);
        usage(NULL);
        return min;
    }
    return (unsigned)v;
}

int vmm_guest_option(struct vmm_guest_options *o, const char *a, const char *v, vmm_usage_fn usage)
{
    static const char *const with_value[] = {"--kernel",  "--firmware", "--memory", "--vcpus",
                                             "--cmdline", "--dm",       "--disk",   "--nic",
                                             "--ramdisk", "--cpuid"};
    bool known = false;

    if (strcmp(a, "--rng") == 0) {
        o->rng = true;
        return 1;
    }
    for (size_t i = 0; i < sizeof(with_value) / sizeof(with_value[0]); i++)
        known = known || strcmp(a, with_value[i]) == 0;
    if (!known)
        return 0;
    if (!v) {
        usage("option needs a value");
        return 0;
    }
    if (strcmp(a, "--kernel") == 0) {
        o->kernel = v;
    } else if (strcmp(a, "--firmware") == 0) {
        o->firmware = v;
    } else if (strcmp(a, "--ramdisk") == 0) {
        o->ramdisk = v;
    } else if (strcmp(a, "--cpuid") == 0) {
        o->cpuid = v;
    } else if (strcmp(a, "--memory") == 0) {
        o->memory_mib = vmm_option_uint(v, VMM_MIN_MEMORY_MIB, VMM_MAX_MEMORY_MIB, a, usage);
    } else if (strcmp(a, "--vcpus") == 0) {
        o->vcpus = vmm_option_uint(v, 1, VMM_MAX_VCPUS, a, usage);
    } else if (strcmp(a, "--cmdline") == 0) {
        if (strlen(v) > BOOT_CMDLINE_MAX)
            usage("--cmdline is too long");
        o->cmdline = v;
    } else if (strcmp(a, "--dm") == 0) {
        if (strcmp(v, "stubdom") == 0)
            o->placement = PLACEMENT_STUBDOM;
        else if (strcmp(v, "process") == 0)
            o->placement = PLACEMENT_PROCESS;
        else if (strcmp(v, "inline") == 0)
            o->placement = PLACEMENT_INLINE;
        else
            usage("--dm must be stubdom, process or inline");
    } else if (strcmp(a, "--disk") == 0) {
        if (o->nr_disks++ == DMFD_MAX_DISKS)
            usage("too many --disk options");
        vmm_guest_add_backend(o, VMM_BACKEND_DISK, v, usage);
    } else { /* --nic */
        if (o->nr_nics++ == DMFD_MAX_NICS)
            usage("too many --nic options");
        vmm_guest_add_backend(o, VMM_BACKEND_NIC, v, usage);
    }
    return 2;
}

void vmm_guest_add_backend(struct vmm_guest_options *o, enum vmm_backend_kind kind,
                           const char *spec, vmm_usage_fn usage)
{
    if (o->nr_backends == VMM_MAX_DEV_FDS)
        usage("too many devices");
    o->backends[o->nr_backends++] = (struct vmm_backend){kind, spec};
}

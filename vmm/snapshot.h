/* Save and restore of the monitor's side of a guest: the in-kernel devices
 * (PIC, IOAPIC, PIT), the KVM clock, the PCI CF8 latch, every vCPU, and
 * guest RAM, in the sections of lib/savefile.h.
 *
 *   snapshot_fmt.c  the VM and VCPU payloads <-> structs; no ioctls, so the
 *                   fuzzer reaches the parsers (every field of a file is
 *                   untrusted and checked there)
 *   snapshot.c      the KVM ioctls, guest RAM, writing and loading a file
 */
#ifndef STUBVISOR_VMM_SNAPSHOT_H
#define STUBVISOR_VMM_SNAPSHOT_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/savefile.h"

struct vmm;

/* Record tags of the VM payload. */
enum {
    SNAP_VM_PIC_MASTER = 1, /* struct kvm_irqchip, chip_id 0 */
    SNAP_VM_PIC_SLAVE = 2,  /* struct kvm_irqchip, chip_id 1 */
    SNAP_VM_IOAPIC = 3,     /* struct kvm_irqchip, chip_id 2 */
    SNAP_VM_PIT2 = 4,       /* struct kvm_pit_state2 */
    SNAP_VM_CLOCK = 5,      /* struct kvm_clock_data */
    SNAP_VM_PCI_CF8 = 6,    /* u32 */
    SNAP_VM_CPUID = 7,      /* u32 count, u32 0, count * struct kvm_cpuid_entry2 */
};

/* Record tags of a VCPU payload. */
enum {
    SNAP_VCPU_REGS = 1,      /* struct kvm_regs */
    SNAP_VCPU_SREGS = 2,     /* struct kvm_sregs */
    SNAP_VCPU_FPU = 3,       /* struct kvm_fpu (no XSAVE) */
    SNAP_VCPU_XSAVE = 4,     /* the XSAVE area, 4096 bytes or more */
    SNAP_VCPU_XCRS = 5,      /* struct kvm_xcrs */
    SNAP_VCPU_MSRS = 6,      /* u32 count, u32 0, count * struct kvm_msr_entry */
    SNAP_VCPU_LAPIC = 7,     /* struct kvm_lapic_state */
    SNAP_VCPU_EVENTS = 8,    /* struct kvm_vcpu_events */
    SNAP_VCPU_MP_STATE = 9,  /* struct kvm_mp_state */
    SNAP_VCPU_DEBUGREGS = 10 /* struct kvm_debugregs */
};

#define SNAP_MAX_MSRS  1024
#define SNAP_MAX_CPUID 256   /* CPUID entries: KVM gives ~60 today */
#define SNAP_MAX_XSAVE 16384 /* KVM_CAP_XSAVE2 sizes seen so far are ~11 KiB */

struct vm_snap {
    uint64_t memory_bytes;
    uint32_t nr_vcpus;
    uint32_t placement; /* enum savefile_placement */
    struct kvm_irqchip pic_master, pic_slave, ioapic;
    struct kvm_pit_state2 pit;
    struct kvm_clock_data clock;
    uint32_t pci_cf8;
    /* The CPUID the guest saw (vCPU 0's APIC ids aside); 0 entries in
     * files written before it was saved. */
    uint32_t cpuid_nent;
    struct kvm_cpuid_entry2 cpuid[SNAP_MAX_CPUID];
};

struct vcpu_snap {
    uint32_t id;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    bool has_xsave, has_xcrs;
    struct kvm_fpu fpu;
    uint32_t xsave_len;
    _Alignas(64) uint8_t xsave[SNAP_MAX_XSAVE];
    struct kvm_xcrs xcrs;
    uint32_t nr_msrs;
    struct kvm_msr_entry msrs[SNAP_MAX_MSRS];
    struct kvm_lapic_state lapic;
    struct kvm_vcpu_events events;
    struct kvm_mp_state mp_state;
    struct kvm_debugregs debugregs;
};

/* Payloads (head and records, malloc'd).  0 or -ENOMEM. */
int vm_snap_encode(const struct vm_snap *s, uint8_t **buf, size_t *len);
int vcpu_snap_encode(const struct vcpu_snap *s, uint8_t **buf, size_t *len);

/* Parse an untrusted payload: every record known, of its exact size, once;
 * every required one present; counts and ids in range.  0, or -EINVAL with
 * a sentence in err. */
int vm_snap_parse(const uint8_t *buf, size_t len, struct vm_snap *s, char *err, size_t errlen);
int vcpu_snap_parse(const uint8_t *buf, size_t len, uint32_t nr_vcpus, struct vcpu_snap *s,
                    char *err, size_t errlen);

/* ---- snapshot.c: with KVM.  The vCPUs must be paused and their pending
 * I/O completed (vmm_pause_sync) or never started. */

/* Write VM, VCPU (each), MEMORY, DM (dm_blob, dm_len bytes) and END at fd's
 * offset.  *bytes gets how much was written.  0 or -errno with a sentence
 * in err. */
int snapshot_save(struct vmm *vmm, int fd, const uint8_t *dm_blob, size_t dm_len, uint64_t *bytes,
                  char *err, size_t errlen);

/* Load a checked file (sum from savefile_check) into a VM created with the
 * file's memory size and vCPU count: guest RAM (exactly the file's: what
 * was there before is dropped), every vCPU, the in-kernel devices, the
 * clock and the CF8 latch.  0 or -errno with a sentence in err. */
int snapshot_restore(struct vmm *vmm, int fd, const struct savefile_summary *sum, char *err,
                     size_t errlen);

#endif

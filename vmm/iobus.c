/* Routing guest I/O: port I/O (string I/O included), MMIO, and PCI config
 * cycles through 0xcf8/0xcfc, which the monitor decodes itself (as Xen
 * does) into IOREQ_TYPE_PCI_CONFIG requests: addr = SBDF << 32 | register.
 * Accesses no server claims read all-ones and drop writes. */
#include <errno.h>
#include <string.h>

#include "lib/log.h"
#include "vmm/vmm.h"

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA    0xcfc
#define PCI_CF8_ENABLE     0x80000000u
#define PCI_RESET_CONTROL  0xcf9

bool iobus_lookup(struct vmm *vmm, uint32_t type, uint64_t addr, uint64_t size, uint32_t *flags)
{
    const struct ioreq_server_state *s = &vmm->server;
    uint64_t last = addr + size - 1;
    bool found = false;

    if (size == 0 || last < addr)
        return false;
    pthread_rwlock_rdlock(&vmm->io_lock);
    for (unsigned i = 0; s->enabled && i < s->nr_ranges; i++) {
        const struct io_range *r = &s->ranges[i];
        if (r->type == type && r->start <= addr && last <= r->end) {
            *flags = r->flags;
            found = true;
            break;
        }
    }
    pthread_rwlock_unlock(&vmm->io_lock);
    return found;
}

/* Hand an access of `count` elements of `size` bytes (data: count * size
 * bytes, in access order) to whoever claims it.  key is what the ranges are
 * matched against (the port, the address, or the SBDF for PCI). */
static int route(struct vcpu *v, uint32_t type, uint64_t addr, uint64_t key, uint8_t *data,
                 uint32_t size, uint32_t count, bool is_write)
{
    struct vmm *vmm = v->vmm;
    struct ioreq req = {0};
    uint32_t flags = 0;
    int rc;

    if (!iobus_lookup(vmm, type, key, type == DMOP_IO_RANGE_PCI ? 1 : size, &flags)) {
        if (!is_write)
            memset(data, 0xff, (size_t)size * count);
        return 0;
    }
    if (vmm->placement == PLACEMENT_INLINE) {
        for (uint32_t i = 0; i < count; i++)
            inline_dm_access(vmm, type, addr, data + (size_t)i * size, size, is_write);
        return 0;
    }

    req.addr = addr;
    req.size = size;
    req.count = count;
    req.dir = is_write ? IOREQ_WRITE : IOREQ_READ;
    req.type = (uint8_t)type; /* DMOP_IO_RANGE_* and IOREQ_TYPE_* agree */
    if (count == 1) {
        if (is_write && (flags & DMOP_RANGE_POSTED) && size <= 4 && type != DMOP_IO_RANGE_PCI) {
            uint32_t val = 0;
            memcpy(&val, data, size);
            if (ioreq_post(vmm, req.type, addr, size, val) == 0)
                return 0;
        }
        memcpy(&req.data, data, size);
    } else {
        /* String I/O: the elements travel in the bounce page, one request. */
        if (is_write)
            memcpy(ioreq_bounce(vmm, v->id), data, (size_t)size * count);
        req.flags = IOREQ_F_DATA_IS_PTR;
        req.data = 0;
    }
    rc = ioreq_send(v, &req);
    if (rc < 0)
        return rc;
    if (!is_write) {
        if (count == 1)
            memcpy(data, &req.data, size);
        else
            memcpy(data, ioreq_bounce(vmm, v->id), (size_t)size * count);
    }
    return 0;
}

static int pci_config_pio(struct vcpu *v, uint16_t port, uint8_t *data, uint32_t size,
                          uint32_t count, bool is_write)
{
    struct vmm *vmm = v->vmm;
    uint32_t cf8 = atomic_load(&vmm->pci_cf8);

    if (port == PCI_CONFIG_ADDRESS && size == 4) {
        /* Only whole dwords reach CONFIG_ADDRESS; a string of them leaves
         * the last one latched. */
        if (is_write) {
            memcpy(&cf8, data + (size_t)(count - 1) * 4, 4);
            atomic_store(&vmm->pci_cf8, cf8);
        } else {
            for (uint32_t i = 0; i < count; i++)
                memcpy(data + (size_t)i * 4, &cf8, 4);
        }
        return 0;
    }
    if (port == PCI_RESET_CONTROL && size == 1) {
        /* The PIIX3's reset control register shares the window: bit 2
         * resets (SeaBIOS's last resort before a triple fault). */
        if (is_write && (data[count - 1] & 0x04)) {
            log_info("guest reset through port 0xcf9; stopping (exit status %d)",
                     VMM_EXIT_GUEST_REBOOT);
            vmm_stop(vmm, VMM_EXIT_GUEST_REBOOT);
            return -ESHUTDOWN;
        }
        if (!is_write)
            memset(data, 0, count);
        return 0;
    }
    if (port >= PCI_CONFIG_DATA && (cf8 & PCI_CF8_ENABLE) && (port & 3) + size <= 4) {
        uint64_t sbdf = (cf8 >> 8) & 0xffff;
        uint64_t reg = (cf8 & 0xfc) | (port & 3u);
        return route(v, DMOP_IO_RANGE_PCI, (sbdf << 32) | reg, sbdf, data, size, count, is_write);
    }
    if (!is_write)
        memset(data, 0xff, (size_t)size * count);
    return 0;
}

int iobus_pio(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    struct vmm *vmm = v->vmm;
    uint32_t size = run->io.size, count = run->io.count;
    bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
    uint64_t off = run->io.data_offset, bytes = (uint64_t)size * count;
    uint8_t *data;

    /* KVM keeps string data within the kvm_run area's page; check anyway,
     * the bounce page has the same size. */
    if ((size != 1 && size != 2 && size != 4) || count == 0 || bytes > IOREQ_PAGE_SIZE ||
        off > vmm->run_size || bytes > vmm->run_size - off) {
        log_error("vCPU %u: malformed I/O exit (size %u count %u); guest stopped", v->id, size,
                  count);
        vmm_stop(vmm, VMM_EXIT_GUEST_CRASH);
        return -ESHUTDOWN;
    }
    data = (uint8_t *)run + off;
    if (run->io.port >= PCI_CONFIG_ADDRESS && run->io.port <= PCI_CONFIG_DATA + 3)
        return pci_config_pio(v, run->io.port, data, size, count, is_write);
    return route(v, DMOP_IO_RANGE_PORT, run->io.port, run->io.port, data, size, count, is_write);
}

int iobus_mmio(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    uint32_t len = run->mmio.len;

    if (len != 1 && len != 2 && len != 4 && len != 8) {
        /* Odd widths (from emulated instructions) are not a device's
         * business: unclaimed. */
        if (!run->mmio.is_write)
            memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
        return 0;
    }
    return route(v, DMOP_IO_RANGE_MEMORY, run->mmio.phys_addr, run->mmio.phys_addr, run->mmio.data,
                 len, 1, run->mmio.is_write);
}

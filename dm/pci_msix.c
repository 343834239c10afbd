/* MSI-X capability, table and PBA: see dm/pci_msix.h. */
#include "dm/pci_msix.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/dmop.h"
#include "lib/fdio.h"

static uint16_t msix_control(const struct pci_msix *m)
{
    return (uint16_t)pci_cfg_read(m->dev, m->cap + 2, 2);
}

bool pci_msix_enabled(const struct pci_msix *m)
{
    return (msix_control(m) & PCI_MSIX_FLAGS_ENABLE) != 0;
}

static bool vector_masked(const struct pci_msix *m, unsigned v)
{
    uint16_t ctl = msix_control(m);

    return !(ctl & PCI_MSIX_FLAGS_ENABLE) || (ctl & PCI_MSIX_FLAGS_MASKALL) ||
           (m->table[v].ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

/* Give up on the irqfd of vector v: inject_msi from now on. */
static void irqfd_drop(struct pci_msix *m, unsigned v)
{
    struct pci_msix_irqfd *f = &m->irqfd[v];
    struct dm *dm = m->dev->bus->dm;

    if (f->gsi >= 0)
        dm_msi_route(dm, DMOP_MSI_ROUTE_FREE, (unsigned)f->gsi, 0, 0);
    close_quietly(f->efd);
    f->efd = f->gsi = -1;
}

/* Make vector v's route send the entry's message.  Returns false if the
 * message must go through inject_msi this time. */
static bool irqfd_ready(struct pci_msix *m, unsigned v)
{
    const struct pci_msix_entry *e = &m->table[v];
    struct pci_msix_irqfd *f = &m->irqfd[v];
    struct dm *dm = m->dev->bus->dm;
    int rc;

    if (f->efd < 0)
        return false;
    /* A message the host would refuse anyway: inject_msi says so. */
    if (e->addr_hi != 0 || (e->addr_lo & 0xfff00000u) != 0xfee00000u)
        return false;
    if (f->gsi >= 0 && f->addr == e->addr_lo && f->data == e->data)
        return true;
    if (f->gsi >= 0) {
        rc = dm_msi_route(dm, DMOP_MSI_ROUTE_UPDATE, (unsigned)f->gsi, e->addr_lo, e->data);
    } else {
        rc = dm_msi_route(dm, DMOP_MSI_ROUTE_ALLOC, 0, e->addr_lo, e->data);
        if (rc >= 0) {
            f->gsi = rc;
            rc = dm_irqfd(dm, (unsigned)f->gsi, f->efd, false);
        }
    }
    if (rc < 0) {
        irqfd_drop(m, v); /* out of routes or irqfds: not worth retrying */
        return false;
    }
    f->addr = e->addr_lo;
    f->data = e->data;
    return true;
}

static void deliver(struct pci_msix *m, unsigned v)
{
    const struct pci_msix_entry *e = &m->table[v];
    uint64_t one = 1;

    m->pending &= ~(1ull << v);
    if (irqfd_ready(m, v) && write(m->irqfd[v].efd, &one, sizeof(one)) == sizeof(one))
        return;
    dm_inject_msi(m->dev->bus->dm, ((uint64_t)e->addr_hi << 32) | e->addr_lo, e->data);
}

void pci_msix_notify(struct pci_msix *m, unsigned v)
{
    if (v >= m->nr_vectors)
        return;
    if (vector_masked(m, v))
        m->pending |= 1ull << v;
    else
        deliver(m, v);
}

/* Something may have been unmasked: deliver what is pending and may go. */
static void flush_pending(struct pci_msix *m)
{
    for (unsigned v = 0; v < m->nr_vectors; v++)
        if ((m->pending & (1ull << v)) && !vector_masked(m, v))
            deliver(m, v);
}

int pci_msix_init(struct pci_msix *m, struct pci_dev *d, unsigned cap_off, unsigned nr,
                  unsigned bar, uint32_t table_off, uint32_t pba_off)
{
    const struct pci_bar *b = bar < PCI_NR_BARS ? &d->bars[bar] : NULL;
    int rc;

    if (!b || (b->kind != PCI_BAR_KIND_MEM32 && b->kind != PCI_BAR_KIND_MEM64) || nr == 0 ||
        nr > PCI_MSIX_MAX_VECTORS || (table_off & 7) || (pba_off & 7) ||
        table_off + nr * PCI_MSIX_ENTRY_SIZE > b->size || pba_off + 8 > b->size ||
        (pba_off < table_off + nr * PCI_MSIX_ENTRY_SIZE && table_off < pba_off + 8))
        return -EINVAL;
    rc = pci_cap_add(d, PCI_CAP_ID_MSIX, cap_off, PCI_MSIX_CAP_SIZE);
    if (rc < 0)
        return rc;
    memset(m, 0, sizeof(*m));
    m->dev = d;
    m->cap = cap_off;
    m->nr_vectors = nr;
    m->bar = bar;
    m->table_off = table_off;
    m->pba_off = pba_off;
    for (unsigned v = 0; v < PCI_MSIX_MAX_VECTORS; v++)
        m->irqfd[v].efd = m->irqfd[v].gsi = -1;
    for (unsigned v = 0; v < nr; v++)
        m->table[v].ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT;
    pci_cfg_set(d, cap_off + 2, 2, nr - 1);
    pci_wmask_set(d, cap_off + 2, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    pci_cfg_set(d, cap_off + 4, 4, table_off | bar);
    pci_cfg_set(d, cap_off + 8, 4, pba_off | bar);
    return 0;
}

void pci_msix_use_irqfds(struct pci_msix *m)
{
    if (!m->dev || !m->dev->bus || !dm_has_msi_routes(m->dev->bus->dm))
        return;
    for (unsigned v = 0; v < m->nr_vectors; v++)
        if (m->irqfd[v].efd < 0)
            m->irqfd[v].efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

void pci_msix_config_write(struct pci_msix *m, unsigned reg, uint32_t size)
{
    if (reg < m->cap + 4 && reg + size > m->cap + 2)
        flush_pending(m);
}

static void table_access(struct pci_msix *m, uint64_t off, uint8_t *data, uint32_t size,
                         bool is_write)
{
    unsigned v = (unsigned)(off / PCI_MSIX_ENTRY_SIZE);
    unsigned word = (unsigned)(off % PCI_MSIX_ENTRY_SIZE) / 4;
    uint32_t *e = &m->table[v].addr_lo;

    for (uint32_t i = 0; i < size; i += 4, word++) {
        uint32_t val;
        if (is_write) {
            memcpy(&val, data + i, 4);
            if (word == 3)
                val &= PCI_MSIX_ENTRY_CTRL_MASKBIT; /* the rest is reserved */
            e[word] = val;
        } else {
            memcpy(data + i, &e[word], 4);
        }
    }
    if (is_write)
        flush_pending(m);
}

bool pci_msix_bar_access(struct pci_msix *m, unsigned bar, uint64_t off, uint8_t *data,
                         uint32_t size, bool is_write)
{
    uint64_t table_end = m->table_off + (uint64_t)m->nr_vectors * PCI_MSIX_ENTRY_SIZE;

    if (bar != m->bar)
        return false;
    if (off >= m->table_off && off < table_end) {
        /* Only aligned dword and qword accesses are defined. */
        if ((size == 4 || size == 8) && off % size == 0)
            table_access(m, off - m->table_off, data, size, is_write);
        else if (!is_write)
            memset(data, 0xff, size);
        return true;
    }
    if (off >= m->pba_off && off < m->pba_off + 8) {
        uint64_t pba = m->pending;
        unsigned shift = (unsigned)(off - m->pba_off);
        if (!is_write) { /* read-only; writes are dropped */
            for (uint32_t i = 0; i < size; i++)
                data[i] = shift + i < 8 ? (uint8_t)(pba >> (8 * (shift + i))) : 0xff;
        }
        return true;
    }
    return false;
}

void pci_msix_state_save(const struct pci_msix *m, struct srec_w *w)
{
    srec_put_u8(w, (uint8_t)m->nr_vectors);
    for (unsigned v = 0; v < m->nr_vectors; v++) {
        srec_put_u32(w, m->table[v].addr_lo);
        srec_put_u32(w, m->table[v].addr_hi);
        srec_put_u32(w, m->table[v].data);
        srec_put_u32(w, m->table[v].ctrl);
    }
    srec_put_u64(w, m->pending);
}

void pci_msix_state_parse(const struct pci_msix *m, struct pci_msix_state *s, struct srec_r *r)
{
    unsigned nr = srec_get_u8(r);

    srec_check(r, nr == m->nr_vectors, "MSI-X vector count differs");
    for (unsigned v = 0; v < nr && v < PCI_MSIX_MAX_VECTORS; v++) {
        s->table[v].addr_lo = srec_get_u32(r);
        s->table[v].addr_hi = srec_get_u32(r);
        s->table[v].data = srec_get_u32(r);
        s->table[v].ctrl = srec_get_u32(r);
        srec_check(r, !(s->table[v].ctrl & ~(uint32_t)PCI_MSIX_ENTRY_CTRL_MASKBIT),
                   "MSI-X reserved control bits set");
    }
    s->pending = srec_get_u64(r);
    srec_check(r, nr >= 64 || !(s->pending >> nr), "MSI-X pending bit beyond the table");
}

void pci_msix_state_apply(struct pci_msix *m, const struct pci_msix_state *s)
{
    memcpy(m->table, s->table, sizeof(m->table[0]) * m->nr_vectors);
    m->pending = s->pending;
    /* Routes for what the guest may be sent; the rest come on first use
     * (pci_msix_notify) as they do for a guest that just set them up. */
    for (unsigned v = 0; v < m->nr_vectors; v++)
        if (!vector_masked(m, v))
            irqfd_ready(m, v);
    flush_pending(m);
}

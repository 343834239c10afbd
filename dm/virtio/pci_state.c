/* Save/restore of a virtio-pci function (see pci.h). */
#include "dm/virtio/pci.h"

#include <linux/virtio_pci.h>
#include <string.h>

static bool vector_ok(const struct virtio_pci *vp, uint16_t v)
{
    return v == VIRTIO_MSI_NO_VECTOR || v < vp->vd->ops->nr_queues + 1;
}

void virtio_pci_state_save(const struct virtio_pci *vp, struct srec_w *w)
{
    unsigned nr = vp->vd->ops->nr_queues;

    srec_put_u32(w, vp->dfselect);
    srec_put_u32(w, vp->gfselect);
    srec_put_u16(w, vp->queue_sel);
    srec_put_u16(w, vp->msix_config);
    for (unsigned q = 0; q < nr; q++)
        srec_put_u16(w, vp->queue_vector[q]);
    pci_msix_state_save(&vp->msix, w);
    virtio_dev_state_save(vp->vd, w);
}

void virtio_pci_state_parse(const struct virtio_pci *vp, struct virtio_pci_state *s,
                            struct srec_r *r)
{
    unsigned nr = vp->vd->ops->nr_queues;

    s->dfselect = srec_get_u32(r);
    s->gfselect = srec_get_u32(r);
    s->queue_sel = srec_get_u16(r);
    s->msix_config = srec_get_u16(r);
    srec_check(r, vector_ok(vp, s->msix_config), "virtio config vector out of range");
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
        s->queue_vector[q] = q < nr ? srec_get_u16(r) : VIRTIO_MSI_NO_VECTOR;
        srec_check(r, vector_ok(vp, s->queue_vector[q]), "virtio queue vector out of range");
    }
    pci_msix_state_parse(&vp->msix, &s->msix, r);
    s->vd = *vp->vd;
    virtio_dev_state_parse(&s->vd, r);
}

void virtio_pci_state_apply(struct virtio_pci *vp, const struct virtio_pci_state *s)
{
    vp->dfselect = s->dfselect;
    vp->gfselect = s->gfselect;
    vp->queue_sel = s->queue_sel;
    vp->msix_config = s->msix_config;
    memcpy(vp->queue_vector, s->queue_vector, sizeof(vp->queue_vector));
    virtio_dev_state_apply(vp->vd, &s->vd);
    pci_msix_state_apply(&vp->msix, &s->msix);
    virtio_pci_update_kicks(vp);
}

/* A virtio device, transport-neutral (kvmtool's split): the device front
 * end (blk, rng, ...) fills an ops table; a transport (virtio-pci) moves
 * the driver's register accesses into the calls below and turns the
 * interrupts the device raises into MSI-X messages or INTx.
 *
 * Life cycle (virtio 1.x, section 3.1): the driver resets (status 0),
 * sets ACKNOWLEDGE and DRIVER, reads the offered features, writes the ones
 * it wants, sets FEATURES_OK (refused, i.e. the bit does not stick, if it
 * asked for something not offered or left out VERSION_1), sets up queues,
 * sets DRIVER_OK.  From then on the front end's queue_notify() is called
 * when the driver kicks a queue.
 *
 * A driver that breaks a ring gets the device marked broken:
 * DEVICE_NEEDS_RESET in the status, a configuration-change interrupt, and
 * no more queue processing until it writes status 0.
 */
#ifndef STUBVISOR_DM_VIRTIO_H
#define STUBVISOR_DM_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_config.h>

#include "dm/dm.h"
#include "dm/virtio/queue.h"

#define VIRTIO_MAX_QUEUES 8
#define VIRTIO_QUEUE_SIZE 256u /* what we offer; the driver may pick less */
#define VIRTIO_MAX_CONFIG 64u  /* device-specific config bytes */

struct virtio_dev;

/* What a device front end provides.  Each function gets the device; its
 * own state is vd->priv. */
struct virtio_dev_ops {
    const char *name;   /* for the log: "blk", "rng" */
    uint16_t device_id; /* VIRTIO_ID_* */
    unsigned nr_queues;
    uint64_t features; /* device-specific bits offered (ring/version added by the core) */
    uint32_t config_size;
    /* Queues served at once when kicked (requests, transmit; not receive
     * queues, whose buffers wait for data): polled for a while after a kick
     * where the placement polls (dm_poller_add). */
    uint32_t poll_queues;
    /* Device config space: off + size is within config_size. */
    void (*config_read)(struct virtio_dev *vd, uint32_t off, uint8_t *data, uint32_t size);
    void (*config_write)(struct virtio_dev *vd, uint32_t off, const uint8_t *data, uint32_t size);
    /* The driver kicked queue q (enabled, device running, not broken). */
    void (*queue_notify)(struct virtio_dev *vd, unsigned q);
    /* The device was reset: drop in-flight state.  May be NULL. */
    void (*reset)(struct virtio_dev *vd);
};

/* What a transport provides: raise the interrupt for queue q, or for a
 * configuration change (q == VIRTIO_IRQ_CONFIG).  The core has already
 * set the ISR bit. */
#define VIRTIO_IRQ_CONFIG (~0u)
#define VIRTIO_ISR_QUEUE  0x1
#define VIRTIO_ISR_CONFIG 0x2
struct virtio_transport_ops {
    void (*interrupt)(struct virtio_dev *vd, unsigned q);
};

struct virtio_dev {
    struct dm *dm;
    const struct virtio_dev_ops *ops;
    void *priv;
    const struct virtio_transport_ops *transport;
    void *transport_priv;

    uint64_t offered;   /* ops->features plus the core's bits */
    uint64_t driver;    /* what the driver wrote (FEATURES_OK only if a subset) */
    uint8_t status;     /* VIRTIO_CONFIG_S_* */
    uint8_t isr;        /* bit 0: queue, bit 1: config change; read clears */
    uint8_t config_gen; /* bumped when the config changes */
    bool broken;
    bool legacy; /* driven through the legacy (0.9.5) interface: no FEATURES_OK */
    struct virtq vq[VIRTIO_MAX_QUEUES];
};

/* Bind a device to its front end and transport.  vd is owned by the caller
 * (usually embedded in the front end's state). */
void virtio_dev_init(struct virtio_dev *vd, struct dm *dm, const struct virtio_dev_ops *ops,
                     void *priv);

/* Back to the power-on state (status 0): queues off, features cleared. */
void virtio_dev_reset(struct virtio_dev *vd);

/* The driver writes the status register.  0 resets; otherwise bits may
 * only be added; FEATURES_OK is kept only for an acceptable feature set;
 * DRIVER_OK enables every queue the driver enabled (virtio_queue_ready). */
void virtio_set_status(struct virtio_dev *vd, uint8_t status);

/* The driver writes 32 bits of its feature word at `select` (0 or 1);
 * ignored once FEATURES_OK is set. */
void virtio_set_driver_features(struct virtio_dev *vd, unsigned select, uint32_t val);

/* The driver enables queue q after writing size and addresses.  Checks
 * them (queue.h); a bad queue marks the device broken.  Returns 0 or
 * -EINVAL. */
int virtio_queue_ready(struct virtio_dev *vd, unsigned q);

/* The driver kicked queue q: call the front end if the device runs. */
void virtio_queue_kick(struct virtio_dev *vd, unsigned q);

/* Whether the device runs (DRIVER_OK, not broken) and q is enabled. */
bool virtio_queue_live(const struct virtio_dev *vd, unsigned q);

/* For front ends: after pushing used entries on q, interrupt the driver
 * if it asked for it. */
void virtio_queue_notify_used(struct virtio_dev *vd, unsigned q);

/* For front ends: the driver broke queue q (virtq_pop returned -EIO).
 * Marks the device broken, logs once, raises a config interrupt. */
void virtio_dev_broken(struct virtio_dev *vd, unsigned q, const char *why);

/* Read the ISR (clears it). */
uint8_t virtio_read_isr(struct virtio_dev *vd);

/* Whether a feature was negotiated. */
static inline bool virtio_has(const struct virtio_dev *vd, unsigned bit)
{
    return (vd->driver >> bit) & 1;
}

/* Save/restore (dm/state.h): negotiated features, status, ISR and every
 * queue.  parse fills *stage (a copy of the live device, same ops) and
 * checks it against what the device offers and the guest's RAM; apply
 * copies it in (transport state is the transport's). */
void virtio_dev_state_save(const struct virtio_dev *vd, struct srec_w *w);
void virtio_dev_state_parse(struct virtio_dev *stage, struct srec_r *r);
void virtio_dev_state_apply(struct virtio_dev *vd, const struct virtio_dev *stage);

#endif

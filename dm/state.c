/* Save and restore of the whole device set (state.h).
 *
 * Load is two passes over the blob.  Pass one parses every record into a
 * staging copy of the devices (struct stage) and checks that the blob
 * describes exactly the devices this configuration has: a record for a
 * device we do not have, a duplicate, or a device without its record is
 * refused, naming the device.  Pass two copies the staged state over the
 * live devices and re-tells the host what they need.  Nothing in pass one
 * touches a live device or the host.
 */
#include "dm/state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dm/devices.h"
#include "dm/state_rec.h"
#include "dm/virtio/setup.h"
#include "lib/log.h"

struct stage {
    struct uart com1;
    bool seen_uart;
};

int dm_state_quiesce(struct dm *dm, struct dm_devices *devs, struct virtio_devices *vdevs)
{
    (void)dm;
    (void)devs;
    (void)vdevs;
    return 0;
}

int dm_state_save(struct dm *dm, struct dm_devices *devs, struct virtio_devices *vdevs,
                  uint8_t **blob, size_t *len)
{
    struct srec_w w;

    (void)dm;
    (void)vdevs;
    srec_w_init(&w);
    srec_begin(&w, STATE_TAG_UART, 0);
    uart_state_save(&devs->com1, &w);
    srec_end(&w);
    return srec_w_finish(&w, blob, len);
}

static int parse_record(struct stage *st, uint32_t tag, uint32_t inst, struct srec_r *r,
                        const char **dev)
{
    switch (tag) {
    case STATE_TAG_UART:
        *dev = "COM1";
        if (inst != 0 || st->seen_uart)
            return -EINVAL;
        st->seen_uart = true;
        uart_state_parse(&st->com1, r);
        break;
    default:
        *dev = "unknown device";
        return -EINVAL;
    }
    return srec_done(r) ? 0 : -EINVAL;
}

int dm_state_load(struct dm *dm, struct dm_devices *devs, struct virtio_devices *vdevs,
                  const uint8_t *blob, size_t len)
{
    struct stage *st = calloc(1, sizeof(*st));
    struct srec_r r, rec;
    uint32_t tag, inst;
    int rc = -ENOMEM, more;

    (void)dm;
    (void)vdevs;
    if (!st)
        goto out;
    rc = -EINVAL;
    if (srec_r_open(&r, blob, len) < 0) {
        log_error("device state: %s", r.why);
        goto out;
    }
    st->com1 = devs->com1;
    while ((more = srec_next(&r, &tag, &inst, &rec)) > 0) {
        const char *dev = NULL;
        if (parse_record(st, tag, inst, &rec, &dev) < 0) {
            log_error("device state: record %u/%u (%s): %s", tag, inst, dev,
                      rec.why ? rec.why : "not in this configuration, or twice");
            goto out;
        }
    }
    if (more < 0) {
        log_error("device state: %s", r.why);
        goto out;
    }
    if (!st->seen_uart) {
        log_error("device state: no state for COM1");
        goto out;
    }
    uart_state_apply(&devs->com1, &st->com1);
    rc = 0;
out:
    free(st);
    return rc;
}

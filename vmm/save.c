/* Save and restore under the toolstack: control `save` and --restore-fd
 * (docs/savefile.md).  The device model's part travels as an opaque blob:
 * for the process placements it is what the device model wrote to its
 * console 1 (DIR/dm-state, one file description shared with it), for the
 * inline placement what dm_state_save() gives. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/log.h"
#include "lib/savefile.h"
#include "vmm/monitor.h"
#include "vmm/snapshot.h"

#define SAVE_SYNC_TIMEOUT_MS 10000

/* What the device model wrote to console 1 since the last save: the offset
 * of the shared description says how much (never more than the cap, and
 * only bytes that are really there). */
static int dm_console_blob(struct monitor *m, uint8_t **blob, size_t *len, char *err, size_t n)
{
    off_t end = lseek(m->dm_state_fd, 0, SEEK_CUR);
    uint8_t *b;

    *blob = NULL;
    *len = 0;
    if (end < 0) {
        snprintf(err, n, "device model state: %s", strerror(errno));
        return -errno;
    }
    if ((uint64_t)end > SAVEFILE_MAX_DM_STATE) {
        snprintf(err, n, "device model state too large");
        return -EFBIG;
    }
    b = malloc(end ? (size_t)end : 1);
    if (!b) {
        snprintf(err, n, "out of memory");
        return -ENOMEM;
    }
    for (size_t got = 0; got < (size_t)end;) {
        ssize_t r = pread(m->dm_state_fd, b + got, (size_t)end - got, (off_t)got);
        if (r <= 0) {
            free(b);
            snprintf(err, n, "device model state: %s", r < 0 ? strerror(errno) : "cut short");
            return r < 0 ? -errno : -EIO;
        }
        got += (size_t)r;
    }
    *blob = b;
    *len = (size_t)end;
    return 0;
}

/* Empty the dm-state file and rewind both consoles: the next save starts
 * afresh and a `continue` finds nothing to load. */
static void dm_console_reset(struct monitor *m)
{
    if (ftruncate(m->dm_state_fd, 0) < 0 || lseek(m->dm_state_fd, 0, SEEK_SET) < 0 ||
        (m->dm_state2_fd >= 0 && lseek(m->dm_state2_fd, 0, SEEK_SET) < 0))
        log_error("resetting the device model state file: %s", strerror(errno));
}

void monitor_save(struct monitor *m, int fd, char *out, size_t outlen)
{
    struct vmm *vmm = &m->vmm;
    bool inl = m->opt.g.placement == PLACEMENT_INLINE;
    uint8_t *blob = NULL;
    size_t len = 0;
    uint64_t bytes = 0;
    char err[256] = "";
    int rc;

    if (m->state != GUEST_ALIVE) {
        snprintf(out, outlen, "error the guest has stopped\n");
        return;
    }
    if (!m->dm_alive) {
        snprintf(out, outlen, "error the device model is gone\n");
        return;
    }
    /* A pause of its own for the save's length: the guest is left with
     * whatever pauses it had. */
    rc = vmm_pause_get(vmm, VMM_PAUSE_TOOLSTACK);
    if (rc < 0) {
        snprintf(out, outlen, "error the toolstack holds too many pauses\n");
        return;
    }
    if (m->vcpus_started) {
        rc = vmm_pause_sync(vmm, SAVE_SYNC_TIMEOUT_MS);
        if (rc < 0) {
            snprintf(err, sizeof(err), "the vCPUs did not stop: %s", strerror(-rc));
            goto out;
        }
    }
    if (inl) {
        rc = inline_dm_save(vmm, &blob, &len);
        if (rc < 0) {
            snprintf(err, sizeof(err), "device model state: %s", strerror(-rc));
            goto out;
        }
        if (len > SAVEFILE_MAX_DM_STATE) {
            rc = -EFBIG;
            snprintf(err, sizeof(err), "device model state too large");
            goto out;
        }
    } else {
        rc = dm_console_blob(m, &blob, &len, err, sizeof(err));
        dm_console_reset(m);
        if (rc < 0)
            goto out;
    }
    rc = snapshot_save(vmm, fd, blob, len, &bytes, err, sizeof(err));
out:
    free(blob);
    vmm_pause_put(vmm, VMM_PAUSE_TOOLSTACK);
    if (rc < 0) {
        log_error("save: %s", err);
        snprintf(out, outlen, "error %s\n", err);
    } else {
        log_info("saved %llu bytes", (unsigned long long)bytes);
        snprintf(out, outlen, "ok bytes=%llu\n", (unsigned long long)bytes);
    }
}

void monitor_restore_check(struct monitor *m)
{
    struct savefile_summary sum;
    char err[256];
    int rc;

    rc = savefile_check(m->opt.restore_fd, &sum, err, sizeof(err));
    if (rc < 0)
        die(EXIT_USAGE, "restore: %s", err);
    if (sum.memory_bytes != (uint64_t)m->opt.g.memory_mib << 20 || sum.nr_vcpus != m->opt.g.vcpus)
        die(EXIT_USAGE,
            "restore: the file is of a guest with %llu MiB and %u vCPUs, not %u MiB and %u",
            (unsigned long long)(sum.memory_bytes >> 20), sum.nr_vcpus, m->opt.g.memory_mib,
            m->opt.g.vcpus);
    if (sum.dm.len) {
        rc = savefile_read_payload(m->opt.restore_fd, &sum.dm, &m->restore_dm);
        if (rc < 0)
            die(EXIT_SYSTEM, "restore: reading the device model state: %s", strerror(-rc));
        m->restore_dm_len = (size_t)sum.dm.len;
    }
    m->restore_sum = malloc(sizeof(sum));
    if (!m->restore_sum)
        die(EXIT_SYSTEM, "out of memory");
    memcpy(m->restore_sum, &sum, sizeof(sum));
}

void monitor_restore_vm(struct monitor *m)
{
    char err[256];

    if (snapshot_restore(&m->vmm, m->opt.restore_fd, m->restore_sum, err, sizeof(err)) < 0)
        die(EXIT_USAGE, "restore: %s", err);
    savefile_summary_free(m->restore_sum);
    free(m->restore_sum);
    m->restore_sum = NULL;
    close(m->opt.restore_fd);
    m->opt.restore_fd = -1;
}

void monitor_restore_dm(struct monitor *m)
{
    if (m->opt.g.placement == PLACEMENT_INLINE) {
        if (m->restore_dm_len && inline_dm_load(&m->vmm, m->restore_dm, m->restore_dm_len) < 0)
            die(EXIT_USAGE, "restore: the device model state in the file is not valid");
    } else if (m->restore_dm_len) {
        /* Console 2 reads it from offset 0; console 1's offset stays 0. */
        if (pwrite(m->vmm.dm_save_fd, m->restore_dm, m->restore_dm_len, 0) !=
            (ssize_t)m->restore_dm_len)
            die(EXIT_SYSTEM, "restore: writing the device model state: %s", strerror(errno));
    }
    free(m->restore_dm);
    m->restore_dm = NULL;
    m->restore_dm_len = 0;
}

/* libFuzzer harness: dm_state_load() of arbitrary blobs into a freshly
 * set-up device set (the PC platform, COM1, one virtio-blk disk, a
 * virtio-rng) over a fake guest RAM buffer and the recording fake host.
 * A blob that loads must save again and that save must load again (the
 * checks of load accept what save writes). */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dm/state.h"
#include "tests/dm/state_set.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int disk_fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct state_set *s;
    uint8_t *again = NULL;
    size_t len = 0;

    if (disk_fd < 0) {
        disk_fd = memfd_create("fuzz-disk", MFD_CLOEXEC);
        if (disk_fd < 0 || ftruncate(disk_fd, 1 << 20) < 0)
            abort();
    }
    s = set_new(&(struct set_cfg){.nr_disks = 1, .disk_fd = disk_fd, .rng = true});
    if (!s)
        abort();
    if (dm_state_load(s->m, data, size) == 0) {
        if (dm_state_save(s->m, &again, &len) != 0 || dm_state_load(s->m, again, len) != 0)
            abort();
        free(again);
    }
    set_free(s);
    return 0;
}

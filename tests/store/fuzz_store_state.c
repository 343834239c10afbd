/* libFuzzer harness for the store's state file and journal reader: what
 * it reads back from disk may be damaged in any way.
 *
 * The input is [u16 split, little-endian][state file image][journal image]
 * with the state image `split` bytes long.  Whatever the bytes, loading
 * must either fail with a reason or produce a consistent tree; and what
 * loaded must survive its own round trip: a snapshot of it loads again to
 * the same number of nodes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/log.h"
#include "store/persist.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct store_limits limits;
    struct store s, again;
    struct buf image = {0};
    char why[256];

    if (size < 2)
        return 0;
    log_set_level(LOG_ERROR);
    size_t split = (size_t)data[0] | (size_t)data[1] << 8;
    data += 2;
    size -= 2;
    if (split > size)
        split = size;
    store_limits_default(&limits);
    if (store_init(&s, &limits) != 0)
        return 0;
    if (persist_load_images(&s, data, split, data + split, size - split, why, sizeof(why)) == 0) {
        if (tree_check(&s.tree) != 0)
            abort();
        if (persist_snapshot_image(&s, 1, 1, &image) == 0 && store_init(&again, &limits) == 0) {
            if (persist_load_images(&again, (const uint8_t *)image.data, image.len, NULL, 0, why,
                                    sizeof(why)) != 0 ||
                again.tree.index.count != s.tree.index.count || tree_check(&again.tree) != 0)
                abort();
            store_dispose(&again);
        }
    }
    buf_dispose(&image);
    store_dispose(&s);
    return 0;
}

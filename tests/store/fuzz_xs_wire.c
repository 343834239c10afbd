/* libFuzzer harness for the store's message framing and dispatcher.
 *
 * The input is a script of chunks for two connections that share one store:
 * domain 0 (privileged) and domain 1 (introduced, unprivileged).  Each chunk
 * is [selector byte][length byte][length bytes of stream]; the bytes go
 * through conn_receive() exactly as if they had arrived on the socket, so
 * split messages, oversized lengths, garbage, transactions, watches,
 * permissions and quotas are all reachable.  Replies are discarded. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void drain(struct store *s)
{
    while (s->flush) {
        struct conn *c = s->flush;
        s->flush = c->flush_next;
        c->in_flush = false;
        conn_discard_output(c);
        if (c->closing)
            conn_kill(c);
        else if (c->in_len >= XS_HEADER_SIZE)
            conn_receive(c, 0); /* requests held back for output */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct store_limits limits;
    struct store s;
    struct conn *conns[2];

    log_set_level(LOG_ERROR);
    store_limits_default(&limits);
    limits.nodes = 64;
    limits.watches = 8;
    limits.transactions = 4;
    if (store_init(&s, &limits) != 0)
        return 0;
    struct domain *d = calloc(1, sizeof(*d));
    conns[0] = conn_new(&s, -1, 0, NULL);
    if (!d || !conns[0])
        goto out;
    d->domid = 1;
    d->target = NO_DOMID;
    d->conn = conns[1] = conn_new(&s, -1, 1, d);
    d->next = s.domains;
    s.domains = d;
    d = NULL;
    if (!conns[1])
        goto out;

    size_t off = 0;
    while (off + 2 <= size) {
        unsigned which = data[off] & 1;
        size_t len = data[off + 1];
        off += 2;
        if (len > size - off)
            len = size - off;
        struct conn *c = conns[which];
        if (c && !c->dead) {
            size_t room = CONN_IN_CAP - c->in_len;
            size_t n = len < room ? len : room;
            memcpy(c->in + c->in_len, data + off, n);
            conn_receive(c, n);
        }
        off += len;
        drain(&s);
        for (unsigned i = 0; i < 2; i++)
            if (conns[i] && conns[i]->dead)
                conns[i] = NULL;
        store_reap(&s);
    }
    /* Whatever the clients did, the tree must still be consistent. */
    if (tree_check(&s.tree) != 0)
        abort();
out:
    free(d);
    store_dispose(&s);
    return 0;
}

/* stubstored over its socket, through the client library: two (and more)
 * introduced domains, permissions, targets, watches, transactions, quotas,
 * and hostile clients. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/fdio.h"
#include "lib/xs_client.h"
#include "lib/xs_wire.h"
#include "tests/store/daemon.h"

#define NODE_QUOTA  40
#define WATCH_QUOTA 4
#define TXN_QUOTA   2

struct env {
    struct test_store ts;
    struct xsc *dom0;
    struct xsc *dom[3]; /* domains 1 and 2 (index = domid) */
};

/* Introduce domid with a fresh socket pair; returns the domain's handle. */
static struct xsc *introduce(struct xsc *dom0, uint32_t domid)
{
    struct xsc *h = test_store_introduce(dom0, domid);
    assert_non_null(h);
    return h;
}

/* Make /local/domain/<domid>, owned by the domain, private to it. */
static void make_home(struct xsc *dom0, uint32_t domid)
{
    char path[64];
    snprintf(path, sizeof(path), "/local/domain/%u", domid);
    assert_int_equal(xsc_mkdir(dom0, 0, path), 0);
    struct xsc_perm p = {domid, 'n'};
    assert_int_equal(xsc_set_perms(dom0, 0, path, &p, 1), 0);
}

static int setup(void **state)
{
    static const char *const args[] = {
        "--quota-nodes", "40", "--quota-watches", "4", "--quota-transactions", "2", "--max-value",
        "2048",          NULL};
    struct env *e = calloc(1, sizeof(*e));
    if (!e || test_store_start(&e->ts, args) != 0)
        return -1;
    e->dom0 = xsc_open(e->ts.socket);
    if (!e->dom0)
        return -1;
    for (uint32_t d = 1; d <= 2; d++) {
        e->dom[d] = introduce(e->dom0, d);
        make_home(e->dom0, d);
    }
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    if (!e)
        return -1; /* the set-up failed */
    /* After everything the tests did, the store's tree must be consistent. */
    if (xsc_request(e->dom0, XS_CONTROL, 0, "check", 6, -1, NULL, NULL) != 0) {
        fprintf(stderr, "CONTROL check failed\n");
        return -1;
    }
    xsc_close(e->dom0);
    xsc_close(e->dom[1]);
    xsc_close(e->dom[2]);
    int status = test_store_stop(&e->ts);
    free(e);
    return status == 0 ? 0 : -1;
}

static void expect_read(struct xsc *h, uint32_t tx, const char *path, const char *want)
{
    char *v = NULL;
    size_t len;
    assert_int_equal(xsc_read(h, tx, path, &v, &len), 0);
    assert_int_equal(len, strlen(want));
    assert_string_equal(v, want);
    free(v);
}

static void expect_event(struct xsc *h, const char *path, const char *token)
{
    struct xsc_event *ev = NULL;
    assert_int_equal(xsc_read_watch(h, 5000, &ev), 0);
    assert_string_equal(ev->path, path);
    assert_string_equal(ev->token, token);
    free(ev);
}

/* Events are queued before the reply to any later request: after one
 * round trip, an empty queue means no event is coming. */
static void expect_no_event(struct xsc *h)
{
    char *p = NULL;
    assert_int_equal(xsc_get_domain_path(h, 0, &p), 0);
    free(p);
    struct xsc_event *ev = NULL;
    int rc = xsc_read_watch(h, 0, &ev);
    if (rc == 0)
        fail_msg("unexpected event %s %s", ev->path, ev->token);
    assert_int_equal(rc, -ETIMEDOUT);
}

static void test_basics(void **state)
{
    struct env *e = *state;
    char **names = NULL, *p = NULL;
    unsigned n;
    bool yes;

    assert_int_equal(xsc_write_str(e->dom0, 0, "/basic/a/b", "hello"), 0);
    expect_read(e->dom0, 0, "/basic/a/b", "hello");
    expect_read(e->dom0, 0, "/basic/a", "");
    assert_int_equal(xsc_write(e->dom0, 0, "/basic/bin", "x\0y", 3), 0);
    char *v;
    size_t len;
    assert_int_equal(xsc_read(e->dom0, 0, "/basic/bin", &v, &len), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(v, "x\0y", 3);
    free(v);
    assert_int_equal(xsc_directory(e->dom0, 0, "/basic", &names, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "a");
    assert_string_equal(names[1], "bin");
    free(names);
    assert_int_equal(xsc_rm(e->dom0, 0, "/basic"), 0);
    assert_int_equal(xsc_read(e->dom0, 0, "/basic/a/b", &v, NULL), -ENOENT);
    /* Removing a missing node is fine if its parent exists. */
    assert_int_equal(xsc_rm(e->dom0, 0, "/basic"), 0);
    assert_int_equal(xsc_rm(e->dom0, 0, "/basic/x/y"), -ENOENT);
    assert_int_equal(xsc_rm(e->dom0, 0, "/"), -EINVAL);
    assert_int_equal(xsc_read(e->dom0, 0, "/bad//path", &v, NULL), -EINVAL);
    assert_int_equal(xsc_read(e->dom0, 0, "/bad/", &v, NULL), -EINVAL);
    assert_int_equal(xsc_read(e->dom0, 0, "/bad path", &v, NULL), -EINVAL);

    /* Relative paths resolve against the domain's home. */
    assert_int_equal(xsc_write_str(e->dom[1], 0, "rel/x", "1"), 0);
    expect_read(e->dom0, 0, "/local/domain/1/rel/x", "1");
    assert_int_equal(xsc_get_domain_path(e->dom[1], 1, &p), 0);
    assert_string_equal(p, "/local/domain/1");
    free(p);
    assert_int_equal(xsc_is_domain_introduced(e->dom0, 2, &yes), 0);
    assert_true(yes);
    assert_int_equal(xsc_is_domain_introduced(e->dom0, 9, &yes), 0);
    assert_false(yes);
    assert_int_equal(xsc_mkdir(e->dom0, 0, "/basic/dir"), 0);
    assert_int_equal(xsc_mkdir(e->dom0, 0, "/basic/dir"), 0);

    /* The harmless CONTROL subset, RESUME; privileged only. */
    char *rep = NULL;
    assert_int_equal(xsc_request(e->dom0, XS_CONTROL, 0, "check", 6, -1, &rep, NULL), 0);
    assert_string_equal(rep, "OK");
    free(rep);
    assert_int_equal(xsc_request(e->dom0, XS_CONTROL, 0, "rm-all", 7, -1, NULL, NULL), -EINVAL);
    assert_int_equal(xsc_request(e->dom[1], XS_CONTROL, 0, "check", 6, -1, NULL, NULL), -EACCES);
    assert_int_equal(xsc_request(e->dom0, XS_RESUME, 0, "1", 2, -1, NULL, NULL), 0);
    assert_int_equal(xsc_request(e->dom0, XS_RESUME, 0, "77", 3, -1, NULL, NULL), -ENOENT);
    assert_int_equal(xsc_request(e->dom0, XS_GET_FEATURE, 0, "1", 2, -1, NULL, NULL), -ENOSYS);
    uint32_t t;
    assert_int_equal(xsc_transaction_start(e->dom0, &t), 0);
    assert_int_equal(xsc_request(e->dom0, XS_TRANSACTION_START, t, "", 1, -1, NULL, NULL), -EBUSY);
    assert_int_equal(xsc_transaction_end(e->dom0, t, false), 0);
    assert_int_equal(xsc_rm(e->dom0, 0, "/basic"), 0);
    assert_int_equal(xsc_rm(e->dom[1], 0, "rel"), 0);
}

static void test_isolation(void **state)
{
    struct env *e = *state;
    char *v = NULL, **names;
    unsigned n;

    assert_int_equal(xsc_write_str(e->dom[1], 0, "/local/domain/1/secret", "s1"), 0);
    expect_read(e->dom[1], 0, "secret", "s1");
    assert_int_equal(xsc_read(e->dom[2], 0, "/local/domain/1/secret", &v, NULL), -EACCES);
    assert_int_equal(xsc_write_str(e->dom[2], 0, "/local/domain/1/secret", "x"), -EACCES);
    assert_int_equal(xsc_write_str(e->dom[2], 0, "/local/domain/1/new", "x"), -EACCES);
    /* Missing nodes under an unreadable parent are not revealed either. */
    assert_int_equal(xsc_read(e->dom[2], 0, "/local/domain/1/nope", &v, NULL), -EACCES);
    assert_int_equal(xsc_directory(e->dom[2], 0, "/local/domain/1", &names, &n), -EACCES);
    assert_int_equal(xsc_rm(e->dom[2], 0, "/local/domain/1/secret"), -EACCES);
    struct xsc_perm open = {2, 'b'};
    assert_int_equal(xsc_set_perms(e->dom[2], 0, "/local/domain/1/secret", &open, 1), -EACCES);
    /* Nothing changed. */
    expect_read(e->dom0, 0, "/local/domain/1/secret", "s1");
    assert_int_equal(xsc_read(e->dom0, 0, "/local/domain/1/new", &v, NULL), -ENOENT);

    /* Domains may not use privileged operations. */
    assert_int_equal(xsc_set_target(e->dom[2], 2, 1), -EACCES);
    assert_int_equal(xsc_release(e->dom[2], 1), -EACCES);
    assert_int_equal(xsc_introduce(e->dom[2], 7, xsc_fd(e->dom[2])), -EACCES);

    /* ACL entries: r1 lets domain 1 read only, others get entry 0's n. */
    struct xsc_perm acl[] = {{0, 'n'}, {1, 'r'}};
    assert_int_equal(xsc_write_str(e->dom0, 0, "/shared/cfg", "c"), 0);
    assert_int_equal(xsc_set_perms(e->dom0, 0, "/shared/cfg", acl, 2), 0);
    expect_read(e->dom[1], 0, "/shared/cfg", "c");
    assert_int_equal(xsc_write_str(e->dom[1], 0, "/shared/cfg", "x"), -EACCES);
    assert_int_equal(xsc_read(e->dom[2], 0, "/shared/cfg", &v, NULL), -EACCES);

    /* New nodes inherit the parent's ACL; a domain owns what it creates. */
    struct xsc_perm *p;
    assert_int_equal(xsc_write_str(e->dom[1], 0, "inherit/child", "v"), 0);
    assert_int_equal(xsc_get_perms(e->dom0, 0, "/local/domain/1/inherit/child", &p, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(p[0].domid, 1);
    assert_int_equal(p[0].perm, 'n');
    free(p);
    /* ... and may open it up, but not give it away. */
    struct xsc_perm pub[] = {{1, 'r'}};
    assert_int_equal(xsc_set_perms(e->dom[1], 0, "inherit/child", pub, 1), 0);
    struct xsc_perm away[] = {{2, 'n'}};
    assert_int_equal(xsc_set_perms(e->dom[1], 0, "inherit/child", away, 1), -EPERM);
    assert_int_equal(xsc_rm(e->dom0, 0, "/shared"), 0);
    assert_int_equal(xsc_rm(e->dom[1], 0, "inherit"), 0);
    assert_int_equal(xsc_rm(e->dom[1], 0, "secret"), 0);
}

static void test_target(void **state)
{
    struct env *e = *state;
    char *v = NULL;

    struct xsc *dm = introduce(e->dom0, 3);
    make_home(e->dom0, 3);
    assert_int_equal(xsc_write_str(e->dom[1], 0, "guest-secret", "g"), 0);
    assert_int_equal(xsc_read(dm, 0, "/local/domain/1/guest-secret", &v, NULL), -EACCES);
    assert_int_equal(xsc_set_target(e->dom0, 3, 1), 0);
    expect_read(dm, 0, "/local/domain/1/guest-secret", "g");
    assert_int_equal(xsc_write_str(dm, 0, "/local/domain/1/device-model/state", "running"), 0);
    /* What it creates is its own (Xen's rule): the toolstack opens it up. */
    expect_read(e->dom0, 0, "/local/domain/1/device-model/state", "running");
    assert_int_equal(xsc_read(e->dom[1], 0, "device-model/state", &v, NULL), -EACCES);
    /* Its own home is still its own; the other guest is still closed. */
    assert_int_equal(xsc_write_str(dm, 0, "own", "o"), 0);
    assert_int_equal(xsc_read(dm, 0, "/local/domain/2/x", &v, NULL), -EACCES);
    assert_int_equal(xsc_write_str(dm, 0, "/local/domain/2/x", "x"), -EACCES);
    /* The guest has no rights over its device model's nodes. */
    assert_int_equal(xsc_read(e->dom[1], 0, "/local/domain/3/own", &v, NULL), -EACCES);
    assert_int_equal(xsc_set_target(e->dom0, 99, 1), -ENOENT);

    assert_int_equal(xsc_release(e->dom0, 3), 0);
    assert_int_equal(xsc_read(e->dom0, 0, "/local/domain/3/own", &v, NULL), -ENOENT);
    /* Its connection was closed. */
    assert_int_equal(xsc_read(dm, 0, "own", &v, NULL), -ECONNRESET);
    xsc_close(dm);
    assert_int_equal(xsc_rm(e->dom0, 0, "/local/domain/1/guest-secret"), 0);
    assert_int_equal(xsc_rm(e->dom0, 0, "/local/domain/1/device-model"), 0);
}

static void test_watches(void **state)
{
    struct env *e = *state;

    /* Relative watch, relative events; fires once when set. */
    assert_int_equal(xsc_watch(e->dom[1], "data", "tok"), 0);
    expect_event(e->dom[1], "data", "tok");
    assert_int_equal(xsc_watch(e->dom[1], "data", "tok"), -EEXIST);
    assert_int_equal(xsc_watch(e->dom0, "/local/domain/1/data/a/deep", "deep"), 0);
    expect_event(e->dom0, "/local/domain/1/data/a/deep", "deep");
    /* Domain 2 may not read domain 1's nodes: it hears nothing. */
    assert_int_equal(xsc_watch(e->dom[2], "/local/domain/1", "spy"), 0);
    expect_event(e->dom[2], "/local/domain/1", "spy");

    assert_int_equal(xsc_write_str(e->dom0, 0, "/local/domain/1/data/a/deep", "1"), 0);
    assert_int_equal(xsc_write_str(e->dom0, 0, "/local/domain/1/data/b", "2"), 0);
    assert_int_equal(xsc_mkdir(e->dom0, 0, "/local/domain/1/data/c"), 0);
    assert_int_equal(xsc_write_str(e->dom0, 0, "/local/domain/1/elsewhere", "3"), 0);
    assert_int_equal(xsc_rm(e->dom0, 0, "/local/domain/1/data"), 0);
    expect_event(e->dom[1], "data/a/deep", "tok");
    expect_event(e->dom[1], "data/b", "tok");
    expect_event(e->dom[1], "data/c", "tok");
    expect_event(e->dom[1], "data", "tok");
    expect_no_event(e->dom[1]);
    /* The exact watch below the removed node fired for it, with its path. */
    expect_event(e->dom0, "/local/domain/1/data/a/deep", "deep");
    expect_event(e->dom0, "/local/domain/1/data/a/deep", "deep");
    expect_no_event(e->dom0);
    expect_no_event(e->dom[2]);

    assert_int_equal(xsc_unwatch(e->dom[1], "data", "tok"), 0);
    assert_int_equal(xsc_unwatch(e->dom[1], "data", "tok"), -ENOENT);
    assert_int_equal(xsc_write_str(e->dom0, 0, "/local/domain/1/data", "x"), 0);
    expect_no_event(e->dom[1]);
    assert_int_equal(xsc_unwatch(e->dom0, "/local/domain/1/data/a/deep", "deep"), 0);
    assert_int_equal(xsc_unwatch(e->dom[2], "/local/domain/1", "spy"), 0);

    /* Special watches. */
    assert_int_equal(xsc_watch(e->dom0, "@introduceDomain", "in"), 0);
    assert_int_equal(xsc_watch(e->dom0, "@releaseDomain", "out"), 0);
    expect_event(e->dom0, "@introduceDomain", "in");
    expect_event(e->dom0, "@releaseDomain", "out");
    struct xsc *d4 = introduce(e->dom0, 4);
    expect_event(e->dom0, "@introduceDomain", "in");
    assert_int_equal(xsc_introduce(e->dom0, 4, xsc_fd(d4)), -EEXIST);
    make_home(e->dom0, 4);
    assert_int_equal(xsc_release(e->dom0, 4), 0);
    expect_event(e->dom0, "@releaseDomain", "out");
    bool yes;
    assert_int_equal(xsc_is_domain_introduced(e->dom0, 4, &yes), 0);
    assert_false(yes);
    xsc_close(d4);
    assert_int_equal(xsc_release(e->dom0, 4), -ENOENT);
    assert_int_equal(xsc_unwatch(e->dom0, "@introduceDomain", "in"), 0);
    assert_int_equal(xsc_unwatch(e->dom0, "@releaseDomain", "out"), 0);
    assert_int_equal(xsc_rm(e->dom0, 0, "/local/domain/1/data"), 0);
    assert_int_equal(xsc_rm(e->dom0, 0, "/local/domain/1/elsewhere"), 0);
}

static void test_transactions(void **state)
{
    struct env *e = *state;
    uint32_t t1, t2, t3;
    char *v = NULL, **names;
    unsigned n;

    assert_int_equal(xsc_write_str(e->dom0, 0, "/tx/a", "0"), 0);
    assert_int_equal(xsc_watch(e->dom0, "/tx", "w"), 0);
    expect_event(e->dom0, "/tx", "w");

    /* Isolation: a transaction's writes are invisible until commit. */
    assert_int_equal(xsc_transaction_start(e->dom0, &t1), 0);
    assert_int_equal(xsc_write_str(e->dom0, t1, "/tx/b/c", "new"), 0);
    expect_read(e->dom0, t1, "/tx/b/c", "new");
    assert_int_equal(xsc_read(e->dom0, 0, "/tx/b/c", &v, NULL), -ENOENT);
    assert_int_equal(xsc_directory(e->dom0, t1, "/tx", &names, &n), 0);
    assert_int_equal(n, 2);
    free(names);
    assert_int_equal(xsc_rm(e->dom0, t1, "/tx/a"), 0);
    assert_int_equal(xsc_read(e->dom0, t1, "/tx/a", &v, NULL), -ENOENT);
    expect_read(e->dom0, 0, "/tx/a", "0");
    expect_no_event(e->dom0);
    assert_int_equal(xsc_transaction_end(e->dom0, t1, true), 0);
    expect_read(e->dom0, 0, "/tx/b/c", "new");
    assert_int_equal(xsc_read(e->dom0, 0, "/tx/a", &v, NULL), -ENOENT);
    /* Watches fire at commit, in order. */
    expect_event(e->dom0, "/tx/b/c", "w");
    expect_event(e->dom0, "/tx/a", "w");
    expect_no_event(e->dom0);

    /* Conflict: read in t2, changed outside, commit -> EAGAIN, nothing done. */
    assert_int_equal(xsc_transaction_start(e->dom0, &t2), 0);
    expect_read(e->dom0, t2, "/tx/b/c", "new");
    assert_int_equal(xsc_write_str(e->dom0, t2, "/tx/d", "from-t2"), 0);
    assert_int_equal(xsc_write_str(e->dom0, 0, "/tx/b/c", "changed"), 0);
    expect_event(e->dom0, "/tx/b/c", "w");
    assert_int_equal(xsc_transaction_end(e->dom0, t2, true), -EAGAIN);
    assert_int_equal(xsc_read(e->dom0, 0, "/tx/d", &v, NULL), -ENOENT);
    expect_no_event(e->dom0);
    /* The transaction is gone after EAGAIN. */
    assert_int_equal(xsc_transaction_end(e->dom0, t2, true), -ENOENT);

    /* A node created meanwhile that the transaction saw as absent. */
    assert_int_equal(xsc_transaction_start(e->dom0, &t2), 0);
    assert_int_equal(xsc_read(e->dom0, t2, "/tx/e", &v, NULL), -ENOENT);
    assert_int_equal(xsc_write_str(e->dom0, 0, "/tx/e", "1"), 0);
    expect_event(e->dom0, "/tx/e", "w");
    assert_int_equal(xsc_transaction_end(e->dom0, t2, true), -EAGAIN);

    /* Abort discards. */
    assert_int_equal(xsc_transaction_start(e->dom0, &t3), 0);
    assert_int_equal(xsc_write_str(e->dom0, t3, "/tx/f", "x"), 0);
    assert_int_equal(xsc_transaction_end(e->dom0, t3, false), 0);
    assert_int_equal(xsc_read(e->dom0, 0, "/tx/f", &v, NULL), -ENOENT);
    expect_no_event(e->dom0);

    /* Unrelated changes do not conflict. */
    assert_int_equal(xsc_transaction_start(e->dom0, &t3), 0);
    expect_read(e->dom0, t3, "/tx/e", "1");
    assert_int_equal(xsc_write_str(e->dom0, 0, "/other", "1"), 0);
    assert_int_equal(xsc_transaction_end(e->dom0, t3, true), 0);

    /* Remove and re-create inside one transaction; deep creation. */
    assert_int_equal(xsc_write_str(e->dom0, 0, "/tx/r/old", "o"), 0);
    expect_event(e->dom0, "/tx/r/old", "w");
    assert_int_equal(xsc_transaction_start(e->dom0, &t3), 0);
    assert_int_equal(xsc_rm(e->dom0, t3, "/tx/r"), 0);
    assert_int_equal(xsc_write_str(e->dom0, t3, "/tx/r/new", "n"), 0);
    assert_int_equal(xsc_write_str(e->dom0, t3, "/tx/deep/a/b/c", "d"), 0);
    assert_int_equal(xsc_read(e->dom0, t3, "/tx/r/old", &v, NULL), -ENOENT);
    assert_int_equal(xsc_transaction_end(e->dom0, t3, true), 0);
    assert_int_equal(xsc_read(e->dom0, 0, "/tx/r/old", &v, NULL), -ENOENT);
    expect_read(e->dom0, 0, "/tx/r/new", "n");
    expect_read(e->dom0, 0, "/tx/deep/a/b/c", "d");
    expect_read(e->dom0, 0, "/tx/deep/a", "");
    expect_event(e->dom0, "/tx/r", "w");
    expect_event(e->dom0, "/tx/r/new", "w");
    expect_event(e->dom0, "/tx/deep/a/b/c", "w");
    expect_no_event(e->dom0);

    /* Two transactions adding children to one directory: the second to
     * commit conflicts (Xen's rule), and retrying succeeds. */
    assert_int_equal(xsc_transaction_start(e->dom0, &t1), 0);
    assert_int_equal(xsc_transaction_start(e->dom0, &t2), 0);
    assert_int_equal(xsc_write_str(e->dom0, t1, "/tx/r/one", "1"), 0);
    assert_int_equal(xsc_write_str(e->dom0, t2, "/tx/r/two", "2"), 0);
    assert_int_equal(xsc_transaction_end(e->dom0, t1, true), 0);
    assert_int_equal(xsc_transaction_end(e->dom0, t2, true), -EAGAIN);
    assert_int_equal(xsc_transaction_start(e->dom0, &t2), 0);
    assert_int_equal(xsc_write_str(e->dom0, t2, "/tx/r/two", "2"), 0);
    assert_int_equal(xsc_transaction_end(e->dom0, t2, true), 0);
    expect_read(e->dom0, 0, "/tx/r/two", "2");
    expect_event(e->dom0, "/tx/r/one", "w");
    expect_event(e->dom0, "/tx/r/two", "w");

    /* Unknown transaction ids. */
    assert_int_equal(xsc_read(e->dom0, 999, "/tx/e", &v, NULL), -ENOENT);
    assert_int_equal(xsc_transaction_end(e->dom0, 999, true), -ENOENT);

    /* Transactions of a domain: permissions apply inside too. */
    assert_int_equal(xsc_transaction_start(e->dom[2], &t1), 0);
    assert_int_equal(xsc_write_str(e->dom[2], t1, "/local/domain/1/x", "x"), -EACCES);
    assert_int_equal(xsc_write_str(e->dom[2], t1, "mine", "m"), 0);
    assert_int_equal(xsc_transaction_end(e->dom[2], t1, true), 0);
    expect_read(e->dom[2], 0, "mine", "m");
    assert_int_equal(xsc_rm(e->dom[2], 0, "mine"), 0);

    assert_int_equal(xsc_unwatch(e->dom0, "/tx", "w"), 0);
    assert_int_equal(xsc_rm(e->dom0, 0, "/tx"), 0);
    assert_int_equal(xsc_rm(e->dom0, 0, "/other"), 0);
}

/* Xen's isolation: the first time a transaction touches a node (read or
 * write) it keeps that node as it was at that moment; a change made
 * outside afterwards is invisible inside, and the commit fails. */
static void test_transaction_isolation(void **state)
{
    struct env *e = *state;
    uint32_t t;
    char *v = NULL, **names = NULL;
    unsigned n;

    /* The exact sequence: read in T, write outside, read in T (old value),
     * write in T, read in T (T's value), commit -> EAGAIN, outside kept. */
    assert_int_equal(xsc_write_str(e->dom0, 0, "/iso/a", "old"), 0);
    assert_int_equal(xsc_transaction_start(e->dom0, &t), 0);
    expect_read(e->dom0, t, "/iso/a", "old");
    assert_int_equal(xsc_write_str(e->dom0, 0, "/iso/a", "outside"), 0);
    expect_read(e->dom0, t, "/iso/a", "old");
    assert_int_equal(xsc_write_str(e->dom0, t, "/iso/a", "mine"), 0);
    expect_read(e->dom0, t, "/iso/a", "mine");
    assert_int_equal(xsc_transaction_end(e->dom0, t, true), -EAGAIN);
    expect_read(e->dom0, 0, "/iso/a", "outside");

    /* A read-only transaction whose view went stale cannot commit either. */
    assert_int_equal(xsc_transaction_start(e->dom0, &t), 0);
    expect_read(e->dom0, t, "/iso/a", "outside");
    assert_int_equal(xsc_write_str(e->dom0, 0, "/iso/a", "again"), 0);
    expect_read(e->dom0, t, "/iso/a", "outside");
    assert_int_equal(xsc_transaction_end(e->dom0, t, true), -EAGAIN);

    /* Directory listings keep the children as first listed. */
    assert_int_equal(xsc_write_str(e->dom0, 0, "/iso/d/x", "1"), 0);
    assert_int_equal(xsc_transaction_start(e->dom0, &t), 0);
    assert_int_equal(xsc_directory(e->dom0, t, "/iso/d", &names, &n), 0);
    assert_int_equal(n, 1);
    free(names);
    assert_int_equal(xsc_write_str(e->dom0, 0, "/iso/d/y", "2"), 0);
    assert_int_equal(xsc_directory(e->dom0, t, "/iso/d", &names, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "x");
    free(names);
    /* ... also for DIRECTORY_PART, which reports the node's generation. */
    char *part = NULL;
    size_t plen;
    assert_int_equal(xsc_request(e->dom0, XS_DIRECTORY_PART, t,
                                 "/iso/d\0"
                                 "0",
                                 9, -1, &part, &plen),
                     0);
    size_t gl = strlen(part);
    assert_true(plen == gl + 4 && memcmp(part + gl + 1, "x\0\0", 3) == 0);
    free(part);
    assert_int_equal(xsc_transaction_end(e->dom0, t, true), -EAGAIN);

    /* Creation: absent when T looked stays absent for T. */
    assert_int_equal(xsc_transaction_start(e->dom0, &t), 0);
    assert_int_equal(xsc_read(e->dom0, t, "/iso/new", &v, NULL), -ENOENT);
    assert_int_equal(xsc_write_str(e->dom0, 0, "/iso/new", "outside"), 0);
    assert_int_equal(xsc_read(e->dom0, t, "/iso/new", &v, NULL), -ENOENT);
    assert_int_equal(xsc_write_str(e->dom0, t, "/iso/new", "mine"), 0);
    expect_read(e->dom0, t, "/iso/new", "mine");
    assert_int_equal(xsc_transaction_end(e->dom0, t, true), -EAGAIN);
    expect_read(e->dom0, 0, "/iso/new", "outside");

    /* Removal outside: T still sees what it read. */
    assert_int_equal(xsc_write_str(e->dom0, 0, "/iso/gone", "g"), 0);
    assert_int_equal(xsc_transaction_start(e->dom0, &t), 0);
    expect_read(e->dom0, t, "/iso/gone", "g");
    assert_int_equal(xsc_rm(e->dom0, 0, "/iso/gone"), 0);
    expect_read(e->dom0, t, "/iso/gone", "g");
    assert_int_equal(xsc_transaction_end(e->dom0, t, true), -EAGAIN);
    assert_int_equal(xsc_read(e->dom0, 0, "/iso/gone", &v, NULL), -ENOENT);

    /* Removal inside, write outside: T sees its removal, the outside
     * write survives the failed commit. */
    assert_int_equal(xsc_write_str(e->dom0, 0, "/iso/r/k", "1"), 0);
    assert_int_equal(xsc_transaction_start(e->dom0, &t), 0);
    assert_int_equal(xsc_rm(e->dom0, t, "/iso/r"), 0);
    assert_int_equal(xsc_write_str(e->dom0, 0, "/iso/r/k", "2"), 0);
    assert_int_equal(xsc_read(e->dom0, t, "/iso/r/k", &v, NULL), -ENOENT);
    assert_int_equal(xsc_transaction_end(e->dom0, t, true), -EAGAIN);
    expect_read(e->dom0, 0, "/iso/r/k", "2");

    /* Without interference the same steps commit. */
    assert_int_equal(xsc_transaction_start(e->dom0, &t), 0);
    expect_read(e->dom0, t, "/iso/a", "again");
    assert_int_equal(xsc_write_str(e->dom0, t, "/iso/a", "mine"), 0);
    assert_int_equal(xsc_rm(e->dom0, t, "/iso/r"), 0);
    assert_int_equal(xsc_transaction_end(e->dom0, t, true), 0);
    expect_read(e->dom0, 0, "/iso/a", "mine");
    assert_int_equal(xsc_read(e->dom0, 0, "/iso/r", &v, NULL), -ENOENT);
    assert_int_equal(xsc_rm(e->dom0, 0, "/iso"), 0);
}

/* Quotas hold whatever the interleaving of a domain's transactions: each
 * one fits on its own, together they would not; the commit checks again. */
static void test_transaction_quota(void **state)
{
    (void)state;
    enum { QUOTA = 20, TXNS = 10, EACH = 15 };
    static const char *const args[] = {"--quota-nodes", "20", "--quota-transactions", "10", NULL};
    struct test_store ts = {0};
    char path[96];
    uint32_t tx[TXNS];
    unsigned committed = 0, nospc = 0;

    assert_int_equal(test_store_start(&ts, args), 0);
    struct xsc *dom0 = xsc_open(ts.socket);
    assert_non_null(dom0);
    struct xsc *d1 = introduce(dom0, 1);
    make_home(dom0, 1); /* owned by domain 1: one node of its quota */
    /* One parent per transaction, owned by domain 0 and writable by domain
     * 1, so that the transactions do not conflict with each other. */
    struct xsc_perm acl[] = {{0, 'n'}, {1, 'b'}};
    for (unsigned i = 0; i < TXNS; i++) {
        snprintf(path, sizeof(path), "/local/domain/1/p%u", i);
        assert_int_equal(xsc_mkdir(dom0, 0, path), 0);
        assert_int_equal(xsc_set_perms(dom0, 0, path, acl, 2), 0);
    }
    for (unsigned i = 0; i < TXNS; i++) {
        assert_int_equal(xsc_transaction_start(d1, &tx[i]), 0);
        for (unsigned k = 0; k < EACH; k++) {
            snprintf(path, sizeof(path), "p%u/k%u", i, k);
            assert_int_equal(xsc_write_str(d1, tx[i], path, "x"), 0);
        }
    }
    for (unsigned i = 0; i < TXNS; i++) {
        int rc = xsc_transaction_end(d1, tx[i], true);
        if (rc == 0)
            committed++;
        else if (rc == -ENOSPC)
            nospc++;
        else
            fail_msg("commit %u: %s", i, strerror(-rc));
    }
    assert_int_equal(committed, 1);
    assert_int_equal(nospc, TXNS - 1);
    /* Count what domain 1 owns: its home plus what it created. */
    unsigned owned = 1;
    for (unsigned i = 0; i < TXNS; i++) {
        char **names;
        unsigned n;
        snprintf(path, sizeof(path), "/local/domain/1/p%u", i);
        assert_int_equal(xsc_directory(dom0, 0, path, &names, &n), 0);
        owned += n;
        free(names);
    }
    assert_true(owned <= QUOTA);
    assert_int_equal(owned, 1 + EACH);
    /* Plain writes still stop at the quota. */
    unsigned more = 0;
    for (; more < QUOTA; more++) {
        snprintf(path, sizeof(path), "p1/m%u", more);
        if (xsc_write_str(d1, 0, path, "x") != 0)
            break;
    }
    assert_int_equal(1 + EACH + more, QUOTA);
    assert_int_equal(xsc_request(dom0, XS_CONTROL, 0, "check", 6, -1, NULL, NULL), 0);
    xsc_close(d1);
    xsc_close(dom0);
    assert_int_equal(test_store_stop(&ts), 0);
}

static void test_quotas(void **state)
{
    struct env *e = *state;
    char path[64], *v;
    int rc = 0, i;

    /* Nodes: the home counts as one of the domain's nodes. */
    for (i = 0; i < NODE_QUOTA + 5; i++) {
        snprintf(path, sizeof(path), "q/n%d", i);
        rc = xsc_write_str(e->dom[2], 0, path, "x");
        if (rc)
            break;
    }
    assert_int_equal(rc, -ENOSPC);
    assert_int_equal(i, NODE_QUOTA - 2); /* home + q + (quota - 2) leaves */
    assert_int_equal(xsc_read(e->dom[2], 0, path, &v, NULL), -ENOENT);
    /* A write that needs several new nodes fails whole. */
    assert_int_equal(xsc_rm(e->dom[2], 0, "q/n0"), 0);
    assert_int_equal(xsc_write_str(e->dom[2], 0, "q/deep/er", "x"), -ENOSPC);
    assert_int_equal(xsc_read(e->dom[2], 0, "q/deep", &v, NULL), -ENOENT);
    assert_int_equal(xsc_write_str(e->dom[2], 0, "q/n0", "x"), 0);
    /* Also inside a transaction. */
    uint32_t t;
    assert_int_equal(xsc_transaction_start(e->dom[2], &t), 0);
    assert_int_equal(xsc_write_str(e->dom[2], t, "q/more", "x"), -ENOSPC);
    assert_int_equal(xsc_transaction_end(e->dom[2], t, false), 0);
    /* Domain 0 has no quota. */
    assert_int_equal(xsc_write_str(e->dom0, 0, "/local/domain/2/q/by-dom0", "x"), 0);
    assert_int_equal(xsc_rm(e->dom[2], 0, "q"), 0);
    assert_int_equal(xsc_write_str(e->dom[2], 0, "q/again", "x"), 0);
    assert_int_equal(xsc_rm(e->dom[2], 0, "q"), 0);

    /* Watches. */
    for (i = 0; i < WATCH_QUOTA + 1; i++) {
        snprintf(path, sizeof(path), "t%d", i);
        rc = xsc_watch(e->dom[2], "w", path);
        if (rc)
            break;
    }
    assert_int_equal(rc, -E2BIG);
    assert_int_equal(i, WATCH_QUOTA);
    assert_int_equal(xsc_request(e->dom[2], XS_RESET_WATCHES, 0, "", 1, -1, NULL, NULL), 0);
    assert_int_equal(xsc_watch(e->dom[2], "w", "again"), 0);
    assert_int_equal(xsc_unwatch(e->dom[2], "w", "again"), 0);

    /* Transactions. */
    uint32_t ids[TXN_QUOTA + 1];
    for (i = 0; i < TXN_QUOTA; i++)
        assert_int_equal(xsc_transaction_start(e->dom[2], &ids[i]), 0);
    assert_int_equal(xsc_transaction_start(e->dom[2], &ids[i]), -ENOSPC);
    for (i = 0; i < TXN_QUOTA; i++)
        assert_int_equal(xsc_transaction_end(e->dom[2], ids[i], false), 0);

    /* Value size (2048 here) and path lengths. */
    char big[2100];
    memset(big, 'v', sizeof(big));
    assert_int_equal(xsc_write(e->dom[2], 0, "big", big, 2049), -E2BIG);
    assert_int_equal(xsc_read(e->dom[2], 0, "big", &v, NULL), -ENOENT);
    assert_int_equal(xsc_write(e->dom[2], 0, "big", big, 2048), 0);
    assert_int_equal(xsc_rm(e->dom[2], 0, "big"), 0);
    char longpath[2100];
    memset(longpath, 'p', sizeof(longpath));
    longpath[sizeof(longpath) - 1] = '\0';
    assert_int_equal(xsc_write_str(e->dom[2], 0, longpath, "x"), -E2BIG);
}

/* Raw connection for hostile input. */
static int raw_connect(struct env *e)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, e->ts.socket);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

static void raw_send(int fd, uint32_t type, uint32_t req, uint32_t tx, uint32_t len,
                     const void *payload, size_t plen)
{
    struct xs_msg_header h = {type, req, tx, len};
    assert_int_equal(write_full(fd, &h, sizeof(h)), sizeof(h));
    if (plen)
        assert_int_equal(write_full(fd, payload, plen), (ssize_t)plen);
}

static void raw_expect_error(int fd, uint32_t req, const char *err)
{
    struct xs_msg_header h;
    char buf[64] = {0};
    assert_int_equal(read_full(fd, &h, sizeof(h)), sizeof(h));
    assert_int_equal(h.type, XS_ERROR);
    assert_int_equal(h.req_id, req);
    assert_true(h.len < sizeof(buf));
    assert_int_equal(read_full(fd, buf, h.len), (ssize_t)h.len);
    assert_string_equal(buf, err);
}

static void still_serving(struct env *e)
{
    assert_true(test_store_alive(&e->ts));
    assert_int_equal(xsc_write_str(e->dom0, 0, "/local/domain/1/alive", "yes"), 0);
    expect_read(e->dom[1], 0, "alive", "yes");
}

static void test_malformed(void **state)
{
    struct env *e = *state;
    char c;

    /* A truncated header, left hanging: others are served meanwhile. */
    int hang = raw_connect(e);
    assert_int_equal(write_full(hang, "\x02\0\0\0\x01\0", 6), 6);
    still_serving(e);

    /* Missing NUL, unknown type, bad transaction id: error replies. */
    int fd = raw_connect(e);
    raw_send(fd, XS_READ, 7, 0, 4, "/abc", 4);
    raw_expect_error(fd, 7, "EINVAL");
    raw_send(fd, 99, 8, 0, 0, NULL, 0);
    raw_expect_error(fd, 8, "ENOSYS");
    raw_send(fd, XS_ERROR, 9, 0, 0, NULL, 0);
    raw_expect_error(fd, 9, "ENOSYS");
    raw_send(fd, XS_READ, 10, 12345, 7, "/alive", 7);
    raw_expect_error(fd, 10, "ENOENT");
    raw_send(fd, XS_WATCH, 11, 0, 6, "/a\0tok", 6);
    raw_expect_error(fd, 11, "EINVAL");
    raw_send(fd, XS_SET_PERMS, 12, 0, 8, "/alive\0q", 8);
    raw_expect_error(fd, 12, "EINVAL");
    raw_send(fd, XS_INTRODUCE, 13, 0, 6,
             "5\0"
             "0\0"
             "0",
             6);
    raw_expect_error(fd, 13, "EINVAL"); /* no descriptor came with it */
    /* ... and the connection still works. */
    raw_send(fd, XS_READ, 14, 0, 22, "/local/domain/1/alive", 22);
    struct xs_msg_header h;
    char buf[16] = {0};
    assert_int_equal(read_full(fd, &h, sizeof(h)), sizeof(h));
    assert_int_equal(h.type, XS_READ);
    assert_int_equal(h.req_id, 14);
    assert_int_equal(read_full(fd, buf, h.len), 3);
    assert_string_equal(buf, "yes");

    /* Oversized length: an error, then the store hangs up. */
    /* The store may hang up before the payload is written: no assertion on
     * that write (SIGPIPE is ignored). */
    raw_send(fd, XS_WRITE, 15, 0, XS_PAYLOAD_MAX + 1, NULL, 0);
    (void)send(fd, "/x", 2, MSG_NOSIGNAL);
    raw_expect_error(fd, 15, "E2BIG");
    /* End of file, or ECONNRESET if "/x" arrived after the store gave up. */
    assert_true(read(fd, &c, 1) <= 0);
    close(fd);
    still_serving(e);

    /* Garbage. */
    fd = raw_connect(e);
    char junk[512];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (char)(i * 37 + 11);
    (void)write_full(fd, junk, sizeof(junk));
    close(fd);
    /* A domain sending garbage does not hurt domain 0 either. */
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(xsc_introduce(e->dom0, 5, sv[1]), 0);
    close(sv[1]);
    raw_send(sv[0], XS_RM, 1, 0, 0xffffffffu, NULL, 0);
    raw_expect_error(sv[0], 1, "E2BIG");
    assert_true(read(sv[0], &c, 1) <= 0);
    close(sv[0]);
    assert_int_equal(xsc_release(e->dom0, 5), 0);

    /* A client that sends and never reads: it is paused, not served
     * ahead of everyone else, and others are unaffected. */
    int greedy = raw_connect(e);
    /* Blocking writes that give up once the store has stopped reading. */
    struct timeval tv = {.tv_sec = 2};
    assert_int_equal(setsockopt(greedy, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
    enum { BATCH = 1000, MSG = XS_HEADER_SIZE + 22 };
    static char req[BATCH * MSG];
    struct xs_msg_header rh = {XS_READ, 1, 0, 22};
    for (unsigned i = 0; i < BATCH; i++) {
        memcpy(req + i * MSG, &rh, sizeof(rh));
        memcpy(req + i * MSG + sizeof(rh), "/local/domain/1/alive", 22);
    }
    /* Until the store stops reading it (bounded, in case it never does). */
    unsigned batches = 0;
    while (batches < 2000 && write_full(greedy, req, sizeof(req)) == (ssize_t)sizeof(req))
        batches++;
    assert_true(batches > 5);
    assert_true(batches < 2000);
    still_serving(e);
    close(greedy);

    close(hang);
    still_serving(e);
    assert_int_equal(xsc_rm(e->dom0, 0, "/local/domain/1/alive"), 0);
}

static void test_big_directory(void **state)
{
    struct env *e = *state;
    char path[128], **names;
    unsigned n;
    const unsigned count = 300; /* ~ 40 bytes each: several DIRECTORY_PARTs */
    for (unsigned i = 0; i < count; i++) {
        snprintf(path, sizeof(path), "/big/child-with-a-rather-long-name-%05u", i);
        assert_int_equal(xsc_write_str(e->dom0, 0, path, ""), 0);
    }
    char *raw;
    assert_int_equal(xsc_request(e->dom0, XS_DIRECTORY, 0, "/big", 5, -1, &raw, NULL), -E2BIG);
    assert_int_equal(xsc_directory(e->dom0, 0, "/big", &names, &n), 0);
    assert_int_equal(n, count);
    for (unsigned i = 0; i < count; i++) {
        snprintf(path, sizeof(path), "child-with-a-rather-long-name-%05u", i);
        assert_string_equal(names[i], path);
    }
    free(names);
    assert_int_equal(xsc_rm(e->dom0, 0, "/big"), 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* hostile-client tests write to closed sockets */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basics),
        cmocka_unit_test(test_isolation),
        cmocka_unit_test(test_target),
        cmocka_unit_test(test_watches),
        cmocka_unit_test(test_transactions),
        cmocka_unit_test(test_transaction_isolation),
        cmocka_unit_test(test_transaction_quota),
        cmocka_unit_test(test_quotas),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_big_directory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

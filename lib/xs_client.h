/* A small synchronous client for the store (stubstored, or any xenstore
 * daemon reachable over a Unix socket).
 *
 * One request at a time: each call sends one message and waits for its
 * reply.  Watch events that arrive meanwhile are queued, in order, for
 * xsc_read_watch().  A handle is not thread-safe.
 *
 * Errors: every function returning int returns 0 or a negative errno.  The
 * store's error names map back to errno values (EACCES, ENOENT, EAGAIN...);
 * -EPROTO means the store sent something malformed, -ECONNRESET that it
 * hung up.  After -EPROTO or -ECONNRESET the handle can only be closed.
 *
 * Memory: whatever a function hands back through a pointer argument is one
 * malloc()ed block that the caller owns and releases with free().
 *
 * tx is a transaction id from xsc_transaction_start(), or 0 for none.
 *
 * Reconnection (xsc_set_reconnect): connections do not survive a restart
 * of the store, but its contents do.  A handle set to reconnect notices a
 * lost connection in any call, connects again with backoff, registers its
 * watches again (each fires once, as a new watch does: the owner reads
 * again what it watches) and reports the reconnection.  What happens to
 * the call that was in flight:
 *   - outside a transaction, it is sent again (every operation is safe to
 *     repeat: a WRITE writes the same value again, an RM of what is gone is
 *     fine, an INTRODUCE attaches the domain again);
 *   - inside a transaction, -EAGAIN: the transaction died with the
 *     connection and none of it was committed -- start over, as after a
 *     conflict; later calls with that id get -EAGAIN too;
 *   - a commit (xsc_transaction_end(.., true)) in flight: -ECONNRESET, as
 *     its outcome is unknown -- the handle is connected again, read the
 *     store to find out.
 * -ECONNRESET from a reconnecting handle otherwise means the store stayed
 * away longer than max_wait_ms; the next call tries again.
 */
#ifndef STUBVISOR_XS_CLIENT_H
#define STUBVISOR_XS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xsc;

/* Connect to the store's socket at path.  NULL with errno set on failure. */
struct xsc *xsc_open(const char *path);

/* Use an already connected stream socket (a domain's end of the pair given
 * to xsc_introduce(), for instance).  The handle owns fd from now on, also
 * on failure (NULL, errno ENOMEM). */
struct xsc *xsc_adopt(int fd);

/* How a handle comes back after losing its connection. */
struct xsc_reconnect {
    int max_wait_ms; /* how long one call keeps trying; -1: for ever */
    /* A fresh connected socket, or -errno.  NULL: the path xsc_open() was
     * given.  A domain's handle (xsc_adopt) has no path: its owner gets a
     * new socket from whoever introduces it (INTRODUCE attaches a domain the
     * store knows to a fresh socket, see docs/store.md). */
    int (*connect)(void *opaque);
    /* Called after each reconnection, watches registered again; may use
     * the handle.  NULL: none (xsc_reconnections() still counts). */
    void (*reconnected)(struct xsc *h, void *opaque);
    void *opaque;
};

/* Reconnect from now on as `how` says (copied).  -EINVAL for an adopted
 * handle without a connect function. */
int xsc_set_reconnect(struct xsc *h, const struct xsc_reconnect *how);

/* How many times the handle has reconnected. */
unsigned xsc_reconnections(const struct xsc *h);

/* Close the connection and free the handle and any queued events.
 * NULL is allowed. */
void xsc_close(struct xsc *h);

/* The socket, e.g. to poll() for watch events.  Owned by the handle.  Events
 * may already be waiting in the handle, where poll() cannot see them: check
 * xsc_pending_events() before sleeping on the descriptor.  A reconnecting
 * handle changes its socket: ask again after every call. */
int xsc_fd(const struct xsc *h);

/* Number of watch events received and waiting in the handle. */
unsigned xsc_pending_events(struct xsc *h);

/* Send one raw request (payload as the wire carries it) and wait for its
 * answer.  pass_fd >= 0 travels with the message (SCM_RIGHTS) and stays open
 * in the caller.  On success *reply (if reply is not NULL) gets the reply
 * payload plus a terminating NUL the store did not send, and *reply_len (if
 * not NULL) its length without that NUL.  An XS_ERROR answer becomes its
 * negative errno. */
int xsc_request(struct xsc *h, uint32_t type, uint32_t tx, const void *payload, size_t len,
                int pass_fd, char **reply, size_t *reply_len);

/* Read a node's value into *value (NUL-terminated for convenience; *len,
 * if not NULL, is the value's length, which may contain NULs). */
int xsc_read(struct xsc *h, uint32_t tx, const char *path, char **value, size_t *len);

/* Write len bytes to path, creating it and missing parents. */
int xsc_write(struct xsc *h, uint32_t tx, const char *path, const void *value, size_t len);

/* Same, for a NUL-terminated string value. */
int xsc_write_str(struct xsc *h, uint32_t tx, const char *path, const char *value);

/* Create path (and parents) if missing; an existing node is left alone. */
int xsc_mkdir(struct xsc *h, uint32_t tx, const char *path);

/* Remove path and everything below it. */
int xsc_rm(struct xsc *h, uint32_t tx, const char *path);

/* The names of path's children.  *names is one block holding the array
 * and the strings: free(*names) releases all of it.  Large directories are
 * fetched piecewise (DIRECTORY_PART) transparently. */
int xsc_directory(struct xsc *h, uint32_t tx, const char *path, char ***names, unsigned *n);

/* One ACL entry: perm is 'n', 'r', 'w' or 'b'.  Entry 0 names the owner
 * and what everyone not listed gets. */
struct xsc_perm {
    uint32_t domid;
    char perm;
};

/* Read path's ACL into *perms (*n entries; caller frees *perms). */
int xsc_get_perms(struct xsc *h, uint32_t tx, const char *path, struct xsc_perm **perms,
                  unsigned *n);

/* Replace path's ACL with n >= 1 entries. */
int xsc_set_perms(struct xsc *h, uint32_t tx, const char *path, const struct xsc_perm *perms,
                  unsigned n);

/* Watch path (or "@introduceDomain" / "@releaseDomain") with token.  The
 * store fires every new watch once at once; that event is queued too. */
int xsc_watch(struct xsc *h, const char *path, const char *token);
int xsc_unwatch(struct xsc *h, const char *path, const char *token);

/* One watch event; path and token point into the same block. */
struct xsc_event {
    char *path;
    char *token;
};

/* Wait up to timeout_ms (-1: forever, 0: just poll) for the next watch
 * event, queued or new.  On success *ev is the caller's (free(*ev)).
 * -ETIMEDOUT if none came in time. */
int xsc_read_watch(struct xsc *h, int timeout_ms, struct xsc_event **ev);

/* Start a transaction; its id goes to *tx. */
int xsc_transaction_start(struct xsc *h, uint32_t *tx);

/* Commit (commit = true) or abort the transaction.  A commit that
 * conflicts with changes made meanwhile fails with -EAGAIN and changes
 * nothing: start over. */
int xsc_transaction_end(struct xsc *h, uint32_t tx, bool commit);

/* Domain 0 only.  Introduce domid, whose connection to the store is
 * domain_fd: one end of a connected stream socket pair, sent by descriptor
 * passing.  The caller keeps its copy of domain_fd (close it once sent) and
 * gives the other end to the domain. */
int xsc_introduce(struct xsc *h, uint32_t domid, int domain_fd);

/* Domain 0 only.  Forget domid: closes its connection, removes
 * /local/domain/<domid>, fires @releaseDomain. */
int xsc_release(struct xsc *h, uint32_t domid);

/* Domain 0 only.  Let domid act with target's permissions as well (a
 * device-model domain and its guest). */
int xsc_set_target(struct xsc *h, uint32_t domid, uint32_t target);

/* "/local/domain/<domid>" as the store sees it, in *path (caller frees). */
int xsc_get_domain_path(struct xsc *h, uint32_t domid, char **path);

/* Domain 0 only.  Whether domid is introduced (and connected). */
int xsc_is_domain_introduced(struct xsc *h, uint32_t domid, bool *introduced);

#endif

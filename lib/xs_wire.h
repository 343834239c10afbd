/* The xenstore wire protocol, as Xen's xs_wire.h defines it: shared by the
 * store daemon (stubstored) and the client library (xs_client.h).
 *
 * Every message is a 16-byte header followed by `len` bytes of payload
 * (at most XS_PAYLOAD_MAX).  Arguments in a payload are NUL-terminated
 * strings, except a WRITE's value, which is the raw rest of the payload.
 * Replies echo the request's req_id and tx_id; a failed request is answered
 * with XS_ERROR whose payload is the error's name ("EACCES\0").  Watch
 * events arrive unsolicited as XS_WATCH_EVENT with req_id 0.
 *
 * The numbers are Xen's ABI and must not change.
 */
#ifndef STUBVISOR_XS_WIRE_H
#define STUBVISOR_XS_WIRE_H

#include <errno.h>
#include <stdint.h>

enum xs_msg_type {
    XS_CONTROL = 0,
    XS_DIRECTORY = 1,
    XS_READ = 2,
    XS_GET_PERMS = 3,
    XS_WATCH = 4,
    XS_UNWATCH = 5,
    XS_TRANSACTION_START = 6,
    XS_TRANSACTION_END = 7,
    XS_INTRODUCE = 8,
    XS_RELEASE = 9,
    XS_GET_DOMAIN_PATH = 10,
    XS_WRITE = 11,
    XS_MKDIR = 12,
    XS_RM = 13,
    XS_SET_PERMS = 14,
    XS_WATCH_EVENT = 15,
    XS_ERROR = 16,
    XS_IS_DOMAIN_INTRODUCED = 17,
    XS_RESUME = 18,
    XS_SET_TARGET = 19,
    /* 20 was XS_RESTRICT, removed from Xen. */
    XS_RESET_WATCHES = 21,
    XS_DIRECTORY_PART = 22,
    XS_GET_FEATURE = 23,
    XS_SET_FEATURE = 24,
    XS_GET_QUOTA = 25,
    XS_SET_QUOTA = 26,
    XS_TYPE_COUNT,
    XS_INVALID = 0xffff,
};

struct xs_msg_header {
    uint32_t type;   /* enum xs_msg_type */
    uint32_t req_id; /* chosen by the client, echoed in the reply */
    uint32_t tx_id;  /* transaction id, 0 outside a transaction */
    uint32_t len;    /* payload bytes that follow */
};

#define XS_HEADER_SIZE  16
#define XS_PAYLOAD_MAX  4096
#define XS_ABS_PATH_MAX 3072
#define XS_REL_PATH_MAX 2048
#define XS_WATCH_PATH   0 /* index of the path in a watch event */
#define XS_WATCH_TOKEN  1 /* index of the token in a watch event */

_Static_assert(sizeof(struct xs_msg_header) == XS_HEADER_SIZE, "xenstore header is 16 bytes");

/* Error names on the wire and the errno each stands for (Xen's table). */
struct xs_error_name {
    int err;
    const char *name;
};

#define XS_ERROR_NAMES                                                                             \
    {                                                                                              \
        {EINVAL, "EINVAL"}, {EACCES, "EACCES"}, {EEXIST, "EEXIST"}, {EISDIR, "EISDIR"},            \
            {ENOENT, "ENOENT"}, {ENOMEM, "ENOMEM"}, {ENOSPC, "ENOSPC"}, {EIO, "EIO"},              \
            {ENOTEMPTY, "ENOTEMPTY"}, {ENOSYS, "ENOSYS"}, {EROFS, "EROFS"}, {EBUSY, "EBUSY"},      \
            {EAGAIN, "EAGAIN"}, {EISCONN, "EISCONN"}, {E2BIG, "E2BIG"}, {EPERM, "EPERM"},          \
    }

#endif

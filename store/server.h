/* The event loop of stubstored: one thread, one epoll set holding the
 * listening socket, a signalfd and every connection. */
#ifndef STUBSTORED_SERVER_H
#define STUBSTORED_SERVER_H

#include "store/store.h"

/* Bind the public socket at path (mode 0600, domain 0 only) and prepare
 * the loop.  A stale socket file nobody listens on is replaced; a live one
 * is an error.  Returns 0 or -errno with a message already logged. */
int server_open(struct store *s, const char *path);

/* Serve until SIGTERM or SIGINT (blocked by server_open and read through a
 * signalfd).  Returns 0 after a clean shutdown, -errno on failure. */
int server_run(struct store *s);

/* Close every connection and the socket, and unlink the socket file. */
void server_close(struct store *s);

#endif

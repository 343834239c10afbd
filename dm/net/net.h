/* Network back ends: a descriptor handed to the device model (a tap
 * device opened without IFF_VNET_HDR, or a connected datagram socket:
 * AF_UNIX SOCK_DGRAM or UDP on loopback) that carries one Ethernet frame
 * per read or write.  The device model never opens or connects it. */
#ifndef STUBVISOR_DM_NET_H
#define STUBVISOR_DM_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#define NET_MAX_FRAME 65536u

struct net_backend {
    int fd;
    bool is_socket; /* datagram socket, otherwise a tap (character device) */
};

/* Take fd (made non-blocking here).  Returns 0, or -EINVAL for a
 * descriptor that is neither a datagram socket nor a character device. */
int net_backend_open(struct net_backend *b, int fd);

/* Send one frame gathered from iov.  Returns 0, -EAGAIN when the back end
 * is full (the frame is dropped, as a congested link would), or -errno. */
int net_backend_send(struct net_backend *b, const struct iovec *iov, int n);

/* Receive one frame into buf (NET_MAX_FRAME bytes).  Returns its length,
 * 0 when nothing is waiting, or -errno. */
ssize_t net_backend_recv(struct net_backend *b, void *buf, size_t len);

void net_backend_close(struct net_backend *b);

#endif

/* QMP in stubdm: the QEMU Machine Protocol over DMFD_QMP, a SOCK_SEQPACKET
 * channel to stubvmm, which relays one client of DIR/qmp.sock at a time.
 * Each packet starts with one byte: 'C' (a new client: greet it, forget
 * the previous session) or 'D' followed by the client's bytes.  Replies and
 * events go back as plain packets of JSON text.
 *
 * Commands: qmp_capabilities, query-status, query-version, stop, cont,
 * system_reset, quit (docs/toolstack.md). */
#ifndef STUBVISOR_DM_QMP_H
#define STUBVISOR_DM_QMP_H

/* Set up with the dm_op channel for stop/cont/system_reset/quit.  Returns
 * the descriptor to poll, or -1 when there is no QMP channel. */
int qmp_init(int dmop_fd);

/* The channel is readable: take one packet and answer it. */
void qmp_handle(void);

#ifdef STUBVISOR_TEST_HOOKS
struct dm;
/* Test builds: behave like a hostile device model that keeps sending
 * unpause dm_ops (a timer of dm's; call at set-up).  0 or -errno. */
int qmp_fault_unpause(struct dm *dm);
#endif

#endif

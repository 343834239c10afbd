/* stubctl, the toolstack: the pieces its commands share.
 *
 *   main.c      the command table (xl_cmdtable style) and dispatch
 *   env.c       run and log directories, finding the other programs
 *   store.c     the store: start it when none runs, connect as domain 0
 *   domain.c    finding domains in the store, the control socket
 *   create.c    create: domain ids, store nodes, stubvmm, the supervisor
 *   cmd_save.c  save and restore (a restore is a create with a save file)
 *   cmd_list.c  list
 *   cmd_domain.c destroy, shutdown, reboot, pause, unpause, domid, domname, log
 *   cmd_rename.c rename
 *   cmd_info.c  info, uptime
 *   cmd_vcpu.c  vcpu-list
 *   cmd_top.c   top
 *   cmd_store.c store status, store stop
 *   dominfo.c   what list, uptime and top show of a domain
 *   vif.c       bridged vifs: taps, hotplug scripts, backend nodes
 *   console.c   console
 *
 * docs/toolstack.md is the user's reference. */
#ifndef STUBVISOR_CTL_STUBCTL_H
#define STUBVISOR_CTL_STUBCTL_H

#include <getopt.h> /* optind, optarg: ctl_getopt() */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/xs_client.h"

#define STUBCTL_MAX_DOMID       0x7fef /* DOMID_FIRST_RESERVED - 1, as in Xen */
#define STUBCTL_READY_TIMEOUT   30     /* seconds for a device model to say running */
#define STUBCTL_DESTROY_TIMEOUT 15
#define STUBCTL_SAVE_TIMEOUT    600 /* seconds for stubvmm to write a save file */

/* One command of the table. */
struct cmd_spec {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
    const char *usage;
};

/* Print the command's usage to stderr and return EXIT_USAGE. */
int cmd_usage(const char *name);

/* getopt_long for command cmd with short options opts (getopt syntax, no
 * leading '+' or ':'); -h and --help are added.  Returns the option,
 * -1 at the first non-option, CTL_OPT_HELP after printing the usage on
 * stdout, or CTL_OPT_BAD after naming a bad option and printing the usage
 * on stderr.  Set optind = 1 before the first call.  A command ends with
 * `return ctl_opt_exit(opt)` on anything it does not handle. */
#define CTL_OPT_HELP -2
#define CTL_OPT_BAD  -3
int ctl_getopt(int argc, char **argv, const char *opts, const char *cmd);
/* The exit code for CTL_OPT_HELP (0) and anything else (EXIT_USAGE). */
int ctl_opt_exit(int opt);

/* ---- env.c ---- */

/* $STUBVISOR_RUNDIR or /run/stubvisor; $STUBVISOR_LOGDIR or /var/log/stubvisor. */
const char *ctl_rundir(void);
const char *ctl_logdir(void);
/* Path of another stubvisor program (stubvmm, stubstored): next to our
 * own binary (the build tree), else where the installation put it,
 * relative to our own directory.  Returns 0 or -ENOENT. */
int ctl_program_path(const char *name, char *buf, size_t len);
/* $RUNDIR/store.sock into buf. */
void ctl_store_path(char *buf, size_t len);
/* mkdir -p with mode for the missing parts.  Returns 0 or -errno. */
int ctl_mkdirs(const char *path, unsigned mode);

/* ---- store.c ---- */

/* Connect to the store as domain 0, starting stubstored first if none
 * answers on $RUNDIR/store.sock (race-safe).  NULL with an error printed. */
struct xsc *ctl_store_open(bool start_if_needed);
/* Connect if a store runs; NULL without a message otherwise (errno set). */
struct xsc *ctl_store_try_open(void);

/* ---- domain.c ---- */

/* Resolve "NAME" or "ID" to a guest's domain id (not a device model's).
 * Returns 0, -ENOENT (message printed) or another -errno. */
int ctl_find_domain(struct xsc *xs, const char *name_or_id, unsigned *domid);

/* Resolve "NAME" or "ID" to any domain `list` shows: Domain-0 (0), a
 * guest, or a stub domain ("<guest>-dm").  Returns 0, -ENOENT (message
 * printed) or another -errno.  xs may be NULL (no store): only Domain-0. */
int ctl_find_any_domain(struct xsc *xs, const char *name_or_id, unsigned *domid);

/* Parse a decimal domain id (0 .. STUBCTL_MAX_DOMID). */
bool ctl_parse_domid(const char *s, unsigned *out);

/* Read /local/domain/<domid>/<rel> into a malloc()ed string, or NULL. */
char *ctl_read_dom(struct xsc *xs, unsigned domid, const char *rel);

/* Send one line to the guest's stubvmm control socket and read the reply
 * line into reply (without the newline).  Returns 0 for an "ok" reply,
 * -EREMOTEIO for an "error" reply (reply holds it), or -errno when the
 * socket cannot be reached. */
int ctl_control(struct xsc *xs, unsigned domid, const char *cmd, char *reply, size_t len);

/* The same with one descriptor passed along (SCM_RIGHTS; -1 for none) and
 * a reply timeout in seconds. */
int ctl_control_fd(unsigned domid, const char *cmd, int fd, int seconds, char *reply, size_t len);

/* Wait until the device model's state (/local/domain/<dm_domid>/
 * device-model/<domid>/state) reads want.  "error", or a device model that
 * died, end the wait early.  Returns 0, -EREMOTEIO (the device model said
 * error), -EIO (it is dead), -ETIMEDOUT, or another -errno; err says what
 * happened in words. */
int ctl_dm_wait_state(struct xsc *xs, unsigned domid, unsigned dm_domid, const char *want,
                      int seconds, char *err, size_t errlen);

/* A runtime command as seed 001 has the toolstack issue it: clear the
 * state, write parameter (empty) and command, wait for want (30 s).
 * Returns as ctl_dm_wait_state. */
int ctl_dm_command(struct xsc *xs, unsigned domid, unsigned dm_domid, const char *cmd,
                   const char *want, char *err, size_t errlen);

/* Ask stubvmm to end the guest (what: destroy, shutdown) and wait until
 * its supervisor cleaned up.  Returns an exit code; messages name label. */
int ctl_end_domain(struct xsc *xs, unsigned domid, const char *what, const char *label);

/* The guest's run directory ($RUNDIR/dom<domid>) into buf. */
void ctl_domain_dir(unsigned domid, char *buf, size_t len);

/* The config a guest was created from, as create keeps it (DIR/config,
 * at most SAVEFILE_MAX_CONFIG bytes), into a malloc'd buffer.  0 or
 * -errno (-EFBIG when larger). */
int ctl_read_kept_config(unsigned domid, char **text, size_t *len);

/* Wait until /local/domain/<domid> is gone.  Returns 0 or -ETIMEDOUT. */
int ctl_wait_released(struct xsc *xs, unsigned domid, int seconds);

/* Remove everything the toolstack made for a guest and its device model:
 * store nodes (RELEASE for both, @releaseDomain fires), /vm/<uuid>, the run
 * directory.  For a guest whose processes are already gone. */
void ctl_domain_cleanup(struct xsc *xs, unsigned domid);

/* ---- create.c ---- */
struct domain_config;

/* What create refuses before anything exists (disks and vifs stubvmm can
 * hand over, memory, the kernel or firmware found: made absolute);
 * random MACs picked.  what names the config in messages.  0 or -errno,
 * message printed. */
int ctl_check_config(const char *what, struct domain_config *cfg);

/* Create a domain from a checked config: fork the supervisor, report.
 * restore_fd >= 0: a save file checked with savefile_check, whose guest
 * this domain continues.  Returns an exit code (0, EXIT_SYSTEM). */
int ctl_create_domain(struct domain_config *cfg, bool paused, bool console, int restore_fd);

/* ---- commands ---- */
int main_create(int argc, char **argv);
int main_list(int argc, char **argv);
int main_destroy(int argc, char **argv);
int main_shutdown(int argc, char **argv);
int main_reboot(int argc, char **argv);
int main_pause(int argc, char **argv);
int main_unpause(int argc, char **argv);
int main_console(int argc, char **argv);
int main_domid(int argc, char **argv);
int main_domname(int argc, char **argv);
int main_log(int argc, char **argv);
int main_qmp(int argc, char **argv);
int main_save(int argc, char **argv);
int main_restore(int argc, char **argv);
int main_rename(int argc, char **argv);
int main_info(int argc, char **argv);
int main_uptime(int argc, char **argv);
int main_vcpu_list(int argc, char **argv);
int main_top(int argc, char **argv);
int main_store(int argc, char **argv);

/* console.c: attach to the guest's console until Ctrl-] (or the end of a
 * non-terminal stdin, or the guest going away); with unpause, unpause the
 * guest once attached (create -c: no output is missed).  Returns an exit
 * code. */
int ctl_console_attach(struct xsc *xs, unsigned domid, bool unpause);
/* The same for the virtio console (pv) or COM1. */
int ctl_console_attach_type(struct xsc *xs, unsigned domid, bool unpause, bool pv);

#endif

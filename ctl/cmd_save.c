/* `stubctl save` and `stubctl restore` (docs/toolstack.md, "Save and
 * restore").
 *
 * save: the temporary file FILE.tmp.<pid> is made first (an unwritable
 * directory costs the guest nothing), the header and CONFIG (the config
 * the domain was created from, DIR/config) go in, the vCPUs are paused,
 * the device model is told `save` (its state lands on console 1, it says
 * "paused"; inline guests have none), and stubvmm's control `save` writes
 * the rest into the descriptor it is handed.  fsync, rename over FILE,
 * fsync the directory: FILE is whole or absent.  Without -c the domain is
 * then destroyed; with -c, or after any failure, the device model is told
 * `continue` and the guest unpaused if it was running.
 *
 * restore: savefile_check reads and checks the whole file before anything
 * is made; then it is a create (ctl_create_domain) with the file. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/config.h"
#include "ctl/stubctl.h"
#include "lib/fdio.h"
#include "lib/log.h"
#include "lib/savefile.h"

#define MIB (1024ull * 1024)

/* What save needs to know about the domain. */
struct saving {
    const char *label; /* the DOMAIN argument */
    unsigned domid, dm_domid;
    bool was_running;
    bool dm_saved; /* the device model was told save: it needs continue */
    bool paused;   /* we paused it */
};

/* An error reply without its "error " prefix. */
static const char *why(const char *reply)
{
    return strncmp(reply, "error ", 6) == 0 ? reply + 6 : reply;
}

/* The guest's state and its device model's health, from stubvmm. */
static int domain_status(struct saving *s, char *err, size_t errlen)
{
    char reply[512];
    int rc = ctl_control(NULL, s->domid, "status", reply, sizeof(reply));

    if (rc < 0) {
        snprintf(err, errlen, "cannot reach its stubvmm: %s",
                 rc == -EREMOTEIO ? why(reply) : strerror(-rc));
        return rc;
    }
    /* "ok state=S dm=D ...": the reason at the end is free text. */
    char state[16] = "", dm[16] = "";
    if (sscanf(reply, "ok state=%15s dm=%15s", state, dm) != 2) {
        snprintf(err, errlen, "stubvmm's status makes no sense: %.100s", reply);
        return -EPROTO;
    }
    if (s->dm_domid && strcmp(dm, "running") != 0) {
        snprintf(err, errlen, "its device model is gone; destroy the guest");
        return -EIO;
    }
    if (strcmp(state, "running") != 0 && strcmp(state, "paused") != 0) {
        snprintf(err, errlen, "the guest has stopped (%s)", state);
        return -EINVAL;
    }
    s->was_running = strcmp(state, "running") == 0;
    return 0;
}

/* Put the guest back as it was: device model running, vCPUs too if they
 * were.  Returns 0 or -errno (a message printed). */
static int resume(struct xsc *xs, struct saving *s)
{
    char reply[256], err[256];
    int rc = 0;

    if (s->dm_saved) {
        rc = ctl_dm_command(xs, s->domid, s->dm_domid, "continue", "running", err, sizeof(err));
        if (rc < 0) {
            fprintf(stderr,
                    "stubctl: %s: continuing the device model: %s; the guest stays paused\n",
                    s->label, err);
            return rc;
        }
        s->dm_saved = false;
    }
    if (s->paused && s->was_running) {
        rc = ctl_control(xs, s->domid, "unpause", reply, sizeof(reply));
        if (rc < 0)
            fprintf(stderr, "stubctl: %s: unpausing: %s\n", s->label,
                    rc == -EREMOTEIO ? why(reply) : strerror(-rc));
    }
    s->paused = false;
    return rc;
}

static int fsync_dir_of(const char *file)
{
    char copy[PATH_MAX];
    int fd, rc = 0;

    snprintf(copy, sizeof(copy), "%s", file);
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0)
        rc = -errno;
    close_quietly(fd);
    return rc;
}

/* `save DOMAIN FILE CONFIG`: CONFIG parsed and checked to describe the
 * domain's memory and vCPUs (or the restore would refuse the file), then
 * kept as create keeps a config: paths absolute, and the domain's UUID
 * when CONFIG gives none.  Returns 0 or -errno with err filled. */
static int override_config(struct xsc *xs, struct saving *s, const char *path, char **text,
                           size_t *len, char *err, size_t errlen)
{
    struct domain_config cfg = {0};
    struct config_error cerr;
    char *mem = ctl_read_dom(xs, s->domid, "memory/static-max"), *vm = NULL;
    char **cpus = NULL, dir[64];
    unsigned ncpus = 0;
    int rc;

    config_error_init(&cerr);
    rc = config_parse_file(path, &cfg, &cerr);
    if (rc < 0) {
        snprintf(err, errlen, "%s", cerr.message);
        goto out;
    }
    snprintf(dir, sizeof(dir), "/local/domain/%u/cpu", s->domid);
    if (xsc_directory(xs, 0, dir, &cpus, &ncpus) < 0)
        ncpus = 0;
    if (!mem || cfg.memory_mib * 1024 != strtoull(mem, NULL, 10) || cfg.vcpus != ncpus) {
        snprintf(err, errlen,
                 "%s: memory = %llu MiB and vcpus = %u, but the domain has %llu MiB "
                 "and %u",
                 path, (unsigned long long)cfg.memory_mib, cfg.vcpus,
                 mem ? strtoull(mem, NULL, 10) / 1024 : 0, ncpus);
        rc = -EINVAL;
        goto out;
    }
    vm = ctl_read_dom(xs, s->domid, "vm");
    if (!cfg.uuid_set && vm && strncmp(vm, "/vm/", 4) == 0 &&
        config_uuid_parse(vm + 4, cfg.uuid) == 0)
        cfg.uuid_set = true;
    rc = config_format(&cfg, text, len);
    if (rc < 0)
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
out:
    free(mem);
    free(vm);
    free(cpus);
    config_error_dispose(&cerr);
    config_dispose(&cfg);
    return rc;
}

/* The save proper: FILE written and renamed, or nothing left behind.  The
 * guest ends paused (the caller destroys or resumes it).  cfg_file: the
 * config to keep instead of the domain's own, or NULL. */
static int save_to(struct xsc *xs, struct saving *s, const char *file, const char *cfg_file,
                   char *err, size_t errlen)
{
    char tmp[PATH_MAX], reply[512], *config = NULL;
    size_t config_len = 0;
    int fd = -1, rc;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", file, (long)getpid()) >= sizeof(tmp)) {
        snprintf(err, errlen, "%s: file name too long", file);
        return -ENAMETOOLONG;
    }
    if (cfg_file) {
        rc = override_config(xs, s, cfg_file, &config, &config_len, err, errlen);
        if (rc < 0)
            return rc;
    } else {
        rc = ctl_read_kept_config(s->domid, &config, &config_len);
        if (rc < 0) {
            snprintf(err, errlen, "the config it was created from is not kept: %s", strerror(-rc));
            return rc;
        }
    }
    fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    rc = savefile_begin(fd);
    rc = rc ?: savefile_section(fd, SAVEFILE_CONFIG, config, config_len);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(-rc));
        goto fail;
    }
    rc = ctl_control(xs, s->domid, "pause", reply, sizeof(reply));
    if (rc < 0) {
        snprintf(err, errlen, "pausing: %s", rc == -EREMOTEIO ? why(reply) : strerror(-rc));
        goto fail;
    }
    s->paused = true;
    if (s->dm_domid) {
        s->dm_saved = true; /* from here on it needs continue, whatever it answers */
        rc = ctl_dm_command(xs, s->domid, s->dm_domid, "save", "paused", err, errlen);
        if (rc < 0)
            goto fail;
    }
    rc = ctl_control_fd(s->domid, "save", fd, STUBCTL_SAVE_TIMEOUT, reply, sizeof(reply));
    if (rc < 0) {
        snprintf(err, errlen, "stubvmm: %s", rc == -EREMOTEIO ? why(reply) : strerror(-rc));
        goto fail;
    }
    rc = fsync(fd) < 0 ? -errno : 0;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    fd = -1;
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(-rc));
        goto fail;
    }
    if (rename(tmp, file) < 0) {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", file, strerror(errno));
        goto fail;
    }
    rc = fsync_dir_of(file);
    if (rc < 0)
        log_warn("%s: syncing its directory: %s", file, strerror(-rc));
    rc = 0;
    goto out;
fail:
    unlink(tmp);
out:
    close_quietly(fd);
    free(config);
    return rc;
}

/* save [-c] [-p] DOMAIN FILE [CONFIG], as xl: without -c or -p the domain
 * is destroyed once saved; -c leaves it as it was; -p leaves it paused
 * (with or without -c). */
int main_save(int argc, char **argv)
{
    struct saving s = {0};
    char err[700], *dmid;
    bool keep = false, leave_paused = false;
    struct xsc *xs;
    int opt, rc;

    optind = 1;
    while ((opt = ctl_getopt(argc, argv, "cp", "save")) != -1) {
        if (opt == 'c')
            keep = true;
        else if (opt == 'p')
            leave_paused = true;
        else
            return ctl_opt_exit(opt);
    }
    if (argc - optind < 2 || argc - optind > 3 || !argv[optind][0] || !argv[optind + 1][0])
        return cmd_usage("save");
    s.label = argv[optind];
    const char *file = argv[optind + 1], *cfg_file = argc - optind == 3 ? argv[optind + 2] : NULL;
    /* Once the guest is paused and its device model quiesced, only this
     * process puts it back: Ctrl-C or a hang-up must not leave it stopped
     * (every wait below is bounded). */
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGQUIT);
    sigprocmask(SIG_BLOCK, &block, NULL);
    signal(SIGPIPE, SIG_IGN);
    xs = ctl_store_open(false);
    if (!xs)
        return EXIT_SYSTEM;
    if (ctl_find_domain(xs, s.label, &s.domid) < 0) {
        xsc_close(xs);
        return 1;
    }
    dmid = ctl_read_dom(xs, s.domid, "image/device-model-domid");
    s.dm_domid = dmid ? (unsigned)strtoul(dmid, NULL, 10) : 0;
    free(dmid);
    if (s.dm_domid > STUBCTL_MAX_DOMID)
        s.dm_domid = 0;
    rc = domain_status(&s, err, sizeof(err));
    rc = rc ?: save_to(xs, &s, file, cfg_file, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "stubctl: saving %s: %s; nothing saved\n", s.label, err);
        resume(xs, &s);
        rc = 1;
    } else if (keep || leave_paused) {
        if (leave_paused)
            s.was_running = false; /* the device model continues, the vCPUs do not */
        rc = resume(xs, &s) < 0 ? 1 : 0;
    } else {
        rc = ctl_end_domain(xs, s.domid, "destroy", s.label);
    }
    xsc_close(xs);
    return rc;
}

/* The config of a restore: CFG, or the one in the file; it must describe
 * the saved guest's memory and vCPUs. */
static int restore_config(const char *file, const char *cfg_file,
                          const struct savefile_summary *sum, struct domain_config *cfg)
{
    struct config_error cerr;
    char dir[PATH_MAX];
    int rc;

    config_error_init(&cerr);
    /* Relative paths (not what create keeps, but a file may say anything)
     * resolve against the save file's directory, as a config's do. */
    if (!realpath(file, dir))
        snprintf(dir, sizeof(dir), "/");
    if (cfg_file)
        rc = config_parse_file(cfg_file, cfg, &cerr);
    else
        rc = config_parse_buffer(file, sum->config, sum->config_len, dirname(dir), cfg, &cerr);
    for (size_t i = 0; i < cerr.nwarnings; i++)
        fprintf(stderr, "stubctl: warning: %s\n", cerr.warnings[i]);
    if (rc < 0) {
        fprintf(stderr, "stubctl: %s%s\n", cerr.message,
                cfg_file ? "" : " (the config in the save file)");
        goto out;
    }
    const char *what = cfg_file ? cfg_file : file;
    if (cfg->memory_mib * MIB != sum->memory_bytes) {
        fprintf(stderr, "stubctl: %s: memory = %llu MiB, but the saved guest has %llu MiB\n", what,
                (unsigned long long)cfg->memory_mib, (unsigned long long)(sum->memory_bytes / MIB));
        rc = -EINVAL;
        goto out;
    }
    if (cfg->vcpus != sum->nr_vcpus) {
        fprintf(stderr, "stubctl: %s: vcpus = %u, but the saved guest has %u\n", what, cfg->vcpus,
                sum->nr_vcpus);
        rc = -EINVAL;
        goto out;
    }
    rc = ctl_check_config(what, cfg);
out:
    config_error_dispose(&cerr);
    return rc;
}

/* Whether path starts like a save file (its first bytes only). */
static bool looks_like_save_file(const char *path)
{
    char magic[SAVEFILE_MAGIC_LEN];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    bool yes = fd >= 0 && read_full(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
               memcmp(magic, SAVEFILE_MAGIC, sizeof(magic)) == 0;

    close_quietly(fd);
    return yes;
}

/* restore [-p] [-c] [CONFIG] FILE, xl's order.  Two names: the one that
 * starts like a save file is FILE (so the order FILE CONFIG of earlier
 * versions still works); when neither or both do, xl's order decides. */
int main_restore(int argc, char **argv)
{
    struct savefile_summary sum = {0};
    struct domain_config cfg = {0};
    bool paused = false, console = false;
    char err[512];
    int opt, fd = -1, rc = 1;

    optind = 1;
    while ((opt = ctl_getopt(argc, argv, "pc", "restore")) != -1) {
        if (opt == 'p')
            paused = true;
        else if (opt == 'c')
            console = true;
        else
            return ctl_opt_exit(opt);
    }
    if (argc - optind < 1 || argc - optind > 2 || !argv[optind][0])
        return cmd_usage("restore");
    const char *file = argv[optind], *cfg_file = NULL;
    if (argc - optind == 2) {
        cfg_file = argv[optind];
        file = argv[optind + 1];
        if (looks_like_save_file(cfg_file) && !looks_like_save_file(file)) {
            file = argv[optind];
            cfg_file = argv[optind + 1];
        }
    }
    /* O_NONBLOCK: a FIFO must not hang us (savefile_check refuses it). */
    fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 || fd_set_nonblock(fd, 0) < 0) {
        fprintf(stderr, "stubctl: %s: %s\n", file, strerror(errno));
        close_quietly(fd);
        return 1;
    }
    /* Everything is checked before anything is made. */
    rc = savefile_check(fd, &sum, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "stubctl: %s: %s\n", file, rc == -EINVAL ? err : strerror(-rc));
        rc = 1;
        goto out;
    }
    if (restore_config(file, cfg_file, &sum, &cfg) < 0) {
        rc = 1;
        goto out;
    }
    if (lseek(fd, 0, SEEK_SET) < 0) {
        fprintf(stderr, "stubctl: %s: %s\n", file, strerror(errno));
        rc = 1;
        goto out;
    }
    rc = ctl_create_domain(&cfg, paused, console, fd);
out:
    close_quietly(fd);
    savefile_summary_free(&sum);
    config_dispose(&cfg);
    return rc;
}

/* The device model's store connection: target, arguments, readiness and
 * runtime commands (store_dm.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm/state.h"
#include "dm/state_rec.h"
#include "dm/store_dm.h"
#include "lib/dmfds.h"
#include "lib/fdio.h"
#include "lib/log.h"
#include "lib/xs_client.h"

/* What console 2 may hold: the save file's cap on the DM section. */
#define DM_STATE_MAX (16u << 20)

#define DM_MAX_SELFCHECKS 8

static struct {
    struct xsc *xs;
    /* Test builds: store paths to try reading with our own rights, and log
     * whether the store let us (proves the permissions from the inside). */
    char *selfcheck[DM_MAX_SELFCHECKS];
    unsigned nselfcheck;
    /* Test builds: how many saves still to answer "error" (-fail-save N),
     * so that the toolstack's failure path can be tested end to end. */
    unsigned fail_saves;
    unsigned target;
    char dm_path[64]; /* "device-model/<target>", relative to our domain */
    struct dm_machine *machine;
    void (*drain)(void *);
    void *drain_opaque;
    bool incoming;
    bool quiesced;
} sd = {.xs = NULL};

static int parse_uint_word(const char *s, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || end == s || *end || *s == '-' || v > max)
        return -EINVAL;
    *out = (unsigned)v;
    return 0;
}

/* Test builds: take -selfcheck PATH and -fail-save N out of the words
 * (they are the store connection's business, not the devices'); n is
 * updated.  Elsewhere they stay and the parser refuses them. */
static int take_test_words(char **words, unsigned *n)
{
#ifdef STUBVISOR_TEST_HOOKS
    unsigned out = 1;

    if (*n == 0)
        return 0;
    /* Words come in pairs after "stubdm": look at each pair's first. */
    for (unsigned i = 1; i < *n; i += 2) {
        char *w = words[i], *v = i + 1 < *n ? words[i + 1] : NULL;
        words[i] = NULL;
        if (i + 1 < *n)
            words[i + 1] = NULL;
        if (v && strcmp(w, "-selfcheck") == 0 && sd.nselfcheck < DM_MAX_SELFCHECKS) {
            sd.selfcheck[sd.nselfcheck++] = v;
            free(w);
            continue;
        }
        if (v && strcmp(w, "-fail-save") == 0) {
            int rc = parse_uint_word(v, 1000, &sd.fail_saves);
            if (rc < 0)
                log_error("dm-argv: -fail-save %s: expected a count", v);
            free(w);
            free(v);
            if (rc < 0)
                return rc;
            continue;
        }
        words[out++] = w;
        if (v)
            words[out++] = v;
    }
    *n = out;
#else
    (void)words, (void)n;
#endif
    return 0;
}

static int read_argv(const char *vm, struct dm_config *cfg)
{
    char path[256], **names = NULL, *words[DM_ARGV_MAX] = {0};
    unsigned n = 0;
    int rc;

    snprintf(path, sizeof(path), "%s/image/dm-argv", vm);
    rc = xsc_directory(sd.xs, 0, path, &names, &n);
    if (rc < 0) {
        log_error("reading %s: %s", path, strerror(-rc));
        goto out;
    }
    if (n > DM_ARGV_MAX) {
        log_error("%s: more than %d arguments", path, DM_ARGV_MAX);
        rc = -E2BIG;
        goto out;
    }
    /* NNN is 0-padded, so index i is "%03u" % i: read them in order. */
    for (unsigned i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/image/dm-argv/%03u", vm, i);
        rc = xsc_read(sd.xs, 0, path, &words[i], NULL);
        if (rc < 0) {
            log_error("reading %s: %s", path, strerror(-rc));
            goto out;
        }
    }
    rc = take_test_words(words, &n);
    if (rc == 0) {
        char err[512];
        rc = dm_config_parse(cfg, (const char *const *)words, n, err, sizeof(err));
        if (rc < 0)
            log_error("%s", err);
    }
out:
    for (unsigned i = 0; i < DM_ARGV_MAX; i++)
        free(words[i]);
    free(names);
    return rc;
}

int store_dm_init(struct dm_config *cfg)
{
    char *target = NULL, *vm = NULL, path[128];
    int rc;

    sd.xs = xsc_adopt(DMFD_STORE);
    if (!sd.xs)
        return -ENOMEM;
    rc = xsc_read(sd.xs, 0, "target", &target, NULL);
    if (rc < 0) {
        log_error("reading my target: %s", strerror(-rc));
        goto out;
    }
    if (parse_uint_word(target, 0x7fef, &sd.target) < 0) {
        log_error("my target \"%s\" is not a domain id", target);
        rc = -EINVAL;
        goto out;
    }
    snprintf(path, sizeof(path), "/local/domain/%u/vm", sd.target);
    rc = xsc_read(sd.xs, 0, path, &vm, NULL);
    if (rc < 0) {
        log_error("reading %s: %s", path, strerror(-rc));
        goto out;
    }
    if (vm[0] != '/' || strstr(vm, "..") || strlen(vm) > 128) {
        log_error("%s: bad value", path);
        rc = -EINVAL;
        goto out;
    }
    rc = read_argv(vm, cfg);
    if (rc < 0)
        goto out;
    sd.incoming = cfg->incoming;
    snprintf(sd.dm_path, sizeof(sd.dm_path), "device-model/%u", sd.target);
    snprintf(path, sizeof(path), "%s/command", sd.dm_path);
    rc = xsc_watch(sd.xs, path, "command");
    if (rc < 0)
        log_error("watching %s: %s", path, strerror(-rc));
    log_info("device model of domain %u (%s) started from the store", sd.target,
             cfg->name[0] ? cfg->name : "unnamed");
    for (unsigned i = 0; i < sd.nselfcheck; i++) {
        char *v = NULL;
        int r = sd.selfcheck[i] ? xsc_read(sd.xs, 0, sd.selfcheck[i], &v, NULL) : -ENOMEM;
        log_info("self-check: read %s: %s", sd.selfcheck[i] ? sd.selfcheck[i] : "?",
                 r == 0 ? "allowed" : strerror(-r));
        free(v);
        free(sd.selfcheck[i]);
        sd.selfcheck[i] = NULL;
    }
out:
    free(target);
    free(vm);
    return rc;
}

static int write_state(const char *value)
{
    char path[96];

    snprintf(path, sizeof(path), "%s/state", sd.dm_path);
    return xsc_write_str(sd.xs, 0, path, value);
}

void store_dm_attach(struct dm_machine *m, void (*drain)(void *), void *opaque)
{
    sd.machine = m;
    sd.drain = drain;
    sd.drain_opaque = opaque;
}

int store_dm_ready(void)
{
    if (!sd.xs)
        return 0;
    if (sd.incoming) {
        sd.quiesced = true; /* nothing is served before the state is in */
        log_info("waiting for continue to restore the device state from console 2");
        return write_state("paused");
    }
    return write_state("running");
}

int store_dm_fd(void)
{
    return sd.xs ? xsc_fd(sd.xs) : -1;
}

bool store_dm_quiesced(void)
{
    return sd.quiesced;
}

static const char *do_save(void)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    int rc;

    /* Posted writes the vCPUs left in the buffered ring happened before
     * the pause: serve them, then hold everything until continue. */
    if (sd.drain && !sd.quiesced)
        sd.drain(sd.drain_opaque);
    sd.quiesced = true;
    rc = dm_state_quiesce(sd.machine);
#ifdef STUBVISOR_TEST_HOOKS
    /* Fails where a real save would: quiesced, holding I/O until continue. */
    if (rc == 0 && sd.fail_saves > 0) {
        sd.fail_saves--;
        log_info("save: failing on purpose (-fail-save)");
        rc = -EIO;
    }
#endif
    if (rc == 0)
        rc = dm_state_save(sd.machine, &blob, &len);
    if (rc < 0) {
        log_error("save: %s", strerror(-rc));
        return "error";
    }
    /* Console 1 holds this save only: whatever an earlier save left there
     * (one the monitor never collected) is overwritten, and the monitor
     * takes [0, our offset). */
    if (lseek(DMFD_CONSOLE1, 0, SEEK_SET) < 0 && errno != ESPIPE) {
        log_error("save: console 1: %s", strerror(errno));
        free(blob);
        return "error";
    }
    if (write_full(DMFD_CONSOLE1, blob, len) < 0) {
        log_error("save: writing console 1: %s", strerror(errno));
        free(blob);
        return "error";
    }
    free(blob);
    log_info("save: device state written (%zu bytes, version %u)", len, STATE_VERSION);
    return "paused";
}

/* Console 2's contents: the saved state to restore (empty when none). */
static int read_console2(uint8_t **out, size_t *len)
{
    size_t cap = 0, n = 0;
    uint8_t *buf = NULL;

    for (;;) {
        if (n == cap) {
            if (cap >= DM_STATE_MAX) {
                free(buf);
                return -EFBIG;
            }
            cap = cap ? cap * 2 : 65536;
            uint8_t *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                return -ENOMEM;
            }
            buf = b;
        }
        ssize_t r = read(DMFD_CONSOLE2, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            return -e;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *out = buf;
    *len = n;
    return 0;
}

/* continue: after our own save the devices still hold their state (what
 * console 2 may show is what we wrote); with -incoming, console 2 holds
 * the state to restore. */
static const char *do_continue(void)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    int rc = sd.incoming ? read_console2(&blob, &len) : 0;

    if (rc < 0) {
        log_error("continue: reading console 2: %s", strerror(-rc));
        return "error";
    }
    if (len == 0 && sd.incoming) {
        log_error("continue: -incoming, but console 2 holds no device state");
        return "error";
    }
    if (len > 0) {
        rc = dm_state_load(sd.machine, blob, len);
        if (rc < 0) {
            log_error("continue: console 2 holds no valid device state");
            free(blob);
            return "error";
        }
        log_info("continue: device state restored from console 2 (%zu bytes)", len);
    }
    free(blob);
    sd.incoming = false;
    sd.quiesced = false;
    return "running";
}

static void handle_command(void)
{
    char path[96], *cmd = NULL;
    const char *result;

    snprintf(path, sizeof(path), "%s/command", sd.dm_path);
    if (xsc_read(sd.xs, 0, path, &cmd, NULL) < 0 || !cmd[0]) {
        free(cmd);
        return; /* the watch's first firing, or the command was taken */
    }
    if (strcmp(cmd, "save") == 0) {
        result = do_save();
    } else if (strcmp(cmd, "continue") == 0) {
        result = do_continue();
    } else {
        log_error("unknown command \"%.40s\" from the toolstack", cmd);
        result = "error";
    }
    xsc_rm(sd.xs, 0, path);
    if (write_state(result) < 0)
        log_error("cannot write the command's result");
    free(cmd);
}

void store_dm_handle(void)
{
    struct xsc_event *ev;
    int rc;

    if (!sd.xs)
        return;
    while ((rc = xsc_read_watch(sd.xs, 0, &ev)) == 0) {
        if (strcmp(ev->token, "command") == 0)
            handle_command();
        free(ev);
    }
    if (rc != -ETIMEDOUT && rc != -EAGAIN) {
        /* The store hung up: go on emulating, without commands. */
        log_error("store connection lost (%s)", strerror(-rc));
        xsc_close(sd.xs); /* also leaves the event loop's epoll set */
        sd.xs = NULL;
        sd.quiesced = false;
    }
}

void store_dm_hold(void)
{
    struct pollfd p = {.fd = store_dm_fd(), .events = POLLIN};

    if (p.fd < 0 || (xsc_pending_events(sd.xs) == 0 && poll(&p, 1, 1000) <= 0))
        return;
    store_dm_handle();
}

/* QMP in stubdm (qmp.h).  Input is untrusted text: bounded buffer, jansson
 * for the parsing, every field type-checked before use. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dm/qmp.h"
#include "dm/server.h"
#include "lib/dmfds.h"
#include "lib/log.h"

#define QMP_MAX_INPUT 65536

static struct {
    int fd, dmop_fd;
    bool negotiated;
    char buf[QMP_MAX_INPUT];
    size_t len;
} q = {.fd = -1, .dmop_fd = -1};

int qmp_init(int dmop_fd)
{
    struct stat st;

    if (fstat(DMFD_QMP, &st) < 0 || !S_ISSOCK(st.st_mode))
        return -1; /* none, or /dev/null in its place */
    q.fd = DMFD_QMP;
    q.dmop_fd = dmop_fd;
    return q.fd;
}

static void send_json(json_t *obj)
{
    char *s = json_dumps(obj, JSON_COMPACT);

    if (s) {
        size_t n = strlen(s);
        s[n] = '\n'; /* json_dumps leaves room for the NUL: reuse it */
        if (send(q.fd, s, n + 1, MSG_NOSIGNAL) < 0)
            log_debug("qmp: %s", strerror(errno));
        free(s);
    }
    json_decref(obj);
}

static void send_event(const char *name)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    send_json(json_pack("{s:s, s:{s:I, s:I}}", "event", name, "timestamp", "seconds",
                        (json_int_t)ts.tv_sec, "microseconds", (json_int_t)(ts.tv_nsec / 1000)));
}

static void reply_ok(json_t *id, json_t *ret)
{
    json_t *r = json_pack("{s:o}", "return", ret ? ret : json_object());

    if (id)
        json_object_set(r, "id", id);
    send_json(r);
}

static void reply_error(json_t *id, const char *cls, const char *desc)
{
    json_t *r = json_pack("{s:{s:s, s:s}}", "error", "class", cls, "desc", desc);

    if (id)
        json_object_set(r, "id", id);
    send_json(r);
}

static int dmop_simple(uint32_t op, uint32_t reason, struct dmop_reply *rep)
{
    struct dmop_req req = {.op = op};

    if (op == DMOP_REMOTE_SHUTDOWN)
        req.u.shutdown.reason = reason;
    return dmop_call(q.dmop_fd, &req, -1, rep, NULL, NULL);
}

/* Who holds the guest's pauses, from the monitor (the device model's own
 * is only one of them): query-status says paused whenever anybody does,
 * as `stubctl list` does. */
static void query_status(json_t *id)
{
    struct dmop_reply rep = {0};
    int rc = dmop_simple(DMOP_PAUSE_STATE, 0, &rep);
    bool paused = rc < 0 || rep.u.pause.holders != 0;

    if (rc < 0) {
        reply_error(id, "GenericError", strerror(-rc));
        return;
    }
    reply_ok(id, json_pack("{s:b, s:b, s:s}", "running", !paused, "singlestep", 0, "status",
                           paused ? "paused" : "running"));
}

/* stop takes the device model's pause reference (a second stop is no new
 * one); cont drops it and nothing else: a pause the toolstack holds stays,
 * and cont says so.  cont of a guest nobody pauses is fine, as in QEMU. */
static void stop_cont(json_t *id, bool stop)
{
    struct dmop_reply rep = {0};
    int rc = dmop_simple(stop ? DMOP_PAUSE_VCPUS : DMOP_UNPAUSE_VCPUS, 0, &rep);
    uint32_t others = rep.u.pause.holders & ~DMOP_PAUSED_BY_DM;

    if (rc < 0 && !(rc == -EALREADY && !stop)) {
        reply_error(id, "GenericError", strerror(-rc));
        return;
    }
    if (!stop && others) {
        reply_error(id, "GenericError",
                    others & DMOP_PAUSED_BY_TOOLSTACK
                        ? "The guest stays paused: the toolstack paused it (stubctl unpause)"
                        : "The guest stays paused: its monitor paused it");
        return;
    }
    reply_ok(id, NULL);
    if (rc == 0)
        send_event(stop ? "STOP" : "RESUME");
}

static void greet(void)
{
    q.negotiated = false;
    q.len = 0;
    send_json(json_pack("{s:{s:{s:{s:i, s:i, s:i}, s:s}, s:[]}}", "QMP", "version", "qemu", "major",
                        0, "minor", 1, "micro", 0, "package", "stubvisor", "capabilities"));
}

static void command(json_t *msg)
{
    json_t *id = json_is_object(msg) ? json_object_get(msg, "id") : NULL;
    json_t *ex = json_is_object(msg) ? json_object_get(msg, "execute") : NULL;
    const char *cmd = json_string_value(ex);

    if (!cmd) {
        reply_error(id, "GenericError", "QMP input must be an object with \"execute\"");
        return;
    }
    if (strcmp(cmd, "qmp_capabilities") == 0) {
        if (q.negotiated)
            reply_error(id, "CommandNotFound", "Capabilities negotiation is already complete");
        else
            reply_ok(id, NULL);
        q.negotiated = true;
        return;
    }
    if (!q.negotiated) {
        reply_error(id, "CommandNotFound",
                    "Expecting capabilities negotiation with 'qmp_capabilities'");
        return;
    }
    if (strcmp(cmd, "query-status") == 0) {
        query_status(id);
    } else if (strcmp(cmd, "query-version") == 0) {
        reply_ok(id, json_pack("{s:{s:i, s:i, s:i}, s:s}", "qemu", "major", 0, "minor", 1, "micro",
                               0, "package", "stubvisor"));
    } else if (strcmp(cmd, "stop") == 0 || strcmp(cmd, "cont") == 0) {
        stop_cont(id, cmd[0] == 's');
    } else if (strcmp(cmd, "system_reset") == 0 || strcmp(cmd, "quit") == 0) {
        bool reset = cmd[0] == 's';
        reply_ok(id, NULL);
        send_event(reset ? "RESET" : "SHUTDOWN");
        /* The toolstack applies on_reboot / on_poweroff. */
        if (dmop_simple(DMOP_REMOTE_SHUTDOWN, reset ? DMOP_SHUTDOWN_REBOOT : DMOP_SHUTDOWN_POWEROFF,
                        NULL) < 0)
            log_error("qmp: %s refused", cmd);
    } else {
        char desc[96];
        snprintf(desc, sizeof(desc), "The command %.40s has not been found", cmd);
        reply_error(id, "CommandNotFound", desc);
    }
}

/* Take every complete JSON value from the buffer. */
static void parse_buffer(void)
{
    for (;;) {
        size_t skip = 0;
        json_error_t err;
        json_t *msg;

        while (skip < q.len && strchr(" \t\r\n", q.buf[skip]))
            skip++;
        memmove(q.buf, q.buf + skip, q.len - skip);
        q.len -= skip;
        if (q.len == 0)
            return;
        msg = json_loadb(q.buf, q.len, JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &err);
        if (!msg) {
            if ((size_t)err.position >= q.len)
                return; /* incomplete: wait for more */
            reply_error(NULL, "GenericError", "JSON parse error");
            q.len = 0;
            return;
        }
        size_t used = (size_t)err.position;
        if (used > q.len)
            used = q.len;
        memmove(q.buf, q.buf + used, q.len - used);
        q.len -= used;
        command(msg);
        json_decref(msg);
    }
}

void qmp_handle(void)
{
    char pkt[4097];
    ssize_t n = recv(q.fd, pkt, sizeof(pkt), MSG_DONTWAIT);

    if (n <= 0) {
        if (n == 0) {
            log_info("qmp: the monitor closed the channel");
            close(q.fd); /* leaves the epoll set */
            q.fd = -1;
        }
        return;
    }
    if (pkt[0] == 'C') {
        greet();
    } else if (pkt[0] == 'D') {
        if (q.len + (size_t)(n - 1) > sizeof(q.buf)) {
            reply_error(NULL, "GenericError", "QMP input too long");
            q.len = 0;
            return;
        }
        memcpy(q.buf + q.len, pkt + 1, (size_t)(n - 1));
        q.len += (size_t)(n - 1);
        parse_buffer();
    }
}

#ifdef STUBVISOR_TEST_HOOKS
/* A hostile device model (dm-argv `-fault unpause`, test builds): every
 * HOSTILE_UNPAUSE_MS it asks the monitor to unpause the guest, whoever
 * paused it.  The monitor must refuse (it holds no pause of its own) and
 * the toolstack's pause must stand (tests/ctl/pause-owners.sh). */
#define HOSTILE_UNPAUSE_MS 20
static int hostile_timer = -1;
static unsigned hostile_refused;

static void hostile_unpause(struct dm *dm, void *opaque)
{
    struct dmop_req req = {.op = DMOP_UNPAUSE_VCPUS};
    int rc = dmop_call(DMFD_DMOP, &req, -1, NULL, NULL, NULL);

    (void)opaque;
    if (rc == -EALREADY && hostile_refused++ % 100 == 0)
        log_info("fault injection: unpause refused %u times", hostile_refused);
    else if (rc != -EALREADY)
        log_info("fault injection: unpause answered %d", rc);
    dm_timer_set(dm, hostile_timer, dm_now_ns() + HOSTILE_UNPAUSE_MS * 1000000ull);
}

int qmp_fault_unpause(struct dm *dm)
{
    hostile_timer = dm_timer_add(dm, hostile_unpause, NULL);
    if (hostile_timer < 0)
        return hostile_timer;
    dm_timer_set(dm, hostile_timer, dm_now_ns() + HOSTILE_UNPAUSE_MS * 1000000ull);
    log_info("fault injection: unpausing the guest every %d ms", HOSTILE_UNPAUSE_MS);
    return 0;
}
#endif

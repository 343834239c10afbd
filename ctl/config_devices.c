/* The device specs inside config strings: disk (xl-disk-configuration(5)),
 * vif (xl-network-configuration(5)) and serial, plus path resolution.
 *
 * Each parser reads one string of a `disk`, `vif` or `serial` list and fills
 * one spec, or fails with a message that names the file, line and key of the
 * list entry; on failure the spec is left empty.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "ctl/config_internal.h"
#include "lib/mac.h"

#define FAIL(w, err, ...) cfg_fail((err), (w)->origin, (w)->line, (w)->key, __VA_ARGS__)
#define WARN(w, err, ...) cfg_warn((err), (w)->origin, (w)->line, (w)->key, __VA_ARGS__)

int cfg_resolve_path(const struct cfg_where *w, const char *path, char **out,
                     struct config_error *err)
{
    size_t len = strlen(path);
    *out = NULL;
    if (len == 0)
        return FAIL(w, err, "empty path");
    if (path[0] == '/' || !w->base_dir) {
        if (len >= PATH_MAX)
            return FAIL(w, err, "path longer than %d bytes", PATH_MAX - 1);
        *out = strdup(path);
        return *out ? 0 : -ENOMEM;
    }
    size_t blen = strlen(w->base_dir);
    if (blen + 1 + len >= PATH_MAX)
        return FAIL(w, err, "path longer than %d bytes", PATH_MAX - 1);
    char *joined = malloc(blen + 1 + len + 1);
    if (!joined)
        return -ENOMEM;
    memcpy(joined, w->base_dir, blen);
    joined[blen] = '/';
    memcpy(joined + blen + 1, path, len + 1);
    *out = joined;
    return 0;
}

/* ---- common helpers ---- */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* One comma-separated parameter, trimmed; *next points after the comma. */
static void next_param(const char *p, const char **start, size_t *len, const char **next)
{
    while (is_blank(*p))
        p++;
    const char *comma = strchr(p, ',');
    const char *end = comma ? comma : p + strlen(p);
    *next = comma ? comma + 1 : end;
    while (end > p && is_blank(end[-1]))
        end--;
    *start = p;
    *len = (size_t)(end - p);
}

static bool param_is(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(s, word, len) == 0;
}

/* A network interface name as Linux takes it: 1..15 bytes, no '/', no
 * blanks, not "." or "..". */
static bool valid_ifname(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c == '/' || c == ':' || c >= 0x7f)
            return false;
    }
    return true;
}

/* ---- disk ---- */

enum { P_TARGET, P_FORMAT, P_VDEV, P_ACCESS, P_COUNT };
static const char *const positional_name[P_COUNT] = {"target", "format", "vdev", "access"};

int cfg_vdev_index(const struct cfg_where *w, const char *vdev, unsigned *index,
                   struct config_error *err)
{
    char q[CFG_QUOTE_MAX];
    const char *p;
    bool ide = false;

    if (strncmp(vdev, "xvd", 3) == 0) {
        p = vdev + 3;
    } else if (strncmp(vdev, "hd", 2) == 0) {
        p = vdev + 2;
        ide = true;
    } else if (strncmp(vdev, "sd", 2) == 0 || strncmp(vdev, "vd", 2) == 0) {
        p = vdev + 2;
    } else {
        return FAIL(w, err, "bad vdev %s: expected xvdX, hdX, sdX or vdX (X = a..z or aa..zz)",
                    cfg_quote(q, sizeof(q), vdev));
    }
    size_t letters = 0;
    while (p[letters] >= 'a' && p[letters] <= 'z')
        letters++;
    if (p[letters] >= '0' && p[letters] <= '9' && letters > 0)
        return FAIL(w, err, "vdev %s names a partition; name the whole disk",
                    cfg_quote(q, sizeof(q), vdev));
    if (letters == 0 || p[letters] != '\0' || letters > (ide ? 1u : 2u))
        return FAIL(w, err, "bad vdev %s: expected xvdX, hdX, sdX or vdX (X = a..z%s)",
                    cfg_quote(q, sizeof(q), vdev), ide ? " for hd" : " or aa..zz");
    if (letters == 1)
        *index = (unsigned)(p[0] - 'a');
    else
        *index = 26 + (unsigned)(p[0] - 'a') * 26 + (unsigned)(p[1] - 'a');
    return 0;
}

/* The deprecated "phy:", "file:", "tap:aio:", "raw:" ... prefixes of a
 * positional target.  Sets *format when a prefix names one. */
static const char *strip_target_prefixes(const char *target, const char **format)
{
    static const char *const access_prefixes[] = {"phy:", "file:", "tap2:", "tap:", "aio:"};
    static const char *const format_prefixes[] = {"raw:", "qcow2:", "qcow:", "vhd:", "qed:"};
    bool again = true;
    *format = NULL;
    while (again) {
        again = false;
        for (size_t i = 0; i < sizeof(access_prefixes) / sizeof(access_prefixes[0]); i++) {
            size_t n = strlen(access_prefixes[i]);
            if (strncmp(target, access_prefixes[i], n) == 0) {
                target += n;
                again = true;
            }
        }
        for (size_t i = 0; !*format && i < sizeof(format_prefixes) / sizeof(format_prefixes[0]);
             i++) {
            size_t n = strlen(format_prefixes[i]);
            if (strncmp(target, format_prefixes[i], n) == 0) {
                *format = format_prefixes[i];
                target += n;
                again = true;
            }
        }
    }
    return target;
}

static int check_format(const struct cfg_where *w, const char *format, struct config_error *err)
{
    static const char *const unsupported[] = {"qcow2", "qcow", "vhd", "qed", "vmdk", "empty"};
    char q[CFG_QUOTE_MAX];
    if (format[0] == '\0' || strcmp(format, "raw") == 0)
        return 0;
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
        if (strcmp(format, unsupported[i]) == 0)
            return FAIL(w, err,
                        "format %s is not supported, only raw images are "
                        "(qemu-img convert -O raw makes one)",
                        cfg_quote(q, sizeof(q), format));
    return FAIL(w, err, "unknown format %s: only raw is supported",
                cfg_quote(q, sizeof(q), format));
}

static int check_access(const struct cfg_where *w, const char *access, bool *readonly,
                        struct config_error *err)
{
    char q[CFG_QUOTE_MAX];
    if (access[0] == '\0' || strcmp(access, "rw") == 0 || strcmp(access, "w") == 0) {
        *readonly = false;
        return 0;
    }
    if (strcmp(access, "ro") == 0 || strcmp(access, "r") == 0) {
        *readonly = true;
        return 0;
    }
    return FAIL(w, err, "bad access mode %s: expected rw, w, ro or r",
                cfg_quote(q, sizeof(q), access));
}

int cfg_parse_disk(const struct cfg_where *w, const char *spec, struct disk_spec *disk,
                   struct config_error *err)
{
    char *given[P_COUNT] = {NULL};
    bool set[P_COUNT] = {false};
    const char *prefix_format = NULL;
    char q[CFG_QUOTE_MAX];
    const char *p = spec, *start, *next;
    size_t len;
    int rc;

    memset(disk, 0, sizeof(*disk));
    while (*p) {
        while (is_blank(*p))
            p++;
        /* target= takes the rest of the string, commas and all. */
        if (strncmp(p, "target=", 7) == 0) {
            if (set[P_TARGET]) {
                rc = FAIL(w, err, "target given twice");
                goto out;
            }
            given[P_TARGET] = strdup(p + 7);
            if (!given[P_TARGET]) {
                rc = -ENOMEM;
                goto out;
            }
            set[P_TARGET] = true;
            break;
        }
        next_param(p, &start, &len, &next);
        p = next;
        const char *eq = memchr(start, '=', len);
        if (eq) {
            size_t klen = (size_t)(eq - start);
            const char *value = eq + 1;
            size_t vlen = len - klen - 1;
            int slot = -1;
            for (int i = P_FORMAT; i < P_COUNT; i++)
                if (param_is(start, klen, positional_name[i]))
                    slot = i;
            if (slot >= 0) {
                if (set[slot]) {
                    rc = FAIL(w, err, "%s given twice", positional_name[slot]);
                    goto out;
                }
                given[slot] = strndup(value, vlen);
                if (!given[slot]) {
                    rc = -ENOMEM;
                    goto out;
                }
                set[slot] = true;
            } else if (param_is(start, klen, "devtype")) {
                if (param_is(value, vlen, "cdrom")) {
                    rc = FAIL(w, err, "CD-ROM drives are not supported");
                    goto out;
                }
                if (!param_is(value, vlen, "disk")) {
                    rc = FAIL(w, err, "bad devtype: expected disk");
                    goto out;
                }
            } else if (param_is(start, klen, "backendtype") || param_is(start, klen, "backend") ||
                       param_is(start, klen, "script")) {
                rc = WARN(w, err, "%.*s= is ignored: the device model opens the image itself",
                          (int)klen, start);
                if (rc)
                    goto out;
            } else {
                char *k = strndup(start, klen);
                if (!k) {
                    rc = -ENOMEM;
                    goto out;
                }
                rc = FAIL(w, err, "unknown disk parameter %s", cfg_quote(q, sizeof(q), k));
                free(k);
                goto out;
            }
            continue;
        }
        if (param_is(start, len, "cdrom")) {
            rc = FAIL(w, err, "CD-ROM drives are not supported");
            goto out;
        }
        if (param_is(start, len, "discard") || param_is(start, len, "no-discard") ||
            param_is(start, len, "direct-io-safe") || param_is(start, len, "trusted") ||
            param_is(start, len, "untrusted")) {
            rc = WARN(w, err, "flag %.*s is ignored", (int)len, start);
            if (rc)
                goto out;
            continue;
        }
        /* A positional parameter fills the first slot not yet given. */
        int slot = P_TARGET;
        while (slot < P_COUNT && set[slot])
            slot++;
        if (slot == P_COUNT) {
            rc = FAIL(w, err, "too many parameters: expected at most target, format, vdev, access");
            goto out;
        }
        given[slot] = strndup(start, len);
        if (!given[slot]) {
            rc = -ENOMEM;
            goto out;
        }
        set[slot] = true;
        if (slot == P_TARGET) {
            const char *stripped = strip_target_prefixes(given[P_TARGET], &prefix_format);
            if (stripped != given[P_TARGET]) {
                memmove(given[P_TARGET], stripped, strlen(stripped) + 1);
                /* The old "raw:/img,xvda,w" form: no format field follows. */
                set[P_FORMAT] = true;
            }
        }
    }

    if (prefix_format && !given[P_FORMAT]) {
        given[P_FORMAT] = strndup(prefix_format, strlen(prefix_format) - 1);
        if (!given[P_FORMAT]) {
            rc = -ENOMEM;
            goto out;
        }
    }
    if (given[P_FORMAT]) {
        rc = check_format(w, given[P_FORMAT], err);
        if (rc)
            goto out;
    }
    rc = check_access(w, given[P_ACCESS] ? given[P_ACCESS] : "", &disk->readonly, err);
    if (rc)
        goto out;

    if (!given[P_VDEV] || given[P_VDEV][0] == '\0') {
        rc = FAIL(w, err, "no vdev: name the disk as the guest sees it, e.g. xvda");
        goto out;
    }
    char *colon = strchr(given[P_VDEV], ':');
    if (colon) {
        if (strcmp(colon, ":cdrom") == 0) {
            rc = FAIL(w, err, "CD-ROM drives are not supported");
            goto out;
        }
        if (strcmp(colon, ":disk") != 0) {
            rc = FAIL(w, err, "bad vdev %s", cfg_quote(q, sizeof(q), given[P_VDEV]));
            goto out;
        }
        *colon = '\0';
    }
    rc = cfg_vdev_index(w, given[P_VDEV], &disk->index, err);
    if (rc)
        goto out;

    if (!given[P_TARGET] || given[P_TARGET][0] == '\0') {
        rc = FAIL(w, err, "no target: give the image or device, as in '/srv/disk.img,raw,%s,rw'",
                  given[P_VDEV]);
        goto out;
    }
    rc = cfg_resolve_path(w, given[P_TARGET], &disk->target, err);
    if (rc)
        goto out;
    disk->vdev = given[P_VDEV];
    given[P_VDEV] = NULL;
    rc = 0;

out:
    for (int i = 0; i < P_COUNT; i++)
        free(given[i]);
    if (rc)
        cfg_disk_dispose(disk);
    return rc;
}

void cfg_disk_dispose(struct disk_spec *disk)
{
    free(disk->target);
    free(disk->vdev);
    memset(disk, 0, sizeof(*disk));
}

/* ---- vif ---- */

/* xl's vif parameters that mean nothing here; they are accepted with a
 * warning so that existing configs still load. */
static const char *const vif_ignored[] = {
    "ip",        "rate",       "gatewaydev", "accel",         "devid",       "trusted",
    "untrusted", "powerlevel", "forwarddev", "vifname_ioemu", "backend_type"};

static int parse_vif_backend(const struct cfg_where *w, const char *value, struct vif_spec *vif,
                             struct config_error *err)
{
    char q[CFG_QUOTE_MAX];
    if (strcmp(value, "none") == 0) {
        vif->backend = VIF_BACKEND_NONE;
        return 0;
    }
    if (strcmp(value, "tap") == 0) {
        vif->backend = VIF_BACKEND_TAP;
        return 0;
    }
    if (strncmp(value, "tap:", 4) == 0) {
        if (!valid_ifname(value + 4))
            return FAIL(w, err, "bad tap name %s: 1 to 15 bytes, no '/', ':' or blanks",
                        cfg_quote(q, sizeof(q), value + 4));
        vif->backend = VIF_BACKEND_TAP;
        free(vif->tap_name);
        vif->tap_name = strdup(value + 4);
        return vif->tap_name ? 0 : -ENOMEM;
    }
    if (strncmp(value, "socket:", 7) == 0) {
        char *path = NULL;
        int rc = cfg_resolve_path(w, value + 7, &path, err);
        if (rc)
            return rc;
        if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
            free(path);
            return FAIL(w, err, "socket path longer than %zu bytes",
                        sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
        }
        vif->backend = VIF_BACKEND_SOCKET;
        free(vif->socket_path);
        vif->socket_path = path;
        return 0;
    }
    return FAIL(w, err, "bad backend %s: expected tap, tap:NAME, socket:PATH or none",
                cfg_quote(q, sizeof(q), value));
}

int cfg_parse_vif(const struct cfg_where *w, const char *spec, struct vif_spec *vif,
                  struct config_error *err)
{
    enum { K_MAC, K_BRIDGE, K_MODEL, K_TYPE, K_VIFNAME, K_BACKEND, K_MTU, K_SCRIPT, K_COUNT };
    static const char *const known[K_COUNT] = {"mac",     "bridge",  "model", "type",
                                               "vifname", "backend", "mtu",   "script"};
    bool seen[K_COUNT] = {false};
    char *vifname = NULL, *param = NULL;
    char q[CFG_QUOTE_MAX];
    const char *p = spec, *start, *next;
    size_t len;
    int rc = 0;

    memset(vif, 0, sizeof(*vif));
    while (*p) {
        next_param(p, &start, &len, &next);
        p = next;
        if (len == 0)
            continue;
        free(param);
        param = strndup(start, len);
        if (!param) {
            rc = -ENOMEM;
            goto out;
        }
        char *value = strchr(param, '=');
        if (!value) {
            rc = FAIL(w, err, "expected KEY=VALUE, got %s", cfg_quote(q, sizeof(q), param));
            goto out;
        }
        *value++ = '\0';
        int k = 0;
        while (k < K_COUNT && strcmp(param, known[k]) != 0)
            k++;
        if (k < K_COUNT) {
            if (seen[k]) {
                rc = FAIL(w, err, "%s given twice", known[k]);
                goto out;
            }
            seen[k] = true;
        }
        switch (k) {
        case K_MAC:
            if (mac_parse(value, vif->mac) < 0) {
                rc = FAIL(w, err,
                          "bad MAC address %s: expected six hex pairs like 00:16:3e:12:34:56",
                          cfg_quote(q, sizeof(q), value));
                goto out;
            }
            if (vif->mac[0] & 1) {
                rc = FAIL(w, err, "MAC address %s is a multicast address",
                          cfg_quote(q, sizeof(q), value));
                goto out;
            }
            if (!(vif->mac[0] | vif->mac[1] | vif->mac[2] | vif->mac[3] | vif->mac[4] |
                  vif->mac[5])) {
                rc = FAIL(w, err, "MAC address 00:00:00:00:00:00 is not valid");
                goto out;
            }
            vif->mac_set = true;
            break;
        case K_BRIDGE:
            if (!valid_ifname(value)) {
                rc = FAIL(w, err, "bad bridge name %s: 1 to 15 bytes, no '/', ':' or blanks",
                          cfg_quote(q, sizeof(q), value));
                goto out;
            }
            vif->bridge = strdup(value);
            if (!vif->bridge) {
                rc = -ENOMEM;
                goto out;
            }
            break;
        case K_MODEL:
            if (strcmp(value, "virtio") && strcmp(value, "virtio-net") &&
                strcmp(value, "virtio-net-pci")) {
                rc = FAIL(w, err, "model %s is not supported: only virtio-net is",
                          cfg_quote(q, sizeof(q), value));
                goto out;
            }
            break;
        case K_TYPE:
            if (strcmp(value, "ioemu") && strcmp(value, "vif")) {
                rc = FAIL(w, err, "bad type %s: expected ioemu or vif",
                          cfg_quote(q, sizeof(q), value));
                goto out;
            }
            break;
        case K_VIFNAME:
            if (!valid_ifname(value)) {
                rc = FAIL(w, err, "bad vifname %s: 1 to 15 bytes, no '/', ':' or blanks",
                          cfg_quote(q, sizeof(q), value));
                goto out;
            }
            vifname = strdup(value);
            if (!vifname) {
                rc = -ENOMEM;
                goto out;
            }
            break;
        case K_BACKEND:
            rc = parse_vif_backend(w, value, vif, err);
            if (rc)
                goto out;
            break;
        case K_MTU: {
            char *end;
            errno = 0;
            unsigned long mtu = strtoul(value, &end, 10);
            if (value[0] < '0' || value[0] > '9' || *end || errno || mtu < 68 || mtu > 65535) {
                rc = FAIL(w, err, "bad mtu %s: expected a number from 68 to 65535",
                          cfg_quote(q, sizeof(q), value));
                goto out;
            }
            vif->mtu = (unsigned)mtu;
            break;
        }
        case K_SCRIPT:
            /* A bare name is one of the installed scripts, as in Xen's
             * XEN_SCRIPT_DIR; anything with a '/' is a path. */
            if (!*value) {
                rc = FAIL(w, err, "empty script");
                goto out;
            }
            if (strchr(value, '/')) {
                rc = cfg_resolve_path(w, value, &vif->script, err);
                if (rc)
                    goto out;
            } else if (asprintf(&vif->script, "%s/%s", CONFIG_SCRIPT_DIR, value) < 0) {
                vif->script = NULL;
                rc = -ENOMEM;
                goto out;
            }
            break;
        default: {
            bool ignored = false;
            for (size_t i = 0; i < sizeof(vif_ignored) / sizeof(vif_ignored[0]); i++)
                ignored |= strcmp(param, vif_ignored[i]) == 0;
            if (ignored)
                rc = WARN(w, err, "%s= is not supported, ignored", param);
            else
                rc = WARN(w, err, "unknown vif parameter %s, ignored",
                          cfg_quote(q, sizeof(q), param));
            if (rc)
                goto out;
        }
        }
    }

    /* Which back end: explicit, or xl's: a tap on a bridge, xenbr0 unless
     * bridge= names another.  A tap with a bridge (or a script) is one
     * the toolstack makes and plugs in (ctl/vif.c); backend=tap:NAME
     * alone is a tap stubvmm opens as it is. */
    if (!seen[K_BACKEND])
        vif->backend = VIF_BACKEND_TAP;
    bool plain_tap = vif->backend == VIF_BACKEND_TAP && vif->tap_name && !vif->bridge &&
                     !vif->script; /* the name came from backend=tap:NAME */
    if (vif->backend != VIF_BACKEND_TAP && (vif->bridge || vifname || vif->script)) {
        rc = FAIL(w, err, "%s only applies to a tap back end",
                  vif->bridge ? "bridge"
                  : vifname   ? "vifname"
                              : "script");
        goto out;
    }
    if (vif->backend == VIF_BACKEND_TAP && !vif->bridge && !plain_tap) {
        vif->bridge = strdup(CONFIG_DEFAULT_BRIDGE);
        if (!vif->bridge) {
            rc = -ENOMEM;
            goto out;
        }
    }
    if (vifname) {
        if (vif->tap_name && strcmp(vif->tap_name, vifname) != 0) {
            rc = FAIL(w, err, "vifname %s and backend=tap:%s disagree",
                      cfg_quote(q, sizeof(q), vifname), vif->tap_name);
            goto out;
        }
        free(vif->tap_name);
        vif->tap_name = vifname;
        vifname = NULL;
    }
    rc = 0;

out:
    free(param);
    free(vifname);
    if (rc)
        cfg_vif_dispose(vif);
    return rc;
}

void cfg_vif_dispose(struct vif_spec *vif)
{
    free(vif->tap_name);
    free(vif->bridge);
    free(vif->socket_path);
    free(vif->script);
    memset(vif, 0, sizeof(*vif));
}

/* ---- serial ---- */

int cfg_parse_serial(const struct cfg_where *w, const char *spec, struct serial_spec *serial,
                     struct config_error *err)
{
    char q[CFG_QUOTE_MAX];
    memset(serial, 0, sizeof(*serial));
    if (strcmp(spec, "pty") == 0) {
        serial->kind = SERIAL_PTY;
        return 0;
    }
    if (strcmp(spec, "null") == 0) {
        serial->kind = SERIAL_NULL;
        return 0;
    }
    if (strncmp(spec, "file:", 5) == 0) {
        serial->kind = SERIAL_FILE;
        return cfg_resolve_path(w, spec + 5, &serial->path, err);
    }
    return FAIL(w, err, "serial %s is not supported: expected pty, file:PATH or null",
                cfg_quote(q, sizeof(q), spec));
}

void cfg_serial_dispose(struct serial_spec *serial)
{
    free(serial->path);
    memset(serial, 0, sizeof(*serial));
}

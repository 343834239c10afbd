/* A parsed config written back as config text, every value explicit: what
 * a save file keeps so that a restore builds the very same domain (the
 * UUID and MACs that were generated, overrides applied, paths absolute). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/config.h"
#include "lib/mac.h"

/* An open_memstream with a sticky error. */
struct out {
    FILE *f;
    int rc;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (vfprintf(o->f, fmt, ap) < 0)
        o->rc = -ENOMEM;
    va_end(ap);
}

/* A double-quoted string: '"', '\', newline, tab and CR escaped, every
 * other byte as it is (the parser takes any byte but NUL and newline in a
 * string).  At most two bytes out for one in, so what fitted the parser's
 * line and string limits when it was read fits them again. */
static void put_string(struct out *o, const char *s)
{
    put(o, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            put(o, "\\%c", *p);
        else if (*p == '\n')
            put(o, "\\n");
        else if (*p == '\t')
            put(o, "\\t");
        else if (*p == '\r')
            put(o, "\\r");
        else
            put(o, "%c", *p);
    }
    put(o, "\"");
}

static void put_key_string(struct out *o, const char *key, const char *value)
{
    put(o, "%s = ", key);
    put_string(o, value);
    put(o, "\n");
}

/* One list entry built with printf, then quoted. */
static void put_item(struct out *o, bool last, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void put_item(struct out *o, bool last, const char *fmt, ...)
{
    char *text = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&text, fmt, ap) < 0)
        text = NULL;
    va_end(ap);
    if (!text) {
        o->rc = -ENOMEM;
        return;
    }
    put(o, "    ");
    put_string(o, text);
    put(o, last ? "\n" : ",\n");
    free(text);
}

static void put_disks(struct out *o, const struct domain_config *c)
{
    put(o, "disk = [%s", c->ndisks ? "\n" : "");
    /* Positional, as short as the spec can be; a target with a comma or an
     * '=' (which would read as a KEY=VALUE) as target=, last: it takes the
     * rest of the spec, commas included. */
    for (size_t i = 0; i < c->ndisks; i++) {
        const struct disk_spec *d = &c->disks[i];
        if (strpbrk(d->target, ",="))
            put_item(o, i + 1 == c->ndisks, "format=raw,vdev=%s,access=%s,target=%s", d->vdev,
                     d->readonly ? "ro" : "rw", d->target);
        else
            put_item(o, i + 1 == c->ndisks, "%s,raw,%s,%s", d->target, d->vdev,
                     d->readonly ? "ro" : "rw");
    }
    put(o, "]\n");
}

static void put_vifs(struct out *o, const struct domain_config *c)
{
    put(o, "vif = [%s", c->nvifs ? "\n" : "");
    for (size_t i = 0; i < c->nvifs; i++) {
        const struct vif_spec *v = &c->vifs[i];
        char mac[32] = "", mtu[24] = "", bridge[64] = "", backend[160], script[PATH_MAX + 16] = "";

        if (v->mac_set) {
            char text[MAC_STRLEN];
            mac_format(v->mac, text);
            snprintf(mac, sizeof(mac), "mac=%s, ", text);
        }
        if (v->mtu)
            snprintf(mtu, sizeof(mtu), ", mtu=%u", v->mtu);
        if (v->backend == VIF_BACKEND_TAP && v->bridge)
            snprintf(bridge, sizeof(bridge), ", bridge=%s", v->bridge);
        if (v->backend == VIF_BACKEND_TAP && v->script)
            snprintf(script, sizeof(script), ", script=%s", v->script);
        if (v->backend == VIF_BACKEND_SOCKET)
            snprintf(backend, sizeof(backend), "socket:%s", v->socket_path);
        else if (v->backend == VIF_BACKEND_TAP && v->tap_name)
            snprintf(backend, sizeof(backend), "tap:%s", v->tap_name);
        else
            snprintf(backend, sizeof(backend), "%s",
                     v->backend == VIF_BACKEND_TAP ? "tap" : "none");
        put_item(o, i + 1 == c->nvifs, "%smodel=virtio-net, backend=%s%s%s%s", mac, backend, bridge,
                 script, mtu);
    }
    put(o, "]\n");
}

static void put_serials(struct out *o, const struct domain_config *c)
{
    put(o, "serial = [%s", c->nserials ? "\n" : "");
    for (size_t i = 0; i < c->nserials; i++) {
        const struct serial_spec *s = &c->serials[i];
        if (s->kind == SERIAL_FILE)
            put_item(o, i + 1 == c->nserials, "file:%s", s->path);
        else
            put_item(o, i + 1 == c->nserials, "%s", s->kind == SERIAL_NULL ? "null" : "pty");
    }
    put(o, "]\n");
}

int config_format(const struct domain_config *c, char **text, size_t *len)
{
    char uuid[CONFIG_UUID_STRLEN];
    struct out o = {.f = NULL, .rc = 0};

    *text = NULL;
    *len = 0;
    o.f = open_memstream(text, len);
    if (!o.f)
        return -ENOMEM;
    config_uuid_format(c->uuid, uuid);
    put(&o, "# written by stubctl: the domain as it was created\n");
    put_key_string(&o, "name", c->name);
    put_key_string(&o, "uuid", uuid);
    put(&o, "memory = %llu\nvcpus = %u\n", (unsigned long long)c->memory_mib, c->vcpus);
    if (c->kernel) {
        put_key_string(&o, "kernel", c->kernel);
        if (c->ramdisk)
            put_key_string(&o, "ramdisk", c->ramdisk);
        if (c->cmdline)
            put_key_string(&o, "cmdline", c->cmdline);
    } else if (c->firmware) {
        put_key_string(&o, "firmware", c->firmware);
    }
    if (c->cpuid)
        put_key_string(&o, "cpuid", c->cpuid);
    put_disks(&o, c);
    put_vifs(&o, c);
    put_serials(&o, c);
    put_key_string(&o, "on_poweroff", config_action_name(c->on_poweroff));
    put_key_string(&o, "on_reboot", config_action_name(c->on_reboot));
    put_key_string(&o, "on_crash", config_action_name(c->on_crash));
    put_key_string(&o, "device_model_placement", config_placement_name(c->placement));
    put(&o, "stubdomain_memory = %llu\n", (unsigned long long)c->stubdomain_memory_mib);
    if (fclose(o.f) != 0 && o.rc == 0)
        o.rc = -ENOMEM;
    if (o.rc < 0) {
        free(*text);
        *text = NULL;
        *len = 0;
    }
    return o.rc;
}

/* The config parser's API (config.h): reading a file, applying overrides,
 * and driving stage two, settings -> struct domain_config.
 *
 * The settings are applied in the order they were written (so the first bad
 * line is the one reported), each by the handler of its key
 * (config_keys.c); the checks between keys and the defaults come after.  The
 * result is built in a fresh struct and handed over only when everything
 * passed, so a failure never leaves a half-built config behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl/config_build.h"
static int compare_seq(const void *a, const void *b)
{
    const struct cfg_setting *x = *(const struct cfg_setting *const *)a;
    const struct cfg_setting *y = *(const struct cfg_setting *const *)b;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static int random_uuid(uint8_t uuid[16])
{
    size_t got = 0;
    while (got < 16) {
        ssize_t r = getrandom(uuid + got, 16 - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t)r;
    }
    uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40); /* version 4 */
    uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    return 0;
}

/* Build *out from s.  `keep_uuid` is a generated UUID to reuse when the
 * settings give none (so that an override does not change it).  On success
 * *out owns s; on failure *out is zero and s is still the caller's. */
static int build_config(struct config_settings *s, const uint8_t *keep_uuid,
                        struct domain_config *out, struct config_error *err)
{
    struct domain_config cfg = {
        .memory_mib = CONFIG_DEFAULT_MEMORY_MIB,
        .vcpus = CONFIG_DEFAULT_VCPUS,
        .on_poweroff = ACTION_DESTROY,
        .on_reboot = ACTION_RESTART,
        .on_crash = ACTION_DESTROY,
        .placement = PLACEMENT_STUBDOM,
        .stubdomain_memory_mib = CONFIG_DEFAULT_STUBDOM_MIB,
    };
    struct build b = {.s = s, .cfg = &cfg, .err = err};
    const struct cfg_setting **order = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    /* The warnings are those of this build: the syntax layer's, kept in s,
     * then the ones found below. */
    for (size_t i = 0; i < err->nwarnings; i++)
        free(err->warnings[i]);
    err->nwarnings = 0;
    for (size_t i = 0; i < s->nwarnings; i++) {
        rc = cfg_warn_text(err, s->warnings[i]);
        if (rc)
            goto out;
    }

    if (s->n) {
        order = malloc(s->n * sizeof(*order));
        if (!order) {
            rc = -ENOMEM;
            goto out;
        }
    }
    for (size_t i = 0; i < s->n; i++)
        order[i] = &s->v[i];
    if (s->n)
        qsort(order, s->n, sizeof(*order), compare_seq);
    for (size_t i = 0; i < s->n; i++) {
        rc = cfg_apply_setting(&b, order[i]);
        if (rc)
            goto out;
    }
    rc = cfg_finish(&b);
    if (rc)
        goto out;

    if (!cfg.uuid_set) {
        if (keep_uuid) {
            memcpy(cfg.uuid, keep_uuid, sizeof(cfg.uuid));
        } else {
            rc = random_uuid(cfg.uuid);
            if (rc) {
                cfg_fail(err, s->origins[0].name, 0, "uuid", "cannot generate one: %s",
                         strerror(-rc));
                goto out;
            }
        }
    }
    cfg.settings = s;
    *out = cfg;
    rc = 0;

out:
    free(order);
    free(b.root_text);
    free(b.extra_text);
    if (rc)
        config_dispose(&cfg);
    return rc;
}

/* ---- public API ---- */

static void error_reset(struct config_error *err)
{
    config_error_dispose(err);
}

/* A failure with no message (out of memory) still gets one. */
static int finish_error(struct config_error *err, const char *name, int rc)
{
    if (rc && !err->message[0])
        cfg_fail(err, name, 0, NULL, "%s", strerror(-rc));
    return rc;
}

/* For "KEY=VALUE" whose VALUE is not config syntax (the shell took the
 * quotes off name="web"): the key, whether it is +=, and the raw value. */
static bool split_bare_override(const char *text, char *key, size_t key_size, bool *append,
                                const char **value);

static const char override_origin[] = "command line";

/* Add one command-line override to s: config syntax, or else a bare
 * string value.  On failure s may hold part of it. */
static int add_override(struct config_settings **s, const char *text, const char *cwd,
                        struct config_error *err)
{
    size_t len = strlen(text);
    char key[CFG_MAX_KEY + 1];
    const char *value;
    bool append;
    int rc;

    if (len > CFG_MAX_LINE) {
        cfg_fail(err, override_origin, 0, NULL, "override longer than %d bytes", CFG_MAX_LINE);
        return -EINVAL;
    }
    struct config_settings *before = cfg_settings_clone(*s);
    if (!before)
        return -ENOMEM;
    rc = cfg_syntax_parse(*s, override_origin, cwd, text, len, true, err);
    if (rc == -EINVAL && split_bare_override(text, key, sizeof(key), &append, &value)) {
        cfg_settings_free(*s);
        *s = before;
        before = NULL;
        error_reset(err);
        rc = cfg_syntax_add_string(*s, override_origin, cwd, key, value, append, err);
    }
    cfg_settings_free(before);
    return rc;
}

/* Parse text, then the overrides, and build the config from the whole:
 * the overrides take part in every check, as if appended to the file. */
static int parse_text(const char *name, const char *text, size_t len, const char *base_dir,
                      char *const *overrides, size_t noverrides, struct domain_config *cfg,
                      struct config_error *err)
{
    struct config_settings *s = NULL;
    char *cwd = NULL;
    int rc;

    error_reset(err);
    memset(cfg, 0, sizeof(*cfg));
    if (len > CONFIG_MAX_FILE_SIZE) {
        cfg_fail(err, name, 0, NULL, "larger than %d bytes", CONFIG_MAX_FILE_SIZE);
        return -EFBIG;
    }
    s = cfg_settings_new();
    if (!s) {
        rc = -ENOMEM;
        goto out;
    }
    rc = cfg_syntax_parse(s, name, base_dir, text, len, false, err);
    if (rc)
        goto out;
    if (noverrides)
        cwd = getcwd(NULL, 0); /* NULL: relative paths stay relative */
    for (size_t i = 0; i < noverrides; i++) {
        rc = add_override(&s, overrides[i], cwd, err);
        if (rc)
            goto out;
    }
    rc = build_config(s, NULL, cfg, err);
    if (rc)
        goto out;
    s = NULL; /* cfg owns it now */

out:
    cfg_settings_free(s);
    free(cwd);
    return finish_error(err, name, rc);
}

int config_parse_buffer(const char *name, const char *text, size_t len, const char *base_dir,
                        struct domain_config *cfg, struct config_error *err)
{
    return parse_text(name, text, len, base_dir, NULL, 0, cfg, err);
}

/* The directory a config file is in, made absolute, for relative paths. */
static char *file_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return NULL;
    char *slash = strrchr(copy, '/');
    const char *dir = ".";
    if (slash == copy)
        dir = "/";
    else if (slash) {
        *slash = '\0';
        dir = copy;
    }
    char *abs = realpath(dir, NULL);
    free(copy);
    return abs;
}

int config_parse_file_with(const char *path, char *const *overrides, size_t noverrides,
                           struct domain_config *cfg, struct config_error *err)
{
    char *text = NULL, *dir = NULL;
    size_t len = 0;
    int fd = -1;
    int rc;

    error_reset(err);
    memset(cfg, 0, sizeof(*cfg));
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        rc = -errno;
        cfg_fail(err, path, 0, NULL, "cannot open: %s", strerror(errno));
        goto out;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        cfg_fail(err, path, 0, NULL, "cannot stat: %s", strerror(errno));
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = -EISDIR;
        cfg_fail(err, path, 0, NULL, "is a directory");
        goto out;
    }
    /* Read one byte past the limit to tell "at the limit" from "over it";
     * the size from fstat is not trusted (pipes, /proc files). */
    text = malloc(CONFIG_MAX_FILE_SIZE + 1);
    if (!text) {
        rc = -ENOMEM;
        goto out;
    }
    while (len <= CONFIG_MAX_FILE_SIZE) {
        ssize_t r = read(fd, text + len, CONFIG_MAX_FILE_SIZE + 1 - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            cfg_fail(err, path, 0, NULL, "cannot read: %s", strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    if (len > CONFIG_MAX_FILE_SIZE) {
        rc = -EFBIG;
        cfg_fail(err, path, 0, NULL, "larger than %d bytes", CONFIG_MAX_FILE_SIZE);
        goto out;
    }
    dir = file_dir(path);
    if (!dir) {
        rc = -errno;
        cfg_fail(err, path, 0, NULL, "cannot resolve its directory: %s", strerror(errno));
        goto out;
    }
    rc = parse_text(path, text, len, dir, overrides, noverrides, cfg, err);

out:
    if (fd >= 0)
        close(fd);
    free(text);
    free(dir);
    return finish_error(err, path, rc);
}

int config_parse_file(const char *path, struct domain_config *cfg, struct config_error *err)
{
    return config_parse_file_with(path, NULL, 0, cfg, err);
}

static bool split_bare_override(const char *text, char *key, size_t key_size, bool *append,
                                const char **value)
{
    const char *p = text;
    while (*p == ' ' || *p == '\t')
        p++;
    const char *start = p;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_'))
        return false;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '_')
        p++;
    size_t klen = (size_t)(p - start);
    if (klen >= key_size)
        return false;
    while (*p == ' ' || *p == '\t')
        p++;
    *append = p[0] == '+' && p[1] == '=';
    if (*append)
        p += 2;
    else if (*p == '=')
        p++;
    else
        return false;
    while (*p == ' ' || *p == '\t')
        p++;
    /* Something that looks like config syntax failed as config syntax: the
     * real error is the better message. */
    if (*p == '"' || *p == '\'' || *p == '[' || *p == '\0' || strchr(p, '\n'))
        return false;
    memcpy(key, start, klen);
    key[klen] = '\0';
    *value = p;
    return true;
}

int config_apply_override(struct domain_config *cfg, const char *text, struct config_error *err)
{
    struct config_settings *s = NULL;
    struct domain_config fresh;
    char *cwd = NULL;
    int rc;

    error_reset(err);
    if (!cfg->settings) {
        cfg_fail(err, override_origin, 0, NULL, "no config to apply an override to");
        return -EINVAL;
    }
    cwd = getcwd(NULL, 0); /* NULL: relative paths stay relative */
    s = cfg_settings_clone(cfg->settings);
    if (!s) {
        rc = -ENOMEM;
        goto out;
    }
    rc = add_override(&s, text, cwd, err);
    if (rc)
        goto out;

    /* Rebuild from everything, keeping a generated UUID as it was; the old
     * warnings are replaced by those of the new whole. */
    error_reset(err);
    rc = build_config(s, cfg->uuid_set ? NULL : cfg->uuid, &fresh, err);
    if (rc)
        goto out;
    s = NULL;
    config_dispose(cfg);
    *cfg = fresh;

out:
    cfg_settings_free(s);
    free(cwd);
    return finish_error(err, override_origin, rc);
}

void config_dispose(struct domain_config *cfg)
{
    free(cfg->name);
    free(cfg->kernel);
    free(cfg->ramdisk);
    free(cfg->kernel_origin);
    free(cfg->ramdisk_origin);
    free(cfg->cpuid);
    free(cfg->cmdline);
    free(cfg->firmware);
    for (size_t i = 0; i < cfg->ndisks; i++)
        cfg_disk_dispose(&cfg->disks[i]);
    free(cfg->disks);
    for (size_t i = 0; i < cfg->nvifs; i++)
        cfg_vif_dispose(&cfg->vifs[i]);
    free(cfg->vifs);
    for (size_t i = 0; i < cfg->nserials; i++)
        cfg_serial_dispose(&cfg->serials[i]);
    free(cfg->serials);
    cfg_settings_free(cfg->settings);
    memset(cfg, 0, sizeof(*cfg));
}

void config_uuid_format(const uint8_t uuid[16], char out[CONFIG_UUID_STRLEN])
{
    snprintf(out, CONFIG_UUID_STRLEN,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", uuid[0],
             uuid[1], uuid[2], uuid[3], uuid[4], uuid[5], uuid[6], uuid[7], uuid[8], uuid[9],
             uuid[10], uuid[11], uuid[12], uuid[13], uuid[14], uuid[15]);
}

const char *config_action_name(enum lifecycle_action action)
{
    switch (action) {
    case ACTION_DESTROY:
        return "destroy";
    case ACTION_RESTART:
        return "restart";
    case ACTION_PRESERVE:
        return "preserve";
    }
    return "?";
}

const char *config_placement_name(enum dm_placement placement)
{
    switch (placement) {
    case PLACEMENT_STUBDOM:
        return "stubdom";
    case PLACEMENT_PROCESS:
        return "process";
    case PLACEMENT_INLINE:
        return "inline";
    }
    return "?";
}

/* `stubctl rename DOMAIN NEW-NAME`, as xl: the guest's name in the store
 * (/local/domain/G/name, /vm/<uuid>/name), its stub domain's
 * ("<NEW-NAME>-dm") and the config kept for save (DIR/config) change
 * together; a restart (on_reboot) keeps the new name.  NEW-NAME follows
 * the config's rules for `name` (docs/config.md) and must be free. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/config.h"
#include "ctl/stubctl.h"
#include "lib/fdio.h"
#include "lib/log.h"

/* The kept config with name replaced, checked by the config parser's
 * rules for `name`.  Returns 0 or -errno with err filled. */
static int renamed_config(unsigned domid, const char *name, char **text, size_t *len, char *err,
                          size_t errlen)
{
    struct domain_config cfg = {0};
    struct config_error cerr;
    char override[CONFIG_MAX_NAME + 16], *old = NULL;
    size_t n = 0;
    int rc;

    config_error_init(&cerr);
    /* Only the name's own characters: anything else could be config
     * syntax (a ';' and another key) in the override below. */
    if (!*name ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
            strlen(name) ||
        strlen(name) > CONFIG_MAX_NAME) {
        snprintf(err, errlen, "'%s' is not a domain name: 1 to %d of A-Z a-z 0-9 _ . -", name,
                 CONFIG_MAX_NAME);
        rc = -EINVAL;
        goto out;
    }
    rc = ctl_read_kept_config(domid, &old, &n);
    if (rc < 0) {
        snprintf(err, errlen, "the config it was created from is not kept: %s", strerror(-rc));
        goto out;
    }
    rc = config_parse_buffer("the kept config", old, n, NULL, &cfg, &cerr);
    snprintf(override, sizeof(override), "name = \"%s\"", name);
    rc = rc ?: config_apply_override(&cfg, override, &cerr);
    if (rc < 0) {
        snprintf(err, errlen, "%s", cerr.message);
        goto out;
    }
    rc = config_format(&cfg, text, len);
    if (rc < 0)
        snprintf(err, errlen, "%s", strerror(-rc));
out:
    free(old);
    config_error_dispose(&cerr);
    config_dispose(&cfg);
    return rc;
}

/* The store's names, in one transaction (retried on conflicts). */
static int rename_in_store(struct xsc *xs, unsigned domid, const char *name, char *err,
                           size_t errlen)
{
    char *vm = ctl_read_dom(xs, domid, "vm"),
         *dmid = ctl_read_dom(xs, domid, "image/device-model-domid");
    char path[256], dmname[CONFIG_MAX_NAME + 4];
    unsigned dm = 0;
    int rc = -EAGAIN;

    if (!dmid || !ctl_parse_domid(dmid, &dm))
        dm = 0;
    snprintf(dmname, sizeof(dmname), "%s-dm", name);
    for (int attempt = 0; attempt < 50 && rc == -EAGAIN; attempt++) {
        char **ids = NULL;
        unsigned n = 0;
        uint32_t tx;

        rc = xsc_transaction_start(xs, &tx);
        if (rc < 0)
            break;
        rc = xsc_directory(xs, tx, "/local/domain", &ids, &n);
        for (unsigned i = 0; rc == 0 && i < n; i++) {
            char *v = NULL;
            snprintf(path, sizeof(path), "/local/domain/%s/name", ids[i]);
            if (xsc_read(xs, tx, path, &v, NULL) == 0 && strcmp(v, name) == 0)
                rc = -EEXIST;
            free(v);
        }
        free(ids);
        snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
        rc = rc ?: xsc_write_str(xs, tx, path, name);
        if (vm && strncmp(vm, "/vm/", 4) == 0 && !strstr(vm, "..")) {
            snprintf(path, sizeof(path), "%s/name", vm);
            rc = rc ?: xsc_write_str(xs, tx, path, name);
        }
        if (dm) {
            snprintf(path, sizeof(path), "/local/domain/%u/name", dm);
            rc = rc ?: xsc_write_str(xs, tx, path, dmname);
        }
        if (rc < 0) {
            xsc_transaction_end(xs, tx, false);
            break;
        }
        rc = xsc_transaction_end(xs, tx, true);
    }
    if (rc == -EEXIST)
        snprintf(err, errlen, "a domain called %s exists", name);
    else if (rc < 0)
        snprintf(err, errlen, "writing the store: %s", strerror(-rc));
    free(vm);
    free(dmid);
    return rc;
}

/* The new DIR/config written beside the old one (tmp), to be renamed over
 * it once the store has the new name: a failure before leaves the old. */
static int prepare_config(unsigned domid, const char *text, size_t len, char *tmp, size_t tmplen,
                          char *err, size_t errlen)
{
    char dir[PATH_MAX];
    int fd, rc = 0;

    ctl_domain_dir(domid, dir, sizeof(dir));
    snprintf(tmp, tmplen, "%s/config.%ld", dir, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || write_full(fd, text, len) < 0 || fsync(fd) < 0) {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        if (fd >= 0)
            unlink(tmp);
    }
    close_quietly(fd);
    return rc;
}

int main_rename(int argc, char **argv)
{
    char err[CONFIG_MESSAGE_MAX + 64], *text = NULL;
    size_t len = 0;
    unsigned domid;
    struct xsc *xs;
    int opt, rc;

    optind = 1;
    while ((opt = ctl_getopt(argc, argv, "", "rename")) != -1)
        return ctl_opt_exit(opt);
    if (argc - optind != 2)
        return cmd_usage("rename");
    const char *label = argv[optind], *name = argv[optind + 1];
    xs = ctl_store_open(false);
    if (!xs)
        return EXIT_SYSTEM;
    if (ctl_find_domain(xs, label, &domid) < 0) {
        xsc_close(xs);
        return 1;
    }
    /* The config first: it checks the name, and a failure changes nothing. */
    char tmp[PATH_MAX + 32], dir[PATH_MAX], path[PATH_MAX + 8];
    rc = renamed_config(domid, name, &text, &len, err, sizeof(err));
    rc = rc ?: prepare_config(domid, text, len, tmp, sizeof(tmp), err, sizeof(err));
    if (rc == 0) {
        rc = rename_in_store(xs, domid, name, err, sizeof(err));
        ctl_domain_dir(domid, dir, sizeof(dir));
        snprintf(path, sizeof(path), "%s/config", dir);
        if (rc < 0 || rename(tmp, path) < 0) {
            if (rc == 0)
                log_warn("%s: %s; a save keeps the old name", path, strerror(errno));
            unlink(tmp);
        }
    }
    if (rc < 0)
        fprintf(stderr, "stubctl: rename %s: %s\n", label, err);
    free(text);
    xsc_close(xs);
    return rc < 0 ? 1 : 0;
}

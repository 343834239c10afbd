/* Where stubctl keeps things and finds its fellow programs. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl/stubctl.h"
#include "lib/stubvisor_config.h"

const char *ctl_rundir(void)
{
    const char *d = getenv("STUBVISOR_RUNDIR");
    return d && *d ? d : "/run/stubvisor";
}

const char *ctl_logdir(void)
{
    const char *d = getenv("STUBVISOR_LOGDIR");
    return d && *d ? d : "/var/log/stubvisor";
}

/* Where the installation puts each program, relative to stubctl's own
 * directory (lib/meson.build); absolute when installed outside the prefix. */
static const char *installed_dir(const char *name)
{
    if (strcmp(name, "stubstored") == 0)
        return STUBVISOR_BIN_TO_SBIN;
    return STUBVISOR_BIN_TO_LIBEXEC; /* stubvmm, and what it starts */
}

int ctl_program_path(const char *name, char *buf, size_t len)
{
    char self[PATH_MAX], *slash;
    const char *dir = installed_dir(name);
    ssize_t n;

    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n < 0)
        return -errno;
    self[n] = '\0';
    slash = strrchr(self, '/');
    if (!slash)
        return -ENOENT;
    *slash = '\0';
    /* The build tree: every program in build/bin. */
    if ((size_t)snprintf(buf, len, "%s/%s", self, name) < len && access(buf, X_OK) == 0)
        return 0;
    if (dir[0] == '/')
        n = snprintf(buf, len, "%s/%s", dir, name);
    else
        n = snprintf(buf, len, "%s/%s/%s", self, dir, name);
    if (n < 0 || (size_t)n >= len)
        return -ENAMETOOLONG;
    return access(buf, X_OK) == 0 ? 0 : -ENOENT;
}

void ctl_store_path(char *buf, size_t len)
{
    snprintf(buf, len, "%s/store.sock", ctl_rundir());
}

int ctl_mkdirs(const char *path, unsigned mode)
{
    char tmp[PATH_MAX];

    if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

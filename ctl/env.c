/* Where stubctl keeps things and finds its fellow programs. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl/stubctl.h"

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

int ctl_program_path(const char *name, char *buf, size_t len)
{
    char env[64], self[PATH_MAX], *slash;
    const char *v;
    ssize_t n;

    snprintf(env, sizeof(env), "STUBVISOR_%s", name);
    for (char *p = env; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    v = getenv(env);
    if (v && *v) {
        snprintf(buf, len, "%s", v);
        return 0;
    }
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n < 0)
        return -errno;
    self[n] = '\0';
    slash = strrchr(self, '/');
    if (!slash)
        return -ENOENT;
    *slash = '\0';
    if ((size_t)snprintf(buf, len, "%s/%s", self, name) >= len)
        return -ENAMETOOLONG;
    return 0;
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

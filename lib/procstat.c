#include "lib/procstat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

ssize_t proc_read_small(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -errno;
    n = read(fd, buf, len - 1);
    close(fd);
    if (n <= 0)
        return -EIO;
    buf[n] = '\0';
    return n;
}

int proc_sched_read(const char *which, struct proc_sched *out)
{
    char path[96], buf[2048], *p;
    unsigned long long utime = 0, stime = 0;
    int field = 3, rc;

    memset(out, 0, sizeof(*out));
    out->cpu = -1;
    snprintf(out->affinity, sizeof(out->affinity), "-");
    snprintf(path, sizeof(path), "/proc/%s/stat", which);
    rc = (int)proc_read_small(path, buf, sizeof(buf));
    if (rc < 0)
        return rc;
    /* The name in parentheses may hold anything; the fields follow the
     * last ')': state is field 3, utime 14, stime 15, processor 39. */
    p = strrchr(buf, ')');
    if (!p || p[1] != ' ' || !p[2])
        return -EIO;
    out->state = p[2];
    for (p += 2; field < 39; field++) {
        if (field == 14)
            utime = strtoull(p, NULL, 10);
        else if (field == 15)
            stime = strtoull(p, NULL, 10);
        p = strchr(p, ' ');
        if (!p)
            return -EIO;
        p++;
    }
    out->cpu = atoi(p);
    out->cpu_us = (utime + stime) * 1000000ull / (unsigned long long)sysconf(_SC_CLK_TCK);
    snprintf(path, sizeof(path), "/proc/%s/status", which);
    if (proc_read_small(path, buf, sizeof(buf)) > 0 && (p = strstr(buf, "\nCpus_allowed_list:"))) {
        p += strlen("\nCpus_allowed_list:");
        p += strspn(p, " \t");
        snprintf(out->affinity, sizeof(out->affinity), "%.*s", (int)strcspn(p, "\n"), p);
    }
    return 0;
}

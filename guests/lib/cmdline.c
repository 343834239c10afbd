#include "cmdline.h"

#define CMDLINE_MAX 1024

static char cmdline[CMDLINE_MAX];

void cmdline_init(uint64_t paddr)
{
    size_t i = 0;

    /* Only the first 4 GiB are mapped. */
    if (paddr && paddr < (1ull << 32) - CMDLINE_MAX) {
        const volatile char *src = (const volatile char *)(uintptr_t)paddr;
        for (; i < CMDLINE_MAX - 1 && src[i]; i++)
            cmdline[i] = src[i];
    }
    cmdline[i] = '\0';
}

const char *cmdline_get(void)
{
    return cmdline;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n';
}

bool cmdline_value(const char *key, char *buf, size_t len)
{
    bool found = false;
    const char *p = cmdline;

    while (*p) {
        while (is_space(*p))
            p++;
        const char *k = key;
        while (*k && *p == *k) {
            p++;
            k++;
        }
        if (!*k && *p == '=') {
            size_t n = 0;
            for (p++; *p && !is_space(*p); p++)
                if (n + 1 < len)
                    buf[n++] = *p;
            if (len)
                buf[n] = '\0';
            found = true;
        }
        while (*p && !is_space(*p))
            p++;
    }
    return found;
}

uint64_t cmdline_u64(const char *key, uint64_t def)
{
    char buf[32];
    uint64_t v = 0;
    unsigned base = 10;
    const char *p = buf;

    if (!cmdline_value(key, buf, sizeof(buf)) || !*buf)
        return def;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
        if (!*p)
            return def;
    }
    for (; *p; p++) {
        unsigned d;
        if (*p >= '0' && *p <= '9')
            d = (unsigned)(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            d = (unsigned)(*p - 'a' + 10);
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            d = (unsigned)(*p - 'A' + 10);
        else
            return def;
        if (v > (UINT64_MAX - d) / base)
            return def;
        v = v * base + d;
    }
    return v;
}

/* Node permissions, as Xen defines them.
 *
 * A node's ACL is a list of entries `<letter><domid>`: `n` none, `r` read,
 * `w` write, `b` both.  Entry 0 is special: its domain owns the node, and
 * its letter is what every domain that no later entry names gets.
 *
 * Invariants (enforced here and in view.c):
 *   - Domain 0 is privileged: it may do anything to any node.
 *   - The owner may do anything to its node, including SET_PERMS.
 *   - Otherwise the first later entry naming the domain decides; if none
 *     does, entry 0's letter decides.
 *   - Targets: a domain whose target is T (SET_TARGET) acts as T as well:
 *     it owns what T owns, and entries naming T apply to it.  This is what
 *     lets a device-model domain reach its guest's nodes and nothing else.
 *   - Inheritance: a new node gets a copy of its parent's ACL, except that a
 *     node created by an unprivileged domain is owned by that domain (so it
 *     is charged to that domain's quota and it may change it later).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

unsigned perm_for_conn(const struct conn *c, const struct perm *p, uint32_t n, unsigned mask)
{
    uint32_t target = c->dom ? c->dom->target : NO_DOMID;
    if (c->domid == 0 || p[0].id == c->domid || p[0].id == target)
        return (PERM_READ | PERM_WRITE | PERM_OWNER) & mask;
    for (uint32_t i = 1; i < n; i++)
        if (p[i].id == c->domid || p[i].id == target)
            return p[i].bits & mask;
    return p[0].bits & mask;
}

static int parse_one(const char *s, struct perm *out)
{
    switch (s[0]) {
    case 'n':
        out->bits = PERM_NONE;
        break;
    case 'r':
        out->bits = PERM_READ;
        break;
    case 'w':
        out->bits = PERM_WRITE;
        break;
    case 'b':
        out->bits = PERM_READ | PERM_WRITE;
        break;
    default:
        return EINVAL;
    }
    unsigned long id = 0;
    const char *d = s + 1;
    if (*d < '0' || *d > '9')
        return EINVAL;
    for (; *d; d++) {
        if (*d < '0' || *d > '9')
            return EINVAL;
        id = id * 10 + (unsigned long)(*d - '0');
        if (id > DOMID_MAX)
            return EINVAL;
    }
    out->id = (uint32_t)id;
    return 0;
}

int perms_parse(const char *text, size_t len, struct perm **out, uint32_t *n)
{
    uint32_t count = 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\0')
            count++;
    if (count == 0 || text[len - 1] != '\0')
        return EINVAL;
    struct perm *p = calloc(count, sizeof(*p));
    if (!p)
        return ENOMEM;
    const char *s = text;
    for (uint32_t i = 0; i < count; i++) {
        if (parse_one(s, &p[i]) != 0) {
            free(p);
            return EINVAL;
        }
        s += strlen(s) + 1;
    }
    *out = p;
    *n = count;
    return 0;
}

int perms_format(const struct perm *p, uint32_t n, struct buf *b)
{
    static const char letters[] = {'n', 'r', 'w', 'b'};
    for (uint32_t i = 0; i < n; i++) {
        char e[16];
        int k = snprintf(e, sizeof(e), "%c%u", letters[p[i].bits & 3], p[i].id);
        int rc = buf_append(b, e, (size_t)k + 1);
        if (rc)
            return rc;
    }
    return 0;
}

struct perm *perms_dup(const struct perm *p, uint32_t n)
{
    struct perm *copy = malloc(n * sizeof(*copy));
    if (copy)
        memcpy(copy, p, n * sizeof(*copy));
    return copy;
}

bool perms_equal(const struct perm *a, uint32_t na, const struct perm *b, uint32_t nb)
{
    if (na != nb)
        return false;
    for (uint32_t i = 0; i < na; i++)
        if (a[i].id != b[i].id || a[i].bits != b[i].bits)
            return false;
    return true;
}

/* CPUID features by name and the KVM-free half of the CPUID policy
 * (cpuid.h).  The names and bit positions are those of xl.cfg(5) and the
 * Intel/AMD manuals. */
#include "lib/cpuid.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define NA 0 /* no subleaf */

/* Why some features are not for guests here. */
#define NESTED "nested virtualisation: its state is not saved"
#define PMU    "no performance monitoring: its counters are not saved"
#define TRACE  "processor tracing state is not saved"
#define SGX    "no SGX enclaves"
#define AMX    "AMX tile state is larger than the XSAVE area saved (16 KiB)"
#define WAIT   "UMWAIT's control MSR is not saved"

#define F(n, l, s, r, b)                                                                           \
    {                                                                                              \
        n, l, s, CPUID_##r, b, NULL                                                                \
    }
#define U(n, l, s, r, b, w)                                                                        \
    {                                                                                              \
        n, l, s, CPUID_##r, b, w                                                                   \
    }

static const struct cpuid_feature features[] = {
    /* leaf 1, ecx */
    F("sse3", 1, NA, ECX, 0),
    F("pclmulqdq", 1, NA, ECX, 1),
    U("dtes64", 1, NA, ECX, 2, PMU),
    F("monitor", 1, NA, ECX, 3),
    F("dscpl", 1, NA, ECX, 4),
    U("vmx", 1, NA, ECX, 5, NESTED),
    U("smx", 1, NA, ECX, 6, NESTED),
    F("est", 1, NA, ECX, 7),
    F("tm2", 1, NA, ECX, 8),
    F("ssse3", 1, NA, ECX, 9),
    F("cntxid", 1, NA, ECX, 10),
    F("fma", 1, NA, ECX, 12),
    F("cmpxchg16b", 1, NA, ECX, 13),
    F("xtpr", 1, NA, ECX, 14),
    U("pdcm", 1, NA, ECX, 15, PMU),
    F("pcid", 1, NA, ECX, 17),
    F("dca", 1, NA, ECX, 18),
    F("sse4.1", 1, NA, ECX, 19),
    F("sse4_1", 1, NA, ECX, 19),
    F("sse4.2", 1, NA, ECX, 20),
    F("sse4_2", 1, NA, ECX, 20),
    F("x2apic", 1, NA, ECX, 21),
    F("movbe", 1, NA, ECX, 22),
    F("popcnt", 1, NA, ECX, 23),
    F("tsc-deadline", 1, NA, ECX, 24),
    F("aes", 1, NA, ECX, 25),
    F("xsave", 1, NA, ECX, 26),
    F("osxsave", 1, NA, ECX, 27),
    F("avx", 1, NA, ECX, 28),
    F("f16c", 1, NA, ECX, 29),
    F("rdrand", 1, NA, ECX, 30),
    F("hypervisor", 1, NA, ECX, 31),
    /* leaf 1, edx */
    F("fpu", 1, NA, EDX, 0),
    F("vme", 1, NA, EDX, 1),
    F("de", 1, NA, EDX, 2),
    F("pse", 1, NA, EDX, 3),
    F("tsc", 1, NA, EDX, 4),
    F("msr", 1, NA, EDX, 5),
    F("pae", 1, NA, EDX, 6),
    F("mce", 1, NA, EDX, 7),
    F("cmpxchg8", 1, NA, EDX, 8),
    F("apic", 1, NA, EDX, 9),
    F("sysenter", 1, NA, EDX, 11),
    F("mtrr", 1, NA, EDX, 12),
    F("pge", 1, NA, EDX, 13),
    F("mca", 1, NA, EDX, 14),
    F("cmov", 1, NA, EDX, 15),
    F("pat", 1, NA, EDX, 16),
    F("pse36", 1, NA, EDX, 17),
    F("psn", 1, NA, EDX, 18),
    F("clfsh", 1, NA, EDX, 19),
    U("ds", 1, NA, EDX, 21, PMU),
    F("acpi", 1, NA, EDX, 22),
    F("mmx", 1, NA, EDX, 23),
    F("fxsr", 1, NA, EDX, 24),
    F("sse", 1, NA, EDX, 25),
    F("sse2", 1, NA, EDX, 26),
    F("ss", 1, NA, EDX, 27),
    F("htt", 1, NA, EDX, 28),
    F("tm", 1, NA, EDX, 29),
    F("ia64", 1, NA, EDX, 30),
    F("pbe", 1, NA, EDX, 31),
    /* leaf 7 subleaf 0, ebx */
    F("fsgsbase", 7, 0, EBX, 0),
    F("tsc_adjust", 7, 0, EBX, 1),
    U("sgx", 7, 0, EBX, 2, SGX),
    F("bmi1", 7, 0, EBX, 3),
    F("hle", 7, 0, EBX, 4),
    F("avx2", 7, 0, EBX, 5),
    F("smep", 7, 0, EBX, 7),
    F("bmi2", 7, 0, EBX, 8),
    F("erms", 7, 0, EBX, 9),
    F("invpcid", 7, 0, EBX, 10),
    F("rtm", 7, 0, EBX, 11),
    F("cmt", 7, 0, EBX, 12),
    F("mpx", 7, 0, EBX, 14),
    F("avx512f", 7, 0, EBX, 16),
    F("avx512dq", 7, 0, EBX, 17),
    F("rdseed", 7, 0, EBX, 18),
    F("adx", 7, 0, EBX, 19),
    F("smap", 7, 0, EBX, 20),
    F("avx512-ifma", 7, 0, EBX, 21),
    F("clflushopt", 7, 0, EBX, 23),
    F("clwb", 7, 0, EBX, 24),
    U("proc-trace", 7, 0, EBX, 25, TRACE),
    F("avx512pf", 7, 0, EBX, 26),
    F("avx512er", 7, 0, EBX, 27),
    F("avx512cd", 7, 0, EBX, 28),
    F("sha", 7, 0, EBX, 29),
    F("avx512bw", 7, 0, EBX, 30),
    F("avx512vl", 7, 0, EBX, 31),
    /* leaf 7 subleaf 0, ecx */
    F("prefetchwt1", 7, 0, ECX, 0),
    F("avx512-vbmi", 7, 0, ECX, 1),
    F("umip", 7, 0, ECX, 2),
    F("pku", 7, 0, ECX, 3),
    F("ospke", 7, 0, ECX, 4),
    U("waitpkg", 7, 0, ECX, 5, WAIT),
    F("avx512-vbmi2", 7, 0, ECX, 6),
    F("cet-ss", 7, 0, ECX, 7),
    F("gfni", 7, 0, ECX, 8),
    F("vaes", 7, 0, ECX, 9),
    F("vpclmulqdq", 7, 0, ECX, 10),
    F("avx512-vnni", 7, 0, ECX, 11),
    F("avx512-bitalg", 7, 0, ECX, 12),
    F("avx512-vpopcntdq", 7, 0, ECX, 14),
    F("rdpid", 7, 0, ECX, 22),
    F("cldemote", 7, 0, ECX, 25),
    F("movdiri", 7, 0, ECX, 27),
    F("movdir64b", 7, 0, ECX, 28),
    F("enqcmd", 7, 0, ECX, 29),
    U("sgx-lc", 7, 0, ECX, 30, SGX),
    /* leaf 7 subleaf 0, edx */
    F("avx512-4vnniw", 7, 0, EDX, 2),
    F("avx512-4fmaps", 7, 0, EDX, 3),
    F("fsrm", 7, 0, EDX, 4),
    F("avx512-vp2intersect", 7, 0, EDX, 8),
    F("srbds-ctrl", 7, 0, EDX, 9),
    F("md-clear", 7, 0, EDX, 10),
    F("serialize", 7, 0, EDX, 14),
    F("tsxldtrk", 7, 0, EDX, 16),
    F("cet-ibt", 7, 0, EDX, 20),
    U("amx-bf16", 7, 0, EDX, 22, AMX),
    F("avx512-fp16", 7, 0, EDX, 23),
    U("amx-tile", 7, 0, EDX, 24, AMX),
    U("amx-int8", 7, 0, EDX, 25, AMX),
    F("ibrsb", 7, 0, EDX, 26),
    F("stibp", 7, 0, EDX, 27),
    F("l1d-flush", 7, 0, EDX, 28),
    F("arch-caps", 7, 0, EDX, 29),
    F("core-caps", 7, 0, EDX, 30),
    F("ssbd", 7, 0, EDX, 31),
    /* leaf 0xd subleaf 1, eax */
    F("xsaveopt", 0xd, 1, EAX, 0),
    F("xsavec", 0xd, 1, EAX, 1),
    F("xgetbv1", 0xd, 1, EAX, 2),
    F("xsaves", 0xd, 1, EAX, 3),
    U("xfd", 0xd, 1, EAX, 4, AMX),
    /* leaf 0x80000001, ecx */
    F("lahfsahf", 0x80000001, NA, ECX, 0),
    F("cmplegacy", 0x80000001, NA, ECX, 1),
    U("svm", 0x80000001, NA, ECX, 2, NESTED),
    F("extapic", 0x80000001, NA, ECX, 3),
    F("altmovcr8", 0x80000001, NA, ECX, 4),
    F("abm", 0x80000001, NA, ECX, 5),
    F("sse4a", 0x80000001, NA, ECX, 6),
    F("misalignsse", 0x80000001, NA, ECX, 7),
    F("3dnowprefetch", 0x80000001, NA, ECX, 8),
    F("osvw", 0x80000001, NA, ECX, 9),
    U("ibs", 0x80000001, NA, ECX, 10, PMU),
    F("xop", 0x80000001, NA, ECX, 11),
    F("skinit", 0x80000001, NA, ECX, 12),
    F("wdt", 0x80000001, NA, ECX, 13),
    F("lwp", 0x80000001, NA, ECX, 15),
    F("fma4", 0x80000001, NA, ECX, 16),
    F("nodeid", 0x80000001, NA, ECX, 19),
    F("tbm", 0x80000001, NA, ECX, 21),
    F("topoext", 0x80000001, NA, ECX, 22),
    U("perfctr_core", 0x80000001, NA, ECX, 23, PMU),
    U("perfctr_nb", 0x80000001, NA, ECX, 24, PMU),
    /* leaf 0x80000001, edx */
    F("syscall", 0x80000001, NA, EDX, 11),
    F("nx", 0x80000001, NA, EDX, 20),
    F("mmxext", 0x80000001, NA, EDX, 22),
    F("ffxsr", 0x80000001, NA, EDX, 25),
    F("page1gb", 0x80000001, NA, EDX, 26),
    F("rdtscp", 0x80000001, NA, EDX, 27),
    F("lm", 0x80000001, NA, EDX, 29),
    F("3dnowext", 0x80000001, NA, EDX, 30),
    F("3dnow", 0x80000001, NA, EDX, 31),
    /* leaf 0x80000007, edx; leaf 0x80000008, ebx */
    F("invtsc", 0x80000007, NA, EDX, 8),
    F("clzero", 0x80000008, NA, EBX, 0),
    F("rstr-fp-err-ptrs", 0x80000008, NA, EBX, 2),
    F("wbnoinvd", 0x80000008, NA, EBX, 9),
    F("ibpb", 0x80000008, NA, EBX, 12),
};

const struct cpuid_feature *cpuid_features(size_t *n)
{
    *n = sizeof(features) / sizeof(features[0]);
    return features;
}

const struct cpuid_feature *cpuid_feature_find(const char *name)
{
    for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
        if (strcmp(features[i].name, name) == 0)
            return &features[i];
    return NULL;
}

/* The entry for (leaf, subleaf) in c, or NULL.  Leaves whose subleaf does
 * not matter are matched on the leaf alone. */
static struct kvm_cpuid_entry2 *entry_of(const struct kvm_cpuid2 *c, uint32_t leaf,
                                         uint32_t subleaf)
{
    for (uint32_t i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = (struct kvm_cpuid_entry2 *)&c->entries[i];
        if (e->function == leaf &&
            (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == subleaf))
            return e;
    }
    return NULL;
}

static uint32_t *reg_of(struct kvm_cpuid_entry2 *e, uint8_t reg)
{
    return reg == CPUID_EAX   ? &e->eax
           : reg == CPUID_EBX ? &e->ebx
           : reg == CPUID_ECX ? &e->ecx
                              : &e->edx;
}

bool cpuid_feature_get(const struct kvm_cpuid2 *c, const struct cpuid_feature *f)
{
    struct kvm_cpuid_entry2 *e = entry_of(c, f->leaf, f->subleaf);

    return e && (*reg_of(e, f->reg) >> f->bit & 1);
}

void cpuid_feature_set(struct kvm_cpuid2 *c, const struct cpuid_feature *f, bool on)
{
    struct kvm_cpuid_entry2 *e = entry_of(c, f->leaf, f->subleaf);

    if (!e)
        return;
    if (on)
        *reg_of(e, f->reg) |= 1u << f->bit;
    else
        *reg_of(e, f->reg) &= ~(1u << f->bit);
}

#define XSTATE_AMX (3u << 17) /* XTILECFG, XTILEDATA */

void cpuid_restrict(struct kvm_cpuid2 *c)
{
    for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
        if (features[i].unsupported)
            cpuid_feature_set(c, &features[i], false);
    cpuid_feature_set(c, cpuid_feature_find("hypervisor"), true);
    for (uint32_t i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        if (e->function == 0xa) /* architectural PMU: none */
            e->eax = e->ebx = e->ecx = e->edx = 0;
        if (e->function == 0xd && e->index == 0)
            e->eax &= ~XSTATE_AMX;
        if (e->function == 0xd && (e->index == 17 || e->index == 18))
            e->eax = e->ebx = e->ecx = e->edx = 0;
    }
}

int cpuid_settings_parse(const char *text, struct cpuid_settings *cs, char *err, size_t errlen)
{
    const char *p = text;

    cs->n = 0;
    while (*p) {
        const char *end = strchr(p, ','), *eq;
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char word[64];

        if (len == 0 || len >= sizeof(word)) {
            snprintf(err, errlen, "cpuid: %s word in \"%.40s\"", len ? "overlong" : "empty", text);
            return -EINVAL;
        }
        memcpy(word, p, len);
        word[len] = '\0';
        p += len + (end ? 1 : 0);
        if (end && !*p) {
            snprintf(err, errlen, "cpuid: empty word at the end");
            return -EINVAL;
        }
        if (strcmp(word, "host") == 0)
            continue;
        eq = strchr(word, '=');
        if (!eq) {
            snprintf(err, errlen, "cpuid: \"%s\": expected host or NAME=0|1", word);
            return -EINVAL;
        }
        word[eq - word] = '\0';
        const struct cpuid_feature *f = cpuid_feature_find(word);
        if (!f) {
            snprintf(err, errlen, "cpuid: unknown feature \"%s\" (the names are xl.cfg(5)'s)",
                     word);
            return -EINVAL;
        }
        if (strcmp(eq + 1, "0") != 0 && strcmp(eq + 1, "1") != 0) {
            snprintf(err, errlen, "cpuid: %s=%s: the value must be 0 or 1", word, eq + 1);
            return -EINVAL;
        }
        if (cs->n == CPUID_MAX_SETTINGS) {
            snprintf(err, errlen, "cpuid: more than %d settings", CPUID_MAX_SETTINGS);
            return -EINVAL;
        }
        cs->s[cs->n].f = f;
        cs->s[cs->n].on = eq[1] == '1';
        cs->n++;
    }
    return 0;
}

int cpuid_settings_apply(struct kvm_cpuid2 *c, const struct cpuid_settings *cs, char *err,
                         size_t errlen)
{
    for (unsigned i = 0; i < cs->n; i++) {
        const struct cpuid_feature *f = cs->s[i].f;
        if (!cs->s[i].on) {
            cpuid_feature_set(c, f, false);
        } else if (!cpuid_feature_get(c, f)) {
            if (f->unsupported)
                snprintf(err, errlen, "cpuid: %s=1: stubvisor does not give guests %s (%s)",
                         f->name, f->name, f->unsupported);
            else
                snprintf(err, errlen, "cpuid: %s=1: this host does not offer %s", f->name, f->name);
            return -ENOTSUP;
        }
    }
    return 0;
}

const struct cpuid_feature *cpuid_missing(const struct kvm_cpuid2 *saved,
                                          const struct kvm_cpuid2 *host)
{
    for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
        const struct cpuid_feature *f = &features[i];
        if (strcmp(f->name, "osxsave") == 0 || strcmp(f->name, "ospke") == 0)
            continue;
        if (cpuid_feature_get(saved, f) && !cpuid_feature_get(host, f))
            return f;
    }
    return NULL;
}

/* CPUID feature bits by name, and the parts of the CPUID policy that need
 * no KVM: what stubvisor does not support, the cpuid= settings (libxl's
 * string form, xl.cfg(5): "host,tm=0,sse3=0"), and the check a restore
 * makes.  stubctl checks a config's cpuid= with the same parser stubvmm
 * applies it with. */
#ifndef STUBVISOR_LIB_CPUID_H
#define STUBVISOR_LIB_CPUID_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cpuid_reg { CPUID_EAX, CPUID_EBX, CPUID_ECX, CPUID_EDX };

struct cpuid_feature {
    const char *name; /* as xl.cfg(5) spells it */
    uint32_t leaf, subleaf;
    uint8_t reg; /* enum cpuid_reg */
    uint8_t bit;
    /* Not for guests here, and why (NULL: supported when the host has it). */
    const char *unsupported;
};

/* The feature called name (xl.cfg(5) spellings, e.g. "sse4.2" or
 * "sse4_2"), or NULL. */
const struct cpuid_feature *cpuid_feature_find(const char *name);

/* Every named feature, n of them. */
const struct cpuid_feature *cpuid_features(size_t *n);

/* The value of a feature in a CPUID table (false if the leaf is absent). */
bool cpuid_feature_get(const struct kvm_cpuid2 *c, const struct cpuid_feature *f);
void cpuid_feature_set(struct kvm_cpuid2 *c, const struct cpuid_feature *f, bool on);

/* What KVM offers, less what stubvisor does not support (each feature
 * whose `unsupported` says why; the PMU leaf), with the "running under a
 * hypervisor" bit set.  In place. */
void cpuid_restrict(struct kvm_cpuid2 *c);

#define CPUID_MAX_SETTINGS 64

/* A parsed cpuid= string: features forced to 0 or 1, in order. */
struct cpuid_settings {
    unsigned n;
    struct {
        const struct cpuid_feature *f;
        bool on;
    } s[CPUID_MAX_SETTINGS];
};

/* Parse libxl's string form: comma-separated words, "host" (the base
 * policy, the default) and NAME=0|1.  0, or -EINVAL with a sentence in
 * err naming the word. */
int cpuid_settings_parse(const char *text, struct cpuid_settings *cs, char *err, size_t errlen);

/* Apply settings to a restricted table (cpuid_restrict): NAME=0 clears,
 * NAME=1 keeps a bit the table has; a bit it lacks cannot be given and is
 * refused (-ENOTSUP with a sentence in err). */
int cpuid_settings_apply(struct kvm_cpuid2 *c, const struct cpuid_settings *cs, char *err,
                         size_t errlen);

/* The first named feature set in `saved` (what a guest saw) but not in
 * `host` (this host's restricted table), or NULL when the host has them
 * all.  Bits the guest itself turns on and off (OSXSAVE, OSPKE) do not
 * count. */
const struct cpuid_feature *cpuid_missing(const struct kvm_cpuid2 *saved,
                                          const struct kvm_cpuid2 *host);

#endif

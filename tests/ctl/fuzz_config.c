/* libFuzzer harness for the config parser.  The input is a config, then
 * optionally a line "%%" and a command-line override.  Besides not crashing
 * or leaking, the parser must keep its promises: a failure leaves an empty
 * config and a message, a success a config that passes its own checks and
 * that config_format writes back as text that parses to the same config
 * (what a save file keeps must restore). */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_config(const struct domain_config *cfg)
{
    assert(cfg->name && cfg->name[0]);
    assert(!cfg->kernel != !cfg->firmware);
    assert(cfg->memory_mib >= CONFIG_MIN_MEMORY_MIB && cfg->memory_mib <= CONFIG_MAX_MEMORY_MIB);
    assert(cfg->vcpus >= 1 && cfg->vcpus <= CONFIG_MAX_VCPUS);
    assert(cfg->ndisks <= CONFIG_MAX_DISKS && cfg->nvifs <= CONFIG_MAX_VIFS);
    assert(cfg->nserials <= CONFIG_MAX_SERIALS);
    for (size_t i = 0; i < cfg->ndisks; i++) {
        assert(cfg->disks[i].target && cfg->disks[i].target[0]);
        for (size_t j = 0; j < i; j++)
            assert(cfg->disks[i].index != cfg->disks[j].index);
    }
    for (size_t i = 0; i < cfg->nserials; i++)
        assert(cfg->serials[i].kind != SERIAL_FILE || cfg->serials[i].path);
}

static void check_empty(const struct domain_config *cfg, const struct config_error *err)
{
    static const struct domain_config zero;
    assert(memcmp(cfg, &zero, sizeof(zero)) == 0);
    assert(err->message[0]);
}

/* Format, parse back, format again: the same text. */
static void check_round_trip(const struct domain_config *cfg)
{
    struct domain_config back;
    struct config_error err;
    char *t1 = NULL, *t2 = NULL;
    size_t l1, l2;

    if (config_format(cfg, &t1, &l1) < 0)
        return; /* out of memory */
    config_error_init(&err);
    int rc = config_parse_buffer("formatted", t1, l1, "/base", &back, &err);
    assert(rc == 0);
    check_config(&back);
    assert(config_format(&back, &t2, &l2) == 0);
    assert(l1 == l2 && memcmp(t1, t2, l1) == 0);
    assert(memcmp(cfg->uuid, back.uuid, sizeof(back.uuid)) == 0);
    free(t1);
    free(t2);
    config_dispose(&back);
    config_error_dispose(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t len = size;
    char override[512] = "";

    const uint8_t *sep = NULL;
    for (size_t i = 0; i + 4 <= size; i++) {
        if (memcmp(data + i, "\n%%\n", 4) == 0) {
            sep = data + i;
            break;
        }
    }
    if (sep) {
        len = (size_t)(sep - data);
        size_t olen = size - len - 4;
        if (olen >= sizeof(override))
            olen = sizeof(override) - 1;
        memcpy(override, sep + 4, olen);
        override[olen] = '\0'; /* a NUL inside just ends it early */
    }

    struct domain_config cfg;
    struct config_error err;
    config_error_init(&err);
    int rc = config_parse_buffer("fuzz.cfg", text, len, "/base", &cfg, &err);
    if (rc) {
        check_empty(&cfg, &err);
    } else {
        check_config(&cfg);
        if (sep) {
            uint8_t uuid[16];
            bool generated = !cfg.uuid_set;
            memcpy(uuid, cfg.uuid, sizeof(uuid));
            rc = config_apply_override(&cfg, override, &err);
            check_config(&cfg);
            if (rc == 0 && generated && !cfg.uuid_set)
                assert(memcmp(uuid, cfg.uuid, sizeof(uuid)) == 0);
        }
        check_round_trip(&cfg);
    }
    config_dispose(&cfg);
    config_error_dispose(&err);
    return 0;
}

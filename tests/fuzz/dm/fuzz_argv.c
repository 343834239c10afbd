/* libFuzzer harness: the device description parser (dm/argv.c) on
 * arbitrary words (the input split at NUL bytes, "stubdm" in front unless
 * the input's first byte is 0xff), and a description that parses built
 * into a machine on the fake host with one descriptor per device that
 * takes one (a small memfd: a disk, and wrong for everything else). */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dm/argv.h"
#include "dm/machine.h"
#include "lib/log.h"
#include "tests/platform/fake_host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet = -1;
    const char *words[DM_ARGV_MAX + 8];
    char *text = malloc(size + 1);
    unsigned n = 0;
    struct dm_config cfg;
    char err[512];

    if (quiet < 0) {
        quiet = open("/dev/null", O_WRONLY | O_CLOEXEC);
        log_set_fd(quiet); /* refusals are expected here, by the thousand */
    }
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (size == 0 || data[0] != 0xff)
        words[n++] = "stubdm";
    for (size_t off = size && data[0] == 0xff ? 1 : 0; off <= size && n < DM_ARGV_MAX + 8;) {
        words[n++] = text + off;
        off += strlen(text + off) + 1;
    }
    if (dm_config_parse(&cfg, words, n, err, sizeof(err)) == 0) {
        unsigned nfds = dm_config_nr_fds(&cfg);
        int fds[DM_MAX_DEVICES * DM_DEV_MAX_FDS];
        struct dm_fd_list list;
        struct dm *dm = fake_dm_new(16u << 20);
        struct dm_machine *m;
        for (unsigned i = 0; i < nfds; i++) {
            fds[i] = memfd_create("fuzz-disk", MFD_CLOEXEC);
            if (fds[i] < 0 || ftruncate(fds[i], 4096) < 0)
                abort();
        }
        dm_fd_list_init(&list, fds, nfds);
        m = dm_machine_new(dm, &cfg, &(struct dm_machine_params){.nr_vcpus = 1, .fds = &list.src});
        for (unsigned i = list.next; i < nfds; i++)
            close(fds[i]);
        dm_machine_free(m);
        dm_free(dm);
        dm_config_dispose(&cfg);
    }
    free(text);
    return 0;
}

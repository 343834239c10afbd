/* libFuzzer harness: the save file's checker and the VM / VCPU payload
 * parsers on arbitrary bytes.  The first byte picks what the rest is:
 *   0  a whole file, as it is
 *   1  a whole file whose section checksums are fixed up first, so that
 *      the structural checks behind the CRCs are reached
 *   2  a VM payload       3  a VCPU payload
 * Whatever the input: no crash, no leak, and what parses re-encodes to a
 * payload that parses to the same thing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/savefile.h"
#include "vmm/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vcpu_snap vs, vs2;
static struct vm_snap vm, vm2;

static void vm_round_trip(const uint8_t *p, size_t len)
{
    char err[256];
    uint8_t *buf;
    size_t blen;

    if (vm_snap_parse(p, len, &vm, err, sizeof(err)) < 0)
        return;
    if (vm_snap_encode(&vm, &buf, &blen) < 0)
        return;
    if (vm_snap_parse(buf, blen, &vm2, err, sizeof(err)) < 0 || memcmp(&vm, &vm2, sizeof(vm)))
        __builtin_trap();
    free(buf);
}

static void vcpu_round_trip(const uint8_t *p, size_t len, uint32_t nr_vcpus)
{
    char err[256];
    uint8_t *buf;
    size_t blen;

    if (vcpu_snap_parse(p, len, nr_vcpus, &vs, err, sizeof(err)) < 0)
        return;
    if (vcpu_snap_encode(&vs, &buf, &blen) < 0)
        return;
    if (vcpu_snap_parse(buf, blen, nr_vcpus, &vs2, err, sizeof(err)) < 0 ||
        memcmp(&vs, &vs2, sizeof(vs)))
        __builtin_trap();
    free(buf);
}

/* Recompute each section's CRC where the section fits in the input. */
static void fix_crcs(uint8_t *p, size_t len)
{
    size_t off = SAVEFILE_HEADER_SIZE;
    while (off <= len && len - off >= SAVEFILE_SECTION_SIZE) {
        uint64_t l = savefile_le64(p + off + 8);
        size_t pay = off + SAVEFILE_SECTION_SIZE;
        if (l > len - pay)
            return;
        savefile_put32(p + off + 16, savefile_crc32c(0, p + pay, (size_t)l));
        off = pay + (size_t)l;
    }
}

static void whole_file(const uint8_t *p, size_t len)
{
    struct savefile_summary sum;
    char err[256];
    int fd = memfd_create("fuzz-save", MFD_CLOEXEC);

    if (fd < 0)
        return;
    if (write(fd, p, len) != (ssize_t)len)
        goto out;
    if (savefile_check(fd, &sum, err, sizeof(err)) < 0) {
        if (!err[0])
            __builtin_trap(); /* every refusal says why */
        goto out;
    }
    /* What a restore reads next: the payloads, checked again. */
    uint8_t *buf;
    if (savefile_read_payload(fd, &sum.vm, &buf) == 0) {
        vm_round_trip(buf, (size_t)sum.vm.len);
        free(buf);
    }
    for (uint32_t i = 0; i < sum.nr_vcpus; i++)
        if (savefile_read_payload(fd, &sum.vcpu[i], &buf) == 0) {
            vcpu_round_trip(buf, (size_t)sum.vcpu[i].len, sum.nr_vcpus);
            free(buf);
        }
    savefile_summary_free(&sum);
out:
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t len = size - 1;

    switch (data[0] & 3) {
    case 0:
        whole_file(p, len);
        break;
    case 1: {
        uint8_t *copy = malloc(len ? len : 1);
        if (!copy)
            return 0;
        memcpy(copy, p, len);
        fix_crcs(copy, len);
        whole_file(copy, len);
        free(copy);
        break;
    }
    case 2:
        vm_round_trip(p, len);
        break;
    case 3:
        vcpu_round_trip(p, len, 4);
        break;
    }
    return 0;
}

/* Unit tests for vmm/snapshot_fmt.c: the VM and VCPU payloads round-trip,
 * and what a hostile payload may not do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/snapshot.h"

static struct vcpu_snap a, b;

static void sample_vcpu(struct vcpu_snap *s)
{
    memset(s, 0, sizeof(*s));
    s->id = 1;
    s->regs.rip = 0x1234;
    s->sregs.cr0 = 0x11;
    s->has_xsave = s->has_xcrs = true;
    s->xsave_len = 4096;
    s->xsave[100] = 7;
    s->xcrs.nr_xcrs = 1;
    s->nr_msrs = 3;
    for (unsigned i = 0; i < 3; i++) {
        s->msrs[i].index = 0x10 + i;
        s->msrs[i].data = 1000 + i;
    }
    s->lapic.regs[0x20] = 5;
    s->mp_state.mp_state = KVM_MP_STATE_HALTED;
}

static void expect_err(int rc, const char *err, const char *text)
{
    assert_int_equal(rc, -EINVAL);
    if (!strstr(err, text))
        fail_msg("error \"%s\" does not say \"%s\"", err, text);
}

static void test_vcpu_round_trip(void **state)
{
    uint8_t *buf;
    size_t len;
    char err[256];

    sample_vcpu(&a);
    assert_int_equal(vcpu_snap_encode(&a, &buf, &len), 0);
    assert_int_equal(vcpu_snap_parse(buf, len, 2, &b, err, sizeof(err)), 0);
    assert_memory_equal(&a, &b, sizeof(a));
    /* The id must be below the VM's count. */
    expect_err(vcpu_snap_parse(buf, len, 1, &b, err, sizeof(err)), err, "vCPU 1 but the VM has 1");
    /* Cut anywhere inside the records: refused, never read past. */
    for (size_t l = 0; l < len; l += 8) {
        uint8_t *cut = malloc(l ? l : 1);
        memcpy(cut, buf, l);
        assert_int_equal(vcpu_snap_parse(cut, l, 2, &b, err, sizeof(err)), -EINVAL);
        free(cut);
    }
    free(buf);
}

static void test_vcpu_hostile(void **state)
{
    uint8_t *buf;
    size_t len;
    char err[256];

    sample_vcpu(&a);
    assert_int_equal(vcpu_snap_encode(&a, &buf, &len), 0);
    /* Find the MSRS record and claim more MSRs than it holds, then more
     * than allowed. */
    size_t pos = sizeof(struct savefile_vcpu_head), at = 0;
    uint32_t tag, dlen;
    const uint8_t *d;
    while (savefile_record_next(buf, len, &pos, &tag, &d, &dlen) > 0)
        if (tag == SNAP_VCPU_MSRS)
            at = (size_t)(d - buf);
    assert_true(at);
    savefile_put32(buf + at, 4);
    expect_err(vcpu_snap_parse(buf, len, 2, &b, err, sizeof(err)), err, "bytes for 4 MSRs");
    savefile_put32(buf + at, SNAP_MAX_MSRS + 1);
    expect_err(vcpu_snap_parse(buf, len, 2, &b, err, sizeof(err)), err, "at most");
    savefile_put32(buf + at, 3);
    assert_int_equal(vcpu_snap_parse(buf, len, 2, &b, err, sizeof(err)), 0);
    free(buf);

    /* XCRS count beyond the array; unknown record; a record twice; FPU and
     * XSAVE both. */
    a.xcrs.nr_xcrs = KVM_MAX_XCRS + 1;
    assert_int_equal(vcpu_snap_encode(&a, &buf, &len), 0);
    expect_err(vcpu_snap_parse(buf, len, 2, &b, err, sizeof(err)), err, "XCRS");
    free(buf);
    a.xcrs.nr_xcrs = 1;
    assert_int_equal(vcpu_snap_encode(&a, &buf, &len), 0);
    assert_int_equal(savefile_record_put(&buf, &len, 99, "x", 1), 0);
    expect_err(vcpu_snap_parse(buf, len, 2, &b, err, sizeof(err)), err, "unknown record 99");
    free(buf);
    assert_int_equal(vcpu_snap_encode(&a, &buf, &len), 0);
    assert_int_equal(savefile_record_put(&buf, &len, SNAP_VCPU_REGS, &a.regs, sizeof(a.regs)), 0);
    expect_err(vcpu_snap_parse(buf, len, 2, &b, err, sizeof(err)), err, "REGS twice");
    free(buf);
    assert_int_equal(vcpu_snap_encode(&a, &buf, &len), 0);
    assert_int_equal(savefile_record_put(&buf, &len, SNAP_VCPU_FPU, &a.fpu, sizeof(a.fpu)), 0);
    expect_err(vcpu_snap_parse(buf, len, 2, &b, err, sizeof(err)), err, "one of FPU and XSAVE");
    free(buf);
    /* A record of the wrong size. */
    uint8_t head[8] = {0};
    buf = malloc(8);
    memcpy(buf, head, 8);
    len = 8;
    assert_int_equal(savefile_record_put(&buf, &len, SNAP_VCPU_LAPIC, "short", 5), 0);
    expect_err(vcpu_snap_parse(buf, len, 2, &b, err, sizeof(err)), err, "LAPIC: 5 bytes");
    free(buf);
}

static void test_vm(void **state)
{
    struct vm_snap v, w;
    uint8_t *buf;
    size_t len;
    char err[256];

    memset(&v, 0, sizeof(v));
    v.memory_bytes = 16u << 20;
    v.nr_vcpus = 2;
    v.placement = SAVEFILE_PLACEMENT_PROCESS;
    v.pic_slave.chip_id = 1;
    v.ioapic.chip_id = 2;
    v.pit.flags = KVM_PIT_FLAGS_HPET_LEGACY;
    v.clock.clock = 123456789;
    v.pci_cf8 = 0x80000810;
    assert_int_equal(vm_snap_encode(&v, &buf, &len), 0);
    assert_int_equal(vm_snap_parse(buf, len, &w, err, sizeof(err)), 0);
    assert_memory_equal(&v, &w, sizeof(v));
    free(buf);

    /* A PIC record claiming to be the IOAPIC. */
    v.pic_slave.chip_id = 2;
    assert_int_equal(vm_snap_encode(&v, &buf, &len), 0);
    expect_err(vm_snap_parse(buf, len, &w, err, sizeof(err)), err, "PIC slave: chip id 2");
    free(buf);
    v.pic_slave.chip_id = 1;
    v.pit.flags = 0x80;
    assert_int_equal(vm_snap_encode(&v, &buf, &len), 0);
    expect_err(vm_snap_parse(buf, len, &w, err, sizeof(err)), err, "unknown flags");
    free(buf);
    /* A missing record. */
    uint8_t head[16] = {0};
    savefile_put64(head, 16u << 20);
    savefile_put32(head + 8, 1);
    expect_err(vm_snap_parse(head, sizeof(head), &w, err, sizeof(err)), err, "no PIC master");
    savefile_put32(head + 8, 0);
    expect_err(vm_snap_parse(head, sizeof(head), &w, err, sizeof(err)), err, "bad vCPU count");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vcpu_round_trip),
        cmocka_unit_test(test_vcpu_hostile),
        cmocka_unit_test(test_vm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

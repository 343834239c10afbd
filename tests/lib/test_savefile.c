/* Unit tests for lib/savefile: CRC32C, the writer, and every way
 * savefile_check() must refuse a file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/savefile.h"

#define NR_VCPUS 2
#define MEM      (64 * SAVEFILE_PAGE_SIZE)

/* Offsets of the sections of the sample file (section header offsets),
 * and the file's size. */
struct sample {
    int fd;
    off_t sect[16];
    unsigned nsect;
    off_t size;
};

static int new_fd(void)
{
    int fd = memfd_create("savefile-test", MFD_CLOEXEC);
    assert_true(fd >= 0);
    return fd;
}

static void put_vm(int fd, uint64_t mem, uint32_t nr)
{
    uint8_t *buf = calloc(1, 16);
    size_t len = 16;
    savefile_put64(buf, mem);
    savefile_put32(buf + 8, nr);
    savefile_put32(buf + 12, SAVEFILE_PLACEMENT_INLINE);
    assert_int_equal(savefile_record_put(&buf, &len, 7, "abc", 3), 0);
    assert_int_equal(savefile_section(fd, SAVEFILE_VM, buf, len), 0);
    free(buf);
}

static void put_vcpu(int fd, uint32_t id)
{
    uint8_t *buf = calloc(1, 8);
    size_t len = 8;
    savefile_put32(buf, id);
    uint64_t regs[4] = {id, 2, 3, 4};
    assert_int_equal(savefile_record_put(&buf, &len, 1, regs, sizeof(regs)), 0);
    assert_int_equal(savefile_section(fd, SAVEFILE_VCPU, buf, len), 0);
    free(buf);
}

static void put_run(struct savefile_stream *s, uint64_t gpa, uint64_t npages, uint8_t fill)
{
    uint8_t h[16], page[SAVEFILE_PAGE_SIZE];
    savefile_put64(h, gpa);
    savefile_put64(h + 8, npages);
    assert_int_equal(savefile_stream_append(s, h, 16), 0);
    memset(page, fill, sizeof(page));
    for (uint64_t i = 0; i < npages; i++)
        assert_int_equal(savefile_stream_append(s, page, sizeof(page)), 0);
}

static void mark(struct sample *s)
{
    s->sect[s->nsect++] = lseek(s->fd, 0, SEEK_CUR);
}

/* A valid file: CONFIG, VM, 2 VCPU, MEMORY (2 runs), DM, END. */
static void build(struct sample *s)
{
    memset(s, 0, sizeof(*s));
    s->fd = new_fd();
    assert_int_equal(savefile_begin(s->fd), 0);
    mark(s);
    const char *cfg = "name = \"counter\"\nmemory = 16\n";
    assert_int_equal(savefile_section(s->fd, SAVEFILE_CONFIG, cfg, strlen(cfg)), 0);
    mark(s);
    put_vm(s->fd, MEM, NR_VCPUS);
    mark(s);
    put_vcpu(s->fd, 1);
    mark(s);
    put_vcpu(s->fd, 0);
    mark(s);
    struct savefile_stream st;
    assert_int_equal(savefile_stream_begin(&st, s->fd, SAVEFILE_MEMORY), 0);
    put_run(&st, 0, 2, 0x11);
    put_run(&st, 10 * SAVEFILE_PAGE_SIZE, 3, 0x22);
    assert_int_equal(savefile_stream_end(&st), 0);
    mark(s);
    assert_int_equal(savefile_section(s->fd, SAVEFILE_DM, "dmstate", 7), 0);
    mark(s);
    assert_int_equal(savefile_section(s->fd, SAVEFILE_END, NULL, 0), 0);
    s->size = lseek(s->fd, 0, SEEK_CUR);
}

static int check(int fd, char *err)
{
    struct savefile_summary sum;
    int rc = savefile_check(fd, &sum, err, 256);
    if (rc == 0)
        savefile_summary_free(&sum);
    return rc;
}

static void expect_error(int fd, const char *text)
{
    char err[256];
    assert_int_equal(check(fd, err), -EINVAL);
    if (!strstr(err, text))
        fail_msg("error \"%s\" does not say \"%s\"", err, text);
}

/* A copy of the first len bytes of s. */
static int copy_prefix(struct sample *s, off_t len)
{
    int fd = new_fd();
    uint8_t *buf = malloc((size_t)s->size);
    assert_int_equal(pread(s->fd, buf, (size_t)s->size, 0), s->size);
    assert_int_equal(write(fd, buf, (size_t)len), len);
    free(buf);
    return fd;
}

static void test_crc32c(void **state)
{
    /* The standard check value, and continuation in pieces. */
    assert_int_equal(savefile_crc32c(0, "123456789", 9), 0xe3069283);
    uint32_t c = savefile_crc32c(0, "1234", 4);
    assert_int_equal(savefile_crc32c(c, "56789", 5), 0xe3069283);
    assert_int_equal(savefile_crc32c(0, "", 0), 0);
    /* Long unaligned buffers agree with byte-at-a-time. */
    uint8_t buf[1000];
    for (unsigned i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 7 + 3);
    uint32_t a = savefile_crc32c(0, buf + 1, 997), b = 0;
    for (unsigned i = 1; i < 998; i++)
        b = savefile_crc32c(b, buf + i, 1);
    assert_int_equal(a, b);
}

static void test_round_trip(void **state)
{
    struct sample s;
    build(&s);
    struct savefile_summary sum;
    char err[256];
    assert_int_equal(savefile_check(s.fd, &sum, err, sizeof(err)), 0);
    assert_string_equal(sum.config, "name = \"counter\"\nmemory = 16\n");
    assert_int_equal(sum.memory_bytes, MEM);
    assert_int_equal(sum.nr_vcpus, NR_VCPUS);
    assert_int_equal(sum.placement, SAVEFILE_PLACEMENT_INLINE);
    assert_int_equal(sum.file_size, s.size);
    assert_int_equal(sum.vcpu[1].off, s.sect[2] + SAVEFILE_SECTION_SIZE);
    assert_int_equal(sum.memory.len, 2 * 16 + 5 * SAVEFILE_PAGE_SIZE);

    uint8_t *p;
    assert_int_equal(savefile_read_payload(s.fd, &sum.dm, &p), 0);
    assert_memory_equal(p, "dmstate", 7);
    free(p);
    assert_int_equal(savefile_read_payload(s.fd, &sum.vcpu[0], &p), 0);
    assert_int_equal(savefile_le32(p), 0);
    size_t pos = sizeof(struct savefile_vcpu_head);
    uint32_t tag, dlen;
    const uint8_t *d;
    assert_int_equal(savefile_record_next(p, sum.vcpu[0].len, &pos, &tag, &d, &dlen), 1);
    assert_int_equal(tag, 1);
    assert_int_equal(dlen, 32);
    assert_int_equal(savefile_record_next(p, sum.vcpu[0].len, &pos, &tag, &d, &dlen), 0);
    free(p);
    savefile_summary_free(&sum);
    close(s.fd);
}

static void test_truncated(void **state)
{
    struct sample s;
    build(&s);
    /* At every section boundary, one byte either side, and mid-payload. */
    for (unsigned i = 0; i < s.nsect; i++) {
        off_t next = i + 1 < s.nsect ? s.sect[i + 1] : s.size;
        off_t cuts[] = {s.sect[i],
                        s.sect[i] - 1,
                        s.sect[i] + 1,
                        s.sect[i] + 12,
                        s.sect[i] + SAVEFILE_SECTION_SIZE,
                        (s.sect[i] + next) / 2,
                        next - 1};
        for (unsigned k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
            if (cuts[k] >= s.size || cuts[k] < SAVEFILE_HEADER_SIZE)
                continue;
            int fd = copy_prefix(&s, cuts[k]);
            expect_error(fd, "truncated");
            close(fd);
        }
    }
    for (off_t len = 0; len < SAVEFILE_HEADER_SIZE; len++) {
        int fd = copy_prefix(&s, len);
        expect_error(fd, len < SAVEFILE_MAGIC_LEN ? "not a stubvisor save file" : "truncated");
        close(fd);
    }
    close(s.fd);
}

static void test_flipped_byte(void **state)
{
    struct sample s;
    build(&s);
    const char *names[] = {"CONFIG", "VM", "VCPU", "VCPU", "MEMORY", "DM"};
    for (unsigned i = 0; i + 1 < s.nsect; i++) {
        off_t pay = s.sect[i] + SAVEFILE_SECTION_SIZE;
        off_t at[] = {pay, (pay + s.sect[i + 1]) / 2, s.sect[i + 1] - 1};
        for (unsigned k = 0; k < 3; k++) {
            int fd = copy_prefix(&s, s.size);
            uint8_t b;
            assert_int_equal(pread(fd, &b, 1, at[k]), 1);
            b ^= 0x40;
            assert_int_equal(pwrite(fd, &b, 1, at[k]), 1);
            char want[64];
            snprintf(want, sizeof(want), "section %s: checksum mismatch", names[i]);
            expect_error(fd, want);
            close(fd);
        }
    }
    close(s.fd);
}

static void test_foreign_and_newer(void **state)
{
    int fd = new_fd();
    const char junk[] = "\x7f"
                        "ELF this is not a save file at all, not even close";
    assert_int_equal(write(fd, junk, sizeof(junk)), sizeof(junk));
    expect_error(fd, "not a stubvisor save file");
    close(fd);

    struct sample s;
    build(&s);
    fd = copy_prefix(&s, s.size);
    uint8_t v[4];
    savefile_put32(v, 7);
    assert_int_equal(pwrite(fd, v, 4, 16), 4);
    expect_error(fd, "version 7 is newer than this stubvisor (1)");
    close(fd);

    /* Empty file. */
    fd = new_fd();
    expect_error(fd, "not a stubvisor save file");
    close(fd);
    close(s.fd);
}

static void test_missing_end_and_trailing(void **state)
{
    struct sample s;
    build(&s);
    int fd = copy_prefix(&s, s.sect[s.nsect - 1]);
    expect_error(fd, "END section is missing");
    close(fd);

    fd = copy_prefix(&s, s.size);
    assert_int_equal(pwrite(fd, "xyz", 3, s.size), 3);
    expect_error(fd, "3 bytes after the END section");
    close(fd);

    /* A whole second END is trailing bytes too. */
    fd = copy_prefix(&s, s.size);
    assert_true(lseek(fd, 0, SEEK_END) == s.size);
    assert_int_equal(savefile_section(fd, SAVEFILE_END, NULL, 0), 0);
    expect_error(fd, "after the END section");
    close(fd);
    close(s.fd);
}

/* Files assembled section by section with a mistake. */
static void test_structure(void **state)
{
    const char *cfg = "x";
    struct savefile_stream st;
    int fd;

    /* Duplicate CONFIG. */
    fd = new_fd();
    savefile_begin(fd);
    savefile_section(fd, SAVEFILE_CONFIG, cfg, 1);
    savefile_section(fd, SAVEFILE_CONFIG, cfg, 1);
    expect_error(fd, "duplicate section CONFIG");
    close(fd);

    /* Duplicate vCPU id. */
    fd = new_fd();
    savefile_begin(fd);
    savefile_section(fd, SAVEFILE_CONFIG, cfg, 1);
    put_vm(fd, MEM, 2);
    put_vcpu(fd, 0);
    put_vcpu(fd, 0);
    expect_error(fd, "duplicate section VCPU for vCPU 0");
    close(fd);

    /* vCPU id out of range. */
    fd = new_fd();
    savefile_begin(fd);
    savefile_section(fd, SAVEFILE_CONFIG, cfg, 1);
    put_vm(fd, MEM, 2);
    put_vcpu(fd, 2);
    expect_error(fd, "vCPU 2 but the VM has 2");
    close(fd);

    /* Too few vCPUs, and a duplicate MEMORY. */
    fd = new_fd();
    savefile_begin(fd);
    savefile_section(fd, SAVEFILE_CONFIG, cfg, 1);
    put_vm(fd, MEM, 2);
    put_vcpu(fd, 0);
    savefile_section(fd, SAVEFILE_MEMORY, NULL, 0);
    savefile_section(fd, SAVEFILE_DM, NULL, 0);
    savefile_section(fd, SAVEFILE_END, NULL, 0);
    expect_error(fd, "1 VCPU sections for 2 vCPUs");
    close(fd);

    fd = new_fd();
    savefile_begin(fd);
    savefile_section(fd, SAVEFILE_CONFIG, cfg, 1);
    put_vm(fd, MEM, 1);
    put_vcpu(fd, 0);
    savefile_section(fd, SAVEFILE_MEMORY, NULL, 0);
    savefile_section(fd, SAVEFILE_MEMORY, NULL, 0);
    expect_error(fd, "duplicate section MEMORY");
    close(fd);

    /* Missing CONFIG, and out of order. */
    fd = new_fd();
    savefile_begin(fd);
    put_vm(fd, MEM, 1);
    expect_error(fd, "section CONFIG missing");
    close(fd);

    fd = new_fd();
    savefile_begin(fd);
    savefile_section(fd, SAVEFILE_CONFIG, cfg, 1);
    put_vm(fd, MEM, 1);
    put_vcpu(fd, 0);
    savefile_section(fd, SAVEFILE_MEMORY, NULL, 0);
    put_vcpu(fd, 0);
    expect_error(fd, "section VCPU out of order");
    close(fd);

    /* A run outside guest memory, overlapping runs, a cut run. */
    const struct {
        uint64_t gpa, n;
        const char *err;
    } bad[] = {
        {MEM - SAVEFILE_PAGE_SIZE, 2, "outside guest memory"},
        {MEM, 1, "outside guest memory"},
        {100, 1, "inside a page"},
        {0, 0, "empty run"},
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fd = new_fd();
        savefile_begin(fd);
        savefile_section(fd, SAVEFILE_CONFIG, cfg, 1);
        put_vm(fd, MEM, 1);
        put_vcpu(fd, 0);
        savefile_stream_begin(&st, fd, SAVEFILE_MEMORY);
        uint8_t h[16];
        savefile_put64(h, bad[i].gpa);
        savefile_put64(h + 8, bad[i].n);
        savefile_stream_append(&st, h, 16);
        savefile_stream_end(&st);
        expect_error(fd, bad[i].err);
        close(fd);
    }
    fd = new_fd();
    savefile_begin(fd);
    savefile_section(fd, SAVEFILE_CONFIG, cfg, 1);
    put_vm(fd, MEM, 1);
    put_vcpu(fd, 0);
    savefile_stream_begin(&st, fd, SAVEFILE_MEMORY);
    put_run(&st, 4 * SAVEFILE_PAGE_SIZE, 2, 1);
    put_run(&st, 5 * SAVEFILE_PAGE_SIZE, 1, 1);
    savefile_stream_end(&st);
    expect_error(fd, "overlap");
    close(fd);

    /* DM state over the cap: refused from the header alone. */
    fd = new_fd();
    savefile_begin(fd);
    savefile_section(fd, SAVEFILE_CONFIG, cfg, 1);
    put_vm(fd, MEM, 1);
    put_vcpu(fd, 0);
    savefile_section(fd, SAVEFILE_MEMORY, NULL, 0);
    uint8_t h[SAVEFILE_SECTION_SIZE] = {0};
    savefile_put32(h, SAVEFILE_DM);
    savefile_put64(h + 8, SAVEFILE_MAX_DM_STATE + 1ull);
    assert_int_equal(write(fd, h, sizeof(h)), sizeof(h));
    expect_error(fd, "section DM: 16777217 bytes is more than allowed");
    close(fd);

    /* Unknown type, VM with 0 vCPUs. */
    fd = new_fd();
    savefile_begin(fd);
    savefile_section(fd, 99, NULL, 0);
    expect_error(fd, "unknown section type 99");
    close(fd);
    fd = new_fd();
    savefile_begin(fd);
    savefile_section(fd, SAVEFILE_CONFIG, cfg, 1);
    put_vm(fd, MEM, 0);
    expect_error(fd, "bad vCPU count 0");
    close(fd);
}

static void test_records(void **state)
{
    uint8_t *buf = NULL;
    size_t len = 0, pos = 0;
    assert_int_equal(savefile_record_put(&buf, &len, 5, "hello", 5), 0);
    assert_int_equal(len, 16);
    uint32_t tag, dlen;
    const uint8_t *d;
    assert_int_equal(savefile_record_next(buf, len, &pos, &tag, &d, &dlen), 1);
    assert_int_equal(tag, 5);
    assert_int_equal(dlen, 5);
    assert_memory_equal(d, "hello", 5);
    assert_int_equal(savefile_record_next(buf, len, &pos, &tag, &d, &dlen), 0);
    /* A length past the end, and a huge one that would wrap. */
    savefile_put32(buf + 4, 9);
    pos = 0;
    assert_int_equal(savefile_record_next(buf, len, &pos, &tag, &d, &dlen), -EINVAL);
    savefile_put32(buf + 4, 0xffffffff);
    pos = 0;
    assert_int_equal(savefile_record_next(buf, len, &pos, &tag, &d, &dlen), -EINVAL);
    pos = 0;
    assert_int_equal(savefile_record_next(buf, 7, &pos, &tag, &d, &dlen), -EINVAL);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_flipped_byte),
        cmocka_unit_test(test_foreign_and_newer),
        cmocka_unit_test(test_missing_end_and_trailing),
        cmocka_unit_test(test_structure),
        cmocka_unit_test(test_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

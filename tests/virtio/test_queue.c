/* The split-virtqueue walker against fake guest memory: normal and
 * indirect chains, event idx and notification suppression, and every
 * malformed case the guest can make, each of which must be refused
 * without touching memory outside guest RAM (the ASan build checks). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_guest.h"

static struct virtq q;
static struct virtq_chain chain;

static int setup(void **state)
{
    (void)state;
    fg_setup();
    virtq_reset(&q);
    fg_queue(&q);
    assert_int_equal(virtq_enable(fg.dm, &q), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fg_teardown();
    return 0;
}

/* A fresh guest in the middle of a test. */
static void restart(void)
{
    teardown(NULL);
    setup(NULL);
}

static void test_empty(void **state)
{
    (void)state;
    assert_false(virtq_has_work(&q));
    assert_int_equal(virtq_pop(fg.dm, &q, &chain), 0);
}

static void test_normal_chain(void **state)
{
    (void)state;
    fg_desc(0, FG_DATA, 16, VRING_DESC_F_NEXT, 5);
    fg_desc(5, FG_DATA + 0x100, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
    fg_desc(2, FG_DATA + 0x400, 1, VRING_DESC_F_WRITE, 0);
    fg_avail(0);
    assert_true(virtq_has_work(&q));
    assert_int_equal(virtq_pop(fg.dm, &q, &chain), 1);
    assert_int_equal(chain.head, 0);
    assert_int_equal(chain.nr_out, 1);
    assert_int_equal(chain.nr_in, 2);
    assert_int_equal(chain.out_len, 16);
    assert_int_equal(chain.in_len, 513);
    assert_ptr_equal(chain.iov[0].iov_base, fg_ptr(FG_DATA));
    assert_ptr_equal(chain.iov[1].iov_base, fg_ptr(FG_DATA + 0x100));
    assert_ptr_equal(chain.iov[2].iov_base, fg_ptr(FG_DATA + 0x400));
    assert_int_equal(virtq_pop(fg.dm, &q, &chain), 0);

    virtq_push(&q, 0, 513);
    assert_int_equal(fg_used_idx(), 1);
    assert_int_equal(fg_used(0).id, 0);
    assert_int_equal(fg_used(0).len, 513);
}

static void test_many_chains_wrap(void **state)
{
    (void)state;
    /* Run the 16-bit indexes through several wraps of the ring. */
    for (unsigned i = 0; i < 5 * FG_QSIZE; i++) {
        uint16_t head = (uint16_t)(i % FG_QSIZE);
        fg_desc(head, FG_DATA + head * 64u, 64, VRING_DESC_F_WRITE, 0);
        fg_avail(head);
        assert_int_equal(virtq_pop(fg.dm, &q, &chain), 1);
        assert_int_equal(chain.head, head);
        virtq_push(&q, head, 64);
        assert_int_equal(fg_used(i).id, head);
    }
    assert_int_equal(fg_used_idx(), 5 * FG_QSIZE);
}

static void test_full_length_chain(void **state)
{
    (void)state;
    for (unsigned i = 0; i < FG_QSIZE; i++)
        fg_desc(i, FG_DATA + i, 1, i + 1 < FG_QSIZE ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
    fg_avail(0);
    assert_int_equal(virtq_pop(fg.dm, &q, &chain), 1);
    assert_int_equal(chain.nr_out, FG_QSIZE);
}

static void test_indirect(void **state)
{
    const uint64_t table = 0x8000;

    (void)state;
    q.indirect = true;
    fg_desc_at(table, 0, FG_DATA, 16, VRING_DESC_F_NEXT, 2);
    fg_desc_at(table, 2, FG_DATA + 0x200, 4096, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
    fg_desc_at(table, 1, FG_DATA + 0x2000, 1, VRING_DESC_F_WRITE, 0);
    fg_desc(3, table, 3 * 16, VRING_DESC_F_INDIRECT, 0);
    fg_avail(3);
    assert_int_equal(virtq_pop(fg.dm, &q, &chain), 1);
    assert_int_equal(chain.head, 3);
    assert_int_equal(chain.nr_out, 1);
    assert_int_equal(chain.nr_in, 2);
    assert_int_equal(chain.in_len, 4097);
    assert_ptr_equal(chain.iov[1].iov_base, fg_ptr(FG_DATA + 0x200));
}

/* Make the chain at head 0 available and expect the walker to refuse it. */
static void expect_broken(void)
{
    fg_avail(0);
    assert_int_equal(virtq_pop(fg.dm, &q, &chain), -EIO);
}

static void test_indirect_refused(void **state)
{
    const uint64_t table = 0x8000;

    (void)state;
    fg_desc_at(table, 0, FG_DATA, 16, 0, 0);

    /* Not negotiated. */
    fg_desc(0, table, 16, VRING_DESC_F_INDIRECT, 0);
    expect_broken();
}

static void test_indirect_malformed(void **state)
{
    const uint64_t table = 0x8000;
    struct {
        uint64_t addr;
        uint32_t len;
        uint16_t flags;
        const char *what;
    } cases[] = {
        {table, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, "indirect with next"},
        {table, 0, VRING_DESC_F_INDIRECT, "empty table"},
        {table, 24, VRING_DESC_F_INDIRECT, "partial descriptor"},
        {table, (VIRTQ_MAX_SIZE + 1) * 16, VRING_DESC_F_INDIRECT, "table too big"},
        {FG_RAM_SIZE - 16, 32, VRING_DESC_F_INDIRECT, "table past RAM"},
        {~0ull - 15, 32, VRING_DESC_F_INDIRECT, "table address wraps"},
    };

    (void)state;
    fg_desc_at(table, 0, FG_DATA, 16, 0, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        restart();
        q.indirect = true;
        fg_desc_at(table, 0, FG_DATA, 16, 0, 0);
        fg_desc(0, cases[i].addr, cases[i].len, cases[i].flags, 1);
        fg_desc(1, FG_DATA, 1, VRING_DESC_F_WRITE, 0);
        print_message("case: %s\n", cases[i].what);
        expect_broken();
    }
}

static void test_indirect_nested_and_late(void **state)
{
    const uint64_t table = 0x8000, table2 = 0x9000;

    (void)state;
    q.indirect = true;
    /* A table entry pointing at another table. */
    fg_desc_at(table2, 0, FG_DATA, 16, 0, 0);
    fg_desc_at(table, 0, table2, 16, VRING_DESC_F_INDIRECT, 0);
    fg_desc(0, table, 16, VRING_DESC_F_INDIRECT, 0);
    expect_broken();

    /* An indirect descriptor that is not the head. */
    restart();
    q.indirect = true;
    fg_desc_at(table, 0, FG_DATA, 16, 0, 0);
    fg_desc(0, FG_DATA, 16, VRING_DESC_F_NEXT, 1);
    fg_desc(1, table, 16, VRING_DESC_F_INDIRECT, 0);
    expect_broken();

    /* A loop inside a table. */
    restart();
    q.indirect = true;
    fg_desc_at(table, 0, FG_DATA, 16, VRING_DESC_F_NEXT, 1);
    fg_desc_at(table, 1, FG_DATA, 16, VRING_DESC_F_NEXT, 0);
    fg_desc(0, table, 32, VRING_DESC_F_INDIRECT, 0);
    expect_broken();

    /* next beyond the table. */
    restart();
    q.indirect = true;
    fg_desc_at(table, 0, FG_DATA, 16, VRING_DESC_F_NEXT, 2);
    fg_desc(0, table, 32, VRING_DESC_F_INDIRECT, 0);
    expect_broken();
}

static void test_loop(void **state)
{
    (void)state;
    fg_desc(0, FG_DATA, 16, VRING_DESC_F_NEXT, 1);
    fg_desc(1, FG_DATA, 16, VRING_DESC_F_NEXT, 0);
    expect_broken();

    restart();
    fg_desc(0, FG_DATA, 16, VRING_DESC_F_NEXT, 0); /* to itself */
    expect_broken();
}

static void test_bad_addresses(void **state)
{
    struct {
        uint64_t addr;
        uint32_t len;
    } cases[] = {
        {FG_RAM_SIZE - 8, 16},  /* straddles the end of RAM */
        {FG_RAM_SIZE, 1},       /* just past it */
        {~0ull - 4, 16},        /* wraps */
        {0x1000000000ull, 1},   /* far away */
        {FG_DATA, 0xffffffffu}, /* huge length */
        {FG_RAM_SIZE + 1, 0},   /* empty, but still outside */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        restart();
        fg_desc(0, cases[i].addr, cases[i].len, 0, 0);
        expect_broken();

        /* Same in the second descriptor of a chain. */
        restart();
        fg_desc(0, FG_DATA, 16, VRING_DESC_F_NEXT, 1);
        fg_desc(1, cases[i].addr, cases[i].len, VRING_DESC_F_WRITE, 0);
        expect_broken();
    }
}

static void test_bad_indexes(void **state)
{
    struct vring_avail *a;

    (void)state;
    /* next out of the table. */
    fg_desc(0, FG_DATA, 16, VRING_DESC_F_NEXT, FG_QSIZE);
    expect_broken();

    /* A head out of the table. */
    restart();
    fg_avail(FG_QSIZE);
    assert_int_equal(virtq_pop(fg.dm, &q, &chain), -EIO);

    /* avail->idx jumping more than a ring ahead. */
    restart();
    a = fg_ptr(FG_AVAIL);
    fg_desc(0, FG_DATA, 16, 0, 0);
    a->idx = FG_QSIZE + 1;
    assert_int_equal(virtq_pop(fg.dm, &q, &chain), -EIO);

    /* Exactly a ring ahead is fine. */
    restart();
    a = fg_ptr(FG_AVAIL);
    for (unsigned i = 0; i < FG_QSIZE; i++)
        fg_desc(i, FG_DATA, 16, 0, 0);
    a->idx = FG_QSIZE;
    for (unsigned i = 0; i < FG_QSIZE; i++)
        assert_int_equal(virtq_pop(fg.dm, &q, &chain), 1);
    assert_int_equal(virtq_pop(fg.dm, &q, &chain), 0);

    /* Going backwards looks like a huge jump. */
    a->idx = FG_QSIZE - 1;
    assert_int_equal(virtq_pop(fg.dm, &q, &chain), -EIO);
}

static void test_readable_after_writable(void **state)
{
    (void)state;
    fg_desc(0, FG_DATA, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
    fg_desc(1, FG_DATA, 16, 0, 0);
    expect_broken();
}

static void test_bad_queue_setup(void **state)
{
    struct virtq b;
    static const uint16_t bad_sizes[] = {0, 3, 6, 1000, 2048, 0xffff};

    (void)state;
    for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
        virtq_reset(&b);
        fg_queue(&b);
        b.size = bad_sizes[i];
        assert_int_equal(virtq_enable(fg.dm, &b), -EINVAL);
        assert_false(b.enabled);
    }
    virtq_reset(&b);
    fg_queue(&b);
    b.size = VIRTQ_MAX_SIZE;
    assert_int_equal(virtq_enable(fg.dm, &b), 0);

    /* Misaligned areas. */
    virtq_reset(&b);
    fg_queue(&b);
    b.desc_gpa += 8;
    assert_int_equal(virtq_enable(fg.dm, &b), -EINVAL);
    virtq_reset(&b);
    fg_queue(&b);
    b.avail_gpa += 1;
    assert_int_equal(virtq_enable(fg.dm, &b), -EINVAL);
    virtq_reset(&b);
    fg_queue(&b);
    b.used_gpa += 2;
    assert_int_equal(virtq_enable(fg.dm, &b), -EINVAL);

    /* Areas past or across the end of RAM, or wrapping. */
    virtq_reset(&b);
    fg_queue(&b);
    b.desc_gpa = FG_RAM_SIZE - 16 * FG_QSIZE + 16;
    assert_int_equal(virtq_enable(fg.dm, &b), -EINVAL);
    virtq_reset(&b);
    fg_queue(&b);
    b.used_gpa = FG_RAM_SIZE - 4;
    assert_int_equal(virtq_enable(fg.dm, &b), -EINVAL);
    virtq_reset(&b);
    fg_queue(&b);
    b.avail_gpa = ~0ull - 1;
    assert_int_equal(virtq_enable(fg.dm, &b), -EINVAL);
    /* A used ring that ends exactly at the end of RAM is fine. */
    virtq_reset(&b);
    fg_queue(&b);
    b.used_gpa = FG_RAM_SIZE - (6 + 8 * FG_QSIZE) - 2;
    assert_int_equal(virtq_enable(fg.dm, &b), 0);

    /* A used ring over the available ring or the descriptor table: each
     * completion would change what the device reads next. */
    virtq_reset(&b);
    fg_queue(&b);
    b.used_gpa = FG_AVAIL;
    assert_int_equal(virtq_enable(fg.dm, &b), -EINVAL);
    virtq_reset(&b);
    fg_queue(&b);
    b.used_gpa = FG_DESC + 16 * FG_QSIZE - 4;
    assert_int_equal(virtq_enable(fg.dm, &b), -EINVAL);
    /* Just past the available ring's used_event: fine. */
    virtq_reset(&b);
    fg_queue(&b);
    b.used_gpa = FG_AVAIL + 6 + 2 * FG_QSIZE + 2;
    assert_int_equal(virtq_enable(fg.dm, &b), 0);
}

/* A buffer the device may write that covers the available ring or the
 * descriptor table breaks the ring: a completion must never be a request. */
static void test_writable_over_rings(void **state)
{
    (void)state;
    fg_desc(0, FG_DATA, 16, VRING_DESC_F_NEXT, 1);
    fg_desc(1, FG_AVAIL, 4, VRING_DESC_F_WRITE, 0);
    expect_broken();
}

static void test_writable_over_descriptors(void **state)
{
    (void)state;
    fg_desc(0, FG_DATA, 16, VRING_DESC_F_NEXT, 1);
    fg_desc(1, FG_DESC - 8, 16, VRING_DESC_F_WRITE, 0);
    expect_broken();
}

/* Readable buffers may be anything in RAM (the device only reads them). */
static void test_readable_over_rings(void **state)
{
    (void)state;
    fg_desc(0, FG_AVAIL, 4, VRING_DESC_F_NEXT, 1);
    fg_desc(1, FG_DATA, 16, VRING_DESC_F_WRITE, 0);
    fg_avail(0);
    assert_int_equal(virtq_pop(fg.dm, &q, &chain), 1);
}

static void test_interrupt_suppression(void **state)
{
    struct vring_avail *a = fg_ptr(FG_AVAIL);

    (void)state;
    /* Nothing pushed, nothing to say. */
    assert_false(virtq_should_interrupt(&q));
    fg_desc(0, FG_DATA, 16, VRING_DESC_F_WRITE, 0);
    fg_avail(0);
    assert_int_equal(virtq_pop(fg.dm, &q, &chain), 1);
    virtq_push(&q, 0, 0);
    assert_true(virtq_should_interrupt(&q));
    assert_false(virtq_should_interrupt(&q)); /* already told */

    a->flags = VRING_AVAIL_F_NO_INTERRUPT;
    fg_avail(0);
    assert_int_equal(virtq_pop(fg.dm, &q, &chain), 1);
    virtq_push(&q, 0, 0);
    assert_false(virtq_should_interrupt(&q));

    /* Kicks: without event idx the used flags say it. */
    struct vring_used *u = fg_ptr(FG_USED);
    virtq_set_kicks(&q, false);
    assert_int_equal(u->flags, VRING_USED_F_NO_NOTIFY);
    virtq_set_kicks(&q, true);
    assert_int_equal(u->flags, 0);
}

static void test_event_idx(void **state)
{
    struct vring_avail *a = fg_ptr(FG_AVAIL);
    uint16_t *used_event = &a->ring[FG_QSIZE];
    uint16_t *avail_event = (uint16_t *)fg_ptr(FG_USED + 4 + 8 * FG_QSIZE);

    (void)state;
    q.event_idx = true;
    a->flags = VRING_AVAIL_F_NO_INTERRUPT; /* ignored with event idx */
    fg_desc(0, FG_DATA, 16, VRING_DESC_F_WRITE, 0);

    /* The first publication always interrupts. */
    fg_avail(0);
    assert_int_equal(virtq_pop(fg.dm, &q, &chain), 1);
    virtq_push(&q, 0, 0);
    *used_event = 5;
    assert_true(virtq_should_interrupt(&q));

    /* used idx 1 -> 2: the driver wants to hear at 6 (event 5). */
    fg_avail(0);
    assert_int_equal(virtq_pop(fg.dm, &q, &chain), 1);
    virtq_push(&q, 0, 0);
    assert_false(virtq_should_interrupt(&q));

    /* 2 -> 6 crosses the event. */
    for (int i = 0; i < 4; i++) {
        fg_avail(0);
        assert_int_equal(virtq_pop(fg.dm, &q, &chain), 1);
        virtq_push(&q, 0, 0);
    }
    assert_true(virtq_should_interrupt(&q));

    /* avail_event follows what we consumed. */
    virtq_set_kicks(&q, true);
    assert_int_equal(*avail_event, 6);
}

static void test_chain_copy_and_slice(void **state)
{
    uint8_t buf[64];
    struct iovec iov[4];

    (void)state;
    memset(fg_ptr(FG_DATA), 'a', 10);
    memset(fg_ptr(FG_DATA + 0x100), 'b', 10);
    fg_desc(0, FG_DATA, 10, VRING_DESC_F_NEXT, 1);
    fg_desc(1, FG_DATA + 0x100, 10, VRING_DESC_F_NEXT, 2);
    fg_desc(2, FG_DATA + 0x200, 8, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 3);
    fg_desc(3, FG_DATA + 0x300, 8, VRING_DESC_F_WRITE, 0);
    fg_avail(0);
    assert_int_equal(virtq_pop(fg.dm, &q, &chain), 1);

    assert_int_equal(virtq_chain_read(&chain, 8, buf, sizeof(buf)), 12);
    assert_memory_equal(buf, "aabbbbbbbbbb", 12);
    assert_int_equal(virtq_chain_write(&chain, 6, "0123456789", 10), 10);
    assert_memory_equal(fg_ptr(FG_DATA + 0x206), "01", 2);
    assert_memory_equal(fg_ptr(FG_DATA + 0x300), "23456789", 8);
    assert_int_equal(virtq_chain_write(&chain, 16, "x", 1), 0);

    assert_int_equal(virtq_chain_slice(&chain, false, 5, 10, iov, 4), 2);
    assert_ptr_equal(iov[0].iov_base, fg_ptr(FG_DATA + 5));
    assert_int_equal(iov[0].iov_len, 5);
    assert_int_equal(iov[1].iov_len, 5);
    assert_int_equal(virtq_chain_slice(&chain, true, 0, 16, iov, 4), 2);
    assert_int_equal(virtq_chain_slice(&chain, true, 0, 17, iov, 4), -ERANGE);
    assert_int_equal(virtq_chain_slice(&chain, true, 17, 0, iov, 4), -ERANGE);
    assert_int_equal(virtq_chain_slice(&chain, true, 0, 16, iov, 1), -ERANGE);
    assert_int_equal(virtq_chain_slice(&chain, false, ~0ull, 2, iov, 4), -ERANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_normal_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_chains_wrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_length_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indirect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indirect_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indirect_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indirect_nested_and_late, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_indexes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readable_after_writable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writable_over_rings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writable_over_descriptors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readable_over_rings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_queue_setup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupt_suppression, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_idx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_copy_and_slice, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests of the driver side of virtqueues (mfe_ring.h), one call at a
 * time: chains direct and indirect, out-of-order completion, event
 * suppression, wraps and bad used entries, against the test device of
 * ring_dev.h. */
#include "mfe_ring.h"
#include "ring_dev.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* 2 readable + 1 writable buffer per chain, directly and indirect; the
 * device sees what was posted and the driver gets token and len back. */
static void chained(bool packed, bool indirect)
{
    setup_vqs(16, packed);
    struct mfe_ring r;
    struct mfe_ring_layout l;
    mfe_ring_layout_of(&fe.vq[0], &l);
    unsigned flags = (packed ? MFE_RING_PACKED : 0) | (indirect ? MFE_RING_INDIRECT : 0);
    ck_assert_int_eq(mfe_ring_init(&r, &fe.mem, &l, 16, flags), 0);
    struct dev d;
    dev_init(&d, &fe, 0, packed, false);
    uint64_t buf = mfe_mem_alloc(&fe.mem, 4096, 64);
    for (unsigned round = 0; round < 20; round++) {          /* wraps a 16-ring */
        struct mfe_buf out[2] = {{buf, 10}, {buf + 100, 20}}, in = {buf + 200, 300};
        ck_assert_int_eq(mfe_ring_add(&r, out, 2, &in, 1, 1000 + round, indirect), 0);
        ck_assert_uint_eq(mfe_ring_free(&r), indirect ? 15 : 13);
        struct chain c;
        ck_assert(!dev_pop(&d, &c));                          /* not published yet */
        mfe_ring_publish(&r);
        ck_assert(dev_pop(&d, &c));
        ck_assert_uint_eq(c.n, 3);
        ck_assert_int_eq(c.indirect, indirect);
        ck_assert_uint_eq(c.seg[1].len, 20);
        ck_assert(!c.seg[0].write && !c.seg[1].write && c.seg[2].write);
        ck_assert_ptr_eq(c.seg[2].p, mfe_gpa(&fe.mem, buf + 200, 1));
        dev_push(&d, &c, 123);
        uint64_t tok;
        uint32_t len;
        ck_assert_int_eq(mfe_ring_get_used(&r, &tok, &len), 1);
        ck_assert_uint_eq(tok, 1000 + round);
        ck_assert_uint_eq(len, 123);
        ck_assert_int_eq(mfe_ring_get_used(&r, &tok, &len), 0);
        ck_assert_uint_eq(mfe_ring_free(&r), 16);
    }
    ck_assert_uint_eq(r.errors, 0);
    mfe_ring_destroy(&r);
    mfe_close(&fe);
}

START_TEST(split_chained) { chained(false, false); }
END_TEST
START_TEST(split_indirect) { chained(false, true); }
END_TEST
START_TEST(packed_chained) { chained(true, false); }
END_TEST
START_TEST(packed_indirect) { chained(true, true); }
END_TEST

/* Fill the ring, refuse one more, complete out of order. */
START_TEST(split_full_out_of_order)
{
    setup_vqs(8, false);
    struct mfe_ring r;
    struct mfe_ring_layout l;
    mfe_ring_layout_of(&fe.vq[0], &l);
    ck_assert_int_eq(mfe_ring_init(&r, &fe.mem, &l, 8, 0), 0);
    struct dev d;
    dev_init(&d, &fe, 0, false, false);
    uint64_t buf = mfe_mem_alloc(&fe.mem, 4096, 64);
    struct mfe_buf in[2] = {{buf, 64}, {buf + 64, 64}};
    for (unsigned i = 0; i < 4; i++)
        ck_assert_int_eq(mfe_ring_add(&r, NULL, 0, in, 2, i, false), 0);
    ck_assert_int_eq(mfe_ring_add(&r, NULL, 0, in, 1, 9, false), -ENOSPC);
    mfe_ring_publish(&r);
    struct chain c[4];
    for (unsigned i = 0; i < 4; i++)
        ck_assert(dev_pop(&d, &c[i]));
    for (int i = 3; i >= 0; i--)
        dev_push(&d, &c[i], 128);
    for (int i = 3; i >= 0; i--) {
        uint64_t tok;
        uint32_t len;
        ck_assert_int_eq(mfe_ring_get_used(&r, &tok, &len), 1);
        ck_assert_uint_eq(tok, (uint64_t)i);
    }
    ck_assert_uint_eq(mfe_ring_free(&r), 8);
    mfe_ring_destroy(&r);
    mfe_close(&fe);
}
END_TEST

/* With event idx the driver kicks only when the device's event index falls
 * inside the batch it publishes. */
static void event_idx_kicks(bool packed)
{
    setup_vqs(16, packed);
    struct mfe_ring r;
    struct mfe_ring_layout l;
    mfe_ring_layout_of(&fe.vq[0], &l);
    ck_assert_int_eq(mfe_ring_init(&r, &fe.mem, &l, 16,
                                   MFE_RING_EVENT_IDX | (packed ? MFE_RING_PACKED : 0)), 0);
    struct dev d;
    dev_init(&d, &fe, 0, packed, true);
    uint64_t buf = mfe_mem_alloc(&fe.mem, 4096, 64);
    struct mfe_buf in = {buf, 64};
    int kick = fe.vq[0].kick;
    unsigned expect = 0;
    for (unsigned round = 0; round < 12; round++) {           /* several laps */
        /* even rounds: event 2 entries ahead (inside the batch of 3);
         * odd rounds: 5 ahead (beyond it): no kick */
        dev_want_kick(&d, round % 2 ? 5 : 2);
        for (unsigned k = 0; k < 3; k++)
            ck_assert_int_eq(mfe_ring_add(&r, NULL, 0, &in, 1, k, false), 0);
        int rc = mfe_ring_kick(&r, kick);
        ck_assert_int_eq(rc, round % 2 ? 0 : 1);
        expect += round % 2 ? 0 : 1;
        struct chain c;
        uint64_t tok;
        uint32_t len;
        while (dev_pop(&d, &c))
            dev_push(&d, &c, 0);
        while (mfe_ring_get_used(&r, &tok, &len) == 1)
            ;
    }
    ck_assert_uint_eq(kicks_pending(kick), expect);
    ck_assert_uint_eq(r.kicks, 6);
    ck_assert_uint_eq(r.kicks_suppressed, 6);
    mfe_ring_destroy(&r);
    mfe_close(&fe);
}

START_TEST(split_event_idx) { event_idx_kicks(false); }
END_TEST
START_TEST(packed_event_idx) { event_idx_kicks(true); }
END_TEST

/* Packed: chains of 1..3 descriptors over a ring of 8 for many laps, so
 * heads fall on every position with both wrap counter values. */
START_TEST(packed_wraps)
{
    setup_vqs(8, true);
    struct mfe_ring r;
    struct mfe_ring_layout l;
    mfe_ring_layout_of(&fe.vq[0], &l);
    ck_assert_int_eq(mfe_ring_init(&r, &fe.mem, &l, 8, MFE_RING_PACKED), 0);
    struct dev d;
    dev_init(&d, &fe, 0, true, false);
    uint64_t buf = mfe_mem_alloc(&fe.mem, 4096, 64);
    struct mfe_buf in[3] = {{buf, 8}, {buf + 8, 8}, {buf + 16, 8}};
    unsigned wraps = 0;
    bool last_wrap = r.avail_wrap;
    for (unsigned i = 0; i < 200; i++) {
        unsigned n = 1 + i % 3;
        /* two chains in flight at once, completed in reverse order */
        ck_assert_int_eq(mfe_ring_add(&r, NULL, 0, in, n, i, false), 0);
        ck_assert_int_eq(mfe_ring_add(&r, NULL, 0, in, 1, 10000 + i, false), 0);
        mfe_ring_publish(&r);
        struct chain a, b;
        ck_assert(dev_pop(&d, &a) && dev_pop(&d, &b));
        ck_assert_uint_eq(a.n, n);
        dev_push(&d, &a, n);
        dev_push(&d, &b, 1);
        uint64_t tok;
        uint32_t len;
        ck_assert_int_eq(mfe_ring_get_used(&r, &tok, &len), 1);
        ck_assert_uint_eq(tok, i);
        ck_assert_uint_eq(len, n);
        ck_assert_int_eq(mfe_ring_get_used(&r, &tok, &len), 1);
        ck_assert_uint_eq(tok, 10000 + i);
        wraps += r.avail_wrap != last_wrap;
        last_wrap = r.avail_wrap;
    }
    ck_assert_uint_ge(wraps, 50);
    ck_assert_uint_eq(r.errors, 0);
    mfe_ring_destroy(&r);
    mfe_close(&fe);
}
END_TEST

/* A used id we never posted is counted, not followed; the next good entry
 * still arrives.  An oversized len is clamped and counted. */
START_TEST(split_bad_used)
{
    setup_vqs(8, false);
    struct mfe_ring r;
    struct mfe_ring_layout l;
    mfe_ring_layout_of(&fe.vq[0], &l);
    ck_assert_int_eq(mfe_ring_init(&r, &fe.mem, &l, 8, 0), 0);
    struct dev d;
    dev_init(&d, &fe, 0, false, false);
    uint64_t buf = mfe_mem_alloc(&fe.mem, 4096, 64);
    struct mfe_buf in = {buf, 64};
    ck_assert_int_eq(mfe_ring_add(&r, NULL, 0, &in, 1, 7, false), 0);
    mfe_ring_publish(&r);
    struct chain c, bad = {.id = 200};
    ck_assert(dev_pop(&d, &c));
    dev_push(&d, &bad, 10);
    bad.id = 5;                     /* in range but never posted */
    dev_push(&d, &bad, 10);
    dev_push(&d, &c, 4096);         /* more than the 64 bytes posted */
    uint64_t tok = 0;
    uint32_t len = 0;
    ck_assert_int_eq(mfe_ring_get_used(&r, &tok, &len), -EIO);
    ck_assert_int_eq(mfe_ring_get_used(&r, &tok, &len), -EIO);
    ck_assert_uint_eq(r.errors, 2);
    ck_assert_int_eq(mfe_ring_get_used(&r, &tok, &len), 1);
    ck_assert_uint_eq(tok, 7);
    ck_assert_uint_eq(len, 64);
    ck_assert_uint_eq(r.errors, 3);
    ck_assert_uint_eq(mfe_ring_free(&r), 8);
    mfe_ring_destroy(&r);
    mfe_close(&fe);
}
END_TEST

START_TEST(packed_bad_used)
{
    setup_vqs(8, true);
    struct mfe_ring r;
    struct mfe_ring_layout l;
    mfe_ring_layout_of(&fe.vq[0], &l);
    ck_assert_int_eq(mfe_ring_init(&r, &fe.mem, &l, 8, MFE_RING_PACKED), 0);
    struct dev d;
    dev_init(&d, &fe, 0, true, false);
    uint64_t buf = mfe_mem_alloc(&fe.mem, 4096, 64);
    struct mfe_buf in = {buf, 64};
    ck_assert_int_eq(mfe_ring_add(&r, NULL, 0, &in, 1, 7, false), 0);
    mfe_ring_publish(&r);
    struct chain c;
    ck_assert(dev_pop(&d, &c));
    c.id = 6;                       /* never posted */
    dev_push(&d, &c, 1);
    uint64_t tok;
    uint32_t len;
    ck_assert_int_eq(mfe_ring_get_used(&r, &tok, &len), -EPIPE);
    ck_assert_uint_eq(r.errors, 1);
    ck_assert(r.broken);
    ck_assert_int_eq(mfe_ring_add(&r, NULL, 0, &in, 1, 8, false), -EPIPE);
    mfe_ring_destroy(&r);
    mfe_close(&fe);
}
END_TEST

static Suite *ring_suite(void)
{
    Suite *s = suite_create("ring");
    TCase *t = tcase_create("ring");
    tcase_add_test(t, split_chained);
    tcase_add_test(t, split_indirect);
    tcase_add_test(t, packed_chained);
    tcase_add_test(t, packed_indirect);
    tcase_add_test(t, split_full_out_of_order);
    tcase_add_test(t, split_event_idx);
    tcase_add_test(t, packed_event_idx);
    tcase_add_test(t, packed_wraps);
    tcase_add_test(t, split_bad_used);
    tcase_add_test(t, packed_bad_used);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ring_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

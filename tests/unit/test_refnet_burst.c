/* Unit tests of vhost-refnet's fast path (reference-backend/split.c and
 * packed.c burst pops and pushes, dirty_log.c's logging of a burst), in the
 * guarded guest memory of refnet_mem.c: a burst must leave the ring as the
 * one-by-one ops would and stop, with nothing counted, where they must take
 * over. */
#include "refnet_mem.h"

#include <check.h>

/* ---- burst pops (loop.c's fast path) ---- */

/* They take one-buffer chains and stop, with nothing counted, at the first
 * other one, which the ops' pop then handles. */
START_TEST(split_burst_stops_at_unusual)
{
    start_ring(false);
    sdesc(0, BUF_GPA, 100, 0, 0);
    sdesc(1, BUF_GPA + 200, 50, REF_DESC_F_NEXT, 2);
    sdesc(2, BUF_GPA + 300, 50, 0, 0);
    sdesc(3, GPA_C, 60, 0, 0);
    sdesc(4, BUF_GPA + 400, 64, 0, 0);
    post(0);
    post(1);
    post(3);
    post(9);                                    /* head >= ring size */
    struct ref_elem e[8];
    bool more;
    ck_assert_uint_eq(ref_split_pop_burst(&vr, &mem, &io, false, e, 8, &more), 1);
    ck_assert(more);
    ck_assert(e[0].id == 0 && e[0].len == 100 && e[0].niov == 1 && e[0].gpa == BUF_GPA);
    ck_assert_ptr_eq(io.v[e[0].iov].p, host(BUF_GPA));
    ck_assert_int_eq(ref_split_ops.pop(&vr, &mem, &io, false, &e[1]), 1);
    ck_assert(!e[1].bad && e[1].id == 1 && e[1].len == 100 && e[1].niov == 2);
    ck_assert_uint_eq(ref_split_pop_burst(&vr, &mem, &io, false, e, 8, &more), 1);
    ck_assert(more && e[0].id == 3);
    ck_assert_uint_eq(bad_count(), 0);          /* the bad head is left for pop */
    ck_assert(!vr.dp.broken);
    ck_assert_int_eq(spop(&e[0], false), -1);
    ck_assert(vr.dp.broken);
}
END_TEST

START_TEST(split_burst_push)
{
    start_ring(false);
    for (unsigned i = 0; i < 3; i++) {
        sdesc(i, BUF_GPA + 100 * i, 100, REF_DESC_F_WRITE, 0);
        post((uint16_t)i);
    }
    struct ref_elem e[4];
    bool more;
    ck_assert_uint_eq(ref_split_pop_burst(&vr, &mem, &io, false, e, 4, &more), 0);
    ck_assert(more);                            /* wrong direction: for pop */
    ck_assert_uint_eq(ref_split_pop_burst(&vr, &mem, &io, true, e, 2, &more), 2);
    ck_assert(!more);
    uint32_t lens[2] = { 70, 80 };
    ref_split_push_burst(&vr, e, lens, 2);
    ref_split_ops.flush(&vr);
    uint32_t *used = host(RING_GPA + 0x200);    /* flags+idx, then id,len pairs */
    ck_assert_uint_eq(used[0] >> 16, 2);
    ck_assert(used[1] == 0 && used[2] == 70 && used[3] == 1 && used[4] == 80);
}
END_TEST

/* The burst pops hold the region hit last in locals: a buffer in another
 * region is translated the general way and becomes the one held, and a
 * buffer across a region border (two iovs) ends the burst for pop. */
START_TEST(split_burst_switches_regions)
{
    start_ring(false);
    sdesc(0, BUF_GPA, 100, 0, 0);
    sdesc(1, GPA_C + 8, 60, 0, 0);
    sdesc(2, GPA_C + 100, 60, 0, 0);
    sdesc(3, BUF_GPA + 200, 40, 0, 0);
    sdesc(4, GPA_B - 10, 20, 0, 0);             /* A's last bytes and B's first */
    for (uint16_t i = 0; i < 5; i++)
        post(i);
    struct ref_elem e[8];
    bool more;
    ck_assert_uint_eq(ref_split_pop_burst(&vr, &mem, &io, false, e, 8, &more), 4);
    ck_assert(more);
    ck_assert_uint_eq(io.n, 4);
    static const uint64_t gpa[4] = { BUF_GPA, GPA_C + 8, GPA_C + 100, BUF_GPA + 200 };
    for (unsigned i = 0; i < 4; i++) {
        ck_assert(e[i].id == i && e[i].iov == i && e[i].niov == 1 && e[i].gpa == gpa[i]);
        ck_assert_ptr_eq(io.v[i].p, host(gpa[i]));
        ck_assert_uint_eq(io.v[i].len, e[i].len);
    }
    ck_assert_int_eq(ref_split_ops.pop(&vr, &mem, &io, false, &e[4]), 1);
    ck_assert(!e[4].bad && e[4].id == 4 && e[4].niov == 2);
    ck_assert_uint_eq(bad_count(), 0);
}
END_TEST

/* A burst across the end of the ring: positions and wrap counters kept in
 * locals must come out as the one-by-one ops leave them; the used flags of
 * the second lap carry wrap counter 0, and the first entry's flags wait for
 * the flush. */
START_TEST(packed_burst_wraps)
{
    start_ring(true);
    struct ref_elem e[NUM];
    bool more;
    for (unsigned i = 0; i < 6; i++)
        pdesc(i, BUF_GPA + 64 * i, 64, (uint16_t)i, 0);
    ck_assert_uint_eq(ref_packed_pop_burst(&vr, &mem, &io, false, e, NUM, &more), 6);
    ref_packed_push_burst(&vr, e, NULL, 6);
    ref_packed_ops.flush(&vr);
    struct pdesc *d = host(RING_GPA);
    for (unsigned i = 6; i < NUM; i++)          /* first lap: AVAIL set, USED clear */
        pdesc(i, BUF_GPA + 64 * i, 64, (uint16_t)i, 0);
    for (unsigned i = 0; i < 2; i++)            /* second lap: AVAIL clear, USED set */
        d[i] = (struct pdesc){ BUF_GPA + 64 * i, 32, (uint16_t)i, REF_DESC_F_USED };
    io.n = 0;
    ck_assert_uint_eq(ref_packed_pop_burst(&vr, &mem, &io, false, e, NUM, &more), 4);
    ck_assert(!more);
    ck_assert(vr.dp.last_avail == 2 && !vr.dp.avail_wrap);
    ck_assert(e[0].id == 6 && e[1].id == 7 && e[2].id == 0 && e[3].id == 1 && e[3].len == 32);
    uint32_t lens[4] = { 1, 2, 3, 4 };
    ref_packed_push_burst(&vr, e, lens, 4);
    uint16_t lap1 = REF_DESC_F_AVAIL | REF_DESC_F_USED | REF_DESC_F_WRITE;
    ck_assert_uint_eq(d[7].flags, lap1);
    ck_assert_uint_eq(d[0].flags, REF_DESC_F_WRITE);        /* wrap counter 0 */
    ck_assert_uint_eq(d[1].flags, REF_DESC_F_WRITE);
    ck_assert_uint_ne(d[6].flags, lap1);                    /* held until the flush */
    ref_packed_ops.flush(&vr);
    ck_assert_uint_eq(d[6].flags, lap1);
    ck_assert(d[6].len == 1 && d[1].len == 4 && d[1].id == 1);
    ck_assert(vr.dp.used_idx == 2 && !vr.dp.used_wrap);
    ck_assert_uint_eq(bad_count(), 0);
}
END_TEST

START_TEST(packed_burst_stops_at_bad_id)
{
    start_ring(true);
    pdesc(0, BUF_GPA, 100, 3, 0);
    pdesc(1, BUF_GPA + 100, 100, NUM + 1, 0);   /* id >= ring size */
    struct ref_elem e[4];
    bool more;
    ck_assert_uint_eq(ref_packed_pop_burst(&vr, &mem, &io, false, e, 4, &more), 1);
    ck_assert(more && e[0].id == 3 && e[0].gpa == BUF_GPA);
    ck_assert_uint_eq(bad_count(), 0);
    ck_assert_int_eq(ref_packed_ops.pop(&vr, &mem, &io, false, &e[1]), 1);
    ck_assert(e[1].bad);
    ck_assert_uint_eq(bad_count(), 1);
    ref_packed_push_burst(&vr, e, NULL, 2);
    ref_packed_ops.flush(&vr);
    struct pdesc *d = host(RING_GPA);
    uint16_t used = REF_DESC_F_AVAIL | REF_DESC_F_USED;
    ck_assert(d[0].id == 3 && (d[0].flags & used) == used && (d[1].flags & used) == used);
}
END_TEST

/* ---- dirty log (dirty_log.c) ---- */

/* A burst's buffers logged at once: every page written gets its bit (pages
 * shared by buffers, buffers across pages and across bytes of the log, in
 * any order), no other bit is set, a zero length marks nothing, and pages
 * past the end of the log are not touched. */
START_TEST(dlog_elems_marks_each_page)
{
    uint8_t bits[4] = { 0 };
    struct ref_vlog l = { .bits = bits, .size = 3 };    /* bits[3] is past the log */
    struct ref_elem e[6] = {
        { .gpa = 0x0000 }, { .gpa = 0x0800 },            /* page 0 twice */
        { .gpa = 0x7f00 },                               /* pages 7 and 8: two bytes */
        { .gpa = 0x3000 },                               /* page 3: back to byte 0 */
        { .gpa = 0x10000 },                              /* page 16: byte 2 */
        { .gpa = 0x18000 },                              /* page 24: outside */
    };
    uint32_t len[6] = { 0x800, 0x800, 0x200, 0, 1, 64 };
    ref_dlog_elems(&l, e, len, 6);
    ck_assert_uint_eq(bits[0], 0x81);                    /* pages 0 and 7 (3 had 0 bytes) */
    ck_assert_uint_eq(bits[1], 0x01);                    /* page 8 */
    ck_assert_uint_eq(bits[2], 0x01);                    /* page 16 */
    ck_assert_uint_eq(bits[3], 0);
}
END_TEST

static Suite *burst_suite(void)
{
    Suite *s = suite_create("refnet_burst");
    TCase *t;
    t = tcase_create("split");
    tcase_add_checked_fixture(t, setup_mem, teardown);
    tcase_add_test(t, split_burst_stops_at_unusual);
    tcase_add_test(t, split_burst_push);
    tcase_add_test(t, split_burst_switches_regions);
    suite_add_tcase(s, t);
    t = tcase_create("packed");
    tcase_add_checked_fixture(t, setup_mem, teardown);
    tcase_add_test(t, packed_burst_wraps);
    tcase_add_test(t, packed_burst_stops_at_bad_id);
    suite_add_tcase(s, t);
    t = tcase_create("dirty_log");
    tcase_add_test(t, dlog_elems_marks_each_page);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(burst_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

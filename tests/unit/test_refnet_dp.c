/* Unit tests of vhost-refnet's device-side ring code (reference-backend/
 * split.c, packed.c, xlate.c) against hostile descriptors, in the guarded
 * guest memory of refnet_mem.c.  Every bad chain must be counted in the
 * ring's `bad` counter and skipped (or the ring marked broken, for
 * untrustworthy indices), and a good chain after a bad one must still
 * work. */
#include "refnet_mem.h"

#include <check.h>
#include <string.h>

/* ---- split ---- */

/* Pops one chain that must be bad, then a good one posted after it. */
static void expect_bad_then_good(const char *what)
{
    struct ref_elem e;
    uint64_t before = bad_count();
    ck_assert_msg(spop(&e, false) == 1, "%s: not popped", what);
    ck_assert_msg(e.bad, "%s: accepted", what);
    ck_assert_msg(e.niov == 0 && e.len == 0, "%s: bad element carries data", what);
    ck_assert_msg(bad_count() == before + 1, "%s: not counted", what);
    ref_split_ops.push(&vr, &e, 0);
    sdesc(7, BUF_GPA, 64, 0, 0);
    post(7);
    ck_assert_int_eq(spop(&e, false), 1);
    ck_assert_msg(!e.bad && e.id == 7 && e.len == 64 && e.niov == 1, "%s: ring stuck", what);
    ck_assert_ptr_eq(io.v[0].p, host(BUF_GPA));
}

START_TEST(split_good)
{
    start_ring(false);
    sdesc(0, BUF_GPA, 100, 0, 0);
    post(0);
    struct ref_elem e;
    ck_assert_int_eq(spop(&e, false), 1);
    ck_assert(!e.bad);
    ck_assert_uint_eq(e.len, 100);
    ck_assert_uint_eq(e.niov, 1);
    ck_assert_int_eq(spop(&e, false), 0);       /* nothing more */
    ck_assert_uint_eq(bad_count(), 0);
}
END_TEST

START_TEST(split_addr_outside)
{
    start_ring(false);
    sdesc(0, HOLE, 16, 0, 0);                   /* the hole after D */
    post(0);
    expect_bad_then_good("addr outside every region");
}
END_TEST

START_TEST(split_addr_overflow)
{
    start_ring(false);
    sdesc(0, UINT64_MAX - 8, 64, 0, 0);
    post(0);
    expect_bad_then_good("addr+len wraps");
}
END_TEST

START_TEST(split_len_past_region)
{
    start_ring(false);
    sdesc(0, GPA_D + PG - 16, 17, 0, 0);        /* one byte into the hole */
    post(0);
    expect_bad_then_good("len past the end of a region");
}
END_TEST

/* Policy: a buffer across two regions adjacent in guest memory is split
 * into two iovs, each inside its own mapping; the copy touches no guard. */
START_TEST(split_spans_regions)
{
    start_ring(false);
    struct ref_session s = { .features = 1ull << VHU_F_VERSION_1 };
    struct ref_net net;
    ref_net_setup(&net, &s);
    for (unsigned i = 0; i < 100; i++)
        *(uint8_t *)host(GPA_B - 40 + i) = (uint8_t)i;
    sdesc(0, GPA_B - 40, 100, 0, 0);
    post(0);
    struct ref_elem e;
    ck_assert_int_eq(spop(&e, false), 1);
    ck_assert(!e.bad);
    ck_assert_uint_eq(e.niov, 2);
    ck_assert_ptr_eq(io.v[0].p, host(GPA_B - 40));
    ck_assert_uint_eq(io.v[0].len, 40);
    ck_assert_ptr_eq(io.v[1].p, host(GPA_B));
    ck_assert_uint_eq(io.v[1].len, 60);
    /* loop it back into an RX ring (in C) whose buffer spans C and D */
    struct ref_iov src[2] = { io.v[0], io.v[1] };
    vr.desc = host(GPA_C);
    vr.avail = host(GPA_C + 0x100);
    vr.used = host(GPA_C + 0x200);
    ref_vq_start(&s, &vr);
    ((struct sdesc *)host(GPA_C))[3] = (struct sdesc){ GPA_D - 10, 200, REF_DESC_F_WRITE, 0 };
    uint16_t *avail = host(GPA_C + 0x100);
    avail[2] = 3;
    avail[1] = 1;
    ck_assert_int_eq(ref_net_rx(&net, &vr, &mem, src, 2, 12, 88), REF_DELIVERED);
    for (unsigned i = 0; i < 12; i++)           /* header: num_buffers 1, rest 0 */
        ck_assert_uint_eq(*(uint8_t *)host(GPA_D - 10 + i), i == 10);
    for (unsigned i = 12; i < 100; i++)
        ck_assert_uint_eq(*(uint8_t *)host(GPA_D - 10 + i), (uint8_t)i);
    ref_split_ops.flush(&vr);
    uint32_t *used = host(GPA_C + 0x204);       /* used ring entry 0: id, len */
    ck_assert_uint_eq(used[0], 3);
    ck_assert_uint_eq(used[1], 100);
}
END_TEST

/* A hostile guest hands an RX buffer that overlaps its TX buffer: the copy
 * must stay defined (no memcpy overlap: ASan aborts on one). */
START_TEST(split_rx_overlaps_tx)
{
    start_ring(false);
    struct ref_session s = { .features = 1ull << VHU_F_VERSION_1 };
    struct ref_net net;
    ref_net_setup(&net, &s);
    sdesc(0, BUF_GPA, 100, 0, 0);
    sdesc(1, BUF_GPA + 4, 200, REF_DESC_F_WRITE, 0);
    post(0);
    post(1);
    struct ref_elem e;
    ck_assert_int_eq(spop(&e, false), 1);
    struct ref_iov src = io.v[0];
    ck_assert_int_eq(ref_net_rx(&net, &vr, &mem, &src, 1, 12, 88), REF_DELIVERED);
}
END_TEST

START_TEST(split_chain_loop)
{
    start_ring(false);
    sdesc(0, BUF_GPA, 8, REF_DESC_F_NEXT, 1);
    sdesc(1, BUF_GPA, 8, REF_DESC_F_NEXT, 0);
    post(0);
    expect_bad_then_good("chain loop");
}
END_TEST

START_TEST(split_chain_self_loop_longer_than_ring)
{
    start_ring(false);
    for (unsigned i = 0; i < NUM; i++)          /* visits all NUM, then wraps to 0 */
        sdesc(i, BUF_GPA, 8, REF_DESC_F_NEXT, (uint16_t)((i + 1) % NUM));
    post(0);
    expect_bad_then_good("chain longer than the ring");
}
END_TEST

START_TEST(split_next_out_of_range)
{
    start_ring(false);
    sdesc(0, BUF_GPA, 8, REF_DESC_F_NEXT, NUM);
    post(0);
    expect_bad_then_good("next >= num");
}
END_TEST

static void indirect_case(uint64_t tab_gpa, uint32_t len, uint16_t flags, const char *what)
{
    start_ring(false);
    sdesc(0, tab_gpa, len, REF_DESC_F_INDIRECT | flags, 1);
    sdesc(1, BUF_GPA, 8, 0, 0);
    post(0);
    expect_bad_then_good(what);
}

START_TEST(split_indirect_bad_len)
{
    indirect_case(TAB_GPA, 24, 0, "indirect len not a multiple of 16");
    indirect_case(TAB_GPA, 0, 0, "indirect len 0");
    indirect_case(TAB_GPA, 0xfffffff0u, 0, "indirect len huge");
    indirect_case(GPA_D + PG - 32, 64, 0, "indirect table past its region");
}
END_TEST

START_TEST(split_indirect_with_next)
{
    struct sdesc *tab = host(TAB_GPA);
    tab[0] = (struct sdesc){ BUF_GPA, 8, 0, 0 };
    indirect_case(TAB_GPA, 16, REF_DESC_F_NEXT, "indirect with NEXT");
}
END_TEST

START_TEST(split_indirect_nested)
{
    struct sdesc *tab = host(TAB_GPA);
    tab[0] = (struct sdesc){ TAB_GPA + 0x100, 16, REF_DESC_F_INDIRECT, 0 };
    indirect_case(TAB_GPA, 16, 0, "nested indirect");
}
END_TEST

START_TEST(split_indirect_loop_and_range)
{
    struct sdesc *tab = host(TAB_GPA);
    tab[0] = (struct sdesc){ BUF_GPA, 8, REF_DESC_F_NEXT, 1 };
    tab[1] = (struct sdesc){ BUF_GPA, 8, REF_DESC_F_NEXT, 0 };
    indirect_case(TAB_GPA, 32, 0, "loop inside an indirect table");
    tab[1] = (struct sdesc){ BUF_GPA, 8, REF_DESC_F_NEXT, 2 };
    indirect_case(TAB_GPA, 32, 0, "next beyond an indirect table");
}
END_TEST

START_TEST(split_indirect_good)
{
    start_ring(false);
    struct sdesc *tab = host(TAB_GPA);
    tab[0] = (struct sdesc){ BUF_GPA, 12, REF_DESC_F_NEXT, 1 };
    tab[1] = (struct sdesc){ GPA_C, 50, 0, 0 };
    sdesc(2, TAB_GPA, 32, REF_DESC_F_INDIRECT, 0);
    post(2);
    struct ref_elem e;
    ck_assert_int_eq(spop(&e, false), 1);
    ck_assert(!e.bad);
    ck_assert_uint_eq(e.len, 62);
    ck_assert_uint_eq(e.niov, 2);
    ck_assert_ptr_eq(io.v[1].p, host(GPA_C));
}
END_TEST

/* NUM entries is the longest table a driver may make (virtio 1.1 2.6.5.3.1);
 * one more, all of them valid, is a bad chain whatever the region size. */
START_TEST(split_indirect_longer_than_queue)
{
    start_ring(false);
    struct sdesc *tab = host(TAB_GPA);
    for (uint16_t i = 0; i <= NUM; i++)
        tab[i] = (struct sdesc){ BUF_GPA, 1, i < NUM ? REF_DESC_F_NEXT : 0, (uint16_t)(i + 1) };
    tab[NUM - 1].flags = 0;
    sdesc(2, TAB_GPA, 16 * NUM, REF_DESC_F_INDIRECT, 0);
    sdesc(3, TAB_GPA, 16 * (NUM + 1), REF_DESC_F_INDIRECT, 0);
    post(2);
    post(3);
    struct ref_elem e;
    ck_assert_int_eq(spop(&e, false), 1);
    ck_assert_msg(!e.bad && e.len == NUM, "a table of NUM entries is valid");
    ck_assert_int_eq(spop(&e, false), 1);
    ck_assert_msg(e.bad, "a table of NUM + 1 entries was accepted");
}
END_TEST

START_TEST(split_avail_idx_jump)
{
    start_ring(false);
    uint16_t *avail = host(RING_GPA + 0x100);
    avail[1] = NUM + 1;
    struct ref_elem e;
    ck_assert_int_eq(spop(&e, false), -1);
    ck_assert(vr.dp.broken);
    ck_assert_uint_eq(bad_count(), 1);
    ck_assert_int_eq(spop(&e, false), -1);      /* stays broken, counted once */
    ck_assert_uint_eq(bad_count(), 1);
    ck_assert(!ref_split_ops.has_avail(&vr));
}
END_TEST

START_TEST(split_head_out_of_range)
{
    start_ring(false);
    post(NUM);
    struct ref_elem e;
    ck_assert_int_eq(spop(&e, false), -1);
    ck_assert(vr.dp.broken);
    ck_assert_uint_eq(bad_count(), 1);
}
END_TEST

START_TEST(split_direction_filter)
{
    start_ring(false);
    sdesc(0, BUF_GPA, 12, REF_DESC_F_NEXT, 1);          /* read-only part */
    sdesc(1, GPA_C, 100, REF_DESC_F_WRITE, 0);          /* device-writable part */
    post(0);
    struct ref_elem e;
    io.n = 0;
    ck_assert_int_eq(ref_split_ops.pop(&vr, &mem, &io, true, &e), 1);
    ck_assert(!e.bad);
    ck_assert_uint_eq(e.len, 100);
    ck_assert_ptr_eq(io.v[0].p, host(GPA_C));
}
END_TEST

/* ---- packed ---- */

/* The chain at the ring's position must be bad; then a good one at `next`. */
static void pexpect_bad_then_good(unsigned next, const char *what)
{
    struct ref_elem e;
    uint64_t before = bad_count();
    ck_assert_msg(ppop(&e) == 1, "%s: not popped", what);
    ck_assert_msg(e.bad, "%s: accepted", what);
    ck_assert_msg(e.niov == 0 && e.len == 0, "%s: bad element carries data", what);
    ck_assert_msg(bad_count() == before + 1, "%s: not counted", what);
    ref_packed_ops.push(&vr, &e, 0);
    ref_packed_ops.flush(&vr);
    pdesc(next, BUF_GPA, 64, 5, 0);
    ck_assert_int_eq(ppop(&e), 1);
    ck_assert_msg(!e.bad && e.id == 5 && e.len == 64, "%s: ring stuck", what);
}

START_TEST(packed_good_and_used_flags)
{
    start_ring(true);
    pdesc(0, BUF_GPA, 100, 3, 0);
    pdesc(1, GPA_C, 10, 4, 0);
    struct ref_elem e[2];
    ck_assert_int_eq(ppop(&e[0]), 1);
    ck_assert_int_eq(ref_packed_ops.pop(&vr, &mem, &io, false, &e[1]), 1);
    ck_assert(!e[0].bad && !e[1].bad);
    ck_assert_uint_eq(e[0].id, 3);
    ck_assert_uint_eq(e[1].len, 10);
    ck_assert_int_eq(ppop(&e[0]), 0);           /* slot 2 not available */
    ref_packed_ops.push(&vr, &e[0], 0);
    ref_packed_ops.push(&vr, &e[1], 0);
    struct pdesc *d = host(RING_GPA);
    uint16_t used = REF_DESC_F_AVAIL | REF_DESC_F_USED;
    /* the burst's first entry is published only by flush, the rest at once */
    ck_assert_uint_eq(d[0].flags & used, REF_DESC_F_AVAIL);
    ck_assert_uint_eq(d[1].flags & used, used);
    ref_packed_ops.flush(&vr);
    ck_assert_uint_eq(d[0].flags & used, used);
    ck_assert_uint_eq(d[0].id, 3);
}
END_TEST

START_TEST(packed_addr_outside)
{
    start_ring(true);
    pdesc(0, HOLE, 16, 0, 0);
    pexpect_bad_then_good(1, "addr outside every region");
}
END_TEST

START_TEST(packed_addr_overflow)
{
    start_ring(true);
    pdesc(0, UINT64_MAX - 8, 64, 0, 0);
    pexpect_bad_then_good(1, "addr+len wraps");
}
END_TEST

START_TEST(packed_bad_id)
{
    start_ring(true);
    pdesc(0, BUF_GPA, 64, NUM, 0);
    pexpect_bad_then_good(1, "buffer id >= num");
    start_ring(true);
    pdesc(0, BUF_GPA, 64, 0, REF_DESC_F_NEXT);
    pdesc(1, BUF_GPA, 64, 0xffff, 0);           /* the id is the last descriptor's */
    pexpect_bad_then_good(2, "chained buffer id >= num");
}
END_TEST

START_TEST(packed_bad_in_chain)
{
    start_ring(true);
    pdesc(0, HOLE, 8, 0, REF_DESC_F_NEXT);
    pdesc(1, BUF_GPA, 8, 1, 0);
    pexpect_bad_then_good(2, "bad first descriptor of a chain");
}
END_TEST

START_TEST(packed_chain_longer_than_ring)
{
    start_ring(true);
    for (unsigned i = 0; i < NUM; i++)
        pdesc(i, BUF_GPA, 8, 0, REF_DESC_F_NEXT);
    struct ref_elem e;
    ck_assert_int_eq(ppop(&e), -1);
    ck_assert(vr.dp.broken);
    ck_assert_uint_eq(bad_count(), 1);
    ck_assert_int_eq(ppop(&e), -1);
}
END_TEST

static void pindirect_case(uint64_t tab_gpa, uint32_t len, uint16_t flags, const char *what)
{
    start_ring(true);
    pdesc(0, tab_gpa, len, 0, REF_DESC_F_INDIRECT | flags);
    unsigned next = 1;
    if (flags & REF_DESC_F_NEXT)
        pdesc(next++, BUF_GPA, 8, 0, 0);
    pexpect_bad_then_good(next, what);
}

START_TEST(packed_indirect_bad)
{
    struct pdesc *tab = host(TAB_GPA);
    tab[0] = (struct pdesc){ BUF_GPA, 8, 0, 0 };
    pindirect_case(TAB_GPA, 24, 0, "indirect len not a multiple of 16");
    pindirect_case(TAB_GPA, 0, 0, "indirect len 0");
    pindirect_case(TAB_GPA, 0xfffffff0u, 0, "indirect len huge");
    pindirect_case(GPA_D + PG - 32, 64, 0, "indirect table past its region");
    pindirect_case(TAB_GPA, 16, REF_DESC_F_NEXT, "indirect with NEXT");
    tab[0] = (struct pdesc){ TAB_GPA + 0x100, 16, 0, REF_DESC_F_INDIRECT };
    pindirect_case(TAB_GPA, 16, 0, "nested indirect");
    tab[0] = (struct pdesc){ HOLE, 8, 0, 0 };
    pindirect_case(TAB_GPA, 16, 0, "indirect entry outside memory");
}
END_TEST

START_TEST(packed_indirect_good)
{
    start_ring(true);
    struct pdesc *tab = host(TAB_GPA);
    tab[0] = (struct pdesc){ BUF_GPA, 12, 0, 0 };
    tab[1] = (struct pdesc){ GPA_B - 8, 50, 0, 0 };     /* spans A and B: two iovs */
    pdesc(0, TAB_GPA, 32, 6, REF_DESC_F_INDIRECT);
    struct ref_elem e;
    ck_assert_int_eq(ppop(&e), 1);
    ck_assert(!e.bad);
    ck_assert_uint_eq(e.id, 6);
    ck_assert_uint_eq(e.len, 62);
    ck_assert_uint_eq(e.niov, 3);
}
END_TEST

START_TEST(packed_indirect_longer_than_queue)
{
    start_ring(true);
    struct pdesc *tab = host(TAB_GPA);
    for (unsigned i = 0; i <= NUM; i++)
        tab[i] = (struct pdesc){ BUF_GPA, 1, 0, 0 };
    pdesc(0, TAB_GPA, 16 * NUM, 6, REF_DESC_F_INDIRECT);
    pdesc(1, TAB_GPA, 16 * (NUM + 1), 5, REF_DESC_F_INDIRECT);
    struct ref_elem e;
    ck_assert_int_eq(ppop(&e), 1);
    ck_assert_msg(!e.bad && e.len == NUM, "a table of NUM entries is valid");
    ck_assert_int_eq(ppop(&e), 1);
    ck_assert_msg(e.bad, "a table of NUM + 1 entries was accepted");
}
END_TEST

/* A ring aligned as a user address, in a region whose mmap_offset is 0x29:
 * our pointer would be misaligned, so the ring must not start. */
START_TEST(ring_misaligned_in_file)
{
    static struct ref_mem m;
    ref_mem_init(&m);
    m.r[0] = (struct ref_region){ .gpa = 0, .size = 2 * PG, .uaddr = 0x10000,
                                  .map = mem.r[0].map, .map_len = 3 * PG, .delta = 0x29 };
    m.n = 1;
    static struct ref_session s;
    memset(&s, 0, sizeof s);
    struct ref_vring v;
    ref_vring_init(&v, 0);
    v.num = NUM;
    v.addr = (struct vhu_vring_addr){ .desc = 0x10000, .avail = 0x10400, .used = 0x10800 };
    void *out[3];
    ck_assert_int_eq(ref_vring_translate(&s, &v, &m, out), -1);
    ck_assert_msg(strstr(s.why, "vring.addr.align"), "why: %s", s.why);
    m.r[0].delta = 0x40;
    ck_assert_int_eq(ref_vring_translate(&s, &v, &m, out), 0);
}
END_TEST

static Suite *dp_suite(void)
{
    Suite *s = suite_create("refnet_dp");
    TCase *t;
    t = tcase_create("split");
    tcase_add_checked_fixture(t, setup_mem, teardown);
    tcase_add_test(t, split_good);
    tcase_add_test(t, split_addr_outside);
    tcase_add_test(t, split_addr_overflow);
    tcase_add_test(t, split_len_past_region);
    tcase_add_test(t, split_spans_regions);
    tcase_add_test(t, split_rx_overlaps_tx);
    tcase_add_test(t, split_chain_loop);
    tcase_add_test(t, split_chain_self_loop_longer_than_ring);
    tcase_add_test(t, split_next_out_of_range);
    tcase_add_test(t, split_indirect_bad_len);
    tcase_add_test(t, split_indirect_with_next);
    tcase_add_test(t, split_indirect_nested);
    tcase_add_test(t, split_indirect_loop_and_range);
    tcase_add_test(t, split_indirect_good);
    tcase_add_test(t, split_indirect_longer_than_queue);
    tcase_add_test(t, split_avail_idx_jump);
    tcase_add_test(t, split_head_out_of_range);
    tcase_add_test(t, split_direction_filter);
    tcase_add_test(t, ring_misaligned_in_file);
    suite_add_tcase(s, t);
    t = tcase_create("packed");
    tcase_add_checked_fixture(t, setup_mem, teardown);
    tcase_add_test(t, packed_good_and_used_flags);
    tcase_add_test(t, packed_addr_outside);
    tcase_add_test(t, packed_addr_overflow);
    tcase_add_test(t, packed_bad_id);
    tcase_add_test(t, packed_bad_in_chain);
    tcase_add_test(t, packed_chain_longer_than_ring);
    tcase_add_test(t, packed_indirect_bad);
    tcase_add_test(t, packed_indirect_good);
    tcase_add_test(t, packed_indirect_longer_than_queue);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dp_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

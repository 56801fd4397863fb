/* Unit tests of vhost-refnet's device-side ring code (reference-backend/
 * split.c, packed.c, xlate.c, net.c, dirty_log.c) against hostile descriptors.
 *
 * Guest memory is three regions carved out of one PROT_NONE mapping, with a
 * PROT_NONE guard page on both sides of each: any read or write outside a
 * region faults (SIGSEGV; ASan reports it too).  Regions A and B are
 * adjacent in guest-physical space but not on the host, so a buffer across
 * their border must be split into two iovs (refnet's documented policy);
 * so are C and D.  Every bad chain must be counted in the ring's
 * `bad` counter and skipped (or the ring marked broken, for untrustworthy
 * indices), and a good chain after a bad one must still work. */
#include "dirty_log.h"

#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG        4096u
#define NUM       8u
#define GPA_A     0x100000ull
#define GPA_B     (GPA_A + 4 * PG)      /* right after A */
#define GPA_C     0x400000ull
#define GPA_D     (GPA_C + PG)          /* right after C */
#define HOLE      (GPA_D + PG)          /* no region here */
#define RING_GPA  GPA_A                 /* desc, then avail/driver event, used/device event */
#define TAB_GPA   (GPA_A + 0x800)       /* indirect tables */
#define BUF_GPA   (GPA_A + PG)          /* data buffers */

void ref_log(const char *fmt, ...)
{
    (void)fmt;                          /* "ring broken" lines: not needed here */
}

static uint8_t *area;
static size_t area_len;
static struct ref_mem mem;
static struct ref_vring vr;
static struct ref_iovs io;

/* Page layout: guard, A (4 pages), guard, B (4), guard, C (1), guard, D (1),
 * guard. */
static void add_region(unsigned first_page, unsigned pages, uint64_t gpa)
{
    uint8_t *p = area + (size_t)first_page * PG;
    ck_assert_int_eq(mprotect(p, (size_t)pages * PG, PROT_READ | PROT_WRITE), 0);
    mem.r[mem.n++] = (struct ref_region){ .gpa = gpa, .size = (uint64_t)pages * PG,
                                          .uaddr = gpa, .map = p, .map_len = pages * PG };
}

static void *host(uint64_t gpa)
{
    for (unsigned i = 0; i < mem.n; i++)
        if (gpa >= mem.r[i].gpa && gpa - mem.r[i].gpa < mem.r[i].size)
            return (uint8_t *)mem.r[i].map + (gpa - mem.r[i].gpa);
    ck_abort_msg("test bug: gpa 0x%llx outside memory", (unsigned long long)gpa);
    return NULL;
}

static void setup_mem(void)
{
    area_len = 15 * PG;             /* the last page stays a guard */
    area = mmap(NULL, area_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(area, MAP_FAILED);
    ref_mem_init(&mem);
    add_region(1, 4, GPA_A);
    add_region(6, 4, GPA_B);
    add_region(11, 1, GPA_C);
    add_region(13, 1, GPA_D);
}

static void teardown(void)
{
    munmap(area, area_len);
}

static void start_ring(bool packed)
{
    ref_vring_init(&vr, 1);
    vr.num = NUM;
    vr.packed = packed;
    vr.desc = host(RING_GPA);
    vr.avail = host(RING_GPA + 0x100);
    vr.used = host(RING_GPA + 0x200);
    vr.base = packed ? 0x8000u : 0;     /* packed: position 0, wrap counter 1 */
    struct ref_session s = { 0 };
    ref_vq_start(&s, &vr);
    io.n = 0;
}

static uint64_t bad_count(void)
{
    return atomic_load(&vr.dp.st.bad);
}

/* ---- split ---- */

struct sdesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

static void sdesc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    ((struct sdesc *)host(RING_GPA))[i] = (struct sdesc){ addr, len, flags, next };
}

/* Make head available (avail idx += 1, or += jump for the idx test). */
static void post(uint16_t head)
{
    uint16_t *avail = host(RING_GPA + 0x100);
    avail[2 + avail[1] % NUM] = head;
    avail[1]++;
}

static int spop(struct ref_elem *e, bool write)
{
    io.n = 0;
    return ref_split_ops.pop(&vr, &mem, &io, write, e);
}

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

struct pdesc {
    uint64_t addr;
    uint32_t len;
    uint16_t id, flags;
};

/* Driver wrap counter 1 for the ring's first lap: AVAIL set, USED clear. */
#define P_AVAIL REF_DESC_F_AVAIL

static void pdesc(unsigned i, uint64_t addr, uint32_t len, uint16_t id, uint16_t flags)
{
    ((struct pdesc *)host(RING_GPA))[i] = (struct pdesc){ addr, len, id, flags | P_AVAIL };
}

static int ppop(struct ref_elem *e)
{
    io.n = 0;
    return ref_packed_ops.pop(&vr, &mem, &io, false, e);
}

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

static Suite *dp_suite(void)
{
    Suite *s = suite_create("refnet_dp");
    TCase *t = tcase_create("split");
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
    tcase_add_test(t, ring_misaligned_in_file);
    tcase_add_test(t, split_avail_idx_jump);
    tcase_add_test(t, split_head_out_of_range);
    tcase_add_test(t, split_direction_filter);
    tcase_add_test(t, split_burst_stops_at_unusual);
    tcase_add_test(t, split_burst_push);
    tcase_add_test(t, split_burst_switches_regions);
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
    tcase_add_test(t, packed_burst_stops_at_bad_id);
    tcase_add_test(t, packed_burst_wraps);
    suite_add_tcase(s, t);
    t = tcase_create("dirty_log");
    tcase_add_test(t, dlog_elems_marks_each_page);
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

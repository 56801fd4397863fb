/* Unit tests of the driver's burst ring operations (mfe_ring_add_bufs,
 * mfe_ring_get_used_burst): two rings side by side, one driven one call at
 * a time and one in bursts, must leave the same memory, state, errors and
 * observer calls; against the test device of ring_dev.h. */
#include "mfe_ring.h"
#include "ring_dev.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Two rings of num entries on vqs 0 and 1, with a test device each: the
 * same operations on both must leave the same memory and state. */
struct pair {
    struct mfe_ring a, b;
    struct dev da, db;
    uint64_t buf;
};

static void pair_init(struct pair *p, unsigned num, bool packed)
{
    setup_vqs(num, packed);
    struct mfe_ring_layout l;
    for (unsigned i = 0; i < 2; i++) {
        mfe_ring_layout_of(&fe.vq[i], &l);
        ck_assert_int_eq(mfe_ring_init(i ? &p->b : &p->a, &fe.mem, &l, num,
                                       packed ? MFE_RING_PACKED : 0), 0);
        dev_init(i ? &p->db : &p->da, &fe, i, packed, false);
    }
    p->buf = mfe_mem_alloc(&fe.mem, 4096, 64);
}

static void pair_destroy(struct pair *p)
{
    mfe_ring_destroy(&p->a);
    mfe_ring_destroy(&p->b);
    mfe_close(&fe);
}

static void same_bytes(uint64_t ga, uint64_t gb, uint64_t len)
{
    ck_assert_int_eq(memcmp(mfe_gpa(&fe.mem, ga, len), mfe_gpa(&fe.mem, gb, len), len), 0);
}

/* The guest memory of both rings: descriptors, avail/driver, used/device. */
static void same_memory(const struct pair *p)
{
    unsigned n = p->a.num;
    const struct mfe_ring_layout *a = &p->da.l, *b = &p->db.l;
    same_bytes(a->desc, b->desc, 16ull * n);
    same_bytes(a->driver, b->driver, p->a.packed ? 4 : 6 + 2ull * n);
    same_bytes(a->device, b->device, p->a.packed ? 4 : 6 + 8ull * n);
}

/* Slots field by field: their padding is not part of the state. */
static void same_slots(const struct mfe_ring *a, const struct mfe_ring *b)
{
    for (unsigned i = 0; i < a->num; i++) {
        const struct mfe_ring_slot *x = &a->slot[i], *y = &b->slot[i];
        ck_assert_int_eq(x->busy, y->busy);
        if (!x->busy)
            continue;
        ck_assert_uint_eq(x->token, y->token);
        ck_assert_uint_eq(x->in_len, y->in_len);
        ck_assert_uint_eq(x->ndesc, y->ndesc);
        ck_assert_uint_eq(x->last, y->last);
    }
}

static void same_state(const struct mfe_ring *a, const struct mfe_ring *b)
{
    ck_assert_uint_eq(a->num_free, b->num_free);
    ck_assert_uint_eq(a->num_added, b->num_added);
    ck_assert_uint_eq(a->free_head, b->free_head);
    ck_assert_uint_eq(a->shadow_avail, b->shadow_avail);
    ck_assert_uint_eq(a->last_used, b->last_used);
    ck_assert_uint_eq(a->next_avail, b->next_avail);
    ck_assert_int_eq(a->avail_wrap, b->avail_wrap);
    ck_assert_int_eq(a->used_wrap, b->used_wrap);
    ck_assert_uint_eq(a->nfree_id, b->nfree_id);
    ck_assert_int_eq(a->pending_head, b->pending_head);
    ck_assert_uint_eq(a->pending_flags, b->pending_flags);
    ck_assert_int_eq(a->broken, b->broken);
    ck_assert_uint_eq(a->added, b->added);
    ck_assert_uint_eq(a->completed, b->completed);
    ck_assert_uint_eq(a->errors, b->errors);
    ck_assert_uint_eq(a->long_used, b->long_used);
    ck_assert_str_eq(a->err, b->err);
    ck_assert_int_eq(memcmp(a->next, b->next, a->num * sizeof *a->next), 0);
    ck_assert_int_eq(memcmp(a->free_id, b->free_id, a->num * sizeof *a->free_id), 0);
    same_slots(a, b);
}

/* What on_used saw, in order. */
struct seen {
    uint16_t pos[64];
    uint64_t token[64];
    uint32_t len[64];
    unsigned n;
};

static void record_used(void *arg, const struct mfe_ring *r, uint16_t pos, uint64_t token,
                        uint32_t len)
{
    struct seen *s = arg;
    (void)r;
    ck_assert_uint_lt(s->n, 64);
    s->pos[s->n] = pos;
    s->token[s->n] = token;
    s->len[s->n++] = len;
}

static void same_seen(const struct seen *x, const struct seen *y)
{
    ck_assert_uint_eq(x->n, y->n);
    for (unsigned i = 0; i < x->n; i++) {
        ck_assert_uint_eq(x->pos[i], y->pos[i]);
        ck_assert_uint_eq(x->token[i], y->token[i]);
        ck_assert_uint_eq(x->len[i], y->len[i]);
    }
}

/* n one-buffer chains from buffer k on: one by one on a, one burst on b. */
static void add_both(struct pair *p, unsigned k, unsigned n, bool write)
{
    struct mfe_buf b[16];
    uint64_t tok[16];
    ck_assert_uint_le(n, 16);
    for (unsigned i = 0; i < n; i++) {
        b[i] = (struct mfe_buf){p->buf + 64 * ((k + i) % 64), 10 + (uint32_t)(k + i) % 50};
        tok[i] = 500 + k + i;
        ck_assert_int_eq(mfe_ring_add(&p->a, write ? NULL : &b[i], !write, write ? &b[i] : NULL,
                                      write, tok[i], false), 0);
    }
    ck_assert_uint_eq(mfe_ring_add_bufs(&p->b, b, tok, n, write), n);
}

/* The device takes everything and gives it back in reverse order, the
 * same on both rings (used len 1 + its position for a writable buffer, 0 for a
 * readable one). */
static void complete_both(struct pair *p)
{
    struct chain ca[16], cb[16];
    unsigned n = 0;
    while (dev_pop(&p->da, &ca[n])) {
        ck_assert(dev_pop(&p->db, &cb[n]));
        ck_assert_uint_lt(++n, 16);
    }
    ck_assert(!dev_pop(&p->db, &cb[n]));
    while (n-- > 0) {
        uint32_t len = ca[n].seg[0].write ? 1 + n : 0;
        dev_push(&p->da, &ca[n], len);
        dev_push(&p->db, &cb[n], len);
    }
}

/* add_both, made visible, and given back by the device (complete_both). */
static void post_both(struct pair *p, unsigned k, unsigned n, bool write)
{
    add_both(p, k, n, write);
    mfe_ring_publish(&p->a);
    mfe_ring_publish(&p->b);
    complete_both(p);
}

/* Drain a one by one and b in bursts of at most max; both must give the
 * same entries (and, with observe, on_used the same positions) and the
 * same worst error (-EPIPE over -EIO over 0).  Without an observer a burst
 * takes the datapath's way (the ring's state in locals), with one the
 * per-entry way: both are checked against the one-by-one calls. */
static void drain_both(struct pair *p, unsigned max, bool observe)
{
    static struct seen sa, sb;
    memset(&sa, 0, sizeof sa);
    memset(&sb, 0, sizeof sb);
    p->a.on_used = p->b.on_used = observe ? record_used : NULL;
    p->a.on_used_arg = &sa;
    p->b.on_used_arg = &sb;
    uint64_t ta[64], tb[64];
    uint32_t la[64], lb[64];
    unsigned na = 0, nb = 0;
    int rc, worst_a = 0, worst_b = 0;
    while (na < 64 && (rc = mfe_ring_get_used(&p->a, &ta[na], &la[na])) != 0) {
        worst_a = rc < worst_a ? rc : worst_a;
        if (rc == -EPIPE)
            break;
        na += rc == 1;
    }
    for (;;) {
        int err;
        unsigned k = mfe_ring_get_used_burst(&p->b, &tb[nb], &lb[nb], max, &err);
        ck_assert_uint_le(k, max);
        nb += k;
        worst_b = err < worst_b ? err : worst_b;
        if (err == -EPIPE || (k == 0 && err == 0))
            break;
    }
    ck_assert_int_eq(worst_a, worst_b);
    ck_assert_uint_eq(na, nb);
    for (unsigned i = 0; i < na; i++) {
        ck_assert_uint_eq(ta[i], tb[i]);
        ck_assert_uint_eq(la[i], lb[i]);
    }
    ck_assert_uint_eq(sa.n, observe ? na : 0);
    same_seen(&sa, &sb);
    p->a.on_used = p->b.on_used = NULL;
}

/* Bursts of 1..7 chains, readable and writable, for several laps of a
 * 16-ring, completed out of order: burst and one-by-one agree after every
 * step. */
static void burst_same(bool packed)
{
    struct pair p;
    pair_init(&p, 16, packed);
    unsigned k = 0;
    for (unsigned round = 0; round < 40; round++) {
        unsigned n = 1 + round % 7;
        add_both(&p, k, n, round % 2);
        k += n;
        same_memory(&p);
        same_state(&p.a, &p.b);
        if (round % 3 == 2)
            continue;                   /* leave some for a bigger batch */
        mfe_ring_publish(&p.a);
        mfe_ring_publish(&p.b);
        complete_both(&p);
        drain_both(&p, 1 + round % 4, round % 2 == 0);
        same_memory(&p);
        same_state(&p.a, &p.b);
        ck_assert_uint_eq(mfe_ring_free(&p.b), 16);
    }
    ck_assert_uint_eq(p.b.errors, 0);
    ck_assert_uint_eq(p.b.added, k);
    ck_assert_uint_eq(p.b.completed, k);
    pair_destroy(&p);
}

/* _i: 0 split, 1 packed */
START_TEST(burst_same_each) { burst_same(_i == 1); }
END_TEST

/* The device takes b's n published chains, each one writable buffer at
 * gpa[k], in order, and gives them back with len; one used burst returns
 * them with tok[k]. */
static void device_then_burst(struct pair *p, unsigned n, const uint64_t *gpa,
                              const uint64_t *tok, uint32_t len)
{
    struct chain c;
    ck_assert_uint_le(n, 16);
    for (unsigned i = 0; i < n; i++) {
        ck_assert(dev_pop(&p->db, &c));
        ck_assert(c.n == 1 && c.seg[0].write);
        ck_assert_ptr_eq(c.seg[0].p, mfe_gpa(&fe.mem, gpa[i], 1));
        dev_push(&p->db, &c, len);
    }
    ck_assert(!dev_pop(&p->db, &c));
    uint64_t t[16];
    uint32_t l[16];
    int err;
    ck_assert_uint_eq(mfe_ring_get_used_burst(&p->b, t, l, n, &err), n);
    ck_assert_int_eq(err, 0);
    for (unsigned i = 0; i < n; i++)
        ck_assert(t[i] == tok[i] && l[i] == len);
}

/* A burst larger than the room adds what fits, in order; then none fit,
 * and a broken ring takes none. */
static void burst_full(bool packed)
{
    struct pair p;
    pair_init(&p, 8, packed);
    struct mfe_buf b[6];
    uint64_t tok[6];
    for (unsigned i = 0; i < 6; i++) {
        b[i] = (struct mfe_buf){p.buf + 64 * i, 64};
        tok[i] = 100 + i;
    }
    ck_assert_uint_eq(mfe_ring_add_bufs(&p.b, b, tok, 5, true), 5);
    ck_assert_uint_eq(mfe_ring_add_bufs(&p.b, b, tok, 6, true), 3);
    ck_assert_uint_eq(mfe_ring_free(&p.b), 0);
    ck_assert_uint_eq(mfe_ring_add_bufs(&p.b, b, tok, 6, true), 0);
    ck_assert_uint_eq(p.b.added, 8);
    ck_assert_uint_eq(p.b.num_added, 8);
    mfe_ring_publish(&p.b);
    uint64_t gpa[8], want[8];                     /* the 5, then the first 3 again */
    for (unsigned i = 0; i < 8; i++) {
        gpa[i] = b[i % 5].gpa;
        want[i] = tok[i % 5];
    }
    device_then_burst(&p, 8, gpa, want, 64);
    p.b.broken = true;
    ck_assert_uint_eq(mfe_ring_add_bufs(&p.b, b, tok, 1, false), 0);
    uint64_t t[8];
    uint32_t l[8];
    int err;
    ck_assert_uint_eq(mfe_ring_get_used_burst(&p.b, t, l, 8, &err), 0);
    ck_assert_int_eq(err, -EPIPE);
    pair_destroy(&p);
}

START_TEST(burst_full_each) { burst_full(_i == 1); }
END_TEST

/* Packed: a burst of 6 starting at position 5 of an 8-ring crosses the
 * end; its first head stays unavailable until publish, and the device and
 * a used burst see the 6 in order across the wrap. */
START_TEST(packed_burst_wrap)
{
    struct pair p;
    pair_init(&p, 8, true);
    post_both(&p, 0, 5, false);
    drain_both(&p, 8, false);
    ck_assert_uint_eq(p.b.next_avail, 5);
    add_both(&p, 5, 6, true);
    ck_assert_uint_eq(p.b.next_avail, 3);
    ck_assert(!p.b.avail_wrap);
    ck_assert_int_eq(p.b.pending_head, 5);
    same_memory(&p);
    same_state(&p.a, &p.b);
    struct chain c;
    ck_assert(!dev_pop(&p.db, &c));                 /* held until publish */
    mfe_ring_publish(&p.a);
    mfe_ring_publish(&p.b);
    uint64_t gpa[6], want[6];
    for (unsigned i = 0; i < 6; i++) {
        gpa[i] = p.buf + 64 * (5 + i);
        want[i] = 505 + i;
    }
    device_then_burst(&p, 6, gpa, want, 7);
    ck_assert_uint_eq(p.b.last_used, 3);
    ck_assert(!p.b.used_wrap);
    ck_assert_uint_eq(mfe_ring_free(&p.b), 8);
    pair_destroy(&p);
}
END_TEST

/* max bounds a burst; the rest waits for the next one. */
START_TEST(split_burst_max)
{
    struct pair p;
    pair_init(&p, 8, false);
    post_both(&p, 0, 5, true);
    uint64_t t[5];
    uint32_t l[5];
    int err;
    ck_assert_uint_eq(mfe_ring_get_used_burst(&p.b, t, l, 2, &err), 2);
    ck_assert_uint_eq(mfe_ring_get_used_burst(&p.b, t + 2, l + 2, 8, &err), 3);
    ck_assert_uint_eq(mfe_ring_get_used_burst(&p.b, t, l, 8, &err), 0);
    ck_assert_int_eq(err, 0);
    ck_assert_uint_eq(p.b.completed, 5);
    for (unsigned i = 0; i < 5; i++)              /* given back in reverse */
        ck_assert(t[i] == 504 - i && l[i] == 5 - i);
    pair_destroy(&p);
}
END_TEST

/* Bad used entries: the same errors, counters, messages and good entries
 * from a burst as from one-by-one calls.  Each case writes its device
 * entries on one ring of a pair (called for a, then for b).  i: bursts of
 * at most 1 + i / 2 entries, observed when i is odd. */
typedef void (*bad_case)(struct pair *p, struct dev *d, struct mfe_ring *r);

static void bad_same(bool packed, bad_case make, int i)
{
    unsigned max = 1 + (unsigned)i / 2;
    bool observe = i % 2;
    struct pair p;
    pair_init(&p, 8, packed);
    add_both(&p, 0, 3, true);
    mfe_ring_publish(&p.a);
    mfe_ring_publish(&p.b);
    make(&p, &p.da, &p.a);
    make(&p, &p.db, &p.b);
    drain_both(&p, max, observe);
    same_state(&p.a, &p.b);
    ck_assert_uint_gt(p.b.errors, 0);
    pair_destroy(&p);
}

/* split: ids out of range and never posted between good entries, one of
 * them longer than posted */
static void split_bad_ids(struct pair *p, struct dev *d, struct mfe_ring *r)
{
    (void)p, (void)r;
    struct chain c[3], bad = {.id = 200};
    for (unsigned i = 0; i < 3; i++)
        ck_assert(dev_pop(d, &c[i]));
    dev_push(d, &c[0], 5);
    dev_push(d, &bad, 1);
    bad.id = 6;
    dev_push(d, &bad, 1);
    dev_push(d, &c[1], 4096);
    dev_push(d, &c[2], 9);
}

/* split: one good entry, then used idx far beyond what the ring holds */
static void split_idx_ahead(struct pair *p, struct dev *d, struct mfe_ring *r)
{
    (void)p;
    struct chain c;
    ck_assert(dev_pop(d, &c));
    dev_push(d, &c, 5);
    __atomic_store_n(r->used_idx, (uint16_t)(*r->used_idx + 20), __ATOMIC_RELEASE);
}

/* packed: a long len, then an id never posted (the ring breaks there) */
static void packed_bad_id(struct pair *p, struct dev *d, struct mfe_ring *r)
{
    (void)p, (void)r;
    struct chain c[3];
    for (unsigned i = 0; i < 3; i++)
        ck_assert(dev_pop(d, &c[i]));
    dev_push(d, &c[0], 5000);
    dev_push(d, &c[1], 6);
    c[2].id = 7;
    dev_push(d, &c[2], 1);
}

START_TEST(split_burst_bad_ids) { bad_same(false, split_bad_ids, _i); }
END_TEST
START_TEST(split_burst_idx_ahead) { bad_same(false, split_idx_ahead, _i); }
END_TEST
START_TEST(packed_burst_bad_id) { bad_same(true, packed_bad_id, _i); }
END_TEST

static Suite *burst_suite(void)
{
    Suite *s = suite_create("ring_burst");
    TCase *bt = tcase_create("burst");
    tcase_add_loop_test(bt, burst_same_each, 0, 2);     /* split, packed */
    tcase_add_loop_test(bt, burst_full_each, 0, 2);
    tcase_add_test(bt, packed_burst_wrap);
    tcase_add_test(bt, split_burst_max);
    /* bursts of at most 1..4 entries, each observed and not */
    tcase_add_loop_test(bt, split_burst_bad_ids, 0, 8);
    tcase_add_loop_test(bt, split_burst_idx_ahead, 0, 8);
    tcase_add_loop_test(bt, packed_burst_bad_id, 0, 8);
    suite_add_tcase(s, bt);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(burst_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

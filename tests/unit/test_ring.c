/* Unit tests of the driver side of virtqueues (mfe_ring.h) and of the
 * virtio-net model (mfe_net.h), against a tiny device written here: it pops
 * available chains, copies TX to RX (loopback), writes used entries and
 * honours event suppression.  It exists only to exercise the driver. */
#include "mfe_net.h"
#include "mfe_ring.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VF(bit) (1ull << (bit))
#define F_V1    VF(VHU_F_VERSION_1)

/* ---- the test device ---- */

struct seg {
    uint8_t *p;
    uint32_t len;
    bool write;
};

struct chain {
    uint16_t id, ndesc;     /* ndesc: ring descriptors (packed position advance) */
    unsigned n;
    bool indirect;
    struct seg seg[MFE_RING_MAX_INDIRECT];
};

struct dev {
    struct mfe_mem *mem;
    struct mfe_ring_layout l;
    unsigned num;
    bool packed, event_idx;
    int call_fd;
    uint16_t last_avail, used_pos;      /* split: free running; packed: positions */
    bool avail_wrap, used_wrap;
    unsigned calls;
};

static void *at(const struct dev *d, uint64_t gpa, uint64_t len)
{
    void *p = mfe_gpa(d->mem, gpa, len);
    ck_assert_ptr_nonnull(p);
    return p;
}

static void dev_init(struct dev *d, struct mfe *f, unsigned idx, bool packed, bool event_idx)
{
    memset(d, 0, sizeof *d);
    d->mem = &f->mem;
    mfe_ring_layout_of(&f->vq[idx], &d->l);
    d->num = f->vq[idx].num;
    d->packed = packed;
    d->event_idx = event_idx;
    d->call_fd = f->vq[idx].call;
    d->avail_wrap = d->used_wrap = true;
}

static void add_seg(const struct dev *d, struct chain *c, uint64_t addr, uint32_t len, bool w)
{
    ck_assert_uint_lt(c->n, MFE_RING_MAX_INDIRECT);
    c->seg[c->n++] = (struct seg){at(d, addr, len), len, w};
}

static bool split_pop(struct dev *d, struct chain *c)
{
    uint16_t *avail = at(d, d->l.driver, 4 + 2 * d->num);
    if (__atomic_load_n(&avail[1], __ATOMIC_ACQUIRE) == d->last_avail)
        return false;
    struct mfe_desc *desc = at(d, d->l.desc, 16 * d->num);
    uint16_t i = avail[2 + (d->last_avail++ & (d->num - 1))];
    c->id = i;
    c->ndesc = 1;
    if (desc[i].flags & MFE_DESC_F_INDIRECT) {
        c->indirect = true;
        struct mfe_desc *t = at(d, desc[i].addr, desc[i].len);
        for (unsigned k = 0;; k = t[k].next) {
            add_seg(d, c, t[k].addr, t[k].len, t[k].flags & MFE_DESC_F_WRITE);
            if (!(t[k].flags & MFE_DESC_F_NEXT))
                break;
        }
        return true;
    }
    for (;; i = desc[i].next) {
        ck_assert_uint_lt(i, d->num);
        add_seg(d, c, desc[i].addr, desc[i].len, desc[i].flags & MFE_DESC_F_WRITE);
        if (!(desc[i].flags & MFE_DESC_F_NEXT))
            break;
    }
    return true;
}

static bool packed_avail(const struct dev *d, const struct mfe_pdesc *p)
{
    uint16_t fl = __atomic_load_n(&p->flags, __ATOMIC_ACQUIRE);
    return !!(fl & MFE_DESC_F_AVAIL) == d->avail_wrap && !!(fl & MFE_DESC_F_USED) != d->avail_wrap;
}

static void packed_step(struct dev *d)
{
    if (++d->last_avail == d->num) {
        d->last_avail = 0;
        d->avail_wrap = !d->avail_wrap;
    }
}

static bool packed_pop(struct dev *d, struct chain *c)
{
    struct mfe_pdesc *desc = at(d, d->l.desc, 16 * d->num);
    if (!packed_avail(d, &desc[d->last_avail]))
        return false;
    for (;;) {
        struct mfe_pdesc *p = &desc[d->last_avail];
        ck_assert(packed_avail(d, p));
        c->ndesc++;
        c->id = p->id;                  /* the buffer id is in the last one */
        packed_step(d);
        if (p->flags & MFE_DESC_F_INDIRECT) {
            c->indirect = true;
            struct mfe_pdesc *t = at(d, p->addr, p->len);
            for (unsigned k = 0; k < p->len / 16; k++)
                add_seg(d, c, t[k].addr, t[k].len, t[k].flags & MFE_DESC_F_WRITE);
            return true;
        }
        add_seg(d, c, p->addr, p->len, p->flags & MFE_DESC_F_WRITE);
        if (!(p->flags & MFE_DESC_F_NEXT))
            return true;
    }
}

static bool dev_pop(struct dev *d, struct chain *c)
{
    memset(c, 0, sizeof *c);
    return d->packed ? packed_pop(d, c) : split_pop(d, c);
}

static void call(struct dev *d)
{
    uint64_t one = 1;
    ck_assert_int_eq(write(d->call_fd, &one, sizeof one), 8);
    d->calls++;
}

static void split_push(struct dev *d, const struct chain *c, uint32_t len)
{
    uint16_t *avail = at(d, d->l.driver, 6 + 2 * d->num);
    uint8_t *used = at(d, d->l.device, 6 + 8 * d->num);
    struct mfe_used_elem *ring = (struct mfe_used_elem *)(used + 4);
    uint16_t old = d->used_pos;
    ring[old & (d->num - 1)] = (struct mfe_used_elem){c->id, len};
    __atomic_store_n((uint16_t *)(used + 2), (uint16_t)(old + 1), __ATOMIC_RELEASE);
    d->used_pos++;
    bool want = d->event_idx ? mfe_need_event(avail[2 + d->num], d->used_pos, old)
                             : !(avail[0] & MFE_AVAIL_F_NO_INTERRUPT);
    if (want)
        call(d);
}

static void packed_push(struct dev *d, const struct chain *c, uint32_t len)
{
    struct mfe_pdesc *p = &((struct mfe_pdesc *)at(d, d->l.desc, 16 * d->num))[d->used_pos];
    struct mfe_event *ev = at(d, d->l.driver, 4);
    uint16_t here = (uint16_t)(d->used_pos | (d->used_wrap ? 0x8000 : 0));
    p->id = c->id;
    p->len = len;
    __atomic_store_n(&p->flags, d->used_wrap ? MFE_DESC_F_AVAIL | MFE_DESC_F_USED : 0,
                     __ATOMIC_RELEASE);
    d->used_pos = (uint16_t)(d->used_pos + c->ndesc);
    if (d->used_pos >= d->num) {
        d->used_pos = (uint16_t)(d->used_pos - d->num);
        d->used_wrap = !d->used_wrap;
    }
    if (ev->flags == MFE_EVENT_ENABLE || (ev->flags == MFE_EVENT_DESC && ev->off_wrap == here))
        call(d);
}

static void dev_push(struct dev *d, const struct chain *c, uint32_t len)
{
    if (d->packed)
        packed_push(d, c, len);
    else
        split_push(d, c, len);
}

/* Ask for a kick when the driver makes entry last_avail + ahead available
 * (split: avail_event; packed: device event suppression). */
static void dev_want_kick(struct dev *d, uint16_t ahead)
{
    if (d->packed) {
        struct mfe_event *ev = at(d, d->l.device, 4);
        unsigned pos = d->last_avail + ahead;
        bool wrap = d->avail_wrap ^ ((pos / d->num) & 1);
        ev->off_wrap = (uint16_t)((pos % d->num) | (wrap ? 0x8000 : 0));
        ev->flags = MFE_EVENT_DESC;
    } else {
        uint8_t *used = at(d, d->l.device, 6 + 8 * d->num);
        *(uint16_t *)(used + 4 + 8 * d->num) = (uint16_t)(d->last_avail + ahead);
    }
}

/* Loopback one TX packet into as many RX buffers as it needs (num_buffers
 * in the first header); false when no TX packet is waiting. */
static bool dev_loop_one(struct dev *tx, struct dev *rx)
{
    struct chain t, r[64];
    if (!dev_pop(tx, &t))
        return false;
    static uint8_t pkt[MFE_NET_MAX_PACKET];
    uint32_t plen = 0;
    for (unsigned i = 0; i < t.n; i++) {
        ck_assert(!t.seg[i].write);
        memcpy(pkt + plen, t.seg[i].p, t.seg[i].len);
        plen += t.seg[i].len;
    }
    ck_assert_uint_ge(plen, MFE_NET_HDR_LEN);
    dev_push(tx, &t, 0);
    uint32_t off = MFE_NET_HDR_LEN, lens[64];
    unsigned nb = 0;
    memset(pkt, 0, MFE_NET_HDR_LEN);
    do {
        ck_assert_uint_lt(nb, 64);
        ck_assert(dev_pop(rx, &r[nb]));
        ck_assert(r[nb].n == 1 && r[nb].seg[0].write);
        uint32_t room = r[nb].seg[0].len, skip = nb ? 0 : MFE_NET_HDR_LEN;
        uint32_t take = plen - off < room - skip ? plen - off : room - skip;
        memcpy(r[nb].seg[0].p + skip, pkt + off, take);
        off += take;
        lens[nb++] = take + skip;
    } while (off < plen);
    ((struct mfe_net_hdr *)r[0].seg[0].p)->num_buffers = (uint16_t)nb;
    for (unsigned i = 0; i < nb; i++)
        dev_push(rx, &r[i], lens[i]);
    return true;
}

static unsigned dev_loop(struct dev *tx, struct dev *rx)
{
    unsigned n = 0;
    while (dev_loop_one(tx, rx))
        n++;
    return n;
}

/* ---- fixtures ---- */

static struct mfe fe;

/* vqs 0 and 1 of num entries, split or packed */
static void setup_vqs(unsigned num, bool packed)
{
    mfe_init(&fe, 1000);
    ck_assert_int_eq(mfe_mem_create(&fe.mem, 64u << 20, MFE_LAYOUT_QEMU, 0), 0);
    for (unsigned i = 0; i < 2; i++)
        ck_assert_int_eq(packed ? mfe_ring_vq_packed(&fe, i, num) : mfe_vq_setup(&fe, i, num), 0);
}

static uint64_t kicks_pending(int fd)
{
    uint64_t v = 0;
    return read(fd, &v, sizeof v) == sizeof v ? v : 0;
}

/* ---- ring tests ---- */

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

/* ---- bursts ---- */

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

/* ---- net tests ---- */

struct rx_log {
    uint8_t *expect[64];
    uint32_t len[64];
    unsigned n, next, bad;
};

static void on_rx(void *arg, const uint8_t *frame, uint32_t len)
{
    struct rx_log *log = arg;
    unsigned i = log->next++ % 64;
    if (len != log->len[i] || memcmp(frame, log->expect[i], len) != 0)
        log->bad++;
}

struct variant {
    bool packed, indirect, split_hdr, event_idx;
};

static const struct variant variants[] = {
    {false, false, false, false}, {false, true, false, true}, {false, false, true, true},
    {true, false, false, false},  {true, true, false, true},  {true, false, true, true},
};

static uint64_t features_of(const struct variant *v, bool mrg)
{
    return F_V1 | (v->packed ? VF(MFE_F_RING_PACKED) : 0) |
           (v->indirect ? VF(MFE_F_INDIRECT_DESC) : 0) | (v->event_idx ? VF(MFE_F_EVENT_IDX) : 0) |
           (mrg ? VF(MFE_NET_F_MRG_RXBUF) : 0);
}

/* 3 x num random frames of 60..1518 bytes, in batches, loop back bit exact. */
START_TEST(net_loopback)
{
    const struct variant *v = &variants[_i];
    const unsigned num = 32;
    setup_vqs(num, v->packed);
    struct mfe_net n;
    struct mfe_net_opts o = {.features = features_of(v, false), .tx_split_hdr = v->split_hdr,
                             .indirect = v->indirect};
    ck_assert_int_eq(mfe_net_init(&n, &fe, 0, &o), 0);
    struct dev rx, tx;
    dev_init(&rx, &fe, 0, v->packed, v->event_idx);
    dev_init(&tx, &fe, 1, v->packed, v->event_idx);
    ck_assert_int_eq(mfe_net_rx_refill(&n), (int)num);
    struct rx_log log = {0};
    static uint8_t store[64][1518];
    srandom(42 + _i);
    unsigned total = 3 * num, sent = 0, last = 0;
    while (sent < total) {
        struct mfe_frame fr[8];
        unsigned b = 1 + (unsigned)random() % 8;
        b = b > total - sent ? total - sent : b;
        for (unsigned k = 0; k < b; k++) {
            unsigned s = (sent + k) % 64;
            log.len[s] = 60 + (uint32_t)random() % (1518 - 60 + 1);
            for (uint32_t j = 0; j < log.len[s]; j++)
                store[s][j] = (uint8_t)random();
            log.expect[s] = store[s];
            fr[k] = (struct mfe_frame){store[s], log.len[s]};
        }
        ck_assert_int_eq(mfe_net_tx(&n, fr, b), (int)b);
        ck_assert_uint_eq(dev_loop(&tx, &rx), b);
        ck_assert_int_eq(mfe_net_rx_poll(&n, on_rx, &log, ~0u), (int)b);
        ck_assert_int_ge(mfe_net_rx_refill(&n), 0);
        sent += b;
        last = b;
    }
    ck_assert_uint_eq(log.next, total);
    ck_assert_uint_eq(log.bad, 0);
    /* each mfe_net_tx reclaimed the batches before it: the last is left */
    ck_assert_int_eq(mfe_net_reclaim_tx(&n), (int)last);
    ck_assert_int_eq(mfe_net_reclaim_tx(&n), 0);
    ck_assert_uint_eq(n.rx.errors + n.tx.errors + n.rx_errors, 0);
    ck_assert_uint_eq(n.tx_frames, total);
    ck_assert_uint_ge(n.tx.added, total);
    mfe_net_destroy(&n);
    mfe_close(&fe);
}
END_TEST

/* Rings of num entries for variant v with MRG_RXBUF (2 KiB buffers, frames
 * up to 9000 bytes), and a test device on each. */
static void mrg_net(struct mfe_net *n, struct dev *rx, struct dev *tx, const struct variant *v,
                    unsigned num)
{
    setup_vqs(num, v->packed);
    struct mfe_net_opts o = {.features = features_of(v, true), .max_frame = 9000,
                             .mrg_buf = 2048, .indirect = v->indirect};
    ck_assert_int_eq(mfe_net_init(n, &fe, 0, &o), 0);
    dev_init(rx, &fe, 0, v->packed, v->event_idx);
    dev_init(tx, &fe, 1, v->packed, v->event_idx);
}

/* A 9000-byte frame over 2 KiB mergeable buffers arrives whole, as do
 * small frames around it. */
START_TEST(net_mrg_rxbuf)
{
    struct mfe_net n;
    struct dev rx, tx;
    mrg_net(&n, &rx, &tx, &variants[_i], 64);
    ck_assert_int_eq(mfe_net_rx_refill(&n), 64);
    static uint8_t big[9000], small[60];
    srandom(7);
    for (unsigned i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)random();
    memset(small, 0xab, sizeof small);
    struct rx_log log = {.expect = {small, big, small}, .len = {60, 9000, 60}};
    struct mfe_frame fr[3] = {{small, 60}, {big, 9000}, {small, 60}};
    for (unsigned round = 0; round < 4; round++) {   /* several laps of RX buffers */
        log.next = 0;
        ck_assert_int_eq(mfe_net_tx(&n, fr, 3), 3);
        ck_assert_uint_eq(dev_loop(&tx, &rx), 3);
        ck_assert_int_eq(mfe_net_rx_poll(&n, on_rx, &log, ~0u), 3);
        ck_assert_uint_eq(log.next, 3);
        ck_assert_uint_eq(log.bad, 0);
        ck_assert_int_eq(mfe_net_rx_refill(&n), 7);  /* 1 + 5 + 1 buffers used */
    }
    ck_assert_uint_eq(n.rx_errors + n.rx.errors, 0);
    mfe_net_destroy(&n);
    mfe_close(&fe);
}
END_TEST

/* More entries than one ring burst holds, and max below what is waiting:
 * rx_poll delivers exactly max frames and leaves the rest (a merged frame
 * too) in the ring; reclaim and refill take and post them all. */
START_TEST(net_bursts)
{
    struct mfe_net n;
    struct dev rx, tx;
    mrg_net(&n, &rx, &tx, &variants[_i], 128);
    ck_assert_int_eq(mfe_net_rx_refill_max(&n, 100), 100);
    ck_assert_int_eq(mfe_net_rx_refill(&n), 28);
    static uint8_t small[60], big[9000];
    memset(small, 0x5a, sizeof small);
    memset(big, 0xa5, sizeof big);
    struct mfe_frame fr[101];
    for (unsigned i = 0; i < 101; i++)
        fr[i] = (struct mfe_frame){small, sizeof small};
    fr[70] = (struct mfe_frame){big, sizeof big};     /* 5 RX buffers */
    ck_assert_int_eq(mfe_net_tx(&n, fr, 101), 101);
    ck_assert_uint_eq(dev_loop(&tx, &rx), 101);
    ck_assert_int_eq(mfe_net_rx_poll(&n, NULL, NULL, 70), 70);
    ck_assert_uint_eq(n.rx.completed, 70);
    ck_assert_int_eq(mfe_net_rx_poll(&n, NULL, NULL, 1), 1);
    ck_assert_uint_eq(n.rx.completed, 75);
    ck_assert_int_eq(mfe_net_rx_poll(&n, NULL, NULL, ~0u), 30);
    ck_assert_uint_eq(n.rx.completed, 105);
    ck_assert_uint_eq(n.rx_bytes, 100 * sizeof small + sizeof big);
    ck_assert_int_eq(mfe_net_rx_poll(&n, NULL, NULL, ~0u), 0);
    ck_assert_int_eq(mfe_net_reclaim_tx(&n), 101);
    ck_assert_uint_eq(n.txp.nfree, 128);
    ck_assert_int_eq(mfe_net_rx_refill(&n), 105);
    ck_assert_uint_eq(n.rx.errors + n.tx.errors + n.rx_errors, 0);
    mfe_net_destroy(&n);
    mfe_close(&fe);
}
END_TEST

/* Waiting on the call eventfd: times out when idle, wakes on a call. */
START_TEST(net_wait_rx)
{
    setup_vqs(16, false);
    struct mfe_net n;
    struct mfe_net_opts o = {.features = F_V1 | VF(MFE_F_EVENT_IDX)};
    ck_assert_int_eq(mfe_net_init(&n, &fe, 0, &o), 0);
    struct dev rx, tx;
    dev_init(&rx, &fe, 0, false, true);
    dev_init(&tx, &fe, 1, false, true);
    ck_assert_int_eq(mfe_net_rx_refill(&n), 16);
    ck_assert_int_eq(mfe_net_wait_rx(&n, 20), 0);
    uint8_t frame[64] = {1, 2, 3};
    struct mfe_frame fr = {frame, sizeof frame};
    ck_assert_int_eq(mfe_net_tx(&n, &fr, 1), 1);
    mfe_ring_enable_cb(&n.rx);       /* used_event = next entry: the device calls */
    ck_assert_uint_eq(dev_loop(&tx, &rx), 1);
    ck_assert_uint_eq(rx.calls, 1);
    ck_assert_int_eq(mfe_net_wait_rx(&n, 1000), 1);
    ck_assert_int_eq(mfe_net_rx_poll(&n, NULL, NULL, ~0u), 1);
    mfe_net_destroy(&n);
    mfe_close(&fe);
}
END_TEST

/* Generator: one kick per batch, none when the device suppresses them, and
 * a stall (no device) ends in -ETIMEDOUT instead of hanging. */
START_TEST(net_generator)
{
    static const struct { uint64_t features; bool no_notify; uint64_t kicks; } rows[] = {
        {F_V1, false, 4},                     /* 32 frames in batches of 8 */
        {F_V1, true, 0},                      /* VRING_USED_F_NO_NOTIFY */
        {F_V1 | VF(MFE_F_EVENT_IDX), false, 1}, /* avail_event 0: first batch only */
    };
    for (unsigned i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        setup_vqs(32, false);
        struct mfe_net n;
        struct mfe_net_opts o = {.features = rows[i].features};
        ck_assert_int_eq(mfe_net_init(&n, &fe, 0, &o), 0);
        *n.tx.used_flags = rows[i].no_notify ? MFE_USED_F_NO_NOTIFY : 0;
        struct mfe_gen_opts g = {.frame_len = 60, .count = 32, .batch = 8, .stall_ms = 50};
        struct mfe_gen_stats st;
        ck_assert_int_eq(mfe_net_gen_run(&n, &g, &st), 0);
        ck_assert_uint_eq(st.tx, 32);
        ck_assert_uint_eq(st.kicks, rows[i].kicks);
        ck_assert_uint_eq(st.kicks + st.kicks_suppressed, 4);
        ck_assert_uint_eq(kicks_pending(fe.vq[1].kick), rows[i].kicks);
        struct dev tx;
        dev_init(&tx, &fe, 1, false, false);
        struct chain c;
        unsigned seen = 0;
        while (dev_pop(&tx, &c)) {
            ck_assert_uint_eq(c.seg[0].len, MFE_NET_HDR_LEN + 60);
            seen++;
        }
        ck_assert_uint_eq(seen, 32);
        g.count = 64;                          /* the ring is full: nobody consumes */
        ck_assert_int_eq(mfe_net_gen_run(&n, &g, &st), -ETIMEDOUT);
        ck_assert_uint_eq(st.tx, 0);
        mfe_net_destroy(&n);
        mfe_close(&fe);
    }
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
    TCase *nt = tcase_create("net");
    int nv = (int)(sizeof variants / sizeof variants[0]);
    tcase_add_loop_test(nt, net_loopback, 0, nv);
    tcase_add_loop_test(nt, net_mrg_rxbuf, 0, nv);
    tcase_add_loop_test(nt, net_bursts, 0, nv);
    tcase_add_test(nt, net_wait_rx);
    tcase_add_test(nt, net_generator);
    tcase_set_timeout(nt, 20);
    suite_add_tcase(s, nt);
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

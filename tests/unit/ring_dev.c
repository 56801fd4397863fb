/* The test device of ring_dev.h. */
#include "ring_dev.h"

#include "mfe_net.h"

#include <check.h>
#include <string.h>
#include <unistd.h>

static void *at(const struct dev *d, uint64_t gpa, uint64_t len)
{
    void *p = mfe_gpa(d->mem, gpa, len);
    ck_assert_ptr_nonnull(p);
    return p;
}

void dev_init(struct dev *d, struct mfe *f, unsigned idx, bool packed, bool event_idx)
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

bool dev_pop(struct dev *d, struct chain *c)
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

void dev_push(struct dev *d, const struct chain *c, uint32_t len)
{
    if (d->packed)
        packed_push(d, c, len);
    else
        split_push(d, c, len);
}

/* Ask for a kick when the driver makes entry last_avail + ahead available
 * (split: avail_event; packed: device event suppression). */
void dev_want_kick(struct dev *d, uint16_t ahead)
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

unsigned dev_loop(struct dev *tx, struct dev *rx)
{
    unsigned n = 0;
    while (dev_loop_one(tx, rx))
        n++;
    return n;
}

struct mfe fe;

/* vqs 0 and 1 of num entries, split or packed */
void setup_vqs(unsigned num, bool packed)
{
    mfe_init(&fe, 1000);
    ck_assert_int_eq(mfe_mem_create(&fe.mem, 64u << 20, MFE_LAYOUT_QEMU, 0), 0);
    for (unsigned i = 0; i < 2; i++)
        ck_assert_int_eq(packed ? mfe_ring_vq_packed(&fe, i, num) : mfe_vq_setup(&fe, i, num), 0);
}

uint64_t kicks_pending(int fd)
{
    uint64_t v = 0;
    return read(fd, &v, sizeof v) == sizeof v ? v : 0;
}

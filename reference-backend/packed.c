/* Device side of the packed virtqueue (virtio 1.1 section 2.7).
 *
 * Positions and wrap counters are folded into one number modulo 2*num
 * (position + (wrap ? 0 : num)): since 2*num divides 65536, 16-bit
 * arithmetic masked with 2*num-1 compares positions across laps, which is
 * what the event-suppression check needs. */
#include "dp.h"
#include "dirty_log.h"

struct pdesc {
    uint64_t addr;
    uint32_t len;
    uint16_t id, flags;
};

struct pevent {
    uint16_t off_wrap, flags;
};

static struct pdesc *ring(struct ref_vring *v) { return v->desc; }
static volatile struct pevent *driver_ev(struct ref_vring *v) { return v->avail; }
static volatile struct pevent *device_ev(struct ref_vring *v) { return v->used; }

static uint16_t flags_acquire(struct pdesc *d)
{
    return atomic_load_explicit((_Atomic uint16_t *)&d->flags, memory_order_acquire);
}

/* The AVAIL and USED bits of a descriptor available in the lap whose wrap
 * counter is wrap: AVAIL equal to it, USED its inverse. */
static uint16_t avail_bits(bool wrap)
{
    return wrap ? REF_DESC_F_AVAIL : REF_DESC_F_USED;
}

static bool is_avail(uint16_t flags, bool wrap)
{
    return (flags & (REF_DESC_F_AVAIL | REF_DESC_F_USED)) == avail_bits(wrap);
}

static void advance(uint16_t *pos, bool *wrap, uint32_t n, uint32_t num)
{
    uint32_t p = *pos + n;
    if (p >= num) {
        p -= num;
        *wrap = !*wrap;
    }
    *pos = (uint16_t)p;
}

/* An indirect table: packed descriptors read in sequence, WRITE the only
 * flag used; an INDIRECT entry (nested table) makes the chain bad. */
static bool walk_table(struct ref_vring *v, const struct ref_mem *m, struct ref_iovs *io,
                       bool write, const struct pdesc *d, uint64_t *total)
{
    if (d->len == 0 || d->len % 16 || d->len / 16 > v->num)
        return false;           /* longer than the queue: virtio 1.1 2.7.17 */
    const struct pdesc *tab = ref_xlate_one(m, &v->dp.hint, d->addr, d->len);
    if (!tab)
        return false;
    for (uint32_t i = 0; i < d->len / 16; i++) {
        struct pdesc t;
        ref_desc_copy(&t, &tab[i]);
        if (t.flags & REF_DESC_F_INDIRECT)
            return false;
        if (!!(t.flags & REF_DESC_F_WRITE) != write)
            continue;
        if (ref_xlate(m, &v->dp.hint, t.addr, t.len, io) < 0)
            return false;
        *total += t.len;
    }
    return true;
}

/* One descriptor of a chain; false when it is bad. */
static bool take(struct ref_vring *v, const struct ref_mem *m, struct ref_iovs *io, bool write,
                 const struct pdesc *d, unsigned nth, uint64_t *total)
{
    if (d->flags & REF_DESC_F_INDIRECT)     /* alone: not chained, not nested */
        return nth == 0 && !(d->flags & REF_DESC_F_NEXT) &&
               walk_table(v, m, io, write, d, total);
    if (!!(d->flags & REF_DESC_F_WRITE) != write)
        return true;
    if (ref_xlate(m, &v->dp.hint, d->addr, d->len, io) < 0)
        return false;
    *total += d->len;
    return true;
}

/* A bad chain: counted, nothing of it read or written. */
static int bad_elem(struct ref_vq *q, struct ref_iovs *io, struct ref_elem *e)
{
    io->n = e->iov;
    e->bad = true;
    e->len = 0;
    e->niov = 0;
    ref_count(&q->st.bad, 1);
    return 1;
}

static int packed_pop(struct ref_vring *v, const struct ref_mem *m, struct ref_iovs *io,
                      bool write, struct ref_elem *e)
{
    struct ref_vq *q = &v->dp;
    if (q->broken)
        return -1;
    uint16_t flags = flags_acquire(&ring(v)[q->last_avail]);
    if (!is_avail(flags, q->avail_wrap))
        return 0;
    struct pdesc d;
    ref_desc_copy(&d, &ring(v)[q->last_avail]);
    if (!(d.flags & (REF_DESC_F_NEXT | REF_DESC_F_INDIRECT)) &&
        !!(d.flags & REF_DESC_F_WRITE) == write) {
        /* the usual chain, one buffer: no walk */
        *e = (struct ref_elem){ .id = d.id, .ndesc = 1, .iov = io->n };
        advance(&q->last_avail, &q->avail_wrap, 1, v->num);
        if (d.id >= v->num || ref_xlate(m, &q->hint, d.addr, d.len, io) < 0)
            return bad_elem(q, io, e);
        e->len = d.len;
        e->niov = io->n - e->iov;
        return 1;
    }
    *e = (struct ref_elem){ .iov = io->n };
    uint16_t pos = q->last_avail;
    bool wrap = q->avail_wrap, good = true;
    uint64_t total = 0;
    for (unsigned n = 0;; n++) {
        if (n == v->num) {
            ref_vq_break(v, "packed chain longer than the ring");
            return -1;
        }
        ref_desc_copy(&d, &ring(v)[pos]);
        good = good && take(v, m, io, write, &d, n, &total);
        advance(&pos, &wrap, 1, v->num);
        if (!(d.flags & REF_DESC_F_NEXT)) {
            e->id = d.id;
            e->ndesc = (uint16_t)(n + 1);
            break;
        }
    }
    q->last_avail = pos;
    q->avail_wrap = wrap;
    if (!good || total > UINT32_MAX || e->id >= v->num)
        return bad_elem(q, io, e);
    e->len = (uint32_t)total;
    e->niov = io->n - e->iov;
    return 1;
}

static void store_flags(struct pdesc *d, uint16_t f)
{
    atomic_store_explicit((_Atomic uint16_t *)&d->flags, f, memory_order_release);
}

/* The flags of a used descriptor in the lap whose used wrap counter is
 * wrap: AVAIL and USED both equal to it, WRITE when the device wrote. */
static uint16_t used_flags(bool wrap, uint32_t len)
{
    uint16_t f = wrap ? (REF_DESC_F_AVAIL | REF_DESC_F_USED) : 0;
    return len ? (uint16_t)(f | REF_DESC_F_WRITE) : f;
}

/* The used descriptor at pos, wrap its used wrap counter: id and len
 * first, then the flags with release (the driver reads the flags with
 * acquire before the rest).  The flags of a burst's first entry are held
 * back until flush: the driver walks used entries in order, so it sees the
 * whole burst at once, and the ring's cache lines move to it once per burst
 * instead of once per entry. */
static void put_used_at(struct ref_vring *v, uint16_t pos, bool wrap, uint16_t id, uint32_t len)
{
    struct ref_vq *q = &v->dp;
    struct pdesc *d = &ring(v)[pos];
    d->id = id;
    d->len = len;
    uint16_t f = used_flags(wrap, len);
    if (q->held) {
        store_flags(d, f);
    } else {
        q->held = true;
        q->held_pos = pos;
        q->held_flags = f;
    }
}

static void put_used(struct ref_vring *v, const struct ref_elem *e, uint32_t len)
{
    struct ref_vq *q = &v->dp;
    put_used_at(v, q->used_idx, q->used_wrap, e->id, len);
    advance(&q->used_idx, &q->used_wrap, e->ndesc, v->num);
}

void ref_packed_push(struct ref_vring *v, const struct ref_elem *e, uint32_t len)
{
    uint16_t pos = v->dp.used_idx;
    put_used(v, e, len);
    ref_dlog_pdesc(v, pos);
}

/* k pushes at once.  Chains of one slot each (all the burst pops make):
 * the first entry through put_used_at (held back unless an entry already
 * is), the rest stored directly with the position and wrap counter in
 * locals, logged once per burst; other chains one by one through
 * ref_packed_push. */
void ref_packed_push_burst(struct ref_vring *v, const struct ref_elem *e, const uint32_t *len,
                           unsigned k)
{
    struct ref_vq *q = &v->dp;
    bool one_each = true;
    for (unsigned i = 0; i < k; i++)
        one_each = one_each && e[i].ndesc == 1;
    if (!one_each) {
        for (unsigned i = 0; i < k; i++)
            ref_packed_push(v, &e[i], len ? len[i] : 0);
        return;
    }
    if (k == 0)
        return;
    struct pdesc *r = ring(v);
    uint32_t num = v->num;
    uint16_t pos = q->used_idx, start = pos;
    bool wrap = q->used_wrap;
    put_used_at(v, pos, wrap, e[0].id, len ? len[0] : 0);
    advance(&pos, &wrap, 1, num);
    for (unsigned i = 1; i < k; i++) {
        uint32_t l = len ? len[i] : 0;
        r[pos].id = e[i].id;
        r[pos].len = l;
        store_flags(&r[pos], used_flags(wrap, l));
        if (++pos == num) {
            pos = 0;
            wrap = !wrap;
        }
    }
    q->used_idx = pos;
    q->used_wrap = wrap;
    if (v->vlog)
        ref_dlog_descs_at(v->vlog, start, k, num);
}

static uint16_t fold(uint16_t pos, bool wrap, uint32_t num)
{
    return (uint16_t)(pos + (wrap ? 0 : num));
}

/* Does the driver event structure ask for a call now that the used
 * position moved from old to now (both folded)? */
static bool want_call(struct ref_vring *v, uint16_t old, uint16_t now)
{
    volatile struct pevent *ev = driver_ev(v);
    uint16_t flags = ev->flags;
    if (flags == REF_EVENT_DISABLE)
        return false;
    if (flags != REF_EVENT_DESC || !v->dp.event_idx)
        return true;                        /* ENABLE (or an unknown value) */
    uint16_t off_wrap = ev->off_wrap;
    uint16_t event = fold(off_wrap & 0x7fff, off_wrap >> 15, v->num);
    uint32_t mask = 2u * v->num - 1;
    return ((uint32_t)(uint16_t)(now - event - 1) & mask) < ((uint32_t)(uint16_t)(now - old) & mask);
}

void ref_packed_flush(struct ref_vring *v)
{
    struct ref_vq *q = &v->dp;
    if (q->held) {
        store_flags(&ring(v)[q->held_pos], q->held_flags);
        ref_dlog_pdesc(v, q->held_pos);
        q->held = false;
    }
    uint16_t now = fold(q->used_idx, q->used_wrap, v->num);
    if (now == q->signalled)
        return;
    atomic_thread_fence(memory_order_seq_cst);  /* used flags before the event read */
    bool call = want_call(v, q->signalled, now);
    q->signalled = now;
    if (call)
        ref_vq_call(v);
}

static bool packed_has_avail(struct ref_vring *v)
{
    return !v->dp.broken &&
           is_avail(flags_acquire(&ring(v)[v->dp.last_avail]), v->dp.avail_wrap);
}

static bool packed_notify_on(struct ref_vring *v)
{
    device_ev(v)->flags = REF_EVENT_ENABLE;
    atomic_thread_fence(memory_order_seq_cst);
    return packed_has_avail(v);
}

static void packed_notify_off(struct ref_vring *v)
{
    device_ev(v)->flags = REF_EVENT_DISABLE;
}

const struct ref_ring_ops ref_packed_ops = {
    packed_pop, ref_packed_push, ref_packed_flush, packed_has_avail, packed_notify_on,
    packed_notify_off,
};

/* Burst pop (dp.h): the ring read in order, four descriptors (one cache
 * line) ahead prefetched, the one-buffer chains taken inline, position,
 * the avail/used bits this lap wants (the wrap counter as a mask: one and
 * and one compare per descriptor) and iov count kept in locals and the
 * region in ref_xl. */
unsigned ref_packed_pop_burst(struct ref_vring *v, const struct ref_mem *m, struct ref_iovs *io,
                              bool write, struct ref_elem *e, unsigned max, bool *more)
{
    const uint16_t bits = REF_DESC_F_AVAIL | REF_DESC_F_USED;
    struct ref_vq *q = &v->dp;
    *more = false;
    if (q->broken)
        return 0;
    struct pdesc *r = ring(v);
    uint32_t num = v->num, pos = q->last_avail;     /* stepped inline: advance() costs more */
    uint16_t want = avail_bits(q->avail_wrap);      /* is_avail, as a mask */
    unsigned room = REF_IOV_POOL - io->n;
    max = max < room ? max : room;
    uint16_t wflag = write ? REF_DESC_F_WRITE : 0;
    struct ref_xl x = ref_xl_load(m, q->hint);
    unsigned at = io->n, i;
    for (i = 0; i < max; i++) {
        if ((pos & 3) == 0) {
            uint32_t ahead = pos + 4u;
            __builtin_prefetch(&r[ahead < num ? ahead : ahead - num]);
        }
        if ((flags_acquire(&r[pos]) & bits) != want)
            break;
        struct pdesc d;
        ref_desc_copy(&d, &r[pos]);
        if ((d.flags & (REF_DESC_F_NEXT | REF_DESC_F_INDIRECT | REF_DESC_F_WRITE)) != wflag ||
            d.id >= num) {
            *more = true;                   /* ref_packed_ops.pop takes it */
            break;
        }
        if (!ref_xl_take(&x, m, &q->hint, io, at, d.addr, d.len)) {
            *more = true;
            break;
        }
        ref_elem_one(&e[i], d.id, d.len, at, d.addr);
        at++;
        if (++pos == num) {
            pos = 0;
            want ^= bits;
        }
    }
    io->n = at;
    q->last_avail = (uint16_t)pos;
    q->avail_wrap = want == REF_DESC_F_AVAIL;
    return i;
}

/* Device side of the split virtqueue (virtio 1.1 section 2.6). */
#include "dp.h"
#include "dirty_log.h"

#include <string.h>

struct sdesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

struct sused {
    uint32_t id, len;
};

/* avail: flags, idx, ring[num], used_event; used: flags, idx, ring[num], avail_event */
static uint16_t *avail_idx(struct ref_vring *v) { return (uint16_t *)v->avail + 1; }
static uint16_t *avail_ring(struct ref_vring *v) { return (uint16_t *)v->avail + 2; }
static uint16_t *used_flags(struct ref_vring *v) { return (uint16_t *)v->used; }
static uint16_t *used_idx(struct ref_vring *v) { return (uint16_t *)v->used + 1; }
static struct sused *used_ring(struct ref_vring *v)
{
    return (struct sused *)((uint16_t *)v->used + 2);
}
static uint16_t *used_event(struct ref_vring *v) { return avail_ring(v) + v->num; }
static uint16_t *avail_event(struct ref_vring *v)
{
    return (uint16_t *)(used_ring(v) + v->num);
}

static uint16_t load_acquire(uint16_t *p)
{
    return atomic_load_explicit((_Atomic uint16_t *)p, memory_order_acquire);
}

/* Walk the chain at head: collect the iovs of the wanted direction.
 * false when a descriptor is bad (the pool is rolled back). */
static bool walk(struct ref_vring *v, const struct ref_mem *m, struct ref_iovs *io,
                 bool write, struct ref_elem *e)
{
    const struct sdesc *tab = v->desc;
    uint32_t tlen = v->num, seen = 0, i = e->id;
    bool indirect = false;
    uint64_t total = 0;
    for (;;) {
        if (++seen > tlen)
            return false;                   /* loop, or longer than its table */
        struct sdesc d;
        ref_desc_copy(&d, &tab[i]);
        if (d.flags & REF_DESC_F_INDIRECT) {
            if (indirect || (d.flags & REF_DESC_F_NEXT) || d.len == 0 || d.len % 16 ||
                d.len / 16 > v->num)
                return false;           /* longer than the queue: virtio 1.1 2.6.5.3.1 */
            tab = ref_xlate_one(m, &v->dp.hint, d.addr, d.len);
            if (!tab)
                return false;
            tlen = d.len / 16, seen = 0, i = 0, indirect = true;
            continue;
        }
        if (!!(d.flags & REF_DESC_F_WRITE) == write) {
            if (ref_xlate(m, &v->dp.hint, d.addr, d.len, io) < 0)
                return false;
            total += d.len;
        }
        if (!(d.flags & REF_DESC_F_NEXT))
            break;
        i = d.next;
        if (i >= tlen)
            return false;
    }
    if (total > UINT32_MAX)
        return false;
    e->len = (uint32_t)total;
    return true;
}

static int split_pop(struct ref_vring *v, const struct ref_mem *m, struct ref_iovs *io,
                     bool write, struct ref_elem *e)
{
    struct ref_vq *q = &v->dp;
    if (q->broken)
        return -1;
    if (q->last_avail == q->avail_cache) {
        q->avail_cache = load_acquire(avail_idx(v));
        if ((uint16_t)(q->avail_cache - q->last_avail) > v->num) {
            ref_vq_break(v, "avail idx is more than the ring size ahead");
            return -1;
        }
        if (q->last_avail == q->avail_cache)
            return 0;
    }
    uint16_t head = avail_ring(v)[q->last_avail & (v->num - 1)];
    if (head >= v->num) {
        ref_vq_break(v, "avail ring names a head id >= the ring size");
        return -1;
    }
    q->last_avail++;
    *e = (struct ref_elem){ .id = head, .ndesc = 1, .iov = io->n };
    struct sdesc d;
    ref_desc_copy(&d, &((const struct sdesc *)v->desc)[head]);
    if (!(d.flags & (REF_DESC_F_NEXT | REF_DESC_F_INDIRECT)) &&
        !!(d.flags & REF_DESC_F_WRITE) == write) {
        /* the usual chain, one buffer: no walk */
        if (ref_xlate(m, &q->hint, d.addr, d.len, io) == 0) {
            e->len = d.len;
            e->niov = io->n - e->iov;
            return 1;
        }
    } else if (walk(v, m, io, write, e)) {
        e->niov = io->n - e->iov;
        return 1;
    }
    io->n = e->iov;             /* bad: nothing of it is read or written */
    e->len = 0;
    e->niov = 0;
    e->bad = true;
    ref_count(&q->st.bad, 1);
    return 1;
}

void ref_split_push(struct ref_vring *v, const struct ref_elem *e, uint32_t len)
{
    struct sused *u = &used_ring(v)[v->dp.used_idx & (v->num - 1)];
    u->id = e->id;
    u->len = len;
    ref_dlog_used(v, 4 + 8 * (uint64_t)(v->dp.used_idx & (v->num - 1)), 8);
    v->dp.used_idx++;
}

/* Publish the burst's used entries with one release store, then signal if
 * the driver wants it (event idx: used_event crossed; else NO_INTERRUPT). */
void ref_split_flush(struct ref_vring *v)
{
    struct ref_vq *q = &v->dp;
    if (q->used_idx == q->signalled)
        return;
    atomic_store_explicit((_Atomic uint16_t *)used_idx(v), q->used_idx, memory_order_release);
    ref_dlog_used(v, 2, 2);
    atomic_thread_fence(memory_order_seq_cst);      /* store idx before reading the event */
    bool call;
    if (q->event_idx)
        call = ref_need_event(*(volatile uint16_t *)used_event(v), q->used_idx, q->signalled);
    else
        call = !(*(volatile uint16_t *)v->avail & REF_AVAIL_F_NO_INTERRUPT);
    q->signalled = q->used_idx;
    if (call)
        ref_vq_call(v);
}

static bool split_has_avail(struct ref_vring *v)
{
    return !v->dp.broken && load_acquire(avail_idx(v)) != v->dp.last_avail;
}

static bool split_notify_on(struct ref_vring *v)
{
    if (v->dp.event_idx)
        *(volatile uint16_t *)avail_event(v) = v->dp.last_avail;
    else
        *(volatile uint16_t *)used_flags(v) = 0;
    atomic_thread_fence(memory_order_seq_cst);
    return split_has_avail(v);
}

/* With event idx the driver kicks only when crossing avail_event, which we
 * leave behind while busy: at most one more kick. */
static void split_notify_off(struct ref_vring *v)
{
    if (!v->dp.event_idx)
        *(volatile uint16_t *)used_flags(v) = REF_USED_F_NO_NOTIFY;
}

const struct ref_ring_ops ref_split_ops = {
    split_pop, ref_split_push, ref_split_flush, split_has_avail, split_notify_on, split_notify_off,
};

/* Burst pop (dp.h): the avail index read once, every head of the burst
 * read once into a local array and its descriptor prefetched before the
 * first is used (as DPDK's vhost does), then the one-buffer chains taken
 * inline, translated through the region held in locals (ref_xl). */
unsigned ref_split_pop_burst(struct ref_vring *v, const struct ref_mem *m, struct ref_iovs *io,
                             bool write, struct ref_elem *e, unsigned max, bool *more)
{
    struct ref_vq *q = &v->dp;
    *more = false;
    if (q->broken)
        return 0;
    uint16_t avail = load_acquire(avail_idx(v));
    uint16_t last = q->last_avail;
    uint16_t n = (uint16_t)(avail - last);
    if (n > v->num) {
        *more = true;                       /* ref_split_ops.pop breaks the ring */
        return 0;
    }
    q->avail_cache = avail;
    unsigned room = REF_IOV_POOL - io->n;
    if (max > REF_BURST)
        max = REF_BURST;
    n = n < max ? n : (uint16_t)max;
    n = n < room ? n : (uint16_t)room;
    const volatile uint16_t *ring = avail_ring(v);
    const struct sdesc *tab = v->desc;
    uint32_t num = v->num, mask = num - 1;
    uint16_t heads[REF_BURST];
    uint32_t first = last & mask;
    if (first + n <= num)                   /* each head copied once: the driver may rewrite it */
        memcpy(heads, (const uint16_t *)ring + first, 2u * n);
    else
        for (unsigned i = 0; i < n; i++)
            heads[i] = ring[(uint16_t)(last + i) & mask];
    for (unsigned i = 0; i < n; i++)
        __builtin_prefetch(&tab[heads[i] & mask]);  /* a hint: masked, never outside */
    uint16_t wflag = write ? REF_DESC_F_WRITE : 0;
    struct ref_xl x = ref_xl_load(m, q->hint);
    unsigned at = io->n, i;
    for (i = 0; i < n; i++) {
        uint16_t head = heads[i];
        if (head >= num)
            break;
        struct sdesc d;
        ref_desc_copy(&d, &tab[head]);
        if ((d.flags & (REF_DESC_F_NEXT | REF_DESC_F_INDIRECT | REF_DESC_F_WRITE)) != wflag)
            break;
        if (!ref_xl_take(&x, m, &q->hint, io, at, d.addr, d.len))
            break;
        ref_elem_one(&e[i], head, d.len, at, d.addr);
        at++;
    }
    io->n = at;
    q->last_avail = (uint16_t)(last + i);
    *more = i < n;
    return i;
}

void ref_split_push_burst(struct ref_vring *v, const struct ref_elem *e, const uint32_t *len,
                          unsigned k)
{
    uint32_t mask = v->num - 1;
    uint16_t start = v->dp.used_idx;
    struct sused *ring = used_ring(v);
    for (unsigned i = 0; i < k; i++) {
        struct sused *u = &ring[(uint16_t)(start + i) & mask];
        u->id = e[i].id;
        u->len = len ? len[i] : 0;
    }
    v->dp.used_idx = (uint16_t)(start + k);
    uint32_t at = start & mask, first = v->num - at < k ? v->num - at : k;
    ref_dlog_used(v, 4 + 8 * (uint64_t)at, 8 * (uint64_t)first);   /* wraps: two ranges */
    if (k > first)
        ref_dlog_used(v, 4, 8 * (uint64_t)(k - first));
}

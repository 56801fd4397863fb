/* The loopback fast path: a burst of TX frames copied into a burst of RX
 * buffers, specialised per ring type (the pops, pushes and flushes are
 * direct calls, no function pointer per frame), counters updated once per
 * burst.
 *
 * It takes only the usual shape: the 12-byte header (VERSION_1 or
 * MRG_RXBUF), every chain one buffer, every TX frame fitting the RX buffer
 * it meets (with MRG_RXBUF: a frame in one buffer, num_buffers 1, as the
 * general path's merge would write it).  At the first element of any other
 * shape it stops, leaves that element and the rest in their rings (a pop
 * reads and counts nothing), and when nothing of the burst was done it
 * hands over to the general path (fwd.c), which handles every case, so
 * behaviour does not depend on which path ran. */
#include "worker.h"
#include "dirty_log.h"

#include <stdint.h>
#include <string.h>

#define HDR 12u

/* The cursor after the first k elements popped from c. */
static struct ref_cursor cursor_after(const struct ref_vring *v, struct ref_cursor c,
                                      const struct ref_elem *e, unsigned k)
{
    if (!v->packed)
        return (struct ref_cursor){ (uint16_t)(c.idx + k), false };
    uint32_t p = c.idx;
    for (unsigned i = 0; i < k; i++) {
        p += e[i].ndesc;
        if (p >= v->num) {
            p -= v->num;
            c.wrap = !c.wrap;
        }
    }
    c.idx = (uint16_t)p;
    return c;
}

/* A hint that the line at p is about to be written.  x86's PREFETCHW
 * fetches it for ownership at once; GCC's generic x86-64 code makes a write
 * prefetch a plain one, after which the store must still take the line from
 * the front end's core (older x86 processors run PREFETCHW as a no-op). */
static inline void prefetch_w(const uint8_t *p)
{
#if defined(__x86_64__)
    __asm__ volatile("prefetchw %0" : : "m"(*p));
#else
    __builtin_prefetch(p, 1);
#endif
}

/* The first two lines of every TX frame and RX buffer of the burst (a
 * 64-byte frame and its header take two), asked for at once: the front end
 * wrote or read them last on another core, so each is a miss that overlaps
 * the others instead of following them.  A prefetch is a hint: it never
 * faults, past the end of a buffer either. */
static void prefetch_burst(const struct ref_worker *w, const struct ref_elem *te,
                           const struct ref_elem *re, unsigned n)
{
    const struct ref_iov *tv = w->net.tx_io.v, *rv = w->net.rx_io.v;
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *t = tv[te[i].iov].p, *r = rv[re[i].iov].p;
        __builtin_prefetch(t);
        __builtin_prefetch(t + 64);
        prefetch_w(r);
        prefetch_w(r + 64);
    }
}

/* The lines of a longer frame past those two, for reading (TX) or writing
 * (RX): the buffer of element e, len bytes of it, asked for a frame ahead
 * of its copy, so the copy does not wait for them one after the other.
 * Nothing, not even e's buffer looked up, for a frame prefetch_burst
 * covered.  Two lines a step (the last may be the line after the frame: a
 * hint, harmless) halve the loop's instructions. */
#define PREFETCHED 128u             /* the two lines of prefetch_burst */
__attribute__((always_inline)) static inline void prefetch_rest(const struct ref_iov *v,
                                                                const struct ref_elem *e,
                                                                uint32_t len, bool write)
{
    if (len <= PREFETCHED)
        return;
    const uint8_t *p = v[e->iov].p;
    const uint8_t *end = p + (len < 4096 ? len : 4096);    /* further: evicted first */
    for (const uint8_t *q = p + PREFETCHED; q < end; q += 128) {
        if (write) {
            prefetch_w(q);
            prefetch_w(q + 64);
        } else {
            __builtin_prefetch(q);
            __builtin_prefetch(q + 64);
        }
    }
}

/* Pair TX frame k with RX buffer k while both have the usual shape. */
static unsigned copy_burst(struct ref_worker *w, const struct ref_elem *te,
                           const struct ref_elem *re, unsigned n, uint64_t *bytes)
{
    static const uint8_t hdr[HDR] = { [10] = 1 };   /* num_buffers 1, no offloads */
    const struct ref_iov *tv = w->net.tx_io.v, *rv = w->net.rx_io.v;
    unsigned k;
    for (k = 0; k < n; k++) {
        const struct ref_elem *t = &te[k], *r = &re[k];
        if (t->len < HDR || t->len - HDR > REF_MAX_FRAME || r->len < t->len)
            break;
        if (k + 1 < n) {                /* the next frame's lines while this one copies */
            prefetch_rest(tv, &t[1], t[1].len, false);
            prefetch_rest(rv, &r[1], t[1].len, true);
        }
        uint8_t *dst = rv[r->iov].p;
        memcpy(dst, hdr, HDR);
        ref_copy(dst + HDR, tv[t->iov].p + HDR, t->len - HDR);
        *bytes += t->len - HDR;
    }
    return k;
}


/* --equal-work: what testpmd's io forwarding over DPDK's vhost does to a
 * frame: copied out of the TX buffer into a host buffer with its header
 * (all the burst's frames first, as a dequeue burst), then from there into
 * the RX buffer, the header carried (the offloads it asks for kept) with
 * num_buffers 1. */
static unsigned copy_burst_twice(struct ref_worker *w, const struct ref_elem *te,
                                 const struct ref_elem *re, unsigned n, uint64_t *bytes)
{
    const struct ref_iov *tv = w->net.tx_io.v, *rv = w->net.rx_io.v;
    unsigned k;
    for (k = 0; k < n; k++) {
        const struct ref_elem *t = &te[k];
        if (t->len < HDR || t->len > REF_BOUNCE || re[k].len < t->len)
            break;
        if (k + 1 < n)                  /* the next frame's lines while this one copies */
            prefetch_rest(tv, &t[1], t[1].len, false);
        uint32_t len = t->len;
        /* Hide the bound just checked: knowing it, GCC copies into the
         * array with rep movsq, slow to start for a short frame (perf at
         * 64 B: this copy had half the back end's samples, most on the
         * rep movsq; --equal-work cost ~90 cycles a frame more than one
         * copy, 15-35 after); unbounded, it calls memcpy. */
        __asm__("" : "+r"(len));
        memcpy(w->bounce[k], tv[t->iov].p, len);
    }
    for (unsigned i = 0; i < k; i++) {
        uint8_t *dst = rv[re[i].iov].p;
        if (i + 1 < k)
            prefetch_rest(rv, &re[i + 1], te[i + 1].len, true);
        w->bounce[i][10] = 1;
        w->bounce[i][11] = 0;
        memcpy(dst, w->bounce[i], te[i].len);
        *bytes += te[i].len - HDR;
    }
    return k;
}

__attribute__((always_inline)) static inline int burst(struct ref_worker *w, bool packed)
{
    struct ref_vring *rx = w->rx, *tx = w->tx;
    const struct ref_mem *m = &w->s->mem;
    struct ref_elem te[REF_BURST], re[REF_BURST];
    struct ref_cursor t0 = ref_vq_save(tx), r0 = ref_vq_save(rx);
    bool more;
    w->net.tx_io.n = w->net.rx_io.n = 0;
    unsigned nt = packed ? ref_packed_pop_burst(tx, m, &w->net.tx_io, false, te, REF_BURST, &more)
                         : ref_split_pop_burst(tx, m, &w->net.tx_io, false, te, REF_BURST, &more);
    if (nt == 0)
        return more ? REF_LOOP_GENERAL : 0;
    unsigned nr = packed ? ref_packed_pop_burst(rx, m, &w->net.rx_io, true, re, nt, &more)
                         : ref_split_pop_burst(rx, m, &w->net.rx_io, true, re, nt, &more);
    uint64_t bytes = 0;
    prefetch_burst(w, te, re, nr);
    unsigned k = w->net.carry_hdr ? copy_burst_twice(w, te, re, nr, &bytes)
                                  : copy_burst(w, te, re, nr, &bytes);
    if (k < nt)
        ref_vq_restore(tx, cursor_after(tx, t0, te, k));
    if (k < nr)
        ref_vq_restore(rx, cursor_after(rx, r0, re, k));
    if (k == 0)
        return REF_LOOP_GENERAL;
    uint32_t lens[REF_BURST];
    for (unsigned i = 0; i < k; i++)
        lens[i] = te[i].len;                /* header + frame, written into re[i] */
    if (__builtin_expect(rx->vlog != NULL, 0)) {
        if (!m->tlb)        /* the guest addresses are known: no lookup */
            ref_dlog_elems(rx->vlog, re, lens, k);
        else                /* IOVAs: the log wants the guest address behind each */
            for (unsigned i = 0; i < k; i++)
                ref_dlog_iovs(rx->vlog, &w->net.rx_io.v[re[i].iov], 1, lens[i]);
    }
    if (packed) {
        ref_packed_push_burst(rx, re, lens, k);
        ref_packed_push_burst(tx, te, NULL, k);
    } else {
        ref_split_push_burst(rx, re, lens, k);
        ref_split_push_burst(tx, te, NULL, k);
    }
    ref_count(&tx->dp.st.packets, k);
    ref_count(&tx->dp.st.bytes, bytes);
    ref_count(&rx->dp.st.packets, k);
    ref_count(&rx->dp.st.bytes, bytes);
    w->starved_since = 0;
    if (packed) {
        ref_packed_flush(tx);
        ref_packed_flush(rx);
    } else {
        ref_split_flush(tx);
        ref_split_flush(rx);
    }
    return 1;
}

int ref_loop_burst(struct ref_worker *w)
{
    if (!w->tx || !w->rx || w->port_fd >= 0 || w->sw || w->net.hdr_len != HDR)
        return REF_LOOP_GENERAL;
    return w->tx->packed ? burst(w, true) : burst(w, false);
}

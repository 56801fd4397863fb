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

/* The first line of every TX frame and RX buffer of the burst, asked for at
 * once: the front end wrote them last on another core, so each is a miss
 * that overlaps the others instead of following them. */
static void prefetch_burst(const struct ref_worker *w, const struct ref_elem *te,
                           const struct ref_elem *re, unsigned n)
{
    const struct ref_iov *tv = w->net.tx_io.v, *rv = w->net.rx_io.v;
    for (unsigned i = 0; i < n; i++) {
        __builtin_prefetch(tv[te[i].iov].p);
        __builtin_prefetch(rv[re[i].iov].p, 1);
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
        memcpy(w->bounce[k], tv[t->iov].p, t->len);
    }
    for (unsigned i = 0; i < k; i++) {
        uint8_t *dst = rv[re[i].iov].p;
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

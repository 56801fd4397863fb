/* virtio-net on top of the rings: the 12-byte virtio_net_hdr_v1 (10 bytes
 * for a legacy device without MRG_RXBUF), num_buffers with MRG_RXBUF, and
 * the copy of one frame into RX buffers. */
#include "dp.h"
#include "dirty_log.h"

#include <string.h>

void ref_net_setup(struct ref_net *n, const struct ref_session *s)
{
    n->mrg = ref_has_feature(s, REF_NET_F_MRG_RXBUF);
    n->hdr_len = n->mrg || ref_has_feature(s, VHU_F_VERSION_1) ? 12u : 10u;
    n->carry_hdr = s->opts && s->opts->equal_work;
    n->tx_io.n = n->rx_io.n = 0;
    n->tx_io.write = false;     /* the IOTLB permission each pool needs */
    n->rx_io.write = true;
}

/* A write cursor over an iov list. */
struct wcur {
    const struct ref_iov *v;
    unsigned n, i;
    uint32_t off;
};

static void put(struct wcur *w, const uint8_t *p, uint32_t len)
{
    while (len > 0 && w->i < w->n) {
        const struct ref_iov *d = &w->v[w->i];
        uint32_t room = d->len - w->off;
        uint32_t k = len < room ? len : room;
        ref_copy(d->p + w->off, p, k);  /* memmove if a hostile guest overlaps RX and TX */
        p += k, len -= k, w->off += k;
        if (w->off == d->len)
            w->i++, w->off = 0;
    }
}

/* Copy len bytes of src (after skip) to w. */
static void copy_iovs(struct wcur *w, const struct ref_iov *src, unsigned nsrc, uint32_t skip,
                      uint32_t len)
{
    for (unsigned i = 0; i < nsrc && len > 0; i++) {
        uint32_t l = src[i].len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        uint32_t k = l - skip < len ? l - skip : len;
        put(w, src[i].p + skip, k);
        len -= k;
        skip = 0;
    }
}

/* Pop RX buffers until they hold need bytes.  Returns how many were taken
 * (all good), 0 when there are not enough yet, -1 when a bad one came up
 * (then *k of them are taken and must be completed with length 0). */
static int gather(struct ref_net *n, struct ref_vring *rx, const struct ref_mem *m,
                  struct ref_elem *el, unsigned max, uint32_t need, unsigned *k)
{
    const struct ref_ring_ops *ops = ref_ops(rx);
    uint64_t cap = 0;
    for (*k = 0; cap < need && *k < max;) {
        int r = ops->pop(rx, m, &n->rx_io, true, &el[*k]);
        if (r <= 0)
            return 0;
        if (el[(*k)++].bad)
            return -1;
        cap += el[*k - 1].len;
    }
    return cap >= need ? (int)*k : 0;
}

static void complete_empty(struct ref_vring *rx, const struct ref_elem *el, unsigned k)
{
    for (unsigned i = 0; i < k; i++)
        ref_ops(rx)->push(rx, &el[i], 0);
}

/* The first len bytes of the src iovs (fewer if they are shorter). */
static void take_hdr(uint8_t *hdr, uint32_t len, const struct ref_iov *src, unsigned nsrc)
{
    for (unsigned i = 0; i < nsrc && len > 0; i++) {
        uint32_t k = src[i].len < len ? src[i].len : len;
        memcpy(hdr, src[i].p, k);
        hdr += k, len -= k;
    }
}

/* Header, then the frame, across the k buffers; each used entry gets what
 * was written into it (all full but the last). */
static void fill(struct ref_net *n, struct ref_vring *rx, const struct ref_elem *el, unsigned k,
                 const struct ref_iov *src, unsigned nsrc, uint32_t skip, uint32_t len)
{
    uint8_t hdr[12] = { 0 };
    if (n->carry_hdr && skip == n->hdr_len)    /* loopback: the TX header, as DPDK carries it */
        take_hdr(hdr, n->hdr_len, src, nsrc);
    hdr[10] = (uint8_t)k;               /* num_buffers, little endian */
    hdr[11] = (uint8_t)(k >> 8);
    struct wcur w = { &n->rx_io.v[el[0].iov], n->rx_io.n - el[0].iov, 0, 0 };
    if (n->hdr_len == sizeof hdr && w.v[0].len > sizeof hdr) {
        memcpy(w.v[0].p, hdr, sizeof hdr);  /* the usual case: one 12-byte store */
        w.off = sizeof hdr;
    } else {
        put(&w, hdr, n->hdr_len);
    }
    if (w.i == 0 && nsrc > 0 && src[0].len >= skip && src[0].len - skip >= len &&
        w.v[0].len - w.off >= len)
        ref_copy(w.v[0].p + w.off, src[0].p + skip, len);  /* one buffer each side */
    else
        copy_iovs(&w, src, nsrc, skip, len);
    uint32_t left = n->hdr_len + len;
    for (unsigned i = 0; i < k; i++) {
        uint32_t l = left < el[i].len ? left : el[i].len;
        ref_dlog_rx(rx, &n->rx_io.v[el[i].iov], el[i].niov, l);
        ref_ops(rx)->push(rx, &el[i], l);
        left -= l;
    }
}

/* Without MRG_RXBUF a frame takes exactly one RX chain: the same steps as
 * ref_net_rx's, without the gather loop. */
static enum ref_deliver rx_one(struct ref_net *n, struct ref_vring *rx, const struct ref_mem *m,
                               const struct ref_iov *src, unsigned nsrc, uint32_t skip,
                               uint32_t len)
{
    struct ref_cursor before = ref_vq_save(rx);
    struct ref_elem e;
    n->rx_io.n = 0;
    if (ref_ops(rx)->pop(rx, m, &n->rx_io, true, &e) <= 0)
        return REF_NO_ROOM;
    if (e.bad) {
        complete_empty(rx, &e, 1);
    } else if (e.len < n->hdr_len + len) {
        ref_vq_restore(rx, before);     /* too small: waiting would not help */
    } else {
        fill(n, rx, &e, 1, src, nsrc, skip, len);
        ref_count(&rx->dp.st.packets, 1);
        ref_count(&rx->dp.st.bytes, len);
        return REF_DELIVERED;
    }
    ref_count(&rx->dp.st.drops, 1);
    return REF_DROPPED;
}

enum ref_deliver ref_net_rx(struct ref_net *n, struct ref_vring *rx, const struct ref_mem *m,
                            const struct ref_iov *src, unsigned nsrc, uint32_t skip,
                            uint32_t len)
{
    if (!n->mrg)
        return rx_one(n, rx, m, src, nsrc, skip, len);
    struct ref_elem el[REF_MRG_MAX];
    struct ref_cursor before = ref_vq_save(rx);
    uint32_t need = n->hdr_len + len;
    unsigned k;
    n->rx_io.n = 0;
    int r = gather(n, rx, m, el, n->mrg ? REF_MRG_MAX : 1, need, &k);
    if (r > 0) {
        fill(n, rx, el, k, src, nsrc, skip, len);
        ref_count(&rx->dp.st.packets, 1);
        ref_count(&rx->dp.st.bytes, len);
        return REF_DELIVERED;
    }
    if (r < 0) {                        /* bad buffer: it and the others go back empty */
        complete_empty(rx, el, k);
        ref_count(&rx->dp.st.drops, 1);
        return REF_DROPPED;
    }
    ref_vq_restore(rx, before);
    /* the buffers are there but too small: waiting would not help */
    if (k == (n->mrg ? REF_MRG_MAX : 1u)) {
        ref_count(&rx->dp.st.drops, 1);
        return REF_DROPPED;
    }
    return REF_NO_ROOM;
}

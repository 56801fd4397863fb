/* Forwarding of one queue pair: guest TX to a port, a port to guest RX.
 *
 * Ports: loopback (TX frames are copied straight from the TX buffers into
 * the same pair's RX buffers, no intermediate packet buffer) and tap (TX
 * frames are written with writev from guest memory; frames read from the
 * TAP queue go to RX) and switch (TX frames are copied out of guest memory
 * and handed to the switch, which never makes TX wait; frames from the
 * pair's inbox go to RX the way TAP frames do; switch.h).
 *
 * RX ring empty (or too few buffers for a frame): the TX chain is left in
 * its ring, not consumed, and the worker waits for RX buffers; after
 * REF_RX_WAIT_MS without room, frames are consumed and dropped (counted in
 * the RX ring's drops) until one is delivered again.  So a guest that
 * refills in time loses nothing, and one that never refills does not stall
 * its own TX for ever. */
#include "worker.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

int64_t ref_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* RX had no room: true when the frame should wait (not be dropped yet). */
static bool rx_may_wait(struct ref_worker *w)
{
    int64_t now = ref_now_ms();
    if (w->starved_since == 0)
        w->starved_since = now;
    return now - w->starved_since < REF_RX_WAIT_MS;
}

static enum ref_deliver to_rx(struct ref_worker *w, const struct ref_iov *src, unsigned nsrc,
                              uint32_t skip, uint32_t len)
{
    /* RX stopped (QEMU stops RX before TX, then restarts both): keep the
     * frame in its TX ring, as when RX is full, so a restart from the saved
     * base delivers it; a ring that stays stopped drops after the wait. */
    if (!w->rx) {
        if (rx_may_wait(w))
            return REF_NO_ROOM;
        ref_count(&w->tx->dp.st.drops, 1);
        return REF_DROPPED;
    }
    enum ref_deliver d = ref_net_rx(&w->net, w->rx, &w->s->mem, src, nsrc, skip, len);
    if (d == REF_DELIVERED)
        w->starved_since = 0;
    if (d == REF_NO_ROOM && !rx_may_wait(w)) {
        ref_count(&w->rx->dp.st.drops, 1);
        return REF_DROPPED;
    }
    return d;
}

static enum ref_deliver to_tap(struct ref_worker *w, const struct ref_elem *e, uint32_t len)
{
    struct iovec iov[REF_IOV_POOL];
    unsigned n = 0;
    uint32_t skip = w->net.hdr_len;
    for (unsigned i = 0; i < e->niov; i++) {
        const struct ref_iov *v = &w->net.tx_io.v[e->iov + i];
        if (skip >= v->len) {
            skip -= v->len;
            continue;
        }
        iov[n++] = (struct iovec){ v->p + skip, v->len - skip };
        skip = 0;
    }
    if (writev(w->port_fd, iov, (int)n) != (ssize_t)len)
        return REF_DROPPED;     /* TAP queue full or interface down */
    return REF_DELIVERED;
}

/* A copy of the frame goes to the switch; it counts its own drops. */
static enum ref_deliver to_switch(struct ref_worker *w, const struct ref_elem *e, uint32_t len)
{
    struct ref_sw_frame *f = malloc(sizeof *f + len);
    if (!f)
        return REF_DROPPED;
    f->len = len;
    w->scratch = f;                 /* the copy may fault (fault.h) */
    uint32_t skip = w->net.hdr_len, off = 0;
    for (unsigned i = 0; i < e->niov && off < len; i++) {
        const struct ref_iov *v = &w->net.tx_io.v[e->iov + i];
        if (skip >= v->len) {
            skip -= v->len;
            continue;
        }
        uint32_t k = v->len - skip < len - off ? v->len - skip : len - off;
        memcpy(f->data + off, v->p + skip, k);
        off += k;
        skip = 0;
    }
    w->scratch = NULL;
    ref_sw_forward(w->sw, w->s->opts->port, w->pair, f);
    return REF_DELIVERED;
}

static enum ref_deliver to_port(struct ref_worker *w, const struct ref_elem *e, uint32_t len)
{
    if (w->sw)
        return to_switch(w, e, len);
    if (w->port_fd >= 0)
        return to_tap(w, e, len);
    return to_rx(w, &w->net.tx_io.v[e->iov], e->niov, w->net.hdr_len, len);
}

/* One TX frame: REF_NO_ROOM means "leave it in the ring for now". */
static enum ref_deliver tx_frame(struct ref_worker *w, const struct ref_elem *e)
{
    struct ref_qstats *st = &w->tx->dp.st;
    if (e->len < w->net.hdr_len || e->len - w->net.hdr_len > REF_MAX_FRAME) {
        ref_count(&st->drops, 1);       /* no header, or beyond any frame size */
        return REF_DROPPED;
    }
    uint32_t len = e->len - w->net.hdr_len;
    enum ref_deliver d = to_port(w, e, len);
    if (d == REF_NO_ROOM)
        return d;
    ref_count(&st->packets, 1);
    ref_count(&st->bytes, len);
    if (d == REF_DROPPED && (w->port_fd >= 0 || w->sw))
        ref_count(&st->drops, 1);
    return d;
}

/* Up to a burst of TX frames.  1 work done, 0 idle, -1 blocked on RX. */
static int tx_burst(struct ref_worker *w)
{
    const struct ref_ring_ops *ops = ref_ops(w->tx);
    int rc = 0;
    for (unsigned done = 0; done < REF_BURST; done++) {
        struct ref_cursor c = ref_vq_save(w->tx);
        struct ref_elem e;
        w->net.tx_io.n = 0;
        if (ops->pop(w->tx, &w->s->mem, &w->net.tx_io, false, &e) <= 0)
            break;
        if (!e.bad && tx_frame(w, &e) == REF_NO_ROOM) {
            ref_vq_restore(w->tx, c);
            rc = -1;
            break;
        }
        ops->push(w->tx, &e, 0);
        rc = rc < 0 ? rc : 1;
    }
    ops->flush(w->tx);
    return rc;
}

/* TAP to RX: frames are read only while RX has buffers (the kernel queue
 * holds the rest); a frame that finds too few is kept for the next try. */
static int tap_burst(struct ref_worker *w)
{
    int rc = 0;
    for (unsigned done = 0; done < REF_BURST; done++) {
        if (w->pend_len == 0) {
            if (!ref_ops(w->rx)->has_avail(w->rx))
                break;
            ssize_t r = read(w->port_fd, w->pend, sizeof w->pend);
            if (r <= 0)
                break;
            w->pend_len = (uint32_t)r;
        }
        struct ref_iov src = { w->pend, w->pend_len };
        enum ref_deliver d = to_rx(w, &src, 1, 0, w->pend_len);
        if (d == REF_NO_ROOM) {
            rc = -1;
            break;
        }
        w->pend_len = 0;
        rc = 1;
    }
    return rc;
}

/* Inbox to RX, as tap_burst: a frame that finds too few buffers is held. */
static int switch_burst(struct ref_worker *w)
{
    int rc = 0;
    for (unsigned done = 0; done < REF_BURST; done++) {
        if (!w->sw_pend)
            w->sw_pend = ref_sw_take(w->sw, w->s->opts->port, w->pair);
        if (!w->sw_pend)
            break;
        struct ref_iov src = { w->sw_pend->data, w->sw_pend->len };
        if (to_rx(w, &src, 1, 0, w->sw_pend->len) == REF_NO_ROOM) {
            rc = -1;
            break;
        }
        free(w->sw_pend);
        w->sw_pend = NULL;
        rc = 1;
    }
    return rc;
}

void ref_fwd_drop_pending(struct ref_worker *w)
{
    if (!w->sw_pend)
        return;
    free(w->sw_pend);
    w->sw_pend = NULL;
    atomic_fetch_add_explicit(&w->sw->port[w->s->opts->port].st.drop_down, 1,
                              memory_order_relaxed);
}

int ref_fwd_burst(struct ref_worker *w)
{
    ref_rarp_burst(w);
    int fast = ref_loop_burst(w);
    if (fast != REF_LOOP_GENERAL)
        return fast;
    int a = w->tx ? tx_burst(w) : 0;
    int b = 0;
    if (w->rx && w->port_fd >= 0)
        b = tap_burst(w);
    else if (w->rx && w->sw)
        b = switch_burst(w);
    if (w->rx)
        ref_ops(w->rx)->flush(w->rx);
    if (a < 0 || b < 0)
        return -1;
    return a > 0 || b > 0;
}

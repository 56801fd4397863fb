/* virtio-net driver model: TX, RX refill, header, mergeable RX buffers,
 * and a batching generator (virtio 1.1 section 5.1.6). */
#include "mfe_net.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GEN_BATCH 32u
/* Ring entries taken or posted per burst call: the arrays live on the
 * stack, and a burst this long already spreads the call's fixed cost. */
#define NET_BURST 64u

/* ---- pools ---- */

static int pool_init(struct mfe_net_pool *p, struct mfe_mem *mem, unsigned n, uint32_t slot_len)
{
    uint64_t len = (uint64_t)n * slot_len;
    p->slot_len = slot_len;
    p->n = n;
    p->gpa = mfe_mem_alloc(mem, len, 4096);
    p->hva = p->gpa ? mfe_gpa(mem, p->gpa, len) : NULL;
    p->free = calloc(n, sizeof *p->free);
    if (!p->hva || !p->free)
        return -ENOMEM;
    for (unsigned i = 0; i < n; i++)
        p->free[i] = (uint16_t)(n - 1 - i);
    p->nfree = n;
    return 0;
}

static uint64_t slot_gpa(const struct mfe_net_pool *p, unsigned i)
{
    return p->gpa + (uint64_t)i * p->slot_len;
}

static uint8_t *slot_hva(const struct mfe_net_pool *p, unsigned i)
{
    return p->hva + (size_t)i * p->slot_len;
}

static int ring_on(struct mfe_ring *r, struct mfe *f, unsigned idx, unsigned flags)
{
    const struct mfe_vq *vq = &f->vq[idx];
    if (!vq->ready)
        return -EINVAL;
    struct mfe_ring_layout l;
    mfe_ring_layout_of(vq, &l);
    return mfe_ring_init(r, &f->mem, &l, vq->num, flags);
}

int mfe_net_init(struct mfe_net *n, struct mfe *f, unsigned pair, const struct mfe_net_opts *o)
{
    static const struct mfe_net_opts defaults;
    if (!o)
        o = &defaults;
    memset(n, 0, sizeof *n);
    unsigned rxq = 2 * pair, txq = rxq + 1;
    if (txq >= MFE_MAX_VQ)
        return -EINVAL;
    uint64_t feat = o->features ? o->features : f->acked_features;
    unsigned flags = mfe_ring_flags_from_features(feat);
    n->mem = &f->mem;
    n->mrg = feat & (1ull << MFE_NET_F_MRG_RXBUF);
    n->split_hdr = o->tx_split_hdr;
    n->indirect = o->indirect && (flags & MFE_RING_INDIRECT);
    n->max_frame = o->max_frame ? o->max_frame : MFE_NET_MAX_FRAME;
    uint32_t rx_len = n->mrg ? (o->mrg_buf ? o->mrg_buf : MFE_NET_MRG_BUF)
                             : MFE_NET_HDR_LEN + n->max_frame;
    int rc = ring_on(&n->rx, f, rxq, flags);
    if (rc == 0)
        rc = ring_on(&n->tx, f, txq, flags);
    if (rc == 0)
        rc = pool_init(&n->rxp, n->mem, n->rx.num, rx_len);
    if (rc == 0)
        rc = pool_init(&n->txp, n->mem, n->tx.num, MFE_NET_HDR_LEN + n->max_frame);
    if (rc == 0 && n->mrg && !(n->reasm = malloc(MFE_NET_MAX_PACKET)))
        rc = -ENOMEM;
    if (rc < 0 || rx_len <= MFE_NET_HDR_LEN) {
        mfe_net_destroy(n);
        return rc < 0 ? rc : -EINVAL;
    }
    n->rx_kick = f->vq[rxq].kick;
    n->rx_call = f->vq[rxq].call;
    n->tx_kick = f->vq[txq].kick;
    n->tx_call = f->vq[txq].call;
    return 0;
}

void mfe_net_destroy(struct mfe_net *n)
{
    mfe_ring_destroy(&n->rx);
    mfe_ring_destroy(&n->tx);
    free(n->rxp.free);
    free(n->txp.free);
    free(n->reasm);
    memset(n, 0, sizeof *n);
}

/* ---- TX ---- */

/* A burst shorter than asked with no error took all the device had
 * written when it looked; what the device adds meanwhile waits for the
 * next call. */
int mfe_net_reclaim_tx(struct mfe_net *n)
{
    uint64_t token[NET_BURST];
    uint32_t len[NET_BURST];
    int done = 0, err;
    unsigned k;
    do {
        k = mfe_ring_get_used_burst(&n->tx, token, len, NET_BURST, &err);
        for (unsigned i = 0; i < k; i++)
            n->txp.free[n->txp.nfree++] = (uint16_t)token[i];
        done += (int)k;
    } while (err == -EIO || (err == 0 && k == NET_BURST));
    return err == -EPIPE ? err : done;
}

/* Post slot i holding a len-byte frame after its header. */
static int post_tx_slot(struct mfe_net *n, unsigned i, uint32_t len)
{
    uint64_t gpa = slot_gpa(&n->txp, i);
    struct mfe_buf b[2] = {{gpa, MFE_NET_HDR_LEN}, {gpa + MFE_NET_HDR_LEN, len}};
    if (!n->split_hdr)
        b[0].len += len;
    return mfe_ring_add(&n->tx, b, n->split_hdr ? 2 : 1, NULL, 0, i, n->indirect);
}

static bool tx_room(const struct mfe_net *n)
{
    unsigned need = n->indirect ? 1 : (n->split_hdr ? 2 : 1);
    return n->txp.nfree > 0 && mfe_ring_free(&n->tx) >= need;
}

int mfe_net_tx(struct mfe_net *n, const struct mfe_frame *frames, unsigned count)
{
    int rc = mfe_net_reclaim_tx(n);
    if (rc < 0)
        return rc;
    unsigned sent = 0;
    for (; sent < count && tx_room(n); sent++) {
        const struct mfe_frame *fr = &frames[sent];
        if (fr->len > n->max_frame) {
            n->tx_too_big++;
            return -EMSGSIZE;
        }
        unsigned i = n->txp.free[--n->txp.nfree];
        uint8_t *p = slot_hva(&n->txp, i);
        memset(p, 0, MFE_NET_HDR_LEN);
        memcpy(p + MFE_NET_HDR_LEN, fr->data, fr->len);
        if ((rc = post_tx_slot(n, i, fr->len)) < 0) {
            n->txp.free[n->txp.nfree++] = (uint16_t)i;
            break;
        }
        n->tx_frames++;
        n->tx_bytes += fr->len;
    }
    rc = mfe_ring_kick(&n->tx, n->tx_kick);
    return rc < 0 ? rc : (int)sent;
}

/* ---- RX ---- */

int mfe_net_rx_refill(struct mfe_net *n)
{
    return mfe_net_rx_refill_max(n, ~0u);
}

/* Post the want slots on top of the free stack in one burst; they leave
 * the stack only once the ring took them, so what it did not take stays
 * where it was.  Returns how many were posted. */
static unsigned rx_post(struct mfe_net *n, unsigned want)
{
    struct mfe_buf b[NET_BURST];
    uint64_t token[NET_BURST];
    for (unsigned k = 0; k < want; k++) {
        unsigned i = n->rxp.free[n->rxp.nfree - 1 - k];
        b[k] = (struct mfe_buf){slot_gpa(&n->rxp, i), n->rxp.slot_len};
        token[k] = i;
    }
    unsigned got = mfe_ring_add_bufs(&n->rx, b, token, want, true);
    n->rxp.nfree -= got;
    return got;
}

int mfe_net_rx_refill_max(struct mfe_net *n, unsigned max)
{
    unsigned posted = 0, want;
    while (posted < max && (want = mfe_net_room(&n->rxp, &n->rx)) > 0) {
        want = want < max - posted ? want : max - posted;
        want = want < NET_BURST ? want : NET_BURST;
        unsigned got = rx_post(n, want);
        posted += got;
        if (got < want)                 /* only a broken ring takes fewer */
            return posted ? (int)posted : -EPIPE;
    }
    int rc = mfe_ring_kick(&n->rx, n->rx_kick);
    return rc < 0 ? rc : (int)posted;
}

static void rx_bad(struct mfe_net *n)
{
    n->rx_errors++;
}

/* First buffer of a packet: 1 when a whole frame is at data (delivered
 * in place), 0 when reassembly continues. */
static int rx_first(struct mfe_net *n, const uint8_t *data, uint32_t len)
{
    if (len < MFE_NET_HDR_LEN) {
        rx_bad(n);
        return 0;
    }
    const struct mfe_net_hdr *h = (const struct mfe_net_hdr *)data;
    unsigned nb = n->mrg ? h->num_buffers : 1;
    if (nb == 0) {
        rx_bad(n);
        return 0;
    }
    if (nb == 1)
        return 1;
    n->reasm_len = len - MFE_NET_HDR_LEN;
    memcpy(n->reasm, data + MFE_NET_HDR_LEN, n->reasm_len);
    n->reasm_left = nb - 1;
    n->reasm_drop = false;
    return 0;
}

/* A later buffer of a merged packet: 1 when the packet is complete. */
static int rx_more(struct mfe_net *n, const uint8_t *data, uint32_t len)
{
    if (n->reasm_drop || len > MFE_NET_MAX_PACKET - n->reasm_len) {
        if (!n->reasm_drop)
            rx_bad(n);
        n->reasm_drop = true;
    } else {
        memcpy(n->reasm + n->reasm_len, data, len);
        n->reasm_len += len;
    }
    return --n->reasm_left == 0 && !n->reasm_drop;
}

static void deliver(struct mfe_net *n, mfe_net_rx_cb cb, void *arg, const uint8_t *p, uint32_t len)
{
    n->rx_frames++;
    n->rx_bytes += len;
    if (cb)
        cb(arg, p, len);
}

/* One used RX buffer: reassembled or delivered, and its slot back in the
 * pool.  1 when it completed a frame. */
static unsigned rx_entry(struct mfe_net *n, mfe_net_rx_cb cb, void *arg, uint64_t token,
                         uint32_t len)
{
    const uint8_t *p = slot_hva(&n->rxp, (unsigned)token);
    unsigned done = 0;
    if (n->reasm_left > 0) {
        if (rx_more(n, p, len) == 1) {
            deliver(n, cb, arg, n->reasm, n->reasm_len);
            done = 1;
        }
    } else if (rx_first(n, p, len) == 1) {
        deliver(n, cb, arg, p + MFE_NET_HDR_LEN, len - MFE_NET_HDR_LEN);
        done = 1;
    }
    n->rxp.free[n->rxp.nfree++] = (uint16_t)token;
    return done;
}

/* An entry completes at most one frame, so a burst of max - got entries
 * never takes one that the max frames would leave in the ring. */
int mfe_net_rx_poll(struct mfe_net *n, mfe_net_rx_cb cb, void *arg, unsigned max)
{
    uint64_t token[NET_BURST];
    uint32_t len[NET_BURST];
    unsigned got = 0;
    int err;
    while (got < max) {
        unsigned want = max - got < NET_BURST ? max - got : NET_BURST;
        unsigned k = mfe_ring_get_used_burst(&n->rx, token, len, want, &err);
        for (unsigned i = 0; i < k; i++)
            got += rx_entry(n, cb, arg, token[i], len[i]);
        if (err == -EPIPE)
            return got ? (int)got : err;
        if (err == 0 && k < want)
            break;                      /* all the device had written */
    }
    return (int)got;
}

int mfe_net_wait_rx(struct mfe_net *n, int timeout_ms)
{
    if (mfe_ring_enable_cb(&n->rx))
        return 1;
    int rc = mfe_ring_wait(n->rx_call, timeout_ms);
    mfe_ring_disable_cb(&n->rx);
    return rc < 0 ? rc : (rc || mfe_ring_has_used(&n->rx));
}

/* ---- generator ---- */

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Every TX slot gets the same frame once: posting is then pointer work. */
static void gen_fill(struct mfe_net *n, uint32_t len)
{
    for (unsigned i = 0; i < n->txp.n; i++) {
        uint8_t *p = slot_hva(&n->txp, i);
        memset(p, 0, MFE_NET_HDR_LEN);
        for (uint32_t k = 0; k < len; k++)
            p[MFE_NET_HDR_LEN + k] = (uint8_t)(k < 12 ? 0xff : k);
    }
}

static unsigned gen_post(struct mfe_net *n, uint32_t len, uint64_t budget, unsigned batch)
{
    unsigned k = 0;
    while (k < batch && k < budget && tx_room(n)) {
        unsigned i = n->txp.free[--n->txp.nfree];
        if (post_tx_slot(n, i, len) < 0) {
            n->txp.free[n->txp.nfree++] = (uint16_t)i;
            break;
        }
        k++;
    }
    n->tx_frames += k;
    n->tx_bytes += (uint64_t)k * len;
    return k;
}

/* Nothing moved: sleep on both call eventfds (one syscall per stall,
 * never per packet). */
static int gen_wait(struct mfe_net *n, int ms)
{
    if (mfe_ring_enable_cb(&n->tx) | mfe_ring_enable_cb(&n->rx))
        return 1;
    struct pollfd p[2] = {{.fd = n->tx_call, .events = POLLIN}, {.fd = n->rx_call, .events = POLLIN}};
    int rc = poll(p, 2, ms);
    mfe_ring_disable_cb(&n->tx);
    mfe_ring_disable_cb(&n->rx);
    if (rc < 0)
        return errno == EINTR ? 1 : -errno;
    for (int i = 0; i < 2; i++)
        if (p[i].revents & POLLIN)
            (void)mfe_ring_wait(p[i].fd, 0);
    return rc > 0;
}

static bool gen_done(const struct mfe_gen_opts *o, uint64_t sent, uint64_t t0)
{
    if (o->count)
        return sent >= o->count;
    return now_ns() - t0 >= (uint64_t)o->duration_ms * 1000000ull;
}

int mfe_net_gen_run(struct mfe_net *n, const struct mfe_gen_opts *o, struct mfe_gen_stats *st)
{
    if (o->frame_len == 0 || o->frame_len > n->max_frame || (!o->count && !o->duration_ms))
        return -EINVAL;
    unsigned batch = o->batch ? o->batch : GEN_BATCH;
    int stall = o->stall_ms > 0 ? o->stall_ms : 1000;
    memset(st, 0, sizeof *st);
    uint64_t k0 = n->tx.kicks, s0 = n->tx.kicks_suppressed, rx0 = n->rx_frames;
    mfe_ring_disable_cb(&n->tx);
    mfe_ring_disable_cb(&n->rx);
    gen_fill(n, o->frame_len);
    uint64_t t0 = now_ns();
    int rc = 0;
    while (!gen_done(o, st->tx, t0)) {
        int back = mfe_net_reclaim_tx(n);
        unsigned k = gen_post(n, o->frame_len, o->count ? o->count - st->tx : batch, batch);
        st->tx += k;
        if ((rc = mfe_ring_kick(&n->tx, n->tx_kick)) < 0)
            break;
        int got = mfe_net_rx_poll(n, NULL, NULL, ~0u);
        if (back < 0 || got < 0 || (rc = mfe_net_rx_refill(n)) < 0) {
            rc = back < 0 ? back : got < 0 ? got : rc;
            break;
        }
        rc = 0;
        if (k == 0 && back == 0 && got == 0) {
            st->waits++;
            if ((rc = gen_wait(n, stall)) <= 0) {
                rc = rc < 0 ? rc : -ETIMEDOUT;
                break;
            }
            rc = 0;
        }
    }
    st->ns = now_ns() - t0;
    st->rx = n->rx_frames - rx0;
    st->kicks = n->tx.kicks - k0;
    st->kicks_suppressed = n->tx.kicks_suppressed - s0;
    return rc;
}

/* The benchmark's traffic loop: sequence-numbered frames out, checked
 * frames back.  See bench_gen.h. */
#include "bench_gen.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SEQ_OFF   14u                    /* after the Ethernet header */
#define DATA_OFF  (SEQ_OFF + 8u)
#define CHECK_NS  1000000000ull          /* one full check per second */
/* Busy-poll this long before sleeping on the call eventfds: a poll-mode
 * front end (DPDK's virtio-user) never sleeps, and a sleep costs a wake-up
 * through the scheduler that would be measured as the back end's latency. */
#define SPIN_NS   1000000ull

/* Locally administered unicast addresses and the IEEE "local experimental"
 * EtherType: no switch or stack would mistake these frames for real ones. */
static const uint8_t eth_hdr[SEQ_OFF] = {
    0x02, 0, 0, 0, 0, 0x02,  0x02, 0, 0, 0, 0, 0x01,  0x88, 0xb5,
};

uint64_t bench_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* The payload byte at offset k (k >= DATA_OFF): fixed, so slots are
 * written once and only the sequence number changes per frame. */
static uint8_t pattern(uint32_t k)
{
    return (uint8_t)(k * 7u + 0x5a);
}

static uint8_t *tx_slot(const struct mfe_net *n, unsigned i)
{
    return n->txp.hva + (size_t)i * n->txp.slot_len;
}

/* The fixed TX frame (header, Ethernet header, pattern) at p. */
static void write_frame(uint8_t *p, uint32_t frame_len)
{
    memset(p, 0, MFE_NET_HDR_LEN);            /* no offloads */
    memcpy(p + MFE_NET_HDR_LEN, eth_hdr, sizeof eth_hdr);
    for (uint32_t k = DATA_OFF; k < frame_len; k++)
        p[MFE_NET_HDR_LEN + k] = pattern(k);
}

int bench_gen_init(struct bench_gen *g, struct mfe_net *n, uint32_t frame_len,
                   unsigned batch, int stall_ms)
{
    memset(g, 0, sizeof *g);
    if (frame_len < BENCH_MIN_FRAME || frame_len > n->max_frame)
        return -EINVAL;
    g->n = n;
    g->frame_len = frame_len;
    g->batch = batch ? batch : 32;
    g->stall_ms = stall_ms > 0 ? stall_ms : 1000;
    for (unsigned i = 0; i < n->txp.n; i++)
        write_frame(tx_slot(n, i), frame_len);
    mfe_ring_disable_cb(&n->tx);                  /* we poll, like a PMD */
    mfe_ring_disable_cb(&n->rx);
    int rc = mfe_net_rx_refill(n);
    return rc < 0 ? rc : 0;
}

/* ---- RX checks ---- */

static void bad(struct bench_gen *g, const char *fmt, uint64_t a, uint64_t b)
{
    if (g->c.bad++ == 0)
        snprintf(g->err, sizeof g->err, fmt, (unsigned long long)a, (unsigned long long)b);
}

static bool same_content(const struct bench_gen *g, const uint8_t *f)
{
    if (memcmp(f, eth_hdr, sizeof eth_hdr) != 0)
        return false;
    for (uint32_t k = DATA_OFF; k < g->frame_len; k++)
        if (f[k] != pattern(k))
            return false;
    return true;
}

static void on_rx(void *arg, const uint8_t *f, uint32_t len)
{
    struct bench_gen *g = arg;
    if (len != g->frame_len) {
        bad(g, "frame of %llu bytes, sent %llu", len, g->frame_len);
        return;
    }
    uint64_t seq;
    memcpy(&seq, f + SEQ_OFF, sizeof seq);
    /* One queue, FIFO both ways: a frame may be dropped, never reordered
     * nor duplicated nor invented. */
    if (seq >= g->next_seq || seq < g->last_rx_seq) {
        bad(g, "sequence %llu out of order (expected at least %llu)", seq, g->last_rx_seq);
        return;
    }
    g->last_rx_seq = seq + 1;
    g->c.rx++;
    g->c.rx_bytes += len;
    uint64_t now = g->c.checked == 0 || (g->c.rx & 1023) == 0 ? bench_now_ns() : 0;
    if (now >= g->check_at_ns && now != 0) {
        g->check_at_ns = now + CHECK_NS;
        g->c.checked++;
        if (!same_content(g, f))
            bad(g, "frame %llu: content differs from what was sent (%llu bytes)", seq, len);
    }
}

/* ---- TX ---- */

/* Frames per ring burst: the arrays live on post_batch's stack. */
#define POST_BURST 64u

/* Describe the next want frames: the TX slots on top of the free stack
 * (they leave it only once the ring took them) or, with --working-set, the
 * working-set slots from ws_next on, each with its sequence number
 * written. */
static void build_batch(const struct bench_gen *g, unsigned want, struct mfe_buf *b,
                        uint64_t *token)
{
    const struct mfe_net *n = g->n;
    unsigned ws = g->ws_next;
    for (unsigned k = 0; k < want; k++) {
        unsigned i = n->txp.free[n->txp.nfree - 1 - k];
        uint8_t *p = tx_slot(n, i);
        uint64_t gpa = n->txp.gpa + (uint64_t)i * n->txp.slot_len;
        if (g->ws_slots) {                        /* the slot stays the token */
            uint64_t off = (uint64_t)ws * n->txp.slot_len;
            ws = ws + 1 == g->ws_slots ? 0 : ws + 1;
            p = g->ws_hva + off;
            gpa = g->ws_gpa + off;
        }
        uint64_t seq = g->next_seq + k;
        memcpy(p + MFE_NET_HDR_LEN + SEQ_OFF, &seq, sizeof seq);
        b[k] = (struct mfe_buf){gpa, MFE_NET_HDR_LEN + g->frame_len};
        token[k] = i;
    }
}

/* noinline: bench/cost.sh counts its instructions (callgrind --toggle-collect) */
__attribute__((noinline)) static unsigned post_batch(struct bench_gen *g)
{
    struct mfe_net *n = g->n;
    if (g->lockstep && g->c.tx != g->c.rx)
        return 0;                               /* the last batch is not all back */
    struct mfe_buf b[POST_BURST];
    uint64_t token[POST_BURST];
    unsigned k = 0, want;
    while (k < g->batch && (want = mfe_net_room(&n->txp, &n->tx)) > 0) {
        want = want < g->batch - k ? want : g->batch - k;
        want = want < POST_BURST ? want : POST_BURST;
        build_batch(g, want, b, token);
        unsigned got = mfe_ring_add_bufs(&n->tx, b, token, want, false);
        n->txp.nfree -= got;
        g->next_seq += got;
        if (g->ws_slots)
            g->ws_next = (unsigned)(((uint64_t)g->ws_next + got) % g->ws_slots);
        k += got;
        if (got < want)
            break;                              /* only a broken ring takes fewer */
    }
    g->c.tx += k;
    return k;
}

/* ---- waiting ---- */

/* Read an eventfd's counter: how many times the back end signalled it. */
static uint64_t drain_calls(int fd)
{
    uint64_t v = 0;
    return read(fd, &v, sizeof v) == sizeof v ? v : 0;
}

/* Nothing moved: ask for calls and sleep on both call eventfds.
 * 1 woken (or work already waiting), 0 timed out, -errno. */
static int wait_calls(struct bench_gen *g)
{
    struct mfe_net *n = g->n;
    g->c.waits++;
    if (mfe_ring_enable_cb(&n->tx) | mfe_ring_enable_cb(&n->rx)) {
        mfe_ring_disable_cb(&n->tx);
        mfe_ring_disable_cb(&n->rx);
        return 1;
    }
    struct pollfd p[2] = {{.fd = n->tx_call, .events = POLLIN},
                          {.fd = n->rx_call, .events = POLLIN}};
    int rc = poll(p, 2, g->stall_ms);
    mfe_ring_disable_cb(&n->tx);
    mfe_ring_disable_cb(&n->rx);
    if (rc < 0)
        return errno == EINTR ? 1 : -errno;
    g->c.calls += drain_calls(n->tx_call) + drain_calls(n->rx_call);
    return rc > 0;
}

/* ---- the loop ---- */

static uint64_t kicks(const struct mfe_net *n)
{
    return n->tx.kicks + n->rx.kicks;
}

static int one_round(struct bench_gen *g, bool *moved)
{
    struct mfe_net *n = g->n;
    int back = mfe_net_reclaim_tx(n);
    unsigned sent = post_batch(g);
    int rc = mfe_ring_kick(&n->tx, n->tx_kick);
    int got = mfe_net_rx_poll(n, on_rx, g, ~0u);
    int refill = mfe_net_rx_refill(n);
    if (back < 0 || rc < 0 || got < 0 || refill < 0)
        return back < 0 ? back : rc < 0 ? rc : got < 0 ? got : refill;
    *moved = back > 0 || sent > 0 || got > 0;
    return got;
}

/* This period's counts: the running totals minus those at its start. */
static int finish(struct bench_gen *g, const struct bench_counts *c0, uint64_t k0, uint64_t t0,
                  struct bench_counts *out, uint64_t *elapsed_ns, int rc)
{
    struct mfe_net *n = g->n;
    g->c.calls += drain_calls(n->tx_call) + drain_calls(n->rx_call);
    g->c.kicks += kicks(n) - k0;
    *elapsed_ns = bench_now_ns() - t0;
    *out = g->c;
    out->tx -= c0->tx, out->rx -= c0->rx, out->rx_bytes -= c0->rx_bytes;
    out->kicks -= c0->kicks, out->calls -= c0->calls, out->waits -= c0->waits;
    out->checked -= c0->checked, out->bad -= c0->bad;
    return rc;
}

int bench_gen_run(struct bench_gen *g, uint64_t duration_ns, struct bench_counts *out,
                  uint64_t *elapsed_ns)
{
    struct mfe_net *n = g->n;
    struct bench_counts c0 = g->c;
    uint64_t k0 = kicks(n), t0 = bench_now_ns(), now = t0, last_rx = t0, last_move = t0;
    uint64_t stall_ns = (uint64_t)g->stall_ms * 1000000ull;
    unsigned rounds = 0;
    bool rx_since = false, moved_since = false;   /* since the clock was last read */
    int rc = 0;
    while (rc == 0) {
        bool moved = false;
        int got = one_round(g, &moved);
        if (got < 0)
            return finish(g, &c0, k0, t0, out, elapsed_ns, got);
        if (g->stop_rx && g->c.rx - c0.rx >= g->stop_rx)
            break;
        rx_since |= got > 0;
        moved_since |= moved;
        /* A clock reading costs about what a round's ring work does: read
         * it after every round that moved nothing and after every 8th that
         * moved frames (the period's end is then late by a few rounds; the
         * rate is computed over the time actually elapsed). */
        if (moved && (++rounds & 7) != 0)
            continue;
        now = bench_now_ns();
        if (now - t0 >= duration_ns)
            break;
        if (rx_since)
            last_rx = now;
        if (moved_since)
            last_move = now;
        rx_since = moved_since = false;
        if (now - last_rx > stall_ns)
            rc = -ETIMEDOUT;    /* frames go out (or not) but none come back */
        else if (now - last_move > SPIN_NS && (rc = wait_calls(g)) >= 0)
            rc = rc == 0 ? -ETIMEDOUT : 0;
    }
    return finish(g, &c0, k0, t0, out, elapsed_ns, rc);
}

/* ---- working set larger than the last-level cache ---- */

int bench_gen_working_set(struct bench_gen *g, struct mfe_mem *mem, uint64_t bytes)
{
    uint32_t slot = g->n->txp.slot_len;
    uint64_t slots = bytes / slot;
    if (slots < g->n->txp.n || slots > UINT32_MAX)
        return -EINVAL;
    g->ws_gpa = mfe_mem_alloc(mem, slots * slot, 4096);
    g->ws_hva = g->ws_gpa ? mfe_gpa(mem, g->ws_gpa, slots * slot) : NULL;
    if (!g->ws_hva)
        return -ENOMEM;
    g->ws_slots = (unsigned)slots;
    for (uint64_t i = 0; i < slots; i++)
        write_frame(g->ws_hva + i * slot, g->frame_len);
    return 0;
}

double bench_memcpy_rate(uint32_t frame_len, uint64_t ws_bytes, unsigned dst_slots,
                         double seconds)
{
    uint32_t slot = MFE_NET_HDR_LEN + MFE_NET_MAX_FRAME;
    uint64_t nsrc = ws_bytes / slot;
    uint8_t *src = malloc(nsrc * slot), *dst = malloc((size_t)dst_slots * slot);
    if (!src || !dst || nsrc == 0) {
        free(src);
        free(dst);
        return 0;
    }
    memset(src, 0x5a, nsrc * slot);             /* touched: no zero-page reads */
    memset(dst, 0, (size_t)dst_slots * slot);
    uint64_t t0 = bench_now_ns(), t = t0, copies = 0, s = 0;
    unsigned d = 0;
    while (t - t0 < (uint64_t)(seconds * 1e9)) {
        for (unsigned k = 0; k < 1024; k++) {
            memcpy(dst + (size_t)d * slot, src + s * slot, frame_len);
            s = s + 1 == nsrc ? 0 : s + 1;
            d = d + 1 == dst_slots ? 0 : d + 1;
        }
        copies += 1024;
        t = bench_now_ns();
    }
    __asm__ volatile("" : : "r"(dst) : "memory");   /* the copies are used */
    free(src);
    free(dst);
    return (double)copies * frame_len / ((double)(t - t0) / 1e9);
}

/* Numbered frames over the mock front end's virtio-net driver, and the
 * accounting of what came back (see datapath_traffic.h). */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datapath_traffic.h"
#include "mfe_iotlb.h"

#define FRAME_HDR   26u        /* Ethernet header + magic, seq, pair, len */
#define ETH_MIN     60u
#define STD_MAX     1518u
#define NET_F_VERSION_1 32

static const uint8_t magic[4] = {'V', 'H', 'C', 'd'};

/* ---- features and start ---- */

uint64_t dp_features(const struct vhc_ctx *ctx, const struct dp_variant *v)
{
    static const struct { unsigned bit; size_t flag; } row_bits[] = {
        {MFE_F_RING_PACKED, offsetof(struct dp_variant, packed)},
        {MFE_F_INDIRECT_DESC, offsetof(struct dp_variant, indirect)},
        {MFE_NET_F_MRG_RXBUF, offsetof(struct dp_variant, mrg)},
        {MFE_F_EVENT_IDX, offsetof(struct dp_variant, event_idx)},
        {VHU_F_IOMMU_PLATFORM, offsetof(struct dp_variant, iommu)},
    };
    uint64_t offered = ctx->fe.features;
    uint64_t f = offered & (MFE_QEMU72_NET_GUEST_FEATURES | BIT(VHU_F_PROTOCOL_FEATURES));
    if (v->pairs > 1)
        f |= offered & BIT(VC_NET_F_MQ);
    if (v->no_protocol_bit)
        f &= ~BIT(VHU_F_PROTOCOL_FEATURES);
    for (size_t i = 0; i < ARRAY_LEN(row_bits); i++) {
        bool on = *(const bool *)((const char *)v + row_bits[i].flag);
        f = on ? f | (offered & BIT(row_bits[i].bit)) : f & ~BIT(row_bits[i].bit);
    }
    return f;
}

/* Packed rings must be laid out before the start: mfe_vq_setup keeps a
 * ready ring of the same size, so the start then uses them as they are. */
static void lay_out_packed(struct vhc_ctx *ctx, unsigned nvq)
{
    for (unsigned i = 0; i < nvq; i++) {
        int rc = mfe_ring_vq_packed(&ctx->fe, i, DP_RING);
        VHC_ASSERT(ctx, rc == 0, "frontend.ring", "laying out packed ring %u: %s", i,
                   strerror(-rc));
    }
}

static void net_up(struct dp *d, unsigned p)
{
    const struct dp_variant *v = d->v;
    struct mfe_net_opts o = {.max_frame = v->max_len, .tx_split_hdr = v->split_hdr,
                             .indirect = v->indirect};
    int rc = mfe_net_init(&d->net[p], &d->ctx->fe, p, &o);
    VHC_ASSERT(d->ctx, rc == 0, "frontend.net", "virtio-net driver on pair %u: %s", p,
               strerror(-rc));
}

void dp_start(struct dp *d, struct vhc_ctx *ctx, const struct dp_variant *v, uint32_t cap)
{
    memset(d, 0, sizeof *d);
    d->ctx = ctx;
    d->v = v;
    d->pairs = v->pairs;
    VHC_ASSERT(ctx, ctx->fe.features & BIT(NET_F_VERSION_1), "frontend.features",
               "the datapath cases drive VERSION_1 (12-byte header); not offered");
    vc_mem_qemu(ctx);
    if (v->packed)
        lay_out_packed(ctx, 2 * v->pairs);
    struct mfe_start_opts o = {.queue_pairs = v->pairs, .ring_size = DP_RING,
                               .features = dp_features(ctx, v), .reuse_memory = true};
    if (v->no_enable) {         /* no guest probing, no pair enabled: no SET_VRING_ENABLE */
        o.kind = MFE_START_RESUME;
        for (unsigned p = 0; p < MFE_MAX_VDEV; p++)
            ctx->fe.pair_enabled[p] = false;
    }
    VHC_OK(ctx, mfe_qemu_start(&ctx->fe, &o));
    mfe_note(&ctx->fe, "datapath: features 0x%016llx, %u pair(s), frames up to %u B",
             (unsigned long long)o.features, v->pairs, v->max_len);
    for (unsigned p = 0; p < d->pairs; p++) {
        net_up(d, p);
        d->st[p].cap = cap;
        d->st[p].seen = calloc(cap ? cap : 1, 1);
        VHC_ASSERT(ctx, d->st[p].seen, "frontend.memory", "out of memory");
    }
    d->batch = malloc((size_t)DP_BATCH * v->max_len);
    VHC_ASSERT(ctx, d->batch, "frontend.memory", "out of memory");
}

void dp_destroy(struct dp *d)
{
    for (unsigned p = 0; p < d->pairs; p++) {
        mfe_net_destroy(&d->net[p]);
        free(d->st[p].seen);
    }
    free(d->batch);
    d->pairs = 0;
}

/* ---- frames ---- */

/* Sizes around the places where back ends split or round: minimum frame,
 * powers of two, MTU 1500 with and without header, and for jumbo frames
 * the edges of 2048-byte mergeable buffers (2036 bytes after the header in
 * the first, 2048 in each one after). */
static const uint32_t std_sizes[] = {60, 61, 63, 64, 65, 127, 128, 129, 255, 256, 257, 511,
                                     512, 513, 1023, 1024, 1025, 1500, 1514, 1517, 1518};
static const uint32_t jumbo_sizes[] = {9000, 60, 2035, 2036, 2037, 4084, 4085, 6132, 6133,
                                       8180, 8181, 8999, 1518};

uint32_t dp_frame_len(const struct dp_variant *v, uint32_t seq)
{
    bool jumbo = v->max_len > STD_MAX;
    const uint32_t *fixed = jumbo ? jumbo_sizes : std_sizes;
    uint32_t nfixed = jumbo ? ARRAY_LEN(jumbo_sizes) : ARRAY_LEN(std_sizes);
    if (seq < nfixed)
        return fixed[seq];
    return ETH_MIN + (seq * 977u) % (v->max_len - ETH_MIN + 1);
}

static uint8_t pattern(unsigned pair, uint32_t seq, uint32_t k)
{
    return (uint8_t)(seq * 131u + k * 7u + pair * 17u + (k >> 8));
}

static void put_le(uint8_t *p, uint32_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le(const uint8_t *p, unsigned n)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

/* Unicast, locally administered MACs; the source names the pair. */
static void build(uint8_t *b, unsigned pair, uint32_t seq, uint32_t len)
{
    static const uint8_t dst[6] = {0x02, 'v', 'h', 'c', 0, 1};
    memcpy(b, dst, 6);
    memcpy(b + 6, dst, 6);
    b[10] = (uint8_t)pair;
    b[11] = 2;
    b[12] = 0x88;   /* 0x88b5: IEEE local experimental ethertype */
    b[13] = 0xb5;
    memcpy(b + 14, magic, 4);
    put_le(b + 18, seq, 4);
    b[22] = (uint8_t)pair;
    b[23] = 0;
    put_le(b + 24, len, 2);
    for (uint32_t k = FRAME_HDR; k < len; k++)
        b[k] = pattern(pair, seq, k);
}

unsigned dp_send(struct dp *d, unsigned p, unsigned count)
{
    struct dp_stream *s = &d->st[p];
    unsigned n = count < DP_BATCH ? count : DP_BATCH;
    if (n > s->cap - s->sent)
        n = s->cap - s->sent;
    if (n == 0)
        return 0;
    struct mfe_frame fr[DP_BATCH];
    for (unsigned i = 0; i < n; i++) {
        uint8_t *b = d->batch + (size_t)i * d->v->max_len;
        uint32_t len = dp_frame_len(d->v, s->sent + i);
        build(b, p, s->sent + i, len);
        fr[i] = (struct mfe_frame){b, len};
    }
    int rc = mfe_net_tx(&d->net[p], fr, n);
    VHC_ASSERT(d->ctx, rc >= 0, "datapath.tx", "TX on pair %u failed: %s (ring: %s)", p,
               strerror(-rc), d->net[p].tx.err);
    s->sent += (uint32_t)rc;
    return (unsigned)rc;
}

/* ---- accounting ---- */

struct rx_arg {
    struct dp *d;
    unsigned rxp;
};

static void note_bad(struct dp *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note_bad(struct dp *d, const char *fmt, ...)
{
    if (d->first_bad[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->first_bad, sizeof d->first_bad, fmt, ap);
    va_end(ap);
}

/* The first byte that differs from what was sent, or len when none. */
static uint32_t first_diff(const uint8_t *f, uint32_t len, unsigned pair, uint32_t seq)
{
    uint8_t head[FRAME_HDR];
    build(head, pair, seq, FRAME_HDR);
    put_le(head + 24, len, 2);
    for (uint32_t k = 0; k < FRAME_HDR; k++)
        if (f[k] != head[k])
            return k;
    for (uint32_t k = FRAME_HDR; k < len; k++)
        if (f[k] != pattern(pair, seq, k))
            return k;
    return len;
}

/* Is the frame ours at all?  Sets pair and seq when it is. */
static bool claim(struct dp *d, const uint8_t *f, uint32_t len, unsigned *pair, uint32_t *seq)
{
    if (len < FRAME_HDR || memcmp(f + 14, magic, 4) != 0 || f[22] >= d->pairs)
        return false;
    *pair = f[22];
    *seq = get_le(f + 18, 4);
    return *seq < d->st[*pair].sent;
}

static void count_arrival(struct dp *d, struct dp_stream *s, unsigned pair, unsigned rxp,
                          uint32_t seq)
{
    if (s->seen[seq]++ > 0) {
        s->dups++;
        note_bad(d, "pair %u seq %u came back a second time (RX pair %u)", pair, seq, rxp);
        return;
    }
    s->got++;
    if (seq < s->next[rxp]) {
        s->reordered++;
        note_bad(d, "pair %u seq %u came after seq %u on RX pair %u", pair, seq,
                 s->next[rxp] - 1, rxp);
        return;
    }
    s->next[rxp] = seq + 1;
}

static void on_frame(void *arg, const uint8_t *f, uint32_t len)
{
    struct rx_arg *a = arg;
    struct dp *d = a->d;
    unsigned pair;
    uint32_t seq;
    if (!claim(d, f, len, &pair, &seq)) {
        d->stray++;
        note_bad(d, "a %u-byte frame on RX pair %u that was never sent (not a numbered "
                    "frame, or a sequence number not yet sent)", len, a->rxp);
        return;
    }
    struct dp_stream *s = &d->st[pair];
    uint32_t want = dp_frame_len(d->v, seq);
    uint32_t at = len == want ? first_diff(f, len, pair, seq) : 0;
    if (len != want || at < len) {
        s->corrupt++;
        if (len != want)
            note_bad(d, "pair %u seq %u came back %u bytes long; sent %u", pair, seq, len, want);
        else
            note_bad(d, "pair %u seq %u (%u B): byte %u is 0x%02x; sent 0x%02x", pair, seq,
                     len, at, f[at], at < FRAME_HDR ? 0 : pattern(pair, seq, at));
        return;
    }
    count_arrival(d, s, pair, a->rxp, seq);
}

/* A used entry must name a posted chain; on RX its length must fit what was
 * posted (more would be a write past the buffer).  TX chains have no
 * device-writable part, so their used length should be 0; DPDK's packed
 * ring writes the bytes read there instead.  Drivers ignore that length
 * (Linux does), so it is noted in the transcript, not failed. */
static void check_ring(struct dp *d, const struct mfe_ring *r, bool tx, unsigned p)
{
    uint64_t bad = r->errors - (tx ? r->long_used : 0);
    VHC_ASSERT(d->ctx, bad == 0, "datapath.used",
               "expected the back end's used entries on the %s ring of pair %u to name "
               "posted buffers with lengths within them; %llu bad, last: %s",
               tx ? "TX" : "RX", p, (unsigned long long)bad, r->err);
    if (tx && r->long_used && !d->tx_len_noted) {
        d->tx_len_noted = true;
        mfe_note(&d->ctx->fe, "note: TX used len not 0 for a device-readable chain (%s)",
                 r->err);
    }
}

unsigned dp_receive(struct dp *d, unsigned p)
{
    struct mfe_net *n = &d->net[p];
    struct rx_arg a = {d, p};
    uint64_t before = n->rx.completed;
    int rc = mfe_net_rx_poll(n, on_frame, &a, ~0u);
    check_ring(d, &n->rx, false, p);
    VHC_ASSERT(d->ctx, rc >= 0, "datapath.rx", "RX ring of pair %u cannot be followed: %s", p,
               n->rx.err);
    VHC_ASSERT(d->ctx, n->rx_errors == 0, "datapath.rx-header",
               "expected every received packet's virtio-net header to be sound "
               "(num_buffers >= 1, within the reassembly limit); %llu bad on pair %u",
               (unsigned long long)n->rx_errors, p);
    return (unsigned)(n->rx.completed - before);
}

void dp_refill(struct dp *d, unsigned p, unsigned max)
{
    int rc = mfe_net_rx_refill_max(&d->net[p], max);
    VHC_ASSERT(d->ctx, rc >= 0, "datapath.rx", "RX refill on pair %u failed: %s", p,
               strerror(-rc));
}

static unsigned reclaim(struct dp *d, unsigned p)
{
    int rc = mfe_net_reclaim_tx(&d->net[p]);
    check_ring(d, &d->net[p].tx, true, p);
    VHC_ASSERT(d->ctx, rc >= 0, "datapath.tx", "TX ring of pair %u cannot be followed: %s", p,
               d->net[p].tx.err);
    return (unsigned)rc;
}

bool dp_wait(struct dp *d, int ms)
{
    struct pollfd fds[2 * DP_MAX_PAIRS + 1];
    bool waiting = false;
    for (unsigned p = 0; p < d->pairs; p++) {
        waiting |= mfe_ring_enable_cb(&d->net[p].rx);
        waiting |= mfe_ring_enable_cb(&d->net[p].tx);
        fds[2 * p] = (struct pollfd){.fd = d->net[p].rx_call, .events = POLLIN};
        fds[2 * p + 1] = (struct pollfd){.fd = d->net[p].tx_call, .events = POLLIN};
    }
    struct mfe *f = &d->ctx->fe;
    unsigned nfds = 2 * d->pairs;
    if (f->iotlb && f->backend_req >= 0)     /* a vIOMMU answers MISSes meanwhile */
        fds[nfds++] = (struct pollfd){.fd = f->backend_req, .events = POLLIN};
    int n = waiting ? 1 : poll(fds, nfds, ms);
    if (n > 0 && nfds > 2 * d->pairs && (fds[nfds - 1].revents & POLLIN))
        (void)mfe_iotlb_serve(f->iotlb, 0, 0);
    for (unsigned p = 0; p < d->pairs; p++) {
        mfe_ring_disable_cb(&d->net[p].rx);
        mfe_ring_disable_cb(&d->net[p].tx);
        (void)mfe_ring_wait(d->net[p].rx_call, 0);   /* drain */
        (void)mfe_ring_wait(d->net[p].tx_call, 0);
    }
    return n > 0;
}

/* ---- pumping ---- */

long long dp_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Every pair has sent count, and all but `lost` frames are back. */
static bool all_back(const struct dp *d, uint32_t count, uint32_t lost)
{
    for (unsigned p = 0; p < d->pairs; p++)
        if (d->st[p].sent < count)
            return false;
    return dp_lost(d) <= lost;
}

/* Frames in flight that can still come back. */
static uint32_t in_flight(const struct dp *d, uint32_t lost)
{
    uint32_t out = dp_lost(d);
    return out > lost ? out - lost : 0;
}

/* Receive, refill and reclaim on every pair; true when anything moved. */
static bool service(struct dp *d, bool refill)
{
    bool moved = false;
    for (unsigned p = 0; p < d->pairs; p++) {
        moved |= dp_receive(d, p) > 0;
        if (refill)
            dp_refill(d, p, ~0u);
        moved |= reclaim(d, p) > 0;
    }
    return moved;
}

bool dp_pump(struct dp *d, uint32_t count, unsigned window, uint32_t lost)
{
    long long last = dp_now_ms();
    for (;;) {
        bool moved = service(d, true);
        if (all_back(d, count, lost))
            return true;
        for (unsigned p = 0; p < d->pairs; p++) {
            uint32_t out = in_flight(d, lost);
            uint32_t room = out < window ? window - out : 0;
            uint32_t want = count - d->st[p].sent;
            moved |= dp_send(d, p, room < want ? room : want) > 0;
        }
        long long now = dp_now_ms();
        if (now - last > d->longest_pause_ms)
            d->longest_pause_ms = now - last;
        if (moved)
            last = now;
        else if (now - last >= DP_STALL_MS)
            return false;
        else
            dp_wait(d, 20);
    }
}

void dp_drain(struct dp *d, int ms, bool refill)
{
    long long last = dp_now_ms();
    while (dp_now_ms() - last < ms) {
        if (service(d, refill))
            last = dp_now_ms();
        else
            dp_wait(d, 10);
    }
}

unsigned dp_window(const struct dp *d)
{
    uint32_t per = 1;
    if (d->net[0].mrg) {
        uint32_t buf = d->net[0].rxp.slot_len;
        per = (d->v->max_len + MFE_NET_HDR_LEN + buf - 1) / buf;
    }
    return DP_RING / per;
}

/* ---- reporting ---- */

uint32_t dp_lost(const struct dp *d)
{
    uint32_t n = 0;
    for (unsigned p = 0; p < d->pairs; p++)
        n += d->st[p].sent - d->st[p].got;
    return n;
}

uint32_t dp_bad(const struct dp *d)
{
    uint32_t n = d->stray;
    for (unsigned p = 0; p < d->pairs; p++)
        n += d->st[p].dups + d->st[p].reordered + d->st[p].corrupt;
    return n;
}

const char *dp_summary(const struct dp *d, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (unsigned p = 0; p < d->pairs && n < cap; p++) {
        const struct dp_stream *s = &d->st[p];
        n += (size_t)snprintf(buf + n, cap - n,
                              "%spair %u: sent %u, back %u, lost %u, duplicated %u, "
                              "out of order %u, corrupt %u", p ? "; " : "", p, s->sent,
                              s->got, s->sent - s->got, s->dups, s->reordered, s->corrupt);
    }
    if (n < cap && d->stray)
        n += (size_t)snprintf(buf + n, cap - n, "; %u stray", d->stray);
    if (n < cap && d->first_bad[0])
        snprintf(buf + n, cap - n, "; first problem: %s", d->first_bad);
    return buf;
}

/* ---- the liveness tail of the hardening cases ---- */

void dp_recover(struct vhc_ctx *ctx, const char *after)
{
    static const struct dp_variant plain = { .pairs = 1, .max_len = 1518 };
    static struct dp d;
    char sum[900];
    VHC_OK(ctx, mfe_qemu_init(&ctx->fe, 1));
    vc_mem_new(ctx, MFE_QEMU_MEM_SIZE, MFE_LAYOUT_QEMU, 2);
    dp_start(&d, ctx, &plain, 64);
    dp_refill(&d, 0, ~0u);
    bool all = dp_pump(&d, 64, dp_window(&d), 0);
    VHC_ASSERT(ctx, all && dp_bad(&d) == 0, "hardening.recover",
               "expected 64 valid frames looped back on a new connection after %s; got %s",
               after, dp_summary(&d, sum, sizeof sum));
    dp_destroy(&d);
}

/* ---- RX canaries: what a back end must not write ---- */

unsigned dp_plant_canaries(struct dp *d, unsigned p, uint8_t byte)
{
    struct mfe_net_pool *pool = &d->net[p].rxp;
    for (unsigned i = 0; i < pool->n; i++)
        memset(pool->hva + (size_t)i * pool->slot_len, byte, pool->slot_len);
    dp_refill(d, p, ~0u);
    return pool->n;
}

void dp_check_canaries(struct dp *d, unsigned p, uint8_t byte, const char *rule,
                       const char *when)
{
    const struct mfe_net_pool *pool = &d->net[p].rxp;
    for (unsigned i = 0; i < pool->n; i++) {
        const uint8_t *b = pool->hva + (size_t)i * pool->slot_len;
        for (uint32_t k = 0; k < pool->slot_len; k++)
            VHC_ASSERT(d->ctx, b[k] == byte, rule,
                       "expected no RX buffer of pair %u written %s; buffer %u (guest 0x%llx) "
                       "changed at byte %u (0x%02x)", p, when, i,
                       (unsigned long long)(pool->gpa + (uint64_t)i * pool->slot_len), k, b[k]);
    }
    VHC_ASSERT(d->ctx, !mfe_ring_has_used(&d->net[p].rx), rule,
               "expected no used entry on pair %u's RX ring %s; there is one", p, when);
}

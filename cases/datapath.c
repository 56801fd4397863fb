/* datapath/: frames through the back end and back (a loopback back end:
 * vhost-refnet by default, testpmd in io forwarding), checked for contents,
 * order, loss, notifications and the ring state a stop reports.
 *
 * Variants are data: each case row points at a struct dp_variant, and the
 * bodies read it through ctx->c->variant. */
#include <string.h>
#include <unistd.h>

#include "datapath_traffic.h"

#define F_VERSION_1   BIT(32)
#define F_PACKED      BIT(MFE_F_RING_PACKED)
#define F_INDIRECT    BIT(MFE_F_INDIRECT_DESC)
#define F_EVENT_IDX   BIT(MFE_F_EVENT_IDX)
#define F_MRG         BIT(MFE_NET_F_MRG_RXBUF)

#define SUMMARY_LEN   900

static struct dp the_dp;   /* two drivers and their rings: off the stack */

static const struct dp_variant *variant(struct vhc_ctx *ctx)
{
    return ctx->c->variant;
}

static void start(struct vhc_ctx *ctx, uint32_t cap, unsigned rx_posted)
{
    dp_start(&the_dp, ctx, variant(ctx), cap);
    for (unsigned p = 0; p < the_dp.pairs; p++)
        dp_refill(&the_dp, p, rx_posted);
}

/* ---- loopback: contents, order, loss ---- */

/* Where GET_VRING_BASE must say a TX ring stands once every chain posted
 * was used: split rings count chains in a 16-bit index; packed rings count
 * descriptor positions, with the wrap counter in bit 15 (it starts at 1). */
static uint16_t tx_base_expected(const struct dp *d, unsigned p)
{
    uint64_t chains = d->net[p].tx.added;
    if (!d->v->packed)
        return (uint16_t)chains;
    uint64_t per = (d->v->split_hdr && !d->v->indirect) ? 2 : 1;
    uint64_t pos = chains * per;
    bool wrap = (pos / DP_RING) % 2 == 0;
    return (uint16_t)((pos % DP_RING) | (wrap ? 0x8000u : 0));
}

static void check_tx_bases(struct vhc_ctx *ctx, struct dp *d)
{
    uint16_t bases[MFE_MAX_VQ];
    dp_drain(d, DP_SETTLE_MS, true);   /* the last TX completions */
    VHC_OK(ctx, mfe_qemu_stop(&ctx->fe, bases));
    for (unsigned p = 0; p < d->pairs; p++) {
        uint16_t want = tx_base_expected(d, p);
        VHC_ASSERT(ctx, bases[2 * p + 1] == want, "vring.base.traffic",
                   "expected GET_VRING_BASE of TX ring %u to be 0x%x after %llu chains "
                   "were all used; got 0x%x", 2 * p + 1, want,
                   (unsigned long long)d->net[p].tx.added, bases[2 * p + 1]);
    }
}

static void loopback(struct vhc_ctx *ctx)
{
    struct dp *d = &the_dp;
    char sum[SUMMARY_LEN];
    uint32_t count = variant(ctx)->max_len > 1518 ? 500 : 2000;
    start(ctx, count, ~0u);
    unsigned window = dp_window(d);
    bool all = dp_pump(d, count, window, 0);
    VHC_ASSERT(ctx, dp_bad(d) == 0, "datapath.integrity",
               "expected every frame back once, in order, bit for bit; got %s",
               dp_summary(d, sum, sizeof sum));
    VHC_ASSERT(ctx, all, "datapath.loss",
               "expected all %u frames of each pair back (never more than %u unanswered, so "
               "RX was never short of buffers), none missing %d ms after the last progress; "
               "got %s", count, window, DP_STALL_MS, dp_summary(d, sum, sizeof sum));
    check_tx_bases(ctx, d);
    dp_destroy(d);
}

/* ---- RX ring empty, then refilled ---- */

#define EMPTY_POSTED 32u
#define EMPTY_SENT   200u   /* < DP_RING: every frame fits the TX ring at once */

static void send_all(struct vhc_ctx *ctx, struct dp *d, uint32_t n)
{
    for (unsigned tries = 0; d->st[0].sent < n; tries++) {
        VHC_ASSERT(ctx, tries < 64, "datapath.tx",
                   "expected %u frames to fit the %u-entry TX ring; %u posted", n, DP_RING,
                   d->st[0].sent);
        if (dp_send(d, 0, n - d->st[0].sent) == 0)
            dp_wait(d, 10);
    }
}

static void rx_empty(struct vhc_ctx *ctx)
{
    struct dp *d = &the_dp;
    char sum[SUMMARY_LEN];
    start(ctx, EMPTY_SENT, EMPTY_POSTED);
    send_all(ctx, d, EMPTY_SENT);
    dp_drain(d, 3 * DP_SETTLE_MS, false);   /* RX stays short */
    uint32_t before = d->st[0].got;
    VHC_ASSERT(ctx, before >= EMPTY_POSTED, "datapath.rx-empty",
               "expected the %u posted RX buffers filled while %u frames were offered; "
               "got %s", EMPTY_POSTED, EMPTY_SENT, dp_summary(d, sum, sizeof sum));
    dp_refill(d, 0, ~0u);
    dp_drain(d, 3 * DP_SETTLE_MS, true);
    VHC_ASSERT(ctx, dp_bad(d) == 0, "datapath.integrity",
               "expected no frame duplicated, reordered or damaged when RX ran empty and "
               "was refilled; got %s", dp_summary(d, sum, sizeof sum));
    const struct mfe_ring *tx = &d->net[0].tx;
    VHC_ASSERT(ctx, tx->completed == tx->added, "datapath.tx-complete",
               "expected every TX chain used once RX buffers were back (a back end may drop "
               "or wait for RX room, not keep TX buffers); %llu of %llu used; %s",
               (unsigned long long)tx->completed, (unsigned long long)tx->added,
               dp_summary(d, sum, sizeof sum));
    uint32_t lost = dp_lost(d);
    mfe_note(&ctx->fe, "RX ran empty: %u of %u frames back (%u before the refill), %u "
             "dropped: the back end %s", d->st[0].got, EMPTY_SENT, before, lost,
             lost ? "drops when RX is full" : "waits for RX buffers");
    dp_destroy(d);
}

/* ---- notifications on the RX ring ---- */

#define NOTIFY_AHEAD  4u   /* used_event this many entries on */
#define NOTIFY_QUIET  8u   /* frames sent while calls are off */

/* Wait (polling, never on the call) until n frames came back. */
static void wait_back(struct vhc_ctx *ctx, struct dp *d, uint32_t n)
{
    char sum[SUMMARY_LEN];
    for (int ms = 0; d->st[0].got < n; ms++) {
        VHC_ASSERT(ctx, ms < DP_STALL_MS, "datapath.loss",
                   "expected frame %u back within %d ms; got %s", n - 1, DP_STALL_MS,
                   dp_summary(d, sum, sizeof sum));
        if (dp_receive(d, 0) == 0)
            usleep(1000);
    }
}

static void send_one(struct vhc_ctx *ctx, struct dp *d)
{
    VHC_ASSERT(ctx, dp_send(d, 0, 1) == 1, "datapath.tx", "could not post one TX frame");
}

/* One frame there and back, then the call drained: Linux vhost and DPDK
 * both signal once unconditionally after a start (they do not yet know
 * which index they last signalled), which the spec's SHOULD NOT allows. */
static void prime(struct vhc_ctx *ctx, struct dp *d)
{
    send_one(ctx, d);
    wait_back(ctx, d, d->st[0].sent);
    usleep(DP_SETTLE_MS * 1000);
    (void)mfe_ring_wait(d->net[0].rx_call, 0);
}

static void expect_no_call(struct vhc_ctx *ctx, struct dp *d, const char *rule,
                           const char *why)
{
    int rc = mfe_ring_wait(d->net[0].rx_call, 0);
    VHC_ASSERT(ctx, rc == 0, rule, "expected no call on the RX ring %s; got one after %u "
               "frames", why, d->st[0].got);
}

static void expect_call(struct vhc_ctx *ctx, struct dp *d, const char *rule, const char *why)
{
    int rc = mfe_ring_wait(d->net[0].rx_call, DP_STALL_MS);
    VHC_ASSERT(ctx, rc == 1, rule, "expected a call on the RX ring %s within %d ms; got %s",
               why, DP_STALL_MS, rc == 0 ? "none" : strerror(-rc));
}

static void used_event_ahead(struct vhc_ctx *ctx)
{
    struct dp *d = &the_dp;
    char sum[SUMMARY_LEN];
    start(ctx, 16, ~0u);
    prime(ctx, d);
    uint32_t base = d->st[0].got;
    VHC_ASSERT(ctx, !mfe_ring_enable_cb_after(&d->net[0].rx, NOTIFY_AHEAD), "datapath.rx",
               "RX entries waiting that were never sent");
    mfe_note(&ctx->fe, "RX: call asked for after %u more used entries", NOTIFY_AHEAD);
    for (uint32_t i = 1; i < NOTIFY_AHEAD; i++) {
        send_one(ctx, d);
        wait_back(ctx, d, base + i);
        expect_no_call(ctx, d, "notify.used-event", "before the used index reaches the "
                       "event (used_event / driver event area set 4 entries ahead)");
    }
    usleep(DP_SETTLE_MS * 1000);
    expect_no_call(ctx, d, "notify.used-event", "before the used index reaches the event");
    send_one(ctx, d);
    expect_call(ctx, d, "notify.used-event", "when the used index passed the event");
    wait_back(ctx, d, base + NOTIFY_AHEAD);
    VHC_ASSERT(ctx, dp_bad(d) == 0, "datapath.integrity", "frames: %s",
               dp_summary(d, sum, sizeof sum));
    dp_destroy(d);
}

static void no_interrupt(struct vhc_ctx *ctx)
{
    struct dp *d = &the_dp;
    char sum[SUMMARY_LEN];
    start(ctx, 16, ~0u);
    prime(ctx, d);
    uint32_t base = d->st[0].got;
    mfe_ring_disable_cb(&d->net[0].rx);   /* NO_INTERRUPT, or packed DISABLE */
    for (uint32_t i = 1; i <= NOTIFY_QUIET; i++) {
        send_one(ctx, d);
        wait_back(ctx, d, base + i);
        expect_no_call(ctx, d, "notify.no-interrupt", "while the driver suppresses calls");
    }
    usleep(DP_SETTLE_MS * 1000);
    expect_no_call(ctx, d, "notify.no-interrupt", "while the driver suppresses calls");
    VHC_ASSERT(ctx, !mfe_ring_enable_cb(&d->net[0].rx), "datapath.rx",
               "RX entries waiting that were never sent");
    send_one(ctx, d);
    expect_call(ctx, d, "notify.no-interrupt", "once calls are enabled again");
    wait_back(ctx, d, base + NOTIFY_QUIET + 1);
    VHC_ASSERT(ctx, dp_bad(d) == 0, "datapath.integrity", "frames: %s",
               dp_summary(d, sum, sizeof sum));
    dp_destroy(d);
}

/* ---- stop during traffic ---- */

static void send_until(struct vhc_ctx *ctx, struct dp *d, uint32_t n)
{
    (void)ctx;
    while (d->st[0].sent < n && dp_send(d, 0, n - d->st[0].sent) > 0)
        ;
}

static uint32_t get_vring_base_reply(struct vhc_ctx *ctx, unsigned idx)
{
    struct vhu_msg reply;
    VHC_OK(ctx, mfe_recv(&ctx->fe, &reply));
    vhu_msg_close_fds(&reply);
    vc_check_reply(ctx, &reply, VHU_REQ_GET_VRING_BASE);
    VHC_ASSERT(ctx, reply.u.state.index == idx, "vring.base.index",
               "expected GET_VRING_BASE reply for ring %u; got ring %u", idx,
               reply.u.state.index);
    return reply.u.state.num;
}

static void check_split_stop(struct vhc_ctx *ctx, struct dp *d, uint32_t base)
{
    struct mfe_ring *tx = &d->net[0].tx;
    uint16_t used = __atomic_load_n(tx->used_idx, __ATOMIC_ACQUIRE);
    uint16_t avail = __atomic_load_n(tx->avail_idx, __ATOMIC_RELAXED);
    mfe_note(&ctx->fe, "stopped TX: base %u, used idx %u, avail idx %u", base, used, avail);
    VHC_ASSERT(ctx, base <= 0xffff && (uint16_t)(avail - base) <= DP_RING, "vring.base.stop",
               "expected GET_VRING_BASE's index (%u) not past the avail index (%u)", base,
               avail);
    VHC_ASSERT(ctx, base == used, "vring.base.stop",
               "expected GET_VRING_BASE's index (%u) to equal the used index the back end "
               "had written (%u): chains before it used, none in flight (avail idx %u)",
               base, used, avail);
    usleep(DP_SETTLE_MS * 1000);
    uint16_t later = __atomic_load_n(tx->used_idx, __ATOMIC_ACQUIRE);
    VHC_ASSERT(ctx, later == used, "vring.stop.used-write",
               "expected no used-ring write after GET_VRING_BASE's reply (the ring is "
               "stopped); used index moved %u -> %u", used, later);
}

/* Positions over at most two laps, as one number (the wrap counter starts
 * at 1; the stop case posts at most one ring's worth). */
static unsigned lap_pos(unsigned pos, bool wrap)
{
    return pos + (wrap ? 0 : DP_RING);
}

static void check_packed_stop(struct vhc_ctx *ctx, struct dp *d, uint32_t base)
{
    struct mfe_ring *tx = &d->net[0].tx;
    (void)mfe_net_reclaim_tx(&d->net[0]);
    unsigned at = lap_pos(base & 0x7fff, base & 0x8000);
    unsigned used = lap_pos(tx->last_used, tx->used_wrap);
    unsigned avail = lap_pos(tx->next_avail, tx->avail_wrap);
    mfe_note(&ctx->fe, "stopped TX: base 0x%x, used position %u, avail position %u", base,
             used, avail);
    VHC_ASSERT(ctx, at <= avail, "vring.base.stop",
               "expected GET_VRING_BASE (0x%x: position %u) not past the driver's next "
               "available position %u", base, at, avail);
    VHC_ASSERT(ctx, at == used, "vring.base.stop",
               "expected GET_VRING_BASE (0x%x: position %u) to equal the position after "
               "the last used descriptor the back end wrote (%u)", base, at, used);
    usleep(DP_SETTLE_MS * 1000);
    VHC_ASSERT(ctx, !mfe_ring_has_used(tx), "vring.stop.used-write",
               "expected no used descriptor written after GET_VRING_BASE's reply (the ring "
               "is stopped); one appeared at position %u", tx->last_used);
}

static void stop_during_traffic(struct vhc_ctx *ctx)
{
    struct dp *d = &the_dp;
    start(ctx, DP_RING, ~0u);
    send_until(ctx, d, DP_RING / 2);
    struct vhu_msg q;
    vhu_msg_state(&q, VHU_REQ_GET_VRING_BASE, 1, 0);
    VHC_OK(ctx, mfe_send(&ctx->fe, &q));
    send_until(ctx, d, DP_RING);   /* more kicks while the stop is on its way */
    uint32_t base = get_vring_base_reply(ctx, 1);
    if (d->v->packed)
        check_packed_stop(ctx, d, base);
    else
        check_split_stop(ctx, d, base);
    dp_destroy(d);
}

/* ---- the variants ---- */

#define STD .max_len = 1518, .event_idx = true
static const struct dp_variant v_split = {.pairs = 1, .mrg = true, STD};
static const struct dp_variant v_split_ind = {.pairs = 1, .mrg = true, .indirect = true,
                                              .split_hdr = true, STD};
static const struct dp_variant v_split_nomrg = {.pairs = 1, .split_hdr = true, STD};
static const struct dp_variant v_split_9000 = {.pairs = 1, .mrg = true, .max_len = 9000,
                                               .event_idx = true};
static const struct dp_variant v_packed = {.pairs = 1, .packed = true, .mrg = true, STD};
static const struct dp_variant v_packed_ind = {.pairs = 1, .packed = true, .mrg = true,
                                               .indirect = true, .split_hdr = true, STD};
static const struct dp_variant v_packed_nomrg = {.pairs = 1, .packed = true,
                                                 .split_hdr = true, STD};
static const struct dp_variant v_packed_9000 = {.pairs = 1, .packed = true, .mrg = true,
                                                .max_len = 9000, .event_idx = true};
static const struct dp_variant v_mq = {.pairs = 2, .mrg = true, STD};
static const struct dp_variant v_mq_packed = {.pairs = 2, .packed = true, .mrg = true, STD};
static const struct dp_variant v_split_noev = {.pairs = 1, .mrg = true, .max_len = 1518};
static const struct dp_variant v_packed_noev = {.pairs = 1, .packed = true, .mrg = true,
                                                .max_len = 1518};

#define LOOP_RULE "virtio 1.1, 5.1.6 Device Operation: a packet sent is a packet (the " \
                  "frame after the virtio-net header, byte for byte); a loopback back end " \
                  "hands each TX frame to RX once, in order per queue; with RX never short " \
                  "of buffers nothing may be lost; vhost-user.rst GET_VRING_BASE then " \
                  "reports every TX chain consumed"
#define LOOP_STEPS(what) "QEMU init; start (" what "); RX filled; numbered frames of " \
                         "varied sizes sent while at most a ring's worth of RX buffers " \
                         "is unanswered; each checked for length, bytes, order, " \
                         "duplicates; stop: TX base = chains posted"
#define LOOP(case_id, var, feats, what, secs) { \
        .id = case_id, \
        .summary = "frames come back bit-exact and in order (" what ")", \
        .rule = LOOP_RULE, .steps = LOOP_STEPS(what), \
        .features = F_VERSION_1 | (feats), .flags = VHC_F_NET, .timeout_s = (secs), \
        .body = loopback, .variant = &(var) }

#define EMPTY_RULE "virtio 1.1, 5.1.6.3/5.1.6.4: the device uses RX buffers the driver " \
                   "made available; when there are none it may drop or wait (the spec " \
                   "does not say which), but it must not duplicate, reorder or damage " \
                   "frames, must fill what was posted, and must give TX buffers back"
#define EMPTY(case_id, var, feats) { \
        .id = case_id, \
        .summary = "RX ring runs empty, then is refilled: nothing duplicated or damaged", \
        .rule = EMPTY_RULE, \
        .steps = "start; 32 RX buffers; 200 frames sent; 32 or more back; RX refilled; " \
                 "no duplicate, reordering or damage; every TX chain used; the count " \
                 "dropped is noted", \
        .features = F_VERSION_1 | (feats), .flags = VHC_F_NET, .timeout_s = 30, \
        .body = rx_empty, .variant = &(var) }

#define EVENT_RULE "virtio 1.1, 2.6.7.2 / 2.7.10 with VIRTIO_F_EVENT_IDX: the device " \
                   "MUST notify when the used index passes used_event (packed: the " \
                   "descriptor the driver event names) and SHOULD NOT otherwise"
#define NOINT_RULE "virtio 1.1, 2.6.7.2 / 2.7.10 without VIRTIO_F_EVENT_IDX: with " \
                   "VRING_AVAIL_F_NO_INTERRUPT set (packed: driver event flags DISABLE) " \
                   "the device SHOULD NOT notify; once cleared it must notify again"
#define STOP_RULE "vhost-user.rst, GET_VRING_BASE: stops the ring and returns where it " \
                  "stands; a front end restarts from that index, so every chain before it " \
                  "must be used and none after it, and nothing may be written to the used " \
                  "ring after the reply (split: index = used idx; packed: position and " \
                  "wrap counter of the next descriptor)"

const struct vhc_case vhc_cases_datapath[] = {
    LOOP("datapath/loopback/split", v_split, F_MRG, "split, mergeable RX", 30),
    LOOP("datapath/loopback/split-indirect",
         v_split_ind, F_MRG | F_INDIRECT, "split, indirect TX", 30),
    LOOP("datapath/loopback/split-nomrg", v_split_nomrg, 0, "split, no MRG_RXBUF, chained TX", 30),
    LOOP("datapath/loopback/split-mrg-9000",
         v_split_9000, F_MRG, "split, 9000-byte frames over MRG_RXBUF",
         60),
    LOOP("datapath/loopback/packed", v_packed, F_PACKED | F_MRG, "packed, mergeable RX", 30),
    LOOP("datapath/loopback/packed-indirect", v_packed_ind, F_PACKED | F_MRG | F_INDIRECT,
         "packed, indirect TX", 30),
    LOOP("datapath/loopback/packed-nomrg",
         v_packed_nomrg, F_PACKED, "packed, no MRG_RXBUF, chained TX", 30),
    LOOP("datapath/loopback/packed-mrg-9000", v_packed_9000, F_PACKED | F_MRG,
         "packed, 9000-byte frames over MRG_RXBUF", 60),
    {
        .id = "datapath/mq/two-pairs",
        .summary = "2 queue pairs: frames of each pair come back bit-exact, in order",
        .rule = LOOP_RULE "; vhost-user.rst Multiple queue support: each pair is its own "
                "stream",
        .steps = LOOP_STEPS("2 pairs, split") "; every pair",
        .features = F_VERSION_1 | F_MRG, .protocol_features = PF(MQ),
        .flags = VHC_F_MQ | VHC_F_NET, .timeout_s = 45, .body = loopback, .variant = &v_mq,
    },
    {
        .id = "datapath/mq/two-pairs-packed",
        .summary = "2 packed queue pairs: frames come back bit-exact, in order",
        .rule = LOOP_RULE "; vhost-user.rst Multiple queue support",
        .steps = LOOP_STEPS("2 pairs, packed") "; every pair",
        .features = F_VERSION_1 | F_MRG | F_PACKED, .protocol_features = PF(MQ),
        .flags = VHC_F_MQ | VHC_F_NET, .timeout_s = 45, .body = loopback, .variant = &v_mq_packed,
    },
    EMPTY("datapath/rx-empty/split", v_split, F_MRG),
    EMPTY("datapath/rx-empty/packed", v_packed, F_PACKED | F_MRG),
    {
        .id = "datapath/notify/used-event-split",
        .summary = "event idx: no RX call before used_event is reached, one when it is",
        .rule = EVENT_RULE,
        .steps = "start with EVENT_IDX; one frame there and back (call drained); "
                 "used_event 4 entries ahead; 3 frames: no call; the 4th: a call",
        .features = F_VERSION_1 | F_MRG | F_EVENT_IDX, .flags = VHC_F_NET, .timeout_s = 30,
        .body = used_event_ahead, .variant = &v_split,
    },
    {
        .id = "datapath/notify/used-event-packed",
        .summary = "packed event idx: no RX call before the named descriptor, one after",
        .rule = EVENT_RULE,
        .steps = "start packed with EVENT_IDX; one frame there and back; driver event "
                 "DESC 4 positions ahead; 3 frames: no call; the 4th: a call",
        .features = F_VERSION_1 | F_MRG | F_EVENT_IDX | F_PACKED, .flags = VHC_F_NET, .timeout_s = 30,
        .body = used_event_ahead, .variant = &v_packed,
    },
    {
        .id = "datapath/notify/no-interrupt-split",
        .summary = "VRING_AVAIL_F_NO_INTERRUPT: no RX call while set, a call once cleared",
        .rule = NOINT_RULE,
        .steps = "start without EVENT_IDX; one frame there and back; NO_INTERRUPT; 8 "
                 "frames: no call; flag cleared; one frame: a call",
        .features = F_VERSION_1 | F_MRG, .flags = VHC_F_NET, .timeout_s = 30,
        .body = no_interrupt, .variant = &v_split_noev,
    },
    {
        .id = "datapath/notify/no-interrupt-packed",
        .summary = "packed driver event DISABLE: no RX call while set, a call once enabled",
        .rule = NOINT_RULE,
        .steps = "start packed without EVENT_IDX; one frame there and back; DISABLE; 8 "
                 "frames: no call; ENABLE; one frame: a call",
        .features = F_VERSION_1 | F_MRG | F_PACKED, .flags = VHC_F_NET, .timeout_s = 30,
        .body = no_interrupt, .variant = &v_packed_noev,
    },
    {
        .id = "datapath/stop/during-traffic-split",
        .summary = "GET_VRING_BASE during a TX burst equals the used index, which then "
                   "stays",
        .rule = STOP_RULE,
        .steps = "start; 128 frames posted; GET_VRING_BASE(TX) sent; 128 more posted and "
                 "kicked; reply: index = used idx, <= avail idx; 100 ms: used idx unchanged",
        .features = F_VERSION_1 | F_MRG, .flags = VHC_F_NET, .timeout_s = 30,
        .body = stop_during_traffic, .variant = &v_split,
    },
    {
        .id = "datapath/stop/during-traffic-packed",
        .summary = "packed GET_VRING_BASE during a TX burst names the next used position",
        .rule = STOP_RULE,
        .steps = "start packed; 128 frames posted; GET_VRING_BASE(TX) sent; 128 more; "
                 "reply: position and wrap = after the last used descriptor, not past "
                 "avail; 100 ms: no used descriptor appears",
        .features = F_VERSION_1 | F_MRG | F_PACKED, .flags = VHC_F_NET, .timeout_s = 30,
        .body = stop_during_traffic, .variant = &v_packed,
    },
};
const size_t vhc_cases_datapath_n = ARRAY_LEN(vhc_cases_datapath);

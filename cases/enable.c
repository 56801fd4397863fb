/* enable/: SET_VRING_ENABLE and the spec's "Ring states".
 *
 * A ring is started (SET_VRING_KICK) or stopped (GET_VRING_BASE), and,
 * independently, enabled or disabled.  Started and disabled, a net back end
 * must supply no new RX frame (no RX buffer written, no used entry) and may
 * take TX frames only to discard them: nothing a disabled pair is given
 * reaches any RX ring.  The spec says a disabled TX ring is processed and its
 * frames discarded; DPDK, the kernel's vhost-net and vhost-refnet hold them
 * until the enable instead (QEMU 7.2 enables a pair after starting it, and a
 * back end that discarded would drop the first frames of a race it cannot
 * win), so the cases accept either and check the RX side.  Without
 * PROTOCOL_FEATURES negotiated a ring is enabled from the start; with it, a
 * ring starts disabled until SET_VRING_ENABLE(1).  Every check uses numbered
 * frames, so a frame that comes back twice, out of order or changed is
 * caught. */
#include <string.h>
#include <unistd.h>

#include "datapath_traffic.h"

#define CANARY     0x5au
#define QUIET_MS   vhc_ms(300)    /* a disabled ring is watched this long */
#define SETTLE_MS  vhc_ms(100)    /* a burst in flight when the disable came */
#define WARM       64u            /* frames before the ring states change */
#define MORE       256u           /* frames after they change back */
#define CAP        (WARM + 4 * MORE + 4 * DP_BATCH)
#define F_VERSION_1 BIT(32)
#define F_PACKED    BIT(MFE_F_RING_PACKED)

static struct dp the_dp;

static const struct dp_variant *variant(struct vhc_ctx *ctx)
{
    return ctx->c->variant;
}

/* SET_VRING_ENABLE of both rings of pair p, each a valid request (acked
 * with REPLY_ACK, the stream in sync without): handled before we go on. */
static void enable_pair(struct vhc_ctx *ctx, unsigned p, unsigned on)
{
    for (unsigned r = 2 * p; r < 2 * p + 2; r++)
        vc_accepts_state(ctx, VHU_REQ_SET_VRING_ENABLE, r, on, "vring.enable");
    mfe_note(&ctx->fe, "-- pair %u %s --", p, on ? "enabled" : "disabled");
}

static void pump(struct vhc_ctx *ctx, struct dp *d, unsigned p, uint32_t more,
                 uint32_t lost, const char *when)
{
    char sum[600];
    uint32_t target = d->st[p].sent + more;
    VHC_ASSERT(ctx, dp_pump(d, target, dp_window(d), lost), "vring.enable.resume",
               "expected every frame back %s; nothing moved for %d ms: %s", when,
               DP_STALL_MS, dp_summary(d, sum, sizeof sum));
    dp_drain(d, DP_SETTLE_MS, true);
}

/* A disabled pair p: canaries in its RX buffers, a batch of frames kicked at
 * its TX ring, then QUIET_MS in which no RX buffer may change. */
static uint32_t watch_disabled(struct vhc_ctx *ctx, struct dp *d, unsigned p, const char *when)
{
    usleep((useconds_t)SETTLE_MS * 1000u);
    dp_receive(d, p);           /* what was written before the disable took */
    unsigned n = dp_plant_canaries(d, p, CANARY);
    uint32_t sent = dp_send(d, p, DP_BATCH);
    usleep((useconds_t)QUIET_MS * 1000u);
    dp_check_canaries(d, p, CANARY, "vring.disabled", when);
    mfe_note(&ctx->fe, "pair %u disabled: %u RX buffers untouched, %u TX frames kicked, "
             "%d ms", p, n, sent, QUIET_MS);
    return sent;
}

static void check_integrity(struct vhc_ctx *ctx, struct dp *d, const char *when)
{
    char sum[600];
    VHC_ASSERT(ctx, dp_bad(d) == 0, "datapath.integrity",
               "expected no frame duplicated, reordered or changed %s; %s", when,
               dp_summary(d, sum, sizeof sum));
}

static void warm(struct vhc_ctx *ctx, struct dp *d, unsigned pairs)
{
    dp_start(d, ctx, variant(ctx), CAP);
    for (unsigned p = 0; p < pairs; p++)
        dp_refill(d, p, ~0u);
    for (unsigned p = 0; p < pairs; p++)
        pump(ctx, d, p, WARM, 0, "before any ring was disabled");
}

/* Pair p disabled (`in_flight` frames kicked just before it and not waited
 * for), watched while disabled, `meanwhile` run (may be NULL), enabled
 * again: MORE frames back on every pair driven, none bad.  Returns the
 * frames kicked while it was disabled. */
static uint32_t off_and_on(struct vhc_ctx *ctx, struct dp *d, unsigned p, uint32_t in_flight,
                           void (*meanwhile)(struct vhc_ctx *, struct dp *))
{
    if (in_flight)
        dp_send(d, p, in_flight);
    enable_pair(ctx, p, 0);
    uint32_t kicked = watch_disabled(ctx, d, p, in_flight ? "after the disable of a "
                                     "running pair" : "while the pair is disabled");
    if (meanwhile)
        meanwhile(ctx, d);
    enable_pair(ctx, p, 1);
    pump(ctx, d, 0, MORE, kicked + in_flight, "after SET_VRING_ENABLE(1)");
    check_integrity(ctx, d, "across the disable");
    return kicked;
}

/* Pair 0 disabled after traffic ran: nothing written to RX, then enabled:
 * traffic resumes, nothing lost but what was kicked while disabled. */
static void disabled_then_enabled(struct vhc_ctx *ctx)
{
    warm(ctx, &the_dp, 1);
    off_and_on(ctx, &the_dp, 0, 0, NULL);
    dp_destroy(&the_dp);
}

/* Both rings disabled and enabled again: the back end goes on from its own
 * indexes.  After the stop, GET_VRING_BASE of TX is every chain posted (all
 * were taken: forwarded, or discarded while disabled, or held and taken
 * after the enable) and of RX every buffer it filled (one per frame). */
static void resume_index(struct vhc_ctx *ctx)
{
    struct dp *d = &the_dp;
    warm(ctx, d, 1);
    uint32_t kicked = off_and_on(ctx, d, 0, 0, NULL);
    uint16_t bases[MFE_MAX_VQ];
    VHC_OK(ctx, mfe_qemu_stop(&ctx->fe, bases));
    uint32_t sent = d->st[0].sent, got = d->st[0].got;
    bool packed = variant(ctx)->packed;
    /* packed: bit 15 is the wrap counter, the index is the low 15 bits */
    uint32_t tx = packed ? bases[1] & 0x7fffu : bases[1];
    uint32_t rx = packed ? bases[0] & 0x7fffu : bases[0];
    uint32_t mod = packed ? DP_RING : 0x10000u;
    VHC_ASSERT(ctx, tx == sent % mod, "vring.enable.index",
               "expected GET_VRING_BASE of TX = %u (every chain posted was taken; %u were "
               "kicked while disabled); got %u", sent % mod, kicked, tx);
    VHC_ASSERT(ctx, rx == got % mod, "vring.enable.index",
               "expected GET_VRING_BASE of RX = %u (one buffer per frame that came back, "
               "no buffer skipped or used twice across the disable); got %u", got % mod, rx);
    dp_destroy(d);
}

/* Disabled while frames are in flight: once the disable is handled (and a
 * burst in flight given SETTLE_MS), nothing more is written to RX. */
static void disable_during_traffic(struct vhc_ctx *ctx)
{
    warm(ctx, &the_dp, 1);
    off_and_on(ctx, &the_dp, 0, DP_BATCH, NULL);
    dp_destroy(&the_dp);
}

/* Rings started without any SET_VRING_ENABLE (a resume-like start after an
 * init with no enable round): the variant says whether PROTOCOL_FEATURES is
 * in SET_FEATURES, and so whether the rings start enabled. */
static void initial_state(struct vhc_ctx *ctx)
{
    struct dp *d = &the_dp;
    VHC_OK(ctx, mfe_qemu_init_as(&ctx->fe, 1, MFE_INIT_RECONNECT));
    dp_start(d, ctx, variant(ctx), CAP);
    if (variant(ctx)->no_protocol_bit) {
        dp_refill(d, 0, ~0u);
        pump(ctx, d, 0, MORE, 0, "with PROTOCOL_FEATURES not negotiated and no "
             "SET_VRING_ENABLE (the rings start enabled)");
    } else {
        uint32_t kicked = watch_disabled(ctx, d, 0, "before any SET_VRING_ENABLE(1) "
                                         "(PROTOCOL_FEATURES negotiated: rings start "
                                         "disabled)");
        enable_pair(ctx, 0, 1);
        pump(ctx, d, 0, MORE, kicked, "after SET_VRING_ENABLE(1)");
    }
    check_integrity(ctx, d, "from the first start");
    dp_destroy(d);
}

/* Pair 1 was never set up (init for two pairs, one started): enabling and
 * disabling its rings changes nothing for pair 0. */
static void never_set_up(struct vhc_ctx *ctx)
{
    struct dp *d = &the_dp;
    warm(ctx, d, 1);
    enable_pair(ctx, 1, 1);
    enable_pair(ctx, 1, 0);
    enable_pair(ctx, 1, 1);
    pump(ctx, d, 0, MORE, 0, "on pair 0 after the rings of pair 1, never set up, were "
         "enabled and disabled");
    check_integrity(ctx, d, "on pair 0");
    dp_destroy(d);
}

/* Two pairs running; pair 1 disabled: pair 0 carries on untouched, pair 1
 * writes nothing; enabled again, pair 1 resumes. */
/* Pair 0 alone through the traffic loop while pair 1 is disabled; pair 1's
 * RX buffers still untouched after it. */
static void pair0_meanwhile(struct vhc_ctx *ctx, struct dp *d)
{
    d->pairs = 1;
    pump(ctx, d, 0, MORE, 0, "on pair 0 while pair 1 is disabled");
    d->pairs = 2;
    dp_check_canaries(d, 1, CANARY, "vring.disabled", "while pair 0 ran");
}

static void pairs_independent(struct vhc_ctx *ctx)
{
    warm(ctx, &the_dp, 2);
    off_and_on(ctx, &the_dp, 1, 0, pair0_meanwhile);
    dp_destroy(&the_dp);
}

/* A num other than 0 or 1.  256 is 0 in its low byte: a back end that reads
 * a byte would disable the ring. */
static void bad_value(struct vhc_ctx *ctx)
{
    const uint32_t *num = ctx->c->variant;
    vc_start(ctx, NULL, false);
    struct vhu_msg m;
    vhu_msg_init(&m, VHU_REQ_SET_VRING_ENABLE, 0);
    m.u.state = (struct vhu_vring_state){ .index = 0, .num = *num };
    m.hdr.size = sizeof m.u.state;
    vhc_expect_rejected(ctx, &m, "vring.enable.value");
}

#define RULE_STATES "vhost-user.rst, Ring states: a started but disabled ring is processed " \
    "without side effects (net: no new RX frames; TX frames processed and discarded: checked " \
    "is that nothing reaches RX, TX chains held until the enable are accepted as DPDK and " \
    "vhost-net hold them); "
#define RULE_INIT "vhost-user.rst, Ring states: without VHOST_USER_F_PROTOCOL_FEATURES " \
    "negotiated a ring starts enabled; with it, it starts disabled until " \
    "SET_VRING_ENABLE(1); "
#define ROW(is_packed) { .pairs = 1, .packed = (is_packed), .event_idx = true, \
                         .max_len = 1518 }
static const struct dp_variant split = ROW(false), packed = ROW(true);
static const struct dp_variant two = { .pairs = 2, .event_idx = true, .max_len = 1518 };
static const struct dp_variant no_pf = { .pairs = 1, .event_idx = true, .max_len = 1518,
                                         .no_enable = true, .no_protocol_bit = true };
static const struct dp_variant with_pf = { .pairs = 1, .event_idx = true, .max_len = 1518,
                                           .no_enable = true };
static const uint32_t two_num = 2, num_256 = 256;
#define NET(name, var, feats, fl, fn, why, how, what) { .id = name, .summary = what, \
    .rule = why, .steps = how, .features = F_VERSION_1 | (feats), .flags = VHC_F_NET | (fl), \
    .timeout_s = 45, .body = fn, .variant = &var }
#define STEPS_OFF "QEMU start, 64 numbered frames back; SET_VRING_ENABLE(0) of RX and TX " \
    "(acked); after 100 ms canaries in every RX buffer, 32 TX frames kicked; for 300 ms no " \
    "RX buffer may change and no RX used entry appear; SET_VRING_ENABLE(1) both"

const struct vhc_case vhc_cases_enable[] = {
    NET("enable/disable-during-traffic-packed", packed, F_PACKED, 0, disable_during_traffic,
        RULE_STATES "the disable takes effect once handled",
        "As disabled-then-enabled, with 32 frames kicked just before the disable and not "
        "waited for; 256 more frames back after the enable; none duplicated or changed",
        "packed: a disable in the middle of traffic stops RX writes; enable resumes"),
    NET("enable/disable-during-traffic-split", split, 0, 0, disable_during_traffic,
        RULE_STATES "the disable takes effect once handled",
        "As disabled-then-enabled, with 32 frames kicked just before the disable and not "
        "waited for; 256 more frames back after the enable; none duplicated or changed",
        "split: a disable in the middle of traffic stops RX writes; enable resumes"),
    NET("enable/disabled-then-enabled-packed", packed, F_PACKED, 0, disabled_then_enabled,
        RULE_STATES "SET_VRING_ENABLE(1) makes it process normally again",
        STEPS_OFF "; 256 more frames all back, none duplicated or changed",
        "packed: a disabled pair writes no RX buffer; enabled, traffic resumes"),
    NET("enable/disabled-then-enabled-split", split, 0, 0, disabled_then_enabled,
        RULE_STATES "SET_VRING_ENABLE(1) makes it process normally again",
        STEPS_OFF "; 256 more frames all back, none duplicated or changed",
        "split: a disabled pair writes no RX buffer; enabled, traffic resumes"),
    NET("enable/never-set-up", split, BIT(VC_NET_F_MQ), VHC_F_MQ, never_set_up,
        "vhost-user.rst, Ring states: the enabled state is kept for a ring that is not "
        "started, to apply once it starts; SET_VRING_ENABLE of such a ring is valid and "
        "touches no other ring",
        "QEMU init for 2 pairs, pair 0 started, 64 frames back; SET_VRING_ENABLE 1, 0, 1 "
        "of rings 2 and 3 (never set up), each accepted; 256 more frames on pair 0 back",
        "SET_VRING_ENABLE of rings never set up is accepted and leaves pair 0 running"),
    NET("enable/pairs-independent", two, BIT(VC_NET_F_MQ), VHC_F_MQ, pairs_independent,
        RULE_STATES "each ring has its own state (Multiple queue support: "
        "SET_VRING_ENABLE per ring)",
        "QEMU start of 2 pairs, 64 frames each; pair 1 disabled: canaries and 32 frames "
        "kicked, 300 ms quiet; 256 frames on pair 0 back meanwhile, pair 1 still untouched; "
        "pair 1 enabled, 256 more frames on each pair back",
        "two pairs: disabling pair 1 stops only pair 1"),
    NET("enable/resume-index-packed", packed, F_PACKED, 0, resume_index,
        RULE_STATES "after SET_VRING_ENABLE(1) the back end continues from its own ring "
        "indexes (GET_VRING_BASE: the next index it would process)",
        STEPS_OFF "; 256 more back; stop: TX base = frames posted, RX base = frames back "
        "(packed: the low 15 bits, mod 256)",
        "packed: after disable and enable no descriptor is skipped or used twice"),
    NET("enable/resume-index-split", split, 0, 0, resume_index,
        RULE_STATES "after SET_VRING_ENABLE(1) the back end continues from its own ring "
        "indexes (GET_VRING_BASE: the next index it would process)",
        STEPS_OFF "; 256 more back; stop: TX base = frames posted, RX base = frames back",
        "split: after disable and enable no descriptor is skipped or used twice"),
    NET("enable/start-disabled-with-protocol-features", with_pf, 0, VHC_F_NOINIT,
        initial_state, RULE_INIT "QEMU sends SET_VRING_ENABLE(1) for exactly this reason",
        "QEMU init without its enable round; rings started with PROTOCOL_FEATURES in "
        "SET_FEATURES and no SET_VRING_ENABLE: canaries and 32 frames kicked, 300 ms with no "
        "RX write; SET_VRING_ENABLE(1): 256 frames back",
        "with PROTOCOL_FEATURES the rings start disabled"),
    NET("enable/start-enabled-without-protocol-features", no_pf, 0, VHC_F_NOINIT,
        initial_state, RULE_INIT "a front end without PROTOCOL_FEATURES has no way to "
        "enable a ring",
        "QEMU init without its enable round; rings started with SET_FEATURES lacking bit "
        "30 and no SET_VRING_ENABLE; 256 frames back",
        "without PROTOCOL_FEATURES the rings start enabled"),
    { .id = "enable/value-2", .summary = "SET_VRING_ENABLE with num 2 is refused",
      .rule = "vhost-user.rst, SET_VRING_ENABLE: num is 1 to enable the ring, 0 to disable "
      "it; any other value is not a ring state, so the request is invalid (nack or close) "
      "and the back end lives on",
      .steps = "QEMU start; SET_VRING_ENABLE {index 0, num 2}: nack with REPLY_ACK, or a "
      "close; GET_FEATURES on a new connection", .body = bad_value, .variant = &two_num },
    { .id = "enable/value-256", .summary = "SET_VRING_ENABLE with num 256 (0 in its low "
      "byte) is refused",
      .rule = "vhost-user.rst, SET_VRING_ENABLE: num is a 32-bit field, 1 to enable, 0 to "
      "disable; 256 is neither (a back end reading one byte would take it for 0)",
      .steps = "QEMU start; SET_VRING_ENABLE {index 0, num 256}: nack with REPLY_ACK, or a "
      "close; GET_FEATURES on a new connection", .body = bad_value, .variant = &num_256 },
};
const size_t vhc_cases_enable_n = ARRAY_LEN(vhc_cases_enable);

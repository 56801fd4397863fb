/* restart/: the vhost device stopped and started again on a live
 * connection, the two ways QEMU does it.
 *
 * Host side (`stop`/`cont`, and `set_link` off/on: virtio_net_vhost_status
 * stops vhost when the VM stops or either end's link goes down, and starts
 * it when both are back): vhost_net_stop saves each ring's GET_VRING_BASE
 * answer, vhost_net_start sends it back in SET_VRING_BASE on the same ring
 * memory.  The guest's driver never notices: its rings, indexes and
 * buffers carry on, so every frame it made available before the stop must
 * come out after it, once, in order.
 *
 * Guest side (driver unbind + rebind, trace c1_guest_cycle): the device is
 * stopped, the old driver's rings are dropped, the new driver lays out
 * fresh rings and vhost starts them from base 0 (packed: position 0, wrap
 * counter 1).  Traffic after it must be delivered in full.
 */
#include <string.h>
#include <unistd.h>

#include "datapath_traffic.h"

#define F_VERSION_1  BIT(32)
#define F_MRG        BIT(MFE_NET_F_MRG_RXBUF)
#define F_PACKED     BIT(MFE_F_RING_PACKED)

#define BEFORE       600u      /* frames before the first stop, all back */
#define PENDING      96u       /* posted right before a stop (RX has room for all) */
#define AFTER        300u      /* frames after each start, all back */
#define ROUNDS       3u        /* stop/start cycles */
#define CAP          (BEFORE + ROUNDS * (PENDING + AFTER) + 1)

struct rs_variant {
    struct dp_variant dp;
    bool guest;                /* unbind/rebind (fresh rings, base 0), else stop/cont */
};

/* What the host-side stops left: frames the back end had not taken (each
 * must come back) and frames it took but could not deliver because QEMU
 * stops the RX ring before the TX ring (a loopback's destination was down:
 * the network may drop those, as a switch drops frames for a stopped port). */
struct ledger {
    uint32_t untaken_from[ROUNDS], untaken_n[ROUNDS];   /* seq ranges */
    uint32_t dropped;          /* taken from TX, never put in RX: may be lost */
    unsigned rounds;
};

static struct dp the_dp;   /* rings and accounting: off the stack */

static void pump_all(struct vhc_ctx *ctx, struct dp *d, uint32_t more, const char *when)
{
    uint32_t target = d->st[0].sent + more;
    char sum[600];
    VHC_ASSERT(ctx, dp_pump(d, target, dp_window(d), 0), "restart.delivery",
               "expected every frame back %s (RX never short of buffers); nothing moved "
               "for %d ms: %s", when, DP_STALL_MS, dp_summary(d, sum, sizeof sum));
}

/* The guest makes frames available and the VM stops before its notify
 * reaches the device (the vCPU halts between the avail index store and the
 * doorbell): the kick goes to an eventfd nobody reads, so a back end that
 * waits for kicks still has them in the ring when GET_VRING_BASE arrives
 * (a polling one may have taken them).  RX was filled and nothing is
 * outstanding, so a loopback has room for every one. */
static void post_unkicked(struct vhc_ctx *ctx, struct dp *d)
{
    dp_receive(d, 0);
    dp_refill(d, 0, ~0u);
    int real = d->net[0].tx_kick;
    d->net[0].tx_kick = vc_eventfd(ctx);
    uint32_t n = PENDING < dp_window(d) / 2 ? PENDING : dp_window(d) / 2;
    for (uint32_t sent = 0; sent < n;) {
        unsigned k = dp_send(d, 0, n - sent);
        if (k == 0)
            break;   /* TX ring full: what was posted is enough */
        sent += k;
    }
    close(d->net[0].tx_kick);
    d->net[0].tx_kick = real;
}

/* After `cont` the vCPU resumes and its notify lands on the real doorbell. */
static void late_kick(struct vhc_ctx *ctx, const struct dp *d)
{
    uint64_t one = 1;
    VHC_ASSERT(ctx, write(d->net[0].tx_kick, &one, sizeof one) == sizeof one,
               "frontend.eventfd", "TX kick after cont failed");
}

/* Chains the driver made available past a stop's base (one descriptor a
 * chain: TX frames and MRG_RXBUF buffers): split indexes count chains;
 * packed bases carry the position and the wrap counter in bit 15. */
static unsigned ahead(const struct mfe_ring *r, uint16_t base)
{
    if (!r->packed)
        return (uint16_t)(r->shadow_avail - base);
    unsigned drv = r->next_avail + (r->avail_wrap ? 0 : DP_RING);
    unsigned dev = (base & 0x7fffu) + ((base & 0x8000u) ? 0 : DP_RING);
    return (drv + 2 * DP_RING - dev) % (2 * DP_RING);
}

static unsigned untaken(struct vhc_ctx *ctx, const struct mfe_ring *r, uint16_t base,
                        const char *which)
{
    unsigned n = ahead(r, base);
    VHC_ASSERT(ctx, n <= r->num && n <= r->added, "vring.base.stop",
               "expected GET_VRING_BASE of the %s ring (0x%x) to name a position within "
               "what the driver made available; it is %u chains off", which, base, n);
    return n;
}

/* Book the stop: what stayed in the TX ring, and what was taken from TX
 * but never reached RX (each frame takes one RX buffer here). */
static void book_stop(struct vhc_ctx *ctx, struct dp *d, const uint16_t *bases,
                      struct ledger *l)
{
    const struct mfe_net *n = &d->net[0];
    unsigned u_tx = untaken(ctx, &n->tx, bases[1], "TX");
    unsigned u_rx = untaken(ctx, &n->rx, bases[0], "RX");
    uint64_t taken = n->tx.added - u_tx, filled = n->rx.added - u_rx;
    VHC_ASSERT(ctx, filled <= taken, "restart.exactly-once",
               "expected no more RX buffers filled (%llu) than TX frames taken (%llu) at "
               "the stop", (unsigned long long)filled, (unsigned long long)taken);
    l->dropped = (uint32_t)(taken - filled);
    l->untaken_from[l->rounds] = d->st[0].sent - u_tx;
    l->untaken_n[l->rounds++] = u_tx;
    mfe_note(&ctx->fe, "stopped: bases rx 0x%x tx 0x%x; %u TX frames not taken (must come "
             "back), %u taken in all and not delivered (RX ring stopped first)", bases[0],
             bases[1], u_tx, l->dropped);
}

/* dp_pump for more frames when `lost` frames are known gone: they do not
 * hold the window, and every other frame must come back. */
static void pump_known_loss(struct vhc_ctx *ctx, struct dp *d, uint32_t more, uint32_t lost)
{
    char sum[600];
    VHC_ASSERT(ctx, dp_pump(d, d->st[0].sent + more, dp_window(d) / 2, lost),
               "restart.delivery",
               "expected every frame back after cont, the ones left in the TX ring at "
               "the stop included (RX never short of buffers); nothing moved for %d ms: "
               "%s", DP_STALL_MS, dp_summary(d, sum, sizeof sum));
}

/* vhost_net_start after `cont`: no guest driver probing (no enable rounds),
 * the saved bases, the same memory and rings. */
static void cont(struct vhc_ctx *ctx, const uint16_t *bases)
{
    struct mfe_start_opts o = {.queue_pairs = 1, .ring_size = DP_RING,
                               .features = ctx->fe.acked_features, .bases = bases,
                               .reuse_memory = true, .kind = MFE_START_RESUME};
    VHC_OK(ctx, mfe_qemu_start(&ctx->fe, &o));
}

static void host_round(struct vhc_ctx *ctx, struct dp *d, struct ledger *l)
{
    uint16_t bases[MFE_MAX_VQ];
    post_unkicked(ctx, d);
    mfe_note(&ctx->fe, "-- VM stop --");
    VHC_OK(ctx, mfe_qemu_stop_as(&ctx->fe, MFE_STOP_HOST, bases));
    book_stop(ctx, d, bases, l);
    mfe_note(&ctx->fe, "-- VM cont: restart from the saved bases --");
    cont(ctx, bases);
    late_kick(ctx, d);
    pump_known_loss(ctx, d, AFTER, l->dropped);
}

/* The new driver's rings: new memory for each (split: mfe_vq_setup lays out
 * a ring that is not ready; packed: a new layout now), zeroed. */
static void fresh_rings(struct vhc_ctx *ctx, const struct dp_variant *v)
{
    for (unsigned i = 0; i < 2; i++) {
        if (!v->packed) {
            ctx->fe.vq[i].ready = false;
            continue;
        }
        int rc = mfe_ring_vq_packed(&ctx->fe, i, DP_RING);
        VHC_ASSERT(ctx, rc == 0, "frontend.ring", "laying out packed ring %u: %s", i,
                   strerror(-rc));
    }
}

static void guest_round(struct vhc_ctx *ctx, struct dp *d, struct ledger *l)
{
    const struct dp_variant *v = d->v;
    uint16_t bases[MFE_MAX_VQ];
    mfe_note(&ctx->fe, "-- guest unbind: stop, drop the driver --");
    VHC_OK(ctx, mfe_qemu_stop(&ctx->fe, bases));
    book_stop(ctx, d, bases, l);
    VHC_ASSERT(ctx, l->dropped == 0 && l->untaken_n[l->rounds - 1] == 0, "restart.delivery",
               "expected every frame taken and delivered before the unbind (all came back)");
    mfe_net_destroy(&d->net[0]);
    fresh_rings(ctx, v);
    mfe_note(&ctx->fe, "-- guest rebind: new rings, start from base 0 --");
    struct mfe_start_opts o = {.queue_pairs = 1, .ring_size = DP_RING,
                               .features = ctx->fe.acked_features, .reuse_memory = true,
                               .kind = MFE_START_REBIND};
    VHC_OK(ctx, mfe_qemu_start(&ctx->fe, &o));
    struct mfe_net_opts no = {.max_frame = v->max_len};
    int rc = mfe_net_init(&d->net[0], &ctx->fe, 0, &no);
    VHC_ASSERT(ctx, rc == 0, "frontend.net", "virtio-net driver after rebind: %s",
               strerror(-rc));
    dp_refill(d, 0, ~0u);
    pump_all(ctx, d, AFTER, "after the rebind");
}

/* Every frame the back end had not taken at a stop came back exactly once. */
static void check_untaken(struct vhc_ctx *ctx, const struct dp *d, const struct ledger *l)
{
    for (unsigned r = 0; r < l->rounds; r++)
        for (uint32_t i = 0; i < l->untaken_n[r]; i++) {
            uint32_t seq = l->untaken_from[r] + i;
            VHC_ASSERT(ctx, d->st[0].seen[seq] == 1, "restart.resume",
                       "expected frame %u, left in the TX ring at stop %u (base below it), "
                       "back once after cont; seen %u times", seq, r + 1, d->st[0].seen[seq]);
        }
}

static void body(struct vhc_ctx *ctx)
{
    const struct rs_variant *v = ctx->c->variant;
    struct dp *d = &the_dp;
    struct ledger l = {0};
    dp_start(d, ctx, &v->dp, CAP);
    dp_refill(d, 0, ~0u);
    pump_all(ctx, d, BEFORE, "before the first stop");
    for (unsigned r = 0; r < ROUNDS; r++)
        (v->guest ? guest_round : host_round)(ctx, d, &l);
    dp_drain(d, DP_SETTLE_MS, true);
    check_untaken(ctx, d, &l);
    char sum[600];
    VHC_ASSERT(ctx, dp_bad(d) == 0 && dp_lost(d) <= l.dropped, "restart.exactly-once",
               "expected every frame back once and in order across %u stop/start cycles "
               "(%u may be lost: taken from TX after the RX ring stopped); %s",
               ROUNDS, l.dropped, dp_summary(d, sum, sizeof sum));
    dp_destroy(d);
}

#define DP_ROW(is_packed) {.pairs = 1, .packed = (is_packed), .mrg = true, \
                           .event_idx = true, .max_len = 1518}
static const struct rs_variant host_split = {DP_ROW(false), false};
static const struct rs_variant host_packed = {DP_ROW(true), false};
static const struct rs_variant guest_split = {DP_ROW(false), true};
static const struct rs_variant guest_packed = {DP_ROW(true), true};

#define RULE_HOST \
    "QEMU stop/cont and set_link off/on (hw/net/virtio-net.c virtio_net_vhost_status; " \
    "hw/virtio/vhost.c vhost_virtqueue_stop/start): GET_VRING_BASE's answer is sent back " \
    "in SET_VRING_BASE on the same rings (split: next avail index; packed: position and " \
    "wrap bit 15).  vhost-user.rst: GET_VRING_BASE stops the ring and reports where it " \
    "stands; the back end resumes there.  Every frame still in the TX ring at the stop " \
    "comes out after it, once, in order; RX always has room, so the only frames that " \
    "may be lost are those taken from TX after QEMU stopped the RX ring (it stops RX " \
    "first: a loopback's destination is down then, as a stopped port on a switch)."
#define STEPS_HOST \
    "One pair (MRG_RXBUF, EVENT_IDX); 600 numbered frames there and back; 3 rounds of: " \
    "RX filled, 96 frames made available (their kick swallowed, as when the vCPU stops before the doorbell), QEMU stop (GET_VRING_BASE), start " \
    "again with the saved bases on the same rings (no guest probing), the TX kick, 300 more frames; " \
    "per stop: frames left in TX (driver avail - base) must all come back; lost <= frames " \
    "taken from TX and not placed in RX (from both bases); duplicated = reordered = " \
    "corrupt = 0."
#define RULE_GUEST \
    "QEMU 7.2 guest driver unbind/rebind (trace c1_guest_cycle): vhost_net_stop, then " \
    "vhost_net_start on the new driver's fresh rings with SET_VRING_BASE 0 (packed: " \
    "0x8000) and new ring addresses; vhost-user.rst SET_VRING_BASE/ADDR: the back end " \
    "forgets the old rings and starts the new ones from that base."
#define STEPS_GUEST \
    "One pair (MRG_RXBUF, EVENT_IDX); 600 numbered frames there and back; 3 rounds of: " \
    "QEMU stop, old driver dropped, new zeroed rings at new addresses, QEMU start with " \
    "base 0, RX filled, 300 more frames; every frame back exactly once, in order."

#define RS_CASE(case_id, var, feats, why, how, what) { .id = case_id, \
    .summary = what, .rule = why, .steps = how, .features = F_VERSION_1 | F_MRG | (feats), \
    .flags = VHC_F_NET, .timeout_s = 40, .body = body, .variant = &var }

const struct vhc_case vhc_cases_restart[] = {
    RS_CASE("restart/guest-unbind-rebind-packed", guest_packed, F_PACKED, RULE_GUEST, STEPS_GUEST,
            "guest driver rebind (packed): fresh rings from base 0, traffic delivered"),
    RS_CASE("restart/guest-unbind-rebind-split", guest_split, 0, RULE_GUEST, STEPS_GUEST,
            "guest driver rebind (split): fresh rings from base 0, traffic delivered"),
    RS_CASE("restart/host-stop-cont-packed", host_packed, F_PACKED, RULE_HOST, STEPS_HOST,
            "VM stop/cont (packed): resume from the saved base, nothing lost or doubled"),
    RS_CASE("restart/host-stop-cont-split", host_split, 0, RULE_HOST, STEPS_HOST,
            "VM stop/cont (split): resume from the saved base, nothing lost or doubled"),
};
const size_t vhc_cases_restart_n = ARRAY_LEN(vhc_cases_restart);

/* reconnect/: the back end is SIGKILLed while numbered frames flow, the
 * runner starts it again, and the front end does what QEMU does: a new
 * connection (connect with retry as reconnect=1 does, or accept again as a
 * server), vhost_dev_init, then vhost_net_start with every split ring's
 * base taken from its used index (the old back end could not answer
 * GET_VRING_BASE, so QEMU restores last_avail_idx from used->idx).  The
 * guest's rings, memory and driver state carry on untouched.
 *
 * Every frame is accounted for: delivered, lost (only what the dead back
 * end had in hand: at most what was in flight, at most a ring), duplicated
 * and reordered (both must be 0), corrupt (0).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datapath_traffic.h"

#define WARMUP       1000u     /* frames before the first kill */
#define BURST        (DP_RING + DP_RING / 2)  /* posted before a kill: more than RX holds */
#define BURST_MS     50        /* at most this long posting them */
#define AFTER        256u      /* frames after each restart, all must come back */
#define WINDOW       128u      /* frames in flight at most (half the RX ring) */
#define QUIET_MS     200       /* after a restart: nothing moves for this long */

struct rc_variant {
    unsigned rounds;           /* kill + restart cycles */
};

static const struct dp_variant ring = {
    .pairs = 1, .mrg = true, .event_idx = true, .max_len = 1518,
};

static struct dp the_dp;   /* rings and accounting: off the stack */

/* What was lost so far and what one round may lose. */
struct tally {
    uint32_t lost;             /* frames the back end can no longer return */
    uint32_t worst_round;      /* most lost in one round */
    uint32_t in_flight_max;    /* most frames in flight at a kill */
};

/* Send until target frames went out and every one that can come back did
 * (lost frames are known and do not hold the window). */
static void pump_to(struct vhc_ctx *ctx, struct dp *d, uint32_t target, uint32_t lost)
{
    char sum[600];
    VHC_ASSERT(ctx, dp_pump(d, target, WINDOW, lost), "datapath.stall",
               "expected frames to keep flowing; nothing moved for %d ms (%s)",
               DP_STALL_MS, dp_summary(d, sum, sizeof sum));
}

/* Post BURST frames without taking any back: RX fills up and the rest stay
 * in the TX ring (a back end waits for RX room, as vhost-refnet does for a
 * while, or drops them, as DPDK's io forwarding does), so the kill lands
 * with work in hand.  Returns how many frames were in flight (posted, not
 * back) at the kill. */
static uint32_t burst_and_kill(struct vhc_ctx *ctx, struct dp *d, uint32_t lost)
{
    uint32_t target = d->st[0].sent + BURST;
    long long t0 = dp_now_ms();
    while (d->st[0].sent < target && dp_now_ms() - t0 < BURST_MS) {
        if (dp_send(d, 0, target - d->st[0].sent) == 0) {
            struct timespec ts = { 0, 1000000 };   /* TX ring full: let the back end work */
            nanosleep(&ts, NULL);
        }
    }
    vhc_backend_kill(ctx);
    dp_receive(d, 0);   /* what the back end finished before it died */
    return dp_lost(d) - lost;
}

/* QEMU after the back end's death (trace d1): a new connection, the init,
 * and each running ring restarted from its used index, on the same memory
 * and rings (mfe_qemu_reconnect). */
static void restart_and_resume(struct vhc_ctx *ctx, struct dp *d)
{
    vhc_backend_restart(ctx);
    mfe_disconnect(&ctx->fe);
    mfe_note(&ctx->fe, "-- reconnect after kill --");
    vhc_open(ctx);
    VHC_OK(ctx, mfe_qemu_reconnect(&ctx->fe));
    /* init gave the rings new call eventfds; the kick eventfds are kept */
    d->net[0].rx_call = ctx->fe.vq[0].call;
    d->net[0].tx_call = ctx->fe.vq[1].call;
}

/* One kill + restart; the round's losses must stay within what was in
 * flight, and traffic after it must all come back. */
static void round_trip(struct vhc_ctx *ctx, struct dp *d, struct tally *t)
{
    uint32_t in_flight = burst_and_kill(ctx, d, t->lost);
    restart_and_resume(ctx, d);
    dp_drain(d, QUIET_MS, true);
    uint32_t round_lost = dp_lost(d) - t->lost;
    char sum[600];
    VHC_ASSERT(ctx, round_lost <= in_flight && round_lost <= DP_RING, "reconnect.lost",
               "expected at most the %u frames in flight (and at most a ring, %u) lost at a "
               "kill; lost %u (%s)", in_flight, DP_RING, round_lost,
               dp_summary(d, sum, sizeof sum));
    t->lost += round_lost;
    if (round_lost > t->worst_round)
        t->worst_round = round_lost;
    if (in_flight > t->in_flight_max)
        t->in_flight_max = in_flight;
    pump_to(ctx, d, d->st[0].sent + AFTER, t->lost);
}

/* Figures for people: VHC_STATS=FILE appends one line per run. */
static void write_stats(struct vhc_ctx *ctx, const struct dp *d, const struct tally *t,
                        unsigned rounds)
{
    const struct dp_stream *s = &d->st[0];
    char line[400];
    snprintf(line, sizeof line, "%s mode=%s rounds=%u sent=%u delivered=%u lost=%u "
             "worst_round=%u in_flight_max=%u duplicated=%u reordered=%u corrupt=%u "
             "longest_pause_ms=%lld", ctx->c->id,
             ctx->mode == VHC_MODE_CLIENT ? "client" : "server", rounds, s->sent, s->got, t->lost, t->worst_round, t->in_flight_max, s->dups,
             s->reordered, s->corrupt, d->longest_pause_ms);
    mfe_note(&ctx->fe, "%s", line);
    const char *path = getenv("VHC_STATS");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (f) {
        fprintf(f, "%s\n", line);
        fclose(f);
    }
}

static void kill_body(struct vhc_ctx *ctx)
{
    const struct rc_variant *v = ctx->c->variant;
    if (v->rounds > 20 && !getenv("VHC_LONG"))
        VHC_SKIP(ctx, "long case (%u kills): set VHC_LONG=1 to run it (CTest label long)",
                 v->rounds);
    struct dp *d = &the_dp;
    uint32_t cap = WARMUP + v->rounds * (BURST + AFTER) + 1;
    dp_start(d, ctx, &ring, cap);
    dp_refill(d, 0, ~0u);
    struct tally t = { 0 };
    pump_to(ctx, d, WARMUP, 0);
    for (unsigned r = 0; r < v->rounds; r++)
        round_trip(ctx, d, &t);
    dp_drain(d, DP_SETTLE_MS, true);
    write_stats(ctx, d, &t, v->rounds);
    char sum[600];
    VHC_ASSERT(ctx, dp_bad(d) == 0, "reconnect.exactly-once",
               "expected no frame duplicated, reordered or corrupted across %u kill(s); %s",
               v->rounds, dp_summary(d, sum, sizeof sum));
    dp_destroy(d);
}

static const struct rc_variant once = { 1 }, twenty = { 20 }, hundred = { 100 };

#define RULE_RECONNECT \
    "QEMU vhost-user reconnect (hw/virtio/vhost.c vhost_virtqueue_stop, " \
    "virtio_queue_restore_last_avail_idx): when GET_VRING_BASE cannot be answered the " \
    "front end restarts each split ring from used->idx; a back end must resume there, " \
    "so only frames it had taken but not completed may be lost and none sent twice."
#define STEPS_RECONNECT \
    "Start one queue pair (split, MRG_RXBUF, EVENT_IDX), loop 1000 numbered frames; then " \
    "per round: post 384 frames (more than RX holds) without receiving, SIGKILL the back end, restart it, reconnect, QEMU init, " \
    "start with bases from the used indexes, drain, send 256 more (all must return).  " \
    "Account: delivered, lost (<= in flight), duplicated = reordered = corrupt = 0."

#define RC_CASE(case_id, var, secs, what) { .id = case_id, .summary = what, \
    .rule = RULE_RECONNECT, .steps = STEPS_RECONNECT, .features = BIT(32), \
    .flags = VHC_F_NET, .timeout_s = secs, .body = kill_body, .variant = &var }

const struct vhc_case vhc_cases_reconnect[] = {
    RC_CASE("reconnect/kill-during-traffic", once, 30,
            "back end SIGKILLed mid-traffic, restarted; resume from the used index"),
    RC_CASE("reconnect/repeat-100", hundred, 600,
            "kill + restart x100 with traffic (long: VHC_LONG=1)"),
    RC_CASE("reconnect/repeat-20", twenty, 180, "kill + restart x20 with traffic"),
};
const size_t vhc_cases_reconnect_n = ARRAY_LEN(vhc_cases_reconnect);

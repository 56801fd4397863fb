/* migration/: live migration as QEMU drives a vhost-user-net back end.
 *
 * Dirty logging (hw/virtio/vhost.c vhost_migration_log and friends; the
 * sequences are mock-frontend/mfe_migrate.c's): SET_LOG_BASE with a memfd
 * log under LOG_SHMFD and the reply QEMU waits for, SET_FEATURES with
 * LOG_ALL, SET_VRING_ADDR with VHOST_VRING_F_LOG; then traffic, and the
 * checker (mfe_log.h) holds every page the back end wrote (RX buffers,
 * used rings) against the bits it set.  QEMU syncs the log after the last
 * GET_VRING_BASE, so the final check does too.
 *
 * Handover: QEMU's switch-over.  The source back end A is stopped
 * (GET_VRING_BASE), must not touch guest memory after that (canaries in
 * the RX buffers posted, no used entry on either ring, with work kicked at
 * it), and a new back-end process B starts on the same guest memory from
 * the saved bases: every frame comes back once. */
#include <string.h>
#include <unistd.h>

#include "datapath_traffic.h"
#include "mfe_migrate.h"
#include "mfe_scenario.h"

#define F_VERSION_1  BIT(32)
#define F_LOG_ALL    BIT(VHU_F_LOG_ALL)
#define F_MRG        BIT(MFE_NET_F_MRG_RXBUF)
#define F_PACKED     BIT(MFE_F_RING_PACKED)

#define WARM         200u      /* frames before logging starts */
#define LOGGED       1000u     /* frames while logging */
#define CANARY       0xc5u
#define QUIET_MS     300       /* how long a stopped back end is watched */
#define CAP          (WARM + 3 * LOGGED + DP_RING)
#define LIST_LEN     256

struct mig_variant {
    struct dp_variant dp;
    bool resize;               /* a second, larger log mid-traffic */
    bool off;                  /* logging off again, traffic goes on */
};

static struct dp the_dp;
static struct mfe_dirty the_dirty;
static struct mfe_log logs[2];

static const struct mig_variant *variant(struct vhc_ctx *ctx)
{
    return ctx->c->variant;
}

static void pump(struct vhc_ctx *ctx, struct dp *d, uint32_t more, const char *when)
{
    char sum[600];
    uint32_t target = d->st[0].sent + more;
    VHC_ASSERT(ctx, dp_pump(d, target, dp_window(d), 0), "migration.delivery",
               "expected every frame back %s; nothing moved for %d ms: %s", when,
               DP_STALL_MS, dp_summary(d, sum, sizeof sum));
    dp_drain(d, DP_SETTLE_MS, true);
}

static void new_log(struct vhc_ctx *ctx, struct mfe_log *l, uint64_t words)
{
    int rc = mfe_log_alloc(l, words);
    VHC_ASSERT(ctx, rc == 0, "frontend.memory", "log memfd of %llu words: %s",
               (unsigned long long)words, strerror(-rc));
}

/* dp_start, the checker on every pair, WARM frames with logging off. */
static void start_traffic(struct vhc_ctx *ctx, struct dp *d, const struct dp_variant *v)
{
    dp_start(d, ctx, v, CAP);
    uint64_t words = mfe_log_words_for(&ctx->fe.mem) + MFE_LOG_BUFFER;
    VHC_ASSERT(ctx, mfe_dirty_init(&the_dirty, words) == 0, "frontend.memory",
               "out of memory");
    for (unsigned p = 0; p < d->pairs; p++) {
        mfe_dirty_watch(&the_dirty, &ctx->fe, &d->net[p], p);
        dp_refill(d, p, ~0u);
    }
    pump(ctx, d, WARM, "before logging started");
}

static void log_on(struct vhc_ctx *ctx, struct mfe_log *l)
{
    new_log(ctx, l, mfe_log_words_for(&ctx->fe.mem));
    mfe_note(&ctx->fe, "-- migration starts: dirty logging on (%llu-byte log) --",
             (unsigned long long)l->words * 8);
    VHC_OK(ctx, mfe_migration_log_on(&ctx->fe, l));
    the_dirty.armed = true;
}

/* The pages the back end wrote must all be in the log (folded from every
 * log it was given).  Returns the pages checked. */
static uint64_t check_dirty(struct vhc_ctx *ctx, unsigned nlogs, const char *when)
{
    struct mfe_dirty_report r;
    char list[LIST_LEN];
    for (unsigned i = 0; i < nlogs; i++)
        mfe_dirty_sync(&the_dirty, &logs[i]);
    mfe_dirty_check(&the_dirty, &r);
    mfe_note(&ctx->fe, "dirty log %s: %llu pages written by the back end checked, %llu "
             "missing, %llu more logged (%llu writes recorded)", when,
             (unsigned long long)r.pages, (unsigned long long)r.missing,
             (unsigned long long)r.extra, (unsigned long long)the_dirty.writes);
    VHC_ASSERT(ctx, r.pages > 0, "migration.dirty-log",
               "expected the back end to have written guest pages while logging (frames "
               "came back); the checker saw no write");
    VHC_ASSERT(ctx, r.missing == 0, "migration.dirty-log",
               "expected every guest page the back end wrote while LOG_ALL was on (RX "
               "buffers, used ring entries) marked in the log %s; %llu of %llu pages "
               "written but not logged, at guest addresses %s", when,
               (unsigned long long)r.missing, (unsigned long long)r.pages,
               mfe_dirty_list(&r, list, sizeof list));
    return r.pages;
}

static void finish(struct dp *d, unsigned nlogs)
{
    dp_destroy(d);
    mfe_dirty_destroy(&the_dirty);
    for (unsigned i = 0; i < nlogs; i++)
        mfe_log_free(&logs[i]);
}

/* ---- dirty logging during traffic ---- */

/* vhost_dev_log_resize on a memory commit while logging: a log
 * VHOST_LOG_BUFFER words larger, SET_LOG_BASE, and the old one synced
 * after the switch. */
static void resize(struct vhc_ctx *ctx)
{
    new_log(ctx, &logs[1], logs[0].words + MFE_LOG_BUFFER);
    uint64_t ack;
    mfe_note(&ctx->fe, "-- log resize: %llu-byte log --", (unsigned long long)logs[1].words * 8);
    VHC_OK(ctx, mfe_set_log_base(&ctx->fe, &logs[1], &ack));
    VHC_ASSERT(ctx, ack == 0, "migration.log-base",
               "expected the new, larger log accepted (reply 0); got %llu",
               (unsigned long long)ack);
    mfe_dirty_sync(&the_dirty, &logs[0]);
}

static void dirty_body(struct vhc_ctx *ctx)
{
    const struct mig_variant *v = variant(ctx);
    struct dp *d = &the_dp;
    start_traffic(ctx, d, &v->dp);
    log_on(ctx, &logs[0]);
    pump(ctx, d, LOGGED, "while logging");
    unsigned nlogs = 1;
    if (v->resize) {
        resize(ctx);
        nlogs = 2;
        pump(ctx, d, LOGGED, "after the log was resized");
    }
    check_dirty(ctx, nlogs, "while running");
    if (v->off) {
        mfe_note(&ctx->fe, "-- migration cancelled: logging off --");
        VHC_OK(ctx, mfe_migration_log_off(&ctx->fe));
        the_dirty.armed = false;
        pump(ctx, d, LOGGED, "after logging was switched off");
    } else {
        pump(ctx, d, LOGGED / 4, "before the stop");
        VHC_OK(ctx, mfe_qemu_stop(&ctx->fe, NULL));
        check_dirty(ctx, nlogs, "after GET_VRING_BASE (QEMU's last sync)");
    }
    char sum[600];
    VHC_ASSERT(ctx, dp_bad(d) == 0, "datapath.integrity",
               "expected every frame back once, in order, intact with logging on; %s",
               dp_summary(d, sum, sizeof sum));
    finish(d, nlogs);
}

/* ---- SET_LOG_BASE on its own ---- */

static void log_base_reply(struct vhc_ctx *ctx)
{
    struct dp *d = &the_dp;
    dp_start(d, ctx, &variant(ctx)->dp, 1);
    new_log(ctx, &logs[0], mfe_log_words_for(&ctx->fe.mem));
    uint64_t ack;
    VHC_OK(ctx, mfe_set_log_base(&ctx->fe, &logs[0], &ack));
    VHC_ASSERT(ctx, ack == 0, "migration.log-base",
               "expected SET_LOG_BASE with a %llu-byte memfd log (offset 0) accepted; the "
               "reply says %llu", (unsigned long long)logs[0].words * 8,
               (unsigned long long)ack);
    dp_destroy(d);
    mfe_log_free(&logs[0]);
}

/* SET_LOG_BASE under LOG_SHMFD with no fd: there is no log to map. */
static void log_base_no_fd(struct vhc_ctx *ctx)
{
    vc_set_features(ctx);
    struct vhu_msg m, reply;
    vhu_msg_init(&m, VHU_REQ_SET_LOG_BASE, 0);
    m.u.log = (struct vhu_log){ .mmap_size = 0x2000, .mmap_offset = 0 };
    m.hdr.size = sizeof m.u.log;
    int rc = mfe_send(&ctx->fe, &m);
    if (rc == 0)
        rc = mfe_recv(&ctx->fe, &reply);
    if (rc == 0) {
        vhu_msg_close_fds(&reply);
        VHC_ASSERT(ctx, reply.hdr.size != 8 || reply.u.u64 != 0, "migration.log-base",
                   "expected SET_LOG_BASE without the log's fd (LOG_SHMFD negotiated) "
                   "refused (non-zero reply or a close); got 0");
    }
    mfe_note(&ctx->fe, "log base without fd: %s", rc == 0 ? "refused" : "connection closed");
    vhc_expect_alive(ctx, "migration.log-base");
}

/* ---- handover to a second back end ---- */

/* Canaries in every RX buffer of pair 0: the ones the stopped back end
 * still holds and the free ones, which are then posted too. */
static unsigned plant_canaries(struct dp *d, uint16_t *slots)
{
    struct mfe_net_pool *p = &d->net[0].rxp;
    unsigned n = p->n < DP_RING ? p->n : DP_RING;
    for (unsigned i = 0; i < n; i++) {
        slots[i] = (uint16_t)i;
        memset(p->hva + (size_t)i * p->slot_len, CANARY, p->slot_len);
    }
    dp_refill(d, 0, ~0u);
    return n;
}

static void check_canaries(struct vhc_ctx *ctx, struct dp *d, const uint16_t *slots,
                           unsigned n)
{
    const struct mfe_net_pool *p = &d->net[0].rxp;
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *b = p->hva + (size_t)slots[i] * p->slot_len;
        for (uint32_t k = 0; k < p->slot_len; k++)
            VHC_ASSERT(ctx, b[k] == CANARY, "migration.stopped-writes",
                       "expected the stopped source back end to write nothing: RX buffer "
                       "%u (guest 0x%llx) posted after GET_VRING_BASE changed at byte %u "
                       "(0x%02x)", slots[i], (unsigned long long)(p->gpa +
                       (uint64_t)slots[i] * p->slot_len), k, b[k]);
    }
    for (unsigned r = 0; r < 2; r++) {
        const struct mfe_ring *ring = r ? &d->net[0].tx : &d->net[0].rx;
        VHC_ASSERT(ctx, !mfe_ring_has_used(ring), "migration.stopped-writes",
                   "expected no used entry from the stopped source back end; the %s ring "
                   "has one %d ms after GET_VRING_BASE", r ? "TX" : "RX", QUIET_MS);
    }
}

/* The destination: a new back-end process on the same guest memory, init,
 * start from the source's bases, no logging. */
static void start_destination(struct vhc_ctx *ctx, struct dp *d, const uint16_t *bases)
{
    uint64_t features = ctx->fe.acked_features & ~F_LOG_ALL;
    mfe_note(&ctx->fe, "-- switch-over: destination back end B from bases rx 0x%x tx 0x%x --",
             bases[0], bases[1]);
    vhc_backend_restart(ctx);
    mfe_disconnect(&ctx->fe);
    ctx->fe.acked_features = ctx->fe.acked_protocol_features = 0;
    vhc_open(ctx);
    VHC_OK(ctx, mfe_qemu_destination(&ctx->fe, 1, bases, features));   /* as play migrate */
    d->net[0].rx_call = ctx->fe.vq[0].call;     /* init made new call eventfds */
    d->net[0].tx_call = ctx->fe.vq[1].call;
}

static void handover(struct vhc_ctx *ctx)
{
    const struct mig_variant *v = variant(ctx);
    struct dp *d = &the_dp;
    static uint16_t slots[DP_RING];
    uint16_t bases[MFE_MAX_VQ];
    char sum[600];
    start_traffic(ctx, d, &v->dp);
    log_on(ctx, &logs[0]);
    pump(ctx, d, LOGGED, "while logging");
    mfe_note(&ctx->fe, "-- source stops (GET_VRING_BASE) --");
    VHC_OK(ctx, mfe_qemu_stop(&ctx->fe, bases));
    check_dirty(ctx, 1, "at the source's stop");
    the_dirty.armed = false;
    unsigned n = plant_canaries(d, slots);
    VHC_ASSERT(ctx, n > 0, "frontend.net", "no RX buffers to plant canaries in");
    uint32_t pending = dp_send(d, 0, DP_BATCH);
    usleep(QUIET_MS * 1000);
    check_canaries(ctx, d, slots, n);
    mfe_note(&ctx->fe, "source quiet for %d ms after its stop: %u RX canaries intact, %u TX "
             "frames untaken", QUIET_MS, n, pending);
    start_destination(ctx, d, bases);
    pump(ctx, d, LOGGED, "on the destination");
    VHC_ASSERT(ctx, dp_bad(d) == 0 && dp_lost(d) == 0, "migration.handover",
               "expected every frame back exactly once across the switch-over (the %u posted "
               "while the source was stopped included); %s", pending,
               dp_summary(d, sum, sizeof sum));
    finish(d, 1);
}

/* ---- SEND_RARP ---- */

struct rarp_seen {
    const uint8_t *mac;
    unsigned rarp, other;
};

static void on_rarp(void *arg, const uint8_t *f, uint32_t len)
{
    struct rarp_seen *s = arg;
    if (len >= 42 && f[12] == 0x80 && f[13] == 0x35 && memcmp(f + 6, s->mac, 6) == 0)
        s->rarp++;
    else
        s->other++;
}

static void send_rarp(struct vhc_ctx *ctx)
{
    static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
    struct dp *d = &the_dp;
    dp_start(d, ctx, &variant(ctx)->dp, 1);
    dp_refill(d, 0, ~0u);
    uint64_t u = 0;
    memcpy(&u, mac, 6);         /* vhost_user_migration_done: the MAC's 6 bytes */
    vc_accepts_u64(ctx, VHU_REQ_SEND_RARP, u, "migration.rarp");
    struct rarp_seen seen = { mac, 0, 0 };
    for (long long t0 = dp_now_ms(); !seen.rarp && dp_now_ms() - t0 < DP_STALL_MS;)
        if (mfe_net_rx_poll(&d->net[0], on_rarp, &seen, ~0u) == 0)
            dp_wait(d, 20);
    VHC_ASSERT(ctx, seen.rarp == 1, "migration.rarp",
               "expected one broadcast RARP frame from 52:54:00:12:34:56 back on RX within "
               "%d ms of SEND_RARP (a loopback back end puts on the wire what the guest "
               "sends); got %u (and %u other frames)", DP_STALL_MS, seen.rarp, seen.other);
    dp_destroy(d);
}

/* ---- the migrate scenario, as `vhost-conform play migrate` plays it ---- */

static int play_open(void *arg, struct mfe *f)
{
    if (f->sock < 0)
        vhc_open((struct vhc_ctx *)arg);
    return 0;
}

/* A back end the runner did not start (--socket) cannot be killed: SKIP, as
 * every case that kills does (vhc_backend_kill), not a failure. */
static int play_kill(void *arg)
{
    vhc_backend_kill((struct vhc_ctx *)arg);
    return 0;
}

static int play_restart(void *arg)
{
    vhc_backend_restart((struct vhc_ctx *)arg);
    return 0;
}

static void play_migrate(struct vhc_ctx *ctx)
{
    const struct mfe_scenario *sc = mfe_scenario_find("migrate");
    VHC_ASSERT(ctx, sc, "frontend.scenario", "the scenario table has no migrate");
    if (!(sc->devices & MFE_DEV_BIT(mfe_qemu_device(&ctx->fe)->dev)))
        vhc_skip(ctx, "QEMU migrates no vhost-user %s device (vhost-user-fs is unmigratable "
                      "in 7.2): the scenario is net and blk", mfe_qemu_device(&ctx->fe)->name);
    struct mfe_play_hooks h = { .arg = ctx, .open = play_open, .kill = play_kill,
                                .restart = play_restart };
    struct mfe_play_stats st;
    int rc = mfe_play_run(&ctx->fe, sc, NULL, &h, &st);
    VHC_ASSERT(ctx, rc == 0, "migration.scenario",
               "expected every step of QEMU's live migration to go through; step %u failed: "
               "%s", st.steps + 1, mfe_error(&ctx->fe));
    VHC_ASSERT(ctx, st.traffic_steps >= 3 && st.idle_traffic == 0 && st.completed == st.sent,
               "migration.handover",
               "expected the guest's traffic back in every traffic step (%llu: before, while "
               "logging, on the destination; blk's firmware reads too); %llu of %llu came "
               "back, %llu step(s) got nothing", (unsigned long long)st.traffic_steps,
               (unsigned long long)st.completed, (unsigned long long)st.sent,
               (unsigned long long)st.idle_traffic);
    mfe_note(&ctx->fe, "play migrate: %u steps, %llu of %llu requests or frames back",
             st.steps, (unsigned long long)st.completed, (unsigned long long)st.sent);
}

/* ---- the table ---- */

#define ROW(is_packed, is_mrg) {.pairs = 1, .packed = (is_packed), .mrg = (is_mrg), \
                                .event_idx = true, .max_len = 1518}
static const struct mig_variant split_mrg = { ROW(false, true), false, false };
static const struct mig_variant split_plain = { ROW(false, false), false, false };
static const struct mig_variant packed_mrg = { ROW(true, true), false, false };
static const struct mig_variant packed_plain = { ROW(true, false), false, false };
static const struct mig_variant split_resize = { ROW(false, true), true, false };
static const struct mig_variant packed_resize = { ROW(true, true), true, false };
static const struct mig_variant split_off = { ROW(false, true), false, true };
static const struct mig_variant packed_off = { ROW(true, true), false, true };
static const struct mig_variant mq_split = { {.pairs = 2, .mrg = true, .event_idx = true,
                                              .max_len = 1518}, false, false };

#define RULE_LOG \
    "vhost-user.rst, Migration: with LOG_ALL every write to memory a descriptor points " \
    "at is marked (page = addr / 0x1000, bit page % 8 of byte page / 8, atomically), and " \
    "used-ring writes too on a ring whose SET_VRING_ADDR carries VHOST_VRING_F_LOG; " \
    "QEMU (hw/virtio/vhost.c vhost_migration_log) sends SET_LOG_BASE, then per device " \
    "SET_FEATURES|LOG_ALL and SET_VRING_ADDR with the flag, waiting for each"
#define STEPS_LOG(what) \
    "QEMU start, 200 numbered frames; logging on as QEMU does it (memfd log sized like " \
    "vhost_get_log_size, SET_LOG_BASE + reply, SET_FEATURES|LOG_ALL + wait, GET_STATUS, " \
    "SET_VRING_ADDR|F_LOG + wait per ring); 1000 frames" what "; every page the back end " \
    "wrote (RX bytes it reported, split used element + index, packed used descriptor) " \
    "must have its bit, named by address if not"
#define MIG(case_id, var, feats, fl, fn, why, how, what) { .id = case_id, \
    .summary = what, .rule = why, .steps = how, \
    .features = F_VERSION_1 | F_LOG_ALL | (feats), .protocol_features = PF(LOG_SHMFD), \
    .flags = VHC_F_NET | (fl), .timeout_s = 60, .body = fn, .variant = &var }

const struct vhc_case vhc_cases_migration[] = {
    MIG("migration/dirty-log-mq", mq_split, BIT(VC_NET_F_MQ), VHC_F_MQ, dirty_body, RULE_LOG
        "; one shared log: SET_LOG_BASE from the first pair's device only",
        STEPS_LOG(" on each of two pairs, then stop and the last sync"),
        "two queue pairs, one log: every page written is logged"),
    MIG("migration/dirty-log-off-packed", packed_off, F_PACKED, 0, dirty_body, RULE_LOG
        "; logging off is SET_FEATURES and SET_VRING_ADDR without the bits",
        STEPS_LOG(", the check, logging off (migration cancelled), 1000 more frames back"),
        "packed: logging switched off again, traffic carries on"),
    MIG("migration/dirty-log-off-split", split_off, 0, 0, dirty_body, RULE_LOG
        "; logging off is SET_FEATURES and SET_VRING_ADDR without the bits",
        STEPS_LOG(", the check, logging off (migration cancelled), 1000 more frames back"),
        "split: logging switched off again, traffic carries on"),
    MIG("migration/dirty-log-packed", packed_plain, F_PACKED, 0, dirty_body, RULE_LOG,
        STEPS_LOG(" (packed, no MRG_RXBUF), then stop and the last sync"),
        "packed ring: every RX buffer and used descriptor write is logged"),
    MIG("migration/dirty-log-packed-mrg", packed_mrg, F_PACKED | F_MRG, 0, dirty_body, RULE_LOG,
        STEPS_LOG(" (packed, MRG_RXBUF), then stop and the last sync"),
        "packed ring, mergeable buffers: every page written is logged"),
    MIG("migration/dirty-log-resize-packed", packed_resize, F_PACKED | F_MRG, 0, dirty_body,
        RULE_LOG
        "; vhost_dev_log_resize: a new log is handed over before the old is dropped",
        STEPS_LOG(", a larger log (SET_LOG_BASE), 1000 more; both logs folded"),
        "packed: log resized mid-traffic, no write lost between the logs"),
    MIG("migration/dirty-log-resize-split", split_resize, F_MRG, 0, dirty_body, RULE_LOG
        "; vhost_dev_log_resize: a new log is handed over before the old is dropped",
        STEPS_LOG(", a larger log (SET_LOG_BASE), 1000 more; both logs folded"),
        "split: log resized mid-traffic, no write lost between the logs"),
    MIG("migration/dirty-log-split", split_plain, 0, 0, dirty_body, RULE_LOG,
        STEPS_LOG(" (split, no MRG_RXBUF), then stop and the last sync"),
        "split ring: every RX buffer and used ring write is logged"),
    MIG("migration/dirty-log-split-mrg", split_mrg, F_MRG, 0, dirty_body, RULE_LOG,
        STEPS_LOG(" (split, MRG_RXBUF), then stop and the last sync"),
        "split ring, mergeable buffers: every page written is logged"),
    MIG("migration/handover-packed", packed_mrg, F_PACKED | F_MRG, 0, handover,
        "QEMU switch-over: the source is stopped with GET_VRING_BASE (vhost-user.rst, "
        "Migration: no further update before rings are restarted), the destination back "
        "end starts on the same memory from the saved bases",
        "Logged traffic; GET_VRING_BASE on A; canaries in fresh RX buffers and 32 TX "
        "frames kicked at A: nothing may change for 300 ms; A replaced by a new process B "
        "(init, start from A's bases); 1000 more frames; all back exactly once",
        "packed: stop on A, B resumes from its bases, A silent after the stop"),
    MIG("migration/handover-split", split_mrg, F_MRG, 0, handover,
        "QEMU switch-over: the source is stopped with GET_VRING_BASE (vhost-user.rst, "
        "Migration: no further update before rings are restarted), the destination back "
        "end starts on the same memory from the saved bases",
        "Logged traffic; GET_VRING_BASE on A; canaries in fresh RX buffers and 32 TX "
        "frames kicked at A: nothing may change for 300 ms; A replaced by a new process B "
        "(init, start from A's bases); 1000 more frames; all back exactly once",
        "split: stop on A, B resumes from its bases, A silent after the stop"),
    { .id = "migration/log-base-no-fd", .summary = "SET_LOG_BASE without the log fd is "
      "refused", .rule = "vhost-user.rst, SET_LOG_BASE: under LOG_SHMFD the log's fd comes "
      "in the ancillary data; without it there is nothing to map, so the request fails "
      "(non-zero reply or the connection closed), and the back end lives on",
      .steps = "QEMU init, SET_FEATURES; SET_LOG_BASE size 8 KiB offset 0 and no fd; reply "
      "non-zero or a close; new connection served",
      .features = F_LOG_ALL, .protocol_features = PF(LOG_SHMFD), .body = log_base_no_fd },
    MIG("migration/log-base-reply", split_mrg, 0, 0, log_base_reply,
        "vhost-user.rst, SET_LOG_BASE: under LOG_SHMFD the back end replies once the log "
        "is mapped (QEMU vhost_user_set_log_base waits for a reply echoing the request)",
        "QEMU start; SET_LOG_BASE with a memfd log of vhost_get_log_size words; the reply "
        "echoes SET_LOG_BASE, flags 0x5, and its u64 (if any) is 0",
        "SET_LOG_BASE with a memfd log is answered"),
    { .id = "migration/play-migrate", .summary = "the migrate scenario of play goes through: "
      "logging, switch-over, a new back end resumes",
      .rule = "QEMU live migration (hw/virtio/vhost.c vhost_migration_log; vhost_dev_stop on "
      "the source, vhost_dev_start on the destination): the scenario table's migrate, the "
      "same steps vhost-conform play migrate takes; vhost-user.rst, Migration",
      .steps = "boot, traffic; logging on (SET_LOG_BASE, LOG_ALL, F_LOG); traffic; stop on "
      "the source; its back end killed; a new one started; the destination QEMU: init, start "
      "from the saved bases on the same memory; traffic; poweroff; every traffic step gets "
      "everything back",
      .features = F_LOG_ALL, .protocol_features = PF(LOG_SHMFD), .flags = VHC_F_NOINIT,
      .timeout_s = 60, .body = play_migrate },
    { .id = "migration/send-rarp", .summary = "SEND_RARP puts a RARP for the MAC on the wire",
      .rule = "vhost-user.rst, SEND_RARP (protocol feature RARP): the back end broadcasts a "
      "RARP for the given MAC; QEMU sends it after migration when the guest cannot announce "
      "itself (net/vhost-user.c vhost_user_migration_done)",
      .steps = "QEMU start, RX filled; SEND_RARP 52:54:00:12:34:56 (acked); within 2 s one "
      "RARP (ethertype 0x8035) from that MAC comes back on RX (loopback back end)",
      .features = F_VERSION_1, .protocol_features = PF(RARP), .flags = VHC_F_NET,
      .body = send_rarp, .variant = &split_mrg },
};
const size_t vhc_cases_migration_n = ARRAY_LEN(vhc_cases_migration);

/* lifecycle/: the device's life on one connection: RESET_DEVICE,
 * RESET_OWNER, and the device status walked as a driver walks it. */
#include <string.h>
#include <unistd.h>

#include "datapath_traffic.h"

#define ST_ACKNOWLEDGE 0x1u
#define ST_DRIVER      0x2u
#define ST_DRIVER_OK   0x4u
#define ST_FEATURES_OK 0x8u
#define ST_FAILED      0x80u
#define QUIET_MS       vhc_ms(300)
#define CANARY         0xa5u

static void fill_bases(uint16_t *b, uint16_t v)
{
    for (unsigned i = 0; i < MFE_MAX_VQ; i++)
        b[i] = v;
}

/* A request without payload that must be accepted (acked 0 when
 * REPLY_ACK is negotiated, the stream in sync when not). */
static void accepts_plain(struct vhc_ctx *ctx, uint32_t req, const char *rule)
{
    struct vhu_msg m;
    vhu_msg_init(&m, req, 0);
    vc_accepts(ctx, &m, rule);
}

/* The device taken up again the way QEMU does after a reset or a stop:
 * SET_FEATURES, the memory it already gave (QEMU keeps its own copy of the
 * table and sends only what changed), the rings with new bases; no second
 * SET_OWNER.  The bases must come back. */
static void restart_keeps_session(struct vhc_ctx *ctx, const char *rule)
{
    uint16_t three[MFE_MAX_VQ], got[MFE_MAX_VQ];
    fill_bases(three, 3);
    vc_start(ctx, three, true);
    vc_stop(ctx, got);
    vc_check_bases(ctx, got, three, vc_nvq(ctx), rule);
}

static void reset_device_reinit(struct vhc_ctx *ctx)
{
    uint16_t seven[MFE_MAX_VQ];
    fill_bases(seven, 7);
    vc_start(ctx, seven, false);
    accepts_plain(ctx, VHU_REQ_RESET_DEVICE, "reset_device.accept");
    if (ctx->fe.acked_protocol_features & PF(STATUS)) {
        uint64_t s = vc_get_u64(ctx, VHU_REQ_GET_STATUS);
        VHC_ASSERT(ctx, s == 0, "reset_device.status",
                   "expected GET_STATUS 0 after RESET_DEVICE (the initial device state); "
                   "got 0x%llx", (unsigned long long)s);
    }
    restart_keeps_session(ctx, "reset_device.reinit");
}

static void reset_owner_keeps_session(struct vhc_ctx *ctx)
{
    uint16_t got[MFE_MAX_VQ];
    vc_start(ctx, NULL, false);
    vc_stop(ctx, got);
    accepts_plain(ctx, VHU_REQ_RESET_OWNER, "reset_owner.accept");
    restart_keeps_session(ctx, "reset_owner.session");
}

static void status_expect(struct vhc_ctx *ctx, uint64_t want, const char *rule,
                          const char *after)
{
    uint64_t s = vc_get_u64(ctx, VHU_REQ_GET_STATUS);
    VHC_ASSERT(ctx, s == want, rule, "expected GET_STATUS 0x%llx after %s; got 0x%llx",
               (unsigned long long)want, after, (unsigned long long)s);
}

static void status_walk(struct vhc_ctx *ctx)
{
    status_expect(ctx, 0, "status.initial", "QEMU's init (nothing set yet)");
    vc_accepts_u64(ctx, VHU_REQ_SET_STATUS, ST_ACKNOWLEDGE, "status.set");
    status_expect(ctx, ST_ACKNOWLEDGE, "status.roundtrip", "SET_STATUS(ACKNOWLEDGE)");
    vc_accepts_u64(ctx, VHU_REQ_SET_STATUS, ST_ACKNOWLEDGE | ST_DRIVER, "status.set");
    status_expect(ctx, ST_ACKNOWLEDGE | ST_DRIVER, "status.roundtrip",
                  "SET_STATUS(ACKNOWLEDGE | DRIVER)");
    /* QEMU's start: SET_FEATURES, FEATURES_OK, the rings, DRIVER_OK */
    vc_start(ctx, NULL, false);
    status_expect(ctx, ST_ACKNOWLEDGE | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK,
                  "status.roundtrip", "QEMU's start (FEATURES_OK, then DRIVER_OK)");
    uint16_t got[MFE_MAX_VQ], zero[MFE_MAX_VQ] = { 0 };
    vc_stop(ctx, got);
    vc_check_bases(ctx, got, zero, vc_nvq(ctx), "vring.base.roundtrip");
    /* the profile decides whether the stop sent SET_STATUS(0); say it here */
    vc_accepts_u64(ctx, VHU_REQ_SET_STATUS, 0, "status.set");
    status_expect(ctx, 0, "status.reset", "SET_STATUS(0) (a device reset)");
}

static void status_features_ok_kept(struct vhc_ctx *ctx)
{
    vc_set_features(ctx);
    vc_accepts_u64(ctx, VHU_REQ_SET_STATUS, ST_ACKNOWLEDGE | ST_DRIVER | ST_FEATURES_OK,
                   "status.set");
    /* virtio 1.2, 3.1.1: the driver re-reads status; FEATURES_OK still set
     * means the device accepted the features it was given */
    status_expect(ctx, ST_ACKNOWLEDGE | ST_DRIVER | ST_FEATURES_OK, "status.features_ok",
                  "SET_FEATURES of offered features, then SET_STATUS(FEATURES_OK)");
}

static void status_failed(struct vhc_ctx *ctx)
{
    uint64_t s = ST_ACKNOWLEDGE | ST_DRIVER | ST_FAILED;
    vc_accepts_u64(ctx, VHU_REQ_SET_STATUS, s, "status.set");
    status_expect(ctx, s, "status.failed", "SET_STATUS(ACKNOWLEDGE | DRIVER | FAILED)");
}

static void status_out_of_range(struct vhc_ctx *ctx)
{
    struct vhu_msg m;
    vhu_msg_u64(&m, VHU_REQ_SET_STATUS, 0x10f);
    vhc_expect_rejected(ctx, &m, "status.range");
}

/* The used index of split ring idx, as the back end last wrote it. */
static uint16_t used_idx(struct vhc_ctx *ctx, unsigned idx)
{
    const uint16_t *u = mfe_gpa(&ctx->fe.mem, ctx->fe.vq[idx].used_gpa, 4);
    VHC_ASSERT(ctx, u, "frontend.memory", "ring %u's used ring is in no region", idx);
    return __atomic_load_n(&u[1], __ATOMIC_ACQUIRE);
}

/* RESET_DEVICE on rings carrying traffic: afterwards no ring is processed. */
static void reset_device_stops_rings(struct vhc_ctx *ctx)
{
    static const struct dp_variant v = { .pairs = 1, .event_idx = true, .max_len = 1518 };
    static struct dp d;
    char sum[600];
    dp_start(&d, ctx, &v, 256);
    dp_refill(&d, 0, ~0u);
    VHC_ASSERT(ctx, dp_pump(&d, 64, dp_window(&d), 0), "datapath.loss",
               "expected 64 frames back before the reset; %s", dp_summary(&d, sum, sizeof sum));
    dp_drain(&d, DP_SETTLE_MS, false);
    accepts_plain(ctx, VHU_REQ_RESET_DEVICE, "reset_device.accept");
    uint16_t tx_before = used_idx(ctx, 1);
    dp_plant_canaries(&d, 0, CANARY);
    uint32_t n = dp_send(&d, 0, DP_BATCH);
    usleep((useconds_t)QUIET_MS * 1000u);
    dp_check_canaries(&d, 0, CANARY, "reset_device.rings", "after RESET_DEVICE");
    uint16_t tx_after = used_idx(ctx, 1);
    VHC_ASSERT(ctx, tx_after == tx_before, "reset_device.rings",
               "expected no TX chain taken after RESET_DEVICE (every ring disabled and back "
               "in its initial, stopped state); the TX used index moved %u -> %u with %u "
               "frames kicked", tx_before, tx_after, n);
    dp_destroy(&d);
    restart_keeps_session(ctx, "reset_device.reinit");
}

/* GET_MAX_MEM_SLOTS: the same on init, with regions added, and on a new
 * connection. */
static void max_mem_slots_stable(struct vhc_ctx *ctx)
{
    uint64_t first = vc_get_u64(ctx, VHU_REQ_GET_MAX_MEM_SLOTS);
    vc_start(ctx, NULL, false);
    uint64_t started = vc_get_u64(ctx, VHU_REQ_GET_MAX_MEM_SLOTS);
    VHC_ASSERT(ctx, started == first, "max_mem_slots.stable",
               "expected GET_MAX_MEM_SLOTS to stay %llu with the regions of QEMU's start "
               "added (it is a limit, not what is free); got %llu",
               (unsigned long long)first, (unsigned long long)started);
    vhc_reopen(ctx);
    VHC_OK(ctx, mfe_qemu_init_as(&ctx->fe, 1, MFE_INIT_RECONNECT));
    uint64_t again = vc_get_u64(ctx, VHU_REQ_GET_MAX_MEM_SLOTS);
    VHC_ASSERT(ctx, again >= first, "max_mem_slots.stable",
               "expected GET_MAX_MEM_SLOTS on a new connection not below the first one's "
               "%llu (QEMU fails a reconnect whose limit decreased); got %llu",
               (unsigned long long)first, (unsigned long long)again);
}

const struct vhc_case vhc_cases_lifecycle[] = {
    {
        .id = "lifecycle/reset-device-reinit",
        .summary = "RESET_DEVICE on a started device: status 0, then QEMU's start works "
                   "with no new SET_OWNER",
        .rule = "vhost-user.rst, RESET_DEVICE: the back end disables all rings and resets "
                "all internal device state to the initial state, ready to be "
                "reinitialized, and retains ownership; the initial device status is 0",
        .steps = "QEMU init; start with bases 7; RESET_DEVICE (acked 0 with REPLY_ACK); "
                 "GET_STATUS = 0 (with STATUS); start on the same memory with bases 3, no "
                 "SET_OWNER; stop; bases 3",
        .protocol_features = PF(RESET_DEVICE),
        .timeout_s = 45,
        .body = reset_device_reinit,
    },
    {
        .id = "lifecycle/reset-owner-keeps-session",
        .summary = "RESET_OWNER does not discard the connection: the next start works "
                   "without a new SET_OWNER or memory table",
        .rule = "vhost-user.rst, RESET_OWNER (deprecated): back ends should ignore it or "
                "only disable all rings; reading it as discarding connection state "
                "'would lead to bugs' (QEMU sends neither SET_OWNER nor, with "
                "CONFIGURE_MEM_SLOTS, unchanged regions again)",
        .steps = "QEMU init; start; stop; RESET_OWNER (acked 0 with REPLY_ACK); start on "
                 "the same memory with bases 3; stop; bases 3",
        .timeout_s = 45,
        .body = reset_owner_keeps_session,
    },
    {
        .id = "lifecycle/status-walk",
        .summary = "GET_STATUS follows each SET_STATUS of a driver's bring-up, start, "
                   "stop and reset",
        .rule = "vhost-user.rst, SET_STATUS / GET_STATUS: the device status as defined "
                "by virtio (1.2, 2.1: ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK; "
                "writing 0 resets the device, whose status then reads 0)",
        .steps = "QEMU init; GET_STATUS 0; SET_STATUS 0x1, GET 0x1; SET 0x3, GET 0x3; "
                 "QEMU start; GET 0xf; stop; bases 0; SET_STATUS 0; GET 0",
        .protocol_features = PF(STATUS),
        .timeout_s = 45,
        .body = status_walk,
    },
    {
        .id = "lifecycle/status-features-ok-kept",
        .summary = "FEATURES_OK stays set after SET_FEATURES of offered features",
        .rule = "virtio 1.2, 3.1.1 Driver Requirements: after setting FEATURES_OK the "
                "driver re-reads status; the device clears it only for features it does "
                "not accept; QEMU (vhost_user_add_status) builds each new status from the "
                "one GET_STATUS returns, so a lost bit changes what it sends next",
        .steps = "QEMU init; SET_FEATURES (QEMU's set); SET_STATUS 0xb; GET_STATUS = 0xb",
        .protocol_features = PF(STATUS),
        .body = status_features_ok_kept,
    },
    {
        .id = "lifecycle/max-mem-slots-stable",
        .summary = "GET_MAX_MEM_SLOTS is a fixed limit: the same with regions added, not "
                   "lower on a new connection",
        .rule = "vhost-user.rst, GET_MAX_MEM_SLOTS: the back end returns the maximum number "
                "of memory slots it supports; QEMU (vhost_user_backend_init) refuses a "
                "reconnect whose limit is below the one it validated before",
        .steps = "QEMU init; GET_MAX_MEM_SLOTS = n; QEMU start (ADD_MEM_REG of its regions); "
                 "GET_MAX_MEM_SLOTS = n; new connection, init; GET_MAX_MEM_SLOTS >= n",
        .protocol_features = PF(CONFIGURE_MEM_SLOTS),
        .timeout_s = 45,
        .body = max_mem_slots_stable,
    },
    {
        .id = "lifecycle/reset-device-stops-rings",
        .summary = "after RESET_DEVICE no ring is processed until QEMU starts them again",
        .rule = "vhost-user.rst, RESET_DEVICE: the back end disables all rings and returns "
                "them to their initial (stopped) state; Ring states: a stopped ring is not "
                "processed at all",
        .steps = "QEMU start, 64 frames back; RESET_DEVICE (acked 0 with REPLY_ACK); canaries "
                 "in every RX buffer, 32 TX frames kicked: for 300 ms no RX write, the TX "
                 "used index unchanged; QEMU start on the same memory with bases 3; stop; "
                 "bases 3",
        .features = BIT(32),
        .protocol_features = PF(RESET_DEVICE),
        .flags = VHC_F_NET,
        .timeout_s = 45,
        .body = reset_device_stops_rings,
    },
    {
        .id = "lifecycle/status-failed",
        .summary = "GET_STATUS returns FAILED as the driver set it",
        .rule = "vhost-user.rst, SET_STATUS / GET_STATUS: the device status as virtio "
                "defines it (1.2, 2.1: FAILED, 128, set by a driver that gave up on the "
                "device); the back end returns what was set",
        .steps = "QEMU init; SET_STATUS 0x83 (ACKNOWLEDGE, DRIVER, FAILED); GET_STATUS = 0x83",
        .protocol_features = PF(STATUS),
        .body = status_failed,
    },
    {
        .id = "lifecycle/status-out-of-range",
        .summary = "SET_STATUS of a value past 8 bits is refused",
        .rule = "vhost-user.rst, SET_STATUS: the u64 is the virtio device status, an 8-bit "
                "field (virtio 1.2, 4.1.4.3 device_status); 0x10f has a bit no status has, "
                "so the request is invalid (nack or close) and the back end lives on",
        .steps = "QEMU init; SET_STATUS 0x10f: nack with REPLY_ACK, or a close; GET_FEATURES "
                 "on a new connection",
        .protocol_features = PF(STATUS),
        .body = status_out_of_range,
    },
};
const size_t vhc_cases_lifecycle_n = ARRAY_LEN(vhc_cases_lifecycle);

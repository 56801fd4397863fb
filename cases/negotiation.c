/* negotiation/: features, protocol features, REPLY_ACK, owner, status. */
#include <sys/socket.h>
#include <unistd.h>

#include "caseapi.h"

#define FLAGS_REPLY (VHU_VERSION | VHU_FLAG_REPLY)

static void get_features_reply(struct vhc_ctx *ctx)
{
    uint64_t f = vc_get_u64(ctx, VHU_REQ_GET_FEATURES);
    mfe_note(&ctx->fe, "offered 0x%016llx", (unsigned long long)f);
}

static void features_stable(struct vhc_ctx *ctx)
{
    uint64_t a = vc_get_u64(ctx, VHU_REQ_GET_FEATURES);
    vc_send_plain(ctx, VHU_REQ_SET_OWNER);
    uint64_t b = vc_get_u64(ctx, VHU_REQ_GET_FEATURES);
    VHC_ASSERT(ctx, a == b, "features.stable",
               "expected GET_FEATURES after SET_OWNER to repeat 0x%016llx; got 0x%016llx",
               (unsigned long long)a, (unsigned long long)b);
}

static void protocol_features_reply(struct vhc_ctx *ctx)
{
    /* vc_probe (requirements) asked once; this checks a second, explicit ask */
    uint64_t pf = vc_get_u64(ctx, VHU_REQ_GET_PROTOCOL_FEATURES);
    VHC_ASSERT(ctx, pf == ctx->fe.protocol_features, "protocol_features.stable",
               "expected the second GET_PROTOCOL_FEATURES to repeat the first, 0x%llx; "
               "got 0x%llx", (unsigned long long)ctx->fe.protocol_features,
               (unsigned long long)pf);
}

static void protocol_features_stable(struct vhc_ctx *ctx)
{
    uint64_t a = vc_get_u64(ctx, VHU_REQ_GET_PROTOCOL_FEATURES);
    vc_set_protocol(ctx, a & MFE_QEMU72_PROTOCOL_FEATURES);
    uint64_t b = vc_get_u64(ctx, VHU_REQ_GET_PROTOCOL_FEATURES);
    VHC_ASSERT(ctx, a == b, "protocol_features.stable",
               "expected GET_PROTOCOL_FEATURES after SET_PROTOCOL_FEATURES to repeat the "
               "offer 0x%llx; got 0x%llx", (unsigned long long)a, (unsigned long long)b);
}

/* Wait up to ms for one message into *m: 0, VHU_IO_TIMEOUT or another code. */
static int recv_within(struct vhc_ctx *ctx, int ms, struct vhu_msg *m)
{
    int saved = ctx->fe.timeout_ms;
    ctx->fe.timeout_ms = ms;
    int rc = mfe_recv(&ctx->fe, m);
    ctx->fe.timeout_ms = saved;
    return rc;
}

static void need_reply_without_reply_ack(struct vhc_ctx *ctx)
{
    uint64_t pf = ctx->fe.protocol_features & MFE_QEMU72_PROTOCOL_FEATURES & ~PF(REPLY_ACK);
    vc_set_protocol(ctx, pf);
    struct vhu_msg m, reply;
    vhu_msg_init(&m, VHU_REQ_SET_OWNER, VHU_FLAG_NEED_REPLY);
    VHC_OK(ctx, mfe_send(&ctx->fe, &m));
    int rc = recv_within(ctx, VC_SILENCE_MS, &reply);
    if (rc == 0) {
        /* an ack anyway: tolerated only if it is a well-formed one */
        vhu_msg_close_fds(&reply);
        mfe_note(&ctx->fe, "back end acked although REPLY_ACK was not negotiated");
        vc_check_reply(ctx, &reply, VHU_REQ_SET_OWNER);
        VHC_ASSERT(ctx, reply.hdr.size == 8 && reply.u.u64 == 0, "reply_ack.value",
                   "expected an unasked ack to SET_OWNER to be 8 bytes of 0 (it "
                   "succeeded); got size %u value %llu", reply.hdr.size,
                   (unsigned long long)reply.u.u64);
    } else {
        VHC_ASSERT(ctx, rc == VHU_IO_TIMEOUT, "conn.alive",
                   "expected silence or an ack after SET_OWNER; got: %s", vhu_io_strerror(rc));
    }
    /* whichever it chose, the next reply must be GET_FEATURES' */
    vhu_msg_init(&m, VHU_REQ_GET_FEATURES, 0);
    VHC_OK(ctx, mfe_request(&ctx->fe, &m, &reply));
    vc_check_reply(ctx, &reply, VHU_REQ_GET_FEATURES);
    VHC_ASSERT(ctx, reply.u.u64 == ctx->fe.features, "features.stable",
               "expected the GET_FEATURES reply to repeat the offer 0x%016llx; got 0x%016llx",
               (unsigned long long)ctx->fe.features, (unsigned long long)reply.u.u64);
}

/* QEMU's protocol features with REPLY_ACK, on a connection with no init */
static void negotiate_reply_ack(struct vhc_ctx *ctx)
{
    vc_set_protocol(ctx, ctx->fe.protocol_features & MFE_QEMU72_PROTOCOL_FEATURES);
}

static void reply_ack_set_owner(struct vhc_ctx *ctx)
{
    negotiate_reply_ack(ctx);
    uint64_t v = vc_get_u64_need_reply(ctx, VHU_REQ_SET_OWNER);
    VHC_ASSERT(ctx, v == 0, "reply_ack.value",
               "expected ack 0 (success) to SET_OWNER with NEED_REPLY; got %llu",
               (unsigned long long)v);
}

static void reply_ack_on_get(struct vhc_ctx *ctx)
{
    uint64_t v = vc_get_u64_need_reply(ctx, VHU_REQ_GET_FEATURES);
    VHC_ASSERT(ctx, v == ctx->fe.features, "reply_ack.get",
               "expected the feature word 0x%016llx as the one reply; got 0x%016llx",
               (unsigned long long)ctx->fe.features, (unsigned long long)v);
    vc_expect_silence(ctx, "reply_ack.get", "the GET_FEATURES reply (no second ack owed)");
}

static void reply_ack_failure(struct vhc_ctx *ctx)
{
    struct vhu_msg m;
    vhu_msg_state(&m, VHU_REQ_SET_VRING_NUM, VC_BAD_INDEX, 256);
    vhc_expect_rejected(ctx, &m, "reply_ack.failure");
}

static void reply_flags_no_need_reply(struct vhc_ctx *ctx)
{
    negotiate_reply_ack(ctx);
    /* vc_get_u64_need_reply checks flags == 0x5: NEED_REPLY is not echoed */
    uint64_t pf = vc_get_u64_need_reply(ctx, VHU_REQ_GET_PROTOCOL_FEATURES);
    VHC_ASSERT(ctx, pf == ctx->fe.protocol_features, "protocol_features.stable",
               "expected the offer 0x%llx again; got 0x%llx",
               (unsigned long long)ctx->fe.protocol_features, (unsigned long long)pf);
}

static void no_reply_without_need_reply(struct vhc_ctx *ctx)
{
    struct vhu_msg m;
    vhu_msg_u64(&m, VHU_REQ_SET_FEATURES, vc_qemu_features(ctx));
    VHC_OK(ctx, mfe_send(&ctx->fe, &m));
    vc_expect_silence(ctx, "reply.unsolicited", "SET_FEATURES without NEED_REPLY");
}

/* NOINIT on purpose: a back end whose GET_QUEUE_NUM fails QEMU's init would
 * otherwise end before the body; here the answer itself is judged. */
static void get_queue_num(struct vhc_ctx *ctx)
{
    vc_set_protocol(ctx, ctx->fe.protocol_features & MFE_QEMU72_PROTOCOL_FEATURES);
    uint64_t qn = vc_get_u64(ctx, VHU_REQ_GET_QUEUE_NUM);
    VHC_ASSERT(ctx, qn >= 1, "queue_num.min",
               "expected GET_QUEUE_NUM >= 1 (a net device has at least one queue pair); "
               "got %llu", (unsigned long long)qn);
    /* QEMU sizes the device from one answer: a second must agree */
    uint64_t again = vc_get_u64(ctx, VHU_REQ_GET_QUEUE_NUM);
    VHC_ASSERT(ctx, again == qn, "queue_num.stable",
               "expected a second GET_QUEUE_NUM to repeat %llu; got %llu",
               (unsigned long long)qn, (unsigned long long)again);
}

static void queue_num_before_set_protocol(struct vhc_ctx *ctx)
{
    /* vc_probe asked GET_(PROTOCOL_)FEATURES only: nothing is set yet */
    uint64_t qn = vc_get_u64(ctx, VHU_REQ_GET_QUEUE_NUM);
    VHC_ASSERT(ctx, qn >= 1, "queue_num.min", "expected GET_QUEUE_NUM >= 1; got %llu",
               (unsigned long long)qn);
}

static void set_owner(struct vhc_ctx *ctx)
{
    vc_send_plain(ctx, VHU_REQ_SET_OWNER);
    vc_expect_silence(ctx, "reply.unsolicited", "SET_OWNER without NEED_REPLY");
    vc_get_u64(ctx, VHU_REQ_GET_FEATURES);
}

static void set_features_subset(struct vhc_ctx *ctx)
{
    /* the least a modern driver takes: VERSION_1, plus bit 30 for vhost-user */
    uint64_t f = ctx->fe.features & (BIT(VHU_F_VERSION_1) | BIT(VHU_F_PROTOCOL_FEATURES));
    if (!f)   /* 0 would mean "QEMU's default set" to mfe_qemu_start */
        vhc_skip(ctx, "back end offers neither VERSION_1 nor PROTOCOL_FEATURES");
    struct mfe_start_opts o = { .features = f };
    VHC_OK(ctx, mfe_qemu_start(&ctx->fe, &o));
    uint16_t got[MFE_MAX_VQ], zero[MFE_MAX_VQ] = { 0 };
    vc_stop(ctx, got);
    vc_check_bases(ctx, got, zero, vc_nvq(ctx), "vring.base.roundtrip");
}

/* lowest feature bit the back end does not offer (bits 0-23 device, then
 * transport), or -1 */
static int unoffered_bit(uint64_t offered)
{
    for (int b = 0; b < 64; b++)
        if (!(offered & BIT(b)))
            return b;
    return -1;
}

static void set_features_not_offered(struct vhc_ctx *ctx)
{
    int b = unoffered_bit(ctx->fe.features);
    if (b < 0)
        vhc_skip(ctx, "back end offers all 64 feature bits");
    struct vhu_msg m;
    vhu_msg_u64(&m, VHU_REQ_SET_FEATURES, vc_qemu_features(ctx) | BIT(b));
    mfe_note(&ctx->fe, "setting unoffered feature bit %d", b);
    vhc_expect_rejected(ctx, &m, "features.not_offered");
}

static void status_roundtrip(struct vhc_ctx *ctx)
{
    vc_set_features(ctx);
    vc_accepts_u64(ctx, VHU_REQ_SET_STATUS, 0x8, "status.set");
    uint64_t s = vc_get_u64(ctx, VHU_REQ_GET_STATUS);
    VHC_ASSERT(ctx, s == 0x8, "status.roundtrip",
               "expected GET_STATUS to return FEATURES_OK (0x8) just set; got 0x%llx",
               (unsigned long long)s);
}

static void backend_req_fd(struct vhc_ctx *ctx)
{
    negotiate_reply_ack(ctx);
    int sv[2];
    VHC_ASSERT(ctx, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0,
               "frontend.socketpair", "socketpair failed");
    struct vhu_msg m;
    vhu_msg_init(&m, VHU_REQ_SET_BACKEND_REQ_FD, VHU_FLAG_NEED_REPLY);
    vhu_msg_add_fd(&m, sv[1]);
    uint64_t ack = vc_ack(ctx, &m);
    close(sv[1]);
    close(sv[0]);
    VHC_ASSERT(ctx, ack == 0, "backend_req.ack",
               "expected ack 0 to SET_BACKEND_REQ_FD with NEED_REPLY; got %llu",
               (unsigned long long)ack);
}

static void qemu72_init_sequence(struct vhc_ctx *ctx)
{
    VHC_OK(ctx, mfe_qemu_init(&ctx->fe, 1));
    vc_expect_silence(ctx, "reply.unsolicited", "QEMU 7.2's init");
    uint64_t f = vc_get_u64(ctx, VHU_REQ_GET_FEATURES);
    VHC_ASSERT(ctx, f == ctx->fe.features, "features.stable",
               "expected GET_FEATURES after init to repeat 0x%016llx; got 0x%016llx",
               (unsigned long long)ctx->fe.features, (unsigned long long)f);
}

static void qemu72_mq_init(struct vhc_ctx *ctx)
{
    vc_expect_silence(ctx, "reply.unsolicited", "QEMU 7.2's init of 2 queue pairs");
    vc_get_u64(ctx, VHU_REQ_GET_FEATURES);
}

#define PROTO BIT(VHU_F_PROTOCOL_FEATURES)

const struct vhc_case vhc_cases_negotiation[] = {
    {
        .id = "negotiation/get-features-reply",
        .summary = "GET_FEATURES is answered with flags 0x5 and an 8-byte u64",
        .rule = "vhost-user.rst, Communication and GET_FEATURES: the request requires a "
                "reply; the reply echoes the request code, sets version 1 and REPLY, "
                "and carries a u64; QEMU (hw/virtio/vhost-user.c, vhost_user_read_header) "
                "drops the connection on reply flags other than exactly 0x5",
        .steps = "connect; GET_FEATURES; check request 1, flags 0x5, size 8",
        .flags = VHC_F_NOINIT,
        .body = get_features_reply,
    },
    {
        .id = "negotiation/features-stable",
        .summary = "GET_FEATURES gives the same word before and after SET_OWNER",
        .rule = "QEMU 7.2 behaviour (trace a1): QEMU asks GET_FEATURES before and after "
                "SET_OWNER and expects the same offer; the feature word describes the "
                "device, which SET_OWNER does not change",
        .steps = "GET_FEATURES; SET_OWNER; GET_FEATURES; equal",
        .flags = VHC_F_NOINIT,
        .body = features_stable,
    },
    {
        .id = "negotiation/protocol-features-reply",
        .summary = "GET_PROTOCOL_FEATURES is answered with flags 0x5 and a u64",
        .rule = "vhost-user.rst, GET_PROTOCOL_FEATURES: legal when bit 30 is offered, "
                "answered even before SET_FEATURES; reply flags 0x5, 8-byte u64",
        .steps = "GET_FEATURES; GET_PROTOCOL_FEATURES twice; check each reply; the "
                 "second repeats the first",
        .features = PROTO,
        .flags = VHC_F_NOINIT,
        .body = protocol_features_reply,
    },
    {
        .id = "negotiation/get-protocol-features-twice-stable",
        .summary = "the protocol feature offer does not change after SET_PROTOCOL_FEATURES",
        .rule = "vhost-user.rst, GET/SET_PROTOCOL_FEATURES: GET returns what the back end "
                "supports, SET enables a subset; enabling does not change the offer",
        .steps = "GET_PROTOCOL_FEATURES; SET_PROTOCOL_FEATURES (QEMU's mask); "
                 "GET_PROTOCOL_FEATURES; equal",
        .features = PROTO,
        .flags = VHC_F_NOINIT,
        .body = protocol_features_stable,
    },
    {
        .id = "negotiation/need-reply-without-reply-ack",
        .summary = "NEED_REPLY without REPLY_ACK negotiated keeps the stream in sync",
        .rule = "vhost-user.rst, REPLY_ACK: NEED_REPLY has a meaning only once REPLY_ACK "
                "is negotiated; the spec does not say whether a back end may ack anyway, "
                "so the weakest check: silence or one well-formed ack, then the next "
                "reply is the answer to the next request",
        .steps = "SET_PROTOCOL_FEATURES without REPLY_ACK; SET_OWNER with NEED_REPLY; "
                 "silence or a well-formed ack 0 (request 3, flags 0x5, 8 bytes); "
                 "GET_FEATURES answered with the offer",
        .features = PROTO,   /* SET_PROTOCOL_FEATURES must be legal */
        .flags = VHC_F_NOINIT,
        .body = need_reply_without_reply_ack,
    },
    {
        .id = "negotiation/reply-ack-set-owner",
        .summary = "SET_OWNER with NEED_REPLY gets ack 0 with flags 0x5",
        .rule = "vhost-user.rst, REPLY_ACK: with the extension negotiated and NEED_REPLY "
                "set the back end MUST reply with a u64, zero on success; the reply sets "
                "REPLY and not NEED_REPLY",
        .steps = "negotiate REPLY_ACK; SET_OWNER with NEED_REPLY; ack 0, flags 0x5",
        .protocol_features = PF(REPLY_ACK),
        .flags = VHC_F_NOINIT,
        .body = reply_ack_set_owner,
    },
    {
        .id = "negotiation/reply-ack-on-get",
        .summary = "NEED_REPLY on GET_FEATURES: one reply, the feature word, no extra ack",
        .rule = "vhost-user.rst, REPLY_ACK: for requests that already have a reply, "
                "NEED_REPLY brings no change: exactly one reply with the request's body",
        .steps = "QEMU init; GET_FEATURES with NEED_REPLY; reply = offer; silence after",
        .protocol_features = PF(REPLY_ACK),
        .body = reply_ack_on_get,
    },
    {
        .id = "negotiation/reply-ack-failure",
        .summary = "an invalid request with NEED_REPLY gets a non-zero ack or a close",
        .rule = "vhost-user.rst, REPLY_ACK: the ack is zero on success, non-zero on "
                "failure; a ring index past every ring cannot succeed, so ack 0 is a "
                "false success (a close is also accepted)",
        .steps = "QEMU init; SET_VRING_NUM index 1024 with NEED_REPLY; non-zero ack or "
                 "close; a new connection is served",
        .protocol_features = PF(REPLY_ACK),
        .body = reply_ack_failure,
    },
    {
        .id = "negotiation/reply-flags-no-need-reply-bit",
        .summary = "a reply to a request with NEED_REPLY does not echo NEED_REPLY",
        .rule = "vhost-user.rst, Header: bit 2 (REPLY) is set on each reply; bit 3 is the "
                "front end's need_reply request, so a reply's flags are exactly 0x5",
        .steps = "negotiate REPLY_ACK; GET_PROTOCOL_FEATURES with NEED_REPLY; flags 0x5",
        .protocol_features = PF(REPLY_ACK),
        .flags = VHC_F_NOINIT,
        .body = reply_flags_no_need_reply,
    },
    {
        .id = "negotiation/no-reply-without-need-reply",
        .summary = "SET_FEATURES without NEED_REPLY gets no reply",
        .rule = "vhost-user.rst, Communication: only the listed requests (GET_FEATURES, "
                "GET_PROTOCOL_FEATURES, GET_VRING_BASE, ...) require replies; acks come "
                "only for NEED_REPLY; an unasked reply desynchronises QEMU",
        .steps = "QEMU init; SET_FEATURES without NEED_REPLY; silence for 300 ms",
        .body = no_reply_without_need_reply,
    },
    {
        .id = "negotiation/get-queue-num",
        .summary = "GET_QUEUE_NUM answers at least 1, the same each time",
        .rule = "vhost-user.rst, Multiple queue support / GET_QUEUE_NUM: with MQ the "
                "back end reports how many queues it supports; a net device has >= 1; "
                "QEMU 7.2 (trace a1) asks right after SET_PROTOCOL_FEATURES",
        .steps = "GET_(PROTOCOL_)FEATURES; SET_PROTOCOL_FEATURES (QEMU's mask); "
                 "GET_QUEUE_NUM twice: flags 0x5, value >= 1, both equal",
        .protocol_features = PF(MQ),
        .flags = VHC_F_NOINIT,
        .body = get_queue_num,
    },
    {
        .id = "negotiation/get-queue-num-before-set-protocol",
        .summary = "GET_QUEUE_NUM is answered once MQ is offered, before it is set",
        .rule = "vhost-user.rst, GET_QUEUE_NUM: may be sent when MQ is set in the protocol "
                "features *queried* by GET_PROTOCOL_FEATURES; the spec does not make it "
                "wait for SET_PROTOCOL_FEATURES",
        .steps = "GET_FEATURES; GET_PROTOCOL_FEATURES; GET_QUEUE_NUM answered, >= 1",
        .protocol_features = PF(MQ),
        .flags = VHC_F_NOINIT,
        .body = queue_num_before_set_protocol,
    },
    {
        .id = "negotiation/set-owner",
        .summary = "SET_OWNER gets no reply and the session continues",
        .rule = "vhost-user.rst, SET_OWNER: sent when a connection is established, no "
                "reply payload; without NEED_REPLY nothing is sent back",
        .steps = "GET_FEATURES; SET_OWNER; silence; GET_FEATURES answered",
        .flags = VHC_F_NOINIT,
        .body = set_owner,
    },
    {
        .id = "negotiation/set-features-subset",
        .summary = "a minimal subset of the offer (VERSION_1 + bit 30) still starts",
        .rule = "virtio 1.1, 2.2 Feature Bits: the driver may accept any subset of the "
                "offered features; vhost-user.rst SET_FEATURES enables that subset",
        .steps = "QEMU init; start with features VERSION_1 | PROTOCOL_FEATURES; stop; "
                 "bases 0",
        .body = set_features_subset,
    },
    {
        .id = "negotiation/set-features-not-offered",
        .summary = "SET_FEATURES with a bit the back end did not offer is refused",
        .rule = "virtio 1.1, 3.1.1: the driver must not accept a feature the device did "
                "not offer; vhost-user.rst REPLY_ACK: the back end reports failure with a "
                "non-zero ack (or closes); ack 0 claims a feature it cannot provide",
        .steps = "QEMU init; SET_FEATURES(QEMU's set | lowest unoffered bit); non-zero "
                 "ack, close, or (no REPLY_ACK) ignored; new connection served",
        .body = set_features_not_offered,
    },
    {
        .id = "negotiation/status-roundtrip",
        .summary = "SET_STATUS(FEATURES_OK) then GET_STATUS returns it",
        .rule = "vhost-user.rst, SET_STATUS / GET_STATUS: the device status as defined "
                "by virtio; QEMU 7.2 (trace b1) sets FEATURES_OK and reads it back",
        .steps = "QEMU init; SET_FEATURES; SET_STATUS 0x8; GET_STATUS = 0x8",
        .protocol_features = PF(STATUS),
        .body = status_roundtrip,
    },
    {
        .id = "negotiation/backend-req-fd",
        .summary = "SET_BACKEND_REQ_FD with NEED_REPLY gets ack 0",
        .rule = "vhost-user.rst, SET_BACKEND_REQ_FD: with REPLY_ACK negotiated the back "
                "end must respond zero for success; QEMU 7.2 (trace a1) always asks",
        .steps = "negotiate protocol features; SET_BACKEND_REQ_FD(socket) NEED_REPLY; ack 0",
        .protocol_features = PF(BACKEND_REQ) | PF(REPLY_ACK),
        .flags = VHC_F_NOINIT,
        .body = backend_req_fd,
    },
    {
        .id = "negotiation/qemu72-init-sequence",
        .summary = "QEMU 7.2's whole init: every reply well formed, nothing unasked",
        .rule = "QEMU 7.2 behaviour (trace a1): GET_FEATURES, GET/SET_PROTOCOL_FEATURES, "
                "GET_QUEUE_NUM, SET_BACKEND_REQ_FD, SET_OWNER, GET_FEATURES, "
                "SET_VRING_CALL/ERR, SET_VRING_ENABLE; each reply well formed",
        .steps = "QEMU init (checked by the mock front end); silence; GET_FEATURES "
                 "repeats the offer",
        .flags = VHC_F_NOINIT,
        .body = qemu72_init_sequence,
    },
    {
        .id = "negotiation/qemu72-mq-init",
        .summary = "QEMU 7.2's init with 2 queue pairs",
        .rule = "QEMU 7.2 behaviour (trace a4): with queues=2 QEMU runs the init once per "
                "queue pair on the same connection; every reply well formed",
        .steps = "QEMU init of 2 queue pairs; silence; GET_FEATURES answered",
        .protocol_features = PF(MQ),
        .flags = VHC_F_MQ,
        .body = qemu72_mq_init,
    },
};
const size_t vhc_cases_negotiation_n = ARRAY_LEN(vhc_cases_negotiation);

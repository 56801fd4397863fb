/* connect/: meeting the back end, losing the connection, meeting it again. */
#include <string.h>
#include <unistd.h>

#include "caseapi.h"

/* The first reply on a fresh connection is well formed. */
static void first_reply(struct vhc_ctx *ctx)
{
    uint64_t f = vc_get_u64(ctx, VHU_REQ_GET_FEATURES);
    mfe_note(&ctx->fe, "features 0x%016llx", (unsigned long long)f);
}

static void server_basic(struct vhc_ctx *ctx)
{
    first_reply(ctx);
}

static void client_basic(struct vhc_ctx *ctx)
{
    /* vhc_open already waited (5 s) for the back end's connect */
    first_reply(ctx);
}

static void reconnect_after_close(struct vhc_ctx *ctx)
{
    uint64_t before = ctx->fe.features;
    vhc_reopen(ctx);
    VHC_OK(ctx, mfe_qemu_init(&ctx->fe, 1));
    VHC_ASSERT(ctx, ctx->fe.features == before, "features.stable",
               "expected the same features after reconnecting (0x%016llx); got 0x%016llx",
               (unsigned long long)before, (unsigned long long)ctx->fe.features);
}

static void close_before_first_message(struct vhc_ctx *ctx)
{
    vhc_open(ctx);
    mfe_note(&ctx->fe, "closing without a message");
    vhc_expect_alive(ctx, "conn.close.early");
}

/* Bytes of a GET_FEATURES header, cut at len, then close. */
static void cut_header(struct vhc_ctx *ctx, size_t len)
{
    struct vhu_msg m;
    uint8_t buf[VHU_HDR_SIZE + 8];
    vhu_msg_init(&m, VHU_REQ_GET_FEATURES, 0);
    size_t n = vhu_encode(&m, buf, sizeof buf);
    VHC_ASSERT(ctx, n >= len, "frontend.encode", "encode gave %zu bytes", n);
    VHC_OK(ctx, mfe_send_raw(&ctx->fe, buf, len, NULL, 0));
}

static void close_mid_header(struct vhc_ctx *ctx)
{
    cut_header(ctx, 6);
    vhc_expect_alive(ctx, "conn.close.mid_header");
}

static void close_mid_payload(struct vhc_ctx *ctx)
{
    struct vhu_msg m;
    uint8_t buf[VHU_HDR_SIZE + 8];
    vhu_msg_u64(&m, VHU_REQ_SET_FEATURES, BIT(VHU_F_VERSION_1));
    size_t n = vhu_encode(&m, buf, sizeof buf);
    VHC_ASSERT(ctx, n == VHU_HDR_SIZE + 8, "frontend.encode", "encode gave %zu bytes", n);
    VHC_OK(ctx, mfe_send_raw(&ctx->fe, buf, VHU_HDR_SIZE + 3, NULL, 0));
    vhc_expect_alive(ctx, "conn.close.mid_payload");
}

static void idle_then_request(struct vhc_ctx *ctx)
{
    int rc = mfe_expect_silence(&ctx->fe, 1000);
    VHC_ASSERT(ctx, rc == VHU_IO_TIMEOUT, "conn.unsolicited",
               "expected the back end silent for 1 s on a new connection; got: %s",
               rc == 0 ? mfe_error(&ctx->fe) : vhu_io_strerror(rc));
    first_reply(ctx);
}

static void reconnect_after_start(struct vhc_ctx *ctx)
{
    uint16_t bases[MFE_MAX_VQ], got[MFE_MAX_VQ];
    unsigned n = vc_nvq(ctx);
    for (unsigned i = 0; i < n; i++)
        bases[i] = (uint16_t)(7 + i);
    vc_start(ctx, NULL, false);
    /* the front end goes away with the rings running, then comes back and
     * restarts from its saved indexes on the same memory (trace d1) */
    vhc_reopen(ctx);
    VHC_OK(ctx, mfe_qemu_init(&ctx->fe, 1));
    vc_start(ctx, bases, true);
    vc_stop(ctx, got);
    vc_check_bases(ctx, got, bases, n, "vring.base.reconnect");
}

const struct vhc_case vhc_cases_connect[] = {
    {
        .id = "connect/server-basic",
        .summary = "connect to a listening back end; GET_FEATURES is answered",
        .rule = "vhost-user.rst, Communication: GET_FEATURES requires a reply; a reply's "
                "flags carry version 1 and the REPLY bit (0x5) and its u64 is 8 bytes",
        .steps = "connect; GET_FEATURES; check request echoed, flags 0x5, size 8",
        .flags = VHC_F_SERVER_ONLY | VHC_F_NOINIT,
        .body = server_basic,
    },
    {
        .id = "connect/client-basic",
        .summary = "a back end in client mode connects to our socket within 5 s",
        .rule = "vhost-user.rst, Introduction: either side may be the socket server; a "
                "client back end connects to the front end's listening socket",
        .steps = "listen; accept within 5 s; GET_FEATURES; check flags 0x5, size 8",
        .flags = VHC_F_CLIENT_ONLY | VHC_F_NOINIT,
        .body = client_basic,
    },
    {
        .id = "connect/reconnect-after-close",
        .summary = "after QEMU's init and a close, a new connection is initialised again",
        .rule = "vhost-user.rst, Communication: an optional reconnection mechanism may be "
                "implemented; QEMU 7.2 behaviour (trace d1, session 2): on a new "
                "connection it repeats the whole init and expects the same offer (a "
                "changed feature word would not match what the guest already acked)",
        .steps = "QEMU init; close; reconnect; QEMU init; features equal",
        .body = reconnect_after_close,
    },
    {
        .id = "connect/close-before-first-message",
        .summary = "a connection closed before any message does not stop the back end",
        .rule = "vhost-user.rst, Communication (reconnection): the front end may go away "
                "at any time; weakest check: the back end serves the next connection",
        .steps = "connect; close; connect again; GET_FEATURES answered",
        .flags = VHC_F_NOCONNECT,
        .body = close_before_first_message,
    },
    {
        .id = "connect/close-mid-header",
        .summary = "a close after 6 header bytes does not stop the back end",
        .rule = "vhost-user.rst, Communication: a front end unable to send a full message "
                "closes the connection; the back end must survive a partial header and "
                "serve the next connection",
        .steps = "connect; send 6 of 12 header bytes; close; reconnect; GET_FEATURES",
        .flags = VHC_F_NOINIT,
        .body = close_mid_header,
    },
    {
        .id = "connect/close-mid-payload",
        .summary = "a close inside a payload does not stop the back end",
        .rule = "vhost-user.rst, Communication: a front end unable to send a full message "
                "closes the connection; the back end must drop the partial SET_FEATURES "
                "and serve the next connection",
        .steps = "connect; send SET_FEATURES header + 3 of 8 payload bytes; close; "
                 "reconnect; GET_FEATURES",
        .flags = VHC_F_NOINIT,
        .body = close_mid_payload,
    },
    {
        .id = "connect/idle-then-request",
        .summary = "1 s of silence, then GET_FEATURES is answered",
        .rule = "vhost-user.rst, Communication: the back end only replies to requests; it "
                "sends nothing unasked and must not time the front end out",
        .steps = "connect; expect silence for 1 s; GET_FEATURES answered",
        .flags = VHC_F_NOINIT,
        .body = idle_then_request,
    },
    {
        .id = "connect/reconnect-after-start",
        .summary = "reconnect with the rings running; restart from the saved indexes",
        .rule = "QEMU 7.2 behaviour (trace d1): after a lost connection QEMU repeats init "
                "and start on the same guest memory with SET_VRING_BASE = its saved "
                "index; GET_VRING_BASE must then return that index (no traffic)",
        .steps = "QEMU init; start; close; reconnect; init; start with bases 7, 8; stop; "
                 "GET_VRING_BASE = 7, 8",
        .timeout_s = 45,
        .body = reconnect_after_start,
    },
};
const size_t vhc_cases_connect_n = ARRAY_LEN(vhc_cases_connect);

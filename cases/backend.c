/* backend/: the back-end channel (SET_BACKEND_REQ_FD, protocol feature
 * BACKEND_REQ), on which the back end sends requests to the front end.
 *
 * What makes a back end speak there differs by back end; the cases change
 * its config space with SET_CONFIG (net: a byte of the mtu, with the
 * migration flag, the only write a virtio 1.x net device takes; blk: the
 * writeback byte, a guest write), after which a back end may send
 * VHOST_USER_BACKEND_CONFIG_CHANGE_MSG (vhost-refnet does).  The mock front
 * end serves the channel as QEMU 7.2 does (mfe_backend.h).  A back end that
 * sends nothing after the change SKIPs the cases that need a message, with
 * that reason; the malformed-channel cases need none. */
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "caseapi.h"
#include "mfe_backend.h"

#define CFG_HDR        12u
#define CFG_MIGRATION  1u
#define CHANGE_MS      vhc_ms(1500)   /* a notification is given this long */
#define QUIET_MS       vhc_ms(300)
#define NEVER_READ_CHANGES 2000u       /* a UNIX socket buffer holds a few hundred */

/* The byte each device type's config write changes. */
struct cfg_write {
    uint32_t offset, flags;
    const char *what;
};
static const struct cfg_write writes[] = {
    [VHU_DEV_NET] = { 10, CFG_MIGRATION, "byte 10 (mtu), migration flag" },
    [VHU_DEV_BLK] = { 32, 0, "byte 32 (writeback), a guest write" },
    [VHU_DEV_FS] = { 0, 0, NULL },
};

static unsigned device(const struct vhc_ctx *ctx)
{
    return (unsigned)mfe_qemu_device(&ctx->fe)->dev;
}

/* QEMU's init steps for the channel on their own: protocol features (CONFIG
 * and BACKEND_REQ with the offered of QEMU 7.2's; REPLY_ACK unless
 * without_ack), SET_OWNER, SET_BACKEND_REQ_FD. */
static void chan_open(struct vhc_ctx *ctx, bool without_ack)
{
    uint64_t pf = ctx->fe.protocol_features &
                  (MFE_QEMU72_PROTOCOL_FEATURES | PF(CONFIG) | PF(BACKEND_REQ));
    if (without_ack)
        pf &= ~PF(REPLY_ACK);
    vc_set_protocol(ctx, pf);
    vc_send_plain(ctx, VHU_REQ_SET_OWNER);
    VHC_OK(ctx, mfe_backend_req_new(&ctx->fe));
}

/* Byte `offset` of the config, read as QEMU reads it: from offset 0 (a
 * back end that ignores GET_CONFIG's offset is the config/ cases' business,
 * not this area's).  The case SKIPs on an empty reply. */
static uint8_t read_byte(struct vhc_ctx *ctx, uint32_t offset)
{
    struct vhu_msg q, r;
    vc_config_msg(&q, VHU_REQ_GET_CONFIG, 0, offset + 1, 0);
    VHC_OK(ctx, mfe_request(&ctx->fe, &q, &r));
    vhu_msg_close_fds(&r);
    if (r.hdr.size < CFG_HDR + offset + 1)
        vhc_skip(ctx, "GET_CONFIG of bytes 0..%u answered empty: no config space to change",
                 offset);
    return r.u.config.data[offset];
}

/* Change the device's byte with SET_CONFIG; SKIP when the back end does not
 * take the write.  Returns the new value. */
static uint8_t change_config(struct vhc_ctx *ctx)
{
    const struct cfg_write *w = &writes[device(ctx)];
    if (!w->what)
        vhc_skip(ctx, "no writable config byte known for a %s device",
                 mfe_qemu_device(&ctx->fe)->name);
    uint8_t v = (uint8_t)(read_byte(ctx, w->offset) ^ 1u);
    struct vhu_msg m;
    vc_config_msg(&m, VHU_REQ_SET_CONFIG, w->offset, 1, w->flags);
    m.u.config.data[0] = v;
    if (mfe_reply_ack(&ctx->fe))
        m.hdr.flags |= VHU_FLAG_NEED_REPLY;
    uint64_t ack = vc_ack(ctx, &m);
    if (ack != 0)
        vhc_skip(ctx, "SET_CONFIG of %s refused (ack %llu): the config cannot be changed "
                 "from here", w->what, (unsigned long long)ack);
    mfe_note(&ctx->fe, "config %s set to 0x%02x", w->what, v);
    return v;
}

/* One back-end request served within CHANGE_MS; SKIP when none comes. */
static void serve_change(struct vhc_ctx *ctx, struct mfe_backend_seen *s)
{
    int rc = mfe_backend_serve(&ctx->fe, CHANGE_MS, s);
    if (rc == VHU_IO_TIMEOUT)
        vhc_skip(ctx, "no request on the back-end channel within %d ms of a config "
                 "change: the back end does not send CONFIG_CHANGE_MSG for it", CHANGE_MS);
    VHC_ASSERT(ctx, rc != VHU_IO_EOF, "backend.channel",
               "expected CONFIG_CHANGE_MSG on the back-end channel; the channel closed or "
               "carried a message QEMU cannot read");
    VHC_OK(ctx, rc);
    VHC_ASSERT(ctx, s->last_request == VHU_BREQ_CONFIG_CHANGE_MSG, "backend.config-change",
               "expected CONFIG_CHANGE_MSG (2) after the config change; got back-end "
               "request %u", s->last_request);
    VHC_ASSERT(ctx, (s->last_flags & VHU_VERSION_MASK) == VHU_VERSION &&
               !(s->last_flags & VHU_FLAG_REPLY), "hdr.flags",
               "expected a back-end request with version 1 and no REPLY flag; flags 0x%x",
               s->last_flags);
}

/* After the notification: the config reads the new value (the mock read it
 * again if QEMU would; else the case does), and the main channel is in sync. */
static void check_after(struct vhc_ctx *ctx, const struct mfe_backend_seen *s, uint8_t v)
{
    const struct cfg_write *w = &writes[device(ctx)];
    uint8_t got = s->config_read ? s->config.data[w->offset] : read_byte(ctx, w->offset);
    VHC_ASSERT(ctx, got == v, "backend.config-change",
               "expected the config read after CONFIG_CHANGE_MSG to hold the new %s 0x%02x; "
               "got 0x%02x", w->what, v, got);
    uint64_t f = vc_get_u64(ctx, VHU_REQ_GET_FEATURES);
    VHC_ASSERT(ctx, f == ctx->fe.features, "reply.value",
               "expected GET_FEATURES after the back-end request to answer as before "
               "(0x%llx); got 0x%llx", (unsigned long long)ctx->fe.features,
               (unsigned long long)f);
}

static void config_change(struct vhc_ctx *ctx)
{
    bool without_ack = ctx->c->variant != NULL;
    chan_open(ctx, without_ack);
    uint8_t v = change_config(ctx);
    struct mfe_backend_seen s = { 0 };
    serve_change(ctx, &s);
    bool need = (s.last_flags & VHU_FLAG_NEED_REPLY) != 0;
    mfe_note(&ctx->fe, "CONFIG_CHANGE_MSG %s NEED_REPLY; %s", need ? "with" : "without",
             s.replies ? "answered" : "no answer owed");
    if (without_ack)
        VHC_ASSERT(ctx, !need, "backend.need-reply",
                   "expected no NEED_REPLY on a back-end request without REPLY_ACK "
                   "negotiated (the front end need not answer); flags 0x%x", s.last_flags);
    check_after(ctx, &s, v);
    vc_expect_silence(ctx, "backend.channel", "the answer to CONFIG_CHANGE_MSG");
}

/* The second SET_BACKEND_REQ_FD replaces the first: the request comes on
 * the new channel, nothing on the old one. */
static void channel_replaced(struct vhc_ctx *ctx)
{
    chan_open(ctx, false);
    int old = dup(ctx->fe.backend_req);
    VHC_ASSERT(ctx, old >= 0, "frontend.fd", "dup of the back-end channel failed");
    VHC_OK(ctx, mfe_backend_req_new(&ctx->fe));
    uint8_t v = change_config(ctx);
    struct mfe_backend_seen s = { 0 };
    int rc = mfe_backend_serve(&ctx->fe, CHANGE_MS, &s);
    struct vhu_msg m;
    int on_old = vhu_recv(old, &m, rc == VHU_IO_TIMEOUT ? 0 : QUIET_MS, NULL);
    if (on_old == VHU_IO_OK)
        vhu_msg_close_fds(&m);
    close(old);
    VHC_ASSERT(ctx, on_old != VHU_IO_OK, "backend.channel",
               "expected nothing on the first back-end channel after a second "
               "SET_BACKEND_REQ_FD replaced it; request %u came there", m.hdr.request);
    if (rc == VHU_IO_TIMEOUT)
        vhc_skip(ctx, "no request on either back-end channel within %d ms of a config "
                 "change: the back end does not send CONFIG_CHANGE_MSG for it", CHANGE_MS);
    VHC_OK(ctx, rc);
    check_after(ctx, &s, v);
}

/* The main channel still served: GET_CONFIG reads the byte changed to v, a
 * new connection is served. */
static void still_serves(struct vhc_ctx *ctx, uint8_t v, const char *after)
{
    uint8_t got = read_byte(ctx, writes[device(ctx)].offset);
    VHC_ASSERT(ctx, got == v, "backend.channel",
               "expected the main channel served after %s: GET_CONFIG to read the new "
               "byte 0x%02x; got 0x%02x", after, v, got);
    vhc_expect_alive(ctx, "backend.channel");
}

/* Our end of the channel closed before the back end uses it. */
static void channel_closed(struct vhc_ctx *ctx)
{
    chan_open(ctx, false);
    close(ctx->fe.backend_req);
    ctx->fe.backend_req = -1;
    mfe_note(&ctx->fe, "front end closed its end of the back-end channel");
    still_serves(ctx, change_config(ctx), "its back-end channel was closed");
}

/* Bytes that are no message, written into the channel before the back end
 * sends anything (a front end that misbehaves). */
static void channel_garbage(struct vhc_ctx *ctx)
{
    chan_open(ctx, false);
    static const uint8_t junk[40] = { 0xff, 0xff, 0xff, 0x7f, 0x0d, 0, 0, 0, 0xff, 0xff };
    VHC_ASSERT(ctx, vhu_send_raw(ctx->fe.backend_req, junk, sizeof junk, NULL, 0) == 0,
               "frontend.send", "writing into the back-end channel failed");
    uint8_t v = change_config(ctx);
    struct mfe_backend_seen s = { 0 };
    (void)mfe_backend_serve(&ctx->fe, QUIET_MS, &s);   /* whatever it sends, served */
    still_serves(ctx, v, "garbage on its back-end channel");
}

/* A front end that never reads its end of the channel while the back end has
 * reasons to write there: a back end that writes with blocking sends stops
 * serving the main channel once the socket buffer is full. */
static void channel_never_read(struct vhc_ctx *ctx)
{
    chan_open(ctx, true);                   /* no REPLY_ACK: nothing is waited for */
    uint8_t v = 0;
    for (unsigned i = 0; i < NEVER_READ_CHANGES; i++)
        v = change_config(ctx);
    mfe_note(&ctx->fe, "%u config changes, the back-end channel never read",
             NEVER_READ_CHANGES);
    still_serves(ctx, v, "its back-end channel filled up unread");
}

/* SET_BACKEND_REQ_FD with something that is no socket, or with no fd. */
static void channel_bad_fd(struct vhc_ctx *ctx)
{
    bool no_fd = ctx->c->variant != NULL;
    uint64_t pf = ctx->fe.protocol_features &
                  (MFE_QEMU72_PROTOCOL_FEATURES | PF(CONFIG) | PF(BACKEND_REQ));
    vc_set_protocol(ctx, pf);
    vc_send_plain(ctx, VHU_REQ_SET_OWNER);
    struct vhu_msg m;
    vhu_msg_init(&m, VHU_REQ_SET_BACKEND_REQ_FD, 0);
    if (no_fd) {
        vhc_expect_rejected(ctx, &m, "backend.fd");
        return;
    }
    int efd = vc_eventfd(ctx);
    vhu_msg_add_fd(&m, efd);
    enum vhc_reject r = vhc_send_invalid(ctx, &m);
    close(efd);
    mfe_note(&ctx->fe, "SET_BACKEND_REQ_FD(eventfd): %s", r == VHC_REJ_NACK ? "nack" :
             r == VHC_REJ_CLOSED ? "closed" : "taken");
    if (r == VHC_REJ_ACCEPTED || r == VHC_REJ_IGNORED) {
        /* taken: its first use must not take the back end down */
        if (writes[device(ctx)].what && (ctx->fe.acked_protocol_features & PF(CONFIG)))
            (void)change_config(ctx);
    }
    vhc_expect_alive(ctx, "backend.fd");
}

#define CHAN_RULE "vhost-user.rst, Back-end communication and SET_BACKEND_REQ_FD: the " \
    "back end sends its requests on the socket SET_BACKEND_REQ_FD gave; "
#define NEEDS PF(BACKEND_REQ) | PF(CONFIG)
static const int flag_set = 1;
#define ROW(name, what, fn, var, pf, why, how) { .id = name, .summary = what, \
    .rule = CHAN_RULE why, .steps = how, .protocol_features = (pf), \
    .flags = VHC_F_NOINIT, .body = fn, .variant = (var) }

const struct vhc_case vhc_cases_backend[] = {
    ROW("backend/channel-closed-early", "the back end serves on after the front end "
        "closed its end of the back-end channel", channel_closed, NULL, NEEDS,
        "QEMU closes its end when it cannot read a back-end request (slave_read's error "
        "path) and keeps the main connection: the back end must carry on without it",
        "protocol features (BACKEND_REQ, CONFIG), SET_OWNER, SET_BACKEND_REQ_FD; our end "
        "closed; SET_CONFIG of a byte (acked 0, else SKIP); GET_CONFIG reads it; new "
        "connection served"),
    ROW("backend/channel-garbage", "bytes that are no message on the back-end channel do "
        "not take the back end down", channel_garbage, NULL, NEEDS,
        "the channel carries only the front end's replies to the back end; anything else "
        "is invalid input the back end must survive",
        "SET_BACKEND_REQ_FD; 40 bytes with a header of request 0x7fffffff and size 13 "
        "written into it; SET_CONFIG of a byte; whatever comes on the channel served; "
        "GET_CONFIG reads the byte; new connection served"),
    ROW("backend/channel-never-read", "a back-end channel the front end never reads "
        "does not stop the main channel", channel_never_read, &flag_set, NEEDS,
        "the back end's requests are its own business; a front end that does not read "
        "them (a busy or broken one) must not make the back end stop answering the main "
        "socket, so its writes there may never block for ever",
        "protocol features without REPLY_ACK; SET_BACKEND_REQ_FD, never read; 2000 "
        "SET_CONFIG changes of a byte (each may make the back end write to the channel); "
        "GET_CONFIG reads the last value; new connection served"),
    ROW("backend/channel-replaced", "a second SET_BACKEND_REQ_FD replaces the first "
        "channel", channel_replaced, NULL, NEEDS | PF(REPLY_ACK),
        "a later SET_BACKEND_REQ_FD gives the channel to use from then on (QEMU sends it "
        "again on every init, vhost_setup_backend_channel)",
        "SET_BACKEND_REQ_FD twice; SET_CONFIG of a byte; CONFIG_CHANGE_MSG on the second "
        "channel within 1.5 s (else SKIP), nothing on the first for 300 ms; the config "
        "reads the new byte"),
    ROW("backend/config-change", "after its config changed the back end sends "
        "CONFIG_CHANGE_MSG, and the config then reads the new value", config_change, NULL,
        NEEDS | PF(REPLY_ACK),
        "CONFIG_CHANGE_MSG tells the front end the config space changed, so that it reads "
        "it again (QEMU: GET_CONFIG, vhost_user_blk_handle_config_change); with REPLY_ACK "
        "the request may carry NEED_REPLY and then gets QEMU's u64 answer",
        "protocol features with REPLY_ACK; SET_BACKEND_REQ_FD; SET_CONFIG of a byte (acked "
        "0, else SKIP); within 1.5 s CONFIG_CHANGE_MSG (else SKIP), version 1, no REPLY "
        "flag; served as QEMU does; the config reads the new byte; GET_FEATURES in sync; "
        "nothing else on the main channel"),
    ROW("backend/config-change-no-reply-ack", "without REPLY_ACK, CONFIG_CHANGE_MSG "
        "carries no NEED_REPLY", config_change, &flag_set, NEEDS,
        "NEED_REPLY on a back-end request asks for the REPLY_ACK answer, which only a "
        "front end that negotiated REPLY_ACK owes",
        "protocol features without REPLY_ACK; SET_BACKEND_REQ_FD; SET_CONFIG of a byte "
        "(the stream in sync); CONFIG_CHANGE_MSG within 1.5 s (else SKIP) without "
        "NEED_REPLY; the config reads the new byte; GET_FEATURES in sync"),
    ROW("backend/req-fd-eventfd", "SET_BACKEND_REQ_FD with an eventfd is refused or "
        "survived", channel_bad_fd, NULL, PF(BACKEND_REQ),
        "the fd is one end of a UNIX socket; an eventfd cannot carry a message, so the "
        "request is refused, or its first use fails without harm",
        "protocol features, SET_OWNER; SET_BACKEND_REQ_FD with an eventfd: nack or close, "
        "or taken and then a config change (CONFIG) makes the back end use it; new "
        "connection served"),
    ROW("backend/req-fd-missing", "SET_BACKEND_REQ_FD without an fd is refused",
        channel_bad_fd, &flag_set, PF(BACKEND_REQ),
        "the request carries the socket in its ancillary data; without one there is no "
        "channel, so the request is invalid (nack or close)",
        "protocol features, SET_OWNER; SET_BACKEND_REQ_FD with no fd: nack with REPLY_ACK, "
        "or a close; new connection served"),
};
const size_t vhc_cases_backend_n = ARRAY_LEN(vhc_cases_backend);

/* config/: GET_CONFIG and SET_CONFIG, the virtio device's configuration
 * space.  The cases use only what every device type has: the first 16
 * bytes of config space (net: mac, status, queue pairs, mtu; blk:
 * capacity, size_max, seg_max; fs: the tag), all of them read-only to a
 * virtio 1.x driver. */
#include <stdio.h>
#include <string.h>

#include "caseapi.h"

#define CFG_HDR      12u    /* offset, size, flags */
#define CFG_MAX      256u   /* QEMU's VHOST_USER_MAX_CONFIG_SIZE */
#define CFG_MIGRATION 1u    /* flags: live migration */

/* No QEMU init: QEMU acks CONFIG only for device types that use it (blk,
 * fs ...; net masks it out), so the protocol features are set here, then
 * SET_OWNER as QEMU's vhost_dev_init does before its first GET_CONFIG. */
static void cfg_open(struct vhc_ctx *ctx)
{
    vc_set_protocol(ctx, ctx->fe.protocol_features &
                         (MFE_QEMU72_PROTOCOL_FEATURES | PF(CONFIG)));
    vc_send_plain(ctx, VHU_REQ_SET_OWNER);
}

/* 8 config bytes as 16 hex digits, for messages */
static const char *hex8(char *buf, const uint8_t *p)
{
    for (unsigned i = 0; i < 8; i++)
        snprintf(buf + 2 * i, 3, "%02x", p[i]);
    return buf;
}
#define HEX8(p) hex8((char[17]){ 0 }, (p))

enum cfg_outcome { CFG_DATA, CFG_EMPTY, CFG_CLOSED };

/* Send a GET_CONFIG as built and read what comes back: a reply of the
 * requested size (CFG_DATA, the checks of form done), an empty reply (the
 * spec's error indication) or a close.  Anything else fails. */
static enum cfg_outcome get_raw(struct vhc_ctx *ctx, const struct vhu_msg *q,
                                struct vhu_msg *reply, const char *rule)
{
    if (mfe_send(&ctx->fe, q) < 0)   /* closed after the last request */
        return CFG_CLOSED;
    int rc = mfe_recv(&ctx->fe, reply);
    if (rc == VHU_IO_EOF || rc == VHU_IO_ERR)
        return CFG_CLOSED;
    VHC_ASSERT(ctx, rc == 0, "reply.missing",
               "expected a GET_CONFIG reply (it always answers), or a close; got: %s",
               mfe_error(&ctx->fe));
    vhu_msg_close_fds(reply);
    vc_check_reply(ctx, reply, VHU_REQ_GET_CONFIG);
    if (reply->hdr.size == 0)
        return CFG_EMPTY;
    uint32_t want = q->u.config.size;
    VHC_ASSERT(ctx, reply->hdr.size == CFG_HDR + want && want <= CFG_MAX, rule,
               "expected a GET_CONFIG reply of %u bytes (12 + the %u asked) or an empty "
               "one (the error indication); got %u bytes", CFG_HDR + want, want,
               reply->hdr.size);
    VHC_ASSERT(ctx, reply->u.config.offset == q->u.config.offset &&
                    reply->u.config.size == want, rule,
               "expected the reply's offset and size to repeat the request's (%u, %u); "
               "got (%u, %u)", q->u.config.offset, want, reply->u.config.offset,
               reply->u.config.size);
    return CFG_DATA;
}

/* A read that must succeed: size bytes at offset into out. */
static void get_bytes(struct vhc_ctx *ctx, uint32_t offset, uint32_t size, uint8_t *out,
                      const char *rule)
{
    struct vhu_msg q, r;
    vc_config_msg(&q, VHU_REQ_GET_CONFIG, offset, size, 0);
    enum cfg_outcome o = get_raw(ctx, &q, &r, rule);
    VHC_ASSERT(ctx, o == CFG_DATA, rule,
               "expected GET_CONFIG of %u bytes at offset %u to be answered (every device "
               "type's config space holds its first 16 bytes); got %s", size, offset,
               o == CFG_EMPTY ? "an empty reply (error)" : "a close");
    memcpy(out, r.u.config.data, size);
}

/* A request the back end must refuse: an empty reply or a close, then a
 * new connection is served. */
static void get_refused(struct vhc_ctx *ctx, const struct vhu_msg *q, const char *rule,
                        const char *what)
{
    struct vhu_msg r;
    VHC_OK(ctx, mfe_send(&ctx->fe, q));
    int rc = mfe_recv(&ctx->fe, &r);
    if (rc == 0) {
        vhu_msg_close_fds(&r);
        VHC_ASSERT(ctx, r.hdr.size == 0, rule,
                   "expected GET_CONFIG %s to be refused (an empty reply, or a close); got "
                   "a reply of %u bytes", what, r.hdr.size);
        vc_check_reply(ctx, &r, VHU_REQ_GET_CONFIG);
    } else {
        VHC_ASSERT(ctx, rc == VHU_IO_EOF || rc == VHU_IO_ERR, "reply.missing",
                   "expected an empty GET_CONFIG reply or a close after %s; got: %s", what,
                   mfe_error(&ctx->fe));
    }
    vhc_expect_alive(ctx, rule);
}

static void get_config_reply(struct vhc_ctx *ctx)
{
    cfg_open(ctx);
    uint8_t a[8], b[8];
    get_bytes(ctx, 0, sizeof a, a, "config.reply");
    /* QEMU caches what it read: a second read of an idle device agrees */
    get_bytes(ctx, 0, sizeof b, b, "config.reply");
    VHC_ASSERT(ctx, memcmp(a, b, sizeof a) == 0, "config.stable",
               "expected two reads of config bytes [0, 8) with nothing in between to agree");
}

static void get_config_offset(struct vhc_ctx *ctx)
{
    cfg_open(ctx);
    uint8_t whole[16], part[8];
    get_bytes(ctx, 0, sizeof whole, whole, "config.reply");
    if (memcmp(whole, whole + 8, 8) == 0)
        vhc_skip(ctx, "config bytes [0, 8) equal [8, 16): a read at offset 8 cannot be "
                      "told from one at offset 0");
    struct vhu_msg q, r;
    vc_config_msg(&q, VHU_REQ_GET_CONFIG, 8, sizeof part, 0);
    enum cfg_outcome o = get_raw(ctx, &q, &r, "config.reply");
    VHC_ASSERT(ctx, o != CFG_CLOSED, "config.offset",
               "expected GET_CONFIG of 8 bytes at offset 8 to be answered; the back end "
               "closed the connection");
    if (o == CFG_EMPTY) {
        mfe_note(&ctx->fe, "GET_CONFIG at offset 8 refused (error indication)");
        return;
    }
    memcpy(part, r.u.config.data, sizeof part);
    VHC_ASSERT(ctx, memcmp(part, whole + 8, sizeof part) == 0, "config.offset",
               "expected GET_CONFIG(offset 8, size 8) to return config bytes [8, 16) "
               "%s; got %s (bytes [0, 8) are %s)",
               HEX8(whole + 8), HEX8(part), HEX8(whole));
}

static void get_config_past_max(struct vhc_ctx *ctx)
{
    cfg_open(ctx);
    struct vhu_msg q;
    vc_config_msg(&q, VHU_REQ_GET_CONFIG, 0, CFG_MAX + 1, 0);
    get_refused(ctx, &q, "config.size.max", "of 257 bytes (the message holds 256)");
}

static void get_config_beyond_space(struct vhc_ctx *ctx)
{
    cfg_open(ctx);
    struct vhu_msg q;
    vc_config_msg(&q, VHU_REQ_GET_CONFIG, CFG_MAX, 8, 0);
    get_refused(ctx, &q, "config.range", "of 8 bytes at offset 256 (past any config space)");
}

static void get_config_size_mismatch(struct vhc_ctx *ctx)
{
    cfg_open(ctx);
    struct vhu_msg q;
    vc_config_msg(&q, VHU_REQ_GET_CONFIG, 0, 8, 0);
    q.u.config.size = 64;   /* the payload carries 8 bytes */
    get_refused(ctx, &q, "config.size",
                "whose size field (64) disagrees with its payload (8 bytes)");
}

/* SET_CONFIG of size bytes (data) at offset 0 with flags; returns the ack
 * (0 when none is owed), or -1 when the back end closed. */
static long long set_config(struct vhc_ctx *ctx, const uint8_t *data, uint32_t size,
                            uint32_t flags)
{
    struct vhu_msg m, r;
    vc_config_msg(&m, VHU_REQ_SET_CONFIG, 0, size, flags);
    memcpy(m.u.config.data, data, size);
    if (mfe_reply_ack(&ctx->fe))
        m.hdr.flags |= VHU_FLAG_NEED_REPLY;   /* as QEMU sends it */
    int rc = mfe_request(&ctx->fe, &m, &r);
    if (rc == VHU_IO_EOF || rc == VHU_IO_ERR)
        return -1;
    VHC_OK(ctx, rc);
    return mfe_expects_reply(&ctx->fe, &m) ? (long long)r.u.u64 : 0;
}

static void set_config_readonly(struct vhc_ctx *ctx)
{
    cfg_open(ctx);
    uint8_t orig[8], flipped[8], after[8];
    get_bytes(ctx, 0, sizeof orig, orig, "config.reply");
    for (unsigned i = 0; i < sizeof orig; i++)
        flipped[i] = (uint8_t)~orig[i];
    long long ack = set_config(ctx, flipped, sizeof flipped, 0);
    if (ack < 0) {
        vhc_expect_alive(ctx, "config.readonly");
        return;
    }
    VHC_ASSERT(ctx, !mfe_reply_ack(&ctx->fe) || ack != 0, "config.readonly",
               "expected SET_CONFIG (flags 0) of read-only bytes [0, 8) to be refused "
               "(non-zero ack); got ack 0");
    get_bytes(ctx, 0, sizeof after, after, "config.readonly");
    VHC_ASSERT(ctx, memcmp(after, orig, sizeof orig) == 0, "config.readonly",
               "expected read-only bytes [0, 8) unchanged by SET_CONFIG (flags 0): were "
               "%s, now %s", HEX8(orig), HEX8(after));
}

static void set_config_migration(struct vhc_ctx *ctx)
{
    cfg_open(ctx);
    uint8_t orig[8], flipped[8], after[8];
    get_bytes(ctx, 0, sizeof orig, orig, "config.reply");
    for (unsigned i = 0; i < sizeof orig; i++)
        flipped[i] = (uint8_t)~orig[i];
    long long ack = set_config(ctx, flipped, sizeof flipped, CFG_MIGRATION);
    VHC_ASSERT(ctx, ack >= 0, "config.migration",
               "expected SET_CONFIG with the migration flag to be answered (ack 0 or "
               "non-zero); the back end closed the connection");
    get_bytes(ctx, 0, sizeof after, after, "config.migration");
    if (ack == 0)
        VHC_ASSERT(ctx, memcmp(after, flipped, sizeof after) == 0, "config.migration",
                   "expected bytes [0, 8) to read back as written (%s) after ack 0 to "
                   "SET_CONFIG with the migration flag; got %s (were %s)",
                   HEX8(flipped), HEX8(after), HEX8(orig));
    else
        VHC_ASSERT(ctx, memcmp(after, orig, sizeof after) == 0, "config.migration",
                   "expected bytes [0, 8) unchanged after a refused (ack %lld) SET_CONFIG; "
                   "were %s, now %s", ack, HEX8(orig), HEX8(after));
}

static void set_config_past_max(struct vhc_ctx *ctx)
{
    cfg_open(ctx);
    struct vhu_msg m;
    vc_config_msg(&m, VHU_REQ_SET_CONFIG, 0, CFG_MAX + 1, CFG_MIGRATION);
    vhc_expect_rejected(ctx, &m, "config.size.max");
}

#define CFG_RULE "vhost-user.rst, GET_CONFIG: with CONFIG negotiated the back end's " \
                 "payload size MUST match the front end's request; an empty payload is " \
                 "its error indication; "
#define SET_RULE "vhost-user.rst, SET_CONFIG: the back end must check the flags field " \
                 "and MUST NOT accept SET_CONFIG for read-only fields unless the live " \
                 "migration bit (flags 1) is set; "

const struct vhc_case vhc_cases_config[] = {
    {
        .id = "config/get-config-reply",
        .summary = "GET_CONFIG of config bytes [0, 8) is answered with 8 bytes, twice alike",
        .rule = CFG_RULE "QEMU (vhost_user_get_config) drops a reply of any other size",
        .steps = "protocol features with CONFIG; SET_OWNER; GET_CONFIG(0, 8) twice: flags "
                 "0x5, size 20, offset 0 and size 8 echoed, the same bytes",
        .protocol_features = PF(CONFIG),
        .flags = VHC_F_NOINIT,
        .body = get_config_reply,
    },
    {
        .id = "config/get-config-offset",
        .summary = "GET_CONFIG at offset 8 returns config bytes [8, 16), not [0, 8)",
        .rule = "vhost-user.rst, Virtio device config space: offset is the offset in the "
                "device's configuration space, and the payload holds its contents there; "
                "a back end that cannot read at an offset must say so (empty reply)",
        .steps = "protocol features with CONFIG; SET_OWNER; GET_CONFIG(0, 16); "
                 "GET_CONFIG(8, 8): equal to bytes [8, 16), or an empty reply",
        .protocol_features = PF(CONFIG),
        .flags = VHC_F_NOINIT,
        .body = get_config_offset,
    },
    {
        .id = "config/get-config-past-256",
        .summary = "GET_CONFIG of 257 bytes is refused",
        .rule = CFG_RULE "the message's config region is 256 bytes (QEMU "
                "VHOST_USER_MAX_CONFIG_SIZE; QEMU's reader refuses a longer payload), so "
                "a 257-byte answer cannot be right",
        .steps = "protocol features with CONFIG; SET_OWNER; GET_CONFIG(0, 257); empty "
                 "reply or close; a new connection is served",
        .protocol_features = PF(CONFIG),
        .flags = VHC_F_NOINIT,
        .body = get_config_past_max,
    },
    {
        .id = "config/get-config-beyond-space",
        .summary = "GET_CONFIG at offset 256 (past any config space) is refused",
        .rule = CFG_RULE "bytes past the config space do not exist, so the only "
                "right answer is the error indication",
        .steps = "protocol features with CONFIG; SET_OWNER; GET_CONFIG(256, 8); empty "
                 "reply or close; a new connection is served",
        .protocol_features = PF(CONFIG),
        .flags = VHC_F_NOINIT,
        .body = get_config_beyond_space,
    },
    {
        .id = "config/get-config-size-mismatch",
        .summary = "GET_CONFIG whose size field disagrees with its payload is refused",
        .rule = "vhost-user.rst, Virtio device config space: size is the access size and "
                "the payload holds size bytes; a message whose size field says 64 with 8 "
                "bytes of payload is malformed",
        .steps = "protocol features with CONFIG; SET_OWNER; GET_CONFIG header size 20, "
                 "config size 64; empty reply or close; a new connection is served",
        .protocol_features = PF(CONFIG),
        .flags = VHC_F_NOINIT,
        .body = get_config_size_mismatch,
    },
    {
        .id = "config/set-config-readonly",
        .summary = "SET_CONFIG (flags 0) of read-only bytes [0, 8) is refused and "
                   "changes nothing",
        .rule = SET_RULE "bytes [0, 8) are read-only in every virtio 1.x device type "
                "(net mac/status, blk capacity, fs tag)",
        .steps = "protocol features with CONFIG; SET_OWNER; GET_CONFIG(0, 8); SET_CONFIG "
                 "(0, 8, flags 0) of the inverted bytes, NEED_REPLY with REPLY_ACK: "
                 "non-zero ack or close; GET_CONFIG(0, 8) unchanged",
        .protocol_features = PF(CONFIG),
        .flags = VHC_F_NOINIT,
        .body = set_config_readonly,
    },
    {
        .id = "config/set-config-migration-flag",
        .summary = "SET_CONFIG with the migration flag: its ack tells the truth",
        .rule = SET_RULE "ack 0 claims the write happened (REPLY_ACK), so the bytes must "
                "read back as written; a refusal must leave them as they were",
        .steps = "protocol features with CONFIG; SET_OWNER; GET_CONFIG(0, 8); SET_CONFIG "
                 "(0, 8, flags 1) of the inverted bytes with NEED_REPLY; GET_CONFIG(0, 8): "
                 "the new bytes after ack 0, the old after a non-zero ack",
        .protocol_features = PF(CONFIG) | PF(REPLY_ACK),
        .flags = VHC_F_NOINIT,
        .body = set_config_migration,
    },
    {
        .id = "config/set-config-past-256",
        .summary = "SET_CONFIG of 257 bytes is refused",
        .rule = SET_RULE "QEMU never sends more than 256 bytes (vhost_user_set_config "
                "refuses); 257 bytes do not fit the message's config region",
        .steps = "protocol features with CONFIG; SET_OWNER; SET_CONFIG(0, 257, flags 1); "
                 "non-zero ack or close; a new connection is served",
        .protocol_features = PF(CONFIG),
        .flags = VHC_F_NOINIT,
        .body = set_config_past_max,
    },
};
const size_t vhc_cases_config_n = ARRAY_LEN(vhc_cases_config);

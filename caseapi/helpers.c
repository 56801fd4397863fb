/* Steps the case bodies share (see caseapi.h). */
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "caseapi.h"

static const char *name(uint32_t req)
{
    return vhu_req_name(VHU_CH_FRONT, req);
}

void vc_check_reply(struct vhc_ctx *ctx, const struct vhu_msg *reply, uint32_t req)
{
    VHC_ASSERT(ctx, reply->hdr.request == req, "reply.request",
               "expected the reply to echo request %s (%u); got %s (%u)",
               name(req), req, name(reply->hdr.request), reply->hdr.request);
    VHC_ASSERT(ctx, reply->hdr.flags == (VHU_VERSION | VHU_FLAG_REPLY), "reply.flags",
               "expected reply flags exactly 0x5 (version 1, REPLY) to %s; got 0x%x",
               name(req), reply->hdr.flags);
}

static uint64_t get_u64(struct vhc_ctx *ctx, uint32_t req, uint32_t flags)
{
    struct vhu_msg q, reply;
    vhu_msg_init(&q, req, flags);
    VHC_OK(ctx, mfe_request(&ctx->fe, &q, &reply));
    vc_check_reply(ctx, &reply, req);
    VHC_ASSERT(ctx, reply.hdr.size == 8, "reply.size",
               "expected an 8-byte u64 reply to %s; got size %u", name(req), reply.hdr.size);
    return reply.u.u64;
}

uint64_t vc_get_u64(struct vhc_ctx *ctx, uint32_t req)
{
    return get_u64(ctx, req, 0);
}

uint64_t vc_get_u64_need_reply(struct vhc_ctx *ctx, uint32_t req)
{
    return get_u64(ctx, req, VHU_FLAG_NEED_REPLY);
}

void vc_expect_silence(struct vhc_ctx *ctx, const char *rule, const char *after)
{
    int rc = mfe_expect_silence(&ctx->fe, VC_SILENCE_MS);
    VHC_ASSERT(ctx, rc == VHU_IO_TIMEOUT, rule,
               "expected no message for %d ms after %s; got: %s", VC_SILENCE_MS, after,
               rc == 0 ? mfe_error(&ctx->fe) : vhu_io_strerror(rc));
}

/* The stream is still in sync: the next reply is the GET_FEATURES answer. */
static void in_sync(struct vhc_ctx *ctx, const char *after, const char *rule)
{
    struct vhu_msg q, reply;
    vhu_msg_init(&q, VHU_REQ_GET_FEATURES, 0);
    int rc = mfe_request(&ctx->fe, &q, &reply);
    VHC_ASSERT(ctx, rc == 0, rule,
               "expected GET_FEATURES answered after %s (no ack owed); got: %s", after,
               mfe_error(&ctx->fe));
    vc_check_reply(ctx, &reply, VHU_REQ_GET_FEATURES);
}

uint64_t vc_ack(struct vhc_ctx *ctx, const struct vhu_msg *m)
{
    struct vhu_msg reply;
    VHC_OK(ctx, mfe_request(&ctx->fe, m, &reply));
    vhu_msg_close_fds(&reply);
    return mfe_expects_reply(&ctx->fe, m) ? reply.u.u64 : 0;
}

void vc_send_plain(struct vhc_ctx *ctx, uint32_t req)
{
    struct vhu_msg m;
    vhu_msg_init(&m, req, 0);
    VHC_OK(ctx, mfe_request(&ctx->fe, &m, NULL));
}

void vc_accepts(struct vhc_ctx *ctx, struct vhu_msg *m, const char *rule)
{
    const char *what = name(m->hdr.request);
    if (mfe_reply_ack(&ctx->fe))
        m->hdr.flags |= VHU_FLAG_NEED_REPLY;
    uint64_t ack = vc_ack(ctx, m);
    VHC_ASSERT(ctx, ack == 0, rule, "expected ack 0 to a valid %s; got %llu", what,
               (unsigned long long)ack);
    if (!mfe_reply_ack(&ctx->fe))
        in_sync(ctx, what, rule);
}

void vc_accepts_u64(struct vhc_ctx *ctx, uint32_t req, uint64_t v, const char *rule)
{
    struct vhu_msg m;
    vhu_msg_u64(&m, req, v);
    vc_accepts(ctx, &m, rule);
}

void vc_accepts_state(struct vhc_ctx *ctx, uint32_t req, uint32_t index, uint32_t num,
                      const char *rule)
{
    struct vhu_msg m;
    vhu_msg_state(&m, req, index, num);
    vc_accepts(ctx, &m, rule);
}

/* ---- negotiation ---- */

void vc_probe(struct vhc_ctx *ctx)
{
    ctx->fe.features = vc_get_u64(ctx, VHU_REQ_GET_FEATURES);
    ctx->fe.protocol_features = 0;
    if (ctx->fe.features & BIT(VHU_F_PROTOCOL_FEATURES))
        ctx->fe.protocol_features = vc_get_u64(ctx, VHU_REQ_GET_PROTOCOL_FEATURES);
}

void vc_set_protocol(struct vhc_ctx *ctx, uint64_t pf)
{
    VHC_OK(ctx, mfe_set_u64(&ctx->fe, VHU_REQ_SET_PROTOCOL_FEATURES, pf, false));
    ctx->fe.acked_protocol_features = pf;
    ctx->fe.protocol_acked = true;
}

uint64_t vc_qemu_features(const struct vhc_ctx *ctx)
{
    uint64_t want = MFE_QEMU72_NET_GUEST_FEATURES | BIT(VHU_F_PROTOCOL_FEATURES);
    if (ctx->fe.queue_pairs > 1)
        want |= BIT(VC_NET_F_MQ);   /* a multiqueue guest acks MQ (trace b2) */
    return ctx->fe.features & want & ~BIT(VHU_F_RING_PACKED);
}

void vc_set_features(struct vhc_ctx *ctx)
{
    uint64_t f = vc_qemu_features(ctx);
    vc_accepts_u64(ctx, VHU_REQ_SET_FEATURES, f, "set_features.accept");
    ctx->fe.acked_features = f;
}

/* ---- memory and rings ---- */

void vc_mem_qemu(struct vhc_ctx *ctx)
{
    if (ctx->fe.mem.nregions)
        return;
    VHC_OK(ctx, mfe_mem_create(&ctx->fe.mem, MFE_QEMU_MEM_SIZE, MFE_LAYOUT_QEMU, 2));
}

void vc_mem_new(struct vhc_ctx *ctx, uint64_t size, enum mfe_layout layout, unsigned n)
{
    mfe_mem_destroy(&ctx->fe.mem);
    for (unsigned i = 0; i < MFE_MAX_VQ; i++)
        ctx->fe.vq[i].ready = false;   /* their old ring memory is gone */
    VHC_OK(ctx, mfe_mem_create(&ctx->fe.mem, size, layout, n));
}

void vc_set_mem_table(struct vhc_ctx *ctx)
{
    struct vhu_region regions[VHU_MAX_REGIONS];
    int fds[VHU_MAX_REGIONS];
    unsigned n = mfe_mem_table(&ctx->fe.mem, regions, fds);
    struct vhu_msg m;
    vhu_msg_mem(&m, regions, fds, n);
    vc_accepts(ctx, &m, "mem.accept");
}

void vc_ring_prepare(struct vhc_ctx *ctx, unsigned idx)
{
    vc_set_features(ctx);
    vc_mem_qemu(ctx);
    vc_set_mem_table(ctx);
    VHC_OK(ctx, mfe_vq_setup(&ctx->fe, idx, 256));
    vc_accepts_state(ctx, VHU_REQ_SET_VRING_NUM, idx, 256, "vring.num.accept");
    vc_accepts_state(ctx, VHU_REQ_SET_VRING_BASE, idx, 0, "vring.base.accept");
}

unsigned vc_nvq(const struct vhc_ctx *ctx)
{
    return ctx->fe.nrings ? ctx->fe.nrings : 2;   /* mfe_qemu_init: per --device */
}

void vc_start(struct vhc_ctx *ctx, const uint16_t *bases, bool reuse)
{
    /* features 0: the mock front end's QEMU 7.2 guest set (split rings) */
    struct mfe_start_opts o = { .bases = bases, .reuse_memory = reuse };
    VHC_OK(ctx, mfe_qemu_start(&ctx->fe, &o));
}

void vc_stop(struct vhc_ctx *ctx, uint16_t *bases)
{
    VHC_OK(ctx, mfe_qemu_stop(&ctx->fe, bases));
}

void vc_stop_host(struct vhc_ctx *ctx, uint16_t *bases)
{
    VHC_OK(ctx, mfe_qemu_stop_as(&ctx->fe, MFE_STOP_HOST, bases));
}

void vc_resume(struct vhc_ctx *ctx, const uint16_t *bases)
{
    struct mfe_start_opts o = { .bases = bases, .reuse_memory = true, .kind = MFE_START_RESUME };
    VHC_OK(ctx, mfe_qemu_start(&ctx->fe, &o));
}

void vc_rebind(struct vhc_ctx *ctx)
{
    mfe_qemu_fresh_rings(&ctx->fe);
    struct mfe_start_opts o = { .reuse_memory = true, .kind = MFE_START_REBIND };
    VHC_OK(ctx, mfe_qemu_start(&ctx->fe, &o));
}

void vc_check_bases(struct vhc_ctx *ctx, const uint16_t *got, const uint16_t *want,
                    unsigned n, const char *rule)
{
    for (unsigned i = 0; i < n; i++)
        VHC_ASSERT(ctx, got[i] == want[i], rule,
                   "expected GET_VRING_BASE of ring %u to be %u (no buffers were made "
                   "available); got %u", i, want[i], got[i]);
}

int vc_eventfd(struct vhc_ctx *ctx)
{
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    VHC_ASSERT(ctx, fd >= 0, "frontend.eventfd", "eventfd failed");
    return fd;
}

unsigned vc_bad_index_u8(struct vhc_ctx *ctx)
{
    unsigned qn = ctx->fe.queue_num ? ctx->fe.queue_num : 1;
    if (2 * qn > VHU_VRING_IDX_MASK)
        vhc_skip(ctx, "back end reports %u queues: every 8-bit ring index may be valid", qn);
    return 2 * qn;
}

void vc_config_msg(struct vhu_msg *m, uint32_t req, uint32_t offset, uint32_t size,
                   uint32_t flags)
{
    vhu_msg_init(m, req, 0);
    m->u.config.offset = offset;
    m->u.config.size = size;
    m->u.config.flags = flags;
    m->hdr.size = 12u + size;    /* offset, size, flags, then the bytes */
}

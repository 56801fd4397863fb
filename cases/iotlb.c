/* iotlb/: a vhost-user-net back end behind a vIOMMU (VIRTIO_F_IOMMU_PLATFORM).
 *
 * The front end is QEMU's vhost IOTLB code (mfe_iotlb.h): ring addresses
 * and descriptor addresses are IOVAs, the back end learns them from
 * IOTLB_MSG UPDATEs (NEED_REPLY, REPLY_ACK) and asks for the ones it lacks
 * with a MISS on the back-end channel, which the front end answers with an
 * UPDATE.  Guest memory is mapped at IOVA = GPA (the rings); each pair's
 * TX and RX buffer pools get IOVA windows of their own far above memory
 * (W_TX, W_RX), so a back end that reads descriptor addresses as guest
 * addresses finds nothing there, and a window can be mapped to another
 * guest area (a changed mapping) or read-only.
 *
 * Every case needs IOMMU_PLATFORM (with BACKEND_REQ and REPLY_ACK, as
 * QEMU requires); a back end that does not offer it SKIPs. */
#include <poll.h>
#include <string.h>

#include "datapath_traffic.h"
#include "mfe_iotlb.h"

#define F_VERSION_1  BIT(32)
#define F_IOMMU      BIT(MFE_F_IOMMU_PLATFORM)
#define W_RX         (1ull << 40)              /* IOVA window of the RX pool */
#define W_TX         ((1ull << 40) + (1ull << 32))
#define CAP          8192u
#define CANARY       0xc5u
#define SERVE_MS     vhc_ms(5000)  /* a loaded testpmd took over 2 s to ask once */
#define QUIET_MS     200
#define MAX_ACROSS   1024u     /* frames a back end may drop across its misses */
#define RULE_IOMMU   "vhost-user.rst \"IOMMU support\": with VIRTIO_F_IOMMU_PLATFORM the " \
    "addresses the driver gives are IOVAs, translated through the device IOTLB the " \
    "front end fills with VHOST_USER_IOTLB_MSG (UPDATE)"
#define RULE_MISS    "vhost-user.rst \"IOMMU support\" and VHOST_USER_BACKEND_IOTLB_MSG: " \
    "a back end lacking a translation sends a MISS on the back-end channel; the front " \
    "end answers with an UPDATE (QEMU vhost_device_iotlb_miss)"
#define RULE_INVAL   "vhost-user.rst VHOST_USER_IOTLB_MSG: the back end acks an INVALIDATE " \
    "once the entry is gone; QEMU's vIOMMU reuses the page after the ack " \
    "(vhost_backend_invalidate_device_iotlb), so no access through it may follow"

struct it_variant {
    bool packed;
    bool premap;        /* UPDATE everything before traffic (else: misses only) */
    bool windows;       /* UPDATE the buffer windows too (else: their misses) */
    uint8_t rx_perm;    /* the RX window's permission (0: RW) */
};

static struct dp the_dp;
static struct mfe_iotlb tlb;

static const struct it_variant *variant(struct vhc_ctx *ctx)
{
    return ctx->c->variant;
}

/* An IOTLB_MSG the back end must take: its ack is 0. */
static void acked(struct vhc_ctx *ctx, int rc, const uint64_t *ackp, const char *what)
{
    VHC_OK(ctx, rc);
    uint64_t ack = *ackp;
    VHC_ASSERT(ctx, ack == 0, "iotlb.ack", "%s: expected ack 0 to a valid IOTLB_MSG; got %llu",
               what, (unsigned long long)ack);
}

/* Map a pool's slots at IOVA window w, read through hva as before. */
static void window(struct vhc_ctx *ctx, struct mfe_net_pool *p, uint64_t w, uint8_t perm)
{
    uint64_t len = (uint64_t)p->n * p->slot_len;
    VHC_ASSERT(ctx, mfe_iotlb_map(&tlb, w, len, p->gpa, perm) == 0, "frontend.iotlb",
               "cannot map the IOVA window 0x%llx", (unsigned long long)w);
    p->gpa = w;
}

/* The start behind a vIOMMU: identity map, the QEMU start with
 * IOMMU_PLATFORM, misses served, windows mapped; per the variant the
 * UPDATEs go before any traffic. */
static struct dp *start(struct vhc_ctx *ctx)
{
    const struct it_variant *iv = variant(ctx);
    static struct dp_variant v;
    v = (struct dp_variant){ .pairs = 1, .packed = iv->packed, .iommu = true, .max_len = 1518 };
    mfe_iotlb_attach(&tlb, &ctx->fe);
    vc_mem_qemu(ctx);
    VHC_ASSERT(ctx, mfe_iotlb_map_identity(&tlb, MFE_PERM_RW) == 0, "frontend.iotlb",
               "identity map of guest memory failed");
    if (iv->premap) {
        tlb.serve_misses = false;       /* the UPDATEs come first */
    }
    dp_start(&the_dp, ctx, &v, CAP);
    struct dp *d = &the_dp;
    VHC_ASSERT(ctx, d->net[0].rx.added == 0, "frontend.net", "RX buffers posted before the "
               "IOVA windows were set");
    window(ctx, &d->net[0].rxp, W_RX, iv->rx_perm ? iv->rx_perm : MFE_PERM_RW);
    window(ctx, &d->net[0].txp, W_TX, MFE_PERM_RO);
    if (iv->premap) {
        uint64_t ack = 1;
        for (unsigned i = 0; i < tlb.nmap; i++) {
            const struct mfe_iotlb_map *e = &tlb.map[i];
            if (e->iova >= W_RX && !iv->windows)
                continue;
            acked(ctx, mfe_iotlb_update(&tlb, e->iova, e->size, 0, &ack), &ack, "UPDATE");
        }
        tlb.serve_misses = true;
    }
    VHC_ASSERT(ctx, mfe_iotlb_serve(&tlb, SERVE_MS, QUIET_MS) >= 0, "backend_req.channel",
               "back-end channel: %s", tlb.err);
    mfe_note(&ctx->fe, "iotlb: %u misses so far (%u unmapped), %u updates", tlb.misses,
             tlb.misses_unmapped, tlb.updates);
    return d;
}

/* Traffic up to total frames sent, no frame lost beyond `lost`. */
static void pump(struct vhc_ctx *ctx, struct dp *d, uint32_t total, uint32_t lost,
                 const char *rule, const char *when)
{
    char sum[256];
    bool ok = dp_pump(d, total, dp_window(d), lost);
    VHC_ASSERT(ctx, ok && dp_bad(d) == 0, rule, "%s: %s%s%s", when,
               dp_summary(d, sum, sizeof sum), d->first_bad[0] ? "; " : "", d->first_bad);
}

/* Traffic across a MISS: a back end may drop the frames it cannot
 * translate yet (an RX buffer it cannot write yet is like none posted), so
 * frames go in batches until at least `total` were sent and some came back
 * after the misses, for at most MAX_ACROSS more; nothing may come back
 * wrong.  Returns the frames lost, which the traffic after it may not add
 * to. */
static uint32_t pump_across(struct vhc_ctx *ctx, struct dp *d, uint32_t total,
                            const char *rule, const char *when)
{
    uint32_t got0 = d->st[0].got, n = d->st[0].sent;
    do {
        n += DP_BATCH;
        VHC_ASSERT(ctx, n <= total + MAX_ACROSS, rule, "%s: no frame came back in %u sent "
                   "while the back end's misses were served", when, n - DP_BATCH);
        pump(ctx, d, n, n, rule, when);
        dp_drain(d, DP_SETTLE_MS, true);
    } while (n < total || d->st[0].got == got0);
    uint32_t lost = dp_lost(d);
    mfe_note(&ctx->fe, "%s: %u frames dropped while translations were missing", when, lost);
    return lost;
}

static bool all_canary(const uint8_t *p, uint64_t len, uint64_t *at)
{
    for (uint64_t i = 0; i < len; i++)
        if (p[i] != CANARY) {
            *at = i;
            return false;
        }
    return true;
}

/* ---- bodies ---- */

/* Traffic through UPDATEs (premap) or through misses alone. */
static void traffic_body(struct vhc_ctx *ctx)
{
    struct dp *d = start(ctx);
    const struct it_variant *iv = variant(ctx);
    uint32_t lost = iv->premap ? 0 : pump_across(ctx, d, 300, "iotlb.miss", "300 frames, misses");
    pump(ctx, d, d->st[0].sent + (iv->premap ? 1000 : 700), lost,
         iv->premap ? "iotlb.translate" : "iotlb.miss", "frames through IOVAs");
    if (!iv->premap)
        VHC_ASSERT(ctx, tlb.misses > 0, "iotlb.miss", "no UPDATE was sent, yet the back end "
                   "moved frames without one MISS: it does not translate IOVAs");
    if (iv->premap && iv->windows)
        VHC_ASSERT(ctx, tlb.misses_unmapped == 0, "iotlb.miss", "%u MISSes for unmapped "
                   "IOVAs (last 0x%llx): the back end asks for addresses the driver never gave",
                   tlb.misses_unmapped, (unsigned long long)tlb.last_miss.iova);
    if (iv->premap && iv->windows)
        VHC_ASSERT(ctx, tlb.misses_denied == 0, "iotlb.miss.perm", "%u MISSes asked for more "
                   "access than the buffer needs (last: IOVA 0x%llx perm %u; the TX window is "
                   "read-only, the device only reads TX buffers)", tlb.misses_denied,
                   (unsigned long long)tlb.last_denied.iova, tlb.last_denied.perm);
    mfe_note(&ctx->fe, "iotlb: %u misses, %u updates, %u nacks", tlb.misses, tlb.updates,
             tlb.nacks);
    VHC_ASSERT(ctx, tlb.nacks == 0, "iotlb.ack", "%u UPDATEs nacked", tlb.nacks);
    dp_destroy(d);
}

/* Rings mapped, windows not: the first frames make the back end miss on
 * both windows with the permission it needs, and resume once served. */
static void miss_body(struct vhc_ctx *ctx)
{
    struct dp *d = start(ctx);
    unsigned before = tlb.misses;
    uint32_t lost = pump_across(ctx, d, 300, "iotlb.miss", "frames into unannounced IOVA windows");
    pump(ctx, d, d->st[0].sent + 500, lost, "iotlb.miss", "after the windows were served");
    VHC_ASSERT(ctx, tlb.misses > before, "iotlb.miss", "the windows were never UPDATEd, yet "
               "no MISS came: the back end does not translate descriptor addresses as IOVAs");
    const struct mfe_iotlb_map *rx = mfe_iotlb_lookup(&tlb, W_RX);
    VHC_ASSERT(ctx, rx != NULL, "frontend.iotlb", "RX window lost");
    mfe_note(&ctx->fe, "iotlb: %u misses after the start, last 0x%llx perm %u",
             tlb.misses - before, (unsigned long long)tlb.last_miss.iova, tlb.last_miss.perm);
    dp_destroy(d);
}

/* TX frames posted, INVALIDATE of the TX window sent at once; after its
 * ack the old pages hold garbage and the window maps a copy: every frame
 * must arrive intact (read before the ack, or through a new MISS). */
static void inflight_body(struct vhc_ctx *ctx)
{
    struct dp *d = start(ctx);
    pump(ctx, d, 200, 0, "iotlb.translate", "before the invalidation");
    struct mfe_net_pool *p = &d->net[0].txp;
    uint64_t len = (uint64_t)p->n * p->slot_len;
    uint64_t b = mfe_mem_alloc(&ctx->fe.mem, len, 4096);
    uint8_t *bh = b ? mfe_gpa(&ctx->fe.mem, b, len) : NULL;
    VHC_ASSERT(ctx, bh, "frontend.memory", "no guest memory for the new mapping");
    dp_refill(d, 0, ~0u);
    unsigned sent = dp_send(d, 0, DP_BATCH);
    memcpy(bh, p->hva, len);
    uint64_t ack = 1;
    unsigned before = tlb.misses;
    mfe_note(&ctx->fe, "-- %u TX frames in flight: INVALIDATE the TX window --", sent);
    acked(ctx, mfe_iotlb_invalidate(&tlb, W_TX, len, &ack), &ack, "INVALIDATE");
    memset(p->hva, CANARY, len);         /* the old pages are reused after the ack */
    mfe_iotlb_unmap(&tlb, W_TX, len);
    VHC_ASSERT(ctx, mfe_iotlb_map(&tlb, W_TX, len, b, MFE_PERM_RO) == 0, "frontend.iotlb",
               "remap failed");
    p->hva = bh;
    uint32_t lost = pump_across(ctx, d, 600, "iotlb.invalidate",
                                "after the INVALIDATE's ack (a frame read from the old "
                                "pages after it arrives as canary bytes)");
    pump(ctx, d, d->st[0].sent + 400, lost, "iotlb.invalidate", "after the new mapping was served");
    VHC_ASSERT(ctx, tlb.misses > before, "iotlb.invalidate", "the TX window's entry was "
               "invalidated but no MISS came for it: the back end still translates through it");
    dp_destroy(d);
}

/* RX window invalidated between bursts with buffers posted, then mapped
 * to another guest area: no byte of the old area may change. */
static void remap_body(struct vhc_ctx *ctx)
{
    struct dp *d = start(ctx);
    pump(ctx, d, 300, 0, "iotlb.translate", "before the invalidation");
    dp_drain(d, DP_SETTLE_MS, true);    /* RX buffers posted, nothing in flight */
    struct mfe_net_pool *p = &d->net[0].rxp;
    uint64_t len = (uint64_t)p->n * p->slot_len;
    uint64_t b = mfe_mem_alloc(&ctx->fe.mem, len, 4096);
    uint8_t *bh = b ? mfe_gpa(&ctx->fe.mem, b, len) : NULL;
    VHC_ASSERT(ctx, bh, "frontend.memory", "no guest memory for the new mapping");
    uint64_t ack = 1;
    acked(ctx, mfe_iotlb_invalidate(&tlb, W_RX, len, &ack), &ack, "INVALIDATE");
    uint8_t *old = p->hva;
    memset(old, CANARY, len);
    mfe_iotlb_unmap(&tlb, W_RX, len);
    VHC_ASSERT(ctx, mfe_iotlb_map(&tlb, W_RX, len, b, MFE_PERM_RW) == 0, "frontend.iotlb",
               "remap failed");
    p->hva = bh;
    uint32_t lost = pump_across(ctx, d, 900, "iotlb.invalidate", "after the RX window moved");
    pump(ctx, d, d->st[0].sent + 400, lost, "iotlb.invalidate", "after the new mapping was served");
    uint64_t at = 0;
    VHC_ASSERT(ctx, all_canary(old, len, &at), "iotlb.invalidate", "the back end wrote the RX "
               "window's old pages after the INVALIDATE's ack (byte 0x%llx of the old area)",
               (unsigned long long)at);
    dp_destroy(d);
}

/* The RX window is read-only: RX must never write it. */
static void readonly_body(struct vhc_ctx *ctx)
{
    struct dp *d = start(ctx);
    struct mfe_net_pool *p = &d->net[0].rxp;
    uint64_t len = (uint64_t)p->n * p->slot_len;
    memset(p->hva, CANARY, len);
    dp_refill(d, 0, ~0u);
    unsigned sent = dp_send(d, 0, DP_BATCH);
    /* no RX parsing: a dropped buffer may come back empty; watch and serve */
    VHC_ASSERT(ctx, mfe_iotlb_serve(&tlb, vhc_ms(1500), vhc_ms(1500)) >= 0,
               "backend_req.channel", "back-end channel: %s", tlb.err);
    uint64_t at = 0;
    VHC_ASSERT(ctx, all_canary(p->hva, len, &at), "iotlb.perm.ro",
               "the back end wrote an RX buffer whose IOTLB entry is read-only (byte 0x%llx "
               "of the RX window, %u frames sent)", (unsigned long long)at, sent);
    mfe_note(&ctx->fe, "read-only RX window untouched after %u TX frames; %u misses", sent,
             tlb.misses);
    (void)vc_get_u64(ctx, VHU_REQ_GET_FEATURES);     /* and still serving */
    dp_destroy(d);
}

/* Each malformed IOTLB_MSG is refused (non-zero ack or close); if the
 * connection stays, traffic still flows. */
static void refused(struct vhc_ctx *ctx, const struct vhu_iotlb *bad, unsigned n,
                    const char *rule)
{
    struct dp *d = start(ctx);
    for (unsigned i = 0; i < n; i++) {
        struct vhu_msg m;
        vhu_msg_init(&m, VHU_REQ_IOTLB_MSG, 0);
        m.hdr.size = sizeof m.u.iotlb;
        m.u.iotlb = bad[i];
        mfe_note(&ctx->fe, "-- invalid IOTLB_MSG %u: type %u perm %u iova 0x%llx --", i,
                 bad[i].type, bad[i].perm, (unsigned long long)bad[i].iova);
        enum vhc_reject r = vhc_send_invalid(ctx, &m);
        VHC_ASSERT(ctx, r != VHC_REJ_ACCEPTED, rule, "IOTLB_MSG type %u perm %u iova 0x%llx "
                   "size 0x%llx uaddr 0x%llx: expected a non-zero reply or a close; got 0",
                   bad[i].type, bad[i].perm, (unsigned long long)bad[i].iova,
                   (unsigned long long)bad[i].size, (unsigned long long)bad[i].uaddr);
        if (r == VHC_REJ_CLOSED) {
            mfe_note(&ctx->fe, "refused by closing the connection");
            dp_destroy(d);
            vhc_expect_alive(ctx, rule);
            return;
        }
    }
    pump(ctx, d, 200, 0, rule, "after the refused messages");
    dp_destroy(d);
}

static void bad_type_body(struct vhc_ctx *ctx)
{
    const struct vhu_iotlb bad[] = {
        { .iova = W_RX, .size = 4096, .perm = MFE_PERM_RW, .type = MFE_IOTLB_MISS },
        { .iova = W_RX, .size = 4096, .perm = MFE_PERM_RW, .type = MFE_IOTLB_ACCESS_FAIL },
        { .iova = W_RX, .size = 4096, .perm = MFE_PERM_RW, .type = 0 },
        { .iova = W_RX, .size = 4096, .perm = MFE_PERM_RW, .type = 5 },
        { .iova = W_RX, .size = 4096, .perm = MFE_PERM_RW, .type = 255 },
    };
    refused(ctx, bad, ARRAY_LEN(bad), "iotlb.type");
}

static void bad_perm_body(struct vhc_ctx *ctx)
{
    uint64_t u = mfe_uaddr(&ctx->fe.mem, 0x100000);    /* a page of guest memory */
    const struct vhu_iotlb bad[] = {
        { .iova = 1ull << 44, .size = 4096, .uaddr = u, .perm = 4, .type = MFE_IOTLB_UPDATE },
        { .iova = 1ull << 44, .size = 4096, .uaddr = u, .perm = 0x83, .type = MFE_IOTLB_UPDATE },
        { .iova = 1ull << 44, .size = 4096, .uaddr = u, .perm = 0xff, .type = MFE_IOTLB_UPDATE },
    };
    refused(ctx, bad, ARRAY_LEN(bad), "iotlb.perm");
}

static void outside_body(struct vhc_ctx *ctx)
{
    /* start() lays out memory first: the regions are there to aim past */
    vc_mem_qemu(ctx);
    const struct mfe_region *top = &ctx->fe.mem.regions[ctx->fe.mem.nregions - 1];
    uint64_t end = mfe_uaddr(&ctx->fe.mem, top->gpa) + top->size;
    const struct vhu_iotlb bad[] = {
        /* just past the last region */
        { .iova = 1ull << 44, .size = 4096, .uaddr = end, .perm = MFE_PERM_RW,
          .type = MFE_IOTLB_UPDATE },
        /* straddling its end */
        { .iova = 1ull << 44, .size = 8192, .uaddr = end - 4096, .perm = MFE_PERM_RW,
          .type = MFE_IOTLB_UPDATE },
        /* nowhere near guest memory */
        { .iova = 1ull << 44, .size = 4096, .uaddr = 0x1000, .perm = MFE_PERM_RO,
          .type = MFE_IOTLB_UPDATE },
        /* an IOVA range that wraps */
        { .iova = UINT64_MAX - 4095, .size = 8192, .uaddr = end - 8192, .perm = MFE_PERM_RO,
          .type = MFE_IOTLB_UPDATE },
    };
    refused(ctx, bad, ARRAY_LEN(bad), "iotlb.update.range");
}

/* The back end asks (MISS, NEED_REPLY where it sets it) while we wait for
 * a reply of our own: we answer its request while waiting, it must answer
 * ours in time, and traffic goes on. */
static void nested_body(struct vhc_ctx *ctx)
{
    struct dp *d = start(ctx);
    tlb.serve_misses = true;
    dp_refill(d, 0, ~0u);
    unsigned sent = dp_send(d, 0, 1);   /* into the unannounced TX window */
    VHC_ASSERT(ctx, sent == 1, "frontend.net", "could not post a frame");
    int rc = 0;
    for (long long t0 = dp_now_ms(); dp_now_ms() - t0 < SERVE_MS;) {
        struct pollfd pf = { .fd = ctx->fe.backend_req, .events = POLLIN };
        if ((rc = poll(&pf, 1, 50)) > 0)
            break;
    }
    VHC_ASSERT(ctx, rc > 0, "iotlb.miss", "a frame in an unannounced IOVA window, and no "
               "MISS on the back-end channel within %d ms", SERVE_MS);
    long long t0 = dp_now_ms();
    uint64_t f = vc_get_u64_need_reply(ctx, VHU_REQ_GET_FEATURES);
    long long took = dp_now_ms() - t0;
    mfe_note(&ctx->fe, "GET_FEATURES answered in %lld ms with a back-end request pending "
             "(%u read while waiting, %u with NEED_REPLY, %u replied)", took, tlb.nested,
             tlb.need_reply, tlb.replied);
    VHC_ASSERT(ctx, f == ctx->fe.features, "reply.value", "GET_FEATURES changed: 0x%llx",
               (unsigned long long)f);
    VHC_ASSERT(ctx, tlb.nested >= 1, "frontend.iotlb", "the back-end request was not read "
               "while the reply was awaited");
    VHC_ASSERT(ctx, tlb.need_reply == tlb.replied, "frontend.iotlb", "a NEED_REPLY went "
               "unanswered");
    /* frames the back end gave up on meanwhile may be lost; then traffic flows */
    uint32_t lost = pump_across(ctx, d, 200, "backend_req.need_reply",
                                "after the nested request");
    pump(ctx, d, d->st[0].sent + 400, lost, "backend_req.need_reply",
         "traffic after the nested request");
    dp_destroy(d);
}

/* ---- the table ---- */

static const struct it_variant v_miss_split = { .packed = false };
static const struct it_variant v_miss_packed = { .packed = true };
static const struct it_variant v_upd_split = { .premap = true, .windows = true };
static const struct it_variant v_upd_packed = { .packed = true, .premap = true,
                                                .windows = true };
static const struct it_variant v_rings_split = { .premap = true };
static const struct it_variant v_rings_packed = { .packed = true, .premap = true };
static const struct it_variant v_ro = { .premap = true, .windows = true,
                                        .rx_perm = MFE_PERM_RO };

#define IT(case_id, var, fn, why, how, what) { .id = case_id, \
    .summary = what, .rule = why, .steps = how, \
    .features = F_VERSION_1 | F_IOMMU, \
    .protocol_features = PF(BACKEND_REQ) | PF(REPLY_ACK), \
    .flags = VHC_F_NET, .timeout_s = 60, .body = fn, .variant = &var }

const struct vhc_case vhc_cases_iotlb[] = {
    IT("iotlb/ring-miss", v_miss_split, traffic_body, RULE_MISS,
       "start with IOMMU_PLATFORM and no UPDATE; serve the MISSes; frames in batches until "
       "they come back (at most 1024 dropped across the misses), then 700 more, none lost",
       "split: nothing announced, rings and buffers translated through served MISSes"),
    IT("iotlb/ring-miss-packed", v_miss_packed, traffic_body, RULE_MISS,
       "as ring-miss, packed ring (its descriptor ring needs RW)",
       "packed: nothing announced, everything through served MISSes"),
    IT("iotlb/update-traffic", v_upd_split, traffic_body, RULE_IOMMU,
       "UPDATE memory and both IOVA windows (acks 0), 1000 frames back intact",
       "split: translation through UPDATEs with traffic"),
    IT("iotlb/update-traffic-packed", v_upd_packed, traffic_body, RULE_IOMMU,
       "as update-traffic, packed ring", "packed: translation through UPDATEs with traffic"),
    IT("iotlb/miss-update-resume", v_rings_split, miss_body, RULE_MISS,
       "UPDATE the rings only; frames into the IOVA windows; a MISS for them; served; "
       "frames come back (drops only across the misses), then 500 more, none lost",
       "split: a MISS, its UPDATE, and the ring resumes"),
    IT("iotlb/miss-update-resume-packed", v_rings_packed, miss_body, RULE_MISS,
       "as miss-update-resume, packed ring", "packed: a MISS, its UPDATE, the ring resumes"),
    IT("iotlb/invalidate-inflight", v_upd_split, inflight_body, RULE_INVAL,
       "200 frames; post 32 TX frames and INVALIDATE their window at once; after the ack "
       "the old pages are canaries and the window maps a copy; every frame back intact "
       "(drops only across the new MISS), 400 more none lost, and a new MISS came",
       "split: invalidation during traffic, no read after the ack"),
    IT("iotlb/invalidate-inflight-packed", v_upd_packed, inflight_body, RULE_INVAL,
       "as invalidate-inflight, packed ring",
       "packed: invalidation during traffic, no read after the ack"),
    IT("iotlb/invalidate-remap-rx", v_upd_split, remap_body, RULE_INVAL,
       "300 frames, RX buffers posted; INVALIDATE the RX window (ack); old pages canaries; "
       "window mapped elsewhere; frames intact (drops only across the new MISS), 400 more "
       "none lost; the old pages unchanged",
       "a changed RX mapping: no write through the old entry after the ack"),
    IT("iotlb/readonly-rx", v_ro, readonly_body, "vhost-user.rst \"IOMMU support\", struct "
       "vhost_iotlb_msg perm: a VHOST_ACCESS_RO entry grants no write; the device must "
       "not write an RX buffer through it (it drops or fails the ring)",
       "RX window UPDATEd read-only, canaries in it; 32 TX frames; the window unchanged; "
       "the back end still answers", "a read-only entry used for an RX write is not written"),
    IT("iotlb/invalid-type", v_upd_split, bad_type_body, "vhost-user.rst VHOST_USER_IOTLB_MSG: "
       "the front end sends UPDATE and INVALIDATE; other types (MISS, ACCESS_FAIL, unknown) "
       "are refused with a non-zero reply (or the connection closed)",
       "IOTLB_MSG of types 1, 4, 0, 5, 255: each refused; then 200 frames back",
       "IOTLB_MSG types the front end may not send are refused"),
    IT("iotlb/invalid-perm", v_upd_split, bad_perm_body, "struct vhost_iotlb_msg perm is RO (1), "
       "WO (2) or RW (3): an UPDATE with any other value is refused",
       "UPDATE with perm 4, 0x83, 0xff: each refused; then 200 frames back",
       "UPDATEs with invalid permissions are refused"),
    IT("iotlb/update-outside-memory", v_upd_split, outside_body,
       "vhost-user.rst \"IOMMU support\": "
       "an UPDATE's uaddr is the front end's address of guest memory; one outside every "
       "region of SET_MEM_TABLE (or an IOVA range that wraps) cannot be mapped and is refused",
       "UPDATEs past the last region, straddling its end, at 0x1000, and wrapping the IOVA "
       "space: each refused; then 200 frames back", "UPDATEs outside guest memory are refused"),
    IT("iotlb/need-reply-nested", v_rings_split, nested_body, "vhost-user.rst back-end "
       "communication with REPLY_ACK: a back-end request with NEED_REPLY is answered; QEMU "
       "7.2 answers the back-end channel while it waits for a reply (vhost_user_read's "
       "nested loop), so neither side may wait on the other for ever",
       "a frame into an unannounced window; once the back end's MISS is pending, "
       "GET_FEATURES with NEED_REPLY: answered (the MISS served meanwhile); traffic flows "
       "again, then 400 more frames none lost",
       "no deadlock when the back end asks while the front end waits for a reply"),
};
const size_t vhc_cases_iotlb_n = ARRAY_LEN(vhc_cases_iotlb);

/* inflight/: INFLIGHT_SHMFD, the buffer a back end shares to find its
 * inflight requests again after a reconnect (vhost-user.rst, Inflight I/O
 * tracking). */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "datapath_traffic.h"
#include "mfe_ring.h"

#define REGION_HDR   16u    /* QueueRegionSplit before desc[]: features,
                               version, desc_num, last_batch_head, used_idx */
#define DESC_STATE   16u    /* sizeof DescStateSplit */

/* the queue size QEMU gives the device (net 256, blk and fs 128) */
static unsigned qsize(const struct vhc_ctx *ctx)
{
    return mfe_qemu_device(&ctx->fe)->ring_size;
}

struct inflight_buf {
    struct vhu_inflight d;   /* as the back end described it */
    int fd;
    uint8_t *map;
};

/* GET_INFLIGHT_FD for the rings the case drives, as QEMU asks it after
 * SET_FEATURES (vhost_dev_prepare_inflight): num_queues, queue_size. */
static void get_inflight_as(struct vhc_ctx *ctx, struct inflight_buf *b, uint64_t features)
{
    vc_accepts_u64(ctx, VHU_REQ_SET_FEATURES, features, "features.set");
    ctx->fe.acked_features = features;
    unsigned nq = vc_nvq(ctx);
    struct vhu_msg m, r;
    vhu_msg_init(&m, VHU_REQ_GET_INFLIGHT_FD, 0);
    m.u.inflight.num_queues = (uint16_t)nq;
    m.u.inflight.queue_size = (uint16_t)qsize(ctx);
    m.hdr.size = sizeof m.u.inflight;
    VHC_OK(ctx, mfe_request(&ctx->fe, &m, &r));
    vc_check_reply(ctx, &r, VHU_REQ_GET_INFLIGHT_FD);
    b->d = r.u.inflight;
    b->fd = r.nfds ? r.fds[0] : -1;
    for (unsigned i = 1; i < r.nfds; i++)
        close(r.fds[i]);
    b->map = NULL;
    if (b->d.mmap_size == 0) {
        if (b->fd >= 0)
            close(b->fd);
        /* QEMU (vhost_user_get_inflight_fd) takes size 0 as "no tracking" */
        vhc_skip(ctx, "GET_INFLIGHT_FD answered mmap_size 0: the back end tracks no "
                      "inflight I/O");
    }
    VHC_ASSERT(ctx, r.nfds == 1, "inflight.fd",
               "expected the GET_INFLIGHT_FD reply to carry one fd (the buffer); got %u",
               r.nfds);
    uint64_t need = (uint64_t)nq * (REGION_HDR + (uint64_t)DESC_STATE * qsize(ctx));
    VHC_ASSERT(ctx, b->d.mmap_size >= need, "inflight.size",
               "expected mmap_size >= %llu (%u queue regions of a 16-byte header and %u "
               "16-byte DescStateSplit each); got %llu", (unsigned long long)need, nq,
               qsize(ctx), (unsigned long long)b->d.mmap_size);
    void *p = mmap(NULL, b->d.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd,
                   (off_t)b->d.mmap_offset);
    VHC_ASSERT(ctx, p != MAP_FAILED, "inflight.fd",
               "expected the inflight fd to map %llu bytes at offset %llu, as QEMU maps "
               "it; mmap failed", (unsigned long long)b->d.mmap_size,
               (unsigned long long)b->d.mmap_offset);
    b->map = p;
}

static void get_inflight(struct vhc_ctx *ctx, struct inflight_buf *b)
{
    get_inflight_as(ctx, b, vc_qemu_features(ctx));
}

static void put_inflight(struct inflight_buf *b)
{
    if (b->map)
        munmap(b->map, b->d.mmap_size);
    if (b->fd >= 0)
        close(b->fd);
}

static void get_inflight_fresh(struct vhc_ctx *ctx)
{
    struct inflight_buf b;
    get_inflight(ctx, &b);
    unsigned nq = vc_nvq(ctx);
    uint64_t stride = b.d.mmap_size / nq;   /* regions back to back */
    for (unsigned q = 0; q < nq; q++)
        for (unsigned i = 0; i < qsize(ctx); i++) {
            uint8_t flag = b.map[q * stride + REGION_HDR + (uint64_t)i * DESC_STATE];
            VHC_ASSERT(ctx, flag == 0, "inflight.fresh",
                       "expected no descriptor inflight in a new buffer (nothing was "
                       "submitted); queue %u desc[%u].inflight = %u", q, i, flag);
        }
    put_inflight(&b);
}

static void set_inflight_then_start(struct vhc_ctx *ctx)
{
    struct inflight_buf b;
    get_inflight(ctx, &b);
    struct vhu_msg m;
    vhu_msg_init(&m, VHU_REQ_SET_INFLIGHT_FD, 0);
    m.u.inflight = b.d;
    m.hdr.size = sizeof m.u.inflight;
    vhu_msg_add_fd(&m, b.fd);
    vc_accepts(ctx, &m, "inflight.set");
    /* QEMU's start follows (vhost_user_blk_start: SET_INFLIGHT_FD, then
     * vhost_dev_start); the rings must start and stop with their bases */
    uint16_t five[MFE_MAX_VQ], got[MFE_MAX_VQ];
    for (unsigned i = 0; i < MFE_MAX_VQ; i++)
        five[i] = 5;
    vc_start(ctx, five, false);
    vc_stop(ctx, got);
    vc_check_bases(ctx, got, five, vc_nvq(ctx), "inflight.start");
    put_inflight(&b);
}


/* ---- blk: requests inflight across the back end's death ---- */

#define BLK_REQS     16u
#define BLK_SECTOR   512u
#define BLK_SLOT     2048u   /* header at 0, data at 512, status at 1024 */
#define BLK_T_IN     0u
#define BLK_T_OUT    1u
#define BLK_ST_UNSET 0xffu

struct blk_hdr {             /* struct virtio_blk_outhdr */
    uint32_t type, ioprio;
    uint64_t sector;
};

struct blk_drv {
    struct vhc_ctx *ctx;
    struct mfe_ring ring;
    uint64_t gpa;            /* BLK_REQS slots */
    uint8_t *hva;
    uint8_t done[BLK_REQS];  /* completions seen per request */
    uint16_t avail;          /* requests made available */
};

static uint8_t pattern(unsigned req, unsigned i)
{
    return (uint8_t)(0x30u + req * 7u + i);
}

/* Request i of type t on sector 100 + i, its data from the pattern (OUT)
 * or a canary (IN). */
static void blk_post(struct blk_drv *b, unsigned i, uint32_t type)
{
    uint8_t *s = b->hva + (size_t)i * BLK_SLOT;
    struct blk_hdr h = { .type = type, .sector = 100u + i };
    memcpy(s, &h, sizeof h);
    for (unsigned k = 0; k < BLK_SECTOR; k++)
        s[BLK_SECTOR + k] = type == BLK_T_OUT ? pattern(i, k) : 0xeeu;
    s[2 * BLK_SECTOR] = BLK_ST_UNSET;
    uint64_t g = b->gpa + (uint64_t)i * BLK_SLOT;
    struct mfe_buf hdr = { g, sizeof h }, data = { g + BLK_SECTOR, BLK_SECTOR };
    struct mfe_buf st = { g + 2 * BLK_SECTOR, 1 };
    int rc = type == BLK_T_OUT
        ? mfe_ring_add(&b->ring, (struct mfe_buf[]){ hdr, data }, 2, &st, 1, i, false)
        : mfe_ring_add(&b->ring, &hdr, 1, (struct mfe_buf[]){ data, st }, 2, i, false);
    VHC_ASSERT(b->ctx, rc >= 0, "frontend.blk", "posting request %u failed (%d)", i, rc);
    b->avail++;
}

/* Take the used entries there are; true when every request is done. */
static bool blk_reap(struct blk_drv *b)
{
    uint64_t token;
    uint32_t len;
    while (mfe_ring_get_used(&b->ring, &token, &len) == 1) {
        VHC_ASSERT(b->ctx, token < BLK_REQS, "blk.used", "a used entry for no request "
                   "posted (id %llu)", (unsigned long long)token);
        b->done[token]++;
    }
    for (unsigned i = 0; i < BLK_REQS; i++)
        if (!b->done[i])
            return false;
    return true;
}

static void blk_wait_all(struct blk_drv *b, const char *when)
{
    long long t0 = dp_now_ms();
    while (!blk_reap(b) && dp_now_ms() - t0 < DP_STALL_MS)
        if (!mfe_ring_enable_cb(&b->ring))
            mfe_ring_wait(b->ctx->fe.vq[0].call, 50);
    unsigned missing = 0;
    for (unsigned i = 0; i < BLK_REQS; i++)
        missing += !b->done[i];
    VHC_ASSERT(b->ctx, missing == 0, "inflight.resubmit",
               "expected every one of %u requests completed %s within %d ms; %u never were",
               BLK_REQS, when, DP_STALL_MS, missing);
}

static void blk_round(struct blk_drv *b, uint32_t type)
{
    memset(b->done, 0, sizeof b->done);
    for (unsigned i = 0; i < BLK_REQS; i++)
        blk_post(b, i, type);
    VHC_ASSERT(b->ctx, mfe_ring_kick(&b->ring, b->ctx->fe.vq[0].kick) >= 0, "frontend.kick",
               "kicking ring 0 failed");
}

/* SET_INFLIGHT_FD of the buffer GET_INFLIGHT_FD gave, as a valid request. */
static void set_inflight(struct vhc_ctx *ctx, const struct inflight_buf *ib)
{
    struct vhu_msg m;
    vhu_msg_init(&m, VHU_REQ_SET_INFLIGHT_FD, 0);
    m.u.inflight = ib->d;
    m.hdr.size = sizeof m.u.inflight;
    vhu_msg_add_fd(&m, ib->fd);
    vc_accepts(ctx, &m, "inflight.set");
}

static void blk_reconnect_resubmit(struct vhc_ctx *ctx)
{
    const struct mfe_device *dev = mfe_qemu_device(&ctx->fe);
    if (dev->dev != VHU_DEV_BLK)
        vhc_skip(ctx, "a virtio-blk case (requests resubmitted from the inflight buffer); "
                      "the back end is a %s device (--device)", dev->name);
    vhc_require_protocol(ctx, PF(INFLIGHT_SHMFD));
    static struct blk_drv b;
    struct inflight_buf ib;
    uint64_t feats = ctx->fe.features & dev->guest_features;
    get_inflight_as(ctx, &ib, feats);
    set_inflight(ctx, &ib);
    struct mfe_start_opts o = { .queue_pairs = 1, .features = feats };
    VHC_OK(ctx, mfe_qemu_start(&ctx->fe, &o));
    struct mfe_ring_layout l;
    mfe_ring_layout_of(&ctx->fe.vq[0], &l);
    b.ctx = ctx;
    VHC_ASSERT(ctx, mfe_ring_init(&b.ring, &ctx->fe.mem, &l, ctx->fe.vq[0].num,
                                  mfe_ring_flags_from_features(feats) & ~MFE_RING_INDIRECT)
               == 0, "frontend.blk", "virtio-blk driver model on ring 0 failed");
    b.gpa = mfe_mem_alloc(&ctx->fe.mem, (uint64_t)BLK_REQS * BLK_SLOT, 4096);
    b.hva = b.gpa ? mfe_gpa(&ctx->fe.mem, b.gpa, (uint64_t)BLK_REQS * BLK_SLOT) : NULL;
    VHC_ASSERT(ctx, b.hva, "frontend.memory", "no guest memory for %u requests", BLK_REQS);
    blk_round(&b, BLK_T_OUT);           /* the data the reads must return */
    blk_wait_all(&b, "(writes, before any kill)");
    blk_round(&b, BLK_T_IN);
    vhc_backend_kill(ctx);              /* reads inflight */
    blk_reap(&b);
    unsigned before = 0;
    for (unsigned i = 0; i < BLK_REQS; i++)
        before += b.done[i];
    mfe_note(&ctx->fe, "back end killed with %u of %u reads completed", before, BLK_REQS);
    /* QEMU's reconnect (vhost_user_blk_connect, then vhost_user_blk_start):
     * init, the same inflight buffer, the ring from its used index */
    vhc_backend_restart(ctx);
    mfe_disconnect(&ctx->fe);
    vhc_open(ctx);
    VHC_OK(ctx, mfe_qemu_init_as(&ctx->fe, 1, MFE_INIT_RECONNECT));
    set_inflight(ctx, &ib);
    uint16_t bases[MFE_MAX_VQ] = { 0 };
    const uint16_t *used = mfe_gpa(&ctx->fe.mem, ctx->fe.vq[0].used_gpa, 4);
    bases[0] = __atomic_load_n(&used[1], __ATOMIC_ACQUIRE);
    o = (struct mfe_start_opts){ .queue_pairs = 1, .features = feats, .bases = bases,
                                 .reuse_memory = true, .kind = MFE_START_RESUME };
    VHC_OK(ctx, mfe_qemu_start(&ctx->fe, &o));
    /* one kick, as vhost-user.rst (Ring states) asks a front end to inject after a
     * start: what was available but never taken needs it; what was inflight is
     * resubmitted without */
    uint64_t one = 1;
    VHC_ASSERT(ctx, write(ctx->fe.vq[0].kick, &one, sizeof one) == sizeof one, "frontend.kick",
               "kicking ring 0 after the reconnect failed");
    blk_wait_all(&b, "after the reconnect (the back end resubmits what was inflight)");
    for (unsigned i = 0; i < BLK_REQS; i++) {
        const uint8_t *s = b.hva + (size_t)i * BLK_SLOT;
        VHC_ASSERT(ctx, b.done[i] == 1, "inflight.resubmit",
                   "expected read %u completed exactly once across the reconnect; %u times",
                   i, b.done[i]);
        VHC_ASSERT(ctx, s[2 * BLK_SECTOR] == 0, "inflight.resubmit",
                   "expected read %u's status VIRTIO_BLK_S_OK; got %u", i, s[2 * BLK_SECTOR]);
        for (unsigned k = 0; k < BLK_SECTOR; k++)
            VHC_ASSERT(ctx, s[BLK_SECTOR + k] == pattern(i, k), "inflight.resubmit",
                       "expected read %u (sector %u) to return what was written there; byte "
                       "%u is 0x%02x, not 0x%02x", i, 100u + i, k, s[BLK_SECTOR + k],
                       pattern(i, k));
    }
    mfe_note(&ctx->fe, "%u reads: %u completed before the kill, %u after the reconnect, "
             "each once, data intact", BLK_REQS, before, BLK_REQS - before);
    put_inflight(&ib);
}

#define INF_RULE "vhost-user.rst, Inflight I/O tracking and GET_INFLIGHT_FD: the back " \
                 "end shares a buffer of one queue region per virtqueue (a 16-byte " \
                 "header, then a DescStateSplit per descriptor); "

const struct vhc_case vhc_cases_inflight[] = {
    {
        .id = "inflight/get-inflight-fd",
        .summary = "GET_INFLIGHT_FD returns one mappable buffer large enough for every "
                   "queue, with nothing inflight",
        .rule = INF_RULE "QEMU maps mmap_size bytes at mmap_offset of the reply's fd; a "
                "buffer no request has used has no inflight entry",
        .steps = "QEMU init; SET_FEATURES; GET_INFLIGHT_FD {num_queues = rings, "
                 "queue_size = the device ring size (net 256, blk 128)}: flags 0x5, one fd, mmap_size >= rings * (16 + 16 * size), the fd "
                 "maps; every desc[].inflight 0",
        .protocol_features = PF(INFLIGHT_SHMFD),
        .body = get_inflight_fresh,
    },
    {
        .id = "inflight/set-inflight-fd-start",
        .summary = "the buffer handed back with SET_INFLIGHT_FD is accepted and the "
                   "rings then start and stop",
        .rule = INF_RULE "SET_INFLIGHT_FD gives the buffer back so the back end finds its "
                "inflight I/O after a restart; QEMU sends it before every start",
        .steps = "QEMU init; SET_FEATURES; GET_INFLIGHT_FD; SET_INFLIGHT_FD of that fd "
                 "(acked 0 with REPLY_ACK); QEMU start with bases 5; stop; bases 5",
        .protocol_features = PF(INFLIGHT_SHMFD),
        .timeout_s = 45,
        .body = set_inflight_then_start,
    },
    {
        .id = "inflight/blk-reconnect-resubmit",
        .summary = "blk: reads inflight when the back end dies are completed exactly once, "
                   "with the data written, by the back end that takes over",
        .rule = INF_RULE "after a reconnect the new back end gets the same buffer with "
                "SET_INFLIGHT_FD and resubmits every descriptor it marks inflight "
                "(vhost-user.rst, Inflight I/O tracking; QEMU vhost_user_blk_connect / "
                "vhost_user_blk_start); each request completes once (virtio 1.2, 2.7.14: a "
                "used entry per buffer made available)",
        .steps = "--device blk: QEMU init; SET_FEATURES, GET_INFLIGHT_FD, SET_INFLIGHT_FD; "
                 "start; 16 writes of a pattern to sectors 100..115, all complete; 16 reads "
                 "of them kicked and the back end killed at once; a new back end: init, "
                 "SET_INFLIGHT_FD of the same fd, start from the used index; every read "
                 "completes exactly once with status 0 and the pattern; SKIP unless blk and "
                 "INFLIGHT_SHMFD",
        .timeout_s = 60,
        .body = blk_reconnect_resubmit,
    },
};
const size_t vhc_cases_inflight_n = ARRAY_LEN(vhc_cases_inflight);

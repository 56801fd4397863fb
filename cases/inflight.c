/* inflight/: INFLIGHT_SHMFD, the buffer a back end shares to find its
 * inflight requests again after a reconnect (vhost-user.rst, Inflight I/O
 * tracking). */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "caseapi.h"

#define QSIZE        256u
#define REGION_HDR   16u    /* QueueRegionSplit before desc[]: features,
                               version, desc_num, last_batch_head, used_idx */
#define DESC_STATE   16u    /* sizeof DescStateSplit */

struct inflight_buf {
    struct vhu_inflight d;   /* as the back end described it */
    int fd;
    uint8_t *map;
};

/* GET_INFLIGHT_FD for the rings the case drives, as QEMU asks it after
 * SET_FEATURES (vhost_dev_prepare_inflight): num_queues, queue_size. */
static void get_inflight(struct vhc_ctx *ctx, struct inflight_buf *b)
{
    vc_set_features(ctx);
    unsigned nq = vc_nvq(ctx);
    struct vhu_msg m, r;
    vhu_msg_init(&m, VHU_REQ_GET_INFLIGHT_FD, 0);
    m.u.inflight.num_queues = (uint16_t)nq;
    m.u.inflight.queue_size = QSIZE;
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
    uint64_t need = (uint64_t)nq * (REGION_HDR + (uint64_t)DESC_STATE * QSIZE);
    VHC_ASSERT(ctx, b->d.mmap_size >= need, "inflight.size",
               "expected mmap_size >= %llu (%u queue regions of a 16-byte header and %u "
               "16-byte DescStateSplit each); got %llu", (unsigned long long)need, nq,
               QSIZE, (unsigned long long)b->d.mmap_size);
    void *p = mmap(NULL, b->d.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd,
                   (off_t)b->d.mmap_offset);
    VHC_ASSERT(ctx, p != MAP_FAILED, "inflight.fd",
               "expected the inflight fd to map %llu bytes at offset %llu, as QEMU maps "
               "it; mmap failed", (unsigned long long)b->d.mmap_size,
               (unsigned long long)b->d.mmap_offset);
    b->map = p;
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
        for (unsigned i = 0; i < QSIZE; i++) {
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
                 "queue_size 256}: flags 0x5, one fd, mmap_size >= rings * 4112, the fd "
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
};
const size_t vhc_cases_inflight_n = ARRAY_LEN(vhc_cases_inflight);

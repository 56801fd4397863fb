/* The guest traffic of a scenario (mfe_scenario.h): enough that the rings
 * move, as the recorded guests' pings and disk reads did, so the bases
 * QEMU saves and restores are real.  net: frames on queue pair 0, looped
 * back by the back end (testpmd's io forwarding, vhost-refnet's loopback);
 * blk: a read of sector 0 (VIRTIO_BLK_T_IN).  fs has no traffic here. */
#include "mfe_net.h"
#include "mfe_ring.h"
#include "mfe_scenario.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NET_FRAMES   8u      /* per traffic step (the traces' pings: 7 to 11) */
#define FRAME_LEN    60u
#define BLK_SECTOR   512u
#define BLK_T_IN     0u      /* VIRTIO_BLK_T_IN */

struct blk_req {             /* struct virtio_blk_outhdr */
    uint32_t type, ioprio;
    uint64_t sector;
};

struct mfe_play_traffic {
    bool net_up, blk_up;
    struct mfe_net net;
    struct mfe_ring blk;
    uint64_t blk_buf;        /* header, data, status in guest memory */
    uint64_t blk_token;
};

struct mfe_play_traffic *mfe_play_traffic_new(void)
{
    return calloc(1, sizeof(struct mfe_play_traffic));
}

void mfe_play_traffic_reset(struct mfe_play_traffic *t)
{
    if (t->net_up)
        mfe_net_destroy(&t->net);
    if (t->blk_up)
        mfe_ring_destroy(&t->blk);
    t->net_up = t->blk_up = false;
}

void mfe_play_traffic_free(struct mfe_play_traffic *t)
{
    if (!t)
        return;
    mfe_play_traffic_reset(t);
    free(t);
}

void mfe_play_traffic_rewire(struct mfe_play_traffic *t, struct mfe *f)
{
    if (t->net_up) {
        t->net.rx_call = f->vq[0].call;
        t->net.tx_call = f->vq[1].call;
    }
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* How long a traffic step waits for the back end: the connection's timeout
 * (play --timeout-ms, the runner's scaled one), as every other wait. */
static long long wait_ms(const struct mfe *f)
{
    return f->timeout_ms > 0 ? f->timeout_ms : 5000;
}

/* ---- net ---- */

static void count_frame(void *arg, const uint8_t *frame, uint32_t len)
{
    (void)frame;
    (void)len;
    (*(unsigned *)arg)++;
}

static int net_round(struct mfe_play_traffic *t, struct mfe *f, unsigned *sent)
{
    if (!t->net_up) {
        int rc = mfe_net_init(&t->net, f, 0, NULL);
        if (rc < 0) {
            snprintf(f->err, sizeof f->err, "traffic: virtio-net driver model: %s",
                     strerror(-rc));
            f->err_rule = "play.traffic";
            return -1;
        }
        t->net_up = true;
    }
    struct mfe_net *n = &t->net;
    /* a broadcast frame, as an ARP request looks on the wire */
    static const uint8_t frame[FRAME_LEN] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x06,
    };
    struct mfe_frame fr[NET_FRAMES];
    for (unsigned i = 0; i < NET_FRAMES; i++)
        fr[i] = (struct mfe_frame){ frame, FRAME_LEN };
    if (mfe_net_rx_refill(n) < 0)
        return 0;
    int posted = mfe_net_tx(n, fr, NET_FRAMES);
    *sent = posted > 0 ? (unsigned)posted : 0;
    unsigned got = 0;
    for (long long end = now_ms() + wait_ms(f); got < *sent && now_ms() < end;) {
        mfe_net_rx_poll(n, count_frame, &got, NET_FRAMES);
        mfe_net_reclaim_tx(n);
        if (got < *sent)
            mfe_net_wait_rx(n, 50);
    }
    mfe_net_reclaim_tx(n);
    mfe_net_rx_refill(n);
    return (int)got;
}

/* ---- blk ---- */

static int blk_up(struct mfe_play_traffic *t, struct mfe *f)
{
    const struct mfe_vq *vq = &f->vq[0];
    struct mfe_ring_layout l;
    mfe_ring_layout_of(vq, &l);
    int rc = mfe_ring_init(&t->blk, &f->mem, &l, vq->num,
                           mfe_ring_flags_from_features(f->acked_features) & ~MFE_RING_INDIRECT);
    if (rc == 0 && !t->blk_buf)
        t->blk_buf = mfe_mem_alloc(&f->mem, 4096, 4096);
    if (rc < 0 || !t->blk_buf) {
        snprintf(f->err, sizeof f->err, "traffic: virtio-blk driver model: %s",
                 strerror(rc < 0 ? -rc : ENOMEM));
        f->err_rule = "play.traffic";
        return -1;
    }
    t->blk_up = true;
    return 0;
}

static int blk_round(struct mfe_play_traffic *t, struct mfe *f, unsigned *sent)
{
    if (!t->blk_up && blk_up(t, f) < 0)
        return -1;
    uint8_t *p = mfe_gpa(&f->mem, t->blk_buf, 1025);
    struct blk_req hdr = { .type = BLK_T_IN, .sector = 0 };
    memcpy(p, &hdr, sizeof hdr);
    p[1024] = 0xff;   /* status: the device writes 0 (VIRTIO_BLK_S_OK) */
    struct mfe_buf out = { t->blk_buf, sizeof hdr };
    struct mfe_buf in[2] = { { t->blk_buf + 512, BLK_SECTOR }, { t->blk_buf + 1024, 1 } };
    if (mfe_ring_add(&t->blk, &out, 1, in, 2, ++t->blk_token, false) < 0 ||
        mfe_ring_kick(&t->blk, f->vq[0].kick) < 0)
        return 0;
    *sent = 1;
    uint64_t token;
    uint32_t len;
    for (long long end = now_ms() + wait_ms(f); now_ms() < end;) {
        int rc = mfe_ring_get_used(&t->blk, &token, &len);
        if (rc == 1)
            return p[1024] == 0;
        if (rc == -EPIPE)
            return 0;
        if (!mfe_ring_enable_cb(&t->blk))
            mfe_ring_wait(f->vq[0].call, 50);
        mfe_ring_disable_cb(&t->blk);
    }
    return 0;
}

int mfe_play_traffic_run(struct mfe_play_traffic *t, struct mfe *f, unsigned *sent)
{
    *sent = 0;
    switch (mfe_qemu_device(f)->dev) {
    case VHU_DEV_NET: return net_round(t, f, sent);
    case VHU_DEV_BLK: return blk_round(t, f, sent);
    default: return 0;
    }
}

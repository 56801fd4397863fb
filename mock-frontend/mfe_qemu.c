/* The message sequences QEMU's vhost-user front ends send: the shared
 * steps and the init (vhost_dev_init per vhost device).  The shape is QEMU
 * 7.2's, as recorded in fixtures/qemu-7.2 (a1, a4: net init; e1: blk; f1:
 * fs); where a device type differs, its row in mfe_device.c says so, and
 * where a later QEMU differs, a switch of the profile (mfe_profile.h,
 * fixtures/profiles).  Start, stop and reconnect: mfe_qemu_start.c.
 */
#include "mfe_qemu_int.h"
#include "mfe_backend.h"

#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

const struct mfe_profile *mfe_qemu_profile(const struct mfe *f)
{
    return f->profile ? f->profile : mfe_profile_current();
}

const struct mfe_device *mfe_qemu_device(const struct mfe *f)
{
    return f->device ? f->device : mfe_device_current();
}

bool mfe_q_has_pf(const struct mfe *f, unsigned bit)
{
    return (f->acked_protocol_features >> bit) & 1;
}

bool mfe_q_has_protocol_features(const struct mfe *f)
{
    return (f->features >> VHU_F_PROTOCOL_FEATURES) & 1;
}

int mfe_q_usage(struct mfe *f, const char *what)
{
    snprintf(f->err, sizeof f->err, "%s", what);
    f->err_rule = "mfe.usage";
    return -1;
}

unsigned mfe_q_ndevs(const struct mfe *f)
{
    return mfe_device_vhost_devs(mfe_qemu_device(f), f->queue_pairs);
}

void mfe_q_dev_rings(const struct mfe *f, unsigned i, unsigned *first, unsigned *n)
{
    mfe_device_vhost_rings(mfe_qemu_device(f), f->queue_pairs, i, first, n);
}

int mfe_q_add_status(struct mfe *f, uint64_t bits)
{
    if (!mfe_q_has_pf(f, VHU_PF_STATUS))
        return 0;
    uint64_t s;
    int rc = mfe_get_u64(f, VHU_REQ_GET_STATUS, &s);
    if (rc < 0 || (s & bits) == bits)
        return rc;
    return mfe_set_u64(f, VHU_REQ_SET_STATUS, s | bits, false);
}

int mfe_q_acked_request(struct mfe *f, const struct vhu_msg *m)
{
    struct vhu_msg r;
    int rc = mfe_request(f, m, &r);
    vhu_msg_close_fds(&r);
    if (rc == 0 && mfe_expects_reply(f, m) && r.u.u64 != 0) {
        snprintf(f->err, sizeof f->err, "%s: ack %llu",
                 vhu_req_name(VHU_CH_FRONT, m->hdr.request), (unsigned long long)r.u.u64);
        f->err_rule = "reply.nack";
        return MFE_ERR_NACK;
    }
    return rc;
}

uint32_t mfe_q_ack_flag(const struct mfe *f)
{
    return mfe_reply_ack(f) ? VHU_FLAG_NEED_REPLY : 0;
}

/* SET_VRING_ENABLE for one ring.  A synchronous profile waits for the back
 * end: NEED_REPLY with REPLY_ACK, else a GET_FEATURES whose reply can only
 * come after the enable was handled (vhost_user_write_sync). */
static int send_enable(struct mfe *f, unsigned idx, unsigned on)
{
    struct vhu_msg m;
    bool sync = mfe_qemu_profile(f)->vring_enable_need_reply;
    vhu_msg_state(&m, VHU_REQ_SET_VRING_ENABLE, idx, on);
    if (sync)
        m.hdr.flags |= mfe_q_ack_flag(f);
    int rc = mfe_q_acked_request(f, &m);
    if (rc < 0 || !sync || mfe_reply_ack(f))
        return rc;
    uint64_t ignored;
    return mfe_get_u64(f, VHU_REQ_GET_FEATURES, &ignored);
}

/* vhost_user_set_vring_enable: one message per ring of the device; QEMU
 * sends none without PROTOCOL_FEATURES (vhost_dev_set_vring_enable). */
int mfe_q_enable_rings(struct mfe *f, unsigned first, unsigned n, unsigned on)
{
    if (!mfe_q_has_protocol_features(f))
        return 0;
    for (unsigned i = first; i < first + n; i++) {
        int rc = send_enable(f, i, on);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int mfe_q_enable_round(struct mfe *f, unsigned on)
{
    if (!mfe_qemu_device(f)->net_enable)
        return 0;
    for (unsigned p = 0; p < f->queue_pairs && p < MFE_MAX_VDEV; p++) {
        int rc = mfe_q_enable_rings(f, 2 * p, 2, p < on);
        if (rc < 0)
            return rc;
        f->pair_enabled[p] = p < on;
    }
    return 0;
}

/* SET_VRING_KICK/CALL/ERR: ring index in the u64, the eventfd alongside;
 * a profile with vring_fd_need_reply waits for the ack (REPLY_ACK only). */
int mfe_q_send_fd(struct mfe *f, uint32_t req, unsigned idx, int fd)
{
    struct vhu_msg m;
    vhu_msg_u64(&m, req, idx);
    if (mfe_qemu_profile(f)->vring_fd_need_reply)
        m.hdr.flags |= mfe_q_ack_flag(f);
    vhu_msg_add_fd(&m, fd);
    return mfe_q_acked_request(f, &m);
}

static int fresh_eventfd(struct mfe *f, int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return *fd < 0 ? mfe_q_usage(f, "eventfd failed") : 0;
}

/* ---- init (vhost_dev_init per vhost device) ---- */

/* The queues the device needs from the back end: net checks its queue
 * pairs (vhost_user_start), blk its queues (vhost_user_backend_init,
 * dev->num_queues); fs sets no number and is not checked. */
static int check_queue_num(struct mfe *f)
{
    const struct mfe_device *d = mfe_qemu_device(f);
    if (d->extra_rings || f->queue_pairs <= f->queue_num)
        return 0;
    snprintf(f->err, sizeof f->err, "GET_QUEUE_NUM: back end has %u %s, want %u",
             f->queue_num, d->device_per_pair ? "queue pairs" : "queues", f->queue_pairs);
    f->err_rule = "mfe.queue_num";
    return -1;
}

/* The mask QEMU acks with: the profile's, CONFIG only for a device with a
 * config notifier, CONFIGURE_MEM_SLOTS only where the profile has it. */
static uint64_t protocol_mask(const struct mfe *f)
{
    uint64_t known = mfe_qemu_profile(f)->protocol_features;
    if (!mfe_qemu_profile(f)->mem_slots)
        known &= ~(1ull << VHU_PF_CONFIGURE_MEM_SLOTS);
    if (mfe_qemu_device(f)->needs_config)
        known |= 1ull << VHU_PF_CONFIG;
    else
        known &= ~(1ull << VHU_PF_CONFIG);
    return known;
}

static int negotiate_protocol(struct mfe *f, unsigned dev)
{
    int rc = mfe_get_u64(f, VHU_REQ_GET_PROTOCOL_FEATURES, &f->protocol_features);
    if (rc < 0)
        return rc;
    if (mfe_qemu_device(f)->needs_config &&
        !(f->protocol_features & (1ull << VHU_PF_CONFIG))) {
        snprintf(f->err, sizeof f->err, "the back end does not offer CONFIG: QEMU's "
                 "vhost-user-%s refuses it (vhost_user_backend_init)", mfe_qemu_device(f)->name);
        f->err_rule = "mfe.config";
        return -1;
    }
    uint64_t ack = f->protocol_features & protocol_mask(f);
    if ((rc = mfe_set_u64(f, VHU_REQ_SET_PROTOCOL_FEATURES, ack, false)) < 0)
        return rc;
    f->acked_protocol_features = ack;
    f->protocol_acked = true;
    if (dev == 0) {
        uint64_t qn = 1;
        if (mfe_q_has_pf(f, VHU_PF_MQ) && (rc = mfe_get_u64(f, VHU_REQ_GET_QUEUE_NUM, &qn)) < 0)
            return rc;
        f->queue_num = (unsigned)qn;
    }
    if ((rc = check_queue_num(f)) < 0)
        return rc;
    uint64_t slots;
    if (mfe_q_has_pf(f, VHU_PF_CONFIGURE_MEM_SLOTS))
        return mfe_get_u64(f, VHU_REQ_GET_MAX_MEM_SLOTS, &slots);
    return 0;
}

/* SET_VRING_CALL and SET_VRING_ERR with new eventfds (QEMU's masked
 * notifiers, vhost_virtqueue_init). */
static int init_ring(struct mfe *f, unsigned idx)
{
    struct mfe_vq *vq = &f->vq[idx];
    if (fresh_eventfd(f, &vq->call) < 0 || fresh_eventfd(f, &vq->err) < 0)
        return -1;
    int rc = mfe_q_send_fd(f, VHU_REQ_SET_VRING_CALL, idx, vq->call);
    if (rc < 0)
        return rc;
    return mfe_q_send_fd(f, VHU_REQ_SET_VRING_ERR, idx, vq->err);
}

static int init_device(struct mfe *f, unsigned dev)
{
    int rc = mfe_get_u64(f, VHU_REQ_GET_FEATURES, &f->features);
    if (rc < 0)
        return rc;
    if (mfe_q_has_protocol_features(f) && (rc = negotiate_protocol(f, dev)) < 0)
        return rc;
    if (dev == 0) {
        if ((rc = mfe_backend_req_new(f)) < 0)
            return rc;
        struct vhu_msg m;
        vhu_msg_init(&m, VHU_REQ_SET_OWNER, VHU_VERSION); /* no payload */
        if ((rc = mfe_request(f, &m, NULL)) < 0)
            return rc;
    }
    if ((rc = mfe_get_u64(f, VHU_REQ_GET_FEATURES, &f->features)) < 0)
        return rc;
    unsigned first, n;
    mfe_q_dev_rings(f, dev, &first, &n);
    for (unsigned i = first; i < first + n && mfe_qemu_profile(f)->init_sets_call_err; i++)
        if ((rc = init_ring(f, i)) < 0)
            return rc;
    return 0;
}

/* vhost_dev_get_config at realize: offset 0, the device's config size,
 * zeroed data (e1 17). */
static int read_config(struct mfe *f)
{
    const struct mfe_device *d = mfe_qemu_device(f);
    if (!d->config_size || !mfe_q_has_pf(f, VHU_PF_CONFIG))
        return 0;
    struct vhu_msg m, r;
    vhu_msg_init(&m, VHU_REQ_GET_CONFIG, VHU_VERSION);
    m.hdr.size = 12 + d->config_size;
    memset(&m.u.config, 0, sizeof m.u.config);
    m.u.config.size = d->config_size;
    int rc = mfe_request(f, &m, &r);
    vhu_msg_close_fds(&r);
    if (rc == 0 && r.hdr.size == 0) {   /* the back end's error indication */
        snprintf(f->err, sizeof f->err, "GET_CONFIG: the back end answered with no config");
        f->err_rule = "reply.config";
        return MFE_ERR_REPLY;
    }
    return rc;
}

int mfe_qemu_init_as(struct mfe *f, unsigned queues, enum mfe_init_kind kind)
{
    const struct mfe_device *d = mfe_qemu_device(f);
    unsigned nrings = mfe_device_rings(d, queues);
    if (queues == 0 || nrings > MFE_MAX_VQ)
        return mfe_q_usage(f, "mfe_qemu_init: queues out of range");
    f->queue_pairs = queues;
    f->nrings = nrings;
    f->queue_num = 1;
    for (unsigned i = 0; i < mfe_q_ndevs(f); i++) {
        int rc = init_device(f, i);
        if (rc < 0)
            return rc;
    }
    if (kind == MFE_INIT_RECONNECT)
        return 0;
    /* net, at machine creation's virtio reset (reset_enable_round): only
     * the first pair is enabled (7.2 a1 17-18, a4 28-31; none in 8.2);
     * blk reads its config (e1 17) */
    int rc = mfe_qemu_profile(f)->reset_enable_round ? mfe_q_enable_round(f, 1) : 0;
    return rc < 0 ? rc : read_config(f);
}

int mfe_qemu_init(struct mfe *f, unsigned queues)
{
    return mfe_qemu_init_as(f, queues, MFE_INIT_BOOT);
}

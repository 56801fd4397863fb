/* The message sequences QEMU's vhost-user-net sends.  The shape is QEMU
 * 7.2's, as recorded in fixtures/qemu-7.2 (a1, a4: init; b1, b2: start and
 * stop); where later versions differ, a switch of the profile
 * (mfe_profile.h, fixtures/profiles) says what this one does.
 *
 * QEMU runs one vhost device per queue pair.  Most requests go to every
 * device; a few are "one time" and only the first pair's device sends them
 * (GET_QUEUE_NUM, SET_BACKEND_REQ_FD, SET_OWNER, SET_MEM_TABLE).  The device
 * status (STATUS protocol feature) is raised by read-modify-write: GET_STATUS,
 * then SET_STATUS only when bits are missing, and DRIVER_OK / reset are sent
 * by the last pair's device only.
 */
#include "mfe.h"

#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEFAULT_RING 256u
#define NET_F_MQ     22   /* VIRTIO_NET_F_MQ */

/* virtio device status bits */
#define ST_ACKNOWLEDGE 1u
#define ST_DRIVER      2u
#define ST_DRIVER_OK   4u
#define ST_FEATURES_OK 8u

static const struct mfe_profile *prof(const struct mfe *f)
{
    return f->profile ? f->profile : mfe_profile_current();
}

static bool has_pf(const struct mfe *f, unsigned bit)
{
    return (f->acked_protocol_features >> bit) & 1;
}

static bool has_protocol_features(const struct mfe *f)
{
    return (f->features >> VHU_F_PROTOCOL_FEATURES) & 1;
}

static int usage(struct mfe *f, const char *what)
{
    snprintf(f->err, sizeof f->err, "%s", what);
    f->err_rule = "mfe.usage";
    return -1;
}

/* ---- building blocks ---- */

/* vhost_user_add_status: only the missing bits cause a SET_STATUS. */
static int add_status(struct mfe *f, uint64_t bits)
{
    if (!has_pf(f, VHU_PF_STATUS))
        return 0;
    uint64_t s;
    int rc = mfe_get_u64(f, VHU_REQ_GET_STATUS, &s);
    if (rc < 0 || (s & bits) == bits)
        return rc;
    return mfe_set_u64(f, VHU_REQ_SET_STATUS, s | bits, false);
}

/* mfe_request, then a nonzero ack (when one was owed) is a failure. */
static int acked_request(struct mfe *f, const struct vhu_msg *m)
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

static uint32_t ack_flag(const struct mfe *f)
{
    return mfe_reply_ack(f) ? VHU_FLAG_NEED_REPLY : 0;
}

/* SET_VRING_ENABLE for one ring.  A synchronous profile waits for the back
 * end: NEED_REPLY with REPLY_ACK, else a GET_FEATURES whose reply can only
 * come after the enable was handled (vhost_user_write_sync). */
static int send_enable(struct mfe *f, unsigned idx, unsigned on)
{
    struct vhu_msg m;
    bool sync = prof(f)->vring_enable_need_reply;
    vhu_msg_state(&m, VHU_REQ_SET_VRING_ENABLE, idx, on);
    if (sync)
        m.hdr.flags |= ack_flag(f);
    int rc = acked_request(f, &m);
    if (rc < 0 || !sync || mfe_reply_ack(f))
        return rc;
    uint64_t ignored;
    return mfe_get_u64(f, VHU_REQ_GET_FEATURES, &ignored);
}

/* SET_VRING_ENABLE for every ring of pairs [0, npairs): pair 0 gets `first`,
 * the others `rest` (a guest that has not enabled multiqueue keeps them
 * off).  QEMU sends nothing without PROTOCOL_FEATURES. */
static int enable_round(struct mfe *f, unsigned npairs, unsigned first, unsigned rest)
{
    if (!has_protocol_features(f))
        return 0;
    for (unsigned i = 0; i < 2 * npairs; i++) {
        int rc = send_enable(f, i, i < 2 ? first : rest);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* SET_VRING_KICK/CALL/ERR: ring index in the u64, the eventfd alongside;
 * a profile with vring_fd_need_reply waits for the ack (REPLY_ACK only). */
static int send_with_fd(struct mfe *f, uint32_t req, uint64_t v, int fd)
{
    struct vhu_msg m;
    vhu_msg_u64(&m, req, v);
    if (prof(f)->vring_fd_need_reply)
        m.hdr.flags |= ack_flag(f);
    vhu_msg_add_fd(&m, fd);
    return acked_request(f, &m);
}

static int fresh_eventfd(struct mfe *f, int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return *fd < 0 ? usage(f, "eventfd failed") : 0;
}

/* ---- init (vhost_dev_init per queue pair) ---- */

static int negotiate_protocol(struct mfe *f, unsigned pair, unsigned queue_pairs)
{
    int rc = mfe_get_u64(f, VHU_REQ_GET_PROTOCOL_FEATURES, &f->protocol_features);
    if (rc < 0)
        return rc;
    uint64_t known = prof(f)->protocol_features;
    if (!prof(f)->mem_slots)
        known &= ~(1ull << VHU_PF_CONFIGURE_MEM_SLOTS);
    uint64_t ack = f->protocol_features & known;
    rc = mfe_set_u64(f, VHU_REQ_SET_PROTOCOL_FEATURES, ack, false);
    if (rc < 0)
        return rc;
    f->acked_protocol_features = ack;
    f->protocol_acked = true;
    if (pair == 0) {
        uint64_t qn = 1;
        if (has_pf(f, VHU_PF_MQ) && (rc = mfe_get_u64(f, VHU_REQ_GET_QUEUE_NUM, &qn)) < 0)
            return rc;
        f->queue_num = (unsigned)qn;
    }
    if (queue_pairs > f->queue_num) {
        snprintf(f->err, sizeof f->err, "GET_QUEUE_NUM: back end has %u queue pairs, want %u",
                 f->queue_num, queue_pairs);
        f->err_rule = "mfe.queue_num";
        return -1;
    }
    uint64_t slots;
    if (has_pf(f, VHU_PF_CONFIGURE_MEM_SLOTS))
        return mfe_get_u64(f, VHU_REQ_GET_MAX_MEM_SLOTS, &slots);
    return 0;
}

/* The back-end request channel: one end to the back end, ours kept. */
static int setup_backend_req(struct mfe *f)
{
    if (!has_pf(f, VHU_PF_BACKEND_REQ))
        return 0;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return usage(f, "SET_BACKEND_REQ_FD: socketpair failed");
    struct vhu_msg m;
    vhu_msg_init(&m, VHU_REQ_SET_BACKEND_REQ_FD, VHU_VERSION | ack_flag(f));
    vhu_msg_add_fd(&m, sv[1]);
    int rc = acked_request(f, &m);
    close(sv[1]);
    if (rc < 0) {
        close(sv[0]);
        return rc;
    }
    if (f->backend_req >= 0)
        close(f->backend_req);
    f->backend_req = sv[0];
    return 0;
}

/* SET_VRING_CALL and SET_VRING_ERR with new eventfds (QEMU's masked
 * notifiers at init). */
static int init_ring(struct mfe *f, unsigned idx)
{
    struct mfe_vq *vq = &f->vq[idx];
    if (fresh_eventfd(f, &vq->call) < 0 || fresh_eventfd(f, &vq->err) < 0)
        return -1;
    int rc = send_with_fd(f, VHU_REQ_SET_VRING_CALL, idx, vq->call);
    if (rc < 0)
        return rc;
    return send_with_fd(f, VHU_REQ_SET_VRING_ERR, idx, vq->err);
}

static int init_pair(struct mfe *f, unsigned pair, unsigned queue_pairs)
{
    int rc = mfe_get_u64(f, VHU_REQ_GET_FEATURES, &f->features);
    if (rc < 0)
        return rc;
    if (has_protocol_features(f) && (rc = negotiate_protocol(f, pair, queue_pairs)) < 0)
        return rc;
    if (pair == 0) {
        if ((rc = setup_backend_req(f)) < 0)
            return rc;
        struct vhu_msg m;
        vhu_msg_init(&m, VHU_REQ_SET_OWNER, VHU_VERSION); /* no payload */
        if ((rc = mfe_request(f, &m, NULL)) < 0)
            return rc;
    }
    if ((rc = mfe_get_u64(f, VHU_REQ_GET_FEATURES, &f->features)) < 0)
        return rc;
    for (unsigned i = 2 * pair; i < 2 * pair + 2 && prof(f)->init_sets_call_err; i++)
        if ((rc = init_ring(f, i)) < 0)
            return rc;
    return 0;
}

int mfe_qemu_init(struct mfe *f, unsigned queue_pairs)
{
    if (queue_pairs == 0 || 2 * queue_pairs > MFE_MAX_VQ)
        return usage(f, "mfe_qemu_init: queue pairs out of range");
    f->queue_pairs = queue_pairs;
    f->queue_num = 1;
    for (unsigned p = 0; p < queue_pairs; p++) {
        int rc = init_pair(f, p, queue_pairs);
        if (rc < 0)
            return rc;
    }
    /* virtio-net at reset: only the first pair is enabled */
    return enable_round(f, queue_pairs, 1, 0);
}

/* ---- start (vhost_net_start: vhost_dev_start per queue pair) ---- */

static bool region_in(const struct vhu_region *r, const struct vhu_region *set, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (memcmp(r, &set[i], sizeof *r) == 0)
            return true;
    return false;
}

/* ADD_MEM_REG (with the region's fd) or REM_MEM_REG (fd < 0: none) */
static int send_mem_reg(struct mfe *f, uint32_t req, const struct vhu_region *r, int fd)
{
    struct vhu_msg m;
    vhu_msg_init(&m, req, VHU_VERSION | ack_flag(f));
    m.hdr.size = sizeof m.u.mem_reg;
    m.u.mem_reg = (struct vhu_mem_reg){ .region = *r };
    if (fd >= 0)
        vhu_msg_add_fd(&m, fd);
    return acked_request(f, &m);
}

static int set_mem_table(struct mfe *f)
{
    struct vhu_region regions[VHU_MAX_REGIONS];
    int fds[VHU_MAX_REGIONS];
    unsigned n = mfe_mem_table(&f->mem, regions, fds);
    struct vhu_msg m;
    if (!has_pf(f, VHU_PF_CONFIGURE_MEM_SLOTS)) {
        vhu_msg_mem(&m, regions, fds, n);
        m.hdr.flags |= ack_flag(f); /* QEMU waits for the ack when it can */
        return acked_request(f, &m);
    }
    /* With CONFIGURE_MEM_SLOTS QEMU sends only the difference from what the
     * back end already holds: REM_MEM_REG for regions gone, ADD_MEM_REG for
     * new ones, nothing on a restart with the same memory (trace e2). */
    int rc = 0;
    for (unsigned i = 0; i < f->nadded && rc == 0; i++)
        if (!region_in(&f->added[i], regions, n))
            rc = send_mem_reg(f, VHU_REQ_REM_MEM_REG, &f->added[i], -1);
    for (unsigned i = 0; i < n && rc == 0; i++)
        if (!region_in(&regions[i], f->added, f->nadded))
            rc = send_mem_reg(f, VHU_REQ_ADD_MEM_REG, &regions[i], fds[i]);
    if (rc < 0)
        return rc;
    memcpy(f->added, regions, n * sizeof regions[0]);
    f->nadded = n;
    return 0;
}

/* A guest whose split ring stands at `base` has avail.idx and used.idx
 * there (QEMU restores the base from the used index); a ring laid out fresh
 * says 0, and back ends such as DPDK resynchronise to the used index.  Only
 * rings without traffic are touched: the datapath keeps its own indexes. */
static void place_split_indexes(struct mfe *f, const struct mfe_vq *vq, uint16_t base)
{
    if (f->acked_features & (1ull << VHU_F_RING_PACKED))
        return;
    uint16_t *avail_idx = mfe_gpa(&f->mem, vq->avail_gpa + 2, 2);
    uint16_t *used_idx = mfe_gpa(&f->mem, vq->used_gpa + 2, 2);
    if (avail_idx && used_idx && *avail_idx == *used_idx) {
        *avail_idx = base;
        *used_idx = base;
    }
}

/* NUM, BASE, ADDR, KICK, CALL: vhost_virtqueue_start for one ring. */
static int start_ring(struct mfe *f, unsigned idx, unsigned num, uint16_t base)
{
    struct mfe_vq *vq = &f->vq[idx];
    struct vhu_vring_addr a;
    struct vhu_msg m;
    int rc = mfe_set_state(f, VHU_REQ_SET_VRING_NUM, idx, num, false);
    if (rc == 0)
        rc = mfe_set_state(f, VHU_REQ_SET_VRING_BASE, idx, base, false);
    if (rc < 0)
        return rc;
    vq->base = base;
    place_split_indexes(f, vq, base);
    mfe_vq_addr(f, idx, &a);
    vhu_msg_addr(&m, &a);
    if ((rc = mfe_request(f, &m, NULL)) < 0)
        return rc;
    if ((rc = send_with_fd(f, VHU_REQ_SET_VRING_KICK, idx, vq->kick)) < 0)
        return rc;
    return send_with_fd(f, VHU_REQ_SET_VRING_CALL, idx, vq->call);
}

/* The base of a ring that has never run: index 0, and for a packed ring the
 * driver's wrap counter (bit 15) starts at 1, as QEMU sends 0x8000. */
static uint16_t fresh_base(const struct mfe *f)
{
    return (f->acked_features & (1ull << VHU_F_RING_PACKED)) ? 0x8000 : 0;
}

static int start_pair(struct mfe *f, unsigned pair, unsigned npairs,
                      const struct mfe_start_opts *o, unsigned num)
{
    int rc = 0;
    /* vhost_net_start restores the enable state of enabled pairs first */
    if (pair == 0 && has_protocol_features(f))
        for (unsigned i = 0; i < 2 && rc == 0; i++)
            rc = send_enable(f, i, 1);
    if (rc < 0 || (rc = mfe_set_u64(f, VHU_REQ_SET_FEATURES, f->acked_features, false)) < 0)
        return rc;
    if ((rc = add_status(f, ST_FEATURES_OK)) < 0)
        return rc;
    if (pair == 0 && (rc = set_mem_table(f)) < 0)
        return rc;
    for (unsigned i = 2 * pair; i < 2 * pair + 2; i++)
        if ((rc = start_ring(f, i, num, o->bases ? o->bases[i] : fresh_base(f))) < 0)
            return rc;
    if (pair == npairs - 1)
        return add_status(f, ST_ACKNOWLEDGE | ST_DRIVER | ST_DRIVER_OK);
    return 0;
}

/* Guest memory and ring layout before the first message, so a failure
 * here sends nothing. */
static int prepare_memory(struct mfe *f, const struct mfe_start_opts *o, unsigned npairs,
                          unsigned num)
{
    if (!o->reuse_memory || f->mem.nregions == 0) {
        mfe_mem_destroy(&f->mem);
        for (unsigned i = 0; i < MFE_MAX_VQ; i++)
            f->vq[i].ready = false;
        uint64_t size = (uint64_t)prof(f)->mem_mb << 20;
        if (mfe_mem_create(&f->mem, size, MFE_LAYOUT_QEMU, 2) < 0)
            return usage(f, "guest memory: memfd_create/mmap failed");
    }
    for (unsigned i = 0; i < 2 * npairs; i++)
        if (mfe_vq_setup(f, i, num) < 0)
            return -1;
    return 0;
}

int mfe_qemu_start(struct mfe *f, const struct mfe_start_opts *o)
{
    static const struct mfe_start_opts defaults;
    if (!o)
        o = &defaults;
    unsigned npairs = o->queue_pairs ? o->queue_pairs : f->queue_pairs;
    unsigned num = o->ring_size ? o->ring_size : DEFAULT_RING;
    if (npairs == 0 || npairs > f->queue_pairs)
        return usage(f, "mfe_qemu_start: more queue pairs than mfe_qemu_init set up");
    int rc = prepare_memory(f, o, npairs, num);
    if (rc < 0)
        return rc;
    /* the b1 guest's features; a guest driving several pairs also acks MQ (b2) */
    uint64_t guest = prof(f)->guest_features | (npairs > 1 ? 1ull << NET_F_MQ : 0);
    f->acked_features = o->features ? o->features : f->features & guest;
    /* the guest driver probing: virtio-net resets and status writes */
    for (unsigned r = 0; r < prof(f)->enable_rounds; r++)
        if ((rc = enable_round(f, f->queue_pairs, 1, 0)) < 0)
            return rc;
    for (unsigned p = 0; p < npairs; p++)
        if ((rc = start_pair(f, p, npairs, o, num)) < 0)
            return rc;
    f->started_pairs = npairs;
    /* a multiqueue guest then enables every pair (VIRTIO_NET_CTRL_MQ, b2) */
    return npairs > 1 ? enable_round(f, npairs, 1, 1) : 0;
}

/* ---- stop (vhost_net_stop) ---- */

static int stop_ring(struct mfe *f, unsigned idx, uint16_t *bases)
{
    struct vhu_msg m, r;
    vhu_msg_state(&m, VHU_REQ_GET_VRING_BASE, idx, 0);
    int rc = mfe_request(f, &m, &r);
    vhu_msg_close_fds(&r);
    if (rc < 0)
        return rc;
    if (r.u.state.index != idx) {
        snprintf(f->err, sizeof f->err, "GET_VRING_BASE: reply for ring %u, asked for %u",
                 r.u.state.index, idx);
        f->err_rule = "reply.index";
        return MFE_ERR_REPLY;
    }
    f->vq[idx].base = (uint16_t)r.u.state.num;
    if (bases)
        bases[idx] = (uint16_t)r.u.state.num;
    return 0;
}

/* The last pair's device resets the status: before its rings stop (7.2),
 * or after them (8.1+: status_after_get_vring_base). */
static int stop_pair(struct mfe *f, unsigned p, unsigned npairs, uint16_t *bases)
{
    bool reset = p == npairs - 1 && has_pf(f, VHU_PF_STATUS);
    bool after = prof(f)->status_after_get_vring_base;
    int rc = 0;
    if (reset && !after)
        rc = mfe_set_u64(f, VHU_REQ_SET_STATUS, 0, false);
    for (unsigned i = 2 * p; i < 2 * p + 2 && rc == 0; i++)
        rc = stop_ring(f, i, bases);
    if (rc == 0 && reset && after)
        rc = mfe_set_u64(f, VHU_REQ_SET_STATUS, 0, false);
    return rc;
}

int mfe_qemu_stop(struct mfe *f, uint16_t *bases)
{
    unsigned npairs = f->started_pairs;
    if (npairs == 0)
        return usage(f, "mfe_qemu_stop: not started");
    for (unsigned p = 0; p < npairs; p++) {
        int rc = stop_pair(f, p, npairs, bases);
        if (rc < 0)
            return rc;
    }
    f->started_pairs = 0;
    /* virtio-net reset: back to one enabled pair */
    return enable_round(f, f->queue_pairs, 1, 0);
}

/* The QEMU sequences that start, stop and reconnect vhost devices
 * (vhost_dev_start / vhost_dev_stop and their device wrappers:
 * vhost_net_start, vhost_user_blk_start, vuf_start).  Traces b1, b2 (net
 * start and stop), c1 (a driver bound again), d1 (reconnect), e2 (blk, with
 * SeaBIOS first); the device rows of mfe_device.c say what differs.
 */
#include "mfe_qemu_int.h"

#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* ---- memory ---- */

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
    vhu_msg_init(&m, req, VHU_VERSION | mfe_q_ack_flag(f));
    m.hdr.size = sizeof m.u.mem_reg;
    m.u.mem_reg = (struct vhu_mem_reg){ .region = *r };
    if (fd >= 0)
        vhu_msg_add_fd(&m, fd);
    return mfe_q_acked_request(f, &m);
}

/* vhost_user_set_mem_table for vhost device dev.  SET_MEM_TABLE is a "one
 * time" request: only the first device sends it.  With
 * CONFIGURE_MEM_SLOTS each device sends the difference from what its own
 * copy says the back end holds (vhost_user_add_remove_regions): REM_MEM_REG
 * for regions gone, ADD_MEM_REG for new ones, nothing on a restart with the
 * same memory (e2 37); ADD_MEM_REG is not one time, so a second pair's
 * device adds the same regions again. */
static int set_mem_table(struct mfe *f, unsigned dev)
{
    struct vhu_region regions[VHU_MAX_REGIONS];
    int fds[VHU_MAX_REGIONS];
    unsigned n = mfe_mem_table(&f->mem, regions, fds);
    if (!mfe_q_has_pf(f, VHU_PF_CONFIGURE_MEM_SLOTS)) {
        if (dev != 0)
            return 0;
        struct vhu_msg m;
        vhu_msg_mem(&m, regions, fds, n);
        m.hdr.flags |= mfe_q_ack_flag(f);   /* QEMU waits for the ack when it can */
        return mfe_q_acked_request(f, &m);
    }
    struct vhu_region *held = f->added[dev];
    int rc = 0;
    for (unsigned i = 0; i < f->nadded[dev] && rc == 0; i++)
        if (!region_in(&held[i], regions, n))
            rc = send_mem_reg(f, VHU_REQ_REM_MEM_REG, &held[i], -1);
    for (unsigned i = 0; i < n && rc == 0; i++)
        if (!region_in(&regions[i], held, f->nadded[dev]))
            rc = send_mem_reg(f, VHU_REQ_ADD_MEM_REG, &regions[i], fds[i]);
    if (rc < 0)
        return rc;
    memcpy(held, regions, n * sizeof regions[0]);
    f->nadded[dev] = n;
    return 0;
}

/* ---- rings ---- */

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

/* NUM, BASE, ADDR, KICK, and CALL unless the device masks calls:
 * vhost_virtqueue_start for one ring. */
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
    if ((rc = mfe_q_send_fd(f, VHU_REQ_SET_VRING_KICK, idx, vq->kick)) < 0)
        return rc;
    vq->running = true;
    if (mfe_qemu_device(f)->masks_calls)
        return 0;
    return mfe_q_send_fd(f, VHU_REQ_SET_VRING_CALL, idx, vq->call);
}

/* The guest notifiers of a device that masks calls: unmasked (the call
 * eventfd) or masked (one the guest never reads). */
static int set_notifiers(struct mfe *f, unsigned first, unsigned n, bool masked)
{
    for (unsigned i = first; i < first + n; i++) {
        struct mfe_vq *vq = &f->vq[i];
        if (masked && vq->masked < 0 &&
            (vq->masked = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
            return mfe_q_usage(f, "eventfd failed");
        int rc = mfe_q_send_fd(f, VHU_REQ_SET_VRING_CALL, i, masked ? vq->masked : vq->call);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* vhost_user_set_features: SET_FEATURES, then FEATURES_OK with STATUS. */
static int set_features(struct mfe *f)
{
    int rc = mfe_set_u64(f, VHU_REQ_SET_FEATURES, f->acked_features, false);
    return rc < 0 ? rc : mfe_q_add_status(f, MFE_ST_FEATURES_OK);
}

/* The base of a ring that has never run: index 0, and for a packed ring the
 * driver's wrap counter (bit 15) starts at 1, as QEMU sends 0x8000. */
static uint16_t fresh_base(const struct mfe *f)
{
    return (f->acked_features & (1ull << VHU_F_RING_PACKED)) ? 0x8000 : 0;
}

struct start {
    const struct mfe_start_opts *o;
    unsigned ndevs;             /* vhost devices started */
    unsigned num;               /* ring size */
    unsigned driver_rings;      /* rings the driver set up (firmware: fewer) */
};

static int start_device(struct mfe *f, const struct start *s, unsigned dev)
{
    const struct mfe_device *d = mfe_qemu_device(f);
    unsigned first, n;
    mfe_q_dev_rings(f, dev, &first, &n);
    int rc = 0;
    /* vhost_net_start restores the enable state of an enabled pair */
    if (d->net_enable && f->pair_enabled[dev])
        rc = mfe_q_enable_rings(f, first, n, 1);
    if (rc == 0 && d->prepare_features)
        rc = set_features(f);
    if (rc == 0 && d->unmask_before_start)
        rc = set_notifiers(f, first, n, false);
    if (rc < 0 || (rc = set_features(f)) < 0 || (rc = set_mem_table(f, dev)) < 0)
        return rc;
    for (unsigned i = first; i < first + n && i < s->driver_rings; i++) {
        uint16_t base = s->o->bases ? s->o->bases[i] : fresh_base(f);
        if ((rc = start_ring(f, i, s->num, base)) < 0)
            return rc;
    }
    if (d->vrings && (rc = mfe_q_enable_rings(f, first, n, 1)) < 0)
        return rc;
    if (dev == s->ndevs - 1 &&
        (rc = mfe_q_add_status(f, MFE_ST_ACKNOWLEDGE | MFE_ST_DRIVER | MFE_ST_DRIVER_OK)) < 0)
        return rc;
    return d->unmask_after_start ? set_notifiers(f, first, n, false) : 0;
}

void mfe_qemu_fresh_rings(struct mfe *f)
{
    for (unsigned i = 0; i < MFE_MAX_VQ; i++)
        f->vq[i].ready = false;
}

/* Guest memory and ring layout before the first message, so a failure
 * here sends nothing. */
static int prepare_memory(struct mfe *f, const struct start *s)
{
    const struct mfe_start_opts *o = s->o;
    if (!o->reuse_memory || f->mem.nregions == 0) {
        mfe_mem_destroy(&f->mem);
        mfe_qemu_fresh_rings(f);
        uint64_t size = (uint64_t)mfe_qemu_profile(f)->mem_mb << 20;
        if (mfe_mem_create(&f->mem, size, MFE_LAYOUT_QEMU, 2) < 0)
            return mfe_q_usage(f, "guest memory: memfd_create/mmap failed");
    } else if (o->kind == MFE_START_FIRMWARE) {
        mfe_qemu_fresh_rings(f);   /* its own rings, in the legacy layout */
    }
    unsigned align = o->kind == MFE_START_FIRMWARE
                         ? mfe_qemu_device(f)->firmware_used_align : 64;
    unsigned first, n;
    mfe_q_dev_rings(f, s->ndevs - 1, &first, &n);
    for (unsigned i = 0; i < first + n && i < s->driver_rings; i++)
        if (mfe_vq_setup_aligned(f, i, s->num, align) < 0)
            return -1;
    return 0;
}

/* What the guest acks: the firmware's or the driver's set (the profile's
 * for net, the device's otherwise), with the device's MQ bit when several
 * queues run; QEMU always adds PROTOCOL_FEATURES (part of the masks). */
static uint64_t guest_features(const struct mfe *f, const struct start *s)
{
    const struct mfe_device *d = mfe_qemu_device(f);
    if (s->o->kind == MFE_START_FIRMWARE)
        return f->features & d->firmware_features;
    uint64_t want = d->guest_features ? d->guest_features : mfe_qemu_profile(f)->guest_features;
    if (d->mq_feature && (d->device_per_pair ? s->ndevs > 1 : f->queue_pairs > 1))
        want |= 1ull << d->mq_feature;
    return f->features & want;
}

/* The guest driver's enable rounds before a start (net: virtio-net
 * reacting to the driver's probe reset, where the profile has a round on
 * reset, and to its feature writes). */
static unsigned probe_rounds(const struct mfe *f, enum mfe_start_kind kind)
{
    const struct mfe_profile *p = mfe_qemu_profile(f);
    if (kind == MFE_START_BOOT)
        return p->enable_rounds + (p->reset_enable_round ? 1u : 0u);
    return kind == MFE_START_REBIND ? mfe_qemu_profile(f)->enable_rounds_rebind : 0;
}

static int check_start(struct mfe *f, const struct mfe_start_opts *o, struct start *s)
{
    const struct mfe_device *d = mfe_qemu_device(f);
    s->o = o;
    s->ndevs = o->queue_pairs ? o->queue_pairs : mfe_q_ndevs(f);
    s->num = o->ring_size ? o->ring_size : d->ring_size;
    s->driver_rings = f->nrings;
    if (f->nrings == 0 || s->ndevs == 0 || s->ndevs > mfe_q_ndevs(f))
        return mfe_q_usage(f, "mfe_qemu_start: more vhost devices than mfe_qemu_init set up");
    if (o->kind == MFE_START_FIRMWARE) {
        if (!d->firmware_features)
            return mfe_q_usage(f, "mfe_qemu_start: no firmware drives this device");
        s->driver_rings = d->firmware_rings;
    }
    return 0;
}

int mfe_qemu_start(struct mfe *f, const struct mfe_start_opts *o)
{
    static const struct mfe_start_opts defaults;
    struct start s;
    if (!o)
        o = &defaults;
    int rc = check_start(f, o, &s);
    if (rc < 0 || (rc = prepare_memory(f, &s)) < 0)
        return rc;
    f->acked_features = o->features ? o->features : guest_features(f, &s);
    f->driver_features = f->acked_features;
    for (unsigned r = 0; r < probe_rounds(f, o->kind); r++)
        if ((rc = mfe_q_enable_round(f, 1)) < 0)
            return rc;
    for (unsigned dev = 0; dev < s.ndevs; dev++)
        if ((rc = start_device(f, &s, dev)) < 0)
            return rc;
    f->started_pairs = s.ndevs;
    /* a multiqueue guest driver then enables every pair it runs
     * (VIRTIO_NET_CTRL_MQ, b2 78-81); a resumed one had them enabled */
    bool probed = o->kind == MFE_START_BOOT || o->kind == MFE_START_REBIND;
    return probed && s.ndevs > 1 ? mfe_q_enable_round(f, s.ndevs) : 0;
}

/* ---- stop ---- */

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
    f->vq[idx].running = false;
    if (bases)
        bases[idx] = (uint16_t)r.u.state.num;
    return 0;
}

/* vhost_dev_stop for one device: the last one resets the status, before
 * its rings stop (7.2) or after them (8.1+: status_after_get_vring_base). */
static int stop_device(struct mfe *f, unsigned dev, unsigned ndevs, uint16_t *bases)
{
    const struct mfe_device *d = mfe_qemu_device(f);
    bool reset = dev == ndevs - 1 && mfe_q_has_pf(f, VHU_PF_STATUS);
    bool after = mfe_qemu_profile(f)->status_after_get_vring_base;
    unsigned first, n;
    mfe_q_dev_rings(f, dev, &first, &n);
    int rc = 0;
    if (reset && !after)
        rc = mfe_set_u64(f, VHU_REQ_SET_STATUS, 0, false);
    if (rc == 0 && d->vrings)
        rc = mfe_q_enable_rings(f, first, n, 0);
    for (unsigned i = first; i < first + n && rc == 0; i++)
        if (f->vq[i].running)
            rc = stop_ring(f, i, bases);
    if (rc == 0 && reset && after)
        rc = mfe_set_u64(f, VHU_REQ_SET_STATUS, 0, false);
    if (rc == 0 && d->mask_after_stop)
        rc = set_notifiers(f, first, n, true);
    return rc;
}

int mfe_qemu_stop_as(struct mfe *f, enum mfe_stop_cause cause, uint16_t *bases)
{
    unsigned ndevs = f->started_pairs;
    if (ndevs == 0)
        return mfe_q_usage(f, "mfe_qemu_stop: not started");
    for (unsigned dev = 0; dev < ndevs; dev++) {
        int rc = stop_device(f, dev, ndevs, bases);
        if (rc < 0)
            return rc;
    }
    f->started_pairs = 0;
    /* a net device reset by the guest, where the profile has a round on
     * reset: back to one enabled pair (7.2 b1 51-52, b2 91-94, c1 51-52);
     * QEMU stopping it on its own leaves the enable state alone (d1 83-87);
     * a system_reset adds its own rounds (7.2 h3 53-56) */
    const struct mfe_profile *p = mfe_qemu_profile(f);
    unsigned rounds = cause == MFE_STOP_HOST ? 0 : (p->reset_enable_round ? 1u : 0u);
    if (cause == MFE_STOP_SYSTEM_RESET)
        rounds += p->system_reset_extra_rounds;
    for (unsigned r = 0; r < rounds; r++) {
        int rc = mfe_q_enable_round(f, 1);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int mfe_qemu_stop(struct mfe *f, uint16_t *bases)
{
    return mfe_qemu_stop_as(f, MFE_STOP_GUEST, bases);
}

/* ---- reconnect ---- */

/* virtio_queue_restore_last_avail_idx: a split ring restarts at its used
 * index; a packed ring where it last stood. */
static uint16_t resume_base(const struct mfe *f, unsigned idx)
{
    const struct mfe_vq *vq = &f->vq[idx];
    const volatile uint16_t *used = mfe_gpa(&f->mem, vq->used_gpa + 2, 2);
    bool packed = f->driver_features & (1ull << VHU_F_RING_PACKED);
    return packed || !used ? vq->base : *used;
}

int mfe_qemu_reconnect(struct mfe *f)
{
    if (!mfe_qemu_device(f)->reconnects)
        return mfe_q_usage(f, "mfe_qemu_reconnect: QEMU does not reconnect this device");
    unsigned ndevs = f->lost_pairs, num = f->vq[0].num;
    uint16_t bases[MFE_MAX_VQ] = { 0 };
    bool running[MFE_MAX_VQ];
    for (unsigned i = 0; i < MFE_MAX_VQ; i++) {
        running[i] = f->vq[i].running;
        if (running[i])
            bases[i] = resume_base(f, i);
    }
    int rc = mfe_qemu_init_as(f, f->queue_pairs, MFE_INIT_RECONNECT);
    if (rc < 0 || ndevs == 0)
        return rc;
    for (unsigned i = 0; i < MFE_MAX_VQ; i++)
        if (running[i])
            mfe_note(f, "reconnect: ring %u resumes at its used index %u", i, bases[i]);
    struct mfe_start_opts o = { .queue_pairs = ndevs, .ring_size = num,
                                .features = f->driver_features, .bases = bases,
                                .reuse_memory = true, .kind = MFE_START_RESUME };
    rc = mfe_qemu_start(f, &o);
    f->lost_pairs = 0;
    return rc;
}

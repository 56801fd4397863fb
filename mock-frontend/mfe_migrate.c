/* QEMU's migration-time requests (see mfe_migrate.h). */
#include "mfe_migrate.h"

#include <stdio.h>
#include <string.h>

#define ST_FEATURES_OK 8u

static bool has_pf(const struct mfe *f, unsigned bit)
{
    return (f->acked_protocol_features >> bit) & 1;
}

/* vhost_user_write_sync: with wait, NEED_REPLY when REPLY_ACK is there and
 * a non-zero ack fails; without REPLY_ACK a GET_FEATURES stands in. */
static int write_sync(struct mfe *f, struct vhu_msg *m, bool wait)
{
    if (wait && mfe_reply_ack(f))
        m->hdr.flags |= VHU_FLAG_NEED_REPLY;
    struct vhu_msg r;
    int rc = mfe_request(f, m, &r);
    if (rc < 0)
        return rc;
    vhu_msg_close_fds(&r);
    if (!wait)
        return 0;
    if (mfe_reply_ack(f)) {
        if (r.u.u64 == 0)
            return 0;
        snprintf(f->err, sizeof f->err, "%s: ack %llu",
                 vhu_req_name(VHU_CH_FRONT, m->hdr.request), (unsigned long long)r.u.u64);
        f->err_rule = "reply.nack";
        return MFE_ERR_NACK;
    }
    uint64_t ignored;
    return mfe_get_u64(f, VHU_REQ_GET_FEATURES, &ignored);
}

int mfe_set_log_base(struct mfe *f, const struct mfe_log *l, uint64_t *ack)
{
    bool shmfd = has_pf(f, VHU_PF_LOG_SHMFD);
    struct vhu_msg m, r;
    vhu_msg_init(&m, VHU_REQ_SET_LOG_BASE, 0);
    m.u.log = (struct vhu_log){ .mmap_size = l->words * 8, .mmap_offset = 0 };
    m.hdr.size = sizeof m.u.log;
    if (shmfd && l->fd >= 0)
        vhu_msg_add_fd(&m, l->fd);
    *ack = 0;
    if (!shmfd)
        return mfe_send(f, &m);     /* QEMU reads nothing back then */
    /* QEMU reads the reply with any size and checks only that it answers
     * SET_LOG_BASE (DPDK sends none, libvhost-user a u64): so do we */
    int rc = mfe_send(f, &m);
    if (rc == 0)
        rc = mfe_recv(f, &r);
    if (rc < 0)
        return rc;
    vhu_msg_close_fds(&r);
    if (r.hdr.request != VHU_REQ_SET_LOG_BASE || !(r.hdr.flags & VHU_FLAG_REPLY)) {
        snprintf(f->err, sizeof f->err, "SET_LOG_BASE: answered by %s (flags 0x%x)",
                 vhu_req_name(VHU_CH_FRONT, r.hdr.request), r.hdr.flags);
        f->err_rule = "reply.request";
        return MFE_ERR_REPLY;
    }
    if (r.hdr.size == 8)
        *ack = r.u.u64;
    return 0;
}

/* vhost_user_add_status(FEATURES_OK) after SET_FEATURES. */
static int keep_features_ok(struct mfe *f)
{
    if (!has_pf(f, VHU_PF_STATUS))
        return 0;
    uint64_t s;
    int rc = mfe_get_u64(f, VHU_REQ_GET_STATUS, &s);
    if (rc < 0 || (s & ST_FEATURES_OK))
        return rc;
    return mfe_set_u64(f, VHU_REQ_SET_STATUS, s | ST_FEATURES_OK, false);
}

/* vhost_dev_set_log for one pair's device. */
static int set_log(struct mfe *f, unsigned pair, bool on)
{
    struct vhu_msg m;
    uint64_t features = f->acked_features & ~(1ull << VHU_F_LOG_ALL);
    if (on)
        features |= 1ull << VHU_F_LOG_ALL;
    vhu_msg_u64(&m, VHU_REQ_SET_FEATURES, features);
    int rc = write_sync(f, &m, on);
    if (rc == 0)
        rc = keep_features_ok(f);
    for (unsigned i = 2 * pair; i < 2 * pair + 2 && rc == 0; i++) {
        struct vhu_vring_addr a;
        mfe_vq_addr(f, i, &a);
        a.flags = on ? VHU_VRING_F_LOG : 0;
        vhu_msg_addr(&m, &a);
        rc = write_sync(f, &m, on);
    }
    return rc;
}

int mfe_migration_log_on(struct mfe *f, const struct mfe_log *l)
{
    if (f->started_pairs == 0) {
        snprintf(f->err, sizeof f->err, "mfe_migration_log_on: the device is not started");
        f->err_rule = "mfe.usage";
        return -1;
    }
    uint64_t ack;
    int rc = mfe_set_log_base(f, l, &ack);
    for (unsigned p = 0; p < f->started_pairs && rc == 0; p++)
        rc = set_log(f, p, true);
    if (rc == 0)
        f->acked_features |= 1ull << VHU_F_LOG_ALL;
    return rc;
}

int mfe_migration_log_off(struct mfe *f)
{
    int rc = 0;
    for (unsigned p = 0; p < f->started_pairs && rc == 0; p++)
        rc = set_log(f, p, false);
    f->acked_features &= ~(1ull << VHU_F_LOG_ALL);
    return rc;
}

bool mfe_logging(const struct mfe *f)
{
    return (f->acked_features >> VHU_F_LOG_ALL) & 1;
}

/* The destination QEMU after the switch-over: vhost_dev_init on a new
 * connection (its own boot), then, on `cont` after the incoming migration,
 * vhost_net_start with the rings' state from the migration stream: the
 * same guest memory and rings, bases as the source's GET_VRING_BASE gave,
 * no guest probing, the features without LOG_ALL. */
int mfe_qemu_destination(struct mfe *f, unsigned queues, const uint16_t *bases,
                         uint64_t features)
{
    int rc = mfe_qemu_init(f, queues);
    if (rc < 0)
        return rc;
    struct mfe_start_opts o = { .queue_pairs = queues, .features = features & ~(1ull << VHU_F_LOG_ALL),
                                .bases = bases, .reuse_memory = true,
                                .kind = MFE_START_RESUME };
    return mfe_qemu_start(f, &o);
}

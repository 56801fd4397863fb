/* The mock front end's vIOMMU and device-IOTLB messages (mfe_iotlb.h). */
#include "mfe_iotlb.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void mfe_iotlb_attach(struct mfe_iotlb *t, struct mfe *f)
{
    memset(t, 0, sizeof *t);
    t->f = f;
    t->serve_misses = true;
    f->iotlb = t;
}

void mfe_iotlb_detach(struct mfe_iotlb *t)
{
    if (t->f && t->f->iotlb == t)
        t->f->iotlb = NULL;
    t->f = NULL;
}

bool mfe_iotlb_active(const struct mfe *f)
{
    return f->iotlb && (f->acked_features & (1ull << MFE_F_IOMMU_PLATFORM));
}

static bool overlaps(const struct mfe_iotlb_map *e, uint64_t iova, uint64_t last)
{
    return e->iova <= last && iova <= e->iova + (e->size - 1);
}

int mfe_iotlb_map(struct mfe_iotlb *t, uint64_t iova, uint64_t size, uint64_t gpa,
                  uint8_t perm)
{
    if (size == 0 || iova + (size - 1) < iova || t->nmap == MFE_IOTLB_MAP_MAX ||
        !mfe_gpa(&t->f->mem, gpa, size))
        return -1;
    for (unsigned i = 0; i < t->nmap; i++)
        if (overlaps(&t->map[i], iova, iova + (size - 1)))
            return -1;
    t->map[t->nmap++] = (struct mfe_iotlb_map){ iova, size, gpa, perm };
    return 0;
}

int mfe_iotlb_map_identity(struct mfe_iotlb *t, uint8_t perm)
{
    const struct mfe_mem *mem = &t->f->mem;
    for (unsigned i = 0; i < mem->nregions; i++)
        if (mfe_iotlb_map(t, mem->regions[i].gpa, mem->regions[i].size,
                          mem->regions[i].gpa, perm) < 0)
            return -1;
    return mem->nregions ? 0 : -1;
}

unsigned mfe_iotlb_unmap(struct mfe_iotlb *t, uint64_t iova, uint64_t size)
{
    if (size == 0)
        return 0;
    uint64_t last = iova + (size - 1) < iova ? UINT64_MAX : iova + (size - 1);
    unsigned k = 0, gone = 0;
    for (unsigned i = 0; i < t->nmap; i++) {
        if (overlaps(&t->map[i], iova, last))
            gone++;
        else
            t->map[k++] = t->map[i];
    }
    t->nmap = k;
    return gone;
}

const struct mfe_iotlb_map *mfe_iotlb_lookup(const struct mfe_iotlb *t, uint64_t iova)
{
    for (unsigned i = 0; i < t->nmap; i++)
        if (iova >= t->map[i].iova && iova - t->map[i].iova < t->map[i].size)
            return &t->map[i];
    return NULL;
}

uint64_t mfe_iotlb_iova(const struct mfe_iotlb *t, uint64_t gpa)
{
    for (unsigned i = 0; i < t->nmap; i++)
        if (gpa >= t->map[i].gpa && gpa - t->map[i].gpa < t->map[i].size)
            return t->map[i].iova + (gpa - t->map[i].gpa);
    return gpa;
}

/* ---- front-end channel ---- */

int mfe_iotlb_send(struct mfe_iotlb *t, const struct vhu_iotlb *msg, uint64_t *ack)
{
    struct mfe *f = t->f;
    struct vhu_msg m, r;
    vhu_msg_init(&m, VHU_REQ_IOTLB_MSG, mfe_reply_ack(f) ? VHU_FLAG_NEED_REPLY : 0);
    m.hdr.size = sizeof m.u.iotlb;
    m.u.iotlb = *msg;
    t->depth++;
    int rc = mfe_request(f, &m, &r);
    t->depth--;
    vhu_msg_close_fds(&r);
    if (rc < 0)
        return rc;
    if (msg->type == MFE_IOTLB_UPDATE)
        t->updates++;
    else if (msg->type == MFE_IOTLB_INVALIDATE)
        t->invalidates++;
    if (r.u.u64 != 0)
        t->nacks++;
    if (ack)
        *ack = r.u.u64;
    return 0;
}

int mfe_iotlb_update(struct mfe_iotlb *t, uint64_t iova, uint64_t size, uint8_t perm,
                     uint64_t *ack)
{
    const struct mfe_iotlb_map *e = mfe_iotlb_lookup(t, iova);
    if (!e || size == 0 || size - 1 > e->size - 1 - (iova - e->iova)) {
        snprintf(t->f->err, sizeof t->f->err, "IOTLB update: 0x%llx+0x%llx is not mapped",
                 (unsigned long long)iova, (unsigned long long)size);
        t->f->err_rule = "mfe.usage";
        return -1;
    }
    struct vhu_iotlb m = {
        .iova = iova, .size = size,
        .uaddr = mfe_uaddr(&t->f->mem, e->gpa + (iova - e->iova)),
        .perm = perm ? perm : e->perm, .type = MFE_IOTLB_UPDATE,
    };
    return mfe_iotlb_send(t, &m, ack);
}

int mfe_iotlb_update_all(struct mfe_iotlb *t, uint64_t *ack)
{
    uint64_t first = 0;
    for (unsigned i = 0; i < t->nmap; i++) {
        uint64_t a = 0;
        int rc = mfe_iotlb_update(t, t->map[i].iova, t->map[i].size, 0, &a);
        if (rc < 0)
            return rc;
        if (a && !first)
            first = a;
    }
    if (ack)
        *ack = first;
    return 0;
}

int mfe_iotlb_invalidate(struct mfe_iotlb *t, uint64_t iova, uint64_t size, uint64_t *ack)
{
    struct vhu_iotlb m = { .iova = iova, .size = size, .type = MFE_IOTLB_INVALIDATE };
    return mfe_iotlb_send(t, &m, ack);
}

/* ---- back-end channel ---- */

static void breq_fail(struct mfe_iotlb *t, const char *what)
{
    t->bad_requests++;
    snprintf(t->err, sizeof t->err, "%s", what);
    mfe_note(t->f, "back-end channel: %s", what);
}

/* Reply u64 v to a back-end request. */
static void reply(struct mfe_iotlb *t, const struct vhu_msg *req, uint64_t v)
{
    struct vhu_msg r;
    vhu_msg_init(&r, req->hdr.request, VHU_FLAG_REPLY);
    r.hdr.size = sizeof r.u.u64;
    r.u.u64 = v;
    if (vhu_send(t->f->backend_req, &r) < 0)
        breq_fail(t, "reply could not be sent");
    else
        t->replied++;
}

/* What QEMU's vhost_device_iotlb_miss does for a MISS: the UPDATE of what
 * the IOMMU maps there, if it maps it with the permission asked for.
 * 0 when an UPDATE went and was acked 0. */
static int serve_miss(struct mfe_iotlb *t, const struct vhu_iotlb *miss)
{
    const struct mfe_iotlb_map *e = mfe_iotlb_lookup(t, miss->iova);
    if (!e || (e->perm & miss->perm) != miss->perm) {
        if (e) {
            t->misses_denied++;
            t->last_denied = *miss;
        } else {
            t->misses_unmapped++;
        }
        mfe_note(t->f, "IOTLB miss 0x%llx perm %u: %s, no update", (unsigned long long)miss->iova,
                 miss->perm, e ? "mapped with less permission" : "not mapped");
        return -1;
    }
    uint64_t iova = e->iova, size = e->size;
    if (t->granule) {
        uint64_t g = miss->iova & ~(t->granule - 1);
        iova = g > e->iova ? g : e->iova;
        uint64_t end = e->iova + e->size, gend = g + t->granule;
        size = (gend < end && gend > g ? gend : end) - iova;
    }
    uint64_t ack = 1;
    int rc = mfe_iotlb_update(t, iova, size, 0, &ack);
    return rc < 0 || ack != 0 ? -1 : 0;
}

/* Read one back-end request; queue = while a reply is awaited. */
static int take(struct mfe_iotlb *t, bool queue)
{
    struct vhu_msg m;
    const char *rule = NULL;
    int rc = vhu_recv(t->f->backend_req, &m, t->f->timeout_ms, &rule);
    if (rc < 0) {
        breq_fail(t, rule ? rule : vhu_io_strerror(rc));
        return -1;
    }
    vhu_msg_close_fds(&m);
    char line[MFE_LINE];
    vhu_format(line, sizeof line, VHU_CH_BACK, &m, false);
    mfe_note(t->f, "B=>F %s", line);
    bool want = m.hdr.flags & VHU_FLAG_NEED_REPLY;
    t->need_reply += want;
    if (queue)
        t->nested++;
    if (m.hdr.request != VHU_BREQ_IOTLB_MSG || m.hdr.size != sizeof m.u.iotlb ||
        m.u.iotlb.type != MFE_IOTLB_MISS) {
        breq_fail(t, "a back-end request other than an IOTLB MISS");
        if (want)
            reply(t, &m, 1);    /* QEMU: -EINVAL for what it does not handle */
        return 1;
    }
    t->misses++;
    t->last_miss = m.u.iotlb;
    if (!t->serve_misses) {
        if (want)
            reply(t, &m, 0);
        return 1;
    }
    if (queue) {
        if (t->npending < MFE_IOTLB_PENDING)
            t->pending[t->npending++] = m.u.iotlb;
        if (want)
            reply(t, &m, 0);    /* the UPDATE follows the awaited reply */
        return 1;
    }
    rc = serve_miss(t, &m.u.iotlb);      /* QEMU: the UPDATE, then the reply */
    if (want)
        reply(t, &m, rc < 0 ? 1 : 0);
    return 1;
}

int mfe_iotlb_serve_one(struct mfe_iotlb *t, int ms)
{
    if (t->f->backend_req < 0)
        return -1;
    struct pollfd p = { .fd = t->f->backend_req, .events = POLLIN };
    int n = poll(&p, 1, ms);
    if (n <= 0)
        return 0;
    return take(t, false);
}

int mfe_iotlb_serve(struct mfe_iotlb *t, int ms, int quiet_ms)
{
    int count = 0;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int rc = mfe_iotlb_serve_one(t, quiet_ms);
        if (rc < 0)
            return -1;
        if (rc == 0)
            break;
        count++;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long el = (now.tv_sec - t0.tv_sec) * 1000LL + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (el > ms)                    /* a back end that never stops asking */
            break;
    }
    mfe_iotlb_flush(t);
    return count;
}

void mfe_iotlb_nested(struct mfe_iotlb *t)
{
    (void)take(t, true);
}

void mfe_iotlb_flush(struct mfe_iotlb *t)
{
    if (t->depth > 0)
        return;
    while (t->npending > 0) {
        struct vhu_iotlb miss = t->pending[0];
        memmove(t->pending, t->pending + 1, --t->npending * sizeof t->pending[0]);
        (void)serve_miss(t, &miss);
    }
}

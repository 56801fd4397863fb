/* The device IOTLB's cache and the datapath's translation through it
 * (iotlb.h).  The request side is iotlb_handlers.c. */
#include "iotlb.h"

#include <errno.h>
#include <sys/socket.h>
#include <time.h>

#include "fdio.h"
#include "vhu.h"

static bool covers(const struct ref_iotlb_ent *e, uint64_t iova)
{
    return iova >= e->iova && iova - e->iova < e->size;
}

/* The entry holding iova (hint first), or NULL.  Under t->mu. */
static const struct ref_iotlb_ent *find(const struct ref_iotlb *t, unsigned *hint,
                                        uint64_t iova)
{
    if (*hint < t->n && covers(&t->e[*hint], iova))
        return &t->e[*hint];
    unsigned lo = 0, hi = t->n;         /* first entry ending above iova */
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (t->e[mid].iova + (t->e[mid].size - 1) < iova)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < t->n && covers(&t->e[lo], iova)) {
        *hint = lo;
        return &t->e[lo];
    }
    return NULL;
}

/* Drop whatever waits on the back-end channel (replies to earlier
 * MISSes: we never wait on them), without blocking. */
static void drain(int fd)
{
    uint8_t buf[256];
    for (int i = 0; i < 64 && recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0; i++) {
    }                           /* bounded: a flooding front end cannot hold us */
}

/* Send a MISS for iova; false when there is no channel or it is full. */
static bool send_miss(struct ref_iotlb *t, uint64_t iova, uint8_t perm)
{
    if (t->backend_fd < 0)
        return false;
    drain(t->backend_fd);
    struct vhu_msg m;
    vhu_msg_init(&m, VHU_BREQ_IOTLB_MSG, t->need_reply ? VHU_FLAG_NEED_REPLY : 0);
    m.hdr.size = sizeof m.u.iotlb;
    m.u.iotlb = (struct vhu_iotlb){ .iova = iova, .perm = perm, .type = REF_IOTLB_MISS };
    ref_count(&t->misses, 1);
    return ref_fd_send_msg(t->backend_fd, &m) == REF_FD_OK;
}

/* Ask for iova and wait (t->mu held) until an entry covers it, the wait is
 * aborted or REF_IOTLB_WAIT_MS pass.  true when it is there. */
static bool wait_for(struct ref_iotlb *t, unsigned *hint, uint64_t iova, uint8_t perm)
{
    unsigned gen = t->abort_gen;
    if (t->parking || !send_miss(t, iova, perm))
        return false;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += REF_IOTLB_WAIT_MS / 1000;
    ts.tv_nsec += (long)(REF_IOTLB_WAIT_MS % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (!find(t, hint, iova) && gen == t->abort_gen) {
        if (pthread_cond_timedwait(&t->cv, &t->mu, &ts) == ETIMEDOUT) {
            ref_count(&t->timeouts, 1);
            return find(t, hint, iova) != NULL;
        }
    }
    return find(t, hint, iova) != NULL;
}

static int xlate_locked(struct ref_iotlb *t, unsigned *hint, uint64_t iova, uint32_t len,
                        uint8_t need, struct ref_iovs *io)
{
    bool asked = false;
    while (len > 0) {
        const struct ref_iotlb_ent *e = find(t, hint, iova);
        if (!e) {
            if (asked || !wait_for(t, hint, iova, need))
                return -1;
            asked = true;               /* one MISS per buffer, then give up */
            continue;
        }
        if ((e->perm & need) != need || io->n == REF_IOV_POOL) {
            ref_count(&t->denied, 1);
            return -1;
        }
        uint64_t off = iova - e->iova, room = e->size - off;
        uint64_t take = len < room ? len : room;
        if (take < len && e->iova + e->size == 0)
            return -1;                  /* the buffer wraps the IOVA space */
        io->v[io->n++] = (struct ref_iov){ e->host + off, (uint32_t)take };
        iova += take;
        len -= (uint32_t)take;
    }
    return 0;
}

int ref_iotlb_xlate(struct ref_iotlb *t, unsigned *hint, uint64_t iova, uint32_t len,
                    bool write, struct ref_iovs *io)
{
    pthread_mutex_lock(&t->mu);
    unsigned n0 = io->n;
    int rc = xlate_locked(t, hint, iova, len, write ? REF_PERM_WO : REF_PERM_RO, io);
    if (rc < 0)
        io->n = n0;
    pthread_mutex_unlock(&t->mu);
    return rc;
}

void *ref_iotlb_one(struct ref_iotlb *t, unsigned *hint, uint64_t iova, uint64_t len)
{
    void *p = NULL;
    pthread_mutex_lock(&t->mu);
    const struct ref_iotlb_ent *e = find(t, hint, iova);
    if (!e && wait_for(t, hint, iova, REF_PERM_RO))
        e = find(t, hint, iova);
    if (e && (e->perm & REF_PERM_RO) && len > 0 && len - 1 < e->size - (iova - e->iova))
        p = e->host + (iova - e->iova);
    else if (e)
        ref_count(&t->denied, 1);
    pthread_mutex_unlock(&t->mu);
    return p;
}

void *ref_iotlb_span(struct ref_iotlb *t, uint64_t iova, uint64_t len, uint8_t perm)
{
    unsigned hint = 0;
    void *p = NULL;
    pthread_mutex_lock(&t->mu);
    const struct ref_iotlb_ent *e = find(t, &hint, iova);
    if (e && (e->perm & perm) == perm && len > 0 && len - 1 < e->size - (iova - e->iova))
        p = e->host + (iova - e->iova);
    pthread_mutex_unlock(&t->mu);
    return p;
}

void ref_iotlb_ask(struct ref_iotlb *t, uint64_t iova, uint8_t perm)
{
    pthread_mutex_lock(&t->mu);
    send_miss(t, iova, perm);
    pthread_mutex_unlock(&t->mu);
}

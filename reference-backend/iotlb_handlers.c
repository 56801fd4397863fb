/* IOTLB_MSG and the IOTLB's part in the session's life (iotlb.h): UPDATE
 * and INVALIDATE, rings waiting for their translation, the cache following
 * memory-table changes. */
#include "iotlb.h"

#include "handlers.h"

#include <inttypes.h>
#include <stdlib.h>

bool ref_iotlb_on(const struct ref_session *s)
{
    return s->tlb && ref_has_feature(s, REF_F_IOMMU_PLATFORM);
}

static struct ref_iotlb *tlb_new(void)
{
    struct ref_iotlb *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &a);
    pthread_condattr_destroy(&a);
    pthread_mutex_init(&t->mu, NULL);
    t->backend_fd = -1;
    return t;
}

void ref_iotlb_free(struct ref_session *s)
{
    if (!s->tlb)
        return;
    pthread_mutex_destroy(&s->tlb->mu);
    pthread_cond_destroy(&s->tlb->cv);
    free(s->tlb);
    s->tlb = NULL;
    s->mem.tlb = NULL;
}

static bool overlaps(const struct ref_iotlb_ent *e, uint64_t iova, uint64_t last)
{
    return e->iova <= last && iova <= e->iova + (e->size - 1);
}

/* Remove every entry overlapping [iova, last]; only with workers parked. */
static unsigned remove_range(struct ref_iotlb *t, uint64_t iova, uint64_t last)
{
    unsigned k = 0, gone = 0;
    for (unsigned i = 0; i < t->n; i++) {
        if (overlaps(&t->e[i], iova, last))
            gone++;
        else
            t->e[k++] = t->e[i];
    }
    t->n = k;
    return gone;
}

static bool any_overlap(const struct ref_iotlb *t, uint64_t iova, uint64_t last)
{
    for (unsigned i = 0; i < t->n; i++)
        if (overlaps(&t->e[i], iova, last))
            return true;
    return false;
}

/* An UPDATE the cache already holds: inside one entry, the same mapping and
 * permission (QEMU answers every MISS, so repeats are common). */
static bool held(const struct ref_iotlb *t, const struct ref_iotlb_ent *in)
{
    for (unsigned i = 0; i < t->n; i++) {
        const struct ref_iotlb_ent *e = &t->e[i];
        uint64_t off = in->iova - e->iova;
        if (in->iova >= e->iova && off < e->size && in->size - 1 <= e->size - 1 - off)
            return e->perm == in->perm && e->host + off == in->host;
    }
    return false;
}

/* Insert sorted (no overlap); false when full. */
static bool insert(struct ref_iotlb *t, const struct ref_iotlb_ent *in)
{
    if (t->n == REF_IOTLB_MAX)
        return false;
    unsigned i = t->n;
    while (i > 0 && t->e[i - 1].iova > in->iova) {
        t->e[i] = t->e[i - 1];
        i--;
    }
    t->e[i] = *in;
    t->n++;
    return true;
}

/* An UPDATE's entry, checked: NULL with why when refused. */
static const char *check_update(struct ref_session *s, const struct vhu_iotlb *u,
                                struct ref_iotlb_ent *out)
{
    if (u->size == 0 || u->iova + (u->size - 1) < u->iova)
        return "iotlb.update.range: empty, or it wraps the IOVA space";
    if (u->perm < REF_PERM_RO || u->perm > REF_PERM_RW)
        return "iotlb.update.perm: permission is not RO, WO or RW";
    uint8_t *host = ref_mem_uaddr(&s->mem, u->uaddr, u->size);
    if (!host)
        return "iotlb.update.uaddr: [uaddr, uaddr+size) is not inside one memory region";
    *out = (struct ref_iotlb_ent){ u->iova, u->size, u->uaddr, host, u->perm };
    return NULL;
}

static bool rings_wait(const struct ref_session *s);

bool ref_iotlb_before(struct ref_session *s, const struct vhu_msg *m)
{
    struct ref_iotlb *t = s->tlb;
    s->tlb_added = false;
    if (!t)
        return false;
    pthread_mutex_lock(&t->mu);
    struct ref_iotlb_ent e;
    if (ref_iotlb_on(s) && m->hdr.request == VHU_REQ_IOTLB_MSG &&
        m->u.iotlb.type == REF_IOTLB_UPDATE && !check_update(s, &m->u.iotlb, &e))
        s->tlb_added = held(t, &e) ||       /* a repeat: nothing to change */
                       (!any_overlap(t, e.iova, e.iova + (e.size - 1)) && insert(t, &e));
    bool done = s->tlb_added && !rings_wait(s);
    if (!done) {                /* a park follows: waits end, none starts */
        t->abort_gen++;
        t->parking = true;
    }
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    return done;
}

/* An UPDATE: 0 and the entry added (or added before parking), 1 refused. */
static uint64_t update(struct ref_session *s, const struct vhu_iotlb *u)
{
    if (s->tlb_added)
        return 0;
    struct ref_iotlb *t = s->tlb;
    struct ref_iotlb_ent e;
    const char *why = check_update(s, u, &e);
    if (why) {
        ref_log("refnet: IOTLB UPDATE iova 0x%" PRIx64 " size 0x%" PRIx64 " refused: %s",
                u->iova, u->size, why);
        return 1;
    }
    pthread_mutex_lock(&t->mu);
    remove_range(t, e.iova, e.iova + (e.size - 1));    /* a new mapping replaces */
    bool ok = insert(t, &e);
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    if (!ok)
        ref_log("refnet: IOTLB full (%u entries): UPDATE refused", REF_IOTLB_MAX);
    return ok ? 0 : 1;
}

/* An INVALIDATE, workers parked: the entries go, then the rings using them
 * wait (ref_iotlb_after); the ack follows. */
static uint64_t invalidate(struct ref_session *s, const struct vhu_iotlb *u)
{
    if (u->size == 0 || u->iova + (u->size - 1) < u->iova) {
        ref_log("refnet: IOTLB INVALIDATE iova 0x%" PRIx64 " size 0x%" PRIx64
                " refused: empty, or it wraps", u->iova, u->size);
        return 1;
    }
    pthread_mutex_lock(&s->tlb->mu);
    remove_range(s->tlb, u->iova, u->iova + (u->size - 1));
    pthread_mutex_unlock(&s->tlb->mu);
    return 0;
}

/* vhost-user.rst IOTLB_MSG: the back end replies 0 on success, non-zero on
 * failure; only with IOMMU_PLATFORM; only UPDATE and INVALIDATE come from
 * the front end. */
REF_HANDLER(iotlb_msg)
{
    const struct vhu_iotlb *u = &m->u.iotlb;
    reply->hdr.size = sizeof reply->u.u64;
    reply->u.u64 = 1;
    if (!ref_iotlb_on(s)) {
        ref_log("refnet: IOTLB_MSG without IOMMU_PLATFORM: refused");
        return 0;
    }
    if (u->type == REF_IOTLB_UPDATE)
        reply->u.u64 = update(s, u);
    else if (u->type == REF_IOTLB_INVALIDATE)
        reply->u.u64 = invalidate(s, u);
    else
        ref_log("refnet: IOTLB_MSG type %u from the front end: refused", u->type);
    return 0;
}

/* Entries follow a new memory table: each is resolved again from its
 * uaddr; one that no longer lies in memory goes. */
static void resolve_again(struct ref_session *s)
{
    struct ref_iotlb *t = s->tlb;
    pthread_mutex_lock(&t->mu);
    unsigned k = 0;
    for (unsigned i = 0; i < t->n; i++) {
        struct ref_iotlb_ent e = t->e[i];
        e.host = ref_mem_uaddr(&s->mem, e.uaddr, e.size);
        if (e.host)
            t->e[k++] = e;
    }
    t->n = k;
    pthread_mutex_unlock(&t->mu);
}

static bool mem_request(uint32_t req)
{
    return req == VHU_REQ_SET_MEM_TABLE || req == VHU_REQ_ADD_MEM_REG ||
           req == VHU_REQ_REM_MEM_REG;
}

static bool rings_wait(const struct ref_session *s)
{
    for (unsigned i = 0; i < REF_MAX_RINGS; i++)
        if (s->rings[i].tlb_wait)
            return true;
    return false;
}

void ref_iotlb_after(struct ref_session *s, const struct vhu_msg *m)
{
    if (ref_has_feature(s, REF_F_IOMMU_PLATFORM) && !s->tlb)
        s->tlb = tlb_new();
    bool on = ref_iotlb_on(s);
    s->mem.tlb = on ? s->tlb : NULL;
    if (!s->tlb)
        return;
    pthread_mutex_lock(&s->tlb->mu);
    s->tlb->backend_fd = s->backend_fd;
    s->tlb->parking = false;
    s->tlb->need_reply = ref_has_pf(s, VHU_PF_REPLY_ACK);
    pthread_mutex_unlock(&s->tlb->mu);
    if (!on) {                  /* IOMMU_PLATFORM off again: rings translate as usual */
        for (unsigned i = 0; i < REF_MAX_RINGS; i++) {
            struct ref_vring *v = &s->rings[i];
            if (v->tlb_wait) {
                v->tlb_wait = false;
                ref_vring_retranslate(s, v);
            }
        }
        return;
    }
    if (mem_request(m->hdr.request))
        resolve_again(s);
    /* the rings follow the IOTLB: after an IOTLB_MSG or a memory change a
     * running ring that lost a part waits (and asks); after an IOTLB_MSG a
     * waiting ring is tried again (and asks for what it still lacks) */
    bool tlb_msg = m->hdr.request == VHU_REQ_IOTLB_MSG;
    if (!tlb_msg && !mem_request(m->hdr.request))
        return;
    for (unsigned i = 0; i < REF_MAX_RINGS; i++) {
        struct ref_vring *v = &s->rings[i];
        if ((v->started && !v->tlb_wait) || (v->tlb_wait && tlb_msg))
            ref_vring_retranslate(s, v);
    }
}

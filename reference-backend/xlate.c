/* Guest-physical translation for the datapath, with a one-entry cache of
 * the region hit last (descriptors of one guest mostly land in the same
 * region), plus the small helpers every ring kind shares. */
#include "dp.h"

#include "fdio.h"
#include "iotlb.h"

#include <stdio.h>
#include <unistd.h>

static bool holds(const struct ref_region *r, uint64_t gpa)
{
    return gpa >= r->gpa && gpa - r->gpa < r->size;
}

/* Region holding gpa, trying the cached one first; NULL if none. */
static const struct ref_region *region_of(const struct ref_mem *m, unsigned *hint,
                                          uint64_t gpa)
{
    if (*hint < m->n && holds(&m->r[*hint], gpa))
        return &m->r[*hint];
    for (unsigned i = 0; i < m->n; i++) {
        if (holds(&m->r[i], gpa)) {
            *hint = i;
            return &m->r[i];
        }
    }
    return NULL;
}

static uint8_t *host(const struct ref_region *r, uint64_t gpa)
{
    return (uint8_t *)r->map + r->delta + (gpa - r->gpa);
}

int ref_xlate_slow(const struct ref_mem *m, unsigned *hint, uint64_t gpa, uint32_t len,
                   struct ref_iovs *io)
{
    while (len > 0) {
        const struct ref_region *r = region_of(m, hint, gpa);
        if (!r || io->n == REF_IOV_POOL)
            return -1;
        uint64_t room = r->size - (gpa - r->gpa);   /* > 0: gpa is inside */
        uint64_t take = len < room ? len : room;
        io->v[io->n++] = (struct ref_iov){ host(r, gpa), (uint32_t)take };
        gpa += take;        /* cannot wrap: gpa + take <= region end */
        len -= take;
    }
    return 0;
}

void *ref_xlate_one(const struct ref_mem *m, unsigned *hint, uint64_t gpa, uint64_t len)
{
    if (m->tlb)                 /* IOMMU_PLATFORM: an IOVA (iotlb.h) */
        return ref_iotlb_one(m->tlb, hint, gpa, len);
    const struct ref_region *r = region_of(m, hint, gpa);
    if (!r || len > r->size - (gpa - r->gpa))
        return NULL;
    return host(r, gpa);
}

void ref_vq_break(struct ref_vring *v, const char *why)
{
    ref_count(&v->dp.st.bad, 1);
    if (v->dp.broken)
        return;
    ref_log("refnet: ring %u broken: %s (no more work on it until restarted)", v->index, why);
    v->dp.broken = true;
    ref_fd_signal(v->err_fd);     /* SET_VRING_ERR: tell the front end */
}

/* A call fd that is not writable (an eventfd at its maximum count, a full
 * pipe) is skipped: its reader has been signalled already.  One whose write
 * slept (the front end raced us to fill it) stops the ring. */
void ref_vq_call(struct ref_vring *v)
{
    if (ref_fd_signal(v->call_fd) == REF_FD_BLOCKED)
        ref_vq_break(v, "a write to its call fd blocked");
}

bool ref_xl_miss(struct ref_xl *x, const struct ref_mem *m, unsigned *hint, struct ref_iovs *io,
                 unsigned at, uint64_t gpa, uint32_t len)
{
    io->n = at;
    if (ref_xlate(m, hint, gpa, len, io) < 0 || io->n != at + 1)
        return false;
    *x = ref_xl_load(m, *hint);
    return true;
}

/* SET_MEM_TABLE, GET_MAX_MEM_SLOTS, ADD_MEM_REG, REM_MEM_REG.
 *
 * A rejected request leaves the current table exactly as it was: new
 * regions are mapped into a separate table first, and rings are moved to
 * it (while disarmed) before the old one is unmapped. */
#include "handlers.h"

#include <inttypes.h>
#include <string.h>

static void disarm_all(struct ref_session *s)
{
    for (unsigned i = 0; i < REF_MAX_RINGS; i++)
        ref_vring_disarm(&s->rings[i]);
}

static void rearm_all(struct ref_session *s)
{
    for (unsigned i = 0; i < REF_MAX_RINGS; i++)
        ref_vring_rearm(s, &s->rings[i]);
}

/* Map region `in` from fd and append it to t, checking overlap with t. */
static int mem_append(struct ref_session *s, struct ref_mem *t, const struct vhu_region *in,
                      int fd)
{
    if (ref_mem_check_overlap(t, in, s->why, sizeof s->why) < 0)
        return -1;
    if (ref_region_map(in, fd, &t->r[t->n], s->why, sizeof s->why) < 0)
        return -1;
    t->n++;
    return 0;
}

static int build_table(struct ref_session *s, const struct vhu_msg *m, struct ref_mem *t)
{
    const struct vhu_mem *mem = &m->u.mem;
    for (unsigned i = 0; i < mem->nregions; i++) {
        if (mem_append(s, t, &mem->regions[i], m->fds[i]) < 0) {
            char why[REF_WHY_MAX];
            memcpy(why, s->why, sizeof why);
            ref_fail(s, "region %u: %s", i, why);
            return -1;
        }
    }
    return 0;
}

/* Pointers of every started ring translated into t; -1 if one does not fit. */
static int translate_started(struct ref_session *s, const struct ref_mem *t,
                             void *ptr[REF_MAX_RINGS][3])
{
    for (unsigned i = 0; i < REF_MAX_RINGS; i++) {
        const struct ref_vring *v = &s->rings[i];
        if (v->started && ref_vring_translate(s, v, t, ptr[i]) < 0)
            return -1;
    }
    return 0;
}

/* Rings move to `next`, then the old table is unmapped. */
static void install_table(struct ref_session *s, struct ref_mem *next,
                          void *ptr[REF_MAX_RINGS][3])
{
    disarm_all(s);
    for (unsigned i = 0; i < REF_MAX_RINGS; i++) {
        struct ref_vring *v = &s->rings[i];
        if (!v->started)
            continue;
        v->desc = ptr[i][0];
        v->avail = ptr[i][1];
        v->used = ptr[i][2];
    }
    struct ref_mem old = s->mem;
    s->mem = *next;
    rearm_all(s);
    ref_mem_clear(&old);
}

REF_HANDLER(set_mem_table)
{
    (void)reply;
    uint32_t n = m->u.mem.nregions;
    if (n == 0 || n > s->opts->max_mem_slots)
        return ref_fail(s, "mem.nregions: %u is outside 1..%u", n, s->opts->max_mem_slots);
    struct ref_mem next;
    void *ptr[REF_MAX_RINGS][3];
    ref_mem_init(&next);
    if (build_table(s, m, &next) < 0 || translate_started(s, &next, ptr) < 0) {
        ref_mem_clear(&next);
        return -1;
    }
    install_table(s, &next, ptr);
    return 0;
}

REF_HANDLER(get_max_mem_slots)
{
    (void)s, (void)m;
    reply->u.u64 = REF_MAX_MEM_SLOTS;
    return 0;
}

/* Appending leaves existing mappings (and so ring pointers) untouched.
 * QEMU runs one vhost device per queue pair and each keeps its own list of
 * what the back end holds, so with several pairs the same region is added
 * once per device (hw/virtio/vhost-user.c: ADD_MEM_REG is not a "one time"
 * request): a region equal to one held is counted, not mapped again.  A
 * different region that overlaps one held is refused. */
REF_HANDLER(add_mem_reg)
{
    (void)reply;
    const struct vhu_region *in = &m->u.mem_reg.region;
    int idx = ref_mem_find(&s->mem, in);
    if (idx >= 0 && s->mem.r[idx].mmap_offset == in->mmap_offset) {
        s->mem.r[idx].adds++;
        return 0;
    }
    if (s->mem.n >= REF_MAX_MEM_SLOTS)
        return ref_fail(s, "mem.slots: all %u memory slots are in use", REF_MAX_MEM_SLOTS);
    if (mem_append(s, &s->mem, in, m->fds[0]) < 0)
        return -1;
    s->mem.r[s->mem.n - 1].adds = 1;
    return 0;
}

static int region_in_use(struct ref_session *s, unsigned idx)
{
    for (unsigned i = 0; i < REF_MAX_RINGS; i++) {
        const struct ref_vring *v = &s->rings[i];
        if (!v->started)
            continue;
        if (ref_mem_region_holds(&s->mem, idx, v->desc) ||
            ref_mem_region_holds(&s->mem, idx, v->avail) ||
            ref_mem_region_holds(&s->mem, idx, v->used))
            return ref_fail(s, "mem.region.busy: started ring %u lies in this region", i);
    }
    return 0;
}

/* The fd QEMU sends along is not needed: regions are matched by gpa, size
 * and user address. */
REF_HANDLER(rem_mem_reg)
{
    (void)reply;
    const struct vhu_region *in = &m->u.mem_reg.region;
    int idx = ref_mem_find(&s->mem, in);
    if (idx < 0)
        return ref_fail(s, "mem.region.unknown: no region gpa 0x%" PRIx64 " size 0x%" PRIx64
                        " uaddr 0x%" PRIx64, in->gpa, in->size, in->uaddr);
    if (s->mem.r[idx].adds > 1) {   /* another vhost device still names it */
        s->mem.r[idx].adds--;
        return 0;
    }
    if (region_in_use(s, (unsigned)idx) < 0)
        return -1;
    disarm_all(s);
    struct ref_mem *t = &s->mem;
    struct ref_region gone = t->r[idx];
    t->r[idx] = t->r[t->n - 1];
    memset(&t->r[t->n - 1], 0, sizeof t->r[0]);
    t->n--;
    rearm_all(s);
    ref_region_unmap(&gone);
    return 0;
}

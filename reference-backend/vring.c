/* Ring state per the spec's "Ring states": stopped/started and
 * disabled/enabled, plus the translated pointers a datapath will use. */
#include "refnet.h"
#include "iotlb.h"

#include <inttypes.h>
#include <string.h>
#include <unistd.h>

void ref_vring_init(struct ref_vring *v, unsigned index)
{
    memset(v, 0, sizeof *v);
    v->index = index;
    v->kick_fd = v->call_fd = v->err_fd = -1;
}

void ref_vring_set_fd(int *slot, int fd)
{
    if (*slot >= 0)
        close(*slot);
    *slot = fd;
}

void ref_vring_reset(struct ref_vring *v)
{
    ref_vring_disarm(v);
    ref_vring_set_fd(&v->kick_fd, -1);
    ref_vring_set_fd(&v->call_fd, -1);
    ref_vring_set_fd(&v->err_fd, -1);
    ref_vring_init(v, v->index);
}

/* Workers are parked while any request is handled (worker.h), so clearing
 * the flag is enough: the worker looks at it again when it resumes. */
void ref_vring_disarm(struct ref_vring *v)
{
    v->armed = false;
}

/* Without PROTOCOL_FEATURES a ring is enabled as soon as it exists; with it,
 * only SET_VRING_ENABLE(1) enables it.  QEMU sends SET_VRING_ENABLE before
 * SET_FEATURES, so the flag is kept either way and read here. */
static bool ring_enabled(const struct ref_session *s, const struct ref_vring *v)
{
    return v->enabled || !ref_has_feature(s, VHU_F_PROTOCOL_FEATURES);
}

void ref_vring_rearm(struct ref_session *s, struct ref_vring *v)
{
    v->armed = v->started && ring_enabled(s, v) && !v->tlb_wait;
}

/* Sizes and alignments of desc, avail (driver area), used (device area).
 * Split ring with the event-idx words counted in (6 = flags + idx + event). */
struct part {
    const char *name;
    uint64_t len, align;
};

static void ring_parts(bool packed, uint32_t num, struct part p[3])
{
    if (packed) {
        p[0] = (struct part){ "desc", 16ull * num, 16 };
        p[1] = (struct part){ "avail", 4, 4 };     /* driver event suppression */
        p[2] = (struct part){ "used", 4, 4 };      /* device event suppression */
        return;
    }
    p[0] = (struct part){ "desc", 16ull * num, 16 };
    p[1] = (struct part){ "avail", 6 + 2ull * num, 2 };
    p[2] = (struct part){ "used", 6 + 8ull * num, 4 };
}

static uint64_t addr_of(const struct vhu_vring_addr *a, unsigned i)
{
    const uint64_t parts[3] = { a->desc, a->avail, a->used };
    return parts[i];
}

/* The IOTLB permission a ring part needs: the device reads the split desc
 * ring and the driver area, writes the device area, and both reads and
 * writes a packed desc ring. */
static uint8_t part_perm(bool packed, unsigned part)
{
    if (part == 2)
        return REF_PERM_WO;
    return packed && part == 0 ? REF_PERM_RW : REF_PERM_RO;
}

static int check_align(struct ref_session *s, const struct vhu_vring_addr *a, bool packed)
{
    struct part p[3];
    ring_parts(packed, 1, p);
    for (unsigned i = 0; i < 3; i++)
        if (addr_of(a, i) & (p[i].align - 1))
            return ref_fail(s, "vring.addr.align: %s 0x%" PRIx64 " is not %" PRIu64
                            "-byte aligned", p[i].name, addr_of(a, i), p[i].align);
    return 0;
}

int ref_vring_check_addr(struct ref_session *s, const struct vhu_vring_addr *a)
{
    if (a->flags & ~(uint32_t)VHU_VRING_F_LOG)
        return ref_fail(s, "vring.addr.flags: unknown flags 0x%x", a->flags);
    if ((a->flags & VHU_VRING_F_LOG) && !ref_has_feature(s, VHU_F_LOG_ALL))
        return ref_fail(s, "vring.addr.flags: LOG flag set but LOG_ALL not negotiated");
    return check_align(s, a, ref_has_feature(s, VHU_F_RING_PACKED));
}

int ref_vring_translate(struct ref_session *s, const struct ref_vring *v,
                        const struct ref_mem *mem, void *out[3])
{
    bool packed = ref_has_feature(s, VHU_F_RING_PACKED);
    if (v->num == 0)
        return ref_fail(s, "vring.num: ring %u has no size (SET_VRING_NUM missing)", v->index);
    if (mem->n == 0)
        return ref_fail(s, "vring.addr: ring %u: no memory table", v->index);
    if (check_align(s, &v->addr, packed) < 0)
        return -1;
    struct part p[3];
    ring_parts(packed, v->num, p);
    bool missing = false;
    for (unsigned i = 0; i < 3; i++) {
        if (ref_iotlb_on(s)) {          /* IOVAs: through the IOTLB (iotlb.h) */
            if (i == 0)
                out[1] = out[2] = NULL;
            out[i] = ref_iotlb_span(s->tlb, addr_of(&v->addr, i), p[i].len,
                                    part_perm(packed, i));
            if (!out[i]) {              /* ask for every missing part at once */
                ref_iotlb_ask(s->tlb, addr_of(&v->addr, i), part_perm(packed, i));
                missing = true;
            }
            else if ((uintptr_t)out[i] & (p[i].align - 1))
                return ref_fail(s, "vring.addr.align: ring %u %s IOVA 0x%" PRIx64 " maps to "
                                "an address that is not %" PRIu64 "-byte aligned", v->index,
                                p[i].name, addr_of(&v->addr, i), p[i].align);
            continue;
        }
        out[i] = ref_mem_uaddr(mem, addr_of(&v->addr, i), p[i].len);
        if (!out[i])
            return ref_fail(s, "vring.addr.range: ring %u %s 0x%" PRIx64 "+%" PRIu64
                            " is not inside one memory region", v->index, p[i].name,
                            addr_of(&v->addr, i), p[i].len);
        /* aligned as a user address, but where it lies in the file is what
         * our pointer inherits: a region whose mmap_offset is off by a few
         * bytes would have us use misaligned (and so non-atomic) indices */
        if ((uintptr_t)out[i] & (p[i].align - 1))
            return ref_fail(s, "vring.addr.align: ring %u %s 0x%" PRIx64 " lies at a file "
                            "offset that is not %" PRIu64 "-byte aligned (its region's "
                            "mmap_offset is not)", v->index, p[i].name,
                            addr_of(&v->addr, i), p[i].align);
    }
    return missing ? 1 : 0;        /* 1: the ring waits for an IOTLB UPDATE */
}

int ref_vring_try_start(struct ref_session *s, struct ref_vring *v)
{
    if (v->started || !v->kick_set || !v->addr_set)
        return 0;
    void *ptr[3];
    int rc = ref_vring_translate(s, v, &s->mem, ptr);
    v->tlb_wait = rc > 0;
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    v->desc = ptr[0];
    v->avail = ptr[1];
    v->used = ptr[2];
    v->packed = ref_has_feature(s, VHU_F_RING_PACKED);
    v->started = true;
    ref_vq_start(s, v);
    ref_vring_rearm(s, v);
    return 0;
}

int ref_vring_retranslate(struct ref_session *s, struct ref_vring *v)
{
    if (!v->started)
        return ref_vring_try_start(s, v);
    void *ptr[3];
    int rc = ref_vring_translate(s, v, &s->mem, ptr);
    v->tlb_wait = rc != 0;
    if (rc != 0) {
        ref_vring_disarm(v);
        v->desc = v->avail = v->used = NULL;
        return rc < 0 ? -1 : 0;
    }
    v->desc = ptr[0];
    v->avail = ptr[1];
    v->used = ptr[2];
    ref_vring_rearm(s, v);
    return 0;
}

/* GET_VRING_BASE: the ring needs a new kick to start again. */
void ref_vring_stop(struct ref_vring *v)
{
    ref_vring_disarm(v);
    if (v->started)
        v->base = ref_vq_base(v);   /* everything consumed is in the used ring */
    v->started = false;
    v->desc = v->avail = v->used = NULL;
    v->tlb_wait = false;
    ref_vring_set_fd(&v->kick_fd, -1);
    v->kick_set = false;
}

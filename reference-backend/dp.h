/* vhost-refnet datapath: device side of split and packed virtqueues, and the
 * virtio-net forwarding built on it.
 *
 * A chain is "popped" into an element: its buffer id and the host pointers
 * of its descriptors (iovs, from a per-call pool).  Popping reads nothing
 * but descriptors and writes nothing, so a pop can be undone by restoring
 * the ring's cursor (ref_vq_save / ref_vq_restore) when the frame cannot be
 * delivered yet.  "Pushing" writes a used entry; "flushing" publishes the
 * used index (split: one release store per burst; packed: the flags of the
 * burst's first used descriptor, held back by push so the driver sees the
 * burst at once) and signals the call eventfd when the driver asked for it.
 *
 * Safety: every descriptor address and length is translated through the
 * memory table (overflow-safe; a buffer spanning two regions is split into
 * two iovs).  Every walk is bounded by the queue size, whatever the region
 * sizes: a chain of more than num descriptors, or an indirect table of more
 * than num entries (virtio 1.1 2.6.5.3.1 and 2.7.17 forbid both), is bad,
 * so one chain costs at most 2 * num descriptor reads.  A chain with a bad
 * descriptor (outside memory, loop, bad or too long indirect table, too
 * many segments) becomes a bad element: counted in the
 * ring's `bad` counter, completed with length 0, its data never read; so
 * does a packed chain whose buffer id is >= num (the id is echoed back as
 * given; a driver cannot have issued it).  A ring whose indices cannot be
 * trusted (avail idx more than num ahead, head
 * id >= num, packed chain longer than the ring) is marked broken: logged
 * once, no further work on it until it is started again.
 */
#ifndef REFNET_DP_H
#define REFNET_DP_H

#include "refnet.h"

#include <string.h>

#define REF_BURST          32u      /* frames per burst */
#define REF_IOV_POOL       512u     /* segments per frame (both sides) */
#define REF_MRG_MAX        64u      /* RX buffers per frame with MRG_RXBUF */
#define REF_MAX_FRAME      65550u   /* largest frame accepted from TX */
#define REF_RX_WAIT_MS     100      /* how long TX waits for RX buffers */

/* virtio ring bits (virtio 1.1 sections 2.6, 2.7) */
#define REF_DESC_F_NEXT      1u
#define REF_DESC_F_WRITE     2u
#define REF_DESC_F_INDIRECT  4u
#define REF_DESC_F_AVAIL     (1u << 7)
#define REF_DESC_F_USED      (1u << 15)
#define REF_AVAIL_F_NO_INTERRUPT 1u
#define REF_USED_F_NO_NOTIFY 1u
#define REF_EVENT_ENABLE     0u
#define REF_EVENT_DISABLE    1u
#define REF_EVENT_DESC       2u

#define REF_F_INDIRECT_DESC  28
#define REF_F_EVENT_IDX      29
#define REF_NET_F_MRG_RXBUF  15

struct ref_iov {
    uint8_t *p;
    uint32_t len;
};

struct ref_iovs {
    struct ref_iov v[REF_IOV_POOL];
    unsigned n;
    bool write;         /* the device writes these buffers (RX): the IOTLB's permission */
};

struct ref_elem {
    uint16_t id;        /* split: head index; packed: buffer id */
    uint16_t ndesc;     /* packed: ring slots the chain took */
    uint32_t len;       /* bytes in its iovs (of the wanted direction) */
    unsigned iov, niov; /* its range in the pool */
    uint64_t gpa;       /* burst pops: the one buffer's guest address */
    bool bad;
};

/* A burst pop's element: one buffer, one iov, written field by field (no
 * zeroing of the whole first). */
static inline void ref_elem_one(struct ref_elem *e, uint16_t id, uint32_t len, unsigned iov,
                                uint64_t gpa)
{
    e->id = id;
    e->ndesc = 1;
    e->len = len;
    e->iov = iov;
    e->niov = 1;
    e->gpa = gpa;
    e->bad = false;
}

struct ref_cursor {
    uint16_t idx;
    bool wrap;
};

/* One ring kind's device operations. */
struct ref_ring_ops {
    /* 1 element, 0 nothing available, -1 ring broken */
    int (*pop)(struct ref_vring *v, const struct ref_mem *m, struct ref_iovs *io,
               bool write, struct ref_elem *e);
    void (*push)(struct ref_vring *v, const struct ref_elem *e, uint32_t len);
    void (*flush)(struct ref_vring *v);
    bool (*has_avail)(struct ref_vring *v);
    /* Ask for (or stop asking for) kicks; enable returns has_avail after a
     * full fence, so the caller never sleeps on work already posted. */
    bool (*notify_on)(struct ref_vring *v);
    void (*notify_off)(struct ref_vring *v);
};

extern const struct ref_ring_ops ref_split_ops, ref_packed_ops;

/* The same, called directly by the specialised loops (loop.c). */
void ref_split_push(struct ref_vring *v, const struct ref_elem *e, uint32_t len);
void ref_split_flush(struct ref_vring *v);
void ref_packed_push(struct ref_vring *v, const struct ref_elem *e, uint32_t len);
void ref_packed_flush(struct ref_vring *v);
/* k pushes at once (len NULL: all 0), the used ring logged once per burst. */
void ref_split_push_burst(struct ref_vring *v, const struct ref_elem *e, const uint32_t *len,
                          unsigned k);
void ref_packed_push_burst(struct ref_vring *v, const struct ref_elem *e, const uint32_t *len,
                           unsigned k);
/* Burst pops: up to max chains of one buffer each (one iov, the wanted
 * direction, translated by the inline path), read ahead and prefetched.
 * They stop early, with *more set, at any other chain, a bad one or a ring
 * to break: that one is left for the ops' pop, which handles (and counts)
 * it.  Nothing is counted or broken here. */
unsigned ref_split_pop_burst(struct ref_vring *v, const struct ref_mem *m, struct ref_iovs *io,
                             bool write, struct ref_elem *e, unsigned max, bool *more);
unsigned ref_packed_pop_burst(struct ref_vring *v, const struct ref_mem *m, struct ref_iovs *io,
                              bool write, struct ref_elem *e, unsigned max, bool *more);

static inline const struct ref_ring_ops *ref_ops(const struct ref_vring *v)
{
    return v->packed ? &ref_packed_ops : &ref_split_ops;
}

static inline struct ref_cursor ref_vq_save(const struct ref_vring *v)
{
    return (struct ref_cursor){ v->dp.last_avail, v->dp.avail_wrap };
}

static inline void ref_vq_restore(struct ref_vring *v, struct ref_cursor c)
{
    v->dp.last_avail = c.idx;
    v->dp.avail_wrap = c.wrap;
}

/* Copy one 16-byte descriptor out of guest memory exactly once: two
 * volatile 8-byte loads (never repeated, never merged with a later read;
 * typed for any alignment, as an indirect table may have), after which
 * every field comes from the copy.  No compiler barrier: that would make
 * the caller reload everything it holds in memory, per descriptor. */
typedef uint64_t __attribute__((aligned(1), may_alias)) ref_u64_any;
static inline void ref_desc_copy(void *dst, const void *src)
{
    const volatile ref_u64_any *s = src;
    uint64_t w[2] = { s[0], s[1] };
    memcpy(dst, w, 16);
}

/* memcpy where the ranges cannot overlap; a guest may post RX and TX
 * buffers that do, and then it is memmove. */
static inline void ref_copy(uint8_t *dst, const uint8_t *src, uint32_t len)
{
    uintptr_t d = (uintptr_t)dst, s = (uintptr_t)src;
    if (d + len <= s || s + len <= d)
        memcpy(dst, src, len);
    else
        memmove(dst, src, len);
}

/* Counter update by the single writer. */
static inline void ref_count(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/* xlate.c: append the host iovs of guest [gpa, gpa+len) to io (split at
 * region borders).  0, or -1 when some byte is outside guest memory or the
 * pool is full.  ref_xlate() is the inline fast path (the whole buffer in
 * the region hit last: one compare chain, no call); the rest goes to
 * ref_xlate_slow(). */
int ref_xlate_slow(const struct ref_mem *m, unsigned *hint, uint64_t gpa, uint32_t len,
                   struct ref_iovs *io);
int ref_iotlb_xlate(struct ref_iotlb *t, unsigned *hint, uint64_t iova, uint32_t len,
                    bool write, struct ref_iovs *io);
static inline int ref_xlate(const struct ref_mem *m, unsigned *hint, uint64_t gpa,
                            uint32_t len, struct ref_iovs *io)
{
    if (m->tlb)                                     /* IOMMU_PLATFORM: IOVAs (iotlb.h) */
        return ref_iotlb_xlate(m->tlb, hint, gpa, len, io->write, io);
    const struct ref_region *r = &m->r[*hint];      /* hint < REF_MAX_MEM_SLOTS */
    uint64_t off = gpa - r->gpa;                    /* huge when gpa < r->gpa */
    if (*hint < m->n && off < r->size && (uint64_t)len - 1 < r->size - off &&
        io->n < REF_IOV_POOL) {
        io->v[io->n++] = (struct ref_iov){ (uint8_t *)r->map + r->delta + off, len };
        return 0;                                   /* len - 1 < ...: 0 < len <= room */
    }
    return ref_xlate_slow(m, hint, gpa, len, io);
}
/* The burst pops' translation: the region hit last, copied into locals once
 * per burst, so a buffer costs one compare chain and the stores of the burst
 * (iovs, elements) do not force the region to be read again through m.  No
 * IOTLB and a valid hint, else empty (size 0: nothing hits, every buffer
 * goes to ref_xlate). */
struct ref_xl {
    uint64_t gpa, size;
    uint8_t *host;
};

static inline struct ref_xl ref_xl_load(const struct ref_mem *m, unsigned hint)
{
    if (m->tlb || hint >= m->n)
        return (struct ref_xl){ 0, 0, NULL };
    const struct ref_region *r = &m->r[hint];
    return (struct ref_xl){ r->gpa, r->size, (uint8_t *)r->map + r->delta };
}

/* Host address of [gpa, gpa+len) when the region holds all of it, else NULL. */
static inline uint8_t *ref_xl_hit(const struct ref_xl *x, uint64_t gpa, uint32_t len)
{
    uint64_t off = gpa - x->gpa;                    /* huge when gpa < x->gpa */
    return off < x->size && (uint64_t)len - 1 < x->size - off ? x->host + off : NULL;
}

/* One buffer of a burst into io->v[at]: through x, else through ref_xlate
 * (another region, or the IOTLB; ref_xl_miss, out of line, so the burst
 * loops keep their registers), after which x holds the region it hit.
 * false when the buffer is not one iov in guest memory. */
bool ref_xl_miss(struct ref_xl *x, const struct ref_mem *m, unsigned *hint, struct ref_iovs *io,
                 unsigned at, uint64_t gpa, uint32_t len);
static inline bool ref_xl_take(struct ref_xl *x, const struct ref_mem *m, unsigned *hint,
                               struct ref_iovs *io, unsigned at, uint64_t gpa, uint32_t len)
{
    uint8_t *p = ref_xl_hit(x, gpa, len);
    if (__builtin_expect(p != NULL, 1)) {
        io->v[at] = (struct ref_iov){ p, len };
        return true;
    }
    return ref_xl_miss(x, m, hint, io, at, gpa, len);
}

/* Host pointer of [gpa, gpa+len) inside one region, or NULL. */
void *ref_xlate_one(const struct ref_mem *m, unsigned *hint, uint64_t gpa, uint64_t len);
/* Mark the ring broken, log why and signal its err fd, once. */
void ref_vq_break(struct ref_vring *v, const char *why);
/* Signal the ring's call eventfd without blocking (fdio.h). */
void ref_vq_call(struct ref_vring *v);
/* The spec's vring_need_event over 16-bit indices. */
static inline bool ref_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/* net.c: the virtio-net part. */
struct ref_net {
    uint32_t hdr_len;           /* 12 with VERSION_1 or MRG_RXBUF, else 10 */
    bool mrg;
    bool carry_hdr;             /* --equal-work: RX gets the TX frame's header */
    struct ref_iovs tx_io, rx_io;
};
void ref_net_setup(struct ref_net *n, const struct ref_session *s);

enum ref_deliver { REF_DELIVERED, REF_NO_ROOM, REF_DROPPED };
/* Write one frame (len bytes: the src iovs after skipping `skip` bytes)
 * into RX buffers with a virtio-net header.  REF_NO_ROOM leaves the RX
 * ring as it was (the caller may retry later); REF_DROPPED was counted. */
enum ref_deliver ref_net_rx(struct ref_net *n, struct ref_vring *rx, const struct ref_mem *m,
                            const struct ref_iov *src, unsigned nsrc, uint32_t skip,
                            uint32_t len);

#endif

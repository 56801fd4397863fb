/* The driver side of one virtqueue over guest memory: split (virtio 1.1
 * section 2.6) or packed (section 2.7), with chained and indirect
 * descriptors and VIRTIO_F_EVENT_IDX.
 *
 * Buffers are (gpa, len) pairs inside guest memory; the ring never copies
 * data.  Chains are added one by one, then made visible to the device in one
 * batch by mfe_ring_publish (one release store for the whole batch), which
 * also says whether the device asked to be kicked.  Everything the device
 * writes (used ids, lengths, wrap bits) is checked before it is followed; a
 * bad entry is counted in ring->errors and described in ring->err.
 *
 * Not thread safe: one ring, one driver thread.  The device may be another
 * process or thread; the ring uses the barriers the spec requires.
 */
#ifndef MFE_RING_H
#define MFE_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "mfe.h"

/* virtio feature bits the ring itself implements */
#define MFE_F_INDIRECT_DESC  28
#define MFE_F_EVENT_IDX      29
#define MFE_F_RING_PACKED    34

/* mfe_ring_init flags */
#define MFE_RING_PACKED      (1u << 0)
#define MFE_RING_EVENT_IDX   (1u << 1)
#define MFE_RING_INDIRECT    (1u << 2)  /* allocate indirect tables */

#define MFE_RING_MAX_NUM     32768u
#define MFE_RING_MAX_INDIRECT 32u      /* descriptors per indirect table */

/* descriptor flags (split and packed) */
#define MFE_DESC_F_NEXT      1u
#define MFE_DESC_F_WRITE     2u
#define MFE_DESC_F_INDIRECT  4u
#define MFE_DESC_F_AVAIL     (1u << 7)  /* packed */
#define MFE_DESC_F_USED      (1u << 15) /* packed */

/* split ring flags */
#define MFE_AVAIL_F_NO_INTERRUPT 1u
#define MFE_USED_F_NO_NOTIFY     1u

/* packed event suppression flags */
#define MFE_EVENT_ENABLE     0u
#define MFE_EVENT_DISABLE    1u
#define MFE_EVENT_DESC       2u

/* In-memory formats, little endian (we only run on little-endian hosts). */
struct mfe_desc {            /* split descriptor and indirect table entry */
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

struct mfe_pdesc {           /* packed descriptor */
    uint64_t addr;
    uint32_t len;
    uint16_t id, flags;
};

struct mfe_used_elem {
    uint32_t id, len;
};

struct mfe_event {           /* packed event suppression structure */
    uint16_t off_wrap, flags;
};

/* One buffer in guest memory. */
struct mfe_buf {
    uint64_t gpa;
    uint32_t len;
};

/* Where a ring lives: split rings use desc/avail/used, packed rings use
 * desc/driver event area/device event area, in the same three fields (the
 * order SET_VRING_ADDR carries them). */
struct mfe_ring_layout {
    uint64_t desc, driver, device;
};

/* Per buffer id: what the driver posted, so a used entry can be checked. */
struct mfe_ring_slot {
    uint64_t token;
    uint32_t in_len;     /* device-writable bytes posted */
    uint16_t ndesc;      /* ring descriptors used (1 for an indirect chain) */
    uint16_t last;       /* split: last descriptor of the chain */
    bool busy;
};

struct mfe_ring {
    struct mfe_mem *mem;
    unsigned num;
    bool packed, event_idx, indirect;

    struct mfe_ring_slot *slot;   /* [num] */
    uint16_t *next;               /* [num] split: our copy of the free list */
    uint64_t ind_gpa;             /* indirect tables: num x MAX_INDIRECT */
    unsigned num_free;            /* free descriptors */
    unsigned num_added;           /* descriptors added since the last publish */

    /* split */
    struct mfe_desc *desc;
    uint16_t *avail_flags, *avail_idx, *avail_ring, *used_event;
    uint16_t *used_flags, *used_idx, *avail_event;
    struct mfe_used_elem *used_ring;
    uint16_t free_head;
    uint16_t shadow_avail;        /* avail idx including unpublished chains */
    uint16_t last_used;           /* next used entry to read (both kinds) */

    /* packed */
    struct mfe_pdesc *pdesc;
    struct mfe_event *driver_ev, *device_ev;
    uint16_t next_avail;          /* next descriptor position to fill */
    bool avail_wrap, used_wrap;
    uint16_t *free_id;            /* [num] stack of free buffer ids */
    unsigned nfree_id;
    int pending_head;             /* position whose flags publish stores, or -1 */
    uint16_t pending_flags;

    bool broken;                  /* device state we cannot follow */

    /* observer of every used entry the driver takes (mfe_log.h: the dirty
     * checker), with the position it was read at; NULL = none.  Set after
     * mfe_ring_init, which clears it. */
    void (*on_used)(void *arg, const struct mfe_ring *r, uint16_t pos, uint64_t token,
                    uint32_t len);
    void *on_used_arg;

    /* counters */
    uint64_t added, completed, kicks, kicks_suppressed, errors;
    uint64_t long_used;           /* of errors: used len above what was posted */
    char err[160];                /* the last device error */
};

/* Lay out a packed ring of num entries (desc ring, then the two event
 * areas) with mfe_mem_alloc.  0 or -ENOMEM. */
int mfe_ring_layout_packed(struct mfe_mem *mem, unsigned num, struct mfe_ring_layout *l);
/* The layout a front end's vq has (split: mfe_vq_setup's; packed:
 * mfe_ring_vq_packed's). */
void mfe_ring_layout_of(const struct mfe_vq *vq, struct mfe_ring_layout *l);
/* Give vq idx a packed layout of num entries and its eventfds. */
int mfe_ring_vq_packed(struct mfe *f, unsigned idx, unsigned num);

/* Start a fresh ring over l (its memory is zeroed).  flags MFE_RING_*.
 * 0, -EINVAL (bad num or layout outside guest memory) or -ENOMEM. */
int mfe_ring_init(struct mfe_ring *r, struct mfe_mem *mem, const struct mfe_ring_layout *l,
                  unsigned num, unsigned flags);
void mfe_ring_destroy(struct mfe_ring *r);
/* MFE_RING_* flags from negotiated virtio features */
unsigned mfe_ring_flags_from_features(uint64_t features);

/* Add one chain: n_out device-readable buffers then n_in device-writable
 * ones.  use_indirect puts the chain in an indirect table (needs
 * MFE_RING_INDIRECT and at most MFE_RING_MAX_INDIRECT buffers).  Invisible
 * to the device until mfe_ring_publish.  0, -ENOSPC, -EINVAL or -EPIPE
 * (broken ring). */
int mfe_ring_add(struct mfe_ring *r, const struct mfe_buf *out, unsigned n_out,
                 const struct mfe_buf *in, unsigned n_in, uint64_t token, bool use_indirect);
/* Make every added chain visible; true when the device wants a kick. */
bool mfe_ring_publish(struct mfe_ring *r);
/* Publish and write kick_fd only when the device wants it.  1 kicked,
 * 0 suppressed (or nothing to publish), -errno when the write failed. */
int mfe_ring_kick(struct mfe_ring *r, int kick_fd);
/* Next completed chain: 1 (token and len set), 0 none, -EIO for a bad used
 * entry that was counted and skipped (call again), -EPIPE when the device
 * left the ring in a state that cannot be followed (a split used idx more
 * than num ahead, a packed used id we did not post): the ring is broken and
 * stays so.  A len larger than what was posted is clamped and counted. */
int mfe_ring_get_used(struct mfe_ring *r, uint64_t *token, uint32_t *len);
/* Is a used entry waiting? */
bool mfe_ring_has_used(const struct mfe_ring *r);
/* Ask for a call after the next used entry (event idx: used_event /
 * packed driver event).  Returns true when entries are already waiting, so
 * the caller polls again instead of sleeping. */
bool mfe_ring_enable_cb(struct mfe_ring *r);
void mfe_ring_disable_cb(struct mfe_ring *r);
/* With event idx: ask for a call only when the device has used n more
 * entries (split: used_event n - 1 past last_used; packed: the driver event
 * names the position n - 1 descriptors on, entries of one descriptor each,
 * as RX buffers are).  Without event idx, or n 0, as mfe_ring_enable_cb.
 * Returns true when entries are already waiting. */
bool mfe_ring_enable_cb_after(struct mfe_ring *r, uint16_t n);
/* Wait up to timeout_ms for call_fd and drain it.  1 signalled, 0 timed
 * out, -errno. */
int mfe_ring_wait(int call_fd, int timeout_ms);
/* How many descriptors are free, so how many chains of one buffer can
 * still be added (inline: the generator asks once per batch). */
static inline unsigned mfe_ring_free(const struct mfe_ring *r)
{
    return r->num_free;
}

/* Bursts, for the usual case of chains of one buffer each (an RX buffer, a
 * TX frame with its header): the ring kind is dispatched once per burst and
 * each chain costs a few stores, instead of a generic chain walk per call.
 * Everything else is as the calls they replace. */

/* Add up to n chains of one buffer each, b[k] with token[k], device-readable
 * (or device-writable when write), never indirect: the same descriptor
 * memory, avail ring or packed flags (the first head of the batch held
 * until publish), slots and counters as n calls of mfe_ring_add.  Returns
 * how many were added: fewer than n when the ring fills up, 0 when it is
 * broken. */
unsigned mfe_ring_add_bufs(struct mfe_ring *r, const struct mfe_buf *b, const uint64_t *token,
                           unsigned n, bool write);
/* Take up to max completed chains into token[] and len[] in ring order,
 * with every check of mfe_ring_get_used (lens clamped and counted,
 * completed counted, on_used called per entry); returns how many.  A split
 * ring's used idx is read once per burst.  *err: 0; -EIO when bad entries
 * were counted and skipped (the burst went on past them); -EPIPE when the
 * ring is or became broken (the burst stopped there; the entries taken
 * before it are returned and valid). */
unsigned mfe_ring_get_used_burst(struct mfe_ring *r, uint64_t *token, uint32_t *len,
                                 unsigned max, int *err);

/* split.c / packed.c entry points used by mfe_ring.c-level dispatch */
int mfe_split_init(struct mfe_ring *r, const struct mfe_ring_layout *l);
int mfe_split_add(struct mfe_ring *r, const struct mfe_buf *out, unsigned n_out,
                  const struct mfe_buf *in, unsigned n_in, uint64_t token, bool use_indirect);
bool mfe_split_publish(struct mfe_ring *r);
int mfe_split_get_used(struct mfe_ring *r, uint64_t *token, uint32_t *len);
void mfe_split_add_bufs(struct mfe_ring *r, const struct mfe_buf *b, const uint64_t *token,
                        unsigned n, bool write);
unsigned mfe_split_get_used_burst(struct mfe_ring *r, uint64_t *token, uint32_t *len,
                                  unsigned max, int *err);
bool mfe_split_has_used(const struct mfe_ring *r);
bool mfe_split_enable_cb(struct mfe_ring *r);
void mfe_split_disable_cb(struct mfe_ring *r);
bool mfe_split_enable_cb_after(struct mfe_ring *r, uint16_t n);

int mfe_packed_init(struct mfe_ring *r, const struct mfe_ring_layout *l);
int mfe_packed_add(struct mfe_ring *r, const struct mfe_buf *out, unsigned n_out,
                   const struct mfe_buf *in, unsigned n_in, uint64_t token, bool use_indirect);
bool mfe_packed_publish(struct mfe_ring *r);
int mfe_packed_get_used(struct mfe_ring *r, uint64_t *token, uint32_t *len);
void mfe_packed_add_bufs(struct mfe_ring *r, const struct mfe_buf *b, const uint64_t *token,
                         unsigned n, bool write);
unsigned mfe_packed_get_used_burst(struct mfe_ring *r, uint64_t *token, uint32_t *len,
                                   unsigned max, int *err);
bool mfe_packed_has_used(const struct mfe_ring *r);
bool mfe_packed_enable_cb(struct mfe_ring *r);
void mfe_packed_disable_cb(struct mfe_ring *r);
bool mfe_packed_enable_cb_after(struct mfe_ring *r, uint16_t n);

/* shared helpers (mfe_split.c) */
/* The spec's vring_need_event: has the index moved from old to new_idx past
 * event? */
static inline bool mfe_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}
/* Fill an indirect table for id; returns its gpa or 0. */
uint64_t mfe_ring_indirect(struct mfe_ring *r, uint16_t id, const struct mfe_buf *out,
                           unsigned n_out, const struct mfe_buf *in, unsigned n_in);
void mfe_ring_error(struct mfe_ring *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A used entry read at pos was taken: count it and show it to the
 * observer (one place for the single and the burst paths). */
static inline void mfe_ring_took(struct mfe_ring *r, uint16_t pos, uint64_t token, uint32_t len)
{
    r->completed++;
    if (r->on_used)
        r->on_used(r->on_used_arg, r, pos, token, len);
}

#endif

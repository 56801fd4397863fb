/* Driver side of a packed virtqueue (virtio 1.1 section 2.7): one
 * descriptor ring shared by driver and device, availability told by the
 * AVAIL/USED flag bits against wrap counters, buffer ids independent of
 * ring positions, and event suppression structures instead of flags and
 * event indexes. */
#include "mfe_ring.h"

#include <errno.h>
#include <string.h>

int mfe_packed_init(struct mfe_ring *r, const struct mfe_ring_layout *l)
{
    r->pdesc = mfe_gpa(r->mem, l->desc, 16ull * r->num);
    r->driver_ev = mfe_gpa(r->mem, l->driver, sizeof *r->driver_ev);
    r->device_ev = mfe_gpa(r->mem, l->device, sizeof *r->device_ev);
    if (!r->pdesc || !r->driver_ev || !r->device_ev)
        return -EINVAL;
    memset(r->pdesc, 0, 16ull * r->num);
    memset(r->driver_ev, 0, sizeof *r->driver_ev);
    memset(r->device_ev, 0, sizeof *r->device_ev);
    /* both wrap counters start at 1 (spec 2.7.1) */
    r->avail_wrap = r->used_wrap = true;
    for (unsigned i = 0; i < r->num; i++)
        r->free_id[i] = (uint16_t)(r->num - 1 - i);
    r->nfree_id = r->num;
    r->num_free = r->num;
    return 0;
}

/* AVAIL equal to the wrap counter and USED its inverse mark a descriptor
 * available in this lap of the ring. */
static uint16_t avail_bits(bool wrap)
{
    return wrap ? MFE_DESC_F_AVAIL : MFE_DESC_F_USED;
}

static void advance_avail(struct mfe_ring *r)
{
    if (++r->next_avail == r->num) {
        r->next_avail = 0;
        r->avail_wrap = !r->avail_wrap;
    }
}

/* Write one descriptor at pos with flags (avail bits included).  The flags
 * of the first head of a batch are held back: storing them in
 * mfe_packed_publish makes the whole batch visible at once, because the
 * device reads the ring in order. */
static inline void put_pdesc_at(struct mfe_ring *r, unsigned pos, const struct mfe_buf *b,
                                uint16_t id, uint16_t flags, bool head)
{
    struct mfe_pdesc *d = &r->pdesc[pos];
    d->addr = b->gpa;
    d->len = b->len;
    d->id = id;
    if (head && r->pending_head < 0) {
        r->pending_head = (int)pos;
        r->pending_flags = flags;
    } else {
        __atomic_store_n(&d->flags, flags, __ATOMIC_RELAXED);
    }
}

/* put_pdesc_at next_avail, which then advances. */
static void put_pdesc(struct mfe_ring *r, const struct mfe_buf *b, uint16_t id, uint16_t flags,
                      bool head)
{
    put_pdesc_at(r, r->next_avail, b, id, (uint16_t)(flags | avail_bits(r->avail_wrap)), head);
    advance_avail(r);
}

/* Packed indirect tables hold packed descriptors read in sequence: WRITE is
 * their only valid flag (spec 2.7.5). */
static uint64_t packed_indirect(struct mfe_ring *r, uint16_t id, const struct mfe_buf *out,
                                unsigned n_out, const struct mfe_buf *in, unsigned n_in)
{
    uint64_t bytes = MFE_RING_MAX_INDIRECT * sizeof(struct mfe_pdesc);
    uint64_t gpa = r->ind_gpa + (uint64_t)id * bytes;
    struct mfe_pdesc *t = mfe_gpa(r->mem, gpa, bytes);
    for (unsigned i = 0; i < n_out + n_in; i++) {
        const struct mfe_buf *b = i < n_out ? &out[i] : &in[i - n_out];
        t[i] = (struct mfe_pdesc){.addr = b->gpa, .len = b->len,
                                  .flags = (uint16_t)(i >= n_out ? MFE_DESC_F_WRITE : 0)};
    }
    return gpa;
}

int mfe_packed_add(struct mfe_ring *r, const struct mfe_buf *out, unsigned n_out,
                   const struct mfe_buf *in, unsigned n_in, uint64_t token, bool use_indirect)
{
    uint16_t id = r->free_id[--r->nfree_id];
    unsigned n = n_out + n_in;
    uint32_t in_len = 0;
    for (unsigned i = 0; i < n_in; i++)
        in_len += in[i].len;
    if (use_indirect) {
        struct mfe_buf t = {packed_indirect(r, id, out, n_out, in, n_in),
                            (uint32_t)(n * sizeof(struct mfe_pdesc))};
        put_pdesc(r, &t, id, MFE_DESC_F_INDIRECT, true);
    } else {
        for (unsigned k = 0; k < n; k++) {
            const struct mfe_buf *b = k < n_out ? &out[k] : &in[k - n_out];
            uint16_t flags = (uint16_t)((k >= n_out ? MFE_DESC_F_WRITE : 0) |
                                        (k + 1 < n ? MFE_DESC_F_NEXT : 0));
            put_pdesc(r, b, id, flags, k == 0);
        }
    }
    uint16_t ndesc = (uint16_t)(use_indirect ? 1 : n);
    r->slot[id] = (struct mfe_ring_slot){.token = token, .in_len = in_len, .ndesc = ndesc,
                                         .busy = true};
    r->num_free -= ndesc;
    r->num_added += ndesc;
    return 0;
}

/* mfe_packed_add_bufs for n chains of one descriptor each, with the ring's
 * position, the flags of this lap and the id stack in locals; the first
 * head's flags are held back as put_pdesc does. */
void mfe_packed_add_bufs(struct mfe_ring *r, const struct mfe_buf *b, const uint64_t *token,
                         unsigned n, bool write)
{
    struct mfe_ring_slot *slot = r->slot;
    const uint16_t *free_id = r->free_id;
    unsigned pos = r->next_avail, num = r->num, nfree = r->nfree_id;
    uint16_t flags = (uint16_t)((write ? MFE_DESC_F_WRITE : 0) | avail_bits(r->avail_wrap));
    for (unsigned k = 0; k < n; k++) {
        uint16_t id = free_id[--nfree];
        put_pdesc_at(r, pos, &b[k], id, flags, k == 0);
        struct mfe_ring_slot *s = &slot[id];   /* field by field: no zeroing first */
        s->token = token[k];
        s->in_len = write ? b[k].len : 0;
        s->ndesc = 1;
        s->busy = true;
        if (++pos == num) {
            pos = 0;
            flags ^= MFE_DESC_F_AVAIL | MFE_DESC_F_USED;
        }
    }
    r->next_avail = (uint16_t)pos;
    r->avail_wrap = (flags & MFE_DESC_F_AVAIL) != 0;
    r->nfree_id = nfree;
    r->num_free -= n;
    r->num_added += n;
}

/* Kick decision from the device event suppression structure (2.7.10):
 * with DESC, the device named a position and wrap; the batch covered
 * positions [old, new) counted without wrapping, so an event in the
 * previous lap is moved back by num to compare in the same space. */
static bool device_wants_kick(const struct mfe_ring *r)
{
    uint16_t flags = __atomic_load_n(&r->device_ev->flags, __ATOMIC_RELAXED);
    if (flags == MFE_EVENT_DISABLE)
        return false;
    if (flags != MFE_EVENT_DESC || !r->event_idx)
        return true;
    uint16_t off_wrap = __atomic_load_n(&r->device_ev->off_wrap, __ATOMIC_RELAXED);
    uint16_t event = off_wrap & 0x7fff;
    bool wrap = off_wrap >> 15;
    if (wrap != r->avail_wrap)
        event = (uint16_t)(event - r->num);
    uint16_t new_idx = r->next_avail;
    uint16_t old = (uint16_t)(new_idx - r->num_added);
    return mfe_need_event(event, new_idx, old);
}

bool mfe_packed_publish(struct mfe_ring *r)
{
    if (r->pending_head >= 0) {
        __atomic_store_n(&r->pdesc[r->pending_head].flags, r->pending_flags, __ATOMIC_RELEASE);
        r->pending_head = -1;
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return device_wants_kick(r);
}

/* A descriptor is used in this lap when AVAIL == USED == our used wrap:
 * its AVAIL and USED bits are used_bits(used_wrap). */
static uint16_t used_bits(bool wrap)
{
    return wrap ? MFE_DESC_F_AVAIL | MFE_DESC_F_USED : 0;
}

static bool used_at(const struct mfe_ring *r, uint16_t pos)
{
    uint16_t flags = __atomic_load_n(&r->pdesc[pos].flags, __ATOMIC_ACQUIRE);
    return (flags & (MFE_DESC_F_AVAIL | MFE_DESC_F_USED)) == used_bits(r->used_wrap);
}

/* The slot of used entry id (read at pos), *len clamped to the bytes
 * posted (counted in long_used); NULL, and the ring broken, when id is no
 * chain we posted: without it we cannot know where the next used
 * descriptor starts.  The one check of take_used and of the burst. */
static inline struct mfe_ring_slot *used_slot(struct mfe_ring *r, unsigned pos, uint16_t id,
                                              uint32_t *len)
{
    if (id >= r->num || !r->slot[id].busy) {
        mfe_ring_error(r, "used id %u at position %u is not a chain we posted", id, pos);
        r->broken = true;
        return NULL;
    }
    struct mfe_ring_slot *s = &r->slot[id];
    if (*len > s->in_len) {
        mfe_ring_error(r, "used len %u for id %u exceeds the %u bytes posted", *len, id,
                       s->in_len);
        r->long_used++;
        *len = s->in_len;
    }
    return s;
}

bool mfe_packed_has_used(const struct mfe_ring *r)
{
    return !r->broken && r->num_free < r->num && used_at(r, r->last_used);
}

/* Take the used chain at last_used, if the device has written it: 1 (token
 * and len set), 0 none, or -EPIPE (an id we did not post: the ring is
 * broken). */
static int take_used(struct mfe_ring *r, uint64_t *token, uint32_t *len)
{
    if (r->num_free == r->num || !used_at(r, r->last_used))
        return 0;
    const struct mfe_pdesc *d = &r->pdesc[r->last_used];
    uint16_t id = d->id;
    uint32_t got = d->len;
    struct mfe_ring_slot *s = used_slot(r, r->last_used, id, &got);
    if (!s)
        return -EPIPE;
    unsigned pos = r->last_used + s->ndesc;
    if (pos >= r->num) {
        pos -= r->num;
        r->used_wrap = !r->used_wrap;
    }
    r->last_used = (uint16_t)pos;
    r->num_free += s->ndesc;
    s->busy = false;
    r->free_id[r->nfree_id++] = id;
    *token = s->token;
    *len = got;
    return 1;
}

int mfe_packed_get_used(struct mfe_ring *r, uint64_t *token, uint32_t *len)
{
    return r->broken ? -EPIPE : take_used(r, token, len);
}

/* The used flags are walked entry by entry: the packed ring has no index
 * that would say at once how many are waiting.  With an observer each
 * entry goes through take_used and mfe_ring_took; without one (the
 * datapath) the same checks run with the ring's position, wrap counter,
 * free count and id stack in locals, written back once. */
static unsigned used_burst_observed(struct mfe_ring *r, uint64_t *token, uint32_t *len,
                                    unsigned max, int *err)
{
    unsigned k = 0;
    while (k < max) {
        uint16_t pos = r->last_used;
        int rc = take_used(r, &token[k], &len[k]);
        if (rc <= 0) {
            *err = rc;
            break;
        }
        mfe_ring_took(r, pos, token[k], len[k]);
        k++;
    }
    return k;
}

unsigned mfe_packed_get_used_burst(struct mfe_ring *r, uint64_t *token, uint32_t *len,
                                   unsigned max, int *err)
{
    if (r->broken) {
        *err = -EPIPE;
        return 0;
    }
    if (r->on_used)
        return used_burst_observed(r, token, len, max, err);
    const struct mfe_pdesc *ring = r->pdesc;
    uint16_t *free_id = r->free_id;
    unsigned pos = r->last_used, num = r->num, num_free = r->num_free, nfree = r->nfree_id;
    uint16_t want = used_bits(r->used_wrap);
    unsigned k = 0;
    *err = 0;
    while (k < max && num_free < num) {
        uint16_t flags = __atomic_load_n(&ring[pos].flags, __ATOMIC_ACQUIRE);
        if ((flags & (MFE_DESC_F_AVAIL | MFE_DESC_F_USED)) != want)
            break;
        uint16_t id = ring[pos].id;
        uint32_t got = ring[pos].len;
        struct mfe_ring_slot *s = used_slot(r, pos, id, &got);
        if (!s) {
            *err = -EPIPE;
            break;
        }
        pos += s->ndesc;
        if (pos >= num) {
            pos -= num;
            want ^= MFE_DESC_F_AVAIL | MFE_DESC_F_USED;
        }
        num_free += s->ndesc;
        s->busy = false;
        free_id[nfree++] = id;
        token[k] = s->token;
        len[k] = got;
        k++;
    }
    r->last_used = (uint16_t)pos;
    r->used_wrap = want != 0;
    r->num_free = num_free;
    r->nfree_id = nfree;
    r->completed += k;
    return k;
}

bool mfe_packed_enable_cb(struct mfe_ring *r)
{
    if (r->event_idx) {
        uint16_t off_wrap = (uint16_t)(r->last_used | (r->used_wrap ? 0x8000 : 0));
        __atomic_store_n(&r->driver_ev->off_wrap, off_wrap, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&r->driver_ev->flags, r->event_idx ? MFE_EVENT_DESC : MFE_EVENT_ENABLE,
                     __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return mfe_packed_has_used(r);
}

void mfe_packed_disable_cb(struct mfe_ring *r)
{
    __atomic_store_n(&r->driver_ev->flags, MFE_EVENT_DISABLE, __ATOMIC_RELAXED);
}

/* The driver event names the descriptor position (and its lap) whose use
 * should be signalled: n - 1 positions past the next one we read. */
bool mfe_packed_enable_cb_after(struct mfe_ring *r, uint16_t n)
{
    unsigned pos = r->last_used + (unsigned)n - 1;
    bool wrap = r->used_wrap;
    if (pos >= r->num) {
        pos -= r->num;
        wrap = !wrap;
    }
    uint16_t off_wrap = (uint16_t)(pos | (wrap ? 0x8000u : 0));
    __atomic_store_n(&r->driver_ev->off_wrap, off_wrap, __ATOMIC_RELAXED);
    __atomic_store_n(&r->driver_ev->flags, MFE_EVENT_DESC, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return mfe_packed_has_used(r);
}

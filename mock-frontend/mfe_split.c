/* Driver side of virtqueues: what split and packed rings share (init,
 * dispatch, kick, wait, indirect tables), then the split ring (virtio 1.1
 * section 2.6). */
#include "mfe_ring.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IND_BYTES (MFE_RING_MAX_INDIRECT * sizeof(struct mfe_desc))

/* ---- shared ---- */

void mfe_ring_error(struct mfe_ring *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    r->errors++;
}

unsigned mfe_ring_flags_from_features(uint64_t features)
{
    static const struct { unsigned bit, flag; } map[] = {
        {MFE_F_RING_PACKED, MFE_RING_PACKED},
        {MFE_F_EVENT_IDX, MFE_RING_EVENT_IDX},
        {MFE_F_INDIRECT_DESC, MFE_RING_INDIRECT},
    };
    unsigned flags = 0;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (features & (1ull << map[i].bit))
            flags |= map[i].flag;
    return flags;
}

void mfe_ring_layout_of(const struct mfe_vq *vq, struct mfe_ring_layout *l)
{
    l->desc = vq->desc_gpa;
    l->driver = vq->avail_gpa;
    l->device = vq->used_gpa;
}

/* Descriptor ring aligned to 16 (spec 2.7.10.1), then the two 4-byte event
 * structures, each aligned to 4. */
int mfe_ring_layout_packed(struct mfe_mem *mem, unsigned num, struct mfe_ring_layout *l)
{
    uint64_t total = 16ull * num + 8;
    uint64_t base = mfe_mem_alloc(mem, total, 4096);
    void *p = base ? mfe_gpa(mem, base, total) : NULL;
    if (!p)
        return -ENOMEM;
    memset(p, 0, total);
    l->desc = base;
    l->driver = base + 16ull * num;
    l->device = l->driver + 4;
    return 0;
}

/* mfe_vq_setup keeps a ring that is ready with the same size, so laying the
 * packed ring out first makes it create only the eventfds. */
int mfe_ring_vq_packed(struct mfe *f, unsigned idx, unsigned num)
{
    if (idx >= MFE_MAX_VQ || num == 0 || num > MFE_RING_MAX_NUM)
        return -EINVAL;
    struct mfe_ring_layout l;
    if (mfe_ring_layout_packed(&f->mem, num, &l) < 0)
        return -ENOMEM;
    struct mfe_vq *vq = &f->vq[idx];
    vq->num = num;
    vq->desc_gpa = l.desc;
    vq->avail_gpa = l.driver;
    vq->used_gpa = l.device;
    vq->ready = true;
    return mfe_vq_setup(f, idx, num) < 0 ? -EIO : 0;
}

static int alloc_state(struct mfe_ring *r, unsigned flags)
{
    r->slot = calloc(r->num, sizeof *r->slot);
    r->next = calloc(r->num, sizeof *r->next);
    r->free_id = calloc(r->num, sizeof *r->free_id);
    if (!r->slot || !r->next || !r->free_id)
        return -ENOMEM;
    if (flags & MFE_RING_INDIRECT) {
        uint64_t len = (uint64_t)r->num * IND_BYTES;
        r->ind_gpa = mfe_mem_alloc(r->mem, len, 16);
        if (!r->ind_gpa || !mfe_gpa(r->mem, r->ind_gpa, len))
            return -ENOMEM;
    }
    return 0;
}

int mfe_ring_init(struct mfe_ring *r, struct mfe_mem *mem, const struct mfe_ring_layout *l,
                  unsigned num, unsigned flags)
{
    memset(r, 0, sizeof *r);
    bool packed = flags & MFE_RING_PACKED;
    /* split rings need a power of two; packed rings any size up to 32768 */
    if (num == 0 || num > MFE_RING_MAX_NUM || (!packed && (num & (num - 1))))
        return -EINVAL;
    r->mem = mem;
    r->num = num;
    r->packed = packed;
    r->event_idx = flags & MFE_RING_EVENT_IDX;
    r->indirect = flags & MFE_RING_INDIRECT;
    r->pending_head = -1;
    int rc = alloc_state(r, flags);
    if (rc == 0)
        rc = packed ? mfe_packed_init(r, l) : mfe_split_init(r, l);
    if (rc < 0)
        mfe_ring_destroy(r);
    return rc;
}

void mfe_ring_destroy(struct mfe_ring *r)
{
    free(r->slot);
    free(r->next);
    free(r->free_id);
    memset(r, 0, sizeof *r);
    r->pending_head = -1;
}

/* The table for id sits at a fixed place: no allocation per chain. */
uint64_t mfe_ring_indirect(struct mfe_ring *r, uint16_t id, const struct mfe_buf *out,
                           unsigned n_out, const struct mfe_buf *in, unsigned n_in)
{
    uint64_t gpa = r->ind_gpa + (uint64_t)id * IND_BYTES;
    struct mfe_desc *t = mfe_gpa(r->mem, gpa, IND_BYTES);
    unsigned n = n_out + n_in;
    for (unsigned i = 0; i < n; i++) {
        const struct mfe_buf *b = i < n_out ? &out[i] : &in[i - n_out];
        t[i] = (struct mfe_desc){
            .addr = b->gpa, .len = b->len,
            .flags = (uint16_t)((i >= n_out ? MFE_DESC_F_WRITE : 0) |
                                (i + 1 < n ? MFE_DESC_F_NEXT : 0)),
            .next = (uint16_t)(i + 1 < n ? i + 1 : 0),
        };
    }
    return gpa;
}

static uint32_t in_bytes(const struct mfe_buf *in, unsigned n_in)
{
    uint32_t sum = 0;
    for (unsigned i = 0; i < n_in; i++)
        sum += in[i].len;
    return sum;
}

static int check_add(const struct mfe_ring *r, unsigned n_out, unsigned n_in, bool indirect)
{
    unsigned n = n_out + n_in;
    if (n == 0 || (indirect && (!r->indirect || n > MFE_RING_MAX_INDIRECT)))
        return -EINVAL;
    if (r->broken)
        return -EPIPE;
    return (indirect ? 1 : n) > r->num_free ? -ENOSPC : 0;
}

int mfe_ring_add(struct mfe_ring *r, const struct mfe_buf *out, unsigned n_out,
                 const struct mfe_buf *in, unsigned n_in, uint64_t token, bool use_indirect)
{
    int rc = check_add(r, n_out, n_in, use_indirect);
    if (rc < 0)
        return rc;
    rc = r->packed ? mfe_packed_add(r, out, n_out, in, n_in, token, use_indirect)
                   : mfe_split_add(r, out, n_out, in, n_in, token, use_indirect);
    if (rc == 0)
        r->added++;
    return rc;
}

bool mfe_ring_publish(struct mfe_ring *r)
{
    if (r->num_added == 0)
        return false;
    bool kick = r->packed ? mfe_packed_publish(r) : mfe_split_publish(r);
    r->num_added = 0;
    return kick;
}

int mfe_ring_kick(struct mfe_ring *r, int kick_fd)
{
    if (r->num_added == 0)
        return 0;
    if (!mfe_ring_publish(r)) {
        r->kicks_suppressed++;
        return 0;
    }
    uint64_t one = 1;
    if (write(kick_fd, &one, sizeof one) != sizeof one)
        return -errno;
    r->kicks++;
    return 1;
}

int mfe_ring_get_used(struct mfe_ring *r, uint64_t *token, uint32_t *len)
{
    uint16_t pos = r->last_used;
    int rc = r->packed ? mfe_packed_get_used(r, token, len) : mfe_split_get_used(r, token, len);
    if (rc == 1)
        mfe_ring_took(r, pos, *token, *len);
    return rc;
}

/* Room is checked here, once for the burst, so the ring code only stores. */
unsigned mfe_ring_add_bufs(struct mfe_ring *r, const struct mfe_buf *b, const uint64_t *token,
                           unsigned n, bool write)
{
    if (r->broken)
        return 0;
    if (n > r->num_free)
        n = r->num_free;
    if (n == 0)
        return 0;
    if (r->packed)
        mfe_packed_add_bufs(r, b, token, n, write);
    else
        mfe_split_add_bufs(r, b, token, n, write);
    r->added += n;
    return n;
}

unsigned mfe_ring_get_used_burst(struct mfe_ring *r, uint64_t *token, uint32_t *len,
                                 unsigned max, int *err)
{
    *err = 0;
    return r->packed ? mfe_packed_get_used_burst(r, token, len, max, err)
                     : mfe_split_get_used_burst(r, token, len, max, err);
}

bool mfe_ring_has_used(const struct mfe_ring *r)
{
    return r->packed ? mfe_packed_has_used(r) : mfe_split_has_used(r);
}

bool mfe_ring_enable_cb(struct mfe_ring *r)
{
    return r->packed ? mfe_packed_enable_cb(r) : mfe_split_enable_cb(r);
}

void mfe_ring_disable_cb(struct mfe_ring *r)
{
    if (r->packed)
        mfe_packed_disable_cb(r);
    else
        mfe_split_disable_cb(r);
}

bool mfe_ring_enable_cb_after(struct mfe_ring *r, uint16_t n)
{
    if (!r->event_idx || n == 0)
        return mfe_ring_enable_cb(r);
    return r->packed ? mfe_packed_enable_cb_after(r, n) : mfe_split_enable_cb_after(r, n);
}

int mfe_ring_wait(int call_fd, int timeout_ms)
{
    struct pollfd p = {.fd = call_fd, .events = POLLIN};
    int n;
    do
        n = poll(&p, 1, timeout_ms);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return n < 0 ? -errno : 0;
    uint64_t v;
    if (read(call_fd, &v, sizeof v) < 0 && errno != EAGAIN)
        return -errno;
    return 1;
}

/* ---- split ring ---- */

/* Byte offsets inside the avail and used rings (spec 2.6.6, 2.6.8). */
int mfe_split_init(struct mfe_ring *r, const struct mfe_ring_layout *l)
{
    unsigned n = r->num;
    r->desc = mfe_gpa(r->mem, l->desc, 16ull * n);
    uint8_t *avail = mfe_gpa(r->mem, l->driver, 6 + 2ull * n);
    uint8_t *used = mfe_gpa(r->mem, l->device, 6 + 8ull * n);
    if (!r->desc || !avail || !used)
        return -EINVAL;
    memset(r->desc, 0, 16ull * n);
    memset(avail, 0, 6 + 2ull * n);
    memset(used, 0, 6 + 8ull * n);
    r->avail_flags = (uint16_t *)avail;
    r->avail_idx = (uint16_t *)(avail + 2);
    r->avail_ring = (uint16_t *)(avail + 4);
    r->used_event = (uint16_t *)(avail + 4 + 2 * n);
    r->used_flags = (uint16_t *)used;
    r->used_idx = (uint16_t *)(used + 2);
    r->used_ring = (struct mfe_used_elem *)(used + 4);
    r->avail_event = (uint16_t *)(used + 4 + 8 * n);
    for (unsigned i = 0; i < n; i++)
        r->next[i] = (uint16_t)(i + 1 < n ? i + 1 : 0);
    r->free_head = 0;
    r->num_free = n;
    return 0;
}

static void put_desc(struct mfe_ring *r, uint16_t i, const struct mfe_buf *b, uint16_t flags)
{
    r->desc[i] = (struct mfe_desc){.addr = b->gpa, .len = b->len, .flags = flags,
                                   .next = r->next[i]};
}

/* Take n descriptors off our free list (r->next is the truth, never the
 * descriptor memory the device can see) and fill them. */
static uint16_t fill_chain(struct mfe_ring *r, const struct mfe_buf *out, unsigned n_out,
                           const struct mfe_buf *in, unsigned n_in, uint16_t *last)
{
    uint16_t head = r->free_head, i = head;
    unsigned n = n_out + n_in;
    for (unsigned k = 0; k < n; k++) {
        const struct mfe_buf *b = k < n_out ? &out[k] : &in[k - n_out];
        uint16_t flags = (uint16_t)((k >= n_out ? MFE_DESC_F_WRITE : 0) |
                                    (k + 1 < n ? MFE_DESC_F_NEXT : 0));
        put_desc(r, i, b, flags);
        *last = i;
        i = r->next[i];
    }
    r->free_head = i;
    return head;
}

int mfe_split_add(struct mfe_ring *r, const struct mfe_buf *out, unsigned n_out,
                  const struct mfe_buf *in, unsigned n_in, uint64_t token, bool use_indirect)
{
    uint16_t head = r->free_head, last = head;
    if (use_indirect) {
        unsigned n = n_out + n_in;
        struct mfe_buf t = {mfe_ring_indirect(r, head, out, n_out, in, n_in),
                            (uint32_t)(n * sizeof(struct mfe_desc))};
        put_desc(r, head, &t, MFE_DESC_F_INDIRECT);
        r->free_head = r->next[head];
    } else {
        head = fill_chain(r, out, n_out, in, n_in, &last);
    }
    uint16_t ndesc = (uint16_t)(use_indirect ? 1 : n_out + n_in);
    r->slot[head] = (struct mfe_ring_slot){.token = token, .in_len = in_bytes(in, n_in),
                                           .ndesc = ndesc, .last = last, .busy = true};
    r->num_free -= ndesc;
    r->avail_ring[r->shadow_avail & (r->num - 1)] = head;
    r->shadow_avail++;
    r->num_added += ndesc;
    return 0;
}

/* mfe_split_add for n chains of one descriptor: each head is its own last
 * descriptor, and its next field keeps our free list link as put_desc
 * writes it, so the memory is the same as n single adds.  The free head
 * and the shadow avail idx stay in locals, slots are written field by
 * field (no zeroing first). */
void mfe_split_add_bufs(struct mfe_ring *r, const struct mfe_buf *b, const uint64_t *token,
                        unsigned n, bool write)
{
    uint16_t flags = write ? MFE_DESC_F_WRITE : 0, i = r->free_head, avail = r->shadow_avail;
    unsigned mask = r->num - 1;
    struct mfe_ring_slot *slot = r->slot;
    const uint16_t *next = r->next;
    uint16_t *avail_ring = r->avail_ring;
    for (unsigned k = 0; k < n; k++) {
        uint16_t link = next[i];
        put_desc(r, i, &b[k], flags);
        struct mfe_ring_slot *s = &slot[i];
        s->token = token[k];
        s->in_len = write ? b[k].len : 0;
        s->ndesc = 1;
        s->last = i;
        s->busy = true;
        avail_ring[avail++ & mask] = i;
        i = link;
    }
    r->free_head = i;
    r->shadow_avail = avail;
    r->num_free -= n;
    r->num_added += n;
}

/* One release store of avail idx publishes the batch; the full fence then
 * orders it before we read whether the device wants a kick (spec 2.6.7.2). */
bool mfe_split_publish(struct mfe_ring *r)
{
    uint16_t old = __atomic_load_n(r->avail_idx, __ATOMIC_RELAXED);
    uint16_t new_idx = r->shadow_avail;
    __atomic_store_n(r->avail_idx, new_idx, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (r->event_idx)
        return mfe_need_event(__atomic_load_n(r->avail_event, __ATOMIC_RELAXED), new_idx, old);
    return !(__atomic_load_n(r->used_flags, __ATOMIC_RELAXED) & MFE_USED_F_NO_NOTIFY);
}

bool mfe_split_has_used(const struct mfe_ring *r)
{
    return __atomic_load_n(r->used_idx, __ATOMIC_ACQUIRE) != r->last_used;
}

/* Return the chain to the free list: its descriptors are still linked in
 * r->next from fill_chain (or it is the single indirect descriptor). */
static void free_chain(struct mfe_ring *r, uint16_t head)
{
    struct mfe_ring_slot *s = &r->slot[head];
    r->next[s->last] = r->free_head;
    r->free_head = head;
    r->num_free += s->ndesc;
    s->busy = false;
}

/* How many used entries the device has written: the used idx is read once
 * (acquire: the entries before it are then visible).  -EPIPE, and the ring
 * broken, when it is more than num ahead. */
static int used_waiting(struct mfe_ring *r)
{
    if (r->broken)
        return -EPIPE;
    uint16_t used = __atomic_load_n(r->used_idx, __ATOMIC_ACQUIRE);
    uint16_t ahead = (uint16_t)(used - r->last_used);
    if (ahead > r->num) {
        mfe_ring_error(r, "used idx %u is %u ahead of %u (ring of %u)", used, ahead,
                       r->last_used, r->num);
        r->broken = true;
        return -EPIPE;
    }
    return ahead;
}

/* Take the used entry at last_used, which used_waiting counted: 1 (token
 * and len set) or -EIO (a bad id, counted and skipped). */
/* The slot of used entry e, its len clamped to the bytes posted (counted in
 * long_used); NULL when its id is no chain we posted.  The one check of
 * take_used and of the burst. */
static inline struct mfe_ring_slot *used_slot(struct mfe_ring *r, struct mfe_used_elem *e)
{
    if (e->id >= r->num || !r->slot[e->id].busy) {
        mfe_ring_error(r, "used id %u is not a chain we posted (ring of %u)", e->id, r->num);
        return NULL;
    }
    struct mfe_ring_slot *s = &r->slot[e->id];
    if (e->len > s->in_len) {
        mfe_ring_error(r, "used len %u for id %u exceeds the %u bytes posted", e->len, e->id,
                       s->in_len);
        r->long_used++;
        e->len = s->in_len;
    }
    return s;
}

static int take_used(struct mfe_ring *r, uint64_t *token, uint32_t *len)
{
    struct mfe_used_elem e = r->used_ring[r->last_used & (r->num - 1)];
    r->last_used++;
    struct mfe_ring_slot *s = used_slot(r, &e);
    if (!s)
        return -EIO;
    *token = s->token;
    *len = e.len;
    free_chain(r, (uint16_t)e.id);
    return 1;
}

int mfe_split_get_used(struct mfe_ring *r, uint64_t *token, uint32_t *len)
{
    int n = used_waiting(r);
    return n <= 0 ? n : take_used(r, token, len);
}

/* One read of used idx for the burst: entries the device adds meanwhile
 * wait for the next burst, as they would for a loop that had just ended.
 * With an observer each entry goes through take_used and mfe_ring_took;
 * without one (the datapath) the same checks run with last_used, the free
 * head and the free count in locals, written back once. */
unsigned mfe_split_get_used_burst(struct mfe_ring *r, uint64_t *token, uint32_t *len,
                                  unsigned max, int *err)
{
    int n = used_waiting(r);
    if (n < 0)
        *err = n;
    unsigned k = 0;
    if (r->on_used) {
        for (; n > 0 && k < max; n--) {
            uint16_t pos = r->last_used;
            if (take_used(r, &token[k], &len[k]) < 0) {
                *err = -EIO;
                continue;
            }
            mfe_ring_took(r, pos, token[k], len[k]);
            k++;
        }
        return k;
    }
    const struct mfe_used_elem *used = r->used_ring;
    uint16_t *next = r->next;
    unsigned mask = r->num - 1, num_free = r->num_free;
    uint16_t last_used = r->last_used, free_head = r->free_head;
    for (; n > 0 && k < max; n--) {
        struct mfe_used_elem e = used[last_used++ & mask];
        struct mfe_ring_slot *s = used_slot(r, &e);
        if (!s) {
            *err = -EIO;
            continue;
        }
        token[k] = s->token;
        len[k] = e.len;
        next[s->last] = free_head;              /* free_chain, in locals */
        free_head = (uint16_t)e.id;
        num_free += s->ndesc;
        s->busy = false;
        k++;
    }
    r->last_used = last_used;
    r->free_head = free_head;
    r->num_free = num_free;
    r->completed += k;
    return k;
}

bool mfe_split_enable_cb(struct mfe_ring *r)
{
    if (r->event_idx)
        __atomic_store_n(r->used_event, r->last_used, __ATOMIC_RELAXED);
    else
        __atomic_store_n(r->avail_flags, 0, __ATOMIC_RELAXED);
    /* the device must see the request before we look for entries */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return mfe_split_has_used(r);
}

/* With event idx there is no flag: used_event is left behind, so the
 * device calls at most once more (spec 2.6.7.1). */
void mfe_split_disable_cb(struct mfe_ring *r)
{
    if (!r->event_idx)
        __atomic_store_n(r->avail_flags, MFE_AVAIL_F_NO_INTERRUPT, __ATOMIC_RELAXED);
}

/* used_event = E asks for a call when the used index moves past E, that is
 * when entry E is written: n entries on is last_used + n - 1. */
bool mfe_split_enable_cb_after(struct mfe_ring *r, uint16_t n)
{
    __atomic_store_n(r->used_event, (uint16_t)(r->last_used + n - 1), __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return mfe_split_has_used(r);
}

/* Dirty-page logging for live migration (vhost-user.rst, "Migration").
 *
 * SET_LOG_BASE hands over the log (a memfd under LOG_SHMFD): one bit per
 * 4 KiB guest page, set with an atomic OR after the write it records.
 * While LOG_ALL is negotiated every write of the datapath into guest
 * memory is logged: the bytes put into RX buffers, and, on a ring whose
 * SET_VRING_ADDR carried VHOST_VRING_F_LOG, its used-ring writes (split:
 * the used elements, used index, flags and avail event at log_guest_addr
 * plus their offset; packed: the used descriptors at their own guest
 * address, and the device event area at log_guest_addr, which QEMU
 * fills with that area's address).
 *
 * The control thread builds one struct ref_vlog per ring after every
 * request (ref_dlog_bind, workers parked) and points the ring at it, or at
 * NULL while logging is off; the datapath only tests that pointer, so a
 * write costs one predictable branch when nothing is logged. */
#ifndef REFNET_DIRTY_LOG_H
#define REFNET_DIRTY_LOG_H

#include "dp.h"

#define REF_LOG_PAGE 0x1000u

struct ref_vlog {
    uint8_t *bits;              /* the log */
    uint64_t size;              /* its bytes */
    const struct ref_mem *mem;  /* to turn our pointers into guest addresses */
    uint64_t used_gpa;          /* log_guest_addr */
    uint64_t desc_gpa;          /* packed: where used descriptors go */
    bool used;                  /* VHOST_VRING_F_LOG */
};

struct ref_dlog {
    void *map;                  /* what mmap returned */
    size_t map_len;
    uint8_t *bits;              /* map + (mmap_offset within its page) */
    uint64_t size;
    struct ref_vlog ring[REF_MAX_RINGS];
};

/* After every request: each ring's vlog, or NULL without LOG_ALL or log. */
void ref_dlog_bind(struct ref_session *s);
/* Unmap the log (connection end, RESET_OWNER). */
void ref_dlog_free(struct ref_session *s);

void ref_dlog_used_at(const struct ref_vlog *l, uint64_t off, uint64_t len);
void ref_dlog_desc_at(const struct ref_vlog *l, uint16_t pos);
/* n used descriptors from pos (wrapping at num). */
void ref_dlog_descs_at(const struct ref_vlog *l, uint16_t pos, uint32_t n, uint32_t num);
/* The guest buffers of n burst-popped elements (their gpa), len[i] bytes
 * written into each, the bits set once per log byte they touch. */
void ref_dlog_elems(const struct ref_vlog *l, const struct ref_elem *e, const uint32_t *len,
                    unsigned n);
void ref_dlog_iovs(const struct ref_vlog *l, const struct ref_iov *iov, unsigned n,
                   uint32_t len);

/* The datapath's hooks: each is one test of v->vlog when logging is off. */
static inline void ref_dlog_used(const struct ref_vring *v, uint64_t off, uint64_t len)
{
    if (__builtin_expect(v->vlog != NULL, 0))
        ref_dlog_used_at(v->vlog, off, len);
}

static inline void ref_dlog_pdesc(const struct ref_vring *v, uint16_t pos)
{
    if (__builtin_expect(v->vlog != NULL, 0))
        ref_dlog_desc_at(v->vlog, pos);
}

static inline void ref_dlog_rx(const struct ref_vring *v, const struct ref_iov *iov,
                               unsigned n, uint32_t len)
{
    if (__builtin_expect(v->vlog != NULL, 0))
        ref_dlog_iovs(v->vlog, iov, n, len);
}

#endif

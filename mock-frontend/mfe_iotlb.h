/* The mock front end's vIOMMU: an IOVA -> guest-physical map (the guest's
 * IOMMU page tables) and the device-IOTLB traffic QEMU's vhost code sends
 * for it (hw/virtio/vhost.c vhost_device_iotlb_miss, vhost-backend.c
 * vhost_backend_handle_iotlb_msg; vhost-user.rst "IOMMU support").
 *
 * With VIRTIO_F_IOMMU_PLATFORM negotiated (QEMU wants BACKEND_REQ and
 * REPLY_ACK with it) every address the driver gives the device is an IOVA:
 * SET_VRING_ADDR's ring addresses (mfe_vq_addr asks mfe_iotlb_iova once an
 * IOTLB is attached) and the descriptors' addresses (a case posts IOVAs as
 * mfe_buf.gpa).  The back end learns translations from IOTLB_MSG UPDATEs
 * {iova, size, uaddr = our address of the guest page, perm} and forgets
 * them on INVALIDATE; both are sent with NEED_REPLY (REPLY_ACK), as QEMU
 * does, and the back end's u64 reply is their ack.
 *
 * The back end asks for a missing IOVA with a MISS on the back-end channel
 * (SET_BACKEND_REQ_FD's socket).  Serving it is what QEMU does: look the
 * IOVA up in the map; mapped with the permission asked for, send an UPDATE
 * of the map entry (or of the granule around the IOVA, t->granule), then,
 * when the MISS carried NEED_REPLY, reply 0 on the back-end channel
 * (non-zero when nothing could be sent).  A MISS for an unmapped IOVA gets
 * no UPDATE (QEMU logs "Fail to lookup the translated address").
 *
 * Nested requests: while the front end waits for any reply (mfe_recv with
 * an IOTLB attached) it keeps reading the back-end channel, answers each
 * NEED_REPLY at once and queues the MISSes; their UPDATEs go out after the
 * awaited reply came (mfe_request), so a back end that asks with
 * NEED_REPLY while we wait never deadlocks with us, and replies never
 * cross on the front-end channel.
 */
#ifndef MFE_IOTLB_H
#define MFE_IOTLB_H

#include <stdbool.h>
#include <stdint.h>

#include "mfe.h"

#define MFE_F_IOMMU_PLATFORM 33
#define MFE_IOTLB_MAP_MAX    64u
#define MFE_IOTLB_PENDING    32u

/* struct vhost_iotlb_msg: type and perm (linux/vhost_types.h) */
enum mfe_iotlb_type { MFE_IOTLB_MISS = 1, MFE_IOTLB_UPDATE = 2, MFE_IOTLB_INVALIDATE = 3,
                      MFE_IOTLB_ACCESS_FAIL = 4 };
enum mfe_iotlb_perm { MFE_PERM_NONE = 0, MFE_PERM_RO = 1, MFE_PERM_WO = 2, MFE_PERM_RW = 3 };

struct mfe_iotlb_map {
    uint64_t iova, size, gpa;
    uint8_t perm;
};

struct mfe_iotlb {
    struct mfe *f;
    struct mfe_iotlb_map map[MFE_IOTLB_MAP_MAX];  /* disjoint in IOVA */
    unsigned nmap;
    uint64_t granule;           /* a MISS is served with this much (a power of
                                   two) around the IOVA; 0 = the whole entry */
    bool serve_misses;          /* false: MISSes are counted, not served */
    /* MISSes read while a reply was awaited, served after it */
    struct vhu_iotlb pending[MFE_IOTLB_PENDING];
    unsigned npending;
    unsigned depth;             /* > 0 while an UPDATE of ours is in flight */
    /* what happened, for the cases */
    unsigned misses;            /* MISSes received */
    unsigned misses_unmapped;   /* of which nothing was mapped there (no UPDATE) */
    unsigned misses_denied;     /* of which it was mapped with less permission than
                                   asked for (no UPDATE: QEMU's lookup fails too) */
    struct vhu_iotlb last_denied;
    unsigned need_reply;        /* back-end requests with NEED_REPLY */
    unsigned replied;           /* replies we sent on the back-end channel */
    unsigned updates, invalidates;  /* IOTLB_MSGs we sent */
    unsigned nacks;             /* of those, acked non-zero */
    unsigned bad_requests;      /* back-end messages we could not accept */
    unsigned nested;            /* back-end requests read while a reply was awaited */
    struct vhu_iotlb last_miss;
    char err[160];              /* the last problem on the back-end channel */
};

/* Attach t to f (f->iotlb): f's waits serve the back-end channel from now
 * on and its ring addresses are IOVAs once IOMMU_PLATFORM is acked.  The
 * map starts empty; misses are served. */
void mfe_iotlb_attach(struct mfe_iotlb *t, struct mfe *f);
void mfe_iotlb_detach(struct mfe_iotlb *t);

/* ---- the map (no message) ---- */
/* Map [iova, iova+size) to guest [gpa, gpa+size) with perm; it must not
 * overlap an entry and gpa must be guest memory.  0 or -1. */
int mfe_iotlb_map(struct mfe_iotlb *t, uint64_t iova, uint64_t size, uint64_t gpa,
                  uint8_t perm);
/* Every memory region mapped at IOVA = GPA with perm (passthrough). */
int mfe_iotlb_map_identity(struct mfe_iotlb *t, uint8_t perm);
/* Remove the entries overlapping [iova, iova+size); how many went. */
unsigned mfe_iotlb_unmap(struct mfe_iotlb *t, uint64_t iova, uint64_t size);
/* The entry holding iova, or NULL. */
const struct mfe_iotlb_map *mfe_iotlb_lookup(const struct mfe_iotlb *t, uint64_t iova);
/* The IOVA of guest address gpa (the first entry mapping it), or gpa when
 * none does (ring addresses: mfe_vq_addr). */
uint64_t mfe_iotlb_iova(const struct mfe_iotlb *t, uint64_t gpa);
/* IOMMU_PLATFORM acked on f (the ring addresses are IOVAs). */
bool mfe_iotlb_active(const struct mfe *f);

/* ---- device-IOTLB messages on the front-end channel ---- */
/* Send m as IOTLB_MSG, NEED_REPLY with REPLY_ACK; *ack = the back end's
 * u64 (its reply is always owed).  0, or the mfe_request code. */
int mfe_iotlb_send(struct mfe_iotlb *t, const struct vhu_iotlb *m, uint64_t *ack);
/* UPDATE [iova, iova+size) as the map has it (perm of the entry holding
 * iova unless perm != 0); -1 when iova is not mapped. */
int mfe_iotlb_update(struct mfe_iotlb *t, uint64_t iova, uint64_t size, uint8_t perm,
                     uint64_t *ack);
/* UPDATE every map entry; the first non-zero ack in *ack. */
int mfe_iotlb_update_all(struct mfe_iotlb *t, uint64_t *ack);
/* INVALIDATE [iova, iova+size). */
int mfe_iotlb_invalidate(struct mfe_iotlb *t, uint64_t iova, uint64_t size, uint64_t *ack);

/* ---- the back-end channel ---- */
/* Read and answer back-end requests for up to ms (0: what is there now),
 * until the channel has been quiet for quiet_ms after the last one.
 * Returns how many were read, or -1 when the channel failed (t->err). */
int mfe_iotlb_serve(struct mfe_iotlb *t, int ms, int quiet_ms);
/* Wait up to ms for one back-end request and answer it: 1, 0 on timeout,
 * -1 on failure. */
int mfe_iotlb_serve_one(struct mfe_iotlb *t, int ms);
/* For mfe_recv: one back-end request is readable while a reply is
 * awaited: answer its NEED_REPLY, queue its MISS. */
void mfe_iotlb_nested(struct mfe_iotlb *t);
/* For mfe_request: serve the queued MISSes (not while one of ours is in
 * flight). */
void mfe_iotlb_flush(struct mfe_iotlb *t);

#endif

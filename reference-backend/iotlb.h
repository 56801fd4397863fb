/* vhost-refnet's device IOTLB (VIRTIO_F_IOMMU_PLATFORM; vhost-user.rst,
 * "IOMMU support").
 *
 * With IOMMU_PLATFORM negotiated every address the driver gives (ring
 * addresses in SET_VRING_ADDR, descriptor addresses) is an IOVA.  The front
 * end fills this cache with IOTLB_MSG UPDATEs and empties it with
 * INVALIDATEs; the back end asks for a missing IOVA with a MISS on the
 * back-end channel (BACKEND_REQ), with NEED_REPLY when REPLY_ACK was
 * negotiated.
 *
 * Entries: [iova, iova+size) -> our pointer for the front end's uaddr,
 * which must lie inside one memory region when the UPDATE comes (else the
 * UPDATE is refused with a non-zero reply), with the entry's permission
 * (RO: the device may read, WO: write, RW: both).  A translation needing a
 * permission the entry lacks fails: the element is bad, nothing of it read
 * or written (an RX buffer behind a read-only entry is never written).
 *
 * Threads: workers look entries up under the mutex; the control thread
 * adds entries under it too.  An UPDATE that overlaps nothing (or repeats
 * an entry as it is) is taken before the workers are parked, so a worker
 * waiting for its miss is woken at once.  Entries are removed only while every worker is parked
 * (INVALIDATE, an overlapping UPDATE, a new memory table), so a pointer a
 * worker took stays valid until it parks: the INVALIDATE's reply goes out
 * after the last worker that could use the old entry has parked.
 *
 * A worker missing an IOVA sends the MISS and waits for it on the condition
 * variable, for at most REF_IOTLB_WAIT_MS; any request the control thread
 * is about to park the workers for ends the wait first (ref_iotlb_before), so a front end
 * that asks something before it answers never meets a parked control
 * thread waiting on a waiting worker.  A wait that ends without the entry
 * makes the element bad (counted, completed empty).
 */
#ifndef REFNET_IOTLB_H
#define REFNET_IOTLB_H

#include "dp.h"

#include <pthread.h>

#define REF_F_IOMMU_PLATFORM 33
#define REF_IOTLB_MAX        2048u
#define REF_IOTLB_WAIT_MS    1000

/* struct vhost_iotlb_msg: type and perm */
enum { REF_IOTLB_MISS = 1, REF_IOTLB_UPDATE = 2, REF_IOTLB_INVALIDATE = 3,
       REF_IOTLB_ACCESS_FAIL = 4 };
enum { REF_PERM_RO = 1, REF_PERM_WO = 2, REF_PERM_RW = 3 };

struct ref_iotlb_ent {
    uint64_t iova, size, uaddr;
    uint8_t *host;
    uint8_t perm;
};

struct ref_iotlb {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct ref_iotlb_ent e[REF_IOTLB_MAX];     /* sorted by iova, disjoint */
    unsigned n;
    unsigned abort_gen;         /* bumped when a park is coming: waits end */
    bool parking;               /* a park is coming: no wait starts */
    int backend_fd;             /* the session's, or -1 */
    bool need_reply;            /* REPLY_ACK: MISS carries NEED_REPLY */
    _Atomic uint64_t misses, denied, timeouts;
};

/* ref_iotlb_xlate (declared in dp.h, for ref_xlate): translate [iova,
 * iova+len) for a read (write false) or a write, appending the host iovs to
 * io; a missing part is asked for and waited for.  0, or -1 (no entry in
 * time, a permission missing, the pool full). */
/* One contiguous read-only use (an indirect table): its pointer or NULL. */
void *ref_iotlb_one(struct ref_iotlb *t, unsigned *hint, uint64_t iova, uint64_t len);

/* ---- the control thread (session.c, vring.c) ---- */
/* [iova, iova+len) inside one entry granting perm: our pointer, or NULL
 * (no wait: the control thread never waits for a MISS). */
void *ref_iotlb_span(struct ref_iotlb *t, uint64_t iova, uint64_t len, uint8_t perm);
/* Send a MISS for iova (no wait). */
void ref_iotlb_ask(struct ref_iotlb *t, uint64_t iova, uint8_t perm);
/* IOMMU_PLATFORM negotiated: the session translates through s->tlb. */
bool ref_iotlb_on(const struct ref_session *s);
/* Before a request is handled: an UPDATE overlapping nothing (or a repeat)
 * is taken now (waiting workers wake).  true: that was all of it (no ring waits for a
 * translation), the ack is 0 and no worker need park; false: the workers
 * will be parked, so every wait ends and no new one starts until
 * ref_iotlb_after. */
bool ref_iotlb_before(struct ref_session *s, const struct vhu_msg *m);
/* After every request (workers parked): the cache follows the session
 * (allocated with IOMMU_PLATFORM, bound to s->mem, entries re-resolved
 * after a memory change), waiting rings retried. */
void ref_iotlb_after(struct ref_session *s, const struct vhu_msg *m);
void ref_iotlb_free(struct ref_session *s);

#endif

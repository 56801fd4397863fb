/* A tiny virtio device for the driver-side unit tests (test_ring,
 * test_ring_burst, test_net): it pops available chains, writes used
 * entries, honours event suppression and loops TX back to RX.  It exists
 * only to exercise the mock front end's rings (mfe_ring.h) and its
 * virtio-net model (mfe_net.h). */
#ifndef VHC_TESTS_RING_DEV_H
#define VHC_TESTS_RING_DEV_H

#include "mfe.h"
#include "mfe_ring.h"

#include <stdbool.h>
#include <stdint.h>

#define VF(bit) (1ull << (bit))
#define F_V1    VF(VHU_F_VERSION_1)

struct seg {
    uint8_t *p;
    uint32_t len;
    bool write;
};

struct chain {
    uint16_t id, ndesc;     /* ndesc: ring descriptors (packed position advance) */
    unsigned n;
    bool indirect;
    struct seg seg[MFE_RING_MAX_INDIRECT];
};

struct dev {
    struct mfe_mem *mem;
    struct mfe_ring_layout l;
    unsigned num;
    bool packed, event_idx;
    int call_fd;
    uint16_t last_avail, used_pos;      /* split: free running; packed: positions */
    bool avail_wrap, used_wrap;
    unsigned calls;
};

/* The device side of f's vq idx. */
void dev_init(struct dev *d, struct mfe *f, unsigned idx, bool packed, bool event_idx);
/* Next available chain into c; false when none is waiting. */
bool dev_pop(struct dev *d, struct chain *c);
/* c used with len bytes written; signals the call eventfd when the driver
 * asked for it. */
void dev_push(struct dev *d, const struct chain *c, uint32_t len);
/* Ask for a kick when the driver makes entry last_avail + ahead available
 * (split: avail_event; packed: device event suppression). */
void dev_want_kick(struct dev *d, uint16_t ahead);
/* Loop every waiting TX packet back into RX buffers; returns how many. */
unsigned dev_loop(struct dev *tx, struct dev *rx);

/* The front end the tests drive, and its vqs 0 and 1 of num entries,
 * split or packed (64 MiB of guest memory in QEMU's layout). */
extern struct mfe fe;
void setup_vqs(unsigned num, bool packed);
/* Read an eventfd's counter (0 when nothing was signalled). */
uint64_t kicks_pending(int fd);

#endif

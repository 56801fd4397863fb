/* A virtio-net driver model over two driver-side rings of a struct mfe:
 * RX = vq 2k, TX = vq 2k+1 of queue pair k.
 *
 * Frames are copied into fixed per-slot buffers of a guest-memory pool
 * (one slot per ring entry, allocated once): nothing is allocated per
 * packet.  Every frame carries the 12-byte virtio_net_hdr_v1 (VERSION_1).
 * With MRG_RXBUF, RX buffers are small and one packet may span num_buffers
 * of them; mfe_net_rx_poll reassembles it.
 */
#ifndef MFE_NET_H
#define MFE_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "mfe.h"
#include "mfe_ring.h"

#define MFE_NET_F_MRG_RXBUF   15
#define MFE_NET_HDR_LEN       12u
#define MFE_NET_MAX_FRAME     1518u     /* default TX slot / RX buffer payload */
#define MFE_NET_MRG_BUF       2048u     /* default MRG_RXBUF buffer size */
#define MFE_NET_MAX_PACKET    65550u    /* reassembly limit (64 KiB + header room) */

struct mfe_net_hdr {            /* struct virtio_net_hdr_v1 */
    uint8_t flags, gso_type;
    uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
};

struct mfe_frame {
    const void *data;
    uint32_t len;
};

struct mfe_net_opts {
    uint64_t features;      /* 0: f->acked_features */
    unsigned max_frame;     /* 0: MFE_NET_MAX_FRAME (TX slots; RX buffers without MRG) */
    unsigned mrg_buf;       /* 0: MFE_NET_MRG_BUF (RX buffer size with MRG_RXBUF) */
    bool tx_split_hdr;      /* header and frame in two descriptors, not one */
    bool indirect;          /* post TX chains as indirect tables (needs the feature) */
};

struct mfe_net_pool {           /* fixed slots in guest memory + a free stack */
    uint64_t gpa;
    uint8_t *hva;
    uint32_t slot_len;
    uint16_t *free;
    unsigned nfree, n;
};

struct mfe_net {
    struct mfe_mem *mem;
    struct mfe_ring rx, tx;
    int rx_kick, rx_call, tx_kick, tx_call;
    bool mrg, split_hdr, indirect;
    uint32_t max_frame;
    struct mfe_net_pool rxp, txp;

    /* MRG_RXBUF reassembly, kept across polls */
    uint8_t *reasm;
    uint32_t reasm_len;
    unsigned reasm_left;        /* buffers still owed to the packet */
    bool reasm_drop;            /* the packet is bad: consume, do not deliver */

    uint64_t tx_frames, tx_bytes, rx_frames, rx_bytes, rx_errors, tx_too_big;
};

/* How many one-buffer chains could be posted from pool p on ring r now:
 * the smaller of the pool's free slots and the ring's free descriptors. */
static inline unsigned mfe_net_room(const struct mfe_net_pool *p, const struct mfe_ring *r)
{
    unsigned f = mfe_ring_free(r);
    return p->nfree < f ? p->nfree : f;
}

typedef void (*mfe_net_rx_cb)(void *arg, const uint8_t *frame, uint32_t len);

/* Build the model on pair's vqs of f (already laid out: mfe_vq_setup for
 * split, mfe_ring_vq_packed when RING_PACKED is in the features).
 * 0 or -errno. */
int mfe_net_init(struct mfe_net *n, struct mfe *f, unsigned pair, const struct mfe_net_opts *o);
void mfe_net_destroy(struct mfe_net *n);

/* Post up to count frames (each copied with a zero header), one kick for
 * the batch when the device wants one.  Reclaims finished TX first.
 * Returns frames posted (fewer when the ring is full) or -errno. */
int mfe_net_tx(struct mfe_net *n, const struct mfe_frame *frames, unsigned count);
/* Take back finished TX chains; returns how many. */
int mfe_net_reclaim_tx(struct mfe_net *n);
/* Fill every free RX slot; one kick.  Returns buffers posted or -errno. */
int mfe_net_rx_refill(struct mfe_net *n);
/* As mfe_net_rx_refill, but post at most max buffers. */
int mfe_net_rx_refill_max(struct mfe_net *n, unsigned max);
/* Deliver up to max received frames (without header) in order to cb.  The
 * frame pointer is valid only during the call.  Returns frames delivered;
 * bad packets are counted in rx_errors (and ring errors in rx.errors). */
int mfe_net_rx_poll(struct mfe_net *n, mfe_net_rx_cb cb, void *arg, unsigned max);
/* Wait up to timeout_ms for a used RX entry: 1 ready, 0 timeout, -errno. */
int mfe_net_wait_rx(struct mfe_net *n, int timeout_ms);

/* Generator: post frame_len-byte frames in batches, one kick per batch at
 * most, counting what comes back on RX; the frames are written into the
 * TX slots once, so a frame costs no copy and no system call. */
struct mfe_gen_opts {
    uint32_t frame_len;
    uint64_t count;          /* stop after this many TX frames (0: use duration) */
    unsigned duration_ms;    /* stop after this long (when count is 0) */
    unsigned batch;          /* frames per kick, 0: 32 */
    int stall_ms;            /* give up after this long without progress */
};
struct mfe_gen_stats {
    uint64_t tx, rx, kicks, kicks_suppressed, waits;
    uint64_t ns;             /* elapsed */
};
/* 0, -ETIMEDOUT when the device stalled, or -errno. */
int mfe_net_gen_run(struct mfe_net *n, const struct mfe_gen_opts *o, struct mfe_gen_stats *st);

#endif

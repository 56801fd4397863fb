/* Numbered datapath traffic, for every case that moves frames (datapath,
 * reconnect, restart, hardening): variants, numbered frames, and the
 * accounting that says what came back, what was lost, duplicated,
 * reordered or corrupted.
 *
 * Every frame carries its sending pair and a sequence number; its length
 * and every payload byte follow from (pair, seq), so a received frame is
 * checked byte for byte against the one that was sent without keeping a
 * copy. */
#ifndef VHC_DATAPATH_TRAFFIC_H
#define VHC_DATAPATH_TRAFFIC_H

#include <stdbool.h>
#include <stdint.h>

#include "caseapi.h"
#include "mfe_net.h"

#define DP_MAX_PAIRS  2u
#define DP_RING       256u     /* every ring's size */
#define DP_BATCH      32u      /* frames per kick */
/* Nothing moved for this long: stalled.  Sized for two busy cores where a
 * polling back end (DPDK) shares its core with another job's and with
 * other work: a pause of a few seconds is load, not a stall, and the
 * window costs time only when the back end really stalled.  Both follow
 * --timeout-scale (vhc_ms). */
#define DP_STALL_MS   vhc_ms(10000)
#define DP_SETTLE_MS  vhc_ms(100)   /* a back end that is done is quiet after this */

/* One row of a variant table: what to negotiate and how to drive it. */
struct dp_variant {
    unsigned pairs;          /* queue pairs driven (1 or 2) */
    bool packed;             /* RING_PACKED */
    bool indirect;           /* INDIRECT_DESC negotiated, TX posted indirect */
    bool mrg;                /* MRG_RXBUF negotiated */
    bool event_idx;          /* EVENT_IDX negotiated */
    bool split_hdr;          /* TX header and frame in two descriptors */
    uint32_t max_len;        /* largest frame: 1518, or 9000 (with mrg) */
    bool iommu;              /* IOMMU_PLATFORM negotiated: addresses are IOVAs, and
                                dp_wait answers the back-end channel (mfe_iotlb.h) */
    bool no_enable;          /* started as a resume with every pair disabled: no
                                SET_VRING_ENABLE at all (the ring-state cases) */
    bool no_protocol_bit;    /* SET_FEATURES without PROTOCOL_FEATURES (bit 30) */
};

/* What one pair's TX queue sent and what came back of it. */
struct dp_stream {
    uint32_t sent, got, dups, reordered, corrupt;
    uint32_t next[DP_MAX_PAIRS];   /* per RX pair: lowest seq still in order */
    uint8_t *seen;                 /* [cap]: times each seq came back */
    uint32_t cap;
};

struct dp {
    struct vhc_ctx *ctx;
    const struct dp_variant *v;
    unsigned pairs;
    struct mfe_net net[DP_MAX_PAIRS];
    struct dp_stream st[DP_MAX_PAIRS];
    uint32_t stray;                /* frames no stream can claim */
    char first_bad[256];           /* the first problem seen, for the message */
    bool tx_len_noted;             /* the TX used-len remark is in the transcript */
    uint8_t *batch;                /* DP_BATCH frame buffers */
    long long longest_pause_ms;    /* dp_pump: the longest time nothing moved */
};

/* The virtio features a variant negotiates (offered & QEMU 7.2's guest set,
 * adjusted by the row). */
uint64_t dp_features(const struct vhc_ctx *ctx, const struct dp_variant *v);
/* Start the rings as QEMU 7.2 does with the variant's features, build one
 * driver per pair, and size the streams for up to cap frames each.  RX is
 * not filled: the caller decides how much to post. */
void dp_start(struct dp *d, struct vhc_ctx *ctx, const struct dp_variant *v, uint32_t cap);
void dp_destroy(struct dp *d);

/* Length of frame seq: the boundary sizes first, then a spread over
 * [60, max_len]. */
uint32_t dp_frame_len(const struct dp_variant *v, uint32_t seq);
/* Post up to count next frames of pair p (as many as fit); returns how many. */
unsigned dp_send(struct dp *d, unsigned p, unsigned count);
/* Take every received frame of RX pair p into the accounting; returns how
 * many buffers' worth of frames arrived.  Ends the case on a broken ring. */
unsigned dp_receive(struct dp *d, unsigned p);
/* Post up to max RX buffers on pair p (~0u: all free ones). */
void dp_refill(struct dp *d, unsigned p, unsigned max);
/* Sleep until some call eventfd of any ring fires, up to ms.  true when one
 * did (or entries were already waiting). */
bool dp_wait(struct dp *d, int ms);

/* The traffic loop: send until each pair has sent count frames (a total
 * since dp_start), keeping at most window frames unanswered, receiving and
 * refilling as it goes, until every frame is back or nothing moved for
 * DP_STALL_MS.  `lost` frames are known gone (a killed back end had them,
 * a stopped RX ring dropped them): they neither hold the window nor are
 * waited for; 0 when every frame must come back.  Returns true when every
 * frame but those came back. */
bool dp_pump(struct dp *d, uint32_t count, unsigned window, uint32_t lost);
/* Receive (and refill when asked) until nothing moves for ms: what a back
 * end still has in hand is given time to arrive. */
void dp_drain(struct dp *d, int ms, bool refill);
/* The largest window no correct back end needs to drop for: RX buffers
 * posted divided by the buffers the largest frame takes. */
unsigned dp_window(const struct dp *d);

/* "pair 0: sent 2000, back 1990, lost 10, duplicated 0, out of order 0,
 * corrupt 0; ..." and the first problem, into buf. */
const char *dp_summary(const struct dp *d, char *buf, size_t cap);
/* Totals over every stream. */
uint32_t dp_lost(const struct dp *d);  /* sent and not (yet) back */
uint32_t dp_bad(const struct dp *d);   /* duplicated + reordered + corrupt + stray */
/* CLOCK_MONOTONIC in milliseconds, for a body's own deadlines */
long long dp_now_ms(void);

/* Fill every RX buffer of pair p with byte and post the free ones; returns
 * the buffers.  Then dp_check_canaries: each must still hold only byte, and
 * the RX ring have no used entry (rule, `when` for the message). */
unsigned dp_plant_canaries(struct dp *d, unsigned p, uint8_t byte);
void dp_check_canaries(struct dp *d, unsigned p, uint8_t byte, const char *rule,
                       const char *when);

/* The liveness tail of a case that fed the back end something hostile: QEMU
 * init on the current (new) connection, new QEMU memory, one pair started,
 * 64 frames looped back intact (rule hardening.recover); `after` names the
 * input, for the message.  virtio-net only. */
void dp_recover(struct vhc_ctx *ctx, const char *after);

/* in a case file, each step notes the case's line (caseapi.h, VHC_STEP) */
#ifndef VHC_CASEAPI_IMPL
#define dp_start(d, ctx, ...) VHC_STEP(ctx, dp_start(d, ctx, __VA_ARGS__))
#define dp_send(d, ...) VHC_STEP((d)->ctx, dp_send(d, __VA_ARGS__))
#define dp_receive(d, ...) VHC_STEP((d)->ctx, dp_receive(d, __VA_ARGS__))
#define dp_refill(d, ...) VHC_STEP((d)->ctx, dp_refill(d, __VA_ARGS__))
#define dp_pump(d, ...) VHC_STEP((d)->ctx, dp_pump(d, __VA_ARGS__))
#define dp_drain(d, ...) VHC_STEP((d)->ctx, dp_drain(d, __VA_ARGS__))
#define dp_plant_canaries(d, ...) VHC_STEP((d)->ctx, dp_plant_canaries(d, __VA_ARGS__))
#define dp_check_canaries(d, ...) VHC_STEP((d)->ctx, dp_check_canaries(d, __VA_ARGS__))
#define dp_recover(ctx, ...) VHC_STEP(ctx, dp_recover(ctx, __VA_ARGS__))
#endif

#endif

/* The benchmark's traffic loop over a mock front end's virtio-net model.
 *
 * Like mfe_net_gen_run (batches, one kick per batch at most, RX consumed
 * and refilled in the same loop, no system call per packet), but every
 * frame carries a sequence number, so what comes back is checked: each RX
 * frame must have the posted length and a sequence number that was sent and
 * is newer than the previous one; once per second (and on the first frame)
 * a whole frame is compared byte for byte with what was sent.
 */
#ifndef BENCH_GEN_H
#define BENCH_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "mfe_net.h"

#define BENCH_MIN_FRAME 24u   /* Ethernet header + sequence number */

struct bench_counts {
    uint64_t tx, rx, rx_bytes;
    uint64_t kicks, calls, waits;
    uint64_t checked;         /* frames compared byte for byte */
    uint64_t bad;             /* wrong length, unknown or old sequence, content */
};

struct bench_gen {
    struct mfe_net *n;
    uint32_t frame_len;
    unsigned batch;
    int stall_ms;
    uint64_t next_seq;        /* sequence number of the next TX frame */
    uint64_t last_rx_seq;     /* newest sequence number seen on RX, +1 */
    uint64_t check_at_ns;     /* next byte-for-byte check is due */
    uint64_t stop_rx;         /* end a run after this many RX frames (0: by time) */
    bool lockstep;            /* post a batch only when the last one is all back */
    /* --working-set: TX frames rotate through ws_slots slots from ws_gpa */
    uint8_t *ws_hva;
    uint64_t ws_gpa;
    unsigned ws_slots, ws_next;
    struct bench_counts c;    /* running totals */
    char err[160];            /* first bad frame, described */
};

/* Prepare n's TX slots (the fixed frame pattern) and post every RX buffer. */
int bench_gen_init(struct bench_gen *g, struct mfe_net *n, uint32_t frame_len,
                   unsigned batch, int stall_ms);
/* Run for duration_ns; out gets this period's counts.  0, -ETIMEDOUT when
 * nothing moved for stall_ms, or -errno (ring errors). */
int bench_gen_run(struct bench_gen *g, uint64_t duration_ns, struct bench_counts *out,
                  uint64_t *elapsed_ns);

/* Rotate TX frames through bytes of guest memory (allocated from f's
 * memory, the pattern written once): the back end reads every frame from
 * lines the last-level cache no longer holds.  0 or -ENOMEM. */
int bench_gen_working_set(struct bench_gen *g, struct mfe_mem *mem, uint64_t bytes);

/* This machine's memcpy on the same terms: frame_len-byte copies from
 * slots rotating through ws_bytes into dst_slots fixed slots (the RX
 * buffers), for about seconds.  Bytes per second, or 0 on no memory. */
double bench_memcpy_rate(uint32_t frame_len, uint64_t ws_bytes, unsigned dst_slots,
                         double seconds);

uint64_t bench_now_ns(void);

#endif

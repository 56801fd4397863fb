/* Datapath workers: one thread per queue pair (RX ring 2p, TX ring 2p+1).
 *
 * Hand-over with the control thread: before it handles any request, the
 * control thread parks every worker (ref_dp_park: the worker finishes its
 * burst, publishes its used entries and waits on a condition variable);
 * after the request it resumes them (ref_dp_resume).  So a worker never
 * runs while a ring, a file descriptor or the memory table changes, and
 * GET_VRING_BASE reads a ring state in which everything consumed has been
 * written to the used ring.  The mutex hand-over orders all of it. */
#ifndef REFNET_WORKER_H
#define REFNET_WORKER_H

#include <pthread.h>

#include "dp.h"
#include "fault.h"
#include "switch.h"

#define REF_BOUNCE 2048u          /* --equal-work host buffer: header + frame */

enum ref_req { REF_RUN, REF_PARK, REF_QUIT };

struct ref_worker {
    struct ref_session *s;
    unsigned pair;
    pthread_t th;
    bool started;
    int wake_fd;                /* eventfd: interrupts the worker's poll */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Atomic int req;            /* enum ref_req */
    bool parked;                /* under mu */
    bool done;                  /* under mu: the thread is leaving worker_main */
    struct ref_guard guard;     /* recovery from faults in guest memory (fault.h) */
    void *scratch;              /* heap frame being filled from guest memory: freed
                                   if the copy faults */

    /* worker-only state, set at each resume */
    struct ref_vring *rx, *tx;  /* armed rings of the pair, or NULL */
    struct ref_net net;
    int port_fd;                /* TAP queue, or -1 (loopback, switch) */
    struct ref_switch *sw;      /* --mode switch, else NULL */
    int sw_efd;                 /* this pair's inbox eventfd, or -1 */
    struct ref_sw_frame *sw_pend;   /* switch frame waiting for RX room */
    int64_t starved_since;      /* ms when RX last had no room, 0: not starved */
    uint32_t pend_len;          /* TAP frame waiting for RX room */
    uint8_t pend[REF_MAX_FRAME];
    /* --equal-work: the host buffers a burst's frames pass through (loop.c) */
    uint8_t bounce[REF_BURST][REF_BOUNCE];
};

struct ref_dp {
    struct ref_worker w[REF_MAX_QUEUE_PAIRS];
};

/* loop.c: the loopback fast path; 1 work done, 0 idle, or REF_LOOP_GENERAL:
 * nothing done, the general path (ref_fwd_burst) must take this burst. */
#define REF_LOOP_GENERAL 2
int ref_loop_burst(struct ref_worker *w);
/* One burst each way: 1 work done, 0 idle, -1 waiting for RX buffers. */
int ref_fwd_burst(struct ref_worker *w);
/* The switch frame held for RX room is dropped (counted on the RX ring). */
void ref_fwd_drop_pending(struct ref_worker *w);
/* rarp.c: send the frame SEND_RARP asked for, once there is room. */
void ref_rarp_burst(struct ref_worker *w);

#endif

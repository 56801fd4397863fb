/* --mode switch: several vhost-user sockets are the ports of one learning
 * L2 switch.
 *
 * Each port is a front-end connection with its own session, control thread
 * and datapath workers (main.c, worker.h).  A frame from port X's guest TX
 * is copied out of X's guest memory into a heap buffer, its source MAC is
 * learned for X, and it is queued to the destination port's inbox: the
 * learned port for a known unicast address, every other port for broadcast,
 * multicast and unknown unicast, never back to X.  Y's worker takes frames
 * from its inbox and writes them into Y's guest RX ring.
 *
 * Hand-off between threads: an inbox (one per port and queue pair) is a
 * bounded queue of frame copies under a mutex, plus an eventfd that the
 * producer signals when the queue goes from empty to non-empty (the
 * consumer's idle poll includes it).  A full inbox drops the frame
 * (drop_full); a closed inbox drops it too (drop_down).
 *
 * Why parking still works: a worker of X never touches Y's rings, fds or
 * memory table, only Y's inbox (heap memory and a mutex, which live as long
 * as the switch).  So Y's control thread parks only Y's own workers before
 * it changes Y's state; X's workers go on queueing into Y's inbox meanwhile
 * (bounded; delivered after the resume).  An inbox is opened by its pair's
 * worker when it takes an armed RX ring at resume, and closed (and purged,
 * counted as drop_down) when it resumes without one, and by the control
 * thread when the connection ends (after the port's workers are joined).
 *
 * The MAC table is shared by every worker of every port: a bounded hash
 * table (REF_SW_MACS entries, REF_SW_PROBE slots probed per address) under
 * its own mutex; entries age out after REF_SW_AGE_MS, and a full probe
 * window replaces its oldest entry.  A port's entries are forgotten when
 * its connection ends. */
#ifndef REFNET_SWITCH_H
#define REFNET_SWITCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "refnet.h"

#define REF_SW_MAX_PORTS REF_MAX_PORTS
#define REF_SW_INBOX     256u       /* frames queued per inbox */
#define REF_SW_MACS      1024u      /* MAC table entries (power of two) */
#define REF_SW_PROBE     8u
#define REF_SW_AGE_MS    300000     /* learned addresses age out (5 min) */
#define REF_ETH_HLEN     14u

struct ref_sw_frame {
    uint32_t len;
    uint8_t data[];
};

struct ref_sw_inbox {
    pthread_mutex_t mu;
    bool open;                              /* under mu */
    struct ref_sw_frame *q[REF_SW_INBOX];   /* under mu */
    unsigned head, count;                   /* under mu */
    int efd;                                /* eventfd: "no longer empty" */
};

/* Per-port counters (relaxed atomics: several writers). */
struct ref_sw_stats {
    _Atomic uint64_t in;            /* frames queued to this port */
    _Atomic uint64_t drop_down;     /* for this port while it was not ready */
    _Atomic uint64_t drop_full;     /* for this port while its inbox was full */
    _Atomic uint64_t filtered;      /* from this port, to an address behind it */
    _Atomic uint64_t runt;          /* from this port, shorter than an Ethernet header */
};

struct ref_sw_port {
    struct ref_sw_inbox inbox[REF_MAX_QUEUE_PAIRS];
    struct ref_sw_stats st;
};

struct ref_sw_mac {
    uint8_t mac[6];
    bool used;
    unsigned port;
    int64_t seen_ms;
};

struct ref_switch {
    unsigned nports;
    struct ref_sw_port port[REF_SW_MAX_PORTS];
    pthread_mutex_t mac_mu;
    struct ref_sw_mac mac[REF_SW_MACS];     /* under mac_mu */
};

/* NULL (logged) when out of memory or eventfds. */
struct ref_switch *ref_sw_create(unsigned nports);
/* Only after every worker of every port has stopped. */
void ref_sw_destroy(struct ref_switch *sw);

/* Guest TX of (port, pair): learn, then queue copies to the destinations.
 * Takes the frame (len >= 0 bytes of plain Ethernet, no virtio header). */
void ref_sw_forward(struct ref_switch *sw, unsigned port, unsigned pair,
                    struct ref_sw_frame *f);
/* Next frame for (port, pair)'s RX, or NULL; the caller frees it. */
struct ref_sw_frame *ref_sw_take(struct ref_switch *sw, unsigned port, unsigned pair);
/* Open or close (purging) one inbox. */
void ref_sw_set_open(struct ref_switch *sw, unsigned port, unsigned pair, bool open);
/* Connection end: close every inbox of port and forget its addresses. */
void ref_sw_port_down(struct ref_switch *sw, unsigned port);
int ref_sw_efd(const struct ref_switch *sw, unsigned port, unsigned pair);
void ref_sw_print_stats(struct ref_switch *sw, unsigned port);

#endif

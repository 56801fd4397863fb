/* vhost-refnet: the reference vhost-user-net back end (control plane).
 *
 * Threading plan
 * --------------
 * The control plane is one thread per port: a poll loop in main.c over the
 * port's listening socket and its one connected front end; every request is
 * handled to the end (reply included) before the next is read.  All state
 * below belongs to that thread.  There is one port, except in --mode switch,
 * where each --socket is a port with its own control thread, session and
 * workers; the ports share nothing but the switch (switch.h).
 *
 * The datapath, when it comes, adds one worker per queue pair (RX ring 2*i,
 * TX ring 2*i+1).  A worker only ever looks at a ring whose `armed` flag is
 * set, and only through the ring's translated pointers (desc/avail/used),
 * never through the memory table.  The control plane keeps that promise by
 * calling ref_vring_disarm() before it changes anything a worker could be
 * using (ring fields, kick/call fds, the memory mappings) and
 * ref_vring_rearm() afterwards.  Today disarm just clears the flag; with
 * workers it will become "clear the flag, then wait until the worker says it
 * left the ring" (a per-ring generation counter or a pthread barrier), which
 * is why every change already goes through those two calls.
 * A new memory table is mapped first, ring pointers are re-translated into
 * it while the rings are disarmed, and only then is the old table unmapped.
 * In --mode switch another port's workers never touch this port's rings or
 * memory (they queue heap copies into its inbox), so parking this port's own
 * workers is still all a change needs (switch.h explains).
 *
 * Guest memory is the front end's, and so is its size: only workers ever
 * dereference it (the control thread translates addresses, never reads
 * through them), each with a recovery point for the SIGBUS a shrunk file
 * raises (fault.h).  No fd the front end gave us is read or written in a way
 * that can sleep (fdio.c), so parking always ends (worker.c).
 */
#ifndef REFNET_H
#define REFNET_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhu.h"

#define REF_MAX_QUEUE_PAIRS 8u
#define REF_MAX_RINGS       (2u * REF_MAX_QUEUE_PAIRS)
#define REF_MAX_MEM_SLOTS   32u      /* GET_MAX_MEM_SLOTS / ADD_MEM_REG */
#define REF_MAX_RING_NUM    32768u
#define REF_WHY_MAX         160u
#define REF_MAX_PORTS       16u      /* --socket given this often (--mode switch) */
#define REF_CONFIG_LEN      24u      /* struct virtio_net_config (config.c) */

/* ---- options (main.c) ---- */
struct ref_switch;

struct ref_opts {
    const char *socket_path;    /* this port's socket (the first --socket) */
    const char *sockets[REF_MAX_PORTS];     /* every --socket, in order */
    unsigned nsockets;
    unsigned port;              /* --mode switch: this copy's port number */
    struct ref_switch *sw;      /* --mode switch: the shared switch, else NULL */
    bool client;
    unsigned queues;            /* queue pairs, 1..REF_MAX_QUEUE_PAIRS */
    unsigned max_mem_slots;     /* SET_MEM_TABLE limit, 1..VHU_MAX_REGIONS */
    bool reply_ack;
    bool once;
    bool verbose;
    bool poll;                  /* datapath workers busy-poll (--poll) */
    bool equal_work;            /* --equal-work: offloads offered, two copies (loop.c) */
    const char *mode;           /* "loopback", "tap" or "switch" */
    const char *tap;            /* --tap NAME */
    int tap_fds[REF_MAX_QUEUE_PAIRS];   /* one TAP queue per pair, or -1 */
};

/* ---- memory table (mem.c) ---- */
struct ref_region {
    uint64_t gpa, size, uaddr, mmap_offset;
    uint64_t dev, ino;  /* the backing file (fstat), to recognise it again */
    unsigned refs;      /* ADD_MEM_REGs that named this region (QEMU sends one
                           per vhost device, i.e. per queue pair) */
    void *map;          /* what mmap returned */
    size_t map_len;     /* size + delta */
    uint64_t delta;     /* mmap_offset - the page-aligned offset mapped */
};

struct ref_mem {
    struct ref_region r[REF_MAX_MEM_SLOTS];
    unsigned n;
    struct ref_iotlb *tlb;      /* IOMMU_PLATFORM: addresses are IOVAs (iotlb.h), else NULL */
};

/* Maps one region from fd (the fd is not consumed).  0, or -1 with why. */
int ref_region_map(const struct vhu_region *in, int fd, struct ref_region *out,
                   char *why, size_t cap);
void ref_region_unmap(struct ref_region *r);
void ref_mem_init(struct ref_mem *m);
void ref_mem_clear(struct ref_mem *m);
/* 0 when `in` overlaps no region of m in guest-physical space. */
int ref_mem_check_overlap(const struct ref_mem *m, const struct vhu_region *in,
                          char *why, size_t cap);
/* Our pointer for the front end's [uaddr, uaddr+len), which must lie inside
 * one region; NULL otherwise.  Overflow-safe. */
void *ref_mem_uaddr(const struct ref_mem *m, uint64_t uaddr, uint64_t len);
/* The same for guest-physical addresses (for the datapath). */
void *ref_mem_gpa(const struct ref_mem *m, uint64_t gpa, uint64_t len);
/* Index of the region matching gpa/size/uaddr exactly, or -1. */
int ref_mem_find(const struct ref_mem *m, const struct vhu_region *in);
/* Index of a region identical to `in` mapped from the same file as fd
 * (gpa, size, uaddr, mmap_offset, device and inode), or -1. */
int ref_mem_find_same(const struct ref_mem *m, const struct vhu_region *in, int fd);
/* Does [p, p+len) lie in region i's mapping? */
bool ref_mem_region_holds(const struct ref_mem *m, unsigned i, const void *p);

/* ---- rings (vring.c) ---- */

/* Per-ring counters: written by the ring's worker only (plain load + store,
 * relaxed), read by the control thread for the stats lines. */
struct ref_qstats {
    _Atomic uint64_t packets, bytes, drops, bad;
    _Atomic uint64_t cycles;    /* TX ring: the worker's busy time (worker.c), TSC cycles */
    _Atomic uint64_t bursts;    /* TX ring: the bursts that moved frames, over which cycles ran */
};

/* Device-side ring state (dp.h).  The worker owns it while the ring is
 * armed; the control thread touches it only while every worker is parked. */
struct ref_vq {
    uint16_t last_avail;        /* next avail entry (packed: position) */
    uint16_t avail_cache;       /* split: avail idx last read */
    uint16_t used_idx;          /* next used entry (packed: position) */
    uint16_t signalled;         /* used_idx at the last signal check */
    bool avail_wrap, used_wrap; /* packed wrap counters */
    bool event_idx;
    bool broken;                /* the driver broke the ring: no more work */
    bool held;                  /* packed: a used flags store waits for flush */
    uint16_t held_pos, held_flags;  /* packed: that store (the burst's first) */
    unsigned hint;              /* last memory region hit (translation cache) */
    struct ref_qstats st;
};

struct ref_vring {
    unsigned index;
    uint32_t num;               /* 0 = not set */
    uint32_t base;              /* last_avail_idx as given (packed: bit 15 = wrap) */
    bool addr_set;
    struct vhu_vring_addr addr; /* front-end user addresses, as given */
    int kick_fd, call_fd, err_fd;   /* -1 = none */
    bool kick_set;              /* SET_VRING_KICK seen (fd or polling) */
    bool enabled;               /* SET_VRING_ENABLE state */
    bool started;               /* per spec "Ring states" */
    bool armed;                 /* started && enabled: a worker may run it */
    bool packed;                /* layout the pointers were translated for */
    bool tlb_wait;              /* IOMMU: its addresses wait for an IOTLB UPDATE */
    /* translated ring parts, valid while started */
    void *desc, *avail, *used;
    /* dirty logging of this ring's writes (dirty_log.h), NULL while off */
    const struct ref_vlog *vlog;
    struct ref_vq dp;
};

struct ref_vlog;
struct ref_dlog;
struct ref_iotlb;
struct ref_session;
void ref_vring_init(struct ref_vring *v, unsigned index);
/* Closes the ring's fds and returns it to its initial state. */
void ref_vring_reset(struct ref_vring *v);
void ref_vring_disarm(struct ref_vring *v);
void ref_vring_rearm(struct ref_session *s, struct ref_vring *v);
/* Check alignment and flags of an address message (no memory needed). */
int ref_vring_check_addr(struct ref_session *s, const struct vhu_vring_addr *a);
/* Translate v's addresses through mem into the out pointers. */
int ref_vring_translate(struct ref_session *s, const struct ref_vring *v,
                        const struct ref_mem *mem, void *out[3]);
/* Start the ring if it has a kick and addresses; -1 if those are invalid. */
int ref_vring_try_start(struct ref_session *s, struct ref_vring *v);
void ref_vring_stop(struct ref_vring *v);
/* IOMMU: translate a ring again (after an IOTLB change): started, it waits
 * (disarmed) when its parts are not all mapped; not started, try_start. */
int ref_vring_retranslate(struct ref_session *s, struct ref_vring *v);
/* Replace one of the ring's fds (closes the old one); fd may be -1. */
void ref_vring_set_fd(int *slot, int fd);

/* ---- session (session.c, handlers.c) ---- */
struct ref_session {
    const struct ref_opts *opts;
    int sock;
    bool owner;
    uint64_t features_offered, features;        /* virtio feature bits */
    uint64_t pfeatures_offered, pfeatures;      /* protocol feature bits */
    bool pfeatures_set;                         /* SET_PROTOCOL_FEATURES seen */
    uint8_t status;
    int backend_fd;                             /* SET_BACKEND_REQ_FD, or -1 */
    struct ref_mem mem;
    struct ref_vring rings[REF_MAX_RINGS];
    struct ref_dp *dp;                          /* datapath workers (dp.h) */
    struct ref_dlog *dlog;                      /* SET_LOG_BASE's log, or NULL */
    struct ref_iotlb *tlb;                      /* IOTLB (iotlb.h), or NULL */
    bool tlb_added;                             /* this UPDATE was added before parking */
    bool rarp_pending;                          /* SEND_RARP not yet sent (rarp.c) */
    uint8_t rarp_mac[6];
    uint8_t config[REF_CONFIG_LEN];             /* config space (config.c) */
    bool config_changed;                        /* SET_CONFIG changed it: tell the front
                                                   end (backend_req.c) */
    char why[REF_WHY_MAX];                      /* reason of the last failure */
};

/* ---- datapath (worker.c): the control thread's view ---- */
/* Park every worker (they leave their rings and wait); called before any
 * request is handled.  Idempotent. */
void ref_dp_park(struct ref_session *s);
/* Start or resume a worker for every queue pair with an armed ring. */
void ref_dp_resume(struct ref_session *s);
/* Stop and join every worker (connection end). */
void ref_dp_stop(struct ref_session *s);
/* One stats line per ring that was ever started, on stderr. */
void ref_dp_print_stats(const struct ref_session *s);
/* Device state of a ring starting from v->base / into v->base on stop. */
void ref_vq_start(struct ref_session *s, struct ref_vring *v);
uint32_t ref_vq_base(const struct ref_vring *v);

enum ref_verdict { REF_CONTINUE, REF_CLOSE };

void ref_session_init(struct ref_session *s, const struct ref_opts *o, int sock);
/* The config space of a new session (config.c). */
void ref_config_init(struct ref_session *s);
/* CONFIG_CHANGE_MSG on the back-end channel, when there is one (backend_req.c) */
void ref_backend_config_changed(struct ref_session *s);
/* Unmap all memory, close every fd (the socket too). */
void ref_session_reset(struct ref_session *s);
/* Read and handle one message; REF_CLOSE when the connection must end
 * (EOF, I/O error, rejected input).  *eof tells a clean EOF apart. */
enum ref_verdict ref_session_step(struct ref_session *s, bool *eof);

/* Record why a request failed; always returns -1. */
int ref_fail(struct ref_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
bool ref_has_pf(const struct ref_session *s, unsigned bit);
bool ref_has_feature(const struct ref_session *s, unsigned bit);
/* Ring for a ring request's index, or NULL (with why) when out of range. */
struct ref_vring *ref_ring(struct ref_session *s, uint32_t index);

/* Handler of one request: 0, or -1 after ref_fail().  Fds the handler keeps
 * must be set to -1 in m->fds; the caller closes the rest.  For ALWAYS
 * requests the handler fills *reply's payload (the caller sets header). */
typedef int (*ref_handler)(struct ref_session *s, struct vhu_msg *m, struct vhu_msg *reply);

struct ref_handler_row {
    ref_handler fn;
    bool before_owner;          /* allowed before SET_OWNER */
};
/* Indexed by request number; fn NULL = not supported. */
extern const struct ref_handler_row ref_handlers[VHU_REQ_MAX];

/* ---- TAP port (tap.c) ---- */
/* With --mode tap open one queue per pair into o->tap_fds; 0 or -1 (logged). */
int ref_tap_open(struct ref_opts *o);
void ref_tap_close(struct ref_opts *o);

/* ---- logging (main.c), time (fwd.c) ---- */
int64_t ref_now_ms(void);          /* CLOCK_MONOTONIC, ms */
void ref_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

/* Worker threads, parking, and the wait for kicks (see worker.h).
 *
 * Every loop of a worker is bounded (chains by the queue size, bursts by
 * REF_BURST) and none of its fd calls sleeps (fdio.c), so a park request is
 * answered within a burst.  Should a call sleep all the same (the front end
 * raced us on its own fd), the control thread interrupts it with the nudge
 * signal after PARK_NUDGE_MS and the worker breaks the ring whose fd it was.
 * A kick fd that hangs up or does not behave like an eventfd breaks its
 * ring too: it would otherwise wake the worker in a loop. */
#include "worker.h"

#include "fdio.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#define IDLE_POLL_MS   1000     /* wake now and then even without kicks */
#define NOFD_POLL_MS   1        /* rings without a kick fd are polled */
#define PARK_NUDGE_MS  200      /* not parked by then: interrupt its sleeping call */
#define PARK_WAIT_MS   20       /* nudge again this often */
#define PARK_WARN_MS   2000

static struct ref_vring *armed(struct ref_session *s, unsigned i)
{
    struct ref_vring *v = &s->rings[i];
    return v->armed && !v->dp.broken ? v : NULL;
}

static bool busy_poll(const struct ref_worker *w)
{
    return w->s->opts->poll;
}

/* A ring the worker may still work on and wait for. */
static bool live(const struct ref_vring *v)
{
    return v && !v->dp.broken;
}

/* --mode switch: the pair's inbox is open exactly while its RX ring is
 * armed; a frame held for a ring that went away is dropped. */
static void take_inbox(struct ref_worker *w)
{
    const struct ref_opts *o = w->s->opts;
    w->sw = o->sw;
    w->sw_efd = -1;
    if (!w->sw)
        return;
    ref_sw_set_open(w->sw, o->port, w->pair, w->rx != NULL);
    if (w->rx)
        w->sw_efd = ref_sw_efd(w->sw, o->port, w->pair);
    else
        ref_fwd_drop_pending(w);
}

/* Called at each resume: the pair's rings and features may have changed. */
static void take_rings(struct ref_worker *w)
{
    w->rx = armed(w->s, 2 * w->pair);
    w->tx = armed(w->s, 2 * w->pair + 1);
    ref_net_setup(&w->net, w->s);
    w->port_fd = w->s->opts->tap_fds[w->pair];
    take_inbox(w);
    struct ref_vring *r[2] = { w->rx, w->tx };
    for (unsigned i = 0; i < 2; i++)
        if (r[i] && busy_poll(w))
            ref_ops(r[i])->notify_off(r[i]);
}

/* true when told to quit */
static bool park_here(struct ref_worker *w)
{
    pthread_mutex_lock(&w->mu);
    w->parked = true;
    pthread_cond_broadcast(&w->cv);
    while (atomic_load(&w->req) == REF_PARK)
        pthread_cond_wait(&w->cv, &w->mu);
    w->parked = false;
    bool quit = atomic_load(&w->req) == REF_QUIT;
    if (quit) {
        w->done = true;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    if (!quit)
        take_rings(w);
    return quit;
}

/* Our own eventfds (wake, switch inbox): non-blocking. */
static void drain(int fd)
{
    uint64_t v;
    if (read(fd, &v, sizeof v) < 0 && errno != EAGAIN) {
        /* nothing to do: the next wait tells */
    }
}

/* A kick fd poll() found ready: take the kick, or stop the ring when the fd
 * hung up or is no eventfd (it would be ready for ever). */
static void take_kick(struct ref_vring *v, short revents)
{
    enum ref_fd_io r = ref_fd_drain(v->kick_fd);
    if (r == REF_FD_AGAIN && (revents & (POLLHUP | POLLERR | POLLNVAL)))
        r = revents & POLLHUP ? REF_FD_EOF : REF_FD_DEAD;
    if (!ref_fd_bad(r))
        return;
    char why[REF_WHY_MAX];
    snprintf(why, sizeof why, "its kick fd: %s", ref_fd_io_name(r));
    ref_vq_break(v, why);
}

/* Ask ring v for kicks; false when work arrived meanwhile.  who[i] is the
 * ring whose kick fd is pfd[i]. */
static bool arm_kick(struct ref_vring *v, struct pollfd *pfd, struct ref_vring **who, nfds_t *n,
                     int *timeout)
{
    if (ref_ops(v)->notify_on(v)) {
        ref_ops(v)->notify_off(v);
        return false;
    }
    if (v->kick_fd < 0)
        *timeout = NOFD_POLL_MS;
    else
        who[*n] = v, pfd[(*n)++] = (struct pollfd){ v->kick_fd, POLLIN, 0 };
    return true;
}

/* Sleep until a kick, the TAP queue or the switch inbox, a park request or
 * a timeout.  While blocked on RX room only RX matters (TX is waiting for
 * it), except with the switch, where TX never waits for RX. */
static void idle(struct ref_worker *w, bool blocked)
{
    struct pollfd pfd[4] = { { w->wake_fd, POLLIN, 0 } };
    struct ref_vring *who[4] = { NULL };
    nfds_t n = 1;
    int timeout = IDLE_POLL_MS;
    bool want_rx = blocked || (w->port_fd >= 0 && w->pend_len == 0);
    if (blocked)
        timeout = REF_RX_WAIT_MS;
    if (want_rx && live(w->rx) && !arm_kick(w->rx, pfd, who, &n, &timeout))
        return;
    if ((!blocked || w->sw) && live(w->tx) && !arm_kick(w->tx, pfd, who, &n, &timeout))
        return;
    if (w->sw_efd >= 0 && w->rx && !w->sw_pend)
        pfd[n++] = (struct pollfd){ w->sw_efd, POLLIN, 0 };
    if (w->port_fd >= 0 && w->rx && !want_rx)
        pfd[n++] = (struct pollfd){ w->port_fd, POLLIN, 0 };
    if (w->port_fd >= 0 && w->rx && want_rx && !blocked)
        pfd[n++] = (struct pollfd){ w->port_fd, POLLIN, 0 };
    if (poll(pfd, n, timeout) > 0) {
        for (nfds_t i = 0; i < n; i++) {
            if (!pfd[i].revents || pfd[i].fd == w->port_fd)
                continue;
            if (who[i])
                take_kick(who[i], pfd[i].revents);
            else if (pfd[i].revents & POLLIN)
                drain(pfd[i].fd);
        }
    }
    struct ref_vring *r[2] = { w->rx, w->tx };
    for (unsigned i = 0; i < 2; i++)
        if (live(r[i]))
            ref_ops(r[i])->notify_off(r[i]);
}

/* A fault in guest memory brought us back here (fault.h): the pair's rings
 * are broken and never touched again; a frame half copied out is freed. */
static void fault_recover(struct ref_worker *w)
{
    char why[REF_WHY_MAX];
    snprintf(why, sizeof why, "guest memory at %p faulted (SIGBUS: the file behind it "
             "shrank?)", w->guard.addr);
    free(w->scratch);
    w->scratch = NULL;
    struct ref_vring *r[2] = { w->rx, w->tx };
    for (unsigned i = 0; i < 2; i++)
        if (r[i])
            ref_vq_break(r[i], why);
    w->rx = w->tx = NULL;
    take_inbox(w);
}

/* The busy time of a worker: the cycles of the bursts that moved something,
 * as testpmd's --record-core-cycles counts them, so the two back ends'
 * cycles per frame are measured alike (bench/run.sh).  x86: the TSC (two reads
 * a burst of up to 32 frames); elsewhere nanoseconds. */
static inline uint64_t tsc(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return __rdtsc();
#else
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
#endif
}

static void *worker_main(void *arg)
{
    struct ref_worker *w = arg;
    w->guard.mem = &w->s->mem;
    ref_fault_guard(&w->guard);
    if (sigsetjmp(w->guard.jb, 1) != 0)
        fault_recover(w);
    else
        take_rings(w);
    for (;;) {
        if (atomic_load_explicit(&w->req, memory_order_acquire) != REF_RUN) {
            if (park_here(w))
                break;
            continue;
        }
        uint64_t t0 = tsc();
        int r = ref_fwd_burst(w);
        if (r > 0 && w->tx) {
            ref_count(&w->tx->dp.st.cycles, tsc() - t0);
            ref_count(&w->tx->dp.st.bursts, 1);
        }
        /* --poll spins as a PMD does, also while TX waits for RX room */
        if (r > 0 || (busy_poll(w) && (live(w->rx) || live(w->tx))))
            continue;
        idle(w, r < 0);
    }
    ref_fault_guard(NULL);
    return NULL;
}

static bool pair_armed(const struct ref_session *s, unsigned p)
{
    return s->rings[2 * p].armed || s->rings[2 * p + 1].armed;
}

static int start_worker(struct ref_session *s, struct ref_worker *w, unsigned p)
{
    w->s = s;
    w->pair = p;
    w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (w->wake_fd < 0)
        return -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    atomic_store(&w->req, REF_RUN);
    ref_fault_install();
    sigset_t mask, old;             /* signals stay with the control thread, faults not */
    ref_thread_sigmask(&mask, true);
    pthread_sigmask(SIG_SETMASK, &mask, &old);
    int rc = pthread_create(&w->th, NULL, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        close(w->wake_fd);
        return -1;
    }
    w->started = true;
    return 0;
}

void ref_dp_resume(struct ref_session *s)
{
    if (!s->dp) {
        s->dp = calloc(1, sizeof *s->dp);
        if (!s->dp) {
            ref_log("refnet: out of memory for the datapath");
            return;
        }
    }
    for (unsigned p = 0; p < s->opts->queues; p++) {
        struct ref_worker *w = &s->dp->w[p];
        if (!w->started) {
            if (pair_armed(s, p) && start_worker(s, w, p) < 0)
                ref_log("refnet: cannot start the worker of queue pair %u", p);
            continue;
        }
        pthread_mutex_lock(&w->mu);
        atomic_store(&w->req, REF_RUN);
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
}

static void wake(struct ref_worker *w)
{
    uint64_t one = 1;
    if (write(w->wake_fd, &one, sizeof one) < 0) {
        /* a full counter wakes the worker all the same */
    }
}

/* Tell w to stop at req (PARK or QUIT) and wait until it has.  A worker
 * that takes longer than PARK_NUDGE_MS is inside a call that sleeps: it is
 * nudged (fault.h) every PARK_WAIT_MS until it parks. */
static void halt(struct ref_worker *w, enum ref_req req)
{
    pthread_mutex_lock(&w->mu);
    atomic_store(&w->req, req);
    wake(w);
    pthread_cond_broadcast(&w->cv);
    int64_t t0 = ref_now_ms();
    bool warned = false;
    while (req == REF_PARK ? !w->parked : !w->done) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += PARK_WAIT_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L)
            ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&w->cv, &w->mu, &ts);
        int64_t waited = ref_now_ms() - t0;
        if ((req == REF_PARK ? !w->parked : !w->done) && waited >= PARK_NUDGE_MS)
            pthread_kill(w->th, REF_SIG_NUDGE);     /* alive: done is set under mu */
        if (!warned && waited > PARK_WARN_MS) {
            ref_log("refnet: worker of queue pair %u is slow to park", w->pair);
            warned = true;
        }
    }
    pthread_mutex_unlock(&w->mu);
}

void ref_dp_park(struct ref_session *s)
{
    if (!s->dp)
        return;
    for (unsigned p = 0; p < REF_MAX_QUEUE_PAIRS; p++)
        if (s->dp->w[p].started)
            halt(&s->dp->w[p], REF_PARK);
}

void ref_dp_stop(struct ref_session *s)
{
    if (!s->dp) {
        if (s->opts->sw)
            ref_sw_port_down(s->opts->sw, s->opts->port);
        return;
    }
    for (unsigned p = 0; p < REF_MAX_QUEUE_PAIRS; p++) {
        struct ref_worker *w = &s->dp->w[p];
        if (!w->started)
            continue;
        halt(w, REF_QUIT);
        pthread_join(w->th, NULL);
        if (w->sw)
            ref_fwd_drop_pending(w);
        close(w->wake_fd);
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
    }
    free(s->dp);
    s->dp = NULL;
    if (s->opts->sw)            /* after the joins: no worker of ours is left */
        ref_sw_port_down(s->opts->sw, s->opts->port);
}

void ref_vq_start(struct ref_session *s, struct ref_vring *v)
{
    struct ref_vq *q = &v->dp;
    struct ref_qstats keep;                 /* counters live across restarts */
    keep = q->st;
    *q = (struct ref_vq){ .event_idx = ref_has_feature(s, REF_F_EVENT_IDX) };
    q->st = keep;
    if (v->packed) {
        q->last_avail = q->used_idx = (uint16_t)(v->base & 0x7fff);
        q->avail_wrap = q->used_wrap = (v->base >> 15) & 1;
        q->signalled = (uint16_t)(q->used_idx + (q->used_wrap ? 0 : v->num));
        if (q->last_avail >= v->num)
            ref_vq_break(v, "SET_VRING_BASE position is outside the ring");
        return;
    }
    q->last_avail = q->avail_cache = q->used_idx = q->signalled = (uint16_t)v->base;
}

uint32_t ref_vq_base(const struct ref_vring *v)
{
    if (v->packed)
        return v->dp.last_avail | (v->dp.avail_wrap ? 0x8000u : 0);
    return v->dp.last_avail;
}

static void stats_line(const struct ref_vring *v)
{
    const struct ref_qstats *st = &v->dp.st;
    fprintf(stderr, "refnet: stats ring=%u dir=%s packets=%" PRIu64 " bytes=%" PRIu64
            " drops=%" PRIu64 " bad=%" PRIu64 " cycles=%" PRIu64 " bursts=%" PRIu64 "%s\n",
            v->index, v->index % 2 ? "tx" : "rx",
            atomic_load_explicit(&st->packets, memory_order_relaxed),
            atomic_load_explicit(&st->bytes, memory_order_relaxed),
            atomic_load_explicit(&st->drops, memory_order_relaxed),
            atomic_load_explicit(&st->bad, memory_order_relaxed),
            atomic_load_explicit(&st->cycles, memory_order_relaxed),
            atomic_load_explicit(&st->bursts, memory_order_relaxed),
            v->dp.broken ? " broken=1" : "");  /* workers are parked: no race */
}

void ref_dp_print_stats(const struct ref_session *s)
{
    for (unsigned i = 0; i < 2 * s->opts->queues; i++)
        if (s->rings[i].num)
            stats_line(&s->rings[i]);
    if (s->opts->sw)
        ref_sw_print_stats(s->opts->sw, s->opts->port);
}

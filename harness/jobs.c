/* Worker processes: every run's cases run in them (one without --jobs).
 * The parent hands out item numbers one at a time over a socketpair (so a
 * slow case does not hold back a queue), each worker answers with the
 * serialized result, and the parent releases the results in plan order.
 * A worker is the reaper of what its cases leave, and dies with the parent:
 * it gets SIGTERM and cleans up its case as on a ^C, so a runner killed
 * with SIGKILL still leaves nothing behind. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jobs.h"
#include "reaper.h"

#define NO_ITEM SIZE_MAX

struct worker {
    pid_t pid;
    int fd;                    /* -1 once finished */
    size_t item;               /* being run, or NO_ITEM */
    double since;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int full_io(int fd, void *buf, size_t len, bool out)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = out ? write(fd, p, len) : read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ---- the result on the wire: fixed part, then three strings ---- */

static int send_result(int fd, size_t i, const struct vhc_result *r)
{
    char *const strs[3] = { r->transcript, r->backend_tail, r->case_tail };
    struct vhc_result fixed = *r;
    fixed.transcript = fixed.backend_tail = fixed.case_tail = NULL;
    uint32_t lens[3];
    for (int k = 0; k < 3; k++)
        lens[k] = strs[k] ? (uint32_t)strlen(strs[k]) + 1 : 0;
    if (full_io(fd, &i, sizeof i, true) < 0 || full_io(fd, &fixed, sizeof fixed, true) < 0 ||
        full_io(fd, lens, sizeof lens, true) < 0)
        return -1;
    for (int k = 0; k < 3; k++)
        if (lens[k] && full_io(fd, strs[k], lens[k], true) < 0)
            return -1;
    return 0;
}

static int recv_result(int fd, size_t *i, struct vhc_result *r)
{
    uint32_t lens[3];
    if (full_io(fd, i, sizeof *i, false) < 0 || full_io(fd, r, sizeof *r, false) < 0 ||
        full_io(fd, lens, sizeof lens, false) < 0)
        return -1;
    char **strs[3] = { &r->transcript, &r->backend_tail, &r->case_tail };
    for (int k = 0; k < 3; k++) {
        *strs[k] = NULL;
        if (!lens[k])
            continue;
        if (lens[k] > (1u << 24) || !(*strs[k] = malloc(lens[k])) ||
            full_io(fd, *strs[k], lens[k], false) < 0)
            return -1;
        (*strs[k])[lens[k] - 1] = '\0';
    }
    return 0;
}

/* ---- a worker ---- */

/* The next item; -1 at the end, or once a signal asked us to stop (the
 * parent may be gone: nothing will come). */
static int next_item(int fd, size_t *i, volatile sig_atomic_t *stop)
{
    uint8_t *p = (uint8_t *)i;
    for (size_t got = 0; got < sizeof *i;) {
        ssize_t n = read(fd, p + got, sizeof *i - got);
        if (n < 0 && errno == EINTR && !*stop)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return *i == NO_ITEM ? -1 : 0;
}

static void worker_main(int fd, unsigned job, const struct vhc_jobs_ops *ops,
                        volatile sig_atomic_t *stop) __attribute__((noreturn));
static void worker_main(int fd, unsigned job, const struct vhc_jobs_ops *ops,
                        volatile sig_atomic_t *stop)
{
    size_t i;
    while (!*stop && next_item(fd, &i, stop) == 0) {
        struct vhc_result r = { .verdict = VHC_NOTRUN };
        int rc = ops->work(ops->arg, i, job, &r);
        if (rc == 0 && send_result(fd, i, &r) < 0)
            rc = -1;
        vhc_result_free(&r);
        if (rc < 0)
            break;
    }
    _exit(0);   /* no atexit, no stdio flush: the parent owns the output */
}

/* Worker number job; it closes its copies of the earlier workers' sockets,
 * or their ends would not close when the parent closes them. */
static int spawn(struct worker *all, unsigned job, const struct vhc_jobs_ops *ops,
                 volatile sig_atomic_t *stop)
{
    struct worker *w = &all[job];
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        return -1;
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(sp[0]);
        close(sp[1]);
        return -1;
    }
    if (pid == 0) {
        close(sp[0]);
        for (unsigned k = 0; k < job; k++)
            if (all[k].fd >= 0)
                close(all[k].fd);
        vhc_die_with_parent(parent, SIGTERM);
        vhc_reaper_init();
        worker_main(sp[1], job, ops, stop);
    }
    close(sp[1]);
    *w = (struct worker){ .pid = pid, .fd = sp[0], .item = NO_ITEM };
    return 0;
}

/* ---- the parent ---- */

struct pool {
    struct worker *w;
    unsigned n;
    size_t next, total, released;
    struct vhc_result *res;
    bool *have;
    bool halted;               /* done said stop */
    const struct vhc_jobs_ops *ops;
};

/* Give w the next item, or tell it to stop. */
static void dispatch(struct pool *p, struct worker *w)
{
    size_t i = p->next < p->total ? p->next++ : NO_ITEM;
    if (full_io(w->fd, &i, sizeof i, true) < 0 || i == NO_ITEM) {
        close(w->fd);
        w->fd = -1;
        i = NO_ITEM;
    }
    w->item = i;
    w->since = now_s();
}

static void release(struct pool *p)
{
    while (!p->halted && p->released < p->total && p->have[p->released]) {
        p->halted = !p->ops->done(p->ops->arg, p->released, &p->res[p->released]);
        vhc_result_free(&p->res[p->released]);
        p->released++;
    }
}

/* A worker that died or hung: its item is a crash, the worker is gone. */
static void lose(struct pool *p, struct worker *w, const char *why)
{
    if (w->item != NO_ITEM) {
        struct vhc_result *r = &p->res[w->item];
        memset(r, 0, sizeof *r);
        r->verdict = VHC_CRASH;
        snprintf(r->reason, sizeof r->reason, "job worker %s", why);
        p->have[w->item] = true;
    }
    kill(w->pid, SIGTERM);   /* it cleans up its case and back end first */
    close(w->fd);
    w->fd = -1;
    w->item = NO_ITEM;
}

static void take(struct pool *p, struct worker *w)
{
    size_t i;
    struct vhc_result r;
    memset(&r, 0, sizeof r);
    if (recv_result(w->fd, &i, &r) < 0 || i != w->item) {
        vhc_result_free(&r);
        lose(p, w, "ended without a result");
        return;
    }
    p->res[i] = r;
    p->have[i] = true;
    dispatch(p, w);
}

static bool busy(const struct pool *p)
{
    for (unsigned k = 0; k < p->n; k++)
        if (p->w[k].fd >= 0)
            return true;
    return false;
}

static void serve(struct pool *p, volatile sig_atomic_t *stop)
{
    struct pollfd pf[64];
    while (busy(p) && !*stop && !p->halted) {
        for (unsigned k = 0; k < p->n; k++)
            pf[k] = (struct pollfd){ .fd = p->w[k].fd, .events = POLLIN };
        int rc = poll(pf, p->n, 500);
        for (unsigned k = 0; rc >= 0 && k < p->n; k++) {
            struct worker *w = &p->w[k];
            if (w->fd < 0)
                continue;
            if (pf[k].revents)
                take(p, w);
            else if (w->item != NO_ITEM && now_s() - w->since > p->ops->item_limit_s)
                lose(p, w, "gave no result in time");
        }
        release(p);
    }
}

int vhc_jobs_run(unsigned jobs, size_t total, const struct vhc_jobs_ops *ops,
                 volatile sig_atomic_t *stop)
{
    struct pool p = { .n = jobs < 64 ? jobs : 64, .total = total, .ops = ops };
    p.w = calloc(p.n, sizeof *p.w);
    p.res = calloc(total ? total : 1, sizeof *p.res);
    p.have = calloc(total ? total : 1, sizeof *p.have);
    int rc = p.w && p.res && p.have ? 0 : -1;
    for (unsigned k = 0; k < p.n; k++)
        p.w[k].fd = -1;
    for (unsigned k = 0; rc == 0 && k < p.n; k++)
        if ((rc = spawn(p.w, k, ops, stop)) == 0)
            dispatch(&p, &p.w[k]);
    if (rc == 0)
        serve(&p, stop);
    for (unsigned k = 0; p.w && k < p.n; k++) {
        if (p.w[k].fd >= 0)
            lose(&p, &p.w[k], "stopped");
        while (p.w[k].pid > 0 && waitpid(p.w[k].pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    for (size_t i = p.released; p.have && i < total; i++)
        if (p.have[i])
            vhc_result_free(&p.res[i]);
    bool complete = p.released == total && !p.halted;
    free(p.w);
    free(p.res);
    free(p.have);
    return rc == 0 && complete && !*stop ? 0 : -1;
}

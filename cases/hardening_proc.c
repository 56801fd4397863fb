/* hardening/: what the back end's process does, seen from /proc (so these
 * cases need a back end the runner started, and SKIP with --socket): a kick
 * fd that is always ready must not make it spin, a front end that accepts
 * and closes must not make it reconnect in a loop, and no thread of it may
 * block the signals a fault raises (the kernel then kills the process
 * outright: no sanitizer report, no handler of its own). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hardening_live.h"
#include "hardening_tags.h"

#define BASE_MS     600         /* CPU baseline, rings idle */
#define WATCH_MS    1200        /* CPU with the hostile kick fd */
#define SPIN_CORES  0.15        /* threads idle before using more than this: a spin */
#define IDLE_CORES  0.05        /* a thread below this during the baseline is idle */
#define STORM_MS    3000        /* accept-and-close for this long */
#define STORM_MAX   15u         /* connections allowed meanwhile */
#define KICKQ       1u

static void need_pgid(struct vhc_ctx *ctx)
{
    if (ctx->backend_pgid <= 0)
        VHC_SKIP(ctx, "the back end was not started by the runner (--socket): its "
                      "process cannot be watched");
}

/* Calls fn(pid, arg) for every process in the back end's group. */
static unsigned each_process(pid_t pgid, void (*fn)(pid_t, void *), void *arg)
{
    DIR *d = opendir("/proc");
    unsigned n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        char path[64], buf[1024];
        long pid = strtol(e->d_name, NULL, 10);
        if (pid <= 0)
            continue;
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "re");
        size_t len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        buf[len] = '\0';
        const char *p = strrchr(buf, ')');      /* the name may hold spaces */
        int grp = 0;
        if (p && sscanf(p + 1, " %*c %*d %d", &grp) == 1 && grp == pgid) {
            fn((pid_t)pid, arg);
            n++;
        }
    }
    if (d)
        closedir(d);
    return n;
}

/* CPU time per thread of the back end's group, at one moment. */
#define MAX_THREADS 512u

struct sample {
    struct { long tid; long long ticks; } t[MAX_THREADS];
    unsigned n;
    int64_t ms;
};

/* utime + stime of a /proc stat file, in clock ticks; -1 when unreadable */
static long long stat_ticks(const char *path)
{
    char buf[1024];
    FILE *f = fopen(path, "re");
    size_t len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[len] = '\0';
    const char *p = strrchr(buf, ')');     /* the name may hold spaces */
    unsigned long long ut, st;
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                     &st) != 2)
        return -1;
    return (long long)(ut + st);
}

static void add_threads(pid_t pid, void *arg)
{
    struct sample *s = arg;
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/task", (long)pid);
    DIR *d = opendir(path);
    for (struct dirent *e; d && (e = readdir(d)) && s->n < MAX_THREADS;) {
        long tid = strtol(e->d_name, NULL, 10);
        char file[300];
        snprintf(file, sizeof file, "/proc/%ld/task/%ld/stat", (long)pid, tid);
        long long t = tid > 0 ? stat_ticks(file) : -1;
        if (t >= 0) {
            s->t[s->n].tid = tid;
            s->t[s->n++].ticks = t;
        }
    }
    if (d)
        closedir(d);
}

static void take_sample(struct vhc_ctx *ctx, struct sample *s)
{
    s->n = 0;
    s->ms = hl_now_ms();
    VHC_ASSERT(ctx, each_process(ctx->backend_pgid, add_threads, s) > 0 && s->n > 0,
               "frontend.proc", "no process of group %d in /proc", (int)ctx->backend_pgid);
}

static long long ticks_of(const struct sample *s, long tid)
{
    for (unsigned i = 0; i < s->n; i++)
        if (s->t[i].tid == tid)
            return s->t[i].ticks;
    return -1;
}

/* Cores thread tid used between samples a and b (0 before it existed). */
static double cores_of(const struct sample *a, const struct sample *b, long tid)
{
    long long t0 = ticks_of(a, tid), t1 = ticks_of(b, tid);
    double secs = (double)(b->ms - a->ms) / 1000.0;
    if (t1 < 0 || secs <= 0)
        return 0;
    return (double)(t1 - (t0 < 0 ? 0 : t0)) / (double)sysconf(_SC_CLK_TCK) / secs;
}

/* What the threads that were idle during [b0, b1] (below IDLE_CORES, or not
 * there yet) use during [a0, a1]; *all_before / *all_after: every thread.
 * Threads busy already (a polling datapath) are left out: their share of a
 * contended CPU moves with whatever else runs, a spin of ours does not. */
static double woken_cores(const struct sample *b0, const struct sample *b1,
                          const struct sample *a0, const struct sample *a1,
                          double *all_before, double *all_after)
{
    double woken = 0;
    *all_before = *all_after = 0;
    for (unsigned i = 0; i < b1->n; i++)
        *all_before += cores_of(b0, b1, b1->t[i].tid);
    for (unsigned i = 0; i < a1->n; i++) {
        double after = cores_of(a0, a1, a1->t[i].tid);
        *all_after += after;
        if (cores_of(b0, b1, a1->t[i].tid) < IDLE_CORES)
            woken += after;
    }
    return woken;
}

/* ---- kick fds that are always ready ---- */

enum kick_kind { KICK_PIPE_EOF, KICK_MEMFD };

static int hostile_kick(struct vhc_ctx *ctx, enum kick_kind k)
{
    if (k == KICK_PIPE_EOF) {
        int p[2];
        VHC_ASSERT(ctx, pipe2(p, O_CLOEXEC) == 0, "frontend.pipe", "pipe failed");
        close(p[1]);            /* no writer: reads return 0, poll says POLLHUP */
        return p[0];
    }
    int fd = memfd_create("vhc-kick", MFD_CLOEXEC);
    static const char page[4096] = { 1 };
    VHC_ASSERT(ctx, fd >= 0 && write(fd, page, sizeof page) == sizeof page &&
               lseek(fd, 0, SEEK_SET) == 0, "frontend.memfd", "memfd failed");
    return fd;
}

static void kick_no_spin(struct vhc_ctx *ctx)
{
    const enum kick_kind *k = ctx->c->variant;
    need_pgid(ctx);
    vc_start(ctx, NULL, false);
    hl_stop_ring(ctx, KICKQ);           /* so the hostile kick starts it */
    usleep(100 * 1000);
    static struct sample b0, b1, a0, a1;
    take_sample(ctx, &b0);
    usleep(BASE_MS * 1000);
    take_sample(ctx, &b1);
    int fd = hostile_kick(ctx, *k);
    struct vhu_msg m;
    vhu_msg_u64(&m, VHU_REQ_SET_VRING_KICK, KICKQ);
    vhu_msg_add_fd(&m, fd);
    enum vhc_reject r = vhc_send_invalid(ctx, &m);
    close(fd);
    take_sample(ctx, &a0);
    usleep(WATCH_MS * 1000);
    take_sample(ctx, &a1);
    double before, after, woken = woken_cores(&b0, &b1, &a0, &a1, &before, &after);
    mfe_note(&ctx->fe, "SET_VRING_KICK %u with %s: %s; back end used %.2f cores before, "
             "%.2f after, %.2f of them in threads idle before", KICKQ,
             *k == KICK_PIPE_EOF ? "a pipe without writer" : "a memfd",
             r == VHC_REJ_NACK ? "refused" : r == VHC_REJ_CLOSED ? "closed" : "taken", before,
             after, woken);
    VHC_ASSERT(ctx, woken <= SPIN_CORES, "hardening.spin",
               "expected the back end idle with a kick fd that is always ready (%s); its "
               "threads that were idle before used %.2f cores for %d ms after "
               "SET_VRING_KICK (all threads: %.2f, %.2f before): one wakes in a loop",
               *k == KICK_PIPE_EOF ? "a pipe whose writer is gone" : "a regular file", woken,
               WATCH_MS, after, before);
    vhc_expect_alive(ctx, "hardening.survive");
}

/* ---- reconnect storm (the back end connects, --mode client) ---- */

static void reconnect_backoff(struct vhc_ctx *ctx)
{
    int lfd = ctx->fe.listen_fd;
    VHC_ASSERT(ctx, lfd >= 0, "frontend.listen", "no listening socket in client mode");
    unsigned n = 0;
    int64_t end = hl_now_ms() + STORM_MS;
    for (int64_t left = STORM_MS; left > 0; left = end - hl_now_ms()) {
        struct pollfd p = { lfd, POLLIN, 0 };
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c >= 0) {
            close(c);
            n++;
        }
    }
    mfe_note(&ctx->fe, "accepted and closed at once for %d ms: %u connections", STORM_MS, n);
    VHC_ASSERT(ctx, n <= STORM_MAX, "reconnect.backoff",
               "expected a back end that reconnects with a growing delay (QEMU's reconnect "
               "waits seconds) to connect at most %u times in %d ms when every connection "
               "is closed at once; it connected %u times", STORM_MAX, STORM_MS, n);
    vhc_open(ctx);
    vc_probe(ctx);
    mfe_note(&ctx->fe, "after the storm: connected again and GET_FEATURES answered");
}

/* ---- signal masks ---- */

#define FAULT_MASK ((1ull << (SIGSEGV - 1)) | (1ull << (SIGBUS - 1)) | \
                    (1ull << (SIGILL - 1)) | (1ull << (SIGFPE - 1)))

struct mask_scan {
    unsigned threads, bad;
    char first[400];
};

static void scan_threads(pid_t pid, void *arg)
{
    struct mask_scan *s = arg;
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/task", (long)pid);
    DIR *d = opendir(path);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char file[300], line[256], name[64] = "?";
        unsigned long long blk = 0;
        bool have = false;
        snprintf(file, sizeof file, "/proc/%ld/task/%s/status", (long)pid, e->d_name);
        FILE *f = fopen(file, "re");
        while (f && fgets(line, sizeof line, f)) {
            if (sscanf(line, "Name: %63s", name) == 1)
                continue;
            if (sscanf(line, "SigBlk: %llx", &blk) == 1)
                have = true;
        }
        if (f)
            fclose(f);
        if (!have)
            continue;
        s->threads++;
        if ((blk & FAULT_MASK) && s->bad++ == 0)
            snprintf(s->first, sizeof s->first, "thread %s (%s) blocks 0x%llx", e->d_name,
                     name, blk & FAULT_MASK);
    }
    if (d)
        closedir(d);
}

static void fault_signals(struct vhc_ctx *ctx)
{
    need_pgid(ctx);
    vc_start(ctx, NULL, false);     /* datapath threads, where a back end has them */
    usleep(200 * 1000);
    struct mask_scan s = { 0 };
    each_process(ctx->backend_pgid, scan_threads, &s);
    VHC_ASSERT(ctx, s.threads > 0, "frontend.proc", "no thread of group %d in /proc",
               (int)ctx->backend_pgid);
    mfe_note(&ctx->fe, "%u threads of the back end, %u block a fault signal", s.threads, s.bad);
    VHC_ASSERT(ctx, s.bad == 0, "process.fault-signals",
               "expected no thread of the back end to block SIGSEGV, SIGBUS, SIGILL or SIGFPE "
               "(a fault there kills the process with no handler or sanitizer report); %u "
               "of %u do, the first: %s", s.bad, s.threads, s.first);
}

/* ---- rows ---- */

static const enum kick_kind k_pipe = KICK_PIPE_EOF;
static const enum kick_kind k_memfd = KICK_MEMFD;

#define SPIN_RULE "vhost-user.rst, SET_VRING_KICK: the kick fd is an eventfd the back end " \
    "waits on; one that is always ready (a pipe whose writer is gone, a regular file) may " \
    "be refused, or the ring stopped, but must not make the back end wake in a loop"
#define SPIN_STEPS(what) "QEMU init and start; ring 1 stopped (GET/SET_VRING_BASE); CPU of " \
    "each back-end thread over 600 ms; SET_VRING_KICK 1 with " what " (any outcome); the " \
    "threads idle before (under 0.05 cores) use at most 0.15 cores over 1200 ms; new " \
    "connection served"

const struct vhc_case vhc_cases_hardening_proc[] = {
    { .id = "hardening/fds/kick-pipe-eof-no-spin", .variant = &k_pipe,
      .summary = "a kick fd that is a pipe without writer does not make the back end spin",
      .rule = SPIN_RULE, .steps = SPIN_STEPS("the read end of a pipe whose write end is closed"),
      .timeout_s = 40, .body = kick_no_spin },
    { .id = "hardening/fds/kick-memfd-no-spin", .variant = &k_memfd,
      .summary = "a kick fd that is a regular file does not make the back end spin",
      .rule = SPIN_RULE, .steps = SPIN_STEPS("a 4 KiB memfd"),
      .timeout_s = 40, .body = kick_no_spin },
    { .id = "hardening/reconnect/client-backoff",
      .flags = VHC_F_CLIENT_ONLY | VHC_F_NOCONNECT,
      .summary = "a back end in client mode backs off when every connection is closed at once",
      .rule = "vhost-user.rst, Communication: with the back end as the client, reconnecting "
              "is its job; QEMU's own reconnect waits seconds between attempts, and a back "
              "end that retries at once on a listener that accepts and closes turns into a "
              "connection storm (tens of thousands of sessions per minute)",
      .steps = "--mode client; accept and close every connection for 3 s: at most 15; then "
               "accept within 5 s and GET_FEATURES answered",
      .timeout_s = 30, .body = reconnect_backoff },
    { .id = "hardening/signals/fault-signals-unblocked",
      .summary = "no thread of the back end blocks the signals a fault raises",
      .rule = "POSIX, signal generation: a SIGSEGV, SIGBUS, SIGILL or SIGFPE raised by a "
              "fault in a thread that blocks it kills the process as if unhandled; a back "
              "end whose datapath threads block them dies silently (no sanitizer report, "
              "no crash handler) on the fault a hostile front end provokes",
      .steps = "QEMU init and start (datapath threads exist); every thread of every process "
               "of the back end's group: SigBlk in /proc/PID/task/TID/status has none of "
               "SIGSEGV, SIGBUS, SIGILL, SIGFPE",
      .body = fault_signals },
};
const size_t vhc_cases_hardening_proc_n = ARRAY_LEN(vhc_cases_hardening_proc);

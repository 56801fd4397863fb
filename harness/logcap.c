/* The back end's output, capped: it writes into a pipe, and a small keeper
 * process copies the pipe into the log file.  When the file passes
 * LOG_CAP bytes the keeper keeps only its last LOG_KEEP bytes (from a line
 * start), behind one line that says how much went, so a back end that
 * floods stderr costs at most LOG_CAP of disk and the tail, where a crash
 * report is, survives.
 *
 * The keeper drains the pipe at once, so a back end never blocks on its
 * output.  The runner asks it to catch up (sync) before it reads the log:
 * the keeper then drains what is in the pipe and answers, and the file
 * holds everything written so far.  It ends at the pipe's end (every
 * writer gone), when the runner ends it, or with the runner.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "reaper.h"

#define LOG_CAP   (1u << 20)      /* the file never grows past this */
#define LOG_KEEP  (256u << 10)    /* what a trim keeps */
#define CHUNK     (64u << 10)
#define SYNC_MS   2000            /* a sync waits this long for the answer */
#define SYNC_MAX  (16u << 20)     /* a sync drains at most this much: a writer
                                     that never stops cannot hold it */

/* ---- the keeper ---- */

struct capped {
    int fd;
    off_t size;                /* of the file */
    unsigned long long total;  /* bytes received */
};

/* Keep the last LOG_KEEP bytes, from the first line start in them. */
static void trim(struct capped *c)
{
    static char keep[LOG_KEEP];
    ssize_t n = pread(c->fd, keep, LOG_KEEP, c->size - (off_t)LOG_KEEP);
    if (n <= 0)
        return;
    char *from = memchr(keep, '\n', (size_t)n);
    from = from && from + 1 < keep + n ? from + 1 : keep;
    size_t kept = (size_t)(keep + n - from);
    char head[160];
    int h = snprintf(head, sizeof head,
                     "[vhost-conform: %llu bytes of the back end's output dropped; "
                     "the log keeps its last %u KiB]\n",
                     c->total - kept, (unsigned)(LOG_KEEP >> 10));
    if (pwrite(c->fd, head, (size_t)h, 0) != h ||
        pwrite(c->fd, from, kept, h) != (ssize_t)kept)
        return;
    c->size = h + (off_t)kept;
    if (ftruncate(c->fd, c->size) < 0)
        return;
}

static void put(struct capped *c, const char *buf, size_t n)
{
    c->total += n;
    if (pwrite(c->fd, buf, n, c->size) == (ssize_t)n)
        c->size += (off_t)n;
    if (c->size > (off_t)LOG_CAP)
        trim(c);
}

/* Read what is there (up to max bytes).  Returns false at the pipe's end. */
static bool drain(struct capped *c, int in, size_t max)
{
    static char buf[CHUNK];
    for (size_t got = 0; got < max;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n == 0)
            return false;
        if (n < 0)
            return errno == EAGAIN || errno == EINTR;
        put(c, buf, (size_t)n);
        got += (size_t)n;
    }
    return true;
}

static void keeper_main(int in, int ctl, int log) __attribute__((noreturn));
static void keeper_main(int in, int ctl, int log)
{
    struct capped c = { .fd = log };
    fcntl(in, F_SETFL, O_NONBLOCK);
    for (;;) {
        struct pollfd p[2] = { { .fd = in, .events = POLLIN }, { .fd = ctl, .events = POLLIN } };
        if (poll(p, 2, -1) < 0)
            continue;
        if (p[0].revents && !drain(&c, in, CHUNK))
            break;
        if (p[1].revents) {
            char b;
            if (read(ctl, &b, 1) != 1)
                break;   /* the runner closed it: it is done with us */
            bool more = drain(&c, in, SYNC_MAX);
            if (send(ctl, &b, 1, MSG_NOSIGNAL) != 1 || !more)
                break;
        }
    }
    _exit(0);
}

/* Put the keeper's three fds at 3, 4, 5 and close every other one it
 * inherited (the runner's sockets must not stay open in it). */
static void keeper_fds(int *in, int *ctl, int *log)
{
    int hi[3] = { fcntl(*in, F_DUPFD, 10), fcntl(*ctl, F_DUPFD, 10), fcntl(*log, F_DUPFD, 10) };
    for (int k = 0; k < 3; k++)
        if (hi[k] < 0 || dup2(hi[k], 3 + k) < 0)
            _exit(1);
    close_range(6, ~0u, 0);
    int null_fd = open("/dev/null", O_RDWR);
    if (null_fd >= 0) {   /* stdio: nothing to say, nobody to tell */
        dup2(null_fd, STDIN_FILENO);
        dup2(null_fd, STDOUT_FILENO);
        if (null_fd > 5)
            close(null_fd);
    }
    *in = 3;
    *ctl = 4;
    *log = 5;
}

/* ---- the runner's side ---- */

int vhc_logcap_start(struct vhc_logcap *k, const char *path)
{
    k->pid = 0;
    k->ctl = -1;
    int p[2], s[2];
    int log = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log < 0)
        return -1;
    if (pipe2(p, O_CLOEXEC) < 0) {
        close(log);
        return -1;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) < 0) {
        close(log);
        close(p[0]);
        close(p[1]);
        return -1;
    }
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGINT, SIG_IGN);    /* a ^C is for the runner: it ends us */
        signal(SIGTERM, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        vhc_die_with_parent(parent, SIGKILL);
        int in = p[0], ctl = s[1];
        keeper_fds(&in, &ctl, &log);
        keeper_main(in, ctl, log);
    }
    close(p[0]);
    close(s[1]);
    close(log);
    if (pid < 0) {
        close(p[1]);
        close(s[0]);
        return -1;
    }
    k->pid = pid;
    k->ctl = s[0];
    return p[1];
}

void vhc_logcap_sync(struct vhc_logcap *k)
{
    if (k->pid <= 0 || k->ctl < 0)
        return;
    char b = 's';
    if (send(k->ctl, &b, 1, MSG_NOSIGNAL) != 1)
        return;   /* it has ended: the file is complete */
    struct pollfd p = { .fd = k->ctl, .events = POLLIN };
    while (poll(&p, 1, SYNC_MS) < 0 && errno == EINTR)
        ;
    if (p.revents && read(k->ctl, &b, 1) < 0)
        return;
}

void vhc_logcap_end(struct vhc_logcap *k)
{
    if (k->pid <= 0)
        return;
    vhc_logcap_sync(k);
    close(k->ctl);    /* it ends on its own now; the KILL is for one stuck in a write */
    k->ctl = -1;
    for (int waited = 0; waited < 200; waited += 2) {
        if (waitpid(k->pid, NULL, WNOHANG) == k->pid) {
            k->pid = 0;
            return;
        }
        struct timespec ts = { 0, 2000000 };
        nanosleep(&ts, NULL);
    }
    kill(k->pid, SIGKILL);
    while (waitpid(k->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    k->pid = 0;
}

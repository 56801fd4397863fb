/* `vhost-conform record --listen A --connect B`: a recording proxy.
 *
 * It connects to the back end at B, waits for a front end (QEMU) on A and
 * forwards every message with its fds both ways.  SET_BACKEND_REQ_FD is
 * interposed: the back end gets our socketpair end, so its requests pass
 * through us too (logged with the BREQ prefix).  Every message is written
 * as a .log line (vhu_format_dev) and a .raw line (exact bytes), in the
 * format of fixtures/qemu-7.2/README.md, so recorded traces replay. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "harness.h"
#include "replay_cmd.h"

#define EXIT_USAGE 2
#define SLICE_MS 200          /* poll slices, so a signal is noticed */
#define LINE_BYTES 16384

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

struct proxy {
    const char *listen_path, *connect_path, *log_path, *raw_path;
    bool front_connect;       /* A is the front end's listener: connect to it */
    enum vhu_dev dev;
    const char *dev_name;
    unsigned max_sessions, wait_s;
    unsigned pause_ms;        /* between sessions: a back end that just died may
                                 still accept on its listener while it exits */
    FILE *log, *raw;
    struct timespec t0;
    unsigned seq, session;
    int lfd;                  /* listening for the front end */
    int front, back;          /* this session's sockets */
    int breq_front;           /* the front end's back-end request socket */
    int breq_back;            /* our end of the pair the back end got */
};

static double now_s(const struct proxy *p)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - p->t0.tv_sec) + (t.tv_nsec - p->t0.tv_nsec) / 1e9;
}

static void event(struct proxy *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void event(struct proxy *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(p->log, "# t=%.3f ", now_s(p));
    vfprintf(p->log, fmt, ap);
    fputc('\n', p->log);
    fflush(p->log);
    va_end(ap);
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* ---- the trace ---- */

static void header(struct proxy *p)
{
    struct timespec real;
    clock_gettime(CLOCK_REALTIME, &real);
    clock_gettime(CLOCK_MONOTONIC, &p->t0);
    char when[64];
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&real.tv_sec, &tm));
    struct utsname u;
    uname(&u);
    const char *name = p->log_path ? strrchr(p->log_path, '/') : NULL;
    name = name ? name + 1 : p->log_path ? p->log_path : "stdout";
    fprintf(p->log,
            "# vhost-user trace: %.*s\n"
            "# recorded: %s on %s %s by vhost-conform record\n"
            "# time base: t=0 is T0=%lld.%09ld (epoch s)\n"
            "# proxy: vhost-conform record --listen %s --connect %s --log %s --raw %s "
            "--device %s%s\n"
            "# line format: SEQ t=SECONDS DIR REQUEST(num) flags=0xF[version,REPLY,"
            "NEED_REPLY] size=PAYLOAD_BYTES nfds=N [fds=[kinds]] decoded-payload\n"
            "# DIR: F->B = front end to back end; B->F = back end to front end; 'BREQ' "
            "prefix = back-end request channel (SET_BACKEND_REQ_FD socket)\n"
            "# lines starting with '#' are proxy events (connect/EOF), not messages\n",
            (int)strcspn(name, "."), name, when, u.sysname, u.release,
            (long long)real.tv_sec, real.tv_nsec, p->listen_path, p->connect_path,
            p->log_path ? p->log_path : "-", p->raw_path ? p->raw_path : "-", p->dev_name,
            p->front_connect ? " --front-connect" : "");
    fflush(p->log);
}

/* One message as a .log line and a .raw line. */
static void log_msg(struct proxy *p, const char *dir, enum vhu_channel ch,
                    const struct vhu_msg *m, const char *suffix)
{
    static char line[LINE_BYTES];
    bool is_reply = (m->hdr.flags & VHU_FLAG_REPLY) != 0;
    unsigned seq = ++p->seq;
    vhu_format_dev(line, sizeof line, ch, p->dev, m, is_reply);
    fprintf(p->log, "%04u t=%.3f %s %s%s\n", seq, now_s(p), dir, line, suffix);
    fflush(p->log);
    if (!p->raw)
        return;
    static uint8_t bytes[VHU_HDR_SIZE + VHU_MAX_PAYLOAD];
    size_t n = vhu_encode(m, bytes, sizeof bytes);
    fprintf(p->raw, "%04u %s nfds=%u ", seq, dir, m->nfds);
    for (size_t i = 0; i < n; i++)
        fprintf(p->raw, "%02x", bytes[i]);
    fputc('\n', p->raw);
    fflush(p->raw);
}

/* ---- sockets ---- */

static int unix_socket(const char *path, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa->sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(sa->sun_path, path);
    return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

/* Listen on path.  Only a socket is replaced there (a stale one a killed
 * listener left); anything else stays, and the listen fails with EEXIST.
 * *st is what we bound, so the exit removes our socket and nothing else. */
static int listen_on(const char *path, struct stat *st)
{
    struct stat old;
    if (lstat(path, &old) == 0 && !S_ISSOCK(old.st_mode)) {
        errno = EEXIST;
        return -1;
    }
    struct sockaddr_un sa;
    int fd = unix_socket(path, &sa);
    if (fd >= 0)
        unlink(path);
    if (fd >= 0 && (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1) < 0 ||
                    lstat(path, st) < 0))
        close_fd(&fd);
    return fd;
}

/* Remove the socket we bound, if it is still ours. */
static void unlink_ours(const char *path, const struct stat *ours)
{
    struct stat now;
    if (lstat(path, &now) == 0 && S_ISSOCK(now.st_mode) && now.st_dev == ours->st_dev &&
        now.st_ino == ours->st_ino)
        unlink(path);
}

/* Connect to path, retrying every 50 ms for up to wait_s. */
static int connect_retry(struct proxy *p, const char *path)
{
    unsigned tries = p->wait_s * 20;
    for (unsigned i = 0; i <= tries && !stopping; i++) {
        struct sockaddr_un sa;
        int fd = unix_socket(path, &sa);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            return fd;
        close_fd(&fd);
        usleep(50 * 1000);
    }
    return -1;
}

static int connect_back(struct proxy *p)
{
    return connect_retry(p, p->connect_path);
}

static int accept_front(struct proxy *p)
{
    if (p->front_connect)
        return connect_retry(p, p->listen_path);
    struct pollfd pfd = { .fd = p->lfd, .events = POLLIN };
    for (unsigned waited = 0; waited < p->wait_s * 1000 && !stopping; waited += SLICE_MS)
        if (poll(&pfd, 1, SLICE_MS) > 0)
            return accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
    return -1;
}

/* ---- forwarding ---- */

enum side { FRONT, BACK, BREQ_FRONT, BREQ_BACK, NSIDES };

static const struct {
    const char *dir;          /* as logged */
    enum vhu_channel ch;
    const char *closed;       /* event when it closes */
} sides[NSIDES] = {
    [FRONT] = { "F->B", VHU_CH_FRONT, "front side closed (EOF)" },
    [BACK] = { "B->F", VHU_CH_FRONT, "back side closed (EOF)" },
    [BREQ_FRONT] = { "BREQ F->B", VHU_CH_BACK, "BREQ front side closed (EOF)" },
    [BREQ_BACK] = { "BREQ B->F", VHU_CH_BACK, "BREQ back side closed (EOF)" },
};

static int *fd_of(struct proxy *p, enum side s)
{
    int *fds[NSIDES] = { &p->front, &p->back, &p->breq_front, &p->breq_back };
    return fds[s];
}

static enum side peer_of(enum side s)
{
    static const enum side peer[NSIDES] = { BACK, FRONT, BREQ_BACK, BREQ_FRONT };
    return peer[s];
}

/* SET_BACKEND_REQ_FD: keep the front end's socket, give the back end ours. */
static void interpose(struct proxy *p, struct vhu_msg *m)
{
    int sv[2];
    if (m->hdr.request != VHU_REQ_SET_BACKEND_REQ_FD || m->nfds != 1 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return;
    close_fd(&p->breq_front);
    close_fd(&p->breq_back);
    p->breq_front = m->fds[0];
    p->breq_back = sv[0];
    m->fds[0] = sv[1];
}

/* Forward one message from side s; false when the session is over. */
static bool forward(struct proxy *p, enum side s)
{
    struct vhu_msg m;
    const char *rule = NULL;
    int rc = vhu_recv(*fd_of(p, s), &m, 1000, &rule);
    if (rc < 0) {
        if (rc == VHU_IO_EOF)
            event(p, "%s", sides[s].closed);
        else
            event(p, "%s: %s%s%s", sides[s].dir, vhu_io_strerror(rc), rule ? " " : "",
                  rule ? rule : "");
        close_fd(fd_of(p, s));
        return s >= BREQ_FRONT;   /* the request channel may end on its own */
    }
    /* logged before interposing, so the line shows what the front end sent */
    bool breq = s == FRONT && m.hdr.request == VHU_REQ_SET_BACKEND_REQ_FD && m.nfds == 1;
    log_msg(p, sides[s].dir, sides[s].ch, &m,
            breq ? " (proxy: interposed on backend req channel)" : "");
    if (s == FRONT)
        interpose(p, &m);
    int to = *fd_of(p, peer_of(s));
    rc = to >= 0 ? vhu_send(to, &m) : VHU_IO_EOF;
    vhu_msg_close_fds(&m);
    if (rc < 0)
        event(p, "%s: cannot forward: %s", sides[s].dir, vhu_io_strerror(rc));
    return rc == 0 || s >= BREQ_FRONT;
}

static void pump(struct proxy *p)
{
    while (!stopping) {
        struct pollfd pfd[NSIDES];
        for (int s = 0; s < NSIDES; s++)
            pfd[s] = (struct pollfd){ .fd = *fd_of(p, (enum side)s), .events = POLLIN };
        if (poll(pfd, NSIDES, SLICE_MS) <= 0)
            continue;
        for (int s = 0; s < NSIDES; s++)
            if (pfd[s].fd >= 0 && (pfd[s].revents & (POLLIN | POLLHUP | POLLERR)) &&
                !forward(p, (enum side)s))
                return;
    }
}

static int session(struct proxy *p)
{
    unsigned n = ++p->session;
    p->back = connect_back(p);
    if (p->back < 0) {
        event(p, "session %u: back end did not come up on %s", n, p->connect_path);
        return -1;
    }
    event(p, "session %u: back end connected (connected to %s)", n, p->connect_path);
    if (!p->front_connect)
        event(p, "session %u: listening for front end on %s", n, p->listen_path);
    p->front = accept_front(p);
    if (p->front < 0) {
        event(p, "session %u: no front end", n);
        close_fd(&p->back);
        return -1;
    }
    event(p, "session %u: front end connected (%s %s)", n,
          p->front_connect ? "connected to" : "accepted on", p->listen_path);
    pump(p);
    for (int s = 0; s < NSIDES; s++)
        close_fd(fd_of(p, (enum side)s));
    event(p, "session %u: ended, both sides closed", n);
    return 0;
}

/* ---- the command ---- */

static int parse_args(int argc, char **argv, struct proxy *p)
{
    static const struct option opts[] = {
        { "listen", required_argument, NULL, 'l' }, { "connect", required_argument, NULL, 'c' },
        { "log", required_argument, NULL, 'L' }, { "raw", required_argument, NULL, 'R' },
        { "device", required_argument, NULL, 'd' }, { "sessions", required_argument, NULL, 'n' },
        { "wait", required_argument, NULL, 'w' }, { "help", no_argument, NULL, 'h' },
        { "front-connect", no_argument, NULL, 'f' },
        { "pause-ms", required_argument, NULL, 'p' },
        { NULL, 0, NULL, 0 },
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'l': p->listen_path = optarg; break;
        case 'c': p->connect_path = optarg; break;
        case 'L': p->log_path = optarg; break;
        case 'R': p->raw_path = optarg; break;
        case 'd':
            if (!vhu_dev_by_name(optarg, &p->dev))
                return -1;
            p->dev_name = optarg;
            break;
        case 'n': p->max_sessions = (unsigned)atoi(optarg); break;
        case 'w': p->wait_s = (unsigned)atoi(optarg); if (!p->wait_s) return -1; break;
        case 'p': p->pause_ms = (unsigned)atoi(optarg); break;
        case 'f': p->front_connect = true; break;
        case 'h': return 1;
        default: return -1;
        }
    }
    return optind == argc && p->listen_path && p->connect_path ? 0 : -1;
}

static int open_files(struct proxy *p)
{
    p->log = p->log_path ? fopen(p->log_path, "we") : stdout;
    p->raw = p->raw_path ? fopen(p->raw_path, "we") : NULL;
    if (!p->log || (p->raw_path && !p->raw)) {
        fprintf(stderr, "vhost-conform: cannot write %s: %s\n",
                p->log ? p->raw_path : p->log_path, strerror(errno));
        return -1;
    }
    return 0;
}

static void close_files(struct proxy *p)
{
    if (p->log && p->log != stdout)
        fclose(p->log);
    if (p->raw)
        fclose(p->raw);
}

int vhc_cmd_record(int argc, char **argv)
{
    struct proxy p = { .dev = VHU_DEV_NET, .dev_name = "net", .wait_s = 300, .pause_ms = 500, .lfd = -1,
                       .front = -1, .back = -1, .breq_front = -1, .breq_back = -1 };
    int rc = parse_args(argc, argv, &p);
    if (rc != 0) {
        return rc > 0 ? (vhc_help("record") < 0 ? EXIT_USAGE : 0) : vhc_usage("record");
    }
    if (open_files(&p) < 0) {
        close_files(&p);
        return EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    header(&p);
    struct stat bound = { 0 };
    p.lfd = p.front_connect ? -1 : listen_on(p.listen_path, &bound);
    rc = p.lfd < 0 && !p.front_connect ? -1 : 0;
    if (rc < 0)
        fprintf(stderr, "vhost-conform: cannot listen on %s: %s\n", p.listen_path,
                errno == EEXIST ? "it exists and is not a socket; not removing it"
                                : strerror(errno));
    while (rc == 0 && !stopping && (!p.max_sessions || p.session < p.max_sessions)) {
        if (p.session)
            usleep(p.pause_ms * 1000u);
        rc = session(&p);
    }
    event(&p, "exiting");
    if (p.lfd >= 0)
        unlink_ours(p.listen_path, &bound);
    close_fd(&p.lfd);
    close_files(&p);
    return rc == 0 ? 0 : 1;
}

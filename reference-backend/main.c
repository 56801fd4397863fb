/* vhost-refnet: command line, socket server / client loop, signals.
 *
 * SIGINT and SIGTERM stay blocked except inside ppoll(), so a signal can
 * only interrupt a wait, never a request half handled. */
#include "refnet.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_RETRY_MS 100

static volatile sig_atomic_t stop_requested, stats_requested;
static sigset_t wait_mask;      /* the mask used while waiting: signals open */

void ref_log(const char *fmt, ...)
{
    char line[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        stats_requested = 1;
    else
        stop_requested = 1;
}

static void setup_signals(void)
{
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &wait_mask);
    sigdelset(&wait_mask, SIGINT);
    sigdelset(&wait_mask, SIGTERM);
    sigdelset(&wait_mask, SIGUSR1);
}

/* poll() that a stop signal interrupts; timeout_ms < 0 waits for ever. */
static int wait_fds(struct pollfd *pfd, nfds_t n, int timeout_ms)
{
    struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L };
    int rc = ppoll(pfd, n, timeout_ms < 0 ? NULL : &ts, &wait_mask);
    return rc < 0 && errno == EINTR ? 0 : rc;
}

/* ---- command line ---- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vhost-refnet --socket PATH [options]\n"
            "  --socket PATH          vhost-user socket\n"
            "  --client               connect to PATH (retry every 100 ms, reconnect)\n"
            "                         instead of listening on it\n"
            "  --queues N             queue pairs, 1..%u (default 1)\n"
            "  --max-mem-slots N      regions SET_MEM_TABLE may carry, 1..%u (default %u)\n"
            "  --no-reply-ack         do not offer the REPLY_ACK protocol feature\n"
            "  --mode loopback|tap    where guest TX goes: back to the same queue pair's\n"
            "                         RX (default), or to a TAP device (--tap NAME)\n"
            "  --tap NAME             TAP interface for --mode tap (created if missing)\n"
            "  --poll                 datapath threads busy-poll their rings (one core\n"
            "                         each) instead of sleeping on kicks\n"
            "  --once                 serve one connection, then exit (status 0 if it\n"
            "                         ended with a clean EOF, 1 otherwise)\n"
            "  -v, --verbose          log every message\n"
            "  -h, --help             this text\n",
            REF_MAX_QUEUE_PAIRS, VHU_MAX_REGIONS, VHU_MAX_REGIONS);
}

static bool parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = (unsigned)v;
    return true;
}

enum { OPT_CLIENT = 256, OPT_QUEUES, OPT_SLOTS, OPT_NO_ACK, OPT_ONCE, OPT_SOCKET, OPT_MODE,
       OPT_TAP, OPT_POLL };

static const struct option long_opts[] = {
    { "socket", required_argument, NULL, OPT_SOCKET },
    { "client", no_argument, NULL, OPT_CLIENT },
    { "queues", required_argument, NULL, OPT_QUEUES },
    { "max-mem-slots", required_argument, NULL, OPT_SLOTS },
    { "no-reply-ack", no_argument, NULL, OPT_NO_ACK },
    { "once", no_argument, NULL, OPT_ONCE },
    { "mode", required_argument, NULL, OPT_MODE },
    { "tap", required_argument, NULL, OPT_TAP },
    { "poll", no_argument, NULL, OPT_POLL },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* 0 ok, 1 help shown, -1 usage error */
static int apply_opt(int c, struct ref_opts *o)
{
    switch (c) {
    case OPT_SOCKET: o->socket_path = optarg; return 0;
    case OPT_CLIENT: o->client = true; return 0;
    case OPT_NO_ACK: o->reply_ack = false; return 0;
    case OPT_ONCE: o->once = true; return 0;
    case OPT_POLL: o->poll = true; return 0;
    case OPT_TAP: o->tap = optarg; return 0;
    case OPT_MODE:
        o->mode = optarg;
        return strcmp(optarg, "loopback") == 0 || strcmp(optarg, "tap") == 0 ? 0 : -1;
    case 'v': o->verbose = true; return 0;
    case 'h': usage(stdout); return 1;
    case OPT_QUEUES:
        return parse_uint(optarg, 1, REF_MAX_QUEUE_PAIRS, &o->queues) ? 0 : -1;
    case OPT_SLOTS:
        return parse_uint(optarg, 1, VHU_MAX_REGIONS, &o->max_mem_slots) ? 0 : -1;
    default: return -1;
    }
}

static int parse_args(int argc, char **argv, struct ref_opts *o)
{
    *o = (struct ref_opts){ .queues = 1, .max_mem_slots = VHU_MAX_REGIONS, .reply_ack = true,
                            .mode = "loopback" };
    int c;
    while ((c = getopt_long(argc, argv, "vh", long_opts, NULL)) != -1) {
        int rc = apply_opt(c, o);
        if (rc == -1)
            fprintf(stderr, "vhost-refnet: bad option or value\n");
        if (rc != 0)
            return rc;
    }
    if (optind < argc || !o->socket_path) {
        fprintf(stderr, "vhost-refnet: %s\n",
                o->socket_path ? "unexpected argument" : "--socket PATH is required");
        return -1;
    }
    return 0;
}

/* ---- sockets ---- */

static int unix_addr(const char *path, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa->sun_path) {
        ref_log("refnet: socket path too long: %s", path);
        return -1;
    }
    strcpy(sa->sun_path, path);
    return 0;
}

static int make_listener(const char *path)
{
    struct sockaddr_un sa;
    if (unix_addr(path, &sa) < 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct stat st;             /* a stale socket from an earlier run; nothing else */
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4) < 0) {
        ref_log("refnet: listen on %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Connect, retrying every CONNECT_RETRY_MS until it works or a stop signal. */
static int connect_retry(const char *path)
{
    struct sockaddr_un sa;
    if (unix_addr(path, &sa) < 0)
        return -1;
    while (!stop_requested) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            return fd;
        close(fd);
        wait_fds(NULL, 0, CONNECT_RETRY_MS);
    }
    return -1;
}

/* ---- serving ---- */

static void refuse_extra(int listen_fd)
{
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0) {
        ref_log("refnet: refused a second front end: one is already connected");
        close(fd);
    }
}

/* A front end that reconnects quickly has closed the old connection before
 * connecting again, so the old one's last messages and EOF are already
 * queued: handle them before deciding the new connection is a second one. */
static enum ref_verdict drain(struct ref_session *s, bool *eof)
{
    struct pollfd pfd = { s->sock, POLLIN, 0 };
    while (poll(&pfd, 1, 0) > 0 && pfd.revents)
        if (ref_session_step(s, eof) == REF_CLOSE)
            return REF_CLOSE;
    return REF_CONTINUE;
}

/* Serve one connection until it ends; true when it ended with a clean EOF.
 * listen_fd < 0 in client mode. */
static bool serve(const struct ref_opts *o, int conn, int listen_fd)
{
    static struct ref_session s;    /* large; one at a time */
    bool eof = false;
    ref_session_init(&s, o, conn);
    while (!stop_requested) {
        struct pollfd pfd[2] = { { conn, POLLIN, 0 }, { listen_fd, POLLIN, 0 } };
        if (stats_requested) {
            stats_requested = 0;
            ref_dp_park(&s);        /* consistent counters, no race */
            ref_dp_print_stats(&s);
            ref_dp_resume(&s);
        }
        if (wait_fds(pfd, listen_fd >= 0 ? 2 : 1, -1) <= 0)
            continue;
        if (pfd[0].revents && ref_session_step(&s, &eof) == REF_CLOSE)
            break;
        if ((pfd[1].revents & POLLIN) && drain(&s, &eof) == REF_CLOSE)
            break;
        if (pfd[1].revents & POLLIN)
            refuse_extra(listen_fd);
    }
    if (o->verbose)
        ref_log("refnet: connection ended (%s)", eof ? "EOF" : "closed by us");
    ref_session_reset(&s);
    return eof;
}

static int run_server(const struct ref_opts *o)
{
    int lfd = make_listener(o->socket_path);
    if (lfd < 0)
        return 1;
    int status = 0;
    while (!stop_requested) {
        struct pollfd pfd = { lfd, POLLIN, 0 };
        if (wait_fds(&pfd, 1, -1) <= 0)
            continue;
        int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (conn < 0)
            continue;
        bool clean = serve(o, conn, lfd);
        if (o->once) {
            status = clean ? 0 : 1;
            break;
        }
    }
    close(lfd);
    unlink(o->socket_path);
    return status;
}

static int run_client(const struct ref_opts *o)
{
    while (!stop_requested) {
        int conn = connect_retry(o->socket_path);
        if (conn < 0)
            return stop_requested ? 0 : 1;
        bool clean = serve(o, conn, -1);
        if (o->once)
            return clean ? 0 : 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct ref_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc != 0) {
        if (rc < 0)
            usage(stderr);
        return rc < 0 ? 2 : 0;
    }
    if (ref_tap_open(&o) < 0)
        return 1;
    setup_signals();
    rc = o.client ? run_client(&o) : run_server(&o);
    ref_tap_close(&o);
    return rc;
}

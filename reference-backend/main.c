/* vhost-refnet: command line, socket server / client loop, signals.
 *
 * SIGINT and SIGTERM stay blocked except inside ppoll(), so a signal can
 * only interrupt a wait, never a request half handled.
 *
 * --mode switch: one control thread per port (each --socket), each running
 * the same server or client loop as the single port does, on its own
 * session; the main thread only waits for signals.  Port threads block every
 * signal but those a fault raises (fault.h) and wake at least every
 * PORT_TICK_MS to look at the (atomic) stop and stats flags, so per port the
 * control plane is still one thread that handles one request at a time. */
#include "refnet.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* --client: the wait before a new attempt doubles from BACKOFF_MIN_MS up to
 * BACKOFF_MAX_MS while attempts fail or sessions end before one request
 * was handled (a listener that accepts and closes); a session that handled
 * a request resets it, so a front end that restarts is met at once. */
#define BACKOFF_MIN_MS   100
#define BACKOFF_MAX_MS   2000
#define PORT_TICK_MS     100

#include "fault.h"
#include "switch.h"

/* lock-free atomics: fine in a signal handler, readable by every thread */
static atomic_int stop_requested, stats_gen;
static sigset_t wait_mask;      /* the mask used while waiting: signals open */
static _Thread_local bool in_port_thread;

/* One port: its options (socket, port number) and its session. */
struct port_ctl {
    struct ref_opts o;
    struct ref_session s;
    int stats_seen;             /* stats_gen last printed */
    unsigned handled;           /* requests handled on the current connection */
    int status;                 /* exit status of its loop */
    pthread_t th;
};

static struct port_ctl ports[REF_MAX_PORTS];
static atomic_uint ports_running;

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
        atomic_fetch_add(&stats_gen, 1);
    else
        atomic_store(&stop_requested, 1);
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

/* poll() that a stop signal interrupts; timeout_ms < 0 waits for ever.  A
 * port thread never takes signals: it wakes every PORT_TICK_MS instead. */
static int wait_fds(struct pollfd *pfd, nfds_t n, int timeout_ms)
{
    if (in_port_thread && (timeout_ms < 0 || timeout_ms > PORT_TICK_MS))
        timeout_ms = PORT_TICK_MS;
    struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L };
    int rc = ppoll(pfd, n, timeout_ms < 0 ? NULL : &ts, in_port_thread ? NULL : &wait_mask);
    return rc < 0 && errno == EINTR ? 0 : rc;
}

/* ---- command line ---- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vhost-refnet --socket PATH [options]\n"
            "  --socket PATH          vhost-user socket (with --mode switch: give it once\n"
            "                         per port, at least twice, at most %u times)\n"
            "  --client               connect to PATH (retry, reconnect; waits double from\n"
            "                         100 ms to 2 s while nothing is served)\n"
            "                         instead of listening on it\n"
            "  --queues N             queue pairs, 1..%u (default 1)\n"
            "  --max-mem-slots N      regions SET_MEM_TABLE may carry, 1..%u (default %u)\n"
            "  --no-reply-ack         do not offer the REPLY_ACK protocol feature\n"
            "  --mode loopback|tap|switch\n"
            "                         where guest TX goes: back to the same queue pair's\n"
            "                         RX (default), to a TAP device (--tap NAME), or to\n"
            "                         the other ports of a MAC-learning switch\n"
            "  --tap NAME             TAP interface for --mode tap (created if missing)\n"
            "  --poll                 datapath threads busy-poll their rings (one core\n"
            "                         each) instead of sleeping on kicks\n"
            "  --equal-work           the work DPDK's vhost and testpmd's io forwarding do\n"
            "                         (bench): offer its offloads, carry the TX header to\n"
            "                         RX, copy each frame twice (through a host buffer)\n"
            "  --once                 serve one connection, then exit (status 0 if it\n"
            "                         ended with a clean EOF, 1 otherwise)\n"
            "  -v, --verbose          log every message\n"
            "  -h, --help             this text\n",
            REF_MAX_PORTS, REF_MAX_QUEUE_PAIRS, VHU_MAX_REGIONS, VHU_MAX_REGIONS);
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
       OPT_TAP, OPT_POLL, OPT_EQUAL };

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
    { "equal-work", no_argument, NULL, OPT_EQUAL },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* 0 ok, 1 help shown, -1 usage error */
static int apply_opt(int c, struct ref_opts *o)
{
    switch (c) {
    case OPT_SOCKET:
        if (o->nsockets == REF_MAX_PORTS)
            return -1;
        o->sockets[o->nsockets++] = optarg;
        o->socket_path = o->sockets[0];
        return 0;
    case OPT_CLIENT: o->client = true; return 0;
    case OPT_NO_ACK: o->reply_ack = false; return 0;
    case OPT_ONCE: o->once = true; return 0;
    case OPT_POLL: o->poll = true; return 0;
    case OPT_EQUAL: o->equal_work = true; return 0;
    case OPT_TAP: o->tap = optarg; return 0;
    case OPT_MODE:
        o->mode = optarg;
        return strcmp(optarg, "loopback") == 0 || strcmp(optarg, "tap") == 0 ||
               strcmp(optarg, "switch") == 0 ? 0 : -1;
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
    bool sw = strcmp(o->mode, "switch") == 0;
    if (sw != (o->nsockets > 1)) {
        fprintf(stderr, "vhost-refnet: %s\n", sw ? "--mode switch needs two or more --socket"
                                                 : "several --socket need --mode switch");
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

/* Sleep ms, or less when a stop signal comes. */
static void pause_ms(int ms)
{
    int64_t end = ref_now_ms() + ms;
    for (int64_t left = ms; left > 0 && !atomic_load(&stop_requested);
         left = end - ref_now_ms())
        wait_fds(NULL, 0, (int)left);
}

static int next_backoff(int ms)
{
    return ms == 0 ? BACKOFF_MIN_MS : ms >= BACKOFF_MAX_MS / 2 ? BACKOFF_MAX_MS : 2 * ms;
}

/* Connect, waiting *backoff before each attempt and doubling it after each
 * failure, until it works or a stop signal. */
static int connect_retry(const char *path, int *backoff)
{
    struct sockaddr_un sa;
    if (unix_addr(path, &sa) < 0)
        return -1;
    for (;;) {
        pause_ms(*backoff);
        if (atomic_load(&stop_requested))
            return -1;
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            return fd;
        close(fd);
        *backoff = next_backoff(*backoff);
    }
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

/* One message; counted when it was handled (the connection goes on). */
static enum ref_verdict step(struct port_ctl *c, bool *eof)
{
    enum ref_verdict v = ref_session_step(&c->s, eof);
    if (v == REF_CONTINUE)
        c->handled++;
    return v;
}

/* A front end that reconnects quickly has closed the old connection before
 * connecting again, so the old one's last messages and EOF are already
 * queued: handle them before deciding the new connection is a second one. */
static enum ref_verdict drain(struct port_ctl *c, bool *eof)
{
    struct pollfd pfd = { c->s.sock, POLLIN, 0 };
    while (poll(&pfd, 1, 0) > 0 && pfd.revents)
        if (step(c, eof) == REF_CLOSE)
            return REF_CLOSE;
    return REF_CONTINUE;
}

static bool stats_due(struct port_ctl *c)
{
    int g = atomic_load(&stats_gen);
    if (g == c->stats_seen)
        return false;
    c->stats_seen = g;
    return true;
}

/* Serve one connection until it ends; true when it ended with a clean EOF.
 * listen_fd < 0 in client mode. */
static bool serve(struct port_ctl *c, int conn, int listen_fd)
{
    struct ref_session *s = &c->s;
    bool eof = false;
    c->handled = 0;
    ref_session_init(s, &c->o, conn);
    while (!atomic_load(&stop_requested)) {
        struct pollfd pfd[2] = { { conn, POLLIN, 0 }, { listen_fd, POLLIN, 0 } };
        if (stats_due(c)) {
            ref_dp_park(s);         /* consistent counters, no race */
            ref_dp_print_stats(s);
            ref_dp_resume(s);
        }
        if (wait_fds(pfd, listen_fd >= 0 ? 2 : 1, -1) <= 0)
            continue;
        if (pfd[0].revents && step(c, &eof) == REF_CLOSE)
            break;
        if ((pfd[1].revents & POLLIN) && drain(c, &eof) == REF_CLOSE)
            break;
        if (pfd[1].revents & POLLIN)
            refuse_extra(listen_fd);
    }
    if (c->o.verbose)
        ref_log("refnet: connection ended (%s)", eof ? "EOF" : "closed by us");
    ref_session_reset(s);
    return eof;
}

static int run_server(struct port_ctl *c)
{
    const struct ref_opts *o = &c->o;
    int lfd = make_listener(o->socket_path);
    if (lfd < 0)
        return 1;
    int status = 0;
    while (!atomic_load(&stop_requested)) {
        struct pollfd pfd = { lfd, POLLIN, 0 };
        if (wait_fds(&pfd, 1, -1) <= 0)
            continue;
        int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (conn < 0)
            continue;
        bool clean = serve(c, conn, lfd);
        if (o->once) {
            status = clean ? 0 : 1;
            break;
        }
    }
    close(lfd);
    unlink(o->socket_path);
    return status;
}

static int run_client(struct port_ctl *c)
{
    const struct ref_opts *o = &c->o;
    int backoff = 0;
    while (!atomic_load(&stop_requested)) {
        int conn = connect_retry(o->socket_path, &backoff);
        if (conn < 0)
            return atomic_load(&stop_requested) ? 0 : 1;
        bool clean = serve(c, conn, -1);
        if (o->once)
            return clean ? 0 : 1;
        backoff = c->handled ? 0 : next_backoff(backoff);
        if (!c->handled && backoff == BACKOFF_MAX_MS)
            ref_log("refnet: the front end keeps closing before any request; reconnecting "
                    "every %d ms", BACKOFF_MAX_MS);
    }
    return 0;
}

static int run_port(struct port_ctl *c)
{
    return c->o.client ? run_client(c) : run_server(c);
}

/* ---- switch mode ---- */

static void *port_main(void *arg)
{
    struct port_ctl *c = arg;
    in_port_thread = true;
    c->status = run_port(c);
    atomic_fetch_sub(&ports_running, 1);
    return NULL;
}

/* Start port p's control thread with every signal blocked but a fault's. */
static int start_port(const struct ref_opts *o, struct ref_switch *sw, unsigned p)
{
    struct port_ctl *c = &ports[p];
    c->o = *o;
    c->o.socket_path = o->sockets[p];
    c->o.port = p;
    c->o.sw = sw;
    c->stats_seen = atomic_load(&stats_gen);
    sigset_t mask, old;             /* signals stay with the main thread, faults not */
    ref_thread_sigmask(&mask, false);
    pthread_sigmask(SIG_SETMASK, &mask, &old);
    atomic_fetch_add(&ports_running, 1);
    int rc = pthread_create(&c->th, NULL, port_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        atomic_fetch_sub(&ports_running, 1);
        ref_log("refnet: cannot start the control thread of port %u", p);
        return -1;
    }
    return 0;
}

/* The main thread takes the signals; the ports run until a stop signal, or
 * (with --once) until each has served its connection. */
static int run_switch(const struct ref_opts *o)
{
    struct ref_switch *sw = ref_sw_create(o->nsockets);
    if (!sw)
        return 1;
    unsigned started = 0;
    while (started < o->nsockets && start_port(o, sw, started) == 0)
        started++;
    if (started < o->nsockets)
        atomic_store(&stop_requested, 1);
    while (!atomic_load(&stop_requested) && atomic_load(&ports_running) > 0)
        wait_fds(NULL, 0, PORT_TICK_MS);
    int status = started < o->nsockets ? 1 : 0;
    for (unsigned p = 0; p < started; p++) {
        pthread_join(ports[p].th, NULL);
        status = ports[p].status > status ? ports[p].status : status;
    }
    for (unsigned p = 0; p < o->nsockets; p++)
        ref_sw_print_stats(sw, p);  /* the ports without a front end too */
    ref_sw_destroy(sw);             /* every worker of every port has stopped */
    return status;
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
    if (strcmp(o.mode, "switch") == 0) {
        rc = run_switch(&o);
    } else {
        ports[0].o = o;
        rc = run_port(&ports[0]);
    }
    ref_tap_close(&o);
    return rc;
}

/* refnet-selftest: drive vhost-refnet over its socket: replay QEMU 7.2
 * traces with real eventfds/memfds, then malformed and semantically wrong
 * inputs.  Checks replies, nacks, closes, that the process survives, that
 * every fd it was given is closed again, a clean SIGTERM exit, and client
 * mode.
 *
 * usage: refnet-selftest PATH/TO/vhost-refnet FIXTURES_DIR [--valgrind] [-v]
 * (--valgrind: the server under valgrind memcheck, for a build without
 * sanitizers; -v: print refnet's stderr).  Exit status 0 when every check
 * passed. */
#include "selftest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static unsigned failures;

bool check(bool cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s", cond ? "ok     " : "FAILED ");
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    fflush(stdout);
    failures += !cond;
    return cond;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ---- sessions ---- */

#define PF_DEFAULT ((1ull << 0) | (1ull << 3) | (1ull << 5) | (1ull << 15) | \
                    (1ull << 16) | (1ull << 13))
#define FEATURES_DEFAULT ((1ull << 32) | (1ull << 30))

static void send_u64(struct conn *c, uint32_t req, uint64_t v)
{
    struct smsg m;
    msg_init(&m, req, F_VERSION);
    p_u64(&m, v);
    conn_send(c, &m, NULL, 0);
}

static void call_plain(struct conn *c, uint32_t req)
{
    struct smsg m, r;
    msg_init(&m, req, F_VERSION);
    conn_call(c, &m, NULL, 0, &r);
}

/* GET_FEATURES, GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, SET_OWNER,
 * SET_FEATURES (VERSION_1 | PROTOCOL_FEATURES) */
static bool negotiated(struct conn *c, const char *sock)
{
    if (!conn_open(c, sock))
        return false;
    call_plain(c, REQ_GET_FEATURES);
    call_plain(c, REQ_GET_PROTOCOL_FEATURES);
    send_u64(c, REQ_SET_PROTOCOL_FEATURES, PF_DEFAULT);
    struct smsg m;
    msg_init(&m, REQ_SET_OWNER, F_VERSION);
    conn_send(c, &m, NULL, 0);
    send_u64(c, REQ_SET_FEATURES, FEATURES_DEFAULT);
    return true;
}

/* m sent with NEED_REPLY: the ack's u64, or -1 when no well-formed ack came */
static long long ack(struct conn *c, struct smsg *m, const int *fds, unsigned nfds)
{
    struct smsg r;
    m->flags = F_VERSION | F_NEED_REPLY;
    if (!conn_call(c, m, fds, nfds, &r) || r.req != m->req ||
        r.flags != (F_VERSION | F_REPLY) || r.len != 8)
        return -1;
    uint64_t v;
    memcpy(&v, r.body, 8);
    return (long long)v;
}

static long long ack_state(struct conn *c, uint32_t req, uint32_t index, uint32_t num)
{
    struct smsg m;
    msg_init(&m, req, 0);
    p_state(&m, index, num);
    return ack(c, &m, NULL, 0);
}

static long long ack_u64(struct conn *c, uint32_t req, uint64_t v, const int *fds,
                         unsigned nfds)
{
    struct smsg m;
    msg_init(&m, req, 0);
    p_u64(&m, v);
    return ack(c, &m, fds, nfds);
}

static long long ack_table(struct conn *c, const uint64_t (*r)[4], unsigned n, int fd)
{
    struct smsg m;
    msg_init(&m, REQ_SET_MEM_TABLE, 0);
    p_mem_table(&m, r, n);
    int fds[MAX_FDS];
    for (unsigned i = 0; i < n && i < MAX_FDS; i++)
        fds[i] = fd;
    return ack(c, &m, fds, n);
}

static long long ack_addr(struct conn *c, uint64_t desc, uint64_t used, uint64_t avail,
                          uint32_t flags)
{
    struct smsg m;
    msg_init(&m, REQ_SET_VRING_ADDR, 0);
    p_vring_addr(&m, 0, desc, used, avail, flags);
    return ack(c, &m, NULL, 0);
}

static long long ack_reg(struct conn *c, uint32_t req, uint64_t gpa, uint64_t size,
                         uint64_t uaddr, uint64_t off, int fd)
{
    struct smsg m;
    msg_init(&m, req, 0);
    p_mem_reg(&m, gpa, size, uaddr, off);
    return ack(c, &m, &fd, fd >= 0);
}

static bool alive(const char *sock)
{
    struct conn c;
    struct smsg m, r;
    msg_init(&m, REQ_GET_FEATURES, F_VERSION);
    bool ok = conn_open(&c, sock) && conn_call(&c, &m, NULL, 0, &r) &&
              r.req == REQ_GET_FEATURES && r.flags == (F_VERSION | F_REPLY);
    conn_close(&c);
    return ok;
}

static uint64_t get_u64(struct conn *c, uint32_t req)
{
    struct smsg m, r;
    uint64_t v = ~0ull;
    msg_init(&m, req, F_VERSION);
    if (conn_call(c, &m, NULL, 0, &r) && r.len == 8)
        memcpy(&v, r.body, 8);
    return v;
}

/* ---- nacked but kept ---- */

static void neg_rings_and_features(struct conn *c)
{
    check(ack_state(c, REQ_SET_VRING_NUM, 0, 255) == 1, "SET_VRING_NUM 255 with NEED_REPLY: nack");
    check(ack_state(c, REQ_SET_VRING_NUM, 200, 256) == 1, "SET_VRING_NUM index 200: nack");
    check(ack_state(c, REQ_SET_VRING_NUM, 0, 65536) == 1, "SET_VRING_NUM 65536: nack");
    check(ack_state(c, REQ_SET_VRING_NUM, 0, 256) == 0, "SET_VRING_NUM 256: ack 0");
    int efd = make_eventfd();
    check(ack_u64(c, REQ_SET_VRING_CALL, 200, &efd, 1) == 1,
          "SET_VRING_CALL index 200 with fd: nack");
    close(efd);
    check(ack_u64(c, REQ_SET_FEATURES, 1ull << 0, NULL, 0) == 1,
          "SET_FEATURES with CSUM (not offered): nack");
    check(ack_u64(c, REQ_SET_PROTOCOL_FEATURES, 1ull << 8, NULL, 0) == 1,
          "SET_PROTOCOL_FEATURES PAGEFAULT (not offered): nack");
    check(ack_u64(c, REQ_NET_SET_MTU, 1500, NULL, 0) == 1,
          "NET_SET_MTU (gated, not negotiated): nack");
    check(ack_state(c, REQ_SET_VRING_ENABLE, 0, 2) == 1, "SET_VRING_ENABLE num 2: nack");
}

/* Region 0 maps uaddr 0x7000000..+0x8000; ring 0's desc must lie in one region. */
static void neg_memory(struct conn *c)
{
    int small = make_memfd(0x10000), kick = make_eventfd(), moved = make_memfd(0x100000);
    const uint64_t big[1][4] = { { 0, 0x20000, 0x7000000, 0 } };
    check(ack_table(c, big, 1, small) == 1, "SET_MEM_TABLE larger than its file: nack");
    const uint64_t wraps[1][4] = { { 0, 0x1000, 0xfffffffffffff800ull, 0 } };
    check(ack_table(c, wraps, 1, small) == 1, "SET_MEM_TABLE uaddr+size wraps: nack");
    const uint64_t empty[1][4] = { { 0, 0, 0x7000000, 0 } };
    check(ack_table(c, empty, 1, small) == 1, "SET_MEM_TABLE size 0: nack");
    const uint64_t overlap[2][4] = { { 0, 0x8000, 0x7000000, 0 },
                                     { 0x4000, 0x8000, 0x8000000, 0 } };
    check(ack_table(c, overlap, 2, small) == 1, "SET_MEM_TABLE overlapping gpa: nack");
    const uint64_t two[2][4] = { { 0, 0x8000, 0x7000000, 0x1800 },
                                 { 0x10000, 0x4000, 0x8000000, 0x9000 } };
    check(ack_table(c, two, 2, small) == 0,
          "SET_MEM_TABLE two regions, unaligned offset: ack 0");
    check(ack_addr(c, 0x7000008, 0x7002000, 0x7001000, 0) == 1,
          "SET_VRING_ADDR desc misaligned: nack");
    check(ack_addr(c, 0x7000000, 0x7002000, 0x7001000, 1) == 1,
          "SET_VRING_ADDR LOG flag without LOG_ALL: nack");
    check(ack_addr(c, 0x7007800, 0x7002000, 0x7001000, 0) == 0,
          "SET_VRING_ADDR (not started yet, desc past region end): stored, ack 0");
    check(ack_u64(c, REQ_SET_VRING_KICK, 0, &kick, 1) == 1,
          "SET_VRING_KICK starts ring whose desc crosses the region end: nack");
    check(ack_addr(c, 0x7000000, 0x7002000, 0x7001000, 0) == 0,
          "SET_VRING_ADDR inside region 0: ack 0");
    check(ack_u64(c, REQ_SET_VRING_KICK, 0, &kick, 1) == 0, "SET_VRING_KICK: ring starts, ack 0");
    check(ack_state(c, REQ_SET_VRING_NUM, 0, 128) == 1, "SET_VRING_NUM on a started ring: nack");
    check(ack_reg(c, REQ_REM_MEM_REG, 0, 0x8000, 0x7000000, 0x1800, -1) == 1,
          "REM_MEM_REG of the region a started ring uses: nack");
    const uint64_t shrunk[1][4] = { { 0, 0x1000, 0x7000000, 0 } };
    check(ack_table(c, shrunk, 1, moved) == 1,
          "SET_MEM_TABLE that no longer holds the started ring: nack");
    const uint64_t replace[1][4] = { { 0, 0x10000, 0x7000000, 0x10000 } };
    check(ack_table(c, replace, 1, moved) == 0,
          "SET_MEM_TABLE replacing the table under a started ring: ack 0");
    struct smsg m, r;
    msg_init(&m, REQ_GET_VRING_BASE, F_VERSION);
    p_state(&m, 0, 0);
    bool base_ok = conn_call(c, &m, NULL, 0, &r) && r.req == REQ_GET_VRING_BASE &&
                   r.flags == (F_VERSION | F_REPLY) && r.len == 8 &&
                   memcmp(r.body, m.body, 8) == 0;
    check(base_ok, "GET_VRING_BASE replies {0, 0} with flags 0x5");
    check(ack_state(c, REQ_SET_VRING_BASE, 0, 0x10000) == 1,
          "SET_VRING_BASE 0x10000 (split): nack");
    check(ack_u64(c, REQ_SET_VRING_KICK, 0x100, NULL, 0) == 0,
          "SET_VRING_KICK NOFD (polling): ack 0");
    check(ack_reg(c, REQ_ADD_MEM_REG, 0x20000, 0x1000, 0x9000000, 0, moved) == 0,
          "ADD_MEM_REG: ack 0");
    check(ack_reg(c, REQ_ADD_MEM_REG, 0x20800, 0x1000, 0xa000000, 0, moved) == 1,
          "ADD_MEM_REG overlapping: nack");
    check(ack_reg(c, REQ_REM_MEM_REG, 0x20000, 0x1000, 0x9000000, 0, moved) == 0,
          "REM_MEM_REG (with fd, as QEMU sends it): ack 0");
    check(get_u64(c, REQ_GET_MAX_MEM_SLOTS) == 32, "GET_MAX_MEM_SLOTS = 32");
    check(get_u64(c, REQ_GET_QUEUE_NUM) == 2, "GET_QUEUE_NUM = 2 (--queues 2)");
    close(small);
    close(kick);
    close(moved);
}

static void neg_cases(const char *sock)
{
    struct conn c;
    if (!check(negotiated(&c, sock), "connect for the nack cases"))
        return;
    neg_rings_and_features(&c);
    neg_memory(&c);
    check(!conn_closed(&c), "connection still open after nacks");
    conn_close(&c);
}

/* ---- inputs that end the connection ---- */

struct closing {
    const char *name;
    bool owner;             /* negotiated and SET_OWNER first */
    void (*act)(struct conn *c, int efd, int mfd);
};

static void send_m(struct conn *c, uint32_t req, uint32_t flags, const void *p, size_t len,
                   const int *fds, unsigned nfds)
{
    struct smsg m;
    msg_init(&m, req, flags);
    if (len)
        memcpy(m.body, p, len);
    m.len = len;
    conn_send(c, &m, fds, nfds);
}

static void a_num_255(struct conn *c, int e, int f)
{
    (void)e, (void)f;
    const uint32_t s[2] = { 0, 255 };
    send_m(c, REQ_SET_VRING_NUM, F_VERSION, s, sizeof s, NULL, 0);
}

static void a_addr_200(struct conn *c, int e, int f)
{
    (void)e, (void)f;
    struct smsg m;
    msg_init(&m, REQ_SET_VRING_ADDR, F_VERSION);
    p_vring_addr(&m, 200, 0, 0, 0, 0);
    conn_send(c, &m, NULL, 0);
}

static void a_addr_0(struct conn *c, int e, int f)
{
    (void)e, (void)f;
    struct smsg m;
    msg_init(&m, REQ_SET_VRING_ADDR, F_VERSION);
    p_vring_addr(&m, 0, 0, 0, 0, 0);
    conn_send(c, &m, NULL, 0);
}

static void a_nregions_9(struct conn *c, int e, int f)
{
    (void)e;
    uint64_t r[9][4];
    for (unsigned i = 0; i < 9; i++) {
        r[i][0] = i * 0x1000ull, r[i][1] = 0x1000, r[i][2] = i * 0x1000ull, r[i][3] = 0;
    }
    struct smsg m;
    msg_init(&m, REQ_SET_MEM_TABLE, F_VERSION);
    p_mem_table(&m, (const uint64_t (*)[4])r, 9);
    const int fds[8] = { f, f, f, f, f, f, f, f };
    conn_send(c, &m, fds, 8);
}

static void a_missing_fds(struct conn *c, int e, int f)
{
    (void)e;
    const uint64_t r[2][4] = { { 0, 0x1000, 0, 0 }, { 0x1000, 0x1000, 0x1000, 0 } };
    struct smsg m;
    msg_init(&m, REQ_SET_MEM_TABLE, F_VERSION);
    p_mem_table(&m, r, 2);
    conn_send(c, &m, &f, 1);
}

static void a_call_nofd(struct conn *c, int e, int f)
{
    (void)e, (void)f;
    const uint64_t v = 0;
    send_m(c, REQ_SET_VRING_CALL, F_VERSION, &v, 8, NULL, 0);
}

static void a_unknown(struct conn *c, int e, int f)
{
    (void)e, (void)f;
    send_m(c, 99, F_VERSION, NULL, 0, NULL, 0);
}

static void a_version_2(struct conn *c, int e, int f)
{
    (void)e, (void)f;
    send_m(c, REQ_GET_FEATURES, 2, NULL, 0, NULL, 0);
}

static void a_features_4(struct conn *c, int e, int f)
{
    (void)e, (void)f;
    const uint32_t v = 0;
    send_m(c, REQ_SET_FEATURES, F_VERSION, &v, 4, NULL, 0);
}

static void a_slots(struct conn *c, int e, int f)
{
    (void)e, (void)f;
    send_m(c, REQ_GET_MAX_MEM_SLOTS, F_VERSION, NULL, 0, NULL, 0);
}

/* header announcing 8 bytes, 4 sent (with an fd), then our side shut */
static void a_truncated(struct conn *c, int e, int f)
{
    (void)f;
    uint8_t b[HDR_LEN + 4] = { 0 };
    const uint32_t h[3] = { REQ_SET_FEATURES, F_VERSION, 8 };
    memcpy(b, h, HDR_LEN);
    conn_send_raw(c, b, sizeof b, &e, 1);
    shutdown(c->fd, SHUT_WR);
}

static void a_size_64k(struct conn *c, int e, int f)
{
    (void)e, (void)f;
    const uint32_t h[3] = { REQ_SET_FEATURES, F_VERSION, 0x10000 };
    conn_send_raw(c, h, sizeof h, NULL, 0);
}

static const struct closing closings[] = {
    { "SET_VRING_NUM 255 without NEED_REPLY, after SET_OWNER", true, a_num_255 },
    { "SET_VRING_ADDR index 200 without NEED_REPLY, after SET_OWNER", true, a_addr_200 },
    { "SET_MEM_TABLE nregions 9", false, a_nregions_9 },
    { "SET_MEM_TABLE missing fds", false, a_missing_fds },
    { "SET_VRING_CALL without fd and without NOFD", false, a_call_nofd },
    { "unknown request 99", false, a_unknown },
    { "version 2 header", false, a_version_2 },
    { "SET_FEATURES size 4", false, a_features_4 },
    { "GET_MAX_MEM_SLOTS (gated, ALWAYS reply) before CONFIGURE_MEM_SLOTS", false, a_slots },
    { "truncated payload then EOF", false, a_truncated },
    { "SET_VRING_ADDR before SET_OWNER", false, a_addr_0 },
    { "size 0x10000", false, a_size_64k },
};

static void closing_cases(const char *sock)
{
    int efd = make_eventfd(), mfd = make_memfd(0x10000);
    for (size_t i = 0; i < sizeof closings / sizeof closings[0]; i++) {
        const struct closing *k = &closings[i];
        struct conn c;
        bool open = k->owner ? negotiated(&c, sock) : conn_open(&c, sock);
        if (open)
            k->act(&c, efd, mfd);
        check(open && conn_closed(&c), "closes on: %s", k->name);
        conn_close(&c);
        check(alive(sock), "  next connection works after: %s", k->name);
    }
    close(efd);
    close(mfd);
}

static void second_connection(const char *sock)
{
    struct conn c, d;
    if (!check(negotiated(&c, sock), "connect for the second-connection case"))
        return;
    check(conn_open(&d, sock) && conn_closed(&d),
          "second connection while one is active is closed");
    conn_close(&d);
    struct smsg m, r;
    msg_init(&m, REQ_GET_FEATURES, F_VERSION);
    check(conn_call(&c, &m, NULL, 0, &r) && r.req == REQ_GET_FEATURES,
          "first connection unaffected");
    conn_close(&c);
}

/* ---- the process ---- */

static int fd_count(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* Start argv with stdout to /dev/null and stderr to err_path (or /dev/null). */
static pid_t spawn(char *const argv[], const char *err_path)
{
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);  /* no refnet outlives a selftest that died */
        int null = open("/dev/null", O_RDWR);
        int err = err_path ? open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600) : null;
        dup2(null, STDOUT_FILENO);
        dup2(err, STDERR_FILENO);
        close_range(3, ~0u, 0);     /* refnet inherits none of ours: its fd count is its own */
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Exit status of pid within ms, or -1 (then it is killed). */
static int wait_exit(pid_t pid, int ms)
{
    for (int t = 0; t < ms; t += 50) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        sleep_ms(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static bool running(pid_t pid)
{
    return waitpid(pid, NULL, WNOHANG) == 0;
}

static void wait_socket(const char *path, pid_t pid)
{
    struct stat st;
    for (int i = 0; i < 100 && stat(path, &st) != 0 && running(pid); i++)
        sleep_ms(50);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void server_tests(const char *bin, const char *fixtures, const char *tmp, bool valgrind,
                         bool verbose)
{
    char sock[256], err[256];
    snprintf(sock, sizeof sock, "%s/refnet.sock", tmp);
    snprintf(err, sizeof err, "%s/stderr.log", tmp);
    char *vg[] = { "valgrind", "--leak-check=full", "--track-fds=yes", "--error-exitcode=9",
                   "-q", (char *)bin, "--socket", sock, "--queues", "2", NULL };
    char **argv = valgrind ? vg : vg + 5;
    pid_t pid = spawn(argv, err);
    wait_socket(sock, pid);
    sleep_ms(valgrind ? 500 : 50);
    check(alive(sock), "server answers GET_FEATURES");
    sleep_ms(200);
    int base = fd_count(pid);
    static const char *const traces[] = { "a1_init_client", "a4_init_mq", "b1_boot",
                                          "b2_boot_mq", "c1_guest_cycle", "e2_blk_boot" };
    for (size_t i = 0; i < sizeof traces / sizeof traces[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.raw", fixtures, traces[i]);
        check(replay_trace(path, sock), "replay %s", traces[i]);
    }
    neg_cases(sock);
    closing_cases(sock);
    second_connection(sock);
    sleep_ms(300);
    int now = fd_count(pid);
    check(now == base, "no fd leaked (%d open, %d at start)", now, base);
    check(running(pid), "process still alive");
    kill(pid, SIGTERM);
    int rc = wait_exit(pid, 20000);
    check(rc == 0, "SIGTERM exit status 0 (got %d)", rc);
    struct stat st;
    check(stat(sock, &st) != 0, "socket unlinked on exit");
    const char *log = read_file(err);
    check(log && strstr(log, "reject SET_VRING_NUM: vring.num: 255 is not a power of two"),
          "stderr names the rejected request and rule");
    if ((verbose || failures) && log)
        fputs(log, stdout);
}

/* The client connects to our listener twice (a clean close in between) and
 * answers GET_FEATURES with MQ each time. */
static void client_tests(const char *bin, const char *tmp)
{
    char path[100];
    snprintf(path, sizeof path, "%s/fe.sock", tmp);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int lst = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (!check(lst >= 0 && bind(lst, (struct sockaddr *)&sa, sizeof sa) == 0 &&
               listen(lst, 1) == 0, "client mode: listening on %s", path))
        return;
    char *argv[] = { (char *)bin, "--socket", path, "--client", "--queues", "2", NULL };
    pid_t pid = spawn(argv, NULL);
    for (int round = 0; round < 2; round++) {
        struct pollfd p = { lst, POLLIN, 0 };
        struct conn c = { -1 };
        if (poll(&p, 1, 5000) == 1)
            c.fd = accept4(lst, NULL, NULL, SOCK_CLOEXEC);
        if (!check(c.fd >= 0, "client connects (round %d)", round))
            break;
        struct timeval tv = { 2, 0 };
        setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        struct smsg m, r;
        msg_init(&m, REQ_GET_FEATURES, F_VERSION);
        uint64_t feats = 0;
        bool got = conn_call(&c, &m, NULL, 0, &r) && r.len == 8;
        if (got)
            memcpy(&feats, r.body, 8);
        check(got && (feats & (1ull << 22)), "client mode round %d: reply with MQ", round);
        conn_close(&c);
    }
    kill(pid, SIGTERM);
    check(wait_exit(pid, 5000) == 0, "client mode: SIGTERM exit 0");
    close(lst);
    unlink(path);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: refnet-selftest VHOST_REFNET FIXTURES [--valgrind] [-v]\n");
        return 2;
    }
    bool valgrind = false, verbose = false;
    for (int i = 3; i < argc; i++) {
        valgrind |= strcmp(argv[i], "--valgrind") == 0;
        verbose |= strcmp(argv[i], "-v") == 0;
    }
    signal(SIGPIPE, SIG_IGN);
    char tmp[] = "/tmp/refnet-selftest.XXXXXX";
    if (!mkdtemp(tmp)) {
        perror("refnet-selftest: mkdtemp");
        return 2;
    }
    server_tests(argv[1], argv[2], tmp, valgrind, verbose);
    if (!valgrind)
        client_tests(argv[1], tmp);
    char log[300];
    snprintf(log, sizeof log, "%s/stderr.log", tmp);
    unlink(log);
    rmdir(tmp);
    if (failures)
        printf("%u failed\n", failures);
    else
        printf("all passed\n");
    return failures ? 1 : 0;
}

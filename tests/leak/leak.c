/* leak VHOST_REFNET [CYCLES]: fd and memory leaks per connection.
 *
 * Starts vhost-refnet, then CYCLES times: connect, QEMU 7.2's init
 * (GET_FEATURES, GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, SET_OWNER,
 * SET_BACKEND_REQ_FD, SET_VRING_CALL/ERR for both rings with eventfds,
 * SET_MEM_TABLE with one memfd region and NEED_REPLY), disconnect.  Open
 * fds (/proc/PID/fd) must be exactly what they were after a warm-up; RSS
 * may grow by at most MAX_RSS_KB (allocator noise), not by a
 * per-connection amount.  Exit status 0 when both hold. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RSS_KB 2048
#define WARMUP     50
#define MEM_SIZE   (1u << 21)

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static pid_t refnet = -1;
static char sock_path[108], dir[64];

/* SIGTERM must end refnet within 10 s; false (and SIGKILL) when it does not. */
static bool cleanup(void)
{
    bool ended = true;
    if (refnet > 0) {
        kill(refnet, SIGTERM);
        int i = 0;
        while (waitpid(refnet, NULL, WNOHANG) == 0 && i++ < 200)
            sleep_ms(50);
        if (i > 200) {
            kill(refnet, SIGKILL);
            waitpid(refnet, NULL, 0);
            ended = false;
        }
        refnet = -1;
    }
    unlink(sock_path);
    rmdir(dir);
    return ended;
}

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("leak: ", stdout);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    cleanup();
    exit(1);
}

/* header + payload, with fds */
static void send_msg(int s, uint32_t req, uint32_t flags, const void *p, uint32_t len,
                     const int *fds, unsigned nfds)
{
    uint8_t buf[12 + 64];
    const uint32_t h[3] = { req, flags, len };
    memcpy(buf, h, 12);
    if (len)
        memcpy(buf + 12, p, len);
    struct iovec iov = { buf, 12 + len };
    char ctl[CMSG_SPACE(8 * sizeof(int))];
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (nfds) {
        memset(ctl, 0, sizeof ctl);
        mh.msg_control = ctl;
        mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
    }
    if (sendmsg(s, &mh, MSG_NOSIGNAL) != (ssize_t)(12 + len))
        fail("sending request %u: %s", req, strerror(errno));
}

/* One reply: its u64 (0 when it has none). */
static uint64_t recv_reply(int s)
{
    uint32_t h[3];
    if (recv(s, h, 12, MSG_WAITALL) != 12)
        fail("no reply");
    uint8_t body[64] = { 0 };
    if (h[2] > sizeof body || (h[2] && recv(s, body, h[2], MSG_WAITALL) != (ssize_t)h[2]))
        fail("reply of %u bytes", h[2]);
    uint64_t v = 0;
    memcpy(&v, body, h[2] >= 8 ? 8 : h[2]);
    return v;
}

static void cycle(void)
{
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
    struct timeval tv = { 5, 0 };
    if (s < 0 || setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        connect(s, (struct sockaddr *)&sa, sizeof sa) < 0)
        fail("connect: %s", strerror(errno));
    send_msg(s, 1, 1, NULL, 0, NULL, 0);                /* GET_FEATURES */
    recv_reply(s);
    send_msg(s, 15, 1, NULL, 0, NULL, 0);               /* GET_PROTOCOL_FEATURES */
    uint64_t pf = recv_reply(s);
    send_msg(s, 16, 1, &pf, 8, NULL, 0);                /* SET_PROTOCOL_FEATURES */
    send_msg(s, 3, 1, NULL, 0, NULL, 0);                /* SET_OWNER */
    int fds[5];
    for (int i = 0; i < 5; i++)
        if ((fds[i] = eventfd(0, EFD_CLOEXEC)) < 0)
            fail("eventfd: %s", strerror(errno));
    int mfd = memfd_create("leak-guest", MFD_CLOEXEC);
    if (mfd < 0 || ftruncate(mfd, MEM_SIZE) < 0)
        fail("memfd: %s", strerror(errno));
    send_msg(s, 21, 0x9, NULL, 0, &fds[0], 1);          /* SET_BACKEND_REQ_FD */
    recv_reply(s);
    for (uint64_t ring = 0; ring < 2; ring++) {
        send_msg(s, 13, 1, &ring, 8, &fds[1 + ring], 1);  /* SET_VRING_CALL */
        send_msg(s, 14, 1, &ring, 8, &fds[3 + ring], 1);  /* SET_VRING_ERR */
    }
    uint32_t head[2] = { 1, 0 };
    uint64_t region[4] = { 0, MEM_SIZE, 0x7f0000000000ull, 0 };
    uint8_t table[8 + 32];
    memcpy(table, head, 8);
    memcpy(table + 8, region, 32);
    send_msg(s, 5, 0x9, table, sizeof table, &mfd, 1);  /* SET_MEM_TABLE */
    recv_reply(s);
    for (int i = 0; i < 5; i++)
        close(fds[i]);
    close(mfd);
    close(s);
}

static void snapshot(int *nfds, long *rss_kb)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)refnet);
    DIR *d = opendir(path);
    *nfds = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        *nfds += e->d_name[0] != '.';
    if (d)
        closedir(d);
    snprintf(path, sizeof path, "/proc/%d/status", (int)refnet);
    FILE *f = fopen(path, "r");
    *rss_kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", rss_kb) == 1)
            break;
    if (f)
        fclose(f);
    if (!d || *rss_kb < 0)
        fail("cannot read /proc/%d", (int)refnet);
}

static bool exited(void)
{
    int st;
    return waitpid(refnet, &st, WNOHANG) == refnet;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        fail("usage: leak VHOST_REFNET [CYCLES]");
    long cycles = argc > 2 ? strtol(argv[2], NULL, 10) : 1000;
    signal(SIGPIPE, SIG_IGN);
    snprintf(dir, sizeof dir, "/tmp/vhc-leak.XXXXXX");
    if (!mkdtemp(dir))
        fail("mkdtemp: %s", strerror(errno));
    snprintf(sock_path, sizeof sock_path, "%s/sock", dir);
    refnet = fork();
    if (refnet == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);  /* no refnet outlives a leak test that died */
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDERR_FILENO);
        close_range(3, ~0u, 0);
        execl(argv[1], argv[1], "--socket", sock_path, "--queues", "1", (char *)NULL);
        _exit(127);
    }
    struct stat st;
    for (int i = 0; i < 100 && stat(sock_path, &st) != 0; i++)
        sleep_ms(50);
    for (int i = 0; i < WARMUP; i++)
        cycle();
    sleep_ms(200);                      /* let the last close be handled */
    int fd0, fd1;
    long rss0, rss1;
    snapshot(&fd0, &rss0);
    for (long i = 0; i < cycles; i++)
        cycle();
    sleep_ms(200);
    snapshot(&fd1, &rss1);
    printf("leak: %ld cycles: fds %d -> %d, RSS %ld kB -> %ld kB\n", cycles, fd0, fd1, rss0,
           rss1);
    if (exited()) {
        refnet = -1;
        fail("vhost-refnet exited");
    }
    if (fd1 != fd0)
        fail("FAIL: %d fds more after %ld cycles", fd1 - fd0, cycles);
    if (rss1 - rss0 > MAX_RSS_KB)
        fail("FAIL: RSS grew %ld kB (limit %d kB)", rss1 - rss0, MAX_RSS_KB);
    if (!cleanup()) {
        printf("leak: FAIL: vhost-refnet did not exit within 10 s of SIGTERM\n");
        return 1;
    }
    printf("ok\n");
    return 0;
}

/* libFuzzer target: vhost-refnet's message handler (ref_session_step).
 *
 * The input is a stream of records (fuzz_msg.h): each one message from the
 * front end with fds of a kind the record picks, or a harness action that
 * does what a hostile front end does between messages: write into guest
 * memory, shrink it under the back end's mappings, kick.
 *
 * Each message is written whole, with its fds (SCM_RIGHTS), into one end of
 * a socketpair whose other end is the session's socket; then the session
 * handles exactly one message.  Fds by kind FZ_BY_REQUEST are what QEMU
 * sends: sparse 256 MiB memfds for memory requests (so the traces'
 * SET_MEM_TABLE seeds map), eventfds otherwise; the other kinds are the
 * hostile ones: blocking, saturated, full, always-ready fds, regular files,
 * huge memfds.  Replies are drained and dropped.  A truncated record ends
 * the input (a partial message would only make vhu_recv wait for its
 * timeout).  Workers started by kicks run meanwhile in their threads.
 *
 * Beyond ASan/UBSan/LSan and libFuzzer's timeout (a worker stuck for good
 * shows as a hang), each input must leave the process with the fd count it
 * found: the session closes everything at reset. */
#include "refnet.h"

#include "fuzz_msg.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_STEPS  64u          /* records per input: keeps one run short */
#define KICK_RUN_US 300         /* how long a kick lets the workers run */

void ref_log(const char *fmt, ...)
{
    if (!getenv("FUZZ_VERBOSE"))
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Open fds of the kinds a session holds (sockets, eventfds, memfds); with
 * print, each one.  Other kinds are left out: the sanitizer runtime opens
 * pipes of its own (to its symbolizer) at any time. */
static unsigned count_fds(bool print)
{
    static const char *const kinds[] = { "socket:", "anon_inode:", "/memfd:" };
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        abort();
    unsigned n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        char path[300], to[256] = "";
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(path, to, sizeof to - 1);
        for (size_t k = 0; len > 0 && k < sizeof kinds / sizeof kinds[0]; k++) {
            if (strncmp(to, kinds[k], strlen(kinds[k])) == 0) {
                n++;
                if (print)
                    fprintf(stderr, "  fd %s -> %s\n", e->d_name, to);
            }
        }
    }
    closedir(d);
    return n;
}

/* Requests whose fds the back end mmaps. */
static bool wants_memfd(uint32_t req)
{
    static const uint32_t mem_reqs[] = {
        VHU_REQ_SET_MEM_TABLE, VHU_REQ_ADD_MEM_REG, VHU_REQ_REM_MEM_REG,
        VHU_REQ_SET_LOG_BASE, VHU_REQ_SET_INFLIGHT_FD,
    };
    for (size_t i = 0; i < sizeof mem_reqs / sizeof mem_reqs[0]; i++)
        if (req == mem_reqs[i])
            return true;
    return false;
}

/* What the harness holds for one input: memfds it sent (for FZ_POKE and
 * FZ_SHRINK), fds FZ_KICK writes, and fds that only have to stay open (the
 * read end of a full pipe).  All closed when the input ends. */
static struct held {
    int mem[FZ_KEEP], kick[FZ_KEEP], keep[FZ_KEEP];
    unsigned nmem, nkick, nkeep;
} held;

static void hold(int *set, unsigned *n, int fd)
{
    if (fd >= 0 && *n < FZ_KEEP)
        set[(*n)++] = dup(fd);
}

static void release_all(void)
{
    for (unsigned i = 0; i < held.nmem; i++)
        close(held.mem[i]);
    for (unsigned i = 0; i < held.nkick; i++)
        close(held.kick[i]);
    for (unsigned i = 0; i < held.nkeep; i++)
        close(held.keep[i]);
    held.nmem = held.nkick = held.nkeep = 0;
}

static int memfd_of(uint64_t size, bool data)
{
    int fd = memfd_create("fuzz-guest", MFD_CLOEXEC);
    if (fd >= 0 && ftruncate(fd, (off_t)size) < 0) {
        close(fd);
        return -1;
    }
    if (fd >= 0 && data && pwrite(fd, "fuzz", 4, 0) != 4) {
        close(fd);
        return -1;
    }
    hold(held.mem, &held.nmem, fd);
    return fd;
}

static int eventfd_of(int flags, uint64_t count)
{
    int fd = eventfd(0, EFD_CLOEXEC | flags);
    if (fd >= 0 && count && write(fd, &count, sizeof count) != sizeof count) {
        close(fd);
        return -1;
    }
    hold(held.kick, &held.nkick, fd);
    return fd;
}

/* One end of a pipe; the other is closed (gone), held for kicks or held
 * just to stay open. */
static int pipe_end(bool read_end, bool full, bool writer_kicks)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
        return -1;
    static const char block[4096];
    while (full && write(p[1], block, sizeof block) > 0)
        ;
    fcntl(p[0], F_SETFL, 0);            /* blocking, as a careless front end's are */
    fcntl(p[1], F_SETFL, 0);
    int give = read_end ? p[0] : p[1], other = read_end ? p[1] : p[0];
    if (writer_kicks)
        hold(held.kick, &held.nkick, other);
    else if (full)
        hold(held.keep, &held.nkeep, other);
    close(other);
    return give;
}

static int socket_end(void)
{
    int s[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) < 0)
        return -1;
    close(s[1]);
    return s[0];
}

static int make_fd(enum fz_kind kind, uint32_t req)
{
    switch (kind) {
    case FZ_BY_REQUEST:
        return wants_memfd(req) ? memfd_of(FZ_MEMFD_SIZE, false)
                                : eventfd_of(EFD_NONBLOCK, 0);
    case FZ_EVENTFD_BLOCKING: return eventfd_of(0, 0);
    case FZ_EVENTFD_FULL: return eventfd_of(0, 0xfffffffffffffffeull);
    case FZ_PIPE_EOF: return pipe_end(true, false, false);
    case FZ_PIPE_FULL: return pipe_end(false, true, false);
    case FZ_PIPE_READ: return pipe_end(true, false, true);
    case FZ_MEMFD_SMALL: return memfd_of(4096, true);
    case FZ_SOCKET: return socket_end();
    case FZ_DEVNULL: return open("/dev/null", O_RDWR | O_CLOEXEC);
    case FZ_MEMFD_LARGE: return memfd_of(FZ_MEMFD_HUGE, false);
    default: return memfd_of(FZ_MEMFD_SIZE, false);
    }
}

/* Kick every held eventfd and pipe without ever blocking ourselves (their
 * file descriptions may be blocking, or full), then let the workers run. */
static void kick_all(void)
{
    for (unsigned i = 0; i < held.nkick; i++) {
        struct pollfd p = { held.kick[i], POLLOUT, 0 };
        uint64_t one = 1;
        if (poll(&p, 1, 0) == 1 && p.revents == POLLOUT &&
            write(held.kick[i], &one, sizeof one) < 0) {
            /* raced to full: nothing to do */
        }
    }
    usleep(KICK_RUN_US);
}

static void act(uint32_t action, const uint8_t *p, size_t len)
{
    if (action == FZ_KICK) {
        kick_all();
        return;
    }
    if (len < 9 || held.nmem == 0)
        return;
    int fd = held.mem[p[0] % held.nmem];
    uint64_t v;
    memcpy(&v, p + 1, sizeof v);
    if (action == FZ_POKE && v < FZ_MEMFD_HUGE && pwrite(fd, p + 9, len - 9, (off_t)v) < 0)
        return;
    if (action == FZ_SHRINK && ftruncate(fd, (off_t)(v % (FZ_MEMFD_HUGE + 1))) < 0)
        return;
}

/* Sends one record's message (or does its action); false when the input
 * has no whole record. */
static bool do_record(int sock, const uint8_t **p, size_t *left)
{
    if (*left < 1 + VHU_HDR_SIZE)
        return false;
    unsigned nfds = ((*p)[0] & 0xf) % (VHU_MAX_FDS + 1);
    enum fz_kind kind = (enum fz_kind)((*p)[0] >> FZ_KIND_SHIFT);
    const uint8_t *msg = *p + 1;
    struct vhu_hdr h;
    memcpy(&h, msg, sizeof h);
    size_t body = h.size <= VHU_MAX_PAYLOAD ? h.size : 0;
    size_t len = VHU_HDR_SIZE + body;
    if (*left - 1 < len)
        return false;
    *p += 1 + len;
    *left -= 1 + len;
    if (kind == FZ_ACTION) {
        act(h.request, msg + VHU_HDR_SIZE, body);
        return true;
    }
    int fds[VHU_MAX_FDS];
    unsigned made = 0;
    while (made < nfds && (fds[made] = make_fd(kind, h.request)) >= 0)
        made++;
    int rc = vhu_send_raw(sock, msg, len, fds, made);
    for (unsigned i = 0; i < made; i++)
        close(fds[i]);
    return rc == VHU_IO_OK;
}

/* Read and drop whatever the session replied (closing any fds it sent). */
static void drain(int sock)
{
    uint8_t buf[VHU_HDR_SIZE + VHU_MAX_PAYLOAD];
    char ctl[CMSG_SPACE(VHU_MAX_FDS * sizeof(int))];
    for (;;) {
        struct iovec iov = { buf, sizeof buf };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                             .msg_controllen = sizeof ctl };
        if (recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) <= 0)
            return;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                continue;
            size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < n; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                close(fd);
            }
        }
    }
}

static void run_session(const uint8_t *data, size_t size)
{
    static struct ref_opts opts = {
        .queues = 2, .max_mem_slots = VHU_MAX_REGIONS, .reply_ack = true,
        .mode = "loopback",
        .tap_fds = { -1, -1, -1, -1, -1, -1, -1, -1 },
    };
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    static struct ref_session s;   /* large: keep it off the stack */
    ref_session_init(&s, &opts, sv[1]);
    for (unsigned step = 0; step < MAX_STEPS; step++) {
        const uint8_t *at = data;
        if (!do_record(sv[0], &data, &size))
            break;
        if (at[0] >> FZ_KIND_SHIFT == FZ_ACTION)
            continue;
        bool eof;
        enum ref_verdict v = ref_session_step(&s, &eof);
        drain(sv[0]);
        if (v == REF_CLOSE)
            break;
    }
    ref_session_reset(&s);          /* closes sv[1] */
    close(sv[0]);
    release_all();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned fds_at_start;
    static bool counted;
    if (!counted) {
        signal(SIGPIPE, SIG_IGN);   /* as in vhost-refnet's main: pipes without reader */
        fds_at_start = count_fds(false);
        counted = true;
    }
    run_session(data, size);
    unsigned now = count_fds(false);
    if (now != fds_at_start) {
        fprintf(stderr, "fuzz_msg: fd leak: %u open fds before, %u after\n", fds_at_start, now);
        count_fds(true);
        abort();
    }
    return 0;
}

/* libFuzzer target: vhost-refnet's message handler (ref_session_step).
 *
 * The input is a stream of records, each one message from the front end:
 *
 *     1 byte   fd spec: low nibble = number of fds to attach (mod 9)
 *    12 bytes  vhost-user header (request, flags, size), as on the wire
 *     N bytes  payload, N = header size (at most VHU_MAX_PAYLOAD: a larger
 *              size is sent as a bare header, which the session rejects)
 *
 * Each record is written whole, with its fds (SCM_RIGHTS), into one end of
 * a socketpair whose other end is the session's socket; then the session
 * handles exactly one message.  Fds are made deterministically by kind of
 * request: memory requests get sparse 256 MiB memfds (the size QEMU 7.2's
 * traces use, so their SET_MEM_TABLE seeds map), every other request gets
 * eventfds.  Replies are drained and dropped.  A truncated record ends the
 * input (a partial message would only make vhu_recv wait for its timeout).
 *
 * Beyond ASan/UBSan/LSan, each input must leave the process with the fd
 * count it found: the session closes everything at reset. */
#include "refnet.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define MEMFD_SIZE (256ull << 20)
#define MAX_STEPS  64u          /* messages per input: keeps one run short */

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

static int make_fd(uint32_t req)
{
    if (!wants_memfd(req))
        return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int fd = memfd_create("fuzz-guest", MFD_CLOEXEC);
    if (fd >= 0 && ftruncate(fd, (off_t)MEMFD_SIZE) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends one record's message; false when the input has no whole record. */
static bool send_record(int sock, const uint8_t **p, size_t *left)
{
    if (*left < 1 + VHU_HDR_SIZE)
        return false;
    unsigned nfds = (*p)[0] % (VHU_MAX_FDS + 1);
    const uint8_t *msg = *p + 1;
    struct vhu_hdr h;
    memcpy(&h, msg, sizeof h);
    size_t body = h.size <= VHU_MAX_PAYLOAD ? h.size : 0;
    size_t len = VHU_HDR_SIZE + body;
    if (*left - 1 < len)
        return false;
    int fds[VHU_MAX_FDS];
    unsigned made = 0;
    while (made < nfds && (fds[made] = make_fd(h.request)) >= 0)
        made++;
    int rc = vhu_send_raw(sock, msg, len, fds, made);
    for (unsigned i = 0; i < made; i++)
        close(fds[i]);
    *p += 1 + len;
    *left -= 1 + len;
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
    for (unsigned step = 0; step < MAX_STEPS && send_record(sv[0], &data, &size); step++) {
        bool eof;
        enum ref_verdict v = ref_session_step(&s, &eof);
        drain(sv[0]);
        if (v == REF_CLOSE)
            break;
    }
    ref_session_reset(&s);          /* closes sv[1] */
    close(sv[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned fds_at_start;
    static bool counted;
    if (!counted) {
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

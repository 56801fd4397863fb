/* Sending and receiving whole messages with their fds over an AF_UNIX
 * stream socket.  Every wait is bounded: a peer that stalls in the middle of
 * a message makes vhu_recv time out instead of hanging the caller. */
#include "vhu.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Raw sends may carry more fds than a valid message (malformed-input cases). */
#define RAW_MAX_FDS   64u
/* Receive room for more fds than allowed, so that excess is seen and
 * refused rather than silently cut off by the kernel. */
#define RECV_FD_ROOM  (VHU_MAX_FDS * 4u)
/* How long a send may wait for room in the socket buffer. */
#define SEND_TIMEOUT_MS 5000

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Remaining ms until deadline (-1 = no deadline); 0 when it has passed. */
static int remaining_ms(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - now_ms();
    return left > 0 ? (int)(left > 1000000000 ? 1000000000 : left) : 0;
}

/* VHU_IO_OK when fd is ready for `events` before the deadline. */
static int wait_ready(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p = { .fd = fd, .events = events };
        int n = poll(&p, 1, remaining_ms(deadline));
        if (n > 0)
            return VHU_IO_OK;
        if (n == 0)
            return VHU_IO_TIMEOUT;
        if (errno != EINTR)
            return VHU_IO_ERR;
    }
}

/* ---- sending ---- */

/* One sendmsg attempt; fds ride on the first byte only. */
static ssize_t send_some(int sock, const uint8_t *p, size_t len, const int *fds, unsigned nfds)
{
    union {
        char buf[CMSG_SPACE(RAW_MAX_FDS * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = { .iov_base = (void *)p, .iov_len = len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (nfds) {
        memset(&ctl, 0, sizeof ctl);
        mh.msg_control = ctl.buf;
        mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
    }
    return sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

int vhu_send_raw(int sock, const void *buf, size_t len, const int *fds, unsigned nfds)
{
    if (nfds > RAW_MAX_FDS || (nfds && len == 0)) {
        errno = EINVAL;
        return VHU_IO_ERR;
    }
    const uint8_t *p = buf;
    int64_t deadline = now_ms() + SEND_TIMEOUT_MS;
    size_t done = 0;
    while (done < len) {
        ssize_t n = send_some(sock, p + done, len - done, fds, nfds);
        if (n > 0) {
            done += (size_t)n;
            nfds = 0;               /* the kernel took them with the first byte */
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = wait_ready(sock, POLLOUT, deadline);
            if (rc != VHU_IO_OK)
                return rc;
            continue;
        }
        return VHU_IO_ERR;
    }
    return VHU_IO_OK;
}

int vhu_send(int sock, const struct vhu_msg *m)
{
    uint8_t buf[VHU_HDR_SIZE + VHU_MAX_PAYLOAD];
    size_t len = vhu_encode(m, buf, sizeof buf);
    if (len == 0 || m->nfds > VHU_MAX_FDS) {
        errno = EINVAL;
        return VHU_IO_ERR;
    }
    return vhu_send_raw(sock, buf, len, m->fds, m->nfds);
}

/* ---- receiving ---- */

struct rx {
    int sock;
    int64_t deadline;
    struct vhu_msg *m;
    int extra[RECV_FD_ROOM];  /* fds past VHU_MAX_FDS, closed on failure */
    unsigned nextra;
    bool ctrunc;
};

static void take_fds(struct rx *rx, const struct msghdr *mh)
{
    if (mh->msg_flags & MSG_CTRUNC)
        rx->ctrunc = true;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR((struct msghdr *)mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            if (!vhu_msg_add_fd(rx->m, fd)) {
                if (rx->nextra < RECV_FD_ROOM)
                    rx->extra[rx->nextra++] = fd;
                else
                    close(fd);
            }
        }
    }
}

/* Reads exactly len bytes.  `started` says whether any byte of this
 * message was read before, which turns EOF into a truncated message. */
static int read_exact(struct rx *rx, void *dst, size_t len, bool started)
{
    union {
        char buf[CMSG_SPACE(RECV_FD_ROOM * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    size_t got = 0;
    while (got < len) {
        int rc = wait_ready(rx->sock, POLLIN, rx->deadline);
        if (rc != VHU_IO_OK)
            return rc;
        struct iovec iov = { .iov_base = (uint8_t *)dst + got, .iov_len = len - got };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                             .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
        ssize_t n = recvmsg(rx->sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n < 0)
            return VHU_IO_ERR;
        take_fds(rx, &mh);
        if (n == 0)
            return (started || got) ? VHU_IO_BAD : VHU_IO_EOF;
        got += (size_t)n;
    }
    return VHU_IO_OK;
}

static void fail_cleanup(struct rx *rx)
{
    vhu_msg_close_fds(rx->m);
    for (unsigned i = 0; i < rx->nextra; i++)
        close(rx->extra[i]);
    rx->nextra = 0;
}

/* Header rules that decide whether the stream can be trusted further. */
static const char *sync_rule(const struct vhu_hdr *h)
{
    if ((h->flags & VHU_VERSION_MASK) != VHU_VERSION)
        return "hdr.version";
    if (h->size > VHU_MAX_PAYLOAD)
        return "hdr.size.max";
    return NULL;
}

static int recv_body(struct rx *rx, const char **rule)
{
    int rc = read_exact(rx, &rx->m->hdr, VHU_HDR_SIZE, false);
    if (rc == VHU_IO_BAD)
        *rule = "io.truncated";
    if (rc != VHU_IO_OK)
        return rc;
    if ((*rule = sync_rule(&rx->m->hdr)) != NULL)
        return VHU_IO_BAD;
    rc = read_exact(rx, rx->m->u.bytes, rx->m->hdr.size, true);
    if (rc == VHU_IO_BAD)
        *rule = "io.truncated";
    if (rc != VHU_IO_OK)
        return rc;
    if (rx->nextra) {
        *rule = "io.fds.max";
        return VHU_IO_BAD;
    }
    if (rx->ctrunc) {
        *rule = "io.ctrunc";
        return VHU_IO_BAD;
    }
    return VHU_IO_OK;
}

int vhu_recv(int sock, struct vhu_msg *m, int timeout_ms, const char **rule)
{
    struct rx rx = { .sock = sock, .m = m,
                     .deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms };
    const char *why = NULL;
    vhu_msg_init(m, 0, 0);
    int rc = recv_body(&rx, &why);
    if (rc != VHU_IO_OK)
        fail_cleanup(&rx);
    if (rule)
        *rule = rc == VHU_IO_BAD ? why : NULL;
    return rc;
}

const char *vhu_io_strerror(int rc)
{
    static const char *const text[] = {
        [-VHU_IO_OK] = "ok",
        [-VHU_IO_TIMEOUT] = "timed out waiting for a complete message",
        [-VHU_IO_EOF] = "peer closed the connection",
        [-VHU_IO_ERR] = "socket error",
        [-VHU_IO_BAD] = "malformed message",
    };
    if (rc > 0 || rc < VHU_IO_BAD)
        return "unknown I/O status";
    return text[-rc];
}

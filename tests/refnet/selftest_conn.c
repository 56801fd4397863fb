/* refnet-selftest: connections, messages, fds and the trace replay. */
#include "selftest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define TIMEOUT_S     2
#define TRACE_MEMFD   0x10000000ull     /* 256 MiB, as QEMU's -m 256 */
#define MAX_TRACE     256u

/* ---- payloads ---- */

void msg_init(struct smsg *m, uint32_t req, uint32_t flags)
{
    memset(m, 0, sizeof *m);
    m->req = req;
    m->flags = flags;
}

void p_u64(struct smsg *m, uint64_t v)
{
    memcpy(m->body, &v, 8);
    m->len = 8;
}

void p_state(struct smsg *m, uint32_t index, uint32_t num)
{
    memcpy(m->body, &index, 4);
    memcpy(m->body + 4, &num, 4);
    m->len = 8;
}

void p_region(uint8_t *at, uint64_t gpa, uint64_t size, uint64_t uaddr, uint64_t off)
{
    const uint64_t v[4] = { gpa, size, uaddr, off };
    memcpy(at, v, sizeof v);
}

void p_mem_table(struct smsg *m, const uint64_t (*regions)[4], unsigned n)
{
    uint32_t head[2] = { n, 0 };
    memcpy(m->body, head, sizeof head);
    for (unsigned i = 0; i < n; i++)
        p_region(m->body + 8 + 32 * i, regions[i][0], regions[i][1], regions[i][2],
                 regions[i][3]);
    m->len = 8 + 32 * (size_t)n;
}

void p_mem_reg(struct smsg *m, uint64_t gpa, uint64_t size, uint64_t uaddr, uint64_t off)
{
    memset(m->body, 0, 8);
    p_region(m->body + 8, gpa, size, uaddr, off);
    m->len = 40;
}

void p_vring_addr(struct smsg *m, uint32_t index, uint64_t desc, uint64_t used,
                  uint64_t avail, uint32_t flags)
{
    const uint32_t head[2] = { index, flags };
    const uint64_t addrs[4] = { desc, used, avail, 0 };
    memcpy(m->body, head, sizeof head);
    memcpy(m->body + 8, addrs, sizeof addrs);
    m->len = 40;
}

/* ---- connections ---- */

bool conn_open(struct conn *c, const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = { TIMEOUT_S, 0 };
    if (c->fd < 0 || setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0 ||
        connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
        return false;
    }
    return true;
}

void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

bool conn_send_raw(struct conn *c, const void *buf, size_t len, const int *fds, unsigned n)
{
    struct iovec iov = { (void *)buf, len };
    char ctl[CMSG_SPACE(MAX_FDS * sizeof(int))];
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (n) {
        memset(ctl, 0, sizeof ctl);
        mh.msg_control = ctl;
        mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(n * sizeof(int));
        memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
    }
    return c->fd >= 0 && sendmsg(c->fd, &mh, MSG_NOSIGNAL) == (ssize_t)len;
}

bool conn_send(struct conn *c, const struct smsg *m, const int *fds, unsigned nfds)
{
    uint8_t buf[HDR_LEN + MAX_BODY];
    uint32_t hdr[3] = { m->req, m->flags, (uint32_t)m->len };
    memcpy(buf, hdr, HDR_LEN);
    memcpy(buf + HDR_LEN, m->body, m->len);
    return conn_send_raw(c, buf, HDR_LEN + m->len, fds, nfds);
}

/* Exactly len bytes (closing any fds that come along); false on EOF,
 * timeout or error. */
static bool recv_exact(struct conn *c, uint8_t *p, size_t len)
{
    while (len > 0) {
        char ctl[CMSG_SPACE(MAX_FDS * sizeof(int))];
        struct iovec iov = { p, len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                             .msg_controllen = sizeof ctl };
        ssize_t n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
        if (n <= 0)
            return false;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
            size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < k; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
                close(fd);
            }
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

bool conn_recv(struct conn *c, struct smsg *out)
{
    uint32_t hdr[3];
    if (c->fd < 0 || !recv_exact(c, (uint8_t *)hdr, HDR_LEN) || hdr[2] > MAX_BODY)
        return false;
    msg_init(out, hdr[0], hdr[1]);
    out->len = hdr[2];
    return out->len == 0 || recv_exact(c, out->body, out->len);
}

bool conn_call(struct conn *c, const struct smsg *m, const int *fds, unsigned nfds,
               struct smsg *reply)
{
    return conn_send(c, m, fds, nfds) && conn_recv(c, reply);
}

bool conn_closed(struct conn *c)
{
    uint8_t b;
    ssize_t n = recv(c->fd, &b, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* ---- fds ---- */

int make_memfd(uint64_t size)
{
    int fd = memfd_create("guest", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
        perror("selftest: memfd");
        exit(2);
    }
    return fd;
}

int make_eventfd(void)
{
    int fd = eventfd(0, EFD_CLOEXEC);
    if (fd < 0) {
        perror("selftest: eventfd");
        exit(2);
    }
    return fd;
}

/* ---- trace replay ---- */

struct tmsg {
    bool f2b;
    unsigned nfds;
    uint8_t b[HDR_LEN + MAX_BODY];
    size_t len;
};

static int hexval(int ch)
{
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Lines "SEQ DIR nfds=N HEX"; false on a line that does not parse. */
static bool parse_trace(const char *path, struct tmsg *t, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    static char line[2 * (HDR_LEN + MAX_BODY) + 64], hex[sizeof line];
    char dir[8];
    bool ok = true;
    for (*n = 0; ok && fgets(line, sizeof line, f);) {
        struct tmsg *m = &t[*n];
        ok = *n < MAX_TRACE && sscanf(line, "%*s %7s nfds=%u %s", dir, &m->nfds, hex) == 3;
        size_t hl = ok ? strlen(hex) : 0;
        ok = ok && hl % 2 == 0 && hl / 2 >= HDR_LEN && hl / 2 <= sizeof m->b;
        for (size_t i = 0; ok && i < hl / 2; i++) {
            int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
            ok = hi >= 0 && lo >= 0;
            m->b[i] = (uint8_t)(hi << 4 | lo);
        }
        m->len = hl / 2;
        m->f2b = strcmp(dir, "F->B") == 0;
        *n += ok;
    }
    fclose(f);
    return ok && *n > 0;
}

static bool is_mem_req(uint32_t req)
{
    return req == REQ_SET_MEM_TABLE || req == REQ_ADD_MEM_REG || req == REQ_REM_MEM_REG;
}

/* The fds QEMU would attach: memfds for memory requests, a socket for the
 * back-end channel (our end kept in *keep), eventfds for the rest. */
static unsigned trace_fds(uint32_t req, unsigned n, int *fds, int *keep)
{
    n = n > MAX_FDS ? MAX_FDS : n;
    for (unsigned i = 0; i < n; i++) {
        if (is_mem_req(req)) {
            fds[i] = make_memfd(TRACE_MEMFD);
        } else if (req == REQ_SET_BACKEND_REQ_FD) {
            int sv[2];
            if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                exit(2);
            if (*keep >= 0)
                close(*keep);
            *keep = sv[0];
            fds[i] = sv[1];
        } else {
            fds[i] = make_eventfd();
        }
    }
    return n;
}

/* Send every F->B message (GET_CONFIG skipped), SET_FEATURES and
 * SET_PROTOCOL_FEATURES masked to what we were offered, the way QEMU
 * would; wherever the trace has a reply, one must come: same request,
 * flags 0x5, the recorded payload size.  Then nothing unexpected may be
 * queued, and the connection must still answer GET_FEATURES. */
bool replay_trace(const char *trace_path, const char *sock_path)
{
    static struct tmsg t[MAX_TRACE];
    size_t n;
    if (!parse_trace(trace_path, t, &n)) {
        printf("   %s: cannot parse\n", trace_path);
        return false;
    }
    struct conn c;
    if (!conn_open(&c, sock_path))
        return false;
    uint64_t offered[2] = { 0, 0 };     /* features, protocol features */
    int keep = -1;
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        if (!t[i].f2b)
            continue;
        struct smsg m;
        uint32_t hdr[3];
        memcpy(hdr, t[i].b, HDR_LEN);
        if (hdr[0] == REQ_GET_CONFIG)
            continue;
        msg_init(&m, hdr[0], hdr[1]);
        m.len = t[i].len - HDR_LEN;
        memcpy(m.body, t[i].b + HDR_LEN, m.len);
        if ((m.req == REQ_SET_FEATURES || m.req == REQ_SET_PROTOCOL_FEATURES) && m.len == 8) {
            uint64_t v;
            memcpy(&v, m.body, 8);
            p_u64(&m, v & offered[m.req == REQ_SET_PROTOCOL_FEATURES]);
        }
        int fds[MAX_FDS];
        unsigned nf = trace_fds(m.req, t[i].nfds, fds, &keep);
        bool sent = conn_send(&c, &m, fds, nf);
        for (unsigned k = 0; k < nf; k++)
            close(fds[k]);
        if (!sent) {
            printf("   message %zu req %u: send failed: %s\n", i + 1, m.req, strerror(errno));
            ok = false;
            break;
        }
        if (i + 1 >= n || t[i + 1].f2b)
            continue;
        uint32_t want[3];
        memcpy(want, t[i + 1].b, HDR_LEN);
        struct smsg r;
        bool good = conn_recv(&c, &r) && r.req == m.req && r.flags == (F_VERSION | F_REPLY) &&
                    r.len == want[2];
        if (!good) {
            printf("   message %zu req %u: no reply like the trace's (req %u flags 0x%x "
                   "size %u)\n", i + 1, m.req, want[0], want[1], want[2]);
            ok = false;
        } else if ((m.req == REQ_GET_FEATURES || m.req == REQ_GET_PROTOCOL_FEATURES) &&
                   r.len == 8) {
            memcpy(&offered[m.req == REQ_GET_PROTOCOL_FEATURES], r.body, 8);
        }
    }
    struct smsg q, r;
    msg_init(&q, REQ_GET_FEATURES, F_VERSION);
    ok = ok && conn_call(&c, &q, NULL, 0, &r) && r.req == REQ_GET_FEATURES;
    conn_close(&c);
    if (keep >= 0)
        close(keep);
    return ok;
}

/* The mock front end's connection: sockets, message exchange with reply
 * checking, and the transcript. */
#include "mfe.h"
#include "mfe_fault.h"
#include "mfe_iotlb.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_RETRY_MS 20

/* ---- errors and transcript ---- */

static int fail(struct mfe *f, int rc, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct mfe *f, int rc, const char *rule, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->err, sizeof f->err, fmt, ap);
    va_end(ap);
    f->err_rule = rule;
    return rc;
}

/* --trace: the line as soon as it is complete; a failed write only loses
 * the live copy, the transcript keeps it. */
static void trace_line(const struct mfe *f, const char *line)
{
    if (f->trace_fd >= 0)
        dprintf(f->trace_fd, "%s\n", line);
}

/* A line that did not fit (full bytes long): its end becomes a mark that
 * says so, " ...[N bytes cut]", so a reader never takes a cut line whole. */
static void mark_cut(char *line, size_t full)
{
    if (full < MFE_LINE)
        return;
    char mark[48];
    size_t keep = MFE_LINE - 1;
    for (int pass = 0; pass < 2; pass++) {   /* N's digits move the cut */
        int n = snprintf(mark, sizeof mark, " ...[%zu bytes cut]", full - keep);
        keep = MFE_LINE - 1 - (size_t)n;
    }
    snprintf(mark, sizeof mark, " ...[%zu bytes cut]", full - keep);
    memcpy(line + keep, mark, strlen(mark) + 1);   /* keep + strlen(mark) = MFE_LINE - 1 */
}

static char *next_line(struct mfe *f)
{
    char *line = f->transcript[f->ntranscript % MFE_TRANSCRIPT];
    f->ntranscript++;
    return line;
}

void mfe_note(struct mfe *f, const char *fmt, ...)
{
    char *line = next_line(f);
    int n = snprintf(line, MFE_LINE, "# ");
    va_list ap;
    va_start(ap, fmt);
    int more = vsnprintf(line + n, MFE_LINE - (size_t)n, fmt, ap);
    va_end(ap);
    if (more > 0)
        mark_cut(line, (size_t)(n + more));
    trace_line(f, line);
}

static void record_msg(struct mfe *f, const struct vhu_msg *m, bool from_backend)
{
    char *line = next_line(f);
    int n = snprintf(line, MFE_LINE, "%04u %s ", ++f->seq, from_backend ? "B->F" : "F->B");
    bool is_reply = (m->hdr.flags & VHU_FLAG_REPLY) != 0;
    int more = vhu_format_dev(line + n, MFE_LINE - (size_t)n, VHU_CH_FRONT,
                              mfe_qemu_device(f)->dev, m, is_reply);
    if (more > 0)
        mark_cut(line, (size_t)(n + more));
    trace_line(f, line);
}

void mfe_transcript_dump(const struct mfe *f, FILE *out, const char *indent, unsigned n)
{
    unsigned kept = f->ntranscript < MFE_TRANSCRIPT ? f->ntranscript : MFE_TRANSCRIPT;
    if (n == 0 || n > kept)
        n = kept;
    for (unsigned i = f->ntranscript - n; i < f->ntranscript; i++)
        fprintf(out, "%s%s\n", indent ? indent : "", f->transcript[i % MFE_TRANSCRIPT]);
}

const char *mfe_error(const struct mfe *f)
{
    return f->err[0] ? f->err : "no error";
}

/* ---- life cycle ---- */

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

void mfe_init(struct mfe *f, int timeout_ms)
{
    memset(f, 0, sizeof *f);
    f->role = MFE_CONNECT;
    f->sock = -1;
    f->listen_fd = -1;
    f->backend_req = -1;
    f->timeout_ms = timeout_ms;
    f->queue_num = 1;
    f->queue_pairs = 1;
    f->nrings = 2;
    f->mem.fd = -1;
    for (unsigned i = 0; i < MFE_MAX_VQ; i++)
        f->vq[i].kick = f->vq[i].call = f->vq[i].err = f->vq[i].masked = -1;
    const char *trace = getenv("MFE_TRACE_FD");
    f->trace_fd = trace && *trace ? atoi(trace) : -1;
}

void mfe_disconnect(struct mfe *f)
{
    if (f->sock >= 0)
        mfe_note(f, "disconnect");
    close_fd(&f->sock);
    close_fd(&f->backend_req);
    f->protocol_acked = false;
    /* what was running is what a reconnect starts again (mfe_qemu_reconnect) */
    if (f->started_pairs)
        f->lost_pairs = f->started_pairs;
    f->started_pairs = 0;
    memset(f->nadded, 0, sizeof f->nadded);
}

void mfe_close(struct mfe *f)
{
    int timeout_ms = f->timeout_ms;
    close_fd(&f->sock);
    close_fd(&f->backend_req);
    close_fd(&f->listen_fd);
    for (unsigned i = 0; i < MFE_MAX_VQ; i++) {
        close_fd(&f->vq[i].kick);
        close_fd(&f->vq[i].call);
        close_fd(&f->vq[i].err);
        close_fd(&f->vq[i].masked);
    }
    mfe_mem_destroy(&f->mem);
    mfe_init(f, timeout_ms);
}

/* ---- connecting ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int unix_addr(struct sockaddr_un *sa, const char *path)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa->sun_path)
        return -1;
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return 0;
}

static void set_path(struct mfe *f, const char *path)
{
    if (path != f->path)   /* mfe_open passes f->path itself: no overlapping copy */
        snprintf(f->path, sizeof f->path, "%s", path);
}

/* One attempt: 0 connected, 1 worth retrying (nobody listens yet), <0 fatal. */
static int try_connect(struct mfe *f, const struct sockaddr_un *sa)
{
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return fail(f, -1, "conn.socket", "socket: %s", strerror(errno));
    if (connect(s, (const struct sockaddr *)sa, sizeof *sa) == 0) {
        f->sock = s;
        return 0;
    }
    int e = errno;
    close(s);
    if (e == ENOENT || e == ECONNREFUSED || e == EAGAIN)
        return 1;
    return fail(f, -1, "conn.connect", "connect %s: %s", sa->sun_path, strerror(e));
}

int mfe_connect(struct mfe *f, const char *path)
{
    struct sockaddr_un sa;
    f->role = MFE_CONNECT;
    set_path(f, path);
    if (unix_addr(&sa, path) < 0)
        return fail(f, -1, "conn.path", "socket path too long: %s", path);
    int64_t deadline = now_ms() + f->timeout_ms;
    for (;;) {
        int rc = try_connect(f, &sa);
        if (rc <= 0) {
            if (rc == 0)
                mfe_note(f, "connected to %s", path);
            return rc;
        }
        if (now_ms() >= deadline)
            return fail(f, VHU_IO_TIMEOUT, "conn.timeout",
                        "connect %s: nobody listening after %d ms", path, f->timeout_ms);
        usleep(CONNECT_RETRY_MS * 1000);
    }
}

int mfe_listen(struct mfe *f, const char *path)
{
    struct sockaddr_un sa;
    f->role = MFE_LISTEN;
    set_path(f, path);
    if (unix_addr(&sa, path) < 0)
        return fail(f, -1, "conn.path", "socket path too long: %s", path);
    unlink(path); /* a stale socket file from an earlier run would make bind fail */
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return fail(f, -1, "conn.socket", "socket: %s", strerror(errno));
    if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(s, 1) < 0) {
        int e = errno;
        close(s);
        return fail(f, -1, "conn.listen", "listen on %s: %s", path, strerror(e));
    }
    close_fd(&f->listen_fd);
    f->listen_fd = s;
    return 0;
}

void mfe_adopt_listener(struct mfe *f, int listen_fd, const char *path)
{
    f->role = MFE_LISTEN;
    set_path(f, path);
    close_fd(&f->listen_fd);
    f->listen_fd = listen_fd;
}

int mfe_accept(struct mfe *f)
{
    if (f->listen_fd < 0)
        return fail(f, -1, "conn.listen", "accept: not listening");
    struct pollfd p = { .fd = f->listen_fd, .events = POLLIN };
    int rc;
    do
        rc = poll(&p, 1, f->timeout_ms);
    while (rc < 0 && errno == EINTR);
    if (rc == 0)
        return fail(f, VHU_IO_TIMEOUT, "conn.timeout",
                    "accept on %s: no back end connected within %d ms", f->path, f->timeout_ms);
    if (rc < 0)
        return fail(f, VHU_IO_ERR, "conn.accept", "poll: %s", strerror(errno));
    int s = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (s < 0)
        return fail(f, VHU_IO_ERR, "conn.accept", "accept: %s", strerror(errno));
    close_fd(&f->sock);
    f->sock = s;
    mfe_note(f, "accepted on %s", f->path);
    return 0;
}

int mfe_open(struct mfe *f)
{
    return f->role == MFE_LISTEN ? mfe_accept(f) : mfe_connect(f, f->path);
}

/* ---- messages ---- */

static int io_fail(struct mfe *f, int rc, const char *what, const char *rule)
{
    static const char *const io_rules[] = { "io.ok", "io.timeout", "io.eof", "io.error" };
    if (rc == VHU_IO_BAD)
        return fail(f, rc, rule, "%s: malformed message: %s (%s)", what,
                    rule ? rule : "?", rule ? vhu_rule_text(rule) : "");
    const char *r = (rc < 0 && rc >= VHU_IO_ERR) ? io_rules[-rc] : "io.error";
    return fail(f, rc, r, "%s: %s%s%s", what, vhu_io_strerror(rc),
                rc == VHU_IO_ERR ? ": " : "", rc == VHU_IO_ERR ? strerror(errno) : "");
}

int mfe_send(struct mfe *f, const struct vhu_msg *m)
{
    record_msg(f, m, false);
    int rc = f->fault ? mfe_fault_send(f, m) : vhu_send(f->sock, m);
    if (rc < 0)
        return io_fail(f, rc, vhu_req_name(VHU_CH_FRONT, m->hdr.request), NULL);
    return 0;
}

static void wait_serving(struct mfe *f);

int mfe_recv(struct mfe *f, struct vhu_msg *m)
{
    const char *rule = NULL;
    wait_serving(f);
    int rc = vhu_recv(f->sock, m, f->timeout_ms, &rule);
    if (rc < 0) {
        mfe_note(f, "receive: %s%s%s", vhu_io_strerror(rc), rule ? " " : "", rule ? rule : "");
        return io_fail(f, rc, "receive", rule);
    }
    record_msg(f, m, true);
    return 0;
}

int mfe_send_raw(struct mfe *f, const void *buf, size_t len, const int *fds, unsigned nfds)
{
    char *line = next_line(f);
    int n = snprintf(line, MFE_LINE, "%04u F->B RAW len=%zu nfds=%u hex=", ++f->seq, len, nfds);
    const uint8_t *b = buf;
    for (size_t i = 0; i < len && i < 32 && n < (int)MFE_LINE - 3; i++)
        n += snprintf(line + n, MFE_LINE - (size_t)n, "%02x", b[i]);
    int rc = vhu_send_raw(f->sock, buf, len, fds, nfds);
    if (rc < 0)
        return io_fail(f, rc, "raw send", NULL);
    return 0;
}

bool mfe_reply_ack(const struct mfe *f)
{
    return (f->acked_protocol_features >> VHU_PF_REPLY_ACK) & 1;
}

bool mfe_expects_reply(const struct mfe *f, const struct vhu_msg *m)
{
    const struct vhu_req_desc *d = vhu_req_desc(VHU_CH_FRONT, m->hdr.request);
    if (!d)
        return false; /* unknown request: nobody can owe an answer */
    /* SET_LOG_BASE is answered only when the log is shared memory (spec,
     * "Communication"); the table marks it ALWAYS for that case. */
    if (m->hdr.request == VHU_REQ_SET_LOG_BASE)
        return (f->acked_protocol_features >> VHU_PF_LOG_SHMFD) & 1;
    if (d->reply_rule == VHU_R_ALWAYS)
        return true;
    return (m->hdr.flags & VHU_FLAG_NEED_REPLY) && mfe_reply_ack(f);
}

/* The payload a reply to m must carry: the table's reply kind, or the u64
 * ack when the reply exists only because of NEED_REPLY. */
static enum vhu_payload_kind reply_kind(const struct vhu_msg *m)
{
    const struct vhu_req_desc *d = vhu_req_desc(VHU_CH_FRONT, m->hdr.request);
    if (d->reply_rule == VHU_R_ALWAYS)
        return d->reply;
    return VHU_P_U64;
}

static int check_reply(struct mfe *f, const struct vhu_msg *m, const struct vhu_msg *r)
{
    const char *name = vhu_req_name(VHU_CH_FRONT, m->hdr.request);
    if (r->hdr.request != m->hdr.request)
        return fail(f, MFE_ERR_REPLY, "reply.request", "%s: reply is for request %u (%s)",
                    name, r->hdr.request, vhu_req_name(VHU_CH_FRONT, r->hdr.request));
    if (r->hdr.flags != (VHU_VERSION | VHU_FLAG_REPLY))
        return fail(f, MFE_ERR_REPLY, "reply.flags",
                    "%s: reply flags 0x%x, want exactly 0x5 (version 1 + REPLY)",
                    name, r->hdr.flags);
    if (!vhu_payload_size_ok(reply_kind(m), r->u.bytes, r->hdr.size))
        return fail(f, MFE_ERR_REPLY, "reply.size", "%s: reply payload size %u is wrong",
                    name, r->hdr.size);
    return 0;
}

static void clear_msg(struct vhu_msg *m)
{
    memset(&m->hdr, 0, sizeof m->hdr);
    m->nfds = 0;
}

/* With a vIOMMU: until the socket is readable (or timeout_ms), answer the
 * back-end channel (mfe_iotlb.h: nested requests). */
static void wait_serving(struct mfe *f)
{
    if (!f->iotlb || f->backend_req < 0)
        return;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct pollfd p[2] = { { .fd = f->sock, .events = POLLIN },
                               { .fd = f->backend_req, .events = POLLIN } };
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long left = f->timeout_ms - ((now.tv_sec - t0.tv_sec) * 1000LL +
                                          (now.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0 || poll(p, 2, (int)left) <= 0 || p[0].revents)
            return;
        if (p[1].revents & POLLIN)
            mfe_iotlb_nested(f->iotlb);
        else
            return;             /* the channel hung up: vhu_recv reports the rest */
    }
}

int mfe_request(struct mfe *f, const struct vhu_msg *m, struct vhu_msg *reply)
{
    struct vhu_msg local;
    struct vhu_msg *r = reply ? reply : &local;
    clear_msg(r);
    f->err_rule = NULL;
    int rc = mfe_send(f, m);
    if (rc < 0 || !mfe_expects_reply(f, m))
        return rc;
    rc = mfe_recv(f, r);
    if (rc < 0) {
        char why[sizeof f->err];
        memcpy(why, f->err, sizeof why);
        return fail(f, rc, f->err_rule, "%s: no reply: %.200s",
                    vhu_req_name(VHU_CH_FRONT, m->hdr.request), why);
    }
    rc = check_reply(f, m, r);
    if (!reply)
        vhu_msg_close_fds(r);
    if (f->iotlb)
        mfe_iotlb_flush(f->iotlb);   /* MISSes read while we waited */
    return rc;
}

int mfe_get_u64(struct mfe *f, uint32_t req, uint64_t *out)
{
    struct vhu_msg m, r;
    vhu_msg_init(&m, req, VHU_VERSION);
    if (!mfe_expects_reply(f, &m))
        return fail(f, -1, "mfe.usage", "%s owes no reply", vhu_req_name(VHU_CH_FRONT, req));
    int rc = mfe_request(f, &m, &r);
    vhu_msg_close_fds(&r);
    if (rc == 0)
        *out = r.u.u64;
    return rc;
}

/* After a request that may have been acked: a nonzero ack is the back end
 * reporting failure. */
static int check_ack(struct mfe *f, const struct vhu_msg *m, const struct vhu_msg *r)
{
    if (!mfe_expects_reply(f, m) || r->u.u64 == 0)
        return 0;
    return fail(f, MFE_ERR_NACK, "reply.nack", "%s: ack %llu",
                vhu_req_name(VHU_CH_FRONT, m->hdr.request), (unsigned long long)r->u.u64);
}

static int request_acked(struct mfe *f, struct vhu_msg *m, bool need_reply)
{
    struct vhu_msg r;
    if (need_reply)
        m->hdr.flags |= VHU_FLAG_NEED_REPLY;
    int rc = mfe_request(f, m, &r);
    vhu_msg_close_fds(&r);
    return rc < 0 ? rc : check_ack(f, m, &r);
}

int mfe_set_u64(struct mfe *f, uint32_t req, uint64_t v, bool need_reply)
{
    struct vhu_msg m;
    vhu_msg_u64(&m, req, v);
    return request_acked(f, &m, need_reply);
}

int mfe_set_state(struct mfe *f, uint32_t req, uint32_t index, uint32_t num, bool need_reply)
{
    struct vhu_msg m;
    vhu_msg_state(&m, req, index, num);
    return request_acked(f, &m, need_reply);
}

int mfe_expect_silence(struct mfe *f, int ms)
{
    struct vhu_msg m;
    const char *rule = NULL;
    int rc = vhu_recv(f->sock, &m, ms, &rule);
    if (rc == VHU_IO_TIMEOUT)
        return rc;
    if (rc < 0)
        return io_fail(f, rc, "expecting silence", rule);
    record_msg(f, &m, true);
    vhu_msg_close_fds(&m);
    return fail(f, 0, "reply.unexpected", "expected silence, got %s (flags 0x%x)",
                vhu_req_name(VHU_CH_FRONT, m.hdr.request), m.hdr.flags);
}

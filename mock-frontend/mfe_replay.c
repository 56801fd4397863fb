/* Replay of a recorded trace on a live connection (see mfe_trace.h).
 *
 * The trace's bytes are sent as recorded except where they cannot be:
 * fds are made fresh per kind, addresses point into our own memory (the
 * trace's uaddr -> gpa through the trace's own memory table, then gpa ->
 * our uaddr), and feature words are masked to what the live back end
 * offered, as QEMU would mask them. */
#include "mfe_replay.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_RINGS 256u
#define MAX_TTAB  (VHU_MAX_REGIONS * 2u)

struct rp {
    struct mfe *f;
    const struct mfe_trace *t;
    const struct mfe_replay_opts *o;
    struct mfe_replay_stats *st;
    unsigned session;                 /* the trace's session now replayed */
    bool lost;                        /* this session's connection is gone */
    /* the trace's memory table as the back end holds it: uaddr -> gpa */
    struct vhu_region ttab[MAX_TTAB];
    unsigned nttab;
    /* the live back end's offer and what we sent in this session */
    uint64_t offered, offered_pf, features;
    bool have_offer, have_offer_pf, pf_sent;
    uint64_t pf;
    uint32_t skip_reply;              /* the trace's next reply to this request is
                                         one QEMU would not have got (0 = none) */
    uint16_t num[MAX_RINGS], base[MAX_RINGS];
    unsigned reported;                /* seq of the last line reported */
};

const char *mfe_replay_verdict_name(enum mfe_replay_verdict v)
{
    static const char *const n[] = { "ok", "differs", "masked", "skipped", "MISMATCH" };
    return (unsigned)v < sizeof n / sizeof n[0] ? n[v] : "?";
}

static void report(struct rp *r, const struct mfe_trace_msg *tm, uint32_t req,
                   enum mfe_replay_verdict v, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void report(struct rp *r, const struct mfe_trace_msg *tm, uint32_t req,
                   enum mfe_replay_verdict v, const char *fmt, ...)
{
    char detail[512] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof detail, fmt, ap);
        va_end(ap);
    }
    bool breq = tm->dir == MFE_TR_BREQ_B2F || tm->dir == MFE_TR_BREQ_F2B;
    const char *name = vhu_req_name(breq ? VHU_CH_BACK : VHU_CH_FRONT, req);
    unsigned *count[] = { &r->st->ok, &r->st->differs, &r->st->masked, &r->st->skipped,
                          &r->st->failed };
    (*count[v])++;
    r->reported = tm->seq;
    if (v == MFE_RPL_FAIL && !r->st->first_failure[0])
        snprintf(r->st->first_failure, sizeof r->st->first_failure, "%04u %s: %.200s",
                 tm->seq, name, detail);
    if (v != MFE_RPL_OK)
        mfe_note(r->f, "replay %04u %s %s%s%s", tm->seq, name, mfe_replay_verdict_name(v),
                 detail[0] ? ": " : "", detail);
    if (r->o->report)
        r->o->report(r->o->arg, tm->seq, name, v, detail);
}

/* ---- addresses ---- */

static bool trace_gpa(const struct rp *r, uint64_t uaddr, uint64_t *gpa)
{
    for (unsigned i = 0; i < r->nttab; i++) {
        const struct vhu_region *t = &r->ttab[i];
        if (uaddr >= t->uaddr && uaddr - t->uaddr < t->size) {
            *gpa = t->gpa + (uaddr - t->uaddr);
            return true;
        }
    }
    return false;
}

static void ttab_add(struct rp *r, const struct vhu_region *reg)
{
    for (unsigned i = 0; i < r->nttab; i++)
        if (r->ttab[i].gpa == reg->gpa && r->ttab[i].size == reg->size) {
            r->ttab[i] = *reg;
            return;
        }
    if (r->nttab < MAX_TTAB)
        r->ttab[r->nttab++] = *reg;
}

static void ttab_remove(struct rp *r, const struct vhu_region *reg)
{
    for (unsigned i = 0; i < r->nttab; i++)
        if (r->ttab[i].gpa == reg->gpa && r->ttab[i].size == reg->size) {
            r->ttab[i] = r->ttab[--r->nttab];
            return;
        }
}

/* Point a trace region at our mapping of the same gpa; its fd is ours. */
static int live_region(struct rp *r, struct vhu_region *reg, int *fd)
{
    const struct mfe_region *m = mfe_replay_region(&r->f->mem, reg->gpa, reg->size);
    if (!m)
        return -1;
    reg->uaddr = (uint64_t)(uintptr_t)m->hva;
    *fd = m->fd;
    return 0;
}

/* ---- fixing up one front-end message ---- */

/* fds made for the message, closed after sending; keep marks the one to
 * keep (the back-end request channel) */
struct fds {
    int fd[VHU_MAX_FDS];
    bool temp[VHU_MAX_FDS];
    unsigned n;
    int keep;
};

static int fix_mem_table(struct rp *r, struct vhu_msg *m, struct fds *fds)
{
    r->nttab = 0;
    for (unsigned i = 0; i < m->u.mem.nregions; i++) {
        ttab_add(r, &m->u.mem.regions[i]);
        if (live_region(r, &m->u.mem.regions[i], &fds->fd[i]) < 0)
            return -1;
        fds->temp[i] = false;
    }
    fds->n = m->u.mem.nregions;
    return 0;
}

static int fix_mem_reg(struct rp *r, struct vhu_msg *m, struct fds *fds)
{
    struct vhu_region *reg = &m->u.mem_reg.region;
    if (m->hdr.request == VHU_REQ_ADD_MEM_REG)
        ttab_add(r, reg);
    else
        ttab_remove(r, reg);
    int fd;
    if (live_region(r, reg, &fd) < 0)
        return -1;
    if (fds->n > 0) {   /* REM_MEM_REG may come without one */
        fds->fd[0] = fd;
        fds->temp[0] = false;
    }
    return 0;
}

static void *ring_at(struct rp *r, uint64_t gpa, uint64_t len)
{
    return mfe_gpa(&r->f->mem, gpa, len);
}

/* Zeroed rings where the trace put them; a split ring's avail and used
 * idx start at SET_VRING_BASE so nothing looks available. */
static void lay_out_ring(struct rp *r, unsigned idx, const uint64_t gpa[3])
{
    unsigned num = idx < MAX_RINGS && r->num[idx] ? r->num[idx] : 256;
    uint16_t base = idx < MAX_RINGS ? r->base[idx] : 0;
    bool packed = (r->features >> VHU_F_RING_PACKED) & 1;
    uint64_t len[3] = { 16ull * num, packed ? 4 : 6 + 2ull * num, packed ? 4 : 6 + 8ull * num };
    uint8_t *p[3];
    for (unsigned i = 0; i < 3; i++)
        if ((p[i] = ring_at(r, gpa[i], len[i])) != NULL)
            memset(p[i], 0, len[i]);
    if (!packed && p[1] && p[2]) {
        memcpy(p[1] + 2, &base, 2);
        memcpy(p[2] + 2, &base, 2);
    }
}

static int fix_vring_addr(struct rp *r, struct vhu_msg *m)
{
    struct vhu_vring_addr *a = &m->u.addr;
    uint64_t in[3] = { a->desc, a->avail, a->used }, gpa[3], out[3];
    for (unsigned i = 0; i < 3; i++) {
        if (!trace_gpa(r, in[i], &gpa[i]))
            return -1;
        if (!(out[i] = mfe_uaddr(&r->f->mem, gpa[i])))
            return -1;
    }
    a->desc = out[0];
    a->avail = out[1];
    a->used = out[2];
    lay_out_ring(r, a->index, gpa);
    return 0;
}

/* bit names, comma-separated: protocol features, or the trace device's */
static void names(char *buf, size_t len, uint64_t bits, bool pf, enum vhu_dev dev)
{
    size_t n = 0;
    buf[0] = '\0';
    for (unsigned b = 0; b < 64 && n < len; b++)
        if (bits >> b & 1) {
            const char *s = pf ? vhu_pf_name(b) : vhu_feature_name(dev, b);
            n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "," : "", s ? s : "?");
        }
}

/* The feature words QEMU would send to this back end: what it offered. */
static void mask_words(struct rp *r, const struct mfe_trace_msg *tm, struct vhu_msg *m)
{
    bool pf = m->hdr.request == VHU_REQ_SET_PROTOCOL_FEATURES;
    uint64_t offer = pf ? r->offered_pf : r->offered;
    bool known = pf ? r->have_offer_pf : r->have_offer;
    uint64_t was = m->u.u64, now = known ? was & offer : was;
    m->u.u64 = now;
    if (pf) {
        r->pf = now;
        r->pf_sent = true;
    } else {
        r->features = now;
    }
    if (now != was) {
        char dropped[400];
        names(dropped, sizeof dropped, was & ~now, pf, r->t->dev);
        report(r, tm, m->hdr.request, MFE_RPL_MASKED,
               "trace 0x%016llx, sent 0x%016llx: the back end does not offer [%s]",
               (unsigned long long)was, (unsigned long long)now, dropped);
    }
}

static void remember_state(struct rp *r, const struct vhu_msg *m)
{
    unsigned i = m->u.state.index;
    if (i >= MAX_RINGS)
        return;
    if (m->hdr.request == VHU_REQ_SET_VRING_NUM)
        r->num[i] = (uint16_t)m->u.state.num;
    else
        r->base[i] = (uint16_t)m->u.state.num;
}

/* Request-specific rewriting; -1 when the trace's addresses do not fit. */
static int fix_payload(struct rp *r, const struct mfe_trace_msg *tm, struct vhu_msg *m,
                       struct fds *fds)
{
    switch (m->hdr.request) {
    case VHU_REQ_SET_FEATURES:
    case VHU_REQ_SET_PROTOCOL_FEATURES:
        mask_words(r, tm, m);
        return 0;
    case VHU_REQ_SET_MEM_TABLE: return fix_mem_table(r, m, fds);
    case VHU_REQ_ADD_MEM_REG:
    case VHU_REQ_REM_MEM_REG: return fix_mem_reg(r, m, fds);
    case VHU_REQ_SET_VRING_NUM:
    case VHU_REQ_SET_VRING_BASE: remember_state(r, m); return 0;
    case VHU_REQ_SET_VRING_ADDR: return fix_vring_addr(r, m);
    default: return 0;
    }
}

/* ---- fds per kind ---- */

static int make_fd(struct rp *r, const char *kind, uint32_t req, struct fds *fds, unsigned i)
{
    fds->temp[i] = true;
    if (strncmp(kind, "socket", 6) == 0) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
            return -1;
        fds->fd[i] = sv[1];
        if (req == VHU_REQ_SET_BACKEND_REQ_FD) {   /* ours: the back end's requests */
            if (r->f->backend_req >= 0)
                close(r->f->backend_req);
            r->f->backend_req = sv[0];
        } else {
            close(sv[0]);
        }
        return 0;
    }
    if (strncmp(kind, "memfd:", 6) == 0) {
        uint64_t size = 0;
        const char *s = strstr(kind, "(size=");
        if (s)
            size = strtoull(s + 6, NULL, 0);
        fds->fd[i] = mfe_replay_memfd(kind, size ? size : 4096);
        return fds->fd[i] < 0 ? -1 : 0;
    }
    /* eventfd, and kinds the trace did not name */
    fds->fd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return fds->fd[i] < 0 ? -1 : 0;
}

static int make_fds(struct rp *r, const struct mfe_trace_msg *tm, uint32_t req,
                    struct fds *fds)
{
    memset(fds, 0, sizeof *fds);
    fds->n = tm->nfds;
    for (unsigned i = 0; i < tm->nfds; i++)
        if (make_fd(r, tm->kind[i], req, fds, i) < 0) {
            fds->n = i;
            return -1;
        }
    return 0;
}

static void close_fds(struct fds *fds)
{
    for (unsigned i = 0; i < fds->n; i++)
        if (fds->temp[i] && fds->fd[i] >= 0)
            close(fds->fd[i]);
    fds->n = 0;
}

/* ---- sending ---- */

static bool negotiated(const struct rp *r, int bit)
{
    return !r->pf_sent || ((r->pf >> bit) & 1);
}

/* QEMU sends a gated request only with its protocol feature, and asks for
 * an ack only with REPLY_ACK: drop what it would not have sent. */
static bool gate(struct rp *r, const struct mfe_trace_msg *tm, struct vhu_msg *m)
{
    const struct vhu_req_desc *d = vhu_req_desc(VHU_CH_FRONT, m->hdr.request);
    if (d && d->gate_pf >= 0 && !negotiated(r, d->gate_pf)) {
        report(r, tm, m->hdr.request, MFE_RPL_SKIPPED, "protocol feature %s not negotiated",
               vhu_pf_name((unsigned)d->gate_pf));
        r->skip_reply = m->hdr.request;
        return false;
    }
    if ((m->hdr.flags & VHU_FLAG_NEED_REPLY) && d && d->reply_rule != VHU_R_ALWAYS &&
        !negotiated(r, VHU_PF_REPLY_ACK)) {
        m->hdr.flags &= ~VHU_FLAG_NEED_REPLY;
        report(r, tm, m->hdr.request, MFE_RPL_MASKED, "NEED_REPLY dropped: no REPLY_ACK");
        r->skip_reply = m->hdr.request;
    }
    return true;
}

/* Something the back end sent that the trace has not reached: unexpected. */
static void check_unsolicited(struct rp *r, const struct mfe_trace_msg *tm, int ms)
{
    struct pollfd p = { .fd = r->f->sock, .events = POLLIN };
    if (poll(&p, 1, ms) <= 0 || !(p.revents & POLLIN))
        return;
    struct vhu_msg got;
    int saved = r->f->timeout_ms;
    r->f->timeout_ms = 100;
    int rc = mfe_recv(r->f, &got);
    r->f->timeout_ms = saved;
    if (rc == VHU_IO_EOF) {
        report(r, tm, 0, MFE_RPL_FAIL, "the back end closed the connection");
        r->lost = true;
    } else if (rc == 0) {
        report(r, tm, got.hdr.request, MFE_RPL_FAIL, "unexpected message %s from the back end",
               vhu_req_name(VHU_CH_FRONT, got.hdr.request));
        vhu_msg_close_fds(&got);
    }
}

static int send_msg(struct rp *r, const struct mfe_trace_msg *tm, struct vhu_msg *m,
                    bool decoded, struct fds *fds)
{
    if (!decoded)
        return mfe_send_raw(r->f, tm->bytes, tm->len, fds->fd, fds->n);
    m->nfds = 0;
    for (unsigned i = 0; i < fds->n; i++)
        vhu_msg_add_fd(m, fds->fd[i]);
    return mfe_send(r->f, m);
}

static void replay_send(struct rp *r, const struct mfe_trace_msg *tm)
{
    struct vhu_msg m;
    memset(&m.hdr, 0, sizeof m.hdr);
    bool decoded = vhu_decode(tm->bytes, tm->len, &m) == NULL;
    uint32_t req = decoded ? m.hdr.request : 0;
    if (decoded && !gate(r, tm, &m))
        return;
    check_unsolicited(r, tm, 0);
    if (r->lost)
        return;
    struct fds fds;
    if (make_fds(r, tm, req, &fds) < 0) {
        close_fds(&fds);
        report(r, tm, req, MFE_RPL_FAIL, "cannot create the fds the trace sent");
        return;
    }
    if (decoded && fix_payload(r, tm, &m, &fds) < 0) {
        close_fds(&fds);
        report(r, tm, req, MFE_RPL_FAIL, "addresses outside the trace's own memory table");
        return;
    }
    int rc = send_msg(r, tm, &m, decoded, &fds);
    close_fds(&fds);
    r->st->sent++;
    if (rc < 0) {
        report(r, tm, req, MFE_RPL_FAIL, "send: %s", mfe_error(r->f));
        r->lost = true;
        return;
    }
    if (r->reported != tm->seq)   /* a masked message was reported already */
        report(r, tm, req, MFE_RPL_OK, NULL);
}

/* ---- comparing replies ---- */

enum cmp { CMP_EXACT, CMP_OFFER, CMP_OFFER_PF, CMP_VARIES, CMP_BASE, CMP_ACK };

static enum cmp how_to_compare(uint32_t req)
{
    static const struct { uint32_t req; enum cmp how; } rows[] = {
        { VHU_REQ_GET_FEATURES, CMP_OFFER },
        { VHU_REQ_GET_PROTOCOL_FEATURES, CMP_OFFER_PF },
        { VHU_REQ_GET_QUEUE_NUM, CMP_VARIES },
        { VHU_REQ_GET_MAX_MEM_SLOTS, CMP_VARIES },
        { VHU_REQ_GET_CONFIG, CMP_VARIES },
        { VHU_REQ_GET_VRING_BASE, CMP_BASE },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (rows[i].req == req)
            return rows[i].how;
    const struct vhu_req_desc *d = vhu_req_desc(VHU_CH_FRONT, req);
    return d && d->reply_rule != VHU_R_ALWAYS ? CMP_ACK : CMP_EXACT;
}

static void compare_payload(struct rp *r, const struct mfe_trace_msg *tm,
                            const struct vhu_msg *want, const struct vhu_msg *got)
{
    uint32_t req = got->hdr.request;
    unsigned long long w = want->u.u64, g = got->u.u64;
    switch (how_to_compare(req)) {
    case CMP_OFFER:
    case CMP_OFFER_PF: {
        bool pf = how_to_compare(req) == CMP_OFFER_PF;
        *(pf ? &r->offered_pf : &r->offered) = got->u.u64;
        *(pf ? &r->have_offer_pf : &r->have_offer) = true;
        if (w == g)
            break;
        report(r, tm, req, MFE_RPL_DIFFERS, "trace 0x%016llx, got 0x%016llx (the back end's "
               "offer)", w, g);
        return;
    }
    case CMP_BASE:
        if (want->u.state.index != got->u.state.index) {
            report(r, tm, req, MFE_RPL_FAIL, "ring index: trace %u, got %u",
                   want->u.state.index, got->u.state.index);
            return;
        }
        if (want->u.state.num == got->u.state.num)
            break;
        report(r, tm, req, MFE_RPL_DIFFERS, "trace %u, got %u (traffic-dependent)",
               want->u.state.num, got->u.state.num);
        return;
    case CMP_ACK:
        if ((w == 0) == (g == 0))
            break;
        report(r, tm, req, MFE_RPL_FAIL, "ack: trace %llu, got %llu (%s)", w, g,
               g ? "the back end refused" : "the back end accepted");
        return;
    case CMP_VARIES:
        if (memcmp(want->u.bytes, got->u.bytes, got->hdr.size) == 0)
            break;
        if (got->hdr.size == 8)
            report(r, tm, req, MFE_RPL_DIFFERS, "trace %llu, got %llu (the back end's "
                   "limits)", w, g);
        else
            report(r, tm, req, MFE_RPL_DIFFERS, "content differs (device configuration)");
        return;
    case CMP_EXACT:
        if (memcmp(want->u.bytes, got->u.bytes, got->hdr.size) == 0)
            break;
        report(r, tm, req, MFE_RPL_FAIL, "payload: trace 0x%llx, got 0x%llx", w, g);
        return;
    }
    report(r, tm, req, MFE_RPL_OK, NULL);
}

static void compare(struct rp *r, const struct mfe_trace_msg *tm, const struct vhu_msg *want,
                    const struct vhu_msg *got)
{
    const char *name = vhu_req_name(VHU_CH_FRONT, want->hdr.request);
    if (got->hdr.request != want->hdr.request)
        report(r, tm, got->hdr.request, MFE_RPL_FAIL, "unexpected message: trace has %s here",
               name);
    else if (got->hdr.flags != want->hdr.flags)
        report(r, tm, got->hdr.request, MFE_RPL_FAIL, "flags: trace 0x%x, got 0x%x",
               want->hdr.flags, got->hdr.flags);
    else if (got->hdr.size != want->hdr.size)
        report(r, tm, got->hdr.request, MFE_RPL_FAIL, "size: trace %u, got %u",
               want->hdr.size, got->hdr.size);
    else
        compare_payload(r, tm, want, got);
}

static void replay_reply(struct rp *r, const struct mfe_trace_msg *tm, int sock)
{
    struct vhu_msg want, got;
    if (vhu_decode(tm->bytes, tm->len, &want) != NULL) {
        report(r, tm, 0, MFE_RPL_FAIL, "the trace's reply does not decode");
        return;
    }
    if (r->skip_reply == want.hdr.request) {
        r->skip_reply = 0;
        report(r, tm, want.hdr.request, MFE_RPL_SKIPPED, "not owed to this front end");
        return;
    }
    r->st->replies++;
    int saved = r->f->sock;
    r->f->sock = sock;           /* mfe_recv reads f->sock; BREQ uses the other */
    int rc = mfe_recv(r->f, &got);
    r->f->sock = saved;
    if (rc < 0) {
        report(r, tm, want.hdr.request, MFE_RPL_FAIL, "no message from the back end: %s",
               vhu_io_strerror(rc));
        r->lost = rc != VHU_IO_TIMEOUT;
        return;
    }
    compare(r, tm, &want, &got);
    vhu_msg_close_fds(&got);
}

/* The front end's answer on the back-end channel: sent as recorded. */
static void replay_breq_answer(struct rp *r, const struct mfe_trace_msg *tm)
{
    int rc = r->f->backend_req >= 0
                 ? vhu_send_raw(r->f->backend_req, tm->bytes, tm->len, NULL, 0) : -1;
    uint32_t req = tm->len >= 4 ? (uint32_t)tm->bytes[0] | (uint32_t)tm->bytes[1] << 8 : 0;
    report(r, tm, req, rc < 0 ? MFE_RPL_FAIL : MFE_RPL_OK,
           rc < 0 ? "no back-end request channel to answer on" : NULL);
}

/* ---- sessions ---- */

static void end_session(struct rp *r, const struct mfe_trace_msg *last)
{
    if (!r->lost && last)
        check_unsolicited(r, last, r->o->silence_ms > 0 ? r->o->silence_ms : 200);
    mfe_disconnect(r->f);
}

/* The end of a session.  Where the recording killed the back end before the
 * next one (trace d1), it is killed now, while connected, and started
 * again: the next session meets a new process, as the recording did. */
static void next_backend(struct rp *r, const struct mfe_trace_msg *last, unsigned next)
{
    bool killed = mfe_trace_killed_before(r->t, next);
    if (killed && r->o->kill && r->o->restart) {
        mfe_note(r->f, "-- the recording killed the back end here: kill, restart --");
        if (r->o->kill(r->o->arg) < 0 || r->o->restart(r->o->arg) < 0)
            report(r, last, 0, MFE_RPL_FAIL, "the back end could not be killed and started "
                   "again before session %u", next);
        r->lost = true;   /* its end is gone: nothing to listen for */
    } else if (killed) {
        report(r, last, 0, MFE_RPL_SKIPPED, "the recording killed the back end before "
               "session %u; this one was not started here, so the same process is reused",
               next);
    }
    end_session(r, last);
}

static int begin_session(struct rp *r, const struct mfe_trace_msg *tm)
{
    r->session = tm->session;
    r->lost = false;
    r->nttab = 0;
    r->pf_sent = false;
    r->pf = 0;
    r->features = 0;
    r->skip_reply = 0;
    mfe_note(r->f, "-- replay session %u --", tm->session);
    if (r->o->open(r->o->arg, r->f) < 0) {
        report(r, tm, 0, MFE_RPL_FAIL, "cannot open session %u: %s", tm->session,
               mfe_error(r->f));
        r->lost = true;   /* later sessions may still connect */
    }
    return 0;
}

static void replay_one(struct rp *r, const struct mfe_trace_msg *tm)
{
    switch (tm->dir) {
    case MFE_TR_F2B: replay_send(r, tm); break;
    case MFE_TR_B2F: replay_reply(r, tm, r->f->sock); break;
    case MFE_TR_BREQ_B2F:
        if (r->f->backend_req >= 0)
            replay_reply(r, tm, r->f->backend_req);
        else
            report(r, tm, 0, MFE_RPL_FAIL, "no back-end request channel");
        break;
    case MFE_TR_BREQ_F2B: replay_breq_answer(r, tm); break;
    }
}

int mfe_replay_run(struct mfe *f, const struct mfe_trace *t, const struct mfe_replay_opts *o,
                   struct mfe_replay_stats *st)
{
    struct rp *r = malloc(sizeof *r);
    memset(st, 0, sizeof *st);
    if (!r) {
        snprintf(st->first_failure, sizeof st->first_failure, "out of memory");
        return -1;
    }
    *r = (struct rp){ .f = f, .t = t, .o = o, .st = st };
    if (mfe_replay_mem_build(t, &f->mem, st->first_failure, sizeof st->first_failure) < 0) {
        free(r);
        return -1;
    }
    const struct mfe_trace_msg *last = NULL;
    int rc = 0;
    for (size_t i = 0; i < t->n && rc == 0; i++) {
        const struct mfe_trace_msg *tm = &t->msgs[i];
        if (!last || tm->session != r->session) {
            if (last)
                next_backend(r, last, tm->session);
            rc = begin_session(r, tm);
        }
        if (rc == 0 && !r->lost)
            replay_one(r, tm);
        else if (rc == 0)
            report(r, tm, 0, MFE_RPL_SKIPPED, "connection lost earlier in the session");
        last = tm;
    }
    if (rc == 0 && last)
        end_session(r, last);
    free(r);
    return rc < 0 ? -1 : st->failed ? 1 : 0;
}

/* The case API of caseapi.h, child side: open, init, requirements, the body,
 * and the one result record the runner reads. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caseapi.h"

#define WAIT_MS        5000   /* every wait once connected: a loaded back end may be slow */
#define CONNECT_MS     10000  /* a back end may be starting or reconnecting: DPDK's
                                 EAL takes seconds on two busy cores */

/* vhc_ms: the running case's --timeout-scale (the child runs one case) */
static double wait_scale = 1;

int vhc_ms(int ms)
{
    return wait_scale > 1 ? (int)(ms * wait_scale) : ms;
}
#define TRANSCRIPT_N   24u

/* Only pass, fail and skip travel in a record; the runner names the rest
 * (vhc_verdict_name lives with the runner's record parser). */
static const char *record_word(enum vhc_verdict v)
{
    return v == VHC_FAIL ? "fail" : v == VHC_SKIP ? "skip" : "pass";
}

/* One line: newlines in a reason would start a new record field. */
static void put_line(FILE *out, const char *key, const char *value)
{
    fprintf(out, "%s ", key);
    for (const char *p = value ? value : ""; *p; p++)
        fputc(*p == '\n' || *p == '\r' ? ' ' : *p, out);
    fputc('\n', out);
}

static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n <= 0)
            return;     /* the runner is gone: nobody to tell */
        buf += n;
        len -= (size_t)n;
    }
}

void vhc_report(struct vhc_ctx *ctx, enum vhc_verdict v, const char *rule,
                const char *where, const char *reason)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (out) {
        fprintf(out, "verdict %s\n", record_word(v));
        if (v == VHC_FAIL) {
            put_line(out, "rule", rule ? rule : "unspecified");
            put_line(out, "at", where ? where : "?");
        }
        if (v != VHC_PASS)
            put_line(out, "reason", reason ? reason : "");
        fputs("transcript\n", out);
        mfe_transcript_dump(&ctx->fe, out, "", TRANSCRIPT_N);
        fclose(out);
        write_all(ctx->result_fd, buf, len);
        free(buf);
    }
    mfe_close(&ctx->fe);
    close(ctx->result_fd);
    _exit(0);
}

static const char *base_name(const char *file)
{
    const char *base = strrchr(file, '/');
    return base ? base + 1 : file;
}

void vhc_fail(struct vhc_ctx *ctx, const char *file, int line, const char *rule,
              const char *fmt, ...)
{
    char reason[1024], where[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (ctx->in_step && ctx->step_file)   /* the case's line, then the step's */
        snprintf(where, sizeof where, "%s:%d (%s:%d)", base_name(ctx->step_file),
                 ctx->step_line, base_name(file), line);
    else
        snprintf(where, sizeof where, "%s:%d", base_name(file), line);
    vhc_report(ctx, VHC_FAIL, rule, where, reason);
}

void vhc_skip(struct vhc_ctx *ctx, const char *fmt, ...)
{
    char reason[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    vhc_report(ctx, VHC_SKIP, NULL, NULL, reason);
}

/* ---- requirements ---- */

/* SKIP when want has bits offered lacks: "back end does not offer
 * REPLY_ACK, STATUS (what)" */
static void require_bits(struct vhc_ctx *ctx, uint64_t want, uint64_t offered,
                         vhu_bit_name_fn name, const char *what)
{
    uint64_t missing = want & ~offered;
    if (!missing)
        return;
    char names[1536];
    vhu_bits_format(names, sizeof names, missing, name, ", ");
    vhc_skip(ctx, "back end does not offer %s (%s)", names, what);
}

void vhc_require_features(struct vhc_ctx *ctx, uint64_t features)
{
    char what[64];
    snprintf(what, sizeof what, "features 0x%016llx", (unsigned long long)ctx->fe.features);
    require_bits(ctx, features, ctx->fe.features, vhu_net_feature_name, what);
}

void vhc_require_protocol(struct vhc_ctx *ctx, uint64_t protocol_features)
{
    if (protocol_features && !(ctx->fe.features & BIT(VHU_F_PROTOCOL_FEATURES)))
        vhc_skip(ctx, "back end does not offer PROTOCOL_FEATURES (bit 30): "
                      "no protocol feature can be negotiated");
    char what[64];
    snprintf(what, sizeof what, "protocol features 0x%llx",
             (unsigned long long)ctx->fe.protocol_features);
    require_bits(ctx, protocol_features, ctx->fe.protocol_features, vhu_pf_name, what);
}

/* ---- connections ---- */

void vhc_open(struct vhc_ctx *ctx)
{
    ctx->fe.timeout_ms = vhc_ms(CONNECT_MS);
    /* the runner's socket path, not f->path: a reopen must not depend on
     * what an earlier connect left in fe */
    int rc = ctx->fe.role == MFE_LISTEN ? mfe_accept(&ctx->fe)
                                        : mfe_connect(&ctx->fe, ctx->socket_path);
    ctx->fe.timeout_ms = vhc_ms(WAIT_MS);
    if (rc < 0)
        VHC_FAIL_HERE(ctx, "connect",
                 "expected a connection with the back end (%s %s) within %d ms; got: %s",
                 ctx->mode == VHC_MODE_CLIENT ? "accept on" : "connect to",
                 ctx->socket_path, vhc_ms(CONNECT_MS), mfe_error(&ctx->fe));
}

/* QEMU reconnects after its reconnect interval (1 s or more, trace d1), so
 * a back end always sees the old connection's end before the new one.  We
 * leave it this much time to notice, rather than judge it on a race QEMU
 * never creates. */
#define SETTLE_MS 200

void vhc_reopen(struct vhc_ctx *ctx)
{
    mfe_disconnect(&ctx->fe);
    usleep(SETTLE_MS * 1000);
    /* a new connection starts with nothing negotiated; what was offered is
     * kept so cases can compare it with the new session */
    ctx->fe.acked_features = 0;
    ctx->fe.acked_protocol_features = 0;
    ctx->fe.protocol_acked = false;
    ctx->fe.started_pairs = 0;
    mfe_note(&ctx->fe, "-- reconnect --");
    vhc_open(ctx);
}

/* ---- the child ---- */

const char *vhc_case_flag_name(unsigned bit)
{
    static const char *const names[] = {
        "NOCONNECT", "NOINIT", "SERVER_ONLY", "CLIENT_ONLY", "MQ", "NET",
    };
    return bit < ARRAY_LEN(names) ? names[bit] : NULL;
}

static void check_mode(struct vhc_ctx *ctx)
{
    unsigned f = ctx->c->flags;
    if ((f & VHC_F_SERVER_ONLY) && ctx->mode != VHC_MODE_SERVER)
        vhc_skip(ctx, "needs --mode server");
    if ((f & VHC_F_CLIENT_ONLY) && ctx->mode != VHC_MODE_CLIENT)
        vhc_skip(ctx, "needs --mode client");
}

static void qemu_init(struct vhc_ctx *ctx)
{
    unsigned pairs = (ctx->c->flags & VHC_F_MQ) ? 2 : 1;
    if (pairs > 1) {
        /* the offer is known only after GET_FEATURES: probe first so an
         * MQ-less back end is a SKIP, not a failed init */
        vc_probe(ctx);
        vhc_require_protocol(ctx, PF(MQ));
    }
    int rc = mfe_qemu_init(&ctx->fe, pairs);
    /* too few queue pairs is a SKIP only for a case that needs several: a
     * back end answering GET_QUEUE_NUM 0 fails the single-pair init */
    if (rc < 0 && pairs > 1 && ctx->fe.err_rule &&
        strcmp(ctx->fe.err_rule, "mfe.queue_num") == 0)
        vhc_skip(ctx, "the case needs %u queue pairs: %s", pairs, mfe_error(&ctx->fe));
    VHC_OK(ctx, rc);
}

static void check_requirements(struct vhc_ctx *ctx)
{
    const struct vhc_case *c = ctx->c;
    if (!c->features && !c->protocol_features)
        return;
    /* NOINIT: nothing asked yet; GET_FEATURES first is what QEMU does too */
    if (ctx->fe.features == 0)
        vc_probe(ctx);
    vhc_require_features(ctx, c->features);
    vhc_require_protocol(ctx, c->protocol_features);
}

void vhc_run_child(struct vhc_ctx *ctx)
{
    const struct vhc_case *c = ctx->c;
    signal(SIGPIPE, SIG_IGN);   /* a back end that closes must not kill us */
    ctx->step_file = NULL;      /* no step of the body yet */
    wait_scale = ctx->timeout_scale;
    if (ctx->fe.timeout_ms == 0) {   /* not prepared by a runner */
        mfe_init(&ctx->fe, vhc_ms(WAIT_MS));
        ctx->fe.role = ctx->mode == VHC_MODE_CLIENT ? MFE_LISTEN : MFE_CONNECT;
        snprintf(ctx->fe.path, sizeof ctx->fe.path, "%s", ctx->socket_path);
    }
    check_mode(ctx);
    if (!(c->flags & VHC_F_NOCONNECT)) {
        vhc_open(ctx);
        if (!(c->flags & VHC_F_NOINIT))
            qemu_init(ctx);
        check_requirements(ctx);
    }
    c->body(ctx);
    vhc_report(ctx, VHC_PASS, NULL, NULL, NULL);
}

/* ---- invalid input ---- */

static const char *req_name(uint32_t req)
{
    return vhu_req_name(VHU_CH_FRONT, req);
}

/* After a request that owes nothing: closed, or still answering? */
static enum vhc_reject probe_after_silence(struct vhc_ctx *ctx, const struct vhu_msg *m)
{
    int rc = mfe_expect_silence(&ctx->fe, VC_SILENCE_MS);
    if (rc == VHU_IO_EOF || rc == VHU_IO_ERR)
        return VHC_REJ_CLOSED;
    if (rc == 0)
        VHC_FAIL_HERE(ctx, "reply.unsolicited",
                 "expected no message after %s without NEED_REPLY (nothing is owed); got: %s",
                 req_name(m->hdr.request), mfe_error(&ctx->fe));
    struct vhu_msg q, reply;
    vhu_msg_init(&q, VHU_REQ_GET_FEATURES, 0);
    rc = mfe_request(&ctx->fe, &q, &reply);
    if (rc == VHU_IO_EOF || rc == VHU_IO_ERR)
        return VHC_REJ_CLOSED;
    VHC_ASSERT(ctx, rc == 0, ctx->fe.err_rule ? ctx->fe.err_rule : "reply.missing",
               "expected GET_FEATURES answered (or the connection closed) after an "
               "ignored %s; got: %s", req_name(m->hdr.request), mfe_error(&ctx->fe));
    return VHC_REJ_IGNORED;
}

enum vhc_reject vhc_send_invalid(struct vhc_ctx *ctx, const struct vhu_msg *m)
{
    static struct vhu_msg copy, reply;   /* 4 KiB each: keep them off the stack */
    bool ack = mfe_reply_ack(&ctx->fe);
    copy = *m;
    if (ack)
        copy.hdr.flags |= VHU_FLAG_NEED_REPLY;
    int rc = mfe_send(&ctx->fe, &copy);
    if (rc == VHU_IO_EOF || rc == VHU_IO_ERR)
        return VHC_REJ_CLOSED;
    VHC_OK(ctx, rc);
    if (!ack)
        return probe_after_silence(ctx, m);
    rc = mfe_recv(&ctx->fe, &reply);
    if (rc == VHU_IO_EOF || rc == VHU_IO_ERR)
        return VHC_REJ_CLOSED;
    VHC_ASSERT(ctx, rc == 0, "reply_ack.missing",
               "expected an ack (REPLY_ACK negotiated, NEED_REPLY set) or a close after "
               "invalid %s; got: %s", req_name(m->hdr.request), vhu_io_strerror(rc));
    vhu_msg_close_fds(&reply);
    vc_check_reply(ctx, &reply, m->hdr.request);
    VHC_ASSERT(ctx, reply.hdr.size == 8, "reply.size",
               "expected an 8-byte ack to %s; got size %u", req_name(m->hdr.request),
               reply.hdr.size);
    return reply.u.u64 ? VHC_REJ_NACK : VHC_REJ_ACCEPTED;
}

static const char *const reject_words[] = {
    [VHC_REJ_NACK] = "non-zero ack", [VHC_REJ_CLOSED] = "connection closed",
    [VHC_REJ_IGNORED] = "no reply owed, ignored", [VHC_REJ_ACCEPTED] = "ack 0",
};

/* Without REPLY_ACK a back end has no way to report an error short of
 * closing, and the request owes no reply: silently dropping it is the
 * best it can do, so IGNORED counts as refused there. */
void vhc_expect_rejected(struct vhc_ctx *ctx, const struct vhu_msg *m, const char *rule)
{
    enum vhc_reject r = vhc_send_invalid(ctx, m);
    mfe_note(&ctx->fe, "outcome: %s", reject_words[r]);
    VHC_ASSERT(ctx, r != VHC_REJ_ACCEPTED, rule,
               "accepted invalid %s: expected a non-zero ack or a close; got ack 0",
               req_name(m->hdr.request));
    vhc_expect_alive(ctx, rule);
}

void vhc_expect_alive(struct vhc_ctx *ctx, const char *rule)
{
    uint64_t offered = ctx->fe.features;
    vhc_reopen(ctx);
    struct vhu_msg q, reply;
    vhu_msg_init(&q, VHU_REQ_GET_FEATURES, 0);
    int rc = mfe_request(&ctx->fe, &q, &reply);
    VHC_ASSERT(ctx, rc == 0, rule,
               "expected a new connection served (GET_FEATURES answered); got: %s",
               mfe_error(&ctx->fe));
    vc_check_reply(ctx, &reply, VHU_REQ_GET_FEATURES);
    VHC_ASSERT(ctx, !offered || reply.u.u64 == offered, "features.stable",
               "expected the same features on a new connection (0x%016llx); got 0x%016llx",
               (unsigned long long)offered, (unsigned long long)reply.u.u64);
    ctx->fe.features = reply.u.u64;
}

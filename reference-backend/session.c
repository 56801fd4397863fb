/* One front-end connection: its state, the dispatch of each request through
 * ref_handlers[], and the one place where replies are sent. */
#include "dirty_log.h"
#include "iotlb.h"
#include "refnet.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A message that has begun to arrive must be complete within this time. */
#define REF_RECV_TIMEOUT_MS 2000

#define BIT(n) (1ull << (n))

/* virtio-net feature bits we offer beyond the protocol's own */
#define NET_F_MRG_RXBUF          15
#define NET_F_MQ                 22
#define F_RING_INDIRECT_DESC     28
#define F_RING_EVENT_IDX         29

static uint64_t offered_features(const struct ref_opts *o)
{
    uint64_t f = BIT(VHU_F_VERSION_1) | BIT(VHU_F_PROTOCOL_FEATURES) |
                 BIT(NET_F_MRG_RXBUF) | BIT(F_RING_EVENT_IDX) |
                 BIT(F_RING_INDIRECT_DESC) | BIT(VHU_F_RING_PACKED) |
                 BIT(VHU_F_LOG_ALL);     /* dirty logging: dirty_log.c */
    if (o->reply_ack)           /* QEMU wants REPLY_ACK and BACKEND_REQ with it */
        f |= BIT(REF_F_IOMMU_PLATFORM);     /* IOTLB: iotlb.h */
    if (o->queues > 1)
        f |= BIT(NET_F_MQ);
    /* --equal-work: the offloads DPDK's vhost offers (CSUM, GUEST_CSUM,
     * GUEST_TSO4/6, GUEST_UFO, HOST_TSO4/6, HOST_UFO); loopback carries the
     * TX header to RX (net.c, loop.c), so the guest's requests are kept. */
    if (o->equal_work)
        f |= BIT(0) | BIT(1) | BIT(7) | BIT(8) | BIT(10) | BIT(11) | BIT(12) | BIT(14);
    return f;
}

static uint64_t offered_pfeatures(const struct ref_opts *o)
{
    uint64_t f = BIT(VHU_PF_MQ) | BIT(VHU_PF_BACKEND_REQ) |
                 BIT(VHU_PF_CONFIGURE_MEM_SLOTS) | BIT(VHU_PF_STATUS) |
                 BIT(VHU_PF_RESET_DEVICE) | BIT(VHU_PF_LOG_SHMFD) | BIT(VHU_PF_RARP) |
                 BIT(VHU_PF_CONFIG);
    if (o->reply_ack)
        f |= BIT(VHU_PF_REPLY_ACK);
    return f;
}

void ref_session_init(struct ref_session *s, const struct ref_opts *o, int sock)
{
    memset(s, 0, sizeof *s);
    s->opts = o;
    s->sock = sock;
    s->backend_fd = -1;
    s->features_offered = offered_features(o);
    s->pfeatures_offered = offered_pfeatures(o);
    ref_mem_init(&s->mem);
    ref_config_init(s);
    for (unsigned i = 0; i < REF_MAX_RINGS; i++)
        ref_vring_init(&s->rings[i], i);
}

void ref_session_reset(struct ref_session *s)
{
    ref_dp_stop(s);
    ref_dp_print_stats(s);
    /* rings first: they point into the memory about to be unmapped */
    for (unsigned i = 0; i < REF_MAX_RINGS; i++)
        ref_vring_reset(&s->rings[i]);
    ref_dlog_free(s);
    ref_iotlb_free(s);
    ref_mem_clear(&s->mem);
    if (s->backend_fd >= 0)
        close(s->backend_fd);
    if (s->sock >= 0)
        close(s->sock);
    ref_session_init(s, s->opts, -1);
}

int ref_fail(struct ref_session *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->why, sizeof s->why, fmt, ap);
    va_end(ap);
    return -1;
}

bool ref_has_pf(const struct ref_session *s, unsigned bit)
{
    return bit < 64 && (s->pfeatures & BIT(bit));
}

bool ref_has_feature(const struct ref_session *s, unsigned bit)
{
    return bit < 64 && (s->features & BIT(bit));
}

struct ref_vring *ref_ring(struct ref_session *s, uint32_t index)
{
    if (index >= 2 * s->opts->queues) {
        ref_fail(s, "vring.index: %u is out of range (device has %u rings)", index,
                 2 * s->opts->queues);
        return NULL;
    }
    return &s->rings[index];
}

static const char *req_name(uint32_t req)
{
    return vhu_req_name(VHU_CH_FRONT, req);
}

static void log_msg(const struct ref_session *s, const struct vhu_msg *m, bool reply)
{
    if (!s->opts->verbose)
        return;
    char line[1024];
    vhu_format(line, sizeof line, VHU_CH_FRONT, m, reply);
    ref_log("%s %s", reply ? "B->F" : "F->B", line);
}

static uint32_t reply_size(enum vhu_payload_kind kind)
{
    return kind == VHU_P_STATE ? sizeof(struct vhu_vring_state) : sizeof(uint64_t);
}

static enum ref_verdict send_reply(struct ref_session *s, struct vhu_msg *r,
                                   uint32_t req, enum vhu_payload_kind kind)
{
    r->hdr.request = req;
    r->hdr.flags = VHU_VERSION | VHU_FLAG_REPLY;
    /* a config reply is sized by its handler (0 = the spec's error) */
    if (kind != VHU_P_CONFIG)
        r->hdr.size = reply_size(kind);
    log_msg(s, r, true);
    int rc = vhu_send(s->sock, r);
    if (rc == VHU_IO_OK)
        return REF_CONTINUE;
    ref_log("refnet: sending %s reply failed: %s", req_name(req), vhu_io_strerror(rc));
    return REF_CLOSE;
}

/* A request's gating protocol feature must be negotiated, except for
 * GET_QUEUE_NUM: the spec gates it on MQ as *queried* with
 * GET_PROTOCOL_FEATURES, so it may come before SET_PROTOCOL_FEATURES. */
static bool gate_met(const struct ref_session *s, const struct vhu_req_desc *d)
{
    if (d->gate_pf < 0)
        return true;
    uint64_t set = d->num == VHU_REQ_GET_QUEUE_NUM ? s->pfeatures_offered : s->pfeatures;
    return (set >> d->gate_pf) & 1u;
}

/* Which rule blocks the request before its handler runs, if any. */
static int precheck(struct ref_session *s, const struct vhu_req_desc *d,
                    const struct ref_handler_row *row)
{
    if (!row->fn)
        return ref_fail(s, "request.unsupported: vhost-refnet does not implement %s",
                        d->name);
    if (!gate_met(s, d))
        return ref_fail(s, "request.gate: needs protocol feature %s, not negotiated",
                        vhu_pf_name((unsigned)d->gate_pf));
    if (!row->before_owner && !s->owner)
        return ref_fail(s, "session.owner: %s before SET_OWNER", d->name);
    return 0;
}

/* Reply per the table's rule; on failure, nack if an ack is owed, else
 * the connection ends. */
static enum ref_verdict finish(struct ref_session *s, const struct vhu_req_desc *d,
                               const struct vhu_msg *m, struct vhu_msg *reply, int rc)
{
    bool ack_owed = d->reply_rule == VHU_R_ACK && (m->hdr.flags & VHU_FLAG_NEED_REPLY) &&
                    ref_has_pf(s, VHU_PF_REPLY_ACK);
    if (rc < 0)
        ref_log("refnet: reject %s: %s%s", d->name, s->why,
                ack_owed ? " (nack)" : " (closing connection)");
    if (d->reply_rule == VHU_R_ALWAYS && rc == 0)
        return send_reply(s, reply, d->num, d->reply);
    if (ack_owed) {
        vhu_msg_init(reply, d->num, VHU_FLAG_REPLY);
        reply->u.u64 = rc < 0 ? 1 : 0;
        return send_reply(s, reply, d->num, VHU_P_U64);
    }
    return rc < 0 ? REF_CLOSE : REF_CONTINUE;
}

static enum ref_verdict dispatch(struct ref_session *s, struct vhu_msg *m)
{
    /* vhu_validate passed, so the request is a known front-end one */
    const struct vhu_req_desc *d = vhu_req_desc(VHU_CH_FRONT, m->hdr.request);
    static const struct ref_handler_row none = { NULL, false };
    const struct ref_handler_row *row =
        m->hdr.request < VHU_REQ_MAX ? &ref_handlers[m->hdr.request] : &none;
    struct vhu_msg reply;
    vhu_msg_init(&reply, m->hdr.request, VHU_FLAG_REPLY);
    s->why[0] = '\0';
    int rc = precheck(s, d, row);
    if (rc == 0 && ref_iotlb_before(s, m)) {
        reply.hdr.size = sizeof reply.u.u64;  /* an UPDATE taken as it came (iotlb.h) */
        reply.u.u64 = 0;
    } else if (rc == 0) {
        ref_dp_park(s);         /* no worker runs while state changes */
        rc = row->fn(s, m, &reply);
        ref_dlog_bind(s);       /* the rings' logging follows every change */
        ref_iotlb_after(s, m);    /* and their translation (IOMMU_PLATFORM) */
        ref_dp_resume(s);
    }
    vhu_msg_close_fds(m);     /* whatever the handler did not keep */
    return finish(s, d, m, &reply, rc);
}

static enum ref_verdict recv_failed(int rc, const struct vhu_msg *m, const char *rule,
                                    bool *eof)
{
    if (rc == VHU_IO_EOF) {
        *eof = true;
        return REF_CLOSE;
    }
    if (rc == VHU_IO_BAD)
        ref_log("refnet: reject %s: %s: %s (closing connection)", req_name(m->hdr.request),
                rule ? rule : "?", vhu_rule_text(rule));
    else
        ref_log("refnet: receive failed: %s (closing connection)", vhu_io_strerror(rc));
    return REF_CLOSE;
}

enum ref_verdict ref_session_step(struct ref_session *s, bool *eof)
{
    struct vhu_msg m;
    const char *rule = NULL;
    *eof = false;
    int rc = vhu_recv(s->sock, &m, REF_RECV_TIMEOUT_MS, &rule);
    if (rc != VHU_IO_OK)
        return recv_failed(rc, &m, rule, eof);
    log_msg(s, &m, false);
    rule = vhu_validate(VHU_CH_FRONT, &m, false);
    if (rule) {
        ref_log("refnet: reject %s: %s: %s (closing connection)", req_name(m.hdr.request),
                rule, vhu_rule_text(rule));
        vhu_msg_close_fds(&m);
        return REF_CLOSE;
    }
    enum ref_verdict v = dispatch(s, &m);
    if (v == REF_CONTINUE && s->config_changed)
        ref_backend_config_changed(s);   /* after the reply the front end waits for */
    return v;
}

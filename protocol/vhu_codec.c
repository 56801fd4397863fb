/* Building, encoding, decoding and validating messages.
 *
 * Decoding only checks what it needs to copy bytes safely; vhu_validate
 * then applies the syntax rules of the request table and returns a stable
 * rule id.  Session state (negotiated features, ring counts) is not here. */
#include "vhu.h"

#include <string.h>
#include <unistd.h>

/* ---- rule ids ---- */

struct rule {
    const char *id;
    const char *text;
};

static const struct rule rules[] = {
    { "hdr.short", "fewer than 12 bytes: the message header is incomplete" },
    { "hdr.version", "header flags bits 0-1 (version) must be 1" },
    { "hdr.flags.reserved", "header flags bits above 3 are reserved and must be 0" },
    { "hdr.size.max", "header size exceeds the largest payload accepted (4096 bytes)" },
    { "payload.short", "fewer payload bytes than the header's size field says" },
    { "payload.long", "more bytes than the header's size field says" },
    { "request.unknown", "request code is not defined for this channel" },
    { "payload.size", "payload size does not match the request's payload type" },
    { "fds.count", "number of file descriptors is outside what the request allows" },
    { "mem.nregions", "memory table nregions must be between 1 and 8" },
    { "mem.fds", "SET_MEM_TABLE must carry exactly one fd per region" },
    { "vring.nofd", "fd presence contradicts the invalid-fd flag (bit 8) of the u64" },
    { "vring.flags.reserved", "vring u64 bits above 8 are reserved and must be 0" },
    { "config.size", "config size field must equal payload size - 12 and be <= 256" },
    { "reply.flag", "a reply must set the REPLY flag (bit 2) and a request must not" },
    { "reply.need_reply", "a reply must not set NEED_REPLY (bit 3)" },
    { "reply.size", "reply payload size does not match the request's reply type" },
    { "reply.fds", "reply carries file descriptors the request's reply does not allow" },
    { "io.fds.max", "more file descriptors arrived than one message may carry (8)" },
    { "io.ctrunc", "ancillary data was truncated: file descriptors were lost" },
    { "io.truncated", "the peer closed the connection in the middle of a message" },
};

const char *vhu_rule_text(const char *rule)
{
    for (size_t i = 0; rule && i < sizeof rules / sizeof rules[0]; i++)
        if (strcmp(rules[i].id, rule) == 0)
            return rules[i].text;
    return "unknown rule";
}

/* ---- building ---- */

void vhu_msg_init(struct vhu_msg *m, uint32_t req, uint32_t flags)
{
    memset(m, 0, sizeof *m);
    m->hdr.request = req;
    /* callers pass REPLY/NEED_REPLY; the version is ours to add */
    m->hdr.flags = (flags & VHU_VERSION_MASK) ? flags : flags | VHU_VERSION;
    for (unsigned i = 0; i < VHU_MAX_FDS; i++)
        m->fds[i] = -1;
}

void vhu_msg_u64(struct vhu_msg *m, uint32_t req, uint64_t v)
{
    vhu_msg_init(m, req, 0);
    m->u.u64 = v;
    m->hdr.size = sizeof m->u.u64;
}

void vhu_msg_state(struct vhu_msg *m, uint32_t req, uint32_t index, uint32_t num)
{
    vhu_msg_init(m, req, 0);
    m->u.state.index = index;
    m->u.state.num = num;
    m->hdr.size = sizeof m->u.state;
}

void vhu_msg_addr(struct vhu_msg *m, const struct vhu_vring_addr *a)
{
    vhu_msg_init(m, VHU_REQ_SET_VRING_ADDR, 0);
    m->u.addr = *a;
    m->hdr.size = sizeof m->u.addr;
}

void vhu_msg_mem(struct vhu_msg *m, const struct vhu_region *regions,
                 const int *fds, unsigned nregions)
{
    vhu_msg_init(m, VHU_REQ_SET_MEM_TABLE, 0);
    if (nregions > VHU_MAX_REGIONS)
        nregions = VHU_MAX_REGIONS;
    m->u.mem.nregions = nregions;
    memcpy(m->u.mem.regions, regions, nregions * sizeof *regions);
    m->hdr.size = 2 * sizeof(uint32_t) + nregions * sizeof *regions;
    for (unsigned i = 0; fds && i < nregions; i++)
        vhu_msg_add_fd(m, fds[i]);
}

bool vhu_msg_add_fd(struct vhu_msg *m, int fd)
{
    if (m->nfds >= VHU_MAX_FDS)
        return false;
    m->fds[m->nfds++] = fd;
    return true;
}

void vhu_msg_close_fds(struct vhu_msg *m)
{
    for (unsigned i = 0; i < m->nfds && i < VHU_MAX_FDS; i++) {
        if (m->fds[i] >= 0)
            close(m->fds[i]);
        m->fds[i] = -1;
    }
    m->nfds = 0;
}

/* ---- encode / decode ---- */

size_t vhu_encode(const struct vhu_msg *m, uint8_t *buf, size_t cap)
{
    size_t need = VHU_HDR_SIZE + (size_t)m->hdr.size;
    if (m->hdr.size > VHU_MAX_PAYLOAD || cap < need)
        return 0;
    memcpy(buf, &m->hdr, VHU_HDR_SIZE);
    memcpy(buf + VHU_HDR_SIZE, m->u.bytes, m->hdr.size);
    return need;
}

const char *vhu_check_hdr(const struct vhu_hdr *h)
{
    if ((h->flags & VHU_VERSION_MASK) != VHU_VERSION)
        return "hdr.version";
    if (h->flags & ~VHU_FLAGS_KNOWN)
        return "hdr.flags.reserved";
    if (h->size > VHU_MAX_PAYLOAD)
        return "hdr.size.max";
    return NULL;
}

const char *vhu_decode(const uint8_t *buf, size_t len, struct vhu_msg *out)
{
    if (len < VHU_HDR_SIZE)
        return "hdr.short";
    memcpy(&out->hdr, buf, VHU_HDR_SIZE);
    if (out->hdr.size > VHU_MAX_PAYLOAD)
        return "hdr.size.max";
    if (len < VHU_HDR_SIZE + (size_t)out->hdr.size)
        return "payload.short";
    if (len > VHU_HDR_SIZE + (size_t)out->hdr.size)
        return "payload.long";
    memset(&out->u, 0, sizeof out->u);
    memcpy(out->u.bytes, buf + VHU_HDR_SIZE, out->hdr.size);
    return NULL;
}

/* ---- validation of requests ---- */

static bool is_vring_fd_req(enum vhu_channel ch, uint32_t req)
{
    return ch == VHU_CH_FRONT && (req == VHU_REQ_SET_VRING_KICK
                                  || req == VHU_REQ_SET_VRING_CALL
                                  || req == VHU_REQ_SET_VRING_ERR);
}

/* u64 with ring index in bits 0-7 and the no-fd flag in bit 8 */
static const char *check_nofd_word(uint64_t v, unsigned nfds)
{
    if (v & ~(uint64_t)(VHU_VRING_IDX_MASK | VHU_VRING_NOFD))
        return "vring.flags.reserved";
    if ((v & VHU_VRING_NOFD) ? nfds != 0 : nfds != 1)
        return "vring.nofd";
    return NULL;
}

static const char *check_mem(const struct vhu_msg *m)
{
    if (m->hdr.size < 2 * sizeof(uint32_t))
        return "payload.size";
    if (m->u.mem.nregions == 0 || m->u.mem.nregions > VHU_MAX_REGIONS)
        return "mem.nregions";
    if (!vhu_payload_size_ok(VHU_P_MEM, m->u.bytes, m->hdr.size))
        return "payload.size";
    return NULL;
}

static const char *check_config(const struct vhu_msg *m)
{
    if (m->hdr.size < 3 * sizeof(uint32_t))
        return "payload.size";
    if (!vhu_payload_size_ok(VHU_P_CONFIG, m->u.bytes, m->hdr.size))
        return "config.size";
    return NULL;
}

static const char *check_payload(enum vhu_payload_kind kind, const struct vhu_msg *m)
{
    if (kind == VHU_P_MEM)
        return check_mem(m);
    if (kind == VHU_P_CONFIG)
        return check_config(m);
    return vhu_payload_size_ok(kind, m->u.bytes, m->hdr.size) ? NULL : "payload.size";
}

/* Fd rules that depend on the payload, after the table's min/max. */
static const char *check_request_fds(enum vhu_channel ch, const struct vhu_msg *m)
{
    uint32_t req = m->hdr.request;
    if (ch == VHU_CH_FRONT && req == VHU_REQ_SET_MEM_TABLE)
        return m->nfds == m->u.mem.nregions ? NULL : "mem.fds";
    if (is_vring_fd_req(ch, req))
        return check_nofd_word(m->u.u64, m->nfds);
    if (ch == VHU_CH_BACK && req == VHU_BREQ_VRING_HOST_NOTIFIER_MSG)
        return check_nofd_word(m->u.area.u64, m->nfds);
    return NULL;
}

static const char *validate_request(enum vhu_channel ch, const struct vhu_req_desc *d,
                                    const struct vhu_msg *m)
{
    const char *r = check_payload(d->payload, m);
    if (r)
        return r;
    if (m->nfds < d->fds_min || m->nfds > d->fds_max)
        return "fds.count";
    return check_request_fds(ch, m);
}

/* ---- validation of replies ---- */

/* Replies that may carry one fd (all others carry none). */
struct reply_fd_row {
    enum vhu_channel ch;
    uint32_t req;
};

static const struct reply_fd_row reply_fd_rows[] = {
    { VHU_CH_FRONT, VHU_REQ_POSTCOPY_ADVISE },
    { VHU_CH_FRONT, VHU_REQ_GET_INFLIGHT_FD },
    { VHU_CH_FRONT, VHU_REQ_GET_SHARED_OBJECT },
    { VHU_CH_FRONT, VHU_REQ_SET_DEVICE_STATE_FD },
    { VHU_CH_BACK, VHU_BREQ_SHARED_OBJECT_LOOKUP },
};

static unsigned reply_fds_max(enum vhu_channel ch, uint32_t req)
{
    for (size_t i = 0; i < sizeof reply_fd_rows / sizeof reply_fd_rows[0]; i++)
        if (reply_fd_rows[i].ch == ch && reply_fd_rows[i].req == req)
            return 1;
    return 0;
}

/* Replies whose payload may also be empty: DPDK answers SET_LOG_BASE with
 * no payload, libvhost-user with a u64; GET_CONFIG signals an error with
 * size 0. */
static bool reply_may_be_empty(enum vhu_channel ch, uint32_t req)
{
    return ch == VHU_CH_FRONT && (req == VHU_REQ_SET_LOG_BASE || req == VHU_REQ_GET_CONFIG);
}

enum vhu_payload_kind vhu_reply_kind(const struct vhu_req_desc *d)
{
    return d->reply_rule == VHU_R_ALWAYS ? d->reply : VHU_P_U64;
}

static const char *validate_reply(enum vhu_channel ch, const struct vhu_req_desc *d,
                                  const struct vhu_msg *m)
{
    enum vhu_payload_kind kind = vhu_reply_kind(d);
    bool empty_ok = m->hdr.size == 0 && reply_may_be_empty(ch, d->num);
    if (!empty_ok) {
        const char *r = check_payload(kind, m);
        if (r)
            return strcmp(r, "payload.size") == 0 ? "reply.size" : r;
    }
    if (m->nfds > reply_fds_max(ch, d->num))
        return "reply.fds";
    return NULL;
}

const char *vhu_validate(enum vhu_channel ch, const struct vhu_msg *m, bool is_reply)
{
    const char *r = vhu_check_hdr(&m->hdr);
    if (r)
        return r;
    const struct vhu_req_desc *d = vhu_req_desc(ch, m->hdr.request);
    if (!d)
        return "request.unknown";
    if (is_reply != ((m->hdr.flags & VHU_FLAG_REPLY) != 0))
        return "reply.flag";
    if (is_reply && (m->hdr.flags & VHU_FLAG_NEED_REPLY))
        return "reply.need_reply";
    if (m->nfds > VHU_MAX_FDS)
        return "fds.count";
    return is_reply ? validate_reply(ch, d, m) : validate_request(ch, d, m);
}

/* Handlers for features, ownership and device status, and the dispatch
 * table that names every handler. */
#include "handlers.h"

#include <inttypes.h>
#include <unistd.h>

#define H(name, before) { ref_h_##name, before }

/* Requests QEMU sends before SET_OWNER (see the fixtures' init traces):
 * feature and protocol-feature negotiation, queue count, memory slot
 * count, and the back-end channel. */
const struct ref_handler_row ref_handlers[VHU_REQ_MAX] = {
    [VHU_REQ_GET_FEATURES]          = H(get_features, true),
    [VHU_REQ_SET_FEATURES]          = H(set_features, false),
    [VHU_REQ_SET_OWNER]             = H(set_owner, true),
    [VHU_REQ_RESET_OWNER]           = H(reset_owner, false),
    [VHU_REQ_SET_MEM_TABLE]         = H(set_mem_table, false),
    [VHU_REQ_SET_LOG_BASE]          = H(set_log_base, false),
    [VHU_REQ_SET_VRING_NUM]         = H(set_vring_num, false),
    [VHU_REQ_SET_VRING_ADDR]        = H(set_vring_addr, false),
    [VHU_REQ_SET_VRING_BASE]        = H(set_vring_base, false),
    [VHU_REQ_GET_VRING_BASE]        = H(get_vring_base, false),
    [VHU_REQ_SET_VRING_KICK]        = H(set_vring_kick, false),
    [VHU_REQ_SET_VRING_CALL]        = H(set_vring_call, false),
    [VHU_REQ_SET_VRING_ERR]         = H(set_vring_err, false),
    [VHU_REQ_GET_PROTOCOL_FEATURES] = H(get_protocol_features, true),
    [VHU_REQ_SET_PROTOCOL_FEATURES] = H(set_protocol_features, true),
    [VHU_REQ_GET_QUEUE_NUM]         = H(get_queue_num, true),
    [VHU_REQ_SET_VRING_ENABLE]      = H(set_vring_enable, false),
    [VHU_REQ_SEND_RARP]             = H(send_rarp, false),
    [VHU_REQ_SET_BACKEND_REQ_FD]    = H(set_backend_req_fd, true),
    [VHU_REQ_IOTLB_MSG]             = H(iotlb_msg, false),
    [VHU_REQ_GET_CONFIG]            = H(get_config, true),
    [VHU_REQ_SET_CONFIG]            = H(set_config, false),
    [VHU_REQ_RESET_DEVICE]          = H(reset_device, false),
    [VHU_REQ_GET_MAX_MEM_SLOTS]     = H(get_max_mem_slots, true),
    [VHU_REQ_ADD_MEM_REG]           = H(add_mem_reg, false),
    [VHU_REQ_REM_MEM_REG]           = H(rem_mem_reg, false),
    [VHU_REQ_SET_STATUS]            = H(set_status, false),
    [VHU_REQ_GET_STATUS]            = H(get_status, true),
};

void ref_reset_rings(struct ref_session *s)
{
    for (unsigned i = 0; i < REF_MAX_RINGS; i++)
        ref_vring_reset(&s->rings[i]);
}

static bool any_ring_started(const struct ref_session *s)
{
    for (unsigned i = 0; i < REF_MAX_RINGS; i++)
        if (s->rings[i].started)
            return true;
    return false;
}

REF_HANDLER(get_features)
{
    (void)m;
    reply->u.u64 = s->features_offered;
    return 0;
}

REF_HANDLER(set_features)
{
    (void)reply;
    uint64_t v = m->u.u64;
    uint64_t extra = v & ~s->features_offered;
    if (extra)
        return ref_fail(s, "features.unknown: bits 0x%" PRIx64 " were not offered", extra);
    uint64_t packed = 1ull << VHU_F_RING_PACKED;
    if (((v ^ s->features) & packed) && any_ring_started(s))
        return ref_fail(s, "features.packed: RING_PACKED changed while rings are started");
    s->features = v;
    /* enabling rules depend on PROTOCOL_FEATURES */
    for (unsigned i = 0; i < REF_MAX_RINGS; i++)
        ref_vring_rearm(s, &s->rings[i]);
    return 0;
}

REF_HANDLER(set_owner)
{
    (void)m, (void)reply;
    /* a repeated SET_OWNER on the same connection changes nothing */
    s->owner = true;
    return 0;
}

/* Deprecated by the spec, which recommends ignoring it or disabling all
 * rings: reading it as "discard the connection state" breaks QEMU, which
 * then starts the device again with no SET_OWNER and (CONFIGURE_MEM_SLOTS)
 * no memory it already sent.  So every ring returns to its initial state,
 * stopped and disabled; ownership, memory, features and status stay. */
REF_HANDLER(reset_owner)
{
    (void)m, (void)reply;
    ref_reset_rings(s);
    return 0;
}

REF_HANDLER(get_protocol_features)
{
    (void)m;
    reply->u.u64 = s->pfeatures_offered;
    return 0;
}

REF_HANDLER(set_protocol_features)
{
    (void)reply;
    uint64_t extra = m->u.u64 & ~s->pfeatures_offered;
    if (extra)
        return ref_fail(s, "protocol_features.unknown: bits 0x%" PRIx64 " were not offered",
                        extra);
    s->pfeatures = m->u.u64;
    s->pfeatures_set = true;
    return 0;
}

REF_HANDLER(get_queue_num)
{
    (void)m;
    reply->u.u64 = s->opts->queues;
    return 0;
}

REF_HANDLER(set_backend_req_fd)
{
    (void)reply;
    if (s->backend_fd >= 0)
        close(s->backend_fd);
    s->backend_fd = m->fds[0];
    m->fds[0] = -1;             /* kept */
    return 0;
}

REF_HANDLER(set_status)
{
    (void)reply;
    if (m->u.u64 > 0xff)
        return ref_fail(s, "status.range: 0x%" PRIx64 " does not fit the 8-bit device status",
                        m->u.u64);
    /* Status 0 is not a reset here: QEMU sends it before GET_VRING_BASE,
     * whose answer must still carry the ring state. */
    s->status = (uint8_t)m->u.u64;
    return 0;
}

REF_HANDLER(get_status)
{
    (void)m;
    reply->u.u64 = s->status;
    return 0;
}

/* The spec: disable all rings and return to the initial device state while
 * keeping ownership.  The memory table is the front end's, not device
 * state, and stays until replaced. */
REF_HANDLER(reset_device)
{
    (void)m, (void)reply;
    ref_reset_rings(s);
    s->features = 0;
    s->status = 0;
    return 0;
}

/* Requests on the back-end channel (SET_BACKEND_REQ_FD): CONFIG_CHANGE_MSG
 * after the config space changed (vhost-user.rst: the back end tells the
 * front end its config changed, so that it reads it again), with
 * NEED_REPLY when REPLY_ACK was negotiated and the front end's answer
 * waited for.  Sent after the reply to the request that changed it: the
 * front end is waiting for that reply, not reading this channel. */
#include "handlers.h"
#include "fdio.h"
#include "iotlb.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#define BACKEND_REPLY_MS 2000

static void drop_channel(struct ref_session *s, const char *why)
{
    ref_log("refnet: back-end channel: %s; closing it", why);
    if (s->tlb) {               /* the IOTLB's MISSes go there too: not any more */
        pthread_mutex_lock(&s->tlb->mu);
        s->tlb->backend_fd = -1;
        pthread_mutex_unlock(&s->tlb->mu);
    }
    close(s->backend_fd);
    s->backend_fd = -1;
}

void ref_backend_config_changed(struct ref_session *s)
{
    s->config_changed = false;
    if (s->backend_fd < 0 || !ref_has_pf(s, VHU_PF_BACKEND_REQ) || !ref_has_pf(s, VHU_PF_CONFIG))
        return;
    bool ack = ref_has_pf(s, VHU_PF_REPLY_ACK);
    struct vhu_msg m, r;
    vhu_msg_init(&m, VHU_BREQ_CONFIG_CHANGE_MSG,
                 VHU_VERSION | (ack ? VHU_FLAG_NEED_REPLY : 0u));
    /* never blocks: a front end that does not read its end (the socket buffer
     * full) loses the channel, not the main one */
    enum ref_fd_io io = ref_fd_send_msg(s->backend_fd, &m);
    if (io != REF_FD_OK) {
        drop_channel(s, io == REF_FD_AGAIN ? "the front end does not read it (full)"
                                           : errno ? strerror(errno) : "short write");
        return;
    }
    int rc;
    if (!ack)
        return;
    const char *rule = NULL;
    rc = vhu_recv(s->backend_fd, &r, BACKEND_REPLY_MS, &rule);
    if (rc != VHU_IO_OK) {
        drop_channel(s, rc == VHU_IO_BAD && rule ? rule : vhu_io_strerror(rc));
        return;
    }
    vhu_msg_close_fds(&r);
    if (r.hdr.request != VHU_BREQ_CONFIG_CHANGE_MSG || !(r.hdr.flags & VHU_FLAG_REPLY) ||
        r.hdr.size != sizeof r.u.u64) {
        drop_channel(s, "the reply to CONFIG_CHANGE_MSG is not one");
        return;
    }
    if (s->opts->verbose)
        ref_log("refnet: CONFIG_CHANGE_MSG answered %" PRIu64, r.u.u64);
}

/* The back-end channel (SET_BACKEND_REQ_FD) as QEMU 7.2 serves it
 * (hw/virtio/vhost-user.c, slave_read): one request at a time, read whole;
 * CONFIG_CHANGE_MSG makes the front end read the config again with
 * GET_CONFIG on the main channel (vhost_user_blk_handle_config_change ->
 * vhost_dev_get_config); any request QEMU does not know fails with
 * -EINVAL; a request with NEED_REPLY is answered with a u64 that is 0 on
 * success and 1 on failure (!!ret), flags REPLY; a header QEMU cannot read
 * (short, or a size past the largest payload) closes the channel.
 * IOTLB_MSG is not served here (the IOTLB code's). */
#ifndef MFE_BACKEND_H
#define MFE_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "mfe.h"

/* What the back end sent on its channel, as served. */
struct mfe_backend_seen {
    unsigned requests;          /* requests read */
    unsigned config_changes;    /* CONFIG_CHANGE_MSG among them */
    unsigned unknown;           /* requests QEMU answers with -EINVAL */
    unsigned replies;           /* replies we sent (NEED_REPLY) */
    uint32_t last_request, last_flags;
    uint64_t last_reply;        /* u64 of the last reply sent */
    bool closed;                /* the channel is gone (the back end closed
                                   it, or a header we could not read) */
    struct vhu_config config;   /* the last re-read (CONFIG_CHANGE_MSG) */
    bool config_read;           /* ... and it was answered */
};

/* SET_BACKEND_REQ_FD with a new socketpair (NEED_REPLY with REPLY_ACK), as
 * QEMU's init does it; the old channel, if any, is closed on success. */
int mfe_backend_req_new(struct mfe *f);
/* Serve one request from the channel within ms.  0 served (seen updated),
 * VHU_IO_TIMEOUT nothing came, VHU_IO_EOF the channel closed (seen->closed),
 * another negative value on a failure of the main channel (mfe_error). */
int mfe_backend_serve(struct mfe *f, int ms, struct mfe_backend_seen *seen);

#endif

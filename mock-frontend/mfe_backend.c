/* The back-end channel as QEMU 7.2 serves it (mfe_backend.h). */
#include "mfe_backend.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mfe_qemu_int.h"

int mfe_backend_req_new(struct mfe *f)
{
    if (!mfe_q_has_pf(f, VHU_PF_BACKEND_REQ))
        return 0;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return mfe_q_usage(f, "SET_BACKEND_REQ_FD: socketpair failed");
    struct vhu_msg m;
    vhu_msg_init(&m, VHU_REQ_SET_BACKEND_REQ_FD, VHU_VERSION | mfe_q_ack_flag(f));
    vhu_msg_add_fd(&m, sv[1]);
    int rc = mfe_q_acked_request(f, &m);
    close(sv[1]);
    if (rc < 0) {
        close(sv[0]);
        return rc;
    }
    if (f->backend_req >= 0)
        close(f->backend_req);
    f->backend_req = sv[0];
    return 0;
}

static void note_msg(struct mfe *f, const struct vhu_msg *m, bool from_backend)
{
    char line[MFE_LINE];
    vhu_format(line, sizeof line, VHU_CH_BACK, m, !from_backend);
    mfe_note(f, "%s (back-end channel) %s", from_backend ? "B->F" : "F->B", line);
}

/* vhost_user_blk_handle_config_change: the whole config read again. */
static int config_change(struct mfe *f, const struct vhu_msg *m, struct mfe_backend_seen *s)
{
    (void)m;
    s->config_changes++;
    unsigned size = mfe_qemu_device(f)->config_size;
    if (!size || !mfe_q_has_pf(f, VHU_PF_CONFIG))
        return 1;       /* QEMU: no config notifier for this device */
    struct vhu_msg q, r;
    vhu_msg_init(&q, VHU_REQ_GET_CONFIG, 0);
    q.u.config.offset = 0;
    q.u.config.size = size;
    q.u.config.flags = 0;
    q.hdr.size = 12 + size;
    int rc = mfe_request(f, &q, &r);
    if (rc < 0)
        return rc;
    vhu_msg_close_fds(&r);
    s->config = r.u.config;
    s->config_read = r.hdr.size >= 12 + size;
    return s->config_read ? 0 : 1;
}

/* 0 served, 1 failed (QEMU replies 1), < 0 the main channel failed */
typedef int (*serve_fn)(struct mfe *f, const struct vhu_msg *m, struct mfe_backend_seen *s);

/* The requests QEMU 7.2's slave_read knows that the mock serves; IOTLB_MSG
 * and VRING_HOST_NOTIFIER_MSG are not served here. */
static const serve_fn served[VHU_BREQ_MAX] = {
    [VHU_BREQ_CONFIG_CHANGE_MSG] = config_change,
};

static int channel_gone(struct mfe *f, struct mfe_backend_seen *s, const char *why)
{
    mfe_note(f, "back-end channel closed: %s", why);
    close(f->backend_req);
    f->backend_req = -1;
    s->closed = true;
    return VHU_IO_EOF;
}

int mfe_backend_serve(struct mfe *f, int ms, struct mfe_backend_seen *s)
{
    if (f->backend_req < 0) {
        s->closed = true;
        return VHU_IO_EOF;
    }
    struct vhu_msg m;
    const char *rule = NULL;
    int rc = vhu_recv(f->backend_req, &m, ms, &rule);
    if (rc == VHU_IO_TIMEOUT)
        return rc;
    if (rc == VHU_IO_EOF)
        return channel_gone(f, s, "the back end closed its end");
    if (rc < 0)   /* QEMU: a header or payload it cannot read ends the channel */
        return channel_gone(f, s, rule ? rule : vhu_io_strerror(rc));
    note_msg(f, &m, true);
    s->requests++;
    s->last_request = m.hdr.request;
    s->last_flags = m.hdr.flags;
    serve_fn fn = m.hdr.request < VHU_BREQ_MAX ? served[m.hdr.request] : NULL;
    if (!fn)
        s->unknown++;
    int ret = fn ? fn(f, &m, s) : 1;    /* QEMU: -EINVAL */
    vhu_msg_close_fds(&m);
    if (ret < 0)
        return ret;     /* the main channel failed under the re-read */
    if (!(m.hdr.flags & VHU_FLAG_NEED_REPLY))
        return 0;
    struct vhu_msg r;
    vhu_msg_init(&r, m.hdr.request, (m.hdr.flags & ~VHU_FLAG_NEED_REPLY) | VHU_FLAG_REPLY);
    r.u.u64 = ret != 0;
    r.hdr.size = sizeof r.u.u64;
    note_msg(f, &r, false);
    if (vhu_send(f->backend_req, &r) != VHU_IO_OK)
        return channel_gone(f, s, "the reply could not be sent");
    s->replies++;
    s->last_reply = r.u.u64;
    return 0;
}

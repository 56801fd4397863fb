/* The back-end channel as the mock serves it (mfe_backend.h): what QEMU
 * 7.2's slave_read answers, against requests written by hand. */
#include "mfe_backend.h"
#include "test_mfe.h"

#include <check.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct chan {
    struct mfe f;
    int main_be, chan_be;        /* the fake back end's ends */
};

static void chan_up(struct chan *c, enum vhu_dev dev, uint64_t pf)
{
    int m[2], b[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, m), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
    mfe_init(&c->f, 300);
    c->f.device = mfe_device_of(dev);
    c->f.acked_protocol_features = pf;
    c->f.sock = m[0];
    c->f.backend_req = b[0];
    c->main_be = m[1];
    c->chan_be = b[1];
}

static void chan_down(struct chan *c)
{
    mfe_close(&c->f);
    close(c->main_be);
    close(c->chan_be);
}

static void send_req(struct chan *c, uint32_t req, uint32_t flags)
{
    struct vhu_msg m;
    vhu_msg_init(&m, req, flags);
    ck_assert_int_eq(vhu_send(c->chan_be, &m), VHU_IO_OK);
}

static uint64_t read_reply(struct chan *c, uint32_t req)
{
    struct vhu_msg r;
    ck_assert_int_eq(vhu_recv(c->chan_be, &r, 300, NULL), VHU_IO_OK);
    ck_assert_uint_eq(r.hdr.request, req);
    ck_assert_uint_eq(r.hdr.flags, VHU_VERSION | VHU_FLAG_REPLY);
    ck_assert_uint_eq(r.hdr.size, 8);
    return r.u.u64;
}

START_TEST(unknown_request_fails)
{
    struct chan c;
    chan_up(&c, VHU_DEV_NET, 1ull << VHU_PF_REPLY_ACK);
    struct mfe_backend_seen s = { 0 };
    send_req(&c, 77, VHU_VERSION | VHU_FLAG_NEED_REPLY);
    ck_assert_int_eq(mfe_backend_serve(&c.f, 300, &s), 0);
    ck_assert_uint_eq(s.unknown, 1);
    ck_assert_uint_eq(read_reply(&c, 77), 1);      /* QEMU: !!-EINVAL */
    send_req(&c, 77, VHU_VERSION);                 /* no NEED_REPLY: no answer */
    ck_assert_int_eq(mfe_backend_serve(&c.f, 300, &s), 0);
    struct vhu_msg r;
    ck_assert_int_eq(vhu_recv(c.chan_be, &r, 100, NULL), VHU_IO_TIMEOUT);
    ck_assert_int_eq(mfe_backend_serve(&c.f, 50, &s), VHU_IO_TIMEOUT);
    chan_down(&c);
}
END_TEST

/* blk has QEMU's config notifier: the config is read again, then ack 0 */
START_TEST(config_change_blk_rereads)
{
    struct chan c;
    chan_up(&c, VHU_DEV_BLK, (1ull << VHU_PF_REPLY_ACK) | (1ull << VHU_PF_CONFIG));
    unsigned size = c.f.device->config_size;
    struct vhu_msg r;
    vhu_msg_init(&r, VHU_REQ_GET_CONFIG, VHU_VERSION | VHU_FLAG_REPLY);
    r.u.config.size = size;
    r.u.config.data[0] = 0x5a;
    r.hdr.size = 12 + size;
    ck_assert_int_eq(vhu_send(c.main_be, &r), VHU_IO_OK);   /* waiting for the ask */
    send_req(&c, VHU_BREQ_CONFIG_CHANGE_MSG, VHU_VERSION | VHU_FLAG_NEED_REPLY);
    struct mfe_backend_seen s = { 0 };
    ck_assert_int_eq(mfe_backend_serve(&c.f, 300, &s), 0);
    ck_assert(s.config_read);
    ck_assert_uint_eq(s.config.data[0], 0x5a);
    struct vhu_msg q;
    ck_assert_int_eq(vhu_recv(c.main_be, &q, 300, NULL), VHU_IO_OK);
    ck_assert_uint_eq(q.hdr.request, VHU_REQ_GET_CONFIG);
    ck_assert_uint_eq(q.u.config.offset, 0);
    ck_assert_uint_eq(q.u.config.size, size);
    ck_assert_uint_eq(read_reply(&c, VHU_BREQ_CONFIG_CHANGE_MSG), 0);
    chan_down(&c);
}
END_TEST

/* net has none in QEMU 7.2: nothing read, the answer is 1 */
START_TEST(config_change_net_fails)
{
    struct chan c;
    chan_up(&c, VHU_DEV_NET, (1ull << VHU_PF_REPLY_ACK) | (1ull << VHU_PF_CONFIG));
    send_req(&c, VHU_BREQ_CONFIG_CHANGE_MSG, VHU_VERSION | VHU_FLAG_NEED_REPLY);
    struct mfe_backend_seen s = { 0 };
    ck_assert_int_eq(mfe_backend_serve(&c.f, 300, &s), 0);
    ck_assert_uint_eq(s.config_changes, 1);
    ck_assert(!s.config_read);
    ck_assert_uint_eq(read_reply(&c, VHU_BREQ_CONFIG_CHANGE_MSG), 1);
    struct vhu_msg q;
    ck_assert_int_eq(vhu_recv(c.main_be, &q, 100, NULL), VHU_IO_TIMEOUT);
    chan_down(&c);
}
END_TEST

/* a header QEMU cannot read ends the channel; so does the back end's close */
START_TEST(bad_header_closes)
{
    struct chan c;
    chan_up(&c, VHU_DEV_NET, 0);
    struct vhu_hdr h = { VHU_BREQ_CONFIG_CHANGE_MSG, VHU_VERSION, 0x100000 };
    ck_assert_int_eq(vhu_send_raw(c.chan_be, &h, sizeof h, NULL, 0), 0);
    struct mfe_backend_seen s = { 0 };
    ck_assert_int_eq(mfe_backend_serve(&c.f, 300, &s), VHU_IO_EOF);
    ck_assert(s.closed);
    ck_assert_int_eq(c.f.backend_req, -1);
    chan_down(&c);
    chan_up(&c, VHU_DEV_NET, 0);
    close(c.chan_be);
    c.chan_be = -1;
    ck_assert_int_eq(mfe_backend_serve(&c.f, 300, &s), VHU_IO_EOF);
    mfe_close(&c.f);
    close(c.main_be);
}
END_TEST

TCase *mfe_backend_tcase(void)
{
    TCase *t = tcase_create("backend-channel");
    tcase_add_test(t, unknown_request_fails);
    tcase_add_test(t, config_change_blk_rereads);
    tcase_add_test(t, config_change_net_fails);
    tcase_add_test(t, bad_header_closes);
    return t;
}

/* The mock front end's vIOMMU (mfe_iotlb.h) against a scripted back end on
 * two socketpairs: the front-end channel and the back-end channel. */
#include "mfe.h"
#include "mfe_iotlb.h"

#include <check.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define W 0x10000000000ull           /* an IOVA window above memory */

static struct mfe f;
static struct mfe_iotlb t;
static int fe_peer = -1, be_peer = -1;  /* the back end's ends */

static void setup(void)
{
    int fs[2], bs[2];
    mfe_init(&f, 2000);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fs), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, bs), 0);
    f.sock = fs[0];
    fe_peer = fs[1];
    f.backend_req = bs[0];
    be_peer = bs[1];
    f.protocol_acked = true;
    f.acked_protocol_features = 1ull << VHU_PF_REPLY_ACK | 1ull << VHU_PF_BACKEND_REQ;
    ck_assert_int_eq(mfe_mem_create(&f.mem, 16u << 20, MFE_LAYOUT_QEMU, 2), 0);
    mfe_iotlb_attach(&t, &f);
}

static void teardown(void)
{
    mfe_iotlb_detach(&t);
    mfe_close(&f);
    close(fe_peer);
    close(be_peer);
}

static void reply_u64(int fd, uint32_t req, uint64_t v)
{
    struct vhu_msg r;
    vhu_msg_init(&r, req, VHU_FLAG_REPLY);
    r.hdr.size = sizeof r.u.u64;
    r.u.u64 = v;
    ck_assert_int_eq(vhu_send(fd, &r), 0);
}

static void send_miss(uint64_t iova, uint8_t perm, bool need_reply)
{
    struct vhu_msg m;
    vhu_msg_init(&m, VHU_BREQ_IOTLB_MSG, need_reply ? VHU_FLAG_NEED_REPLY : 0);
    m.hdr.size = sizeof m.u.iotlb;
    m.u.iotlb = (struct vhu_iotlb){ .iova = iova, .perm = perm, .type = MFE_IOTLB_MISS };
    ck_assert_int_eq(vhu_send(be_peer, &m), 0);
}

static void recv_on(int fd, struct vhu_msg *m)
{
    const char *rule = NULL;
    ck_assert_int_eq(vhu_recv(fd, m, 1000, &rule), 0);
}

static bool quiet(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, 100) == 0;
}

START_TEST(map_lookup)
{
    ck_assert_int_eq(mfe_iotlb_map_identity(&t, MFE_PERM_RW), 0);
    ck_assert_uint_eq(t.nmap, 2);
    const struct mfe_iotlb_map *e = mfe_iotlb_lookup(&t, 0x100000);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->gpa, 0xc0000);
    ck_assert_ptr_null(mfe_iotlb_lookup(&t, 0xb0000));             /* the hole */
    ck_assert_int_eq(mfe_iotlb_map(&t, 0x1000, 0x1000, 0x1000, MFE_PERM_RO), -1);  /* overlap */
    ck_assert_int_eq(mfe_iotlb_map(&t, W, 0x1000, 32u << 20, MFE_PERM_RO), -1);    /* no memory */
    ck_assert_int_eq(mfe_iotlb_map(&t, W, 0, 0x200000, MFE_PERM_RO), -1);         /* empty */
    ck_assert_int_eq(mfe_iotlb_map(&t, W, 0x1000, 0x200000, MFE_PERM_RO), 0);
    ck_assert_uint_eq(mfe_iotlb_iova(&t, 0x200010), 0x200010);     /* first entry wins */
    ck_assert_uint_eq(mfe_iotlb_unmap(&t, W + 0xfff, 1), 1);
    ck_assert_ptr_null(mfe_iotlb_lookup(&t, W));
    ck_assert_uint_eq(mfe_iotlb_iova(&t, 32u << 20), 32u << 20);   /* unmapped: itself */
}
END_TEST

START_TEST(update_and_invalidate)
{
    ck_assert_int_eq(mfe_iotlb_map(&t, W, 0x1000, 0x200000, MFE_PERM_RO), 0);
    reply_u64(fe_peer, VHU_REQ_IOTLB_MSG, 0);
    uint64_t ack = 7;
    ck_assert_int_eq(mfe_iotlb_update(&t, W, 0x1000, 0, &ack), 0);
    ck_assert_uint_eq(ack, 0);
    struct vhu_msg m;
    recv_on(fe_peer, &m);
    ck_assert_uint_eq(m.hdr.request, VHU_REQ_IOTLB_MSG);
    ck_assert(m.hdr.flags & VHU_FLAG_NEED_REPLY);
    ck_assert_uint_eq(m.u.iotlb.type, MFE_IOTLB_UPDATE);
    ck_assert_uint_eq(m.u.iotlb.iova, W);
    ck_assert_uint_eq(m.u.iotlb.size, 0x1000);
    ck_assert_uint_eq(m.u.iotlb.perm, MFE_PERM_RO);
    ck_assert_uint_eq(m.u.iotlb.uaddr, mfe_uaddr(&f.mem, 0x200000));
    /* not mapped: no message */
    ck_assert_int_eq(mfe_iotlb_update(&t, W + 0x1000, 0x1000, 0, &ack), -1);
    ck_assert(quiet(fe_peer));
    /* a nack is reported */
    reply_u64(fe_peer, VHU_REQ_IOTLB_MSG, 1);
    ck_assert_int_eq(mfe_iotlb_invalidate(&t, W, 0x1000, &ack), 0);
    ck_assert_uint_eq(ack, 1);
    recv_on(fe_peer, &m);
    ck_assert_uint_eq(m.u.iotlb.type, MFE_IOTLB_INVALIDATE);
    ck_assert_uint_eq(t.updates, 1);
    ck_assert_uint_eq(t.invalidates, 1);
    ck_assert_uint_eq(t.nacks, 1);
}
END_TEST

START_TEST(miss_served)
{
    ck_assert_int_eq(mfe_iotlb_map(&t, W, 0x10000, 0x200000, MFE_PERM_RW), 0);
    t.granule = 0x1000;
    send_miss(W + 0x2345, MFE_PERM_WO, true);
    reply_u64(fe_peer, VHU_REQ_IOTLB_MSG, 0);       /* the UPDATE's ack, ready */
    ck_assert_int_eq(mfe_iotlb_serve_one(&t, 1000), 1);
    struct vhu_msg m;
    recv_on(fe_peer, &m);
    ck_assert_uint_eq(m.u.iotlb.type, MFE_IOTLB_UPDATE);
    ck_assert_uint_eq(m.u.iotlb.iova, W + 0x2000);
    ck_assert_uint_eq(m.u.iotlb.size, 0x1000);
    ck_assert_uint_eq(m.u.iotlb.perm, MFE_PERM_RW);
    ck_assert_uint_eq(m.u.iotlb.uaddr, mfe_uaddr(&f.mem, 0x202000));
    recv_on(be_peer, &m);                           /* then the MISS's reply */
    ck_assert_uint_eq(m.hdr.flags, VHU_VERSION | VHU_FLAG_REPLY);
    ck_assert_uint_eq(m.u.u64, 0);
    ck_assert_uint_eq(t.misses, 1);
    ck_assert_uint_eq(t.replied, 1);
    ck_assert_int_eq(mfe_iotlb_serve_one(&t, 50), 0);   /* nothing more */
}
END_TEST

START_TEST(miss_refused)
{
    ck_assert_int_eq(mfe_iotlb_map(&t, W, 0x1000, 0x200000, MFE_PERM_RO), 0);
    send_miss(W + 0x1000, MFE_PERM_RO, true);       /* not mapped */
    send_miss(W, MFE_PERM_WO, true);                /* mapped read-only */
    send_miss(W + 0x5000, MFE_PERM_RO, false);      /* not mapped, no reply owed */
    ck_assert_int_eq(mfe_iotlb_serve(&t, 1000, 100), 3);
    ck_assert(quiet(fe_peer));                      /* no UPDATE for any */
    struct vhu_msg m;
    recv_on(be_peer, &m);
    ck_assert_uint_ne(m.u.u64, 0);
    recv_on(be_peer, &m);
    ck_assert_uint_ne(m.u.u64, 0);
    ck_assert(quiet(be_peer));
    ck_assert_uint_eq(t.misses_unmapped, 2);
    ck_assert_uint_eq(t.misses_denied, 1);
    ck_assert_uint_eq(t.last_denied.perm, MFE_PERM_WO);
}
END_TEST

START_TEST(other_request_refused)
{
    struct vhu_msg m;
    vhu_msg_init(&m, 2, VHU_FLAG_NEED_REPLY);       /* CONFIG_CHANGE_MSG */
    ck_assert_int_eq(vhu_send(be_peer, &m), 0);
    ck_assert_int_eq(mfe_iotlb_serve_one(&t, 1000), 1);
    recv_on(be_peer, &m);
    ck_assert_uint_ne(m.u.u64, 0);
    ck_assert_uint_eq(t.bad_requests, 1);
}
END_TEST

/* The back end: takes GET_FEATURES, asks a MISS with NEED_REPLY and waits
 * for its reply before it answers; then takes the UPDATE. */
static bool got_reply_first, got_update_after;

static void *backend(void *arg)
{
    (void)arg;
    struct vhu_msg m;
    const char *rule = NULL;
    if (vhu_recv(fe_peer, &m, 2000, &rule) || m.hdr.request != VHU_REQ_GET_FEATURES)
        return NULL;
    send_miss(W + 8, MFE_PERM_RO, true);
    got_reply_first = vhu_recv(be_peer, &m, 2000, &rule) == 0 && m.u.u64 == 0;
    reply_u64(fe_peer, VHU_REQ_GET_FEATURES, 0x1234);
    got_update_after = vhu_recv(fe_peer, &m, 2000, &rule) == 0 &&
                       m.hdr.request == VHU_REQ_IOTLB_MSG && m.u.iotlb.iova == W;
    reply_u64(fe_peer, VHU_REQ_IOTLB_MSG, 0);
    return NULL;
}

START_TEST(nested_no_deadlock)
{
    ck_assert_int_eq(mfe_iotlb_map(&t, W, 0x1000, 0x200000, MFE_PERM_RO), 0);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, backend, NULL), 0);
    uint64_t v = 0;
    ck_assert_int_eq(mfe_get_u64(&f, VHU_REQ_GET_FEATURES, &v), 0);
    pthread_join(th, NULL);
    ck_assert_uint_eq(v, 0x1234);
    ck_assert(got_reply_first);
    ck_assert(got_update_after);
    ck_assert_uint_eq(t.nested, 1);
    ck_assert_uint_eq(t.updates, 1);
    ck_assert_uint_eq(t.npending, 0);
}
END_TEST

START_TEST(ring_addresses_are_iovas)
{
    ck_assert_int_eq(mfe_vq_setup(&f, 0, 256), 0);
    struct vhu_vring_addr a;
    mfe_vq_addr(&f, 0, &a);
    ck_assert_uint_eq(a.desc, mfe_uaddr(&f.mem, f.vq[0].desc_gpa));   /* no IOMMU acked */
    f.acked_features |= 1ull << MFE_F_IOMMU_PLATFORM;
    ck_assert_int_eq(mfe_iotlb_map(&t, W, 0x100000, f.vq[0].desc_gpa & ~0xfffffull,
                                   MFE_PERM_RW), 0);
    mfe_vq_addr(&f, 0, &a);
    ck_assert_uint_eq(a.desc, W + (f.vq[0].desc_gpa & 0xfffff));
    ck_assert_uint_eq(a.log, f.vq[0].used_gpa);                        /* log stays a GPA */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mfe_iotlb");
    TCase *tc = tcase_create("iotlb");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, map_lookup);
    tcase_add_test(tc, update_and_invalidate);
    tcase_add_test(tc, miss_served);
    tcase_add_test(tc, miss_refused);
    tcase_add_test(tc, other_request_refused);
    tcase_add_test(tc, nested_no_deadlock);
    tcase_add_test(tc, ring_addresses_are_iovas);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Unit tests of the mock front end's virtio-net model (mfe_net.h): loopback
 * bit exact for every ring variant, MRG_RXBUF reassembly, bursts, waiting
 * and the generator, against the looping test device of ring_dev.h. */
#include "mfe_net.h"
#include "mfe_ring.h"
#include "ring_dev.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>


struct rx_log {
    uint8_t *expect[64];
    uint32_t len[64];
    unsigned n, next, bad;
};

static void on_rx(void *arg, const uint8_t *frame, uint32_t len)
{
    struct rx_log *log = arg;
    unsigned i = log->next++ % 64;
    if (len != log->len[i] || memcmp(frame, log->expect[i], len) != 0)
        log->bad++;
}

struct variant {
    bool packed, indirect, split_hdr, event_idx;
};

static const struct variant variants[] = {
    {false, false, false, false}, {false, true, false, true}, {false, false, true, true},
    {true, false, false, false},  {true, true, false, true},  {true, false, true, true},
};

static uint64_t features_of(const struct variant *v, bool mrg)
{
    return F_V1 | (v->packed ? VF(MFE_F_RING_PACKED) : 0) |
           (v->indirect ? VF(MFE_F_INDIRECT_DESC) : 0) | (v->event_idx ? VF(MFE_F_EVENT_IDX) : 0) |
           (mrg ? VF(MFE_NET_F_MRG_RXBUF) : 0);
}

/* 3 x num random frames of 60..1518 bytes, in batches, loop back bit exact. */
START_TEST(net_loopback)
{
    const struct variant *v = &variants[_i];
    const unsigned num = 32;
    setup_vqs(num, v->packed);
    struct mfe_net n;
    struct mfe_net_opts o = {.features = features_of(v, false), .tx_split_hdr = v->split_hdr,
                             .indirect = v->indirect};
    ck_assert_int_eq(mfe_net_init(&n, &fe, 0, &o), 0);
    struct dev rx, tx;
    dev_init(&rx, &fe, 0, v->packed, v->event_idx);
    dev_init(&tx, &fe, 1, v->packed, v->event_idx);
    ck_assert_int_eq(mfe_net_rx_refill(&n), (int)num);
    struct rx_log log = {0};
    static uint8_t store[64][1518];
    srandom(42 + _i);
    unsigned total = 3 * num, sent = 0, last = 0;
    while (sent < total) {
        struct mfe_frame fr[8];
        unsigned b = 1 + (unsigned)random() % 8;
        b = b > total - sent ? total - sent : b;
        for (unsigned k = 0; k < b; k++) {
            unsigned s = (sent + k) % 64;
            log.len[s] = 60 + (uint32_t)random() % (1518 - 60 + 1);
            for (uint32_t j = 0; j < log.len[s]; j++)
                store[s][j] = (uint8_t)random();
            log.expect[s] = store[s];
            fr[k] = (struct mfe_frame){store[s], log.len[s]};
        }
        ck_assert_int_eq(mfe_net_tx(&n, fr, b), (int)b);
        ck_assert_uint_eq(dev_loop(&tx, &rx), b);
        ck_assert_int_eq(mfe_net_rx_poll(&n, on_rx, &log, ~0u), (int)b);
        ck_assert_int_ge(mfe_net_rx_refill(&n), 0);
        sent += b;
        last = b;
    }
    ck_assert_uint_eq(log.next, total);
    ck_assert_uint_eq(log.bad, 0);
    /* each mfe_net_tx reclaimed the batches before it: the last is left */
    ck_assert_int_eq(mfe_net_reclaim_tx(&n), (int)last);
    ck_assert_int_eq(mfe_net_reclaim_tx(&n), 0);
    ck_assert_uint_eq(n.rx.errors + n.tx.errors + n.rx_errors, 0);
    ck_assert_uint_eq(n.tx_frames, total);
    ck_assert_uint_ge(n.tx.added, total);
    mfe_net_destroy(&n);
    mfe_close(&fe);
}
END_TEST

/* Rings of num entries for variant v with MRG_RXBUF (2 KiB buffers, frames
 * up to 9000 bytes), and a test device on each. */
static void mrg_net(struct mfe_net *n, struct dev *rx, struct dev *tx, const struct variant *v,
                    unsigned num)
{
    setup_vqs(num, v->packed);
    struct mfe_net_opts o = {.features = features_of(v, true), .max_frame = 9000,
                             .mrg_buf = 2048, .indirect = v->indirect};
    ck_assert_int_eq(mfe_net_init(n, &fe, 0, &o), 0);
    dev_init(rx, &fe, 0, v->packed, v->event_idx);
    dev_init(tx, &fe, 1, v->packed, v->event_idx);
}

/* A 9000-byte frame over 2 KiB mergeable buffers arrives whole, as do
 * small frames around it. */
START_TEST(net_mrg_rxbuf)
{
    struct mfe_net n;
    struct dev rx, tx;
    mrg_net(&n, &rx, &tx, &variants[_i], 64);
    ck_assert_int_eq(mfe_net_rx_refill(&n), 64);
    static uint8_t big[9000], small[60];
    srandom(7);
    for (unsigned i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)random();
    memset(small, 0xab, sizeof small);
    struct rx_log log = {.expect = {small, big, small}, .len = {60, 9000, 60}};
    struct mfe_frame fr[3] = {{small, 60}, {big, 9000}, {small, 60}};
    for (unsigned round = 0; round < 4; round++) {   /* several laps of RX buffers */
        log.next = 0;
        ck_assert_int_eq(mfe_net_tx(&n, fr, 3), 3);
        ck_assert_uint_eq(dev_loop(&tx, &rx), 3);
        ck_assert_int_eq(mfe_net_rx_poll(&n, on_rx, &log, ~0u), 3);
        ck_assert_uint_eq(log.next, 3);
        ck_assert_uint_eq(log.bad, 0);
        ck_assert_int_eq(mfe_net_rx_refill(&n), 7);  /* 1 + 5 + 1 buffers used */
    }
    ck_assert_uint_eq(n.rx_errors + n.rx.errors, 0);
    mfe_net_destroy(&n);
    mfe_close(&fe);
}
END_TEST

/* More entries than one ring burst holds, and max below what is waiting:
 * rx_poll delivers exactly max frames and leaves the rest (a merged frame
 * too) in the ring; reclaim and refill take and post them all. */
START_TEST(net_bursts)
{
    struct mfe_net n;
    struct dev rx, tx;
    mrg_net(&n, &rx, &tx, &variants[_i], 128);
    ck_assert_int_eq(mfe_net_rx_refill_max(&n, 100), 100);
    ck_assert_int_eq(mfe_net_rx_refill(&n), 28);
    static uint8_t small[60], big[9000];
    memset(small, 0x5a, sizeof small);
    memset(big, 0xa5, sizeof big);
    struct mfe_frame fr[101];
    for (unsigned i = 0; i < 101; i++)
        fr[i] = (struct mfe_frame){small, sizeof small};
    fr[70] = (struct mfe_frame){big, sizeof big};     /* 5 RX buffers */
    ck_assert_int_eq(mfe_net_tx(&n, fr, 101), 101);
    ck_assert_uint_eq(dev_loop(&tx, &rx), 101);
    ck_assert_int_eq(mfe_net_rx_poll(&n, NULL, NULL, 70), 70);
    ck_assert_uint_eq(n.rx.completed, 70);
    ck_assert_int_eq(mfe_net_rx_poll(&n, NULL, NULL, 1), 1);
    ck_assert_uint_eq(n.rx.completed, 75);
    ck_assert_int_eq(mfe_net_rx_poll(&n, NULL, NULL, ~0u), 30);
    ck_assert_uint_eq(n.rx.completed, 105);
    ck_assert_uint_eq(n.rx_bytes, 100 * sizeof small + sizeof big);
    ck_assert_int_eq(mfe_net_rx_poll(&n, NULL, NULL, ~0u), 0);
    ck_assert_int_eq(mfe_net_reclaim_tx(&n), 101);
    ck_assert_uint_eq(n.txp.nfree, 128);
    ck_assert_int_eq(mfe_net_rx_refill(&n), 105);
    ck_assert_uint_eq(n.rx.errors + n.tx.errors + n.rx_errors, 0);
    mfe_net_destroy(&n);
    mfe_close(&fe);
}
END_TEST

/* Waiting on the call eventfd: times out when idle, wakes on a call. */
START_TEST(net_wait_rx)
{
    setup_vqs(16, false);
    struct mfe_net n;
    struct mfe_net_opts o = {.features = F_V1 | VF(MFE_F_EVENT_IDX)};
    ck_assert_int_eq(mfe_net_init(&n, &fe, 0, &o), 0);
    struct dev rx, tx;
    dev_init(&rx, &fe, 0, false, true);
    dev_init(&tx, &fe, 1, false, true);
    ck_assert_int_eq(mfe_net_rx_refill(&n), 16);
    ck_assert_int_eq(mfe_net_wait_rx(&n, 20), 0);
    uint8_t frame[64] = {1, 2, 3};
    struct mfe_frame fr = {frame, sizeof frame};
    ck_assert_int_eq(mfe_net_tx(&n, &fr, 1), 1);
    mfe_ring_enable_cb(&n.rx);       /* used_event = next entry: the device calls */
    ck_assert_uint_eq(dev_loop(&tx, &rx), 1);
    ck_assert_uint_eq(rx.calls, 1);
    ck_assert_int_eq(mfe_net_wait_rx(&n, 1000), 1);
    ck_assert_int_eq(mfe_net_rx_poll(&n, NULL, NULL, ~0u), 1);
    mfe_net_destroy(&n);
    mfe_close(&fe);
}
END_TEST

/* Generator: one kick per batch, none when the device suppresses them, and
 * a stall (no device) ends in -ETIMEDOUT instead of hanging. */
START_TEST(net_generator)
{
    static const struct { uint64_t features; bool no_notify; uint64_t kicks; } rows[] = {
        {F_V1, false, 4},                     /* 32 frames in batches of 8 */
        {F_V1, true, 0},                      /* VRING_USED_F_NO_NOTIFY */
        {F_V1 | VF(MFE_F_EVENT_IDX), false, 1}, /* avail_event 0: first batch only */
    };
    for (unsigned i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        setup_vqs(32, false);
        struct mfe_net n;
        struct mfe_net_opts o = {.features = rows[i].features};
        ck_assert_int_eq(mfe_net_init(&n, &fe, 0, &o), 0);
        *n.tx.used_flags = rows[i].no_notify ? MFE_USED_F_NO_NOTIFY : 0;
        struct mfe_gen_opts g = {.frame_len = 60, .count = 32, .batch = 8, .stall_ms = 50};
        struct mfe_gen_stats st;
        ck_assert_int_eq(mfe_net_gen_run(&n, &g, &st), 0);
        ck_assert_uint_eq(st.tx, 32);
        ck_assert_uint_eq(st.kicks, rows[i].kicks);
        ck_assert_uint_eq(st.kicks + st.kicks_suppressed, 4);
        ck_assert_uint_eq(kicks_pending(fe.vq[1].kick), rows[i].kicks);
        struct dev tx;
        dev_init(&tx, &fe, 1, false, false);
        struct chain c;
        unsigned seen = 0;
        while (dev_pop(&tx, &c)) {
            ck_assert_uint_eq(c.seg[0].len, MFE_NET_HDR_LEN + 60);
            seen++;
        }
        ck_assert_uint_eq(seen, 32);
        g.count = 64;                          /* the ring is full: nobody consumes */
        ck_assert_int_eq(mfe_net_gen_run(&n, &g, &st), -ETIMEDOUT);
        ck_assert_uint_eq(st.tx, 0);
        mfe_net_destroy(&n);
        mfe_close(&fe);
    }
}
END_TEST

static Suite *net_suite(void)
{
    Suite *s = suite_create("net");
    TCase *nt = tcase_create("net");
    int nv = (int)(sizeof variants / sizeof variants[0]);
    tcase_add_loop_test(nt, net_loopback, 0, nv);
    tcase_add_loop_test(nt, net_mrg_rxbuf, 0, nv);
    tcase_add_loop_test(nt, net_bursts, 0, nv);
    tcase_add_test(nt, net_wait_rx);
    tcase_add_test(nt, net_generator);
    tcase_set_timeout(nt, 20);
    suite_add_tcase(s, nt);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(net_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

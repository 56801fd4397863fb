/* vhost-refnet --mode switch, driven over its sockets by mock front ends:
 * one front end (one guest NIC) per port, QEMU 7.2's start sequence, then
 * frames through the learning switch.  Checked: a learned unicast address
 * reaches only its port, bit exact and in order; broadcast and unknown
 * unicast reach every other port; nothing comes back to the sender; a port
 * without a front end does not hold the others up; the same in client mode;
 * SIGTERM ends the back end with status 0. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mfe.h"
#include "mfe_net.h"

#define MAX_PORTS   3u
#define WAIT_MS     3000        /* a frame that should come */
#define QUIET_MS    300         /* how long "nothing comes" is watched */
#define MAX_SEEN    64u

struct port {
    char path[108];
    struct mfe f;
    struct mfe_net nq[2];       /* one driver per queue pair */
    struct mfe_net *n;          /* the one the helpers use (nq[0] by default) */
    unsigned nqueues;
    bool up;
};

struct seen {
    unsigned count;
    uint32_t len[MAX_SEEN];
    uint8_t data[MAX_SEEN][MFE_NET_MAX_FRAME];
};

static struct port ports[MAX_PORTS];
static char dir[64];
static pid_t backend = -1;
static char log_path[96];       /* the back end's stderr, when logged */

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0x0a };
static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0x0b };
static const uint8_t mac_c[6] = { 0x02, 0, 0, 0, 0, 0x0c };
static const uint8_t mac_x[6] = { 0x02, 0, 0, 0, 0, 0x99 };    /* behind no port */
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };

/* ---- back end ---- */

/* The back end's stderr goes to log when given (else it is ours). */
static void spawn(unsigned nports, bool client, unsigned queues, const char *log)
{
    if (!log) {
        snprintf(dir, sizeof dir, "/tmp/refnet-sw-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
    }
    const char *argv[4 + 2 * MAX_PORTS + 4] = { REFNET_BIN, "--mode", "switch" };
    unsigned a = 3;
    char nq[16];
    snprintf(nq, sizeof nq, "%u", queues);
    argv[a++] = "--queues";
    argv[a++] = nq;
    for (unsigned p = 0; p < nports; p++) {
        snprintf(ports[p].path, sizeof ports[p].path, "%s/port%u.sock", dir, p);
        argv[a++] = "--socket";
        argv[a++] = ports[p].path;
    }
    if (client)
        argv[a++] = "--client";
    backend = fork();
    ck_assert_int_ge(backend, 0);
    if (backend == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);   /* a failed test leaves nothing behind */
        if (log && !freopen(log, "w", stderr))
            _exit(126);
        execv(REFNET_BIN, (char *const *)argv);
        _exit(127);
    }
}

/* SIGTERM, then the exit status within 3 s (-1 when it did not exit). */
static int stop_backend(void)
{
    kill(backend, SIGTERM);
    for (int i = 0; i < 300; i++) {
        int st;
        if (waitpid(backend, &st, WNOHANG) == backend)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(10000);
    }
    kill(backend, SIGKILL);
    waitpid(backend, NULL, 0);
    return -1;
}

/* ---- front ends ---- */

static void port_up(struct port *p, bool client, unsigned queues)
{
    mfe_init(&p->f, WAIT_MS);
    int rc = client ? mfe_listen(&p->f, p->path) : mfe_connect(&p->f, p->path);
    if (rc == 0 && client)
        rc = mfe_accept(&p->f);
    if (rc == 0)
        rc = mfe_qemu_init(&p->f, queues);
    if (rc == 0)
        rc = mfe_qemu_start(&p->f, &(struct mfe_start_opts){ 0 });
    ck_assert_msg(rc == 0, "%s: %s", p->path, mfe_error(&p->f));
    for (unsigned q = 0; q < queues; q++) {
        ck_assert_int_eq(mfe_net_init(&p->nq[q], &p->f, q, NULL), 0);
        ck_assert_int_gt(mfe_net_rx_refill(&p->nq[q]), 0);
    }
    p->nqueues = queues;
    p->n = &p->nq[0];
    p->up = true;
}

static void setup_full(unsigned nports, unsigned nup, bool client, unsigned queues,
                       const char *log)
{
    signal(SIGPIPE, SIG_IGN);
    spawn(nports, client, queues, log);
    for (unsigned p = 0; p < nup; p++)
        port_up(&ports[p], client, queues);
}

static void setup(unsigned nports, unsigned nup, bool client)
{
    setup_full(nports, nup, client, 1, NULL);
}

/* As setup, with the back end's stderr in log_path (for its stats). */
static void setup_logged(unsigned nports, unsigned nup)
{
    snprintf(dir, sizeof dir, "/tmp/refnet-sw-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(log_path, sizeof log_path, "%s/backend.log", dir);
    setup_full(nports, nup, false, 1, log_path);
}

static void cleanup(void)
{
    unlink(log_path);
    rmdir(dir);
}

/* Close every front end; the back end must then exit 0 on SIGTERM. */
static void stop_all(unsigned nports)
{
    for (unsigned p = 0; p < nports; p++) {
        for (unsigned q = 0; ports[p].up && q < ports[p].nqueues; q++)
            mfe_net_destroy(&ports[p].nq[q]);
        mfe_close(&ports[p].f);
        unlink(ports[p].path);
        ports[p].up = false;
    }
    ck_assert_int_eq(stop_backend(), 0);
}

static void teardown(unsigned nports)
{
    stop_all(nports);
    cleanup();
}

/* The value of `key` in the last "stats switch port=N" line of the log. */
static long switch_stat(unsigned port, const char *key)
{
    FILE *f = fopen(log_path, "r");
    ck_assert_ptr_nonnull(f);
    char line[512], want[32], *hit;
    long v = -1;
    snprintf(want, sizeof want, "stats switch port=%u ", port);
    while (fgets(line, sizeof line, f))
        if (strstr(line, want) && (hit = strstr(line, key)))
            v = strtol(hit + strlen(key), NULL, 10);
    fclose(f);
    return v;
}

/* ---- frames ---- */

/* dst, src, an EtherType, then bytes that depend on seq and len. */
static uint32_t make_frame(uint8_t *buf, const uint8_t *dst, const uint8_t *src,
                           unsigned seq, uint32_t len)
{
    memcpy(buf, dst, 6);
    memcpy(buf + 6, src, 6);
    buf[12] = 0x88, buf[13] = 0xb5;        /* local experimental EtherType */
    for (uint32_t i = 14; i < len; i++)
        buf[i] = (uint8_t)(seq * 31u + i * 7u);
    return len;
}

static void send_frame(struct port *p, const uint8_t *dst, const uint8_t *src, unsigned seq,
                       uint32_t len)
{
    static uint8_t buf[MFE_NET_MAX_FRAME];
    struct mfe_frame fr = { buf, make_frame(buf, dst, src, seq, len) };
    ck_assert_int_eq(mfe_net_tx(p->n, &fr, 1), 1);
}

static void on_rx(void *arg, const uint8_t *frame, uint32_t len)
{
    struct seen *s = arg;
    if (s->count < MAX_SEEN) {
        s->len[s->count] = len;
        memcpy(s->data[s->count], frame, len < MFE_NET_MAX_FRAME ? len : MFE_NET_MAX_FRAME);
    }
    s->count++;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Collect frames on p until `want` have come or ms have passed. */
static void collect(struct port *p, struct seen *s, unsigned want, int ms)
{
    int64_t end = now_ms() + ms;
    s->count = 0;
    while (s->count < want) {
        int64_t left = end - now_ms();
        if (left <= 0)
            break;
        int rc = mfe_net_wait_rx(p->n, (int)left);
        ck_assert_int_ge(rc, 0);
        if (rc == 0)
            break;
        mfe_net_rx_poll(p->n, on_rx, s, ~0u);
        ck_assert_int_ge(mfe_net_rx_refill(p->n), 0);
    }
    ck_assert_uint_eq(p->n->rx_errors, 0);
}

/* count frames dst <- src, seq seq0.., lengths len0 + 13 * k, arrive on p
 * bit exact and in order, and nothing else within QUIET_MS. */
static void expect_exact(struct port *p, unsigned count, const uint8_t *dst, const uint8_t *src,
                         unsigned seq0, uint32_t len0)
{
    static struct seen s;
    static uint8_t want[MFE_NET_MAX_FRAME];
    collect(p, &s, count, WAIT_MS);
    ck_assert_msg(s.count == count, "%s: expected %u frames, got %u", p->path, count, s.count);
    for (unsigned k = 0; k < count; k++) {
        uint32_t len = make_frame(want, dst, src, seq0 + k, len0 + 13 * k);
        ck_assert_uint_eq(s.len[k], len);
        ck_assert_msg(memcmp(s.data[k], want, len) == 0, "%s: frame %u differs", p->path, k);
    }
    collect(p, &s, 1, QUIET_MS);
    ck_assert_msg(s.count == 0, "%s: %u unexpected frame(s)", p->path, s.count);
}

static void expect_none(struct port *p)
{
    static struct seen s;
    collect(p, &s, 1, QUIET_MS);
    ck_assert_msg(s.count == 0, "%s: %u unexpected frame(s)", p->path, s.count);
}

static void send_seq(struct port *p, unsigned count, const uint8_t *dst, const uint8_t *src,
                     unsigned seq0, uint32_t len0)
{
    for (unsigned k = 0; k < count; k++)
        send_frame(p, dst, src, seq0 + k, len0 + 13 * k);
}

/* ---- tests ---- */

/* B speaks first (its frame floods, so A and C learn nothing but see it);
 * then A's frames to B reach B only. */
static void learned_unicast(bool client)
{
    setup(3, 3, client);
    send_seq(&ports[1], 1, mac_x, mac_b, 100, 60);
    expect_exact(&ports[0], 1, mac_x, mac_b, 100, 60);
    expect_exact(&ports[2], 1, mac_x, mac_b, 100, 60);
    send_seq(&ports[0], 20, mac_b, mac_a, 1, 60);
    expect_exact(&ports[1], 20, mac_b, mac_a, 1, 60);
    expect_none(&ports[0]);
    expect_none(&ports[2]);
    /* and back: A was learned from its frames */
    send_seq(&ports[1], 5, mac_a, mac_b, 200, 1000);
    expect_exact(&ports[0], 5, mac_a, mac_b, 200, 1000);
    expect_none(&ports[2]);
    teardown(3);
}

START_TEST(unicast_learned)
{
    learned_unicast(false);
}
END_TEST

START_TEST(unicast_learned_client)
{
    learned_unicast(true);
}
END_TEST

/* Broadcast, multicast and unknown unicast from A go to B and C, not A. */
START_TEST(flood)
{
    static const uint8_t *const dsts[] = { bcast, mcast, mac_x };
    setup(3, 3, false);
    for (unsigned i = 0; i < 3; i++) {
        send_seq(&ports[0], 4, dsts[i], mac_a, 10 * i, 64);
        expect_exact(&ports[1], 4, dsts[i], mac_a, 10 * i, 64);
        expect_exact(&ports[2], 4, dsts[i], mac_a, 10 * i, 64);
        expect_none(&ports[0]);
    }
    teardown(3);
}
END_TEST

/* A frame to an address learned behind the sender's own port is not sent
 * anywhere (A is learned from A's own first frame). */
START_TEST(same_port_filtered)
{
    setup(2, 2, false);
    send_seq(&ports[0], 1, bcast, mac_a, 1, 60);
    expect_exact(&ports[1], 1, bcast, mac_a, 1, 60);
    send_seq(&ports[0], 3, mac_a, mac_c, 2, 60);   /* "C" behind A talks to A */
    expect_none(&ports[1]);
    expect_none(&ports[0]);
    teardown(2);
}
END_TEST

/* Port C has no front end: floods still reach B, and unicast to C's
 * address (unknown) is flooded to B as well; what C would have had is
 * counted as drop_down in the stats the back end prints at exit. */
START_TEST(port_down)
{
    setup_logged(3, 2);
    send_seq(&ports[0], 8, bcast, mac_a, 1, 300);
    expect_exact(&ports[1], 8, bcast, mac_a, 1, 300);
    send_seq(&ports[0], 2, mac_c, mac_a, 50, 70);
    expect_exact(&ports[1], 2, mac_c, mac_a, 50, 70);
    expect_none(&ports[0]);
    stop_all(3);
    ck_assert_int_eq(switch_stat(2, " drop_down="), 10);
    ck_assert_int_eq(switch_stat(1, " in="), 10);
    ck_assert_int_eq(switch_stat(1, " drop_down="), 0);
    ck_assert_int_eq(switch_stat(0, " in="), 0);
    cleanup();
}
END_TEST

/* A front end that goes away and comes back on the same port gets frames
 * again (the port's inbox was closed and is opened by the new session). */
START_TEST(reconnect)
{
    setup(2, 2, false);
    send_seq(&ports[1], 1, bcast, mac_b, 1, 60);
    expect_exact(&ports[0], 1, bcast, mac_b, 1, 60);
    mfe_net_destroy(ports[1].n);
    mfe_close(&ports[1].f);
    ports[1].up = false;
    port_up(&ports[1], false, 1);
    send_seq(&ports[0], 3, mac_b, mac_a, 7, 90);
    expect_exact(&ports[1], 3, mac_b, mac_a, 7, 90);
    expect_none(&ports[0]);
    teardown(2);
}
END_TEST

/* Queue pair q of one port feeds queue pair q of the others. */
START_TEST(queue_pairs)
{
    setup_full(2, 2, false, 2, NULL);
    for (unsigned q = 0; q < 2; q++) {
        ports[0].n = &ports[0].nq[q];
        send_seq(&ports[0], 3, bcast, mac_a, 10 * q, 80);
        ports[1].n = &ports[1].nq[q];
        expect_exact(&ports[1], 3, bcast, mac_a, 10 * q, 80);
        ports[1].n = &ports[1].nq[1 - q];
        expect_none(&ports[1]);
    }
    teardown(2);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("refnet_switch");
    TCase *tc = tcase_create("switch");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, unicast_learned);
    tcase_add_test(tc, unicast_learned_client);
    tcase_add_test(tc, flood);
    tcase_add_test(tc, same_port_filtered);
    tcase_add_test(tc, port_down);
    tcase_add_test(tc, reconnect);
    tcase_add_test(tc, queue_pairs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

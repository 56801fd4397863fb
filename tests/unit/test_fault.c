/* Unit tests of mock-frontend/mfe_fault: spec parsing, and each fault
 * applied in mfe_send over a socketpair, read back byte for byte on the
 * other end. */
#include "mfe.h"
#include "mfe_fault.h"

#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- parsing ---- */

START_TEST(parse_specs)
{
    struct mfe_fault ft;
    char err[256], back[96];
    ck_assert_int_eq(mfe_fault_parse("cut@17", &ft, err, sizeof err), 0);
    ck_assert_int_eq(ft.kind, MFE_FAULT_CUT);
    ck_assert_uint_eq(ft.at, 17);
    ck_assert_str_eq(mfe_fault_format(&ft, back, sizeof back), "cut@17");

    ck_assert_int_eq(mfe_fault_parse("truncate@SET_MEM_TABLE", &ft, err, sizeof err), 0);
    ck_assert_uint_eq(ft.at, 0);
    ck_assert_uint_eq(ft.at_req, VHU_REQ_SET_MEM_TABLE);
    ck_assert_str_eq(mfe_fault_format(&ft, back, sizeof back), "truncate@SET_MEM_TABLE");

    ck_assert_int_eq(mfe_fault_parse("delay@3:250", &ft, err, sizeof err), 0);
    ck_assert_uint_eq(ft.delay_ms, 250);
    ck_assert_str_eq(mfe_fault_format(&ft, back, sizeof back), "delay@3:250");
    ck_assert_int_eq(mfe_fault_parse("delay@3", &ft, err, sizeof err), 0);
    ck_assert_uint_eq(ft.delay_ms, MFE_FAULT_DELAY_MS);
}
END_TEST

START_TEST(parse_rejects)
{
    static const char *const bad[] = {
        "cut", "cut@", "cut@0", "snip@3", "cut@NO_SUCH_REQUEST", "cut@3:100",
        "delay@3:", "delay@3:x", "delay@3:999999", "kill@-1",
    };
    struct mfe_fault ft;
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        ck_assert_msg(mfe_fault_parse(bad[i], &ft, err, sizeof err) < 0, "accepted %s", bad[i]);
        ck_assert_msg(err[0] != '\0', "no message for %s", bad[i]);
    }
    ck_assert_int_eq(mfe_fault_kind_parse("kill"), MFE_FAULT_KILL);
    ck_assert_int_eq(mfe_fault_kind_parse("none"), -1);
}
END_TEST

/* ---- applying ---- */

static struct mfe f;
static struct mfe_fault ft;
static int peer;

static void setup(const char *spec)
{
    int sv[2];
    char err[256];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    mfe_init(&f, 500);
    f.sock = sv[0];
    peer = sv[1];
    ck_assert_int_eq(mfe_fault_parse(spec, &ft, err, sizeof err), 0);
    f.fault = &ft;
}

static void teardown(void)
{
    mfe_close(&f);
    close(peer);
}

/* Send n GET_FEATURES-shaped requests (SET_OWNER: header only) and one
 * SET_FEATURES (header + u64) as message n + 1. */
static int send_some(unsigned n)
{
    struct vhu_msg m;
    int rc = 0;
    for (unsigned i = 0; i < n && rc == 0; i++) {
        vhu_msg_init(&m, VHU_REQ_SET_OWNER, VHU_VERSION);
        rc = mfe_send(&f, &m);
    }
    if (rc == 0) {
        vhu_msg_u64(&m, VHU_REQ_SET_FEATURES, 0x1234);
        rc = mfe_send(&f, &m);
    }
    return rc;
}

/* Everything the peer can read until EOF (or 500 ms). */
static size_t drain(uint8_t *buf, size_t cap)
{
    size_t len = 0;
    struct timeval tv = { 0, 500000 };
    setsockopt(peer, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (ssize_t n; len < cap && (n = read(peer, buf + len, cap - len)) > 0;)
        len += (size_t)n;
    return len;
}

START_TEST(cut_after_n)
{
    setup("cut@2");
    /* message 3 fails at once: the connection is shut down */
    ck_assert_int_lt(send_some(3), 0);
    uint8_t buf[256];
    ck_assert_uint_eq(drain(buf, sizeof buf), 2 * VHU_HDR_SIZE);
    ck_assert_uint_eq(ft.sent, 3);
    ck_assert(ft.fired);
    teardown();
}
END_TEST

START_TEST(truncate_by_request)
{
    setup("truncate@SET_FEATURES");
    send_some(2);
    uint8_t buf[256];
    /* two whole headers, then half of the 20-byte SET_FEATURES */
    ck_assert_uint_eq(drain(buf, sizeof buf), 2 * VHU_HDR_SIZE + 10);
    uint32_t req;
    memcpy(&req, buf + 2 * VHU_HDR_SIZE, 4);
    ck_assert_uint_eq(req, VHU_REQ_SET_FEATURES);
    teardown();
}
END_TEST

START_TEST(corrupt_header)
{
    setup("corrupt@1");
    ck_assert_int_eq(send_some(0), 0);
    uint8_t buf[256];
    ck_assert_uint_eq(drain(buf, sizeof buf), VHU_HDR_SIZE + 8);
    uint32_t flags, size;
    memcpy(&flags, buf + 4, 4);
    memcpy(&size, buf + 8, 4);
    ck_assert_uint_eq(flags & VHU_VERSION_MASK, 2);
    ck_assert_uint_eq(size, 0x80000008u);
    teardown();
}
END_TEST

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(delay_holds)
{
    setup("delay@2:150");
    double t0 = now();
    ck_assert_int_eq(send_some(1), 0);
    ck_assert_double_ge(now() - t0, 0.14);
    uint8_t buf[256];
    ck_assert_uint_eq(drain(buf, sizeof buf), VHU_HDR_SIZE + VHU_HDR_SIZE + 8);
    teardown();
}
END_TEST

static int kills;
static int fake_kill(void *arg)
{
    (void)arg;
    kills++;
    return 0;
}

START_TEST(kill_calls_hook_once)
{
    setup("kill@SET_OWNER");
    ft.kill = fake_kill;
    kills = 0;
    ck_assert_int_eq(send_some(3), 0);
    ck_assert_int_eq(kills, 1);   /* fires once, at the first SET_OWNER */
    uint8_t buf[256];
    ck_assert_uint_eq(drain(buf, sizeof buf), 3 * VHU_HDR_SIZE + VHU_HDR_SIZE + 8);
    teardown();
}
END_TEST

static Suite *fault_suite(void)
{
    Suite *s = suite_create("mfe_fault");
    TCase *tc = tcase_create("fault");
    tcase_add_test(tc, parse_specs);
    tcase_add_test(tc, parse_rejects);
    tcase_add_test(tc, cut_after_n);
    tcase_add_test(tc, truncate_by_request);
    tcase_add_test(tc, corrupt_header);
    tcase_add_test(tc, delay_holds);
    tcase_add_test(tc, kill_calls_hook_once);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    SRunner *sr = srunner_create(fault_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Unit tests of caseapi/: the result record a case child writes, where a
 * failure is reported (the case's own line, also inside a shared step),
 * the names of the case flags, and the waits under --timeout-scale.  Each
 * body runs in a child of ours, as the runner would run it. */
#include "caseapi.h"
#include "datapath_traffic.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static struct vhu_msg good_reply = { .hdr = { VHU_REQ_GET_FEATURES, 0x5, 8 } };

/* a shared step that fails: the reply echoes another request */
enum { STEP_LINE = __LINE__ + 3 };
static void step_fails(struct vhc_ctx *ctx)
{
    vc_check_reply(ctx, &good_reply, VHU_REQ_SET_OWNER);
}

/* a step that passes, then the case's own assert */
enum { ASSERT_LINE = __LINE__ + 4 };
static void step_then_assert(struct vhc_ctx *ctx)
{
    vc_check_reply(ctx, &good_reply, VHU_REQ_GET_FEATURES);
    VHC_ASSERT(ctx, ctx->fe.features == 1, "test.features", "expected 1; got %llu",
               (unsigned long long)ctx->fe.features);
}

static void skips(struct vhc_ctx *ctx)
{
    vhc_require_features(ctx, BIT(VHU_F_VERSION_1) | BIT(15));
}

static void passes(struct vhc_ctx *ctx)
{
    (void)ctx;
}

/* The record the body's child writes, NUL-terminated, malloc'd. */
static char *run_body(void (*body)(struct vhc_ctx *))
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        static struct vhc_ctx ctx;   /* large: the transcript */
        close(p[0]);
        mfe_init(&ctx.fe, 100);
        ctx.result_fd = p[1];
        ctx.control_fd = -1;
        body(&ctx);
        vhc_report(&ctx, VHC_PASS, NULL, NULL, NULL);
    }
    close(p[1]);
    size_t len = 0, cap = 65536;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    for (ssize_t n; (n = read(p[0], buf + len, cap - 1 - len)) > 0;)
        len += (size_t)n;
    buf[len] = '\0';
    close(p[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return buf;
}

START_TEST(step_failure_at_case_line)
{
    char *rec = run_body(step_fails), want[128];
    ck_assert_msg(strncmp(rec, "verdict fail\nrule reply.request\n", 32) == 0, "%s", rec);
    snprintf(want, sizeof want, "\nat test_caseapi.c:%d (helpers.c:", STEP_LINE);
    ck_assert_msg(strstr(rec, want), "no '%s' in:\n%s", want + 1, rec);
    free(rec);
}
END_TEST

START_TEST(own_assert_at_own_line)
{
    char *rec = run_body(step_then_assert), want[128];
    snprintf(want, sizeof want, "\nat test_caseapi.c:%d\nreason expected 1; got 0\n",
             ASSERT_LINE);
    ck_assert_msg(strstr(rec, "\nrule test.features\n"), "%s", rec);
    ck_assert_msg(strstr(rec, want), "no '%s' in:\n%s", want + 1, rec);
    free(rec);
}
END_TEST

START_TEST(skip_and_pass_records)
{
    static const char skip[] = "verdict skip\nreason back end does not offer MRG_RXBUF, "
                               "VERSION_1 (features 0x0000000000000000)\ntranscript\n";
    char *rec = run_body(skips);
    ck_assert_str_eq(rec, skip);
    free(rec);
    rec = run_body(passes);
    ck_assert_str_eq(rec, "verdict pass\ntranscript\n");
    free(rec);
}
END_TEST

START_TEST(every_flag_named)
{
    static const unsigned flags[] = { VHC_F_NOCONNECT, VHC_F_NOINIT, VHC_F_SERVER_ONLY,
                                      VHC_F_CLIENT_ONLY, VHC_F_MQ, VHC_F_NET };
    for (size_t i = 0; i < ARRAY_LEN(flags); i++)
        ck_assert_ptr_nonnull(vhc_case_flag_name((unsigned)__builtin_ctz(flags[i])));
    ck_assert_str_eq(vhc_case_flag_name(5), "NET");
    ck_assert_ptr_null(vhc_case_flag_name(31));
}
END_TEST

/* ---- waits under --timeout-scale ---- */

/* Each body checks the waits its child runs with; the scale comes in the
 * context, as the runner hands it over. */
static void waits_tripled(struct vhc_ctx *ctx)
{
    VHC_ASSERT(ctx, DP_STALL_MS == 30000 && DP_SETTLE_MS == 300 && vhc_ms(5000) == 15000,
               "test.scale", "scale 3: stall %d, settle %d, 5000 -> %d", DP_STALL_MS,
               DP_SETTLE_MS, vhc_ms(5000));
}

static void waits_never_shorter(struct vhc_ctx *ctx)
{
    VHC_ASSERT(ctx, DP_STALL_MS == 10000 && DP_SETTLE_MS == 100 && vhc_ms(5000) == 5000,
               "test.scale", "scale 0.01: stall %d, settle %d, 5000 -> %d", DP_STALL_MS,
               DP_SETTLE_MS, vhc_ms(5000));
}

/* The record of a case run the runner's way (vhc_run_child) at scale. */
static char *run_scaled(void (*body)(struct vhc_ctx *), double scale)
{
    static struct vhc_case c = { .id = "test/scale", .flags = VHC_F_NOCONNECT };
    c.body = body;
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        static struct vhc_ctx ctx;
        close(p[0]);
        ctx.c = &c;
        ctx.socket_path = "/nonexistent";
        ctx.result_fd = p[1];
        ctx.control_fd = -1;
        ctx.timeout_scale = scale;
        vhc_run_child(&ctx);
    }
    close(p[1]);
    char *buf = calloc(1, 65536);
    ck_assert_ptr_nonnull(buf);
    size_t len = 0;
    for (ssize_t n; (n = read(p[0], buf + len, 65535 - len)) > 0;)
        len += (size_t)n;
    close(p[0]);
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    return buf;
}

START_TEST(waits_follow_the_scale)
{
    char *rec = run_scaled(waits_tripled, 3);
    ck_assert_msg(strncmp(rec, "verdict pass\n", 13) == 0, "%s", rec);
    free(rec);
    rec = run_scaled(waits_never_shorter, 0.01);
    ck_assert_msg(strncmp(rec, "verdict pass\n", 13) == 0, "%s", rec);
    free(rec);
}
END_TEST

static Suite *caseapi_suite(void)
{
    Suite *s = suite_create("caseapi");
    TCase *t = tcase_create("record");
    tcase_add_test(t, step_failure_at_case_line);
    tcase_add_test(t, own_assert_at_own_line);
    tcase_add_test(t, skip_and_pass_records);
    tcase_add_test(t, every_flag_named);
    tcase_add_test(t, waits_follow_the_scale);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(caseapi_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* The TAP writer, its YAML escaping, the result record and the
 * expectations file: golden output, byte for byte. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* ---- helpers ---- */

struct mem {
    char *buf;
    size_t len;
    FILE *f;
};

static void mem_open(struct mem *m)
{
    m->buf = NULL;
    m->len = 0;
    m->f = open_memstream(&m->buf, &m->len);
    ck_assert_ptr_nonnull(m->f);
}

/* Close the stream and compare with want, then free. */
static void mem_expect(struct mem *m, const char *want)
{
    fclose(m->f);
    ck_assert_str_eq(m->buf, want);
    free(m->buf);
}

static struct vhc_result result(enum vhc_verdict v, const char *reason)
{
    struct vhc_result r = { .verdict = v, .duration_ms = 12 };
    snprintf(r.reason, sizeof r.reason, "%s", reason);
    return r;
}

static void write_item(FILE *f, unsigned n, const char *id, const struct vhc_result *r,
                       const struct vhc_expect *e)
{
    struct vhc_tap_item it = { .n = n, .id = id, .mode = VHC_MODE_SERVER, .r = r,
                               .spec = "Spec text.", .expect = e };
    vhc_tap_item(f, &it);
}

/* ---- TAP lines ---- */

START_TEST(plan_and_pass)
{
    struct mem m;
    mem_open(&m);
    struct vhc_result r = result(VHC_PASS, "");
    vhc_tap_begin(m.f, 3);
    write_item(m.f, 1, "negotiation/get-features", &r, NULL);
    mem_expect(&m, "TAP version 14\n1..3\nok 1 - negotiation/get-features\n# duration_ms: 12\n");
}
END_TEST

START_TEST(skip_line)
{
    struct mem m;
    mem_open(&m);
    struct vhc_result r = result(VHC_SKIP, "back end lacks REPLY_ACK");
    write_item(m.f, 2, "negotiation/reply-ack", &r, NULL);
    mem_expect(&m, "ok 2 - negotiation/reply-ack # SKIP back end lacks REPLY_ACK\n"
                   "# duration_ms: 12\n");
}
END_TEST

START_TEST(fail_with_yaml)
{
    struct mem m;
    mem_open(&m);
    struct vhc_result r = result(VHC_FAIL, "reply flags 0x1, want 0x5");
    strcpy(r.rule, "reply.flags");
    strcpy(r.at, "cases/negotiation.c:42");
    r.transcript = strdup("> GET_FEATURES(1) flags=0x1\n< GET_FEATURES(1) flags=0x1\n");
    r.backend_tail = strdup("listening\nnew connection\n");
    write_item(m.f, 3, "negotiation/get-features", &r, NULL);
    mem_expect(&m,
        "not ok 3 - negotiation/get-features\n"
        "  ---\n"
        "  verdict: fail\n"
        "  rule: \"reply.flags\"\n"
        "  at: \"cases/negotiation.c:42\"\n"
        "  message: \"reply flags 0x1, want 0x5\"\n"
        "  duration_ms: 12\n"
        "  mode: server\n"
        "  spec: \"Spec text.\"\n"
        "  transcript: |\n"
        "    > GET_FEATURES(1) flags=0x1\n"
        "    < GET_FEATURES(1) flags=0x1\n"
        "  backend_stderr: |\n"
        "    listening\n"
        "    new connection\n"
        "  ...\n");
    vhc_result_free(&r);
}
END_TEST

START_TEST(todo_and_unexpected_pass)
{
    struct mem m;
    mem_open(&m);
    struct vhc_expect e = { .verdict = VHC_FAIL, .mode = -1 };
    strcpy(e.id, "rings/x");
    strcpy(e.reason, "bug 123");
    struct vhc_result crashed = result(VHC_CRASH, "back end killed by SIGSEGV");
    struct vhc_result passed = result(VHC_PASS, "");
    write_item(m.f, 4, "rings/x", &crashed, &e);
    write_item(m.f, 5, "rings/x", &passed, &e);
    mem_expect(&m,
        "not ok 4 - rings/x # TODO bug 123\n"
        "  ---\n"
        "  verdict: crash\n"
        "  message: \"back end killed by SIGSEGV\"\n"
        "  duration_ms: 12\n"
        "  mode: server\n"
        "  expected_verdict: fail\n"
        "  spec: \"Spec text.\"\n"
        "  ...\n"
        "ok 5 - rings/x # TODO bug 123\n"
        "  ---\n"
        "  verdict: pass\n"
        "  duration_ms: 12\n"
        "  mode: server\n"
        "  unexpected_pass: true\n"
        "  spec: \"Spec text.\"\n"
        "  ...\n");
}
END_TEST

START_TEST(timeout_line)
{
    struct mem m;
    mem_open(&m);
    struct vhc_result r = result(VHC_TIMEOUT, "no result within 0.10 s; case killed");
    write_item(m.f, 6, "connect/slow", &r, NULL);
    mem_expect(&m,
        "not ok 6 - connect/slow\n"
        "  ---\n"
        "  verdict: timeout\n"
        "  message: \"no result within 0.10 s; case killed\"\n"
        "  duration_ms: 12\n"
        "  mode: server\n"
        "  spec: \"Spec text.\"\n"
        "  ...\n");
}
END_TEST

/* A case whose setup broke is a failure of the run in its own word: not ok,
 * verdict broken in the YAML, its own bucket in the summary. */
START_TEST(broken_line)
{
    struct mem m;
    mem_open(&m);
    struct vhc_result r = result(VHC_BROKEN, "back end exited with status 127 before it listened");
    write_item(m.f, 1, "connect/server-basic", &r, NULL);
    mem_expect(&m,
        "not ok 1 - connect/server-basic\n"
        "  ---\n"
        "  verdict: broken\n"
        "  message: \"back end exited with status 127 before it listened\"\n"
        "  duration_ms: 12\n"
        "  mode: server\n"
        "  spec: \"Spec text.\"\n"
        "  ...\n");
    struct vhc_tally t = { 0 };
    struct vhc_tap_item it = { .n = 1, .id = "a", .r = &r };
    ck_assert(vhc_tally_add(&t, &it));
    ck_assert_uint_eq(t.broken, 1);
    ck_assert_uint_eq(t.fail + t.crash + t.timeout + t.todo, 0);
}
END_TEST

START_TEST(description_hash_escaped)
{
    struct mem m;
    mem_open(&m);
    struct vhc_result r = result(VHC_SKIP, "why\nnot");
    write_item(m.f, 7, "odd#id\\x", &r, NULL);
    mem_expect(&m, "ok 7 - odd\\#id\\\\x # SKIP why not\n# duration_ms: 12\n");
}
END_TEST

START_TEST(summary_line)
{
    struct mem m;
    mem_open(&m);
    struct vhc_tally t = { 0 };
    struct vhc_expect e = { .verdict = VHC_FAIL };
    const enum vhc_verdict vs[] = { VHC_PASS, VHC_FAIL, VHC_SKIP, VHC_TIMEOUT, VHC_CRASH,
                                    VHC_BROKEN };
    bool unexpected = false;
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) {
        struct vhc_result r = result(vs[i], "");
        struct vhc_tap_item it = { .n = 1, .id = "a", .r = &r };
        unexpected |= vhc_tally_add(&t, &it);
    }
    struct vhc_result r = result(VHC_FAIL, "");
    struct vhc_tap_item listed = { .n = 1, .id = "a", .r = &r, .expect = &e };
    ck_assert(!vhc_tally_add(&t, &listed));
    /* a listed failure that passed: xpass, not pass, and not a failure */
    struct vhc_result p = result(VHC_PASS, "");
    struct vhc_tap_item stale = { .n = 1, .id = "a", .r = &p, .expect = &e };
    ck_assert(!vhc_tally_add(&t, &stale));
    ck_assert(unexpected);
    vhc_tap_end(m.f, &t);
    mem_expect(&m, "# pass 1, fail 1, skip 1, todo 1, xpass 1, timeout 1, crash 1, broken 1\n");
}
END_TEST

/* ---- YAML escaping ---- */

static void yaml_case(const char *value, const char *want)
{
    struct mem m;
    mem_open(&m);
    vhc_yaml_string(m.f, "  ", "k", value);
    mem_expect(&m, want);
}

START_TEST(yaml_hostile_scalars)
{
    yaml_case("a: b # c", "  k: \"a: b # c\"\n");
    yaml_case("say \"hi\" \\o/", "  k: \"say \\\"hi\\\" \\\\o/\"\n");
    yaml_case("tab\there\r", "  k: \"tab\\there\\r\"\n");
    yaml_case("one line\n", "  k: \"one line\\n\"\n");
    yaml_case("bell\a\x7f\xff", "  k: \"bell\\x07\\x7f\\xff\"\n");
    yaml_case("- [x]", "  k: \"- [x]\"\n");
    yaml_case("", "  k: \"\"\n");
}
END_TEST

START_TEST(yaml_blocks_only_when_lossless)
{
    yaml_case("a: 1\n# b\n  c\n", "  k: |\n    a: 1\n    # b\n      c\n");
    yaml_case(" lead\nx\n", "  k: \" lead\\nx\\n\"\n");       /* would set the indent */
    yaml_case("a\n\nb\n", "  k: \"a\\n\\nb\\n\"\n");          /* empty line */
    yaml_case("a \nb\n", "  k: \"a \\nb\\n\"\n");            /* trailing blank */
    yaml_case("a\nb", "  k: \"a\\nb\"\n");                   /* no final newline */
    yaml_case("a\nb\n\n", "  k: \"a\\nb\\n\\n\"\n");          /* two final newlines */
    yaml_case("a\n\x01\n", "  k: \"a\\n\\x01\\n\"\n");        /* control character */
}
END_TEST

/* ---- the result record ---- */

START_TEST(record_fail)
{
    const char rec[] = "verdict fail\nrule hdr.version\nat cases/a.c:9\n"
                       "reason version 2\ntranscript\n> A\n< B\n";
    struct vhc_result r = { 0 };
    ck_assert_int_eq(vhc_record_parse(rec, sizeof rec - 1, &r), 0);
    ck_assert_int_eq(r.verdict, VHC_FAIL);
    ck_assert_str_eq(r.rule, "hdr.version");
    ck_assert_str_eq(r.at, "cases/a.c:9");
    ck_assert_str_eq(r.reason, "version 2");
    ck_assert_str_eq(r.transcript, "> A\n< B\n");
    vhc_result_free(&r);
}
END_TEST

START_TEST(record_bad)
{
    const char *bad[] = { "", "verdict maybe\n", "verdict timeout\n", "rule x\n",
                          "verdict pass\nbogus line\n" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct vhc_result r = { 0 };
        ck_assert_int_eq(vhc_record_parse(bad[i], strlen(bad[i]), &r), -1);
        ck_assert(r.reason[0] != '\0');
        vhc_result_free(&r);
    }
}
END_TEST

/* ---- expectations ---- */

static int parse_text(const char *text, struct vhc_expectations *e, char *err, size_t len)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    ck_assert_ptr_nonnull(f);
    int rc = vhc_expect_parse(f, "x.txt", e, err, len);
    fclose(f);
    return rc;
}

START_TEST(expect_good)
{
    struct vhc_expectations e = { 0 };
    char err[256] = "";
    const char *text = "# known failures\n\n"
                       "rings/a fail does not check the index\n"
                       "  rings/b@client   timeout\n"
                       "rings/b@server crash segfaults  \n";
    ck_assert_int_eq(parse_text(text, &e, err, sizeof err), 0);
    ck_assert_uint_eq(e.n, 3);
    const struct vhc_expect *a = vhc_expect_find(&e, "rings/a", VHC_MODE_CLIENT);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(a->verdict, VHC_FAIL);
    ck_assert_str_eq(a->reason, "does not check the index");
    ck_assert_uint_eq(a->line, 3);
    const struct vhc_expect *bc = vhc_expect_find(&e, "rings/b", VHC_MODE_CLIENT);
    ck_assert_int_eq(bc->verdict, VHC_TIMEOUT);
    ck_assert_str_eq(bc->reason, "known failure");
    const struct vhc_expect *bs = vhc_expect_find(&e, "rings/b", VHC_MODE_SERVER);
    ck_assert_int_eq(bs->verdict, VHC_CRASH);
    ck_assert_str_eq(bs->reason, "segfaults");
    ck_assert_ptr_null(vhc_expect_find(&e, "rings/c", VHC_MODE_SERVER));
    vhc_expect_free(&e);
}
END_TEST

START_TEST(expect_mode_line_wins)
{
    struct vhc_expectations e = { 0 };
    char err[256];
    ck_assert_int_eq(parse_text("x fail any\nx@client crash only client\n", &e, err,
                                sizeof err), 0);
    ck_assert_str_eq(vhc_expect_find(&e, "x", VHC_MODE_CLIENT)->reason, "only client");
    ck_assert_str_eq(vhc_expect_find(&e, "x", VHC_MODE_SERVER)->reason, "any");
    vhc_expect_free(&e);
}
END_TEST

START_TEST(expect_errors)
{
    static const struct { const char *text, *err; } bad[] = {
        { "a fial typo\n", "x.txt:1: verdict must be fail, timeout or crash" },
        { "# c\na pass\n", "x.txt:2: verdict must be fail, timeout or crash" },
        { "a\n", "x.txt:1: missing verdict (fail, timeout or crash)" },
        { "a broken setup\n", "x.txt:1: broken cannot be expected: it is a setup error of "
                                "the run, not a known failure of the back end" },
        { "a@qemu fail\n", "x.txt:1: mode after '@' must be server or client" },
        { "a fail\na fail again\n", "x.txt:2: case listed twice" },
        { "a crash:datapath.loss x\n", "x.txt:1: only fail takes a rule (fail:RULE)" },
        { "a fail: x\n", "x.txt:1: bad rule after 'fail:'" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct vhc_expectations e = { 0 };
        char err[256] = "";
        ck_assert_int_eq(parse_text(bad[i].text, &e, err, sizeof err), -1);
        ck_assert_str_eq(err, bad[i].err);
        vhc_expect_free(&e);
    }
}
END_TEST

/* fail:RULE covers a failure of that rule only; anything else is reported
 * as if the line were not there */
START_TEST(expect_rule)
{
    struct vhc_expectations e = { 0 };
    char err[256] = "";
    ck_assert_int_eq(parse_text("d/x fail:datapath.loss drops at start\nd/y fail any rule\n",
                                &e, err, sizeof err), 0);
    const struct vhc_expect *x = vhc_expect_find(&e, "d/x", VHC_MODE_SERVER);
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(x->verdict, VHC_FAIL);
    ck_assert_str_eq(x->rule, "datapath.loss");
    ck_assert_str_eq(x->reason, "drops at start");
    struct vhc_result loss = { .verdict = VHC_FAIL }, other = loss, pass = { .verdict = VHC_PASS },
                      crash = { .verdict = VHC_CRASH };
    strcpy(loss.rule, "datapath.loss");
    strcpy(other.rule, "datapath.integrity");
    ck_assert_ptr_eq(vhc_expect_match(&e, "d/x", VHC_MODE_SERVER, &loss), x);
    ck_assert_ptr_null(vhc_expect_match(&e, "d/x", VHC_MODE_SERVER, &other));
    ck_assert_ptr_null(vhc_expect_match(&e, "d/x", VHC_MODE_SERVER, &pass));
    ck_assert_ptr_null(vhc_expect_match(&e, "d/x", VHC_MODE_SERVER, &crash));
    /* a line without a rule matches as before, a pass included (TODO bonus) */
    const struct vhc_expect *y = vhc_expect_find(&e, "d/y", VHC_MODE_CLIENT);
    ck_assert_str_eq(y->rule, "");
    ck_assert_ptr_eq(vhc_expect_match(&e, "d/y", VHC_MODE_CLIENT, &other), y);
    ck_assert_ptr_eq(vhc_expect_match(&e, "d/y", VHC_MODE_CLIENT, &pass), y);
    vhc_expect_free(&e);
}
END_TEST

static Suite *tap_suite(void)
{
    Suite *s = suite_create("tap");
    TCase *t = tcase_create("tap");
    tcase_add_test(t, plan_and_pass);
    tcase_add_test(t, skip_line);
    tcase_add_test(t, fail_with_yaml);
    tcase_add_test(t, todo_and_unexpected_pass);
    tcase_add_test(t, timeout_line);
    tcase_add_test(t, broken_line);
    tcase_add_test(t, description_hash_escaped);
    tcase_add_test(t, summary_line);
    tcase_add_test(t, yaml_hostile_scalars);
    tcase_add_test(t, yaml_blocks_only_when_lossless);
    tcase_add_test(t, record_fail);
    tcase_add_test(t, record_bad);
    tcase_add_test(t, expect_good);
    tcase_add_test(t, expect_mode_line_wins);
    tcase_add_test(t, expect_errors);
    tcase_add_test(t, expect_rule);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(tap_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

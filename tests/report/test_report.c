/* Reports: escaping for XML/HTML, the TAP reader (round trip through our
 * own TAP writer, hostile strings included), JUnit structure and the HTML
 * page's escaping.  Well-formedness under a real XML parser is checked by
 * report-check.sh with xmllint. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* Quotes, markup, control characters, a broken and a valid UTF-8 sequence,
 * TAP's '#' and '\', YAML's ': ' and '---'. */
static const char hostile[] =
    "a<b>&c\"d'e\x01\x08\x0b\x1b\x7f f\xff\xc3(g \xc3\xa9 # TODO x \\ y: z --- ]]>";

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

static char *mem_close(struct mem *m)
{
    fclose(m->f);
    return m->buf;
}

static char *escaped(const char *s, bool attr)
{
    struct mem m;
    mem_open(&m);
    vhc_put_escaped(m.f, s, attr);
    return mem_close(&m);
}

/* No raw control character, no raw markup character outside markup. */
static void assert_clean_text(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        ck_assert_msg(*p >= 0x20 || *p == '\n' || *p == '\t', "control 0x%02x", *p);
        ck_assert_msg(*p != 0x7f, "DEL");
        ck_assert_msg(*p != '<' && *p != '>' && *p != '"' && *p != '\'', "raw '%c'", *p);
    }
}

START_TEST(escape_text)
{
    char *e = escaped(hostile, false);
    assert_clean_text(e);
    ck_assert_str_eq(e, "a&lt;b&gt;&amp;c&quot;d&#39;e f?" "?(g \xc3\xa9 # TODO x \\ y: z "
                        "--- ]]&gt;");
    free(e);
}
END_TEST

START_TEST(escape_attribute_keeps_newlines_as_refs)
{
    char *e = escaped("one\ntwo\tthree\r", true);
    ck_assert_str_eq(e, "one&#10;two&#9;three");
    free(e);
}
END_TEST

START_TEST(escape_rejects_bad_utf8)
{
    /* overlong '/', a surrogate, U+FFFE, past U+10FFFF, a cut-off sequence */
    char *e = escaped("\xc0\xaf|\xed\xa0\x80|\xef\xbf\xbe|\xf4\x90\x80\x80|\xe2\x82", false);
    ck_assert_str_eq(e, "??|???|???|????|??");
    free(e);
    e = escaped("\xe2\x82\xac \xf0\x9f\x98\x80", false);   /* valid: kept */
    ck_assert_str_eq(e, "\xe2\x82\xac \xf0\x9f\x98\x80");
    free(e);
}
END_TEST

/* ---- the TAP reader against our writer ---- */

static struct vhc_result hostile_result(enum vhc_verdict v)
{
    struct vhc_result r = { .verdict = v, .duration_ms = 1234 };
    snprintf(r.rule, sizeof r.rule, "%s", "mem.offset");
    snprintf(r.at, sizeof r.at, "%s", "case_api.c:300");
    snprintf(r.reason, sizeof r.reason, "%s", hostile);
    r.transcript = strdup("# connected\n0001 F->B GET_FEATURES(1) flags=0x1[v1] size=0\n"
                          "0002 B->F GET_FEATURES(1) flags=0x5[v1,REPLY] u64=0x1\n");
    r.backend_tail = strdup(hostile);
    r.case_tail = strdup("  indented first line\n\nblank above\n");
    return r;
}

/* Write items with our TAP writer, read them back. */
static void round_trip(struct vhc_rrun *run, const struct vhc_tap_item *items, size_t n)
{
    struct mem m;
    mem_open(&m);
    vhc_tap_begin(m.f, (unsigned)n);
    struct vhc_rrun meta;
    vhc_rrun_init(&meta);
    meta.backend = strdup("/usr/bin/dpdk-testpmd -l 0 --vdev net_vhost0,iface={socket}");
    meta.mode = strdup("client");
    meta.profile = strdup("qemu-8.2");
    meta.version = strdup("0.1.0");
    meta.date = strdup("2025-06-01T12:00:00Z");
    meta.options = strdup("--filter 'x*' --strict");
    meta.strict = strdup("yes");
    vhc_rrun_write_header(m.f, &meta);
    vhc_rrun_free(&meta);
    for (size_t i = 0; i < n; i++)
        vhc_tap_item(m.f, &items[i]);
    char *tap = mem_close(&m);
    FILE *in = fmemopen(tap, strlen(tap), "r");
    char err[128];
    vhc_rrun_init(run);
    ck_assert_int_eq(vhc_tap_read(in, run, err, sizeof err), 0);
    fclose(in);
    free(tap);
}

START_TEST(reader_round_trip)
{
    struct vhc_result fail = hostile_result(VHC_FAIL);
    struct vhc_result skip = { .verdict = VHC_SKIP };
    snprintf(skip.reason, sizeof skip.reason, "needs MQ # really");
    struct vhc_result pass = { .verdict = VHC_PASS, .duration_ms = 5 };
    struct vhc_expect ex = { .verdict = VHC_TIMEOUT };
    snprintf(ex.reason, sizeof ex.reason, "known: <slow>");
    struct vhc_tap_item items[] = {
        { .n = 1, .id = "memory/offset#beyond\\fd", .r = &fail, .spec = hostile },
        { .n = 2, .id = "rings/skipped", .r = &skip },
        { .n = 3, .id = "rings/listed", .r = &fail, .expect = &ex },
        { .n = 4, .id = "rings/xpass", .r = &pass, .expect = &ex },
        { .n = 5, .id = "rings/pass", .r = &pass },
    };
    struct vhc_rrun run;
    round_trip(&run, items, 5);
    ck_assert_uint_eq(run.n, 5);
    ck_assert_uint_eq(run.planned, 5);
    ck_assert_str_eq(run.mode, "client");
    ck_assert_str_eq(run.backend, "/usr/bin/dpdk-testpmd -l 0 --vdev net_vhost0,iface={socket}");

    const struct vhc_rcase *c = &run.c[0];
    ck_assert_str_eq(c->id, "memory/offset#beyond\\fd");
    ck_assert_int_eq(vhc_rcase_kind(c), VHC_RK_FAIL);
    ck_assert_str_eq(c->rule, "mem.offset");
    ck_assert_str_eq(c->message, hostile);        /* every byte survives */
    ck_assert_str_eq(c->spec, hostile);
    ck_assert_str_eq(c->backend_stderr, hostile);
    ck_assert_str_eq(c->transcript, fail.transcript);
    ck_assert_str_eq(c->case_stderr, fail.case_tail);
    ck_assert(c->has_duration);
    ck_assert_uint_eq(c->duration_ms, 1234);

    ck_assert_int_eq(vhc_rcase_kind(&run.c[1]), VHC_RK_SKIP);
    ck_assert_str_eq(run.c[1].directive, "needs MQ # really");
    ck_assert_int_eq(vhc_rcase_kind(&run.c[2]), VHC_RK_TODO);
    ck_assert_str_eq(run.c[2].directive, "known: <slow>");
    ck_assert_str_eq(run.c[2].expected_verdict, "timeout");
    ck_assert_int_eq(vhc_rcase_kind(&run.c[3]), VHC_RK_XPASS);
    ck_assert_int_eq(vhc_rcase_kind(&run.c[4]), VHC_RK_PASS);
    ck_assert(run.c[4].has_duration);   /* every case has its duration */
    ck_assert_uint_eq(run.c[4].duration_ms, 5);
    /* what produced it: the header's fields read back */
    ck_assert_str_eq(run.profile, "qemu-8.2");
    ck_assert_str_eq(run.version, "0.1.0");
    ck_assert_str_eq(run.date, "2025-06-01T12:00:00Z");
    ck_assert_str_eq(run.options, "--filter 'x*' --strict");
    ck_assert_str_eq(run.strict, "yes");
    ck_assert_ptr_null(run.host);

    char *name = vhc_rrun_name(run.backend, run.mode);
    ck_assert_str_eq(name, "dpdk-testpmd client");
    free(name);
    vhc_rrun_free(&run);
    vhc_result_free(&fail);
}
END_TEST

static int read_text(const char *text, struct vhc_rrun *run)
{
    FILE *in = fmemopen((void *)text, strlen(text), "r");
    char err[128];
    vhc_rrun_init(run);
    int rc = vhc_tap_read(in, run, err, sizeof err);
    fclose(in);
    return rc;
}

START_TEST(reader_tolerates_foreign_tap)
{
    static const char text[] =
        "TAP version 14\r\n"
        "pragma +strict\n"
        "# Subtest: nested\n"
        "    ok 1 - inner\n"
        "    1..1\n"
        "ok 1 - a/b\n"
        "not ok 2 a/c # skip whatever\n"
        "not ok 3\n"
        "  ---\n"
        "  verdict: crash\n"
        "  extra:\n"
        "    nested: [1, 2]\n"
        "  message: 'it''s gone'\n"
        "  transcript: |-\n"
        "    0001 F->B X(1)\n"
        "  ...\n"
        "  ---\n"            /* a second block: ignored as yaml of test 3 again */
        "  ...\n"
        "Bail out! power cut\n"
        "1..5";              /* plan at the end, no newline */
    struct vhc_rrun run;
    ck_assert_int_eq(read_text(text, &run), 0);
    ck_assert_uint_eq(run.n, 3);
    ck_assert_uint_eq(run.planned, 5);
    ck_assert_str_eq(run.c[0].id, "a/b");
    ck_assert_str_eq(run.c[1].id, "a/c");
    ck_assert_int_eq(vhc_rcase_kind(&run.c[1]), VHC_RK_SKIP);
    ck_assert_str_eq(run.c[2].id, "(unnamed)");
    ck_assert_int_eq(vhc_rcase_kind(&run.c[2]), VHC_RK_CRASH);
    ck_assert_str_eq(run.c[2].message, "it's gone");
    ck_assert_str_eq(run.c[2].transcript, "0001 F->B X(1)\n");
    ck_assert_str_eq(run.bail, "power cut");
    vhc_rrun_free(&run);
}
END_TEST

START_TEST(reader_rejects_non_tap)
{
    struct vhc_rrun run;
    ck_assert_int_eq(read_text("<html>\nnot a test\n", &run), -1);
    vhc_rrun_free(&run);
}
END_TEST

/* ---- writers ---- */

static void one_run(struct vhc_rrun *run, enum vhc_verdict v, bool todo)
{
    vhc_rrun_init(run);
    run->name = strdup(hostile);
    run->backend = strdup(hostile);
    run->mode = strdup("server");
    struct vhc_rcase *c = vhc_rrun_add(run, "area/rest/of<id>");
    c->verdict = v;
    c->todo = todo;
    c->message = strdup(hostile);
    c->directive = strdup(hostile);
    c->transcript = strdup("0001 F->B SET_OWNER(3) <x>\n0002 B->F Y(1) &\n# ev \"q\"\n");
    c->duration_ms = 1500;
    c->has_duration = true;
    run->planned = 1;
}

static char *written(int (*write)(FILE *, const struct vhc_rrun *, size_t),
                     const struct vhc_rrun *run)
{
    struct mem m;
    mem_open(&m);
    ck_assert_int_eq(write(m.f, run, 1), 0);
    return mem_close(&m);
}

START_TEST(junit_elements)
{
    static const struct { enum vhc_verdict v; bool todo, strict; const char *want; } rows[] = {
        { VHC_FAIL, false, false, "<failure message=\"a&lt;b&gt;&amp;c&quot;d&#39;e" },
        { VHC_TIMEOUT, false, false, "<error message=" },
        { VHC_CRASH, false, false, "type=\"crash\"" },
        { VHC_BROKEN, false, false, "<error message=\"a&lt;b" },
        { VHC_BROKEN, true, false, "type=\"broken\"" },   /* never an expected failure */
        { VHC_FAIL, true, false, "<skipped message=\"expected failure: a&lt;b" },
        { VHC_FAIL, true, false, "type=\"expected-failure\">" },
        { VHC_SKIP, false, false, "<skipped message=\"a&lt;b" },
        { VHC_SKIP, false, false, "type=\"skip\"/>" },
        { VHC_PASS, true, false, "<system-out>listed as failing, yet passed" },
        { VHC_PASS, true, true, "<failure message=\"listed as failing, yet passed" },
        { VHC_PASS, true, true, "type=\"xpass\">" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct vhc_rrun run;
        one_run(&run, rows[i].v, rows[i].todo);
        free(run.backend);
        run.backend = strdup("LD_PRELOAD=x /usr/bin/dpdk-testpmd -l 0");
        run.profile = strdup("qemu-8.2");
        run.date = strdup("2025-06-01T12:00:00Z");
        run.host = strdup("ci-7 (Linux 6.1.0 x86_64)");
        run.strict = rows[i].strict ? strdup("yes") : NULL;
        char *x = written(vhc_junit_write, &run);
        ck_assert_msg(strstr(x, rows[i].want), "row %zu: no %s in\n%s", i, rows[i].want, x);
        /* the run and the area in the class name, dots of the profile as '_' */
        ck_assert_msg(strstr(x, "<testcase classname=\"dpdk-testpmd.server.qemu-8_2.area\" "
                                "name=\"rest/of&lt;id&gt;\" time=\"1.500\""), "%s", x);
        ck_assert(strstr(x, "<testsuite name=\"a&lt;b&gt;"));
        ck_assert(strstr(x, "timestamp=\"2025-06-01T12:00:00\" hostname=\"ci-7\">"));
        ck_assert(strstr(x, "<property name=\"profile\" value=\"qemu-8.2\"/>"));
        ck_assert(strstr(x, "<property name=\"host\" value=\"ci-7 (Linux 6.1.0 x86_64)\"/>"));
        /* a strict run's xpass is a failure in the counts too */
        ck_assert(strstr(x, rows[i].strict || (rows[i].v == VHC_FAIL && !rows[i].todo)
                            ? "failures=\"1\"" : "failures=\"0\""));
        ck_assert(!strchr(x, '\x01') && !strchr(x, '\x1b') && !strchr(x, '\x7f'));
        ck_assert(!strstr(x, "\xff") && !strstr(x, "<id>") && !strstr(x, "]]>"));
        free(x);
        vhc_rrun_free(&run);
    }
}
END_TEST

/* --profile all: the case's @NAME moves from the name into the class */
START_TEST(junit_profile_in_class)
{
    struct vhc_rrun run;
    vhc_rrun_init(&run);
    run.name = strdup("vhost-refnet client");
    run.backend = strdup("vhost-refnet --socket {socket}");
    run.mode = strdup("client");
    run.profile = strdup("qemu-7.2 qemu-10.2");
    vhc_rrun_add(&run, "rings/base@qemu-10.2@rep2");
    vhc_rrun_add(&run, "rings/base@qemu-7.2");
    char *x = written(vhc_junit_write, &run);
    ck_assert_msg(strstr(x, "classname=\"vhost-refnet.client.qemu-10_2.rings\" name=\"base@rep2\""),
                  "%s", x);
    ck_assert(strstr(x, "classname=\"vhost-refnet.client.qemu-7_2.rings\" name=\"base\""));
    free(x);
    vhc_rrun_free(&run);
}
END_TEST

START_TEST(html_escapes_and_draws)
{
    struct vhc_rrun run;
    one_run(&run, VHC_FAIL, false);
    char *h = written(vhc_html_write, &run);
    ck_assert(strstr(h, "<table id=\"matrix\">"));
    ck_assert(strstr(h, "<div class=\"m fb\">"));          /* F->B arrow */
    /* B->F arrow, the last message: the failure's (the message names none) */
    ck_assert(strstr(h, "<div class=\"m bf off\" title=\"the message the failure is about\">"));
    const char *mark = strstr(h, "class=\"off-mark\"");   /* one message marked */
    ck_assert(mark && !strstr(mark + 1, "class=\"off-mark\""));
    ck_assert(strstr(h, "<table id=\"runinfo\">"));
    ck_assert(strstr(h, "<td class=\"mono\" data-field=\"mode\">server</td>"));
    ck_assert(strstr(h, "<b>SET_OWNER(3)</b> <i>&lt;x&gt;</i>"));
    ck_assert(strstr(h, "<div class=\"ev\">ev &quot;q&quot;</div>"));
    ck_assert(strstr(h, "href=\"#r0-c0\""));
    ck_assert(strstr(h, "id=\"r0-c0\""));
    ck_assert(!strstr(h, "<id>") && !strstr(h, "<x>") && !strchr(h, '\x01'));
    ck_assert(!strstr(h, "http://") && !strstr(h, "https://"));   /* nothing fetched */
    free(h);
    vhc_rrun_free(&run);
}
END_TEST

/* The message the failure names is marked, not merely the last one. */
START_TEST(html_marks_the_named_message)
{
    struct vhc_rrun run;
    one_run(&run, VHC_TIMEOUT, false);
    free(run.c[0].message);
    run.c[0].message = strdup("no reply to SET_OWNER within 3000 ms");
    char *h = written(vhc_html_write, &run);
    ck_assert(strstr(h, "<div class=\"m fb off\""));
    ck_assert(!strstr(h, "<div class=\"m bf off\""));
    free(h);
    vhc_rrun_free(&run);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("report");
    TCase *t = tcase_create("report");
    tcase_add_test(t, escape_text);
    tcase_add_test(t, escape_attribute_keeps_newlines_as_refs);
    tcase_add_test(t, escape_rejects_bad_utf8);
    tcase_add_test(t, reader_round_trip);
    tcase_add_test(t, reader_tolerates_foreign_tap);
    tcase_add_test(t, reader_rejects_non_tap);
    tcase_add_test(t, junit_elements);
    tcase_add_test(t, junit_profile_in_class);
    tcase_add_test(t, html_marks_the_named_message);
    tcase_add_test(t, html_escapes_and_draws);
    suite_add_tcase(s, t);
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

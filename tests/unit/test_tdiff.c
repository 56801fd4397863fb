/* Unit tests of the trace comparer (mfe_tdiff.c): each normalisation rule
 * (docs/scenarios.md, "trace-diff") takes away what varies from one run to
 * the next, and the difference just beside it still fails; then edits of a
 * small log, the side-by-side report and bad input. */
#include "mfe_tdiff.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG "0001 t=0.1 F->B GET_FEATURES(1) flags=0x1[v1] size=0 nfds=0\n"
#define NUM(i) "0002 t=0.2 F->B SET_VRING_NUM(8) flags=0x1[v1] size=8 nfds=0 " \
               "state={index=" #i ",num=256}\n"
#define BASE(i, n) "0003 t=0.3 F->B SET_VRING_BASE(10) flags=0x1[v1] size=8 nfds=0 " \
                   "state={index=" #i ",num=" #n "}\n"
#define GBASE(i) "0004 t=0.4 F->B GET_VRING_BASE(11) flags=0x1[v1] size=8 nfds=0 " \
                 "state={index=" #i ",num=0}\n"
#define GBASE_R(i, n) "0005 t=0.4 B->F GET_VRING_BASE(11) flags=0x5[v1,REPLY] size=8 nfds=0 " \
                      "state={index=" #i ",num=" #n "}\n"
#define ADDR(i, d) "0006 t=0.5 F->B SET_VRING_ADDR(9) flags=0x1[v1] size=40 nfds=0 " \
                   "addr={index=" #i ",flags=0x0,desc=" #d "000,used=" #d "240,avail=" #d \
                   "100,log=0x1240}\n"
#define SESSION(n) "# t=1.0 session " #n ": front end connected (accepted)\n"

/* ---- the comparer ---- */

static const char base_log[] =
    "# t=0.1 session 1: front end connected\n"
    "0001 t=0.501 F->B GET_FEATURES(1) flags=0x1[v1] size=0 nfds=0\n"
    "0002 t=0.9 B->F GET_FEATURES(1) flags=0x5[v1,REPLY] size=8 nfds=0 u64=0x1\n"
    "0003 t=1.0 F->B SET_BACKEND_REQ_FD(21) flags=0x9[v1,NEED_REPLY] size=0 nfds=1 "
    "fds=[socket] (proxy: interposed on backend req channel)\n"
    "0004 t=1.1 F->B SET_VRING_ADDR(9) flags=0x1[v1] size=40 nfds=0 addr={index=0,flags=0x0,"
    "desc=0x7f0000001000,used=0x7f0000002240,avail=0x7f0000002000,log=0x2240}\n"
    "0005 t=1.2 F->B SET_VRING_BASE(10) flags=0x1[v1] size=8 nfds=0 state={index=0,num=0}\n"
    "0006 t=1.3 F->B SET_VRING_ADDR(9) flags=0x1[v1] size=40 nfds=0 addr={index=0,flags=0x0,"
    "desc=0x7f0000001000,used=0x7f0000002240,avail=0x7f0000002000,log=0x2240}\n"
    "0007 t=1.4 B->F GET_VRING_BASE(11) flags=0x5[v1,REPLY] size=8 nfds=0 "
    "state={index=0,num=9}\n";

static unsigned diff_texts(const char *a, const char *b)
{
    struct mfe_tdiff_log la, lb;
    char err[200];
    ck_assert_msg(mfe_tdiff_parse(a, &la, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(mfe_tdiff_parse(b, &lb, err, sizeof err) == 0, "%s", err);
    unsigned d = mfe_tdiff_compare(&la, &lb, NULL, NULL);
    mfe_tdiff_free(&la);
    mfe_tdiff_free(&lb);
    return d;
}

/* base_log with one substring replaced */
static char *edited(const char *from, const char *to)
{
    const char *at = strstr(base_log, from);
    ck_assert_ptr_nonnull(at);
    size_t n = strlen(base_log) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(at - base_log), base_log, to, at + strlen(from));
    return out;
}

struct edit_case {
    const char *from, *to;
    unsigned diffs;             /* 0: normalised away */
};

static const struct edit_case edits[] = {
    { "0001 t=0.501", "0041 t=9.999", 0 },                 /* seq and time */
    { "desc=0x7f0000001000,used=0x7f0000002240,avail=0x7f0000002000,log=0x2240}\n0005",
      "desc=0x7f5500001000,used=0x7f5500002240,avail=0x7f5500002000,log=0x8240}\n0005", 1 },
    { "state={index=0,num=9}", "state={index=0,num=11}", 0 },   /* a base after traffic */
    { "state={index=0,num=9}", "state={index=0,num=0}", 0 },    /* a reply: any count */
    { "{index=0,num=0}", "{index=0,num=5}", 1 },
    { "(proxy: interposed on backend req channel)", "", 0 },
    { "flags=0x9[v1,NEED_REPLY] size=0", "flags=0x1[v1] size=0", 1 },
    { "fds=[socket]", "fds=[eventfd]", 1 },
    { "u64=0x1\n", "u64=0x3\n", 1 },
    { "0002 t=0.9 B->F", "0002 t=0.9 F->B", 1 },
    { "0007 t=1.4 B->F GET_VRING_BASE(11) flags=0x5[v1,REPLY] size=8 nfds=0 "
      "state={index=0,num=9}\n", "", 1 },                   /* a message missing */
    { "0005 t=1.2", "# t=1.15 session 2: reconnected\n0005 t=1.2", 1 },   /* a new session */
};

START_TEST(tdiff_edits)
{
    const struct edit_case *e = &edits[_i];
    char *text = edited(e->from, e->to);
    /* the second address change renames one ring: the first ADDR and the
     * second no longer name the same rings, so exactly one line differs */
    ck_assert_uint_eq(diff_texts(base_log, text), e->diffs);
    free(text);
}
END_TEST

START_TEST(tdiff_report)
{
    char *text = edited("flags=0x9[v1,NEED_REPLY] size=0", "flags=0x1[v1] size=0");
    struct mfe_tdiff_log a, b;
    char err[200], *buf = NULL;
    size_t len = 0;
    ck_assert_int_eq(mfe_tdiff_parse(base_log, &a, err, sizeof err), 0);
    ck_assert_int_eq(mfe_tdiff_parse(text, &b, err, sizeof err), 0);
    FILE *out = open_memstream(&buf, &len);
    ck_assert_uint_eq(mfe_tdiff_compare(&a, &b, NULL, out), 1);
    fclose(out);
    ck_assert_msg(strstr(buf, "| 0003 F->B SET_BACKEND_REQ_FD flags=0x9 ") != NULL, "%s", buf);
    ck_assert_msg(strstr(buf, "expected: ") && strstr(buf, "flags=0x9[v1,NEED_REPLY]"), "%s", buf);
    ck_assert_ptr_nonnull(strstr(buf, "@@ expected line 4, actual line 4 @@"));
    mfe_tdiff_free(&a);
    mfe_tdiff_free(&b);
    free(buf);
    free(text);
}
END_TEST

START_TEST(tdiff_bad_input)
{
    struct mfe_tdiff_log l;
    char err[200] = "";
    ck_assert_int_eq(mfe_tdiff_parse("0001 t=0.1 X->Y GET_FEATURES(1) flags=0x1 size=0 nfds=0\n",
                                     &l, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "1: message 1 has no direction"));
    ck_assert_int_eq(mfe_tdiff_parse("# fine\nnot a message\n", &l, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "2: neither"));
    ck_assert_int_eq(mfe_tdiff_parse("0001 F->B GET_FEATURES(1)\n", &l, err, sizeof err), -1);
    ck_assert_int_eq(mfe_tdiff_load("/nonexistent/x.log", &l, err, sizeof err), -1);
    /* comments, events and blank lines only: an empty log, no error */
    ck_assert_int_eq(mfe_tdiff_parse("# a\n\n# t=1 session 2: x\n", &l, err, sizeof err), 0);
    ck_assert_uint_eq(l.messages, 0);
    mfe_tdiff_free(&l);
}
END_TEST



struct rule_case {
    const char *what, *a, *b;
    unsigned diffs;
};

static const struct rule_case rules[] = {
    /* sessions are counted among those with messages */
    { "an empty recorder session", SESSION(1) MSG SESSION(2) MSG,
      SESSION(1) MSG SESSION(2) SESSION(3) MSG, 0 },
    { "... but a new session is still one", SESSION(1) MSG SESSION(2) MSG,
      SESSION(1) MSG MSG, 1 },
    /* GET_VRING_BASE: the reply's count is the back end's */
    { "a GET_VRING_BASE reply's count", GBASE(1) GBASE_R(1, 11), GBASE(1) GBASE_R(1, 0), 0 },
    { "... but not its ring", GBASE(1) GBASE_R(1, 11), GBASE(1) GBASE_R(0, 11), 1 },
    { "... nor the request's ring", GBASE(1) GBASE_R(1, 1), GBASE(0) GBASE_R(1, 1), 1 },
    /* SET_VRING_BASE: 0 or <n>; any restored base with several pairs */
    { "a base after traffic", BASE(0, 9), BASE(0, 23), 0 },
    { "a fresh base against one after traffic", BASE(0, 0), BASE(0, 23), 1 },
    { "a restored base, two pairs", NUM(2) SESSION(2) BASE(0, 0), NUM(2) SESSION(2) BASE(0, 9),
      0 },
    { "... not in the first session", NUM(2) BASE(0, 0), NUM(2) BASE(0, 9), 1 },
    { "... nor with one pair", NUM(1) SESSION(2) BASE(0, 0), NUM(1) SESSION(2) BASE(0, 9), 1 },
    /* ring addresses: numbered per ring */
    { "a ring on the page another ring had", ADDR(0, 0x7f10) ADDR(1, 0x7f20) ADDR(0, 0x7f20),
      ADDR(0, 0x7f10) ADDR(1, 0x7f20) ADDR(0, 0x7f30), 0 },
    { "... but the same ring again is not a new one", ADDR(0, 0x7f10) ADDR(0, 0x7f10),
      ADDR(0, 0x7f10) ADDR(0, 0x7f30), 1 },
    { "... nor a ring back where it was", ADDR(0, 0x7f10) ADDR(0, 0x7f30) ADDR(0, 0x7f10),
      ADDR(0, 0x7f10) ADDR(0, 0x7f30) ADDR(0, 0x7f40), 1 },
};

START_TEST(rule)
{
    const struct rule_case *r = &rules[_i];
    ck_assert_msg(diff_texts(r->a, r->b) == r->diffs, "%s: want %u difference(s)", r->what,
                  r->diffs);
    ck_assert_msg(diff_texts(r->a, r->a) == 0, "%s: not equal to itself", r->what);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tdiff");
    TCase *tc = tcase_create("rules");
    tcase_add_loop_test(tc, rule, 0, sizeof rules / sizeof rules[0]);
    tcase_add_loop_test(tc, tdiff_edits, 0, sizeof edits / sizeof edits[0]);
    tcase_add_test(tc, tdiff_report);
    tcase_add_test(tc, tdiff_bad_input);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

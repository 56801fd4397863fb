/* JUnit XML, in the dialect Jenkins and GitLab read: <testsuites>, one
 * <testsuite> per run, one <testcase> per case, each with its duration.
 * classname is the run and the case's area, "vhost-refnet.server.qemu-7_2.
 * negotiation" (Jenkins: package vhost-refnet.server.qemu-7_2, class
 * negotiation), so runs of another back end, mode or profile keep histories
 * of their own; name is the rest of the id.  fail is a <failure>, timeout,
 * crash and broken an <error> (the case could not finish, or not start),
 * skip a <skipped type="skip">; an expected failure (TAP # TODO) is a
 * <skipped type="expected-failure"> whose message starts "expected failure: ",
 * so it does not turn the build red and is told apart from skips; a listed
 * failure that passed is a <failure type="xpass"> under --strict, else a note
 * in <system-out>.  The run's header (version, commit, date, host, ...) is
 * the suite's <properties>.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"

static void attr(FILE *f, const char *name, const char *value)
{
    fprintf(f, " %s=\"", name);
    vhc_put_escaped(f, value ? value : "", true);
    fputc('"', f);
}

static double run_seconds(const struct vhc_rrun *run)
{
    unsigned long ms = 0;
    for (size_t i = 0; i < run->n; i++)
        ms += run->c[i].duration_ms;
    return ms / 1000.0;
}

/* The YAML details as readable text: "key: value" lines, multi-line
 * values indented under their key. */
static void details(FILE *f, const struct vhc_rcase *c)
{
    const struct { const char *key, *value; } rows[] = {
        { "verdict", vhc_verdict_name(c->verdict) }, { "rule", c->rule }, { "at", c->at },
        { "message", c->message }, { "expected_verdict", c->expected_verdict },
        { "spec", c->spec }, { "transcript", c->transcript },
        { "backend_stderr", c->backend_stderr }, { "case_stderr", c->case_stderr },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *v = rows[i].value;
        if (!v || !*v)
            continue;
        fprintf(f, "%s:%s", rows[i].key, strchr(v, '\n') ? "\n" : " ");
        for (const char *p = v; *p;) {
            size_t n = strcspn(p, "\n");
            char *line = strndup(p, n);
            fputs(strchr(v, '\n') ? "  " : "", f);
            vhc_put_escaped(f, line ? line : "", false);
            fputc('\n', f);
            free(line);
            p += n + (p[n] == '\n');
        }
    }
}

/* A case the expectations list: failed as expected, or passed. */
static void listed(FILE *f, const struct vhc_rcase *c, enum vhc_rkind k, bool strict)
{
    const char *reason = c->directive ? c->directive : "";
    char *msg = NULL;
    if (asprintf(&msg, "%s: %s", k == VHC_RK_TODO ? "expected failure"
                 : "listed as failing, yet passed (remove it from the expectations)",
                 reason) < 0)
        msg = NULL;
    if (k == VHC_RK_TODO || strict) {
        const char *elem = k == VHC_RK_TODO ? "skipped" : "failure";
        fprintf(f, "      <%s", elem);
        attr(f, "message", msg);
        attr(f, "type", k == VHC_RK_TODO ? "expected-failure" : "xpass");
        fputs(">", f);
        details(f, c);
        fprintf(f, "</%s>\n", elem);
    } else {
        fputs("      <system-out>", f);
        vhc_put_escaped(f, msg ? msg : "", false);
        fputs("</system-out>\n", f);
    }
    free(msg);
}

static void outcome(FILE *f, const struct vhc_rcase *c, bool strict)
{
    enum vhc_rkind k = vhc_rcase_kind(c);
    const char *reason = c->directive ? c->directive : "";
    switch (k) {
    case VHC_RK_PASS:
        return;
    case VHC_RK_SKIP:
        fputs("      <skipped", f);
        attr(f, "message", reason);
        attr(f, "type", "skip");
        fputs("/>\n", f);
        return;
    case VHC_RK_TODO:
    case VHC_RK_XPASS:
        listed(f, c, k, strict);
        return;
    default:
        break;
    }
    const char *elem = k == VHC_RK_FAIL ? "failure" : "error";
    fprintf(f, "      <%s", elem);
    attr(f, "message", c->message ? c->message : vhc_rkind_name(k));
    attr(f, "type", vhc_rkind_name(k));
    fputs(">", f);
    details(f, c);
    fprintf(f, "</%s>\n", elem);
}

/* s with '.' as '_' appended: Jenkins reads dots as package separators */
static void put_part(char *out, size_t len, const char *s, size_t n)
{
    size_t o = strlen(out);
    if (o && o + 1 < len)
        out[o++] = '.';
    for (size_t i = 0; i < n && s[i] && o + 1 < len; i++)
        out[o++] = s[i] == '.' ? '_' : s[i];
    out[o] = '\0';
}

/* The profile of case c: its id's "@NAME" when NAME is one of the run's
 * profiles (--profile all; *at is then that suffix of the id), else the
 * run's one profile. */
static void profile_of(const struct vhc_rrun *run, const struct vhc_rcase *c, const char **s,
                       size_t *n, const char **suffix)
{
    *s = run->profile;
    *n = run->profile ? strcspn(run->profile, " ") : 0;
    *suffix = NULL;
    for (const char *at = strchr(c->id, '@'); at && run->profile; at = strchr(at + 1, '@')) {
        size_t len = strcspn(at + 1, "@");
        for (const char *p = run->profile; *p; p += strcspn(p, " "), p += *p == ' ')
            if (strcspn(p, " ") == len && strncmp(p, at + 1, len) == 0) {
                *s = p;
                *n = len;
                *suffix = at;
                return;
            }
    }
}

/* "vhost-refnet.server.qemu-7_2.negotiation" */
static void class_name(char *out, size_t len, const struct vhc_rrun *run,
                       const struct vhc_rcase *c, const char *slash, const char **suffix)
{
    out[0] = '\0';
    char *prog = run->backend ? vhc_rrun_name(run->backend, NULL) : NULL;
    if (prog)
        put_part(out, len, prog, strlen(prog));
    free(prog);
    if (run->mode)
        put_part(out, len, run->mode, strlen(run->mode));
    const char *p;
    size_t pn;
    profile_of(run, c, &p, &pn, suffix);
    if (p)
        put_part(out, len, p, pn);
    put_part(out, len, slash ? c->id : "vhost-conform",
             slash ? (size_t)(slash - c->id) : strlen("vhost-conform"));
}

static void testcase(FILE *f, const struct vhc_rrun *run, const struct vhc_rcase *c)
{
    const char *slash = strchr(c->id, '/');
    char area[512], name[512];
    const char *suffix;   /* "@qemu-8.2": in the class name, so not in the name */
    class_name(area, sizeof area, run, c, slash, &suffix);
    const char *rest = slash ? slash + 1 : c->id;
    size_t cut = suffix ? strcspn(suffix + 1, "@") + 1 : 0;
    snprintf(name, sizeof name, "%.*s%s", suffix ? (int)(suffix - rest) : (int)strlen(rest),
             rest, suffix ? suffix + cut : "");
    char secs[32];
    snprintf(secs, sizeof secs, "%.3f", c->duration_ms / 1000.0);
    fputs("    <testcase", f);
    attr(f, "classname", area);
    attr(f, "name", name);
    attr(f, "time", secs);
    if (vhc_rcase_kind(c) == VHC_RK_PASS) {
        fputs("/>\n", f);
        return;
    }
    fputs(">\n", f);
    outcome(f, c, run->strict != NULL);
    fputs("    </testcase>\n", f);
}

static void property(FILE *f, const char *name, const char *value)
{
    if (!value)
        return;
    fputs("      <property", f);
    attr(f, "name", name);
    attr(f, "value", value);
    fputs("/>\n", f);
}

/* The header of the run (version ... strict), where it came from, and its
 * counts as the TAP summary line has them. */
static void properties(FILE *f, const struct vhc_rrun *run, const struct vhc_rtally *t)
{
    fputs("    <properties>\n", f);
    for (size_t i = 0; vhc_rrun_meta_key(i); i++)
        property(f, vhc_rrun_meta_key(i), vhc_rrun_meta_get(run, i));
    property(f, "source", run->source);
    property(f, "bail_out", run->bail);
    char sum[256];
    snprintf(sum, sizeof sum, "pass %u, fail %u, skip %u, todo %u, xpass %u, timeout %u, "
             "crash %u, broken %u", t->pass, t->fail, t->skip, t->todo, t->xpass, t->timeout,
             t->crash, t->broken);
    property(f, "summary", sum);
    fputs("    </properties>\n", f);
}

/* "2025-06-01T12:00:00Z" as JUnit's timestamp, which has no zone */
static void timestamp(FILE *f, const char *date)
{
    if (!date)
        return;
    char *t = strndup(date, strcspn(date, "Z"));
    attr(f, "timestamp", t);
    free(t);
}

static void testsuite(FILE *f, const struct vhc_rrun *run)
{
    struct vhc_rtally t;
    vhc_rrun_tally(run, &t);
    char buf[5][32];
    snprintf(buf[0], sizeof buf[0], "%zu", run->n);
    snprintf(buf[1], sizeof buf[1], "%u", t.fail + (run->strict ? t.xpass : 0));
    snprintf(buf[2], sizeof buf[2], "%u", t.timeout + t.crash + t.broken);
    snprintf(buf[3], sizeof buf[3], "%u", t.skip + t.todo);
    snprintf(buf[4], sizeof buf[4], "%.3f", run_seconds(run));
    fputs("  <testsuite", f);
    attr(f, "name", run->name);
    attr(f, "tests", buf[0]);
    attr(f, "failures", buf[1]);
    attr(f, "errors", buf[2]);
    attr(f, "skipped", buf[3]);
    attr(f, "time", buf[4]);
    timestamp(f, run->date);
    if (run->host) {   /* the name, without "(Linux ...)" */
        char *h = strndup(run->host, strcspn(run->host, " "));
        attr(f, "hostname", h);
        free(h);
    }
    fputs(">\n", f);
    properties(f, run, &t);
    for (size_t i = 0; i < run->n; i++)
        testcase(f, run, &run->c[i]);
    fputs("  </testsuite>\n", f);
}

int vhc_junit_write(FILE *f, const struct vhc_rrun *runs, size_t n)
{
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"vhost-conform\">\n", f);
    for (size_t i = 0; i < n; i++)
        testsuite(f, &runs[i]);
    fputs("</testsuites>\n", f);
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

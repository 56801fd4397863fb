/* JUnit XML, in the dialect Jenkins and GitLab read: <testsuites>, one
 * <testsuite> per run, one <testcase> per case.  classname is the case's
 * area (the id's first component), name the rest of the id.  fail is a
 * <failure>, timeout, crash and broken an <error> (the case could not
 * finish, or not start), skip a <skipped>; an expected failure (TAP # TODO)
 * is a <skipped> whose message starts "expected failure: ", so it does not
 * turn the build red.
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

static void outcome(FILE *f, const struct vhc_rcase *c)
{
    enum vhc_rkind k = vhc_rcase_kind(c);
    const char *reason = c->directive ? c->directive : "";
    switch (k) {
    case VHC_RK_PASS:
        return;
    case VHC_RK_SKIP:
        fputs("      <skipped", f);
        attr(f, "message", reason);
        fputs("/>\n", f);
        return;
    case VHC_RK_TODO:
    case VHC_RK_XPASS: {
        char *msg = NULL;
        if (asprintf(&msg, "%s: %s", k == VHC_RK_TODO ? "expected failure"
                                                      : "expected failure passed", reason) < 0)
            msg = NULL;
        fputs(k == VHC_RK_TODO ? "      <skipped" : "      <system-out>", f);
        if (k == VHC_RK_TODO) {
            attr(f, "message", msg);
            fputs(">", f);
            details(f, c);
            fputs("</skipped>\n", f);
        } else {
            vhc_put_escaped(f, msg ? msg : "", false);
            fputs("</system-out>\n", f);
        }
        free(msg);
        return;
    }
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

static void testcase(FILE *f, const struct vhc_rcase *c)
{
    const char *slash = strchr(c->id, '/');
    char *area = slash ? strndup(c->id, (size_t)(slash - c->id)) : NULL;
    char secs[32];
    snprintf(secs, sizeof secs, "%.3f", c->duration_ms / 1000.0);
    fputs("    <testcase", f);
    attr(f, "classname", area ? area : "vhost-conform");
    attr(f, "name", slash ? slash + 1 : c->id);
    attr(f, "time", secs);
    free(area);
    if (vhc_rcase_kind(c) == VHC_RK_PASS) {
        fputs("/>\n", f);
        return;
    }
    fputs(">\n", f);
    outcome(f, c);
    fputs("    </testcase>\n", f);
}

static void testsuite(FILE *f, const struct vhc_rrun *run)
{
    struct vhc_rtally t;
    vhc_rrun_tally(run, &t);
    char buf[5][32];
    snprintf(buf[0], sizeof buf[0], "%zu", run->n);
    snprintf(buf[1], sizeof buf[1], "%u", t.fail);
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
    fputs(">\n    <properties>\n", f);
    const struct { const char *name, *value; } props[] = {
        { "backend", run->backend }, { "mode", run->mode }, { "source", run->source },
        { "bail_out", run->bail },
    };
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++) {
        if (!props[i].value)
            continue;
        fputs("      <property", f);
        attr(f, "name", props[i].name);
        attr(f, "value", props[i].value);
        fputs("/>\n", f);
    }
    fputs("    </properties>\n", f);
    for (size_t i = 0; i < run->n; i++)
        testcase(f, &run->c[i]);
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

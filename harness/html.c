/* One self-contained HTML page for one or more runs: a summary per run, the
 * verdict matrix (case ids down, runs across), and under each failure its
 * diagnostics and its message sequence drawn as two lanes (front end, back
 * end) with one arrow per message.  Inline CSS and a few lines of script,
 * nothing fetched; every text from a run is escaped.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"

static const char style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:20px;color:#222;background:#fff}\n"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:24px 0 8px}"
    "h4{margin:10px 0 4px;font-size:13px}\n"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;"
    "text-align:left;vertical-align:top}th{background:#f2f2f2}\n"
    "td.num{text-align:right;white-space:nowrap}code,pre,.mono{font:12px/1.35 monospace}\n"
    "pre{background:#f7f7f7;border:1px solid #ddd;padding:6px;overflow-x:auto;"
    "white-space:pre-wrap;word-break:break-all;max-height:320px}\n"
    "#matrix td.v{text-align:center;min-width:70px}#matrix td.v a{color:inherit}\n"
    ".k-pass{background:#d9f2d9}.k-fail{background:#f8c9c9;font-weight:bold}"
    ".k-skip{background:#eee;color:#666}.k-todo{background:#fbe7b5}"
    ".k-xpass{background:#e3d4f5}.k-timeout{background:#fcd5a5;font-weight:bold}"
    ".k-crash{background:#e57373;color:#fff;font-weight:bold}"
    ".k-broken{background:#8d6e63;color:#fff;font-weight:bold}.k-none{color:#aaa}\n"
    ".badge{display:inline-block;padding:0 6px;border-radius:3px;font-size:12px}\n"
    "details.case{border:1px solid #ccc;border-radius:4px;margin:6px 0;padding:4px 8px}\n"
    "details.case>summary{cursor:pointer}details.case[open]{background:#fcfcff}\n"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:6px 0}"
    "dt{font-weight:bold;color:#555}dd{margin:0;word-break:break-word}\n"
    ".seq{max-width:1000px;margin:4px 0 4px 44px}\n"
    ".lanes{display:flex;justify-content:space-between}.lanes span{width:96px;"
    "text-align:center;font-weight:bold;font-size:12px;background:#e8ecf8;"
    "border:1px solid #9aa8d0;border-radius:3px;margin:0 -48px}\n"
    ".flow{border-left:2px solid #9aa8d0;border-right:2px solid #9aa8d0;padding:6px 0}\n"
    ".m{position:relative;margin:3px 0 9px}.m .no{position:absolute;left:-44px;top:0;"
    "font:11px monospace;color:#888}\n"
    ".m .lbl{font:12px/1.3 monospace;text-align:center;padding:0 14px 1px;"
    "word-break:break-all;border-bottom:2px solid #2c4a9a;position:relative}\n"
    ".m .lbl b{color:#000}.m .lbl i{font-style:normal;color:#555}\n"
    ".m .lbl::after{content:'';position:absolute;bottom:-6px;border-top:5px solid "
    "transparent;border-bottom:5px solid transparent}\n"
    ".m.fb .lbl::after{right:-1px;border-left:10px solid #2c4a9a}\n"
    ".m.bf .lbl{border-color:#b0601a}.m.bf .lbl::after{left:-1px;border-right:10px solid "
    "#b0601a}\n"
    ".ev{font:12px monospace;color:#555;text-align:center;background:#fffbe6;"
    "border:1px dashed #d8c77a;margin:3px 20px 8px;padding:1px 4px;word-break:break-all}\n"
    ".m.off .lbl{background:#fde2e2;outline:2px solid #c62828}"
    ".off-mark{display:block;text-align:center;color:#c62828;font:bold 11px sans-serif}\n"
    ".muted{color:#777}label{user-select:none}\n";

static const char script[] =
    "function openHash(){var id=decodeURIComponent(location.hash.slice(1));"
    "var e=id&&document.getElementById(id);"
    "if(e&&e.tagName==='DETAILS'){e.open=true;e.scrollIntoView();}}\n"
    "window.addEventListener('hashchange',openHash);openHash();\n"
    "document.getElementById('only').addEventListener('change',function(){"
    "var on=this.checked;document.querySelectorAll('#matrix tbody tr').forEach("
    "function(r){r.hidden=on&&!r.classList.contains('attn');});});\n"
    "document.body.setAttribute('data-ready','1');\n";   /* the script ran to its end */

static void text(FILE *f, const char *s)
{
    vhc_put_escaped(f, s ? s : "", false);
}

static bool has_details(enum vhc_rkind k)
{
    return k != VHC_RK_PASS && k != VHC_RK_SKIP;
}

static bool is_bad(enum vhc_rkind k)
{
    return k == VHC_RK_FAIL || k == VHC_RK_TIMEOUT || k == VHC_RK_CRASH ||
           k == VHC_RK_BROKEN;
}

/* ---- summary ---- */

static void summary_row(FILE *f, const struct vhc_rrun *run)
{
    struct vhc_rtally t;
    vhc_rrun_tally(run, &t);
    unsigned long ms = 0;
    bool partial = false;   /* saved TAP keeps the durations of failures only */
    for (size_t i = 0; i < run->n; i++) {
        ms += run->c[i].duration_ms;
        partial |= !run->c[i].has_duration;
    }
    fputs("<tr><th>", f);
    text(f, run->name);
    fputs("</th><td class=\"mono\">", f);
    text(f, run->backend ? run->backend : "-");
    fputs("</td>", f);
    unsigned cells[] = { t.pass, t.fail, t.timeout, t.crash, t.broken, t.todo, t.xpass, t.skip };
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++)
        fprintf(f, "<td class=\"num\">%u</td>", cells[i]);
    fprintf(f, "<td class=\"num\">%zu / %u</td><td class=\"num\"%s>%s%.1f s</td><td>", run->n,
            run->planned, partial ? " title=\"failures only: TAP keeps no other durations\"" : "",
            partial ? "&#8805; " : "", ms / 1000.0);
    if (run->bail) {
        fputs("<span class=\"badge k-crash\">bailed out</span> ", f);
        text(f, run->bail);
    } else if (run->n < run->planned) {
        fputs("<span class=\"badge k-timeout\">incomplete</span>", f);
    } else {
        bool bad = t.fail + t.timeout + t.crash + t.broken + (run->strict ? t.xpass : 0);
        fputs(bad ? "<span class=\"badge k-fail\">failed</span>"
                  : "<span class=\"badge k-pass\">passed</span>", f);
    }
    fputs("</td></tr>\n", f);
}

static void summary(FILE *f, const struct vhc_rrun *runs, size_t n)
{
    fputs("<h2>Runs</h2>\n<table id=\"summary\"><thead><tr><th>run</th><th>back end</th>"
          "<th>pass</th><th>fail</th><th>timeout</th><th>crash</th>"
          "<th title=\"the case could not be set up\">broken</th>"
          "<th title=\"expected failures (listed in the expectations file)\">todo</th>"
          "<th title=\"listed as failing, yet passed\">xpass</th><th>skip</th>"
          "<th>cases / plan</th><th>time</th><th>result</th></tr></thead>\n<tbody>\n", f);
    for (size_t i = 0; i < n; i++)
        summary_row(f, &runs[i]);
    fputs("</tbody></table>\n", f);
}

/* What produced each run: the TAP header's fields, a column per run. */
static void run_info(FILE *f, const struct vhc_rrun *runs, size_t n)
{
    fputs("<h2>What produced them</h2>\n<table id=\"runinfo\"><thead><tr><th>field</th>", f);
    for (size_t r = 0; r < n; r++) {
        fputs("<th>", f);
        text(f, runs[r].name);
        fputs("</th>", f);
    }
    fputs("</tr></thead>\n<tbody>\n", f);
    for (size_t i = 0; vhc_rrun_meta_key(i); i++) {
        bool any = false;
        for (size_t r = 0; r < n; r++)
            any |= vhc_rrun_meta_get(&runs[r], i) != NULL;
        if (!any)
            continue;
        fprintf(f, "<tr><th>%s</th>", vhc_rrun_meta_key(i));
        for (size_t r = 0; r < n; r++) {
            const char *v = vhc_rrun_meta_get(&runs[r], i);
            fprintf(f, "<td class=\"mono\" data-field=\"%s\">", vhc_rrun_meta_key(i));
            text(f, v ? v : "-");
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
}

/* ---- the matrix ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every case id of every run, sorted, once each. */
static const char **all_ids(const struct vhc_rrun *runs, size_t n, size_t *count)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += runs[i].n;
    const char **ids = calloc(total ? total : 1, sizeof *ids);
    if (!ids)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < runs[i].n; j++)
            ids[k++] = runs[i].c[j].id;
    qsort(ids, k, sizeof *ids, cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || strcmp(ids[u - 1], ids[i]) != 0)
            ids[u++] = ids[i];
    *count = u;
    return ids;
}

/* The case's index in run, or -1; a repeated id's last result wins. */
static long find_case(const struct vhc_rrun *run, const char *id)
{
    for (size_t j = run->n; j-- > 0;)
        if (strcmp(run->c[j].id, id) == 0)
            return (long)j;
    return -1;
}

static void matrix_cell(FILE *f, const struct vhc_rrun *run, size_t r, long j)
{
    if (j < 0) {
        fputs("<td class=\"v k-none\" title=\"not in this run\">&#8211;</td>", f);
        return;
    }
    const struct vhc_rcase *c = &run->c[j];
    enum vhc_rkind k = vhc_rcase_kind(c);
    const char *tip = c->message ? c->message : c->directive;
    fprintf(f, "<td class=\"v k-%s\"", vhc_rkind_name(k));
    if (tip) {
        fputs(" title=\"", f);
        vhc_put_escaped(f, tip, true);
        fputc('"', f);
    }
    if (has_details(k))
        fprintf(f, "><a href=\"#r%zu-c%ld\">%s</a></td>", r, j, vhc_rkind_name(k));
    else
        fprintf(f, ">%s</td>", vhc_rkind_name(k));
}

static void matrix_row(FILE *f, const struct vhc_rrun *runs, size_t n, const char *id)
{
    bool attn = false;
    int first = -1;
    for (size_t r = 0; r < n; r++) {   /* a row needs attention: bad, or runs differ */
        long j = find_case(&runs[r], id);
        int k = j < 0 ? -1 : (int)vhc_rcase_kind(&runs[r].c[j]);
        attn |= (k >= 0 && is_bad((enum vhc_rkind)k)) || (r > 0 && k != first);
        if (r == 0)
            first = k;
    }
    fprintf(f, "<tr%s><th class=\"mono\">", attn ? " class=\"attn\"" : "");
    text(f, id);
    fputs("</th>", f);
    for (size_t r = 0; r < n; r++)
        matrix_cell(f, &runs[r], r, find_case(&runs[r], id));
    fputs("</tr>\n", f);
}

static int matrix(FILE *f, const struct vhc_rrun *runs, size_t n)
{
    size_t nids;
    const char **ids = all_ids(runs, n, &nids);
    if (!ids)
        return -1;
    fputs("<h2>Verdicts</h2>\n<p><label><input type=\"checkbox\" id=\"only\"> only cases "
          "that failed or differ between runs</label> <span class=\"muted\">&#8212; click a "
          "verdict for its diagnostics</span></p>\n<table id=\"matrix\"><thead><tr>"
          "<th>case</th>", f);
    for (size_t r = 0; r < n; r++) {
        fputs("<th>", f);
        text(f, runs[r].name);
        fputs("</th>", f);
    }
    fputs("</tr></thead>\n<tbody>\n", f);
    for (size_t i = 0; i < nids; i++)
        matrix_row(f, runs, n, ids[i]);
    fputs("</tbody></table>\n", f);
    free(ids);
    return 0;
}

/* ---- the message sequence ---- */

/* "0021 F->B NAME(5) flags=... payload": number, direction, request, rest. */
static void seq_message(FILE *f, const char *line, size_t len, bool off)
{
    char *l = strndup(line, len);
    if (!l)
        return;
    char *dir = strchr(l, ' ');
    bool fb = dir && strncmp(dir + 1, "F->B ", 5) == 0;
    bool bf = dir && strncmp(dir + 1, "B->F ", 5) == 0;
    if (!fb && !bf) {
        fputs("<div class=\"ev\">", f);
        text(f, l);
        fputs("</div>\n", f);
        free(l);
        return;
    }
    *dir = '\0';
    char *req = dir + 6;
    char *rest = req + strcspn(req, " ");
    if (*rest)
        *rest++ = '\0';
    fprintf(f, "<div class=\"m %s%s\"%s><span class=\"no\">", fb ? "fb" : "bf",
            off ? " off" : "", off ? " title=\"the message the failure is about\"" : "");
    text(f, l);
    fputs("</span><div class=\"lbl\"><b>", f);
    text(f, req);
    fputs("</b> <i>", f);
    text(f, rest);
    fputs("</i></div>", f);
    if (off)
        fputs("<span class=\"off-mark\">&#9664; failure here</span>", f);
    fputs("</div>\n", f);
    free(l);
}

/* Is line (len bytes) a message, "0021 F->B NAME(5) ..."?  Its request's
 * name ("NAME") in *req, *reqlen. */
static bool message_line(const char *p, size_t n, const char **req, size_t *reqlen)
{
    if (n < 11 || strspn(p, "0123456789") != 4 ||
        (strncmp(p + 4, " F->B ", 6) != 0 && strncmp(p + 4, " B->F ", 6) != 0))
        return false;
    *req = p + 10;
    *reqlen = strcspn(*req, "( \n");
    return true;
}

/* The message a failure is about: the last one whose request the failure's
 * message names, else the last message of the transcript; -1 for none. */
static long offending(const char *transcript, const char *why)
{
    long last = -1, named = -1, i = 0;
    for (const char *p = transcript; *p; i++) {
        size_t n = strcspn(p, "\n"), rl;
        const char *req;
        if (message_line(p, n, &req, &rl)) {
            last = i;
            char *name = strndup(req, rl);
            if (why && name && rl > 2 && strstr(why, name))
                named = i;
            free(name);
        }
        p += n + (p[n] == '\n');
    }
    return named >= 0 ? named : last;
}

static void sequence(FILE *f, const char *transcript, long off)
{
    long i = 0;
    fputs("<h4>message sequence</h4>\n<div class=\"seq\"><div class=\"lanes\">"
          "<span>front end</span><span>back end</span></div><div class=\"flow\">\n", f);
    for (const char *p = transcript; *p;) {
        size_t n = strcspn(p, "\n");
        if (*p == '#') {
            char *ev = strndup(p + 1 + (p[1] == ' '), n - 1 - (n > 1 && p[1] == ' '));
            fputs("<div class=\"ev\">", f);
            text(f, ev);
            fputs("</div>\n", f);
            free(ev);
        } else if (n) {
            seq_message(f, p, n, i == off);
        }
        p += n + (p[n] == '\n');
        i++;
    }
    fputs("</div></div>\n", f);
}

/* ---- one failure's diagnostics ---- */

static void def(FILE *f, const char *term, const char *value)
{
    if (!value || !*value)
        return;
    fprintf(f, "<dt>%s</dt><dd>", term);
    text(f, value);
    fputs("</dd>", f);
}

static void tail(FILE *f, const char *title, const char *s)
{
    if (!s || !*s)
        return;
    fprintf(f, "<h4>%s</h4><pre>", title);
    text(f, s);
    fputs("</pre>\n", f);
}

static void diagnostics(FILE *f, const struct vhc_rrun *run, size_t r, size_t j)
{
    const struct vhc_rcase *c = &run->c[j];
    enum vhc_rkind k = vhc_rcase_kind(c);
    fprintf(f, "<details class=\"case\" id=\"r%zu-c%zu\"><summary><span class=\"badge k-%s\">"
               "%s</span> <b class=\"mono\">", r, j, vhc_rkind_name(k), vhc_rkind_name(k));
    text(f, c->id);
    fputs("</b> <span class=\"muted\">", f);
    text(f, c->message ? c->message : c->directive);
    fputs("</span></summary>\n<dl>", f);
    def(f, "verdict", vhc_verdict_name(c->verdict));
    def(f, "rule", c->rule);
    def(f, "at", c->at);
    def(f, "message", c->message);
    def(f, k == VHC_RK_XPASS ? "listed as failing" : "expected failure",
        c->todo ? c->directive : NULL);
    def(f, "expected verdict", c->expected_verdict);
    def(f, "spec", c->spec);
    if (c->has_duration)
        fprintf(f, "<dt>duration</dt><dd>%.3f s</dd>", c->duration_ms / 1000.0);
    fputs("</dl>\n", f);
    if (c->transcript)   /* a failure's message marked; not an xpass's */
        sequence(f, c->transcript, k == VHC_RK_XPASS ? -1 : offending(c->transcript, c->message));
    tail(f, "back end stderr (last lines)", c->backend_stderr);
    tail(f, "case stderr", c->case_stderr);
    fputs("</details>\n", f);
}

static void failures(FILE *f, const struct vhc_rrun *runs, size_t n)
{
    fputs("<h2>Failures and expected failures</h2>\n", f);
    for (size_t r = 0; r < n; r++) {
        size_t shown = 0;
        fputs("<h3>", f);
        text(f, runs[r].name);
        fputs("</h3>\n", f);
        for (size_t j = 0; j < runs[r].n; j++)
            if (has_details(vhc_rcase_kind(&runs[r].c[j]))) {
                diagnostics(f, &runs[r], r, j);
                shown++;
            }
        if (!shown)
            fputs("<p class=\"muted\">none</p>\n", f);
    }
}

int vhc_html_write(FILE *f, const struct vhc_rrun *runs, size_t n)
{
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width\">\n"
               "<title>vhost-conform report</title>\n<style>\n%s</style></head>\n<body>\n"
               "<h1>vhost-conform report</h1>\n<p class=\"muted\">%zu run%s</p>\n",
            style, n, n == 1 ? "" : "s");
    summary(f, runs, n);
    run_info(f, runs, n);
    int rc = matrix(f, runs, n);
    failures(f, runs, n);
    fprintf(f, "<script>\n%s</script>\n</body></html>\n", script);
    return rc == 0 && fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

/* TAP version 14 writer.  One line per case, a YAML block under each
 * failure.  Output is pure ASCII: anything else is escaped, so any TAP
 * consumer (and TAP::Parser's YAMLish subset) reads it back unchanged.
 */
#include <string.h>

#include "harness.h"

#define YAML_INDENT "  "   /* the block sits 2 spaces under its test line */

void vhc_tap_begin(FILE *f, unsigned plan)
{
    fprintf(f, "TAP version 14\n1..%u\n", plan);
}

/* A description may not contain '#' (it would start a directive) nor a
 * newline; escape the first, replace control characters. */
static void put_description(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '#' || c == '\\')
            fputc('\\', f);
        fputc(c < 0x20 || c >= 0x7f ? '?' : c, f);
    }
}

/* Directive text runs to the end of the line. */
static void put_directive_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        fputc(c < 0x20 || c >= 0x7f ? ' ' : c, f);
    }
}

static void put_quoted(FILE *f, const char *s)
{
    static const char esc[][2] = { ['\n'] = "n", ['\t'] = "t", ['\r'] = "r",
                                   ['"'] = "\"", ['\\'] = "\\" };
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < sizeof esc / sizeof esc[0] && esc[c][0])
            fprintf(f, "\\%c", esc[c][0]);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* A literal block keeps every byte only when each line is non-empty,
 * printable ASCII without trailing blanks, the first line does not start
 * with a blank (it would set the indentation), and the text ends in exactly
 * one newline (what '|' restores). */
static bool block_safe(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || s[n - 1] != '\n' || s[0] == ' ')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') {
            if (i == 0 || s[i - 1] == '\n' || s[i - 1] == ' ')
                return false;
        } else if (c < 0x20 || c >= 0x7f) {
            return false;
        }
    }
    return memchr(s, '\n', n - 1) != NULL;    /* one line reads better quoted */
}

void vhc_yaml_string(FILE *f, const char *indent, const char *key, const char *value)
{
    fprintf(f, "%s%s: ", indent, key);
    if (!block_safe(value)) {
        put_quoted(f, value);
        fputc('\n', f);
        return;
    }
    fputs("|\n", f);
    for (const char *line = value; *line;) {
        const char *nl = strchr(line, '\n');
        fprintf(f, "%s  %.*s\n", indent, (int)(nl - line), line);
        line = nl + 1;
    }
}

static void yaml_plain(FILE *f, const char *key, const char *value)
{
    fprintf(f, YAML_INDENT "%s: %s\n", key, value);
}

static void yaml_opt(FILE *f, const char *key, const char *value)
{
    if (value && *value)
        vhc_yaml_string(f, YAML_INDENT, key, value);
}

static bool unexpected_pass(const struct vhc_tap_item *it)
{
    return it->expect && !vhc_verdict_failed(it->r->verdict) && it->r->verdict != VHC_SKIP;
}

static void put_yaml(FILE *f, const struct vhc_tap_item *it)
{
    const struct vhc_result *r = it->r;
    fputs(YAML_INDENT "---\n", f);
    yaml_plain(f, "verdict", vhc_verdict_name(r->verdict));
    yaml_opt(f, "rule", r->rule);
    yaml_opt(f, "at", r->at);
    yaml_opt(f, "message", r->reason);
    fprintf(f, YAML_INDENT "duration_ms: %lu\n", r->duration_ms);
    yaml_plain(f, "mode", vhc_mode_name(it->mode));
    if (it->expect && it->expect->verdict != r->verdict && vhc_verdict_failed(r->verdict))
        yaml_plain(f, "expected_verdict", vhc_verdict_name(it->expect->verdict));
    if (unexpected_pass(it))
        yaml_plain(f, "unexpected_pass", "true");
    yaml_opt(f, "spec", it->spec);
    yaml_opt(f, "transcript", r->transcript);
    yaml_opt(f, "backend_stderr", r->backend_tail);
    yaml_opt(f, "case_stderr", r->case_tail);
    fputs(YAML_INDENT "...\n", f);
}

void vhc_tap_item(FILE *f, const struct vhc_tap_item *it)
{
    const struct vhc_result *r = it->r;
    bool failed = vhc_verdict_failed(r->verdict);
    fprintf(f, "%s %u - ", failed ? "not ok" : "ok", it->n);
    put_description(f, it->id);
    if (r->verdict == VHC_SKIP || r->verdict == VHC_NOTRUN) {
        fputs(" # SKIP ", f);
        put_directive_text(f, r->reason[0] ? r->reason : vhc_verdict_name(r->verdict));
    } else if (it->expect) {
        fputs(" # TODO ", f);
        put_directive_text(f, it->expect->reason);
    }
    fputc('\n', f);
    if (failed || unexpected_pass(it))
        put_yaml(f, it);
    else   /* every case has its duration: the YAML's, or this comment */
        fprintf(f, "# duration_ms: %lu\n", r->duration_ms);
}

bool vhc_tally_add(struct vhc_tally *t, const struct vhc_tap_item *it)
{
    enum vhc_verdict v = it->r->verdict;
    if (it->expect && vhc_verdict_failed(v)) {
        t->todo++;
        return false;
    }
    if (it->expect && v == VHC_PASS) {   /* the expectation is stale: counted apart, so it nags */
        t->xpass++;
        return false;
    }
    unsigned *bucket[VHC_VERDICT_COUNT] = {
        [VHC_PASS] = &t->pass, [VHC_FAIL] = &t->fail, [VHC_SKIP] = &t->skip,
        [VHC_TIMEOUT] = &t->timeout, [VHC_CRASH] = &t->crash, [VHC_NOTRUN] = &t->skip,
        [VHC_BROKEN] = &t->broken,
    };
    (*bucket[v])++;
    return vhc_verdict_failed(v);
}

void vhc_tap_end(FILE *f, const struct vhc_tally *t)
{
    fprintf(f, "# pass %u, fail %u, skip %u, todo %u, xpass %u, timeout %u, crash %u, "
               "broken %u\n",
            t->pass, t->fail, t->skip, t->todo, t->xpass, t->timeout, t->crash, t->broken);
    fflush(f);
}

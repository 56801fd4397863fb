/* Reports: the run model, text escaping for XML/HTML, the reader of our own
 * TAP, the runner's --junit/--html hook and `vhost-conform report`.
 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "report.h"

/* ---- the model ---- */

void vhc_rrun_init(struct vhc_rrun *run)
{
    memset(run, 0, sizeof *run);
}

static void rcase_free(struct vhc_rcase *c)
{
    char **s[] = { &c->id, &c->directive, &c->rule, &c->at, &c->message, &c->spec,
                   &c->expected_verdict, &c->transcript, &c->backend_stderr,
                   &c->case_stderr };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        free(*s[i]);
}

void vhc_rrun_free(struct vhc_rrun *run)
{
    for (size_t i = 0; i < run->n; i++)
        rcase_free(&run->c[i]);
    free(run->c);
    free(run->name);
    free(run->source);
    free(run->bail);
    for (size_t i = 0; vhc_rrun_meta_key(i); i++)
        free(*vhc_rrun_meta(run, i));
    vhc_rrun_init(run);
}

struct vhc_rcase *vhc_rrun_add(struct vhc_rrun *run, const char *id)
{
    if (run->n == run->cap) {
        size_t cap = run->cap ? run->cap * 2 : 64;
        struct vhc_rcase *c = realloc(run->c, cap * sizeof *c);
        if (!c)
            return NULL;
        run->c = c;
        run->cap = cap;
    }
    struct vhc_rcase *c = &run->c[run->n];
    memset(c, 0, sizeof *c);
    if (!(c->id = strdup(id)))
        return NULL;
    run->n++;
    return c;
}

enum vhc_rkind vhc_rcase_kind(const struct vhc_rcase *c)
{
    static const enum vhc_rkind by_verdict[VHC_VERDICT_COUNT] = {
        [VHC_PASS] = VHC_RK_PASS, [VHC_FAIL] = VHC_RK_FAIL, [VHC_SKIP] = VHC_RK_SKIP,
        [VHC_TIMEOUT] = VHC_RK_TIMEOUT, [VHC_CRASH] = VHC_RK_CRASH,
        [VHC_NOTRUN] = VHC_RK_SKIP, [VHC_BROKEN] = VHC_RK_BROKEN,
    };
    if (c->verdict == VHC_BROKEN)   /* a setup error: no expectation covers it */
        return VHC_RK_BROKEN;
    if (c->todo && vhc_verdict_failed(c->verdict))
        return VHC_RK_TODO;
    if (c->todo && c->verdict == VHC_PASS)
        return VHC_RK_XPASS;
    return by_verdict[c->verdict];
}

const char *vhc_rkind_name(enum vhc_rkind k)
{
    static const char *const names[] = {
        [VHC_RK_PASS] = "pass", [VHC_RK_FAIL] = "fail", [VHC_RK_SKIP] = "skip",
        [VHC_RK_TODO] = "todo", [VHC_RK_XPASS] = "xpass",
        [VHC_RK_TIMEOUT] = "timeout", [VHC_RK_CRASH] = "crash", [VHC_RK_BROKEN] = "broken",
    };
    return names[k];
}

void vhc_rrun_tally(const struct vhc_rrun *run, struct vhc_rtally *t)
{
    memset(t, 0, sizeof *t);
    unsigned *bucket[] = {
        [VHC_RK_PASS] = &t->pass, [VHC_RK_FAIL] = &t->fail, [VHC_RK_SKIP] = &t->skip,
        [VHC_RK_TODO] = &t->todo, [VHC_RK_XPASS] = &t->xpass,
        [VHC_RK_TIMEOUT] = &t->timeout, [VHC_RK_CRASH] = &t->crash,
        [VHC_RK_BROKEN] = &t->broken,
    };
    for (size_t i = 0; i < run->n; i++)
        (*bucket[vhc_rcase_kind(&run->c[i])])++;
}

/* The program's name: the first word that is not VAR=value, without its
 * directory and shell quotes. */
static void program_name(const char *cmd, char *out, size_t len)
{
    const char *p = cmd;
    size_t n;
    for (;;) {
        p += strspn(p, " \t");
        n = strcspn(p, " \t");
        if (!memchr(p, '=', n) || !p[n])
            break;
        p += n;
    }
    const char *slash = p;
    for (const char *q = p; q < p + n; q++)
        if (*q == '/')
            slash = q + 1;
    n -= (size_t)(slash - p);
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < len; i++)
        if (slash[i] != '\'' && slash[i] != '"')
            out[o++] = slash[i];
    out[o] = '\0';
}

char *vhc_rrun_name(const char *backend, const char *mode)
{
    char prog[128] = "back end";
    if (backend && *backend)
        program_name(backend, prog, sizeof prog);
    char *name = NULL;
    if (asprintf(&name, "%s%s%s", prog, mode ? " " : "", mode ? mode : "") < 0)
        return NULL;
    return name;
}

/* ---- escaping ---- */

/* Length of the valid UTF-8 sequence at s that XML allows, or 0. */
static size_t utf8_ok(const unsigned char *s)
{
    unsigned cp;
    size_t n;
    if (s[0] < 0xc2 || s[0] > 0xf4)
        return 0;
    n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
    cp = s[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    static const unsigned min[] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
        cp == 0xfffe || cp == 0xffff)
        return 0;
    return n;
}

void vhc_put_escaped(FILE *f, const char *str, bool attr)
{
    static const char *const ent[128] = {
        ['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;",
        ['\''] = "&#39;",
    };
    for (const unsigned char *s = (const unsigned char *)str; *s;) {
        if (*s >= 0x80) {
            size_t n = utf8_ok(s);
            if (n)
                fwrite(s, 1, n, f);
            else
                fputc('?', f);
            s += n ? n : 1;
            continue;
        }
        if (ent[*s])
            fputs(ent[*s], f);
        else if (*s == '\n' || *s == '\t')
            attr ? fprintf(f, "&#%d;", *s) : fputc(*s, f);
        else if (*s >= 0x20 && *s != 0x7f)
            fputc(*s, f);
        s++;   /* other control characters: XML 1.0 cannot carry them */
    }
}

/* ---- reading our TAP back ---- */

struct reader {
    struct vhc_rrun *run;
    struct vhc_rcase *last;     /* the test a YAML block belongs to */
    int yaml_indent;            /* -1 outside a block */
    char **block;               /* the literal block being read, or NULL */
    bool in_unknown_block;      /* a block under a key we do not keep */
    int block_indent;           /* its content's indentation, once known */
    bool saw_tap;
};

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static void set_str(char **dst, char *value)
{
    free(*dst);
    *dst = value;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A YAML double-quoted scalar (the escapes our writer uses, and a few more). */
static char *unquote_double(const char *s)
{
    static const char esc[128] = { ['n'] = '\n', ['t'] = '\t', ['r'] = '\r', ['"'] = '"',
                                   ['\\'] = '\\', ['/'] = '/', ['0'] = '\0', ['e'] = 27,
                                   [' '] = ' ' };
    char *out = malloc(strlen(s) + 1), *o = out;
    if (!out)
        return NULL;
    for (s++; *s && *s != '"'; s++) {
        if (*s != '\\' || !s[1]) {
            *o++ = *s;
        } else if (s[1] == 'x' && hexval(s[2]) >= 0 && hexval(s[3]) >= 0) {
            char c = (char)(hexval(s[2]) << 4 | hexval(s[3]));
            if (c)
                *o++ = c;      /* a NUL would cut the string short */
            s += 3;
        } else {
            unsigned char e = (unsigned char)*++s;
            char c = e < 128 && esc[e] ? esc[e] : (char)e;
            if (c)
                *o++ = c;
        }
    }
    *o = '\0';
    return out;
}

static char *unquote_single(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;
    if (!out)
        return NULL;
    for (s++; *s; s++) {
        if (*s == '\'' && s[1] != '\'')
            break;
        *o++ = *s;
        s += *s == '\'';
    }
    *o = '\0';
    return out;
}

static char *scalar(const char *v)
{
    if (*v == '"')
        return unquote_double(v);
    if (*v == '\'')
        return unquote_single(v);
    return strdup(v);
}

#define STR_FIELD(name, field) { name, offsetof(struct vhc_rcase, field) }
static const struct {
    const char *key;
    size_t off;
} str_fields[] = {
    STR_FIELD("rule", rule), STR_FIELD("at", at), STR_FIELD("message", message),
    STR_FIELD("spec", spec), STR_FIELD("expected_verdict", expected_verdict),
    STR_FIELD("transcript", transcript), STR_FIELD("backend_stderr", backend_stderr),
    STR_FIELD("case_stderr", case_stderr),
};

static char **field_of(struct vhc_rcase *c, const char *key)
{
    for (size_t i = 0; i < sizeof str_fields / sizeof str_fields[0]; i++)
        if (strcmp(key, str_fields[i].key) == 0)
            return (char **)((char *)c + str_fields[i].off);
    return NULL;
}

static void yaml_value(struct reader *rd, const char *key, const char *v)
{
    struct vhc_rcase *c = rd->last;
    char **dst = field_of(c, key);
    bool block = v[0] == '|' || v[0] == '>';
    if (block) {
        rd->block = dst;
        rd->in_unknown_block = !dst;
        rd->block_indent = -1;
        if (dst)
            set_str(dst, strdup(""));
    } else if (dst) {
        set_str(dst, scalar(v));
    } else if (strcmp(key, "verdict") == 0) {
        char *w = scalar(v);
        int verdict = w ? vhc_verdict_parse(w) : -1;
        if (verdict >= 0)
            c->verdict = (enum vhc_verdict)verdict;
        free(w);
    } else if (strcmp(key, "duration_ms") == 0) {
        char *end;
        unsigned long ms = strtoul(v, &end, 10);
        c->has_duration = end != v;
        c->duration_ms = c->has_duration ? ms : 0;
    }
}

static int indent_of(const char *line)
{
    return (int)strspn(line, " ");
}

/* One line of a literal block; false when the block has ended here. */
static bool block_line(struct reader *rd, const char *line)
{
    int ind = indent_of(line);
    bool blank = line[ind] == '\0';
    if (!blank && ind <= rd->yaml_indent)
        return false;
    if (rd->block_indent < 0 && !blank)
        rd->block_indent = ind;
    if (!rd->block)
        return true;
    const char *text = blank ? "" : line + (ind < rd->block_indent ? ind : rd->block_indent);
    char *joined = NULL;
    if (asprintf(&joined, "%s%s\n", *rd->block, text) >= 0)
        set_str(rd->block, joined);
    return true;
}

static void yaml_line(struct reader *rd, const char *line)
{
    if ((rd->block || rd->in_unknown_block) && block_line(rd, line))
        return;
    rd->block = NULL;
    rd->in_unknown_block = false;
    int ind = indent_of(line);
    if (strcmp(line + ind, "...") == 0) {
        rd->yaml_indent = -1;
        return;
    }
    const char *colon = strstr(line + ind, ": ");
    if (!colon && (colon = strchr(line + ind, ':')) && colon[1])
        colon = NULL;
    if (!colon || ind != rd->yaml_indent || !rd->last)
        return;   /* nested or foreign YAML: not ours to keep */
    char key[64];
    snprintf(key, sizeof key, "%.*s", (int)(colon - line - ind), line + ind);
    const char *v = colon + 1;
    v += strspn(v, " ");
    yaml_value(rd, key, v);
}

/* The description: '\#' and '\\' unescaped, up to an unescaped '#'. */
static const char *take_description(const char *s, char **out)
{
    char *d = malloc(strlen(s) + 1), *o = d;
    if (!d)
        return NULL;
    for (; *s && *s != '#'; s++) {
        if (*s == '\\' && (s[1] == '#' || s[1] == '\\'))
            s++;
        *o++ = *s;
    }
    while (o > d && o[-1] == ' ')
        o--;
    *o = '\0';
    *out = d;
    return s;
}

static void take_directive(struct vhc_rcase *c, const char *s)
{
    s += strspn(s, "# ");
    bool skip = strncasecmp(s, "skip", 4) == 0;
    bool todo = strncasecmp(s, "todo", 4) == 0;
    if (!skip && !todo)
        return;
    s += strcspn(s, " ");
    s += strspn(s, " ");
    c->todo = todo;
    if (skip)
        c->verdict = strcmp(s, "notrun") == 0 ? VHC_NOTRUN : VHC_SKIP;
    set_str(&c->directive, strdup(s));
}

static void test_line(struct reader *rd, const char *line)
{
    bool ok = strncmp(line, "ok", 2) == 0;
    const char *p = line + (ok ? 2 : 6);
    p += strspn(p, " ");
    p += strspn(p, "0123456789");
    p += strspn(p, " ");
    if (p[0] == '-' && (p[1] == ' ' || !p[1]))
        p += 1 + (p[1] == ' ');
    char *id = NULL;
    p = take_description(p, &id);
    if (!p)
        return;
    struct vhc_rcase *c = vhc_rrun_add(rd->run, *id ? id : "(unnamed)");
    free(id);
    if (!c)
        return;
    c->verdict = ok ? VHC_PASS : VHC_FAIL;
    if (*p == '#')
        take_directive(c, p);
    rd->last = c;
}

/* "# KEY: value" of the header, or the duration of the passing case above */
static void comment_line(struct reader *rd, const char *line)
{
    if (strncmp(line, "# duration_ms: ", 15) == 0 && rd->last && !rd->last->has_duration) {
        yaml_value(rd, "duration_ms", line + 15);
        return;
    }
    for (size_t i = 0; vhc_rrun_meta_key(i); i++) {
        const char *key = vhc_rrun_meta_key(i);
        size_t n = strlen(key);
        if (strncmp(line, "# ", 2) == 0 && strncmp(line + 2, key, n) == 0 &&
            strncmp(line + 2 + n, ": ", 2) == 0)
            set_str(vhc_rrun_meta(rd->run, i), strdup(line + 4 + n));
    }
}

static void tap_line(struct reader *rd, char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if (rd->yaml_indent >= 0) {
        yaml_line(rd, line);
        return;
    }
    int ind = indent_of(line);
    if (ind > 0 && strcmp(line + ind, "---") == 0 && rd->last) {
        rd->yaml_indent = ind;
    } else if (strncmp(line, "ok", 2) == 0 && (!line[2] || line[2] == ' ')) {
        test_line(rd, line);
        rd->saw_tap = true;
    } else if (strncmp(line, "not ok", 6) == 0 && (!line[6] || line[6] == ' ')) {
        test_line(rd, line);
        rd->saw_tap = true;
    } else if (strncmp(line, "1..", 3) == 0) {
        rd->run->planned = (unsigned)strtoul(line + 3, NULL, 10);
        rd->saw_tap = true;
    } else if (strncmp(line, "Bail out!", 9) == 0) {
        set_str(&rd->run->bail, strdup(line[9] ? line + 9 + strspn(line + 9, " ") : ""));
    } else if (line[0] == '#') {
        comment_line(rd, line);
    } else if (strncmp(line, "TAP version ", 12) == 0) {
        rd->saw_tap = true;
    }
}

int vhc_tap_read(FILE *in, struct vhc_rrun *run, char *err, size_t errlen)
{
    struct reader rd = { .run = run, .yaml_indent = -1 };
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, in) >= 0)
        tap_line(&rd, line);
    free(line);
    if (ferror(in)) {
        snprintf(err, errlen, "read error: %s", strerror(errno));
        return -1;
    }
    if (!rd.saw_tap) {
        snprintf(err, errlen, "no TAP version, plan or test line");
        return -1;
    }
    return 0;
}

/* ---- the runner's hook ---- */

struct vhc_report_out {
    const char *junit_path, *html_path;
    FILE *junit, *html;
    struct vhc_rrun run;
};

static FILE *open_out(const char *path)
{
    if (!path)
        return NULL;
    FILE *f = fopen(path, "we");
    if (!f)
        fprintf(stderr, "vhost-conform: %s: %s\n", path, strerror(errno));
    return f;
}

static void out_free(struct vhc_report_out *o)
{
    if (o->junit)
        fclose(o->junit);
    if (o->html)
        fclose(o->html);
    vhc_rrun_free(&o->run);
    free(o);
}

struct vhc_report_out *vhc_report_open(const char *junit, const char *html,
                                       const struct vhc_rrun *meta, bool *failed)
{
    *failed = false;
    if (!junit && !html)
        return NULL;
    struct vhc_report_out *o = calloc(1, sizeof *o);
    *failed = true;
    if (!o)
        return NULL;
    o->junit_path = junit;
    o->html_path = html;
    o->junit = open_out(junit);
    o->html = open_out(html);
    bool copied = vhc_rrun_meta_copy(&o->run, meta) == 0;
    o->run.name = vhc_rrun_name(meta->backend, meta->mode);
    if ((junit && !o->junit) || (html && !o->html) || !o->run.name || !copied) {
        out_free(o);
        return NULL;
    }
    *failed = false;
    return o;
}

static char *dup_nonempty(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

void vhc_report_item(struct vhc_report_out *o, const struct vhc_tap_item *it)
{
    if (!o)
        return;
    const struct vhc_result *r = it->r;
    struct vhc_rcase *c = vhc_rrun_add(&o->run, it->id);
    if (!c)
        return;
    bool skipped = r->verdict == VHC_SKIP || r->verdict == VHC_NOTRUN;
    c->verdict = r->verdict;
    c->todo = it->expect && !skipped;
    c->directive = dup_nonempty(skipped ? r->reason : c->todo ? it->expect->reason : NULL);
    if (!skipped)
        c->message = dup_nonempty(r->reason);
    c->rule = dup_nonempty(r->rule);
    c->at = dup_nonempty(r->at);
    c->spec = dup_nonempty(it->spec);
    if (it->expect && it->expect->verdict != r->verdict && vhc_verdict_failed(r->verdict))
        c->expected_verdict = strdup(vhc_verdict_name(it->expect->verdict));
    c->transcript = dup_nonempty(r->transcript);
    c->backend_stderr = dup_nonempty(r->backend_tail);
    c->case_stderr = dup_nonempty(r->case_tail);
    c->duration_ms = r->duration_ms;
    c->has_duration = true;
    o->run.planned++;
}

static int finish(FILE **f, const char *path, int (*write)(FILE *, const struct vhc_rrun *,
                                                            size_t), const struct vhc_rrun *run)
{
    if (!*f)
        return 0;
    int rc = write(*f, run, 1);
    if (fclose(*f) != 0)
        rc = -1;
    *f = NULL;
    if (rc < 0)
        fprintf(stderr, "vhost-conform: writing %s failed\n", path);
    return rc;
}

int vhc_report_close(struct vhc_report_out *o, const char *bail)
{
    if (!o)
        return 0;
    if (bail)
        o->run.bail = strdup(bail);
    int rc = finish(&o->junit, o->junit_path, vhc_junit_write, &o->run);
    rc |= finish(&o->html, o->html_path, vhc_html_write, &o->run);
    out_free(o);
    return rc;
}

/* ---- vhost-conform report ---- */

/* Two runs with one name (the same back end and mode) get their file's
 * name added, so columns and suites stay apart. */
static void unique_names(struct vhc_rrun *runs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            if (i == j || strcmp(runs[i].name, runs[j].name) != 0)
                continue;
            const char *base = strrchr(runs[i].source, '/');
            char *name = NULL;
            if (asprintf(&name, "%s (%s)", runs[i].name, base ? base + 1 : runs[i].source) >= 0)
                set_str(&runs[i].name, name);
            break;
        }
}

static int read_run(const char *path, struct vhc_rrun *run)
{
    vhc_rrun_init(run);
    FILE *f = fopen(path, "re");
    if (!f) {
        fprintf(stderr, "vhost-conform: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char err[256];
    int rc = vhc_tap_read(f, run, err, sizeof err);
    fclose(f);
    if (rc < 0) {
        fprintf(stderr, "vhost-conform: %s: %s\n", path, err);
        return -1;
    }
    run->source = strdup(path);
    if (run->backend || run->mode) {
        run->name = vhc_rrun_name(run->backend, run->mode);
    } else {   /* TAP from before the header comments: the file's name */
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        size_t n = strlen(base);
        run->name = dupn(base, n > 4 && strcmp(base + n - 4, ".tap") == 0 ? n - 4 : n);
    }
    return run->name && run->source ? 0 : -1;
}

static int write_file(const char *path, int (*write)(FILE *, const struct vhc_rrun *, size_t),
                      const struct vhc_rrun *runs, size_t n)
{
    FILE *f = open_out(path);
    if (!f)
        return -1;
    int rc = write(f, runs, n);
    if (fclose(f) != 0 || rc < 0) {
        fprintf(stderr, "vhost-conform: writing %s failed\n", path);
        return -1;
    }
    return 0;
}

struct report_outs {
    const char *junit, *html, *tap;
};

static int write_tap(const char *path, const struct vhc_rrun *runs, size_t n)
{
    if (n != 1) {
        fprintf(stderr, "vhost-conform: --tap writes one run; these files are %zu runs "
                        "(shards of one run share back end, mode and N)\n", n);
        return -1;
    }
    FILE *f = open_out(path);
    if (!f)
        return -1;
    int rc = vhc_rrun_write_tap(f, runs);
    if (fclose(f) != 0 || rc < 0) {
        fprintf(stderr, "vhost-conform: writing %s failed\n", path);
        return -1;
    }
    return 0;
}

static int report_files(const struct report_outs *out, char **files, size_t n)
{
    struct vhc_rrun *runs = calloc(n, sizeof *runs);
    int rc = runs ? 0 : 2;
    size_t got = 0;
    for (; rc == 0 && got < n; got++)
        if (read_run(files[got], &runs[got]) < 0)
            rc = 2;
    if (rc == 0 && vhc_rruns_merge(runs, &got) < 0)
        rc = 2;
    if (rc == 0) {
        unique_names(runs, got);
        if ((out->junit && write_file(out->junit, vhc_junit_write, runs, got) < 0) ||
            (out->html && write_file(out->html, vhc_html_write, runs, got) < 0) ||
            (out->tap && write_tap(out->tap, runs, got) < 0))
            rc = 2;
    }
    for (size_t i = 0; i < got; i++)
        vhc_rrun_free(&runs[i]);
    free(runs);
    return rc;
}

int vhc_cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        { "junit", required_argument, NULL, 'j' }, { "html", required_argument, NULL, 'H' },
        { "tap", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct report_outs out = { 0 };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 'h') {
            return vhc_help("report") < 0 ? 2 : 0;
        }
        if (opt == '?') {
            return vhc_usage("report");
        }
        *(opt == 'j' ? &out.junit : opt == 'H' ? &out.html : &out.tap) = optarg;
    }
    if (optind == argc || (!out.junit && !out.html && !out.tap)) {
        fprintf(stderr, "vhost-conform: report needs TAP files and --junit, --html or --tap\n");
        return vhc_usage("report");
    }
    return report_files(&out, argv + optind, (size_t)(argc - optind));
}

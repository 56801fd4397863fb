/* Aligning two normalised logs and reporting their differences side by
 * side (mfe_tdiff.h). */
#include "mfe_tdiff.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum op { OP_SAME, OP_WANT, OP_GOT, OP_BOTH };   /* both: a line changed */

struct edit {
    enum op op;
    size_t a, b;        /* indexes into want / got (as the op uses them) */
};

/* Longest common subsequence over the normalised lines: the edit script
 * that keeps the most lines equal.  Logs are bounded (MFE_TDIFF_MAX_LINES),
 * so a full table is fine. */
static struct edit *align(const struct mfe_tdiff_log *w, const struct mfe_tdiff_log *g,
                          size_t *nedits)
{
    size_t n = w->n, m = g->n;
    uint16_t *t = calloc((n + 1) * (m + 1), sizeof *t);
    struct edit *e = malloc((n + m + 1) * sizeof *e);
    if (!t || !e) {
        free(t);
        free(e);
        return NULL;
    }
#define T(i, j) t[(i) * (m + 1) + (j)]
    for (size_t i = n; i-- > 0;)
        for (size_t j = m; j-- > 0;)
            T(i, j) = strcmp(w->v[i].norm, g->v[j].norm) == 0
                          ? (uint16_t)(T(i + 1, j + 1) + 1)
                          : (T(i + 1, j) >= T(i, j + 1) ? T(i + 1, j) : T(i, j + 1));
    size_t i = 0, j = 0, k = 0;
    while (i < n || j < m) {
        if (i < n && j < m && strcmp(w->v[i].norm, g->v[j].norm) == 0)
            e[k++] = (struct edit){ OP_SAME, i++, j++ };
        else if (j >= m || (i < n && T(i + 1, j) >= T(i, j + 1)))
            e[k++] = (struct edit){ OP_WANT, i++, j };
        else
            e[k++] = (struct edit){ OP_GOT, i, j++ };
    }
#undef T
    free(t);
    *nedits = k;
    return e;
}

/* In each run of differing lines, pair the lines only in the expected log
 * with those only in the actual one, in order: those are changed lines,
 * shown on one row; what is left over stays one-sided. */
static size_t pair_changes(struct edit *e, size_t n)
{
    size_t out = 0, *wa = malloc((n + 1) * sizeof *wa), *gb = malloc((n + 1) * sizeof *gb);
    if (!wa || !gb) {
        free(wa);
        free(gb);
        return n;   /* unpaired: still every difference */
    }
    for (size_t i = 0; i < n;) {
        if (e[i].op == OP_SAME) {
            e[out++] = e[i++];
            continue;
        }
        size_t end = i;
        while (end < n && e[end].op != OP_SAME)
            end++;
        size_t wn = 0, gn = 0;
        for (size_t k = i; k < end; k++) {
            if (e[k].op == OP_WANT)
                wa[wn++] = e[k].a;
            else
                gb[gn++] = e[k].b;
        }
        size_t both = wn < gn ? wn : gn;
        for (size_t q = 0; q < both; q++)
            e[out++] = (struct edit){ OP_BOTH, wa[q], gb[q] };
        for (size_t q = both; q < wn; q++)
            e[out++] = (struct edit){ OP_WANT, wa[q], 0 };
        for (size_t q = both; q < gn; q++)
            e[out++] = (struct edit){ OP_GOT, 0, gb[q] };
        i = end;
    }
    free(wa);
    free(gb);
    return out;
}

/* ---- printing ---- */

/* The line as shown: the request's number "(18)" and the flag names
 * "[v1,REPLY]" dropped, which the hex already says, so more payload fits. */
static void compact(const char *s, char *buf, size_t cap)
{
    size_t n = 0;
    bool in_name = true;
    while (*s && n + 1 < cap) {
        if (in_name && *s == '(' && s[1] >= '0' && s[1] <= '9' && strchr(s, ')')) {
            s = strchr(s, ')') + 1;
            in_name = false;
            continue;
        }
        if (strncmp(s, "flags=0x", 8) == 0) {
            while (*s && *s != '[' && *s != ' ' && n + 1 < cap)
                buf[n++] = *s++;
            if (*s == '[' && strchr(s, ']'))
                s = strchr(s, ']') + 1;
            continue;
        }
        buf[n++] = *s++;
    }
    buf[n] = '\0';
}

static void cell(FILE *out, const struct mfe_tdiff_line *l, unsigned w)
{
    char text[4096], buf[4200];
    compact(l ? l->norm : "", text, sizeof text);
    int n = l && l->seq ? snprintf(buf, sizeof buf, "%04u %s", l->seq, text)
                        : snprintf(buf, sizeof buf, "%s", text);
    if (n < 0)
        n = 0;
    if ((unsigned)n > w) {
        buf[w > 1 ? w - 1 : 0] = '\0';
        fprintf(out, "%s~", buf);
    } else {
        fprintf(out, "%-*s", (int)w, buf);
    }
}

static void row(FILE *out, char mark, const struct mfe_tdiff_line *a,
                const struct mfe_tdiff_line *b, unsigned w)
{
    fputc(mark, out);
    fputc(' ', out);
    cell(out, a, w);
    fprintf(out, " %c ", mark == ' ' ? '|' : mark);
    cell(out, b, w);
    fputc('\n', out);
}

/* Where two changed lines first differ, with some text around it, so a
 * difference past the column width is still seen. */
static void detail(FILE *out, const char *a, const char *b)
{
    size_t i = 0;
    while (a[i] && a[i] == b[i])
        i++;
    size_t from = i > 24 ? i - 24 : 0;
    fprintf(out, "      expected: %s%.64s\n      actual:   %s%.64s\n", from ? "..." : "",
            a + from, from ? "..." : "", b + from);
}

static void print_edit(FILE *out, const struct edit *e, const struct mfe_tdiff_log *w,
                       const struct mfe_tdiff_log *g, unsigned cw)
{
    switch (e->op) {
    case OP_SAME: row(out, ' ', &w->v[e->a], &g->v[e->b], cw); break;
    case OP_WANT: row(out, '<', &w->v[e->a], NULL, cw); break;
    case OP_GOT: row(out, '>', NULL, &g->v[e->b], cw); break;
    case OP_BOTH:
        row(out, '|', &w->v[e->a], &g->v[e->b], cw);
        detail(out, w->v[e->a].norm, g->v[e->b].norm);
        break;
    }
}

/* "@@ expected line X, actual line Y @@" for the first difference from i
 * on; a side that lacks the line says '-'. */
static void hunk_header(FILE *out, const struct edit *e, size_t i, size_t n,
                        const struct mfe_tdiff_log *w, const struct mfe_tdiff_log *g)
{
    while (i < n && e[i].op == OP_SAME)
        i++;
    if (i == n)
        return;
    char a[16] = "-", b[16] = "-";
    if (e[i].op != OP_GOT)
        snprintf(a, sizeof a, "%u", w->v[e[i].a].lineno);
    if (e[i].op != OP_WANT)
        snprintf(b, sizeof b, "%u", g->v[e[i].b].lineno);
    fprintf(out, "@@ expected line %s, actual line %s @@\n", a, b);
}

/* Every difference with o->context equal lines around it; adjacent ones
 * share a hunk. */
static void print_hunks(FILE *out, const struct edit *e, size_t n,
                        const struct mfe_tdiff_log *w, const struct mfe_tdiff_log *g,
                        const struct mfe_tdiff_opts *o, unsigned cw)
{
    bool *show = calloc(n ? n : 1, sizeof *show);
    if (!show)
        return;
    for (size_t i = 0; i < n; i++) {
        if (e[i].op == OP_SAME)
            continue;
        size_t from = i > o->context ? i - o->context : 0;
        for (size_t k = from; k < n && k <= i + o->context; k++)
            show[k] = true;
    }
    for (size_t i = 0; i < n; i++) {
        if (!show[i])
            continue;
        if (i == 0 || !show[i - 1])
            hunk_header(out, e, i, n, w, g);
        print_edit(out, &e[i], w, g, cw);
    }
    free(show);
}

unsigned mfe_tdiff_compare(const struct mfe_tdiff_log *want, const struct mfe_tdiff_log *got,
                           const struct mfe_tdiff_opts *o, FILE *out)
{
    static const struct mfe_tdiff_opts defaults = { "expected", "actual", 160, 2 };
    o = o ? o : &defaults;
    size_t n;
    struct edit *e = align(want, got, &n);
    if (!e) {
        if (out)
            fprintf(out, "trace-diff: out of memory\n");
        return (unsigned)(want->n + got->n);
    }
    n = pair_changes(e, n);
    unsigned diffs = 0;
    for (size_t i = 0; i < n; i++)
        diffs += e[i].op != OP_SAME;
    if (out && diffs) {
        unsigned width = o->width ? o->width : 160;
        unsigned cw = width > 20 ? (width - 5) / 2 : 8;
        fputs("  ", out);
        cell(out, &(struct mfe_tdiff_line){ 0, 0, (char *)(o->want_name ? o->want_name : "expected") }, cw);
        fputs(" | ", out);
        cell(out, &(struct mfe_tdiff_line){ 0, 0, (char *)(o->got_name ? o->got_name : "actual") }, cw);
        fputc('\n', out);
        print_hunks(out, e, n, want, got, o, cw);
    }
    free(e);
    return diffs;
}

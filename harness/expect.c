/* Expectations: the failures a back end is known to have, so a CI run can
 * gate on new failures only.  One line per case:
 *   CASE-ID[@server|@client] VERDICT[:RULE] reason text...
 * VERDICT is fail, timeout or crash (never broken: a case whose setup broke
 * is not a known failure); '#' starts a comment line.  fail:RULE
 * (the rule id a failing case reports) covers only a failure of that rule:
 * for a failure that depends on timing, so the case's other checks still
 * count and its passes are plain passes.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Split "ID[@mode]" into e->id and e->mode; NULL or what is wrong. */
static const char *parse_target(char *word, struct vhc_expect *e)
{
    char *at = strchr(word, '@');
    e->mode = -1;
    if (at) {
        *at++ = '\0';
        if (strcmp(at, "server") == 0)
            e->mode = VHC_MODE_SERVER;
        else if (strcmp(at, "client") == 0)
            e->mode = VHC_MODE_CLIENT;
        else
            return "mode after '@' must be server or client";
    }
    if (word[0] == '\0' || strlen(word) >= sizeof e->id)
        return "bad case id";
    strcpy(e->id, word);
    return NULL;
}

static const char *parse_line(char *s, struct vhc_expect *e)
{
    char *id = strsep(&s, " \t");
    const char *why = parse_target(id, e);
    if (why)
        return why;
    while (s && isspace((unsigned char)*s))
        s++;
    char *word = s ? strsep(&s, " \t") : NULL;
    if (!word || !*word)
        return "missing verdict (fail, timeout or crash)";
    char *rule = strchr(word, ':');
    if (rule)
        *rule++ = '\0';
    int v = vhc_verdict_parse(word);
    if (v == VHC_BROKEN)   /* a setup that broke says nothing about the back end */
        return "broken cannot be expected: it is a setup error of the run, not a known "
               "failure of the back end";
    if (v < 0 || !vhc_verdict_failed(v))
        return "verdict must be fail, timeout or crash";
    if (rule && (v != VHC_FAIL || !*rule || strlen(rule) >= sizeof e->rule))
        return v != VHC_FAIL ? "only fail takes a rule (fail:RULE)" : "bad rule after 'fail:'";
    snprintf(e->rule, sizeof e->rule, "%s", rule ? rule : "");
    e->verdict = v;
    snprintf(e->reason, sizeof e->reason, "%s", s && *trim(s) ? trim(s) : "known failure");
    return NULL;
}

static bool is_duplicate(const struct vhc_expectations *out, const struct vhc_expect *e)
{
    for (size_t i = 0; i < out->n; i++)
        if (strcmp(out->v[i].id, e->id) == 0 && out->v[i].mode == e->mode)
            return true;
    return false;
}

static int add(struct vhc_expectations *out, const struct vhc_expect *e)
{
    struct vhc_expect *v = realloc(out->v, (out->n + 1) * sizeof *v);
    if (!v)
        return -1;
    out->v = v;
    out->v[out->n++] = *e;
    return 0;
}

int vhc_expect_parse(FILE *in, const char *name, struct vhc_expectations *out,
                     char *err, size_t errlen)
{
    char buf[1024];
    unsigned lineno = 0;
    while (fgets(buf, sizeof buf, in)) {
        lineno++;
        char *s = trim(buf);
        if (*s == '\0' || *s == '#')
            continue;
        struct vhc_expect e = { .line = lineno };
        const char *why = parse_line(s, &e);
        if (!why && is_duplicate(out, &e))
            why = "case listed twice";
        if (!why && add(out, &e) < 0)
            why = "out of memory";
        if (why) {
            snprintf(err, errlen, "%s:%u: %s", name, lineno, why);
            return -1;
        }
    }
    if (ferror(in)) {
        snprintf(err, errlen, "%s: read error", name);
        return -1;
    }
    return 0;
}

const struct vhc_expect *vhc_expect_find(const struct vhc_expectations *e,
                                         const char *id, enum vhc_mode mode)
{
    const struct vhc_expect *any = NULL;
    for (size_t i = 0; i < e->n; i++) {
        if (strcmp(e->v[i].id, id) != 0)
            continue;
        if (e->v[i].mode == (int)mode)
            return &e->v[i];
        if (e->v[i].mode < 0)
            any = &e->v[i];
    }
    return any;
}

const struct vhc_expect *vhc_expect_match(const struct vhc_expectations *e, const char *id,
                                          enum vhc_mode mode, const struct vhc_result *r)
{
    const struct vhc_expect *x = vhc_expect_find(e, id, mode);
    if (x && x->rule[0] && (r->verdict != VHC_FAIL || strcmp(r->rule, x->rule) != 0))
        return NULL;
    return x;
}

void vhc_expect_free(struct vhc_expectations *e)
{
    free(e->v);
    e->v = NULL;
    e->n = 0;
}

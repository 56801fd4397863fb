/* QEMU profiles: parsing `key = value` text into struct mfe_profile, the
 * bundled set (embedded at build time), and the current selection. */
/* strverscmp: _GNU_SOURCE comes from the build */
#include "mfe_profile.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_TEXT, K_U64, K_UINT, K_BOOL };

struct key {
    const char *name;
    enum kind kind;
    size_t off, size;
};

#define F(field) offsetof(struct mfe_profile, field), sizeof(((struct mfe_profile *)0)->field)

/* Every key is required: a profile states everything it claims. */
static const struct key keys[] = {
    { "name", K_TEXT, F(name) },
    { "description", K_TEXT, F(description) },
    { "protocol_features", K_U64, F(protocol_features) },
    { "guest_features", K_U64, F(guest_features) },
    { "mem_slots", K_BOOL, F(mem_slots) },
    { "mem_mb", K_UINT, F(mem_mb) },
    { "init_sets_call_err", K_BOOL, F(init_sets_call_err) },
    { "reset_enable_round", K_BOOL, F(reset_enable_round) },
    { "enable_rounds_before_start", K_UINT, F(enable_rounds) },
    { "enable_rounds_before_rebind", K_UINT, F(enable_rounds_rebind) },
    { "system_reset_extra_rounds", K_UINT, F(system_reset_extra_rounds) },
    { "vring_enable_need_reply", K_BOOL, F(vring_enable_need_reply) },
    { "vring_fd_need_reply", K_BOOL, F(vring_fd_need_reply) },
    { "status_after_get_vring_base", K_BOOL, F(status_after_get_vring_base) },
};
#define NKEYS (sizeof keys / sizeof keys[0])

static const struct key *key_find(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int parse_number(const char *v, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 0);
    if (errno || end == v || *end || v[0] == '-' || n > max)
        return -1;
    *out = n;
    return 0;
}

/* Store value v for key k in p.  Returns a message, or NULL. */
static const char *store(const struct key *k, const char *v, struct mfe_profile *p)
{
    void *dst = (char *)p + k->off;
    uint64_t n;
    switch (k->kind) {
    case K_TEXT:
        if (!*v || strlen(v) >= k->size)
            return "empty or too long";
        strcpy(dst, v);
        return NULL;
    case K_U64:
        if (parse_number(v, UINT64_MAX, &n) < 0)
            return "not a number";
        *(uint64_t *)dst = n;
        return NULL;
    case K_UINT:
        if (parse_number(v, 1u << 20, &n) < 0)
            return "not a number in [0, 1048576]";
        *(unsigned *)dst = (unsigned)n;
        return NULL;
    case K_BOOL:
        if (strcmp(v, "yes") && strcmp(v, "no"))
            return "want yes or no";
        *(bool *)dst = v[0] == 'y';
        return NULL;
    }
    return "bad key kind";
}

/* One line: comment, blank, or key = value.  Returns a message, or NULL. */
static const char *parse_line(char *line, struct mfe_profile *p, uint32_t *seen)
{
    line[strcspn(line, "#")] = '\0';
    char *s = trim(line);
    if (!*s)
        return NULL;
    char *eq = strchr(s, '=');
    if (!eq)
        return "want 'key = value'";
    *eq = '\0';
    const struct key *k = key_find(trim(s));
    if (!k)
        return "unknown key";
    const char *bad = store(k, trim(eq + 1), p);
    uint32_t bit = 1u << (k - keys);
    if (bad || (*seen & bit))
        return bad ? bad : "key given twice";
    *seen |= bit;
    return NULL;
}

int mfe_profile_parse(const char *text, const char *origin, struct mfe_profile *p,
                      char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    uint32_t seen = 0;
    unsigned lineno = 0;
    for (const char *at = text; *at;) {
        size_t n = strcspn(at, "\n");
        char line[512];
        lineno++;
        const char *why = n >= sizeof line ? "line too long" : NULL;
        if (!why) {
            memcpy(line, at, n);
            line[n] = '\0';
            why = parse_line(line, p, &seen);
        }
        if (why) {
            snprintf(err, errlen, "%s:%u: %s", origin, lineno, why);
            return -1;
        }
        at += n + (at[n] == '\n');
    }
    for (size_t i = 0; i < NKEYS; i++)
        if (!(seen & (1u << i))) {
            snprintf(err, errlen, "%s: missing key '%s'", origin, keys[i].name);
            return -1;
        }
    return 0;
}

int mfe_profile_load_file(const char *path, struct mfe_profile *p, char *err, size_t errlen)
{
    FILE *in = fopen(path, "r");
    if (!in) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, in);
    bool big = !feof(in);
    fclose(in);
    if (big) {
        snprintf(err, errlen, "%s: larger than %zu bytes", path, sizeof buf - 1);
        return -1;
    }
    buf[n] = '\0';
    return mfe_profile_parse(buf, path, p, err, errlen);
}

/* ---- the bundled set ---- */

static struct mfe_profile bundled[MFE_PROFILE_MAX];
static unsigned nbundled;
static bool loaded;
static const struct mfe_profile *selected;

static int by_version(const void *a, const void *b)
{
    return strverscmp(((const struct mfe_profile *)a)->name,
                      ((const struct mfe_profile *)b)->name);
}

static void load_bundled(void)
{
    if (loaded)
        return;
    loaded = true;
    for (unsigned i = 0; i < mfe_profile_nsources && nbundled < MFE_PROFILE_MAX; i++) {
        char err[256];
        const struct mfe_profile_src *s = &mfe_profile_sources[i];
        if (mfe_profile_parse(s->text, s->name, &bundled[nbundled], err, sizeof err) < 0)
            fprintf(stderr, "mfe: bundled profile left out: %s\n", err);
        else
            nbundled++;
    }
    qsort(bundled, nbundled, sizeof bundled[0], by_version);
}

unsigned mfe_profile_count(void)
{
    load_bundled();
    return nbundled;
}

const struct mfe_profile *mfe_profile_at(unsigned i)
{
    load_bundled();
    return i < nbundled ? &bundled[i] : NULL;
}

const struct mfe_profile *mfe_profile_find(const char *name)
{
    load_bundled();
    for (unsigned i = 0; i < nbundled; i++)
        if (strcmp(bundled[i].name, name) == 0)
            return &bundled[i];
    return NULL;
}

/* The built-in fallback when even the bundled qemu-7.2 is missing: the
 * values the traces in fixtures/qemu-7.2 show. */
static const struct mfe_profile fallback = {
    .name = MFE_PROFILE_DEFAULT,
    .description = "QEMU 7.2 (built-in fallback)",
    .protocol_features = ((1ull << 17) - 1) & ~(1ull << 9),
    .guest_features = 0x000000017020e783ull,
    .mem_slots = true,
    .mem_mb = 256,
    .init_sets_call_err = true,
    .reset_enable_round = true,
    .enable_rounds = 2,
    .enable_rounds_rebind = 2,
    .system_reset_extra_rounds = 2,
};

const struct mfe_profile *mfe_profile_current(void)
{
    if (selected)
        return selected;
    const struct mfe_profile *p = mfe_profile_find(MFE_PROFILE_DEFAULT);
    return p ? p : &fallback;
}

void mfe_profile_select(const struct mfe_profile *p)
{
    selected = p;
}

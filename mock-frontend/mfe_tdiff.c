/* Trace logs compared after normalisation (mfe_tdiff.h): parsing, the
 * normal form, a longest-common-subsequence alignment and a side-by-side
 * report of every difference. */
#include "mfe_tdiff.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ADDRS 1024u
#define NORM_CAP  8192u

struct mfe_tdiff_addrs {
    uint64_t v[2][MAX_ADDRS];    /* [0] host addresses, [1] guest addresses (log) */
    unsigned n[2];
};

static int fail(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && len)
        vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- the normal form ---- */

struct out {
    char *buf;
    size_t cap, len;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->len + n + 1 > o->cap)
        n = o->cap > o->len + 1 ? o->cap - o->len - 1 : 0;
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static const struct {
    const char *key;
    unsigned cls;                /* index into mfe_tdiff_addrs.v */
} addr_keys[] = {
    { "uaddr=", 0 }, { "desc=", 0 }, { "used=", 0 }, { "avail=", 0 }, { "log=", 1 },
};

/* "@N" for an address, N by first appearance in its class */
static unsigned addr_number(struct mfe_tdiff_addrs *m, unsigned cls, uint64_t v)
{
    for (unsigned i = 0; i < m->n[cls]; i++)
        if (m->v[cls][i] == v)
            return i + 1;
    if (m->n[cls] < MAX_ADDRS)
        m->v[cls][m->n[cls]++] = v;
    return m->n[cls];
}

/* An address key at s (after '{', ',' or ' ')?  Returns its length. */
static size_t addr_key_at(const char *start, const char *s, unsigned *cls)
{
    if (s > start && !strchr("{, ", s[-1]))
        return 0;
    for (size_t i = 0; i < sizeof addr_keys / sizeof addr_keys[0]; i++) {
        size_t k = strlen(addr_keys[i].key);
        if (strncmp(s, addr_keys[i].key, k) == 0 && strncmp(s + k, "0x", 2) == 0) {
            *cls = addr_keys[i].cls;
            return k;
        }
    }
    return 0;
}

/* The request number in "NAME(num) ...", or 0 */
static unsigned request_of(const char *rest)
{
    const char *p = strchr(rest, '(');
    return p && isdigit((unsigned char)p[1]) ? (unsigned)strtoul(p + 1, NULL, 10) : 0;
}

#define REQ_SET_VRING_BASE 10u
#define REQ_GET_VRING_BASE 11u

int mfe_tdiff_normalise(const char *rest, struct mfe_tdiff_addrs *maps, char *buf, size_t cap)
{
    struct mfe_tdiff_addrs local = { .n = { 0, 0 } };
    struct mfe_tdiff_addrs *m = maps ? maps : &local;
    struct out o = { buf, cap, 0 };
    unsigned req = request_of(rest);
    bool base = req == REQ_SET_VRING_BASE || req == REQ_GET_VRING_BASE;
    buf[0] = '\0';
    for (const char *s = rest; *s;) {
        unsigned cls;
        size_t k = addr_key_at(rest, s, &cls);
        if (k) {
            char *end;
            uint64_t v = strtoull(s + k, &end, 16);
            char num[32];
            int n = snprintf(num, sizeof num, "@%u", addr_number(m, cls, v));
            put(&o, s, k);
            put(&o, num, (size_t)n);
            s = end;
        } else if (base && strncmp(s, ",num=", 5) == 0 && isdigit((unsigned char)s[5])) {
            char *end;
            unsigned long v = strtoul(s + 5, &end, 10);
            put(&o, v ? ",num=<n>" : ",num=0", v ? 8 : 6);
            s = end;
        } else if (strncmp(s, " (proxy:", 8) == 0 && strchr(s, ')')) {
            s = strchr(s, ')') + 1;            /* the recorder's note */
        } else {
            put(&o, s, 1);
            s++;
        }
    }
    while (o.len && o.buf[o.len - 1] == ' ')
        o.buf[--o.len] = '\0';
    return o.len + 1 >= cap ? -1 : 0;
}

/* ---- parsing ---- */

static int add_line(struct mfe_tdiff_log *log, unsigned lineno, unsigned seq, const char *norm)
{
    if (log->n >= MFE_TDIFF_MAX_LINES)
        return -1;
    if (log->n % 64 == 0) {
        struct mfe_tdiff_line *v = realloc(log->v, (log->n + 64) * sizeof *v);
        if (!v)
            return -1;
        log->v = v;
    }
    char *copy = strdup(norm);
    if (!copy)
        return -1;
    log->v[log->n++] = (struct mfe_tdiff_line){ lineno, seq, copy };
    return 0;
}

/* "F->B", "B->F", "BREQ F->B", "BREQ B->F": length, 0 if none */
static size_t direction(const char *s)
{
    size_t n = strncmp(s, "BREQ ", 5) == 0 ? 5 : 0;
    if ((strncmp(s + n, "F->B ", 5) == 0 || strncmp(s + n, "B->F ", 5) == 0))
        return n + 4;
    return 0;
}

struct parser {
    struct mfe_tdiff_log *log;
    struct mfe_tdiff_addrs maps;
    unsigned session, last_session;
    char norm[NORM_CAP], line[NORM_CAP + 64];   /* the line read */
    char out[NORM_CAP + 64];                    /* the line kept */
};

static void event(struct parser *p, const char *line)
{
    const char *s = strstr(line, " session ");
    unsigned n;
    if (strncmp(line, "# t=", 4) == 0 && s && sscanf(s, " session %u:", &n) == 1)
        p->session = n;
}

static int message(struct parser *p, unsigned lineno, const char *line, char *err, size_t errlen)
{
    char *end;
    unsigned long seq = strtoul(line, &end, 10);
    if (end == line || *end != ' ')
        return fail(err, errlen, "%u: neither an event ('#') nor a message", lineno);
    const char *s = end + 1;
    if (strncmp(s, "t=", 2) == 0)
        s += strcspn(s, " ") + (s[strcspn(s, " ")] == ' ');
    size_t d = direction(s);
    if (!d)
        return fail(err, errlen, "%u: message %lu has no direction", lineno, seq);
    const char *rest = s + d + 1;
    if (!strchr(rest, '(') || !strstr(rest, " flags=") || !strstr(rest, " size=") ||
        !strstr(rest, " nfds="))
        return fail(err, errlen, "%u: message %lu lacks request, flags, size or nfds", lineno,
                    seq);
    if (p->session != p->last_session && p->log->messages > 0) {
        snprintf(p->out, sizeof p->out, "-- session %u (a new connection) --", p->session);
        if (add_line(p->log, lineno, 0, p->out) < 0)
            return fail(err, errlen, "%u: out of memory or too many lines", lineno);
    }
    p->last_session = p->session;
    if (mfe_tdiff_normalise(rest, &p->maps, p->norm, sizeof p->norm) < 0)
        return fail(err, errlen, "%u: message %lu too long", lineno, seq);
    snprintf(p->out, sizeof p->out, "%.*s %s", (int)d, s, p->norm);
    if (add_line(p->log, lineno, (unsigned)seq, p->out) < 0)
        return fail(err, errlen, "%u: out of memory or too many lines", lineno);
    p->log->messages++;
    return 0;
}

int mfe_tdiff_parse(const char *text, struct mfe_tdiff_log *log, char *err, size_t errlen)
{
    memset(log, 0, sizeof *log);
    struct parser *p = calloc(1, sizeof *p);
    if (!p)
        return fail(err, errlen, "out of memory");
    p->log = log;
    p->session = p->last_session = 1;
    int rc = 0;
    unsigned lineno = 0;
    for (const char *at = text; *at && rc == 0;) {
        size_t n = strcspn(at, "\n");
        lineno++;
        if (n >= NORM_CAP) {
            rc = fail(err, errlen, "%u: line too long", lineno);
            break;
        }
        char *line = p->line;
        memcpy(line, at, n);
        line[n] = '\0';
        if (n && line[n - 1] == '\r')
            line[n - 1] = '\0';
        if (line[0] == '#')
            event(p, line);
        else if (line[strspn(line, " \t")] != '\0')
            rc = message(p, lineno, line, err, errlen);
        at += n + (at[n] == '\n');
    }
    free(p);
    if (rc < 0)
        mfe_tdiff_free(log);
    return rc;
}

int mfe_tdiff_load(const char *path, struct mfe_tdiff_log *log, char *err, size_t errlen)
{
    memset(log, 0, sizeof *log);
    FILE *in = fopen(path, "r");
    if (!in)
        return fail(err, errlen, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (len + 4096 > cap) {
            char *more = cap < (64u << 20) ? realloc(buf, cap *= 2) : NULL;
            if (!more) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = more;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, in);
        len += got;
        if (got == 0)
            break;
    }
    bool bad = ferror(in);
    fclose(in);
    if (!buf || bad) {
        free(buf);
        return fail(err, errlen, "%s: %s", path, bad ? "read error" : "too large");
    }
    buf[len] = '\0';
    char e[256];
    int rc = mfe_tdiff_parse(buf, log, e, sizeof e);
    free(buf);
    return rc < 0 ? fail(err, errlen, "%s:%s", path, e) : 0;
}

void mfe_tdiff_free(struct mfe_tdiff_log *log)
{
    for (size_t i = 0; i < log->n; i++)
        free(log->v[i].norm);
    free(log->v);
    memset(log, 0, sizeof *log);
}

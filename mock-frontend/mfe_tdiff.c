/* Trace logs compared after normalisation (mfe_tdiff.h): parsing, the
 * normal form, a longest-common-subsequence alignment and a side-by-side
 * report of every difference. */
#include "mfe_tdiff.h"
#include "mfe_trace.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ADDRS 1024u
#define NORM_CAP  8192u

/* The numbering of one log's addresses: region addresses in one class,
 * each ring's own addresses (desc, used, avail, log) per ring and field.
 * The parser also says what the message at hand is (rule flags). */
struct mfe_tdiff_addrs {
    uint64_t host[MAX_ADDRS];
    unsigned nhost;
    struct ring_addr { uint32_t key; uint64_t v; } ring[MAX_ADDRS];
    unsigned nring;
    bool reply;            /* the message is a reply (B->F) */
    bool any_base;         /* SET_VRING_BASE: any number becomes <n> */
};

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

/* field: 0 = a region's uaddr (one class for the log), 1.. = a ring's */
static const char *const addr_keys[] = { "uaddr=", "desc=", "used=", "avail=", "log=" };
#define NADDR_KEYS (sizeof addr_keys / sizeof addr_keys[0])

/* "@N" for an address: N by first appearance among the regions, or among
 * the addresses this ring's field has had (so "the same rings again" and
 * "new rings" differ, whatever the guest's allocator reused elsewhere) */
static unsigned addr_number(struct mfe_tdiff_addrs *m, unsigned field, unsigned ring, uint64_t v)
{
    if (field == 0) {
        for (unsigned i = 0; i < m->nhost; i++)
            if (m->host[i] == v)
                return i + 1;
        if (m->nhost < MAX_ADDRS)
            m->host[m->nhost++] = v;
        return m->nhost;
    }
    uint32_t key = ring * (uint32_t)NADDR_KEYS + field;
    unsigned seen = 0;
    for (unsigned i = 0; i < m->nring; i++) {
        if (m->ring[i].key != key)
            continue;
        seen++;
        if (m->ring[i].v == v)
            return seen;
    }
    if (m->nring < MAX_ADDRS)
        m->ring[m->nring++] = (struct ring_addr){ key, v };
    return seen + 1;
}

/* An address key at s (after '{', ',' or ' ')?  Returns its length. */
static size_t addr_key_at(const char *start, const char *s, unsigned *field)
{
    if (s > start && !strchr("{, ", s[-1]))
        return 0;
    for (unsigned i = 0; i < NADDR_KEYS; i++) {
        size_t k = strlen(addr_keys[i]);
        if (strncmp(s, addr_keys[i], k) == 0 && strncmp(s + k, "0x", 2) == 0) {
            *field = i;
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

#define REQ_SET_VRING_ADDR 9u
#define REQ_SET_VRING_BASE 10u
#define REQ_GET_VRING_BASE 11u

/* The ring a SET_VRING_ADDR / _NUM / _BASE message is about */
static unsigned ring_of(const char *rest)
{
    const char *p = strstr(rest, "{index=");
    return p ? (unsigned)strtoul(p + 7, NULL, 10) : 0;
}

/* What a base becomes: GET_VRING_BASE's reply always <n> (the back end's
 * count of what the guest moved), SET_VRING_BASE 0 or <n>, or <n> whatever
 * it is where the parser says so (a restore after a reconnect in a log
 * with several queue pairs). */
static const char *base_form(const struct mfe_tdiff_addrs *m, unsigned req, unsigned long v)
{
    if (req == REQ_GET_VRING_BASE)
        return m->reply ? ",num=<n>" : v ? ",num=<n>" : ",num=0";
    return v || m->any_base ? ",num=<n>" : ",num=0";
}

int mfe_tdiff_normalise(const char *rest, struct mfe_tdiff_addrs *maps, char *buf, size_t cap)
{
    static struct mfe_tdiff_addrs local;
    struct mfe_tdiff_addrs *m = maps;
    if (!m) {
        memset(&local, 0, sizeof local);
        m = &local;
    }
    struct out o = { buf, cap, 0 };
    unsigned req = request_of(rest);
    unsigned ring = req == REQ_SET_VRING_ADDR ? ring_of(rest) : 0;
    bool base = req == REQ_SET_VRING_BASE || req == REQ_GET_VRING_BASE;
    buf[0] = '\0';
    for (const char *s = rest; *s;) {
        unsigned field;
        size_t k = addr_key_at(rest, s, &field);
        if (k) {
            char *end;
            uint64_t v = strtoull(s + k, &end, 16);
            char num[32];
            int n = snprintf(num, sizeof num, "@%u", addr_number(m, field, ring, v));
            put(&o, s, k);
            put(&o, num, (size_t)n);
            s = end;
        } else if (base && strncmp(s, ",num=", 5) == 0 && isdigit((unsigned char)s[5])) {
            char *end;
            unsigned long v = strtoul(s + 5, &end, 10);
            const char *form = base_form(m, req, v);
            put(&o, form, strlen(form));
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
    unsigned session, last_session;   /* the file's session numbers */
    unsigned connections;             /* sessions with a message so far */
    bool several_pairs;               /* rings 2 and up are set up */
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
        return mfe_errf(err, errlen, "%u: neither an event ('#') nor a message", lineno);
    const char *s = end + 1;
    if (strncmp(s, "t=", 2) == 0)
        s += strcspn(s, " ") + (s[strcspn(s, " ")] == ' ');
    size_t d = direction(s);
    if (!d)
        return mfe_errf(err, errlen, "%u: message %lu has no direction", lineno, seq);
    const char *rest = s + d + 1;
    if (!strchr(rest, '(') || !strstr(rest, " flags=") || !strstr(rest, " size=") ||
        !strstr(rest, " nfds="))
        return mfe_errf(err, errlen, "%u: message %lu lacks request, flags, size or nfds", lineno,
                        seq);
    if (p->session != p->last_session || p->connections == 0)
        p->connections++;
    if (p->session != p->last_session && p->log->messages > 0) {
        /* numbered among the sessions with messages: the recorder's empty
         * ones (a front end that connected and went) are not counted */
        snprintf(p->out, sizeof p->out, "-- session %u (a new connection) --", p->connections);
        if (add_line(p->log, lineno, 0, p->out) < 0)
            return mfe_errf(err, errlen, "%u: out of memory or too many lines", lineno);
    }
    p->last_session = p->session;
    p->maps.reply = strncmp(s + d - 4, "B->F", 4) == 0;
    p->maps.any_base = p->several_pairs && p->connections > 1;
    if (mfe_tdiff_normalise(rest, &p->maps, p->norm, sizeof p->norm) < 0)
        return mfe_errf(err, errlen, "%u: message %lu too long", lineno, seq);
    snprintf(p->out, sizeof p->out, "%.*s %s", (int)d, s, p->norm);
    if (add_line(p->log, lineno, (unsigned)seq, p->out) < 0)
        return mfe_errf(err, errlen, "%u: out of memory or too many lines", lineno);
    p->log->messages++;
    return 0;
}

/* Does the log set up rings 2 and up (SET_VRING_NUM), i.e. a second queue
 * pair (or queue) that the guest may or may not use? */
static bool several_pairs(const char *text)
{
    for (const char *s = strstr(text, " SET_VRING_NUM("); s; s = strstr(s + 1, " SET_VRING_NUM(")) {
        const char *eol = strchr(s, '\n');
        const char *idx = strstr(s, "{index=");
        if (idx && (!eol || idx < eol) && strtoul(idx + 7, NULL, 10) >= 2)
            return true;
    }
    return false;
}

int mfe_tdiff_parse(const char *text, struct mfe_tdiff_log *log, char *err, size_t errlen)
{
    memset(log, 0, sizeof *log);
    struct parser *p = calloc(1, sizeof *p);
    if (!p)
        return mfe_errf(err, errlen, "out of memory");
    p->log = log;
    p->session = p->last_session = 1;
    p->several_pairs = several_pairs(text);
    int rc = 0;
    unsigned lineno = 0;
    for (const char *at = text; *at && rc == 0;) {
        size_t n = strcspn(at, "\n");
        lineno++;
        if (n >= NORM_CAP) {
            rc = mfe_errf(err, errlen, "%u: line too long", lineno);
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
        return mfe_errf(err, errlen, "%s: %s", path, strerror(errno));
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
        return mfe_errf(err, errlen, "%s: %s", path, bad ? "read error" : "too large");
    }
    buf[len] = '\0';
    char e[256];
    int rc = mfe_tdiff_parse(buf, log, e, sizeof e);
    free(buf);
    return rc < 0 ? mfe_errf(err, errlen, "%s:%s", path, e) : 0;
}

void mfe_tdiff_free(struct mfe_tdiff_log *log)
{
    for (size_t i = 0; i < log->n; i++)
        free(log->v[i].norm);
    free(log->v);
    memset(log, 0, sizeof *log);
}

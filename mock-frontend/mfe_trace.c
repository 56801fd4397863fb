/* Reading recorded traces: NAME.log (decoded lines, fd kinds, session
 * events) joined with NAME.raw (exact bytes) by sequence number. */
#include "mfe_trace.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES (64u * 1024u)

int mfe_errf(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && len)
        vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -1;
}

static const struct {
    const char *word;
    enum mfe_trace_dir dir;
} dirs[] = {
    { "F->B", MFE_TR_F2B }, { "B->F", MFE_TR_B2F },
};

const char *mfe_trace_dir_name(enum mfe_trace_dir d)
{
    static const char *const names[] = { "F->B", "B->F", "BREQ B->F", "BREQ F->B" };
    return (unsigned)d < 4 ? names[d] : "?";
}

/* "F->B" | "B->F" | "BREQ B->F" | "BREQ F->B"; advances *p past it. */
static int parse_dir(const char **p, enum mfe_trace_dir *d)
{
    const char *s = *p;
    bool breq = strncmp(s, "BREQ ", 5) == 0;
    if (breq)
        s += 5;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        size_t n = strlen(dirs[i].word);
        if (strncmp(s, dirs[i].word, n) == 0 && (s[n] == ' ' || s[n] == '\0')) {
            /* on the back-end channel the back end asks, the front end answers */
            *d = !breq ? dirs[i].dir
                       : dirs[i].dir == MFE_TR_B2F ? MFE_TR_BREQ_B2F : MFE_TR_BREQ_F2B;
            *p = s + n;
            return 0;
        }
    }
    return -1;
}

static struct mfe_trace_msg *find(struct mfe_trace *t, unsigned seq)
{
    /* lines come in order: the match is almost always the last one */
    for (size_t i = t->n; i-- > 0;)
        if (t->msgs[i].seq == seq)
            return &t->msgs[i];
    return NULL;
}

static struct mfe_trace_msg *add(struct mfe_trace *t, unsigned seq)
{
    struct mfe_trace_msg *m = find(t, seq);
    if (m)
        return m;
    struct mfe_trace_msg *v = realloc(t->msgs, (t->n + 1) * sizeof *v);
    if (!v)
        return NULL;
    t->msgs = v;
    m = &v[t->n++];
    memset(m, 0, sizeof *m);
    m->seq = seq;
    m->session = t->n > 1 ? v[t->n - 2].session : 1;
    return m;
}

/* ---- header and events ---- */

/* "# proxy: ... -d blk" (the fixtures' recorder) or "--device blk" (ours) */
static void header_device(struct mfe_trace *t, const char *line)
{
    static const char *const keys[] = { " -d ", " --device " };
    for (size_t k = 0; k < 2; k++) {
        const char *p = strstr(line, keys[k]);
        if (!p)
            continue;
        p += strlen(keys[k]);
        char word[16] = "";
        sscanf(p, "%15[a-z]", word);
        if (vhu_dev_by_name(word, &t->dev))
            t->dev_given = true;
    }
}

static void comment_line(struct mfe_trace *t, const char *line)
{
    if (strncmp(line, "# proxy:", 8) == 0)
        header_device(t, line);
    if (strncmp(line, "# t=", 4) != 0)
        return;
    const char *s = strstr(line, " session ");
    unsigned n;
    if (strstr(line, " host: kill"))
        t->kill_pending = true;
    if (!s || sscanf(s, " session %u:", &n) != 1)
        return;
    if (n != t->parse_session && t->kill_pending && n < 64)
        t->killed_before |= 1ull << n;
    if (n != t->parse_session)
        t->kill_pending = false;
    t->parse_session = n;
}

bool mfe_trace_killed_before(const struct mfe_trace *t, unsigned session)
{
    return session < 64 && ((t->killed_before >> session) & 1);
}

/* ---- .log message lines ---- */

/* Split "eventfd,memfd:x(size=0x1),socket" at commas outside parentheses. */
static int parse_kinds(struct mfe_trace_msg *m, const char *s, char *err, size_t errlen)
{
    unsigned n = 0, depth = 0;
    size_t len = 0;
    char cur[MFE_TRACE_KIND] = "";
    for (;; s++) {
        if (*s == '\0')
            return mfe_errf(err, errlen, "%04u: unterminated fds=[", m->seq);
        bool end = (*s == ']' && depth == 0) || (*s == ',' && depth == 0);
        if (!end) {
            depth += *s == '(';
            depth -= *s == ')' && depth > 0;
            if (len + 1 < sizeof cur)
                cur[len++] = *s;
            continue;
        }
        if (n == VHU_MAX_FDS)
            return mfe_errf(err, errlen, "%04u: more than %u fd kinds", m->seq, VHU_MAX_FDS);
        cur[len] = '\0';
        snprintf(m->kind[n++], MFE_TRACE_KIND, "%s", cur);
        len = 0;
        if (*s == ']')
            return 0;
    }
}

int mfe_trace_log_line(struct mfe_trace *t, const char *line, char *err, size_t errlen)
{
    if (line[0] == '#') {
        comment_line(t, line);
        return 0;
    }
    if (line[0] == '\0' || line[0] == '\n')
        return 0;
    char *end;
    unsigned long seq = strtoul(line, &end, 10);
    if (end == line || *end != ' ')
        return mfe_errf(err, errlen, "log line without a sequence number: %.60s", line);
    const char *p = end + 1;
    if (strncmp(p, "t=", 2) == 0)              /* transcripts have no time */
        p += strcspn(p, " ") + (p[strcspn(p, " ")] == ' ');
    enum mfe_trace_dir d;
    if (parse_dir(&p, &d) < 0)
        return mfe_errf(err, errlen, "%04lu: unknown direction: %.20s", seq, p);
    struct mfe_trace_msg *m = add(t, (unsigned)seq);
    if (!m)
        return mfe_errf(err, errlen, "out of memory");
    m->dir = d;
    if (t->parse_session)
        m->session = t->parse_session;
    const char *nf = strstr(p, " nfds=");
    if (nf)
        m->nfds = (unsigned)strtoul(nf + 6, NULL, 10);
    const char *k = nf ? strstr(nf, " fds=[") : NULL;
    return k ? parse_kinds(m, k + 6, err, errlen) : 0;
}

/* ---- .raw lines ---- */

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
}

static int parse_hex(struct mfe_trace_msg *m, const char *s, char *err, size_t errlen)
{
    size_t n = strcspn(s, " \r\n");
    if (n % 2 || n / 2 < VHU_HDR_SIZE)
        return mfe_errf(err, errlen, "%04u: raw bytes: %zu hex digits", m->seq, n);
    free(m->bytes);
    m->bytes = malloc(n / 2);
    if (!m->bytes)
        return mfe_errf(err, errlen, "out of memory");
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return mfe_errf(err, errlen, "%04u: bad hex digit", m->seq);
        m->bytes[i] = (uint8_t)(hi << 4 | lo);
    }
    m->len = n / 2;
    return 0;
}

int mfe_trace_raw_line(struct mfe_trace *t, const char *line, char *err, size_t errlen)
{
    if (line[0] == '#' || line[0] == '\0' || line[0] == '\n')
        return 0;
    char *end;
    unsigned long seq = strtoul(line, &end, 10);
    if (end == line || *end != ' ')
        return mfe_errf(err, errlen, "raw line without a sequence number: %.60s", line);
    const char *p = end + 1;
    enum mfe_trace_dir d;
    if (parse_dir(&p, &d) < 0)
        return mfe_errf(err, errlen, "%04lu: unknown direction in .raw", seq);
    unsigned nfds;
    int used = 0;
    if (sscanf(p, " nfds=%u %n", &nfds, &used) != 1 || used == 0)
        return mfe_errf(err, errlen, "%04lu: no nfds= in .raw", seq);
    if (nfds > VHU_MAX_FDS)
        return mfe_errf(err, errlen, "%04lu: nfds=%u", seq, nfds);
    struct mfe_trace_msg *m = find(t, (unsigned)seq);
    if (!m) {   /* a raw line the log did not describe: kinds unknown */
        m = add(t, (unsigned)seq);
        if (!m)
            return mfe_errf(err, errlen, "out of memory");
    }
    if (m->bytes)
        return mfe_errf(err, errlen, "%04lu: twice in .raw", seq);
    m->dir = d;
    m->nfds = nfds;
    return parse_hex(m, p + used, err, errlen);
}

/* ---- files ---- */

typedef int (*line_fn)(struct mfe_trace *, const char *, char *, size_t);

static int read_lines(struct mfe_trace *t, const char *path, line_fn fn, char *err,
                      size_t errlen)
{
    FILE *in = fopen(path, "r");
    if (!in)
        return mfe_errf(err, errlen, "%s: %s", path, strerror(errno));
    char *buf = malloc(LINE_MAX_BYTES);
    int rc = buf ? 0 : mfe_errf(err, errlen, "out of memory");
    unsigned lineno = 0;
    while (rc == 0 && fgets(buf, LINE_MAX_BYTES, in)) {
        lineno++;
        buf[strcspn(buf, "\r\n")] = '\0';
        char e[200] = "";
        if (fn(t, buf, e, sizeof e) < 0)
            rc = mfe_errf(err, errlen, "%s:%u: %s", path, lineno, e);
    }
    free(buf);
    fclose(in);
    return rc;
}

static int by_seq(const void *a, const void *b)
{
    const struct mfe_trace_msg *x = a, *y = b;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static int check_joined(const struct mfe_trace *t, char *err, size_t errlen)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct mfe_trace_msg *m = &t->msgs[i];
        if (!m->bytes)
            return mfe_errf(err, errlen, "%04u: in %s.log but not in .raw", m->seq, t->name);
    }
    return 0;
}

static void base_name(struct mfe_trace *t, const char *stem)
{
    const char *slash = strrchr(stem, '/');
    snprintf(t->name, sizeof t->name, "%s", slash ? slash + 1 : stem);
}

int mfe_trace_load(struct mfe_trace *t, const char *path, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->dev = VHU_DEV_NET;
    char stem[4096], log_path[4200], raw_path[4200];
    snprintf(stem, sizeof stem, "%s", path);
    size_t n = strlen(stem);
    if (n > 4 && (strcmp(stem + n - 4, ".log") == 0 || strcmp(stem + n - 4, ".raw") == 0))
        stem[n - 4] = '\0';
    base_name(t, stem);
    snprintf(log_path, sizeof log_path, "%s.log", stem);
    snprintf(raw_path, sizeof raw_path, "%s.raw", stem);
    int rc = read_lines(t, log_path, mfe_trace_log_line, err, errlen);
    if (rc == 0)
        rc = read_lines(t, raw_path, mfe_trace_raw_line, err, errlen);
    if (rc == 0) {
        qsort(t->msgs, t->n, sizeof *t->msgs, by_seq);
        rc = check_joined(t, err, errlen);
    }
    if (rc < 0)
        mfe_trace_free(t);
    return rc;
}

void mfe_trace_free(struct mfe_trace *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->msgs[i].bytes);
    free(t->msgs);
    t->msgs = NULL;
    t->n = 0;
}

bool mfe_trace_first_reply(const struct mfe_trace *t, uint32_t req, struct vhu_msg *out)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct mfe_trace_msg *m = &t->msgs[i];
        if (m->dir != MFE_TR_B2F)
            continue;
        memset(out, 0, sizeof *out);
        if (vhu_decode(m->bytes, m->len, out) == NULL && out->hdr.request == req)
            return true;
    }
    return false;
}

/* Device-specific feature bits: the spec reserves 24..40 for the transport. */
#define DEVICE_BITS (0xffffffull | (~0ull << 41))

bool mfe_trace_device_matches(const struct mfe_trace *t, uint64_t offered)
{
    if (t->dev == VHU_DEV_NET)
        return true;
    struct vhu_msg r;
    if (!mfe_trace_first_reply(t, VHU_REQ_GET_FEATURES, &r))
        return false;
    return (r.u.u64 & DEVICE_BITS) == (offered & DEVICE_BITS);
}

/* Shards: the TAP files of `run --shard K/N` are one run split in N.  They
 * are merged back into one run (one report column, one TAP stream), after
 * checking that no case and no shard came twice; a missing shard is a
 * warning, as the report is still worth having.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* "K/N" -> k and n; false when it is not that */
static bool shard_of(const struct vhc_rrun *r, unsigned *k, unsigned *n)
{
    char tail;
    return r->shard && sscanf(r->shard, "%u/%u%c", k, n, &tail) == 2 && *k >= 1 && *k <= *n;
}

/* Shards of one run: the same back end, mode, profile and shard count. */
static bool one_run(const struct vhc_rrun *a, const struct vhc_rrun *b)
{
    unsigned ka, na, kb, nb;
    return shard_of(a, &ka, &na) && shard_of(b, &kb, &nb) && na == nb &&
           same_str(a->backend, b->backend) && same_str(a->mode, b->mode) &&
           same_str(a->profile, b->profile);
}

static const struct vhc_rcase *find_case(const struct vhc_rrun *r, const char *id)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->c[i].id, id) == 0)
            return &r->c[i];
    return NULL;
}

/* "a.tap, b.tap" */
static void join_source(struct vhc_rrun *into, const char *more)
{
    char *s = NULL;
    if (asprintf(&s, "%s, %s", into->source, more) >= 0) {
        free(into->source);
        into->source = s;
    }
}

/* Move the cases of from into into; from is left empty. */
static int absorb(struct vhc_rrun *into, struct vhc_rrun *from)
{
    for (size_t i = 0; i < from->n; i++)
        if (find_case(into, from->c[i].id)) {
            fprintf(stderr, "vhost-conform: case %s is in two shards of one run (%s and %s)\n",
                    from->c[i].id, into->source, from->source);
            return -1;
        }
    size_t need = into->n + from->n;
    if (need > into->cap) {
        struct vhc_rcase *c = realloc(into->c, need * sizeof *c);
        if (!c)
            return -1;
        into->c = c;
        into->cap = need;
    }
    memcpy(into->c + into->n, from->c, from->n * sizeof *from->c);
    into->n = need;
    from->n = 0;   /* the strings belong to into now */
    into->planned += from->planned;
    if (!into->bail && from->bail) {
        into->bail = from->bail;
        from->bail = NULL;
    }
    join_source(into, from->source);
    return 0;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct vhc_rcase *)a)->id, ((const struct vhc_rcase *)b)->id);
}

/* Shard k of n seen once: a second is an error, the missing ones warnings. */
static int check_shards(const struct vhc_rrun *runs, const size_t *members, size_t m)
{
    unsigned k, n;
    shard_of(&runs[members[0]], &k, &n);
    unsigned char *seen = calloc(n + 1, 1);
    if (!seen)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < m && rc == 0; i++) {
        shard_of(&runs[members[i]], &k, &n);
        if (seen[k]++) {
            fprintf(stderr, "vhost-conform: shard %u/%u of %s given twice (%s)\n", k, n,
                    runs[members[i]].name, runs[members[i]].source);
            rc = -1;
        }
    }
    for (unsigned i = 1; i <= n && rc == 0; i++)
        if (!seen[i])
            fprintf(stderr, "vhost-conform: warning: %s: shard %u/%u is missing; "
                            "the report covers part of the run\n", runs[members[0]].name, i, n);
    free(seen);
    return rc;
}

/* The merged run's shard: none when every shard is in, else "1+3/4".
 * members still indexes the runs as they were before the merge. */
static int merged_shard(struct vhc_rrun *into, const struct vhc_rrun *runs,
                        const size_t *members, size_t m)
{
    unsigned k, n;
    shard_of(into, &k, &n);
    char *s = NULL;
    if (m < n) {
        size_t len = 0;
        char buf[16 * 64] = "";
        for (size_t i = 0; i < m && len < sizeof buf - 16; i++) {
            unsigned ki = k, ni = n;
            if (i > 0)
                shard_of(&runs[members[i]], &ki, &ni);
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%u", i ? "+" : "", ki);
        }
        if (asprintf(&s, "%s/%u", buf, n) < 0)
            return -1;
    }
    free(into->shard);
    into->shard = s;
    return 0;
}

/* Merge the shards of runs[first] into it, dropping them from runs. */
static int merge_group(struct vhc_rrun *runs, size_t *n, size_t first)
{
    size_t *members = malloc(*n * sizeof *members), m = 0;
    if (!members)
        return -1;
    for (size_t j = first; j < *n; j++)
        if (j == first || one_run(&runs[first], &runs[j]))
            members[m++] = j;
    int rc = check_shards(runs, members, m);
    for (size_t i = 1; i < m && rc == 0; i++)
        rc = absorb(&runs[first], &runs[members[i]]);
    if (rc == 0)
        rc = merged_shard(&runs[first], runs, members, m);
    /* drop the absorbed runs, highest index first so the others stay put */
    for (size_t i = m; rc == 0 && i-- > 1;) {
        vhc_rrun_free(&runs[members[i]]);
        memmove(&runs[members[i]], &runs[members[i] + 1],
                (*n - members[i] - 1) * sizeof *runs);
        (*n)--;
    }
    free(members);
    if (rc == 0)
        qsort(runs[first].c, runs[first].n, sizeof *runs[first].c, by_id);
    return rc;
}

int vhc_rruns_merge(struct vhc_rrun *runs, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        if (runs[i].shard && merge_group(runs, n, i) < 0)
            return -1;
    return 0;
}

/* ---- one run back to TAP ---- */

static int mode_of(const struct vhc_rrun *run)
{
    return run->mode && strcmp(run->mode, "client") == 0 ? VHC_MODE_CLIENT : VHC_MODE_SERVER;
}

static void copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

/* A read-back case as the runner's result and expectation, so the TAP
 * writer the runner uses writes it the same way. */
static void to_item(const struct vhc_rcase *c, struct vhc_result *r, struct vhc_expect *e)
{
    bool skipped = c->verdict == VHC_SKIP || c->verdict == VHC_NOTRUN;
    memset(r, 0, sizeof *r);
    r->verdict = c->verdict;
    copy(r->rule, sizeof r->rule, c->rule);
    copy(r->at, sizeof r->at, c->at);
    copy(r->reason, sizeof r->reason, skipped ? c->directive : c->message);
    r->transcript = c->transcript;
    r->backend_tail = c->backend_stderr;
    r->case_tail = c->case_stderr;
    r->duration_ms = c->duration_ms;
    memset(e, 0, sizeof *e);
    int want = c->expected_verdict ? vhc_verdict_parse(c->expected_verdict) : -1;
    e->verdict = want >= 0 ? (enum vhc_verdict)want : c->verdict;
    copy(e->reason, sizeof e->reason, c->directive);
}

int vhc_rrun_write_tap(FILE *f, const struct vhc_rrun *run)
{
    enum vhc_mode mode = (enum vhc_mode)mode_of(run);
    struct vhc_tally tally = { 0 };
    vhc_tap_begin(f, (unsigned)run->n);
    vhc_rrun_write_header(f, run);
    for (size_t i = 0; i < run->n; i++) {
        struct vhc_result r;
        struct vhc_expect e;
        to_item(&run->c[i], &r, &e);
        struct vhc_tap_item it = {
            .n = (unsigned)i + 1, .id = run->c[i].id, .mode = mode, .r = &r,
            .spec = run->c[i].spec, .expect = run->c[i].todo ? &e : NULL,
        };
        vhc_tap_item(f, &it);
        vhc_tally_add(&tally, &it);
    }
    if (run->bail)
        fprintf(f, "Bail out! %s\n", run->bail);
    else
        vhc_tap_end(f, &tally);
    return ferror(f) ? -1 : 0;
}

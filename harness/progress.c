/* The run's progress on stderr: see progress.h for when it shows what. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

#define DEFAULT_INTERVAL_S 30

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Are stdout and stderr the same terminal? */
static bool same_terminal(void)
{
    struct stat a, b;
    return isatty(STDOUT_FILENO) && fstat(STDOUT_FILENO, &a) == 0 &&
           fstat(STDERR_FILENO, &b) == 0 && a.st_rdev == b.st_rdev;
}

static double interval(void)
{
    const char *s = getenv("VHC_PROGRESS_INTERVAL");
    char *end;
    double v = s && *s ? strtod(s, &end) : DEFAULT_INTERVAL_S;
    return s && *s && (*end || v < 0) ? DEFAULT_INTERVAL_S : v;
}

void vhc_progress_begin(struct vhc_progress *p, size_t total)
{
    memset(p, 0, sizeof *p);
    p->total = total;
    p->t0 = p->last = now_s();
    p->interval_s = interval();
    if (isatty(STDERR_FILENO))
        p->mode = same_terminal() ? VHC_PROGRESS_NONE : VHC_PROGRESS_LINES;
    else
        p->mode = VHC_PROGRESS_PERIODIC;
}

/* "2m05s" */
static void elapsed(char *buf, size_t len, double s)
{
    unsigned t = (unsigned)s;
    if (t >= 60)
        snprintf(buf, len, "%um%02us", t / 60, t % 60);
    else
        snprintf(buf, len, "%.1fs", s);
}

static void counts(const struct vhc_tally *t)
{
    fprintf(stderr, "pass %u, fail %u, skip %u, todo %u, xpass %u, timeout %u, crash %u, "
                    "broken %u",
            t->pass, t->fail, t->skip, t->todo, t->xpass, t->timeout, t->crash, t->broken);
}

static void remember_xpass(struct vhc_progress *p, const struct vhc_tap_item *it)
{
    bool xpass = it->expect && it->r->verdict == VHC_PASS;
    char **more = xpass ? realloc(p->xpass, (p->nxpass + 1) * sizeof *more) : NULL;
    if (!more)
        return;
    p->xpass = more;
    if ((p->xpass[p->nxpass] = strdup(it->id)))
        p->nxpass++;
}

void vhc_progress_case(struct vhc_progress *p, const struct vhc_tap_item *it,
                       const struct vhc_tally *t)
{
    p->done++;
    remember_xpass(p, it);
    const char *v = vhc_verdict_name(it->r->verdict);
    bool listed = it->expect && vhc_verdict_failed(it->r->verdict);
    double now = now_s();
    char took[32];
    if (p->mode == VHC_PROGRESS_LINES) {
        fprintf(stderr, "[%u/%zu] %s ... %s%s (%.2f s)\n", it->n, p->total, it->id, v,
                listed ? " (expected)" : it->expect && it->r->verdict == VHC_PASS
                       ? " (listed as failing)" : "", it->r->duration_ms / 1000.0);
    } else if (p->mode == VHC_PROGRESS_PERIODIC && now - p->last >= p->interval_s &&
               p->done < p->total) {
        elapsed(took, sizeof took, now - p->t0);
        fprintf(stderr, "vhost-conform: %zu/%zu cases, %s: ", p->done, p->total, took);
        counts(t);
        fprintf(stderr, "; last %s %s\n", it->id, v);
        p->last = now;
    }
}

void vhc_progress_end(struct vhc_progress *p, const struct vhc_tally *t,
                      const char *expect_file, bool strict)
{
    char took[32];
    elapsed(took, sizeof took, now_s() - p->t0);
    if (p->mode != VHC_PROGRESS_NONE) {
        fprintf(stderr, "vhost-conform: done, %zu/%zu cases in %s: ", p->done, p->total, took);
        counts(t);
        fputc('\n', stderr);
    }
    if (p->nxpass) {
        fprintf(stderr, "vhost-conform: %s: %zu listed failure%s passed (xpass%s); "
                        "remove %s:", expect_file ? expect_file : "expectations", p->nxpass,
                p->nxpass == 1 ? "" : "s", strict ? ", --strict: the run fails" : "",
                p->nxpass == 1 ? "it" : "them");
        for (size_t i = 0; i < p->nxpass; i++)
            fprintf(stderr, " %s", p->xpass[i]);
        fputc('\n', stderr);
    }
    vhc_progress_free(p);
}

void vhc_progress_free(struct vhc_progress *p)
{
    for (size_t i = 0; i < p->nxpass; i++)
        free(p->xpass[i]);
    free(p->xpass);
    p->xpass = NULL;
    p->nxpass = 0;
}

/* What a run runs: the cases the filters select, the shard's share of them,
 * the plan's items (case x profile x repetition), and the expectations the
 * results are held against. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "runner_int.h"

const char *vhc_case_excluded(const struct vhc_case *c, const struct vhc_run_opts *o)
{
    enum vhc_mode m = o->mode;
    if ((c->flags & (VHC_F_NET | VHC_F_MQ)) && o->device != VHC_DEV_NET)
        return "a virtio-net case; the back end is not a net device (--device)";
    if ((c->flags & VHC_F_SERVER_ONLY) && m != VHC_MODE_SERVER)
        return "needs --mode server";
    if ((c->flags & VHC_F_CLIENT_ONLY) && m != VHC_MODE_CLIENT)
        return "needs --mode client";
    return NULL;
}

static bool selected(const struct vhc_run_opts *o, const char *id)
{
    for (unsigned i = 0; i < o->nfilter; i++)
        if (fnmatch(o->filter[i], id, 0) == 0)
            return true;
    return o->nfilter == 0;
}

/* --shard K/N: keep every N-th from the K-th; the list is sorted, so the
 * shards of one selection cover it exactly once */
int vhc_shard(struct run *run)
{
    unsigned k = run->o->shard_k, n = run->o->shard_n;
    size_t kept = 0;
    for (size_t i = 0; n && i < run->nsel; i++)
        if (i % n == k - 1)
            run->sel[kept++] = run->sel[i];
    run->nsel = n ? kept : run->nsel;
    if (run->nsel == 0)
        fprintf(stderr, "vhost-conform: shard %u/%u is empty\n", k, n);
    return run->nsel ? 0 : -1;
}

int vhc_select_cases(struct run *run)
{
    size_t n;
    const struct vhc_case *const *all = vhc_cases(&n);
    run->sel = calloc(n ? n : 1, sizeof *run->sel);
    if (!run->sel)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (selected(run->o, all[i]->id))
            run->sel[run->nsel++] = all[i];
    if (run->nsel == 0) {
        fprintf(stderr, "vhost-conform: no case matches the filter\n");
        return -1;
    }
    return vhc_shard(run);
}

int vhc_load_expectations(struct run *run)
{
    if (!run->o->expect_file)
        return 0;
    FILE *f = fopen(run->o->expect_file, "re");
    if (!f) {
        fprintf(stderr, "vhost-conform: %s: %s\n", run->o->expect_file, strerror(errno));
        return -1;
    }
    char err[512];
    int rc = vhc_expect_parse(f, run->o->expect_file, &run->expect, err, sizeof err);
    fclose(f);
    if (rc < 0) {
        fprintf(stderr, "vhost-conform: %s\n", err);
        return -1;
    }
    for (size_t i = 0; i < run->expect.n; i++)   /* a typo must not hide silently */
        if (!vhc_case_find(run->expect.v[i].id))
            fprintf(stderr, "vhost-conform: %s:%u: warning: no case %s\n",
                    run->o->expect_file, run->expect.v[i].line, run->expect.v[i].id);
    return 0;
}

void vhc_list_selected(const struct run *run)
{
    for (size_t i = 0; i < run->nsel; i++) {
        const char *excluded = vhc_case_excluded(run->sel[i], run->o);
        printf("%s%s%s\n", run->sel[i]->id, excluded ? "  # SKIP " : "",
               excluded ? excluded : "");
    }
}

static unsigned profile_count(const struct run *run)
{
    return run->o->nprofiles ? run->o->nprofiles : 1;
}

static unsigned repeat_count(const struct run *run)
{
    return run->o->repeat ? run->o->repeat : 1;
}

size_t vhc_plan_size(const struct run *run)
{
    return run->nsel * profile_count(run) * repeat_count(run);
}

/* Item i of the plan: case, then profile, then repetition, so the runs of
 * one case stay together.  The worker selects the profile before it forks,
 * so the child starts with it; the id says which profile and repetition
 * ("negotiation/x@qemu-8.2@rep2"). */
const struct vhc_case *vhc_nth_case(const struct run *run, size_t i, char *id, size_t cap)
{
    unsigned np = profile_count(run), nr = repeat_count(run);
    const struct vhc_case *c = run->sel[i / nr / np];
    const struct mfe_profile *p = run->o->nprofiles ? run->o->profiles[i / nr % np] : NULL;
    int n = snprintf(id, cap, "%s%s%s", c->id, np > 1 ? "@" : "", np > 1 ? p->name : "");
    if (nr > 1)
        snprintf(id + n, cap - (size_t)n, "@rep%zu", i % nr + 1);
    mfe_profile_select(p);
    return c;
}

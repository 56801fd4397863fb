/* Every case table, concatenated once and sorted by id. */
#include <stdlib.h>
#include <string.h>

#include "cases.h"

/* cases/replay.c */
extern const struct vhc_case vhc_cases_replay[];
extern const size_t vhc_cases_replay_n;

struct table {
    const struct vhc_case *v;
    const size_t *n;
};

static const struct table tables[] = {
    { vhc_cases_connect, &vhc_cases_connect_n },
    { vhc_cases_negotiation, &vhc_cases_negotiation_n },
    { vhc_cases_memory, &vhc_cases_memory_n },
    { vhc_cases_rings, &vhc_cases_rings_n },
    { vhc_cases_datapath, &vhc_cases_datapath_n },
    { vhc_cases_faults, &vhc_cases_faults_n },
    { vhc_cases_reconnect, &vhc_cases_reconnect_n },
    { vhc_cases_restart, &vhc_cases_restart_n },
    { vhc_cases_hardening, &vhc_cases_hardening_n },
    { vhc_cases_hardening_dp, &vhc_cases_hardening_dp_n },
    { vhc_cases_hardening_live, &vhc_cases_hardening_live_n },
    { vhc_cases_hardening_proc, &vhc_cases_hardening_proc_n },
    { vhc_cases_replay, &vhc_cases_replay_n },
};

static const struct vhc_case **all;
static size_t nall;

static int by_id(const void *a, const void *b)
{
    const struct vhc_case *const *x = a, *const *y = b;
    return strcmp((*x)->id, (*y)->id);
}

/* Built on first use; the process is single-threaded when it asks. */
static void build(void)
{
    size_t n = 0;
    for (size_t t = 0; t < ARRAY_LEN(tables); t++)
        n += *tables[t].n;
    all = calloc(n ? n : 1, sizeof *all);
    if (!all)
        abort();   /* a few hundred bytes at start-up: nothing sensible to do */
    for (size_t t = 0; t < ARRAY_LEN(tables); t++)
        for (size_t i = 0; i < *tables[t].n; i++)
            all[nall++] = &tables[t].v[i];
    qsort(all, nall, sizeof *all, by_id);
}

const struct vhc_case *const *vhc_cases(size_t *n)
{
    if (!all)
        build();
    *n = nall;
    return all;
}

const struct vhc_case *vhc_case_find(const char *id)
{
    size_t n;
    const struct vhc_case *const *v = vhc_cases(&n);
    const struct vhc_case key = { .id = id }, *kp = &key;
    const struct vhc_case *const *hit = bsearch(&kp, v, n, sizeof *v, by_id);
    return hit ? *hit : NULL;
}

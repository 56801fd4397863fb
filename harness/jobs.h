/* --jobs N: run the items of a plan in N worker processes at once and hand
 * the results back in plan order. */
#ifndef VHC_JOBS_H
#define VHC_JOBS_H

#include "harness.h"

struct vhc_jobs_ops {
    /* in a worker: run item i as job number `job` (0..N-1) into r; -1 when
     * interrupted (the worker then stops) */
    int (*work)(void *arg, size_t i, unsigned job, struct vhc_result *r);
    /* in the parent, in plan order: the result of item i (freed after);
     * false stops the run there (the items after it are not released) */
    bool (*done)(void *arg, size_t i, struct vhc_result *r);
    void *arg;
    double item_limit_s;       /* a worker silent this long on one item is killed */
};

/* Workers die with the parent (SIGTERM: they clean up their case) and are
 * subreapers of what their cases leave.  Returns 0, or -1 when interrupted
 * (*stop set by the caller's signal handler) or stopped by done; workers
 * are gone either way. */
int vhc_jobs_run(unsigned jobs, size_t total, const struct vhc_jobs_ops *ops,
                 volatile sig_atomic_t *stop);

#endif

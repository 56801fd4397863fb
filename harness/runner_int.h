/* The runner's own state, shared by its parts: runner.c (the executor and
 * the results) and joblist.c (what runs: selection, shards, the plan's
 * items, expectations).  Nothing outside the runner includes it. */
#ifndef VHC_RUNNER_INT_H
#define VHC_RUNNER_INT_H

#include <limits.h>
#include <sys/un.h>

#include "harness.h"
#include "mfe_fault.h"
#include "progress.h"
#include "report.h"

/* Everything one case owns, so an interrupt can undo it from one place. */
struct slot {
    char dir[PATH_MAX];
    char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char log[PATH_MAX + 16];    /* the back end's output */
    char case_log[PATH_MAX + 16];  /* the case child's stderr */
    bool own_sock;             /* we created the socket file */
    int listen_fd;
    struct vhc_backend be;
    pid_t child;
};

struct run {
    const struct vhc_run_opts *o;
    struct vhc_expectations expect;
    FILE *tap;                 /* --tap FILE, or NULL */
    struct vhc_report_out *report;  /* --junit / --html, or NULL */
    char *tmpl;                /* back-end command template; NULL with --socket */
    const struct vhc_case **sel;
    size_t nsel;
    struct vhc_tally tally;
    bool unexpected;
    struct vhc_ctx ctx;        /* large (the front end's transcript): not on the stack */
    struct slot s;
    struct vhc_control ctl;    /* the case child's kill / restart requests */
    struct mfe_fault fault;    /* --fault, copied into every case child */
    bool has_fault;
    struct vhc_case **matrix;  /* --fault-matrix: the generated points */
    size_t nmatrix;
    unsigned job;              /* in a worker: its number, {n} */
    bool came_up;              /* in a worker: a back end of ours has come up */
    bool header;               /* the TAP version line is out */
    char *bail;                /* why the run stops (Bail out!), or NULL */
    struct vhc_result clean;   /* --fault-matrix: the clean sequence (no strings) */
    struct vhc_rrun meta;      /* what produces this run: the reports' header */
    struct vhc_progress progress;
};

/* ---- joblist.c ---- */
/* Why c cannot run under these options (socket mode, device type), or NULL. */
const char *vhc_case_excluded(const struct vhc_case *c, const struct vhc_run_opts *o);
/* The cases the filters select, then the shard's share; -1 (said) when none. */
int vhc_select_cases(struct run *run);
/* --shard K/N of run->sel; -1 (said) when the shard is empty. */
int vhc_shard(struct run *run);
/* --expect FILE into run->expect; -1 (said) when it cannot be read. */
int vhc_load_expectations(struct run *run);
/* Items in the plan: cases x profiles x repetitions. */
size_t vhc_plan_size(const struct run *run);
/* Item i: its case, with its TAP id ("negotiation/x@qemu-8.2@rep2") in id;
 * selects the item's profile. */
const struct vhc_case *vhc_nth_case(const struct run *run, size_t i, char *id, size_t cap);
/* --list-only */
void vhc_list_selected(const struct run *run);

#endif

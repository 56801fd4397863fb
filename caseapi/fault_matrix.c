/* The fault matrix's body, its clean baseline and its generated points
 * (see fault_matrix.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_matrix.h"

static struct mfe_fault the_fault;   /* the child's; the hook's arg is the ctx */

/* QEMU's init+start+stop of one queue pair on new memory. */
static int sequence(struct vhc_ctx *ctx)
{
    int rc = mfe_qemu_init(&ctx->fe, 1);
    if (rc == 0)
        rc = mfe_qemu_start(&ctx->fe, NULL);
    uint16_t bases[MFE_MAX_VQ];
    if (rc == 0)
        rc = mfe_qemu_stop(&ctx->fe, bases);
    return rc;
}

static void sequence_ok(struct vhc_ctx *ctx, const char *rule, const char *after)
{
    int rc = sequence(ctx);
    VHC_ASSERT(ctx, rc == 0, rule, "expected QEMU's init+start+stop to succeed %s; got: %s",
               after, mfe_error(&ctx->fe));
}

static void clean_body(struct vhc_ctx *ctx)
{
    the_fault = (struct mfe_fault){ .kind = MFE_FAULT_NONE };
    ctx->fe.fault = &the_fault;
    vhc_open(ctx);
    sequence_ok(ctx, "faults.clean", "without a fault");
    mfe_note(&ctx->fe, "clean sequence: %u messages", the_fault.sent);
    vhc_tell_runner(ctx, "messages", (long)the_fault.sent);
}

const struct vhc_case vhc_fault_clean_case = {
    .id = "faults/clean",
    .summary = "QEMU's init+start+stop without a fault (the fault matrix's baseline)",
    .rule = VHC_FAULT_RULE,
    .steps = "Connect, QEMU init, start and stop of one queue pair; tell the runner how "
             "many messages that took.",
    .flags = VHC_F_NOCONNECT,
    .body = clean_body,
};

static void arm(struct vhc_ctx *ctx, const struct vhc_fault_point *pt)
{
    the_fault = (struct mfe_fault){
        .kind = pt->kind, .at = pt->at, .delay_ms = pt->delay_ms ? pt->delay_ms : 1000,
        .kill = vhc_backend_kill_hook, .kill_arg = ctx,
    };
    if (!pt->at)
        the_fault.at_req = vhu_req_by_name(VHU_CH_FRONT, pt->req);
    ctx->fe.fault = &the_fault;
}

/* After the fault: what a fresh connection must get. */
static void recover(struct vhc_ctx *ctx, const struct vhc_fault_point *pt)
{
    char spec[96], after[160];
    mfe_fault_format(&the_fault, spec, sizeof spec);
    ctx->fe.fault = NULL;
    if (pt->kind == MFE_FAULT_KILL)
        vhc_backend_restart(ctx);
    vhc_reopen(ctx);
    snprintf(after, sizeof after, "on a fresh connection after %s%s", spec,
             pt->kind == MFE_FAULT_KILL ? " and a restart" : "");
    sequence_ok(ctx, "faults.recovery", after);
}

void vhc_fault_point_body(struct vhc_ctx *ctx)
{
    const struct vhc_fault_point *pt = ctx->c->variant;
    if (pt->kind == MFE_FAULT_KILL && ctx->control_fd < 0)
        VHC_SKIP(ctx, "no runner to kill and restart the back end");
    arm(ctx, pt);
    vhc_open(ctx);
    int rc = sequence(ctx);
    if (!the_fault.fired)
        VHC_SKIP(ctx, "the sequence never sent %s with this back end",
                 pt->req ? pt->req : "that many messages");
    /* a delay breaks nothing: the sequence must go through */
    VHC_ASSERT(ctx, pt->kind != MFE_FAULT_DELAY || rc == 0, "faults.delay",
               "expected init+start+stop to succeed with message %u held for %u ms; got: %s",
               the_fault.sent, the_fault.delay_ms, mfe_error(&ctx->fe));
    mfe_note(&ctx->fe, "faulted sequence ended: %s", rc == 0 ? "ok" : mfe_error(&ctx->fe));
    recover(ctx, pt);
}

/* ---- generated points ---- */

struct matrix_case {
    struct vhc_case c;         /* first: the runner holds &c */
    struct vhc_fault_point pt;
    char id[48], summary[96];
};

struct vhc_case *vhc_fault_case_new(int kind, unsigned n)
{
    struct matrix_case *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    const char *name = mfe_fault_kind_name((enum mfe_fault_kind)kind);
    m->pt = (struct vhc_fault_point){ .kind = (enum mfe_fault_kind)kind, .at = n };
    snprintf(m->id, sizeof m->id, "faults/%s@%u", name, n);
    snprintf(m->summary, sizeof m->summary, "%s at message %u of init+start+stop", name, n);
    m->c = (struct vhc_case){
        .id = m->id, .summary = m->summary, .rule = VHC_FAULT_RULE,
        .steps = VHC_FAULT_STEPS, .flags = VHC_FAULT_FLAGS, .timeout_s = VHC_FAULT_TIMEOUT_S,
        .body = vhc_fault_point_body, .variant = &m->pt,
    };
    return &m->c;
}

void vhc_fault_case_free(struct vhc_case *c)
{
    free(c);   /* c is the first member of its matrix_case */
}

/* faults/: the front end breaks in the middle of QEMU's init+start+stop
 * (cut, truncated or corrupt message, a slow front end, the back end
 * killed), then a fresh connection must be served as if nothing happened.
 *
 * The registered rows name their fault point by request, so they mean the
 * same thing on every back end; `vhost-conform run --fault-matrix KIND`
 * instantiates the same body once per message number (vhc_fault_case_new).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "mfe_fault.h"

/* One row: where the fault hits and how. */
struct fault_point {
    enum mfe_fault_kind kind;
    unsigned at;               /* message number, or 0 */
    const char *req;           /* request name when at is 0 */
    unsigned delay_ms;
};

#define RULE_SURVIVE \
    "vhost-user spec, 'Communication' and QEMU's reconnect: a front end may vanish at any " \
    "point, mid-message included (QEMU crashed, the chardev was cut); the back end must " \
    "drop that session and serve the next connection from scratch (a malformed header is " \
    "refused, never obeyed)."

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
    .rule = RULE_SURVIVE,
    .steps = "Connect, QEMU init, start and stop of one queue pair; tell the runner how "
             "many messages that took.",
    .flags = VHC_F_NOCONNECT,
    .body = clean_body,
};

static void arm(struct vhc_ctx *ctx, const struct fault_point *pt)
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
static void recover(struct vhc_ctx *ctx, const struct fault_point *pt)
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

static void point_body(struct vhc_ctx *ctx)
{
    const struct fault_point *pt = ctx->c->variant;
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

/* ---- the registered rows ---- */

#define POINT(k, r) { .kind = MFE_FAULT_##k, .req = #r }
static const struct fault_point
    cut_features = POINT(CUT, SET_FEATURES), cut_kick = POINT(CUT, SET_VRING_KICK),
    cut_base = POINT(CUT, GET_VRING_BASE), trunc_mem = POINT(TRUNCATE, SET_MEM_TABLE),
    trunc_addmem = POINT(TRUNCATE, ADD_MEM_REG), trunc_addr = POINT(TRUNCATE, SET_VRING_ADDR),
    corrupt_pf = POINT(CORRUPT, SET_PROTOCOL_FEATURES),
    corrupt_addr = POINT(CORRUPT, SET_VRING_ADDR),
    delay_kick = { .kind = MFE_FAULT_DELAY, .req = "SET_VRING_KICK", .delay_ms = 500 },
    kill_kick = POINT(KILL, SET_VRING_KICK), kill_base = POINT(KILL, GET_VRING_BASE);

#define ROW(name, pt, what) { .id = "faults/" name, .summary = what, .rule = RULE_SURVIVE, \
    .steps = "Arm the fault, connect, QEMU init+start+stop (it breaks at the fault), then " \
             "(after a restart, for kill) a fresh connection must go through init+start+stop.", \
    .flags = VHC_F_NOCONNECT, .timeout_s = 20, .body = point_body, .variant = &pt }

const struct vhc_case vhc_cases_faults[] = {
    ROW("corrupt-set-protocol-features", corrupt_pf,
        "SET_PROTOCOL_FEATURES with a version-2, 2 GiB header, then close; next connection served"),
    ROW("corrupt-set-vring-addr", corrupt_addr,
        "SET_VRING_ADDR with a version-2, 2 GiB header, then close; next connection served"),
    ROW("cut-get-vring-base", cut_base, "connection cut after GET_VRING_BASE; next served"),
    ROW("cut-set-features", cut_features, "connection cut after SET_FEATURES; next served"),
    ROW("cut-set-vring-kick", cut_kick, "connection cut after SET_VRING_KICK; next served"),
    ROW("delay-set-vring-kick", delay_kick, "SET_VRING_KICK held 500 ms: the sequence goes through"),
    ROW("kill-get-vring-base", kill_base,
        "back end SIGKILLed after GET_VRING_BASE, restarted: served from scratch"),
    ROW("kill-set-vring-kick", kill_kick,
        "back end SIGKILLed after SET_VRING_KICK, restarted: served from scratch"),
    ROW("truncate-add-mem-reg", trunc_addmem, "half of ADD_MEM_REG (with its fd), then close"),
    ROW("truncate-set-mem-table", trunc_mem, "half of SET_MEM_TABLE (with its fds), then close"),
    ROW("truncate-set-vring-addr", trunc_addr, "half of SET_VRING_ADDR, then close"),
};
const size_t vhc_cases_faults_n = ARRAY_LEN(vhc_cases_faults);

/* ---- matrix points ---- */

struct matrix_case {
    struct vhc_case c;         /* first: the runner holds &c */
    struct fault_point pt;
    char id[48], summary[96];
};

struct vhc_case *vhc_fault_case_new(int kind, unsigned n)
{
    struct matrix_case *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    const char *name = mfe_fault_kind_name((enum mfe_fault_kind)kind);
    m->pt = (struct fault_point){ .kind = (enum mfe_fault_kind)kind, .at = n };
    snprintf(m->id, sizeof m->id, "faults/%s@%u", name, n);
    snprintf(m->summary, sizeof m->summary, "%s at message %u of init+start+stop", name, n);
    m->c = (struct vhc_case){
        .id = m->id, .summary = m->summary, .rule = RULE_SURVIVE,
        .steps = vhc_cases_faults[0].steps, .flags = VHC_F_NOCONNECT, .timeout_s = 20,
        .body = point_body, .variant = &m->pt,
    };
    return &m->c;
}

void vhc_fault_case_free(struct vhc_case *c)
{
    free(c);   /* c is the first member of its matrix_case */
}

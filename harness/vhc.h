/* The case API: what a conformance case is, and what its body may call.
 *
 * A case is one const struct.  The runner forks a child per case, in its own
 * process group; in the child it opens the connection (unless the case says
 * otherwise), runs QEMU's init, checks the case's required features (unmet =
 * SKIP with a reason, before the body), then runs the body.  The body ends by
 * returning (PASS) or through VHC_ASSERT / VHC_SKIP, which report over the
 * result pipe and _exit the child.  Results never travel over stdout.
 */
#ifndef VHC_H
#define VHC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "mfe.h"

enum vhc_verdict {
    VHC_PASS, VHC_FAIL, VHC_SKIP, VHC_TIMEOUT, VHC_CRASH, VHC_NOTRUN,
    VHC_VERDICT_COUNT
};
const char *vhc_verdict_name(enum vhc_verdict v);   /* "pass", "fail", ... */

/* Back-end socket modes, named after the back end's side of the socket. */
enum vhc_mode {
    VHC_MODE_SERVER, /* back end listens; the front end connects (QEMU client) */
    VHC_MODE_CLIENT, /* back end connects; the front end listens (QEMU server) */
};

/* case flags */
#define VHC_F_NOCONNECT   (1u << 0)  /* body opens the connection itself */
#define VHC_F_NOINIT      (1u << 1)  /* connected, but no QEMU init before the body */
#define VHC_F_SERVER_ONLY (1u << 2)  /* only meaningful with --mode server */
#define VHC_F_CLIENT_ONLY (1u << 3)  /* only meaningful with --mode client */
#define VHC_F_MQ          (1u << 4)  /* init with 2 queue pairs (needs MQ, >= 2 queues);
                                        queue pairs are virtio-net's: net only */
#define VHC_F_NET         (1u << 5)  /* virtio-net specific (frames, headers, RX/TX
                                        pairs): SKIP unless --device net */

/* The device type the back end implements (run --device; default net).
 * vhost-user carries no device type, so the user says it. */
enum vhc_device { VHC_DEV_NET, VHC_DEV_BLK, VHC_DEV_FS };

struct vhc_ctx;

/* a case's deadline when it names none: its waits are 5 s each */
#define VHC_DEFAULT_TIMEOUT_S 30u

struct vhc_case {
    const char *id;            /* "negotiation/reply-ack-set-owner" */
    const char *summary;       /* one line */
    const char *rule;          /* spec section and the rule, or QEMU behaviour */
    const char *steps;         /* what the body does, for `explain` */
    uint64_t features;         /* virtio features the back end must offer */
    uint64_t protocol_features;/* protocol features the back end must offer */
    unsigned timeout_s;        /* 0 = VHC_DEFAULT_TIMEOUT_S */
    unsigned flags;            /* VHC_F_* */
    void (*body)(struct vhc_ctx *ctx);
    const void *variant;       /* one row of a case family's variant table, read
                                  by the body as ctx->c->variant; NULL = none */
    const char *tags;          /* the shipped bugs the case guards against:
                                  "CVE-2018-1059: what it was; ..." (LTP-style),
                                  printed by `explain`; NULL = none */
};

/* What the body sees. */
struct vhc_ctx {
    const struct vhc_case *c;
    enum vhc_mode mode;
    const char *socket_path;
    struct mfe fe;             /* the front end, opened per flags */
    int result_fd;             /* pipe to the runner */
    pid_t backend_pgid;        /* > 0 when the runner started the back end */
    int control_fd;            /* requests to the runner (vhc_backend_kill ...);
                                  -1 when there is no runner */
};

/* ---- registry ---- */
/* All cases, sorted by id. */
const struct vhc_case *const *vhc_cases(size_t *n);
const struct vhc_case *vhc_case_find(const char *id);

/* ---- the result record ----
 * The child writes exactly one record to ctx->result_fd, then _exits(0):
 *   verdict pass|fail|skip\n
 *   rule RULE-ID\n                (fail only)
 *   at FILE:LINE\n                (fail only)
 *   reason ONE LINE\n             (fail and skip)
 *   transcript\n                  (then the transcript lines, to EOF)
 * A child that exits without a record, or dies by a signal, is a crash of
 * the front end; the runner judges timeouts and back-end crashes itself. */
void vhc_report(struct vhc_ctx *ctx, enum vhc_verdict v, const char *rule,
                const char *where, const char *reason) __attribute__((noreturn));
/* Run c in the calling (child) process: open per flags, init, check the
 * requirements, body, report PASS.  Never returns. */
void vhc_run_child(struct vhc_ctx *ctx) __attribute__((noreturn));

/* ---- in the body ---- */
/* Report and end the child. */
void vhc_fail(struct vhc_ctx *ctx, const char *file, int line, const char *rule,
              const char *fmt, ...) __attribute__((noreturn, format(printf, 5, 6)));
void vhc_skip(struct vhc_ctx *ctx, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));

/* cond must hold; rule is a stable id (spec rule or "reply.flags"), the
 * message says what was expected and what came */
#define VHC_ASSERT(ctx, cond, rule, ...) \
    do { if (!(cond)) vhc_fail((ctx), __FILE__, __LINE__, (rule), __VA_ARGS__); } while (0)
/* an mfe call must succeed */
#define VHC_OK(ctx, call) \
    do { int rc_ = (call); if (rc_ < 0) vhc_fail((ctx), __FILE__, __LINE__, \
        (ctx)->fe.err_rule ? (ctx)->fe.err_rule : "frontend.call", \
        "%s failed: %s", #call, mfe_error(&(ctx)->fe)); } while (0)
#define VHC_SKIP(ctx, ...) vhc_skip((ctx), __VA_ARGS__)

/* SKIP unless the back end offered these (checked against ctx->fe). */
void vhc_require_features(struct vhc_ctx *ctx, uint64_t features);
void vhc_require_protocol(struct vhc_ctx *ctx, uint64_t protocol_features);

/* Open ctx->fe the way the mode says (connect or accept), with retry. */
void vhc_open(struct vhc_ctx *ctx);
/* Close and open again (a new connection to the same back end). */
void vhc_reopen(struct vhc_ctx *ctx);

/* Outcomes of sending something the back end should refuse. */
enum vhc_reject {
    VHC_REJ_NACK,      /* REPLY_ACK reply with a non-zero value */
    VHC_REJ_CLOSED,    /* the back end closed the connection */
    VHC_REJ_IGNORED,   /* no ack owed, connection still up */
    VHC_REJ_ACCEPTED,  /* ack 0: the back end said it succeeded */
};
/* Send m (NEED_REPLY added when REPLY_ACK was negotiated) and classify the
 * outcome.  Does not close m's fds. */
enum vhc_reject vhc_send_invalid(struct vhc_ctx *ctx, const struct vhu_msg *m);
/* The standard check for invalid input: m is refused (nack or close; with
 * REPLY_ACK negotiated ack 0 fails), then the back end still serves a new
 * connection (GET_FEATURES on a fresh connection). */
void vhc_expect_rejected(struct vhc_ctx *ctx, const struct vhu_msg *m, const char *rule);
/* A new connection is served: reopen and GET_FEATURES answered correctly. */
void vhc_expect_alive(struct vhc_ctx *ctx, const char *rule);

/* ---- the back end's life, through the runner (cases/backend_ctl.c) ----
 * Each request waits for the runner's answer.  With --socket (a back end
 * the runner did not start) the runner answers "unsupported" and the case
 * SKIPs with that reason; other failures fail the case.  A back end the
 * case killed is not judged as a crash. */
/* SIGKILL the back end's process group and reap it. */
void vhc_backend_kill(struct vhc_ctx *ctx);
/* Start the back end's command again: server mode, it listens on the same
 * path (the stale socket file removed); client mode, it connects to the
 * front end's listener.  Returns when it is started, not yet serving. */
void vhc_backend_restart(struct vhc_ctx *ctx);
/* The same kill, for a fault hook (mfe_fault.kill): 0, or -1 without
 * ending the child. */
int vhc_backend_kill_hook(void *ctx);
/* Tell the runner a number ("messages 41": the length of a clean sequence,
 * which the fault matrix walks). */
void vhc_tell_runner(struct vhc_ctx *ctx, const char *key, long value);

/* ---- fault cases (cases/faults.c) ---- */
/* "faults/clean": a clean init+start+stop that tells the runner its
 * message count. */
extern const struct vhc_case vhc_fault_clean_case;
/* One fault-matrix point as a case: id "faults/KIND@N", the fault applied
 * at message n of init+start+stop, then a fresh connection (after a
 * restart, for kill) must be served through a clean init+start+stop.
 * kind is an enum mfe_fault_kind.  malloc'd; NULL when out of memory. */
struct vhc_case *vhc_fault_case_new(int kind, unsigned n);
void vhc_fault_case_free(struct vhc_case *c);

/* Case tables, one per file in cases/ (cases/connect.c defines
 *   const struct vhc_case vhc_cases_connect[];
 *   const size_t vhc_cases_connect_n;
 * and harness/registry.c lists every table). */

#endif

/* The case API: what a conformance case is, and what its body may call.
 *
 * A case is one const struct.  The runner forks a child per case, in its own
 * process group; in the child it opens the connection (unless the case says
 * otherwise), runs QEMU's init, checks the case's required features (unmet =
 * SKIP with a reason, before the body), then runs the body.  The body ends by
 * returning (PASS) or through VHC_ASSERT / VHC_SKIP, which report over the
 * result pipe and _exit the child.  Results never travel over stdout.
 *
 * This folder (caseapi/) is the whole API, header and implementation: it
 * builds on the mock front end and the protocol only.  Case files include
 * it; the runner includes it to prepare a case's context and start its
 * child.  The shared steps every area uses are at the end; the datapath's
 * numbered traffic (datapath_traffic.h), guarded guest memory (oob.h) and
 * the fault matrix (fault_matrix.h) have headers of their own here.
 */
#ifndef VHC_CASEAPI_H
#define VHC_CASEAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mfe.h"

#define BIT(n) (1ull << (n))
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define PF(name) BIT(VHU_PF_##name)

/* The verdicts of a run.  A case child reports pass, fail or skip; the
 * runner judges the others (and names them all: harness.h).  broken: the
 * case could not be set up (its back end did not start, its socket could
 * not be made), so it says nothing about the back end's conformance: a
 * failure of the run, never matched by an expectation (LTP's TBROK). */
enum vhc_verdict {
    VHC_PASS, VHC_FAIL, VHC_SKIP, VHC_TIMEOUT, VHC_CRASH, VHC_NOTRUN, VHC_BROKEN,
    VHC_VERDICT_COUNT
};

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
/* "NOCONNECT" ... for a VHC_F_* bit number, NULL for a bit that is none */
const char *vhc_case_flag_name(unsigned bit);

/* The device type the back end implements (run --device; default net).
 * vhost-user carries no device type, so the user says it. */
enum vhc_device { VHC_DEV_NET, VHC_DEV_BLK, VHC_DEV_FS };

struct vhc_ctx;

/* a case's deadline when it names none: its waits are 5 s each */
#define VHC_DEFAULT_TIMEOUT_S 30u

/* A wait inside a case, in ms, under --timeout-scale: ms times the scale
 * when it is above 1.  A scale below 1 shortens only the runner's deadline
 * for the case, never a wait: those are sized for a loaded machine (two
 * cores, both busy), and what a wait costs is paid only when the back end
 * is already failing.  The scale is the running case's (vhc_run_child). */
int vhc_ms(int ms);

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
    double timeout_scale;      /* --timeout-scale (0 = 1): the case's waits (vhc_ms) */
    /* the case's line that called the shared step now running (VHC_STEP);
     * step_file is NULL until the body calls one */
    const char *step_file;
    int step_line;
    bool in_step;              /* the failure being reported is inside a step */
};

/* Case tables: each case file in cases/ defines one, named after the file
 * (cases/connect.c: vhc_cases_connect[] and vhc_cases_connect_n), and has
 * one line in cases/areas.def, which the registry and the build read. */

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

/* Where a failure is reported: at the case's own line.  A failure inside a
 * shared step (below, and in datapath_traffic.h and oob.h) is reported at
 * the line of the case that called the step, then the step's own line:
 * "negotiation.c:123 (helpers.c:40)".  In a case file each step is a macro
 * around its function that notes the caller's line (VHC_STEP); inside
 * caseapi/ (built with VHC_CASEAPI_IMPL) the steps are plain functions, so
 * a step that calls another keeps the case's line, and a failure there says
 * it is in a step (a case's own assert never does). */
static inline void vhc_here(struct vhc_ctx *ctx, const char *file, int line)
{
    ctx->step_file = file;
    ctx->step_line = line;
}
static inline void vhc_failing_in_step(struct vhc_ctx *ctx)
{
    ctx->in_step = true;
}
#define VHC_STEP(ctx, call) (vhc_here((ctx), __FILE__, __LINE__), call)
#ifdef VHC_CASEAPI_IMPL
#define VHC_FAIL_HERE(ctx, ...) \
    (vhc_failing_in_step(ctx), vhc_fail((ctx), __FILE__, __LINE__, __VA_ARGS__))
#else
#define VHC_FAIL_HERE(ctx, ...) vhc_fail((ctx), __FILE__, __LINE__, __VA_ARGS__)
#endif

/* cond must hold; rule is a stable id (spec rule or "reply.flags"), the
 * message says what was expected and what came */
#define VHC_ASSERT(ctx, cond, rule, ...) \
    do { if (!(cond)) VHC_FAIL_HERE((ctx), (rule), __VA_ARGS__); } while (0)
/* an mfe call must succeed */
#define VHC_OK(ctx, call) \
    do { int rc_ = (call); if (rc_ < 0) VHC_FAIL_HERE((ctx), \
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

/* ---- the back end's life, through the runner (backend_ctl.c) ----
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

/* ---- shared steps (helpers.c) ----
 * Every step ends the child through vhc_fail / vhc_skip when it cannot be
 * done, so a body reads as the list of its steps. */

/* How long a back end gets to say something it should not (unsolicited
 * replies, a close after bad input) before we call the line silent. */
#define VC_SILENCE_MS 300

#define VC_NET_F_MQ 22   /* VIRTIO_NET_F_MQ */

/* requests */
/* Send a request that always answers; the reply must echo the request and
 * carry flags exactly version 1 + REPLY (0x5).  Returns the reply u64. */
uint64_t vc_get_u64(struct vhc_ctx *ctx, uint32_t req);
/* As above with NEED_REPLY set on the request. */
uint64_t vc_get_u64_need_reply(struct vhc_ctx *ctx, uint32_t req);
/* reply must be a well-formed answer to req: request echoed, flags 0x5 */
void vc_check_reply(struct vhc_ctx *ctx, const struct vhu_msg *reply, uint32_t req);
/* Nothing may arrive for VC_SILENCE_MS; `after` names what was sent. */
void vc_expect_silence(struct vhc_ctx *ctx, const char *rule, const char *after);
/* Send m and return its ack (REPLY_ACK + NEED_REPLY), 0 when none is owed;
 * the reply (if any) is checked for form. */
uint64_t vc_ack(struct vhc_ctx *ctx, const struct vhu_msg *m);
/* A request without payload (SET_OWNER ...), nothing expected back. */
void vc_send_plain(struct vhc_ctx *ctx, uint32_t req);
/* A valid request the back end must accept: with REPLY_ACK negotiated it is
 * sent with NEED_REPLY and the ack must be 0; without, the connection must
 * stay in sync (GET_FEATURES answered right after).  m's fds stay ours. */
void vc_accepts(struct vhc_ctx *ctx, struct vhu_msg *m, const char *rule);
void vc_accepts_u64(struct vhc_ctx *ctx, uint32_t req, uint64_t v, const char *rule);
void vc_accepts_state(struct vhc_ctx *ctx, uint32_t req, uint32_t index, uint32_t num,
                      const char *rule);

/* negotiation */
/* GET_FEATURES (and GET_PROTOCOL_FEATURES when bit 30 is offered) on the
 * current connection; fills ctx->fe.features / protocol_features. */
void vc_probe(struct vhc_ctx *ctx);
/* SET_PROTOCOL_FEATURES with pf (must be offered); records it in ctx->fe. */
void vc_set_protocol(struct vhc_ctx *ctx, uint64_t pf);
/* The features QEMU 7.2 would set: offered & its guest mask, split rings
 * only (RING_PACKED masked out), bit 30 when offered. */
uint64_t vc_qemu_features(const struct vhc_ctx *ctx);
/* SET_FEATURES(vc_qemu_features) as a valid request (vc_accepts). */
void vc_set_features(struct vhc_ctx *ctx);

/* GET_CONFIG or SET_CONFIG of [offset, offset + size) with flags (the data
 * left for the caller), sized 12 + size */
void vc_config_msg(struct vhu_msg *m, uint32_t req, uint32_t offset, uint32_t size,
                   uint32_t flags);

/* memory and rings */
/* ctx->fe.mem laid out as QEMU does (256 MiB, 2 regions), unless present */
void vc_mem_qemu(struct vhc_ctx *ctx);
/* replace ctx->fe.mem with new memory; rings will be laid out again */
void vc_mem_new(struct vhc_ctx *ctx, uint64_t size, enum mfe_layout layout, unsigned n);
/* SET_MEM_TABLE of ctx->fe.mem as a valid request */
void vc_set_mem_table(struct vhc_ctx *ctx);
/* Features, memory table, then for ring idx: NUM 256, BASE 0 (the steps
 * before SET_VRING_ADDR). */
void vc_ring_prepare(struct vhc_ctx *ctx, unsigned idx);
/* QEMU 7.2 start of every queue pair with the given bases (NULL = 0) on
 * memory already in ctx->fe.mem when reuse, else on new QEMU memory. */
void vc_start(struct vhc_ctx *ctx, const uint16_t *bases, bool reuse);
/* QEMU 7.2 stop; bases out (may be NULL). */
void vc_stop(struct vhc_ctx *ctx, uint16_t *bases);
/* The profile's host-side stop (QMP stop, set_link off: no enable round
 * after it), and the start after cont: the saved bases, the same rings, no
 * guest probing. */
void vc_stop_host(struct vhc_ctx *ctx, uint16_t *bases);
void vc_resume(struct vhc_ctx *ctx, const uint16_t *bases);
/* The guest's driver bound again after a guest-side stop: new rings, bases 0
 * (trace c1). */
void vc_rebind(struct vhc_ctx *ctx);
/* rings driven: 2 per queue pair (net), per --device otherwise */
unsigned vc_nvq(const struct vhc_ctx *ctx);
/* Each of n bases must equal want[i]. */
void vc_check_bases(struct vhc_ctx *ctx, const uint16_t *got, const uint16_t *want,
                    unsigned n, const char *rule);
/* a new eventfd (ends the child on failure); caller closes it */
int vc_eventfd(struct vhc_ctx *ctx);
/* A ring index past every ring the back end can have for u32 fields. */
#define VC_BAD_INDEX 1024u
/* For the 8-bit index of KICK/CALL/ERR: 2 * queue pairs, SKIP when > 255. */
unsigned vc_bad_index_u8(struct vhc_ctx *ctx);

/* ---- in a case file, each step notes the case's line (VHC_STEP) ---- */
#ifndef VHC_CASEAPI_IMPL
#define vhc_require_features(ctx, ...) VHC_STEP(ctx, vhc_require_features(ctx, __VA_ARGS__))
#define vhc_require_protocol(ctx, ...) VHC_STEP(ctx, vhc_require_protocol(ctx, __VA_ARGS__))
#define vhc_open(ctx) VHC_STEP(ctx, vhc_open(ctx))
#define vhc_reopen(ctx) VHC_STEP(ctx, vhc_reopen(ctx))
#define vhc_send_invalid(ctx, ...) VHC_STEP(ctx, vhc_send_invalid(ctx, __VA_ARGS__))
#define vhc_expect_rejected(ctx, ...) VHC_STEP(ctx, vhc_expect_rejected(ctx, __VA_ARGS__))
#define vhc_expect_alive(ctx, ...) VHC_STEP(ctx, vhc_expect_alive(ctx, __VA_ARGS__))
#define vhc_backend_kill(ctx) VHC_STEP(ctx, vhc_backend_kill(ctx))
#define vhc_backend_restart(ctx) VHC_STEP(ctx, vhc_backend_restart(ctx))
#define vc_get_u64(ctx, ...) VHC_STEP(ctx, vc_get_u64(ctx, __VA_ARGS__))
#define vc_get_u64_need_reply(ctx, ...) VHC_STEP(ctx, vc_get_u64_need_reply(ctx, __VA_ARGS__))
#define vc_check_reply(ctx, ...) VHC_STEP(ctx, vc_check_reply(ctx, __VA_ARGS__))
#define vc_expect_silence(ctx, ...) VHC_STEP(ctx, vc_expect_silence(ctx, __VA_ARGS__))
#define vc_ack(ctx, ...) VHC_STEP(ctx, vc_ack(ctx, __VA_ARGS__))
#define vc_send_plain(ctx, ...) VHC_STEP(ctx, vc_send_plain(ctx, __VA_ARGS__))
#define vc_accepts(ctx, ...) VHC_STEP(ctx, vc_accepts(ctx, __VA_ARGS__))
#define vc_accepts_u64(ctx, ...) VHC_STEP(ctx, vc_accepts_u64(ctx, __VA_ARGS__))
#define vc_accepts_state(ctx, ...) VHC_STEP(ctx, vc_accepts_state(ctx, __VA_ARGS__))
#define vc_probe(ctx) VHC_STEP(ctx, vc_probe(ctx))
#define vc_set_protocol(ctx, ...) VHC_STEP(ctx, vc_set_protocol(ctx, __VA_ARGS__))
#define vc_set_features(ctx) VHC_STEP(ctx, vc_set_features(ctx))
#define vc_mem_qemu(ctx) VHC_STEP(ctx, vc_mem_qemu(ctx))
#define vc_mem_new(ctx, ...) VHC_STEP(ctx, vc_mem_new(ctx, __VA_ARGS__))
#define vc_set_mem_table(ctx) VHC_STEP(ctx, vc_set_mem_table(ctx))
#define vc_ring_prepare(ctx, ...) VHC_STEP(ctx, vc_ring_prepare(ctx, __VA_ARGS__))
#define vc_start(ctx, ...) VHC_STEP(ctx, vc_start(ctx, __VA_ARGS__))
#define vc_stop(ctx, ...) VHC_STEP(ctx, vc_stop(ctx, __VA_ARGS__))
#define vc_stop_host(ctx, ...) VHC_STEP(ctx, vc_stop_host(ctx, __VA_ARGS__))
#define vc_resume(ctx, ...) VHC_STEP(ctx, vc_resume(ctx, __VA_ARGS__))
#define vc_rebind(ctx) VHC_STEP(ctx, vc_rebind(ctx))
#define vc_check_bases(ctx, ...) VHC_STEP(ctx, vc_check_bases(ctx, __VA_ARGS__))
#define vc_eventfd(ctx) VHC_STEP(ctx, vc_eventfd(ctx))
#define vc_bad_index_u8(ctx) VHC_STEP(ctx, vc_bad_index_u8(ctx))
#endif

#endif

/* replay/: one case per recorded QEMU 7.2 trace (fixtures/qemu-7.2).
 *
 * Each replays its trace message by message (mfe_trace.h): live fds and
 * addresses, feature words masked to the back end's offer, every reply
 * compared.  What may differ between back ends (offers, limits, ring
 * positions after traffic) is noted in the transcript; a missing, extra or
 * wrong reply fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caseapi.h"
#include "mfe_fixtures.h"
#include "mfe_trace.h"

static const char *const dev_names[VHU_DEV_COUNT] = { "net", "blk", "fs" };

static int open_session(void *arg, struct mfe *f)
{
    struct vhc_ctx *ctx = arg;
    (void)f;
    vhc_open(ctx);   /* ends the child when the back end cannot be reached */
    return 0;
}

/* Where the recording killed the back end (d1): the runner kills and starts
 * it again (vhc_backend_kill / vhc_backend_restart end the child when it
 * cannot). */
static int kill_backend(void *arg)
{
    vhc_backend_kill(arg);
    return 0;
}

static int restart_backend(void *arg)
{
    vhc_backend_restart(arg);
    return 0;
}

static void load(struct vhc_ctx *ctx, struct mfe_trace *t)
{
    char rel[256], path[4096], err[512];
    snprintf(rel, sizeof rel, "qemu-7.2/%s", strrchr(ctx->c->id, '/') + 1);
    if (mfe_fixture_path(path, sizeof path, rel) < 0)
        vhc_fail(ctx, __FILE__, __LINE__, "replay.trace", "cannot find the trace: %s", path);
    if (mfe_trace_load(t, path, err, sizeof err) < 0)
        vhc_fail(ctx, __FILE__, __LINE__, "replay.trace", "cannot load the trace: %s", err);
}

/* A blk or fs trace is compared only with a back end of its own type. */
static void require_device(struct vhc_ctx *ctx, const struct mfe_trace *t)
{
    if (t->dev == VHU_DEV_NET)
        return;
    vhc_open(ctx);
    uint64_t offered = 0;
    VHC_OK(ctx, mfe_get_u64(&ctx->fe, VHU_REQ_GET_FEATURES, &offered));
    mfe_disconnect(&ctx->fe);
    if (!mfe_trace_device_matches(t, offered))
        VHC_SKIP(ctx, "trace is for a vhost-user-%s back end", dev_names[t->dev]);
}

static void replay_trace(struct vhc_ctx *ctx)
{
    static struct mfe_trace t;   /* the child ends through vhc_report */
    load(ctx, &t);
    require_device(ctx, &t);
    struct mfe_replay_opts o = { .open = open_session, .arg = ctx };
    if (ctx->backend_pgid > 0) {   /* a back end the runner started */
        o.kill = kill_backend;
        o.restart = restart_backend;
    }
    struct mfe_replay_stats st;
    int rc = mfe_replay_run(&ctx->fe, &t, &o, &st);
    mfe_note(&ctx->fe, "replay: ok %u, differs %u, masked %u, skipped %u, mismatches %u",
             st.ok, st.differs, st.masked, st.skipped, st.failed);
    VHC_ASSERT(ctx, rc == 0, "replay.mismatch",
               "expected every reply of trace %s; %u mismatch(es), first: %s", t.name,
               st.failed, st.first_failure);
    mfe_trace_free(&t);
}

#define RULE "QEMU 7.2 behaviour as recorded (fixtures/qemu-7.2/README.md): the back end " \
             "answers every message QEMU sent as the recorded back end did; request, " \
             "flags and size of each reply match, acks agree (0 or not), and nothing " \
             "else arrives; offers, limits and ring positions may differ"
#define STEPS "replay every front-end message of the trace in order (fresh eventfds, " \
              "sockets and memory laid out as recorded, features masked to the offer, " \
              "a new connection per recorded session, the back end killed and started again "\
              "where the recording killed it); compare each reply"

/* the id is written out whole (grep finds it); its last part names the trace */
#define TRACE(case_id, what) {                                           \
        .id = case_id, .summary = "replay of a QEMU 7.2 trace: " what,   \
        .rule = RULE, .steps = STEPS, .timeout_s = 60,                   \
        .flags = VHC_F_NOCONNECT, .body = replay_trace,                  \
    }

const struct vhc_case vhc_cases_replay[] = {
    TRACE("replay/qemu-7.2/a1_init_client", "init, QEMU as client"),
    TRACE("replay/qemu-7.2/a3_init_server", "init, QEMU as server"),
    TRACE("replay/qemu-7.2/a4_init_mq", "init with 2 queue pairs"),
    TRACE("replay/qemu-7.2/a5_init_reconnect", "init with reconnect=1"),
    TRACE("replay/qemu-7.2/b1_boot", "guest boot, pings, poweroff"),
    TRACE("replay/qemu-7.2/b2_boot_mq", "guest boot with 2 queue pairs"),
    TRACE("replay/qemu-7.2/b3_boot_server", "guest boot, QEMU as server"),
    TRACE("replay/qemu-7.2/c1_guest_cycle", "driver unbind and rebind: stop and restart"),
    TRACE("replay/qemu-7.2/d1_reconnect_client", "back end restarted: a second session resumes"),
    TRACE("replay/qemu-7.2/d4_disconnect_noreconnect", "back end killed, no reconnect"),
    TRACE("replay/qemu-7.2/e1_blk_init", "vhost-user-blk init"),
    TRACE("replay/qemu-7.2/e2_blk_boot", "vhost-user-blk started, reset, restarted"),
    TRACE("replay/qemu-7.2/f1_fs_init", "vhost-user-fs init"),
};
const size_t vhc_cases_replay_n = ARRAY_LEN(vhc_cases_replay);

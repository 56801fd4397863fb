/* The scenario table and its runner (mfe_scenario.h).  Each table follows
 * the traces named in its source field; the unit tests
 * (tests/unit/test_scenario.c) play every traced scenario against a fake
 * back end scripted from its trace and compare message by message. */
#include "mfe_scenario.h"

#include "mfe_migrate.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define S(k, a, w) { MFE_STEP_##k, a, w }
#define END { MFE_STEP_END, 0, NULL }
#define ALL (MFE_DEV_BIT(VHU_DEV_NET) | MFE_DEV_BIT(VHU_DEV_BLK) | MFE_DEV_BIT(VHU_DEV_FS))
#define RECONNECTING (MFE_DEV_BIT(VHU_DEV_NET) | MFE_DEV_BIT(VHU_DEV_BLK))

/* The guest boots: firmware first where it drives the device, then the
 * kernel's driver probes and starts it. */
#define BOOT_STEPS \
    S(INIT, 0, "QEMU starts"), \
    S(FIRMWARE, 0, "firmware"), \
    S(START, MFE_START_BOOT, "guest driver probes and starts the device"), \
    S(TRAFFIC, 0, "guest traffic")

static const struct mfe_step init_steps[] = {
    S(INIT, 0, "QEMU starts (-S: no guest runs)"),
    S(QUIT, 0, "QMP quit"),
    END,
};

static const struct mfe_step boot_steps[] = {
    BOOT_STEPS,
    S(STOP, MFE_STOP_GUEST, "guest poweroff"),
    S(QUIT, 0, "QEMU exits"),
    END,
};

static const struct mfe_step guest_cycle_steps[] = {
    BOOT_STEPS,
    S(STOP, MFE_STOP_GUEST, "guest unbinds the driver"),
    S(START, MFE_START_REBIND, "guest binds the driver again"),
    S(TRAFFIC, 0, "guest traffic"),
    S(STOP, MFE_STOP_GUEST, "guest removes the driver module"),
    S(START, MFE_START_REBIND, "guest loads the driver module again"),
    S(TRAFFIC, 0, "guest traffic"),
    S(STOP, MFE_STOP_GUEST, "guest poweroff"),
    S(QUIT, 0, "QEMU exits"),
    END,
};

static const struct mfe_step host_cycle_steps[] = {
    BOOT_STEPS,
    S(STOP, MFE_STOP_HOST, "QMP stop"),
    S(START, MFE_START_RESUME, "QMP cont"),
    S(TRAFFIC, 0, "guest traffic"),
    S(STOP, MFE_STOP_GUEST, "guest poweroff"),
    S(QUIT, 0, "QEMU exits"),
    END,
};

static const struct mfe_step link_cycle_steps[] = {
    BOOT_STEPS,
    S(STOP, MFE_STOP_HOST, "QMP set_link off"),
    S(START, MFE_START_RESUME, "QMP set_link on"),
    S(TRAFFIC, 0, "guest traffic"),
    S(STOP, MFE_STOP_GUEST, "guest poweroff"),
    S(QUIT, 0, "QEMU exits"),
    END,
};

static const struct mfe_step reconnect_steps[] = {
    BOOT_STEPS,
    S(KILL, 0, "back end SIGKILLed"),
    S(RESTART, 0, "back end started again"),
    S(RECONNECT, 0, "QEMU reconnects (chardev reconnect=)"),
    S(TRAFFIC, 0, "guest traffic"),
    S(QUIT, 0, "QMP quit"),
    END,
};

static const struct mfe_step disconnect_steps[] = {
    BOOT_STEPS,
    S(KILL, 0, "back end SIGKILLed"),
    S(RESTART, 0, "back end started again"),
    S(IDLE, 1000, "QEMU without reconnect= never comes back"),
    S(QUIT, 0, "QMP quit"),
    END,
};

static const struct mfe_step reset_steps[] = {
    BOOT_STEPS,
    S(STOP, MFE_STOP_SYSTEM_RESET, "QMP system_reset resets the device"),
    S(FIRMWARE, 0, "firmware"),
    S(START, MFE_START_BOOT, "guest driver probes and starts the device"),
    S(TRAFFIC, 0, "guest traffic"),
    S(STOP, MFE_STOP_GUEST, "guest poweroff"),
    S(QUIT, 0, "QEMU exits"),
    END,
};

/* Live migration as the source and the destination QEMU drive it: logging
 * on, traffic, the switch-over (the source stops its rings; its back end
 * goes with it), a new back end for the destination, which starts on the
 * same guest memory from the saved bases. */
static const struct mfe_step migrate_steps[] = {
    BOOT_STEPS,
    S(LOG_ON, 0, "migrate: dirty logging on"),
    S(TRAFFIC, 0, "guest traffic while the RAM is copied"),
    S(STOP, MFE_STOP_HOST, "switch-over: the source stops the device"),
    S(KILL, 0, "the source QEMU and its back end go away"),
    S(RESTART, 0, "the destination's back end starts"),
    S(DESTINATION, 0, "the destination QEMU starts the device from the migrated bases"),
    S(TRAFFIC, 0, "guest traffic on the destination"),
    S(STOP, MFE_STOP_GUEST, "guest poweroff"),
    S(QUIT, 0, "QEMU exits"),
    END,
};

static const struct mfe_scenario scenarios[] = {
    { "init", "QEMU starts with the guest paused (-S) and quits",
      "traces a1, a3, a4, a5 (net), e1 (blk), f1 (fs)", ALL, false, init_steps },
    { "boot", "a guest boots, uses the device and powers off",
      "traces b1, b2, b3 (net), e2 (blk, SeaBIOS first), f2 (fs)", ALL, false, boot_steps },
    { "guest-cycle", "the guest driver is unbound and bound again, then removed and "
      "loaded again (fresh rings, bases 0)", "trace c1 (net)", ALL, false, guest_cycle_steps },
    { "host-cycle", "QMP stop and cont while the guest runs (the rings resume from the "
      "saved bases)", "QEMU source: vm_stop / vm_start run vhost_net_stop / "
      "vhost_net_start (virtio_vmstate_change); trace h1 (net)", ALL, false, host_cycle_steps },
    { "link-cycle", "QMP set_link off and on (as stop and cont)",
      "QEMU source: qmp_set_link -> virtio_net_set_link_status -> virtio_net_vhost_status; "
      "trace h2 (net)", MFE_DEV_BIT(VHU_DEV_NET), false, link_cycle_steps },
    { "reconnect", "the back end is killed and restarted; QEMU reconnects and resumes "
      "from the used indexes", "traces d1, d2 (net); blk from vhost_user_blk_connect",
      RECONNECTING, true, reconnect_steps },
    { "disconnect", "the back end is killed and restarted; QEMU without reconnect= "
      "never comes back", "trace d4 (net)", ALL, true, disconnect_steps },
    { "reset", "QMP system_reset while the guest runs, then the guest boots again",
      "trace h3 (net): the device reset, the profile's extra rounds, the boot",
      ALL, false, reset_steps },
    { "migrate", "live migration: dirty logging, the switch-over, the destination resumes "
      "from the saved bases on a new back end", "QEMU source: migration/migration.c, "
      "hw/virtio/vhost.c vhost_migration_log, vhost_dev_stop on the source and "
      "vhost_dev_start on the destination; not recorded", MFE_DEV_BIT(VHU_DEV_NET) |
      MFE_DEV_BIT(VHU_DEV_BLK), true, migrate_steps },
};

#define NSCENARIOS (sizeof scenarios / sizeof scenarios[0])

unsigned mfe_scenario_count(void)
{
    return NSCENARIOS;
}

const struct mfe_scenario *mfe_scenario_at(unsigned i)
{
    return i < NSCENARIOS ? &scenarios[i] : NULL;
}

const struct mfe_scenario *mfe_scenario_find(const char *name)
{
    for (unsigned i = 0; i < NSCENARIOS; i++)
        if (strcmp(scenarios[i].name, name) == 0)
            return &scenarios[i];
    return NULL;
}

const char *mfe_step_name(enum mfe_step_kind k)
{
    static const char *const names[] = {
        "init", "firmware", "start", "traffic", "stop", "kill", "restart", "reconnect",
        "idle", "quit", "log-on", "destination", "end",
    };
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

void mfe_step_label(const struct mfe_step *s, char *buf, size_t cap)
{
    static const char *const starts[] = { "boot", "rebind", "resume", "firmware" };
    static const char *const causes[] = { "guest reset", "host", "system_reset" };
    const char *arg = NULL;
    if (s->kind == MFE_STEP_START && (unsigned)s->arg < 4)
        arg = starts[s->arg];
    else if (s->kind == MFE_STEP_STOP && (unsigned)s->arg < 3)
        arg = causes[s->arg];
    if (arg)
        snprintf(buf, cap, "%s (%s)", mfe_step_name(s->kind), arg);
    else if (s->kind == MFE_STEP_IDLE)
        snprintf(buf, cap, "idle (%d ms)", s->arg);
    else
        snprintf(buf, cap, "%s", mfe_step_name(s->kind));
}

/* ---- the runner ---- */

struct play {
    struct mfe *f;
    const struct mfe_play_opts *o;
    const struct mfe_play_hooks *h;
    struct mfe_play_stats *st;
    struct mfe_play_traffic *traffic;
    bool have_memory;            /* guest memory exists (the first start made it) */
    uint16_t bases[MFE_MAX_VQ];  /* the last stop's GET_VRING_BASE answers */
    struct mfe_log log;          /* the migration's dirty log (LOG_ON) */
    bool have_log;
};

static int fail(struct mfe *f, const char *rule, const char *what)
{
    snprintf(f->err, sizeof f->err, "%s", what);
    f->err_rule = rule;
    return -1;
}

static int start(struct play *p, enum mfe_start_kind kind)
{
    struct mfe_start_opts o = { .reuse_memory = p->have_memory, .kind = kind,
                                .bases = kind == MFE_START_RESUME ? p->bases : NULL };
    if ((kind == MFE_START_BOOT || kind == MFE_START_REBIND) && p->have_memory)
        mfe_qemu_fresh_rings(p->f);   /* a new driver: new rings */
    if (kind != MFE_START_RESUME)   /* a resumed guest carries on with its rings */
        mfe_play_traffic_reset(p->traffic);
    int rc = mfe_qemu_start(p->f, &o);
    p->have_memory = p->have_memory || p->f->mem.nregions > 0;
    return rc;
}

static int stop(struct play *p, enum mfe_stop_cause cause)
{
    if (!p->f->started_pairs)
        return 0;
    int rc = mfe_qemu_stop_as(p->f, cause, p->bases);
    if (cause != MFE_STOP_HOST)
        mfe_play_traffic_reset(p->traffic);   /* the driver is gone */
    return rc;
}

static int traffic(struct play *p)
{
    if (!p->f->started_pairs)
        return fail(p->f, "play.traffic", "traffic: the device is not running");
    if (p->h->traffic)
        return p->h->traffic(p->h->arg, p->f);
    unsigned sent = 0;
    int got = mfe_play_traffic_run(p->traffic, p->f, &sent);
    if (got < 0)
        return got;
    p->st->traffic_steps++;
    p->st->sent += sent;
    p->st->completed += (unsigned)got;
    if (sent && !got)
        p->st->idle_traffic++;
    mfe_note(p->f, "traffic: %u posted, %d came back", sent, got);
    return 0;
}

static int firmware(struct play *p)
{
    if (!mfe_qemu_device(p->f)->firmware_features)
        return 0;
    int rc = start(p, MFE_START_FIRMWARE);
    if (rc == 0)
        rc = traffic(p);
    /* the guest kernel's driver resets the device when it probes it */
    return rc < 0 ? rc : stop(p, MFE_STOP_GUEST);
}

/* Until the back end's end of the connection is gone, as QEMU notices the
 * close (its HUP watch) before anything else. */
static void wait_closed(struct mfe *f)
{
    struct pollfd pfd = { .fd = f->sock, .events = POLLIN };
    for (int waited = 0; f->sock >= 0 && waited < f->timeout_ms; waited += 20) {
        if (poll(&pfd, 1, 20) <= 0)
            continue;
        char c;
        ssize_t n = recv(f->sock, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            break;
        if (n > 0) {   /* something unsolicited: take it, keep waiting */
            struct vhu_msg m;
            if (mfe_recv(f, &m) == 0)
                vhu_msg_close_fds(&m);
        }
    }
    mfe_disconnect(f);
}

static int kill_backend(struct play *p)
{
    if (!p->h->kill)
        return fail(p->f, "play.backend", "kill: no back end to kill (started elsewhere)");
    int rc = p->h->kill(p->h->arg);
    if (rc < 0)
        return fail(p->f, "play.backend", "kill: the back end could not be killed");
    mfe_note(p->f, "back end killed");
    wait_closed(p->f);
    return 0;
}

static int restart_backend(struct play *p)
{
    if (!p->h->restart)
        return fail(p->f, "play.backend", "restart: no back end to start (started elsewhere)");
    unsigned ms = p->o->down_ms ? p->o->down_ms : 500;
    usleep(ms * 1000u);
    if (p->h->restart(p->h->arg) < 0)
        return fail(p->f, "play.backend", "restart: the back end could not be started");
    mfe_note(p->f, "back end started again");
    return 0;
}

static int reconnect(struct play *p)
{
    int rc = p->h->open(p->h->arg, p->f);
    if (rc == 0)
        rc = mfe_qemu_reconnect(p->f);
    if (rc == 0)
        mfe_play_traffic_rewire(p->traffic, p->f);
    return rc;
}

/* vhost_migration_log(true): a memfd log sized for the guest memory. */
static int log_on(struct play *p)
{
    if (!p->f->started_pairs)
        return fail(p->f, "play.migrate", "log-on: the device is not running");
    if (!p->have_log) {
        int rc = mfe_log_alloc(&p->log, mfe_log_words_for(&p->f->mem));
        if (rc < 0)
            return fail(p->f, "mfe.memory", "log-on: the dirty log could not be made");
        p->have_log = true;
    }
    return mfe_migration_log_on(p->f, &p->log);
}

/* The destination: its own connection and init, the device started from
 * the bases the source's stop saved. */
static int destination(struct play *p)
{
    unsigned q = p->o->queues ? p->o->queues : 1;
    uint64_t features = p->f->acked_features;
    if (p->f->sock >= 0)
        mfe_disconnect(p->f);
    int rc = p->h->open(p->h->arg, p->f);
    if (rc == 0)
        rc = mfe_qemu_destination(p->f, q, p->bases, features);
    if (rc == 0)
        mfe_play_traffic_rewire(p->traffic, p->f);
    return rc;
}

static int quit(struct play *p)
{
    int rc = p->f->sock >= 0 ? stop(p, MFE_STOP_HOST) : 0;
    mfe_play_traffic_reset(p->traffic);
    mfe_disconnect(p->f);
    return rc;
}

static int do_step(struct play *p, const struct mfe_step *s)
{
    switch (s->kind) {
    case MFE_STEP_INIT: {
        unsigned q = p->o->queues ? p->o->queues : 1;
        int rc = p->h->open(p->h->arg, p->f);
        return rc < 0 ? rc : mfe_qemu_init(p->f, q);
    }
    case MFE_STEP_FIRMWARE: return firmware(p);
    case MFE_STEP_START: return start(p, (enum mfe_start_kind)s->arg);
    case MFE_STEP_TRAFFIC: return traffic(p);
    case MFE_STEP_STOP: return stop(p, (enum mfe_stop_cause)s->arg);
    case MFE_STEP_KILL: return kill_backend(p);
    case MFE_STEP_RESTART: return restart_backend(p);
    case MFE_STEP_RECONNECT: return reconnect(p);
    case MFE_STEP_IDLE: usleep((unsigned)s->arg * 1000u); return 0;
    case MFE_STEP_QUIT: return quit(p);
    case MFE_STEP_LOG_ON: return log_on(p);
    case MFE_STEP_DESTINATION: return destination(p);
    case MFE_STEP_END: return 0;
    }
    return fail(p->f, "mfe.usage", "unknown scenario step");
}

int mfe_play_run(struct mfe *f, const struct mfe_scenario *sc, const struct mfe_play_opts *o,
                 const struct mfe_play_hooks *h, struct mfe_play_stats *st)
{
    static const struct mfe_play_opts defaults;
    memset(st, 0, sizeof *st);
    o = o ? o : &defaults;
    if (!(sc->devices & MFE_DEV_BIT(mfe_qemu_device(f)->dev))) {
        snprintf(f->err, sizeof f->err, "scenario %s does not apply to a %s device", sc->name,
                 mfe_qemu_device(f)->name);
        f->err_rule = "mfe.usage";
        return -1;
    }
    struct play p = { .f = f, .o = o, .h = h, .st = st, .traffic = mfe_play_traffic_new() };
    if (!p.traffic)
        return fail(f, "mfe.memory", "out of memory");
    int rc = 0;
    for (const struct mfe_step *s = sc->steps; s->kind != MFE_STEP_END && rc == 0; s++) {
        char label[64];
        mfe_step_label(s, label, sizeof label);
        mfe_note(f, "-- %s: %s --", label, s->what);
        rc = do_step(&p, s);
        if (rc == 0)
            st->steps++;
        if (h->step_done)
            h->step_done(h->arg, (unsigned)(s - sc->steps) + 1, s, rc);
    }
    if (rc < 0 && f->sock >= 0)
        mfe_disconnect(f);
    mfe_play_traffic_free(p.traffic);
    if (p.have_log)
        mfe_log_free(&p.log);
    return rc < 0 ? -1 : 0;
}

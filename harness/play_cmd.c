/* `vhost-conform play SCENARIO`: does to a back end what a QEMU of one
 * profile does in a named scenario (mfe_scenario.h), step by step, so a
 * back-end developer can reproduce one QEMU behaviour, in a loop if need
 * be.  The back end is started from --backend (killed and started again
 * where the scenario says, through the same control functions the
 * reconnect cases use), or is one already running (--socket).  --via puts
 * a proxy (vhost-conform record) between the two. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beopts.h"
#include "cli.h"
#include "harness.h"
#include "mfe_scenario.h"
#include "play_cmd.h"

#define EXIT_USAGE 2
#define LINGER_MS  500

struct play_cli {
    const char *scenario_name, *backend, *socket, *backend_socket, *via, *backend_log;
    const struct mfe_scenario *sc;
    const struct mfe_profile *profile;
    const struct mfe_device *device;
    enum vhc_mode mode;
    unsigned queues, down_ms, repeat;
    int timeout_ms;
    bool trace, list;
    char dir[64], sock[108], front[108], log[4096];
    char *tmpl;
    struct vhc_backend be;
    struct vhc_control ctl;
};

/* ---- options ---- */

static int take(struct play_cli *c, int opt, const char *arg)
{
    switch (opt) {
    case 'q': c->queues = (unsigned)atoi(arg); return c->queues >= 1 && c->queues <= 8 ? 0 : -1;
    case 'B': c->backend_socket = arg; return 0;
    case 'v': c->via = arg; return 0;
    case 'L': c->backend_log = arg; return 0;
    case 'D': c->down_ms = (unsigned)atoi(arg); return 0;
    case 'r': c->repeat = (unsigned)atoi(arg); return c->repeat >= 1 ? 0 : -1;
    case 't': c->timeout_ms = atoi(arg); return c->timeout_ms > 0 ? 0 : -1;
    case 'T': c->trace = true; return 0;
    case 'l': c->list = true; return 0;
    case 'h': return 1;
    default: return -1;
    }
}

/* The back end, its socket, mode, device, profile and wait scale: beopts.c */
#define PLAY_BE (VHC_BE_REACH | VHC_BE_DEVICE | VHC_BE_PROFILE | VHC_BE_PROFILE_FILE | \
                 VHC_BE_SCALE)

static int parse_args(int argc, char **argv, struct play_cli *c)
{
    static const struct option own[] = {
        { "queues", required_argument, NULL, 'q' },
        { "backend-socket", required_argument, NULL, 'B' },
        { "via", required_argument, NULL, 'v' }, { "down-ms", required_argument, NULL, 'D' },
        { "backend-log", required_argument, NULL, 'L' },
        { "repeat", required_argument, NULL, 'r' },
        { "timeout-ms", required_argument, NULL, 't' }, { "trace", no_argument, NULL, 'T' },
        { "list", no_argument, NULL, 'l' }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct vhc_beopts b;
    vhc_beopts_init(&b, PLAY_BE);
    struct option table[sizeof own / sizeof own[0] + VHC_BEOPT_COUNT];
    const struct option *opts = vhc_beopts_table(&b, own, table, sizeof table / sizeof table[0]);
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int rc = vhc_beopts_take(&b, opt, optarg);
        if (rc == 1 && (rc = take(c, opt, optarg)) < 0 && opt != '?' && optarg)
            fprintf(stderr, "vhost-conform: bad value '%s'\n", optarg);
        if (rc != 0)
            return rc;
    }
    if (vhc_beopts_check(&b) < 0)
        return -1;
    c->backend = b.backend;
    c->socket = b.socket;
    c->mode = b.mode;
    c->device = b.dev;
    c->profile = vhc_beopts_profile(&b);
    c->timeout_ms = vhc_beopts_ms(&b, c->timeout_ms);
    if (c->list)
        return optind == argc ? 0 : -1;
    if (optind + 1 != argc || (c->socket && c->backend_socket))
        return -1;
    c->scenario_name = argv[optind];
    c->sc = mfe_scenario_find(c->scenario_name);
    if (!c->sc) {
        fprintf(stderr, "vhost-conform: no scenario '%s' (see 'vhost-conform play --list')\n",
                c->scenario_name);
        return -1;
    }
    return 0;
}

static void list_scenarios(void)
{
    for (unsigned i = 0; i < mfe_scenario_count(); i++) {
        const struct mfe_scenario *s = mfe_scenario_at(i);
        char devs[32] = "";
        for (unsigned d = 0; d < VHU_DEV_COUNT; d++)
            if (s->devices & MFE_DEV_BIT(d))
                snprintf(devs + strlen(devs), sizeof devs - strlen(devs), "%s%s",
                         devs[0] ? "," : "", mfe_device_of((enum vhu_dev)d)->name);
        printf("%-12s %s\n%12s   devices: %s; follows %s\n", s->name, s->summary, "", devs,
               s->source);
    }
}

/* ---- the back end and the connection ---- */

static int set_paths(struct play_cli *c)
{
    if (c->socket) {
        snprintf(c->sock, sizeof c->sock, "%s", c->socket);
    } else if (c->backend_socket) {
        snprintf(c->sock, sizeof c->sock, "%s", c->backend_socket);
    }
    if (!c->socket) {
        snprintf(c->dir, sizeof c->dir, "%s/vhc-play.XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (strlen(c->dir) > 40 || !mkdtemp(c->dir)) {
            fprintf(stderr, "vhost-conform: cannot make a temporary folder\n");
            c->dir[0] = '\0';
            return -1;
        }
        if (!c->backend_socket)
            snprintf(c->sock, sizeof c->sock, "%s/vhu.sock", c->dir);
        snprintf(c->log, sizeof c->log, "%s", c->backend_log ? c->backend_log : "");
        if (!c->backend_log)
            snprintf(c->log, sizeof c->log, "%s/backend.log", c->dir);
    }
    snprintf(c->front, sizeof c->front, "%s", c->via ? c->via : c->sock);
    return 0;
}

static int start_backend(struct play_cli *c)
{
    if (c->socket)
        return 0;
    c->tmpl = c->backend ? strdup(c->backend) : vhc_backend_default(c->mode);
    if (!c->tmpl) {
        fprintf(stderr, "vhost-conform: no back end: pass --backend 'CMD {socket}' "
                        "or --socket PATH\n");
        return -1;
    }
    vhc_control_init(&c->ctl, -1, c->tmpl, c->sock, c->mode, &c->be, c->log);
    char *cmd = vhc_backend_expand(c->tmpl, c->sock, c->mode);
    int rc = cmd ? vhc_backend_start(&c->be, cmd, c->log) : -1;
    if (rc == 0)
        printf("# back end: %s\n", cmd);
    else
        fprintf(stderr, "vhost-conform: cannot start the back end: %s\n", strerror(errno));
    free(cmd);
    return rc;
}

static int open_conn(void *arg, struct mfe *f)
{
    struct play_cli *c = arg;
    if (c->mode == VHC_MODE_CLIENT) {
        if (f->listen_fd < 0 && mfe_listen(f, c->front) < 0)
            return -1;
        return mfe_accept(f);
    }
    return mfe_connect(f, c->front);
}

static int kill_hook(void *arg)
{
    struct play_cli *c = arg;
    return c->tmpl ? vhc_control_kill(&c->ctl) : -1;
}

static int restart_hook(void *arg)
{
    struct play_cli *c = arg;
    return c->tmpl ? vhc_control_restart(&c->ctl) : -1;
}

static void step_done(void *arg, unsigned n, const struct mfe_step *s, int rc)
{
    (void)arg;
    char label[64];
    mfe_step_label(s, label, sizeof label);
    printf("  %2u %-20s %-44s %s\n", n, label, s->what, rc == 0 ? "ok" : "FAILED");
    fflush(stdout);
}

/* ---- one play ---- */

static void report_failure(struct play_cli *c, const struct mfe *f)
{
    printf("# failed: %s%s%s%s\n", mfe_error(f), f->err_rule ? " (" : "",
           f->err_rule ? f->err_rule : "", f->err_rule ? ")" : "");
    printf("# last messages:\n");
    mfe_transcript_dump(f, stdout, "#   ", 12);
    char *tail = c->be.pid > 0 || c->ctl.restarts ? vhc_backend_tail(&c->be) : NULL;
    if (tail)
        printf("# back end's last output:\n%s", tail);
    free(tail);
}

static int play_once(struct play_cli *c, unsigned round)
{
    struct mfe f;
    mfe_init(&f, c->timeout_ms);
    f.profile = c->profile;
    f.device = c->device;
    if (c->trace)
        f.trace_fd = STDERR_FILENO;
    if (c->mode == VHC_MODE_CLIENT && mfe_listen(&f, c->front) < 0) {
        fprintf(stderr, "vhost-conform: %s\n", mfe_error(&f));
        mfe_close(&f);
        return -1;
    }
    if (round == 0 && start_backend(c) < 0) {
        mfe_close(&f);
        return -1;
    }
    struct mfe_play_hooks h = { .arg = c, .open = open_conn, .kill = kill_hook,
                                .restart = restart_hook, .step_done = step_done };
    struct mfe_play_opts o = { .queues = c->queues, .down_ms = c->down_ms };
    struct mfe_play_stats st;
    printf("# play %s (%s, %s device, %u queue%s)", c->sc->name, mfe_qemu_profile(&f)->name,
           mfe_qemu_device(&f)->name, c->queues, c->queues == 1 ? "" : "s");
    if (c->repeat > 1)
        printf(", round %u of %u", round + 1, c->repeat);
    putchar('\n');
    int rc = mfe_play_run(&f, c->sc, &o, &h, &st);
    if (st.traffic_steps)
        printf("# traffic: %llu posted, %llu came back, %llu step(s) got nothing\n",
               (unsigned long long)st.sent, (unsigned long long)st.completed,
               (unsigned long long)st.idle_traffic);
    if (rc < 0)
        report_failure(c, &f);
    else if (st.idle_traffic) {
        printf("# failed: the back end completed none of the guest's traffic in %llu "
               "step(s)\n", (unsigned long long)st.idle_traffic);
        rc = -1;
    }
    mfe_close(&f);
    return rc;
}

static bool tear_down(struct play_cli *c)
{
    bool crashed = false;
    if (c->be.pid > 0) {
        char why[256];
        vhc_backend_stop(&c->be, 2000);
        crashed = vhc_backend_crashed(&c->be, why, sizeof why);
        if (crashed)
            printf("# the back end crashed: %s\n", why);
    }
    if (c->ctl.crashed[0]) {
        printf("# the back end had crashed: %s\n", c->ctl.crashed);
        crashed = true;
    }
    if (c->mode == VHC_MODE_CLIENT)
        unlink(c->front);   /* our listener's */
    if (c->dir[0]) {
        if (!c->backend_socket)
            unlink(c->sock);
        for (unsigned i = 1; i <= c->ctl.restarts && !c->backend_log; i++) {
            char old[4200];
            snprintf(old, sizeof old, "%s.%u", c->log, i);
            unlink(old);
        }
        if (!c->backend_log)
            unlink(c->log);
        rmdir(c->dir);
    }
    free(c->tmpl);
    return crashed;
}

static int check_combination(const struct play_cli *c)
{
    const struct mfe_device *d = c->device ? c->device : mfe_device_current();
    if (!(c->sc->devices & MFE_DEV_BIT(d->dev))) {
        fprintf(stderr, "vhost-conform: scenario %s does not apply to a %s device (QEMU: %s)\n",
                c->sc->name, d->name, c->sc->source);
        return -1;
    }
    if (c->sc->needs_backend && c->socket) {
        fprintf(stderr, "vhost-conform: scenario %s kills and restarts the back end: use "
                        "--backend, not --socket\n", c->sc->name);
        return -1;
    }
    return 0;
}

int vhc_cmd_play(int argc, char **argv)
{
    struct play_cli c = { .mode = VHC_MODE_SERVER, .queues = 1, .repeat = 1,
                          .timeout_ms = 5000 };
    int rc = parse_args(argc, argv, &c);
    if (rc != 0) {
        return rc > 0 ? (vhc_help("play") < 0 ? EXIT_USAGE : 0) : vhc_usage("play");
    }
    if (c.list) {
        list_scenarios();
        return 0;
    }
    if (check_combination(&c) < 0)
        return EXIT_USAGE;
    signal(SIGPIPE, SIG_IGN);   /* a back end that dies makes writes fail, not kill us */
    if (set_paths(&c) < 0) {
        tear_down(&c);
        return EXIT_USAGE;
    }
    rc = 0;
    for (unsigned r = 0; r < c.repeat && rc == 0; r++)
        rc = play_once(&c, r);
    /* QEMU is gone, the back end lives on (it does in the recordings): give
     * it, and a proxy in between, time to take the last messages before it
     * is stopped */
    if (c.tmpl)
        usleep(LINGER_MS * 1000);
    bool crashed = tear_down(&c);
    bool ok = rc == 0 && !crashed;
    printf("%s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}

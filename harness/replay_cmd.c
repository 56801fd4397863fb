/* `vhost-conform replay TRACE`: replay one recorded trace against a back
 * end and print a line per message. */
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
#include "mfe_fixtures.h"
#include "mfe_trace.h"
#include "replay_cmd.h"

#define CONNECT_MS 10000   /* a back end gets this long to come up */
#define EXIT_USAGE 2

struct replay_cli {
    const char *trace, *backend, *socket;
    enum vhc_mode mode;
    int timeout_ms;
    int connect_ms;            /* CONNECT_MS under --timeout-scale */
    bool quiet;
    char dir[64], path[128], log[160];
    char *tmpl;                /* the back-end command, NULL with --socket */
    struct vhc_backend be;
    struct vhc_control ctl;    /* kills and restarts, as the reconnect cases get them */
};

static int kill_hook(void *arg)
{
    struct replay_cli *c = arg;
    int rc = vhc_control_kill(&c->ctl);
    if (rc == 0)
        printf("# back end killed, as the recording did\n");
    return rc;
}

static int restart_hook(void *arg)
{
    struct replay_cli *c = arg;
    int rc = vhc_control_restart(&c->ctl);
    if (rc == 0)
        printf("# back end started again\n");
    return rc;
}

static void print_line(void *arg, unsigned seq, const char *req, enum mfe_replay_verdict v,
                       const char *detail)
{
    const struct replay_cli *c = arg;
    if (c->quiet && v == MFE_RPL_OK)
        return;
    printf("%04u %s %s%s%s\n", seq, req, mfe_replay_verdict_name(v), detail[0] ? ": " : "",
           detail);
    fflush(stdout);
}

static int open_session(void *arg, struct mfe *f)
{
    const struct replay_cli *c = arg;
    int wait = f->timeout_ms;
    f->timeout_ms = c->connect_ms;
    int rc = f->role == MFE_LISTEN ? mfe_accept(f) : mfe_connect(f, c->path);
    f->timeout_ms = wait;
    return rc;
}

static int parse_args(int argc, char **argv, struct replay_cli *c)
{
    static const struct option own[] = {
        { "timeout-ms", required_argument, NULL, 't' }, { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
    };
    struct vhc_beopts b;
    vhc_beopts_init(&b, VHC_BE_REACH | VHC_BE_SCALE);
    struct option table[sizeof own / sizeof own[0] + VHC_BEOPT_COUNT];
    const struct option *opts = vhc_beopts_table(&b, own, table, sizeof table / sizeof table[0]);
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int rc = vhc_beopts_take(&b, opt, optarg);
        if (rc < 0)
            return -1;
        if (rc == 0)
            continue;
        switch (opt) {
        case 't': c->timeout_ms = atoi(optarg); if (c->timeout_ms <= 0) return -1; break;
        case 'q': c->quiet = true; break;
        case 'h': return 1;
        default: return -1;
        }
    }
    if (optind + 1 != argc || vhc_beopts_check(&b) < 0)
        return -1;
    c->backend = b.backend;
    c->socket = b.socket;
    c->timeout_ms = vhc_beopts_ms(&b, c->timeout_ms);
    c->connect_ms = vhc_beopts_ms(&b, CONNECT_MS);
    c->mode = b.mode;
    c->trace = argv[optind];
    return 0;
}

/* The socket path, a listener in client mode, the back end when asked. */
static int set_up(struct replay_cli *c, struct mfe *f)
{
    if (c->socket) {
        snprintf(c->path, sizeof c->path, "%s", c->socket);
    } else {
        snprintf(c->dir, sizeof c->dir, "%s/vhc-replay.XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (strlen(c->dir) > 40 || !mkdtemp(c->dir)) {
            fprintf(stderr, "vhost-conform: cannot make a temporary folder\n");
            c->dir[0] = '\0';
            return -1;
        }
        snprintf(c->path, sizeof c->path, "%s/vhu.sock", c->dir);
        snprintf(c->log, sizeof c->log, "%s/backend.log", c->dir);
    }
    if (c->mode == VHC_MODE_CLIENT && mfe_listen(f, c->path) < 0) {
        fprintf(stderr, "vhost-conform: %s\n", mfe_error(f));
        return -1;
    }
    if (c->socket)
        return 0;
    c->tmpl = c->backend ? strdup(c->backend) : vhc_backend_default(c->mode);
    char *cmd = c->tmpl ? vhc_backend_expand(c->tmpl, c->path, c->mode) : NULL;
    int rc = cmd ? vhc_backend_start(&c->be, cmd, c->log) : -1;
    if (rc == 0)
        printf("# back end: %s\n", cmd);
    else
        fprintf(stderr, "vhost-conform: cannot start the back end\n");
    free(cmd);
    vhc_control_init(&c->ctl, -1, c->tmpl, c->path, c->mode, &c->be, c->log);
    return rc;
}

/* Stop the back end; a crash is a failure.  The log's tail on failure. */
static bool tear_down(struct replay_cli *c, bool failed)
{
    bool crashed = false;
    if (c->be.pid > 0) {
        char why[256];
        vhc_backend_stop(&c->be, 2000);
        crashed = vhc_backend_crashed(&c->be, why, sizeof why);
        if (crashed)
            printf("# the back end crashed: %s\n", why);
        char *tail = (failed || crashed) ? vhc_backend_tail(&c->be) : NULL;
        if (tail)
            printf("# back end's last output:\n%s", tail);
        free(tail);
    }
    if (c->ctl.crashed[0]) {
        printf("# the back end had crashed: %s\n", c->ctl.crashed);
        crashed = true;
    }
    if (c->dir[0]) {
        unlink(c->path);
        unlink(c->log);
        for (unsigned i = 1; i <= c->ctl.restarts; i++) {
            char old[200];
            snprintf(old, sizeof old, "%s.%u", c->log, i);
            unlink(old);
        }
        rmdir(c->dir);
    }
    free(c->tmpl);
    return crashed;
}

/* TRACE, TRACE.log or TRACE.raw names an existing file */
static bool trace_exists(const char *path)
{
    char log[4200];
    snprintf(log, sizeof log, "%s.log", path);
    return access(path, R_OK) == 0 || access(log, R_OK) == 0;
}

static int run_replay(struct replay_cli *c, const struct mfe_trace *t)
{
    struct mfe f;
    mfe_init(&f, c->timeout_ms);
    struct mfe_replay_opts o = { .report = print_line, .open = open_session, .arg = c };
    if (!c->socket) {
        o.kill = kill_hook;
        o.restart = restart_hook;
    }
    struct mfe_replay_stats st;
    int rc = set_up(c, &f);
    if (rc == 0) {
        printf("# replay %s: %zu messages, %s device, back end %s\n", t->name, t->n,
               t->dev == VHU_DEV_BLK ? "blk" : t->dev == VHU_DEV_FS ? "fs" : "net",
               c->mode == VHC_MODE_SERVER ? "listens" : "connects");
        rc = mfe_replay_run(&f, t, &o, &st);
        printf("# ok %u, differs %u, masked %u, skipped %u, mismatches %u\n", st.ok,
               st.differs, st.masked, st.skipped, st.failed);
        if (rc != 0)
            printf("# first mismatch: %s\n", st.first_failure);
    }
    mfe_close(&f);
    if (tear_down(c, rc != 0))
        rc = 1;
    printf("%s\n", rc == 0 ? "PASS" : "FAIL");
    return rc == 0 ? 0 : 1;
}

int vhc_cmd_replay(int argc, char **argv)
{
    struct replay_cli c = { .mode = VHC_MODE_SERVER, .timeout_ms = 3000 };
    int prc = parse_args(argc, argv, &c);
    if (prc != 0) {
        return prc > 0 ? (vhc_help("replay") < 0 ? EXIT_USAGE : 0) : vhc_usage("replay");
    }
    struct mfe_trace t;
    char err[512];
    char found[4096];   /* a name of the fixtures ("qemu-7.2/b1_boot") */
    if (!trace_exists(c.trace) && mfe_fixture_path(found, sizeof found, c.trace) == 0 &&
        trace_exists(found))
        c.trace = found;
    if (mfe_trace_load(&t, c.trace, err, sizeof err) < 0) {
        fprintf(stderr, "vhost-conform: %s\n", err);
        return EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);   /* a back end that dies makes writes fail, not kill us */
    int rc = run_replay(&c, &t);
    mfe_trace_free(&t);
    return rc;
}

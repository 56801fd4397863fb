/* The runner: every case runs in a job worker (one without --jobs), forked
 * into its own process group, with a private directory for the socket and
 * the back end's log.  The verdict comes over a pipe; the runner judges
 * timeouts and crashes itself, and leaves no process, socket or directory
 * behind, also when interrupted or killed.  A case whose setup broke is
 * `broken`; when no back end of the run ever came up, the run bails out.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "report.h"
#include "fault_matrix.h"
#include "registry.h"
#include "jobs.h"
#include "reaper.h"
#include "runner_int.h"

#define FIRST_CONNECT_MS  10000   /* the back end may still be starting */
#define START_MS          10000   /* to listen (server) or connect (client) */
#define STOP_GRACE_MS     2000
#define RECORD_MAX        (1u << 20)

static volatile sig_atomic_t interrupted;   /* the signal that asked us to stop */

static void on_signal(int sig)
{
    interrupted = sig;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A wait the runner does for a case, under --timeout-scale: a scale above 1
 * lengthens it; below 1 it shortens only the case deadlines. */
static int scaled_ms(const struct run *run, int ms)
{
    double scale = run->o->timeout_scale > 1 ? run->o->timeout_scale : 1;
    return (int)(ms * scale);
}

static void install_signals(void)
{
    struct sigaction sa = { .sa_handler = on_signal };   /* no SA_RESTART: waits wake */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);   /* a closed terminal: clean up as for ^C */
    signal(SIGPIPE, SIG_IGN);   /* a closed stdout must not kill us before cleanup */
}

/* ---- the private directory and the socket ---- */

static int slot_open(struct slot *s, const char *socket_opt, char *why, size_t len)
{
    const char *tmp = getenv("TMPDIR");
    memset(s, 0, sizeof *s);
    s->listen_fd = -1;
    snprintf(s->dir, sizeof s->dir, "%s/" VHC_CASE_DIR, tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s->dir)) {
        snprintf(why, len, "cannot make the case directory %s: %s", s->dir, strerror(errno));
        s->dir[0] = '\0';
        return -1;
    }
    snprintf(s->log, sizeof s->log, "%s/backend.log", s->dir);
    snprintf(s->case_log, sizeof s->case_log, "%s/case.log", s->dir);
    const char *sock = socket_opt;
    char mine[PATH_MAX + 16];
    if (!sock) {
        snprintf(mine, sizeof mine, "%s/" VHC_CASE_SOCKET, s->dir);
        sock = mine;
    }
    if (strlen(sock) >= sizeof s->sock) {
        snprintf(why, len, "socket path too long (%zu bytes, at most %zu): %s", strlen(sock),
                 sizeof s->sock - 1, sock);
        return -1;
    }
    strcpy(s->sock, sock);
    return 0;
}

/* Client mode: the front end listens before the back end starts, so the
 * back end's first connect finds the socket. */
static int slot_listen(struct slot *s, char *why, size_t len)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    strcpy(sa.sun_path, s->sock);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, len, "socket: %s", strerror(errno));
        return -1;
    }
    unlink(s->sock);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4) < 0) {
        snprintf(why, len, "listen on %s: %s", s->sock, strerror(errno));
        close(fd);
        return -1;
    }
    s->own_sock = true;
    s->listen_fd = fd;
    return 0;
}

static void kill_child(struct slot *s)
{
    if (s->child <= 0)
        return;
    kill(-s->child, SIGKILL);
    while (waitpid(s->child, NULL, 0) < 0 && errno == EINTR)
        ;
    s->child = 0;
}

/* Everything the case started goes (what left the back end's group is
 * named in leftover), then the directory, whatever the back end put in it. */
static void slot_close(struct slot *s, char *leftover, size_t len)
{
    kill_child(s);
    pid_t group = s->be.pid;
    vhc_backend_stop(&s->be, interrupted ? 200 : STOP_GRACE_MS);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    s->listen_fd = -1;
    if (s->own_sock)
        unlink(s->sock);
    if (vhc_reap_leftovers(group, leftover, len))
        fprintf(stderr, "vhost-conform: killed what outlived the case's back end: %s\n",
                leftover);
    if (s->dir[0] && vhc_rmtree(s->dir) < 0)
        fprintf(stderr, "vhost-conform: cannot remove %s: %s\n", s->dir, strerror(errno));
    s->dir[0] = '\0';
}

/* ---- the case child ---- */

static void child_main(struct run *run, int result_fd, int control_fd, pid_t worker)
    __attribute__((noreturn));
static void child_main(struct run *run, int result_fd, int control_fd, pid_t worker)
{
    setpgid(0, 0);
    vhc_die_with_parent(worker, SIGKILL);
    /* --trace: every mfe of this case writes its lines to our stderr (the
     * copy taken before stderr becomes the case log) */
    if (run->o->trace) {
        int tfd = dup(STDERR_FILENO);
        char num[16];
        snprintf(num, sizeof num, "%d", tfd);
        setenv("MFE_TRACE_FD", num, 1);
        run->ctx.fe.trace_fd = tfd;
    }
    /* A sanitizer's report or an abort message is the diagnosis of a front
     * end crash: keep it for the YAML rather than mixing it into ours. */
    int log_fd = open(run->s.case_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log_fd >= 0) {
        dup2(log_fd, STDERR_FILENO);
        close(log_fd);
    }
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    run->ctx.result_fd = result_fd;
    run->ctx.control_fd = control_fd;
    vhc_run_child(&run->ctx);
}

static void ctx_prepare(struct run *run, const struct vhc_case *c)
{
    struct vhc_ctx *ctx = &run->ctx;
    memset(ctx, 0, sizeof *ctx);
    ctx->c = c;
    ctx->mode = run->o->mode;
    ctx->socket_path = run->s.sock;
    ctx->backend_pgid = run->s.be.pid;
    ctx->control_fd = -1;
    ctx->timeout_scale = run->o->timeout_scale;
    mfe_init(&ctx->fe, scaled_ms(run, FIRST_CONNECT_MS));
    if (run->has_fault) {   /* the child's copy: each case counts from 1 */
        run->fault.kill = vhc_backend_kill_hook;
        run->fault.kill_arg = ctx;
        ctx->fe.fault = &run->fault;
    }
    if (run->o->mode == VHC_MODE_CLIENT) {
        ctx->fe.role = MFE_LISTEN;
        mfe_adopt_listener(&ctx->fe, run->s.listen_fd, run->s.sock);
    } else {
        ctx->fe.role = MFE_CONNECT;
        snprintf(ctx->fe.path, sizeof ctx->fe.path, "%s", run->s.sock);
    }
}

/* Read the record until EOF or the deadline, serving the child's control
 * requests meanwhile.  Returns 0 at EOF, 1 on timeout, -1 when interrupted. */
static int read_record(int fd, struct vhc_control *ctl, double deadline, char **buf,
                       size_t *len)
{
    size_t cap = 0;
    for (;;) {
        if (interrupted)
            return -1;
        double left = deadline - now_s();
        if (left <= 0)
            return 1;
        struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
                               { .fd = ctl->fd, .events = POLLIN } };
        int rc = poll(p, ctl->fd >= 0 ? 2 : 1, (int)(left * 1000) + 1);
        if (rc > 0 && ctl->fd >= 0 && p[1].revents)
            vhc_control_serve(ctl);
        if (rc <= 0 || !p[0].revents)
            continue;   /* timeout, EINTR or a request: the checks above decide */
        if (*len + 4096 > cap && cap < RECORD_MAX) {
            cap = cap ? cap * 2 : 8192;
            char *b = realloc(*buf, cap + 1);
            if (!b)
                return 0;
            *buf = b;
        }
        char scratch[4096];
        bool room = *len + 4096 <= cap;
        ssize_t n = read(fd, room ? *buf + *len : scratch, 4096);
        if (n == 0)
            return 0;
        if (n > 0 && room)
            *len += (size_t)n;
    }
}

/* Wait for the child to end, without reaping it yet (its group id stays
 * reserved while it is a zombie).  Returns false at the deadline. */
static bool child_ended(pid_t pid, double deadline, siginfo_t *si)
{
    do {
        memset(si, 0, sizeof *si);
        if (waitid(P_PID, (id_t)pid, si, WEXITED | WNOHANG | WNOWAIT) == 0 && si->si_pid == pid)
            return true;
        struct timespec ts = { 0, 5000000 };
        nanosleep(&ts, NULL);
    } while (now_s() < deadline && !interrupted);
    return false;
}

static void judge_child(struct vhc_result *r, bool timed_out, bool ended, const siginfo_t *si,
                        const char *rec, size_t len, double limit)
{
    if (timed_out || !ended) {
        r->verdict = VHC_TIMEOUT;
        snprintf(r->reason, sizeof r->reason, "no result within %.2f s; case killed", limit);
    } else if (si->si_code == CLD_KILLED || si->si_code == CLD_DUMPED) {
        r->verdict = VHC_CRASH;
        snprintf(r->reason, sizeof r->reason, "front end (case child) killed by SIG%s",
                 sigabbrev_np(si->si_status));
    } else if (len == 0) {
        r->verdict = VHC_CRASH;
        snprintf(r->reason, sizeof r->reason,
                 "case child exited with status %d without a result", si->si_status);
    } else if (vhc_record_parse(rec, len, r) < 0) {
        r->verdict = VHC_CRASH;
    }
}

/* Fork the case, collect its record, judge it. */
static int run_child(struct run *run, const struct vhc_case *c, struct vhc_result *r)
{
    int p[2], cp[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cp) < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    pid_t worker = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        close(cp[0]);
        close(cp[1]);
        return -1;
    }
    if (pid == 0) {
        close(p[0]);
        close(cp[0]);
        child_main(run, p[1], cp[1], worker);
    }
    setpgid(pid, pid);
    run->s.child = pid;
    close(p[1]);
    close(cp[1]);
    vhc_control_init(&run->ctl, cp[0], run->tmpl, run->s.sock, run->o->mode, &run->s.be,
                     run->s.log);
    run->ctl.job = run->job;
    if (run->s.listen_fd >= 0) {   /* the child owns it now */
        close(run->s.listen_fd);
        run->s.listen_fd = -1;
    }
    double limit = (c->timeout_s ? c->timeout_s : VHC_DEFAULT_TIMEOUT_S) * run->o->timeout_scale;
    double deadline = now_s() + limit;
    char *rec = NULL;
    size_t len = 0;
    int rc = read_record(p[0], &run->ctl, deadline, &rec, &len);
    close(p[0]);
    if (run->ctl.fd >= 0)
        close(run->ctl.fd);
    run->ctl.fd = -1;
    siginfo_t si;
    bool ended = rc == 0 && child_ended(pid, deadline, &si);
    if (!interrupted)
        judge_child(r, rc == 1, ended, &si, rec, len, limit);
    free(rec);
    kill_child(&run->s);   /* the group: whatever the case forked goes too */
    return interrupted ? -1 : 0;
}

/* After the case: did the back end crash during it (or on the way down)? */
static void judge_backend(struct run *run, struct vhc_result *r)
{
    char why[sizeof run->ctl.crashed];
    /* the tail as the case left it, before shutdown chatter buries it */
    if (run->tmpl)
        r->backend_tail = vhc_backend_tail(&run->s.be);
    vhc_backend_stop(&run->s.be, interrupted ? 200 : STOP_GRACE_MS);
    bool crashed = vhc_backend_crashed(&run->s.be, why, sizeof why);
    if (!crashed && run->ctl.crashed[0]) {   /* before the case killed it on purpose */
        snprintf(why, sizeof why, "%s", run->ctl.crashed);
        crashed = true;
    }
    if (crashed) {
        char was[sizeof r->reason];
        snprintf(was, sizeof was, "%s", r->reason);
        snprintf(r->reason, sizeof r->reason, "%s (case said %s%s%.700s)", why,
                 vhc_verdict_name(r->verdict), was[0] ? ": " : "", was);
        r->verdict = VHC_CRASH;
        free(r->backend_tail);      /* a crash report comes at the end */
        r->backend_tail = vhc_backend_tail(&run->s.be);
    }
    r->case_tail = vhc_log_tail(run->s.case_log);
}


static int start_backend(struct run *run, char *why, size_t len)
{
    char *cmd = vhc_backend_expand_job(run->tmpl, run->s.sock, run->o->mode, run->job);
    int rc = cmd ? vhc_backend_start(&run->s.be, cmd, run->s.log) : -1;
    if (rc < 0)
        snprintf(why, len, "cannot start the back end: %s", strerror(errno));
    free(cmd);
    return rc;
}

/* The case's directory, its socket, the back end started and there (its
 * socket listening, or its connection waiting).  -1 with why. */
static int set_up(struct run *run, char *why, size_t len)
{
    struct slot *s = &run->s;
    if (slot_open(s, run->o->socket, why, len) < 0 ||
        (run->o->mode == VHC_MODE_CLIENT && slot_listen(s, why, len) < 0))
        return -1;
    if (!run->tmpl)
        return 0;
    if (start_backend(run, why, len) < 0)
        return -1;
    return vhc_backend_wait_ready(&s->be, run->o->mode, s->sock, s->listen_fd,
                                  scaled_ms(run, START_MS), &interrupted, why, len);
}

/* Setup broke: the case is broken, and the run bails out when no back end
 * of this worker has come up yet (it is the back end, not this case). */
static void judge_setup(struct run *run, struct vhc_result *r, const char *why)
{
    r->verdict = VHC_BROKEN;
    snprintf(r->reason, sizeof r->reason, "%s", why);
    if (run->tmpl && run->s.be.log_path[0])
        r->backend_tail = vhc_backend_tail(&run->s.be);
    r->bail = !run->came_up;
}

/* One case, start to finish.  -1 when interrupted. */
static int run_case(struct run *run, const struct vhc_case *c, struct vhc_result *r)
{
    const char *excluded = vhc_case_excluded(c, run->o);
    if (excluded) {
        r->verdict = VHC_SKIP;
        snprintf(r->reason, sizeof r->reason, "%s", excluded);
        return 0;
    }
    double t0 = now_s();
    char why[sizeof r->reason] = "";
    run->ctl.messages = -1;
    if (set_up(run, why, sizeof why) == 0) {
        run->came_up = true;
        ctx_prepare(run, c);
        if (run_child(run, c, r) == 0)
            judge_backend(run, r);
    } else if (!interrupted) {
        judge_setup(run, r, why);
    }
    r->messages = run->ctl.messages;
    slot_close(&run->s, r->leftover, sizeof r->leftover);
    r->duration_ms = (unsigned long)((now_s() - t0) * 1000);
    return interrupted ? -1 : 0;
}

/* ---- the whole run ---- */

static void emit(struct run *run, const struct vhc_tap_item *it)
{
    vhc_tap_item(stdout, it);
    fflush(stdout);
    if (run->tap) {
        vhc_tap_item(run->tap, it);
        fflush(run->tap);
    }
    vhc_report_item(run->report, it);
}

/* A line on the TAP stream (stdout and --tap FILE). */
static void tap_line(struct run *run, const char *fmt, const char *a, const char *b)
{
    for (FILE *f = stdout; f; f = f == stdout ? run->tap : NULL) {
        fprintf(f, fmt, a, b);
        fflush(f);
    }
}

/* The result of item i into the TAP, the reports and the tally.  A broken
 * case is never an expected failure: no expectation covers a setup error. */
static void record_nth(struct run *run, size_t i, struct vhc_result *r)
{
    char id[300];
    const struct vhc_case *c = vhc_nth_case(run, i, id, sizeof id);
    bool listable = r->verdict != VHC_BROKEN;
    struct vhc_tap_item it = {
        .n = (unsigned)i + 1, .id = id, .mode = run->o->mode, .r = r, .spec = c->rule,
        .expect = listable ? vhc_expect_match(&run->expect, c->id, run->o->mode, r) : NULL,
    };
    emit(run, &it);
    if (r->leftover[0])
        tap_line(run, "# %s: killed what outlived the back end: %s\n", id, r->leftover);
    run->unexpected |= vhc_tally_add(&run->tally, &it);
    vhc_progress_case(&run->progress, &it, &run->tally);
}

/* Bail out! with why, once; the TAP version line first when nothing else
 * was written yet (a setup error found before the plan). */
static void bail_out(struct run *run, const char *why)
{
    if (!run->header)
        tap_line(run, "%s%s", "TAP version 14\n", "");
    run->header = true;
    tap_line(run, "Bail out! %s%s\n", why, "");
    if (!run->bail)
        run->bail = strdup(why);
}

static int interrupted_exit(struct run *run)
{
    char why[64];
    snprintf(why, sizeof why, "interrupted by SIG%s", sigabbrev_np(interrupted));
    bail_out(run, why);
    return 128 + interrupted;
}

static void trace_header(const struct run *run, const char *id)
{
    if (run->o->trace)
        fprintf(stderr, "# trace %s\n", id);
}

/* ---- the workers: each runs items with its own back end ---- */

static int job_work(void *arg, size_t i, unsigned job, struct vhc_result *r)
{
    struct run *run = arg;
    run->job = job;
    char id[300];
    const struct vhc_case *c = vhc_nth_case(run, i, id, sizeof id);
    trace_header(run, id);
    return run_case(run, c, r);
}

/* In plan order: out it goes; a bail stops the run after it. */
static bool job_done(void *arg, size_t i, struct vhc_result *r)
{
    struct run *run = arg;
    record_nth(run, i, r);
    if (r->bail)
        run->bail = strdup(r->reason);
    return !r->bail;
}

/* A worker silent this long on one item is lost (its case is a crash). */
static double item_limit_s(const struct run *run)
{
    unsigned longest = VHC_DEFAULT_TIMEOUT_S;
    for (size_t i = 0; i < run->nsel; i++)
        if (run->sel[i]->timeout_s > longest)
            longest = run->sel[i]->timeout_s;
    return longest * run->o->timeout_scale + scaled_ms(run, START_MS) / 1000.0 + 30;
}

/* Returns 0, 2 after a bail out, 128 + signal when interrupted. */
static int run_jobs(struct run *run, size_t total)
{
    struct vhc_jobs_ops ops = {
        .work = job_work, .done = job_done, .arg = run, .item_limit_s = item_limit_s(run),
    };
    unsigned jobs = run->o->jobs > 1 ? run->o->jobs : 1;
    if (vhc_jobs_run(jobs, total, &ops, &interrupted) == 0)
        return 0;
    if (run->bail && !interrupted) {
        fprintf(stderr, "vhost-conform: setup error: %s\n", run->bail);
        bail_out(run, run->bail);
        return 2;
    }
    if (!interrupted)
        interrupted = SIGTERM;   /* a worker could not start: stop as interrupted */
    return interrupted_exit(run);
}

/* ---- --fault-matrix: the clean sequence first, in a worker too ---- */

static int clean_work(void *arg, size_t i, unsigned job, struct vhc_result *r)
{
    struct run *run = arg;
    (void)i;
    run->job = job;
    return run_case(run, &vhc_fault_clean_case, r);
}

static bool clean_done(void *arg, size_t i, struct vhc_result *r)
{
    struct run *run = arg;
    (void)i;
    run->clean = *r;
    run->clean.transcript = run->clean.backend_tail = run->clean.case_tail = NULL;
    return true;
}

/* Run the clean sequence once to learn how many messages it sends, then
 * one case per message: faults/KIND@1 ... faults/KIND@N.  -1 (said, or
 * run->bail set) when it cannot be walked. */
static int select_matrix(struct run *run)
{
    struct vhc_jobs_ops ops = {
        .work = clean_work, .done = clean_done, .arg = run, .item_limit_s = item_limit_s(run),
    };
    run->clean.verdict = VHC_NOTRUN;
    if (vhc_jobs_run(1, 1, &ops, &interrupted) < 0)
        return -1;
    struct vhc_result *r = &run->clean;
    if (r->verdict == VHC_BROKEN) {
        run->bail = strdup(r->reason);
        return -1;
    }
    if (r->verdict != VHC_PASS || r->messages <= 0) {
        fprintf(stderr, "vhost-conform: the clean sequence the fault matrix walks did not "
                        "pass (%s: %s)\n", vhc_verdict_name(r->verdict), r->reason);
        return -1;
    }
    size_t n = (size_t)r->messages;
    run->sel = calloc(n + 1, sizeof *run->sel);
    run->matrix = calloc(n, sizeof *run->matrix);
    if (!run->sel || !run->matrix)
        return -1;
    run->sel[run->nsel++] = &vhc_fault_clean_case;
    for (size_t i = 0; i < n; i++) {
        if (!(run->matrix[i] = vhc_fault_case_new(run->o->fault_matrix, (unsigned)i + 1)))
            return -1;
        run->nmatrix++;
        run->sel[run->nsel++] = run->matrix[i];
    }
    return vhc_shard(run);
}

/* ---- setting up and tearing down ---- */

static int choose_backend(struct run *run)
{
    if (run->o->socket)
        return 0;
    run->tmpl = run->o->backend ? strdup(run->o->backend) : vhc_backend_default(run->o->mode);
    if (!run->tmpl) {
        fprintf(stderr, "vhost-conform: no back end: vhost-refnet not found; "
                        "pass --backend 'CMD {socket}' or --socket PATH\n");
        return -1;
    }
    return 0;
}

/* Options, expectations, the back end's command, the selection and the
 * output files: a usage error here is exit 2 before any TAP. */
static int setup(struct run *run)
{
    char err[256];
    if (run->o->fault && mfe_fault_parse(run->o->fault, &run->fault, err, sizeof err) < 0) {
        fprintf(stderr, "vhost-conform: %s\n", err);
        return -1;
    }
    run->has_fault = run->o->fault != NULL;
    if (vhc_load_expectations(run) < 0 || choose_backend(run) < 0 ||
        (!run->o->fault_matrix && vhc_select_cases(run) < 0))
        return -1;
    if (vhc_rrun_describe(&run->meta, run->o, run->tmpl ? run->tmpl : run->o->socket) < 0)
        return -1;
    if (run->o->tap_file && !run->o->list_only && !(run->tap = fopen(run->o->tap_file, "we"))) {
        fprintf(stderr, "vhost-conform: %s: %s\n", run->o->tap_file, strerror(errno));
        return -1;
    }
    bool failed = false;
    if (!run->o->list_only)   /* opened now: a bad path fails before the run */
        run->report = vhc_report_open(run->o->junit_file, run->o->html_file, &run->meta,
                                      &failed);
    return failed ? -1 : 0;
}

static void teardown(struct run *run)
{
    if (run->tap)
        fclose(run->tap);
    free(run->tmpl);
    free(run->sel);
    for (size_t i = 0; i < run->nmatrix; i++)
        vhc_fault_case_free(run->matrix[i]);
    free(run->matrix);
    vhc_expect_free(&run->expect);
    free(run->bail);
    vhc_rrun_free(&run->meta);
    vhc_progress_free(&run->progress);
}

/* Before any case: what would break every case bails out at once; the
 * fault matrix's clean sequence runs now.  0, or the exit status. */
static int prepare(struct run *run)
{
    char why[1024];
    bool needs_backend = !run->o->list_only || run->o->fault_matrix;
    if (needs_backend && vhc_preflight(run->tmpl, run->o->socket, why, sizeof why) < 0) {
        fprintf(stderr, "vhost-conform: %s\n", why);
        bail_out(run, why);
        return 2;
    }
    if (!run->o->fault_matrix || select_matrix(run) == 0)
        return 0;
    if (interrupted)
        return interrupted_exit(run);
    if (run->bail)
        bail_out(run, run->bail);
    return 2;
}

static int run_all(struct run *run)
{
    size_t total = vhc_plan_size(run);
    vhc_tap_begin(stdout, (unsigned)total);
    if (run->tap)
        vhc_tap_begin(run->tap, (unsigned)total);
    run->header = true;
    /* what produces it (version ... options; the shard, so `report` can
     * merge the shards and see one missing) */
    vhc_rrun_write_header(stdout, &run->meta);
    if (run->tap)
        vhc_rrun_write_header(run->tap, &run->meta);
    vhc_progress_begin(&run->progress, total);
    int rc = run_jobs(run, total);
    if (rc)
        return rc;
    vhc_tap_end(stdout, &run->tally);
    if (run->tap)
        vhc_tap_end(run->tap, &run->tally);
    vhc_progress_end(&run->progress, &run->tally, run->o->expect_file, run->o->strict);
    return run->unexpected || (run->o->strict && run->tally.xpass) ? 1 : 0;
}

int vhc_run(const struct vhc_run_opts *o)
{
    struct run *run = calloc(1, sizeof *run);
    if (!run)
        return 2;
    run->o = o;
    run->s.listen_fd = -1;
    /* every case child starts with the QEMU sequences of this device type
     * (mfe_device.h): enum vhc_device and enum vhu_dev name them alike */
    static const enum vhu_dev devs[] = { [VHC_DEV_NET] = VHU_DEV_NET,
                                         [VHC_DEV_BLK] = VHU_DEV_BLK, [VHC_DEV_FS] = VHU_DEV_FS };
    mfe_device_select(mfe_device_of(devs[o->device]));
    install_signals();
    vhc_reaper_init();   /* what a worker leaves comes to us */
    int rc = 2;
    if (setup(run) == 0) {
        rc = prepare(run);
        if (rc == 0 && o->list_only)
            vhc_list_selected(run);
        else if (rc == 0)
            rc = run_all(run);
        if (vhc_report_close(run->report, run->bail) < 0 && rc < 2)
            rc = 2;
    }
    char left[256];
    if (vhc_reap_leftovers(0, left, sizeof left))
        fprintf(stderr, "vhost-conform: killed what outlived the run: %s\n", left);
    teardown(run);
    free(run);
    return rc;
}

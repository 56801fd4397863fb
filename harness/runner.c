/* The runner: one forked child per case, in its own process group, with a
 * private directory for the socket and the back end's log.  The verdict
 * comes over a pipe; the runner judges timeouts and crashes itself, and
 * leaves no process, socket or directory behind, also when interrupted.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
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
#include "progress.h"

#define FIRST_CONNECT_MS  5000    /* the back end may still be starting */
#define STOP_GRACE_MS     2000
#define RECORD_MAX        (1u << 20)

static volatile sig_atomic_t interrupted;   /* the signal that asked us to stop */

static void on_signal(int sig)
{
    interrupted = sig;
}

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
    struct vhc_rrun meta;      /* what produces this run: the reports' header */
    struct vhc_progress progress;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void install_signals(void)
{
    struct sigaction sa = { .sa_handler = on_signal };   /* no SA_RESTART: waits wake */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);   /* a closed stdout must not kill us before cleanup */
}

/* ---- the private directory and the socket ---- */

static int slot_open(struct slot *s, const char *socket_opt)
{
    const char *tmp = getenv("TMPDIR");
    memset(s, 0, sizeof *s);
    s->listen_fd = -1;
    snprintf(s->dir, sizeof s->dir, "%s/vhc.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s->dir)) {
        fprintf(stderr, "vhost-conform: mkdtemp %s: %s\n", s->dir, strerror(errno));
        s->dir[0] = '\0';
        return -1;
    }
    snprintf(s->log, sizeof s->log, "%s/backend.log", s->dir);
    snprintf(s->case_log, sizeof s->case_log, "%s/case.log", s->dir);
    const char *sock = socket_opt;
    char mine[PATH_MAX + 16];
    if (!sock) {
        snprintf(mine, sizeof mine, "%s/vu.sock", s->dir);
        sock = mine;
    }
    if (strlen(sock) >= sizeof s->sock) {
        fprintf(stderr, "vhost-conform: socket path too long: %s\n", sock);
        return -1;
    }
    strcpy(s->sock, sock);
    return 0;
}

/* Client mode: the front end listens before the back end starts, so the
 * back end's first connect finds the socket. */
static int slot_listen(struct slot *s)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    strcpy(sa.sun_path, s->sock);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    unlink(s->sock);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4) < 0) {
        fprintf(stderr, "vhost-conform: listen on %s: %s\n", s->sock, strerror(errno));
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

/* The back end may leave files next to its socket (locks, logs): the
 * directory is ours, so everything in it goes. */
static void empty_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
}

static void slot_close(struct slot *s)
{
    kill_child(s);
    vhc_backend_stop(&s->be, interrupted ? 200 : STOP_GRACE_MS);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    s->listen_fd = -1;
    if (s->own_sock)
        unlink(s->sock);
    if (s->dir[0]) {
        empty_dir(s->dir);
        if (rmdir(s->dir) < 0)
            fprintf(stderr, "vhost-conform: rmdir %s: %s\n", s->dir, strerror(errno));
    }
    s->dir[0] = '\0';
}

/* ---- the case child ---- */

static void child_main(struct run *run, int result_fd, int control_fd)
    __attribute__((noreturn));
static void child_main(struct run *run, int result_fd, int control_fd)
{
    setpgid(0, 0);
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
    mfe_init(&ctx->fe, FIRST_CONNECT_MS);
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
        child_main(run, p[1], cp[1]);
    }
    setpgid(pid, pid);
    run->s.child = pid;
    close(p[1]);
    close(cp[1]);
    vhc_control_init(&run->ctl, cp[0], run->tmpl, run->s.sock, run->o->mode, &run->s.be,
                     run->s.log);
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

/* Why c cannot run under these options (socket mode, device type), or NULL. */
static const char *case_excluded(const struct vhc_case *c, const struct vhc_run_opts *o)
{
    enum vhc_mode m = o->mode;
    if ((c->flags & (VHC_F_NET | VHC_F_MQ)) && o->device != VHC_DEV_NET)
        return "a virtio-net case; the back end is not a net device (--device)";
    if ((c->flags & VHC_F_SERVER_ONLY) && m != VHC_MODE_SERVER)
        return "needs --mode server";
    if ((c->flags & VHC_F_CLIENT_ONLY) && m != VHC_MODE_CLIENT)
        return "needs --mode client";
    return NULL;
}

static int start_backend(struct run *run)
{
    if (!run->tmpl)
        return 0;
    char *cmd = vhc_backend_expand(run->tmpl, run->s.sock, run->o->mode);
    int rc = cmd ? vhc_backend_start(&run->s.be, cmd, run->s.log) : -1;
    if (rc < 0)
        fprintf(stderr, "vhost-conform: cannot start back end: %s\n", strerror(errno));
    free(cmd);
    return rc;
}

/* One case, start to finish.  -1 when interrupted. */
static int run_case(struct run *run, const struct vhc_case *c, struct vhc_result *r)
{
    const char *excluded = case_excluded(c, run->o);
    if (excluded) {
        r->verdict = VHC_SKIP;
        snprintf(r->reason, sizeof r->reason, "%s", excluded);
        return 0;
    }
    double t0 = now_s();
    int rc = slot_open(&run->s, run->o->socket);
    if (rc == 0 && run->o->mode == VHC_MODE_CLIENT)
        rc = slot_listen(&run->s);
    if (rc == 0)
        rc = start_backend(run);
    if (rc == 0) {
        ctx_prepare(run, c);
        rc = run_child(run, c, r);
        if (rc == 0)
            judge_backend(run, r);
    } else {
        r->verdict = VHC_CRASH;
        snprintf(r->reason, sizeof r->reason, "harness could not set the case up: %s",
                 strerror(errno));
    }
    slot_close(&run->s);
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

static bool selected(const struct vhc_run_opts *o, const char *id)
{
    for (unsigned i = 0; i < o->nfilter; i++)
        if (fnmatch(o->filter[i], id, 0) == 0)
            return true;
    return o->nfilter == 0;
}

/* --fault-matrix: run the clean sequence once to learn how many messages
 * it sends, then one case per message: faults/KIND@1 ... faults/KIND@N. */
static int select_matrix(struct run *run)
{
    struct vhc_result r = { .verdict = VHC_NOTRUN };
    if (run_case(run, &vhc_fault_clean_case, &r) < 0 || r.verdict != VHC_PASS ||
        run->ctl.messages <= 0) {
        fprintf(stderr, "vhost-conform: the clean sequence the fault matrix walks did not "
                        "pass (%s: %s)\n", vhc_verdict_name(r.verdict), r.reason);
        vhc_result_free(&r);
        return -1;
    }
    vhc_result_free(&r);
    size_t n = (size_t)run->ctl.messages;
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
    return 0;
}

/* --shard K/N: keep every N-th from the K-th; the list is sorted, so the
 * shards of one selection cover it exactly once */
static int shard(struct run *run)
{
    unsigned k = run->o->shard_k, n = run->o->shard_n;
    size_t kept = 0;
    for (size_t i = 0; n && i < run->nsel; i++)
        if (i % n == k - 1)
            run->sel[kept++] = run->sel[i];
    run->nsel = n ? kept : run->nsel;
    if (run->nsel == 0)
        fprintf(stderr, "vhost-conform: shard %u/%u is empty\n", k, n);
    return run->nsel ? 0 : -1;
}

static int select_cases(struct run *run)
{
    if (run->o->fault_matrix)
        return select_matrix(run) < 0 ? -1 : shard(run);
    size_t n;
    const struct vhc_case *const *all = vhc_cases(&n);
    run->sel = calloc(n ? n : 1, sizeof *run->sel);
    if (!run->sel)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (selected(run->o, all[i]->id))
            run->sel[run->nsel++] = all[i];
    if (run->nsel == 0) {
        fprintf(stderr, "vhost-conform: no case matches the filter\n");
        return -1;
    }
    return shard(run);
}

static int load_expectations(struct run *run)
{
    if (!run->o->expect_file)
        return 0;
    FILE *f = fopen(run->o->expect_file, "re");
    if (!f) {
        fprintf(stderr, "vhost-conform: %s: %s\n", run->o->expect_file, strerror(errno));
        return -1;
    }
    char err[512];
    int rc = vhc_expect_parse(f, run->o->expect_file, &run->expect, err, sizeof err);
    fclose(f);
    if (rc < 0) {
        fprintf(stderr, "vhost-conform: %s\n", err);
        return -1;
    }
    for (size_t i = 0; i < run->expect.n; i++)   /* a typo must not hide silently */
        if (!vhc_case_find(run->expect.v[i].id))
            fprintf(stderr, "vhost-conform: %s:%u: warning: no case %s\n",
                    run->o->expect_file, run->expect.v[i].line, run->expect.v[i].id);
    return 0;
}

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

static int setup(struct run *run)
{
    char err[256];
    if (run->o->fault && mfe_fault_parse(run->o->fault, &run->fault, err, sizeof err) < 0) {
        fprintf(stderr, "vhost-conform: %s\n", err);
        return -1;
    }
    run->has_fault = run->o->fault != NULL;
    if (load_expectations(run) < 0 || choose_backend(run) < 0 || select_cases(run) < 0)
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
    vhc_rrun_free(&run->meta);
    vhc_progress_free(&run->progress);
}

static void list_selected(const struct run *run)
{
    for (size_t i = 0; i < run->nsel; i++) {
        const char *excluded = case_excluded(run->sel[i], run->o);
        printf("%s%s%s\n", run->sel[i]->id, excluded ? "  # SKIP " : "",
               excluded ? excluded : "");
    }
}

static void bail_out(struct run *run)
{
    const char *name = sigabbrev_np(interrupted);
    printf("Bail out! interrupted by SIG%s\n", name);
    if (run->tap)
        fprintf(run->tap, "Bail out! interrupted by SIG%s\n", name);
}

static unsigned profile_count(const struct run *run)
{
    return run->o->nprofiles ? run->o->nprofiles : 1;
}

static unsigned repeat_count(const struct run *run)
{
    return run->o->repeat ? run->o->repeat : 1;
}

/* Item i of the plan: case, then profile, then repetition, so the runs of
 * one case stay together.  The parent selects the profile before it forks,
 * so the child starts with it; the id says which profile and repetition
 * ("negotiation/x@qemu-8.2@rep2"). */
static const struct vhc_case *nth_case(const struct run *run, size_t i, char *id, size_t cap)
{
    unsigned np = profile_count(run), nr = repeat_count(run);
    const struct vhc_case *c = run->sel[i / nr / np];
    const struct mfe_profile *p = run->o->nprofiles ? run->o->profiles[i / nr % np] : NULL;
    int n = snprintf(id, cap, "%s%s%s", c->id, np > 1 ? "@" : "", np > 1 ? p->name : "");
    if (nr > 1)
        snprintf(id + n, cap - (size_t)n, "@rep%zu", i % nr + 1);
    mfe_profile_select(p);
    return c;
}

static void trace_header(const struct run *run, const char *id)
{
    if (run->o->trace)
        fprintf(stderr, "# trace %s\n", id);
}

/* The result of item i into the TAP, the reports and the tally. */
static void record_nth(struct run *run, size_t i, struct vhc_result *r)
{
    char id[300];
    const struct vhc_case *c = nth_case(run, i, id, sizeof id);
    struct vhc_tap_item it = {
        .n = (unsigned)i + 1, .id = id, .mode = run->o->mode, .r = r,
        .spec = c->rule, .expect = vhc_expect_find(&run->expect, c->id, run->o->mode),
    };
    emit(run, &it);
    run->unexpected |= vhc_tally_add(&run->tally, &it);
    vhc_progress_case(&run->progress, &it, &run->tally);
}

static int run_nth(struct run *run, size_t i)
{
    char id[300];
    const struct vhc_case *c = nth_case(run, i, id, sizeof id);
    trace_header(run, id);
    struct vhc_result r = { .verdict = VHC_NOTRUN };
    if (run_case(run, c, &r) < 0) {
        vhc_result_free(&r);
        bail_out(run);
        return -1;
    }
    record_nth(run, i, &r);
    vhc_result_free(&r);
    return 0;
}

/* ---- --jobs: each worker process runs items with its own back end ---- */

/* {n} in the back-end template becomes the job number, once per worker */
static int job_template(struct run *run, unsigned job)
{
    char *t = run->tmpl, *at = t ? strstr(t, "{n}") : NULL;
    if (!at)
        return 0;
    char *out = malloc(strlen(t) + 16);
    if (!out)
        return -1;
    sprintf(out, "%.*s%u%s", (int)(at - t), t, job, at + 3);
    free(run->tmpl);
    run->tmpl = out;
    return job_template(run, job);
}

static int job_work(void *arg, size_t i, unsigned job, struct vhc_result *r)
{
    struct run *run = arg;
    if (job_template(run, job) < 0)
        return -1;
    char id[300];
    const struct vhc_case *c = nth_case(run, i, id, sizeof id);
    trace_header(run, id);
    return run_case(run, c, r);
}

static void job_done(void *arg, size_t i, struct vhc_result *r)
{
    record_nth(arg, i, r);
}

static int run_jobs(struct run *run, size_t total)
{
    unsigned longest = 0;
    for (size_t i = 0; i < run->nsel; i++)
        if (run->sel[i]->timeout_s > longest)
            longest = run->sel[i]->timeout_s;
    struct vhc_jobs_ops ops = {
        .work = job_work, .done = job_done, .arg = run,
        .item_limit_s = (longest > VHC_DEFAULT_TIMEOUT_S ? longest : VHC_DEFAULT_TIMEOUT_S) *
                        run->o->timeout_scale + 30,
    };
    if (vhc_jobs_run(run->o->jobs, total, &ops, &interrupted) == 0)
        return 0;
    if (!interrupted)
        interrupted = SIGTERM;   /* a worker could not start: stop as interrupted */
    bail_out(run);
    return -1;
}

static int run_all(struct run *run)
{
    size_t total = run->nsel * profile_count(run) * repeat_count(run);
    vhc_tap_begin(stdout, (unsigned)total);
    if (run->tap)
        vhc_tap_begin(run->tap, (unsigned)total);
    /* what produces it (version ... options; the shard, so `report` can
     * merge the shards and see one missing) */
    vhc_rrun_write_header(stdout, &run->meta);
    if (run->tap)
        vhc_rrun_write_header(run->tap, &run->meta);
    vhc_progress_begin(&run->progress, total);
    if (run->o->jobs > 1 && run_jobs(run, total) < 0)
        return 128 + interrupted;
    for (size_t i = 0; run->o->jobs <= 1 && i < total; i++)
        if (run_nth(run, i) < 0)
            return 128 + interrupted;
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
    install_signals();
    int rc = 2;
    if (setup(run) == 0) {
        if (o->list_only) {
            list_selected(run);
            rc = 0;
        } else {
            rc = run_all(run);
        }
        char why[64] = "";
        if (interrupted)
            snprintf(why, sizeof why, "interrupted by SIG%s", sigabbrev_np(interrupted));
        if (vhc_report_close(run->report, interrupted ? why : NULL) < 0 && rc < 2)
            rc = 2;
    }
    teardown(run);
    free(run);
    return rc;
}

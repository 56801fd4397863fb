/* The back end's life cycle: find the default, expand the command template,
 * start it in its own process group with its output in a log file, notice
 * a crash, stop it (TERM, grace, KILL) and keep the last lines of its log.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "reaper.h"

#define REFNET "vhost-refnet"
#define TAIL_BYTES 16384

/* Is path safe to paste into a shell command unquoted? */
static bool shell_plain(const char *s)
{
    return s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                       "0123456789/._-+,:@%=")] == '\0';
}

/* s single-quoted for sh when it needs it; malloc'd */
static char *shell_quote(const char *s)
{
    if (shell_plain(s))
        return strdup(s);
    size_t n = 3;
    for (const char *p = s; *p; p++)
        n += *p == '\'' ? 4 : 1;
    char *q = malloc(n), *o = q;
    if (!q)
        return NULL;
    *o++ = '\'';
    for (; *s; s++) {
        if (*s == '\'') {
            memcpy(o, "'\\''", 4);
            o += 4;
        } else {
            *o++ = *s;
        }
    }
    strcpy(o, "'");
    return q;
}

static char *find_refnet(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        const char *dir = dirname(exe);
        char cand[PATH_MAX + 64];
        /* installed: beside us (bin/); in the build tree: reference-backend/ */
        snprintf(cand, sizeof cand, "%s/" REFNET, dir);
        if (access(cand, X_OK) == 0)
            return realpath(cand, NULL);
        snprintf(cand, sizeof cand, "%s/../reference-backend/" REFNET, dir);
        if (access(cand, X_OK) == 0)
            return realpath(cand, NULL);
    }
    const char *path = getenv("PATH");
    char *dirs = strdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
    char *found = NULL;
    for (char *save = dirs, *d; !found && dirs && (d = strsep(&save, ":"));) {
        char cand[PATH_MAX + 64];
        snprintf(cand, sizeof cand, "%s/" REFNET, *d ? d : ".");
        if (access(cand, X_OK) == 0)
            found = strdup(cand);
    }
    free(dirs);
    return found;
}

char *vhc_backend_default(enum vhc_mode mode)
{
    char *bin = find_refnet();
    if (!bin)
        return NULL;
    char *q = shell_quote(bin);
    free(bin);
    if (!q)
        return NULL;
    /* two queue pairs, so the multiqueue cases run against the baseline too */
    char *cmd = NULL;
    if (asprintf(&cmd, "%s --socket {socket} --queues 2%s", q,
                 mode == VHC_MODE_CLIENT ? " --client" : "") < 0)
        cmd = NULL;
    free(q);
    return cmd;
}

/* Append n bytes to a growing string. */
static bool append(char **buf, size_t *len, const char *s, size_t n)
{
    char *b = realloc(*buf, *len + n + 1);
    if (!b)
        return false;
    memcpy(b + *len, s, n);
    *len += n;
    b[*len] = '\0';
    *buf = b;
    return true;
}

char *vhc_backend_expand_job(const char *tmpl, const char *socket_path, enum vhc_mode mode,
                             unsigned job)
{
    char *sock = shell_quote(socket_path);
    char num[16];
    snprintf(num, sizeof num, "%u", job);
    const struct { const char *key; const char *value; } vars[] = {
        { "{socket}", sock }, { "{mode}", vhc_mode_name(mode) }, { "{n}", num },
    };
    const size_t nvars = sizeof vars / sizeof vars[0];
    char *out = NULL;
    size_t len = 0;
    bool ok = sock && append(&out, &len, "", 0);
    for (const char *p = tmpl; ok && *p;) {
        size_t i = 0;
        while (i < nvars && strncmp(p, vars[i].key, strlen(vars[i].key)) != 0)
            i++;
        if (i < nvars) {
            ok = append(&out, &len, vars[i].value, strlen(vars[i].value));
            p += strlen(vars[i].key);
        } else {
            ok = append(&out, &len, p++, 1);
        }
    }
    free(sock);
    if (!ok) {
        free(out);
        return NULL;
    }
    return out;
}

char *vhc_backend_expand(const char *tmpl, const char *socket_path, enum vhc_mode mode)
{
    return vhc_backend_expand_job(tmpl, socket_path, mode, 0);
}

/* In the forked child: own group, output to the keeper's pipe, default
 * signals, and death with the runner (its SIGKILL cannot be caught, so the
 * back end must not count on the runner to stop it). */
static void exec_backend(const char *cmd, int out_fd, pid_t runner)
{
    setpgid(0, 0);
    vhc_die_with_parent(runner, SIGKILL);
    signal(SIGPIPE, SIG_DFL);   /* ignored in the runner; exec would keep that */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0)
        dup2(null_fd, STDIN_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    dup2(out_fd, STDERR_FILENO);
    /* the back end inherits nothing of ours: an fd check on it (valgrind
     * --track-fds, /proc counts) must see only what it opened itself */
    close_range(3, ~0u, 0);
    char *script = NULL;
    if (asprintf(&script, "exec %s", cmd) >= 0)
        execl("/bin/sh", "sh", "-c", script, (char *)NULL);
    dprintf(STDERR_FILENO, "vhost-conform: cannot run /bin/sh: %s\n", strerror(errno));
    _exit(127);
}

int vhc_backend_start(struct vhc_backend *b, const char *cmd, const char *log_path)
{
    memset(b, 0, sizeof *b);
    b->keeper.ctl = -1;
    snprintf(b->log_path, sizeof b->log_path, "%s", log_path);
    int out_fd = vhc_logcap_start(&b->keeper, log_path);
    if (out_fd < 0)
        return -1;
    pid_t runner = getpid();
    fflush(NULL);   /* the child must not flush our buffers a second time */
    pid_t pid = fork();
    if (pid == 0)
        exec_backend(cmd, out_fd, runner);
    int err = errno;
    close(out_fd);
    if (pid < 0) {
        vhc_logcap_end(&b->keeper);
        errno = err;
        return -1;
    }
    setpgid(pid, pid);   /* both sides set it: no window where a kill misses */
    b->pid = pid;
    return 0;
}

/* Signals that mean the back end broke, rather than was stopped. */
static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE, SIGSYS, SIGTRAP };

static bool is_crash_signal(int sig)
{
    for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++)
        if (crash_signals[i] == sig)
            return true;
    return false;
}

/* Sanitizers catch the signal (or the bad access) and exit non-zero. */
static bool log_says_sanitizer(struct vhc_backend *b)
{
    char *tail = vhc_backend_tail(b);
    bool found = tail && (strstr(tail, "ERROR: AddressSanitizer") ||
                          strstr(tail, "runtime error:"));
    free(tail);
    return found;
}

/* Has the leader exited?  Peeks without reaping: while it is an unreaped
 * zombie its pid, and so the group id, cannot be reused. */
static bool peek_exit(struct vhc_backend *b)
{
    siginfo_t si = { 0 };
    if (b->exited)
        return true;
    if (waitid(P_PID, (id_t)b->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 ||
        si.si_pid != b->pid)
        return false;
    b->exited = true;
    b->code = si.si_code;
    b->status = si.si_status;
    return true;
}

bool vhc_backend_crashed(struct vhc_backend *b, char *why, size_t len)
{
    if (!b->exited && (b->pid <= 0 || !peek_exit(b)))
        return false;
    bool signaled = b->code == CLD_KILLED || b->code == CLD_DUMPED;
    if (signaled && is_crash_signal(b->status)) {
        snprintf(why, len, "back end killed by SIG%s", sigabbrev_np(b->status));
        return true;
    }
    if (b->code == CLD_EXITED && b->status != 0 && log_says_sanitizer(b)) {
        snprintf(why, len, "back end stopped by a sanitizer (exit status %d)", b->status);
        return true;
    }
    return false;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Reap the leader (after a SIGKILL to the group) and end the keeper. */
static void reap(struct vhc_backend *b)
{
    int st = 0;
    while (waitpid(b->pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (!b->exited) {   /* it needed the KILL: say so in the same terms */
        b->exited = true;
        b->code = WIFSIGNALED(st) ? CLD_KILLED : CLD_EXITED;
        b->status = WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st);
    }
    b->pid = 0;
    vhc_logcap_end(&b->keeper);
}

void vhc_backend_stop(struct vhc_backend *b, int grace_ms)
{
    if (b->pid <= 0) {
        vhc_logcap_end(&b->keeper);
        return;
    }
    if (!peek_exit(b))
        kill(-b->pid, SIGTERM);
    for (int waited = 0; !peek_exit(b) && waited < grace_ms; waited += 10)
        sleep_ms(10);
    kill(-b->pid, SIGKILL);   /* the leader if it is still there, and whatever it forked */
    reap(b);
}

void vhc_backend_kill_group(struct vhc_backend *b)
{
    if (b->pid <= 0)
        return;
    kill(-b->pid, SIGKILL);
    reap(b);
}

char *vhc_backend_tail(struct vhc_backend *b)
{
    vhc_logcap_sync(&b->keeper);
    return vhc_log_tail(b->log_path);
}

/* Is it there: a socket file at sock (server), a connection waiting on
 * listen_fd (client)? */
static bool is_ready(enum vhc_mode mode, const char *sock, int listen_fd)
{
    if (mode == VHC_MODE_CLIENT) {
        struct pollfd p = { .fd = listen_fd, .events = POLLIN };
        return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
    }
    struct stat st;
    return lstat(sock, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* The last line of the back end's log, for a one-line reason. */
static void last_line(struct vhc_backend *b, char *out, size_t len)
{
    char *tail = vhc_backend_tail(b);
    out[0] = '\0';
    if (tail) {
        size_t n = strlen(tail);
        while (n && tail[n - 1] == '\n')
            tail[--n] = '\0';
        char *nl = strrchr(tail, '\n');
        snprintf(out, len, "%s", nl ? nl + 1 : tail);
    }
    free(tail);
}

int vhc_backend_wait_ready(struct vhc_backend *b, enum vhc_mode mode, const char *sock,
                           int listen_fd, int ms, volatile sig_atomic_t *stop, char *why,
                           size_t len)
{
    const char *what = mode == VHC_MODE_CLIENT ? "connected to" : "listened on";
    for (int waited = 0;; waited += 5) {
        if (is_ready(mode, sock, listen_fd))
            return 0;
        if (stop && *stop) {
            why[0] = '\0';
            return -1;
        }
        if (peek_exit(b) || waited >= ms)
            break;
        sleep_ms(5);
    }
    char said[200];
    last_line(b, said, sizeof said);
    char how[64], when[32] = "";
    if (!b->exited) {
        snprintf(how, sizeof how, "is still running but has not");
        snprintf(when, sizeof when, " within %d ms", ms);
    } else if (b->code == CLD_EXITED) {
        snprintf(how, sizeof how, "exited with status %d before it", b->status);
    } else {
        snprintf(how, sizeof how, "was killed by SIG%s before it", sigabbrev_np(b->status));
    }
    snprintf(why, len, "the back end %s %s %s%s%s%s", how, what, sock, when,
             said[0] ? "; its last output: " : "", said);
    return -1;
}

/* The last VHC_TAIL_LINES non-blank lines of a log, made safe for a YAML
 * block scalar as TAP consumers read it: no blank lines, no trailing blanks,
 * printable ASCII only, the first line not indented. */
char *vhc_log_tail(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    off_t size = lseek(fd, 0, SEEK_END);
    off_t from = size > TAIL_BYTES ? size - TAIL_BYTES : 0;
    char *buf = malloc(TAIL_BYTES + 2);
    ssize_t n = buf ? pread(fd, buf, TAIL_BYTES, from) : -1;
    close(fd);
    if (n <= 0) {
        free(buf);
        return NULL;
    }
    buf[n] = '\n';
    buf[n + 1] = '\0';
    /* line starts of the non-blank lines, newest last */
    size_t starts[VHC_TAIL_LINES], lens[VHC_TAIL_LINES];
    unsigned kept = 0;
    for (char *line = buf, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        size_t len = (size_t)(nl - line);
        while (len && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
            len--;
        if (len == 0)
            continue;
        if (kept == VHC_TAIL_LINES) {
            memmove(starts, starts + 1, sizeof starts - sizeof starts[0]);
            memmove(lens, lens + 1, sizeof lens - sizeof lens[0]);
            kept--;
        }
        starts[kept] = (size_t)(line - buf);
        lens[kept++] = len;
    }
    if (kept == 0) {
        free(buf);
        return NULL;
    }
    while (lens[0] && (buf[starts[0]] == ' ' || buf[starts[0]] == '\t')) {
        starts[0]++;
        lens[0]--;
    }
    char *out = malloc((size_t)n + 2), *w = out;
    for (unsigned i = 0; out && i < kept; i++) {
        for (size_t k = 0; k < lens[i]; k++) {
            unsigned char c = (unsigned char)buf[starts[i] + k];
            *w++ = (c == '\t') ? ' ' : (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
        }
        *w++ = '\n';
    }
    if (out)
        *w = '\0';
    free(buf);
    return out;
}

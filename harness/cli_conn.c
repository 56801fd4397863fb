/* One back end and one connection for the interactive commands. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static int make_dir(struct vhc_cli_conn *c)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(c->dir, sizeof c->dir, "%s/vhc-cli.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(c->dir)) {
        fprintf(stderr, "vhost-conform: mkdtemp: %s\n", strerror(errno));
        c->dir[0] = '\0';
        return -1;
    }
    snprintf(c->log, sizeof c->log, "%s/backend.log", c->dir);
    if (snprintf(c->sock, sizeof c->sock, "%s/vu.sock", c->dir) >= (int)sizeof c->sock) {
        fprintf(stderr, "vhost-conform: socket path too long under %s\n", c->dir);
        return -1;
    }
    return 0;
}

/* Start the back end from c->tmpl; a new life keeps the last one's log as
 * backend.log.N. */
static int start_backend(struct vhc_cli_conn *c)
{
    if (c->lives) {
        char old[sizeof c->log + 16];
        snprintf(old, sizeof old, "%s.%u", c->log, c->lives);
        rename(c->log, old);
    }
    unlink(c->sock);   /* a killed listener leaves it; some back ends refuse to bind over it */
    char *cmd = vhc_backend_expand(c->tmpl, c->sock, VHC_MODE_SERVER);
    int rc = cmd ? vhc_backend_start(&c->be, cmd, c->log) : -1;
    if (rc < 0)
        fprintf(stderr, "vhost-conform: cannot start back end: %s\n", strerror(errno));
    else
        c->lives++;
    free(cmd);
    return rc;
}

int vhc_cli_open(struct vhc_cli_conn *c, const char *backend, const char *socket,
                 int timeout_ms)
{
    memset(c, 0, sizeof *c);
    c->fe = malloc(sizeof *c->fe);
    if (!c->fe)
        return -1;
    mfe_init(c->fe, timeout_ms);
    if (socket) {
        snprintf(c->sock, sizeof c->sock, "%s", socket);
    } else {
        c->tmpl = backend ? strdup(backend) : vhc_backend_default(VHC_MODE_SERVER);
        if (!c->tmpl) {
            fprintf(stderr, "vhost-conform: no back end: pass --backend 'CMD {socket}' "
                            "or --socket PATH\n");
            return -1;
        }
        if (make_dir(c) < 0 || start_backend(c) < 0)
            return -1;
    }
    if (mfe_connect(c->fe, c->sock) < 0) {
        fprintf(stderr, "vhost-conform: connect %s: %s\n", c->sock, mfe_error(c->fe));
        char *tail = c->be.pid ? vhc_backend_tail(&c->be) : NULL;
        if (tail)
            fprintf(stderr, "back end output:\n%s", tail);
        free(tail);
        return -1;
    }
    return 0;
}

void vhc_cli_close(struct vhc_cli_conn *c)
{
    if (c->fe) {
        mfe_close(c->fe);
        free(c->fe);
        c->fe = NULL;
    }
    vhc_backend_stop(&c->be, 2000);
    free(c->tmpl);
    c->tmpl = NULL;
    if (c->dir[0]) {
        unlink(c->sock);
        unlink(c->log);
        for (unsigned i = 1; i < c->lives; i++) {
            char old[sizeof c->log + 16];
            snprintf(old, sizeof old, "%s.%u", c->log, i);
            unlink(old);
        }
        rmdir(c->dir);   /* a back end that left other files keeps it: say so */
        if (access(c->dir, F_OK) == 0)
            fprintf(stderr, "vhost-conform: left %s behind\n", c->dir);
    }
}

/* ---- the shell's life-cycle commands ---- */

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* "exited with status 1", "killed by SIGSEGV" of an exited back end */
static void exit_text(const struct vhc_backend *b, char *why, size_t len)
{
    if (b->code == CLD_EXITED)
        snprintf(why, len, "exited with status %d", b->status);
    else
        snprintf(why, len, "was killed by SIG%s", sigabbrev_np(b->status));
}

bool vhc_cli_backend_gone(struct vhc_cli_conn *c, char *why, size_t len)
{
    siginfo_t si = { 0 };
    if (c->be.pid <= 0 ||
        waitid(P_PID, (id_t)c->be.pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 ||
        si.si_pid != c->be.pid)
        return false;
    struct vhc_backend b = { .code = si.si_code, .status = si.si_status };
    exit_text(&b, why, len);
    return true;
}

int vhc_cli_reconnect(struct vhc_cli_conn *c)
{
    mfe_disconnect(c->fe);
    if (mfe_connect(c->fe, c->sock) < 0) {
        printf("reconnect: %s\n", mfe_error(c->fe));
        return -1;
    }
    printf("connected to %s\n", c->sock);
    return 0;
}

int vhc_cli_kill(struct vhc_cli_conn *c, int sig)
{
    if (!c->tmpl) {
        printf("kill: the back end was not started here (--socket)\n");
        return -1;
    }
    char why[64];
    if (c->be.pid <= 0 || vhc_cli_backend_gone(c, why, sizeof why)) {
        printf("kill: the back end is not running%s%s\n", c->be.pid > 0 ? ": it " : "",
               c->be.pid > 0 ? why : "");
        return -1;
    }
    pid_t pid = c->be.pid;
    if (kill(-pid, sig) < 0) {
        printf("kill: %s\n", strerror(errno));
        return -1;
    }
    /* a signal that ends it: say how it went (it may catch TERM and exit) */
    for (int waited = 0; waited < 2000 && !vhc_cli_backend_gone(c, why, sizeof why);
         waited += 10)
        sleep_ms(10);
    if (vhc_cli_backend_gone(c, why, sizeof why))
        printf("back end (pid %d) %s\n", (int)pid, why);
    else
        printf("sent SIG%s to the back end (pid %d); it still runs\n", sigabbrev_np(sig),
               (int)pid);
    return 0;
}

int vhc_cli_restart(struct vhc_cli_conn *c)
{
    if (!c->tmpl) {
        printf("restart: the back end was not started here (--socket)\n");
        return -1;
    }
    mfe_disconnect(c->fe);
    char why[64] = "stopped";   /* or how it had ended on its own */
    if (c->be.pid > 0)
        vhc_cli_backend_gone(c, why, sizeof why);
    vhc_backend_stop(&c->be, 2000);
    if (start_backend(c) < 0) {
        printf("restart: cannot start the back end: %s\n", strerror(errno));
        return -1;
    }
    if (mfe_connect(c->fe, c->sock) < 0) {
        printf("restart: %s\n", mfe_error(c->fe));
        return -1;
    }
    printf("back end restarted (pid %d; the last one %s); connected to %s\n", (int)c->be.pid,
           why, c->sock);
    return 0;
}

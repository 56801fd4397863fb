/* The runner's side of the control channel (the child's side and the wire
 * format are in caseapi/backend_ctl.c): the case asks, the runner kills or
 * restarts the back end it owns, and answers once it is done. */
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

void vhc_control_init(struct vhc_control *c, int fd, const char *tmpl, const char *sock,
                      enum vhc_mode mode, struct vhc_backend *be, const char *log)
{
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->tmpl = tmpl;
    c->sock = sock;
    c->mode = mode;
    c->be = be;
    c->log = log;
    c->messages = -1;
}

static void answer(struct vhc_control *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void answer(struct vhc_control *c, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    /* a child that died meanwhile: nothing to tell (SIGPIPE is ignored) */
    if (write(c->fd, line, (size_t)n) < 0)
        return;
}

/* A back end that died on its own before the case asked is still a crash. */
static void note_crash(struct vhc_control *c, const char *when)
{
    char why[128];
    if (!c->crashed[0] && vhc_backend_crashed(c->be, why, sizeof why))
        snprintf(c->crashed, sizeof c->crashed, "%s, before the case asked to %s it", why, when);
}

/* SIGKILL to the group, reap the leader; it is then no longer ours to judge. */
int vhc_control_kill(struct vhc_control *c)
{
    struct vhc_backend *b = c->be;
    if (!c->tmpl) {
        errno = EPERM;
        return -1;
    }
    if (b->pid <= 0)
        return 0;
    note_crash(c, "kill");
    vhc_backend_kill_group(b);
    b->exited = false;
    c->kills++;
    return 0;
}

int vhc_control_restart(struct vhc_control *c)
{
    if (!c->tmpl) {
        errno = EPERM;
        return -1;
    }
    if (c->be->pid > 0) {
        note_crash(c, "restart");
        vhc_control_kill(c);
    }
    /* keep the last life's log beside the new one */
    char old[4200];
    snprintf(old, sizeof old, "%s.%u", c->log, c->restarts + 1);
    rename(c->log, old);
    /* a listener that was killed leaves its socket file; some back ends
     * (DPDK) refuse to bind over it */
    if (c->mode == VHC_MODE_SERVER)
        unlink(c->sock);
    char *cmd = vhc_backend_expand_job(c->tmpl, c->sock, c->mode, c->job);
    int rc = cmd ? vhc_backend_start(c->be, cmd, c->log) : -1;
    free(cmd);
    if (rc == 0)
        c->restarts++;
    return rc;
}

static void serve_line(struct vhc_control *c, const char *line)
{
    char key[64];
    long value;
    if (strncmp(line, "tell ", 5) == 0 && sscanf(line + 5, "%63s %ld", key, &value) == 2) {
        if (strcmp(key, "messages") == 0)
            c->messages = value;
        answer(c, "ok");
    } else if (strcmp(line, "kill") == 0 || strcmp(line, "restart") == 0) {
        if (!c->tmpl) {
            answer(c, "unsupported the back end was not started by vhost-conform (--socket)");
        } else if (line[0] == 'k') {
            vhc_control_kill(c);
            answer(c, "ok");
        } else if (vhc_control_restart(c) == 0) {
            answer(c, "ok");
        } else {
            answer(c, "error cannot start the back end again: %s", strerror(errno));
        }
    } else {
        answer(c, "error unknown request '%.100s'", line);
    }
}

int vhc_control_serve(struct vhc_control *c)
{
    if (c->fd < 0)
        return -1;
    ssize_t n = read(c->fd, c->line + c->len, sizeof c->line - 1 - c->len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    c->len += (size_t)n;
    c->line[c->len] = '\0';
    for (char *nl; (nl = strchr(c->line, '\n'));) {
        *nl = '\0';
        serve_line(c, c->line);
        size_t rest = c->len - (size_t)(nl + 1 - c->line);
        memmove(c->line, nl + 1, rest + 1);
        c->len = rest;
    }
    if (c->len == sizeof c->line - 1)   /* no newline in a full buffer: junk */
        c->len = 0;
    return 0;
}

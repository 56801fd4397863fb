/* One back end and one connection for the interactive commands. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
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

static int start_backend(struct vhc_cli_conn *c, const char *backend)
{
    char *tmpl = backend ? strdup(backend) : vhc_backend_default(VHC_MODE_SERVER);
    if (!tmpl) {
        fprintf(stderr, "vhost-conform: no back end: pass --backend 'CMD {socket}' "
                        "or --socket PATH\n");
        return -1;
    }
    char *cmd = vhc_backend_expand(tmpl, c->sock, VHC_MODE_SERVER);
    int rc = cmd ? vhc_backend_start(&c->be, cmd, c->log) : -1;
    if (rc < 0)
        fprintf(stderr, "vhost-conform: cannot start back end: %s\n", strerror(errno));
    free(cmd);
    free(tmpl);
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
    } else if (make_dir(c) < 0 || start_backend(c, backend) < 0) {
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
    if (c->dir[0]) {
        unlink(c->sock);
        unlink(c->log);
        rmdir(c->dir);   /* a back end that left other files keeps it: say so */
        if (access(c->dir, F_OK) == 0)
            fprintf(stderr, "vhost-conform: left %s behind\n", c->dir);
    }
}

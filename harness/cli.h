/* The interactive commands' shared parts: one back end and one connection
 * (shell, features) and the man-page help texts. */
#ifndef VHC_CLI_H
#define VHC_CLI_H

#include <limits.h>

#include "harness.h"
#include "mfe.h"

struct vhc_cli_conn {
    struct mfe *fe;             /* heap: it is large */
    struct vhc_backend be;      /* started by us, or pid 0 with --socket */
    char dir[PATH_MAX];         /* private directory for socket and log */
    char sock[108];
    char log[PATH_MAX + 16];
};

/* Start the back end (template, or the bundled vhost-refnet when both are
 * NULL) or use socket, then connect within timeout_ms.  Returns 0, or -1
 * with a message on stderr; vhc_cli_close undoes either way. */
int vhc_cli_open(struct vhc_cli_conn *c, const char *backend, const char *socket,
                 int timeout_ms);
void vhc_cli_close(struct vhc_cli_conn *c);

int vhc_cmd_shell(int argc, char **argv);
int vhc_cmd_features(int argc, char **argv);

/* The man page of a command ("run", "shell", ...; NULL = the overview) on
 * stdout; -1 when there is none. */
int vhc_help(const char *command);

#endif

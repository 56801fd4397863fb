/* The interactive commands' shared parts: one back end and one connection
 * (shell, features) and the man-page help texts. */
#ifndef VHC_CLI_H
#define VHC_CLI_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include "harness.h"
#include "mfe.h"

struct vhc_cli_conn {
    struct mfe *fe;             /* heap: it is large */
    struct vhc_backend be;      /* started by us, or pid 0 with --socket */
    char *tmpl;                 /* the back end's command template; NULL with --socket */
    unsigned lives;             /* back ends started so far (restart keeps the logs) */
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
/* The shell's life-cycle commands.  Each returns 0, or -1 with a message
 * on stdout (they are part of a session's output). */
int vhc_cli_reconnect(struct vhc_cli_conn *c);
int vhc_cli_kill(struct vhc_cli_conn *c, int sig);
int vhc_cli_restart(struct vhc_cli_conn *c);
/* Has the back end started here exited?  Fills why ("exited with status 1",
 * "was killed by SIGSEGV"); false when it runs or was not started here. */
bool vhc_cli_backend_gone(struct vhc_cli_conn *c, char *why, size_t len);

int vhc_cmd_shell(int argc, char **argv);
int vhc_cmd_features(int argc, char **argv);

/* ---- the manual pages (help.c) and what is made of them (help_fmt.c) ---- */
struct vhc_help_page {
    const char *name;           /* "run"; NULL for the overview */
    const char *text;           /* NAME, SYNOPSIS, DESCRIPTION, OPTIONS, ... */
    bool common_exit;           /* followed by the common EXIT STATUS section */
};

/* Every command's page, ended by one whose name is NULL. */
const struct vhc_help_page *vhc_help_pages(void);
/* A command's page (NULL = the overview), or NULL when there is none. */
const struct vhc_help_page *vhc_help_find(const char *command);
const char *vhc_help_exit_common(void);
/* The man page of a command ("run", "shell", ...; NULL = the overview) on
 * stdout; -1 when there is none. */
int vhc_help(const char *command);
/* The usage a bad option prints, made of the page's SYNOPSIS and OPTIONS:
 * to stderr; returns 2 (the usage error's exit status) for `return`. */
int vhc_usage(const char *command);
/* The page as roff, man(7). Returns 0, or -1 when there is none. */
int vhc_help_man(const char *command, FILE *f);
/* `vhost-conform help [COMMAND] | --man [COMMAND] | --man-dir DIR` */
int vhc_cmd_help(int argc, char **argv);

#endif

/* Before the first case: can the run be set up at all?  What is wrong here
 * would break every case the same way, so the runner bails out once with
 * the reason instead of failing each case after a wait. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

#define SUN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

/* Words sh runs itself: no file to look for. */
static bool shell_word(const char *w)
{
    static const char *const words[] = {
        "exec", "command", "eval", "env", "nice", "nohup", "timeout", "cd", ".", "set",
        "export", "ulimit", "umask", "trap", "if", "for", "while", "until", "case", "{",
        "(", "!", "builtin", "setsid", "taskset", "stdbuf", "unshare",
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcmp(w, words[i]) == 0)
            return true;
    return false;
}

/* The program the template runs: the first word that is not VAR=value.
 * false when the word is not plain (quotes, expansions): sh decides. */
static bool program_word(const char *cmd, char *out, size_t len)
{
    for (const char *p = cmd;;) {
        p += strspn(p, " \t\n");
        size_t n = strcspn(p, " \t\n");
        if (n == 0 || n >= len)
            return false;
        snprintf(out, len, "%.*s", (int)n, p);
        const char *eq = strchr(out, '=');
        if (eq && eq > out && strspn(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                          "0123456789_") == (size_t)(eq - out)) {
            p += n;
            continue;
        }
        return strspn(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                           "0123456789/._+-,@%") == n;
    }
}

static bool runnable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Found on PATH, as sh looks for it. */
static bool on_path(const char *name)
{
    const char *path = getenv("PATH");
    char *dirs = strdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
    bool found = false;
    for (char *save = dirs, *d; !found && dirs && (d = strsep(&save, ":"));) {
        char *cand = NULL;
        if (asprintf(&cand, "%s/%s", *d ? d : ".", name) < 0)
            break;
        found = runnable(cand);
        free(cand);
    }
    free(dirs);
    return found;
}

static int check_program(const char *tmpl, char *why, size_t len)
{
    char word[PATH_MAX];
    if (!program_word(tmpl, word, sizeof word) || shell_word(word))
        return 0;
    if (strchr(word, '/') ? runnable(word) : on_path(word))
        return 0;
    if (strchr(word, '/'))
        snprintf(why, len, "the back end's program %s %s", word,
                 access(word, F_OK) == 0 ? "is not an executable file" : "does not exist");
    else
        snprintf(why, len, "the back end's program %s is not found in PATH (%s)", word,
                 getenv("PATH") ? getenv("PATH") : "unset");
    return -1;
}

static int check_socket_path(const char *socket_opt, char *why, size_t len)
{
    char path[PATH_MAX + 64];
    const char *tmp = getenv("TMPDIR");
    if (socket_opt)
        snprintf(path, sizeof path, "%s", socket_opt);
    else
        snprintf(path, sizeof path, "%s/" VHC_CASE_DIR "/" VHC_CASE_SOCKET,
                 tmp && *tmp ? tmp : "/tmp");
    if (strlen(path) <= SUN_PATH_MAX)
        return 0;
    snprintf(why, len, "the socket path %s is %zu bytes; a UNIX socket's holds at most %zu%s",
             path, strlen(path), SUN_PATH_MAX,
             socket_opt ? "" : " (set TMPDIR to a shorter directory)");
    return -1;
}

int vhc_preflight(const char *tmpl, const char *socket_opt, char *why, size_t len)
{
    if (check_socket_path(socket_opt, why, len) < 0)
        return -1;
    if (!tmpl)
        return 0;
    if (!strstr(tmpl, "{socket}")) {
        snprintf(why, len, "the back-end command has no {socket}: it would not know which "
                           "socket to use (%s)", tmpl);
        return -1;
    }
    return check_program(tmpl, why, len);
}

/* The case child's side of the control channel (harness/control.c serves
 * it): one request line, one answer line.
 *
 *   kill\n | restart\n | tell KEY VALUE\n
 *   -> ok\n | unsupported REASON\n | error REASON\n
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "caseapi.h"

#define ANSWER_MS vhc_ms(15000)   /* a kill reaps, a restart forks: seconds at worst */

enum answer { ANS_OK, ANS_UNSUPPORTED, ANS_ERROR };

/* One line, up to ANSWER_MS. */
static int read_line(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    while (len + 1 < cap) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int rc = poll(&p, 1, ANSWER_MS);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        ssize_t n = read(fd, buf + len, 1);
        if (n <= 0)
            return -1;
        if (buf[len] == '\n')
            break;
        len++;
    }
    buf[len] = '\0';
    return 0;
}

/* Send req, read the answer; why gets the reason. */
static enum answer ask(struct vhc_ctx *ctx, const char *req, char *why, size_t cap)
{
    char line[512];
    snprintf(why, cap, "no control channel to the runner");
    if (ctx->control_fd < 0)
        return ANS_UNSUPPORTED;
    /* the channel is a socket: the protocol's raw send writes it whole */
    if (vhu_send_raw(ctx->control_fd, req, strlen(req), NULL, 0) != VHU_IO_OK ||
        read_line(ctx->control_fd, line, sizeof line) < 0) {
        snprintf(why, cap, "the runner did not answer '%.*s' within %d ms",
                 (int)strcspn(req, "\n"), req, ANSWER_MS);
        return ANS_ERROR;
    }
    static const struct { const char *word; enum answer a; } words[] = {
        { "ok", ANS_OK }, { "unsupported", ANS_UNSUPPORTED }, { "error", ANS_ERROR },
    };
    for (size_t i = 0; i < ARRAY_LEN(words); i++) {
        size_t n = strlen(words[i].word);
        if (strncmp(line, words[i].word, n) == 0 && (line[n] == ' ' || line[n] == '\0')) {
            snprintf(why, cap, "%s", line[n] ? line + n + 1 : "");
            return words[i].a;
        }
    }
    snprintf(why, cap, "unreadable answer from the runner: %.200s", line);
    return ANS_ERROR;
}

/* ok returns; unsupported skips; error fails. */
static void request(struct vhc_ctx *ctx, const char *req, const char *what)
{
    char why[512];
    enum answer a = ask(ctx, req, why, sizeof why);
    if (a == ANS_UNSUPPORTED)
        vhc_skip(ctx, "cannot %s the back end: %s", what, why);
    if (a == ANS_ERROR)
        VHC_FAIL_HERE(ctx, "harness.backend",
                 "expected the runner to %s the back end; it said: %s", what, why);
    mfe_note(&ctx->fe, "harness: back end %s", strcmp(what, "kill") == 0 ? "killed" : "restarted");
}

void vhc_backend_kill(struct vhc_ctx *ctx)
{
    request(ctx, "kill\n", "kill");
}

void vhc_backend_restart(struct vhc_ctx *ctx)
{
    request(ctx, "restart\n", "restart");
}

int vhc_backend_kill_hook(void *arg)
{
    struct vhc_ctx *ctx = arg;
    char why[512];
    return ask(ctx, "kill\n", why, sizeof why) == ANS_OK ? 0 : -1;
}

void vhc_tell_runner(struct vhc_ctx *ctx, const char *key, long value)
{
    char req[128], why[256];
    snprintf(req, sizeof req, "tell %s %ld\n", key, value);
    (void)ask(ctx, req, why, sizeof why);   /* nobody listening: nothing to do */
}

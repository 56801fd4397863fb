/* Fault injection in the send path (see mfe_fault.h). */
#include "mfe_fault.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *const kind_names[MFE_FAULT_KIND_COUNT] = {
    [MFE_FAULT_NONE] = "none",       [MFE_FAULT_CUT] = "cut",
    [MFE_FAULT_TRUNCATE] = "truncate", [MFE_FAULT_CORRUPT] = "corrupt",
    [MFE_FAULT_DELAY] = "delay",     [MFE_FAULT_KILL] = "kill",
};

int mfe_fault_kind_parse(const char *word)
{
    for (int k = MFE_FAULT_CUT; k < MFE_FAULT_KIND_COUNT; k++)
        if (strcmp(word, kind_names[k]) == 0)
            return k;
    return -1;
}

const char *mfe_fault_kind_name(enum mfe_fault_kind k)
{
    return k < MFE_FAULT_KIND_COUNT ? kind_names[k] : "?";
}

/* "17" or "SET_MEM_TABLE" into ft->at / ft->at_req */
static int parse_point(const char *s, struct mfe_fault *ft)
{
    char *end;
    unsigned long n = strtoul(s, &end, 10);
    if (end != s && *end == '\0')
        return (n == 0 || n > 1000000) ? -1 : (ft->at = (unsigned)n, 0);
    ft->at_req = vhu_req_by_name(VHU_CH_FRONT, s);
    return ft->at_req ? 0 : -1;
}

int mfe_fault_parse(const char *spec, struct mfe_fault *out, char *err, size_t errlen)
{
    char buf[96];
    memset(out, 0, sizeof *out);
    out->delay_ms = MFE_FAULT_DELAY_MS;
    if (snprintf(buf, sizeof buf, "%s", spec) >= (int)sizeof buf)
        return snprintf(err, errlen, "fault spec too long: %s", spec), -1;
    char *at = strchr(buf, '@');
    if (!at)
        return snprintf(err, errlen, "fault spec '%s': want KIND@N or KIND@REQUEST", spec), -1;
    *at++ = '\0';
    int kind = mfe_fault_kind_parse(buf);
    if (kind < 0)
        return snprintf(err, errlen, "fault '%s': kinds are cut, truncate, corrupt, delay, "
                                     "kill", buf), -1;
    out->kind = (enum mfe_fault_kind)kind;
    char *colon = strchr(at, ':');
    if (colon) {
        *colon++ = '\0';
        char *end;
        unsigned long ms = strtoul(colon, &end, 10);
        if (kind != MFE_FAULT_DELAY || end == colon || *end || ms > 60000)
            return snprintf(err, errlen, "fault spec '%s': ':MS' (<= 60000) goes with delay "
                                         "only", spec), -1;
        out->delay_ms = (unsigned)ms;
    }
    if (parse_point(at, out) < 0)
        return snprintf(err, errlen, "fault spec '%s': '%s' is neither a message number "
                                     "(1...) nor a request name", spec, at), -1;
    return 0;
}

const char *mfe_fault_format(const struct mfe_fault *ft, char *buf, size_t len)
{
    char point[64], delay[24] = "";
    if (ft->at)
        snprintf(point, sizeof point, "%u", ft->at);
    else
        snprintf(point, sizeof point, "%s", vhu_req_name(VHU_CH_FRONT, ft->at_req));
    if (ft->kind == MFE_FAULT_DELAY)
        snprintf(delay, sizeof delay, ":%u", ft->delay_ms);
    snprintf(buf, len, "%s@%s%s", mfe_fault_kind_name(ft->kind), point, delay);
    return buf;
}

/* ---- applying ---- */

static bool fires(struct mfe_fault *ft, const struct vhu_msg *m)
{
    ft->sent++;
    if (ft->fired || ft->kind == MFE_FAULT_NONE)
        return false;
    return ft->at ? ft->sent == ft->at : m->hdr.request == ft->at_req;
}

/* shutdown, not close: the back end sees the end at once, and our own
 * later sends and receives fail at once too (EPIPE, end of file) instead of
 * waiting out a timeout on a dead descriptor.  mfe_disconnect closes it. */
static void drop_connection(struct mfe *f)
{
    if (f->sock >= 0)
        shutdown(f->sock, SHUT_RDWR);
}

/* Half of the bytes (at least one), with the fds: what a front end that
 * dies in the middle of a write leaves behind. */
static int send_truncated(struct mfe *f, const struct vhu_msg *m)
{
    static uint8_t buf[VHU_HDR_SIZE + VHU_MAX_PAYLOAD];
    size_t len = vhu_encode(m, buf, sizeof buf);
    size_t part = len > 1 ? len / 2 : 1;
    mfe_note(f, "fault: truncate: %zu of %zu bytes sent, then closed", part, len);
    int rc = vhu_send_raw(f->sock, buf, part, m->fds, m->nfds);
    drop_connection(f);
    return rc;
}

/* A header that lies: version 2 and a size no back end can take. */
static int send_corrupt(struct mfe *f, const struct vhu_msg *m)
{
    static uint8_t buf[VHU_HDR_SIZE + VHU_MAX_PAYLOAD];
    size_t len = vhu_encode(m, buf, sizeof buf);
    uint32_t flags = (m->hdr.flags & ~VHU_VERSION_MASK) | 0x2u;
    uint32_t size = m->hdr.size | 0x80000000u;
    memcpy(buf + 4, &flags, 4);
    memcpy(buf + 8, &size, 4);
    mfe_note(f, "fault: corrupt: flags 0x%x, size 0x%x, then closed", flags, size);
    int rc = vhu_send_raw(f->sock, buf, len, m->fds, m->nfds);
    drop_connection(f);
    return rc;
}

static int send_then_kill(struct mfe *f, const struct vhu_msg *m)
{
    int rc = vhu_send(f->sock, m);
    struct mfe_fault *ft = f->fault;
    if (!ft->kill) {
        mfe_note(f, "fault: kill: no way to kill the back end here");
        return rc;
    }
    int krc = ft->kill(ft->kill_arg);
    mfe_note(f, "fault: kill: back end %s", krc == 0 ? "killed" : "not killed");
    return rc;
}

static int apply(struct mfe *f, const struct vhu_msg *m)
{
    struct mfe_fault *ft = f->fault;
    ft->fired = true;
    switch (ft->kind) {
    case MFE_FAULT_CUT: {
        int rc = vhu_send(f->sock, m);
        mfe_note(f, "fault: cut after message %u", ft->sent);
        drop_connection(f);
        return rc;
    }
    case MFE_FAULT_TRUNCATE: return send_truncated(f, m);
    case MFE_FAULT_CORRUPT: return send_corrupt(f, m);
    case MFE_FAULT_DELAY: {
        mfe_note(f, "fault: delay message %u by %u ms", ft->sent, ft->delay_ms);
        struct timespec ts = { ft->delay_ms / 1000, (long)(ft->delay_ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
        return vhu_send(f->sock, m);
    }
    case MFE_FAULT_KILL: return send_then_kill(f, m);
    default: return vhu_send(f->sock, m);
    }
}

int mfe_fault_send(struct mfe *f, const struct vhu_msg *m)
{
    if (!fires(f->fault, m))
        return vhu_send(f->sock, m);
    return apply(f, m);
}

/* Recorded traces (fixtures/qemu-7.2/README.md format) and their replay.
 *
 * A trace is two files: NAME.log (one decoded line per message, with the fd
 * kinds and the session events) and NAME.raw (the exact bytes per message).
 * mfe_trace_load joins them by sequence number.  mfe_replay_run re-issues
 * every front-end message in order on a live connection, with live fds made
 * fresh per kind and live addresses (guest memory laid out as the trace's
 * memory table says, rings where the trace put them), and compares every
 * reply with the trace's.  Differences that depend on the back end (feature
 * words, queue counts, ring positions after traffic) are reported, not
 * failed; everything else must match.
 */
#ifndef MFE_TRACE_H
#define MFE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mfe.h"
#include "vhu.h"

#define MFE_TRACE_KIND 96u   /* bytes of one fd kind ("memfd:NAME(size=0x...)") */

enum mfe_trace_dir {
    MFE_TR_F2B,       /* front end -> back end (main channel) */
    MFE_TR_B2F,       /* back end -> front end: a reply */
    MFE_TR_BREQ_B2F,  /* back-end request channel: the back end's request */
    MFE_TR_BREQ_F2B,  /* back-end request channel: the front end's reply */
};

struct mfe_trace_msg {
    unsigned seq;
    enum mfe_trace_dir dir;
    unsigned session;                 /* from the '# ... session N:' events */
    uint8_t *bytes;                   /* header + payload, exactly */
    size_t len;
    unsigned nfds;
    char kind[VHU_MAX_FDS][MFE_TRACE_KIND];  /* "eventfd", "socket", "memfd:..",
                                                "" when the .log did not say */
};

struct mfe_trace {
    char name[128];                   /* file name without .log/.raw */
    enum vhu_dev dev;                 /* the proxy's -d / --device; net when absent */
    bool dev_given;
    struct mfe_trace_msg *msgs;
    size_t n;
    unsigned parse_session;           /* parser state: the last session event */
    /* bit N: the back end was killed (a "# t=... host: kill" event) before
     * session N, which then talks to a new back-end process */
    uint64_t killed_before;
    bool kill_pending;                /* parser state: a kill since the last session */
};

/* Load PATH.log and PATH.raw (PATH may end in .log or .raw).  Returns 0, or
 * -1 with a message in err. */
int mfe_trace_load(struct mfe_trace *t, const char *path, char *err, size_t errlen);

/* Format a message into err (when err and len), return -1: the error
 * return of the trace readers here and in mfe_tdiff.c. */
int mfe_errf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void mfe_trace_free(struct mfe_trace *t);
/* Parse one .log / .raw line into t (exposed for the unit tests).  Comment
 * and blank lines are accepted and ignored by the raw parser. */
int mfe_trace_log_line(struct mfe_trace *t, const char *line, char *err, size_t errlen);
int mfe_trace_raw_line(struct mfe_trace *t, const char *line, char *err, size_t errlen);
/* Did the recording kill the back end before session n? */
bool mfe_trace_killed_before(const struct mfe_trace *t, unsigned session);
/* "F->B", "B->F", "BREQ B->F", "BREQ F->B" */
const char *mfe_trace_dir_name(enum mfe_trace_dir d);
/* The first B->F reply to request req in the trace, decoded; false if none. */
bool mfe_trace_first_reply(const struct mfe_trace *t, uint32_t req, struct vhu_msg *out);
/* May this trace be replayed against a back end that offers these
 * features?  Net traces always (the suite's device); a blk or fs trace only
 * when the device-specific bits (0-23, 41-63) equal those its own back end
 * offered: a back end of another type answers too differently to compare. */
bool mfe_trace_device_matches(const struct mfe_trace *t, uint64_t offered);

/* ---- replay ---- */

enum mfe_replay_verdict {
    MFE_RPL_OK,        /* sent, or the reply matched */
    MFE_RPL_DIFFERS,   /* reply differs where back ends may differ: reported */
    MFE_RPL_MASKED,    /* sent changed as QEMU would for this back end */
    MFE_RPL_SKIPPED,   /* not sent / not expected, as QEMU would not */
    MFE_RPL_FAIL,      /* a mismatch */
};
const char *mfe_replay_verdict_name(enum mfe_replay_verdict v);

/* One report line: "0048 GET_VRING_BASE differs: trace 9, got 0 (...)". */
typedef void (*mfe_replay_report_fn)(void *arg, unsigned seq, const char *request,
                                     enum mfe_replay_verdict v, const char *detail);
/* (Re)open the connection for a new session; 0 or negative. */
typedef int (*mfe_replay_open_fn)(void *arg, struct mfe *f);
/* Kill the back end, or start it again (0 or negative). */
typedef int (*mfe_replay_backend_fn)(void *arg);

struct mfe_replay_opts {
    mfe_replay_report_fn report;      /* NULL = silent */
    mfe_replay_open_fn open;          /* required */
    /* where the trace killed the back end before a session: kill it at the
     * end of the session before, and start it again before the next one;
     * NULL = that session only reconnects to the same back end */
    mfe_replay_backend_fn kill, restart;
    void *arg;
    int silence_ms;                   /* end-of-session check for unexpected
                                         messages; 0 = 200 */
};

struct mfe_replay_stats {
    unsigned sent, replies, ok, differs, masked, skipped, failed;
    char first_failure[256];          /* "SEQ REQUEST: detail" */
};

/* Replay t over f (f->timeout_ms bounds every wait).  f is opened through
 * o->open for the first session and again for each new session; f's memory
 * is replaced by the trace's layout.  Returns 0 when nothing failed, 1 when
 * something did (see st), -1 when the replay could not go on (st says why). */
int mfe_replay_run(struct mfe *f, const struct mfe_trace *t, const struct mfe_replay_opts *o,
                   struct mfe_replay_stats *st);

#endif

/* Comparing two trace logs (fixtures/qemu-7.2/README.md format) message by
 * message, after normalising what changes from run to run.
 *
 * Normalised away (each rule in docs/scenarios.md, "trace-diff", tested in
 * tests/unit/test_tdiff.c): the sequence number and time; addresses
 * replaced by @N, region uaddrs numbered in order of first appearance in
 * the log, a ring's desc/used/avail/log in order of first appearance among
 * the addresses that ring has had, so that "the same rings again" and "new
 * rings" still differ; the GET_VRING_BASE reply's number (<n>: the back
 * end's count of what the guest moved); SET_VRING_BASE: 0 stays 0, any
 * other number becomes <n>, and after a reconnect in a log with rings 2
 * and up any number is <n> (which pair the guest's traffic took before the
 * kill is the guest's choice); the recorder's own notes ("(proxy: ...)");
 * event lines, except that a message in a new session (a reconnect) is
 * preceded by a session marker numbered among the sessions that carry
 * messages.  Everything else is compared: direction,
 * request, flags, size, fd count and kinds, payload.
 */
#ifndef MFE_TDIFF_H
#define MFE_TDIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct mfe_tdiff_line {
    unsigned lineno;     /* in its file */
    unsigned seq;        /* the message's SEQ; 0 for a session marker */
    char *norm;          /* "DIR REQUEST(n) flags=... payload", normalised */
};

struct mfe_tdiff_log {
    struct mfe_tdiff_line *v;
    size_t n;
    unsigned messages;   /* message lines (not markers) */
};

#define MFE_TDIFF_MAX_LINES 4096u

/* Parse a whole log.  Returns 0, or -1 with "LINE: what" in err for a line
 * that is not an event, a comment or a message. */
int mfe_tdiff_parse(const char *text, struct mfe_tdiff_log *log, char *err, size_t errlen);
int mfe_tdiff_load(const char *path, struct mfe_tdiff_log *log, char *err, size_t errlen);
void mfe_tdiff_free(struct mfe_tdiff_log *log);
/* The normalised form of one message line's text after its direction
 * ("GET_FEATURES(1) flags=..."), for tests; maps are the address numbering
 * of the log being parsed (NULL: a fresh one). */
struct mfe_tdiff_addrs;
int mfe_tdiff_normalise(const char *rest, struct mfe_tdiff_addrs *maps, char *out, size_t cap);

struct mfe_tdiff_opts {
    const char *want_name, *got_name;   /* column headings */
    unsigned width;                     /* of the side-by-side report; 0 = 160 */
    unsigned context;                   /* equal lines shown around a difference */
};

/* Compare; writes a side-by-side report of each difference to out (NULL:
 * none).  Returns the number of lines that differ (0: the same). */
unsigned mfe_tdiff_compare(const struct mfe_tdiff_log *want, const struct mfe_tdiff_log *got,
                           const struct mfe_tdiff_opts *o, FILE *out);

#endif

/* Fault injection in the mock front end's send path.
 *
 * The front end counts the messages it sends through mfe_send (from 1, over
 * the whole life of the struct mfe, across reconnects).  A fault fires once,
 * at one message: the Nth, or the first carrying a given request:
 *
 *   cut       send the message, then close the connection
 *   truncate  send part of the message's bytes, then close
 *   corrupt   send the message with a broken header (version 2, size with
 *             bit 31 set), then close: nothing can follow a lying header
 *   delay     hold the message for delay_ms, then carry on normally
 *   kill      send the message, then ask the kill hook (the harness) to
 *             SIGKILL the back end
 *
 * A spec is "KIND@N", "KIND@REQUEST" (e.g. cut@SET_MEM_TABLE), and for delay
 * "delay@N:MS".  After cut, truncate and corrupt the socket is shut down
 * (both ways), so later sends and receives fail at once.
 */
#ifndef MFE_FAULT_H
#define MFE_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mfe.h"

enum mfe_fault_kind {
    MFE_FAULT_NONE, MFE_FAULT_CUT, MFE_FAULT_TRUNCATE, MFE_FAULT_CORRUPT,
    MFE_FAULT_DELAY, MFE_FAULT_KILL, MFE_FAULT_KIND_COUNT
};

#define MFE_FAULT_DELAY_MS 1000u   /* delay without ":MS" */

struct mfe_fault {
    enum mfe_fault_kind kind;
    unsigned at;               /* message number (from 1); 0 when by request */
    uint32_t at_req;           /* request that fires it (at == 0) */
    unsigned delay_ms;
    /* the kill: returns 0 when the back end is dead; NULL = unsupported */
    int (*kill)(void *arg);
    void *kill_arg;
    /* state */
    unsigned sent;             /* messages counted so far */
    bool fired;
};

/* "cut" -> MFE_FAULT_CUT; -1 for an unknown word. */
int mfe_fault_kind_parse(const char *word);
const char *mfe_fault_kind_name(enum mfe_fault_kind k);
/* Parse a spec into out (state cleared, hook NULL).  0, or -1 with a
 * message in err. */
int mfe_fault_parse(const char *spec, struct mfe_fault *out, char *err, size_t errlen);
/* "cut@17", "delay@SET_OWNER:500" */
const char *mfe_fault_format(const struct mfe_fault *ft, char *buf, size_t len);

/* Called by mfe_send instead of vhu_send when f->fault is set: counts the
 * message and sends it, applying the fault when this is its message.
 * Returns what vhu_send returns. */
int mfe_fault_send(struct mfe *f, const struct vhu_msg *m);

#endif

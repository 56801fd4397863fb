/* The fault matrix, a service of the case API: the front end breaks in the
 * middle of QEMU's init+start+stop (a cut, truncated or corrupt message, a
 * slow front end, the back end killed), then a fresh connection must be
 * served as if nothing happened.
 *
 * cases/faults.c registers fixed points of it, named by request so they
 * mean the same thing on every back end; `vhost-conform run --fault-matrix
 * KIND` has the runner learn the length of a clean sequence (the case
 * vhc_fault_clean_case tells it) and run one point per message number
 * (vhc_fault_case_new). */
#ifndef VHC_FAULT_MATRIX_H
#define VHC_FAULT_MATRIX_H

#include "caseapi.h"
#include "mfe_fault.h"

/* One point: where the fault hits and how; a case's variant. */
struct vhc_fault_point {
    enum mfe_fault_kind kind;
    unsigned at;               /* message number, or 0 */
    const char *req;           /* request name when at is 0 */
    unsigned delay_ms;         /* delay: how long (0 = 1000) */
};

#define VHC_FAULT_RULE \
    "vhost-user spec, 'Communication' and QEMU's reconnect: a front end may vanish at any " \
    "point, mid-message included (QEMU crashed, the chardev was cut); the back end must " \
    "drop that session and serve the next connection from scratch (a malformed header is " \
    "refused, never obeyed)."
#define VHC_FAULT_STEPS \
    "Arm the fault, connect, QEMU init+start+stop (it breaks at the fault), then " \
    "(after a restart, for kill) a fresh connection must go through init+start+stop."
/* what a point case needs: it opens the connections itself */
#define VHC_FAULT_FLAGS VHC_F_NOCONNECT
#define VHC_FAULT_TIMEOUT_S 20u

/* The body of a point case; ctx->c->variant is its struct vhc_fault_point. */
void vhc_fault_point_body(struct vhc_ctx *ctx);

/* "faults/clean": a clean init+start+stop that tells the runner its
 * message count. */
extern const struct vhc_case vhc_fault_clean_case;
/* One point as a case: id "faults/KIND@N", the fault applied at message n
 * of init+start+stop.  kind is an enum mfe_fault_kind.  malloc'd; NULL when
 * out of memory. */
struct vhc_case *vhc_fault_case_new(int kind, unsigned n);
void vhc_fault_case_free(struct vhc_case *c);

#endif

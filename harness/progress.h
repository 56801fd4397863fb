/* The run's progress on stderr (progress.c): a line per case when stderr is
 * a terminal that is not also stdout's (there the TAP lines are the
 * progress); otherwise, for CI logs, a compact line every
 * $VHC_PROGRESS_INTERVAL seconds (default 30; 0 = after every case) and one
 * at the end.  The end also names the listed failures that passed. */
#ifndef VHC_PROGRESS_H
#define VHC_PROGRESS_H

#include <stddef.h>

#include "harness.h"

enum vhc_progress_mode { VHC_PROGRESS_NONE, VHC_PROGRESS_LINES, VHC_PROGRESS_PERIODIC };

struct vhc_progress {
    enum vhc_progress_mode mode;
    size_t total, done;
    double t0, last;           /* monotonic seconds: the start, the last line */
    double interval_s;
    char **xpass;              /* ids of the listed failures that passed */
    size_t nxpass;
};

void vhc_progress_begin(struct vhc_progress *p, size_t total);
/* After case it was recorded (t counts it already). */
void vhc_progress_case(struct vhc_progress *p, const struct vhc_tap_item *it,
                       const struct vhc_tally *t);
/* The last line and the stale expectations; frees what p holds.  expect_file
 * names the expectations (NULL = none), strict says whether they fail it. */
void vhc_progress_end(struct vhc_progress *p, const struct vhc_tally *t,
                      const char *expect_file, bool strict);
/* What p holds, without a last line (an interrupted run). */
void vhc_progress_free(struct vhc_progress *p);

#endif

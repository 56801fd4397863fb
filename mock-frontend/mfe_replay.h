/* Private to the replay (mfe_replay.c, mfe_replay_mem.c). */
#ifndef MFE_REPLAY_H
#define MFE_REPLAY_H

#include "mfe_trace.h"

/* Replace mem with the trace's guest memory (nothing when the trace never
 * sends a memory table).  0, or -1 with err. */
int mfe_replay_mem_build(const struct mfe_trace *t, struct mfe_mem *mem, char *err,
                         size_t errlen);
/* our region with this gpa and size, or NULL */
const struct mfe_region *mfe_replay_region(const struct mfe_mem *mem, uint64_t gpa,
                                           uint64_t size);
/* a memfd named after the trace's kind ("memfd:NAME(size=..)"), size bytes */
int mfe_replay_memfd(const char *kind, uint64_t size);

#endif

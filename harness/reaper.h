/* Nothing outlives the run (reaper.c): subreaping, the parent-death signal,
 * leftover processes killed by name, and the case directory removed whole. */
#ifndef VHC_REAPER_H
#define VHC_REAPER_H

#include <stddef.h>
#include <sys/types.h>

/* Become the reaper of orphans below us (PR_SET_CHILD_SUBREAPER; not
 * inherited across fork: each worker calls it).  0, or -1 with errno. */
int vhc_reaper_init(void);
/* In a child just forked from parent: get sig when the parent dies
 * (PR_SET_PDEATHSIG), and at once when it already has. */
int vhc_die_with_parent(pid_t parent, int sig);
/* After a case, once its processes are reaped: wait for group pgid (0 =
 * none) to empty, then SIGKILL and reap every child still there (each with
 * its group when it leads one), and their children in turn.  Returns how
 * many were killed; said lists them, "PID (COMMAND), ...". */
unsigned vhc_reap_leftovers(pid_t pgid, char *said, size_t len);
/* rm -r path: depth first, symlinks removed and never followed, a
 * directory without search permission opened up first.  0, or -1 when
 * something could not be removed. */
int vhc_rmtree(const char *path);

#endif

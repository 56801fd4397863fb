/* What built this binary: the project's version (CMake's) and the git
 * commit it was built from ("unknown" outside a checkout, "-dirty" with
 * uncommitted changes).  Written at every build by cmake/vhc_version.cmake. */
#ifndef VHC_VERSION_H
#define VHC_VERSION_H

extern const char vhc_version[];
extern const char vhc_commit[];

#endif

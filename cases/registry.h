/* The registry: every case of cases/, sorted by id.  This is all the
 * runner and the CLI know of the case files. */
#ifndef VHC_REGISTRY_H
#define VHC_REGISTRY_H

#include <stddef.h>

#include "caseapi.h"

/* All cases, sorted by id. */
const struct vhc_case *const *vhc_cases(size_t *n);
/* The case with this id, or NULL. */
const struct vhc_case *vhc_case_find(const char *id);

#endif

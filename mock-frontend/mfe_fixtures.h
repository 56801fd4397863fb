/* Where the fixtures are (recorded traces, profiles as text, expectations of
 * known back ends), so a binary finds them wherever it runs: installed,
 * they are at BINDIR/../share/vhost-conform/fixtures; in the build tree,
 * the source tree's.  $VHC_FIXTURES overrides both. */
#ifndef MFE_FIXTURES_H
#define MFE_FIXTURES_H

#include <stddef.h>

/* The directory in use: $VHC_FIXTURES; else the installed one beside this
 * binary when it exists; else, for a binary of the build tree, the source
 * tree's.  NULL when there is none (the message says where it looked). */
const char *mfe_fixtures_dir(char *why, size_t whylen);
/* DIR/rel into buf; -1 (buf holds where it looked) when there is no
 * fixtures directory or the path does not fit. */
int mfe_fixture_path(char *buf, size_t len, const char *rel);

#endif

/* Finding the fixtures directory from the binary's own place (see
 * mfe_fixtures.h).  Paths are compiled in by mock-frontend/CMakeLists.txt. */
#include <libgen.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mfe_fixtures.h"

#ifndef MFE_FIXTURES_REL
#define MFE_FIXTURES_REL "../share/vhost-conform/fixtures"
#endif

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The running binary's directory, resolved; false when unknown. */
static bool exe_dir(char *buf, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    return (size_t)snprintf(buf, len, "%s", dirname(exe)) < len;
}

/* Is dir (resolved) the build tree or below it? */
static bool in_build_tree(const char *dir)
{
#ifdef MFE_BUILD_DIR
    size_t n = strlen(MFE_BUILD_DIR);
    return strncmp(dir, MFE_BUILD_DIR, n) == 0 && (dir[n] == '/' || dir[n] == '\0');
#else
    (void)dir;
    return false;
#endif
}

const char *mfe_fixtures_dir(char *why, size_t whylen)
{
    static char found[PATH_MAX];
    const char *env = getenv("VHC_FIXTURES");
    if (env && *env) {
        snprintf(found, sizeof found, "%s", env);
        return found;
    }
    char dir[PATH_MAX], cand[PATH_MAX + 64];
    if (!exe_dir(dir, sizeof dir)) {
        snprintf(why, whylen, "the binary's directory is unknown and VHC_FIXTURES is unset");
        return NULL;
    }
    snprintf(cand, sizeof cand, "%s/%s", dir, MFE_FIXTURES_REL);
    if (is_dir(cand) && realpath(cand, found))
        return found;
#ifdef MFE_SOURCE_FIXTURES
    /* a binary of the build tree: an installed copy must never fall back on
     * a source tree that happens to be there */
    if (in_build_tree(dir) && is_dir(MFE_SOURCE_FIXTURES)) {
        snprintf(found, sizeof found, "%s", MFE_SOURCE_FIXTURES);
        return found;
    }
#endif
    snprintf(why, whylen, "no fixtures directory: not %s, and VHC_FIXTURES is unset", cand);
    return NULL;
}

int mfe_fixture_path(char *buf, size_t len, const char *rel)
{
    const char *dir = mfe_fixtures_dir(buf, len);
    if (!dir)
        return -1;
    if ((size_t)snprintf(buf, len, "%s/%s", dir, rel) >= len) {
        snprintf(buf, len, "fixture path too long: %s/%s", dir, rel);
        return -1;
    }
    return 0;
}

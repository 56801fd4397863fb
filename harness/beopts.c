/* The back-end options of run, replay, play, shell and features (beopts.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beopts.h"

enum { O_BACKEND = VHC_BEOPT_FIRST, O_SOCKET, O_MODE, O_DEVICE, O_PROFILE, O_PROFILE_FILE,
       O_SCALE };

/* Each shared option, with the VHC_BE_* bits that take it. */
static const struct {
    struct option opt;
    unsigned bits;
} shared[VHC_BEOPT_COUNT] = {
    { { "backend", required_argument, NULL, O_BACKEND }, VHC_BE_BACKEND },
    { { "socket", required_argument, NULL, O_SOCKET }, VHC_BE_SOCKET },
    { { "mode", required_argument, NULL, O_MODE }, VHC_BE_MODE },
    { { "device", required_argument, NULL, O_DEVICE }, VHC_BE_DEVICE },
    { { "profile", required_argument, NULL, O_PROFILE }, VHC_BE_PROFILE | VHC_BE_PROFILES },
    { { "profile-file", required_argument, NULL, O_PROFILE_FILE }, VHC_BE_PROFILE_FILE },
    { { "timeout-scale", required_argument, NULL, O_SCALE }, VHC_BE_SCALE },
};

/* --device names, in the order of enum vhc_device */
static const char *const devices[] = { [VHC_DEV_NET] = "net", [VHC_DEV_BLK] = "blk",
                                       [VHC_DEV_FS] = "fs" };

void vhc_beopts_init(struct vhc_beopts *b, unsigned accept)
{
    memset(b, 0, sizeof *b);
    b->accept = accept;
    b->mode = VHC_MODE_SERVER;
    b->device = VHC_DEV_NET;
    b->timeout_scale = 1.0;
}

const struct option *vhc_beopts_table(const struct vhc_beopts *b, const struct option *own,
                                      struct option *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < VHC_BEOPT_COUNT; i++)
        if (shared[i].bits & b->accept) {
            if (n == cap)
                return NULL;
            out[n++] = shared[i].opt;
        }
    for (size_t i = 0;; i++) {
        if (n == cap)
            return NULL;
        out[n++] = own[i];
        if (!own[i].name)
            return out;
    }
}

static int bad(const char *what, const char *arg)
{
    fprintf(stderr, "vhost-conform: %s, not '%s'\n", what, arg);
    return -1;
}

/* --profile NAME (or all, for a list) */
static int take_profile(struct vhc_beopts *b, const char *name)
{
    bool list = b->accept & VHC_BE_PROFILES;
    bool all = list && strcmp(name, "all") == 0;
    const struct mfe_profile *one = all ? NULL : mfe_profile_find(name);
    if (!all && !one) {
        fprintf(stderr, "vhost-conform: no profile '%s' (see 'vhost-conform profiles')\n",
                name);
        return -1;
    }
    if (!list)
        b->nprofiles = 0;   /* one profile: the last one given */
    for (unsigned i = 0; i < mfe_profile_count(); i++) {
        if (!all && mfe_profile_at(i) != one)
            continue;
        if (b->nprofiles > MFE_PROFILE_MAX)
            return bad("too many profiles", name);
        b->profiles[b->nprofiles++] = mfe_profile_at(i);
    }
    return 0;
}

/* --profile-file PATH: kept for the whole command */
static int take_profile_file(struct vhc_beopts *b, const char *path)
{
    static struct mfe_profile loaded[4];
    static unsigned nloaded;
    char err[512];
    if (!(b->accept & VHC_BE_PROFILES))
        b->nprofiles = 0;
    if (nloaded == sizeof loaded / sizeof loaded[0] || b->nprofiles > MFE_PROFILE_MAX)
        return bad("too many profile files", path);
    if (mfe_profile_load_file(path, &loaded[nloaded], err, sizeof err) < 0) {
        fprintf(stderr, "vhost-conform: %s\n", err);
        return -1;
    }
    b->profiles[b->nprofiles++] = &loaded[nloaded++];
    return 0;
}

static int take_scale(struct vhc_beopts *b, const char *s)
{
    char *end;
    double x = strtod(s, &end);
    if (*end || end == s || !(x > 0) || x > 1000)
        return bad("--timeout-scale takes a number above 0, up to 1000", s);
    b->timeout_scale = x;
    return 0;
}

static int take_device(struct vhc_beopts *b, const char *s)
{
    for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++)
        if (strcmp(s, devices[i]) == 0) {
            b->device = (enum vhc_device)i;
            b->dev = mfe_device_find(s);
            return b->dev ? 0 : -1;
        }
    return bad("--device takes net, blk or fs", s);
}

int vhc_beopts_take(struct vhc_beopts *b, int opt, const char *arg)
{
    switch (opt) {
    case O_BACKEND: b->backend = arg; return 0;
    case O_SOCKET: b->socket = arg; return 0;
    case O_MODE:
        if (strcmp(arg, "server") != 0 && strcmp(arg, "client") != 0)
            return bad("--mode takes server or client", arg);
        b->mode = arg[0] == 's' ? VHC_MODE_SERVER : VHC_MODE_CLIENT;
        return 0;
    case O_DEVICE: return take_device(b, arg);
    case O_PROFILE: return take_profile(b, arg);
    case O_PROFILE_FILE: return take_profile_file(b, arg);
    case O_SCALE: return take_scale(b, arg);
    default: return 1;
    }
}

int vhc_beopts_check(const struct vhc_beopts *b)
{
    if (b->backend && b->socket) {
        fprintf(stderr, "vhost-conform: --backend and --socket exclude each other\n");
        return -1;
    }
    return 0;
}

const struct mfe_profile *vhc_beopts_profile(const struct vhc_beopts *b)
{
    return b->nprofiles ? b->profiles[b->nprofiles - 1] : NULL;
}

int vhc_beopts_ms(const struct vhc_beopts *b, int ms)
{
    double x = ms * b->timeout_scale;
    return x > INT_MAX ? INT_MAX : x < 1 ? 1 : (int)x;
}

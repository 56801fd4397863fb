/* The options that say which back end to talk to and as what, parsed in
 * one place for every command that talks to a back end (run, replay, play,
 * shell, features): --backend, --socket, --mode, --device, --profile,
 * --profile-file and --timeout-scale.  A command names the ones it takes
 * (VHC_BE_*), lets vhc_beopts_table put their getopt entries before its
 * own, and offers every option to vhc_beopts_take before its own switch. */
#ifndef VHC_BEOPTS_H
#define VHC_BEOPTS_H

#include <getopt.h>
#include <stddef.h>

#include "harness.h"
#include "mfe_device.h"
#include "mfe_profile.h"

enum {
    VHC_BE_BACKEND = 1u << 0,      /* --backend 'CMD {socket}' */
    VHC_BE_SOCKET = 1u << 1,       /* --socket PATH; excludes --backend */
    VHC_BE_MODE = 1u << 2,         /* --mode server|client */
    VHC_BE_DEVICE = 1u << 3,       /* --device net|blk|fs */
    VHC_BE_PROFILE = 1u << 4,      /* --profile NAME: one, the last given */
    VHC_BE_PROFILES = 1u << 5,     /* --profile NAME|all: repeatable, a list */
    VHC_BE_PROFILE_FILE = 1u << 6, /* --profile-file PATH (with either) */
    VHC_BE_SCALE = 1u << 7,        /* --timeout-scale X */
};
#define VHC_BE_REACH (VHC_BE_BACKEND | VHC_BE_SOCKET | VHC_BE_MODE)

/* getopt_long codes of the shared options: above any command's own */
#define VHC_BEOPT_FIRST 0x1000
/* entries vhc_beopts_table may add */
#define VHC_BEOPT_COUNT 7u

struct vhc_beopts {
    unsigned accept;               /* VHC_BE_* */
    const char *backend;           /* NULL: the bundled vhost-refnet, or --socket */
    const char *socket;
    enum vhc_mode mode;            /* default server */
    enum vhc_device device;        /* default net */
    const struct mfe_device *dev;  /* the --device given, NULL = none */
    const struct mfe_profile *profiles[MFE_PROFILE_MAX + 1];
    unsigned nprofiles;            /* 0: the default profile */
    double timeout_scale;          /* default 1 */
};

void vhc_beopts_init(struct vhc_beopts *b, unsigned accept);
/* The table for getopt_long: the shared entries b accepts, then own (ended
 * by a zero entry) into out, which holds cap entries.  NULL when they do
 * not fit. */
const struct option *vhc_beopts_table(const struct vhc_beopts *b, const struct option *own,
                                      struct option *out, size_t cap);
/* An option getopt_long returned: 0 taken, -1 a bad value (said on
 * stderr), 1 not a shared option (the command's own). */
int vhc_beopts_take(struct vhc_beopts *b, int opt, const char *arg);
/* After the options: what excludes what.  0, or -1 said on stderr. */
int vhc_beopts_check(const struct vhc_beopts *b);
/* A one-profile command's profile: the one given, or NULL (the default). */
const struct mfe_profile *vhc_beopts_profile(const struct vhc_beopts *b);
/* A wait of ms milliseconds under --timeout-scale. */
int vhc_beopts_ms(const struct vhc_beopts *b, int ms);

#endif

/* QEMU profiles: what one QEMU version's vhost-user-net sends, as data.
 *
 * A profile is a small text file (fixtures/profiles/NAME.profile, format
 * described at the top of each file): `key = value` lines whose switches
 * mfe_qemu.c consults.  The bundled profiles are compiled into the library
 * (mfe_profiles_embedded.c, generated at build time), so an installed
 * vhost-conform needs no source tree; mfe_profile_load_file reads another.
 */
#ifndef MFE_PROFILE_H
#define MFE_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MFE_PROFILE_NAME 32u
#define MFE_PROFILE_DESC 160u
#define MFE_PROFILE_MAX  16u     /* bundled profiles */

struct mfe_profile {
    char name[MFE_PROFILE_NAME];
    char description[MFE_PROFILE_DESC];
    /* protocol features QEMU acks when the back end offers them */
    uint64_t protocol_features;
    /* the virtio-net features the guest ends with (SET_FEATURES carries
     * offered & this, plus MQ when several pairs run) */
    uint64_t guest_features;
    /* ack CONFIGURE_MEM_SLOTS: GET_MAX_MEM_SLOTS at init, ADD_MEM_REG
     * instead of SET_MEM_TABLE (what blk and fs back ends get) */
    bool mem_slots;
    unsigned mem_mb;             /* guest RAM, laid out as QEMU's pc/q35 */
    bool init_sets_call_err;     /* SET_VRING_CALL/ERR per ring at init */
    /* net: a round (pair 0 on, the others off) on every virtio reset: at
     * machine creation (init), the guest driver's probe reset (before a
     * boot start) and after a guest-reset stop */
    bool reset_enable_round;
    unsigned enable_rounds;      /* the guest's feature-write rounds before a
                                    boot start (after the probe reset round) */
    unsigned enable_rounds_rebind;  /* ... before the start of a driver bound again */
    unsigned system_reset_extra_rounds;  /* more rounds after a system_reset's stop */
    bool vring_enable_need_reply;  /* SET_VRING_ENABLE waits for the back end */
    bool vring_fd_need_reply;    /* NEED_REPLY on SET_VRING_KICK/CALL/ERR */
    bool status_after_get_vring_base;  /* SET_STATUS(0) after the rings stop */
};

/* Parse text (a whole profile).  origin names it in messages.  Returns 0,
 * or -1 with "ORIGIN:LINE: what" in err. */
int mfe_profile_parse(const char *text, const char *origin, struct mfe_profile *p,
                      char *err, size_t errlen);
int mfe_profile_load_file(const char *path, struct mfe_profile *p, char *err, size_t errlen);

/* The bundled profiles, sorted by version.  A bundled file that does not
 * parse is left out with a message on stderr (the unit tests parse all). */
unsigned mfe_profile_count(void);
const struct mfe_profile *mfe_profile_at(unsigned i);
const struct mfe_profile *mfe_profile_find(const char *name);

/* The profile a struct mfe without its own uses: qemu-7.2 unless
 * mfe_profile_select chose another (the runner does, before it forks a
 * case).  p must outlive its use; NULL restores the default. */
const struct mfe_profile *mfe_profile_current(void);
void mfe_profile_select(const struct mfe_profile *p);

#define MFE_PROFILE_DEFAULT "qemu-7.2"

/* Embedded sources (generated): name = file name without .profile. */
struct mfe_profile_src {
    const char *name;
    const char *text;
};
extern const struct mfe_profile_src mfe_profile_sources[];
extern const unsigned mfe_profile_nsources;

#endif

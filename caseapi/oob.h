/* Out-of-bounds detection from the outside: guest memory whose file holds
 * bytes the back end was never offered, and a snapshot of every byte so a
 * write anywhere the back end had no business writing is found.
 *
 * Layout of the one memfd (G = OOB_GAP):
 *
 *   file:  [ G canary ][ region 0 (size) ][ G canary ][ region 1 (size) ] EOF
 *   gpa:               [0, size)                      [size, 2*size)
 *
 * The two regions are contiguous in guest-physical space but not in the
 * file, so a back end that treats a buffer crossing gpa `size` as one
 * host range reads or writes the middle canary.  The table offers only the
 * regions (mmap_offset G and 2G + size), so the canaries are file space the
 * back end was never given.  Region 1 ends at the end of the file: reading
 * or writing past it faults in the back end (SIGBUS), which the runner sees
 * as a crash.
 *
 * Our own mapping sits between PROT_NONE guard pages, so a bug of ours that
 * runs off it faults here instead of reading the back end's view.
 *
 * Limits: writes are found by comparing every byte against a snapshot, so
 * a write of the same value is invisible; reads are found only when they
 * fault (past the end of the file) or when what was read comes back in a
 * frame; an access outside the memfd altogether (the back end's own heap)
 * is invisible unless it crashes the back end. */
#ifndef VHC_OOB_H
#define VHC_OOB_H

#include <stdbool.h>
#include <stdint.h>

#include "caseapi.h"

#define OOB_GAP (64u * 1024u)

struct oob {
    uint8_t *file;          /* our mapping of the whole memfd */
    uint64_t file_size;
    uint64_t region_size;
    uint8_t *snap;          /* copy taken by oob_snapshot */
    struct { uint64_t off, len; } allow[2 * MFE_MAX_VQ + 4];
    unsigned nallow;
};

/* Replace ctx->fe.mem with the guarded two-region layout (region_size each,
 * a multiple of 4096), every byte of the file set to a canary pattern.
 * Ends the child on failure. */
void oob_mem_create(struct vhc_ctx *ctx, struct oob *o, uint64_t region_size);
/* File offset of a gpa (for messages), or UINT64_MAX when in no region. */
uint64_t oob_file_off(const struct oob *o, uint64_t gpa);
/* Copy guest bytes [gpa, gpa+len) to out, crossing regions as the guest
 * sees them; false when a byte is in no region. */
bool oob_copy(const struct oob *o, uint64_t gpa, uint64_t len, uint8_t *out);
/* The back end may write [gpa, gpa+len) (used rings, RX buffers). */
void oob_allow(struct vhc_ctx *ctx, struct oob *o, uint64_t gpa, uint64_t len);
/* Allow the used ring of every ring the front end laid out. */
void oob_allow_used_rings(struct vhc_ctx *ctx, struct oob *o);
/* Remember every byte of the file as it is now. */
void oob_snapshot(struct vhc_ctx *ctx, struct oob *o);
/* Take [gpa, gpa+len) into the snapshot again: what the front end itself
 * wrote there since (an avail index it published). */
void oob_resnap(struct vhc_ctx *ctx, struct oob *o, uint64_t gpa, uint64_t len);
/* FAIL with rule "oob.write" when a byte outside the allowed ranges
 * differs from the snapshot; `after` names the input, for the message. */
void oob_check(struct vhc_ctx *ctx, const struct oob *o, const char *after);
void oob_free(struct oob *o);

/* in a case file, each step notes the case's line (caseapi.h, VHC_STEP) */
#ifndef VHC_CASEAPI_IMPL
#define oob_mem_create(ctx, ...) VHC_STEP(ctx, oob_mem_create(ctx, __VA_ARGS__))
#define oob_allow(ctx, ...) VHC_STEP(ctx, oob_allow(ctx, __VA_ARGS__))
#define oob_allow_used_rings(ctx, ...) VHC_STEP(ctx, oob_allow_used_rings(ctx, __VA_ARGS__))
#define oob_snapshot(ctx, ...) VHC_STEP(ctx, oob_snapshot(ctx, __VA_ARGS__))
#define oob_resnap(ctx, ...) VHC_STEP(ctx, oob_resnap(ctx, __VA_ARGS__))
#define oob_check(ctx, ...) VHC_STEP(ctx, oob_check(ctx, __VA_ARGS__))
#endif

#endif

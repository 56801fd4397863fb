/* The guest memory and the one ring that test_refnet_dp and
 * test_refnet_burst run vhost-refnet's device-side ring code against.
 *
 * Guest memory is four regions carved out of one PROT_NONE mapping, with a
 * PROT_NONE guard page on both sides of each: any read or write outside a
 * region faults (SIGSEGV; ASan reports it too).  Regions A and B are
 * adjacent in guest-physical space but not on the host, so a buffer across
 * their border must be split into two iovs (refnet's documented policy);
 * so are C and D. */
#ifndef VHC_TESTS_REFNET_MEM_H
#define VHC_TESTS_REFNET_MEM_H

#include "dirty_log.h"

#include <stdbool.h>
#include <stdint.h>

#define PG        4096u
#define NUM       8u
#define GPA_A     0x100000ull
#define GPA_B     (GPA_A + 4 * PG)      /* right after A */
#define GPA_C     0x400000ull
#define GPA_D     (GPA_C + PG)          /* right after C */
#define HOLE      (GPA_D + PG)          /* no region here */
#define RING_GPA  GPA_A                 /* desc, then avail/driver event, used/device event */
#define TAB_GPA   (GPA_A + 0x800)       /* indirect tables */
#define BUF_GPA   (GPA_A + PG)          /* data buffers */

/* Driver wrap counter 1 for the ring's first lap: AVAIL set, USED clear. */
#define P_AVAIL REF_DESC_F_AVAIL

struct sdesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

struct pdesc {
    uint64_t addr;
    uint32_t len;
    uint16_t id, flags;
};

extern struct ref_mem mem;
extern struct ref_vring vr;
extern struct ref_iovs io;

/* The checked fixture: map the regions; unmap them. */
void setup_mem(void);
void teardown(void);

/* The host address of a guest address inside a region (aborts otherwise). */
void *host(uint64_t gpa);

/* Start vr as a NUM-entry split or packed ring at RING_GPA, io emptied. */
void start_ring(bool packed);
uint64_t bad_count(void);

/* Split: write descriptor i; make head available (avail idx += 1); pop one
 * chain with io emptied first. */
void sdesc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next);
void post(uint16_t head);
int spop(struct ref_elem *e, bool write);

/* Packed: write descriptor i, available in the first lap; pop one chain. */
void pdesc(unsigned i, uint64_t addr, uint32_t len, uint16_t id, uint16_t flags);
int ppop(struct ref_elem *e);

#endif

/* Guarded guest memory and the write detector (see oob.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "oob.h"

#define PAGE 4096u
#define USED_BYTES(num) (4ull + 8ull * (num) + 2ull)

/* A byte that depends on its offset, so a block copied from elsewhere in
 * the file is as visible as a memset. */
static uint8_t canary(uint64_t off)
{
    return (uint8_t)(0xa5u ^ (off * 131u) ^ (off >> 9));
}

/* PROT_NONE, then the memfd mapped over all but one page at each end. */
static uint8_t *map_guarded(struct vhc_ctx *ctx, int fd, uint64_t size)
{
    uint8_t *area = mmap(NULL, size + 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    VHC_ASSERT(ctx, area != MAP_FAILED, "frontend.mem", "reserving %llu bytes failed",
               (unsigned long long)size);
    void *p = mmap(area + PAGE, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
    VHC_ASSERT(ctx, p != MAP_FAILED, "frontend.mem", "mapping the guarded memfd failed");
    return p;
}

void oob_mem_create(struct vhc_ctx *ctx, struct oob *o, uint64_t region_size)
{
    memset(o, 0, sizeof *o);
    mfe_mem_destroy(&ctx->fe.mem);
    for (unsigned i = 0; i < MFE_MAX_VQ; i++)
        ctx->fe.vq[i].ready = false;   /* their ring memory is gone */
    uint64_t size = 2 * (OOB_GAP + region_size);
    int fd = memfd_create("memory-backend-memfd", MFD_CLOEXEC);
    VHC_ASSERT(ctx, fd >= 0 && ftruncate(fd, (off_t)size) == 0, "frontend.mem",
               "memfd of %llu bytes failed", (unsigned long long)size);
    o->file = map_guarded(ctx, fd, size);
    o->file_size = size;
    o->region_size = region_size;
    for (uint64_t off = 0; off < size; off++)
        o->file[off] = canary(off);
    struct mfe_mem *mem = &ctx->fe.mem;
    mem->fd = fd;
    mem->base = o->file;
    mem->size = size;
    for (unsigned i = 0; i < 2; i++) {
        uint64_t off = OOB_GAP + i * (OOB_GAP + region_size);
        mem->regions[i] = (struct mfe_region){ .gpa = i * region_size, .size = region_size,
                                               .mmap_offset = off, .hva = o->file + off,
                                               .fd = fd };
    }
    mem->nregions = 2;
    mem->next_gpa = 2 * region_size;
    mfe_note(&ctx->fe, "guarded memory: 2 regions of %llu bytes, %u-byte canaries before "
             "each in the file, region 1 ends at the end of the file",
             (unsigned long long)region_size, OOB_GAP);
}

uint64_t oob_file_off(const struct oob *o, uint64_t gpa)
{
    if (gpa >= 2 * o->region_size)
        return UINT64_MAX;
    unsigned i = gpa >= o->region_size;
    return OOB_GAP + i * (OOB_GAP + o->region_size) + (gpa - i * o->region_size);
}

bool oob_copy(const struct oob *o, uint64_t gpa, uint64_t len, uint8_t *out)
{
    for (uint64_t i = 0; i < len; i++) {
        uint64_t off = oob_file_off(o, gpa + i);
        if (off == UINT64_MAX)
            return false;
        out[i] = o->file[off];
    }
    return true;
}

void oob_allow(struct vhc_ctx *ctx, struct oob *o, uint64_t gpa, uint64_t len)
{
    uint64_t off = oob_file_off(o, gpa);
    VHC_ASSERT(ctx, off != UINT64_MAX && o->nallow < ARRAY_LEN(o->allow), "frontend.oob",
               "cannot allow gpa 0x%llx", (unsigned long long)gpa);
    o->allow[o->nallow].off = off;
    o->allow[o->nallow].len = len;
    o->nallow++;
}

void oob_allow_used_rings(struct vhc_ctx *ctx, struct oob *o)
{
    for (unsigned i = 0; i < MFE_MAX_VQ; i++) {
        const struct mfe_vq *vq = &ctx->fe.vq[i];
        if (vq->ready)
            oob_allow(ctx, o, vq->used_gpa, USED_BYTES(vq->num));
    }
}

void oob_snapshot(struct vhc_ctx *ctx, struct oob *o)
{
    if (!o->snap)
        o->snap = malloc(o->file_size);
    VHC_ASSERT(ctx, o->snap, "frontend.memory", "out of memory");
    memcpy(o->snap, o->file, o->file_size);
}

void oob_resnap(struct vhc_ctx *ctx, struct oob *o, uint64_t gpa, uint64_t len)
{
    uint64_t off = oob_file_off(o, gpa);
    VHC_ASSERT(ctx, off != UINT64_MAX && o->snap && len <= o->file_size - off, "frontend.oob",
               "cannot snapshot gpa 0x%llx again", (unsigned long long)gpa);
    memcpy(o->snap + off, o->file + off, len);
}

static bool allowed(const struct oob *o, uint64_t off)
{
    for (unsigned i = 0; i < o->nallow; i++)
        if (off - o->allow[i].off < o->allow[i].len)
            return true;
    return false;
}

/* Where a file offset lies, in words. */
static const char *place(const struct oob *o, uint64_t off)
{
    uint64_t r1 = 2 * OOB_GAP + o->region_size;
    if (off < OOB_GAP)
        return "the canary before region 0 (never offered)";
    if (off >= OOB_GAP + o->region_size && off < r1)
        return "the canary between regions 0 and 1 (never offered)";
    return "offered memory the back end may only read (descriptors, avail ring, "
           "TX buffers or unused guest memory)";
}

void oob_check(struct vhc_ctx *ctx, const struct oob *o, const char *after)
{
    uint64_t first = UINT64_MAX, n = 0;
    for (uint64_t off = 0; off < o->file_size; off++) {
        if (o->file[off] == o->snap[off] || allowed(o, off))
            continue;
        if (first == UINT64_MAX)
            first = off;
        n++;
    }
    VHC_ASSERT(ctx, n == 0, "oob.write",
               "expected no byte written outside the used rings after %s; %llu bytes "
               "changed, the first at file offset 0x%llx in %s (0x%02x became 0x%02x)",
               after, (unsigned long long)n, (unsigned long long)first, place(o, first),
               o->snap[first], o->file[first]);
}

void oob_free(struct oob *o)
{
    free(o->snap);
    o->snap = NULL;
}

/* Guest memory (memfd regions laid out like QEMU's) and the control-side
 * layout of split rings in it. */
#include "mfe.h"
#include "mfe_iotlb.h"

#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#define QEMU_LOW_END    0xa0000ull   /* end of low RAM below the VGA hole */
#define QEMU_HIGH_START 0xc0000ull   /* RAM resumes after the ROM area */
#define EVEN_HOLE       0x10000ull   /* 64 KiB gap between EVEN regions */
#define PAGE            4096ull

/* A memfd named as QEMU's memory-backend-memfd names it, mapped shared. */
static int map_memfd(uint64_t size, int *fd, uint8_t **map)
{
    *fd = memfd_create("memory-backend-memfd", MFD_CLOEXEC);
    if (*fd < 0)
        return -1;
    void *p = MAP_FAILED;
    if (ftruncate(*fd, (off_t)size) == 0)
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
    if (p == MAP_FAILED) {
        close(*fd);
        *fd = -1;
        return -1;
    }
    *map = p;
    return 0;
}

static void add_region(struct mfe_mem *mem, uint64_t gpa, uint64_t size, uint64_t off,
                       uint8_t *hva, int fd)
{
    struct mfe_region *r = &mem->regions[mem->nregions++];
    r->gpa = gpa;
    r->size = size;
    r->mmap_offset = off;
    r->hva = hva;
    r->fd = fd;
}

static int create_qemu(struct mfe_mem *mem, uint64_t size)
{
    if (size <= QEMU_HIGH_START)
        return -1;
    if (map_memfd(size, &mem->fd, &mem->base) < 0)
        return -1;
    mem->size = size;
    add_region(mem, 0, QEMU_LOW_END, 0, mem->base, mem->fd);
    add_region(mem, QEMU_HIGH_START, size - QEMU_HIGH_START, QEMU_HIGH_START,
               mem->base + QEMU_HIGH_START, mem->fd);
    return 0;
}

/* One memfd per region: SET_MEM_TABLE then carries n distinct fds. */
static int create_even(struct mfe_mem *mem, uint64_t size, unsigned n)
{
    if (n == 0 || n > VHU_MAX_REGIONS)
        return -1;
    uint64_t each = (size / n) & ~(PAGE - 1);
    if (each == 0)
        return -1;
    mem->size = each * n;
    for (unsigned i = 0; i < n; i++) {
        int fd;
        uint8_t *map;
        if (map_memfd(each, &fd, &map) < 0)
            return -1;
        add_region(mem, i * (each + EVEN_HOLE), each, 0, map, fd);
    }
    return 0;
}

int mfe_mem_create(struct mfe_mem *mem, uint64_t size, enum mfe_layout layout,
                   unsigned nregions)
{
    memset(mem, 0, sizeof *mem);
    mem->fd = -1;
    int rc = layout == MFE_LAYOUT_QEMU ? create_qemu(mem, size) : create_even(mem, size, nregions);
    if (rc < 0) {
        mfe_mem_destroy(mem);
        return -1;
    }
    const struct mfe_region *top = &mem->regions[mem->nregions - 1];
    mem->next_gpa = top->gpa + top->size;
    return 0;
}

void mfe_mem_destroy(struct mfe_mem *mem)
{
    for (unsigned i = 0; i < mem->nregions; i++) {
        struct mfe_region *r = &mem->regions[i];
        if (r->fd >= 0 && r->fd != mem->fd) {  /* a region with its own memfd */
            munmap(r->hva, r->size);
            close(r->fd);
        }
    }
    if (mem->base)
        munmap(mem->base, mem->size);
    if (mem->fd >= 0)
        close(mem->fd);
    memset(mem, 0, sizeof *mem);
    mem->fd = -1;
}

static const struct mfe_region *find_region(const struct mfe_mem *mem, uint64_t gpa,
                                            uint64_t len)
{
    for (unsigned i = 0; i < mem->nregions; i++) {
        const struct mfe_region *r = &mem->regions[i];
        if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
            return r;
    }
    return NULL;
}

void *mfe_gpa(const struct mfe_mem *mem, uint64_t gpa, uint64_t len)
{
    const struct mfe_region *r = find_region(mem, gpa, len);
    return r ? r->hva + (gpa - r->gpa) : NULL;
}

uint64_t mfe_uaddr(const struct mfe_mem *mem, uint64_t gpa)
{
    void *p = mfe_gpa(mem, gpa, 1);
    return p ? (uint64_t)(uintptr_t)p : 0;
}

/* Top-down inside the last region, so ring memory sits far from whatever a
 * case puts at low addresses.  align must be a power of two. */
uint64_t mfe_mem_alloc(struct mfe_mem *mem, uint64_t len, uint64_t align)
{
    if (mem->nregions == 0 || len == 0 || align == 0 || (align & (align - 1)))
        return 0;
    const struct mfe_region *top = &mem->regions[mem->nregions - 1];
    if (len > mem->next_gpa - top->gpa)
        return 0;
    uint64_t a = (mem->next_gpa - len) & ~(align - 1);
    if (a < top->gpa || a == 0)
        return 0;
    mem->next_gpa = a;
    return a;
}

unsigned mfe_mem_table(const struct mfe_mem *mem, struct vhu_region *regions, int *fds)
{
    for (unsigned i = 0; i < mem->nregions; i++) {
        const struct mfe_region *r = &mem->regions[i];
        regions[i] = (struct vhu_region){
            .gpa = r->gpa, .size = r->size,
            .uaddr = (uint64_t)(uintptr_t)r->hva, .mmap_offset = r->mmap_offset,
        };
        fds[i] = r->fd;
    }
    return mem->nregions;
}

/* ---- split ring layout ---- */

/* Linux's vring_init: descriptors, then the avail ring (flags, idx, ring[num],
 * used_event), then the used ring at the next 64-byte boundary (flags, idx,
 * ring[num] of 8 bytes, avail_event). */
#define USED_ALIGN 64ull

static uint64_t avail_bytes(unsigned num) { return 4 + 2ull * num + 2; }
static uint64_t used_bytes(unsigned num) { return 4 + 8ull * num + 2; }

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

static int make_eventfd(int *fd)
{
    if (*fd < 0)
        *fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return *fd < 0 ? -1 : 0;
}

static int lay_out_ring(struct mfe *f, struct mfe_vq *vq, unsigned num, uint64_t used_align)
{
    uint64_t avail_off = 16ull * num;
    uint64_t used_off = align_up(avail_off + avail_bytes(num), used_align);
    uint64_t total = used_off + used_bytes(num);
    uint64_t desc = mfe_mem_alloc(&f->mem, total, PAGE);
    uint8_t *p = desc ? mfe_gpa(&f->mem, desc, total) : NULL;
    if (!p) {
        snprintf(f->err, sizeof f->err, "ring of %u entries: guest memory full", num);
        f->err_rule = "mfe.memory";
        return -1;
    }
    memset(p, 0, total);
    vq->num = num;
    vq->desc_gpa = desc;
    vq->avail_gpa = desc + avail_off;
    vq->used_gpa = desc + used_off;
    vq->ready = true;
    return 0;
}

int mfe_vq_setup(struct mfe *f, unsigned idx, unsigned num)
{
    return mfe_vq_setup_aligned(f, idx, num, USED_ALIGN);
}

int mfe_vq_setup_aligned(struct mfe *f, unsigned idx, unsigned num, unsigned used_align)
{
    if (idx >= MFE_MAX_VQ || num == 0 || num > 32768 || (num & (num - 1)) ||
        used_align < 4 || (used_align & (used_align - 1))) {
        snprintf(f->err, sizeof f->err, "vq %u: bad index or ring size %u", idx, num);
        f->err_rule = "mfe.usage";
        return -1;
    }
    struct mfe_vq *vq = &f->vq[idx];
    /* A ring that already has this size keeps its memory and contents: a
     * restart continues where the rings stopped. */
    if (!(vq->ready && vq->num == num) && lay_out_ring(f, vq, num, used_align) < 0)
        return -1;
    if (make_eventfd(&vq->kick) < 0 || make_eventfd(&vq->call) < 0 || make_eventfd(&vq->err) < 0) {
        snprintf(f->err, sizeof f->err, "vq %u: eventfd failed", idx);
        f->err_rule = "mfe.eventfd";
        return -1;
    }
    return 0;
}

void mfe_vq_addr(const struct mfe *f, unsigned idx, struct vhu_vring_addr *a)
{
    const struct mfe_vq *vq = &f->vq[idx];
    memset(a, 0, sizeof *a);
    a->index = idx;
    a->flags = 0;
    if (mfe_iotlb_active(f)) {     /* behind a vIOMMU the rings are IOVAs (mfe_iotlb.h) */
        a->desc = mfe_iotlb_iova(f->iotlb, vq->desc_gpa);
        a->avail = mfe_iotlb_iova(f->iotlb, vq->avail_gpa);
        a->used = mfe_iotlb_iova(f->iotlb, vq->used_gpa);
    } else {
        a->desc = mfe_uaddr(&f->mem, vq->desc_gpa);
        a->avail = mfe_uaddr(&f->mem, vq->avail_gpa);
        a->used = mfe_uaddr(&f->mem, vq->used_gpa);
    }
    a->log = vq->used_gpa; /* QEMU fills the log address even with logging off */
}

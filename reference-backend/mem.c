/* Memory table: regions the front end shares with us, mapped MAP_SHARED.
 *
 * Every range check is written as "offset <= size - len" after checking
 * len <= size, so no sum can wrap around. */
#include "refnet.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static bool add_overflows(uint64_t a, uint64_t b)
{
    return a + b < a;
}

/* Mapping granule: the file's block size when it is a larger power of two
 * (hugetlbfs reports its page size there), else the system page size. */
static uint64_t map_align(const struct stat *st)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t blk = (uint64_t)st->st_blksize;
    if (blk > page && (blk & (blk - 1)) == 0)
        return blk;
    return page;
}

static int check_region(const struct vhu_region *in, char *why, size_t cap)
{
    if (in->size == 0) {
        snprintf(why, cap, "mem.region.size: region size is 0");
        return -1;
    }
    if (add_overflows(in->gpa, in->size) || add_overflows(in->uaddr, in->size) ||
        add_overflows(in->mmap_offset, in->size)) {
        snprintf(why, cap, "mem.region.overflow: gpa/uaddr/mmap_offset + size 0x%llx wraps",
                 (unsigned long long)in->size);
        return -1;
    }
    if (in->size > SIZE_MAX / 2) {
        snprintf(why, cap, "mem.region.size: 0x%llx is too large to map",
                 (unsigned long long)in->size);
        return -1;
    }
    return 0;
}

static int check_file(const struct vhu_region *in, int fd, struct stat *st,
                      char *why, size_t cap)
{
    if (fstat(fd, st) < 0) {
        snprintf(why, cap, "mem.region.fd: fstat: %s", strerror(errno));
        return -1;
    }
    if (st->st_size < 0 || in->mmap_offset + in->size > (uint64_t)st->st_size) {
        snprintf(why, cap, "mem.region.file: mmap_offset 0x%llx + size 0x%llx exceeds "
                 "the file size 0x%llx", (unsigned long long)in->mmap_offset,
                 (unsigned long long)in->size, (unsigned long long)st->st_size);
        return -1;
    }
    return 0;
}

int ref_region_map(const struct vhu_region *in, int fd, struct ref_region *out,
                   char *why, size_t cap)
{
    struct stat st;
    if (check_region(in, why, cap) < 0 || check_file(in, fd, &st, why, cap) < 0)
        return -1;
    uint64_t align = map_align(&st);
    uint64_t delta = in->mmap_offset & (align - 1);
    size_t len = (size_t)(in->size + delta);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                   (off_t)(in->mmap_offset - delta));
    if (p == MAP_FAILED) {
        snprintf(why, cap, "mem.region.mmap: %s", strerror(errno));
        return -1;
    }
    *out = (struct ref_region){ .gpa = in->gpa, .size = in->size, .uaddr = in->uaddr,
                                .mmap_offset = in->mmap_offset, .map = p,
                                .map_len = len, .delta = delta,
                                .dev = (uint64_t)st.st_dev, .ino = (uint64_t)st.st_ino, .refs = 1 };
    return 0;
}

void ref_region_unmap(struct ref_region *r)
{
    if (r->map)
        munmap(r->map, r->map_len);
    memset(r, 0, sizeof *r);
}

void ref_mem_init(struct ref_mem *m)
{
    memset(m, 0, sizeof *m);
}

void ref_mem_clear(struct ref_mem *m)
{
    for (unsigned i = 0; i < m->n; i++)
        ref_region_unmap(&m->r[i]);
    m->n = 0;
}

int ref_mem_check_overlap(const struct ref_mem *m, const struct vhu_region *in,
                          char *why, size_t cap)
{
    for (unsigned i = 0; i < m->n; i++) {
        const struct ref_region *r = &m->r[i];
        /* both ranges are known not to wrap */
        if (in->gpa < r->gpa + r->size && r->gpa < in->gpa + in->size) {
            snprintf(why, cap, "mem.region.overlap: gpa 0x%llx+0x%llx overlaps region "
                     "gpa 0x%llx+0x%llx", (unsigned long long)in->gpa,
                     (unsigned long long)in->size, (unsigned long long)r->gpa,
                     (unsigned long long)r->size);
            return -1;
        }
    }
    return 0;
}

static bool range_inside(uint64_t start, uint64_t size, uint64_t addr, uint64_t len)
{
    return addr >= start && len <= size && addr - start <= size - len;
}

static void *region_ptr(const struct ref_region *r, uint64_t off)
{
    return (uint8_t *)r->map + r->delta + off;
}

void *ref_mem_uaddr(const struct ref_mem *m, uint64_t uaddr, uint64_t len)
{
    for (unsigned i = 0; i < m->n; i++)
        if (range_inside(m->r[i].uaddr, m->r[i].size, uaddr, len))
            return region_ptr(&m->r[i], uaddr - m->r[i].uaddr);
    return NULL;
}

void *ref_mem_gpa(const struct ref_mem *m, uint64_t gpa, uint64_t len)
{
    for (unsigned i = 0; i < m->n; i++)
        if (range_inside(m->r[i].gpa, m->r[i].size, gpa, len))
            return region_ptr(&m->r[i], gpa - m->r[i].gpa);
    return NULL;
}

int ref_mem_find(const struct ref_mem *m, const struct vhu_region *in)
{
    for (unsigned i = 0; i < m->n; i++)
        if (m->r[i].gpa == in->gpa && m->r[i].size == in->size &&
            m->r[i].uaddr == in->uaddr)
            return (int)i;
    return -1;
}

bool ref_mem_region_holds(const struct ref_mem *m, unsigned i, const void *p)
{
    if (i >= m->n || !p)
        return false;
    const uint8_t *start = region_ptr(&m->r[i], 0);
    const uint8_t *q = p;
    return q >= start && (uint64_t)(q - start) < m->r[i].size;
}

int ref_mem_find_same(const struct ref_mem *m, const struct vhu_region *in, int fd)
{
    struct stat st;
    int i = ref_mem_find(m, in);
    if (i < 0 || m->r[i].mmap_offset != in->mmap_offset || fstat(fd, &st) < 0)
        return -1;
    return m->r[i].dev == (uint64_t)st.st_dev && m->r[i].ino == (uint64_t)st.st_ino ? i : -1;
}

/* Replay: guest memory laid out as a trace's memory tables say.
 *
 * Every region any SET_MEM_TABLE or ADD_MEM_REG of the trace names gets
 * the same gpa, size and mmap offset here.  Regions recorded from one
 * mapping of one memfd (same fd kind, same uaddr - mmap_offset: QEMU maps a
 * RAM block once) share one memfd here too, so a back end sees the same fd
 * shape as QEMU gave it. */
#include "mfe_replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct group {
    char kind[MFE_TRACE_KIND];
    uint64_t base;            /* uaddr - mmap_offset in the trace */
    uint64_t size;
};

struct layout {
    struct group g[VHU_MAX_REGIONS];
    unsigned ng;
    struct vhu_region r[VHU_MAX_REGIONS];
    unsigned rg[VHU_MAX_REGIONS];   /* group of each region */
    unsigned nr;
};

/* "memfd:NAME(size=0x10000000)" -> size, or 0 */
static uint64_t kind_size(const char *kind)
{
    const char *s = strstr(kind, "(size=");
    return s ? strtoull(s + 6, NULL, 0) : 0;
}

static int group_of(struct layout *l, const char *kind, uint64_t base)
{
    for (unsigned i = 0; i < l->ng; i++)
        if (l->g[i].base == base && strcmp(l->g[i].kind, kind) == 0)
            return (int)i;
    if (l->ng == VHU_MAX_REGIONS)
        return -1;
    struct group *g = &l->g[l->ng];
    snprintf(g->kind, sizeof g->kind, "%s", kind);
    g->base = base;
    g->size = kind_size(kind);
    return (int)l->ng++;
}

static int add_region(struct layout *l, const struct vhu_region *r, const char *kind)
{
    for (unsigned i = 0; i < l->nr; i++)
        if (l->r[i].gpa == r->gpa && l->r[i].size == r->size)
            return 0;
    int g = group_of(l, kind, r->uaddr - r->mmap_offset);
    if (g < 0 || l->nr == VHU_MAX_REGIONS)
        return -1;
    l->r[l->nr] = *r;
    l->rg[l->nr++] = (unsigned)g;
    uint64_t end = r->mmap_offset + r->size;
    if (end > l->g[g].size)
        l->g[g].size = end;
    return 0;
}

static int scan_msg(struct layout *l, const struct mfe_trace_msg *tm)
{
    struct vhu_msg m;
    if (tm->dir != MFE_TR_F2B || vhu_decode(tm->bytes, tm->len, &m) != NULL)
        return 0;
    if (m.hdr.request == VHU_REQ_SET_MEM_TABLE) {
        for (unsigned i = 0; i < m.u.mem.nregions && i < VHU_MAX_REGIONS; i++)
            if (add_region(l, &m.u.mem.regions[i], tm->kind[i < tm->nfds ? i : 0]) < 0)
                return -1;
    } else if (m.hdr.request == VHU_REQ_ADD_MEM_REG) {
        return add_region(l, &m.u.mem_reg.region, tm->kind[0]);
    }
    return 0;
}

/* The memfd's name as the trace shows it ("memfd:NAME(size=..)"). */
static void memfd_name(const char *kind, char *name, size_t len)
{
    const char *s = strncmp(kind, "memfd:", 6) == 0 ? kind + 6 : "memory-backend-memfd";
    size_t n = strcspn(s, "(");
    snprintf(name, len, "%.*s", (int)(n < len ? n : len - 1), s);
}

int mfe_replay_memfd(const char *kind, uint64_t size)
{
    char name[64];
    memfd_name(kind, name, sizeof name);
    int fd = memfd_create(name[0] ? name : "replay", MFD_CLOEXEC);
    if (fd >= 0 && ftruncate(fd, (off_t)size) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Group 0 is mem->fd / mem->base; the others map each region on its own
 * from a dup of their group's memfd, the shape mfe_mem_destroy undoes. */
static int map_groups(const struct layout *l, struct mfe_mem *mem)
{
    int gfd[VHU_MAX_REGIONS];
    for (unsigned g = 0; g < l->ng; g++)
        gfd[g] = -1;
    int rc = 0;
    for (unsigned g = 0; g < l->ng && rc == 0; g++)
        if ((gfd[g] = mfe_replay_memfd(l->g[g].kind, l->g[g].size)) < 0)
            rc = -1;
    if (rc == 0) {
        mem->fd = gfd[0];
        mem->size = l->g[0].size;
        void *p = mmap(NULL, mem->size, PROT_READ | PROT_WRITE, MAP_SHARED, mem->fd, 0);
        mem->base = p == MAP_FAILED ? NULL : p;
        rc = mem->base ? 0 : -1;
    }
    for (unsigned i = 0; i < l->nr && rc == 0; i++) {
        struct mfe_region *r = &mem->regions[mem->nregions];
        unsigned g = l->rg[i];
        *r = (struct mfe_region){ .gpa = l->r[i].gpa, .size = l->r[i].size,
                                  .mmap_offset = l->r[i].mmap_offset, .fd = mem->fd };
        if (g == 0) {
            r->hva = mem->base + r->mmap_offset;
        } else {
            r->fd = dup(gfd[g]);
            void *p = r->fd < 0 ? MAP_FAILED
                                : mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED,
                                       r->fd, (off_t)r->mmap_offset);
            if (p == MAP_FAILED) {
                if (r->fd >= 0)
                    close(r->fd);
                rc = -1;
                break;
            }
            r->hva = p;
        }
        mem->nregions++;
    }
    for (unsigned g = 1; g < l->ng; g++)
        if (gfd[g] >= 0)
            close(gfd[g]);
    if (rc < 0 && gfd[0] >= 0 && mem->fd != gfd[0])
        close(gfd[0]);
    return rc;
}

int mfe_replay_mem_build(const struct mfe_trace *t, struct mfe_mem *mem, char *err,
                         size_t errlen)
{
    struct layout l;
    memset(&l, 0, sizeof l);
    mfe_mem_destroy(mem);
    for (size_t i = 0; i < t->n; i++)
        if (scan_msg(&l, &t->msgs[i]) < 0) {
            snprintf(err, errlen, "%04u: more than %u distinct memory regions or memfds",
                     t->msgs[i].seq, VHU_MAX_REGIONS);
            return -1;
        }
    if (l.nr == 0)
        return 0;   /* the trace never sends a memory table */
    if (map_groups(&l, mem) < 0) {
        mfe_mem_destroy(mem);
        snprintf(err, errlen, "cannot create the trace's guest memory (%u regions)", l.nr);
        return -1;
    }
    return 0;
}

const struct mfe_region *mfe_replay_region(const struct mfe_mem *mem, uint64_t gpa,
                                           uint64_t size)
{
    for (unsigned i = 0; i < mem->nregions; i++)
        if (mem->regions[i].gpa == gpa && mem->regions[i].size == size)
            return &mem->regions[i];
    return NULL;
}

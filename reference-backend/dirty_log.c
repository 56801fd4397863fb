/* Dirty-page logging (see dirty_log.h) and its SET_LOG_BASE handler. */
#include "dirty_log.h"
#include "handlers.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_MAX_BYTES (1ull << 32)   /* 2^35 pages: 128 TiB of guest memory */

/* The pages of a run of writes gathered per byte of the log: buffers that
 * follow each other mostly share one (8 pages), so a burst costs an atomic
 * OR per byte it touches, not one per buffer. */
struct marks {
    uint64_t byte;
    uint8_t bits;
};

static void marks_flush(const struct ref_vlog *l, struct marks *k)
{
    if (k->bits)
        __atomic_fetch_or(&l->bits[k->byte], k->bits, __ATOMIC_RELAXED);
    k->bits = 0;
}

static void marks_add(const struct ref_vlog *l, struct marks *k, uint64_t gpa, uint64_t len)
{
    if (len == 0)
        return;
    uint64_t first = gpa / REF_LOG_PAGE, last = (gpa + len - 1) / REF_LOG_PAGE;
    if (last < first)
        last = UINT64_MAX / REF_LOG_PAGE;   /* wrapped: up to the top */
    for (uint64_t p = first; p <= last && p / 8 < l->size; p++) {
        if (p / 8 != k->byte) {
            marks_flush(l, k);
            k->byte = p / 8;
        }
        k->bits |= (uint8_t)(1u << (p % 8));
    }
}

static void mark(const struct ref_vlog *l, uint64_t gpa, uint64_t len)
{
    struct marks k = { 0, 0 };
    atomic_thread_fence(memory_order_release);  /* the data before its bit */
    marks_add(l, &k, gpa, len);
    marks_flush(l, &k);
}

void ref_dlog_used_at(const struct ref_vlog *l, uint64_t off, uint64_t len)
{
    if (l->used)
        mark(l, l->used_gpa + off, len);
}

void ref_dlog_desc_at(const struct ref_vlog *l, uint16_t pos)
{
    if (l->used)
        mark(l, l->desc_gpa + (uint64_t)pos * 16, 16);
}

/* Guest address of our pointer p, which lies in some region; false if not. */
static bool gpa_of(const struct ref_mem *m, const uint8_t *p, uint64_t *gpa, uint64_t *room)
{
    for (unsigned i = 0; i < m->n; i++) {
        const struct ref_region *r = &m->r[i];
        const uint8_t *start = (const uint8_t *)r->map + r->delta;
        if (p >= start && (uint64_t)(p - start) < r->size) {
            *gpa = r->gpa + (uint64_t)(p - start);
            *room = r->size - (uint64_t)(p - start);
            return true;
        }
    }
    return false;
}

void ref_dlog_iovs(const struct ref_vlog *l, const struct ref_iov *iov, unsigned n,
                   uint32_t len)
{
    for (unsigned i = 0; i < n && len > 0; i++) {
        uint32_t k = iov[i].len < len ? iov[i].len : len;
        uint64_t gpa, room;
        if (gpa_of(l->mem, iov[i].p, &gpa, &room))   /* an iov never spans regions */
            mark(l, gpa, k < room ? k : room);
        len -= k;
    }
}

static bool uaddr_gpa(const struct ref_mem *m, uint64_t uaddr, uint64_t *gpa)
{
    for (unsigned i = 0; i < m->n; i++) {
        const struct ref_region *r = &m->r[i];
        if (uaddr >= r->uaddr && uaddr - r->uaddr < r->size) {
            *gpa = r->gpa + (uaddr - r->uaddr);
            return true;
        }
    }
    return false;
}

void ref_dlog_bind(struct ref_session *s)
{
    bool on = s->dlog && ref_has_feature(s, VHU_F_LOG_ALL);
    for (unsigned i = 0; i < REF_MAX_RINGS; i++) {
        struct ref_vring *v = &s->rings[i];
        v->vlog = NULL;
        if (!on)
            continue;
        struct ref_vlog *l = &s->dlog->ring[i];
        *l = (struct ref_vlog){ .bits = s->dlog->bits, .size = s->dlog->size, .mem = &s->mem,
                                .used_gpa = v->addr.log,
                                .used = v->addr_set && (v->addr.flags & VHU_VRING_F_LOG) };
        if (l->used && !uaddr_gpa(&s->mem, v->addr.desc, &l->desc_gpa))
            l->desc_gpa = 0;        /* not started: the ring cannot run either */
        v->vlog = l;
    }
}

void ref_dlog_free(struct ref_session *s)
{
    for (unsigned i = 0; i < REF_MAX_RINGS; i++)
        s->rings[i].vlog = NULL;
    if (!s->dlog)
        return;
    munmap(s->dlog->map, s->dlog->map_len);
    free(s->dlog);
    s->dlog = NULL;
}

/* Map the log fd; NULL with why. */
static struct ref_dlog *map_log(struct ref_session *s, int fd, const struct vhu_log *in)
{
    struct stat st;
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    if (in->mmap_size == 0 || in->mmap_size > LOG_MAX_BYTES ||
        in->mmap_offset > UINT64_MAX - in->mmap_size) {
        ref_fail(s, "log.size: mmap_size 0x%" PRIx64 " at offset 0x%" PRIx64
                 " is empty, too large or wraps", in->mmap_size, in->mmap_offset);
        return NULL;
    }
    if (fstat(fd, &st) < 0 || st.st_size < 0 ||
        in->mmap_offset + in->mmap_size > (uint64_t)st.st_size) {
        ref_fail(s, "log.file: offset 0x%" PRIx64 " + size 0x%" PRIx64 " exceeds the file",
                 in->mmap_offset, in->mmap_size);
        return NULL;
    }
    uint64_t delta = in->mmap_offset & (page - 1);
    size_t len = (size_t)(in->mmap_size + delta);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                   (off_t)(in->mmap_offset - delta));
    if (p == MAP_FAILED) {
        ref_fail(s, "log.mmap: %s", strerror(errno));
        return NULL;
    }
    struct ref_dlog *l = calloc(1, sizeof *l);
    if (!l) {
        munmap(p, len);
        ref_fail(s, "log.memory: out of memory");
        return NULL;
    }
    *l = (struct ref_dlog){ .map = p, .map_len = len, .bits = (uint8_t *)p + delta,
                            .size = in->mmap_size };
    return l;
}

/* The reply is owed either way (QEMU waits for it under LOG_SHMFD): 0 when
 * the new log is in place, 1 when it was refused and the old one stays. */
REF_HANDLER(set_log_base)
{
    struct ref_dlog *l = NULL;
    if (!ref_has_pf(s, VHU_PF_LOG_SHMFD))
        ref_fail(s, "log.shmfd: SET_LOG_BASE without LOG_SHMFD negotiated");
    else if (m->nfds != 1)
        ref_fail(s, "log.fd: SET_LOG_BASE carries %u fds, want the log's one", m->nfds);
    else
        l = map_log(s, m->fds[0], &m->u.log);
    if (!l) {
        ref_log("refnet: reject SET_LOG_BASE: %s (reply 1)", s->why);
        reply->u.u64 = 1;
        return 0;
    }
    ref_dlog_free(s);           /* workers are parked: nobody logs meanwhile */
    s->dlog = l;
    reply->u.u64 = 0;
    return 0;
}

void ref_dlog_descs_at(const struct ref_vlog *l, uint16_t pos, uint32_t n, uint32_t num)
{
    if (!l->used || n == 0)
        return;
    uint32_t first = num - pos < n ? num - pos : n;
    mark(l, l->desc_gpa + (uint64_t)pos * 16, (uint64_t)first * 16);
    if (n > first)
        mark(l, l->desc_gpa, (uint64_t)(n - first) * 16);
}

void ref_dlog_elems(const struct ref_vlog *l, const struct ref_elem *e, const uint32_t *len,
                    unsigned n)
{
    struct marks k = { 0, 0 };
    atomic_thread_fence(memory_order_release);  /* the data before their bits */
    for (unsigned i = 0; i < n; i++)
        marks_add(l, &k, e[i].gpa, len[i]);
    marks_flush(l, &k);
}

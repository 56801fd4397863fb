/* The dirty log and its checker (see mfe_log.h). */
#include "mfe_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SPLIT_USED_HDR 4u     /* used ring: flags, idx */
#define SPLIT_ELEM     8u
#define PACKED_DESC    16u

uint64_t mfe_log_words_for(const struct mfe_mem *mem)
{
    uint64_t words = 0;
    for (unsigned i = 0; i < mem->nregions; i++) {
        const struct mfe_region *r = &mem->regions[i];
        uint64_t last = r->gpa + r->size - 1;
        if (last / MFE_LOG_CHUNK + 1 > words)
            words = last / MFE_LOG_CHUNK + 1;
    }
    return words;
}

int mfe_log_alloc(struct mfe_log *l, uint64_t words)
{
    memset(l, 0, sizeof *l);
    l->fd = -1;
    size_t len = (size_t)words * 8;
    if (words == 0)
        return -EINVAL;
    int fd = memfd_create("vhost-log", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -errno;
    if (ftruncate(fd, (off_t)len) < 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        close(fd);
        return -e;
    }
    l->fd = fd;
    l->map = p;
    l->words = words;
    return 0;
}

void mfe_log_free(struct mfe_log *l)
{
    if (l->map)
        munmap(l->map, (size_t)l->words * 8);
    if (l->fd >= 0)
        close(l->fd);
    memset(l, 0, sizeof *l);
    l->fd = -1;
}

int mfe_dirty_init(struct mfe_dirty *d, uint64_t words)
{
    memset(d, 0, sizeof *d);
    d->want = calloc(words ? words : 1, 8);
    d->seen = calloc(words ? words : 1, 8);
    d->words = words;
    if (!d->want || !d->seen) {
        mfe_dirty_destroy(d);
        return -ENOMEM;
    }
    return 0;
}

void mfe_dirty_destroy(struct mfe_dirty *d)
{
    free(d->want);
    free(d->seen);
    memset(d, 0, sizeof *d);
}

void mfe_dirty_expect(struct mfe_dirty *d, uint64_t gpa, uint64_t len)
{
    if (!d->armed || len == 0)
        return;
    d->writes++;
    uint64_t first = gpa / MFE_LOG_PAGE, last = (gpa + len - 1) / MFE_LOG_PAGE;
    for (uint64_t p = first; p <= last; p++) {
        if (p / 64 >= d->words) {
            d->outside++;
            return;
        }
        d->want[p / 64] |= 1ull << (p % 64);
    }
}

/* What the device wrote for one used entry it returned at pos. */
static void on_used(void *arg, const struct mfe_ring *r, uint16_t pos, uint64_t token,
                    uint32_t len)
{
    struct mfe_dirty_ring *w = arg;
    struct mfe_dirty *d = w->d;
    if (r->packed) {
        mfe_dirty_expect(d, w->l.desc + (uint64_t)pos * PACKED_DESC, PACKED_DESC);
    } else {
        uint64_t slot = pos & (r->num - 1);
        mfe_dirty_expect(d, w->l.device + SPLIT_USED_HDR + slot * SPLIT_ELEM, SPLIT_ELEM);
        mfe_dirty_expect(d, w->l.device + 2, 2);    /* used->idx */
    }
    if (w->pool && len)
        mfe_dirty_expect(d, w->pool->gpa + token * w->pool->slot_len, len);
}

static void watch_ring(struct mfe_dirty *d, const struct mfe *f, unsigned idx,
                       struct mfe_ring *r, const struct mfe_net_pool *pool)
{
    struct mfe_dirty_ring *w = &d->ring[idx];
    w->d = d;
    w->pool = pool;
    mfe_ring_layout_of(&f->vq[idx], &w->l);
    r->on_used = on_used;
    r->on_used_arg = w;
}

void mfe_dirty_watch(struct mfe_dirty *d, const struct mfe *f, struct mfe_net *n,
                     unsigned pair)
{
    if (2 * pair + 1 >= MFE_MAX_VQ)
        return;
    watch_ring(d, f, 2 * pair, &n->rx, &n->rxp);
    watch_ring(d, f, 2 * pair + 1, &n->tx, NULL);
}

void mfe_dirty_sync(struct mfe_dirty *d, struct mfe_log *l)
{
    uint64_t n = l->words < d->words ? l->words : d->words;
    for (uint64_t i = 0; i < n; i++) {
        if (!l->map[i])
            continue;       /* the cheap look first, as vhost_dev_sync_region */
        d->seen[i] |= __atomic_exchange_n(&l->map[i], 0, __ATOMIC_SEQ_CST);
    }
}

void mfe_dirty_check(const struct mfe_dirty *d, struct mfe_dirty_report *r)
{
    memset(r, 0, sizeof *r);
    for (uint64_t i = 0; i < d->words; i++) {
        uint64_t miss = d->want[i] & ~d->seen[i];
        r->pages += (uint64_t)__builtin_popcountll(d->want[i]);
        r->extra += (uint64_t)__builtin_popcountll(d->seen[i] & ~d->want[i]);
        r->missing += (uint64_t)__builtin_popcountll(miss);
        while (miss && r->nfirst < MFE_DIRTY_LIST) {
            unsigned b = (unsigned)__builtin_ctzll(miss);
            r->first[r->nfirst++] = (i * 64 + b) * MFE_LOG_PAGE;
            miss &= miss - 1;
        }
    }
}

const char *mfe_dirty_list(const struct mfe_dirty_report *r, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < r->nfirst && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s0x%llx", i ? ", " : "",
                              (unsigned long long)r->first[i]);
    if (n < cap && r->missing > r->nfirst)
        snprintf(buf + n, cap - n, " and %llu more",
                 (unsigned long long)(r->missing - r->nfirst));
    return buf;
}

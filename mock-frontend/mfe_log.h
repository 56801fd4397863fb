/* Dirty-page logging as QEMU's vhost code does it during live migration,
 * and the checker that holds a back end to it.
 *
 * The log (vhost-user.rst, "Migration"): one bit per 4 KiB guest page,
 * page p at byte p / 8, bit p % 8, from guest address 0 to the top of the
 * highest region; QEMU keeps it as 64-bit words (hw/virtio/vhost.c:
 * vhost_get_log_size, one word per 256 KiB) in a sealed memfd that
 * SET_LOG_BASE hands over under LOG_SHMFD.
 *
 * The checker learns what the back end wrote from the used entries the
 * driver takes (an observer on each ring, mfe_ring.on_used): the bytes it
 * reported written into an RX buffer, the used element and used index of a
 * split ring, the used descriptor of a packed ring.  It then folds the
 * log into what it has seen, the way vhost_log_sync does (read and clear
 * each word), and lists every page written whose bit never came.
 *
 * The QEMU sequences that switch logging on and off are mfe_migrate.c's.
 */
#ifndef MFE_LOG_H
#define MFE_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "mfe.h"
#include "mfe_net.h"
#include "mfe_ring.h"

#define MFE_LOG_PAGE      0x1000u
#define MFE_LOG_CHUNK     (MFE_LOG_PAGE * 64u)    /* guest bytes one log word covers */
#define MFE_LOG_BUFFER    (0x1000u / 8u)         /* words QEMU adds when memory grows */
#define MFE_DIRTY_LIST    8u                     /* missing pages named in a report */

/* One log buffer (vhost_log_alloc with share = true). */
struct mfe_log {
    int fd;                   /* memfd, sealed against growing and shrinking */
    uint64_t *map;            /* our mapping: the words the back end sets */
    uint64_t words;           /* mmap_size = words * 8 */
};

/* Words that cover every region of mem (vhost_get_log_size). */
uint64_t mfe_log_words_for(const struct mfe_mem *mem);
/* 0 or -errno. */
int mfe_log_alloc(struct mfe_log *l, uint64_t words);
void mfe_log_free(struct mfe_log *l);

/* Per ring the checker watches: where the ring lives and, for RX, the
 * driver's buffer pool (token = slot). */
struct mfe_dirty_ring {
    struct mfe_dirty *d;
    struct mfe_ring_layout l;
    const struct mfe_net_pool *pool;   /* NULL: the device writes no buffers */
};

struct mfe_dirty {
    uint64_t *want;           /* pages the back end wrote, one bit each */
    uint64_t *seen;           /* pages it logged (folded from every log) */
    uint64_t words;
    bool armed;               /* record writes now (logging is on) */
    uint64_t writes;          /* device writes recorded */
    uint64_t outside;         /* writes above what the log covers */
    struct mfe_dirty_ring ring[MFE_MAX_VQ];
};

struct mfe_dirty_report {
    uint64_t pages;           /* pages written while logging (each checked) */
    uint64_t missing;         /* of them, without their bit */
    uint64_t extra;           /* bits set for pages we saw no write to */
    uint64_t first[MFE_DIRTY_LIST];   /* guest addresses of the first missing */
    unsigned nfirst;
};

/* words: the largest log the run will use.  0 or -ENOMEM. */
int mfe_dirty_init(struct mfe_dirty *d, uint64_t words);
void mfe_dirty_destroy(struct mfe_dirty *d);
/* Watch pair's two rings (n built on f's vq 2*pair and 2*pair+1); call
 * again after mfe_net_init, which starts the rings afresh. */
void mfe_dirty_watch(struct mfe_dirty *d, const struct mfe *f, struct mfe_net *n,
                     unsigned pair);
/* Record a device write by hand (gpa, len), when armed. */
void mfe_dirty_expect(struct mfe_dirty *d, uint64_t gpa, uint64_t len);
/* vhost_log_sync: take every set word of l (read and clear) into seen. */
void mfe_dirty_sync(struct mfe_dirty *d, struct mfe_log *l);
/* Pages wanted and not seen.  Call after the last sync. */
void mfe_dirty_check(const struct mfe_dirty *d, struct mfe_dirty_report *r);
/* "addresses 0x..., 0x..." of the report's first missing pages, into buf. */
const char *mfe_dirty_list(const struct mfe_dirty_report *r, char *buf, size_t cap);

#endif

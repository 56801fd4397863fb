/* libFuzzer target: vhost-refnet's descriptor walkers (split.c, packed.c)
 * and what sits on them (xlate.c, net.c, fwd.c), run the way a worker runs
 * them: loopback forwarding of one queue pair, TX ring to RX ring.
 *
 * Guest memory (fuzz_ring.h): a 64 KiB region at guest-physical 0 and two
 * large sparse ones, each mapped between PROT_NONE guard pages: any access
 * outside them faults (and ASan reports heap-style overflows inside the
 * process as well).  The fuzzer writes descriptors, indices and flags
 * directly; it must never make refnet read or write outside the regions, nor
 * walk longer than the queue size allows (a timeout). */
#include "worker.h"

#include "fuzz_ring.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG          4096u

void ref_log(const char *fmt, ...)
{
    (void)fmt;                  /* "ring broken" lines: expected here */
}

static uint8_t *guest, *big[2];  /* region 0 and the large ones */

/* size bytes between guard pages (reserved, not backed until touched) */
static uint8_t *map_guarded(size_t size)
{
    uint8_t *all = mmap(NULL, size + 2 * PG, PROT_NONE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (all == MAP_FAILED || mprotect(all + PG, size, PROT_READ | PROT_WRITE) < 0)
        abort();
    return all + PG;
}

static void map_guest(void)
{
    guest = map_guarded(FR_SMALL);
    big[0] = map_guarded(FR_BIG);
    big[1] = map_guarded(FR_BIG);
}

/* Every region back to zero: what the last input (or refnet) wrote there. */
static void reset_guest(void)
{
    memset(guest, 0, FR_SMALL);
    for (unsigned i = 0; i < 2; i++)
        if (madvise(big[i], FR_BIG, MADV_DONTNEED) < 0)
            abort();
}

static void setup_ring(struct ref_session *s, struct ref_vring *v, unsigned index,
                       uint32_t at, uint32_t num, bool packed, uint16_t base)
{
    ref_vring_init(v, index);
    v->num = num;
    v->packed = packed;
    v->base = base;
    v->desc = guest + at;
    v->avail = guest + at + FR_AVAIL;
    v->used = guest + at + FR_USED;
    v->started = v->enabled = v->armed = true;
    ref_vq_start(s, v);
}

static void setup_session(struct ref_session *s, const uint8_t *cfg)
{
    static const struct ref_opts opts = { .queues = 1, .mode = "loopback",
                                          .tap_fds = { -1 } };
    bool packed = cfg[1] & 1;
    memset(s, 0, sizeof *s);
    s->opts = &opts;
    s->backend_fd = -1;
    s->features = 1ull << VHU_F_VERSION_1;
    s->features |= (cfg[1] & 2) ? 1ull << REF_F_EVENT_IDX : 0;
    s->features |= (cfg[1] & 4) ? 1ull << REF_F_INDIRECT_DESC : 0;
    s->features |= (cfg[1] & 8) ? 1ull << REF_NET_F_MRG_RXBUF : 0;
    s->features |= packed ? 1ull << VHU_F_RING_PACKED : 0;
    ref_mem_init(&s->mem);
    s->mem.r[0] = (struct ref_region){ .gpa = 0, .size = FR_SMALL, .uaddr = 0,
                                       .map = guest, .map_len = FR_SMALL };
    const uint64_t big_gpa[2] = { FR_BIG_GPA1, FR_BIG_GPA2 };
    for (unsigned i = 0; i < 2; i++)
        s->mem.r[1 + i] = (struct ref_region){ .gpa = big_gpa[i], .size = FR_BIG,
                                               .uaddr = big_gpa[i], .map = big[i],
                                               .map_len = FR_BIG };
    s->mem.n = 3;
    uint32_t num = packed ? cfg[0] + 1u : 1u << (cfg[0] % 9);
    setup_ring(s, &s->rings[1], 1, FR_TX, num, packed, (uint16_t)(cfg[2] | cfg[3] << 8));
    setup_ring(s, &s->rings[0], 0, FR_RX, num, packed, (uint16_t)(cfg[4] | cfg[5] << 8));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ref_session s;
    static struct ref_worker w;         /* ~64 KiB frame buffer inside */
    if (!guest)
        map_guest();
    if (size < FR_CFG_BYTES)
        return 0;
    reset_guest();
    size_t img = size - FR_CFG_BYTES, small = img < FR_SMALL ? img : FR_SMALL;
    memcpy(guest, data + FR_CFG_BYTES, small);
    if (img > FR_SMALL)
        memcpy(big[0], data + FR_CFG_BYTES + FR_SMALL,
               img - FR_SMALL < FR_BIG_HEAD ? img - FR_SMALL : FR_BIG_HEAD);
    setup_session(&s, data);
    memset(&w, 0, sizeof w);
    w.s = &s;
    w.tx = s.rings[1].dp.broken ? NULL : &s.rings[1];
    w.rx = s.rings[0].dp.broken ? NULL : &s.rings[0];
    w.port_fd = -1;
    ref_net_setup(&w.net, &s);
    unsigned bursts = 1u + (data[1] >> 4);
    for (unsigned i = 0; i < bursts; i++)
        if (ref_fwd_burst(&w) == 0)
            break;
    /* the worker's idle path: ask for kicks, then stop asking */
    struct ref_vring *rings[2] = { w.rx, w.tx };
    for (unsigned i = 0; i < 2; i++) {
        if (rings[i] && !rings[i]->dp.broken) {
            (void)ref_ops(rings[i])->notify_on(rings[i]);
            ref_ops(rings[i])->notify_off(rings[i]);
        }
    }
    /* what GET_VRING_BASE would report must be computable too */
    (void)ref_vq_base(&s.rings[0]);
    (void)ref_vq_base(&s.rings[1]);
    return 0;
}

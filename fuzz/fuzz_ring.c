/* libFuzzer target: vhost-refnet's descriptor walkers (split.c, packed.c)
 * and what sits on them (xlate.c, net.c, fwd.c), run the way a worker runs
 * them: loopback forwarding of one queue pair, TX ring to RX ring.
 *
 * Guest memory is one 64 KiB region at guest-physical 0, mapped between two
 * PROT_NONE guard pages: any access outside it faults (and ASan reports
 * heap-style overflows inside the process as well).  Input:
 *
 *   byte 0   ring size: 1 << (b % 9) for split (1..256); b % 256 + 1 packed
 *   byte 1   bit 0 packed, bit 1 EVENT_IDX, bit 2 INDIRECT_DESC,
 *            bit 3 MRG_RXBUF, bits 4-7 bursts to run (1..16)
 *   byte 2-3 TX ring base (SET_VRING_BASE value), little endian
 *   byte 4-5 RX ring base
 *   rest     guest memory from gpa 0 (the rest stays zero)
 *
 * Layout: TX desc 0x0000, TX avail/driver area 0x1000, TX used/device area
 * 0x1400; RX the same at 0x2000; the rest (0x4000..) is for buffers.  The
 * fuzzer writes descriptors, indices and flags directly; it must never make
 * refnet read or write outside the region. */
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG          4096u
#define GUEST_SIZE  (16u * PG)
#define CFG_BYTES   6u
#define TX_RING     0x0000u
#define RX_RING     0x2000u

void ref_log(const char *fmt, ...)
{
    (void)fmt;                  /* "ring broken" lines: expected here */
}

static uint8_t *guest;          /* GUEST_SIZE bytes between guard pages */

static void map_guest(void)
{
    uint8_t *all = mmap(NULL, GUEST_SIZE + 2 * PG, PROT_NONE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (all == MAP_FAILED)
        abort();
    guest = all + PG;
    if (mprotect(guest, GUEST_SIZE, PROT_READ | PROT_WRITE) < 0)
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
    v->avail = guest + at + 0x1000;
    v->used = guest + at + 0x1400;
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
    s->mem.r[0] = (struct ref_region){ .gpa = 0, .size = GUEST_SIZE, .uaddr = 0,
                                       .map = guest, .map_len = GUEST_SIZE };
    s->mem.n = 1;
    uint32_t num = packed ? cfg[0] + 1u : 1u << (cfg[0] % 9);
    setup_ring(s, &s->rings[1], 1, TX_RING, num, packed, (uint16_t)(cfg[2] | cfg[3] << 8));
    setup_ring(s, &s->rings[0], 0, RX_RING, num, packed, (uint16_t)(cfg[4] | cfg[5] << 8));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ref_session s;
    static struct ref_worker w;         /* ~64 KiB frame buffer inside */
    if (!guest)
        map_guest();
    if (size < CFG_BYTES)
        return 0;
    memset(guest, 0, GUEST_SIZE);
    size_t img = size - CFG_BYTES < GUEST_SIZE ? size - CFG_BYTES : GUEST_SIZE;
    memcpy(guest, data + CFG_BYTES, img);
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

/* make_seeds FIXTURES OUTDIR: the seed corpora of the fuzz targets.
 *
 * OUTDIR/msg/NAME   fuzz_msg inputs (fuzz_msg.h):
 *   - one per recorded trace FIXTURES/NAME.raw: its front-end messages in
 *     order, SET_FEATURES / SET_PROTOCOL_FEATURES masked to what vhost-refnet
 *     offers (QEMU acks the intersection of its set and the back end's; the
 *     traces ack what dpdk-testpmd offered, so unmasked every seed would
 *     stop there);
 *   - b1_boot started, then something hostile, then its stop: the memfds
 *     shrunk, call or kick fds of the bad kinds, an indirect table far
 *     longer than the queue poked into guest memory, each followed by kicks;
 *   - from scratch: eight 1 GiB sparse regions and a ring in the last, with
 *     a 512 MiB indirect table (split, looping; packed, zeroed).
 * OUTDIR/ring/NAME  fuzz_ring inputs (fuzz_ring.h): well-formed loopback
 *   rings (split and packed, direct and indirect, one TX frame and one RX
 *   buffer each, so the fuzzer starts from chains that really get
 *   forwarded) and indirect tables of 2 Mi entries in a sparse region.
 *
 * What refnet offers is asked of refnet itself (ref_session_init), so the
 * masks follow session.c by construction. */
#include "refnet.h"

#include "fuzz_msg.h"
#include "fuzz_ring.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_MSGS   256u
#define MAX_SEED   (64u * 1024u)
#define DESC_F_NEXT      1u
#define DESC_F_WRITE     2u
#define DESC_F_INDIRECT  4u
#define DESC_F_AVAIL     (1u << 7)
#define DESC_F_USED      (1u << 15)
#define F_INDIRECT_DESC  28
#define F_RING_PACKED    34

void ref_log(const char *fmt, ...)
{
    (void)fmt;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("make_seeds: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* ---- output buffers ---- */

struct seed {
    uint8_t b[MAX_SEED];
    size_t n;
};

static void put(struct seed *s, const void *p, size_t len)
{
    if (len > sizeof s->b - s->n)
        die("seed larger than %u bytes", MAX_SEED);
    if (len)
        memcpy(s->b + s->n, p, len);
    s->n += len;
}

static void put_record(struct seed *s, uint8_t spec, const uint8_t *msg, size_t len)
{
    put(s, &spec, 1);
    put(s, msg, len);
}

static void put_msg(struct seed *s, enum fz_kind kind, unsigned nfds, const struct vhu_msg *m)
{
    uint8_t buf[VHU_HDR_SIZE + VHU_MAX_PAYLOAD];
    size_t len = vhu_encode(m, buf, sizeof buf);
    if (len == 0)
        die("cannot encode request %u", m->hdr.request);
    put_record(s, FZ_SPEC(kind, nfds), buf, len);
}

static void put_action(struct seed *s, enum fz_action a, const void *payload, uint32_t len)
{
    struct vhu_hdr h = { .request = a, .flags = 0, .size = len };
    uint8_t spec = FZ_SPEC(FZ_ACTION, 0);
    put(s, &spec, 1);
    put(s, &h, sizeof h);
    put(s, payload, len);
}

/* FZ_POKE: len bytes at offset of held memfd idx. */
static void poke(struct seed *s, uint8_t idx, uint64_t offset, const void *p, size_t len)
{
    uint8_t buf[VHU_MAX_PAYLOAD];
    if (len > sizeof buf - 9)
        die("poke of %zu bytes", len);
    buf[0] = idx;
    memcpy(buf + 1, &offset, 8);
    memcpy(buf + 9, p, len);
    put_action(s, FZ_POKE, buf, (uint32_t)(9 + len));
}

static void shrink(struct seed *s, uint8_t idx, uint64_t size)
{
    uint8_t buf[9] = { idx };
    memcpy(buf + 1, &size, 8);
    put_action(s, FZ_SHRINK, buf, sizeof buf);
}

static void kick(struct seed *s)
{
    put_action(s, FZ_KICK, NULL, 0);
}

static void write_file(const char *dir, const char *name, const void *p, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, len, f) != len || fclose(f) != 0)
        die("writing %s: %s", path, strerror(errno));
}

/* ---- traces ---- */

struct raw {
    bool f2b;
    unsigned nfds;
    uint8_t b[VHU_HDR_SIZE + VHU_MAX_PAYLOAD];
    size_t len;
};

struct trace {
    struct raw m[MAX_MSGS];
    size_t n;
};

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Lines "SEQ F->B|B->F nfds=N HEX". */
static void load_trace(const char *path, struct trace *t)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("%s: %s", path, strerror(errno));
    static char line[2 * (VHU_HDR_SIZE + VHU_MAX_PAYLOAD) + 64], hex[sizeof line];
    char dir[8];
    unsigned nfds;
    t->n = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%*s %7s nfds=%u %s", dir, &nfds, hex) != 3)
            continue;
        if (t->n == MAX_MSGS)
            die("%s: more than %u messages", path, MAX_MSGS);
        struct raw *r = &t->m[t->n];
        size_t hl = strlen(hex);
        if (hl % 2 || hl / 2 > sizeof r->b)
            die("%s: bad hex line", path);
        for (size_t i = 0; i < hl / 2; i++) {
            int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
            if (hi < 0 || lo < 0)
                die("%s: bad hex digit", path);
            r->b[i] = (uint8_t)(hi << 4 | lo);
        }
        r->len = hl / 2;
        r->f2b = strcmp(dir, "F->B") == 0;
        r->nfds = nfds;
        if (r->len >= VHU_HDR_SIZE)
            t->n++;
    }
    fclose(f);
}

static uint32_t req_of(const struct raw *r)
{
    uint32_t req;
    memcpy(&req, r->b, sizeof req);
    return req;
}

static uint64_t offered_features, offered_pfeatures;

static void learn_offer(void)
{
    static struct ref_opts o = { .queues = 2, .max_mem_slots = VHU_MAX_REGIONS,
                                 .reply_ack = true, .mode = "loopback" };
    static struct ref_session s;
    ref_session_init(&s, &o, -1);
    offered_features = s.features_offered;
    offered_pfeatures = s.pfeatures_offered;
}

/* A front-end message as QEMU would send it to vhost-refnet. */
static void masked(const struct raw *r, uint8_t *out)
{
    memcpy(out, r->b, r->len);
    uint32_t req = req_of(r), size;
    memcpy(&size, r->b + 8, sizeof size);
    uint64_t mask = req == VHU_REQ_SET_FEATURES ? offered_features
                  : req == VHU_REQ_SET_PROTOCOL_FEATURES ? offered_pfeatures : ~0ull;
    if (mask != ~0ull && size == 8 && r->len == VHU_HDR_SIZE + 8) {
        uint64_t v;
        memcpy(&v, out + VHU_HDR_SIZE, sizeof v);
        v &= mask;
        memcpy(out + VHU_HDR_SIZE, &v, sizeof v);
    }
}

/* The trace's front-end messages [from, to), kinds chosen per request. */
static void put_trace(struct seed *s, const struct trace *t, size_t from, size_t to,
                      enum fz_kind call_kind, enum fz_kind kick_kind)
{
    uint8_t buf[sizeof t->m[0].b];
    for (size_t i = from; i < to && i < t->n; i++) {
        const struct raw *r = &t->m[i];
        if (!r->f2b)
            continue;
        uint32_t req = req_of(r);
        enum fz_kind k = req == VHU_REQ_SET_VRING_CALL ? call_kind
                       : req == VHU_REQ_SET_VRING_KICK ? kick_kind : FZ_BY_REQUEST;
        masked(r, buf);
        put_record(s, FZ_SPEC(k, r->nfds), buf, r->len);
    }
}

static size_t first_f2b(const struct trace *t, uint32_t req)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->m[i].f2b && req_of(&t->m[i]) == req)
            return i;
    return t->n;
}

/* ---- hostile seeds on b1_boot ---- */

/* Where a ring lives, in memfd terms: the held memfd of the region holding
 * uaddr and the offset in it. */
struct place {
    uint8_t memfd;
    uint64_t off, gpa;
};

/* by_gpa: addr is a guest-physical address, else a front-end user address */
static struct place locate(const struct trace *t, uint64_t addr, bool by_gpa)
{
    size_t i = first_f2b(t, VHU_REQ_SET_MEM_TABLE);
    if (i == t->n)
        die("b1_boot has no SET_MEM_TABLE");
    struct vhu_mem mem;
    memcpy(&mem, t->m[i].b + VHU_HDR_SIZE, sizeof mem < t->m[i].len - VHU_HDR_SIZE
           ? sizeof mem : t->m[i].len - VHU_HDR_SIZE);
    for (uint8_t k = 0; k < mem.nregions && k < VHU_MAX_REGIONS; k++) {
        const struct vhu_region *r = &mem.regions[k];
        uint64_t start = by_gpa ? r->gpa : r->uaddr;
        if (addr >= start && addr - start < r->size)
            return (struct place){ k, addr - start + r->mmap_offset, addr - start + r->gpa };
    }
    die("b1_boot: address 0x%llx in no region", (unsigned long long)addr);
    return (struct place){ 0, 0, 0 };
}

static struct vhu_vring_addr ring_addr(const struct trace *t, uint32_t index)
{
    for (size_t i = 0; i < t->n; i++) {
        struct vhu_vring_addr a;
        if (!t->m[i].f2b || req_of(&t->m[i]) != VHU_REQ_SET_VRING_ADDR ||
            t->m[i].len < VHU_HDR_SIZE + sizeof a)
            continue;
        memcpy(&a, t->m[i].b + VHU_HDR_SIZE, sizeof a);
        if (a.index == index)
            return a;
    }
    die("b1_boot: no SET_VRING_ADDR for ring %u", index);
    return (struct vhu_vring_addr){ 0 };
}

struct sdesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

/* 32 TX heads, each an indirect table of 128 MiB (8 Mi entries) whose two
 * first entries loop, device-writable so a TX walk skips them. */
static void poke_long_split(struct seed *s, const struct trace *t)
{
    struct vhu_vring_addr a = ring_addr(t, 1);
    const uint64_t tab_gpa = 0x1000000;         /* 16 MiB, in the large region */
    struct place d = locate(t, a.desc, false), av = locate(t, a.avail, false);
    struct place tab = locate(t, tab_gpa, true);
    struct sdesc e[2] = { { tab_gpa, 16, DESC_F_WRITE | DESC_F_NEXT, 1 },
                          { tab_gpa, 16, DESC_F_WRITE | DESC_F_NEXT, 0 } };
    poke(s, tab.memfd, tab.off, e, sizeof e);
    struct sdesc heads[32];
    uint16_t ring[2 + 32] = { 0, 32 };
    for (uint16_t i = 0; i < 32; i++) {
        heads[i] = (struct sdesc){ tab_gpa, 128u << 20, DESC_F_INDIRECT, 0 };
        ring[2 + i] = i;
    }
    poke(s, d.memfd, d.off, heads, sizeof heads);
    poke(s, av.memfd, av.off, ring, sizeof ring);
}

/* One 72-byte TX frame (zero header, 60 zero bytes) on ring 1 and one
 * 2 KiB RX buffer on ring 0, in the large region: a kick loops it back and
 * the flush signals the call fds. */
static void poke_frame(struct seed *s, const struct trace *t)
{
    const uint64_t tx_buf = 0x2000000, rx_buf = 0x2100000;
    const uint16_t one[3] = { 0, 1, 0 };
    for (uint32_t ring = 0; ring < 2; ring++) {
        struct vhu_vring_addr a = ring_addr(t, ring);
        struct place d = locate(t, a.desc, false), av = locate(t, a.avail, false);
        struct sdesc e = ring ? (struct sdesc){ tx_buf, 72, 0, 0 }
                              : (struct sdesc){ rx_buf, 2048, DESC_F_WRITE, 0 };
        poke(s, d.memfd, d.off, &e, sizeof e);
        poke(s, av.memfd, av.off, one, sizeof one);
    }
}

static void b1_variant(const char *dir, const char *name, const struct trace *t,
                       enum fz_kind call, enum fz_kind kick_kind, int what)
{
    static struct seed s;
    s.n = 0;
    size_t stop = first_f2b(t, VHU_REQ_GET_VRING_BASE);
    put_trace(&s, t, 0, stop, call, kick_kind);
    if (what != 2)
        poke_frame(&s, t);
    if (what == 1) {
        shrink(&s, 0, 0);
        shrink(&s, 1, 4096);
    } else if (what == 2) {
        poke_long_split(&s, t);
    }
    kick(&s);
    kick(&s);
    put_trace(&s, t, stop, t->n, FZ_BY_REQUEST, FZ_BY_REQUEST);
    write_file(dir, name, s.b, s.n);
}

/* ---- from scratch: eight 1 GiB regions ---- */

static void big_regions(const char *dir, const char *name, const struct trace *init,
                        bool packed)
{
    static struct seed s;
    s.n = 0;
    put_trace(&s, init, 0, init->n, FZ_BY_REQUEST, FZ_BY_REQUEST);
    struct vhu_msg m;
    uint64_t f = offered_features & ((1ull << VHU_F_VERSION_1) | (1ull << F_INDIRECT_DESC) |
                                     (1ull << VHU_F_PROTOCOL_FEATURES) |
                                     (packed ? 1ull << F_RING_PACKED : 0));
    vhu_msg_u64(&m, VHU_REQ_SET_FEATURES, f);
    put_msg(&s, FZ_BY_REQUEST, 0, &m);
    struct vhu_region r[8];
    int fds[8];
    const uint64_t ua = 0x7e0000000000ull;
    for (unsigned i = 0; i < 8; i++) {
        r[i] = (struct vhu_region){ (uint64_t)i << 30, FZ_MEMFD_HUGE, ua + ((uint64_t)i << 32),
                                    0 };
        fds[i] = -1;
    }
    vhu_msg_mem(&m, r, fds, 8);
    m.nfds = 0;
    put_msg(&s, FZ_MEMFD_LARGE, 8, &m);
    const uint64_t base = ua + (7ull << 32), gbase = 7ull << 30;
    vhu_msg_state(&m, VHU_REQ_SET_VRING_NUM, 1, 256);
    put_msg(&s, FZ_BY_REQUEST, 0, &m);
    vhu_msg_state(&m, VHU_REQ_SET_VRING_BASE, 1, packed ? 0x8000 : 0);
    put_msg(&s, FZ_BY_REQUEST, 0, &m);
    struct vhu_vring_addr a = { 1, 0, base, base + 0x2000, base + 0x1000, 0 };
    vhu_msg_addr(&m, &a);
    put_msg(&s, FZ_BY_REQUEST, 0, &m);
    vhu_msg_state(&m, VHU_REQ_SET_VRING_ENABLE, 1, 1);
    put_msg(&s, FZ_BY_REQUEST, 0, &m);
    vhu_msg_u64(&m, VHU_REQ_SET_VRING_KICK, 1);
    put_msg(&s, FZ_BY_REQUEST, 1, &m);
    const uint64_t tab_gpa = gbase + (1u << 20);
    struct sdesc d[32];
    for (uint16_t i = 0; i < 32; i++) {
        if (packed)     /* addr, len, id, flags: available with wrap counter 1 */
            d[i] = (struct sdesc){ tab_gpa, 512u << 20, i, DESC_F_INDIRECT | DESC_F_AVAIL };
        else
            d[i] = (struct sdesc){ tab_gpa, 512u << 20, DESC_F_INDIRECT, 0 };
    }
    poke(&s, 7, 0, d, sizeof d);
    if (!packed) {
        struct sdesc e[2] = { { tab_gpa, 16, DESC_F_WRITE | DESC_F_NEXT, 1 },
                              { tab_gpa, 16, DESC_F_WRITE | DESC_F_NEXT, 0 } };
        poke(&s, 7, 1u << 20, e, sizeof e);
        uint16_t ring[2 + 32] = { 0, 32 };
        for (uint16_t i = 0; i < 32; i++)
            ring[2 + i] = i;
        poke(&s, 7, 0x1000, ring, sizeof ring);
    }
    kick(&s);
    vhu_msg_state(&m, VHU_REQ_GET_VRING_BASE, 1, 0);
    put_msg(&s, FZ_BY_REQUEST, 0, &m);
    write_file(dir, name, s.b, s.n);
}

/* ---- fuzz_ring seeds ---- */

#define TX_BUF  0x4000u
#define RX_BUF  0x8000u
#define TABLE   0x5000u

static uint8_t ring_img[FR_MAX_LEN];

static void at(uint64_t off, const void *p, size_t len)
{
    memcpy(ring_img + FR_CFG_BYTES + off, p, len);
}

static void cfg(uint8_t size_byte, bool packed, bool event_idx, bool indirect, unsigned bursts,
                uint16_t tx_base, uint16_t rx_base)
{
    memset(ring_img, 0, sizeof ring_img);
    ring_img[0] = size_byte;
    ring_img[1] = (uint8_t)(packed | event_idx << 1 | indirect << 2 | 1 << 3 |
                            (bursts - 1) << 4);                 /* MRG_RXBUF on */
    memcpy(ring_img + 2, &tx_base, 2);
    memcpy(ring_img + 4, &rx_base, 2);
}

static void avail_one(uint32_t ring)
{
    const uint16_t a[3] = { 0, 1, 0 };
    at(ring + FR_AVAIL, a, sizeof a);
}

static void ring_seed(const char *dir, const char *name, size_t img_len)
{
    write_file(dir, name, ring_img, FR_CFG_BYTES + img_len);
}

static void split_ring(const char *dir, const char *name, bool indirect, bool event_idx)
{
    cfg(3, false, event_idx, indirect, 2, 0, 0);
    if (indirect) {
        struct sdesc d = { TABLE, 32, DESC_F_INDIRECT, 0 };
        struct sdesc t[2] = { { TX_BUF, 12, DESC_F_NEXT, 1 }, { TX_BUF + 0x100, 52, 0, 0 } };
        at(FR_TX, &d, sizeof d);
        at(TABLE, t, sizeof t);
    } else {
        struct sdesc d = { TX_BUF, 64, 0, 0 };
        at(FR_TX, &d, sizeof d);
    }
    avail_one(FR_TX);
    struct sdesc rx = { RX_BUF, 2048, DESC_F_WRITE, 0 };
    at(FR_RX, &rx, sizeof rx);
    avail_one(FR_RX);
    ring_seed(dir, name, 0xa000);
}

/* packed descriptor: addr, len, id, flags (the sdesc layout with next = flags) */
static void packed_ring(const char *dir, const char *name, bool indirect)
{
    cfg(7, true, false, indirect, 2, 0x8000, 0x8000);   /* position 0, wrap counter 1 */
    if (indirect) {
        struct sdesc d = { TABLE, 32, 0, DESC_F_INDIRECT | DESC_F_AVAIL };
        struct sdesc t[2] = { { TX_BUF, 12, 0, 0 }, { TX_BUF + 0x100, 52, 0, 0 } };
        at(FR_TX, &d, sizeof d);
        at(TABLE, t, sizeof t);
    } else {
        struct sdesc d = { TX_BUF, 64, 0, DESC_F_AVAIL };
        at(FR_TX, &d, sizeof d);
    }
    struct sdesc rx = { RX_BUF, 2048, 0, DESC_F_AVAIL | DESC_F_WRITE };
    at(FR_RX, &rx, sizeof rx);
    ring_seed(dir, name, 0xa000);
}

/* A 32 MiB indirect table (2 Mi entries, queue of 256) in the first large
 * region: split with its two first entries looping, packed all zero. */
static void huge_table(const char *dir, const char *name, bool packed)
{
    cfg(packed ? 255 : 8, packed, false, true, 2, packed ? 0x8000 : 0, packed ? 0x8000 : 0);
    struct sdesc d = { FR_BIG_GPA1, 32u << 20, packed ? 0 : DESC_F_INDIRECT,
                       packed ? DESC_F_INDIRECT | DESC_F_AVAIL : 0 };
    at(FR_TX, &d, sizeof d);
    if (!packed) {
        struct sdesc e[2] = { { FR_BIG_GPA1, 16, DESC_F_WRITE | DESC_F_NEXT, 1 },
                              { FR_BIG_GPA1, 16, DESC_F_WRITE | DESC_F_NEXT, 0 } };
        at(FR_SMALL, e, sizeof e);      /* the start of region 1 */
        avail_one(FR_TX);
    }
    ring_seed(dir, name, FR_SMALL + FR_BIG_HEAD);
}

/* ---- main ---- */

static int is_raw(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return n > 4 && strcmp(e->d_name + n - 4, ".raw") == 0;
}

static void make_dir(const char *path)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        die("mkdir %s: %s", path, strerror(errno));
}

int main(int argc, char **argv)
{
    if (argc != 3)
        die("usage: make_seeds FIXTURES OUTDIR");
    const char *fixtures = argv[1], *out = argv[2];
    char msg_dir[4096], ring_dir[4096], path[4096];
    snprintf(msg_dir, sizeof msg_dir, "%s/msg", out);
    snprintf(ring_dir, sizeof ring_dir, "%s/ring", out);
    make_dir(out);
    make_dir(msg_dir);
    make_dir(ring_dir);
    learn_offer();
    static struct trace t, b1, a1;
    static struct seed s;
    struct dirent **names;
    int nn = scandir(fixtures, &names, is_raw, alphasort);
    if (nn <= 0)
        die("no *.raw traces in %s", fixtures);
    unsigned n = 0;
    for (int i = 0; i < nn; i++) {
        char stem[256];
        snprintf(stem, sizeof stem, "%.*s", (int)(strlen(names[i]->d_name) - 4),
                 names[i]->d_name);
        snprintf(path, sizeof path, "%s/%s", fixtures, names[i]->d_name);
        free(names[i]);
        load_trace(path, &t);
        if (t.n == 0)
            die("%s: no messages", path);
        s.n = 0;
        put_trace(&s, &t, 0, t.n, FZ_BY_REQUEST, FZ_BY_REQUEST);
        write_file(msg_dir, stem, s.b, s.n);
        n++;
    }
    free(names);
    snprintf(path, sizeof path, "%s/b1_boot.raw", fixtures);
    load_trace(path, &b1);
    snprintf(path, sizeof path, "%s/a1_init_client.raw", fixtures);
    load_trace(path, &a1);
    b1_variant(msg_dir, "b1-shrink", &b1, FZ_BY_REQUEST, FZ_BY_REQUEST, 1);
    b1_variant(msg_dir, "b1-call-eventfd-full", &b1, FZ_EVENTFD_FULL, FZ_BY_REQUEST, 0);
    b1_variant(msg_dir, "b1-call-pipe-full", &b1, FZ_PIPE_FULL, FZ_BY_REQUEST, 0);
    b1_variant(msg_dir, "b1-kick-blocking", &b1, FZ_BY_REQUEST, FZ_EVENTFD_BLOCKING, 0);
    b1_variant(msg_dir, "b1-kick-pipe-eof", &b1, FZ_BY_REQUEST, FZ_PIPE_EOF, 0);
    b1_variant(msg_dir, "b1-kick-pipe", &b1, FZ_BY_REQUEST, FZ_PIPE_READ, 0);
    b1_variant(msg_dir, "b1-kick-memfd", &b1, FZ_BY_REQUEST, FZ_MEMFD_SMALL, 0);
    b1_variant(msg_dir, "b1-kick-socket", &b1, FZ_BY_REQUEST, FZ_SOCKET, 0);
    b1_variant(msg_dir, "b1-kick-devnull", &b1, FZ_BY_REQUEST, FZ_DEVNULL, 0);
    b1_variant(msg_dir, "b1-indirect-long", &b1, FZ_BY_REQUEST, FZ_BY_REQUEST, 2);
    big_regions(msg_dir, "regions-1g-indirect-split", &a1, false);
    big_regions(msg_dir, "regions-1g-indirect-packed", &a1, true);
    n += 12;
    split_ring(ring_dir, "split", false, false);
    split_ring(ring_dir, "split-indirect", true, false);
    split_ring(ring_dir, "split-event-idx", false, true);
    packed_ring(ring_dir, "packed", false);
    packed_ring(ring_dir, "packed-indirect", true);
    huge_table(ring_dir, "split-indirect-huge", false);
    huge_table(ring_dir, "packed-indirect-huge", true);
    printf("make_seeds: %u message seeds, 7 ring seeds in %s\n", n, out);
    return 0;
}

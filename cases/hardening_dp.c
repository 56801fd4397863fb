/* hardening/desc/: deliberately bad descriptors on the TX ring, written
 * straight into ring memory (never through mfe_ring_add, which would refuse
 * them), over the guarded memory of oob.h.  After each: the back end did
 * not crash (the runner's verdict), wrote nothing outside the used rings
 * (oob.write), serves a new connection, and carries valid frames there.
 *
 * Variants are data: one row per bad chain, a builder that fills the
 * descriptor table (and an indirect table) and returns the head. */
#include <string.h>
#include <unistd.h>

#include "datapath_traffic.h"
#include "hardening_tags.h"
#include "oob.h"

#define REGION     (4ull << 20)      /* each of the two guest regions */
#define RING_NUM   256u
#define TXQ        1u
#define FRAME      60u
#define HDR        MFE_NET_HDR_LEN
#define FAR_AWAY   (2 * REGION + (16ull << 20))   /* in no region */
#define SETTLE_US  (VC_SILENCE_MS * 1000)

/* What a builder has to work with: the TX descriptor table, a valid frame
 * (header + 60 bytes) at buf, and room for two indirect tables. */
struct chain_env {
    struct mfe_desc *desc;
    uint64_t buf;               /* gpa of header + frame, in region 0 */
    uint64_t ind, ind2;         /* gpa of two 4 KiB indirect tables */
    struct mfe_desc *ind_hva, *ind2_hva;
    uint8_t *buf_hva;
};

struct bad_chain {
    const char *what;           /* for messages */
    uint16_t (*build)(struct chain_env *e);
    bool rx_check;              /* valid data: a frame that comes back on RX must
                                   be the bytes the chain names, nothing else */
};

static void put(struct mfe_desc *d, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    *d = (struct mfe_desc){ .addr = addr, .len = len, .flags = flags, .next = next };
}

#define NEXT MFE_DESC_F_NEXT
#define IND  MFE_DESC_F_INDIRECT

static uint16_t outside(struct chain_env *e)
{
    put(&e->desc[0], FAR_AWAY, HDR + FRAME, 0, 0);
    return 0;
}
/* region 1 ends at the end of the file: the tail is in no region */
static uint16_t past_end(struct chain_env *e)
{
    put(&e->desc[0], 2 * REGION - 100, 1514, 0, 0);
    return 0;
}
/* contiguous in gpa, not in the file: the middle canary lies between */
static uint16_t spanning(struct chain_env *e)
{
    put(&e->desc[0], REGION - 100, 1514, 0, 0);
    return 0;
}
static uint16_t len_huge(struct chain_env *e)
{
    put(&e->desc[0], e->buf, UINT32_MAX, 0, 0);
    return 0;
}

static uint16_t loop2(struct chain_env *e)
{
    put(&e->desc[0], e->buf, HDR, NEXT, 1);
    put(&e->desc[1], e->buf + HDR, FRAME, NEXT, 0);
    return 0;
}

/* every descriptor of the ring in one cycle: a walk bounded by anything
 * but the queue size goes round for ever */
static uint16_t loop_all(struct chain_env *e)
{
    for (unsigned i = 0; i < RING_NUM; i++)
        put(&e->desc[i], e->buf, 1, NEXT, (uint16_t)((i + 1) % RING_NUM));
    return 0;
}

static uint16_t next_out_of_range(struct chain_env *e)
{
    put(&e->desc[0], e->buf, HDR, NEXT, RING_NUM + 44);
    return 0;
}

/* a valid two-entry indirect table at e->ind */
static void fill_table(struct chain_env *e)
{
    put(&e->ind_hva[0], e->buf, HDR, NEXT, 1);
    put(&e->ind_hva[1], e->buf + HDR, FRAME, 0, 0);
}

static uint16_t ind_len_odd(struct chain_env *e)
{
    fill_table(e);
    put(&e->desc[0], e->ind, 17, IND, 0);
    return 0;
}

static uint16_t ind_len_zero(struct chain_env *e)
{
    fill_table(e);
    put(&e->desc[0], e->ind, 0, IND, 0);
    return 0;
}

static uint16_t ind_nested(struct chain_env *e)
{
    put(&e->ind2_hva[0], e->buf, HDR + FRAME, 0, 0);
    put(&e->ind_hva[0], e->ind2, 16, IND, 0);
    put(&e->desc[0], e->ind, 16, IND, 0);
    return 0;
}

static uint16_t ind_outside(struct chain_env *e)
{
    put(&e->desc[0], FAR_AWAY, 32, IND, 0);
    return 0;
}
static uint16_t ind_past_end(struct chain_env *e)
{
    put(&e->desc[0], 2 * REGION - 32, 4096, IND, 0);
    return 0;
}

static uint16_t ind_huge(struct chain_env *e)
{
    fill_table(e);
    put(&e->desc[0], e->ind, 0xfffffff0u, IND, 0);
    return 0;
}

static uint16_t ind_loop(struct chain_env *e)
{
    put(&e->ind_hva[0], e->buf, HDR, NEXT, 1);
    put(&e->ind_hva[1], e->buf + HDR, FRAME, NEXT, 0);
    put(&e->desc[0], e->ind, 32, IND, 0);
    return 0;
}

static uint16_t ind_next_out(struct chain_env *e)
{
    put(&e->ind_hva[0], e->buf, HDR, NEXT, 7);   /* a 2-entry table */
    put(&e->ind_hva[1], e->buf + HDR, FRAME, 0, 0);
    put(&e->desc[0], e->ind, 32, IND, 0);
    return 0;
}

/* the header in four 3-byte pieces, then the frame: valid input */
static uint16_t hdr_split(struct chain_env *e)
{
    for (uint16_t i = 0; i < 4; i++)
        put(&e->desc[i], e->buf + 3u * i, 3, NEXT, (uint16_t)(i + 1));
    put(&e->desc[4], e->buf + HDR, FRAME, 0, 0);
    return 0;
}

/* 4 bytes in all: shorter than the header */
static uint16_t hdr_short(struct chain_env *e)
{
    put(&e->desc[0], e->buf, 4, 0, 0);
    return 0;
}

/* NEEDS_CSUM with csum_start far past the 60-byte frame */
static uint16_t csum_beyond(struct chain_env *e)
{
    struct mfe_net_hdr h = { .flags = 1, .csum_start = 0xfff0, .csum_offset = 0x10 };
    memcpy(e->buf_hva, &h, sizeof h);
    put(&e->desc[0], e->buf, HDR + FRAME, 0, 0);
    return 0;
}

/* a device-writable descriptor in a TX chain: the device must not write it */
static uint16_t tx_writable(struct chain_env *e)
{
    put(&e->desc[0], e->buf, HDR + FRAME, MFE_DESC_F_WRITE, 0);
    return 0;
}

/* ---- the body ---- */

static struct oob the_oob;

/* An Ethernet frame of a local experimental type after a zero header. */
static void write_frame(uint8_t *p)
{
    memset(p, 0, HDR);
    for (unsigned k = 0; k < FRAME; k++)
        p[HDR + k] = (uint8_t)(0x30 + k);
    memset(p + HDR, 0x02, 12);
    p[HDR + 12] = 0x88;
    p[HDR + 13] = 0xb5;
}

static void env_init(struct vhc_ctx *ctx, struct chain_env *e)
{
    struct mfe_mem *mem = &ctx->fe.mem;
    const struct mfe_vq *vq = &ctx->fe.vq[TXQ];
    e->desc = mfe_gpa(mem, vq->desc_gpa, 16ull * vq->num);
    e->buf = 0x10000;   /* region 0: far from the rings at the top of region 1 */
    e->ind = mfe_mem_alloc(mem, 4096, 4096);
    e->ind2 = mfe_mem_alloc(mem, 4096, 4096);
    e->buf_hva = mfe_gpa(mem, e->buf, HDR + FRAME);
    e->ind_hva = e->ind ? mfe_gpa(mem, e->ind, 4096) : NULL;
    e->ind2_hva = e->ind2 ? mfe_gpa(mem, e->ind2, 4096) : NULL;
    VHC_ASSERT(ctx, e->desc && e->buf_hva && e->ind_hva && e->ind2_hva, "frontend.mem",
               "could not place the bad chain's buffers in guest memory");
    write_frame(e->buf_hva);
}

static void start_on_guarded(struct vhc_ctx *ctx)
{
    oob_mem_create(ctx, &the_oob, REGION);
    struct mfe_start_opts o = { .queue_pairs = 1, .ring_size = RING_NUM, .reuse_memory = true };
    VHC_OK(ctx, mfe_qemu_start(&ctx->fe, &o));
}

/* avail ring: flags, idx, ring[]; head at ring[0], idx 1 */
static void publish_and_kick(struct vhc_ctx *ctx, uint16_t head)
{
    const struct mfe_vq *vq = &ctx->fe.vq[TXQ];
    uint16_t *avail = mfe_gpa(&ctx->fe.mem, vq->avail_gpa, 6);
    VHC_ASSERT(ctx, avail != NULL, "frontend.mem", "TX avail ring not in memory");
    avail[2] = head;
    __atomic_store_n(&avail[1], (uint16_t)1, __ATOMIC_RELEASE);
    oob_resnap(ctx, &the_oob, vq->avail_gpa, 6);
    uint64_t one = 1;
    VHC_ASSERT(ctx, write(vq->kick, &one, sizeof one) == sizeof one, "frontend.kick",
               "kicking the TX ring failed");
}

/* What the back end did with the chain, for the transcript: it used it
 * (dropped or sent), left it, or closed the connection. */
static void note_outcome(struct vhc_ctx *ctx, const char *what)
{
    const struct mfe_vq *vq = &ctx->fe.vq[TXQ];
    const uint16_t *used = mfe_gpa(&ctx->fe.mem, vq->used_gpa, 12);
    uint16_t idx = used ? __atomic_load_n(&used[1], __ATOMIC_ACQUIRE) : 0;
    int rc = mfe_expect_silence(&ctx->fe, 10);
    const char *conn = rc == VHU_IO_TIMEOUT ? "connection kept"
                     : rc == VHU_IO_EOF || rc == VHU_IO_ERR ? "connection closed"
                     : "a message arrived";
    mfe_note(&ctx->fe, "%s: used idx %u (%s), %s", what, idx,
             idx ? "chain consumed" : "chain left alone", conn);
}

/* ---- RX: what the back end read, seen in what it forwards ---- */

#define RX_BUFS    4u
#define RX_BUF_LEN 2048u
#define MAX_CHAIN  2048u

struct rx_watch {
    uint64_t buf[RX_BUFS];
    uint8_t want[MAX_CHAIN];   /* the frame the TX chain names, header removed */
    uint32_t want_len;
};

static struct rx_watch the_rx;

/* The bytes the TX chain from head names (direct descriptors only). */
static void expected_frame(struct vhc_ctx *ctx, const struct chain_env *e, uint16_t head)
{
    static uint8_t all[MAX_CHAIN];
    uint32_t n = 0;
    const struct mfe_desc *d = &e->desc[head];
    for (unsigned steps = 0; steps < 16; steps++) {
        VHC_ASSERT(ctx, n + d->len <= MAX_CHAIN && oob_copy(&the_oob, d->addr, d->len, all + n),
                   "frontend.oob", "the RX-checked chain must be valid guest memory");
        n += d->len;
        if (!(d->flags & NEXT))
            break;
        d = &e->desc[d->next];
    }
    the_rx.want_len = n > HDR ? n - HDR : 0;
    memcpy(the_rx.want, all + HDR, the_rx.want_len);
}

/* RX buffers on ring 0, device-writable, made available and kicked. */
static void post_rx(struct vhc_ctx *ctx)
{
    const struct mfe_vq *vq = &ctx->fe.vq[0];
    struct mfe_desc *desc = mfe_gpa(&ctx->fe.mem, vq->desc_gpa, 16ull * vq->num);
    uint16_t *avail = mfe_gpa(&ctx->fe.mem, vq->avail_gpa, 4 + 2 * RX_BUFS);
    VHC_ASSERT(ctx, desc && avail, "frontend.mem", "RX ring not in memory");
    for (uint16_t i = 0; i < RX_BUFS; i++) {
        the_rx.buf[i] = mfe_mem_alloc(&ctx->fe.mem, RX_BUF_LEN, 64);
        VHC_ASSERT(ctx, the_rx.buf[i], "frontend.mem", "no room for RX buffers");
        put(&desc[i], the_rx.buf[i], RX_BUF_LEN, MFE_DESC_F_WRITE, 0);
        avail[2 + i] = i;
        oob_allow(ctx, &the_oob, the_rx.buf[i], RX_BUF_LEN);
    }
    __atomic_store_n(&avail[1], (uint16_t)RX_BUFS, __ATOMIC_RELEASE);
    oob_resnap(ctx, &the_oob, vq->desc_gpa, 16ull * RX_BUFS);   /* our own writes */
    oob_resnap(ctx, &the_oob, vq->avail_gpa, 4 + 2 * RX_BUFS);
    uint64_t one = 1;
    VHC_ASSERT(ctx, write(vq->kick, &one, sizeof one) == sizeof one, "frontend.kick",
               "kicking the RX ring failed");
}

/* A frame that came back must be what the guest offered: bytes from the
 * canary between the regions mean the back end read outside them. */
static void check_rx(struct vhc_ctx *ctx, const char *what)
{
    const struct mfe_vq *vq = &ctx->fe.vq[0];
    const uint16_t *used = mfe_gpa(&ctx->fe.mem, vq->used_gpa, 4 + 8ull * vq->num);
    if (!used || __atomic_load_n(&used[1], __ATOMIC_ACQUIRE) == 0) {
        mfe_note(&ctx->fe, "%s: nothing came back on RX (dropped)", what);
        return;
    }
    const struct mfe_used_elem *el = (const void *)(used + 2);
    VHC_ASSERT(ctx, el->id < RX_BUFS && el->len >= HDR && el->len <= RX_BUF_LEN,
               "datapath.used", "expected an RX used entry for one of %u buffers of %u "
               "bytes; got id %u len %u", RX_BUFS, RX_BUF_LEN, el->id, el->len);
    const uint8_t *got = mfe_gpa(&ctx->fe.mem, the_rx.buf[el->id] + HDR, el->len - HDR);
    uint32_t n = el->len - HDR < the_rx.want_len ? el->len - HDR : the_rx.want_len;
    uint32_t i = 0;
    while (i < n && got[i] == the_rx.want[i])
        i++;
    VHC_ASSERT(ctx, i == n, "oob.read",
               "expected the frame forwarded after %s to be the %u bytes the chain names; "
               "byte %u differs (0x%02x, the guest had 0x%02x): the back end read memory "
               "the descriptor does not name", what, the_rx.want_len, i, got[i],
               the_rx.want[i]);
    mfe_note(&ctx->fe, "%s: %u bytes came back on RX, the %u compared all equal", what,
             el->len - HDR, n);
}

static void bad_chain(struct vhc_ctx *ctx)
{
    const struct bad_chain *v = ctx->c->variant;
    struct chain_env e;
    start_on_guarded(ctx);
    env_init(ctx, &e);
    uint16_t head = v->build(&e);
    oob_allow_used_rings(ctx, &the_oob);
    if (v->rx_check)
        expected_frame(ctx, &e, head);
    oob_snapshot(ctx, &the_oob);
    if (v->rx_check)
        post_rx(ctx);   /* after the snapshot: we write the RX ring */
    mfe_note(&ctx->fe, "TX chain made available: %s", v->what);
    publish_and_kick(ctx, head);
    usleep(SETTLE_US);
    note_outcome(ctx, v->what);
    if (v->rx_check)
        check_rx(ctx, v->what);
    oob_check(ctx, &the_oob, v->what);
    vhc_expect_alive(ctx, "hardening.survive");
    oob_check(ctx, &the_oob, v->what);   /* late writes, after the close */
    oob_free(&the_oob);
    dp_recover(ctx, "the bad chain");
}

#define ROW(name, text, fn) static const struct bad_chain row_##name = { text, fn, false }
#define ROW_RX(name, text, fn) static const struct bad_chain row_##name = { text, fn, true }
ROW(outside, "one descriptor 16 MiB past every region", outside);
ROW(past_end, "a 1514-byte descriptor that runs 1414 bytes past the last region", past_end);
ROW_RX(spanning, "a 1514-byte descriptor crossing from region 0 into region 1", spanning);
ROW(len_huge, "a descriptor of length 2^32-1 at a valid address", len_huge);
ROW(loop2, "a two-descriptor loop (0 -> 1 -> 0)", loop2);
ROW(loop_all, "a loop through all 256 descriptors", loop_all);
ROW(next_oor, "a NEXT index of 300 in a 256-entry ring", next_out_of_range);
ROW(ind_odd, "an indirect table of length 17", ind_len_odd);
ROW(ind_zero, "an indirect table of length 0", ind_len_zero);
ROW(ind_nested, "an indirect table whose entry is itself indirect", ind_nested);
ROW(ind_outside, "an indirect table in no region", ind_outside);
ROW(ind_past_end, "a 4 KiB indirect table 32 bytes before the end of memory", ind_past_end);
ROW(ind_huge, "an indirect table of length 0xfffffff0", ind_huge);
ROW(ind_loop, "a loop inside an indirect table", ind_loop);
ROW(ind_next, "a NEXT index of 7 in a 2-entry indirect table", ind_next_out);
ROW_RX(hdr_split, "the 12-byte header split over four 3-byte descriptors", hdr_split);
ROW(hdr_short, "a 4-byte chain, shorter than the header", hdr_short);
ROW(csum, "NEEDS_CSUM with csum_start 0xfff0 on a 60-byte frame", csum_beyond);
ROW(writable, "a device-writable descriptor on the TX ring", tx_writable);

#define DESC_RULE "virtio 1.1, 2.6.5 and 2.6.5.3 (descriptors, indirect descriptors); " \
    "vhost-user.rst Memory access: the back end may only touch guest memory through " \
    "the table, so a chain that does not translate or does not end is refused (the " \
    "chain dropped, the ring stopped or the connection closed): never a crash, never " \
    "a write outside what the guest offered, and a new connection works"
#define STEPS(what) "QEMU init; start on guarded memory (2 x 4 MiB regions, canaries " \
    "around them in the memfd); TX ring 1: " what "; kick; 300 ms; no byte outside the " \
    "used rings changed; new connection served; 64 frames looped back on new memory"

#define DESC_CASE(case_id, row, summ, what, tag_text) { \
        .id = case_id, .summary = summ, .rule = DESC_RULE, \
        .steps = STEPS(what), .timeout_s = 30, .body = bad_chain, .flags = VHC_F_NET, \
        .variant = &row_##row, .tags = tag_text }

const struct vhc_case vhc_cases_hardening_dp[] = {
    DESC_CASE("hardening/desc/addr-outside-memory",
              outside, "a TX descriptor in no region does no harm",
              "desc 0 at gpa 24 MiB (memory ends at 8 MiB)", CVE_2018_1059 "; " CVE_2020_10725),
    DESC_CASE("hardening/desc/len-past-region-end", past_end,
              "a TX descriptor running past the end of guest memory does no harm",
              "desc 0 at 8 MiB - 100, len 1514", CVE_2018_1059 "; " CVE_2020_10725),
    DESC_CASE("hardening/desc/spanning-two-regions", spanning,
              "a TX descriptor crossing two regions is read piecewise or refused",
              "desc 0 at 4 MiB - 100, len 1514 (regions adjacent in gpa, not in the file); "
              "4 RX buffers posted: a frame forwarded must be the chain's bytes",
              CVE_2018_1059),
    DESC_CASE("hardening/desc/len-huge", len_huge, "a TX descriptor of length 2^32-1 does no harm",
              "desc 0 at a valid buffer, len 0xffffffff", CVE_2018_1059),
    DESC_CASE("hardening/desc/chain-loop", loop2, "a two-descriptor loop ends", "desc 0 -> 1 -> 0",
              FIX_LIBVHOST_USER_DESC "; " FIX_RUST_VMM_CHAIN),
    DESC_CASE("hardening/desc/chain-loop-whole-ring",
              loop_all, "a loop through the whole ring ends",
              "256 descriptors, i -> i+1, 255 -> 0", FIX_LIBVHOST_USER_DESC "; "
              FIX_RUST_VMM_CHAIN),
    DESC_CASE("hardening/desc/next-out-of-range", next_oor, "a NEXT index past the ring is refused",
              "desc 0 NEXT 300 (ring of 256)", FIX_LIBVHOST_USER_DESC),
    DESC_CASE("hardening/desc/indirect-len-odd",
              ind_odd, "an indirect table of 17 bytes is refused",
              "desc 0 INDIRECT len 17", FIX_LIBVHOST_USER_DESC "; " FIX_RUST_VMM_CHAIN),
    DESC_CASE("hardening/desc/indirect-len-zero", ind_zero, "an empty indirect table is refused",
              "desc 0 INDIRECT len 0", FIX_RUST_VMM_CHAIN),
    DESC_CASE("hardening/desc/indirect-nested", ind_nested,
              "an indirect table inside an indirect table is refused",
              "desc 0 INDIRECT -> table whose entry 0 is INDIRECT",
              FIX_LIBVHOST_USER_DESC "; " FIX_RUST_VMM_CHAIN),
    DESC_CASE("hardening/desc/indirect-outside-memory",
              ind_outside, "an indirect table in no region is refused",
              "desc 0 INDIRECT at gpa 24 MiB", CVE_2018_1059 "; " FIX_RUST_VMM_CHAIN),
    DESC_CASE("hardening/desc/indirect-past-end", ind_past_end,
              "an indirect table running past the end of memory is refused",
              "desc 0 INDIRECT at 8 MiB - 32, len 4096", CVE_2018_1059),
    DESC_CASE("hardening/desc/indirect-len-huge",
              ind_huge, "an indirect table of 0xfffffff0 bytes is refused",
              "desc 0 INDIRECT len 0xfffffff0 at a valid table", CVE_2018_1059 "; "
              FIX_LIBVHOST_USER_DESC),
    DESC_CASE("hardening/desc/indirect-loop", ind_loop, "a loop inside an indirect table ends",
              "table entries 0 -> 1 -> 0", FIX_LIBVHOST_USER_DESC "; " FIX_RUST_VMM_CHAIN),
    DESC_CASE("hardening/desc/indirect-next-out-of-range", ind_next,
              "a NEXT index past an indirect table's end is refused",
              "2-entry table, entry 0 NEXT 7", FIX_LIBVHOST_USER_DESC),
    DESC_CASE("hardening/desc/header-split-four-ways", hdr_split,
              "a header split over four descriptors is handled (valid input)",
              "desc 0-3: 3 bytes of header each, desc 4: 60-byte frame; 4 RX buffers "
              "posted: a frame forwarded must be the chain's bytes", CVE_2022_2132),
    DESC_CASE("hardening/desc/chain-shorter-than-header", hdr_short,
              "a chain shorter than the virtio-net header is dropped",
              "desc 0 len 4", CVE_2022_2132),
    DESC_CASE("hardening/desc/csum-start-beyond-frame", csum,
              "a checksum request past the frame does no harm",
              "header NEEDS_CSUM, csum_start 0xfff0, csum_offset 16, 60-byte frame",
              CVE_2024_11614),
    DESC_CASE("hardening/desc/tx-writable-descriptor", writable,
              "a device-writable descriptor on TX is not written",
              "desc 0 WRITE, len 72, on the TX ring", FIX_LIBVHOST_USER_DESC),
};
const size_t vhc_cases_hardening_dp_n = ARRAY_LEN(vhc_cases_hardening_dp);

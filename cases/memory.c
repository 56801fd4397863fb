/* memory/: SET_MEM_TABLE and the memory-slot requests. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "caseapi.h"
#include "hardening_tags.h"

#define MiB (1ull << 20)

/* ---- valid tables: start the device on them, stop, bases intact ---- */

static void start_stop_on(struct vhc_ctx *ctx, uint64_t size, enum mfe_layout l, unsigned n)
{
    vc_mem_new(ctx, size, l, n);
    vc_start(ctx, NULL, true);
    uint16_t got[MFE_MAX_VQ], zero[MFE_MAX_VQ] = { 0 };
    vc_stop(ctx, got);
    vc_check_bases(ctx, got, zero, vc_nvq(ctx), "vring.base.roundtrip");
}

static void one_region(struct vhc_ctx *ctx)
{
    start_stop_on(ctx, 64 * MiB, MFE_LAYOUT_EVEN, 1);
}

static void qemu_two_regions(struct vhc_ctx *ctx)
{
    start_stop_on(ctx, MFE_QEMU_MEM_SIZE, MFE_LAYOUT_QEMU, 2);
}

static void eight_regions(struct vhc_ctx *ctx)
{
    start_stop_on(ctx, 256 * MiB, MFE_LAYOUT_EVEN, VHU_MAX_REGIONS);
}

static void replace_table(struct vhc_ctx *ctx)
{
    uint16_t got[MFE_MAX_VQ], zero[MFE_MAX_VQ] = { 0 };
    vc_start(ctx, NULL, false);
    vc_stop(ctx, got);
    /* a second table on fresh memory, as after a guest memory change */
    vc_mem_new(ctx, 128 * MiB, MFE_LAYOUT_EVEN, 3);
    vc_start(ctx, NULL, true);
    vc_stop(ctx, got);
    vc_check_bases(ctx, got, zero, vc_nvq(ctx), "mem.replace");
}

/* ---- invalid tables ---- */

/* a table message over a private n-region memory (kept in *mem) */
static void table_msg(struct vhc_ctx *ctx, struct mfe_mem *mem, unsigned n, struct vhu_msg *m)
{
    struct vhu_region regions[VHU_MAX_REGIONS];
    int fds[VHU_MAX_REGIONS];
    VHC_OK(ctx, mfe_mem_create(mem, n * 2 * MiB, MFE_LAYOUT_EVEN, n));
    unsigned got = mfe_mem_table(mem, regions, fds);
    VHC_ASSERT(ctx, got == n, "frontend.mem", "expected %u regions, made %u", n, got);
    vhu_msg_mem(m, regions, fds, n);
    vc_set_features(ctx);   /* QEMU sends the table after SET_FEATURES */
}

static void reject_table(struct vhc_ctx *ctx, struct mfe_mem *mem, struct vhu_msg *m,
                         const char *rule)
{
    vhc_expect_rejected(ctx, m, rule);
    mfe_mem_destroy(mem);
}

static void fewer_fds_than_regions(struct vhc_ctx *ctx)
{
    static struct mfe_mem mem;
    struct vhu_msg m;
    table_msg(ctx, &mem, 2, &m);
    m.nfds = 1;
    reject_table(ctx, &mem, &m, "mem.fds");
}

static void more_fds_than_regions(struct vhc_ctx *ctx)
{
    static struct mfe_mem mem;
    struct vhu_msg m;
    table_msg(ctx, &mem, 1, &m);
    int extra = dup(m.fds[0]);
    VHC_ASSERT(ctx, extra >= 0, "frontend.dup", "dup failed");
    vhu_msg_add_fd(&m, extra);
    vhc_expect_rejected(ctx, &m, "mem.fds");
    close(extra);
    mfe_mem_destroy(&mem);
}

static void nregions_over_max(struct vhc_ctx *ctx)
{
    static struct mfe_mem mem;
    struct vhu_msg m;
    table_msg(ctx, &mem, VHU_MAX_REGIONS, &m);
    /* a ninth region after the eighth, in the bytes past struct vhu_mem */
    struct vhu_region extra = m.u.mem.regions[VHU_MAX_REGIONS - 1];
    extra.gpa += extra.size + 64 * 1024;
    size_t off = 2 * sizeof(uint32_t) + VHU_MAX_REGIONS * sizeof extra;
    memcpy(m.u.bytes + off, &extra, sizeof extra);
    m.u.mem.nregions = VHU_MAX_REGIONS + 1;
    m.hdr.size = (uint32_t)(off + sizeof extra);
    reject_table(ctx, &mem, &m, "mem.nregions");
}

static void zero_regions(struct vhc_ctx *ctx)
{
    struct vhu_msg m;
    vc_set_features(ctx);
    struct vhu_region none[1] = { { 0 } };
    int nofd[1] = { -1 };
    vhu_msg_mem(&m, none, nofd, 0);
    enum vhc_reject r = vhc_send_invalid(ctx, &m);
    mfe_note(&ctx->fe, "empty table: %s", r == VHC_REJ_ACCEPTED ? "ack 0" : "not accepted");
    vhc_expect_alive(ctx, "mem.nregions");
}

static void offset_beyond_fd(struct vhc_ctx *ctx)
{
    static struct mfe_mem mem;
    struct vhu_msg m;
    table_msg(ctx, &mem, 1, &m);
    /* the region's own memfd is exactly its size: any offset overruns it */
    m.u.mem.regions[0].mmap_offset = m.u.mem.regions[0].size;
    reject_table(ctx, &mem, &m, "mem.offset");
}

static void size_overflow(struct vhc_ctx *ctx)
{
    static struct mfe_mem mem;
    struct vhu_msg m;
    table_msg(ctx, &mem, 1, &m);
    m.u.mem.regions[0].gpa = UINT64_MAX - 0xfff;   /* gpa + size wraps past 2^64 */
    reject_table(ctx, &mem, &m, "mem.overflow");
}

static void payload_size_mismatch(struct vhc_ctx *ctx)
{
    static struct mfe_mem mem;
    struct vhu_msg m;
    table_msg(ctx, &mem, 2, &m);
    m.hdr.size = 2 * sizeof(uint32_t) + sizeof(struct vhu_region);   /* one region */
    m.nfds = 1;
    reject_table(ctx, &mem, &m, "payload.size");
}

/* ---- memory slots ---- */

static void max_mem_slots(struct vhc_ctx *ctx)
{
    uint64_t n = vc_get_u64(ctx, VHU_REQ_GET_MAX_MEM_SLOTS);
    VHC_ASSERT(ctx, n >= 1, "mem_slots.max",
               "expected GET_MAX_MEM_SLOTS >= 1 (QEMU needs a slot per region); got %llu",
               (unsigned long long)n);
}

/* The added regions are the memory map: ring 0 laid out inside them is
 * accepted (an ADDR that translates through no region may be refused, so a
 * back end that dropped the regions shows here) and keeps its base. */
static void ring_on_added_memory(struct vhc_ctx *ctx)
{
    VHC_OK(ctx, mfe_vq_setup(&ctx->fe, 0, 256));
    vc_accepts_state(ctx, VHU_REQ_SET_VRING_NUM, 0, 256, "vring.num.accept");
    vc_accepts_state(ctx, VHU_REQ_SET_VRING_BASE, 0, 9, "vring.base.accept");
    struct vhu_vring_addr a;
    mfe_vq_addr(&ctx->fe, 0, &a);
    struct vhu_msg m, reply;
    vhu_msg_addr(&m, &a);
    vc_accepts(ctx, &m, "mem_slots.add");
    vhu_msg_state(&m, VHU_REQ_GET_VRING_BASE, 0, 0);
    VHC_OK(ctx, mfe_request(&ctx->fe, &m, &reply));
    vc_check_reply(ctx, &reply, VHU_REQ_GET_VRING_BASE);
    VHC_ASSERT(ctx, reply.u.state.index == 0 && reply.u.state.num == 9, "vring.base.roundtrip",
               "expected GET_VRING_BASE {index 0, num 9} for the ring on added memory; "
               "got {index %u, num %u}", reply.u.state.index, reply.u.state.num);
}

/* ADD_MEM_REG (NEED_REPLY) or REM_MEM_REG of each of QEMU's regions; every
 * ack must be 0.  `round` names the step in the failure. */
static void mem_reg_all(struct vhc_ctx *ctx, uint32_t req, const char *rule, const char *round)
{
    struct vhu_region regions[VHU_MAX_REGIONS];
    int fds[VHU_MAX_REGIONS];
    unsigned n = mfe_mem_table(&ctx->fe.mem, regions, fds);
    for (unsigned i = 0; i < n; i++) {
        struct vhu_msg m;
        vhu_msg_init(&m, req, VHU_FLAG_NEED_REPLY);
        m.u.mem_reg.region = regions[i];
        m.hdr.size = sizeof m.u.mem_reg;
        vhu_msg_add_fd(&m, fds[i]);
        uint64_t ack = vc_ack(ctx, &m);
        VHC_ASSERT(ctx, ack == 0, rule,
                   "%s: expected ack 0 to %s of region %u (gpa 0x%llx); got %llu", round,
                   vhu_req_name(VHU_CH_FRONT, req), i, (unsigned long long)regions[i].gpa,
                   (unsigned long long)ack);
    }
}

static void add_mem_reg_two(struct vhc_ctx *ctx)
{
    vc_set_features(ctx);
    vc_mem_qemu(ctx);
    mem_reg_all(ctx, VHU_REQ_ADD_MEM_REG, "mem_slots.add", "ADD_MEM_REG");
    ring_on_added_memory(ctx);
}

/* QEMU's multiqueue net runs one vhost device per queue pair on the one
 * connection, and each device adds the same regions (ADD_MEM_REG is not one
 * of vhost-user.c's one-time requests); one device going away removes its
 * copy while the other's rings still use the memory. */
static void add_mem_reg_per_device(struct vhc_ctx *ctx)
{
    vc_set_features(ctx);
    vc_mem_qemu(ctx);
    mem_reg_all(ctx, VHU_REQ_ADD_MEM_REG, "mem_slots.per_device", "device 0");
    mem_reg_all(ctx, VHU_REQ_ADD_MEM_REG, "mem_slots.per_device",
                "device 1 (the same regions again)");
    mem_reg_all(ctx, VHU_REQ_REM_MEM_REG, "mem_slots.per_device",
                "device 1 removes its regions");
    ring_on_added_memory(ctx);
}

/* ---- the slot limit ---- */

#define SLOTS_CAP 512u   /* beyond this the case would hold too many fds */
#define SLOT_SIZE (2 * MiB)

/* ADD_MEM_REG (NEED_REPLY) of slot i: its own 2 MiB memfd at gpa i * 4 MiB;
 * returns the ack, or -1 when the back end closed. */
static long long add_slot(struct vhc_ctx *ctx, unsigned i, struct vhu_msg *m)
{
    int fd = memfd_create("vhc-slot", MFD_CLOEXEC);
    VHC_ASSERT(ctx, fd >= 0 && ftruncate(fd, (off_t)SLOT_SIZE) == 0, "frontend.memfd",
               "memfd for slot %u failed", i);
    vhu_msg_init(m, VHU_REQ_ADD_MEM_REG, VHU_FLAG_NEED_REPLY);
    m->u.mem_reg.region = (struct vhu_region){ .gpa = (uint64_t)i * 2 * SLOT_SIZE,
        .size = SLOT_SIZE, .uaddr = 0x100000000000ull + (uint64_t)i * 2 * SLOT_SIZE };
    m->hdr.size = sizeof m->u.mem_reg;
    vhu_msg_add_fd(m, fd);
    return fd;
}

/* GET_MAX_MEM_SLOTS, then SET_FEATURES; SKIP past SLOTS_CAP */
static unsigned max_slots(struct vhc_ctx *ctx)
{
    uint64_t n = vc_get_u64(ctx, VHU_REQ_GET_MAX_MEM_SLOTS);
    if (n == 0 || n > SLOTS_CAP)
        vhc_skip(ctx, "GET_MAX_MEM_SLOTS is %llu: outside the 1..%u this case fills",
                 (unsigned long long)n, SLOTS_CAP);
    vc_set_features(ctx);
    return (unsigned)n;
}

static void fill_slots(struct vhc_ctx *ctx, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        struct vhu_msg m;
        int fd = (int)add_slot(ctx, i, &m);
        uint64_t ack = vc_ack(ctx, &m);
        close(fd);
        VHC_ASSERT(ctx, ack == 0, "mem_slots.fill",
                   "expected ack 0 to ADD_MEM_REG of slot %u of the %u GET_MAX_MEM_SLOTS "
                   "promised; got %llu", i + 1, n, (unsigned long long)ack);
    }
}

static void slots_fill_to_max(struct vhc_ctx *ctx)
{
    fill_slots(ctx, max_slots(ctx));
    vc_get_u64(ctx, VHU_REQ_GET_FEATURES);   /* still serving */
}

static void slots_one_past_max(struct vhc_ctx *ctx)
{
    unsigned n = max_slots(ctx);
    fill_slots(ctx, n);
    struct vhu_msg m;
    int fd = (int)add_slot(ctx, n, &m);
    vhc_expect_rejected(ctx, &m, "mem_slots.limit");
    close(fd);
}

#define MEM_RULE "vhost-user.rst, SET_MEM_TABLE: the ancillary data carries one fd " \
                 "per region, size and order matching the regions; "

const struct vhc_case vhc_cases_memory[] = {
    {
        .id = "memory/one-region",
        .summary = "a one-region table is accepted and the rings start on it",
        .rule = MEM_RULE "one region is a valid table",
        .steps = "QEMU init; start on 64 MiB in 1 region (rings inside); stop; bases 0",
        .body = one_region,
    },
    {
        .id = "memory/qemu-two-regions",
        .summary = "QEMU's two regions from one memfd (fd sent twice) are accepted",
        .rule = "QEMU 7.2 behaviour (trace b1): SET_MEM_TABLE with NEED_REPLY, 2 regions "
                "[0, 0xa0000) and [0xc0000, 256M) of one memfd, the fd sent twice; ack 0",
        .steps = "QEMU init; start (QEMU layout); stop; bases 0",
        .body = qemu_two_regions,
    },
    {
        .id = "memory/eight-regions",
        .summary = "a table of 8 regions, each its own memfd, is accepted",
        .rule = MEM_RULE "up to 8 regions fit the message",
        .steps = "QEMU init; start on 8 regions of 32 MiB; stop; bases 0",
        .body = eight_regions,
    },
    {
        .id = "memory/replace-table",
        .summary = "a second SET_MEM_TABLE after stop replaces the first; restart works",
        .rule = "vhost-user.rst, SET_MEM_TABLE sets the memory map; QEMU 7.2 (trace c1) "
                "sends a new table on every start, and the rings must run on the new one",
        .steps = "start; stop; new memory (3 regions); start; stop; bases 0",
        .timeout_s = 45,
        .body = replace_table,
    },
    {
        .id = "memory/fewer-fds-than-regions",
        .summary = "2 regions with 1 fd is refused",
        .rule = MEM_RULE "a region without its fd cannot be mapped",
        .steps = "QEMU init; SET_FEATURES; SET_MEM_TABLE nregions 2, 1 fd; refused; "
                 "new connection served",
        .body = fewer_fds_than_regions,
    },
    {
        .id = "memory/more-fds-than-regions",
        .tags = CVE_2022_0669,
        .summary = "1 region with 2 fds is refused",
        .rule = MEM_RULE "the fd count must match",
        .steps = "QEMU init; SET_FEATURES; SET_MEM_TABLE nregions 1, 2 fds; refused; "
                 "new connection served",
        .body = more_fds_than_regions,
    },
    {
        .id = "memory/nregions-over-max",
        .tags = FIX_RUST_VMM_MSG,
        .summary = "nregions 9 (beyond the 8-region payload) is refused",
        .rule = "vhost-user.rst, Memory regions description: the table holds region0 to "
                "region7; a count of 9 is outside the message format",
        .steps = "QEMU init; SET_FEATURES; SET_MEM_TABLE nregions 9, 8 fds, size 296; "
                 "refused; new connection served",
        .body = nregions_over_max,
    },
    {
        .id = "memory/zero-regions",
        .summary = "an empty table does not take the back end down",
        .rule = "vhost-user.rst, SET_MEM_TABLE: the spec does not say whether 0 regions is "
                "valid; weakest check: accepted or refused, the back end survives",
        .steps = "QEMU init; SET_FEATURES; SET_MEM_TABLE nregions 0; new connection served",
        .body = zero_regions,
    },
    {
        .id = "memory/offset-beyond-fd",
        .tags = CVE_2018_1059 "; " FIX_LIBVHOST_USER_MEM,
        .summary = "a region whose mmap_offset + size overruns its memfd is refused",
        .rule = "vhost-user.rst, Memory regions description: a region starts at mmap "
                "offset in its fd; a region past the fd's end cannot be mapped as "
                "described (touching it would fault), so accepting it is wrong",
        .steps = "QEMU init; SET_FEATURES; SET_MEM_TABLE of 1 region, offset = fd size; "
                 "refused; new connection served",
        .body = offset_beyond_fd,
    },
    {
        .id = "memory/size-overflow",
        .tags = CVE_2018_1059 "; " FIX_LIBVHOST_USER_MEM,
        .summary = "a region whose gpa + size wraps past 2^64 is refused",
        .rule = "vhost-user.rst, Memory access: guest addresses map to the region "
                "containing them; a region that wraps around contains no well-defined "
                "range, so a translation through it would be wrong",
        .steps = "QEMU init; SET_FEATURES; SET_MEM_TABLE gpa 2^64-4096, size 2 MiB; "
                 "refused; new connection served",
        .body = size_overflow,
    },
    {
        .id = "memory/payload-size-mismatch",
        .tags = FIX_RUST_VMM_MSG,
        .summary = "nregions 2 in a payload sized for 1 region is refused",
        .rule = "vhost-user.rst, Memory regions description: the payload is the count, "
                "padding and that many regions; a size that disagrees is malformed",
        .steps = "QEMU init; SET_FEATURES; SET_MEM_TABLE nregions 2, size 40, 1 fd; "
                 "refused; new connection served",
        .body = payload_size_mismatch,
    },
    {
        .id = "memory/max-mem-slots",
        .summary = "GET_MAX_MEM_SLOTS answers at least 1",
        .rule = "vhost-user.rst, GET_MAX_MEM_SLOTS: with CONFIGURE_MEM_SLOTS the back end "
                "returns how many memory slots it supports",
        .steps = "QEMU init; GET_MAX_MEM_SLOTS; flags 0x5, value >= 1",
        .protocol_features = PF(CONFIGURE_MEM_SLOTS),
        .body = max_mem_slots,
    },
    {
        .id = "memory/add-mem-reg-two",
        .summary = "two ADD_MEM_REG with NEED_REPLY get ack 0 each",
        .rule = "vhost-user.rst, ADD_MEM_REG: one region and exactly one fd per message; "
                "QEMU 7.2 (trace e2) adds QEMU's two regions this way with NEED_REPLY, "
                "then lays its rings out in them",
        .steps = "QEMU init; SET_FEATURES; ADD_MEM_REG x2 (NEED_REPLY); ack 0 each; ring 0 "
                 "inside them: NUM 256, BASE 9, ADDR accepted; GET_VRING_BASE = 9",
        .protocol_features = PF(CONFIGURE_MEM_SLOTS) | PF(REPLY_ACK),
        .body = add_mem_reg_two,
    },
    {
        .id = "memory/add-mem-reg-per-device",
        .summary = "the same regions added by two vhost devices of one connection are "
                   "accepted; one device removing them leaves them mapped",
        .rule = "QEMU behaviour (hw/virtio/vhost-user.c): multiqueue net has one vhost "
                "device per queue pair, each sends ADD_MEM_REG for every region (not a "
                "one-time request); a back end must accept the second, identical region "
                "and keep it until the last REM_MEM_REG",
        .steps = "QEMU init; SET_FEATURES; ADD_MEM_REG x2 (device 0), the same x2 again "
                 "(device 1), REM_MEM_REG x2 (device 1); ack 0 each; ring 0 inside: NUM, "
                 "BASE 9, ADDR accepted; GET_VRING_BASE = 9",
        .protocol_features = PF(CONFIGURE_MEM_SLOTS) | PF(REPLY_ACK),
        .body = add_mem_reg_per_device,
    },
    {
        .id = "memory/slots-fill-to-max",
        .summary = "as many ADD_MEM_REG as GET_MAX_MEM_SLOTS said are each acked 0",
        .rule = "vhost-user.rst, GET_MAX_MEM_SLOTS: the back end returns the maximum "
                "number of memory slots for QEMU to expose to the guest; QEMU then adds "
                "up to that many regions (ADD_MEM_REG), so each must be accepted",
        .steps = "QEMU init; GET_MAX_MEM_SLOTS = n (SKIP past 512); SET_FEATURES; n "
                 "ADD_MEM_REG of 2 MiB memfds (NEED_REPLY); ack 0 each; GET_FEATURES",
        .protocol_features = PF(CONFIGURE_MEM_SLOTS) | PF(REPLY_ACK),
        .timeout_s = 60,
        .body = slots_fill_to_max,
    },
    {
        .id = "memory/slots-one-past-max",
        .summary = "ADD_MEM_REG of one region more than GET_MAX_MEM_SLOTS is refused",
        .rule = "vhost-user.rst, GET_MAX_MEM_SLOTS: the answer is the back end's slot "
                "limit; a region past it cannot be held, so ack 0 is a false success "
                "(a close is also accepted)",
        .steps = "QEMU init; GET_MAX_MEM_SLOTS = n (SKIP past 512); SET_FEATURES; n "
                 "ADD_MEM_REG acked 0; one more: non-zero ack or close; a new "
                 "connection is served",
        .protocol_features = PF(CONFIGURE_MEM_SLOTS) | PF(REPLY_ACK),
        .timeout_s = 60,
        .body = slots_one_past_max,
    },
};
const size_t vhc_cases_memory_n = ARRAY_LEN(vhc_cases_memory);

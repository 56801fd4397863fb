/* hardening/: control-plane input that real back ends shipped bugs for
 * (see hardening_tags.h): fds a request does not take (must be closed,
 * not leaked), fds of the wrong kind, region and log offsets that wrap,
 * ring setup before the memory table or SET_OWNER, unknown requests, bad
 * header flags and payload sizes.  Expected: refused or closed, never a
 * crash, and a new connection is served. */
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <stddef.h>

#include "caseapi.h"
#include "hardening_tags.h"

#define MiB (1ull << 20)
#define HUP_MS 1000

/* ---- fds the back end must close ---- */

/* One row: a request, its payload, how many of the fds it may keep (those
 * are eventfds), the rest are copies of a pipe's write end. */
struct fd_row {
    uint32_t req;
    unsigned keep;        /* leading eventfds the request may use */
    unsigned nfds;        /* fds attached in all */
    bool state;           /* payload vring state {0, 256}; else u64 0 */
    uint64_t pf;          /* protocol feature needed, 0 = none */
};

/* Is every copy of the pipe's write end closed?  Waits up to ms. */
static bool writers_gone(int rd, int ms)
{
    struct pollfd p = { .fd = rd, .events = POLLIN };
    return poll(&p, 1, ms) == 1 && (p.revents & POLLHUP);
}

/* Whatever comes back (a reply, an ack, a close), its fds closed. */
static void drain_answer(struct vhc_ctx *ctx)
{
    struct vhu_msg reply;
    int saved = ctx->fe.timeout_ms;
    ctx->fe.timeout_ms = VC_SILENCE_MS;
    if (mfe_recv(&ctx->fe, &reply) == 0)
        vhu_msg_close_fds(&reply);
    ctx->fe.timeout_ms = saved;
}

static void fds_not_taken(struct vhc_ctx *ctx)
{
    const struct fd_row *r = ctx->c->variant;
    if (r->pf)
        vhc_require_protocol(ctx, r->pf);
    int pfd[2];
    VHC_ASSERT(ctx, pipe2(pfd, O_CLOEXEC) == 0, "frontend.pipe", "pipe failed");
    struct vhu_msg m;
    if (r->state)
        vhu_msg_state(&m, r->req, 0, 256);
    else
        vhu_msg_u64(&m, r->req, 0);
    if (r->req == VHU_REQ_GET_FEATURES || r->req == VHU_REQ_GET_INFLIGHT_FD)
        m.hdr.size = r->req == VHU_REQ_GET_FEATURES ? 0 : sizeof m.u.inflight;
    if (r->req == VHU_REQ_GET_INFLIGHT_FD)
        m.u.inflight = (struct vhu_inflight){ .num_queues = 2, .queue_size = 256 };
    for (unsigned i = 0; i < r->nfds; i++)
        vhu_msg_add_fd(&m, i < r->keep ? vc_eventfd(ctx) : dup(pfd[1]));
    VHC_ASSERT(ctx, m.nfds == r->nfds && m.fds[r->nfds - 1] >= 0, "frontend.fds",
               "could not make %u fds", r->nfds);
    int rc = mfe_send(&ctx->fe, &m);
    vhu_msg_close_fds(&m);
    close(pfd[1]);
    if (rc == 0)
        drain_answer(ctx);
    if (writers_gone(pfd[0], HUP_MS)) {
        mfe_note(&ctx->fe, "the %u extra fds were closed while the connection lasted",
                 r->nfds - r->keep);
    } else {
        mfe_note(&ctx->fe, "extra fds still open %d ms later; closing the connection", HUP_MS);
        vhc_expect_alive(ctx, "fds.leak");
        VHC_ASSERT(ctx, writers_gone(pfd[0], HUP_MS), "fds.leak",
                   "expected the %u fds %s does not take closed by the back end; they are "
                   "still open after the connection ended (a leak: repeated, it exhausts "
                   "the back end's fd table)", r->nfds - r->keep,
                   vhu_req_name(VHU_CH_FRONT, r->req));
    }
    close(pfd[0]);
    vhc_expect_alive(ctx, "fds.leak");
}

/* ---- fds of the wrong kind ---- */

static int memfd_of(struct vhc_ctx *ctx, uint64_t size)
{
    int fd = memfd_create("vhc-wrong-kind", MFD_CLOEXEC);
    VHC_ASSERT(ctx, fd >= 0 && ftruncate(fd, (off_t)size) == 0, "frontend.memfd",
               "memfd failed");
    return fd;
}

/* a one-region table over 2 MiB of a private memfd, the fd not yet attached */
static void one_region(struct vhc_ctx *ctx, struct vhu_msg *m, struct mfe_mem *mem)
{
    struct vhu_region regions[VHU_MAX_REGIONS];
    int fds[VHU_MAX_REGIONS];
    vc_set_features(ctx);
    VHC_OK(ctx, mfe_mem_create(mem, 2 * MiB, MFE_LAYOUT_EVEN, 1));
    mfe_mem_table(mem, regions, fds);
    vhu_msg_mem(m, regions, fds, 1);
}

static void mem_fd_eventfd(struct vhc_ctx *ctx)
{
    static struct mfe_mem mem;
    struct vhu_msg m;
    one_region(ctx, &m, &mem);
    int efd = vc_eventfd(ctx);
    m.fds[0] = efd;   /* an eventfd cannot be mapped */
    vhc_expect_rejected(ctx, &m, "mem.fd");
    close(efd);
    mfe_mem_destroy(&mem);
}

/* Region fields that wrap: each row changes one field of a valid region. */
struct region_row {
    size_t field;         /* offsetof(struct vhu_region, ...) */
    uint64_t value;
};

static void region_bad(struct vhc_ctx *ctx)
{
    const struct region_row *r = ctx->c->variant;
    static struct mfe_mem mem;
    struct vhu_msg m;
    one_region(ctx, &m, &mem);
    memcpy((uint8_t *)&m.u.mem.regions[0] + r->field, &r->value, sizeof r->value);
    vhc_expect_rejected(ctx, &m, "mem.region");
    mfe_mem_destroy(&mem);
}

static void kick_fd_memfd(struct vhc_ctx *ctx)
{
    struct vhu_msg m;
    int fd = memfd_of(ctx, 4096);   /* a regular file: nothing to wait on */
    vhu_msg_u64(&m, VHU_REQ_SET_VRING_KICK, 0);
    vhu_msg_add_fd(&m, fd);
    enum vhc_reject r = vhc_send_invalid(ctx, &m);
    mfe_note(&ctx->fe, "kick fd that is a memfd: %s",
             r == VHC_REJ_ACCEPTED ? "ack 0" : r == VHC_REJ_CLOSED ? "closed" : "refused");
    close(fd);
    vhc_expect_alive(ctx, "vring.kick.fd");
}

/* SET_LOG_BASE with mmap_offset + mmap_size wrapping past 2^64.  Its reply
 * is owed whenever LOG_SHMFD was negotiated, so it is judged by hand. */
static void log_base_overflow(struct vhc_ctx *ctx)
{
    vc_set_features(ctx);
    struct vhu_msg m, reply;
    int fd = memfd_of(ctx, 4096);
    vhu_msg_init(&m, VHU_REQ_SET_LOG_BASE, 0);
    m.u.log = (struct vhu_log){ .mmap_size = 0x2000, .mmap_offset = UINT64_MAX - 0xfff };
    m.hdr.size = sizeof m.u.log;
    vhu_msg_add_fd(&m, fd);
    int rc = mfe_send(&ctx->fe, &m);
    close(fd);
    if (rc == 0)
        rc = mfe_recv(&ctx->fe, &reply);
    if (rc == 0) {
        vhu_msg_close_fds(&reply);
        VHC_ASSERT(ctx, reply.hdr.size != 8 || reply.u.u64 != 0, "log.overflow",
                   "expected SET_LOG_BASE with offset 2^64-4096 and size 8 KiB (the sum "
                   "wraps) refused (non-zero reply or a close); got 0");
    }
    mfe_note(&ctx->fe, "wrapping log base: %s", rc == 0 ? "refused" : "connection closed");
    vhc_expect_alive(ctx, "log.overflow");
}

/* ---- requests out of order ---- */

/* Send m unless the back end already closed; every step may be refused. */
static enum vhc_reject step(struct vhc_ctx *ctx, enum vhc_reject last, const struct vhu_msg *m)
{
    return last == VHC_REJ_CLOSED ? last : vhc_send_invalid(ctx, m);
}

/* The steps that start ring 1 on QEMU memory, out of QEMU's order: with
 * owner false no SET_OWNER came first, with table false no SET_MEM_TABLE
 * is sent.  Any step may be refused (nack or close); none may take the
 * back end down, and neither may a kick with descriptor 0 (zeroed: addr
 * 0, len 0) available. */
static void ring_out_of_order(struct vhc_ctx *ctx, bool owner, bool table)
{
    static struct vhu_msg m;
    struct vhu_region regions[VHU_MAX_REGIONS];
    int fds[VHU_MAX_REGIONS];
    enum vhc_reject r = VHC_REJ_IGNORED;
    vc_mem_qemu(ctx);
    VHC_OK(ctx, mfe_vq_setup(&ctx->fe, 1, 256));
    uint16_t *avail = mfe_gpa(&ctx->fe.mem, ctx->fe.vq[1].avail_gpa, 6);
    VHC_ASSERT(ctx, avail, "frontend.mem", "avail ring not in memory");
    avail[2] = 0;
    avail[1] = 1;
    vhu_msg_u64(&m, VHU_REQ_SET_FEATURES, vc_qemu_features(ctx));
    r = step(ctx, r, &m);
    if (table) {
        unsigned n = mfe_mem_table(&ctx->fe.mem, regions, fds);
        vhu_msg_mem(&m, regions, fds, n);
        r = step(ctx, r, &m);
    }
    vhu_msg_state(&m, VHU_REQ_SET_VRING_NUM, 1, 256);
    r = step(ctx, r, &m);
    vhu_msg_state(&m, VHU_REQ_SET_VRING_BASE, 1, 0);
    r = step(ctx, r, &m);
    struct vhu_vring_addr a;
    mfe_vq_addr(&ctx->fe, 1, &a);
    vhu_msg_addr(&m, &a);
    r = step(ctx, r, &m);
    vhu_msg_u64(&m, VHU_REQ_SET_VRING_KICK, 1);
    vhu_msg_add_fd(&m, ctx->fe.vq[1].kick);
    r = step(ctx, r, &m);
    uint64_t one = 1;
    if (r != VHC_REJ_CLOSED && write(ctx->fe.vq[1].kick, &one, sizeof one) == sizeof one)
        usleep(VC_SILENCE_MS * 1000);
    mfe_note(&ctx->fe, "ring 1 set up and kicked %s: %s",
             owner ? "without a memory table" : "before SET_OWNER",
             r == VHC_REJ_CLOSED ? "the back end closed the connection on the way"
                                 : "no step closed the connection");
}

static void ring_before_mem_table(struct vhc_ctx *ctx)
{
    ring_out_of_order(ctx, true, false);
    vhc_expect_alive(ctx, "order.mem-table");
}

static void ring_before_owner(struct vhc_ctx *ctx)
{
    vc_probe(ctx);
    ring_out_of_order(ctx, false, true);
    vhc_expect_alive(ctx, "order.owner");
}

/* Ring 1 with every address off its alignment (desc 16, avail 2, used 4):
 * refused at ADDR or KICK, or used without harm. */
static void ring_addr_unaligned(struct vhc_ctx *ctx)
{
    static struct vhu_msg m;
    vc_ring_prepare(ctx, 1);
    uint16_t *avail = mfe_gpa(&ctx->fe.mem, ctx->fe.vq[1].avail_gpa, 6);
    VHC_ASSERT(ctx, avail, "frontend.mem", "avail ring not in memory");
    struct vhu_vring_addr a;
    mfe_vq_addr(&ctx->fe, 1, &a);
    a.desc += 8;
    a.avail += 1;
    a.used += 2;
    vhu_msg_addr(&m, &a);
    enum vhc_reject r = vhc_send_invalid(ctx, &m);
    vhu_msg_u64(&m, VHU_REQ_SET_VRING_KICK, 1);
    vhu_msg_add_fd(&m, ctx->fe.vq[1].kick);
    r = step(ctx, r, &m);
    uint64_t one = 1;
    if (r != VHC_REJ_CLOSED && write(ctx->fe.vq[1].kick, &one, sizeof one) == sizeof one)
        usleep(VC_SILENCE_MS * 1000);
    mfe_note(&ctx->fe, "unaligned ring addresses: %s",
             r == VHC_REJ_CLOSED ? "connection closed" : r == VHC_REJ_NACK ? "refused"
                                                       : "accepted and kicked");
    vhc_expect_alive(ctx, "vring.addr.align");
}

/* ---- header and payload ---- */

struct raw_row {
    uint32_t req, flags, size;
    uint64_t payload;
};

/* A request the back end must refuse (nack, close, or without REPLY_ACK
 * silently drop): unknown codes and payloads of the wrong size. */
static void raw_rejected(struct vhc_ctx *ctx)
{
    const struct raw_row *r = ctx->c->variant;
    struct vhu_msg m;
    vhu_msg_init(&m, r->req, r->flags);
    m.u.u64 = r->payload;
    m.hdr.size = r->size;
    vhc_expect_rejected(ctx, &m, r->req >= VHU_REQ_MAX || r->req == 0 ? "request.unknown"
                                                                      : "payload.size");
}

/* GET_FEATURES with odd header flags: answered well-formed or the
 * connection closed; with strict set, an answer is a failure too. */
struct flags_row {
    uint32_t flags;
    bool strict;          /* an unknown version: must not be answered */
    const char *rule;
};

static void get_features_flags(struct vhc_ctx *ctx)
{
    const struct flags_row *r = ctx->c->variant;
    struct vhu_msg m, reply;
    vhu_msg_init(&m, VHU_REQ_GET_FEATURES, 0);
    m.hdr.flags = r->flags;   /* exactly: vhu_msg_init would add version 1 to 0 */
    VHC_OK(ctx, mfe_send(&ctx->fe, &m));
    int saved = ctx->fe.timeout_ms;
    ctx->fe.timeout_ms = VC_SILENCE_MS;
    int rc = mfe_recv(&ctx->fe, &reply);
    ctx->fe.timeout_ms = saved;
    if (rc == 0) {
        vhu_msg_close_fds(&reply);
        VHC_ASSERT(ctx, !r->strict, r->rule,
                   "expected GET_FEATURES with flags 0x%x (not version 1) refused (closed "
                   "or not answered); got an answer", r->flags);
        vc_check_reply(ctx, &reply, VHU_REQ_GET_FEATURES);
    }
    mfe_note(&ctx->fe, "flags 0x%x: %s", r->flags,
             rc == 0 ? "answered" : rc == VHU_IO_TIMEOUT ? "not answered" : "closed");
    vhc_expect_alive(ctx, r->rule);
}

/* A header announcing 4 GiB - 64 KiB of payload, then nothing: the back
 * end must not wait with the whole process or allocate that much. */
static void size_huge(struct vhc_ctx *ctx)
{
    struct vhu_hdr h = { .request = VHU_REQ_SET_FEATURES, .flags = VHU_VERSION,
                         .size = 0xffff0000u };
    int rc = mfe_send_raw(&ctx->fe, &h, sizeof h, NULL, 0);
    mfe_note(&ctx->fe, "header with size 0x%x sent (%s); closing", h.size,
             rc == 0 ? "taken" : "refused by the socket");
    vhc_expect_alive(ctx, "payload.size");
}

/* ---- rows ---- */

static const struct fd_row fd_get_features = { VHU_REQ_GET_FEATURES, 0, 8, false, 0 };
static const struct fd_row fd_vring_num = { VHU_REQ_SET_VRING_NUM, 0, 4, true, 0 };
static const struct fd_row fd_call = { VHU_REQ_SET_VRING_CALL, 1, 8, false, 0 };
static const struct fd_row fd_inflight = { VHU_REQ_GET_INFLIGHT_FD, 0, 4, false,
                                           PF(INFLIGHT_SHMFD) };

static const struct region_row reg_offset = { offsetof(struct vhu_region, mmap_offset),
                                              UINT64_MAX - 0xfff };
static const struct region_row reg_uaddr = { offsetof(struct vhu_region, uaddr),
                                             UINT64_MAX - 0xfff };
static const struct region_row reg_size = { offsetof(struct vhu_region, size), 4 * MiB };

static const struct raw_row raw_unknown = { 1000, VHU_VERSION, 8, 0 };
static const struct raw_row raw_zero = { 0, VHU_VERSION, 8, 0 };
static const struct raw_row raw_num_short = { VHU_REQ_SET_VRING_NUM, VHU_VERSION, 4, 256 };
static const struct raw_row raw_num_long = { VHU_REQ_SET_VRING_NUM, VHU_VERSION, 12, 256ull << 32 };
static const struct raw_row raw_feat_short = { VHU_REQ_SET_FEATURES, VHU_VERSION, 4, 0 };
static const struct raw_row raw_addr_short = { VHU_REQ_SET_VRING_ADDR, VHU_VERSION, 16, 0 };

static const struct flags_row fl_reserved = { VHU_VERSION | 0xfffffff0u, false, "hdr.flags" };
static const struct flags_row fl_reply = { VHU_VERSION | VHU_FLAG_REPLY, false, "hdr.flags" };
static const struct flags_row fl_v2 = { 0x2, true, "hdr.version" };
static const struct flags_row fl_v0 = { 0x0, true, "hdr.version" };

#define FD_RULE "vhost-user.rst, Communication: each request names the fds it carries; " \
    "a back end must close the ones a request does not use (otherwise every such " \
    "message costs it an fd), whatever it answers"
#define FD_STEPS(what) "QEMU init; " what " (extra fds are copies of a pipe's write " \
    "end); every copy closed by the back end (pipe hangs up) while the connection " \
    "lasts or at the latest when it ends; new connection served"
#define MEM_RULE "vhost-user.rst, Memory regions description: a region is mmap_offset " \
    "into its fd, size bytes, at uaddr in the front end; a region that wraps or does " \
    "not fit its fd cannot be mapped as described and must be refused"
#define REJ_STEPS(what) "QEMU init; " what "; non-zero ack, close, or (no REPLY_ACK) " \
    "ignored; new connection served"
#define ORDER_RULE "vhost-user.rst, Starting and stopping rings / SET_OWNER: QEMU sets " \
    "the owner and the memory table before any ring; a back end given a ring out of " \
    "that order may refuse it, but must never translate ring addresses through a " \
    "table it does not have (weakest check: no crash, new connection served)"
#define SIZE_RULE "vhost-user.rst, Message specification: the payload is the request's " \
    "struct; a size that is not that struct's is malformed and must be refused, not " \
    "read past or partly used"
#define UNKNOWN_RULE "vhost-user.rst, Communication: a back end receiving a request it " \
    "does not know must refuse it (REPLY_ACK nack, or close), not act on it"
#define FLAGS_RULE "vhost-user.rst, Header: bits 0-1 are the version (0x1), bit 2 " \
    "REPLY, bit 3 NEED_REPLY, the rest reserved and zero"

const struct vhc_case vhc_cases_hardening[] = {
    { .id = "hardening/fds/get-features-8-fds", .variant = &fd_get_features,
      .summary = "8 fds on GET_FEATURES (takes none) are closed, not leaked",
      .rule = FD_RULE, .steps = FD_STEPS("GET_FEATURES with 8 pipe fds"),
      .body = fds_not_taken, .tags = CVE_2022_0669 "; " CVE_2020_10726 },
    { .id = "hardening/fds/vring-num-4-fds", .variant = &fd_vring_num,
      .summary = "4 fds on SET_VRING_NUM (takes none) are closed, not leaked",
      .rule = FD_RULE, .steps = FD_STEPS("SET_VRING_NUM {0, 256} with 4 pipe fds"),
      .body = fds_not_taken, .tags = CVE_2022_0669 },
    { .id = "hardening/fds/vring-call-8-fds", .variant = &fd_call,
      .summary = "SET_VRING_CALL with 8 fds: the 7 extra are closed, not leaked",
      .rule = FD_RULE, .steps = FD_STEPS("SET_VRING_CALL 0 with an eventfd and 7 pipe fds"),
      .body = fds_not_taken, .tags = CVE_2022_0669 },
    { .id = "hardening/fds/get-inflight-fd-4-fds", .variant = &fd_inflight,
      .summary = "4 fds on GET_INFLIGHT_FD (takes none) are closed, not leaked",
      .rule = FD_RULE, .steps = FD_STEPS("GET_INFLIGHT_FD {2 queues of 256} with 4 pipe fds"),
      .body = fds_not_taken, .tags = CVE_2022_0669 "; " CVE_2020_10726 },
    { .id = "hardening/fds/mem-table-eventfd", .summary =
      "SET_MEM_TABLE whose fd is an eventfd (cannot be mapped) is refused",
      .rule = MEM_RULE,
      .steps = REJ_STEPS("SET_FEATURES; SET_MEM_TABLE of 1 region, fd an eventfd"),
      .body = mem_fd_eventfd, .tags = FIX_LIBVHOST_USER_MEM },
    { .id = "hardening/fds/kick-memfd", .summary =
      "SET_VRING_KICK whose fd is a regular file does not take the back end down",
      .rule = "vhost-user.rst, SET_VRING_KICK: the fd is an eventfd; a file that cannot be "
              "waited on may be refused or accepted, but the back end survives",
      .steps = "QEMU init; SET_VRING_KICK 0 with a memfd; new connection served",
      .body = kick_fd_memfd, .tags = CVE_2022_0669 },
    { .id = "hardening/mem/mmap-offset-wraps", .variant = &reg_offset,
      .summary = "a region whose mmap_offset + size wraps past 2^64 is refused",
      .rule = MEM_RULE, .steps = REJ_STEPS("SET_FEATURES; 1 region, mmap_offset 2^64-4096"),
      .body = region_bad, .tags = CVE_2020_10722 "; " FIX_LIBVHOST_USER_MEM },
    { .id = "hardening/mem/uaddr-wraps", .variant = &reg_uaddr,
      .summary = "a region whose uaddr + size wraps past 2^64 is refused",
      .rule = MEM_RULE, .steps = REJ_STEPS("SET_FEATURES; 1 region, uaddr 2^64-4096"),
      .body = region_bad, .tags = CVE_2020_10723 },
    { .id = "hardening/mem/size-beyond-fd", .variant = &reg_size,
      .summary = "a 4 MiB region over a 2 MiB memfd is refused",
      .rule = MEM_RULE, .steps = REJ_STEPS("SET_FEATURES; 1 region of 4 MiB, fd of 2 MiB"),
      .body = region_bad, .tags = CVE_2018_1059 "; " FIX_LIBVHOST_USER_MEM },
    { .id = "hardening/mem/log-base-wraps",
      .summary = "SET_LOG_BASE whose offset + size wraps is refused",
      .rule = "vhost-user.rst, SET_LOG_BASE: the log is mmap_size bytes at mmap_offset in "
              "the fd; a range that wraps cannot be mapped and must be refused",
      .steps = "QEMU init; SET_FEATURES; SET_LOG_BASE {size 8 KiB, offset 2^64-4096} with "
               "a memfd; non-zero reply or close; new connection served",
      .protocol_features = PF(LOG_SHMFD), .body = log_base_overflow, .tags = CVE_2020_10722 },
    { .id = "hardening/order/ring-before-mem-table",
      .summary = "a ring set up and kicked before any memory table does no harm",
      .rule = ORDER_RULE,
      .steps = "QEMU init; SET_FEATURES; ring 1 NUM, BASE, ADDR, KICK (each may be "
               "refused), a kick with descriptor 0 available; new connection served",
      .body = ring_before_mem_table, .tags = CVE_2020_10723 },
    { .id = "hardening/order/ring-before-set-owner", .flags = VHC_F_NOINIT,
      .summary = "features, table and a kicked ring before SET_OWNER do no harm",
      .rule = ORDER_RULE,
      .steps = "GET_FEATURES; SET_FEATURES; SET_MEM_TABLE; ring 1 NUM, BASE, ADDR, KICK "
               "and a kick, no SET_OWNER; new connection served",
      .body = ring_before_owner, .tags = CVE_2020_10723 },
    { .id = "hardening/order/ring-addr-unaligned",
      .summary = "ring addresses off their alignment are refused or do no harm",
      .rule = "virtio 1.1, 2.6 Split Virtqueues: the descriptor table is 16-byte aligned, "
              "the avail ring 2, the used ring 4; vhost-user.rst SET_VRING_ADDR carries "
              "them (weakest check: refused, or used without a crash)",
      .steps = "QEMU init; features, table, NUM/BASE of ring 1; SET_VRING_ADDR desc+8, "
               "avail+1, used+2; KICK and a kick; new connection served",
      .body = ring_addr_unaligned, .tags = CVE_2020_10723 "; " FIX_LIBVHOST_USER_DESC },
    { .id = "hardening/msg/unknown-request-1000", .variant = &raw_unknown,
      .summary = "request code 1000 is refused", .rule = UNKNOWN_RULE,
      .steps = REJ_STEPS("request 1000 with an 8-byte payload"),
      .body = raw_rejected, .tags = FIX_RUST_VMM_MSG },
    { .id = "hardening/msg/unknown-request-0", .variant = &raw_zero,
      .summary = "request code 0 (none) is refused", .rule = UNKNOWN_RULE,
      .steps = REJ_STEPS("request 0 with an 8-byte payload"),
      .body = raw_rejected, .tags = FIX_RUST_VMM_MSG },
    { .id = "hardening/msg/vring-num-size-4", .variant = &raw_num_short,
      .summary = "SET_VRING_NUM with a 4-byte payload is refused", .rule = SIZE_RULE,
      .steps = REJ_STEPS("SET_VRING_NUM, size 4"),
      .body = raw_rejected, .tags = FIX_RUST_VMM_MSG },
    { .id = "hardening/msg/vring-num-size-12", .variant = &raw_num_long,
      .summary = "SET_VRING_NUM with a 12-byte payload is refused", .rule = SIZE_RULE,
      .steps = REJ_STEPS("SET_VRING_NUM, size 12"),
      .body = raw_rejected, .tags = FIX_RUST_VMM_MSG },
    { .id = "hardening/msg/set-features-size-4", .variant = &raw_feat_short,
      .summary = "SET_FEATURES with a 4-byte payload is refused", .rule = SIZE_RULE,
      .steps = REJ_STEPS("SET_FEATURES, size 4"),
      .body = raw_rejected, .tags = FIX_RUST_VMM_MSG },
    { .id = "hardening/msg/vring-addr-size-16", .variant = &raw_addr_short,
      .summary = "SET_VRING_ADDR with a 16-byte payload is refused", .rule = SIZE_RULE,
      .steps = REJ_STEPS("SET_VRING_ADDR, size 16 (of 40)"),
      .body = raw_rejected, .tags = FIX_RUST_VMM_MSG },
    { .id = "hardening/msg/size-4g", .summary =
      "a header announcing ~4 GiB of payload, then a close, does no harm",
      .rule = SIZE_RULE, .steps = "QEMU init; SET_FEATURES header with size 0xffff0000 and "
      "no payload; close; new connection served",
      .body = size_huge, .tags = FIX_RUST_VMM_MSG },
    { .id = "hardening/hdr/reserved-flags", .variant = &fl_reserved,
      .summary = "GET_FEATURES with reserved flag bits: a well-formed answer or a close",
      .rule = FLAGS_RULE " (a receiver may ignore them or refuse the message)",
      .steps = "QEMU init; GET_FEATURES flags 0xfffffff1; answer flags 0x5 or close; new "
               "connection served",
      .body = get_features_flags, .tags = FIX_RUST_VMM_MSG },
    { .id = "hardening/hdr/reply-flag-on-request", .variant = &fl_reply,
      .summary = "GET_FEATURES with the REPLY bit set: a well-formed answer or a close",
      .rule = FLAGS_RULE " (REPLY marks replies; a request with it may be refused)",
      .steps = "QEMU init; GET_FEATURES flags 0x5; answer flags 0x5 or close; new "
               "connection served",
      .body = get_features_flags, .tags = FIX_RUST_VMM_MSG },
    { .id = "hardening/hdr/version-2", .variant = &fl_v2,
      .summary = "GET_FEATURES of version 2 is not answered as version 1",
      .rule = FLAGS_RULE "; a message of another version has a format the back end "
              "cannot know, so it is refused (closed or not answered)",
      .steps = "QEMU init; GET_FEATURES flags 0x2; no answer within 300 ms or a close; "
               "new connection served",
      .body = get_features_flags, .tags = FIX_RUST_VMM_MSG },
    { .id = "hardening/hdr/version-0", .variant = &fl_v0,
      .summary = "GET_FEATURES of version 0 is not answered as version 1",
      .rule = FLAGS_RULE "; a message of another version has a format the back end "
              "cannot know, so it is refused (closed or not answered)",
      .steps = "QEMU init; GET_FEATURES flags 0x0; no answer within 300 ms or a close; "
               "new connection served",
      .body = get_features_flags, .tags = FIX_RUST_VMM_MSG },
};
const size_t vhc_cases_hardening_n = ARRAY_LEN(vhc_cases_hardening);

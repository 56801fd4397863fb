/* hardening/: front-end input that must not stall a back end's control
 * plane or take its datapath down.  Guest memory whose file shrinks after
 * the rings started (SIGBUS in whoever touches it), call fds whose write
 * would block (an eventfd at its maximum count, a full pipe), a kick fd the
 * front end reads itself (a read after poll() may find nothing), and
 * indirect tables far longer than the queue in a large sparse memory (a
 * walk bounded by the region size takes seconds per chain).
 *
 * Each case ends the same way: GET_VRING_BASE must be answered (or the
 * connection closed) within LIVE_MS, the back end must serve a new
 * connection, and (virtio-net cases) carry frames there on new memory.  The
 * cases that need no frames start the rings as QEMU does for any device. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "datapath_traffic.h"
#include "hardening_live.h"
#include "hardening_tags.h"

#define LIVE_MS      2000       /* GET_VRING_BASE answered within this */
#define LIVE_WAIT_MS 10000      /* how long we wait to say how late it was */
#define SETTLE_US    (300 * 1000)
/* the ring the hostile input goes to: net's TX (ring 1); a one-queue device
 * (blk) has only ring 0.  Every use has the case's ctx in scope. */
#define TXQ          (ctx->fe.nrings > 1 ? 1u : 0u)

static struct dp the_dp;

int64_t hl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* q must be answered (or the connection closed) within LIVE_MS; noted in
 * the transcript unless quiet (and all is well).  false when closed. */
static bool answered_within(struct vhc_ctx *ctx, const struct vhu_msg *q, const char *after,
                            bool quiet)
{
    const char *name = vhu_req_name(VHU_CH_FRONT, q->hdr.request);
    struct vhu_msg reply;
    int saved = ctx->fe.timeout_ms;
    ctx->fe.timeout_ms = LIVE_WAIT_MS;
    int64_t t0 = hl_now_ms();
    int rc = mfe_request(&ctx->fe, q, &reply);
    int64_t took = hl_now_ms() - t0;
    ctx->fe.timeout_ms = saved;
    bool closed = rc == VHU_IO_EOF || rc == VHU_IO_ERR;
    if (rc == 0)
        vhu_msg_close_fds(&reply);
    if (!quiet || rc != 0 || took > LIVE_MS)
        mfe_note(&ctx->fe, "%s after %s: %s after %lld ms", name, after,
                 rc == 0 ? "answered" : closed ? "connection closed" : vhu_io_strerror(rc),
                 (long long)took);
    VHC_ASSERT(ctx, (rc == 0 || closed) && took <= LIVE_MS, "hardening.live",
               "expected %s answered (or the connection closed) within %d ms after %s; got "
               "%s after %lld ms: the control plane waits for a datapath that is stuck",
               name, LIVE_MS, after,
               rc == 0 ? "the answer" : closed ? "a close" : vhu_io_strerror(rc),
               (long long)took);
    return rc == 0;
}

void hl_answers_in_time(struct vhc_ctx *ctx, unsigned ring, const char *after)
{
    struct vhu_msg q;
    vhu_msg_state(&q, VHU_REQ_GET_VRING_BASE, ring, 0);
    answered_within(ctx, &q, after, false);
}

void hl_stop_ring(struct vhc_ctx *ctx, unsigned ring)
{
    struct vhu_msg q, reply;
    vhu_msg_state(&q, VHU_REQ_GET_VRING_BASE, ring, 0);
    VHC_OK(ctx, mfe_request(&ctx->fe, &q, &reply));
    vhu_msg_close_fds(&reply);
    VHC_ASSERT(ctx, reply.hdr.size == sizeof reply.u.state && reply.u.state.index == ring,
               "reply.size", "expected GET_VRING_BASE %u answered with a vring state", ring);
    vc_accepts_state(ctx, VHU_REQ_SET_VRING_BASE, ring, reply.u.state.num, "vring.base");
    mfe_note(&ctx->fe, "ring %u stopped at base %u, to start again with another kick fd",
             ring, reply.u.state.num);
}

static void kick(struct vhc_ctx *ctx, unsigned ring)
{
    uint64_t one = 1;
    VHC_ASSERT(ctx, write(ctx->fe.vq[ring].kick, &one, sizeof one) == sizeof one,
               "frontend.kick", "kicking ring %u failed", ring);
}

/* One queue pair started with the row's ring layout; frames looped once so
 * the workers have run. */
static void start_pair(struct vhc_ctx *ctx, bool packed, bool indirect)
{
    const struct dp_variant v = { .pairs = 1, .packed = packed, .indirect = indirect,
                                  .max_len = 1518 };
    static struct dp_variant keep;
    keep = v;
    char sum[900];
    dp_start(&the_dp, ctx, &keep, 16);
    dp_refill(&the_dp, 0, ~0u);
    VHC_ASSERT(ctx, dp_pump(&the_dp, 8, dp_window(&the_dp), 0), "datapath.loss",
               "expected 8 frames looped back before the hostile input; got %s",
               dp_summary(&the_dp, sum, sizeof sum));
}

/* net: one pair with the given layout, frames looped (the datapath has
 * run); otherwise QEMU 7.2's start of the rings, for any device type. */
static void start_rings(struct vhc_ctx *ctx, bool net, bool packed, bool indirect)
{
    if (net)
        start_pair(ctx, packed, indirect);
    else
        vc_start(ctx, NULL, true);
}

/* A new connection is served; with net, frames loop there on new memory. */
static void finish(struct vhc_ctx *ctx, bool net)
{
    if (net)
        dp_destroy(&the_dp);            /* frees our side only: no guest memory */
    vhc_expect_alive(ctx, "hardening.survive");
    if (net)
        dp_recover(ctx, "the hostile input");
}

/* ---- guest memory that shrinks ---- */

struct shrink_row {
    bool packed;            /* and so virtio-net: a packed start needs the net driver */
    uint64_t to;            /* new file size */
};

/* The front end truncates the memfd behind both regions, then kicks: the
 * rings now lie past the end of the file. */
static void mem_shrinks(struct vhc_ctx *ctx)
{
    const struct shrink_row *r = ctx->c->variant;
    vc_mem_qemu(ctx);
    start_rings(ctx, r->packed, r->packed, false);
    int fd = ctx->fe.mem.fd;
    VHC_ASSERT(ctx, fd >= 0, "frontend.mem", "QEMU memory has no shared memfd");
    VHC_ASSERT(ctx, ftruncate(fd, (off_t)r->to) == 0, "frontend.mem",
               "ftruncate of the guest memfd failed: %s", strerror(errno));
    mfe_note(&ctx->fe, "guest memfd truncated from %llu to %llu bytes (rings past its end)",
             (unsigned long long)ctx->fe.mem.size, (unsigned long long)r->to);
    /* from here on our own mapping is as dead as the back end's: touch nothing */
    kick(ctx, TXQ);
    kick(ctx, 0);
    usleep(SETTLE_US);
    uint64_t errs = 0;
    bool signalled = read(ctx->fe.vq[TXQ].err, &errs, sizeof errs) == sizeof errs;
    mfe_note(&ctx->fe, "TX err eventfd %s", signalled ? "signalled" : "not signalled");
    hl_answers_in_time(ctx, TXQ, "the memory shrank under the rings");
    finish(ctx, r->packed);
}

/* ---- call and kick fds that block ---- */

enum fd_kind { CALL_EVENTFD_MAX, CALL_PIPE_FULL, KICK_STOLEN };

static int eventfd_at_max(struct vhc_ctx *ctx)
{
    int fd = eventfd(0, EFD_CLOEXEC);       /* blocking, like QEMU's own are not */
    uint64_t max = 0xfffffffffffffffeull;
    VHC_ASSERT(ctx, fd >= 0 && write(fd, &max, sizeof max) == sizeof max, "frontend.eventfd",
               "could not make an eventfd at its maximum count");
    return fd;
}

/* The write end of a pipe filled to the brim, blocking again; *rd keeps the
 * read end (never read). */
static int full_pipe(struct vhc_ctx *ctx, int *rd)
{
    int p[2];
    VHC_ASSERT(ctx, pipe2(p, O_CLOEXEC) == 0, "frontend.pipe", "pipe failed");
    VHC_ASSERT(ctx, fcntl(p[1], F_SETFL, O_NONBLOCK) == 0, "frontend.pipe", "fcntl failed");
    static const char block[4096];
    while (write(p[1], block, sizeof block) > 0)
        ;
    VHC_ASSERT(ctx, errno == EAGAIN && fcntl(p[1], F_SETFL, 0) == 0, "frontend.pipe",
               "could not fill the pipe: %s", strerror(errno));
    *rd = p[0];
    return p[1];
}

/* Send SET_VRING_CALL/KICK of ring with fd; false when it was refused. */
static bool give_fd(struct vhc_ctx *ctx, uint32_t req, unsigned ring, int fd)
{
    struct vhu_msg m;
    vhu_msg_u64(&m, req, ring);
    vhu_msg_add_fd(&m, fd);
    enum vhc_reject r = vhc_send_invalid(ctx, &m);
    mfe_note(&ctx->fe, "%s %u with the hostile fd: %s", vhu_req_name(VHU_CH_FRONT, req), ring,
             r == VHC_REJ_NACK ? "refused" : r == VHC_REJ_CLOSED ? "connection closed"
                                                               : "taken");
    return r == VHC_REJ_ACCEPTED || r == VHC_REJ_IGNORED;
}

/* The front end reads its own kick eventfd: a process of ours sleeps in
 * read() on it all along, and after each kick we read it too, after a delay
 * that sweeps 0..STEAL_SPAN_US.  Between the two, kicks vanish between the
 * back end's poll() seeing the count and its read(), which then finds it
 * gone (a blocking read sleeps until the next kick; the race is won often
 * enough that 3000 kicks catch it, checked against a back end that reads
 * blindly).  After each kick GET_FEATURES must be answered in time: a back
 * end whose datapath sleeps in that read cannot park it.  Our own read must
 * never sleep when someone else was first, so it is preadv2(RWF_NOWAIT)
 * (O_NONBLOCK would be the back end's too: the file description is
 * shared). */
#define STEALS        3000u
#define STEAL_SPAN_US 300.0
#define STEAL_IDLE_US 100           /* the back end back in poll() before each kick */

static void spin_until(int64_t ns)
{
    struct timespec ts;
    do
        clock_gettime(CLOCK_MONOTONIC, &ts);
    while ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec < ns);
}

static unsigned kick_and_steal(struct vhc_ctx *ctx, int fd)
{
    pid_t pid = fork();
    VHC_ASSERT(ctx, pid >= 0, "frontend.fork", "fork failed");
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        uint64_t v;
        for (;;)
            if (read(fd, &v, sizeof v) < 0 && errno != EINTR)
                _exit(0);
    }
    unsigned stolen = 0;
    for (unsigned i = 0; i < STEALS; i++) {
        usleep(STEAL_IDLE_US);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t at = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec +
                     (int64_t)(STEAL_SPAN_US * 1000.0 * i / STEALS);
        uint64_t v = 1;
        VHC_ASSERT(ctx, write(fd, &v, sizeof v) == sizeof v, "frontend.kick", "kick failed");
        spin_until(at);
        struct iovec io = { &v, sizeof v };
        ssize_t n = preadv2(fd, &io, 1, -1, RWF_NOWAIT);
        if (n < 0 && errno == EOPNOTSUPP)
            VHC_SKIP(ctx, "this kernel has no preadv2(RWF_NOWAIT) on eventfds");
        stolen += n == sizeof v;
        struct vhu_msg q;
        vhu_msg_init(&q, VHU_REQ_GET_FEATURES, 0);
        if (!answered_within(ctx, &q, "a kick read back by the front end", true))
            break;                  /* closed: the back end gave up on us */
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return stolen;
}

/* Frames both ways with calls wanted, so every flush writes the call fd. */
static void traffic_wanting_calls(void)
{
    (void)mfe_ring_enable_cb(&the_dp.net[0].rx);
    (void)mfe_ring_enable_cb(&the_dp.net[0].tx);
    dp_send(&the_dp, 0, 8);
    usleep(SETTLE_US);
}

static void blocking_fd(struct vhc_ctx *ctx)
{
    const enum fd_kind *k = ctx->c->variant;
    bool net = *k != KICK_STOLEN;       /* calls come only with frames */
    vc_mem_qemu(ctx);
    start_rings(ctx, net, false, false);
    int keep = -1, fd;
    const char *what;
    if (*k == CALL_EVENTFD_MAX) {
        fd = eventfd_at_max(ctx);
        what = "call fds that are blocking eventfds at their maximum count";
    } else if (*k == CALL_PIPE_FULL) {
        fd = full_pipe(ctx, &keep);
        what = "call fds that are the write end of a full pipe";
    } else {
        fd = eventfd(0, EFD_CLOEXEC);
        VHC_ASSERT(ctx, fd >= 0, "frontend.eventfd", "eventfd failed");
        what = "a blocking kick eventfd the front end reads back after each kick";
    }
    if (*k == KICK_STOLEN) {
        hl_stop_ring(ctx, TXQ);
        if (give_fd(ctx, VHU_REQ_SET_VRING_KICK, TXQ, fd)) {
            unsigned stolen = kick_and_steal(ctx, fd);
            mfe_note(&ctx->fe, "%u kicks, %u read back by our delayed read (the rest by "
                     "the back end or our sleeping reader)", STEALS, stolen);
            usleep(SETTLE_US);
        }
    } else if (give_fd(ctx, VHU_REQ_SET_VRING_CALL, 0, fd) &&
               give_fd(ctx, VHU_REQ_SET_VRING_CALL, TXQ, fd)) {
        traffic_wanting_calls();
    }
    hl_answers_in_time(ctx, TXQ, what);
    close(fd);
    if (keep >= 0)
        close(keep);
    finish(ctx, net);
}

/* ---- indirect tables longer than the queue ---- */

#define TABLE_GPA   0x100000ull
#define HEADS       32u                 /* a burst's worth */

struct long_row {
    bool packed;                        /* and so virtio-net, as above */
    uint64_t mem;                       /* guest memory size (sparse) */
    uint64_t table_len;                 /* bytes: far more than 16 * queue size */
};

/* Split: every head is an INDIRECT descriptor naming the same table, whose
 * two first entries loop (device-writable, so a TX walk skips them without
 * collecting a segment): only the table's length ends the walk. */
static void split_heads(struct vhc_ctx *ctx, const struct long_row *r)
{
    const struct mfe_vq *vq = &ctx->fe.vq[TXQ];
    struct mfe_desc *desc = mfe_gpa(&ctx->fe.mem, vq->desc_gpa, 16ull * vq->num);
    struct mfe_desc *tab = mfe_gpa(&ctx->fe.mem, TABLE_GPA, 32);
    uint16_t *avail = mfe_gpa(&ctx->fe.mem, vq->avail_gpa, 4 + 2ull * vq->num);
    VHC_ASSERT(ctx, desc && tab && avail, "frontend.mem", "ring or table not in memory");
    uint16_t w = MFE_DESC_F_WRITE | MFE_DESC_F_NEXT;
    tab[0] = (struct mfe_desc){ .addr = TABLE_GPA, .len = 16, .flags = w, .next = 1 };
    tab[1] = (struct mfe_desc){ .addr = TABLE_GPA, .len = 16, .flags = w, .next = 0 };
    uint16_t idx = avail[1];
    for (uint16_t i = 0; i < HEADS; i++) {
        desc[i] = (struct mfe_desc){ .addr = TABLE_GPA, .len = (uint32_t)r->table_len,
                                     .flags = MFE_DESC_F_INDIRECT };
        avail[2 + (uint16_t)(idx + i) % vq->num] = i;
    }
    __atomic_store_n(&avail[1], (uint16_t)(idx + HEADS), __ATOMIC_RELEASE);
}

/* Packed: HEADS INDIRECT descriptors at the ring's next positions, each
 * naming the same table of zeros (valid empty entries, read one by one). */
static void packed_heads(struct vhc_ctx *ctx, const struct long_row *r)
{
    struct mfe_ring *tx = &the_dp.net[0].tx;
    const struct mfe_vq *vq = &ctx->fe.vq[TXQ];
    struct mfe_pdesc *ring = mfe_gpa(&ctx->fe.mem, vq->desc_gpa, 16ull * vq->num);
    VHC_ASSERT(ctx, ring, "frontend.mem", "packed ring not in memory");
    uint16_t pos = tx->next_avail;
    bool wrap = tx->avail_wrap;
    for (uint16_t i = 0; i < HEADS; i++) {
        uint16_t f = MFE_DESC_F_INDIRECT | (wrap ? MFE_DESC_F_AVAIL : MFE_DESC_F_USED);
        ring[pos] = (struct mfe_pdesc){ .addr = TABLE_GPA, .len = (uint32_t)r->table_len,
                                        .id = i };
        __atomic_store_n(&ring[pos].flags, f, __ATOMIC_RELEASE);
        if (++pos == vq->num)
            pos = 0, wrap = !wrap;
    }
}

static void long_indirect(struct vhc_ctx *ctx)
{
    const struct long_row *r = ctx->c->variant;
    vc_mem_new(ctx, r->mem, MFE_LAYOUT_QEMU, 2);
    start_rings(ctx, r->packed, r->packed, true);
    VHC_ASSERT(ctx, mfe_gpa(&ctx->fe.mem, TABLE_GPA, r->table_len) &&
               TABLE_GPA + r->table_len < ctx->fe.mem.next_gpa, "frontend.mem",
               "the table must lie in sparse memory below the rings");
    if (r->packed)
        packed_heads(ctx, r);
    else
        split_heads(ctx, r);
    mfe_note(&ctx->fe, "%u TX chains, each an indirect table of %llu entries (queue size "
             "%u)", HEADS, (unsigned long long)(r->table_len / 16), ctx->fe.vq[TXQ].num);
    kick(ctx, TXQ);
    usleep(100 * 1000);
    hl_answers_in_time(ctx, TXQ, "indirect tables longer than the queue");
    finish(ctx, r->packed);
}

/* ---- rows ---- */

static const struct shrink_row shrink_split = { false, 0 };
static const struct shrink_row shrink_packed = { true, MFE_QEMU_MEM_SIZE / 2 };
static const enum fd_kind k_call_max = CALL_EVENTFD_MAX;
static const enum fd_kind k_call_pipe = CALL_PIPE_FULL;
static const enum fd_kind k_kick_stolen = KICK_STOLEN;
static const struct long_row long_split = { false, 1ull << 30, 768ull << 20 };
static const struct long_row long_packed = { true, MFE_QEMU_MEM_SIZE, 224ull << 20 };

#define LIVE_RULE "vhost-user.rst, Ring states and Communication: the back end keeps " \
    "answering the front end's requests while rings run; no input the front end controls " \
    "(its memory, its fds, its descriptors) may stall the control plane, crash the back " \
    "end or keep it from serving the next connection"
#define ANY_START "QEMU init; QEMU start (rings 0 and 1, split); "
#define NET_START "QEMU init; start one pair (frames looped); "
#define ANY_END "; GET_VRING_BASE 1 answered (or closed) within 2 s; new connection served"
#define NET_END ANY_END "; 64 frames looped back on new memory"
#define CASE(case_id, row, fn, net, summ, steps_text, feat, tag_text) { \
        .id = case_id, .summary = summ, .rule = LIVE_RULE, .steps = steps_text, \
        .features = feat, .timeout_s = 60, .flags = (net) ? VHC_F_NET : 0, .body = fn, \
        .variant = &row, .tags = tag_text }

const struct vhc_case vhc_cases_hardening_live[] = {
    CASE("hardening/mem/shrink-after-start", shrink_split, mem_shrinks, false,
         "guest memory truncated to 0 under started rings does no harm",
         ANY_START "truncate the guest memfd to 0 bytes; kick rings 0 and 1" ANY_END, 0,
         FIX_QEMU_MEMFD_SEAL),
    CASE("hardening/mem/shrink-after-start-packed", shrink_packed, mem_shrinks, true,
         "guest memory halved under running packed rings does no harm",
         NET_START "truncate the guest memfd to half its size (the rings lie in the upper "
         "half); kick TX and RX" NET_END, BIT(MFE_F_RING_PACKED), FIX_QEMU_MEMFD_SEAL),
    CASE("hardening/fds/call-eventfd-saturated", k_call_max, blocking_fd, true,
         "call fds whose write would block (eventfd at its maximum) do not stall the back end",
         NET_START "SET_VRING_CALL of RX and TX with a blocking eventfd holding "
         "0xfffffffffffffffe; calls wanted; 8 frames" NET_END, 0, NULL),
    CASE("hardening/fds/call-pipe-full", k_call_pipe, blocking_fd, true,
         "call fds that are a full pipe do not stall the back end",
         NET_START "SET_VRING_CALL of RX and TX with the write end of a full, blocking pipe; "
         "calls wanted; 8 frames" NET_END, 0, NULL),
    CASE("hardening/fds/kick-read-by-front-end", k_kick_stolen, blocking_fd, false,
         "a kick eventfd the front end reads too does not stall the back end",
         ANY_START "ring 1 stopped (GET/SET_VRING_BASE); SET_VRING_KICK 1 with a blocking "
         "eventfd that a front-end process reads in a loop; 3000 kicks, each also read "
         "by the front end 0 to 300 us later and followed by GET_FEATURES, answered "
         "within 2 s"
         ANY_END, 0, NULL),
    CASE("hardening/desc/indirect-longer-than-queue", long_split, long_indirect, false,
         "indirect tables of 48 Mi entries (queue of 256) do not stall the back end",
         ANY_START "on 1 GiB of sparse memory; ring 1: 32 heads INDIRECT, len 768 MiB, "
         "table entries 0 -> 1 -> 0 (device-writable); kick" ANY_END,
         BIT(MFE_F_INDIRECT_DESC), FIX_INDIRECT_BOUND),
    CASE("hardening/desc/packed-indirect-longer-than-queue", long_packed, long_indirect, true,
         "packed indirect tables of 14 Mi entries (queue of 256) do not stall the back end",
         NET_START "with INDIRECT_DESC, on 256 MiB of sparse memory; 32 packed INDIRECT "
         "descriptors, len 224 MiB of zeroed entries; kick" NET_END,
         BIT(MFE_F_RING_PACKED) | BIT(MFE_F_INDIRECT_DESC), FIX_INDIRECT_BOUND),
};
const size_t vhc_cases_hardening_live_n = ARRAY_LEN(vhc_cases_hardening_live);

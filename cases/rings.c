/* rings/: SET_VRING_* and GET_VRING_BASE. */
#include <string.h>
#include <unistd.h>

#include "caseapi.h"
#include "hardening_tags.h"

/* ---- start, stop, bases ---- */

static void start_stop_qemu72(struct vhc_ctx *ctx)
{
    uint16_t got[MFE_MAX_VQ];
    vc_start(ctx, NULL, false);
    /* the profile's stop (7.2: SET_STATUS(0), then GET_VRING_BASE per ring;
     * 8.1+: the status after the rings); the front end checks every
     * GET_VRING_BASE reply: request echoed, flags 0x5, size, ring index */
    vc_stop_host(ctx, got);
    for (unsigned i = 0; i < vc_nvq(ctx); i++)
        VHC_ASSERT(ctx, got[i] == 0, "vring.base.roundtrip",
                   "expected base 0 for ring %u (started at 0, no traffic); got %u", i, got[i]);
}

static void bases_all(uint16_t *b, unsigned n, uint16_t first, uint16_t step)
{
    for (unsigned i = 0; i < n; i++)
        b[i] = (uint16_t)(first + i * step);
}

/* Distinct bases per ring (17, 22, ...) so a back end that mixes rings up,
 * or answers one ring's base for all, is caught. */
static void base_roundtrip(struct vhc_ctx *ctx)
{
    uint16_t want[MFE_MAX_VQ], got[MFE_MAX_VQ];
    bases_all(want, vc_nvq(ctx), 17, 5);
    vc_start(ctx, want, false);
    vc_stop(ctx, got);
    vc_check_bases(ctx, got, want, vc_nvq(ctx), "vring.base.roundtrip");
}

/* Host-side stop/cont: QEMU's vhost_virtqueue_stop stores the GET_VRING_BASE
 * answer as the queue's last_avail_idx and vhost_virtqueue_start sends that
 * back with SET_VRING_BASE. */
static void base_roundtrip_restart(struct vhc_ctx *ctx)
{
    uint16_t want[MFE_MAX_VQ], got[MFE_MAX_VQ], again[MFE_MAX_VQ];
    bases_all(want, vc_nvq(ctx), 17, 5);
    vc_start(ctx, want, false);
    vc_stop_host(ctx, got);
    vc_check_bases(ctx, got, want, vc_nvq(ctx), "vring.base.roundtrip");
    vc_resume(ctx, got);
    vc_stop_host(ctx, again);
    vc_check_bases(ctx, again, want, vc_nvq(ctx), "vring.base.restart");
}

/* Guest-side restart (driver unbind/rebind, trace c1): the device was reset,
 * so QEMU starts again from 0 although the back end last reported 17+.  A
 * back end that keeps its old position instead of taking SET_VRING_BASE
 * would process stale ring entries. */
static void base_restart_zero(struct vhc_ctx *ctx)
{
    uint16_t first[MFE_MAX_VQ], got[MFE_MAX_VQ], zero[MFE_MAX_VQ] = { 0 };
    bases_all(first, vc_nvq(ctx), 17, 5);
    vc_start(ctx, first, false);
    vc_stop(ctx, got);
    vc_check_bases(ctx, got, first, vc_nvq(ctx), "vring.base.roundtrip");
    vc_rebind(ctx);
    vc_stop(ctx, got);
    vc_check_bases(ctx, got, zero, vc_nvq(ctx), "vring.base.restart");
}

static void two_queue_pairs(struct vhc_ctx *ctx)
{
    uint16_t want[MFE_MAX_VQ], got[MFE_MAX_VQ];
    VHC_ASSERT(ctx, vc_nvq(ctx) == 4, "frontend.mq", "expected 4 rings driven; got %u",
               vc_nvq(ctx));
    bases_all(want, 4, 1, 1);
    vc_start(ctx, want, false);
    vc_stop(ctx, got);
    vc_check_bases(ctx, got, want, 4, "vring.base.roundtrip");
}

static void get_vring_base_unstarted(struct vhc_ctx *ctx)
{
    struct vhu_msg q, reply;
    vhu_msg_state(&q, VHU_REQ_GET_VRING_BASE, 0, 0);
    VHC_OK(ctx, mfe_request(&ctx->fe, &q, &reply));
    vc_check_reply(ctx, &reply, VHU_REQ_GET_VRING_BASE);
    VHC_ASSERT(ctx, reply.u.state.index == 0, "vring.base.index",
               "expected the reply to carry ring index 0; got %u", reply.u.state.index);
    vc_get_u64(ctx, VHU_REQ_GET_FEATURES);
}

/* ---- ring index out of range ---- */

static void bad_state(struct vhc_ctx *ctx, uint32_t req, uint32_t num, const char *rule)
{
    struct vhu_msg m;
    vhu_msg_state(&m, req, VC_BAD_INDEX, num);
    vhc_expect_rejected(ctx, &m, rule);
}

static void index_num(struct vhc_ctx *ctx)
{
    bad_state(ctx, VHU_REQ_SET_VRING_NUM, 256, "vring.index");
}

static void index_base(struct vhc_ctx *ctx)
{
    bad_state(ctx, VHU_REQ_SET_VRING_BASE, 0, "vring.index");
}

static void index_enable(struct vhc_ctx *ctx)
{
    bad_state(ctx, VHU_REQ_SET_VRING_ENABLE, 1, "vring.index");
}

static void index_addr(struct vhc_ctx *ctx)
{
    struct vhu_vring_addr a;
    vc_ring_prepare(ctx, 0);
    mfe_vq_addr(&ctx->fe, 0, &a);
    a.index = VC_BAD_INDEX;
    struct vhu_msg m;
    vhu_msg_addr(&m, &a);
    vhc_expect_rejected(ctx, &m, "vring.index");
}

static void bad_fd_index(struct vhc_ctx *ctx, uint32_t req)
{
    unsigned idx = vc_bad_index_u8(ctx);
    int fd = vc_eventfd(ctx);
    struct vhu_msg m;
    vhu_msg_u64(&m, req, idx);
    vhu_msg_add_fd(&m, fd);
    vhc_expect_rejected(ctx, &m, "vring.index");
    close(fd);
}

static void index_kick(struct vhc_ctx *ctx)
{
    bad_fd_index(ctx, VHU_REQ_SET_VRING_KICK);
}

static void index_call(struct vhc_ctx *ctx)
{
    bad_fd_index(ctx, VHU_REQ_SET_VRING_CALL);
}

/* ---- ring size ---- */

static void bad_num(struct vhc_ctx *ctx, uint32_t num)
{
    vc_set_features(ctx);   /* split rings: RING_PACKED is never set here */
    struct vhu_msg m;
    vhu_msg_state(&m, VHU_REQ_SET_VRING_NUM, 0, num);
    vhc_expect_rejected(ctx, &m, "vring.num");
}

static void num_not_power_of_two(struct vhc_ctx *ctx) { bad_num(ctx, 255); }
static void num_zero(struct vhc_ctx *ctx) { bad_num(ctx, 0); }
static void num_too_large(struct vhc_ctx *ctx) { bad_num(ctx, 65536); }

/* ---- addresses ---- */

/* Ring 1 is the TX queue: a back end consumes what is available there on
 * its own, so one buffer made available makes it read a descriptor. */
#define TX_RING 1

/* Make descriptor 0 available on ring idx (split layout: flags, idx, ring[]). */
static void make_one_available(struct vhc_ctx *ctx, unsigned idx)
{
    uint16_t *avail = mfe_gpa(&ctx->fe.mem, ctx->fe.vq[idx].avail_gpa, 6);
    VHC_ASSERT(ctx, avail != NULL, "frontend.mem", "avail ring of %u not in memory", idx);
    avail[2] = 0;   /* ring[0] = descriptor 0 */
    __atomic_store_n(&avail[1], (uint16_t)1, __ATOMIC_RELEASE);
}

/* Refused at SET_VRING_ADDR, or (a back end may translate late) at the
 * kick, or never used: a kick with a buffer available must not bring the
 * back end down or make it write anywhere. */
static void addr_outside_memory(struct vhc_ctx *ctx)
{
    struct vhu_vring_addr a;
    vc_ring_prepare(ctx, TX_RING);
    mfe_vq_addr(&ctx->fe, TX_RING, &a);
    uint64_t end = 0;
    for (unsigned i = 0; i < ctx->fe.mem.nregions; i++) {
        const struct mfe_region *r = &ctx->fe.mem.regions[i];
        uint64_t top = mfe_uaddr(&ctx->fe.mem, r->gpa) + r->size;
        end = top > end ? top : end;
    }
    a.desc = end + (1ull << 30);   /* 1 GiB past every region's user address */
    struct vhu_msg m;
    vhu_msg_addr(&m, &a);
    mfe_note(&ctx->fe, "desc uaddr 0x%llx outside every region", (unsigned long long)a.desc);
    enum vhc_reject r = vhc_send_invalid(ctx, &m);
    if (r == VHC_REJ_ACCEPTED || r == VHC_REJ_IGNORED) {
        int kick = ctx->fe.vq[TX_RING].kick;
        make_one_available(ctx, TX_RING);
        vhu_msg_u64(&m, VHU_REQ_SET_VRING_KICK, TX_RING);
        vhu_msg_add_fd(&m, kick);
        r = vhc_send_invalid(ctx, &m);
        uint64_t one = 1;
        if ((r == VHC_REJ_ACCEPTED || r == VHC_REJ_IGNORED)
            && write(kick, &one, sizeof one) == sizeof one) {
            mfe_note(&ctx->fe, "kicked ring %u with descriptor 0 available", TX_RING);
            vc_expect_silence(ctx, "vring.addr", "a kick of a ring outside memory");
        }
    }
    vhc_expect_alive(ctx, "vring.addr");
}

/* ---- notifications ---- */

static void enable_before_setup(struct vhc_ctx *ctx)
{
    vc_set_protocol(ctx, ctx->fe.protocol_features & MFE_QEMU72_PROTOCOL_FEATURES);
    vc_send_plain(ctx, VHU_REQ_SET_OWNER);
    vc_accepts_state(ctx, VHU_REQ_SET_VRING_ENABLE, 0, 1, "vring.enable.early");
    vc_accepts_state(ctx, VHU_REQ_SET_VRING_ENABLE, 1, 1, "vring.enable.early");
    vc_get_u64(ctx, VHU_REQ_GET_FEATURES);
}

static void accept_fd(struct vhc_ctx *ctx, uint32_t req, unsigned idx, const char *rule)
{
    int fd = vc_eventfd(ctx);
    struct vhu_msg m;
    vhu_msg_u64(&m, req, idx);
    vhu_msg_add_fd(&m, fd);
    vc_accepts(ctx, &m, rule);
    close(fd);
}

static void call_err_at_init(struct vhc_ctx *ctx)
{
    vc_send_plain(ctx, VHU_REQ_SET_OWNER);
    for (unsigned i = 0; i < 2; i++) {
        accept_fd(ctx, VHU_REQ_SET_VRING_CALL, i, "vring.call.early");
        accept_fd(ctx, VHU_REQ_SET_VRING_ERR, i, "vring.err.early");
    }
    vc_get_u64(ctx, VHU_REQ_GET_FEATURES);
}

static void kick_nofd_flag(struct vhc_ctx *ctx)
{
    struct vhu_vring_addr a;
    vc_ring_prepare(ctx, 0);
    mfe_vq_addr(&ctx->fe, 0, &a);
    struct vhu_msg m;
    vhu_msg_addr(&m, &a);
    vc_accepts(ctx, &m, "vring.addr.accept");
    vc_accepts_u64(ctx, VHU_REQ_SET_VRING_KICK, 0 | VHU_VRING_NOFD, "vring.nofd");
    /* polling now; stopping the ring still reports where it is */
    vhu_msg_state(&m, VHU_REQ_GET_VRING_BASE, 0, 0);
    struct vhu_msg reply;
    VHC_OK(ctx, mfe_request(&ctx->fe, &m, &reply));
    vc_check_reply(ctx, &reply, VHU_REQ_GET_VRING_BASE);
    VHC_ASSERT(ctx, reply.u.state.num == 0, "vring.base.roundtrip",
               "expected base 0 (no buffers made available); got %u", reply.u.state.num);
}

static void call_nofd_flag(struct vhc_ctx *ctx)
{
    vc_accepts_u64(ctx, VHU_REQ_SET_VRING_CALL, 0 | VHU_VRING_NOFD, "vring.nofd");
}

static void nofd_flag_with_fd(struct vhc_ctx *ctx)
{
    int fd = vc_eventfd(ctx);
    struct vhu_msg m;
    vhu_msg_u64(&m, VHU_REQ_SET_VRING_CALL, 0 | VHU_VRING_NOFD);
    vhu_msg_add_fd(&m, fd);
    vhc_expect_rejected(ctx, &m, "vring.nofd");
    close(fd);
}

#define IDX_RULE "vhost-user.rst, Multiple queue support: each message names its queue " \
                 "by index; an index past every ring the back end has (GET_QUEUE_NUM) " \
                 "cannot be served, so it must be refused, not used to index memory"
#define IDX_STEPS(req) "QEMU init; " req "; non-zero ack, close, or (no REPLY_ACK) " \
                       "ignored; new connection served"
#define NUM_RULE "virtio 1.1, 2.6 Split Virtqueues: Queue Size is a power of 2, at most " \
                 "32768; vhost-user.rst SET_VRING_NUM sets it; a size outside that is " \
                 "refused (nack or close)"

const struct vhc_case vhc_cases_rings[] = {
    {
        .id = "rings/start-stop-qemu72",
        .summary = "QEMU start then stop (7.2 order, or the profile's): one GET_VRING_BASE "
                   "reply per ring",
        .rule = "vhost-user.rst, GET_VRING_BASE requires a reply (vring state); QEMU 7.2 "
                "(trace b1) stops with SET_STATUS(0) and GET_VRING_BASE per ring, 8.1+ "
                "with SET_STATUS(0) after them; the reply names the ring asked for and "
                "has flags 0x5",
        .steps = "QEMU init; start; the profile's stop (SET_STATUS 0 before or after "
                 "GET_VRING_BASE per ring): index echoed, flags 0x5, base 0",
        .body = start_stop_qemu72,
    },
    {
        .id = "rings/base-roundtrip",
        .summary = "SET_VRING_BASE 17, 22, no traffic, GET_VRING_BASE returns 17, 22",
        .rule = "vhost-user.rst, SET/GET_VRING_BASE: SET gives the next available index, "
                "GET returns the back end's position; with no buffers made available the "
                "position has not moved (each ring keeps its own)",
        .steps = "QEMU init; start with bases 17, 22; stop; bases 17, 22",
        .body = base_roundtrip,
    },
    {
        .id = "rings/base-roundtrip-restart",
        .summary = "stop, start again with the saved bases, stop: the same bases",
        .rule = "QEMU behaviour (hw/virtio/vhost.c): vhost_virtqueue_stop saves the "
                "GET_VRING_BASE answer as last_avail_idx, vhost_virtqueue_start sends it "
                "back in SET_VRING_BASE, so a host-side stop/cont (or a reconnect, trace "
                "d1: SET_VRING_BASE 11) resumes where the back end stopped; without "
                "traffic the second stop returns the same bases",
        .steps = "start 17, 22; stop; start with the bases got; stop; bases 17, 22",
        .timeout_s = 45,
        .body = base_roundtrip_restart,
    },
    {
        .id = "rings/base-restart-zero",
        .summary = "after a stop at 17, 22 a restart from base 0 reports 0",
        .rule = "QEMU 7.2 behaviour (trace c1): after the guest driver is unbound and "
                "bound again the device restarts with SET_VRING_BASE 0 although "
                "GET_VRING_BASE said 15; vhost-user.rst SET_VRING_BASE: the new base "
                "replaces the old position",
        .steps = "start 17, 22; stop; bases 17, 22; start with bases 0; stop; bases 0",
        .timeout_s = 45,
        .body = base_restart_zero,
    },
    {
        .id = "rings/two-queue-pairs",
        .summary = "2 queue pairs start and stop; 4 bases come back",
        .rule = "vhost-user.rst, Multiple queue support; QEMU 7.2 (trace b2): every ring "
                "of both pairs is set up on one connection and stopped by GET_VRING_BASE",
        .steps = "QEMU init of 2 pairs; start with bases 1..4; stop; bases 1..4",
        .protocol_features = PF(MQ),
        .flags = VHC_F_MQ,
        .body = two_queue_pairs,
    },
    {
        .id = "rings/get-vring-base-unstarted",
        .summary = "GET_VRING_BASE on a ring never started is still answered",
        .rule = "vhost-user.rst, Communication: GET_VRING_BASE requires a reply; the spec "
                "does not fix its value for a ring never started, so only the reply's "
                "form (index echoed, flags 0x5) and the session going on are checked",
        .steps = "QEMU init; GET_VRING_BASE 0; index 0, flags 0x5; GET_FEATURES answered",
        .body = get_vring_base_unstarted,
    },
    {
        .id = "rings/index-out-of-range-num",
        .tags = CVE_2020_10726,
        .summary = "SET_VRING_NUM for ring 1024 is refused",
        .rule = IDX_RULE, .steps = IDX_STEPS("SET_VRING_NUM index 1024"),
        .body = index_num,
    },
    {
        .id = "rings/index-out-of-range-base",
        .tags = CVE_2020_10726,
        .summary = "SET_VRING_BASE for ring 1024 is refused",
        .rule = IDX_RULE, .steps = IDX_STEPS("SET_VRING_BASE index 1024"),
        .body = index_base,
    },
    {
        .id = "rings/index-out-of-range-enable",
        .tags = CVE_2020_10726,
        .summary = "SET_VRING_ENABLE for ring 1024 is refused",
        .rule = IDX_RULE, .steps = IDX_STEPS("SET_VRING_ENABLE index 1024"),
        .body = index_enable,
    },
    {
        .id = "rings/index-out-of-range-addr",
        .tags = CVE_2020_10726,
        .summary = "SET_VRING_ADDR for ring 1024 is refused",
        .rule = IDX_RULE, .steps = IDX_STEPS("features, table, NUM/BASE of ring 0; "
                                             "SET_VRING_ADDR index 1024"),
        .body = index_addr,
    },
    {
        .id = "rings/index-out-of-range-kick",
        .tags = CVE_2020_10726,
        .summary = "SET_VRING_KICK for ring 2 * queue pairs is refused",
        .rule = IDX_RULE " (bits 0-7 of the u64 carry the index)",
        .steps = IDX_STEPS("SET_VRING_KICK index 2*pairs with an eventfd"),
        .body = index_kick,
    },
    {
        .id = "rings/index-out-of-range-call",
        .tags = CVE_2020_10726,
        .summary = "SET_VRING_CALL for ring 2 * queue pairs is refused",
        .rule = IDX_RULE " (bits 0-7 of the u64 carry the index)",
        .steps = IDX_STEPS("SET_VRING_CALL index 2*pairs with an eventfd"),
        .body = index_call,
    },
    {
        .id = "rings/num-not-power-of-two",
        .tags = FIX_VRING_NUM,
        .summary = "SET_VRING_NUM 255 on a split ring is refused",
        .rule = NUM_RULE, .steps = IDX_STEPS("SET_FEATURES (split); SET_VRING_NUM 0, 255"),
        .body = num_not_power_of_two,
    },
    {
        .id = "rings/num-zero",
        .tags = FIX_VRING_NUM,
        .summary = "SET_VRING_NUM 0 is refused",
        .rule = NUM_RULE, .steps = IDX_STEPS("SET_FEATURES (split); SET_VRING_NUM 0, 0"),
        .body = num_zero,
    },
    {
        .id = "rings/num-too-large",
        .tags = FIX_VRING_NUM,
        .summary = "SET_VRING_NUM 65536 is refused",
        .rule = NUM_RULE, .steps = IDX_STEPS("SET_FEATURES (split); SET_VRING_NUM 0, 65536"),
        .body = num_too_large,
    },
    {
        .id = "rings/addr-outside-memory",
        .tags = CVE_2020_10723,
        .summary = "a descriptor table address in no region is refused or never used",
        .rule = "vhost-user.rst, Memory access / SET_VRING_ADDR: ring addresses are user "
                "addresses that map to the region containing them; one in no region "
                "cannot be translated.  The spec does not say when a back end must "
                "translate, so the weakest check: refused at ADDR or KICK, or accepted "
                "and never used (a kick does not bring the back end down)",
        .steps = "QEMU init; features, table, NUM/BASE of ring 1 (TX); SET_VRING_ADDR "
                 "with desc 1 GiB past memory; if accepted: descriptor 0 made available, "
                 "SET_VRING_KICK and a kick; silence; new connection served",
        .body = addr_outside_memory,
    },
    {
        .id = "rings/vring-enable-before-setup",
        .summary = "SET_VRING_ENABLE before any ring setup is accepted",
        .rule = "QEMU 7.2 behaviour (trace a1): SET_VRING_ENABLE(1) arrives at init, "
                "before features, memory or ring addresses; vhost-user.rst Ring states: "
                "enabling is separate from starting",
        .steps = "GET_(PROTOCOL_)FEATURES; SET_PROTOCOL_FEATURES; SET_OWNER; "
                 "SET_VRING_ENABLE 0, 1 and 1, 1 accepted; GET_FEATURES answered",
        .features = BIT(VHU_F_PROTOCOL_FEATURES),
        .flags = VHC_F_NOINIT,
        .body = enable_before_setup,
    },
    {
        .id = "rings/call-err-at-init",
        .summary = "SET_VRING_CALL and SET_VRING_ERR before features and memory",
        .rule = "QEMU 7.2 behaviour (trace a1): SET_VRING_CALL and SET_VRING_ERR with "
                "eventfds come right after SET_OWNER, before any features or memory",
        .steps = "GET_FEATURES; SET_OWNER; CALL and ERR for rings 0, 1 accepted; "
                 "GET_FEATURES answered",
        .flags = VHC_F_NOINIT,
        .body = call_err_at_init,
    },
    {
        .id = "rings/kick-nofd-flag",
        .summary = "SET_VRING_KICK with bit 8 and no fd (polling) is accepted",
        .rule = "vhost-user.rst, SET_VRING_KICK: bit 8 is the invalid-fd flag, set when no "
                "fd is attached; it asks the back end to poll instead",
        .steps = "QEMU init; ring 0 set up; SET_VRING_KICK 0x100 without fd accepted; "
                 "GET_VRING_BASE 0 = 0",
        .body = kick_nofd_flag,
    },
    {
        .id = "rings/call-nofd-flag",
        .summary = "SET_VRING_CALL with bit 8 and no fd is accepted",
        .rule = "vhost-user.rst, SET_VRING_CALL: bit 8 set, no fd: the front end polls "
                "instead of waiting for the call",
        .steps = "QEMU init; SET_VRING_CALL 0x100 without fd accepted",
        .body = call_nofd_flag,
    },
    {
        .id = "rings/nofd-flag-with-fd",
        .summary = "SET_VRING_CALL with bit 8 set but an fd attached is refused",
        .rule = "vhost-user.rst, SET_VRING_CALL: bit 8 is set when there is no fd in the "
                "ancillary data; flag and fd contradict each other (weakest check: "
                "refused or closed, and survives)",
        .steps = IDX_STEPS("SET_VRING_CALL 0x100 with an eventfd"),
        .body = nofd_flag_with_fd,
    },
};
const size_t vhc_cases_rings_n = ARRAY_LEN(vhc_cases_rings);

/* Private to cases/: the case tables and the small steps the bodies share.
 * Every helper ends the child through vhc_fail / vhc_skip when the step
 * cannot be done, so a body reads as the list of its steps. */
#ifndef VHC_CASES_H
#define VHC_CASES_H

#include <stddef.h>
#include <stdint.h>

#include "vhc.h"

#define BIT(n) (1ull << (n))
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define PF(name) BIT(VHU_PF_##name)

/* How long a back end gets to say something it should not (unsolicited
 * replies, a close after bad input) before we call the line silent. */
#define VC_SILENCE_MS 300

#define VC_NET_F_MQ 22   /* VIRTIO_NET_F_MQ */

/* the tables, one per file */
extern const struct vhc_case vhc_cases_connect[];
extern const size_t vhc_cases_connect_n;
extern const struct vhc_case vhc_cases_negotiation[];
extern const size_t vhc_cases_negotiation_n;
extern const struct vhc_case vhc_cases_memory[];
extern const size_t vhc_cases_memory_n;
extern const struct vhc_case vhc_cases_rings[];
extern const size_t vhc_cases_rings_n;
extern const struct vhc_case vhc_cases_datapath[];
extern const size_t vhc_cases_datapath_n;
extern const struct vhc_case vhc_cases_faults[];
extern const size_t vhc_cases_faults_n;
extern const struct vhc_case vhc_cases_reconnect[];
extern const size_t vhc_cases_reconnect_n;
extern const struct vhc_case vhc_cases_hardening[];
extern const size_t vhc_cases_hardening_n;
extern const struct vhc_case vhc_cases_hardening_dp[];
extern const size_t vhc_cases_hardening_dp_n;
extern const struct vhc_case vhc_cases_restart[];
extern const size_t vhc_cases_restart_n;

/* ---- requests (helpers.c) ---- */
/* Send a request that always answers; the reply must echo the request and
 * carry flags exactly version 1 + REPLY (0x5).  Returns the reply u64. */
uint64_t vc_get_u64(struct vhc_ctx *ctx, uint32_t req);
/* As above with NEED_REPLY set on the request. */
uint64_t vc_get_u64_need_reply(struct vhc_ctx *ctx, uint32_t req);
/* reply must be a well-formed answer to req: request echoed, flags 0x5 */
void vc_check_reply(struct vhc_ctx *ctx, const struct vhu_msg *reply, uint32_t req);
/* Nothing may arrive for VC_SILENCE_MS; `after` names what was sent. */
void vc_expect_silence(struct vhc_ctx *ctx, const char *rule, const char *after);
/* A valid request the back end must accept: with REPLY_ACK negotiated it is
 * sent with NEED_REPLY and the ack must be 0; without, the connection must
 * stay in sync (GET_FEATURES answered right after).  m's fds stay ours. */
/* Send m and return its ack (REPLY_ACK + NEED_REPLY), 0 when none is owed;
 * the reply (if any) is checked for form. */
uint64_t vc_ack(struct vhc_ctx *ctx, const struct vhu_msg *m);
/* A request without payload (SET_OWNER ...), nothing expected back. */
void vc_send_plain(struct vhc_ctx *ctx, uint32_t req);
void vc_accepts(struct vhc_ctx *ctx, struct vhu_msg *m, const char *rule);
void vc_accepts_u64(struct vhc_ctx *ctx, uint32_t req, uint64_t v, const char *rule);
void vc_accepts_state(struct vhc_ctx *ctx, uint32_t req, uint32_t index, uint32_t num,
                      const char *rule);

/* ---- negotiation ---- */
/* GET_FEATURES (and GET_PROTOCOL_FEATURES when bit 30 is offered) on the
 * current connection; fills ctx->fe.features / protocol_features. */
void vc_probe(struct vhc_ctx *ctx);
/* SET_PROTOCOL_FEATURES with pf (must be offered); records it in ctx->fe. */
void vc_set_protocol(struct vhc_ctx *ctx, uint64_t pf);
/* The features QEMU 7.2 would set: offered & its guest mask, split rings
 * only (RING_PACKED masked out), bit 30 when offered. */
uint64_t vc_qemu_features(const struct vhc_ctx *ctx);
/* SET_FEATURES(vc_qemu_features) as a valid request (vc_accepts). */
void vc_set_features(struct vhc_ctx *ctx);

/* ---- memory and rings ---- */
/* ctx->fe.mem laid out as QEMU does (256 MiB, 2 regions), unless present */
void vc_mem_qemu(struct vhc_ctx *ctx);
/* replace ctx->fe.mem with new memory; rings will be laid out again */
void vc_mem_new(struct vhc_ctx *ctx, uint64_t size, enum mfe_layout layout, unsigned n);
/* SET_MEM_TABLE of ctx->fe.mem as a valid request */
void vc_set_mem_table(struct vhc_ctx *ctx);
/* Features, memory table, then for ring idx: NUM 256, BASE 0 (the steps
 * before SET_VRING_ADDR). */
void vc_ring_prepare(struct vhc_ctx *ctx, unsigned idx);
/* QEMU 7.2 start of every queue pair with the given bases (NULL = 0) on
 * memory already in ctx->fe.mem when reuse, else on new QEMU memory. */
void vc_start(struct vhc_ctx *ctx, const uint16_t *bases, bool reuse);
/* QEMU 7.2 stop; bases out (may be NULL). */
void vc_stop(struct vhc_ctx *ctx, uint16_t *bases);
/* The profile's host-side stop (QMP stop, set_link off: no enable round
 * after it), and the start after cont: the saved bases, the same rings, no
 * guest probing. */
void vc_stop_host(struct vhc_ctx *ctx, uint16_t *bases);
void vc_resume(struct vhc_ctx *ctx, const uint16_t *bases);
/* The guest's driver bound again after a guest-side stop: new rings, bases 0
 * (trace c1). */
void vc_rebind(struct vhc_ctx *ctx);
/* rings driven: 2 per queue pair (net), per --device otherwise */
unsigned vc_nvq(const struct vhc_ctx *ctx);
/* Each of n bases must equal want[i]. */
void vc_check_bases(struct vhc_ctx *ctx, const uint16_t *got, const uint16_t *want,
                    unsigned n, const char *rule);
/* a new eventfd (ends the child on failure); caller closes it */
int vc_eventfd(struct vhc_ctx *ctx);
/* A ring index past every ring the back end can have for u32 fields. */
#define VC_BAD_INDEX 1024u
/* For the 8-bit index of KICK/CALL/ERR: 2 * queue pairs, SKIP when > 255. */
unsigned vc_bad_index_u8(struct vhc_ctx *ctx);

#endif

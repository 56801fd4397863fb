/* faults/: fixed points of the fault matrix (caseapi/fault_matrix.h): the
 * front end breaks in the middle of QEMU's init+start+stop (cut, truncated
 * or corrupt message, a slow front end, the back end killed), then a fresh
 * connection must be served as if nothing happened.
 *
 * The rows name their fault point by request, so they mean the same thing
 * on every back end; `vhost-conform run --fault-matrix KIND` runs the same
 * body once per message number.
 */
#include "fault_matrix.h"

#define POINT(k, r) { .kind = MFE_FAULT_##k, .req = #r }
static const struct vhc_fault_point
    cut_features = POINT(CUT, SET_FEATURES), cut_kick = POINT(CUT, SET_VRING_KICK),
    cut_base = POINT(CUT, GET_VRING_BASE), trunc_mem = POINT(TRUNCATE, SET_MEM_TABLE),
    trunc_addmem = POINT(TRUNCATE, ADD_MEM_REG), trunc_addr = POINT(TRUNCATE, SET_VRING_ADDR),
    corrupt_pf = POINT(CORRUPT, SET_PROTOCOL_FEATURES),
    corrupt_addr = POINT(CORRUPT, SET_VRING_ADDR),
    delay_kick = { .kind = MFE_FAULT_DELAY, .req = "SET_VRING_KICK", .delay_ms = 500 },
    kill_kick = POINT(KILL, SET_VRING_KICK), kill_base = POINT(KILL, GET_VRING_BASE);

#define ROW(case_id, pt, what) { .id = case_id, .summary = what, \
    .rule = VHC_FAULT_RULE, .steps = VHC_FAULT_STEPS, .flags = VHC_FAULT_FLAGS, \
    .timeout_s = VHC_FAULT_TIMEOUT_S, .body = vhc_fault_point_body, .variant = &pt }

const struct vhc_case vhc_cases_faults[] = {
    ROW("faults/corrupt-set-protocol-features", corrupt_pf,
        "SET_PROTOCOL_FEATURES with a version-2, 2 GiB header, then close; next connection served"),
    ROW("faults/corrupt-set-vring-addr", corrupt_addr,
        "SET_VRING_ADDR with a version-2, 2 GiB header, then close; next connection served"),
    ROW("faults/cut-get-vring-base", cut_base, "connection cut after GET_VRING_BASE; next served"),
    ROW("faults/cut-set-features", cut_features, "connection cut after SET_FEATURES; next served"),
    ROW("faults/cut-set-vring-kick", cut_kick, "connection cut after SET_VRING_KICK; next served"),
    ROW("faults/delay-set-vring-kick",
        delay_kick, "SET_VRING_KICK held 500 ms: the sequence goes through"),
    ROW("faults/kill-get-vring-base", kill_base,
        "back end SIGKILLed after GET_VRING_BASE, restarted: served from scratch"),
    ROW("faults/kill-set-vring-kick", kill_kick,
        "back end SIGKILLed after SET_VRING_KICK, restarted: served from scratch"),
    ROW("faults/truncate-add-mem-reg",
        trunc_addmem, "half of ADD_MEM_REG (with its fd), then close"),
    ROW("faults/truncate-set-mem-table",
        trunc_mem, "half of SET_MEM_TABLE (with its fds), then close"),
    ROW("faults/truncate-set-vring-addr", trunc_addr, "half of SET_VRING_ADDR, then close"),
};
const size_t vhc_cases_faults_n = ARRAY_LEN(vhc_cases_faults);

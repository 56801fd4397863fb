/* Shared by the hardening cases that watch a back end stay responsive
 * (hardening_live.c) and the ones that watch its process (hardening_proc.c). */
#ifndef VHC_HARDENING_LIVE_H
#define VHC_HARDENING_LIVE_H

#include <stdint.h>

#include "cases.h"

/* CLOCK_MONOTONIC in ms. */
int64_t hl_now_ms(void);
/* GET_VRING_BASE of ring must be answered, or the connection closed, within
 * 2 s (rule hardening.live); `after` names the input, for the message. */
void hl_answers_in_time(struct vhc_ctx *ctx, unsigned ring, const char *after);
/* QEMU init on the current connection, new QEMU memory, one pair started,
 * 64 frames looped back (rule hardening.recover).  virtio-net only. */
void hl_traffic_after(struct vhc_ctx *ctx);

#endif

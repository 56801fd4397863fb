/* Shared by the hardening cases that watch a back end stay responsive
 * (hardening_live.c) and the ones that watch its process (hardening_proc.c). */
#ifndef VHC_HARDENING_LIVE_H
#define VHC_HARDENING_LIVE_H

#include <stdint.h>

#include "caseapi.h"

/* CLOCK_MONOTONIC in ms. */
int64_t hl_now_ms(void);
/* GET_VRING_BASE of ring must be answered, or the connection closed, within
 * 2 s (rule hardening.live); `after` names the input, for the message. */
void hl_answers_in_time(struct vhc_ctx *ctx, unsigned ring, const char *after);
/* GET_VRING_BASE of a started ring, then SET_VRING_BASE with what came
 * back: stopped, as QEMU stops one, so the next SET_VRING_KICK starts it
 * (with whatever fd the case gives). */
void hl_stop_ring(struct vhc_ctx *ctx, unsigned ring);
#endif

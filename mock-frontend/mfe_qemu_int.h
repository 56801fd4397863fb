/* Private to the QEMU sequences (mfe_qemu.c: shared steps and init;
 * mfe_qemu_start.c: start, stop, reconnect). */
#ifndef MFE_QEMU_INT_H
#define MFE_QEMU_INT_H

#include "mfe.h"

/* virtio device status bits */
#define MFE_ST_ACKNOWLEDGE 1u
#define MFE_ST_DRIVER      2u
#define MFE_ST_DRIVER_OK   4u
#define MFE_ST_FEATURES_OK 8u

bool mfe_q_has_pf(const struct mfe *f, unsigned bit);
bool mfe_q_has_protocol_features(const struct mfe *f);
int mfe_q_usage(struct mfe *f, const char *what);
/* vhost_user_add_status: GET_STATUS, then SET_STATUS only for missing bits */
int mfe_q_add_status(struct mfe *f, uint64_t bits);
/* mfe_request; a nonzero ack (when one was owed) is a failure */
int mfe_q_acked_request(struct mfe *f, const struct vhu_msg *m);
uint32_t mfe_q_ack_flag(const struct mfe *f);
/* SET_VRING_KICK/CALL/ERR for ring idx with fd (profile's NEED_REPLY) */
int mfe_q_send_fd(struct mfe *f, uint32_t req, unsigned idx, int fd);
/* SET_VRING_ENABLE for rings [first, first + n) */
int mfe_q_enable_rings(struct mfe *f, unsigned first, unsigned n, unsigned on);
/* net's round (virtio_net_set_queue_pairs): pairs [0, on) enabled, the
 * rest of f->queue_pairs disabled; nothing for other devices or without
 * PROTOCOL_FEATURES */
int mfe_q_enable_round(struct mfe *f, unsigned on);
/* vhost devices of f's queues and the rings of device i */
unsigned mfe_q_ndevs(const struct mfe *f);
void mfe_q_dev_rings(const struct mfe *f, unsigned i, unsigned *first, unsigned *n);

#endif

/* Live migration as QEMU's vhost code drives it over vhost-user
 * (hw/virtio/vhost.c vhost_migration_log, vhost_dev_log_resize,
 * vhost_dev_set_log; hw/virtio/vhost-user.c vhost_user_set_log_base,
 * vhost_user_set_features, vhost_user_set_vring_addr, write_sync).
 *
 * QEMU runs one vhost device per queue pair; the log is shared by all of
 * them and only the first pair's device sends SET_LOG_BASE.  Turning
 * logging on: SET_LOG_BASE (the memfd, then the reply QEMU waits for under
 * LOG_SHMFD), then per started pair SET_FEATURES with LOG_ALL and the wait
 * QEMU does for it (NEED_REPLY with REPLY_ACK, else a GET_FEATURES whose
 * answer can only come after it), GET_STATUS (STATUS: FEATURES_OK is kept
 * set), and per ring SET_VRING_ADDR with VHOST_VRING_F_LOG and the used
 * ring's guest address, waited for the same way.  Off: the same
 * SET_FEATURES and SET_VRING_ADDR without the bits, nothing waited for.
 */
#ifndef MFE_MIGRATE_H
#define MFE_MIGRATE_H

#include <stdbool.h>

#include "mfe.h"
#include "mfe_log.h"

/* vhost_user_set_log_base: size and offset 0, the fd under LOG_SHMFD; then
 * the reply (request echoed), only under LOG_SHMFD.  *ack gets the reply's
 * u64 when it carried one (QEMU does not look at it), else 0. */
int mfe_set_log_base(struct mfe *f, const struct mfe_log *l, uint64_t *ack);
/* vhost_migration_log(true) on every started pair: SET_LOG_BASE(l) and the
 * features and ring addresses above. */
int mfe_migration_log_on(struct mfe *f, const struct mfe_log *l);
/* vhost_migration_log(false). */
int mfe_migration_log_off(struct mfe *f);
/* Is logging on (LOG_ALL in what mfe_migration_log_on sent)? */
bool mfe_logging(const struct mfe *f);
/* The destination QEMU after the switch-over, on a new connection to a new
 * back end (the caller opened it): mfe_qemu_init for `queues`, then a start
 * of kind MFE_START_RESUME on the same memory and rings from `bases` (the
 * source's GET_VRING_BASE answers) with `features` less LOG_ALL.  Shared by
 * the migrate scenario and the migration/handover cases. */
int mfe_qemu_destination(struct mfe *f, unsigned queues, const uint16_t *bases,
                         uint64_t features);

#endif

/* The device table (mfe_device.h).  Trace lines are fixtures/qemu-7.2 NAME
 * LINE; source references are QEMU 7.2's (the same code in 8.2 and 10.2
 * where it matters: vhost_user_blk_start, vuf_start, vhost_dev_start). */
#include "mfe_device.h"

#include <string.h>

static const struct mfe_device devices[] = {
    [VHU_DEV_NET] = {
        .dev = VHU_DEV_NET, .name = "net",
        /* net/vhost-user.c vhost_user_start: one vhost_net per queue pair
         * (a4 11-27: the second pair inits on its own) */
        .device_per_pair = true,
        /* b1 33, 38: virtio-net's rx/tx_queue_size default for vhost-user */
        .ring_size = 256,
        /* b2 46: VIRTIO_NET_F_MQ with two pairs */
        .mq_feature = 22,
        /* b1 31-45: no GET_CONFIG; vhost_user_backend_init drops CONFIG
         * for a device without a config notifier */
        .needs_config = false,
        /* virtio-net's peer_attach/peer_detach and vhost_net_start's
         * restore (b1 17-26, b2 28-45, 78-81) */
        .net_enable = true,
        /* vhost_net_start sets use_guest_notifier_mask = false for
         * vhost-user, so vhost_virtqueue_start sends the call fd (b1 37) */
        .masks_calls = false,
        /* vhost_net_start_one: vhost_dev_start(..., false) (b1 46-52: no
         * SET_VRING_ENABLE 0 at stop) */
        .vrings = false,
        /* the guests boot with -kernel: nothing drives virtio-net before
         * Linux (b1: one start) */
        .firmware_features = 0,
        .reconnects = true,     /* d1 46-82 */
    },
    [VHU_DEV_BLK] = {
        .dev = VHU_DEV_BLK, .name = "blk",
        .device_per_pair = false,
        /* e2 26, 37: vhost-user-blk "queue-size" default 128 */
        .ring_size = 128,
        /* VIRTIO_BLK_F_MQ: vhost_user_blk_get_features offers it to the
         * guest only with num-queues > 1 (e2 34: not acked with one) */
        .mq_feature = 12,
        /* e1 5: CONFIG kept; vhost_user_backend_init fails for a device
         * with a config notifier when the back end lacks it.  e1 17: the
         * realize reads 57 bytes, virtio_blk_config up to
         * write_zeroes_may_unmap (QEMU's default discard and write-zeroes) */
        .needs_config = true,
        .config_size = 57,
        .net_enable = false,
        /* e2 19-21, 34-36: vhost_user_blk_start: vhost_dev_prepare_inflight
         * (SET_FEATURES), the unmask loop (SET_VRING_CALL), vhost_dev_start
         * (SET_FEATURES again) */
        .prepare_features = true,
        .masks_calls = true,          /* e2 29, 40: no call fd after the kick */
        .unmask_before_start = true,  /* e2 20, 35 */
        /* e2 42-44: nothing after GET_VRING_BASE (no guest_notifier_mask
         * in vhost-user-blk's class) */
        .mask_after_stop = false,
        .vrings = true,               /* e2 30, 31, 41, 42 */
        /* e2 34: Linux 6.1's virtio_blk under QEMU 7.2 */
        .guest_features = 0x0000000170006e46ull,
        /* e2 19-33: SeaBIOS starts, reads, and resets the disk before
         * Linux: its features (e2 19), one ring, the legacy layout with the
         * used ring page aligned (e2 28: used = desc + 0x1000) */
        .firmware_features = 0x0000000140000046ull,
        .firmware_rings = 1,
        .firmware_used_align = 4096,
        /* vhost_user_blk_event: CHR_EVENT_OPENED runs vhost_user_blk_connect,
         * vhost_dev_init and (device started) vhost_user_blk_start again */
        .reconnects = true,
    },
    [VHU_DEV_FS] = {
        .dev = VHU_DEV_FS, .name = "fs",
        .device_per_pair = false,
        .extra_rings = 1,             /* f1 15-18: hiprio + one request queue */
        /* vhost-user-fs "queue-size" default 128 (vuf_properties; no trace
         * of a started fs device) */
        .ring_size = 128,
        .mq_feature = 0,
        /* f1 5: virtiofsd does not offer CONFIG; vhost-user-fs has no
         * config notifier, so QEMU would drop it anyway */
        .needs_config = false,
        .net_enable = false,          /* f1: no SET_VRING_ENABLE at init */
        .prepare_features = false,    /* vuf_start: one SET_FEATURES */
        /* vuf_class_init sets guest_notifier_mask: virtio-pci unmasks each
         * queue's notifier when the guest notifiers are set up
         * (virtio_pci_set_guest_notifier / the MSI-X vector notifiers) and
         * masks them again when they are torn down (vuf_stop); vuf_start
         * unmasks every ring once more after vhost_dev_start */
        .masks_calls = true,
        .unmask_before_start = true,
        .unmask_after_start = true,
        .mask_after_stop = true,
        .vrings = true,               /* vuf_start: vhost_dev_start(..., true) */
        /* what Linux's virtio_fs (no device feature bits) acks of
         * virtiofsd's offer (f1 2): VERSION_1, INDIRECT_DESC, EVENT_IDX, and
         * PROTOCOL_FEATURES, which QEMU adds (not recorded) */
        .guest_features = 0x0000000170000000ull,
        .firmware_features = 0,
        /* QEMU 7.2's vhost-user-fs installs no chardev event handler: a
         * back end that dies is not reconnected */
        .reconnects = false,
    },
};

static const struct mfe_device *selected;

const struct mfe_device *mfe_device_of(enum vhu_dev dev)
{
    return (unsigned)dev < VHU_DEV_COUNT ? &devices[dev] : &devices[VHU_DEV_NET];
}

const struct mfe_device *mfe_device_find(const char *name)
{
    enum vhu_dev dev;
    return vhu_dev_by_name(name, &dev) ? &devices[dev] : NULL;
}

const struct mfe_device *mfe_device_current(void)
{
    return selected ? selected : &devices[VHU_DEV_NET];
}

void mfe_device_select(const struct mfe_device *d)
{
    selected = d;
}

unsigned mfe_device_rings(const struct mfe_device *d, unsigned queues)
{
    return (d->device_per_pair ? 2 * queues : queues) + d->extra_rings;
}

unsigned mfe_device_vhost_devs(const struct mfe_device *d, unsigned queues)
{
    return d->device_per_pair ? queues : 1;
}

void mfe_device_vhost_rings(const struct mfe_device *d, unsigned queues, unsigned i,
                            unsigned *first, unsigned *n)
{
    if (d->device_per_pair) {
        *first = 2 * i;
        *n = 2;
    } else {
        *first = 0;
        *n = mfe_device_rings(d, queues);
    }
}

/* The device types QEMU's vhost-user front ends drive, as data: where
 * vhost-user-net, vhost-user-blk and vhost-user-fs differ in what QEMU sends.
 *
 * One row per device (mfe_device.c says where each value comes from: a
 * recorded trace in fixtures/qemu-7.2, or QEMU's source).  mfe_qemu.c reads
 * the row of f->device (else mfe_device_current()); nothing there branches
 * on the device type itself.
 */
#ifndef MFE_DEVICE_H
#define MFE_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "vhu.h"

struct mfe_device {
    enum vhu_dev dev;
    const char *name;              /* "net", "blk", "fs" */
    /* vhost devices: net runs one per queue pair (2 rings each); blk and fs
     * one device holding every ring */
    bool device_per_pair;
    unsigned extra_rings;          /* rings besides the queues (fs: hiprio) */
    unsigned ring_size;            /* the virtqueue size QEMU gives the guest */
    unsigned mq_feature;           /* the device's MQ feature bit, acked with
                                      several queues; 0 = none */
    /* CONFIG protocol feature: a device with a config notifier requires it
     * (init fails without it), acks it and reads the config at realize */
    bool needs_config;
    unsigned config_size;          /* GET_CONFIG size at realize */
    /* virtio-net's SET_VRING_ENABLE rounds (reset, guest probing, the
     * enable restore of vhost_net_start, the guest's MQ command) */
    bool net_enable;
    /* start: SET_FEATURES once before the notifiers are unmasked
     * (vhost_dev_prepare_inflight), then again in vhost_dev_start */
    bool prepare_features;
    /* guest notifier masking (use_guest_notifier_mask): SET_VRING_CALL is
     * not sent by vhost_virtqueue_start but by the unmask calls below */
    bool masks_calls;
    bool unmask_before_start;      /* SET_VRING_CALL per ring before vhost_dev_start */
    bool unmask_after_start;       /* ... and again after it (vuf_start) */
    bool mask_after_stop;          /* SET_VRING_CALL per ring after the rings stop */
    /* vhost_dev_start(vrings = true): SET_VRING_ENABLE 1 per ring after the
     * rings start, 0 per ring before they stop */
    bool vrings;
    uint64_t guest_features;       /* SET_FEATURES = offered & this (net: the
                                      profile's guest_features) */
    /* the firmware drives the device before the guest kernel (SeaBIOS
     * boots from virtio-blk): its features, 0 = it does not */
    uint64_t firmware_features;
    unsigned firmware_rings;       /* rings the firmware sets up */
    unsigned firmware_used_align;  /* its used ring alignment (legacy layout) */
    bool reconnects;               /* the front end reconnects after a
                                      back-end death (chardev reconnect=) */
};

/* The row of a device type. */
const struct mfe_device *mfe_device_of(enum vhu_dev dev);
/* by name ("net", "blk", "fs"); NULL when unknown */
const struct mfe_device *mfe_device_find(const char *name);

/* The device a struct mfe without its own uses: net unless
 * mfe_device_select chose another (the runner does, for run --device,
 * before it forks a case).  NULL restores net. */
const struct mfe_device *mfe_device_current(void);
void mfe_device_select(const struct mfe_device *d);

/* Rings QEMU drives for `queues` queues (net: queue pairs, blk: queues,
 * fs: request queues). */
unsigned mfe_device_rings(const struct mfe_device *d, unsigned queues);
/* vhost devices for `queues`, and the rings of device i: [*first, *first + *n) */
unsigned mfe_device_vhost_devs(const struct mfe_device *d, unsigned queues);
void mfe_device_vhost_rings(const struct mfe_device *d, unsigned queues, unsigned i,
                            unsigned *first, unsigned *n);

#endif

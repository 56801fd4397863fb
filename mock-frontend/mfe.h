/* The mock front end: a QEMU stand-in.
 *
 * It owns one vhost-user connection, a guest memory (memfd, laid out like
 * QEMU's), the front end's half of every ring (eventfds, ring memory) and a
 * transcript of every message it exchanged, for diagnostics.  Every wait has
 * a timeout (struct mfe.timeout_ms).  Calls return 0 on success and a
 * negative value on failure, with the reason in mfe_error().
 */
#ifndef MFE_H
#define MFE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "mfe_device.h"
#include "mfe_profile.h"
#include "vhu.h"

#define MFE_MAX_VQ         16u      /* 8 queue pairs */
#define MFE_MAX_VDEV       8u       /* vhost devices: one per queue pair (net) */
#define MFE_TRANSCRIPT     64u      /* lines kept */
#define MFE_LINE           320u     /* bytes per transcript line; a longer one ends
                                       in " ...[N bytes cut]" */
#define MFE_QEMU_MEM_SIZE  (256u << 20)  /* the traces' -m 256 */

/* How the front end meets the back end, as QEMU's chardev does it. */
enum mfe_role {
    MFE_CONNECT, /* front end connects (QEMU chardev client; back end listens) */
    MFE_LISTEN,  /* front end listens and waits (QEMU server; back end connects) */
};

/* Guest memory layouts. */
enum mfe_layout {
    MFE_LAYOUT_QEMU,   /* QEMU pc/q35 below 4G: [0, 0xa0000) and [0xc0000, size) */
    MFE_LAYOUT_EVEN,   /* n equal regions with a 64 KiB hole between each */
};

struct mfe_region {
    uint64_t gpa, size, mmap_offset;
    uint8_t *hva;              /* our mapping of gpa */
    int fd;                    /* memfd backing the region (SET_MEM_TABLE's fd);
                                  equal to mfe_mem.fd when shared */
};

/* MFE_LAYOUT_QEMU: one memfd mapped once, both regions point into it and
 * SET_MEM_TABLE carries that fd twice, as QEMU does.
 * MFE_LAYOUT_EVEN: one memfd per region, each mapped on its own (fd = -1,
 * base = NULL): this exercises the back end's handling of many fds. */
struct mfe_mem {
    int fd;                    /* the shared memfd (-1 when none / per region) */
    uint8_t *base;             /* mapping of the whole shared memfd, or NULL */
    uint64_t size;             /* memfd size */
    struct mfe_region regions[VHU_MAX_REGIONS];
    unsigned nregions;
    uint64_t next_gpa;         /* bump allocator for ring memory */
};

/* The front end's half of one virtqueue. */
struct mfe_vq {
    int kick, call, err;        /* eventfds, -1 when not created */
    unsigned num;               /* ring size */
    uint64_t desc_gpa, avail_gpa, used_gpa;
    uint16_t base;              /* index the ring (re)starts from */
    bool ready;                 /* rings laid out in memory */
    bool running;               /* started by a QEMU start (NUM..KICK sent), not
                                   stopped since */
    int masked;                 /* the masked notifier a device with call
                                   masking sends at stop (mfe_device.h); -1 */
};

struct mfe_fault;
struct mfe_iotlb;

struct mfe {
    enum mfe_role role;
    int sock;                   /* connected socket or -1 */
    int listen_fd;              /* MFE_LISTEN: listening socket or -1 */
    char path[108];
    int timeout_ms;             /* every wait */
    /* the QEMU version mfe_qemu_* imitate; NULL = mfe_profile_current() */
    const struct mfe_profile *profile;

    /* what the back end offered and what we acked */
    uint64_t features, protocol_features;
    uint64_t acked_features, acked_protocol_features;
    bool protocol_acked;        /* SET_PROTOCOL_FEATURES sent */
    unsigned queue_num;         /* GET_QUEUE_NUM reply (queue pairs), 1 without MQ */
    unsigned queue_pairs;       /* queues we drive: net queue pairs, blk queues,
                                   fs request queues (mfe_device_rings) */
    unsigned nrings;            /* rings of those queues (set by mfe_qemu_init) */
    unsigned started_pairs;     /* vhost devices mfe_qemu_start started (net:
                                   queue pairs; 0 = stopped) */
    unsigned lost_pairs;        /* started when the connection was lost
                                   (mfe_disconnect): what a reconnect restarts */
    uint64_t driver_features;   /* the guest driver's features of the last start:
                                   QEMU keeps them across a reconnect */
    /* the device type mfe_qemu_* imitate; NULL = mfe_device_current() */
    const struct mfe_device *device;
    /* net: the enable state of each queue pair (virtio-net's
     * nc->vring_enable), which vhost_net_start restores */
    bool pair_enabled[MFE_MAX_VDEV];
    /* regions each vhost device's back end connection holds through
     * ADD_MEM_REG (CONFIGURE_MEM_SLOTS): QEMU sends only the difference,
     * device by device */
    struct vhu_region added[MFE_MAX_VDEV][VHU_MAX_REGIONS];
    unsigned nadded[MFE_MAX_VDEV];

    int backend_req;            /* our end of SET_BACKEND_REQ_FD's socketpair */
    /* the vIOMMU (mfe_iotlb.h), or NULL: with one, every wait for a reply also
     * answers the back-end channel, and ring addresses become IOVAs */
    struct mfe_iotlb *iotlb;
    struct mfe_mem mem;
    struct mfe_vq vq[MFE_MAX_VQ];

    /* transcript ring: the last MFE_TRANSCRIPT messages, formatted */
    char transcript[MFE_TRANSCRIPT][MFE_LINE];
    unsigned ntranscript;       /* total ever written */
    unsigned seq;               /* message sequence number */
    char err[256];              /* last error */
    const char *err_rule;       /* stable rule id of the last error, or NULL */
    struct mfe_fault *fault;    /* fault injection in mfe_send (mfe_fault.h), or
                                   NULL; not owned, kept by mfe_disconnect */
    int trace_fd;               /* each transcript line is also written here as
                                   it happens (--trace, the shell); -1 = off.
                                   mfe_init takes it from $MFE_TRACE_FD */
};

/* mfe_request's status for a reply that is present but wrong, and for an
 * ack (REPLY_ACK) that reports failure (u64 != 0). */
#define MFE_ERR_REPLY  (-10)
#define MFE_ERR_NACK   (-11)

/* Note: a back end that closes its end makes our writes fail with EPIPE;
 * vhu_send uses MSG_NOSIGNAL, but a program that also writes to sockets or
 * pipes on its own should ignore SIGPIPE itself (the library never changes
 * signal dispositions). */

/* ---- life cycle ---- */
void mfe_init(struct mfe *f, int timeout_ms);
/* closes the socket, every eventfd and fd, unmaps memory; f can be reused */
void mfe_close(struct mfe *f);
/* closes only the connection (keeps memory and rings), e.g. before reconnect */
void mfe_disconnect(struct mfe *f);
const char *mfe_error(const struct mfe *f);

/* ---- connecting ---- */
/* Connect to path, retrying every 20 ms until timeout_ms. */
int mfe_connect(struct mfe *f, const char *path);
/* Create the listening socket (unlinks a stale path first). */
int mfe_listen(struct mfe *f, const char *path);
/* Adopt an already listening socket (the runner listens before it starts a
 * back end in client mode).  f owns it from then on: mfe_close closes it. */
void mfe_adopt_listener(struct mfe *f, int listen_fd, const char *path);
/* Wait up to timeout_ms for the back end to connect. */
int mfe_accept(struct mfe *f);
/* connect or accept, by f->role */
int mfe_open(struct mfe *f);

/* ---- messages ---- */
/* Send one message (recorded in the transcript).  The fds stay owned by the
 * caller. */
int mfe_send(struct mfe *f, const struct vhu_msg *m);
/* Receive one message within timeout_ms (recorded).  Returns 0 or VHU_IO_*. */
int mfe_recv(struct mfe *f, struct vhu_msg *m);
/* Bytes as they are: for malformed-input cases. */
int mfe_send_raw(struct mfe *f, const void *buf, size_t len, const int *fds, unsigned nfds);
/* Does the back end owe a reply to m, given what was negotiated? */
bool mfe_expects_reply(const struct mfe *f, const struct vhu_msg *m);
/* Send m; if a reply is owed, wait for it and check it: same request, REPLY
 * flag, version 1, payload kind's size.  reply may be NULL (then it is
 * received and discarded).  Returns 0, a VHU_IO_* code, or -10 for a reply
 * that is present but wrong (f->err_rule says which rule). */
int mfe_request(struct mfe *f, const struct vhu_msg *m, struct vhu_msg *reply);
/* Convenience wrappers over mfe_request */
int mfe_get_u64(struct mfe *f, uint32_t req, uint64_t *out);
int mfe_set_u64(struct mfe *f, uint32_t req, uint64_t v, bool need_reply);
int mfe_set_state(struct mfe *f, uint32_t req, uint32_t index, uint32_t num, bool need_reply);
/* Wait up to ms for any message; returns VHU_IO_TIMEOUT when the line stays
 * silent (what a case wants after a request that owes no reply), 0 when a
 * message arrived (recorded, fds closed, f->err names it), or another
 * VHU_IO_* code. */
int mfe_expect_silence(struct mfe *f, int ms);
/* Was REPLY_ACK negotiated? */
bool mfe_reply_ack(const struct mfe *f);

/* ---- guest memory ---- */
int mfe_mem_create(struct mfe_mem *mem, uint64_t size, enum mfe_layout layout,
                   unsigned nregions);
void mfe_mem_destroy(struct mfe_mem *mem);
/* host pointer for [gpa, gpa+len), NULL if it is not inside one region */
void *mfe_gpa(const struct mfe_mem *mem, uint64_t gpa, uint64_t len);
/* front-end virtual address (what SET_VRING_ADDR carries) for a gpa */
uint64_t mfe_uaddr(const struct mfe_mem *mem, uint64_t gpa);
/* allocate len bytes aligned to align from the top region; 0 when full */
uint64_t mfe_mem_alloc(struct mfe_mem *mem, uint64_t len, uint64_t align);
/* fill regions[] and fds[] for SET_MEM_TABLE from mem (one fd per region) */
unsigned mfe_mem_table(const struct mfe_mem *mem, struct vhu_region *regions, int *fds);

/* ---- rings (control side; the datapath lives in mfe_ring.h later) ---- */
/* Lay out a split ring of num entries in guest memory the way Linux does
 * (avail after desc, used aligned to 64) and create its eventfds. */
int mfe_vq_setup(struct mfe *f, unsigned idx, unsigned num);
/* The same with the used ring aligned to used_align (a power of two, >= 4):
 * a legacy driver (SeaBIOS) puts it on the next page. */
int mfe_vq_setup_aligned(struct mfe *f, unsigned idx, unsigned num, unsigned used_align);
/* SET_VRING_ADDR payload for vq idx (uaddrs, log = used ring gpa) */
void mfe_vq_addr(const struct mfe *f, unsigned idx, struct vhu_vring_addr *a);

/* ---- QEMU sequences: QEMU 7.2's (fixtures/qemu-7.2) for the device type
 * f->device (else mfe_device_current(): net, blk or fs; mfe_device.c holds
 * where they differ), changed where the profile (f->profile, else
 * mfe_profile_current()) says a later QEMU differs: SET_VRING_ENABLE rounds,
 * NEED_REPLY on SET_VRING_ENABLE and on SET_VRING_KICK/CALL/ERR, where
 * SET_STATUS(0) goes on stop, the protocol features acked, guest features
 * and memory.  These are the building blocks of the scenarios
 * (mfe_scenario.h); every case that claims a QEMU sequence uses them.
 *
 * QEMU runs vhost devices: net one per queue pair (2 rings each), blk and
 * fs one with every ring.  "One time" requests (GET_QUEUE_NUM, SET_OWNER,
 * SET_MEM_TABLE; SET_BACKEND_REQ_FD) go from the first device only; every
 * other request from each device, ADD_MEM_REG included (each device keeps
 * its own copy of what the back end holds).  With STATUS, every
 * SET_FEATURES is followed by GET_STATUS and, when FEATURES_OK is missing,
 * SET_STATUS; the last device sets DRIVER_OK after its rings and resets the
 * status at stop. ---- */

/* How a start comes about: what the guest did before it. */
enum mfe_start_kind {
    MFE_START_BOOT,     /* the guest driver probes the device, then starts it
                           (b1 19-45): net sends the reset round
                           (reset_enable_round) and the profile's
                           enable_rounds_before_start first */
    MFE_START_REBIND,   /* the driver binds again after a guest reset (c1
                           53-77): enable_rounds_before_rebind, bases 0; its
                           new rings: mfe_qemu_fresh_rings first */
    MFE_START_RESUME,   /* cont, set_link on, a reconnect (d1 62-82): no
                           guest rounds, the same rings, the saved bases */
    MFE_START_FIRMWARE, /* the firmware drives the device (blk: SeaBIOS, e2
                           19-30): its features, its rings (legacy layout) */
};

/* Why QEMU stops the device. */
enum mfe_stop_cause {
    MFE_STOP_GUEST,     /* the device is reset: the guest driver (unbind,
                           rmmod: c1 46-52), poweroff (b1 46-52),
                           system_reset; net's reset round after it
                           where the profile has reset_enable_round */
    MFE_STOP_HOST,      /* QMP stop, set_link off, quit (d1 83-87): nothing
                           after the rings stop */
    MFE_STOP_SYSTEM_RESET, /* QMP system_reset: as GUEST, then the profile's
                           system_reset_extra_rounds (h3) */
};

struct mfe_start_opts {
    unsigned queue_pairs;       /* vhost devices to start (net: pairs);
                                   0 = every one mfe_qemu_init set up */
    unsigned ring_size;         /* 0 = the device's (net 256, blk/fs 128) */
    uint64_t features;          /* 0 = offered & the guest's (profile / device) */
    const uint16_t *bases;      /* per vq SET_VRING_BASE, NULL = all 0 */
    bool reuse_memory;          /* keep f->mem (restart); else create it */
    enum mfe_start_kind kind;   /* default BOOT */
};

/* Protocol features QEMU 7.2's vhost-user-net acks when offered: every bit
 * it knows (0..16) except CONFIG, which a net device does not use. */
#define MFE_QEMU72_PROTOCOL_FEATURES (((1ull << 17) - 1) & ~(1ull << VHU_PF_CONFIG))

/* The features a Linux 6.1 guest ended up with under QEMU 7.2 (trace b1). */
#define MFE_QEMU72_NET_GUEST_FEATURES 0x000000017020e783ull

enum mfe_init_kind {
    MFE_INIT_BOOT,      /* QEMU starting: then net's machine-reset enable
                           round (a1 17-18), blk's GET_CONFIG (e1 17) */
    MFE_INIT_RECONNECT, /* a new connection after the back end's death (d1
                           46-61): the init alone; the start that follows
                           restores the enable state */
};

/* vhost_dev_init for each vhost device of `queues` queues (a1, a4, e1,
 * f1): GET_FEATURES, GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES (offered &
 * the profile's mask; CONFIG kept only by a device that needs it, which
 * fails without it), GET_QUEUE_NUM (MQ), GET_MAX_MEM_SLOTS
 * (CONFIGURE_MEM_SLOTS), SET_BACKEND_REQ_FD (BACKEND_REQ; NEED_REPLY with
 * REPLY_ACK), SET_OWNER, GET_FEATURES, SET_VRING_CALL and SET_VRING_ERR per
 * ring (fresh eventfds).  The protocol steps only when PROTOCOL_FEATURES is
 * offered, as QEMU skips them. */
int mfe_qemu_init_as(struct mfe *f, unsigned queues, enum mfe_init_kind kind);
int mfe_qemu_init(struct mfe *f, unsigned queues);   /* MFE_INIT_BOOT */
/* vhost_net_start / vhost_user_blk_start / vuf_start (b1, b2, c1, d1, e2):
 * [net: the guest's enable rounds for this kind of start], then per vhost
 * device: [net: SET_VRING_ENABLE(1) of its rings when the pair is enabled],
 * [blk: SET_FEATURES, SET_VRING_CALL per ring (unmask)], [fs: SET_VRING_CALL
 * per ring], SET_FEATURES, [first device: SET_MEM_TABLE, NEED_REPLY with
 * REPLY_ACK; or, with CONFIGURE_MEM_SLOTS, each device ADD_MEM_REG /
 * REM_MEM_REG for what its connection does not hold yet], per ring NUM,
 * BASE, ADDR, KICK, [net: CALL], [blk, fs: SET_VRING_ENABLE(1) per ring],
 * [last device: DRIVER_OK], [fs: SET_VRING_CALL per ring]; with several
 * pairs a booting net guest then enables every pair.  Memory and rings are
 * laid out before the first message. */
int mfe_qemu_start(struct mfe *f, const struct mfe_start_opts *o);
/* vhost_net_stop / vhost_user_blk_stop / vuf_stop (b1, b2, c1, d1, e2):
 * per started device [last, 7.2: SET_STATUS(0)], [blk, fs:
 * SET_VRING_ENABLE(0) per ring], GET_VRING_BASE per running ring (bases
 * out, indexed by ring, may be NULL), [last, 8.1+: SET_STATUS(0)], [fs:
 * SET_VRING_CALL (masked) per ring]; then, for a guest reset with the
 * profile's reset_enable_round, net's enable round (pair 0 on, the others
 * off), and for a system_reset its system_reset_extra_rounds more. */
int mfe_qemu_stop_as(struct mfe *f, enum mfe_stop_cause cause, uint16_t *bases);
int mfe_qemu_stop(struct mfe *f, uint16_t *bases);  /* MFE_STOP_GUEST */
/* After the back end died and a new connection is open (the caller called
 * mfe_disconnect, then connected or accepted): what QEMU does (d1 46-82):
 * the init, then the devices that were running start again on the same
 * memory and rings, each split ring from its used index (QEMU could not
 * ask the dead back end: virtio_queue_restore_last_avail_idx), with the
 * guest's features and one enable round per enabled pair, no more.  A
 * device type that does not reconnect (fs) is a usage error. */
int mfe_qemu_reconnect(struct mfe *f);
/* Forget the rings' layout: the next start lays out new ones (a driver
 * that was unbound and bound again allocates new rings). */
void mfe_qemu_fresh_rings(struct mfe *f);
/* The device and profile in use */
const struct mfe_device *mfe_qemu_device(const struct mfe *f);
const struct mfe_profile *mfe_qemu_profile(const struct mfe *f);

/* ---- transcript ---- */
/* Append a free-form line (events such as "connected"). */
void mfe_note(struct mfe *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Write the last n lines (0 = all kept), each prefixed by indent. */
void mfe_transcript_dump(const struct mfe *f, FILE *out, const char *indent, unsigned n);

#endif

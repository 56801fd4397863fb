/* vhost-user wire format: one header, one request table, typed payloads,
 * encode / decode / validate, a one-line printer and fd-carrying socket I/O.
 *
 * Everything here is pure protocol: no session state.  Syntax checks
 * (vhu_validate) return a stable rule id such as "hdr.version"; semantic
 * checks (is this ring index in range for this device?) belong to whoever
 * holds the session.
 */
#ifndef VHU_H
#define VHU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VHU_HDR_SIZE        12u
#define VHU_MAX_FDS         8u      /* fds one message may carry */
#define VHU_MAX_REGIONS     8u      /* SET_MEM_TABLE regions */
#define VHU_MAX_PAYLOAD     4096u   /* our own cap; the spec has none */
#define VHU_CONFIG_MAX      256u    /* GET/SET_CONFIG payload bytes */

/* header flags */
#define VHU_VERSION         0x1u
#define VHU_VERSION_MASK    0x3u
#define VHU_FLAG_REPLY      (1u << 2)
#define VHU_FLAG_NEED_REPLY (1u << 3)
#define VHU_FLAGS_KNOWN     (VHU_VERSION_MASK | VHU_FLAG_REPLY | VHU_FLAG_NEED_REPLY)

/* SET_VRING_KICK/CALL/ERR u64: low byte is the ring index, bit 8 means "no fd" */
#define VHU_VRING_IDX_MASK  0xffu
#define VHU_VRING_NOFD      (1u << 8)

/* SET_VRING_ADDR flags */
#define VHU_VRING_F_LOG     (1u << 0)

/* virtio feature bits that matter to the protocol itself */
#define VHU_F_LOG_ALL            26
#define VHU_F_PROTOCOL_FEATURES  30
#define VHU_F_VERSION_1          32
#define VHU_F_IOMMU_PLATFORM     33
#define VHU_F_RING_PACKED        34

/* protocol feature bits (VHOST_USER_PROTOCOL_F_*) */
enum vhu_pf {
    VHU_PF_MQ = 0, VHU_PF_LOG_SHMFD = 1, VHU_PF_RARP = 2, VHU_PF_REPLY_ACK = 3,
    VHU_PF_NET_MTU = 4, VHU_PF_BACKEND_REQ = 5, VHU_PF_CROSS_ENDIAN = 6,
    VHU_PF_CRYPTO_SESSION = 7, VHU_PF_PAGEFAULT = 8, VHU_PF_CONFIG = 9,
    VHU_PF_BACKEND_SEND_FD = 10, VHU_PF_HOST_NOTIFIER = 11,
    VHU_PF_INFLIGHT_SHMFD = 12, VHU_PF_RESET_DEVICE = 13,
    VHU_PF_INBAND_NOTIFICATIONS = 14, VHU_PF_CONFIGURE_MEM_SLOTS = 15,
    VHU_PF_STATUS = 16, VHU_PF_XEN_MMAP = 17, VHU_PF_SHARED_OBJECT = 18,
    VHU_PF_DEVICE_STATE = 19,
    VHU_PF_COUNT
};

enum vhu_channel { VHU_CH_FRONT = 0, VHU_CH_BACK = 1 };

/* front-end requests: VHU_REQ_GET_FEATURES ... */
enum vhu_req {
    VHU_REQ_NONE = 0,
#define VHU_REQ(num, name, pk, rk, fmin, fmax, reply, gate) VHU_REQ_##name = num,
#include "requests.def"
    VHU_REQ_MAX
};

/* back-end requests: VHU_BREQ_IOTLB_MSG ... */
enum vhu_breq {
    VHU_BREQ_NONE = 0,
#define VHU_BREQ(num, name, pk, rk, fmin, fmax, reply, gate) VHU_BREQ_##name = num,
#include "requests.def"
    VHU_BREQ_MAX
};

enum vhu_payload_kind {
    VHU_P_NONE,        /* size 0 */
    VHU_P_U64,         /* 8 */
    VHU_P_STATE,       /* struct vhu_vring_state, 8 */
    VHU_P_ADDR,        /* struct vhu_vring_addr, 40 */
    VHU_P_MEM,         /* struct vhu_mem, 8 + 32 * nregions */
    VHU_P_LOG,         /* struct vhu_log, 16 */
    VHU_P_IOTLB,       /* struct vhu_iotlb, 32 */
    VHU_P_CONFIG,      /* struct vhu_config, 12 + size */
    VHU_P_CRYPTO,      /* opaque, any size up to VHU_MAX_PAYLOAD */
    VHU_P_INFLIGHT,    /* struct vhu_inflight, 24 */
    VHU_P_MEM_REG,     /* struct vhu_mem_reg, 40 */
    VHU_P_VRING_AREA,  /* struct vhu_vring_area, 24 */
    VHU_P_SHARED_OBJ,  /* struct vhu_shared_obj, 16 */
    VHU_P_DEVICE_STATE,/* struct vhu_device_state, 8 */
    VHU_P_KIND_COUNT
};

enum vhu_reply_rule { VHU_R_NONE, VHU_R_ALWAYS, VHU_R_ACK };

/* One row of the request table. */
struct vhu_req_desc {
    uint32_t num;
    const char *name;                 /* spec name without VHOST_USER_ */
    enum vhu_payload_kind payload;    /* what the request carries */
    enum vhu_payload_kind reply;      /* what a reply carries */
    uint8_t fds_min, fds_max;
    enum vhu_reply_rule reply_rule;
    int gate_pf;                      /* protocol feature needed, or -1 */
};

/* wire structs (little-endian on the wire; x86/arm64 hosts only) */
struct vhu_hdr {
    uint32_t request;
    uint32_t flags;
    uint32_t size;
} __attribute__((packed));

struct vhu_vring_state { uint32_t index; uint32_t num; } __attribute__((packed));

struct vhu_vring_addr {
    uint32_t index, flags;
    uint64_t desc, used, avail, log;
} __attribute__((packed));

struct vhu_region {
    uint64_t gpa, size, uaddr, mmap_offset;
} __attribute__((packed));

struct vhu_mem {
    uint32_t nregions, padding;
    struct vhu_region regions[VHU_MAX_REGIONS];
} __attribute__((packed));

struct vhu_mem_reg { uint64_t padding; struct vhu_region region; } __attribute__((packed));

struct vhu_log { uint64_t mmap_size, mmap_offset; } __attribute__((packed));

struct vhu_iotlb {
    uint64_t iova, size, uaddr;
    uint8_t perm, type;
    uint8_t pad[6];
} __attribute__((packed));

struct vhu_config {
    uint32_t offset, size, flags;
    uint8_t data[VHU_CONFIG_MAX];
} __attribute__((packed));

struct vhu_inflight {
    uint64_t mmap_size, mmap_offset;
    uint16_t num_queues, queue_size;
    uint8_t pad[4];
} __attribute__((packed));

struct vhu_vring_area { uint64_t u64, size, offset; } __attribute__((packed));
struct vhu_shared_obj { uint8_t uuid[16]; } __attribute__((packed));
struct vhu_device_state { uint32_t direction, phase; } __attribute__((packed));

/* A decoded message with the fds that came with it. */
struct vhu_msg {
    struct vhu_hdr hdr;
    union {
        uint64_t u64;
        struct vhu_vring_state state;
        struct vhu_vring_addr addr;
        struct vhu_mem mem;
        struct vhu_mem_reg mem_reg;
        struct vhu_log log;
        struct vhu_iotlb iotlb;
        struct vhu_config config;
        struct vhu_inflight inflight;
        struct vhu_vring_area area;
        struct vhu_shared_obj shared;
        struct vhu_device_state dstate;
        uint8_t bytes[VHU_MAX_PAYLOAD];
    } u;
    int fds[VHU_MAX_FDS];
    unsigned nfds;
};

/* ---- the table ---- */
/* NULL for a number the channel does not define. */
const struct vhu_req_desc *vhu_req_desc(enum vhu_channel ch, uint32_t num);
/* "GET_FEATURES", or "UNKNOWN" */
const char *vhu_req_name(enum vhu_channel ch, uint32_t num);
/* 0 when the name is not a request of the channel; accepts an optional
 * VHOST_USER_ prefix and any case. */
uint32_t vhu_req_by_name(enum vhu_channel ch, const char *name);
const char *vhu_pf_name(unsigned bit);          /* "REPLY_ACK" or NULL */
const char *vhu_net_feature_name(unsigned bit); /* "MRG_RXBUF" or NULL */

/* Device type, for naming the device-specific feature bits (0-23 and a
 * few above 40).  Transport bits (24-41) are named the same for all. */
enum vhu_dev { VHU_DEV_NET, VHU_DEV_BLK, VHU_DEV_FS, VHU_DEV_COUNT };
const char *vhu_feature_name(enum vhu_dev dev, unsigned bit);  /* or NULL */
/* virtio device status bit (SET/GET_STATUS): "DRIVER_OK" or NULL */
const char *vhu_status_name(unsigned bit);
/* "net" / "blk" / "fs" -> device; false for an unknown name */
bool vhu_dev_by_name(const char *name, enum vhu_dev *dev);
/* The feature printer, for every list of bit names (messages, explain,
 * features, skip reasons): the names of v's set bits from bit 0 up, sep
 * between them, "bitN" for a bit name() does not know, "" when v is 0.
 * Writes as snprintf does and returns the length it would have written. */
typedef const char *(*vhu_bit_name_fn)(unsigned bit);  /* vhu_pf_name ... */
int vhu_bits_format(char *buf, size_t cap, uint64_t v, vhu_bit_name_fn name,
                    const char *sep);

/* Is `size` a legal payload size for `kind`, given the payload bytes
 * (needed for MEM and CONFIG whose size depends on their contents)? */
bool vhu_payload_size_ok(enum vhu_payload_kind kind, const void *payload, uint32_t size);
/* What a reply to d carries: the table's reply payload when the request
 * always answers, else the u64 of a REPLY_ACK acknowledgement. */
enum vhu_payload_kind vhu_reply_kind(const struct vhu_req_desc *d);

/* ---- building ---- */
void vhu_msg_init(struct vhu_msg *m, uint32_t req, uint32_t flags);
void vhu_msg_u64(struct vhu_msg *m, uint32_t req, uint64_t v);
void vhu_msg_state(struct vhu_msg *m, uint32_t req, uint32_t index, uint32_t num);
void vhu_msg_addr(struct vhu_msg *m, const struct vhu_vring_addr *a);
/* regions copied, fds appended in the same order; nregions <= VHU_MAX_REGIONS */
void vhu_msg_mem(struct vhu_msg *m, const struct vhu_region *regions,
                 const int *fds, unsigned nregions);
/* append an fd; false if the message already carries VHU_MAX_FDS */
bool vhu_msg_add_fd(struct vhu_msg *m, int fd);
/* close every fd the message carries and forget them */
void vhu_msg_close_fds(struct vhu_msg *m);

/* ---- encode / decode / validate ---- */
/* Writes header + payload to buf; returns bytes written or 0 if cap is short. */
size_t vhu_encode(const struct vhu_msg *m, uint8_t *buf, size_t cap);
/* Header only: NULL when acceptable, else a rule id. */
const char *vhu_check_hdr(const struct vhu_hdr *h);
/* Parses len bytes (header + payload) into out (fds untouched).  Returns NULL
 * or a rule id: "hdr.short", "hdr.size.max", "payload.short", "payload.long".
 * Version and flags are left to vhu_validate, so odd headers can be printed. */
const char *vhu_decode(const uint8_t *buf, size_t len, struct vhu_msg *out);
/* Syntax of a complete message as received on channel ch: header flags and
 * version, known request, payload size for its kind, fd count, per-kind
 * field rules (nregions, config size, vring fd flag).  is_reply selects
 * the reply rules.  NULL or a rule id. */
const char *vhu_validate(enum vhu_channel ch, const struct vhu_msg *m, bool is_reply);
/* One sentence describing a rule id, for diagnostics ("unknown rule" for an
 * id we never return).  Ids: hdr.short hdr.version hdr.flags.reserved
 * hdr.size.max payload.short payload.long request.unknown payload.size
 * fds.count mem.nregions mem.fds vring.nofd vring.flags.reserved config.size
 * reply.flag reply.need_reply reply.size reply.fds, and from vhu_recv
 * io.fds.max io.ctrunc io.truncated. */
const char *vhu_rule_text(const char *rule);

/* ---- printing ---- */
/* The fixtures' line format without SEQ/time/DIR:
 *   GET_FEATURES(1) flags=0x5[v1,REPLY] size=8 nfds=0 u64=0x... [CSUM,...]
 * Feature words are decoded as net features; GET_VRING_BASE replies as
 * state={...}.  Returns the length that would have been written. */
int vhu_format(char *buf, size_t cap, enum vhu_channel ch, const struct vhu_msg *m,
               bool is_reply);
/* The same, naming feature bits for device type dev (vhu_format uses net). */
int vhu_format_dev(char *buf, size_t cap, enum vhu_channel ch, enum vhu_dev dev,
                   const struct vhu_msg *m, bool is_reply);

/* ---- socket I/O ---- */
/* Status codes of the I/O calls (negative) */
enum vhu_io_err {
    VHU_IO_OK = 0,
    VHU_IO_TIMEOUT = -1,   /* nothing (complete) arrived in time */
    VHU_IO_EOF = -2,       /* peer closed */
    VHU_IO_ERR = -3,       /* socket error: errno is set */
    VHU_IO_BAD = -4,       /* malformed: *rule says why; the connection is no
                              longer in sync and should be closed */
};
/* Sends header+payload with m->fds as SCM_RIGHTS in one sendmsg. */
int vhu_send(int sock, const struct vhu_msg *m);
/* Raw bytes and fds in one sendmsg (malformed-input cases). */
int vhu_send_raw(int sock, const void *buf, size_t len, const int *fds, unsigned nfds);
/* Receives one message.  timeout_ms < 0 waits forever (only for daemons that
 * poll first).  Fds received are owned by *m.  On VHU_IO_BAD, *rule (if not
 * NULL) names the rule broken and any fds received are already closed. */
int vhu_recv(int sock, struct vhu_msg *m, int timeout_ms, const char **rule);
const char *vhu_io_strerror(int rc);

#endif

/* The request tables (expanded from requests.def) and the name tables for
 * protocol features, virtio feature bits and device status bits. */
#include "vhu.h"

#include <string.h>
#include <strings.h>

#define VHU_REQ(num, nm, pk, rk, fmin, fmax, rr, gate) \
    [num] = { num, #nm, VHU_P_##pk, VHU_P_##rk, fmin, fmax, VHU_R_##rr, gate },
static const struct vhu_req_desc front_table[VHU_REQ_MAX] = {
#include "requests.def"
};

#define VHU_BREQ(num, nm, pk, rk, fmin, fmax, rr, gate) \
    [num] = { num, #nm, VHU_P_##pk, VHU_P_##rk, fmin, fmax, VHU_R_##rr, gate },
static const struct vhu_req_desc back_table[VHU_BREQ_MAX] = {
#include "requests.def"
};

struct channel_table {
    const struct vhu_req_desc *rows;
    uint32_t count;
};

static const struct channel_table channels[] = {
    [VHU_CH_FRONT] = { front_table, VHU_REQ_MAX },
    [VHU_CH_BACK] = { back_table, VHU_BREQ_MAX },
};

const struct vhu_req_desc *vhu_req_desc(enum vhu_channel ch, uint32_t num)
{
    if ((unsigned)ch > VHU_CH_BACK || num == 0 || num >= channels[ch].count)
        return NULL;
    /* a gap in the numbering leaves a zeroed row: no name means undefined */
    return channels[ch].rows[num].name ? &channels[ch].rows[num] : NULL;
}

const char *vhu_req_name(enum vhu_channel ch, uint32_t num)
{
    const struct vhu_req_desc *d = vhu_req_desc(ch, num);
    return d ? d->name : "UNKNOWN";
}

uint32_t vhu_req_by_name(enum vhu_channel ch, const char *name)
{
    static const char prefix[] = "VHOST_USER_";
    if (!name || (unsigned)ch > VHU_CH_BACK)
        return 0;
    if (strncasecmp(name, prefix, sizeof prefix - 1) == 0)
        name += sizeof prefix - 1;
    /* the spec spells back-end requests VHOST_USER_BACKEND_IOTLB_MSG */
    if (ch == VHU_CH_BACK && strncasecmp(name, "BACKEND_", 8) == 0)
        name += 8;
    for (uint32_t n = 1; n < channels[ch].count; n++) {
        const struct vhu_req_desc *d = vhu_req_desc(ch, n);
        if (d && strcasecmp(d->name, name) == 0)
            return n;
    }
    return 0;
}

static const char *const pf_names[VHU_PF_COUNT] = {
    [VHU_PF_MQ] = "MQ", [VHU_PF_LOG_SHMFD] = "LOG_SHMFD", [VHU_PF_RARP] = "RARP",
    [VHU_PF_REPLY_ACK] = "REPLY_ACK", [VHU_PF_NET_MTU] = "NET_MTU",
    [VHU_PF_BACKEND_REQ] = "BACKEND_REQ", [VHU_PF_CROSS_ENDIAN] = "CROSS_ENDIAN",
    [VHU_PF_CRYPTO_SESSION] = "CRYPTO_SESSION", [VHU_PF_PAGEFAULT] = "PAGEFAULT",
    [VHU_PF_CONFIG] = "CONFIG", [VHU_PF_BACKEND_SEND_FD] = "BACKEND_SEND_FD",
    [VHU_PF_HOST_NOTIFIER] = "HOST_NOTIFIER", [VHU_PF_INFLIGHT_SHMFD] = "INFLIGHT_SHMFD",
    [VHU_PF_RESET_DEVICE] = "RESET_DEVICE",
    [VHU_PF_INBAND_NOTIFICATIONS] = "INBAND_NOTIFICATIONS",
    [VHU_PF_CONFIGURE_MEM_SLOTS] = "CONFIGURE_MEM_SLOTS", [VHU_PF_STATUS] = "STATUS",
    [VHU_PF_XEN_MMAP] = "XEN_MMAP", [VHU_PF_SHARED_OBJECT] = "SHARED_OBJECT",
    [VHU_PF_DEVICE_STATE] = "DEVICE_STATE",
};

const char *vhu_pf_name(unsigned bit)
{
    return bit < VHU_PF_COUNT ? pf_names[bit] : NULL;
}

/* Bits 24-41 belong to the transport (virtio spec "Reserved Feature Bits"),
 * plus vhost's LOG_ALL (26) and vhost-user's PROTOCOL_FEATURES (30). */
static const char *const transport_names[64] = {
    [24] = "NOTIFY_ON_EMPTY", [26] = "LOG_ALL", [27] = "ANY_LAYOUT",
    [28] = "RING_INDIRECT_DESC", [29] = "RING_EVENT_IDX", [30] = "PROTOCOL_FEATURES",
    [32] = "VERSION_1", [33] = "ACCESS_PLATFORM", [34] = "RING_PACKED",
    [35] = "IN_ORDER", [36] = "ORDER_PLATFORM", [37] = "SR_IOV",
    [38] = "NOTIFICATION_DATA", [39] = "NOTIF_CONFIG_DATA", [40] = "RING_RESET",
    [41] = "ADMIN_VQ",
};

static const char *const net_names[64] = {
    [0] = "CSUM", [1] = "GUEST_CSUM", [2] = "CTRL_GUEST_OFFLOADS", [3] = "MTU",
    [5] = "MAC", [6] = "GSO", [7] = "GUEST_TSO4", [8] = "GUEST_TSO6",
    [9] = "GUEST_ECN", [10] = "GUEST_UFO", [11] = "HOST_TSO4", [12] = "HOST_TSO6",
    [13] = "HOST_ECN", [14] = "HOST_UFO", [15] = "MRG_RXBUF", [16] = "STATUS",
    [17] = "CTRL_VQ", [18] = "CTRL_RX", [19] = "CTRL_VLAN", [20] = "CTRL_RX_EXTRA",
    [21] = "GUEST_ANNOUNCE", [22] = "MQ", [23] = "CTRL_MAC_ADDR",
    [50] = "DEVICE_STATS", [51] = "VQ_NOTF_COAL", [53] = "NOTF_COAL",
    [54] = "GUEST_USO4", [55] = "GUEST_USO6", [56] = "HOST_USO",
    [57] = "HASH_REPORT", [59] = "GUEST_HDRLEN", [60] = "RSS", [61] = "RSC_EXT",
    [62] = "STANDBY", [63] = "SPEED_DUPLEX",
};

static const char *const blk_names[64] = {
    [0] = "BARRIER", [1] = "SIZE_MAX", [2] = "SEG_MAX", [4] = "GEOMETRY",
    [5] = "RO", [6] = "BLK_SIZE", [7] = "SCSI", [9] = "FLUSH", [10] = "TOPOLOGY",
    [11] = "CONFIG_WCE", [12] = "MQ", [13] = "DISCARD", [14] = "WRITE_ZEROES",
    [15] = "LIFETIME", [16] = "SECURE_ERASE", [17] = "ZONED",
};

static const char *const fs_names[64] = {
    [0] = "NOTIFICATION",
};

static const char *const *const dev_names[VHU_DEV_COUNT] = {
    [VHU_DEV_NET] = net_names, [VHU_DEV_BLK] = blk_names, [VHU_DEV_FS] = fs_names,
};

static const char *const dev_words[VHU_DEV_COUNT] = {
    [VHU_DEV_NET] = "net", [VHU_DEV_BLK] = "blk", [VHU_DEV_FS] = "fs",
};

const char *vhu_feature_name(enum vhu_dev dev, unsigned bit)
{
    if (bit >= 64 || (unsigned)dev >= VHU_DEV_COUNT)
        return NULL;
    return transport_names[bit] ? transport_names[bit] : dev_names[dev][bit];
}

const char *vhu_net_feature_name(unsigned bit)
{
    return vhu_feature_name(VHU_DEV_NET, bit);
}

bool vhu_dev_by_name(const char *name, enum vhu_dev *dev)
{
    for (unsigned d = 0; name && d < VHU_DEV_COUNT; d++) {
        if (strcasecmp(name, dev_words[d]) == 0) {
            *dev = (enum vhu_dev)d;
            return true;
        }
    }
    return false;
}

static const char *const status_names[8] = {
    [0] = "ACKNOWLEDGE", [1] = "DRIVER", [2] = "DRIVER_OK", [3] = "FEATURES_OK",
    [6] = "NEEDS_RESET", [7] = "FAILED",
};

const char *vhu_status_name(unsigned bit)
{
    return bit < 8 ? status_names[bit] : NULL;
}

/* Fixed payload sizes; MEM and CONFIG depend on their contents and CRYPTO
 * is opaque, so they are handled by the functions below. */
static const uint32_t fixed_size[VHU_P_KIND_COUNT] = {
    [VHU_P_NONE] = 0,
    [VHU_P_U64] = sizeof(uint64_t),
    [VHU_P_STATE] = sizeof(struct vhu_vring_state),
    [VHU_P_ADDR] = sizeof(struct vhu_vring_addr),
    [VHU_P_LOG] = sizeof(struct vhu_log),
    [VHU_P_IOTLB] = sizeof(struct vhu_iotlb),
    [VHU_P_INFLIGHT] = sizeof(struct vhu_inflight),
    [VHU_P_MEM_REG] = sizeof(struct vhu_mem_reg),
    [VHU_P_VRING_AREA] = sizeof(struct vhu_vring_area),
    [VHU_P_SHARED_OBJ] = sizeof(struct vhu_shared_obj),
    [VHU_P_DEVICE_STATE] = sizeof(struct vhu_device_state),
};

#define MEM_HDR_SIZE    (2 * sizeof(uint32_t))
#define CONFIG_HDR_SIZE (3 * sizeof(uint32_t))

static bool mem_size_ok(const void *payload, uint32_t size)
{
    uint32_t nregions;
    if (size < MEM_HDR_SIZE || !payload)
        return false;
    memcpy(&nregions, payload, sizeof nregions);
    return nregions <= VHU_MAX_REGIONS
           && size == MEM_HDR_SIZE + nregions * sizeof(struct vhu_region);
}

static bool config_size_ok(const void *payload, uint32_t size)
{
    uint32_t cfg_size;
    if (size < CONFIG_HDR_SIZE || !payload)
        return false;
    memcpy(&cfg_size, (const uint8_t *)payload + sizeof(uint32_t), sizeof cfg_size);
    return cfg_size <= VHU_CONFIG_MAX && size == CONFIG_HDR_SIZE + cfg_size;
}

bool vhu_payload_size_ok(enum vhu_payload_kind kind, const void *payload, uint32_t size)
{
    switch (kind) {
    case VHU_P_MEM:
        return mem_size_ok(payload, size);
    case VHU_P_CONFIG:
        return config_size_ok(payload, size);
    case VHU_P_CRYPTO:
        return size <= VHU_MAX_PAYLOAD;
    default:
        return (unsigned)kind < VHU_P_KIND_COUNT && size == fixed_size[kind];
    }
}

/* One-line rendering of a message, in the format of the recorded QEMU
 * traces (fixtures/qemu-7.2/README.md), so that our logs and theirs diff. */
#include "vhu.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* snprintf-style accumulator: keeps counting once the buffer is full */
struct out {
    char *buf;
    size_t cap, len;
};

__attribute__((format(printf, 2, 3)))
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->len < o->cap ? o->cap - o->len : 0;
    int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

static void put_hex(struct out *o, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put(o, "%02x", p[i]);
}

/* ---- fds ---- */

static void put_fd_kind(struct out *o, int fd)
{
    char path[64], target[256];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = fd >= 0 ? readlink(path, target, sizeof target - 1) : -1;
    if (n < 0) {
        put(o, "fd");
        return;
    }
    target[n] = '\0';
    static const char memfd[] = "/memfd:", deleted[] = " (deleted)";
    struct stat st;
    if (strcmp(target, "anon_inode:[eventfd]") == 0) {
        put(o, "eventfd");
    } else if (strncmp(target, "socket:", 7) == 0) {
        put(o, "socket");
    } else if (strncmp(target, memfd, sizeof memfd - 1) == 0 && fstat(fd, &st) == 0) {
        const char *name = target + sizeof memfd - 1;
        size_t len = strlen(name);
        if (len >= sizeof deleted - 1 && strcmp(name + len - (sizeof deleted - 1), deleted) == 0)
            len -= sizeof deleted - 1;
        put(o, "memfd:%.*s(size=0x%llx)", (int)len, name, (unsigned long long)st.st_size);
    } else {
        put(o, "fd");
    }
}

static void put_fds(struct out *o, const struct vhu_msg *m)
{
    unsigned n = m->nfds < VHU_MAX_FDS ? m->nfds : VHU_MAX_FDS;
    if (n == 0)
        return;
    put(o, " fds=[");
    for (unsigned i = 0; i < n; i++) {
        if (i)
            put(o, ",");
        put_fd_kind(o, m->fds[i]);
    }
    put(o, "]");
}

/* ---- header ---- */

static void put_flags(struct out *o, uint32_t flags)
{
    put(o, " flags=0x%x[v%u", flags, flags & VHU_VERSION_MASK);
    if (flags & VHU_FLAG_REPLY)
        put(o, ",REPLY");
    if (flags & VHU_FLAG_NEED_REPLY)
        put(o, ",NEED_REPLY");
    if (flags & ~VHU_FLAGS_KNOWN)
        put(o, ",0x%x", flags & ~VHU_FLAGS_KNOWN);
    put(o, "]");
}

/* ---- u64 payloads ---- */

/* v's bit names, sep between them; "bitN" for a bit without one */
static void put_bits(struct out *o, uint64_t v, vhu_bit_name_fn name, const char *sep)
{
    const char *s = "";
    for (unsigned bit = 0; bit < 64; bit++) {
        if (!(v & (1ull << bit)))
            continue;
        const char *n = name(bit);
        if (n)
            put(o, "%s%s", s, n);
        else
            put(o, "%sbit%u", s, bit);
        s = sep;
    }
}

int vhu_bits_format(char *buf, size_t cap, uint64_t v, vhu_bit_name_fn name, const char *sep)
{
    struct out o = { .buf = buf, .cap = cap };
    if (cap)
        buf[0] = '\0';
    put_bits(&o, v, name, sep);
    return (int)o.len;
}

static void put_bit_names(struct out *o, uint64_t v, vhu_bit_name_fn name)
{
    put(o, " [");
    put_bits(o, v, name, ",");
    put(o, "]");
}

static const char *blk_feature_name(unsigned bit)
{
    return vhu_feature_name(VHU_DEV_BLK, bit);
}

static const char *fs_feature_name(unsigned bit)
{
    return vhu_feature_name(VHU_DEV_FS, bit);
}

static vhu_bit_name_fn feature_namer(enum vhu_dev dev)
{
    return dev == VHU_DEV_BLK ? blk_feature_name
         : dev == VHU_DEV_FS ? fs_feature_name : vhu_net_feature_name;
}

enum u64_style { U64_HEX, U64_FEATURES, U64_PROTOCOL, U64_DECIMAL, U64_STATUS, U64_VRING };

struct u64_row {
    uint32_t req;
    bool reply;
    enum u64_style style;
};

/* front-end requests whose u64 means more than a number */
static const struct u64_row u64_rows[] = {
    { VHU_REQ_GET_FEATURES, true, U64_FEATURES },
    { VHU_REQ_SET_FEATURES, false, U64_FEATURES },
    { VHU_REQ_GET_PROTOCOL_FEATURES, true, U64_PROTOCOL },
    { VHU_REQ_SET_PROTOCOL_FEATURES, false, U64_PROTOCOL },
    { VHU_REQ_GET_QUEUE_NUM, true, U64_DECIMAL },
    { VHU_REQ_GET_MAX_MEM_SLOTS, true, U64_DECIMAL },
    { VHU_REQ_NET_SET_MTU, false, U64_DECIMAL },
    { VHU_REQ_SET_STATUS, false, U64_STATUS },
    { VHU_REQ_GET_STATUS, true, U64_STATUS },
    { VHU_REQ_SET_VRING_KICK, false, U64_VRING },
    { VHU_REQ_SET_VRING_CALL, false, U64_VRING },
    { VHU_REQ_SET_VRING_ERR, false, U64_VRING },
};

static enum u64_style u64_style_of(enum vhu_channel ch, uint32_t req, bool reply)
{
    for (size_t i = 0; ch == VHU_CH_FRONT && i < sizeof u64_rows / sizeof u64_rows[0]; i++)
        if (u64_rows[i].req == req && u64_rows[i].reply == reply)
            return u64_rows[i].style;
    return U64_HEX;
}

static void put_u64(struct out *o, enum u64_style style, uint64_t v, enum vhu_dev dev)
{
    unsigned long long x = (unsigned long long)v;
    switch (style) {
    case U64_FEATURES:
        put(o, "u64=0x%016llx", x);
        put_bit_names(o, v, feature_namer(dev));
        break;
    case U64_PROTOCOL:
        put(o, "u64=0x%016llx", x);
        put_bit_names(o, v, vhu_pf_name);
        break;
    case U64_DECIMAL:
        put(o, "u64=%llu", x);
        break;
    case U64_STATUS:
        put(o, "u64=0x%llx", x);
        put_bit_names(o, v, vhu_status_name);
        break;
    case U64_VRING:
        put(o, "u64=0x%llx {index=%llu%s}", x, x & VHU_VRING_IDX_MASK,
            (v & VHU_VRING_NOFD) ? ",nofd" : "");
        break;
    default:
        put(o, "u64=0x%llx", x);
        break;
    }
}

/* ---- structured payloads ---- */

static void put_region(struct out *o, const struct vhu_region *r)
{
    put(o, "{gpa=0x%llx,size=0x%llx,uaddr=0x%llx,mmap_off=0x%llx}",
        (unsigned long long)r->gpa, (unsigned long long)r->size,
        (unsigned long long)r->uaddr, (unsigned long long)r->mmap_offset);
}

static void put_mem(struct out *o, const struct vhu_mem *mem)
{
    unsigned n = mem->nregions < VHU_MAX_REGIONS ? mem->nregions : VHU_MAX_REGIONS;
    put(o, "nregions=%u padding=%u regions=", mem->nregions, mem->padding);
    for (unsigned i = 0; i < n; i++) {
        if (i)
            put(o, ",");
        put_region(o, &mem->regions[i]);
    }
}

static void put_config(struct out *o, const struct vhu_config *c, uint32_t payload_size)
{
    uint32_t n = c->size;
    if (n > payload_size - 12)     /* payload_size >= 12: checked by caller */
        n = payload_size - 12;
    put(o, "config={offset=%u,size=%u,flags=0x%x,data=", c->offset, c->size, c->flags);
    put_hex(o, c->data, n);
    put(o, "}");
}

static void put_struct(struct out *o, enum vhu_payload_kind kind, const struct vhu_msg *m)
{
    switch (kind) {
    case VHU_P_STATE:
        put(o, "state={index=%u,num=%u}", m->u.state.index, m->u.state.num);
        break;
    case VHU_P_ADDR:
        put(o, "addr={index=%u,flags=0x%x,desc=0x%llx,used=0x%llx,avail=0x%llx,log=0x%llx}",
            m->u.addr.index, m->u.addr.flags, (unsigned long long)m->u.addr.desc,
            (unsigned long long)m->u.addr.used, (unsigned long long)m->u.addr.avail,
            (unsigned long long)m->u.addr.log);
        break;
    case VHU_P_MEM:
        put_mem(o, &m->u.mem);
        break;
    case VHU_P_MEM_REG:
        put(o, "padding=%llu region=", (unsigned long long)m->u.mem_reg.padding);
        put_region(o, &m->u.mem_reg.region);
        break;
    case VHU_P_LOG:
        put(o, "log={mmap_size=0x%llx,mmap_offset=0x%llx}",
            (unsigned long long)m->u.log.mmap_size, (unsigned long long)m->u.log.mmap_offset);
        break;
    case VHU_P_IOTLB:
        put(o, "iotlb={iova=0x%llx,size=0x%llx,uaddr=0x%llx,perm=%u,type=%u}",
            (unsigned long long)m->u.iotlb.iova, (unsigned long long)m->u.iotlb.size,
            (unsigned long long)m->u.iotlb.uaddr, m->u.iotlb.perm, m->u.iotlb.type);
        break;
    case VHU_P_CONFIG:
        put_config(o, &m->u.config, m->hdr.size);
        break;
    case VHU_P_INFLIGHT:
        put(o, "inflight={mmap_size=0x%llx,mmap_offset=0x%llx,num_queues=%u,queue_size=%u}",
            (unsigned long long)m->u.inflight.mmap_size,
            (unsigned long long)m->u.inflight.mmap_offset,
            m->u.inflight.num_queues, m->u.inflight.queue_size);
        break;
    case VHU_P_VRING_AREA:
        put(o, "area={u64=0x%llx,size=0x%llx,offset=0x%llx}",
            (unsigned long long)m->u.area.u64, (unsigned long long)m->u.area.size,
            (unsigned long long)m->u.area.offset);
        break;
    case VHU_P_SHARED_OBJ:
        put(o, "uuid=");
        put_hex(o, m->u.shared.uuid, sizeof m->u.shared.uuid);
        break;
    case VHU_P_DEVICE_STATE:
        put(o, "dstate={direction=%u,phase=%u}", m->u.dstate.direction, m->u.dstate.phase);
        break;
    default:
        put(o, "data=");
        put_hex(o, m->u.bytes, m->hdr.size);
        break;
    }
}

/* ---- the line ---- */

static void put_payload(struct out *o, enum vhu_channel ch, enum vhu_dev dev,
                        const struct vhu_msg *m, bool is_reply)
{
    const struct vhu_req_desc *d = vhu_req_desc(ch, m->hdr.request);
    uint32_t size = m->hdr.size <= VHU_MAX_PAYLOAD ? m->hdr.size : 0;
    if (size == 0)
        return;
    put(o, " ");
    enum vhu_payload_kind kind = !d ? VHU_P_CRYPTO
                                    : is_reply ? vhu_reply_kind(d) : d->payload;
    /* a payload that does not fit its kind is shown as bytes, not guessed at */
    if (!vhu_payload_size_ok(kind, m->u.bytes, size))
        kind = VHU_P_CRYPTO;
    if (kind != VHU_P_U64) {
        put_struct(o, kind, m);
        return;
    }
    put_u64(o, u64_style_of(ch, m->hdr.request, is_reply), m->u.u64, dev);
    if (is_reply && d->reply_rule != VHU_R_ALWAYS)
        put(o, " (ack)");
}

int vhu_format_dev(char *buf, size_t cap, enum vhu_channel ch, enum vhu_dev dev,
                   const struct vhu_msg *m, bool is_reply)
{
    struct out o = { buf, cap, 0 };
    if (cap)
        buf[0] = '\0';
    put(&o, "%s(%u)", vhu_req_name(ch, m->hdr.request), m->hdr.request);
    put_flags(&o, m->hdr.flags);
    put(&o, " size=%u nfds=%u", m->hdr.size, m->nfds);
    put_fds(&o, m);
    put_payload(&o, ch, dev, m, is_reply);
    return (int)o.len;
}

int vhu_format(char *buf, size_t cap, enum vhu_channel ch, const struct vhu_msg *m,
               bool is_reply)
{
    return vhu_format_dev(buf, cap, ch, VHU_DEV_NET, m, is_reply);
}

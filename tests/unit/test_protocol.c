/* Unit tests of protocol/: the request table, encode/decode/validate,
 * the one-line printer against real QEMU traces, and fd-carrying I/O. */
#include "vhu.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ---- */

static unsigned count_open_fds(void)
{
    unsigned n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void make_pair(int sv[2])
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

/* Fills a valid payload of `kind` into m and sets hdr.size. */
static void fill_payload(struct vhu_msg *m, enum vhu_payload_kind kind)
{
    static const uint32_t sizes[VHU_P_KIND_COUNT] = {
        [VHU_P_U64] = 8, [VHU_P_STATE] = 8, [VHU_P_ADDR] = 40, [VHU_P_LOG] = 16,
        [VHU_P_IOTLB] = 32, [VHU_P_INFLIGHT] = 24, [VHU_P_MEM_REG] = 40,
        [VHU_P_VRING_AREA] = 24, [VHU_P_SHARED_OBJ] = 16, [VHU_P_DEVICE_STATE] = 8,
        [VHU_P_CRYPTO] = 20,
    };
    for (unsigned i = 0; i < 64; i++)
        m->u.bytes[i] = (uint8_t)(0x11 * (i % 7));
    m->hdr.size = sizes[kind];
    if (kind == VHU_P_MEM) {
        m->u.mem.nregions = 2;
        m->u.mem.padding = 0;
        m->hdr.size = 8 + 2 * sizeof(struct vhu_region);
    } else if (kind == VHU_P_CONFIG) {
        m->u.config.size = 10;
        m->hdr.size = 12 + 10;
    }
}

/* How many fds a valid request carries (the table's minimum, pinned down
 * by the payload where the count depends on it). */
static unsigned fds_for(enum vhu_channel ch, const struct vhu_req_desc *d)
{
    if (ch == VHU_CH_FRONT && d->num == VHU_REQ_SET_MEM_TABLE)
        return 2;
    if (ch == VHU_CH_FRONT && (d->num == VHU_REQ_SET_VRING_KICK
                               || d->num == VHU_REQ_SET_VRING_CALL
                               || d->num == VHU_REQ_SET_VRING_ERR))
        return 1;
    if (ch == VHU_CH_BACK && d->num == VHU_BREQ_VRING_HOST_NOTIFIER_MSG)
        return 1;
    return d->fds_min;
}

static void build_valid(struct vhu_msg *m, enum vhu_channel ch, const struct vhu_req_desc *d,
                        bool reply, int fd)
{
    vhu_msg_init(m, d->num, reply ? VHU_FLAG_REPLY : 0);
    fill_payload(m, reply ? vhu_reply_kind(d) : d->payload);
    if (!reply && (fds_for(ch, d) == 1 && d->payload == VHU_P_U64))
        m->u.u64 = 1;                      /* ring 1, fd present */
    if (!reply && d->payload == VHU_P_VRING_AREA)
        m->u.area.u64 = 1;
    for (unsigned i = 0; !reply && i < fds_for(ch, d); i++)
        vhu_msg_add_fd(m, fd);
}

/* encode -> decode -> validate -> compare */
static void round_trip(enum vhu_channel ch, const struct vhu_req_desc *d, bool reply)
{
    struct vhu_msg m, back;
    uint8_t buf[VHU_HDR_SIZE + VHU_MAX_PAYLOAD];
    build_valid(&m, ch, d, reply, 0);
    size_t len = vhu_encode(&m, buf, sizeof buf);
    ck_assert_uint_eq(len, VHU_HDR_SIZE + m.hdr.size);
    vhu_msg_init(&back, 0, 0);
    const char *r = vhu_decode(buf, len, &back);
    ck_assert_msg(r == NULL, "%s: decode: %s", d->name, r);
    back.nfds = m.nfds;
    memcpy(back.fds, m.fds, sizeof back.fds);
    r = vhu_validate(ch, &back, reply);
    ck_assert_msg(r == NULL, "%s %s: validate: %s", d->name, reply ? "reply" : "request", r);
    ck_assert_int_eq(memcmp(&m.hdr, &back.hdr, VHU_HDR_SIZE), 0);
    ck_assert_int_eq(memcmp(m.u.bytes, back.u.bytes, m.hdr.size), 0);
}

/* ---- the table ---- */

START_TEST(test_table_names)
{
    ck_assert_uint_eq(vhu_req_by_name(VHU_CH_FRONT, "GET_FEATURES"), 1);
    ck_assert_uint_eq(vhu_req_by_name(VHU_CH_FRONT, "vhost_user_set_backend_req_fd"), 21);
    ck_assert_uint_eq(vhu_req_by_name(VHU_CH_FRONT, "check_device_state"), 43);
    ck_assert_uint_eq(vhu_req_by_name(VHU_CH_BACK, "VHOST_USER_BACKEND_IOTLB_MSG"), 1);
    ck_assert_uint_eq(vhu_req_by_name(VHU_CH_BACK, "shared_object_lookup"), 8);
    ck_assert_uint_eq(vhu_req_by_name(VHU_CH_FRONT, "SHARED_OBJECT_LOOKUP"), 0);
    ck_assert_uint_eq(vhu_req_by_name(VHU_CH_FRONT, "NO_SUCH"), 0);
    ck_assert_ptr_null(vhu_req_desc(VHU_CH_FRONT, 0));
    ck_assert_ptr_null(vhu_req_desc(VHU_CH_FRONT, 44));
    ck_assert_ptr_null(vhu_req_desc(VHU_CH_BACK, 9));
    ck_assert_str_eq(vhu_req_name(VHU_CH_FRONT, 44), "UNKNOWN");
    ck_assert_str_eq(vhu_req_name(VHU_CH_BACK, 3), "VRING_HOST_NOTIFIER_MSG");
    ck_assert_str_eq(vhu_pf_name(VHU_PF_REPLY_ACK), "REPLY_ACK");
    ck_assert_ptr_null(vhu_pf_name(VHU_PF_COUNT));
    ck_assert_str_eq(vhu_net_feature_name(15), "MRG_RXBUF");
    ck_assert_str_eq(vhu_net_feature_name(VHU_F_RING_PACKED), "RING_PACKED");
    ck_assert_str_eq(vhu_feature_name(VHU_DEV_BLK, 6), "BLK_SIZE");
    ck_assert_str_eq(vhu_status_name(2), "DRIVER_OK");
}
END_TEST

/* every number from 1 to the last is defined, names round-trip */
START_TEST(test_table_dense)
{
    static const struct { enum vhu_channel ch; uint32_t max; } chans[] = {
        { VHU_CH_FRONT, VHU_REQ_MAX }, { VHU_CH_BACK, VHU_BREQ_MAX },
    };
    ck_assert_uint_eq(VHU_REQ_MAX, 44);
    ck_assert_uint_eq(VHU_BREQ_MAX, 9);
    for (unsigned c = 0; c < 2; c++) {
        for (uint32_t n = 1; n < chans[c].max; n++) {
            const struct vhu_req_desc *d = vhu_req_desc(chans[c].ch, n);
            ck_assert_ptr_nonnull(d);
            ck_assert_uint_eq(d->num, n);
            ck_assert_uint_le(d->fds_min, d->fds_max);
            ck_assert_uint_eq(vhu_req_by_name(chans[c].ch, d->name), n);
        }
    }
}
END_TEST

START_TEST(test_roundtrip_front)
{
    const struct vhu_req_desc *d = vhu_req_desc(VHU_CH_FRONT, (uint32_t)_i);
    ck_assert_ptr_nonnull(d);
    round_trip(VHU_CH_FRONT, d, false);
    round_trip(VHU_CH_FRONT, d, true);
}
END_TEST

START_TEST(test_roundtrip_back)
{
    const struct vhu_req_desc *d = vhu_req_desc(VHU_CH_BACK, (uint32_t)_i);
    ck_assert_ptr_nonnull(d);
    round_trip(VHU_CH_BACK, d, false);
    round_trip(VHU_CH_BACK, d, true);
}
END_TEST

/* ---- malformed messages ---- */

struct bad_row {
    const char *what;
    enum vhu_channel ch;
    uint32_t req;
    bool reply;
    void (*mutate)(struct vhu_msg *m);
    int len_delta;          /* bytes cut (<0) or appended (>0) after encoding */
    uint32_t force_size;    /* written into the encoded header when non-zero */
    const char *rule;
};

static void m_none(struct vhu_msg *m) { (void)m; }
static void m_version2(struct vhu_msg *m) { m->hdr.flags = 0x2; }
static void m_version0(struct vhu_msg *m) { m->hdr.flags = 0x0; }
static void m_reserved(struct vhu_msg *m) { m->hdr.flags |= 0x10; }
static void m_req44(struct vhu_msg *m) { m->hdr.request = 44; }
static void m_req0(struct vhu_msg *m) { m->hdr.request = 0; }
static void m_req9(struct vhu_msg *m) { m->hdr.request = 9; }
static void m_set_reply(struct vhu_msg *m) { m->hdr.flags |= VHU_FLAG_REPLY; }
static void m_clear_reply(struct vhu_msg *m) { m->hdr.flags &= ~VHU_FLAG_REPLY; }
static void m_need_reply(struct vhu_msg *m) { m->hdr.flags |= VHU_FLAG_NEED_REPLY; }
static void m_size4(struct vhu_msg *m) { m->hdr.size = 4; }
static void m_size12(struct vhu_msg *m) { m->hdr.size = 12; }
static void m_size0(struct vhu_msg *m) { m->hdr.size = 0; }
static void m_add_fd(struct vhu_msg *m) { vhu_msg_add_fd(m, 0); }
static void m_drop_fd(struct vhu_msg *m) { m->nfds--; }
static void m_nregions0(struct vhu_msg *m) { m->u.mem.nregions = 0; m->hdr.size = 8; m->nfds = 0; }
static void m_nregions9(struct vhu_msg *m)
{
    m->u.mem.nregions = 9;
    m->hdr.size = 8 + 9 * sizeof(struct vhu_region);
}
static void m_mem_short(struct vhu_msg *m) { m->hdr.size = 8 + sizeof(struct vhu_region); }
static void m_nofd_with_fd(struct vhu_msg *m) { m->u.u64 |= VHU_VRING_NOFD; }
static void m_fd_missing(struct vhu_msg *m) { m->nfds = 0; }
static void m_vring_bit9(struct vhu_msg *m) { m->u.u64 |= 1u << 9; }
static void m_config_big(struct vhu_msg *m) { m->u.config.size = 300; }
static void m_config_mismatch(struct vhu_msg *m) { m->u.config.size = 9; }
static void m_area_nofd(struct vhu_msg *m) { m->u.area.u64 |= VHU_VRING_NOFD; }

static const struct bad_row bad_rows[] = {
    { "11-byte header", VHU_CH_FRONT, VHU_REQ_GET_FEATURES, false, m_none, -1, 0, "hdr.short" },
    { "payload cut", VHU_CH_FRONT, VHU_REQ_SET_FEATURES, false, m_none, -3, 0, "payload.short" },
    { "trailing bytes", VHU_CH_FRONT, VHU_REQ_GET_FEATURES, false, m_none, 4, 0, "payload.long" },
    { "size 4097", VHU_CH_FRONT, VHU_REQ_GET_FEATURES, false, m_none, 4097, 4097, "hdr.size.max" },
    { "version 2", VHU_CH_FRONT, VHU_REQ_GET_FEATURES, false, m_version2, 0, 0, "hdr.version" },
    { "version 0", VHU_CH_FRONT, VHU_REQ_SET_OWNER, false, m_version0, 0, 0, "hdr.version" },
    { "flag bit 4", VHU_CH_FRONT, VHU_REQ_GET_FEATURES, false, m_reserved, 0, 0, "hdr.flags.reserved" },
    { "request 44", VHU_CH_FRONT, VHU_REQ_GET_FEATURES, false, m_req44, 0, 0, "request.unknown" },
    { "request 0", VHU_CH_FRONT, VHU_REQ_GET_FEATURES, false, m_req0, 0, 0, "request.unknown" },
    { "back request 9", VHU_CH_BACK, VHU_BREQ_IOTLB_MSG, false, m_req9, 0, 0, "request.unknown" },
    { "request with REPLY", VHU_CH_FRONT, VHU_REQ_GET_FEATURES, false, m_set_reply, 0, 0, "reply.flag" },
    { "reply without REPLY", VHU_CH_FRONT, VHU_REQ_GET_FEATURES, true, m_clear_reply, 0, 0, "reply.flag" },
    { "reply with NEED_REPLY", VHU_CH_FRONT, VHU_REQ_GET_FEATURES, true, m_need_reply, 0, 0, "reply.need_reply" },
    { "u64 of 4 bytes", VHU_CH_FRONT, VHU_REQ_SET_FEATURES, false, m_size4, 0, 0, "payload.size" },
    { "state of 12 bytes", VHU_CH_FRONT, VHU_REQ_SET_VRING_NUM, false, m_size12, 0, 0, "payload.size" },
    { "addr of 0 bytes", VHU_CH_FRONT, VHU_REQ_SET_VRING_ADDR, false, m_size0, 0, 0, "payload.size" },
    { "SET_OWNER with fd", VHU_CH_FRONT, VHU_REQ_SET_OWNER, false, m_add_fd, 0, 0, "fds.count" },
    { "BACKEND_REQ_FD no fd", VHU_CH_FRONT, VHU_REQ_SET_BACKEND_REQ_FD, false, m_drop_fd, 0, 0, "fds.count" },
    { "KICK with 2 fds", VHU_CH_FRONT, VHU_REQ_SET_VRING_KICK, false, m_add_fd, 0, 0, "fds.count" },
    { "mem 0 regions", VHU_CH_FRONT, VHU_REQ_SET_MEM_TABLE, false, m_nregions0, 0, 0, "mem.nregions" },
    { "mem 9 regions", VHU_CH_FRONT, VHU_REQ_SET_MEM_TABLE, false, m_nregions9, 0, 0, "mem.nregions" },
    { "mem size short", VHU_CH_FRONT, VHU_REQ_SET_MEM_TABLE, false, m_mem_short, 0, 0, "payload.size" },
    { "mem 2 regions 1 fd", VHU_CH_FRONT, VHU_REQ_SET_MEM_TABLE, false, m_drop_fd, 0, 0, "mem.fds" },
    { "KICK nofd with fd", VHU_CH_FRONT, VHU_REQ_SET_VRING_KICK, false, m_nofd_with_fd, 0, 0, "vring.nofd" },
    { "CALL no fd no flag", VHU_CH_FRONT, VHU_REQ_SET_VRING_CALL, false, m_fd_missing, 0, 0, "vring.nofd" },
    { "ERR bit 9", VHU_CH_FRONT, VHU_REQ_SET_VRING_ERR, false, m_vring_bit9, 0, 0, "vring.flags.reserved" },
    { "config size 300", VHU_CH_FRONT, VHU_REQ_GET_CONFIG, false, m_config_big, 0, 0, "config.size" },
    { "config size mismatch", VHU_CH_FRONT, VHU_REQ_SET_CONFIG, false, m_config_mismatch, 0, 0, "config.size" },
    { "config under 12", VHU_CH_FRONT, VHU_REQ_SET_CONFIG, false, m_size4, 0, 0, "payload.size" },
    { "features reply empty", VHU_CH_FRONT, VHU_REQ_GET_FEATURES, true, m_size0, 0, 0, "reply.size" },
    { "mem ack of 4 bytes", VHU_CH_FRONT, VHU_REQ_SET_MEM_TABLE, true, m_size4, 0, 0, "reply.size" },
    { "vring base reply 12", VHU_CH_FRONT, VHU_REQ_GET_VRING_BASE, true, m_size12, 0, 0, "reply.size" },
    { "features reply fd", VHU_CH_FRONT, VHU_REQ_GET_FEATURES, true, m_add_fd, 0, 0, "reply.fds" },
    { "notifier nofd with fd", VHU_CH_BACK, VHU_BREQ_VRING_HOST_NOTIFIER_MSG, false, m_area_nofd, 0, 0, "vring.nofd" },
    { "lookup with fd", VHU_CH_BACK, VHU_BREQ_SHARED_OBJECT_LOOKUP, false, m_add_fd, 0, 0, "fds.count" },
};

START_TEST(test_malformed)
{
    const struct bad_row *row = &bad_rows[_i];
    const struct vhu_req_desc *d = vhu_req_desc(row->ch, row->req);
    struct vhu_msg m, back;
    static uint8_t buf[2 * (VHU_HDR_SIZE + VHU_MAX_PAYLOAD)];
    ck_assert_ptr_nonnull(d);
    build_valid(&m, row->ch, d, row->reply, 0);
    row->mutate(&m);
    size_t len = vhu_encode(&m, buf, sizeof buf);
    ck_assert_uint_gt(len, 0);
    if (row->len_delta < 0)
        len -= (size_t)-row->len_delta;
    else
        len += (size_t)row->len_delta;  /* appended bytes are whatever buf holds */
    if (row->force_size)
        memcpy(buf + 8, &row->force_size, sizeof row->force_size);
    vhu_msg_init(&back, 0, 0);
    const char *r = vhu_decode(buf, len, &back);
    if (!r) {
        back.nfds = m.nfds;
        memcpy(back.fds, m.fds, sizeof back.fds);
        r = vhu_validate(row->ch, &back, row->reply);
    }
    ck_assert_msg(r && strcmp(r, row->rule) == 0, "%s: want %s, got %s",
                  row->what, row->rule, r ? r : "(accepted)");
    ck_assert_str_ne(vhu_rule_text(r), "unknown rule");
}
END_TEST

/* accepted variants that look odd but are legal */
START_TEST(test_lenient_replies)
{
    struct vhu_msg m;
    vhu_msg_init(&m, VHU_REQ_GET_CONFIG, VHU_FLAG_REPLY);       /* error reply */
    ck_assert_ptr_null(vhu_validate(VHU_CH_FRONT, &m, true));
    vhu_msg_init(&m, VHU_REQ_SET_LOG_BASE, VHU_FLAG_REPLY);     /* DPDK's reply */
    ck_assert_ptr_null(vhu_validate(VHU_CH_FRONT, &m, true));
    vhu_msg_u64(&m, VHU_REQ_SET_VRING_CALL, 3 | VHU_VRING_NOFD);  /* polling */
    ck_assert_ptr_null(vhu_validate(VHU_CH_FRONT, &m, false));
    ck_assert_str_eq(vhu_rule_text("no.such.rule"), "unknown rule");
}
END_TEST

/* ---- printing ---- */

START_TEST(test_format_fds)
{
    char line[512];
    struct vhu_msg m;
    int efd = eventfd(0, EFD_CLOEXEC);
    int mfd = memfd_create("test-mem", MFD_CLOEXEC);
    int sv[2];
    make_pair(sv);
    ck_assert_int_ge(efd, 0);
    ck_assert_int_eq(ftruncate(mfd, 0x1000), 0);

    vhu_msg_u64(&m, VHU_REQ_SET_VRING_KICK, 1);
    vhu_msg_add_fd(&m, efd);
    vhu_format(line, sizeof line, VHU_CH_FRONT, &m, false);
    ck_assert_str_eq(line, "SET_VRING_KICK(12) flags=0x1[v1] size=8 nfds=1 fds=[eventfd] "
                           "u64=0x1 {index=1}");

    struct vhu_region r = { .gpa = 0, .size = 0x1000, .uaddr = 0x7f00, .mmap_offset = 0 };
    vhu_msg_mem(&m, &r, &mfd, 1);
    m.hdr.flags |= VHU_FLAG_NEED_REPLY;
    vhu_format(line, sizeof line, VHU_CH_FRONT, &m, false);
    ck_assert_str_eq(line, "SET_MEM_TABLE(5) flags=0x9[v1,NEED_REPLY] size=40 nfds=1 "
                           "fds=[memfd:test-mem(size=0x1000)] nregions=1 padding=0 "
                           "regions={gpa=0x0,size=0x1000,uaddr=0x7f00,mmap_off=0x0}");

    vhu_msg_init(&m, VHU_REQ_SET_BACKEND_REQ_FD, 0);
    vhu_msg_add_fd(&m, sv[0]);
    vhu_msg_add_fd(&m, 0x7fff);             /* not open: shown as plain fd */
    vhu_format(line, sizeof line, VHU_CH_FRONT, &m, false);
    ck_assert_str_eq(line, "SET_BACKEND_REQ_FD(21) flags=0x1[v1] size=0 nfds=2 fds=[socket,fd]");

    /* truncation keeps the would-be length, like snprintf */
    int n = vhu_format(line, 8, VHU_CH_FRONT, &m, false);
    ck_assert_int_gt(n, 8);
    ck_assert_uint_eq(strlen(line), 7);
    close(efd);
    close(mfd);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

/* ---- fidelity against the recorded QEMU traces ---- */

/* Removes " fds=[...]" and the proxy's " (proxy: ...)" remarks in place. */
static void strip_unreplayable(char *s)
{
    char *p;
    if ((p = strstr(s, " fds=[")) != NULL) {
        char *end = strchr(p, ']');
        if (end)
            memmove(p, end + 1, strlen(end + 1) + 1);
    }
    while ((p = strstr(s, " (proxy:")) != NULL) {
        int depth = 0;
        char *q = p + 1;
        for (; *q; q++) {
            depth += (*q == '(') - (*q == ')');
            if (depth == 0)
                break;
        }
        memmove(p, *q ? q + 1 : q, strlen(*q ? q + 1 : q) + 1);
    }
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
}

struct log_line {
    unsigned seq;
    char dir[16];
    char *text;              /* from the request name on */
};

struct trace {
    enum vhu_dev dev;
    struct log_line *lines;
    size_t n;
};

static void trace_free(struct trace *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->lines[i].text);
    free(t->lines);
}

/* "# proxy: ... -d net" (the shared fixtures' recorder) or "--device net"
 * (vhost-conform record) names the device type the proxy decoded for */
static void parse_proxy_dev(const char *line, enum vhu_dev *dev)
{
    static const char *const keys[] = { " -d ", " --device " };
    char word[16];
    for (size_t k = 0; k < 2; k++) {
        const char *p = strstr(line, keys[k]);
        if (p && sscanf(p + strlen(keys[k]), "%15s", word) == 1)
            ck_assert_msg(vhu_dev_by_name(word, dev), "unknown device %s", word);
    }
}

static void load_log(const char *path, struct trace *t)
{
    FILE *f = fopen(path, "r");
    char line[8192];
    ck_assert_msg(f != NULL, "open %s: %s", path, strerror(errno));
    t->dev = VHU_DEV_NET;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "# proxy:", 8) == 0)
            parse_proxy_dev(line, &t->dev);
        if (line[0] == '#' || line[0] == '\n')
            continue;
        struct log_line l = { 0 };
        int off = 0;
        /* SEQ t=SECONDS DIR [DIR] NAME(... */
        ck_assert_msg(sscanf(line, "%u t=%*s %15s %n", &l.seq, l.dir, &off) == 2,
                      "%s: bad line %s", path, line);
        if (strcmp(l.dir, "BREQ") == 0) {
            char arrow[8];
            int off2 = 0;
            ck_assert(sscanf(line + off, "%7s %n", arrow, &off2) == 1);
            snprintf(l.dir, sizeof l.dir, "BREQ %s", arrow);
            off += off2;
        }
        l.text = strdup(line + off);
        strip_unreplayable(l.text);
        t->lines = realloc(t->lines, (t->n + 1) * sizeof *t->lines);
        t->lines[t->n++] = l;
    }
    fclose(f);
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    unsigned byte;
    while (n < cap && sscanf(hex + 2 * n, "%2x", &byte) == 1)
        out[n++] = (uint8_t)byte;
    return n;
}

/* Checks one .raw line against its .log line; returns 1 (one line compared). */
static int check_raw_line(const char *path, const char *line, const struct trace *t, size_t idx)
{
    static char hex[2 * (VHU_HDR_SIZE + VHU_MAX_PAYLOAD) + 2];
    static uint8_t bytes[VHU_HDR_SIZE + VHU_MAX_PAYLOAD];
    char dir[16], arrow[8] = "", got[8192];
    unsigned seq, nfds;
    int k = sscanf(line, "%u %15s nfds=%u %8200s", &seq, dir, &nfds, hex);
    if (k != 4 && strcmp(dir, "BREQ") == 0) {
        k = sscanf(line, "%u BREQ %7s nfds=%u %8200s", &seq, arrow, &nfds, hex);
        snprintf(dir, sizeof dir, "BREQ %s", arrow);
    }
    ck_assert_msg(k == 4, "%s: bad raw line %s", path, line);
    ck_assert_msg(idx < t->n, "%s: more raw lines than log lines", path);
    const struct log_line *l = &t->lines[idx];
    ck_assert_msg(l->seq == seq && strcmp(l->dir, dir) == 0, "%s: seq %u %s vs log %u %s",
                  path, seq, dir, l->seq, l->dir);

    struct vhu_msg m;
    vhu_msg_init(&m, 0, 0);
    size_t len = unhex(hex, bytes, sizeof bytes);
    const char *r = vhu_decode(bytes, len, &m);
    ck_assert_msg(r == NULL, "%s #%u: decode %s", path, seq, r);
    m.nfds = nfds;              /* the fds themselves were not recorded */
    bool back = strncmp(dir, "BREQ", 4) == 0;
    enum vhu_channel ch = back ? VHU_CH_BACK : VHU_CH_FRONT;
    /* on the back-end channel the back end asks and the front end replies */
    bool reply = back ? strstr(dir, "F->B") != NULL : strcmp(dir, "B->F") == 0;
    r = vhu_validate(ch, &m, reply);
    ck_assert_msg(r == NULL, "%s #%u: validate %s", path, seq, r);
    vhu_format_dev(got, sizeof got, ch, t->dev, &m, reply);
    strip_unreplayable(got);
    ck_assert_msg(strcmp(got, l->text) == 0, "%s #%u:\n  want %s\n  got  %s",
                  path, seq, l->text, got);
    return 1;
}

static int check_trace(const char *raw_path)
{
    char log_path[4096], line[2 * (VHU_HDR_SIZE + VHU_MAX_PAYLOAD) + 64];
    struct trace t = { 0 };
    size_t plen = strlen(raw_path);
    snprintf(log_path, sizeof log_path, "%.*s.log", (int)(plen - 4), raw_path);
    load_log(log_path, &t);
    FILE *f = fopen(raw_path, "r");
    ck_assert_msg(f != NULL, "open %s", raw_path);
    int compared = 0;
    while (fgets(line, sizeof line, f))
        if (line[0] != '#' && line[0] != '\n')
            compared += check_raw_line(raw_path, line, &t, (size_t)compared);
    fclose(f);
    ck_assert_msg((size_t)compared == t.n, "%s: %d raw lines, %zu log lines",
                  raw_path, compared, t.n);
    trace_free(&t);
    return compared;
}

/* $VHC_FIXTURES (set by ctest), else the fixtures next to this source file,
 * so the binary also runs by hand */
static void fixtures_dir(char *out, size_t cap)
{
    const char *env = getenv("VHC_FIXTURES");
    const char *tail = strstr(__FILE__, "tests/unit/");
    if (env)
        snprintf(out, cap, "%s", env);
    else if (tail)
        snprintf(out, cap, "%.*sfixtures", (int)(tail - __FILE__), __FILE__);
    else
        snprintf(out, cap, "fixtures");
}

START_TEST(test_fixture_fidelity)
{
    char dir[4096], pattern[4200];
    glob_t g;
    fixtures_dir(dir, sizeof dir);
    snprintf(pattern, sizeof pattern, "%s/qemu-*/*.raw", dir);
    ck_assert_msg(glob(pattern, 0, NULL, &g) == 0, "no traces match %s", pattern);
    ck_assert_uint_ge(g.gl_pathc, 1);
    int total = 0;
    for (size_t i = 0; i < g.gl_pathc; i++)
        total += check_trace(g.gl_pathv[i]);
    fprintf(stderr, "fidelity: %d lines in %zu traces match\n", total, g.gl_pathc);
    ck_assert_int_gt(total, 0);
    globfree(&g);
}
END_TEST

/* ---- socket I/O ---- */

START_TEST(test_io_eventfd)
{
    int sv[2];
    make_pair(sv);
    int efd = eventfd(0, EFD_CLOEXEC);
    struct vhu_msg m, got;
    vhu_msg_u64(&m, VHU_REQ_SET_VRING_CALL, 0);
    vhu_msg_add_fd(&m, efd);
    ck_assert_int_eq(vhu_send(sv[0], &m), VHU_IO_OK);
    const char *rule = "unset";
    ck_assert_int_eq(vhu_recv(sv[1], &got, 1000, &rule), VHU_IO_OK);
    ck_assert_ptr_null(rule);
    ck_assert_uint_eq(got.nfds, 1);
    ck_assert_ptr_null(vhu_validate(VHU_CH_FRONT, &got, false));
    /* the received fd is the same eventfd: a write on it is read on ours */
    uint64_t v = 5;
    ck_assert_int_eq(write(got.fds[0], &v, sizeof v), sizeof v);
    v = 0;
    ck_assert_int_eq(read(efd, &v, sizeof v), sizeof v);
    ck_assert_uint_eq(v, 5);
    vhu_msg_close_fds(&got);
    close(efd);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

START_TEST(test_io_mem_two_fds)
{
    int sv[2];
    make_pair(sv);
    int fds[2] = { memfd_create("a", MFD_CLOEXEC), memfd_create("b", MFD_CLOEXEC) };
    struct vhu_region r[2] = { { 0, 0x1000, 0x1000, 0 }, { 0x2000, 0x1000, 0x3000, 0 } };
    struct vhu_msg m, got;
    vhu_msg_mem(&m, r, fds, 2);
    ck_assert_int_eq(vhu_send(sv[0], &m), VHU_IO_OK);
    ck_assert_int_eq(vhu_recv(sv[1], &got, 1000, NULL), VHU_IO_OK);
    ck_assert_uint_eq(got.nfds, 2);
    ck_assert_ptr_null(vhu_validate(VHU_CH_FRONT, &got, false));
    ck_assert_int_eq(memcmp(&got.u.mem, &m.u.mem, m.hdr.size), 0);
    vhu_msg_close_fds(&got);
    close(fds[0]);
    close(fds[1]);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

static void expect_timeout(int sock)
{
    struct vhu_msg got;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(vhu_recv(sock, &got, 150, NULL), VHU_IO_TIMEOUT);
    long ms = elapsed_ms(&t0);
    ck_assert_int_ge(ms, 140);
    ck_assert_int_lt(ms, 2000);
}

START_TEST(test_io_timeout_silent)
{
    int sv[2];
    make_pair(sv);
    expect_timeout(sv[1]);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

START_TEST(test_io_timeout_partial)
{
    int sv[2];
    uint8_t hdr[6] = { 1, 0, 0, 0, 1, 0 };
    make_pair(sv);
    ck_assert_int_eq(vhu_send_raw(sv[0], hdr, sizeof hdr, NULL, 0), VHU_IO_OK);
    expect_timeout(sv[1]);
    /* a header promising a payload that never comes is just as bounded */
    close(sv[0]);
    close(sv[1]);
    make_pair(sv);
    struct vhu_hdr h = { VHU_REQ_SET_FEATURES, VHU_VERSION, 8 };
    ck_assert_int_eq(vhu_send_raw(sv[0], &h, sizeof h, NULL, 0), VHU_IO_OK);
    expect_timeout(sv[1]);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

START_TEST(test_io_eof)
{
    int sv[2];
    struct vhu_msg got;
    const char *rule = NULL;
    make_pair(sv);
    close(sv[0]);
    ck_assert_int_eq(vhu_recv(sv[1], &got, 1000, &rule), VHU_IO_EOF);
    close(sv[1]);
    make_pair(sv);
    ck_assert_int_eq(vhu_send_raw(sv[0], "\x01\x00\x00", 3, NULL, 0), VHU_IO_OK);
    close(sv[0]);
    ck_assert_int_eq(vhu_recv(sv[1], &got, 1000, &rule), VHU_IO_BAD);
    ck_assert_str_eq(rule, "io.truncated");
    close(sv[1]);
}
END_TEST

/* A bad header is refused before its (missing) payload is waited for. */
START_TEST(test_io_bad_header)
{
    static const struct { struct vhu_hdr h; const char *rule; } rows[] = {
        { { VHU_REQ_SET_FEATURES, 0x2, 8 }, "hdr.version" },
        { { VHU_REQ_SET_FEATURES, VHU_VERSION, VHU_MAX_PAYLOAD + 1 }, "hdr.size.max" },
    };
    for (size_t i = 0; i < 2; i++) {
        int sv[2];
        struct vhu_msg got;
        const char *rule = NULL;
        struct timespec t0;
        make_pair(sv);
        ck_assert_int_eq(vhu_send_raw(sv[0], &rows[i].h, VHU_HDR_SIZE, NULL, 0), VHU_IO_OK);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        ck_assert_int_eq(vhu_recv(sv[1], &got, 2000, &rule), VHU_IO_BAD);
        ck_assert_str_eq(rule, rows[i].rule);
        ck_assert_int_lt(elapsed_ms(&t0), 1000);
        close(sv[0]);
        close(sv[1]);
    }
}
END_TEST

START_TEST(test_io_too_many_fds)
{
    int sv[2], fds[VHU_MAX_FDS + 1];
    make_pair(sv);
    for (unsigned i = 0; i < VHU_MAX_FDS + 1; i++)
        fds[i] = eventfd(0, EFD_CLOEXEC);
    struct vhu_msg m, got;
    uint8_t buf[64];
    vhu_msg_u64(&m, VHU_REQ_SET_VRING_CALL, 0);
    size_t len = vhu_encode(&m, buf, sizeof buf);
    unsigned before = count_open_fds();
    ck_assert_int_eq(vhu_send_raw(sv[0], buf, len, fds, VHU_MAX_FDS + 1), VHU_IO_OK);
    const char *rule = NULL;
    ck_assert_int_eq(vhu_recv(sv[1], &got, 1000, &rule), VHU_IO_BAD);
    ck_assert_str_eq(rule, "io.fds.max");
    ck_assert_uint_eq(got.nfds, 0);
    ck_assert_uint_eq(count_open_fds(), before);   /* every received fd closed */
    for (unsigned i = 0; i < VHU_MAX_FDS + 1; i++)
        close(fds[i]);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

START_TEST(test_io_strerror)
{
    ck_assert_str_eq(vhu_io_strerror(VHU_IO_OK), "ok");
    ck_assert_str_eq(vhu_io_strerror(VHU_IO_BAD), "malformed message");
    ck_assert_str_eq(vhu_io_strerror(-99), "unknown I/O status");
}
END_TEST

/* the one feature printer: names in bit order, bitN for the unnamed */
START_TEST(test_bits_format)
{
    char buf[64];
    ck_assert_int_eq(vhu_bits_format(buf, sizeof buf, 0, vhu_pf_name, ", "), 0);
    ck_assert_str_eq(buf, "");
    uint64_t v = (1ull << VHU_F_VERSION_1) | (1ull << 15) | (1ull << 4);
    vhu_bits_format(buf, sizeof buf, v, vhu_net_feature_name, " ");
    ck_assert_str_eq(buf, "bit4 MRG_RXBUF VERSION_1");
    vhu_bits_format(buf, sizeof buf, (1ull << VHU_PF_MQ) | (1ull << VHU_PF_REPLY_ACK),
                    vhu_pf_name, ", ");
    ck_assert_str_eq(buf, "MQ, REPLY_ACK");
    /* snprintf's contract: cut to fit, the full length returned */
    ck_assert_int_eq(vhu_bits_format(buf, 4, v, vhu_net_feature_name, " "), 24);
    ck_assert_str_eq(buf, "bit");
}
END_TEST

static Suite *protocol_suite(void)
{
    Suite *s = suite_create("protocol");
    TCase *t = tcase_create("table");
    tcase_add_test(t, test_table_names);
    tcase_add_test(t, test_table_dense);
    suite_add_tcase(s, t);

    t = tcase_create("codec");
    tcase_add_loop_test(t, test_roundtrip_front, 1, VHU_REQ_MAX);
    tcase_add_loop_test(t, test_roundtrip_back, 1, VHU_BREQ_MAX);
    tcase_add_loop_test(t, test_malformed, 0, (int)(sizeof bad_rows / sizeof bad_rows[0]));
    tcase_add_test(t, test_lenient_replies);
    suite_add_tcase(s, t);

    t = tcase_create("print");
    tcase_add_test(t, test_format_fds);
    tcase_add_test(t, test_fixture_fidelity);
    tcase_add_test(t, test_bits_format);
    suite_add_tcase(s, t);

    t = tcase_create("io");
    tcase_set_timeout(t, 10);
    tcase_add_test(t, test_io_eventfd);
    tcase_add_test(t, test_io_mem_two_fds);
    tcase_add_test(t, test_io_timeout_silent);
    tcase_add_test(t, test_io_timeout_partial);
    tcase_add_test(t, test_io_eof);
    tcase_add_test(t, test_io_bad_header);
    tcase_add_test(t, test_io_too_many_fds);
    tcase_add_test(t, test_io_strerror);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(protocol_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

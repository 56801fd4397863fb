/* Unit tests of mock-frontend/: guest memory layouts, split ring layout,
 * the transcript, connection helpers, reply checking, the QEMU profiles,
 * and the QEMU sequences against a fake back end scripted from the recorded
 * 7.2 traces (as recorded for qemu-7.2; changed by each switch of a later
 * profile, so the rest must stay the same). */
#include "mfe.h"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_KEYS 256

/* What the tests compare of one message: everything the traces say is
 * stable (request, flags, size, fd count) plus the u64/state payload. */
struct key {
    uint32_t req, flags, size, nfds;
    bool has_val;
    uint64_t val;
};

/* ---- memory ---- */

START_TEST(qemu_layout)
{
    struct mfe_mem mem;
    ck_assert_int_eq(mfe_mem_create(&mem, MFE_QEMU_MEM_SIZE, MFE_LAYOUT_QEMU, 0), 0);
    ck_assert_uint_eq(mem.nregions, 2);
    ck_assert_uint_eq(mem.regions[0].gpa, 0);
    ck_assert_uint_eq(mem.regions[0].size, 0xa0000);
    ck_assert_uint_eq(mem.regions[0].mmap_offset, 0);
    ck_assert_uint_eq(mem.regions[1].gpa, 0xc0000);
    ck_assert_uint_eq(mem.regions[1].size, MFE_QEMU_MEM_SIZE - 0xc0000);
    ck_assert_uint_eq(mem.regions[1].mmap_offset, 0xc0000);

    struct vhu_region r[VHU_MAX_REGIONS];
    int fds[VHU_MAX_REGIONS];
    ck_assert_uint_eq(mfe_mem_table(&mem, r, fds), 2);
    ck_assert_int_ge(fds[0], 0);
    ck_assert_int_eq(fds[0], fds[1]); /* the same memfd twice, as QEMU sends it */
    ck_assert_uint_eq(r[1].uaddr - r[0].uaddr, 0xc0000);

    /* gpa -> our mapping, visible through the fd the back end would map */
    uint8_t *p = mfe_gpa(&mem, 0x123456, 4);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(mfe_uaddr(&mem, 0x123456), (uint64_t)(uintptr_t)p);
    memcpy(p, "ring", 4);
    char back[4];
    ck_assert_int_eq(pread(fds[1], back, 4, 0x123456), 4);
    ck_assert_mem_eq(back, "ring", 4);

    ck_assert_ptr_null(mfe_gpa(&mem, 0xa0000, 1));          /* the hole */
    ck_assert_ptr_null(mfe_gpa(&mem, 0x9ffff, 2));          /* crosses the hole */
    ck_assert_ptr_null(mfe_gpa(&mem, MFE_QEMU_MEM_SIZE, 1)); /* past the end */
    ck_assert_uint_eq(mfe_uaddr(&mem, 0xb0000), 0);
    mfe_mem_destroy(&mem);
    ck_assert_int_eq(mem.fd, -1);
    ck_assert_uint_eq(mem.nregions, 0);
}
END_TEST

START_TEST(even_layout)
{
    struct mfe_mem mem;
    const uint64_t size = 4u << 20;
    ck_assert_int_eq(mfe_mem_create(&mem, size, MFE_LAYOUT_EVEN, 4), 0);
    ck_assert_uint_eq(mem.nregions, 4);
    struct vhu_region r[VHU_MAX_REGIONS];
    int fds[VHU_MAX_REGIONS];
    ck_assert_uint_eq(mfe_mem_table(&mem, r, fds), 4);
    for (unsigned i = 0; i < 4; i++) {
        ck_assert_uint_eq(r[i].size, size / 4);
        ck_assert_uint_eq(r[i].mmap_offset, 0);
        if (i > 0) {
            ck_assert_uint_gt(r[i].gpa, r[i - 1].gpa + r[i - 1].size); /* a hole */
            ck_assert_int_ne(fds[i], fds[i - 1]);                      /* own memfd */
        }
    }
    uint64_t gpa = r[2].gpa + 100;
    uint8_t *p = mfe_gpa(&mem, gpa, 1);
    ck_assert_ptr_nonnull(p);
    *p = 0x5a;
    uint8_t back = 0;
    ck_assert_int_eq(pread(fds[2], &back, 1, 100), 1);
    ck_assert_uint_eq(back, 0x5a);
    ck_assert_ptr_null(mfe_gpa(&mem, r[0].gpa + r[0].size, 1));
    ck_assert_int_lt(mfe_mem_create(&mem, size, MFE_LAYOUT_EVEN, VHU_MAX_REGIONS + 1), 0);
    mfe_mem_destroy(&mem);
}
END_TEST

START_TEST(alloc_aligned)
{
    struct mfe_mem mem;
    ck_assert_int_eq(mfe_mem_create(&mem, 1u << 20, MFE_LAYOUT_QEMU, 0), 0);
    const struct mfe_region *top = &mem.regions[1];
    uint64_t prev = top->gpa + top->size;
    for (unsigned i = 0; i < 5; i++) {
        uint64_t a = mfe_mem_alloc(&mem, 100 + 1000 * i, 4096);
        ck_assert_uint_ne(a, 0);
        ck_assert_uint_eq(a % 4096, 0);
        ck_assert_uint_le(a + 100 + 1000 * i, prev); /* no overlap with the last one */
        ck_assert_ptr_nonnull(mfe_gpa(&mem, a, 100 + 1000 * i));
        prev = a;
    }
    ck_assert_uint_eq(mfe_mem_alloc(&mem, 64, 64) % 64, 0);
    ck_assert_uint_eq(mfe_mem_alloc(&mem, 1u << 20, 4096), 0); /* larger than the region */
    ck_assert_uint_eq(mfe_mem_alloc(&mem, 64, 3), 0);          /* not a power of two */
    mfe_mem_destroy(&mem);
}
END_TEST

/* ---- rings ---- */

/* Linux vring_init: avail after 16*num bytes of descriptors, used at the
 * next 64-byte boundary after avail's 4 + 2*num + 2 bytes. */
static uint64_t linux_used_off(unsigned num)
{
    return (16ull * num + 4 + 2ull * num + 2 + 63) & ~63ull;
}

START_TEST(vq_layout)
{
    static const unsigned sizes[] = { 256, 8, 1024 };
    struct mfe f;
    mfe_init(&f, 1000);
    ck_assert_int_eq(mfe_mem_create(&f.mem, MFE_QEMU_MEM_SIZE, MFE_LAYOUT_QEMU, 0), 0);
    for (unsigned i = 0; i < 3; i++) {
        unsigned num = sizes[i];
        ck_assert_int_eq(mfe_vq_setup(&f, i, num), 0);
        const struct mfe_vq *vq = &f.vq[i];
        ck_assert_uint_eq(vq->desc_gpa % 4096, 0);
        ck_assert_uint_eq(vq->avail_gpa, vq->desc_gpa + 16ull * num);
        ck_assert_uint_eq(vq->used_gpa, vq->desc_gpa + linux_used_off(num));
        ck_assert(vq->kick >= 0 && vq->call >= 0 && vq->err >= 0);
        ck_assert(vq->ready);
        struct vhu_vring_addr a;
        mfe_vq_addr(&f, i, &a);
        ck_assert_uint_eq(a.index, i);
        ck_assert_uint_eq(a.flags, 0);
        ck_assert_uint_eq(a.desc, mfe_uaddr(&f.mem, vq->desc_gpa));
        ck_assert_uint_eq(a.avail, mfe_uaddr(&f.mem, vq->avail_gpa));
        ck_assert_uint_eq(a.used, mfe_uaddr(&f.mem, vq->used_gpa));
        ck_assert_uint_eq(a.log, vq->used_gpa);
    }
    /* trace b1, num=256: avail = desc + 0x1000, used = desc + 0x1240 */
    ck_assert_uint_eq(f.vq[0].avail_gpa - f.vq[0].desc_gpa, 0x1000);
    ck_assert_uint_eq(f.vq[0].used_gpa - f.vq[0].desc_gpa, 0x1240);
    ck_assert_int_lt(mfe_vq_setup(&f, 3, 100), 0); /* not a power of two */
    mfe_close(&f);
}
END_TEST

/* ---- transcript ---- */

static char *dump(const struct mfe *f, unsigned n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    mfe_transcript_dump(f, out, "  ", n);
    fclose(out);
    return buf;
}

START_TEST(transcript_wraps)
{
    struct mfe f;
    mfe_init(&f, 100);
    for (unsigned i = 0; i < MFE_TRANSCRIPT + 36; i++)
        mfe_note(&f, "note %u", i);
    ck_assert_uint_eq(f.ntranscript, MFE_TRANSCRIPT + 36);
    char *last = dump(&f, 2);
    ck_assert_str_eq(last, "  # note 98\n  # note 99\n");
    free(last);
    char *all = dump(&f, 0);
    ck_assert_ptr_eq(strstr(all, "  # note 36\n"), all); /* oldest kept */
    unsigned lines = 0;
    for (char *p = all; (p = strchr(p, '\n')); p++)
        lines++;
    ck_assert_uint_eq(lines, MFE_TRANSCRIPT);
    ck_assert_ptr_null(strstr(all, "# note 35\n"));
    free(all);
}
END_TEST

/* ---- connection ---- */

static long ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

START_TEST(connect_listen_accept)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/mfe-test-%d.sock", (int)getpid());
    struct mfe srv, cli;
    mfe_init(&srv, 150);
    mfe_init(&cli, 150);

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(mfe_connect(&cli, path), VHU_IO_TIMEOUT); /* nobody listens */
    ck_assert_int_ge(ms_since(&t0), 150);
    ck_assert_str_eq(cli.err_rule, "conn.timeout");

    ck_assert_int_eq(mfe_listen(&srv, path), 0);
    ck_assert_int_eq(mfe_listen(&srv, path), 0); /* stale path is replaced */
    ck_assert_int_eq(mfe_accept(&srv), VHU_IO_TIMEOUT);
    ck_assert_int_eq(mfe_connect(&cli, path), 0);
    ck_assert_int_eq(mfe_open(&srv), 0);
    ck_assert_int_ge(srv.sock, 0);

    /* a message crosses, and silence is reported as a timeout */
    ck_assert_int_eq(mfe_expect_silence(&srv, 20), VHU_IO_TIMEOUT);
    ck_assert_int_eq(mfe_set_u64(&cli, VHU_REQ_SET_FEATURES, 0, false), 0);
    ck_assert_int_eq(mfe_expect_silence(&srv, 500), 0);
    ck_assert_ptr_nonnull(strstr(mfe_error(&srv), "SET_FEATURES"));

    mfe_close(&cli);
    struct vhu_msg m;
    ck_assert_int_eq(mfe_recv(&srv, &m), VHU_IO_EOF);
    mfe_close(&srv);
    unlink(path);
}
END_TEST

START_TEST(raw_transcript)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct mfe f;
    mfe_init(&f, 100);
    f.sock = sv[0];
    static const uint8_t bytes[40] = { 1, 2, 3, 0xff };
    ck_assert_int_eq(mfe_send_raw(&f, bytes, sizeof bytes, NULL, 0), 0);
    char want[160] = "0001 F->B RAW len=40 nfds=0 hex=010203ff";
    for (unsigned i = 4; i < 32; i++)
        strcat(want, "00");
    if (f.ntranscript <= MFE_TRANSCRIPT) /* else the ring has overwritten it */
        ck_assert_str_eq(f.transcript[0], want);
    mfe_close(&f);
    close(sv[1]);
}
END_TEST

/* ---- reply checking: a reply queued before the request is sent ---- */

struct bad_reply {
    uint32_t req_delta, flags, size;
    int rc;
    const char *rule;
};

static const struct bad_reply bad_replies[] = {
    { 0, 0x5, 8, 0, NULL },                          /* a good one, for contrast */
    { 0, 0xd, 8, MFE_ERR_REPLY, "reply.flags" },     /* NEED_REPLY in a reply */
    { 0, 0x1, 8, MFE_ERR_REPLY, "reply.flags" },     /* REPLY missing */
    { 0, 0x15, 8, MFE_ERR_REPLY, "reply.flags" },    /* unknown bit */
    { 1, 0x5, 8, MFE_ERR_REPLY, "reply.request" },   /* answers another request */
    { 0, 0x5, 4, MFE_ERR_REPLY, "reply.size" },      /* short u64 */
};

START_TEST(reply_checks)
{
    const struct bad_reply *b = &bad_replies[_i];
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct mfe f;
    mfe_init(&f, 500);
    f.sock = sv[0];
    uint8_t buf[VHU_HDR_SIZE + 8] = { 0 };
    struct vhu_hdr h = { VHU_REQ_GET_FEATURES + b->req_delta, b->flags, b->size };
    memcpy(buf, &h, sizeof h);
    buf[VHU_HDR_SIZE] = 0x42;
    ck_assert_int_eq(vhu_send_raw(sv[1], buf, VHU_HDR_SIZE + b->size, NULL, 0), 0);
    uint64_t v = 0;
    int rc = mfe_get_u64(&f, VHU_REQ_GET_FEATURES, &v);
    ck_assert_int_eq(rc, b->rc);
    if (b->rule)
        ck_assert_str_eq(f.err_rule, b->rule);
    else
        ck_assert_uint_eq(v, 0x42);
    mfe_close(&f);
    close(sv[1]);
}
END_TEST

START_TEST(ack_rules)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct mfe f;
    mfe_init(&f, 300);
    f.sock = sv[0];
    struct vhu_msg m;
    vhu_msg_init(&m, VHU_REQ_SET_OWNER, VHU_VERSION | VHU_FLAG_NEED_REPLY);
    ck_assert(!mfe_expects_reply(&f, &m)); /* NEED_REPLY without REPLY_ACK */
    f.acked_protocol_features = 1ull << VHU_PF_REPLY_ACK;
    ck_assert(mfe_expects_reply(&f, &m));
    m.hdr.flags = VHU_VERSION;
    ck_assert(!mfe_expects_reply(&f, &m));
    vhu_msg_init(&m, VHU_REQ_GET_STATUS, VHU_VERSION);
    ck_assert(mfe_expects_reply(&f, &m)); /* ALWAYS */

    /* a nonzero ack is a failure, named by its step */
    struct vhu_msg ack;
    vhu_msg_u64(&ack, VHU_REQ_SET_FEATURES, 1);
    ack.hdr.flags = VHU_VERSION | VHU_FLAG_REPLY;
    ck_assert_int_eq(vhu_send(sv[1], &ack), 0);
    ck_assert_int_eq(mfe_set_u64(&f, VHU_REQ_SET_FEATURES, 0, true), MFE_ERR_NACK);
    ck_assert_str_eq(mfe_error(&f), "SET_FEATURES: ack 1");
    ck_assert_str_eq(f.err_rule, "reply.nack");
    /* no reply at all: a timeout, named */
    ck_assert_int_eq(mfe_set_u64(&f, VHU_REQ_SET_FEATURES, 0, true), VHU_IO_TIMEOUT);
    ck_assert_ptr_nonnull(strstr(mfe_error(&f), "SET_FEATURES"));
    ck_assert_str_eq(f.err_rule, "io.timeout");
    mfe_close(&f);
    close(sv[1]);
}
END_TEST

/* ---- QEMU sequences against a fake back end scripted from a trace ---- */

struct script {
    struct key fb[MAX_KEYS], bf[MAX_KEYS];
    unsigned nfb, nbf;
};

static bool parse_line(const char *line, struct key *k, bool *from_backend)
{
    char dir[8];
    if (line[0] == '#' || sscanf(line, "%*u t=%*s %7s", dir) != 1 || !strchr(line, '('))
        return false;
    if (strcmp(dir, "F->B") && strcmp(dir, "B->F"))
        return false; /* the back-end request channel is not scripted */
    *from_backend = dir[0] == 'B';
    memset(k, 0, sizeof *k);
    k->req = (uint32_t)strtoul(strchr(line, '(') + 1, NULL, 10);
    k->flags = (uint32_t)strtoul(strstr(line, "flags=") + 6, NULL, 0);
    k->size = (uint32_t)strtoul(strstr(line, " size=") + 6, NULL, 10);
    k->nfds = (uint32_t)strtoul(strstr(line, " nfds=") + 6, NULL, 10);
    const char *u = strstr(line, " u64="), *s = strstr(line, " state={index=");
    if (u)
        k->val = strtoull(u + 5, NULL, 0);
    else if (s)
        k->val = strtoull(s + 14, NULL, 10) | strtoull(strstr(s, ",num=") + 5, NULL, 10) << 32;
    k->has_val = u || s;
    return true;
}

/* How a 7.2 trace becomes what another profile sends (tests of the
 * profile switches): every change a switch makes, applied to the recorded
 * order, so the rest of the trace must stay byte-for-byte the same. */
struct xform {
    const struct mfe_profile *prof;
    bool no_reply_ack;   /* the back end does not offer REPLY_ACK */
    uint64_t offered;    /* the trace's GET_FEATURES reply (seen first) */
};

static const struct key ack_key = { 0, 0x5, 8, 0, true, 0 };

static bool is_ack(const struct key *k)
{
    return (k->flags & VHU_FLAG_REPLY) && k->size == 8 && k->req != VHU_REQ_GET_FEATURES &&
           k->req != VHU_REQ_GET_PROTOCOL_FEATURES && k->req != VHU_REQ_GET_QUEUE_NUM &&
           k->req != VHU_REQ_GET_STATUS && k->req != VHU_REQ_GET_VRING_BASE &&
           k->req != VHU_REQ_GET_MAX_MEM_SLOTS;
}

static void push(struct key *list, unsigned *n, struct key k)
{
    ck_assert_uint_lt(*n, MAX_KEYS);
    list[(*n)++] = k;
}

static void add_front(struct script *sc, struct xform *x, struct key k)
{
    bool ack = !x->no_reply_ack;
    if (x->no_reply_ack) {
        k.flags &= ~VHU_FLAG_NEED_REPLY;
        if (k.req == VHU_REQ_SET_PROTOCOL_FEATURES)
            k.val &= ~(1ull << VHU_PF_REPLY_ACK);
    }
    bool enable = k.req == VHU_REQ_SET_VRING_ENABLE && x->prof->vring_enable_need_reply;
    bool fd = (k.req == VHU_REQ_SET_VRING_KICK || k.req == VHU_REQ_SET_VRING_CALL ||
               k.req == VHU_REQ_SET_VRING_ERR) && x->prof->vring_fd_need_reply;
    if ((enable || fd) && ack)
        k.flags |= VHU_FLAG_NEED_REPLY;
    push(sc->fb, &sc->nfb, k);
    struct key r = ack_key;
    r.req = k.req;
    if ((enable || fd) && ack) {
        push(sc->bf, &sc->nbf, r);
    } else if (enable) {   /* vhost_user_write_sync waits through GET_FEATURES */
        push(sc->fb, &sc->nfb, (struct key){ VHU_REQ_GET_FEATURES, 0x1, 0, 0, false, 0 });
        push(sc->bf, &sc->nbf,
             (struct key){ VHU_REQ_GET_FEATURES, 0x5, 8, 0, true, x->offered });
    }
}

static void add_back(struct script *sc, struct xform *x, struct key k)
{
    if (k.req == VHU_REQ_GET_FEATURES && !x->offered)
        x->offered = k.val;
    if (x->no_reply_ack && is_ack(&k))
        return;
    if (x->no_reply_ack && k.req == VHU_REQ_GET_PROTOCOL_FEATURES)
        k.val &= ~(1ull << VHU_PF_REPLY_ACK);
    push(sc->bf, &sc->nbf, k);
}

/* SET_STATUS(0) after the GET_VRING_BASEs that follow it (8.1+). */
static void move_status_reset(struct script *sc)
{
    for (unsigned i = 0; i < sc->nfb; i++) {
        struct key k = sc->fb[i];
        if (k.req != VHU_REQ_SET_STATUS || k.val != 0)
            continue;
        unsigned j = i;
        while (j + 1 < sc->nfb && sc->fb[j + 1].req == VHU_REQ_GET_VRING_BASE) {
            sc->fb[j] = sc->fb[j + 1];
            j++;
        }
        sc->fb[j] = k;
        i = j;
    }
}

static void load_script_as(const char *name, struct script *sc, struct xform *x)
{
    const char *dir = getenv("VHC_FIXTURES");
    char path[512], line[2048];
    snprintf(path, sizeof path, "%s/qemu-7.2/%s.log", dir ? dir : "fixtures", name);
    FILE *in = fopen(path, "r");
    ck_assert_msg(in != NULL, "cannot open %s", path);
    memset(sc, 0, sizeof *sc);
    while (fgets(line, sizeof line, in)) {
        struct key k;
        bool back;
        if (!parse_line(line, &k, &back))
            continue;
        if (back)
            add_back(sc, x, k);
        else
            add_front(sc, x, k);
    }
    fclose(in);
    if (x->prof->status_after_get_vring_base)
        move_status_reset(sc);
    ck_assert_uint_gt(sc->nfb, 0);
}

struct fake {
    int sock;
    const struct script *sc;
    struct key got[MAX_KEYS];
    unsigned ngot, nreplied;
    char err[200];
};

static bool owes_reply(const struct vhu_msg *m)
{
    const struct vhu_req_desc *d = vhu_req_desc(VHU_CH_FRONT, m->hdr.request);
    return (d && d->reply_rule == VHU_R_ALWAYS) || (m->hdr.flags & VHU_FLAG_NEED_REPLY);
}

/* Answers each request that owes a reply with the trace's next reply. */
static void fake_answer(struct fake *fk, const struct vhu_msg *m)
{
    const struct key *r = &fk->sc->bf[fk->nreplied];
    if (fk->nreplied >= fk->sc->nbf || r->req != m->hdr.request) {
        snprintf(fk->err, sizeof fk->err, "message %u: reply to %u not in the trace here",
                 fk->ngot, m->hdr.request);
        return;
    }
    fk->nreplied++;
    struct vhu_msg a;
    vhu_msg_u64(&a, r->req, r->val);
    a.hdr.flags = r->flags;
    vhu_send(fk->sock, &a);
}

static void *fake_backend(void *arg)
{
    struct fake *fk = arg;
    struct vhu_msg m;
    while (vhu_recv(fk->sock, &m, 3000, NULL) == VHU_IO_OK && !fk->err[0]) {
        if (fk->ngot < MAX_KEYS)
            fk->got[fk->ngot++] = (struct key){
                m.hdr.request, m.hdr.flags, m.hdr.size, m.nfds, m.hdr.size == 8, m.u.u64,
            };
        vhu_msg_close_fds(&m);
        if (owes_reply(&m))
            fake_answer(fk, &m);
    }
    return NULL;
}

static void assert_same(const struct key *want, const struct key *got, unsigned i)
{
    ck_assert_msg(want->req == got->req && want->flags == got->flags &&
                  want->size == got->size && want->nfds == got->nfds,
                  "message %u: want req %u flags 0x%x size %u nfds %u, "
                  "got req %u flags 0x%x size %u nfds %u", i + 1, want->req, want->flags,
                  want->size, want->nfds, got->req, got->flags, got->size, got->nfds);
    if (want->has_val)
        ck_assert_msg(got->has_val && got->val == want->val,
                      "message %u (req %u): want value 0x%llx, got 0x%llx", i + 1, want->req,
                      (unsigned long long)want->val, (unsigned long long)got->val);
}

/* A back end without PROTOCOL_FEATURES: what the trace becomes when QEMU
 * skips every protocol-feature step (no GET/SET_PROTOCOL_FEATURES, queue
 * number, back-end channel, SET_VRING_ENABLE, status; no NEED_REPLY). */
static bool needs_protocol_features(uint32_t req)
{
    static const uint32_t gated[] = {
        VHU_REQ_GET_PROTOCOL_FEATURES, VHU_REQ_SET_PROTOCOL_FEATURES, VHU_REQ_GET_QUEUE_NUM,
        VHU_REQ_SET_BACKEND_REQ_FD, VHU_REQ_SET_VRING_ENABLE, VHU_REQ_GET_STATUS,
        VHU_REQ_SET_STATUS,
    };
    for (unsigned i = 0; i < sizeof gated / sizeof gated[0]; i++)
        if (req == gated[i])
            return true;
    return false;
}

static unsigned strip_keys(struct key *k, unsigned n)
{
    unsigned out = 0;
    for (unsigned i = 0; i < n; i++) {
        if (needs_protocol_features(k[i].req))
            continue;
        if (k[i].flags & VHU_FLAG_REPLY && !(k[i].req == VHU_REQ_GET_FEATURES ||
                                              k[i].req == VHU_REQ_GET_VRING_BASE))
            continue; /* an ack: nobody asks for one now */
        k[out] = k[i];
        k[out].flags &= ~VHU_FLAG_NEED_REPLY;
        if (k[out].req == VHU_REQ_GET_FEATURES || k[out].req == VHU_REQ_SET_FEATURES)
            k[out].val &= ~(1ull << VHU_F_PROTOCOL_FEATURES);
        out++;
    }
    return out;
}

static void strip_protocol_features(struct script *sc)
{
    sc->nfb = strip_keys(sc->fb, sc->nfb);
    sc->nbf = strip_keys(sc->bf, sc->nbf);
}

struct seq_case {
    const char *trace;
    unsigned pairs;
    bool boot;       /* start and stop too */
    bool no_pf;      /* back end without PROTOCOL_FEATURES */
    const char *profile;   /* NULL = qemu-7.2, the trace as recorded */
    bool no_reply_ack;     /* back end without REPLY_ACK */
};

static const struct seq_case seq_cases[] = {
    { "a1_init_client", 1, false, false, NULL, false },
    { "a4_init_mq", 2, false, false, NULL, false },
    { "b1_boot", 1, true, false, NULL, false },
    { "b2_boot_mq", 2, true, false, NULL, false },
    { "b1_boot", 1, true, true, NULL, false },
    { "b1_boot", 1, true, false, "qemu-8.2", false },
    { "b2_boot_mq", 2, true, false, "qemu-8.2", false },
    { "b1_boot", 1, true, false, "qemu-8.2", true },
    { "a4_init_mq", 2, false, false, "qemu-10.2", false },
    { "b1_boot", 1, true, false, "qemu-10.2", false },
    { "b2_boot_mq", 2, true, false, "qemu-10.2", false },
    { "b1_boot", 1, true, false, "qemu-10.2", true },
};

/* "0001 t=0.688 F->B GET_FEATURES(1) ..." without its time field */
static void first_line_untimed(const char *trace, char *out, size_t cap)
{
    const char *dir = getenv("VHC_FIXTURES");
    char path[512], line[2048];
    snprintf(path, sizeof path, "%s/qemu-7.2/%s.log", dir ? dir : "fixtures", trace);
    FILE *in = fopen(path, "r");
    ck_assert_ptr_nonnull(in);
    while (fgets(line, sizeof line, in) && line[0] == '#')
        ;
    fclose(in);
    line[strcspn(line, "\n")] = 0;
    char *t = strstr(line, " t="), *rest = strchr(t + 1, ' ');
    snprintf(out, cap, "%.*s%s", (int)(t - line), line, rest);
}

static bool is_fd_req(uint32_t req)
{
    return req == VHU_REQ_SET_VRING_KICK || req == VHU_REQ_SET_VRING_CALL ||
           req == VHU_REQ_SET_VRING_ERR;
}

/* The switches, checked on what was sent, without the trace: NEED_REPLY
 * where the profile says, the GET_FEATURES fallback, SET_STATUS(0)'s place. */
static void check_profile_marks(const struct xform *x, const struct fake *fk, bool boot)
{
    unsigned enables = 0, fds = 0, last_gvb = 0, last_reset = 0;
    bool want_ack = !x->no_reply_ack;
    for (unsigned i = 0; i < fk->ngot; i++) {
        const struct key *k = &fk->got[i];
        bool nr = k->flags & VHU_FLAG_NEED_REPLY;
        if (k->req == VHU_REQ_SET_VRING_ENABLE) {
            enables++;
            ck_assert_int_eq(nr, x->prof->vring_enable_need_reply && want_ack);
            bool probe = i + 1 < fk->ngot && fk->got[i + 1].req == VHU_REQ_GET_FEATURES;
            ck_assert_int_eq(probe, x->prof->vring_enable_need_reply && !want_ack);
        }
        if (is_fd_req(k->req)) {
            fds++;
            ck_assert_int_eq(nr, x->prof->vring_fd_need_reply && want_ack);
        }
        if (k->req == VHU_REQ_GET_VRING_BASE)
            last_gvb = i;
        if (k->req == VHU_REQ_SET_STATUS && k->val == 0)
            last_reset = i;
    }
    ck_assert_uint_gt(enables, 0);
    ck_assert_uint_gt(fds, 0);
    if (boot) {
        ck_assert_uint_gt(last_reset, 0);
        ck_assert_int_eq(last_reset > last_gvb, x->prof->status_after_get_vring_base);
    }
}

START_TEST(qemu_sequences)
{
    const struct seq_case *c = &seq_cases[_i];
    static struct script sc;
    static struct fake fk;
    struct xform x = { .prof = mfe_profile_find(c->profile ? c->profile : "qemu-7.2"),
                       .no_reply_ack = c->no_reply_ack };
    ck_assert_ptr_nonnull(x.prof);
    load_script_as(c->trace, &sc, &x);
    if (c->no_pf)
        strip_protocol_features(&sc);
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    memset(&fk, 0, sizeof fk);
    fk.sock = sv[1];
    fk.sc = &sc;
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, fake_backend, &fk), 0);

    struct mfe f;
    mfe_init(&f, 2000);
    f.sock = sv[0];
    f.profile = x.prof;
    int rc = mfe_qemu_init(&f, c->pairs);
    uint16_t bases[MFE_MAX_VQ] = { 0 };
    if (rc == 0 && c->boot)
        rc = mfe_qemu_start(&f, NULL);
    if (rc == 0 && c->boot)
        rc = mfe_qemu_stop(&f, bases);
    if (rc < 0)
        mfe_transcript_dump(&f, stderr, "  ", 10);
    ck_assert_msg(rc == 0, "%s: %s", c->trace, mfe_error(&f));
    ck_assert_int_eq(f.backend_req >= 0, !c->no_pf);
    char want[MFE_LINE];
    first_line_untimed(c->trace, want, sizeof want);
    if (f.ntranscript <= MFE_TRANSCRIPT) /* else the ring has overwritten it */
        ck_assert_str_eq(f.transcript[0], want);
    mfe_close(&f);
    pthread_join(t, NULL);
    close(sv[1]);

    ck_assert_msg(!fk.err[0], "%s", fk.err);
    for (unsigned i = 0; i < sc.nfb && i < fk.ngot; i++)
        assert_same(&sc.fb[i], &fk.got[i], i);
    ck_assert_uint_eq(fk.ngot, sc.nfb);
    ck_assert_uint_eq(fk.nreplied, sc.nbf);
    if (!c->no_pf)
        check_profile_marks(&x, &fk, c->boot);
    /* the bases GET_VRING_BASE returned in the trace came back to the caller */
    for (unsigned i = 0, r = 0; c->boot && i < sc.nbf; i++)
        if (sc.bf[i].req == VHU_REQ_GET_VRING_BASE)
            ck_assert_uint_eq(bases[r++], sc.bf[i].val >> 32);
}
END_TEST

/* ---- profiles ---- */

START_TEST(bundled_profiles)
{
    ck_assert_uint_eq(mfe_profile_count(), mfe_profile_nsources);  /* all parse */
    ck_assert_uint_ge(mfe_profile_count(), 3);
    for (unsigned i = 1; i < mfe_profile_count(); i++)   /* sorted by version */
        ck_assert_int_lt(strverscmp(mfe_profile_at(i - 1)->name, mfe_profile_at(i)->name), 0);
    /* the file name is the profile's name */
    for (unsigned i = 0; i < mfe_profile_nsources; i++)
        ck_assert_ptr_nonnull(mfe_profile_find(mfe_profile_sources[i].name));
    const struct mfe_profile *p = mfe_profile_find("qemu-7.2");
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_eq(mfe_profile_current(), p);
    ck_assert_uint_eq(p->protocol_features, MFE_QEMU72_PROTOCOL_FEATURES);
    ck_assert_uint_eq(p->guest_features, MFE_QEMU72_NET_GUEST_FEATURES);
    ck_assert_uint_eq((uint64_t)p->mem_mb << 20, MFE_QEMU_MEM_SIZE);
    const struct mfe_profile *q = mfe_profile_find("qemu-10.2");
    ck_assert_ptr_nonnull(q);
    ck_assert(q->vring_fd_need_reply && q->vring_enable_need_reply &&
              q->status_after_get_vring_base);
    mfe_profile_select(q);
    ck_assert_ptr_eq(mfe_profile_current(), q);
    mfe_profile_select(NULL);
    ck_assert_ptr_eq(mfe_profile_current(), p);
    ck_assert_ptr_null(mfe_profile_find("qemu-1.0"));
}
END_TEST

struct bad_profile {
    const char *edit;   /* a line appended to a valid profile, or a key to drop */
    bool drop;
    const char *msg;    /* expected in the error */
};

static const struct bad_profile bad_profiles[] = {
    { "colour = blue", false, ":14: unknown key" },
    { "mem_slots = maybe", false, ":14: want yes or no" },
    { "mem_slots = yes", false, ":14: key given twice" },
    { "just words", false, ":14: want 'key = value'" },
    { "guest_features", true, "missing key 'guest_features'" },
    { "mem_mb", true, "missing key 'mem_mb'" },
};

static const char good_profile[] =
    "# a comment line\n"
    "name = test-1   # trailing comment\n"
    "description = a test profile\n"
    "protocol_features = 0x1fdff\n"
    "guest_features = 0x17020e783\n"
    "mem_slots = yes\n"
    "mem_mb = 64\n"
    "init_sets_call_err = no\n"
    "enable_rounds_before_start = 2\n"
    "enable_rounds_before_rebind = 1\n"
    "vring_enable_need_reply = yes\n"
    "vring_fd_need_reply = no\n"
    "status_after_get_vring_base = yes\n";

START_TEST(parse_good)
{
    struct mfe_profile p;
    char err[200] = "";
    ck_assert_msg(mfe_profile_parse(good_profile, "t", &p, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(p.name, "test-1");
    ck_assert_str_eq(p.description, "a test profile");
    ck_assert_uint_eq(p.protocol_features, 0x1fdff);
    ck_assert_uint_eq(p.mem_mb, 64);
    ck_assert_uint_eq(p.enable_rounds, 2);
    ck_assert(p.mem_slots && !p.init_sets_call_err && p.vring_enable_need_reply);
    ck_assert(!p.vring_fd_need_reply && p.status_after_get_vring_base);
}
END_TEST

START_TEST(parse_bad)
{
    const struct bad_profile *b = &bad_profiles[_i];
    char text[1024] = "", err[200] = "";
    struct mfe_profile p;
    if (b->drop) {
        for (const char *at = good_profile; *at;) {
            size_t n = strcspn(at, "\n") + 1;
            if (strncmp(at, b->edit, strlen(b->edit)) != 0)
                strncat(text, at, n);
            at += n;
        }
    } else {
        snprintf(text, sizeof text, "%s%s\n", good_profile, b->edit);
    }
    ck_assert_int_eq(mfe_profile_parse(text, "t", &p, err, sizeof err), -1);
    ck_assert_msg(strstr(err, b->msg) != NULL, "error '%s' lacks '%s'", err, b->msg);
}
END_TEST

START_TEST(load_file)
{
    char path[64], err[200] = "";
    snprintf(path, sizeof path, "/tmp/mfe-prof-%d.profile", (int)getpid());
    FILE *out = fopen(path, "w");
    ck_assert_ptr_nonnull(out);
    fputs(good_profile, out);
    fclose(out);
    struct mfe_profile p;
    ck_assert_msg(mfe_profile_load_file(path, &p, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(p.name, "test-1");
    unlink(path);
    ck_assert_int_eq(mfe_profile_load_file(path, &p, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "No such file"));
}
END_TEST

static Suite *mfe_suite(void)
{
    Suite *s = suite_create("mfe");
    TCase *mem = tcase_create("memory");
    tcase_add_test(mem, qemu_layout);
    tcase_add_test(mem, even_layout);
    tcase_add_test(mem, alloc_aligned);
    tcase_add_test(mem, vq_layout);
    suite_add_tcase(s, mem);
    TCase *conn = tcase_create("connection");
    tcase_add_test(conn, transcript_wraps);
    tcase_add_test(conn, connect_listen_accept);
    tcase_add_test(conn, raw_transcript);
    tcase_add_loop_test(conn, reply_checks, 0, sizeof bad_replies / sizeof bad_replies[0]);
    tcase_add_test(conn, ack_rules);
    suite_add_tcase(s, conn);
    TCase *qemu = tcase_create("qemu72");
    tcase_set_timeout(qemu, 20);
    tcase_add_loop_test(qemu, qemu_sequences, 0, sizeof seq_cases / sizeof seq_cases[0]);
    suite_add_tcase(s, qemu);
    TCase *prof = tcase_create("profiles");
    tcase_add_test(prof, bundled_profiles);
    tcase_add_test(prof, parse_good);
    tcase_add_loop_test(prof, parse_bad, 0, sizeof bad_profiles / sizeof bad_profiles[0]);
    tcase_add_test(prof, load_file);
    suite_add_tcase(s, prof);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(mfe_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Unit tests of mock-frontend/: guest memory layouts, split ring layout,
 * the transcript, connection helpers, reply checking and the QEMU
 * profiles; the QEMU sequences against a fake back end are in
 * test_mfe_qemu.c (test_mfe.h). */
#include "mfe.h"
#include "test_mfe.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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

/* A line longer than MFE_LINE keeps what fits and says how much is cut;
 * one that fits exactly has no mark. */
START_TEST(transcript_marks_cut_lines)
{
    struct mfe f;
    mfe_init(&f, 100);
    char big[1000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    mfe_note(&f, "%s", big);                         /* "# " + 999 bytes */
    const char *l = f.transcript[0];
    ck_assert_uint_eq(strlen(l), MFE_LINE - 1);
    const char *mark = strstr(l, " ...[");
    ck_assert_ptr_nonnull(mark);
    size_t kept = (size_t)(mark - l), cut = 0;
    ck_assert_int_eq(sscanf(mark, " ...[%zu bytes cut]", &cut), 1);
    ck_assert_uint_eq(kept + cut, 2 + sizeof big - 1);   /* nothing lost unsaid */
    ck_assert_str_eq(l + strlen(l) - 11, " bytes cut]");
    big[MFE_LINE - 1 - 2] = '\0';                    /* exactly fits */
    mfe_note(&f, "%s", big);
    ck_assert_uint_eq(strlen(f.transcript[1]), MFE_LINE - 1);
    ck_assert_ptr_null(strstr(f.transcript[1], "cut]"));
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
    { "colour = blue", false, ":16: unknown key" },
    { "mem_slots = maybe", false, ":16: want yes or no" },
    { "mem_slots = yes", false, ":16: key given twice" },
    { "just words", false, ":16: want 'key = value'" },
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
    "reset_enable_round = no\n"
    "enable_rounds_before_start = 2\n"
    "enable_rounds_before_rebind = 1\n"
    "system_reset_extra_rounds = 3\n"
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
    ck_assert(!p.reset_enable_round);
    ck_assert_uint_eq(p.system_reset_extra_rounds, 3);
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
    tcase_add_test(conn, transcript_marks_cut_lines);
    tcase_add_test(conn, connect_listen_accept);
    tcase_add_test(conn, raw_transcript);
    tcase_add_loop_test(conn, reply_checks, 0, sizeof bad_replies / sizeof bad_replies[0]);
    tcase_add_test(conn, ack_rules);
    suite_add_tcase(s, conn);
    suite_add_tcase(s, mfe_qemu_tcase());
    suite_add_tcase(s, mfe_backend_tcase());
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

/* Traces: the reader (mfe_trace_load), the replay (mfe_replay_run) against
 * vhost-refnet with a trace written here by hand, and the recorder
 * (vhost-conform record) between the mock front end and vhost-refnet,
 * whose trace must equal the front end's transcript and replay cleanly. */
#include <check.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mfe.h"
#include "mfe_trace.h"
#include "replay_cmd.h"

#define WAIT_MS 3000

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/vhc-trace.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* ---- a trace written by hand ---- */

struct writer {
    FILE *log, *raw;
    unsigned seq;
};

/* One message: a .log line with the fd kinds, a .raw line with the bytes. */
static void put(struct writer *w, const char *dirn, const struct vhu_msg *m, const char *kinds)
{
    uint8_t b[VHU_HDR_SIZE + VHU_MAX_PAYLOAD];
    size_t n = vhu_encode(m, b, sizeof b);
    unsigned nfds = 0;
    for (const char *k = kinds; k && *k; k++)
        nfds += *k == ',';
    nfds += kinds && *kinds;
    unsigned seq = ++w->seq;
    fprintf(w->log, "%04u t=0.%03u %s %s(%u) size=%u nfds=%u", seq, seq, dirn,
            vhu_req_name(VHU_CH_FRONT, m->hdr.request), m->hdr.request, m->hdr.size, nfds);
    if (nfds)
        fprintf(w->log, " fds=[%s]", kinds);
    fprintf(w->log, " (by hand)\n");
    fprintf(w->raw, "%04u %s nfds=%u ", seq, dirn, nfds);
    for (size_t i = 0; i < n; i++)
        fprintf(w->raw, "%02x", b[i]);
    fputc('\n', w->raw);
}

static void put_u64(struct writer *w, const char *d, uint32_t req, uint32_t flags, uint64_t v,
                    const char *kinds)
{
    struct vhu_msg m;
    vhu_msg_u64(&m, req, v);
    m.hdr.flags = flags;
    put(w, d, &m, kinds);
}

static void put_plain(struct writer *w, const char *d, uint32_t req, uint32_t flags)
{
    struct vhu_msg m;
    vhu_msg_init(&m, req, flags);
    put(w, d, &m, NULL);
}

static void put_state(struct writer *w, const char *d, uint32_t req, uint32_t flags,
                      uint32_t index, uint32_t num)
{
    struct vhu_msg m;
    vhu_msg_state(&m, req, index, num);
    m.hdr.flags = flags;
    put(w, d, &m, NULL);
}

#define F2B "F->B"
#define B2F "B->F"
#define V1 VHU_VERSION
#define REPLY (VHU_VERSION | VHU_FLAG_REPLY)
#define GPA 0x100000ull            /* one region, not QEMU's layout */
#define UADDR 0x7f0000200000ull    /* the recording front end's address of GPA */
#define KIND "memfd:handmade(size=0x400000)"

/* Init, a memory table of one region at an odd place, ring 0 set up at
 * base 5 and stopped: GET_VRING_BASE must say 5.  Then a second session. */
static void write_session(struct writer *w, bool extra_reply)
{
    put_plain(w, F2B, VHU_REQ_GET_FEATURES, V1);
    put_u64(w, B2F, VHU_REQ_GET_FEATURES, REPLY, 0x170000000ull, NULL);
    put_plain(w, F2B, VHU_REQ_GET_PROTOCOL_FEATURES, V1);
    put_u64(w, B2F, VHU_REQ_GET_PROTOCOL_FEATURES, REPLY, 1u << VHU_PF_REPLY_ACK, NULL);
    put_u64(w, F2B, VHU_REQ_SET_PROTOCOL_FEATURES, V1, 1u << VHU_PF_REPLY_ACK, NULL);
    put_plain(w, F2B, VHU_REQ_SET_OWNER, V1);
    put_u64(w, F2B, VHU_REQ_SET_VRING_CALL, V1, 0, "eventfd");
    put_u64(w, F2B, VHU_REQ_SET_FEATURES, V1, 0x140000000ull, NULL);
    struct vhu_region r = { .gpa = GPA, .size = 0x200000, .uaddr = UADDR, .mmap_offset = 0x200000 };
    int fd = 0;
    struct vhu_msg m;
    vhu_msg_mem(&m, &r, &fd, 1);
    m.hdr.flags = V1 | VHU_FLAG_NEED_REPLY;
    put(w, F2B, &m, KIND);
    put_u64(w, B2F, VHU_REQ_SET_MEM_TABLE, REPLY, 0, NULL);
    put_state(w, F2B, VHU_REQ_SET_VRING_NUM, V1, 0, 64);
    if (extra_reply)   /* a reply no back end sends: the replay must fail */
        put_u64(w, B2F, VHU_REQ_SET_VRING_NUM, REPLY, 0, NULL);
    put_state(w, F2B, VHU_REQ_SET_VRING_BASE, V1, 0, 5);
    struct vhu_vring_addr a = { .index = 0, .desc = UADDR + 0x10000,
                                .avail = UADDR + 0x10400, .used = UADDR + 0x11000,
                                .log = GPA + 0x11000 };
    vhu_msg_addr(&m, &a);
    put(w, F2B, &m, NULL);
    put_u64(w, F2B, VHU_REQ_SET_VRING_KICK, V1, 0, "eventfd");
    put_state(w, F2B, VHU_REQ_GET_VRING_BASE, V1, 0, 0);
    put_state(w, B2F, VHU_REQ_GET_VRING_BASE, REPLY, 0, 5);
}

static void write_trace(const char *stem, bool extra_reply)
{
    char path[160];
    struct writer w = { 0 };
    snprintf(path, sizeof path, "%s.log", stem);
    w.log = fopen(path, "w");
    snprintf(path, sizeof path, "%s.raw", stem);
    w.raw = fopen(path, "w");
    ck_assert(w.log && w.raw);
    fprintf(w.log, "# vhost-user trace: by hand\n# proxy: hand --device net\n");
    fprintf(w.log, "# t=0.000 session 1: front end connected (by hand)\n");
    write_session(&w, extra_reply);
    fprintf(w.log, "# t=1.000 front side closed (EOF)\n");
    fprintf(w.log, "# t=2.000 session 2: front end connected (by hand)\n");
    put_plain(&w, F2B, VHU_REQ_GET_FEATURES, V1);
    put_u64(&w, B2F, VHU_REQ_GET_FEATURES, REPLY, 0x170000000ull, NULL);
    fclose(w.log);
    fclose(w.raw);
}

START_TEST(test_load_hand_trace)
{
    make_dir();
    char stem[128];
    snprintf(stem, sizeof stem, "%s/hand", dir);
    write_trace(stem, false);
    struct mfe_trace t;
    char err[256];
    ck_assert_msg(mfe_trace_load(&t, stem, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(t.name, "hand");
    ck_assert_uint_eq(t.n, 18);
    ck_assert_int_eq(t.msgs[0].dir, MFE_TR_F2B);
    ck_assert_int_eq(t.msgs[1].dir, MFE_TR_B2F);
    ck_assert_uint_eq(t.msgs[8].nfds, 1);
    ck_assert_str_eq(t.msgs[8].kind[0], KIND);
    ck_assert_str_eq(t.msgs[6].kind[0], "eventfd");
    ck_assert_uint_eq(t.msgs[15].session, 1);
    ck_assert_uint_eq(t.msgs[16].session, 2);
    mfe_trace_free(&t);
    remove_dir();
}
END_TEST

START_TEST(test_parse_lines)
{
    struct mfe_trace t = { 0 };
    char err[128];
    ck_assert_int_eq(mfe_trace_log_line(&t, "# proxy: x -d blk", err, sizeof err), 0);
    ck_assert_int_eq(t.dev, VHU_DEV_BLK);
    ck_assert_int_eq(mfe_trace_log_line(&t, "0003 t=1.0 BREQ B->F X(1) nfds=2 "
                                            "fds=[memfd:a(b,c)(size=0x1),socket] u", err,
                                        sizeof err), 0);
    ck_assert_int_eq(t.msgs[0].dir, MFE_TR_BREQ_B2F);
    ck_assert_str_eq(t.msgs[0].kind[0], "memfd:a(b,c)(size=0x1)");
    ck_assert_str_eq(t.msgs[0].kind[1], "socket");
    ck_assert_int_eq(mfe_trace_raw_line(&t, "0003 BREQ B->F nfds=2 0100", err, sizeof err),
                     -1);   /* shorter than a header */
    ck_assert_int_eq(mfe_trace_log_line(&t, "0004 t=1 X->Y", err, sizeof err), -1);
    mfe_trace_free(&t);
}
END_TEST

/* ---- processes ---- */

static void sibling(char *out, size_t len, const char *rel)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    ck_assert(n > 0);
    exe[n] = '\0';
    snprintf(out, len, "%s/%s", dirname(exe), rel);
}

static pid_t start_refnet(const char *sock)
{
    char bin[PATH_MAX + 64];
    sibling(bin, sizeof bin, "../../reference-backend/vhost-refnet");
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        execl(bin, bin, "--socket", sock, "--queues", "2", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void stop(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static int open_connect(void *arg, struct mfe *f)
{
    int wait = f->timeout_ms;
    f->timeout_ms = 10000;
    int rc = mfe_connect(f, arg);
    f->timeout_ms = wait;
    return rc;
}

static int replay(const char *stem, struct mfe_replay_stats *st)
{
    char sock[128], err[256];
    snprintf(sock, sizeof sock, "%s/refnet.sock", dir);
    struct mfe_trace t;
    ck_assert_msg(mfe_trace_load(&t, stem, err, sizeof err) == 0, "%s", err);
    pid_t be = start_refnet(sock);
    struct mfe f;
    mfe_init(&f, WAIT_MS);
    struct mfe_replay_opts o = { .open = open_connect, .arg = sock };
    int rc = mfe_replay_run(&f, &t, &o, st);
    mfe_close(&f);
    stop(be);
    mfe_trace_free(&t);
    return rc;
}

START_TEST(test_replay_hand_trace)
{
    make_dir();
    char stem[128];
    snprintf(stem, sizeof stem, "%s/hand", dir);
    write_trace(stem, false);
    struct mfe_replay_stats st;
    int rc = replay(stem, &st);
    ck_assert_msg(rc == 0, "replay failed: %s", st.first_failure);
    ck_assert_uint_eq(st.failed, 0);
    ck_assert_uint_eq(st.replies, 5);
    remove_dir();
}
END_TEST

START_TEST(test_replay_missing_reply_fails)
{
    make_dir();
    char stem[128];
    snprintf(stem, sizeof stem, "%s/extra", dir);
    write_trace(stem, true);
    struct mfe_replay_stats st;
    ck_assert_int_eq(replay(stem, &st), 1);
    ck_assert_uint_ge(st.failed, 1);
    ck_assert_msg(strstr(st.first_failure, "SET_VRING_NUM"), "%s", st.first_failure);
    remove_dir();
}
END_TEST

/* ---- record: the proxy's trace equals the front end's transcript ---- */

static pid_t start_proxy(const char *listen, const char *connect, const char *stem)
{
    char log[160], raw[160];
    snprintf(log, sizeof log, "%s.log", stem);
    snprintf(raw, sizeof raw, "%s.raw", stem);
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        char *argv[] = { "record", "--listen", (char *)listen, "--connect", (char *)connect,
                         "--log", log, "--raw", raw, "--sessions", "1", "--wait", "20", NULL };
        _exit(vhc_cmd_record(13, argv));
    }
    return pid;
}

/* "0007 t=0.123 B->F X ... (proxy: ...)" -> "0007 B->F X ..." */
static void strip_line(char *line)
{
    char *t = strstr(line, " t=");
    if (t && t - line == 4)
        memmove(t, t + strcspn(t + 1, " ") + 1, strlen(t + strcspn(t + 1, " ") + 1) + 1);
    char *s = strstr(line, " (proxy: ");
    if (s)
        *s = '\0';
}

/* Every message line of the transcript has its twin in the log. */
static void compare_with_log(const struct mfe *f, const char *stem)
{
    char path[160], line[8192];
    snprintf(path, sizeof path, "%s.log", stem);
    unsigned kept = f->ntranscript < MFE_TRANSCRIPT ? f->ntranscript : MFE_TRANSCRIPT;
    unsigned compared = 0;
    for (unsigned i = f->ntranscript - kept; i < f->ntranscript; i++) {
        const char *tl = f->transcript[i % MFE_TRANSCRIPT];
        if (!(tl[0] >= '0' && tl[0] <= '9' && tl[4] == ' '))
            continue;   /* a note, not a message */
        FILE *in = fopen(path, "r");
        ck_assert_ptr_nonnull(in);
        bool found = false;
        while (!found && fgets(line, sizeof line, in)) {
            line[strcspn(line, "\n")] = '\0';
            strip_line(line);
            found = strncmp(line, tl, 4) == 0;
            /* a line that did not fit ends in " ...[N bytes cut]": what is
             * before the mark is the log's start, N the rest of its length */
            const char *mark = found ? strstr(tl, " ...[") : NULL;
            size_t keep = mark ? (size_t)(mark - tl) : strlen(tl), cut = 0;
            if (found)
                ck_assert_msg(strncmp(line, tl, keep) == 0 && (mark || !line[keep]),
                              "log:  %s\nfront: %s", line, tl);
            if (found && mark) {
                ck_assert_int_eq(sscanf(mark, " ...[%zu bytes cut]", &cut), 1);
                ck_assert_uint_eq(keep + cut, strlen(line));
            }
        }
        fclose(in);
        ck_assert_msg(found, "not in the log: %s", tl);
        compared++;
    }
    ck_assert_uint_ge(compared, 40);
}

START_TEST(test_record_then_replay)
{
    make_dir();
    signal(SIGPIPE, SIG_IGN);
    char a[128], b[128], stem[128];
    snprintf(a, sizeof a, "%s/a.sock", dir);
    snprintf(b, sizeof b, "%s/b.sock", dir);
    snprintf(stem, sizeof stem, "%s/rec", dir);
    pid_t be = start_refnet(b);
    pid_t px = start_proxy(a, b, stem);
    struct mfe f;
    mfe_init(&f, 10000);
    ck_assert_msg(mfe_connect(&f, a) == 0, "%s", mfe_error(&f));
    f.timeout_ms = WAIT_MS;
    ck_assert_msg(mfe_qemu_init(&f, 1) == 0, "%s", mfe_error(&f));
    struct mfe_start_opts so = { 0 };
    ck_assert_msg(mfe_qemu_start(&f, &so) == 0, "%s", mfe_error(&f));
    ck_assert_msg(mfe_qemu_stop(&f, NULL) == 0, "%s", mfe_error(&f));
    mfe_disconnect(&f);
    int status;
    ck_assert_int_eq(waitpid(px, &status, 0), px);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "proxy status %d", status);
    stop(be);
    compare_with_log(&f, stem);
    mfe_close(&f);
    struct mfe_replay_stats st;
    int rc = replay(stem, &st);
    ck_assert_msg(rc == 0, "replay of the recorded trace: %s", st.first_failure);
    ck_assert_uint_ge(st.replies, 8);
    ck_assert_uint_eq(st.masked + st.skipped, 0);   /* same back end: nothing to adapt */
    remove_dir();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("trace");
    TCase *tc = tcase_create("trace");
    tcase_set_timeout(tc, 50);
    tcase_add_test(tc, test_parse_lines);
    tcase_add_test(tc, test_load_hand_trace);
    tcase_add_test(tc, test_replay_hand_trace);
    tcase_add_test(tc, test_replay_missing_reply_fails);
    tcase_add_test(tc, test_record_then_replay);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

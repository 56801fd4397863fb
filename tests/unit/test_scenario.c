/* Unit tests of the scenarios (mock-frontend/mfe_scenario.c); the trace
 * comparer (mfe_tdiff.c) has its own, test_tdiff.c.
 *
 * Every recorded trace in fixtures/qemu-7.2, -8.2 and -10.2 is played again
 * here, with the profile of its version, in
 * process: a fake back end answers each request that owes a reply with the
 * trace's own reply (its exact bytes, session by session), writes what it
 * got in the trace format, and the result must equal the trace message by
 * message under the comparer's normalisation.  A back-end kill is a closed
 * socketpair, its restart a new one; the guest's traffic is simulated by
 * moving the used indexes, so a reconnect restores real bases. */
#include "mfe_scenario.h"
#include "mfe_tdiff.h"
#include "mfe_trace.h"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LINE 16384

/* ---- the fake back end ---- */

struct fake {
    const struct mfe_trace *t;
    enum vhu_dev dev;
    unsigned session;          /* the trace's session this connection plays */
    unsigned connection;       /* this connection's number (1, 2 ...) */
    size_t cursor;             /* next trace message to look at for a reply */
    int sock, peer;            /* ours, and the end the front end gets */
    pthread_t th;
    bool running;
    FILE *log;                 /* what it saw, in the fixtures' format */
    char *log_buf;
    size_t log_len;
    unsigned seq;
    char err[256];
};

static void log_msg(struct fake *fk, const char *dir, const struct vhu_msg *m, bool reply)
{
    static char line[LINE];
    vhu_format_dev(line, sizeof line, VHU_CH_FRONT, fk->dev, m, reply);
    fprintf(fk->log, "%04u t=0.000 %s %s\n", ++fk->seq, dir, line);
}

static bool owes_reply(const struct vhu_msg *m)
{
    const struct vhu_req_desc *d = vhu_req_desc(VHU_CH_FRONT, m->hdr.request);
    return (d && d->reply_rule == VHU_R_ALWAYS) || (m->hdr.flags & VHU_FLAG_NEED_REPLY);
}

/* The trace's next reply in this session; it must answer this request. */
static void answer(struct fake *fk, const struct vhu_msg *m)
{
    const struct mfe_trace *t = fk->t;
    while (fk->cursor < t->n && (t->msgs[fk->cursor].session != fk->session ||
                                 t->msgs[fk->cursor].dir != MFE_TR_B2F))
        fk->cursor++;
    if (fk->cursor >= t->n) {
        snprintf(fk->err, sizeof fk->err, "message %u (request %u): the trace has no reply left",
                 fk->seq, m->hdr.request);
        return;
    }
    const struct mfe_trace_msg *tm = &t->msgs[fk->cursor++];
    struct vhu_msg r;
    memset(&r, 0, sizeof r);
    if (vhu_decode(tm->bytes, tm->len, &r) != NULL || r.hdr.request != m->hdr.request) {
        snprintf(fk->err, sizeof fk->err, "message %u: request %u, but the trace's next reply "
                 "(%04u) answers %u", fk->seq, m->hdr.request, tm->seq, r.hdr.request);
        return;
    }
    log_msg(fk, "B->F", &r, true);
    vhu_send_raw(fk->sock, tm->bytes, tm->len, NULL, 0);
}

static void *serve(void *arg)
{
    struct fake *fk = arg;
    struct vhu_msg m;
    while (!fk->err[0] && vhu_recv(fk->sock, &m, 3000, NULL) == VHU_IO_OK) {
        log_msg(fk, "F->B", &m, false);
        if (owes_reply(&m))
            answer(fk, &m);
        vhu_msg_close_fds(&m);
    }
    return NULL;
}

/* The trace's session of the k-th connection: sessions without a message
 * (the recorder's, when a front end connected and went) do not count. */
static unsigned trace_session(const struct mfe_trace *t, unsigned k)
{
    unsigned seen = 0, last = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->msgs[i].session == last)
            continue;
        last = t->msgs[i].session;
        if (++seen == k)
            return last;
    }
    return last + k;   /* past the trace: no replies left */
}

/* A new connection for the trace's next session. */
static int fake_start(struct fake *fk)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    fk->session = trace_session(fk->t, ++fk->connection);
    fk->cursor = 0;
    fk->sock = sv[0];
    fk->peer = sv[1];
    fprintf(fk->log, "# t=0.000 session %u: front end connected\n", fk->connection);
    fk->running = pthread_create(&fk->th, NULL, serve, fk) == 0;
    return fk->running ? 0 : -1;
}

static void fake_stop(struct fake *fk)
{
    if (!fk->running)
        return;
    shutdown(fk->sock, SHUT_RDWR);
    pthread_join(fk->th, NULL);
    close(fk->sock);
    if (fk->peer >= 0)
        close(fk->peer);
    fk->running = false;
    fk->peer = -1;
}

/* ---- the hooks ---- */

static int open_hook(void *arg, struct mfe *f)
{
    struct fake *fk = arg;
    if (fk->peer < 0)
        return -1;
    f->sock = fk->peer;
    fk->peer = -1;
    return 0;
}

static int kill_hook(void *arg)
{
    fake_stop(arg);
    return 0;
}

static int restart_hook(void *arg)
{
    return fake_start(arg);
}

/* the guest's traffic: every running ring's device used 9 entries */
static int dry_traffic(void *arg, struct mfe *f)
{
    (void)arg;
    for (unsigned i = 0; i < MFE_MAX_VQ; i++) {
        uint16_t *used = f->vq[i].running ? mfe_gpa(&f->mem, f->vq[i].used_gpa + 2, 2) : NULL;
        if (used)
            *used = (uint16_t)(*used + 9);
    }
    return 0;
}

/* ---- each trace played again ---- */

struct trace_case {
    const char *version, *trace, *scenario;
    enum vhu_dev dev;
    unsigned queues;
};

/* Every trace of fixtures/qemu-7.2, -8.2 and -10.2, played with the
 * profile of its version. */
#define NET VHU_DEV_NET
#define COMMON(v) \
    { v, "a1_init_client", "init", NET, 1 }, \
    { v, "a4_init_mq", "init", NET, 2 }, \
    { v, "a5_init_reconnect", "init", NET, 1 }, \
    { v, "b1_boot", "boot", NET, 1 }, \
    { v, "b2_boot_mq", "boot", NET, 2 }, \
    { v, "c1_guest_cycle", "guest-cycle", NET, 1 }, \
    { v, "d1_reconnect_client", "reconnect", NET, 1 }, \
    { v, "d2_reconnect_mq", "reconnect", NET, 2 }, \
    { v, "e1_blk_init", "init", VHU_DEV_BLK, 1 }, \
    { v, "e2_blk_boot", "boot", VHU_DEV_BLK, 1 }, \
    { v, "f1_fs_init", "init", VHU_DEV_FS, 1 }, \
    { v, "f2_fs_boot", "boot", VHU_DEV_FS, 1 }, \
    { v, "h1_host_cycle", "host-cycle", NET, 1 }, \
    { v, "h2_link_cycle", "link-cycle", NET, 1 }, \
    { v, "h3_reset", "reset", NET, 1 }

static const struct trace_case trace_cases[] = {
    COMMON("7.2"),
    { "7.2", "a3_init_server", "init", NET, 1 },
    { "7.2", "b3_boot_server", "boot", NET, 1 },
    { "7.2", "d4_disconnect_noreconnect", "disconnect", NET, 1 },
    COMMON("8.2"),
    COMMON("10.2"),
};

static void fixture_path(char *buf, size_t cap, const char *version, const char *trace)
{
    const char *dir = getenv("VHC_FIXTURES");
    snprintf(buf, cap, "%s/qemu-%s/%s.log", dir ? dir : "fixtures", version, trace);
}

/* The recording compared with the trace; differences go to stderr. */
static unsigned compare_with(const char *version, const char *trace, const char *recorded)
{
    char path[512], err[300];
    fixture_path(path, sizeof path, version, trace);
    struct mfe_tdiff_log want, got;
    ck_assert_msg(mfe_tdiff_load(path, &want, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(mfe_tdiff_parse(recorded, &got, err, sizeof err) == 0, "%s", err);
    struct mfe_tdiff_opts o = { trace, "played", 200, 2 };
    unsigned diffs = mfe_tdiff_compare(&want, &got, &o, stderr);
    if (diffs == 0)
        ck_assert_uint_eq(got.messages, want.messages);
    mfe_tdiff_free(&want);
    mfe_tdiff_free(&got);
    return diffs;
}

START_TEST(scenario_matches_trace)
{
    const struct trace_case *c = &trace_cases[_i];
    char path[512], err[300];
    fixture_path(path, sizeof path, c->version, c->trace);
    static struct mfe_trace t;
    ck_assert_msg(mfe_trace_load(&t, path, err, sizeof err) == 0, "%s", err);
    static struct fake fk;
    memset(&fk, 0, sizeof fk);
    fk.t = &t;
    fk.dev = c->dev;
    fk.peer = -1;
    fk.log = open_memstream(&fk.log_buf, &fk.log_len);
    ck_assert_int_eq(fake_start(&fk), 0);

    static struct mfe f;
    mfe_init(&f, 1000);
    char pname[32];
    snprintf(pname, sizeof pname, "qemu-%s", c->version);
    f.profile = mfe_profile_find(pname);
    ck_assert_ptr_nonnull(f.profile);
    f.device = mfe_device_of(c->dev);
    const struct mfe_scenario *sc = mfe_scenario_find(c->scenario);
    ck_assert_ptr_nonnull(sc);
    struct mfe_play_hooks h = { .arg = &fk, .open = open_hook, .kill = kill_hook,
                                .restart = restart_hook, .traffic = dry_traffic };
    struct mfe_play_opts o = { .queues = c->queues, .down_ms = 10 };
    struct mfe_play_stats st;
    int rc = mfe_play_run(&f, sc, &o, &h, &st);
    if (rc < 0)
        mfe_transcript_dump(&f, stderr, "  ", 12);
    char why[sizeof f.err];
    memcpy(why, f.err, sizeof why);
    mfe_close(&f);
    fake_stop(&fk);
    fclose(fk.log);
    unsigned diffs = compare_with(c->version, c->trace, fk.log_buf);
    free(fk.log_buf);
    mfe_trace_free(&t);
    ck_assert_msg(!fk.err[0], "%s/%s: the fake back end: %s", c->version, c->trace, fk.err);
    ck_assert_msg(rc == 0, "%s/%s: %s stopped at step %u: %s", c->version, c->trace,
                  c->scenario, st.steps + 1, why);
    ck_assert_msg(diffs == 0, "%s/%s: %u line(s) differ from the trace (above)", c->version,
                  c->trace, diffs);
}
END_TEST

/* Every scenario that applies to a device runs to its end (against a back
 * end that answers everything, here vhost-refnet's absence is covered by
 * the CLI tests): the tables are well formed. */
START_TEST(scenario_tables)
{
    ck_assert_uint_ge(mfe_scenario_count(), 8);
    for (unsigned i = 0; i < mfe_scenario_count(); i++) {
        const struct mfe_scenario *s = mfe_scenario_at(i);
        ck_assert_ptr_eq(mfe_scenario_find(s->name), s);
        ck_assert(s->devices & MFE_DEV_BIT(VHU_DEV_NET));
        unsigned n = 0, kills = 0, inits = 0;
        for (const struct mfe_step *st = s->steps; st->kind != MFE_STEP_END; st++, n++) {
            kills += st->kind == MFE_STEP_KILL;
            inits += st->kind == MFE_STEP_INIT;
            ck_assert_ptr_nonnull(st->what);
        }
        ck_assert_uint_eq(inits, 1);
        ck_assert_int_eq(kills > 0, s->needs_backend);
        ck_assert_uint_eq(s->steps[n - 1].kind, MFE_STEP_QUIT);
    }
    ck_assert_ptr_null(mfe_scenario_find("nosuch"));
    /* fs never reconnects in QEMU 7.2 (no chardev event handler) */
    ck_assert(!(mfe_scenario_find("reconnect")->devices & MFE_DEV_BIT(VHU_DEV_FS)));
}
END_TEST

/* The recordings' kills ("# t=... host: kill"), which replay repeats. */
START_TEST(trace_kills)
{
    static const struct { const char *trace; uint64_t killed; } rows[] = {
        { "d1_reconnect_client", 1u << 2 }, { "d4_disconnect_noreconnect", 1u << 2 },
        { "b1_boot", 0 }, { "a1_init_client", 0 },
    };
    for (unsigned i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char path[512], err[300];
        fixture_path(path, sizeof path, "7.2", rows[i].trace);
        struct mfe_trace t;
        ck_assert_msg(mfe_trace_load(&t, path, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(t.killed_before == rows[i].killed, "%s: 0x%llx", rows[i].trace,
                      (unsigned long long)t.killed_before);
        ck_assert_int_eq(mfe_trace_killed_before(&t, 2), rows[i].killed != 0);
        ck_assert(!mfe_trace_killed_before(&t, 1));
        mfe_trace_free(&t);
    }
}
END_TEST

/* A scenario the device does not have is refused before anything is sent. */
START_TEST(scenario_device_refused)
{
    struct mfe f;
    mfe_init(&f, 100);
    f.device = mfe_device_of(VHU_DEV_BLK);
    struct mfe_play_hooks h = { .open = open_hook };
    struct mfe_play_stats st;
    ck_assert_int_eq(mfe_play_run(&f, mfe_scenario_find("link-cycle"), NULL, &h, &st), -1);
    ck_assert_str_eq(f.err_rule, "mfe.usage");
    ck_assert_uint_eq(st.steps, 0);
    mfe_close(&f);
}
END_TEST

/* ---- a generic back end: what no trace shows ---- */

/* Answers every request (net features, MQ, REPLY_ACK, CONFIGURE_MEM_SLOTS,
 * STATUS; 2 queue pairs) and keeps the requests it got, per connection. */
struct generic {
    int sock, peer;
    pthread_t th;
    bool running;
    uint32_t req[1024];
    uint32_t val[1024], num[1024];   /* u64 low word (a ring index), high (state num) */
    unsigned n, conn_start[4], conns;
};

static void *generic_serve(void *arg)
{
    struct generic *g = arg;
    struct vhu_msg m;
    while (vhu_recv(g->sock, &m, 3000, NULL) == VHU_IO_OK) {
        if (g->n < 1024) {
            g->req[g->n] = m.hdr.request;
            g->val[g->n] = m.hdr.size == 8 ? (uint32_t)m.u.u64 : 0;
            g->num[g->n++] = m.hdr.size == 8 ? (uint32_t)(m.u.u64 >> 32) : 0;
        }
        vhu_msg_close_fds(&m);
        if (!owes_reply(&m))
            continue;
        struct vhu_msg r;
        uint64_t v = 0;
        switch (m.hdr.request) {
        case VHU_REQ_GET_FEATURES: v = 0x170400000ull | 1ull << 15; break;  /* + MQ, MRG */
        case VHU_REQ_GET_PROTOCOL_FEATURES:
            v = 1ull << VHU_PF_MQ | 1ull << VHU_PF_REPLY_ACK |
                1ull << VHU_PF_CONFIGURE_MEM_SLOTS | 1ull << VHU_PF_STATUS;
            break;
        case VHU_REQ_GET_QUEUE_NUM: v = 2; break;
        case VHU_REQ_GET_MAX_MEM_SLOTS: v = 32; break;
        default: break;
        }
        vhu_msg_u64(&r, m.hdr.request, v);
        if (m.hdr.request == VHU_REQ_GET_VRING_BASE)
            vhu_msg_state(&r, m.hdr.request, m.u.state.index, 0);
        r.hdr.flags = VHU_VERSION | VHU_FLAG_REPLY;
        vhu_send(g->sock, &r);
    }
    return NULL;
}

static int generic_start(void *arg)
{
    struct generic *g = arg;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    g->sock = sv[0];
    g->peer = sv[1];
    if (g->conns < 4)
        g->conn_start[g->conns++] = g->n;
    g->running = pthread_create(&g->th, NULL, generic_serve, g) == 0;
    return g->running ? 0 : -1;
}

static int generic_kill(void *arg)
{
    struct generic *g = arg;
    shutdown(g->sock, SHUT_RDWR);
    pthread_join(g->th, NULL);
    close(g->sock);
    g->running = false;
    return 0;
}

static int generic_open(void *arg, struct mfe *f)
{
    struct generic *g = arg;
    f->sock = g->peer;
    return 0;
}

/* how many of req in requests [from, to) */
static unsigned count(const struct generic *g, uint32_t req, unsigned from, unsigned to)
{
    unsigned n = 0;
    for (unsigned i = from; i < to && i < g->n; i++)
        n += g->req[i] == req;
    return n;
}

static unsigned find(const struct generic *g, uint32_t req, unsigned from)
{
    while (from < g->n && g->req[from] != req)
        from++;
    return from;
}

/* Two pairs with CONFIGURE_MEM_SLOTS: each vhost device adds the regions
 * its connection does not hold (2 + 2 at boot), none on a resume, all again
 * after a reconnect; the reconnect sends one enable round per pair, each
 * right before that pair's SET_FEATURES; a host stop nothing after the
 * rings. */
START_TEST(two_pairs_mem_slots)
{
    static struct generic g;
    memset(&g, 0, sizeof g);
    ck_assert_int_eq(generic_start(&g), 0);
    struct mfe f;
    mfe_init(&f, 2000);
    f.profile = mfe_profile_find("qemu-7.2");
    f.device = mfe_device_of(VHU_DEV_NET);
    static const struct mfe_step steps[] = {
        { MFE_STEP_INIT, 0, "init" }, { MFE_STEP_START, MFE_START_BOOT, "boot" },
        { MFE_STEP_STOP, MFE_STOP_HOST, "stop" }, { MFE_STEP_START, MFE_START_RESUME, "cont" },
        { MFE_STEP_TRAFFIC, 0, "traffic" },
        { MFE_STEP_KILL, 0, "kill" }, { MFE_STEP_RESTART, 0, "restart" },
        { MFE_STEP_RECONNECT, 0, "reconnect" }, { MFE_STEP_QUIT, 0, "quit" },
        { MFE_STEP_END, 0, NULL },
    };
    const struct mfe_scenario sc = { "t", "t", "t", MFE_DEV_BIT(VHU_DEV_NET), true, steps };
    struct mfe_play_hooks h = { .arg = &g, .open = generic_open, .kill = generic_kill,
                                .restart = generic_start, .traffic = dry_traffic };
    struct mfe_play_opts o = { .queues = 2, .down_ms = 1 };
    struct mfe_play_stats st;
    int rc = mfe_play_run(&f, &sc, &o, &h, &st);
    ck_assert_msg(rc == 0, "%s", mfe_error(&f));
    mfe_close(&f);
    generic_kill(&g);
    ck_assert_uint_eq(g.conns, 2);
    unsigned second = g.conn_start[1];
    unsigned stop = find(&g, VHU_REQ_GET_VRING_BASE, 0);
    unsigned cont = find(&g, VHU_REQ_SET_FEATURES, stop);
    ck_assert_uint_eq(count(&g, VHU_REQ_ADD_MEM_REG, 0, stop), 4);   /* 2 devices x 2 */
    ck_assert_uint_eq(count(&g, VHU_REQ_ADD_MEM_REG, stop, second), 0);
    ck_assert_uint_eq(count(&g, VHU_REQ_ADD_MEM_REG, second, g.n), 4);
    ck_assert_uint_eq(count(&g, VHU_REQ_REM_MEM_REG, 0, g.n), 0);
    ck_assert_uint_eq(count(&g, VHU_REQ_SET_MEM_TABLE, 0, g.n), 0);
    /* the host stop: 4 GET_VRING_BASE, the status reset, no enable round
     * until cont's own restore of each pair */
    ck_assert_uint_eq(count(&g, VHU_REQ_SET_VRING_ENABLE, stop, cont), 2);
    ck_assert_uint_eq(count(&g, VHU_REQ_GET_VRING_BASE, stop, cont), 4);
    /* after the reconnect: init (no enable), then per pair 2 enables then
     * its SET_FEATURES */
    unsigned f0 = find(&g, VHU_REQ_SET_FEATURES, second);
    unsigned f1 = find(&g, VHU_REQ_SET_FEATURES, f0 + 1);
    ck_assert_uint_lt(f1, g.n);
    ck_assert_uint_eq(count(&g, VHU_REQ_SET_VRING_ENABLE, second, f0), 2);
    ck_assert_uint_eq(g.req[f0 - 1], VHU_REQ_SET_VRING_ENABLE);
    ck_assert_uint_eq(count(&g, VHU_REQ_SET_VRING_ENABLE, f0, f1), 2);
    ck_assert_uint_eq(g.req[f1 - 1], VHU_REQ_SET_VRING_ENABLE);
    ck_assert_uint_eq(g.val[f1 - 1] & 0xff, 3);    /* ring 3 */
    /* each ring resumed from its used index (dry traffic: 9) */
    unsigned bases = 0;
    for (unsigned i = second; i < g.n; i++)
        if (g.req[i] == VHU_REQ_SET_VRING_BASE) {
            ck_assert_uint_eq(g.num[i], 9);
            bases++;
        }
    ck_assert_uint_eq(bases, 4);
}
END_TEST

static Suite *scenario_suite(void)
{
    Suite *s = suite_create("scenario");
    TCase *tr = tcase_create("traces");
    tcase_set_timeout(tr, 30);
    tcase_add_loop_test(tr, scenario_matches_trace, 0,
                        sizeof trace_cases / sizeof trace_cases[0]);
    tcase_add_test(tr, scenario_tables);
    tcase_add_test(tr, scenario_device_refused);
    tcase_add_test(tr, trace_kills);
    tcase_add_test(tr, two_pairs_mem_slots);
    suite_add_tcase(s, tr);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(scenario_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

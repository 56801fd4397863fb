/* Unit tests of mock-frontend/'s QEMU sequences against a fake back end
 * scripted from the recorded 7.2 traces (as recorded for qemu-7.2; changed
 * by each switch of a later profile, so the rest must stay the same).
 * Part of test_mfe (test_mfe.h). */
#include "mfe.h"
#include "test_mfe.h"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_KEYS 256

/* What the tests compare of one message: everything the traces say is
 * stable (request, flags, size, fd count) plus the u64/state payload. */
struct key {
    uint32_t req, flags, size, nfds;
    bool has_val;
    uint64_t val;
};

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
    /* the 7.2 trace's enable rounds under the later profile's switches (NEED_REPLY,
     * the GET_FEATURES fallback, SET_STATUS(0)'s place): 8.2's own rounds are
     * checked against its own traces in test_scenario.c */
    static struct mfe_profile shaped;
    shaped = *x.prof;
    shaped.reset_enable_round = true;
    x.prof = &shaped;
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

TCase *mfe_qemu_tcase(void)
{
    TCase *qemu = tcase_create("qemu72");
    tcase_set_timeout(qemu, 20);
    tcase_add_loop_test(qemu, qemu_sequences, 0, sizeof seq_cases / sizeof seq_cases[0]);
    return qemu;
}

/* vhc-bench: datapath throughput of a vhost-user-net back end, measured
 * from the mock front end.
 *
 * It meets the back end as QEMU 7.2 does (init, start with the chosen ring
 * type, size and features), posts sequence-numbered frames on TX and counts
 * and checks what comes back on RX (the back end must loop TX back to RX),
 * first for a warm-up, then for the measured period, stops as QEMU does and
 * prints one key=value line on stdout.
 *
 * Exit status: 0 measured, 1 the datapath failed (nothing came back within
 * the stall time, bad frames, ring errors; the line is still printed with
 * status=...), 2 usage, 3 skipped (the back end lacks a feature the run
 * needs), 4 the control plane failed (connect, init, start).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_gen.h"
#include "mfe.h"
#include "mfe_migrate.h"
#include "mfe_net.h"
#include "mfe_ring.h"

enum { EXIT_DATAPATH = 1, EXIT_USAGE = 2, EXIT_SKIP = 3, EXIT_CONTROL = 4 };

struct opts {
    const char *socket, *backend;
    bool packed, mrg, listen, log, copy_only, lockstep;
    unsigned ring_size, frame, batch, ws_mib;
    uint64_t frames;
    double warmup_s, seconds;
    int timeout_ms, stall_ms;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vhc-bench --socket PATH [options]\n"
            "Drive a vhost-user-net back end that loops TX back to RX, as QEMU 7.2's\n"
            "front end would, and print one line of throughput figures.\n"
            "  -s, --socket PATH     the back end's vhost-user socket\n"
            "  -n, --backend NAME    label for the output line (default: unknown)\n"
            "      --listen          listen on PATH and wait for the back end\n"
            "                        (back end in client mode); default: connect\n"
            "  -r, --ring KIND       split (default) or packed (RING_PACKED, bit 34)\n"
            "  -q, --ring-size N     ring entries: 256 (default) or 1024\n"
            "  -f, --frame BYTES     frame size without the 12-byte virtio-net header,\n"
            "                        %u..%u (default 64)\n"
            "  -b, --batch N         frames per kick (default 32)\n"
            "      --mrg             negotiate MRG_RXBUF (default: off)\n"
            "      --frames N        end the measured period after N frames came back\n"
            "                        (--seconds still bounds it; for valgrind runs)\n"
            "      --log             dirty logging on, as QEMU turns it on for migration\n"
            "      --working-set MIB rotate TX frames through MIB MiB of guest memory\n"
            "      --lockstep        post a batch only when the last one is all back\n"
            "                        (bench/cost.sh: the same bursts in every run)\n"
            "      --memcpy          no back end: measure memcpy of --frame bytes on the\n"
            "                        --working-set terms and print copy_gbps=\n"
            "  -w, --warmup SEC      warm-up, not measured (default 1)\n"
            "  -t, --seconds SEC     measured period (default 5)\n"
            "      --timeout MS      every control-plane wait (default 3000)\n"
            "      --stall MS        give up when no frame came back for MS (default 2000)\n"
            "  -h, --help            this text\n"
            "Output: backend= ring= size= tx_pps= rx_pps= rx_gbps= kicks= calls= seconds=\n"
            "qsize= mrg= log= ws_mib= tx= rx= waits= checked= bad= status=; rx_gbps counts\n"
            "frame bytes.\n"
            "Exit: 0 ok, 1 datapath failed, 2 usage, 3 skipped, 4 control plane failed.\n",
            BENCH_MIN_FRAME, MFE_NET_MAX_FRAME);
}

static int bad_usage(const char *what, const char *arg)
{
    fprintf(stderr, "vhc-bench: %s: %s (try --help)\n", what, arg);
    return -1;
}

static int parse_opt(struct opts *o, int c, const char *arg)
{
    char *end = NULL;
    switch (c) {
    case 's': o->socket = arg; return 0;
    case 'n': o->backend = arg; return 0;
    case 'L': o->listen = true; return 0;
    case 'M': o->mrg = true; return 0;
    case 'G': o->log = true; return 0;
    case 'C': o->copy_only = true; return 0;
    case 'K': o->lockstep = true; return 0;
    case 'W': o->ws_mib = (unsigned)strtoul(arg, &end, 10); break;
    case 'F': o->frames = strtoull(arg, &end, 10); break;
    case 'r':
        if (strcmp(arg, "split") && strcmp(arg, "packed"))
            return bad_usage("--ring must be split or packed", arg);
        o->packed = strcmp(arg, "packed") == 0;
        return 0;
    case 'q': o->ring_size = (unsigned)strtoul(arg, &end, 10); break;
    case 'f': o->frame = (unsigned)strtoul(arg, &end, 10); break;
    case 'b': o->batch = (unsigned)strtoul(arg, &end, 10); break;
    case 'w': o->warmup_s = strtod(arg, &end); break;
    case 't': o->seconds = strtod(arg, &end); break;
    case 'T': o->timeout_ms = (int)strtol(arg, &end, 10); break;
    case 'S': o->stall_ms = (int)strtol(arg, &end, 10); break;
    default: return -1;
    }
    return *arg && end && *end == '\0' ? 0 : bad_usage("not a number", arg);
}

static int check_opts(const struct opts *o)
{
    if (o->ws_mib > 192)
        return bad_usage("--working-set must be at most 192 MiB (guest memory is 256)", "");
    if (!o->socket && !o->copy_only)
        return bad_usage("missing option", "--socket PATH");
    if (o->ring_size != 256 && o->ring_size != 1024)
        return bad_usage("--ring-size must be 256 or 1024", "");
    if (o->frame < BENCH_MIN_FRAME || o->frame > MFE_NET_MAX_FRAME)
        return bad_usage("--frame out of range", "");
    if (o->copy_only)
        return o->ws_mib ? 0 : bad_usage("--memcpy needs", "--working-set MIB");
    if (o->batch == 0 || o->batch > o->ring_size)
        return bad_usage("--batch must be 1..ring size", "");
    if (o->warmup_s < 0 || o->seconds <= 0 || o->seconds > 3600 || o->warmup_s > 3600)
        return bad_usage("--warmup/--seconds out of range", "");
    if (o->timeout_ms <= 0 || o->stall_ms <= 0)
        return bad_usage("--timeout/--stall must be positive", "");
    return 0;
}

/* 0 parsed, 1 --help, -1 bad usage */
static int parse_args(struct opts *o, int argc, char **argv)
{
    static const struct option longs[] = {
        {"socket", required_argument, NULL, 's'},  {"backend", required_argument, NULL, 'n'},
        {"listen", no_argument, NULL, 'L'},        {"ring", required_argument, NULL, 'r'},
        {"ring-size", required_argument, NULL, 'q'}, {"frame", required_argument, NULL, 'f'},
        {"batch", required_argument, NULL, 'b'},   {"mrg", no_argument, NULL, 'M'},
        {"warmup", required_argument, NULL, 'w'},  {"seconds", required_argument, NULL, 't'},
        {"timeout", required_argument, NULL, 'T'}, {"stall", required_argument, NULL, 'S'},
        {"frames", required_argument, NULL, 'F'}, {"log", no_argument, NULL, 'G'},
        {"working-set", required_argument, NULL, 'W'},
        {"memcpy", no_argument, NULL, 'C'},
        {"lockstep", no_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    *o = (struct opts){.backend = "unknown", .ring_size = 256, .frame = 64, .batch = 32,
                       .warmup_s = 1, .seconds = 5, .timeout_ms = 3000, .stall_ms = 2000};
    int c;
    while ((c = getopt_long(argc, argv, "s:n:r:q:f:b:w:t:h", longs, NULL)) != -1) {
        if (c == 'h')
            return 1;
        if (c == '?' || parse_opt(o, c, optarg) < 0)
            return -1;
    }
    if (optind < argc)
        return bad_usage("unexpected argument", argv[optind]);
    return check_opts(o);
}

/* ---- control plane ---- */

static int fail(struct mfe *f, const char *step)
{
    fprintf(stderr, "vhc-bench: %s failed: %s\n", step, mfe_error(f));
    mfe_transcript_dump(f, stderr, "  ", 8);
    return -EXIT_CONTROL;
}

/* The guest's features: QEMU 7.2's Linux guest, MRG_RXBUF as asked, packed
 * when asked.  -EXIT_SKIP when the back end does not offer packed rings. */
static int choose_features(const struct mfe *f, const struct opts *o, uint64_t *out)
{
    uint64_t want = f->features & MFE_QEMU72_NET_GUEST_FEATURES;
    want &= ~(1ull << MFE_NET_F_MRG_RXBUF);
    if (o->mrg)
        want |= f->features & (1ull << MFE_NET_F_MRG_RXBUF);
    if (o->packed) {
        if (!(f->features & (1ull << VHU_F_RING_PACKED))) {
            printf("SKIP: backend=%s does not offer RING_PACKED (feature bit 34; "
                   "offered 0x%llx)\n", o->backend, (unsigned long long)f->features);
            return -EXIT_SKIP;
        }
        want |= 1ull << VHU_F_RING_PACKED;
    }
    *out = want;
    return 0;
}

/* Packed rings must be laid out before mfe_qemu_start sends their
 * addresses; it then keeps that memory (reuse_memory). */
static int lay_out_packed(struct mfe *f, unsigned num)
{
    if (mfe_mem_create(&f->mem, MFE_QEMU_MEM_SIZE, MFE_LAYOUT_QEMU, 2) < 0)
        return -1;
    for (unsigned i = 0; i < 2; i++)
        if (mfe_ring_vq_packed(f, i, num) < 0)
            return -1;
    return 0;
}

static int bring_up(struct mfe *f, const struct opts *o)
{
    int rc = o->listen ? mfe_listen(f, o->socket) : mfe_connect(f, o->socket);
    if (rc == 0 && o->listen)
        rc = mfe_accept(f);
    if (rc < 0)
        return fail(f, o->listen ? "listen/accept" : "connect");
    if (mfe_qemu_init(f, 1) < 0)
        return fail(f, "init (QEMU 7.2 sequence)");
    struct mfe_start_opts so = {.queue_pairs = 1, .ring_size = o->ring_size};
    if ((rc = choose_features(f, o, &so.features)) < 0)
        return rc;
    /* A fresh packed ring starts with both wrap counters set; the base
     * carries them in bit 15 (spec: SET_VRING_BASE), as QEMU sends them. */
    static const uint16_t packed_bases[2] = {0x8000, 0x8000};
    if (o->packed) {
        if (lay_out_packed(f, o->ring_size) < 0)
            return fail(f, "packed ring layout");
        so.reuse_memory = true;
        so.bases = packed_bases;
    }
    if (mfe_qemu_start(f, &so) < 0)
        return fail(f, "start (QEMU 7.2 sequence)");
    return 0;
}

/* Dirty logging on as QEMU turns it on when a migration starts: a log
 * memfd covering guest memory, SET_LOG_BASE, LOG_ALL, the rings' log flag. */
static int log_on(struct mfe *f, struct mfe_log *l)
{
    if (!(f->features & (1ull << VHU_F_LOG_ALL)))
        return printf("SKIP: the back end does not offer LOG_ALL (bit 26)\n"), -EXIT_SKIP;
    int rc = mfe_log_alloc(l, mfe_log_words_for(&f->mem));
    if (rc < 0) {
        fprintf(stderr, "vhc-bench: log memfd: %s\n", strerror(-rc));
        return -EXIT_CONTROL;
    }
    if (mfe_migration_log_on(f, l) < 0)
        return fail(f, "dirty logging on (QEMU 7.2 migration sequence)");
    return 0;
}

/* ---- measuring ---- */

struct result {
    struct bench_counts c;
    uint64_t ns;
    const char *status;
};

static void print_line(const struct opts *o, const struct result *r)
{
    double s = r->ns ? (double)r->ns / 1e9 : 1e-9;
    printf("backend=%s ring=%s size=%u tx_pps=%.0f rx_pps=%.0f rx_gbps=%.3f kicks=%llu "
           "calls=%llu seconds=%.3f qsize=%u mrg=%d log=%d ws_mib=%u tx=%llu rx=%llu waits=%llu checked=%llu bad=%llu "
           "status=%s\n",
           o->backend, o->packed ? "packed" : "split", o->frame, (double)r->c.tx / s,
           (double)r->c.rx / s, (double)r->c.rx_bytes * 8 / s / 1e9,
           (unsigned long long)r->c.kicks, (unsigned long long)r->c.calls, s, o->ring_size,
           o->mrg, o->log, o->ws_mib, (unsigned long long)r->c.tx, (unsigned long long)r->c.rx,
           (unsigned long long)r->c.waits,
           (unsigned long long)r->c.checked, (unsigned long long)r->c.bad, r->status);
    fflush(stdout);
}

static const char *status_of(int rc, const struct bench_counts *c)
{
    if (rc == -ETIMEDOUT)
        return c->rx ? "stall" : "no-rx";
    if (rc < 0)
        return "ring-error";
    if (c->bad)
        return "bad-frames";
    return c->rx ? "ok" : "no-rx";
}

/* Warm-up, then the measured period. */
static int measure(struct mfe *f, const struct opts *o, struct result *r)
{
    struct mfe_net n;
    struct mfe_net_opts no = {.max_frame = MFE_NET_MAX_FRAME};
    int rc = mfe_net_init(&n, f, 0, &no);
    if (rc < 0) {
        fprintf(stderr, "vhc-bench: virtio-net model: %s\n", strerror(-rc));
        return -EXIT_CONTROL;
    }
    struct bench_gen g;
    rc = bench_gen_init(&g, &n, o->frame, o->batch, o->stall_ms);
    if (rc == 0 && o->ws_mib)
        rc = bench_gen_working_set(&g, &f->mem, (uint64_t)o->ws_mib << 20);
    if (rc == 0 && o->warmup_s > 0)
        rc = bench_gen_run(&g, (uint64_t)(o->warmup_s * 1e9), &r->c, &r->ns);
    g.stop_rx = o->frames;
    g.lockstep = o->lockstep;
    if (rc == 0)
        rc = bench_gen_run(&g, (uint64_t)(o->seconds * 1e9), &r->c, &r->ns);
    r->status = status_of(rc, &g.c);
    if (rc < 0 || g.c.bad)
        fprintf(stderr, "vhc-bench: datapath: %s%s%s (tx %llu, rx %llu, ring errors %llu/%llu%s%s)\n",
                rc == -ETIMEDOUT ? "no frame came back in the stall time" : "",
                rc < 0 && rc != -ETIMEDOUT ? strerror(-rc) : "", g.c.bad ? "; bad frames" : "",
                (unsigned long long)g.c.tx, (unsigned long long)g.c.rx,
                (unsigned long long)n.tx.errors, (unsigned long long)n.rx.errors,
                g.err[0] ? "; first: " : "", g.err);
    mfe_net_destroy(&n);
    return strcmp(r->status, "ok") == 0 ? 0 : -EXIT_DATAPATH;
}

int main(int argc, char **argv)
{
    struct opts o;
    int rc = parse_args(&o, argc, argv);
    if (rc != 0) {
        usage(rc > 0 ? stdout : stderr);
        return rc > 0 ? 0 : EXIT_USAGE;
    }
    if (o.copy_only) {
        double r = bench_memcpy_rate(o.frame, (uint64_t)o.ws_mib << 20, o.ring_size, o.seconds);
        printf("memcpy size=%u ws_mib=%u dst_slots=%u copy_gbps=%.3f copy_fps=%.0f status=%s\n",
               o.frame, o.ws_mib, o.ring_size, r * 8 / 1e9, r / o.frame, r > 0 ? "ok" : "no-memory");
        return r > 0 ? 0 : EXIT_DATAPATH;
    }
    signal(SIGPIPE, SIG_IGN);
    struct mfe f;
    mfe_init(&f, o.timeout_ms);
    struct mfe_log log = {.fd = -1};
    rc = bring_up(&f, &o);
    if (rc == 0 && o.log)
        rc = log_on(&f, &log);
    if (rc == 0) {
        struct result r = {0};
        rc = measure(&f, &o, &r);
        print_line(&o, &r);
        if (mfe_qemu_stop(&f, NULL) < 0) {
            fail(&f, "stop (QEMU 7.2 sequence)");
            rc = rc ? rc : -EXIT_CONTROL;
        }
    }
    mfe_close(&f);
    mfe_log_free(&log);
    return -rc;
}

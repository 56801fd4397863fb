/* vhc-xcore: what moving a cache line from one core to another costs on this
 * machine, in the TSC cycles vhost-refnet and testpmd count busy time in.
 *
 * A back end's cost per 64-byte frame is mostly such moves: the lines the
 * front end wrote last (the avail entry, the descriptor, the frame's first
 * line) and the lines it read last and the back end must now write (the RX
 * buffer's first line, the used entry).  bench/run.sh prints this beside the
 * cycles per frame, as it prints memcpy beside the 1518-byte rate, so a
 * cycle count is read against the machine it was measured on.
 *
 * A writer thread on one CPU stores into n lines and raises a flag; the
 * reader on the other CPU, once it sees the flag, loads the n lines (plain
 * independent loads, which the core overlaps as far as it can) and times
 * that; then it answers and the next round uses the next n lines of a
 * buffer far larger than n.  n = 1 gives the latency of one move; n = 128
 * the cost per line when the moves overlap, the floor a burst's prefetches
 * can reach.  The write figures swap the roles of the lines, not of the
 * CPUs: the thread on W loads the n lines, and the one on R, timed, stores
 * into them, as a back end writes an RX buffer the driver has read. */
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#define LINE      64u
#define NLINES    4096u                 /* 256 KiB: rounds never reuse a warm line */
#define BURST     128u

struct shared {
    _Alignas(LINE) _Atomic uint64_t go;         /* writer -> reader: round number */
    _Alignas(LINE) _Atomic uint64_t done;       /* reader -> writer */
    _Alignas(LINE) _Atomic int stop;
    int cpu;
    unsigned n;
    bool reader_writes;         /* the reader stores into lines the writer read */
    uint64_t rounds;
    uint64_t deadline_ns;
    bool pin_failed;            /* the writer could not run on its CPU */
    _Alignas(LINE) uint8_t lines[NLINES][LINE];
};

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int pin(int cpu)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    return pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

/* Spin until *a == want, the other side stops, or the deadline passes. */
static bool wait_for(struct shared *sh, _Atomic uint64_t *a, uint64_t want)
{
    for (unsigned spins = 0;; spins++) {
        if (atomic_load_explicit(a, memory_order_acquire) == want)
            return true;
        if (atomic_load_explicit(&sh->stop, memory_order_relaxed))
            return false;
        if ((spins & 4095) == 0 && now_ns() > sh->deadline_ns) {
            atomic_store(&sh->stop, 1);
            return false;
        }
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static unsigned first_line(uint64_t round, unsigned n)
{
    return (unsigned)(round * n % NLINES);
}

static void *writer(void *arg)
{
    struct shared *sh = arg;
    if (pin(sh->cpu) != 0) {
        sh->pin_failed = true;
        atomic_store(&sh->stop, 1);
        return NULL;
    }
    for (uint64_t r = 1; r <= sh->rounds; r++) {
        unsigned at = first_line(r, sh->n);
        for (unsigned i = 0; i < sh->n; i++) {
            volatile uint64_t *w = (volatile uint64_t *)sh->lines[(at + i) % NLINES];
            if (sh->reader_writes)
                (void)*w;               /* a load: shared, as a driver reads RX data */
            else
                *w = r;
        }
        atomic_store_explicit(&sh->go, r, memory_order_release);
        if (!wait_for(sh, &sh->done, r))
            return NULL;
    }
    return NULL;
}

static uint64_t tsc_start(void)
{
#if defined(__x86_64__)
    _mm_lfence();
    uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
#else
    return now_ns();
#endif
}

static uint64_t tsc_end(void)
{
#if defined(__x86_64__)
    _mm_mfence();                       /* every load or store of the round done */
    _mm_lfence();
    return __rdtsc();
#else
    return now_ns();
#endif
}

/* Median TSC cycles per line over the rounds with n lines each; < 0: failed. */
static double measure(int cpu_w, int cpu_r, unsigned n, bool writes, uint64_t rounds,
                      int timeout_ms, const char **why)
{
    struct shared *sh = aligned_alloc(LINE, sizeof *sh);
    uint64_t *per = calloc(rounds, sizeof *per);
    double res = -1;
    pthread_t t;
    if (!sh || !per) {
        *why = "out of memory";
        goto out;
    }
    memset(sh, 0, sizeof *sh);
    sh->cpu = cpu_w;
    sh->n = n;
    sh->reader_writes = writes;
    sh->rounds = rounds;
    sh->deadline_ns = now_ns() + (uint64_t)timeout_ms * 1000000ull;
    if (pin(cpu_r) != 0) {
        *why = "cannot pin to the reader's CPU";
        goto out;
    }
    if (pthread_create(&t, NULL, writer, sh) != 0) {
        *why = "cannot start the writer thread";
        goto out;
    }
    uint64_t sum = 0, r;
    for (r = 1; r <= rounds; r++) {
        if (!wait_for(sh, &sh->go, r))
            break;
        unsigned at = first_line(r, n);
        uint64_t t0 = tsc_start();
        for (unsigned i = 0; i < n; i++) {
            volatile uint64_t *l = (volatile uint64_t *)sh->lines[(at + i) % NLINES];
            if (writes)
                *l = r;
            else
                sum += *l;
        }
        per[r - 1] = tsc_end() - t0;
        atomic_store_explicit(&sh->done, r, memory_order_release);
    }
    atomic_store(&sh->stop, 1);
    pthread_join(t, NULL);
    if (sh->pin_failed) {
        *why = "cannot pin to the writer's CPU";
    } else if (r <= rounds) {
        *why = "timed out (--timeout)";
    } else if (!writes && sum == 0) {
        *why = "the lines read back empty";
    } else {
        /* the median round: a preempted round says nothing about the lines */
        qsort(per, rounds, sizeof *per, cmp_u64);
        res = (double)per[rounds / 2] / n;
    }
out:
    free(per);
    free(sh);
    return res;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vhc-xcore [--cpus W,R] [--rounds N] [--timeout MS]\n"
            "Measure what one cache line written on CPU W costs to read on CPU R (TSC\n"
            "cycles): alone (line_cycles) and with %u read at once (pipelined_cycles);\n"
            "and what a line read on W costs to write on R (write_line_cycles,\n"
            "write_pipelined_cycles): the moves of a back end's 64-byte frame.\n"
            "  --cpus W,R     the writer's and the reader's CPU (default 0,1: where\n"
            "                 bench/run.sh puts the front end and the back end)\n"
            "  --rounds N     rounds per figure, the median kept (default 20000)\n"
            "  --timeout MS   give up after MS per figure (default 10000)\n"
            "Output: xcore cpus=W,R line_cycles= pipelined_cycles= write_line_cycles=\n"
            "write_pipelined_cycles= burst= status=\n"
            "Exit: 0 ok, 1 failed, 2 usage, 3 skipped (one CPU, or not x86-64).\n",
            BURST);
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"cpus", required_argument, NULL, 'c'},
        {"rounds", required_argument, NULL, 'r'},
        {"timeout", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int cw = 0, cr = 1, timeout_ms = 10000, c;
    unsigned long rounds = 20000;
    char *end;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (sscanf(optarg, "%d,%d", &cw, &cr) != 2 || cw < 0 || cr < 0 || cw == cr) {
                fprintf(stderr, "vhc-xcore: --cpus wants two different CPUs, W,R\n");
                return 2;
            }
            break;
        case 'r':
            rounds = strtoul(optarg, &end, 10);
            if (*end || rounds == 0 || rounds > 10000000) {
                fprintf(stderr, "vhc-xcore: --rounds must be 1..10000000\n");
                return 2;
            }
            break;
        case 'T':
            timeout_ms = (int)strtol(optarg, &end, 10);
            if (*end || timeout_ms <= 0) {
                fprintf(stderr, "vhc-xcore: --timeout must be positive\n");
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
#if !defined(__x86_64__)
    printf("xcore status=skip why=not_x86-64_(no_TSC_to_count_in)\n");
    return 3;
#endif
    cpu_set_t avail;
    if (sched_getaffinity(0, sizeof avail, &avail) != 0 || !CPU_ISSET(cw, &avail) ||
        !CPU_ISSET(cr, &avail)) {
        printf("xcore cpus=%d,%d status=skip why=CPUs_not_available\n", cw, cr);
        return 3;
    }
    const char *why = "";
    double f[4] = { -1, -1, -1, -1 };    /* read 1, read BURST, write 1, write BURST */
    for (unsigned i = 0; i < 4 && (i == 0 || f[i - 1] >= 0); i++)
        f[i] = measure(cw, cr, i % 2 ? BURST : 1, i >= 2, rounds, timeout_ms, &why);
    if (f[3] < 0) {
        fprintf(stderr, "vhc-xcore: %s\n", why);
        printf("xcore cpus=%d,%d status=fail\n", cw, cr);
        return 1;
    }
    printf("xcore cpus=%d,%d line_cycles=%.1f pipelined_cycles=%.1f write_line_cycles=%.1f "
           "write_pipelined_cycles=%.1f burst=%u status=ok\n",
           cw, cr, f[0], f[1], f[2], f[3], BURST);
    return 0;
}

/* vhost-conform: list, explain and run the conformance cases. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "beopts.h"
#include "cli.h"
#include "harness.h"
#include "play_cmd.h"
#include "registry.h"
#include "replay_cmd.h"
#include "report.h"
#include "mfe_fault.h"
#include "mfe_fixtures.h"
#include "version.h"

#define EXIT_USAGE 2

/* Usage texts are the manual pages' SYNOPSIS and OPTIONS (help_fmt.c): one source. */

static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

/* ---- list ---- */

static int cmd_list(int argc, char **argv)
{
    if (wants_help(argc, argv))
        return vhc_help("list") < 0 ? EXIT_USAGE : 0;
    if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
        return vhc_usage("list");
    const char *glob = argc == 2 ? argv[1] : "*";
    size_t n;
    const struct vhc_case *const *all = vhc_cases(&n);
    int width = 0;
    for (size_t i = 0; i < n; i++)
        if (fnmatch(glob, all[i]->id, 0) == 0 && (int)strlen(all[i]->id) > width)
            width = (int)strlen(all[i]->id);
    size_t shown = 0;
    for (size_t i = 0; i < n; i++)
        if (fnmatch(glob, all[i]->id, 0) == 0 && ++shown)
            printf("%-*s  %s\n", width, all[i]->id, all[i]->summary);
    if (shown == 0)   /* as `run --filter` with no match: a usage error, not an empty list */
        fprintf(stderr, "vhost-conform: no case matches '%s' (see 'vhost-conform list')\n", glob);
    return shown ? 0 : EXIT_USAGE;
}

/* ---- explain ---- */

/* "features:          MRG_RXBUF VERSION_1", or "... none" */
static void print_bits(const char *label, uint64_t bits, vhu_bit_name_fn name)
{
    char names[1536];
    vhu_bits_format(names, sizeof names, bits, name, " ");
    printf("%-18s %s\n", label, bits ? names : "none");
}

/* Multi-line text, each line indented under its label. */
static void print_text(const char *label, const char *text)
{
    printf("%s\n", label);
    for (const char *p = text ? text : "(none)"; *p;) {
        size_t n = strcspn(p, "\n");
        printf("  %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
}

/* Every message line of a `run --trace` (stderr): "0001 F->B ..." */
static void print_message_lines(const char *trace)
{
    for (const char *p = trace; *p;) {
        size_t n = strcspn(p, "\n");
        if (n > 10 && strspn(p, "0123456789") == 4 &&
            (strncmp(p + 4, " F->B ", 6) == 0 || strncmp(p + 4, " B->F ", 6) == 0))
            printf("  %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
}

/* The child's stderr until it closes (*late false) or the deadline passes. */
static char *read_until(int fd, time_t deadline, bool *late)
{
    size_t len = 0, cap = 65536;
    char *buf = malloc(cap);
    *late = true;
    while (buf) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int left = (int)(deadline - time(NULL));
        if (left <= 0 || poll(&p, 1, left * 1000) <= 0)
            break;
        char *more = len + 4096 > cap ? realloc(buf, cap *= 2) : buf;
        if (!more)
            break;
        buf = more;
        ssize_t got = read(fd, buf + len, cap - len - 1);
        if (got <= 0) {
            *late = got < 0;
            break;
        }
        len += (size_t)got;
    }
    if (buf)
        buf[len] = '\0';
    return buf;
}

/* A dry run of c against vhost-refnet: ourselves with `run --filter ID
 * --trace`, the TAP dropped and the trace (stderr) kept. */
static char *dry_run(const struct vhc_case *c, int *status)
{
    char glob[300], *g = glob;   /* the id with glob characters escaped */
    for (const char *s = c->id; *s && g < glob + sizeof glob - 2; s++) {
        if (strchr("*?[\\", *s))
            *g++ = '\\';
        *g++ = *s;
    }
    *g = '\0';
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(p[1], STDERR_FILENO);
        const char *mode = c->flags & VHC_F_CLIENT_ONLY ? "client" : "server";
        execl("/proc/self/exe", "vhost-conform", "run", "--filter", glob, "--mode", mode,
              "--trace", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    bool late = false;
    time_t deadline = time(NULL) + (c->timeout_s ? c->timeout_s : VHC_DEFAULT_TIMEOUT_S) + 30;
    char *out = pid > 0 ? read_until(p[0], deadline, &late) : NULL;
    close(p[0]);
    if (pid > 0 && late)
        kill(pid, SIGTERM);   /* the runner cleans up and bails out on SIGTERM */
    if (pid > 0)
        waitpid(pid, status, 0);
    return out;
}

static void print_messages(const struct vhc_case *c)
{
    char *refnet = vhc_backend_default(VHC_MODE_SERVER);
    if (!refnet) {
        puts("messages:          (not shown: vhost-refnet not found)");
        return;
    }
    free(refnet);
    int status = 0;
    char *trace = dry_run(c, &status);
    puts("messages (as exchanged with vhost-refnet; a different back end may answer "
         "differently):");
    if (trace)
        print_message_lines(trace);
    if (!trace || !WIFEXITED(status) || WEXITSTATUS(status) > 1)
        printf("  (the dry run did not finish: %s %d)\n", !trace ? "could not start it, errno"
               : WIFEXITED(status) ? "exit status" : "signal",
               !trace ? errno : WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    else if (WEXITSTATUS(status) == 1)
        puts("  (the case failed against vhost-refnet: the exchange stops early)");
    free(trace);
}

static int cmd_explain(int argc, char **argv)
{
    if (wants_help(argc, argv))
        return vhc_help("explain") < 0 ? EXIT_USAGE : 0;
    bool messages = !(argc == 3 && strcmp(argv[2], "--no-messages") == 0);
    if ((argc != 2 && messages) || argv[1][0] == '-')
        return vhc_usage("explain");
    const struct vhc_case *c = vhc_case_find(argv[1]);
    if (!c) {
        fprintf(stderr, "vhost-conform: no case '%s' (see 'vhost-conform list')\n", argv[1]);
        return EXIT_USAGE;
    }
    printf("%-18s %s\n%-18s %s\n", "id:", c->id, "summary:", c->summary);
    print_text("rule:", c->rule);
    print_text("steps:", c->steps);
    if (c->tags)
        print_text("guards against:", c->tags);
    print_bits("features:", c->features, vhu_net_feature_name);
    print_bits("protocol features:", c->protocol_features, vhu_pf_name);
    print_bits("flags:", c->flags, vhc_case_flag_name);
    printf("%-18s %u s\n", "timeout:", c->timeout_s ? c->timeout_s : VHC_DEFAULT_TIMEOUT_S);
    fflush(stdout);   /* before the dry run's child inherits the buffer */
    if (messages)
        print_messages(c);
    return 0;
}

/* ---- profiles ---- */

static int show_profile(const char *name)
{
    for (unsigned i = 0; i < mfe_profile_nsources; i++)
        if (strcmp(mfe_profile_sources[i].name, name) == 0) {
            fputs(mfe_profile_sources[i].text, stdout);
            return 0;
        }
    fprintf(stderr, "vhost-conform: no profile '%s' (see 'vhost-conform profiles')\n", name);
    return EXIT_USAGE;
}

static int cmd_profiles(int argc, char **argv)
{
    if (wants_help(argc, argv))
        return vhc_help("profiles") < 0 ? EXIT_USAGE : 0;
    if (argc == 3 && strcmp(argv[1], "--show") == 0)
        return show_profile(argv[2]);
    if (argc != 1)
        return vhc_usage("profiles");
    for (unsigned i = 0; i < mfe_profile_count(); i++) {
        const struct mfe_profile *p = mfe_profile_at(i);
        printf("%-12s %s%s\n", p->name, p->description,
               strcmp(p->name, MFE_PROFILE_DEFAULT) == 0 ? " (default)" : "");
    }
    return 0;
}

/* ---- run ---- */

/* --profile NAME|all */
/* --fault SPEC: checked here, applied by the runner */
static int parse_fault(const char *spec, struct vhc_run_opts *o)
{
    struct mfe_fault ft;
    char err[256];
    if (mfe_fault_parse(spec, &ft, err, sizeof err) < 0) {
        fprintf(stderr, "vhost-conform: %s\n", err);
        return -1;
    }
    o->fault = spec;
    return 0;
}

/* --fault-matrix cut|truncate|corrupt|delay|kill */
static int parse_fault_matrix(const char *kind, struct vhc_run_opts *o)
{
    int k = mfe_fault_kind_parse(kind);
    o->fault_matrix = k > 0 ? k : 0;
    return k > 0 ? 0 : -1;
}

enum { OPT_FILTER = 256, OPT_EXPECT, OPT_TAP, OPT_JUNIT, OPT_HTML, OPT_LIST_ONLY, OPT_FAULT,
       OPT_FAULT_MATRIX, OPT_TRACE, OPT_REPEAT, OPT_SHARD, OPT_JOBS, OPT_HELP, OPT_STRICT };

/* run's own options; the back end's come from beopts.c */
#define RUN_BE (VHC_BE_REACH | VHC_BE_DEVICE | VHC_BE_PROFILES | VHC_BE_PROFILE_FILE | \
                VHC_BE_SCALE)
static const struct option run_options[] = {
    { "filter", required_argument, NULL, OPT_FILTER },
    { "expect", required_argument, NULL, OPT_EXPECT },
    { "tap", required_argument, NULL, OPT_TAP },
    { "junit", required_argument, NULL, OPT_JUNIT },
    { "html", required_argument, NULL, OPT_HTML },
    { "list-only", no_argument, NULL, OPT_LIST_ONLY },
    { "fault", required_argument, NULL, OPT_FAULT },
    { "fault-matrix", required_argument, NULL, OPT_FAULT_MATRIX },
    { "trace", no_argument, NULL, OPT_TRACE },
    { "repeat", required_argument, NULL, OPT_REPEAT },
    { "shard", required_argument, NULL, OPT_SHARD },
    { "jobs", required_argument, NULL, OPT_JOBS },
    { "help", no_argument, NULL, OPT_HELP },
    { "strict", no_argument, NULL, OPT_STRICT },
    { NULL, 0, NULL, 0 },
};

/* a count from 1 to max */
static int parse_count(const char *s, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (end == s || *end || s[0] == '-' || v < 1 || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* --shard K/N, 1 <= K <= N */
static int parse_shard(const char *s, struct vhc_run_opts *o)
{
    unsigned k, n;
    char tail;
    if (sscanf(s, "%u/%u%c", &k, &n, &tail) != 2 || k < 1 || k > n || n > 10000)
        return -1;
    o->shard_k = k;
    o->shard_n = n;
    return 0;
}

/* --expect FILE, or the NAME of a bundled list (fixtures/expectations/NAME.txt):
 * a word without '/' that is no file here */
static int find_expectations(const char *arg, struct vhc_run_opts *o)
{
    static char path[4096];
    char rel[300];
    o->expect_file = arg;
    if (strchr(arg, '/') || access(arg, F_OK) == 0 || strlen(arg) > 200)
        return 0;
    snprintf(rel, sizeof rel, "expectations/%s.txt", arg);
    if (mfe_fixture_path(path, sizeof path, rel) == 0 && access(path, R_OK) == 0)
        o->expect_file = path;
    return 0;
}

/* The run's options as typed, for the reports' header: shell words, the
 * back end left out (the header has it on its own line).  malloc'd. */
static char *options_text(int argc, char **argv)
{
    size_t cap = 1;
    for (int i = 1; i < argc; i++)
        cap += 4 * strlen(argv[i]) + 3;
    char *out = calloc(1, cap), *o = out;
    for (int i = 1; out && i < argc; i++) {
        const char *a = argv[i];
        bool valued = strcmp(a, "--backend") == 0 || strcmp(a, "--socket") == 0;
        if (valued || strncmp(a, "--backend=", 10) == 0 || strncmp(a, "--socket=", 9) == 0) {
            i += valued;
            continue;
        }
        bool plain = a[0] && a[strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                          "0123456789/._-+,:@%=")] == '\0';
        o += sprintf(o, "%s%s", o > out ? " " : "", plain ? "" : "'");
        for (; *a; a++)
            o += *a == '\'' ? sprintf(o, "'\\''") : sprintf(o, "%c", *a);
        o += sprintf(o, "%s", plain ? "" : "'");
    }
    return out;
}

/* One option into o; 1 = help, -1 = bad value. */
static int take_option(int opt, const char *arg, struct vhc_run_opts *o)
{
    switch (opt) {
    case OPT_FILTER:
        if (o->nfilter == VHC_MAX_FILTERS)
            return -1;
        o->filter[o->nfilter++] = arg;
        return 0;
    case OPT_EXPECT: return find_expectations(arg, o);
    case OPT_STRICT: o->strict = true; return 0;
    case OPT_TAP: o->tap_file = arg; return 0;
    case OPT_JUNIT: o->junit_file = arg; return 0;
    case OPT_HTML: o->html_file = arg; return 0;
    case OPT_LIST_ONLY: o->list_only = true; return 0;
    case OPT_FAULT: return parse_fault(arg, o);
    case OPT_FAULT_MATRIX: return parse_fault_matrix(arg, o);
    case OPT_TRACE: o->trace = true; return 0;
    case OPT_REPEAT: return parse_count(arg, 10000, &o->repeat);
    case OPT_SHARD: return parse_shard(arg, o);
    case OPT_JOBS: return parse_count(arg, 64, &o->jobs);
    case OPT_HELP: return 1;
    default: return -1;
    }
}

/* The back end's options into the runner's. */
static void take_backend(const struct vhc_beopts *b, struct vhc_run_opts *o)
{
    o->backend = b->backend;
    o->socket = b->socket;
    o->mode = b->mode;
    o->device = b->device;
    o->timeout_scale = b->timeout_scale;
    o->nprofiles = b->nprofiles;
    memcpy(o->profiles, b->profiles, sizeof o->profiles);
}

static int cmd_run(int argc, char **argv)
{
    struct vhc_run_opts o = { 0 };
    struct vhc_beopts b;
    vhc_beopts_init(&b, RUN_BE);
    struct option table[sizeof run_options / sizeof run_options[0] + VHC_BEOPT_COUNT];
    const struct option *opts = vhc_beopts_table(&b, run_options, table,
                                                 sizeof table / sizeof table[0]);
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int rc = vhc_beopts_take(&b, opt, optarg);
        if (rc == 1 && (rc = take_option(opt, optarg, &o)) == 1)
            return vhc_help("run") < 0 ? EXIT_USAGE : 0;
        if (rc < 0) {
            for (const struct option *p = opts; opt < VHC_BEOPT_FIRST && p->name; p++)
                if (p->val == opt)   /* the shared options say their own */
                    fprintf(stderr, "vhost-conform: bad value '%s' for --%s\n", optarg,
                            p->name);
            return vhc_usage("run");
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vhost-conform: unexpected argument '%s'\n", argv[optind]);
        return vhc_usage("run");
    }
    if (vhc_beopts_check(&b) < 0)
        return EXIT_USAGE;
    take_backend(&b, &o);
    if (o.socket && o.jobs > 1) {
        fprintf(stderr, "vhost-conform: --jobs needs a back end per job: use --backend\n");
        return EXIT_USAGE;
    }
    if (o.fault && o.fault_matrix) {
        fprintf(stderr, "vhost-conform: --fault and --fault-matrix exclude each other\n");
        return EXIT_USAGE;
    }
    char *options = options_text(argc, argv);
    o.options = options;
    int rc = vhc_run(&o);
    free(options);
    return rc;
}

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
} commands[] = {
    { "list", cmd_list }, { "explain", cmd_explain }, { "run", cmd_run },
    { "replay", vhc_cmd_replay }, { "record", vhc_cmd_record }, { "play", vhc_cmd_play },
    { "trace-diff", vhc_cmd_trace_diff },
    { "profiles", cmd_profiles }, { "report", vhc_cmd_report },
    { "shell", vhc_cmd_shell }, { "features", vhc_cmd_features },
};

int main(int argc, char **argv)
{
    if (argc < 2)
        return vhc_usage(NULL);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return vhc_help(NULL) < 0 ? EXIT_USAGE : 0;
    if (strcmp(argv[1], "--version") == 0 && argc == 2) {
        printf("vhost-conform %s (commit %s)\n", vhc_version, vhc_commit);
        return 0;
    }
    if (strcmp(argv[1], "help") == 0)   /* help [COMMAND], --man, --man-dir */
        return vhc_cmd_help(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return wants_help(argc - 1, argv + 1) ? (vhc_help(argv[1]) < 0 ? EXIT_USAGE : 0)
                                                  : commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "vhost-conform: unknown command '%s'\n", argv[1]);
    return vhc_usage(NULL);
}

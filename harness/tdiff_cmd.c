/* `vhost-conform trace-diff EXPECTED.log ACTUAL.log`: two traces compared
 * message by message after normalising what varies from run to run
 * (mfe_tdiff.h); differences side by side.  Exit 0 the same, 1 different,
 * 2 bad input. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "mfe_tdiff.h"
#include "play_cmd.h"

#define EXIT_USAGE 2

static const char usage_tdiff[] =
    "usage: vhost-conform trace-diff EXPECTED.log ACTUAL.log [OPTIONS]\n"
    "\n"
    "Compares two traces (fixtures/qemu-7.2/README.md format) message by message:\n"
    "direction, request, flags, size, fd count and kinds, payload.  Normalised\n"
    "first: sequence numbers, times, addresses (numbered @N by first appearance),\n"
    "ring bases after traffic (0 stays 0, others <n>), recorder notes, events\n"
    "(a new session is marked).\n"
    "\n"
    "  --width N     width of the side-by-side report (default 160)\n"
    "  --context N   equal lines shown around each difference (default 2)\n"
    "  --quiet       only the summary line\n";

int vhc_cmd_trace_diff(int argc, char **argv)
{
    static const struct option opts[] = {
        { "width", required_argument, NULL, 'w' }, { "context", required_argument, NULL, 'c' },
        { "quiet", no_argument, NULL, 'q' }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct mfe_tdiff_opts o = { .width = 160, .context = 2 };
    bool quiet = false;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'w': o.width = (unsigned)atoi(optarg); break;
        case 'c': o.context = (unsigned)atoi(optarg); break;
        case 'q': quiet = true; break;
        case 'h': fputs(usage_tdiff, stdout); return 0;
        default: fputs(usage_tdiff, stderr); return EXIT_USAGE;
        }
    }
    if (optind + 2 != argc || o.width < 40 || o.width > 1000 || o.context > 100) {
        fputs(usage_tdiff, stderr);
        return EXIT_USAGE;
    }
    o.want_name = argv[optind];
    o.got_name = argv[optind + 1];
    struct mfe_tdiff_log want, got;
    char err[512];
    if (mfe_tdiff_load(o.want_name, &want, err, sizeof err) < 0) {
        fprintf(stderr, "vhost-conform: %s\n", err);
        return EXIT_USAGE;
    }
    if (mfe_tdiff_load(o.got_name, &got, err, sizeof err) < 0) {
        fprintf(stderr, "vhost-conform: %s\n", err);
        mfe_tdiff_free(&want);
        return EXIT_USAGE;
    }
    unsigned diffs = mfe_tdiff_compare(&want, &got, &o, quiet ? NULL : stdout);
    printf("trace-diff: %s: %u message(s) expected, %u recorded, %u line(s) differ\n",
           diffs ? "DIFFERENT" : "same", want.messages, got.messages, diffs);
    mfe_tdiff_free(&want);
    mfe_tdiff_free(&got);
    return diffs ? 1 : 0;
}

/* `vhost-conform trace-diff EXPECTED.log ACTUAL.log`: two traces compared
 * message by message after normalising what varies from run to run
 * (mfe_tdiff.h); differences side by side.  Exit 0 the same, 1 different,
 * 2 bad input. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "mfe_tdiff.h"
#include "play_cmd.h"

#define EXIT_USAGE 2

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
        case 'h': return vhc_help("trace-diff") < 0 ? EXIT_USAGE : 0;
        default: return vhc_usage("trace-diff");
        }
    }
    if (optind + 2 != argc || o.width < 40 || o.width > 1000 || o.context > 100) {
        return vhc_usage("trace-diff");
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

/* Man-page style help: `vhost-conform help COMMAND` and `COMMAND --help`.
 * One text per command, in the sections of a man page.  These texts are the
 * only source: the usage a bad option prints is their SYNOPSIS and OPTIONS
 * (help_fmt.c), and the installed man pages are made from them
 * (`help --man-dir`). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char exit_common[] =
    "EXIT STATUS\n"
    "  0  nothing failed unexpectedly\n"
    "  1  a case (or a command) failed\n"
    "  2  usage or setup error (bad option, no back end)\n"
    "  130, 143  interrupted by SIGINT, SIGTERM (128 + the signal's number)\n";

static const struct vhc_help_page pages[] = {
    { "list",
      "NAME\n  vhost-conform list - the conformance cases\n\n"
      "SYNOPSIS\n  vhost-conform list [GLOB]\n\n"
      "DESCRIPTION\n  Prints every case id (sorted) with its one-line summary; GLOB\n"
      "  (fnmatch) narrows the list.  Every id is written out whole in the case\n"
      "  files of the source tree: grep -rnF '\"ID\"' cases/ finds its definition.\n\n"
      "EXIT STATUS\n  0  listed\n  2  no case matches GLOB, or a usage error\n\n"
      "EXAMPLES\n  vhost-conform list 'negotiation/*'\n", false },
    { "explain",
      "NAME\n  vhost-conform explain - what one case checks and sends\n\n"
      "SYNOPSIS\n  vhost-conform explain CASE [--no-messages]\n\n"
      "DESCRIPTION\n  Prints the case's spec rule, its steps, the features and protocol\n"
      "  features it needs, its flags and timeout, then the messages it\n"
      "  exchanges: a dry run against the bundled vhost-refnet (run --trace),\n"
      "  decoded as in the fixtures.  Another back end may answer otherwise.\n\n"
      "OPTIONS\n  --no-messages   skip the dry run (skipped too without vhost-refnet)\n\n"
      "EXAMPLES\n  vhost-conform explain negotiation/get-features\n", true },
    { "run",
      "NAME\n  vhost-conform run - run cases against a back end, TAP 14 on stdout\n\n"
      "SYNOPSIS\n  vhost-conform run [--backend 'CMD {socket}' | --socket PATH] [--filter GLOB]...\n"
      "                    [--jobs N] [--shard K/N] [--repeat N] [--trace] [OPTIONS]\n\n"
      "DESCRIPTION\n  Each case runs in its own process against a fresh back end (started\n"
      "  from --backend, default the bundled vhost-refnet) on a private socket.\n"
      "  TAP 14 goes to stdout.  Its header comments say what produced it:\n"
      "  version, commit, date, host, back end, mode, profile, device and\n"
      "  options; JUnit and HTML reports carry the same.  Progress goes to\n"
      "  stderr: a line per case when stderr is a terminal (and stdout is not\n"
      "  that terminal, where the TAP lines are the progress), otherwise a\n"
      "  compact line every 30 s and one at the end, for CI logs.\n\n"
      "OPTIONS\n"
      "  --backend 'CMD {socket}'  back end to start per case; {socket}, {mode} and\n"
      "                  {n} (the job number, 0..N-1: give DPDK a distinct\n"
      "                  --file-prefix=vhc{n} under --jobs) are replaced\n"
      "  --socket PATH   a back end that is already running (no --jobs)\n"
      "  --mode server|client  the back end's side of the socket (default server)\n"
      "  --device net|blk|fs  the back end's device type (default net); net-only\n"
      "                  cases (frames, queue pairs) SKIP for the others\n"
      "  --filter GLOB   only matching cases (repeatable: any)\n"
      "  --expect FILE|NAME  known failures: 'CASE[@mode] VERDICT[:RULE] reason'\n"
      "                  lines (fail:RULE covers only a failure of that rule); a\n"
      "                  NAME without '/' that is no file is a bundled list\n"
      "                  (dpdk-22.11, ovs-dpdk-3.1, qemu-storage-daemon-7.2,\n"
      "                  virtiofsd-7.2)\n"
      "  --strict        a case the expectations list that passes fails the run\n"
      "  --tap FILE, --junit FILE, --html FILE  also write these\n"
      "  --timeout-scale X  multiply every deadline by X (default 1)\n"
      "  --list-only     print the selected cases and exit\n"
      "  --profile NAME|all  the QEMU version imitated (default qemu-7.2; see\n"
      "                  'vhost-conform profiles'); repeatable; all = every case\n"
      "                  once per profile, ids suffixed @NAME\n"
      "  --profile-file PATH  a profile of your own (format: 'profiles --show')\n"
      "  --fault KIND@N|KIND@REQ  break every case at its Nth message (or first\n"
      "                  REQ): cut, truncate, corrupt, delay[:MS], kill\n"
      "  --fault-matrix KIND  one test per message of a clean init+start+stop:\n"
      "                  the fault there, then a fresh connection must work\n"
      "  --trace         every message, decoded, to stderr as it goes\n"
      "  --repeat N      run each selected case N times; ids get '@repK' (K = 1..N)\n"
      "  --shard K/N     only every N-th case of the sorted selection, from\n"
      "                  the K-th (1-based); shards 1/N..N/N cover it exactly\n"
      "  --jobs N        N cases at once, each with its own back end; TAP stays\n"
      "                  in list order\n\n"
      "ENVIRONMENT\n"
      "  TMPDIR          where the private directories go (default /tmp)\n"
      "  VHC_FIXTURES    the fixtures directory (replay traces, expectations);\n"
      "                  default: the installed one (../share/vhost-conform/fixtures\n"
      "                  from the binary), else the source tree's\n"
      "  VHC_PROGRESS_INTERVAL  seconds between compact progress lines (default 30)\n\n"
      "EXIT STATUS\n"
      "  0  nothing failed unexpectedly (a listed failure that passed is counted\n"
      "     as xpass in the summary line and named on stderr)\n"
      "  1  a case failed: fail, timeout, crash or broken, not listed in --expect;\n"
      "     with --strict also a listed failure that passed\n"
      "  2  usage or setup error (bad option, no case matches, no {socket}, no\n"
      "     such program, socket path too long, the back end exits before it\n"
      "     listens or connects): Bail out!\n"
      "  128+N  interrupted by signal N (130 SIGINT, 129 SIGHUP, 143 SIGTERM):\n"
      "     the run bails out, cleans up\n\n"
      "EXAMPLES\n"
      "  vhost-conform run --filter 'negotiation/*'\n"
      "  vhost-conform run --jobs 2 --backend 'dpdk-testpmd --no-pci --file-prefix=vhc{n}\n"
      "      --vdev net_vhost0,iface={socket} -- -i' --expect dpdk-22.11\n"
      "  vhost-conform run --shard 1/2 --tap a.tap; vhost-conform run --shard 2/2 --tap b.tap\n"
      "  vhost-conform report --html all.html a.tap b.tap\n", false },
    { "shell",
      "NAME\n  vhost-conform shell - talk vhost-user to a back end by hand\n\n"
      "SYNOPSIS\n  vhost-conform shell [--backend 'CMD {socket}' | --socket PATH]\n"
      "                      [--profile NAME] [--timeout MS]\n\n"
      "DESCRIPTION\n  Connects (starting the back end first unless --socket) and reads\n"
      "  commands: a front-end request by name with its arguments, or one of\n"
      "  the commands below.  Every message sent and received is printed\n"
      "  decoded.  Every wait ends after --timeout MS (default 3000).  When the\n"
      "  back end closes the connection (or exits) the shell says so at once,\n"
      "  not at the next command.  On a terminal: line editing, history\n"
      "  (~/.vhost-conform_history) and completion (libedit); from a pipe: one\n"
      "  command per line, '#' starts a comment, each command is echoed after '> '.\n\n"
      "OPTIONS\n"
      "  --backend 'CMD {socket}'  the back end to start (default: vhost-refnet)\n"
      "  --socket PATH   a back end that is already listening\n"
      "  --profile NAME  the QEMU version qemu-init/start/stop imitate\n"
      "  --timeout MS    how long every wait lasts (default 3000)\n"
      "  --timeout-scale X  multiply every wait by X (default 1)\n\n"
      "COMMANDS\n"
      "  GET_FEATURES, SET_FEATURES 0x..., SET_VRING_NUM IDX NUM, SET_VRING_BASE\n"
      "  IDX NUM, GET_VRING_BASE IDX, SET_VRING_ADDR IDX, SET_VRING_KICK IDX\n"
      "  (a fresh eventfd; IDX|0x100 for none), SET_MEM_TABLE, ... any request\n"
      "  with no, u64, vring-state, address or memory payload\n"
      "  qemu-init [PAIRS], qemu-start, qemu-stop  the profile's QEMU sequences\n"
      "  mem             guest memory (QEMU layout) and SET_MEM_TABLE\n"
      "  raw HEX...      bytes as they are; shows any answer within 300 ms\n"
      "  recv [MS]       wait for one message\n"
      "  need-reply on|off  NEED_REPLY on every request\n"
      "  reconnect       close the connection and connect again (a new session)\n"
      "  kill [SIGNAL]   send the back end started here SIGNAL (default KILL)\n"
      "  restart         stop the back end started here, start it again, reconnect\n"
      "  help, quit\n\n"
      "EXIT STATUS\n  0 every command worked, 1 some failed, 2 usage or connection error\n\n"
      "EXAMPLES\n  printf 'GET_FEATURES\\nqemu-init\\n' | vhost-conform shell\n"
      "  printf 'qemu-init\\nkill\\nrestart\\nqemu-init\\n' | vhost-conform shell\n", false },
    { "features",
      "NAME\n  vhost-conform features - the device a guest would see\n\n"
      "SYNOPSIS\n  vhost-conform features [--backend 'CMD {socket}' | --socket PATH]\n"
      "                         [--profile NAME|all]\n\n"
      "DESCRIPTION\n  Connects, runs the profile's init sequence and prints the virtio-net\n"
      "  features offered, those a virtio-net-pci guest can get after QEMU's\n"
      "  mask (profile guest_features) and those masked, the protocol features\n"
      "  offered and acked, the queue pairs and, with CONFIGURE_MEM_SLOTS, the\n"
      "  maximum memory slots.\n\n"
      "OPTIONS\n"
      "  --backend 'CMD {socket}'  the back end to start (default: vhost-refnet)\n"
      "  --socket PATH   a back end that is already listening\n"
      "  --profile NAME|all  the QEMU version (default qemu-7.2); repeatable;\n"
      "                  all = each\n"
      "  --timeout-scale X  multiply every wait by X (default 1)\n\n"
      "EXIT STATUS\n  0 printed, 1 init failed, 2 usage or connection error\n\n"
      "EXAMPLES\n  vhost-conform features --profile all\n", false },
    { "report",
      "NAME\n  vhost-conform report - one report from saved TAP files\n\n"
      "SYNOPSIS\n  vhost-conform report [--junit FILE] [--html FILE] [--tap FILE] TAP...\n\n"
      "DESCRIPTION\n  Reads the TAP of runs saved with 'run --tap' and writes one JUnit\n"
      "  file (a <testsuite> per run) and one HTML matrix (a column per run).\n"
      "  The outputs of 'run --shard K/N' (header '# shard: K/N') with the same\n"
      "  back end, mode, profile and N are one run: one column.  A case in two\n"
      "  shards, or a shard given twice, is an error; a missing shard a warning.\n"
      "  What the TAP header says of each run (version, commit, date, host,\n"
      "  back end, mode, profile, device, options) goes into the reports.\n\n"
      "OPTIONS\n"
      "  --junit FILE    write JUnit XML\n"
      "  --html FILE     write one self-contained HTML page\n"
      "  --tap FILE      write the (one) run as one TAP 14 stream, sorted by id\n\n"
      "EXAMPLES\n  vhost-conform report --html r.html refnet.tap dpdk.tap\n"
      "  vhost-conform report --tap all.tap --html all.html s1.tap s2.tap\n", true },
    { "replay",
      "NAME\n  vhost-conform replay - replay a recorded trace\n\n"
      "SYNOPSIS\n  vhost-conform replay TRACE [--backend CMD | --socket PATH] [OPTIONS]\n\n"
      "DESCRIPTION\n  Replays TRACE.log/TRACE.raw (fixtures/qemu-7.2 format) message by\n"
      "  message with live fds and addresses; compares every reply with the trace's.\n"
      "  A TRACE that is no file is looked for in the fixtures (qemu-7.2/b1_boot).\n"
      "  Where the recording killed the back end between sessions (d1), the\n"
      "  back end started here is killed and started again there.\n\n"
      "OPTIONS\n"
      "  --backend 'CMD {socket}'  back end to start (default: the bundled vhost-refnet)\n"
      "  --socket PATH   a back end that is already running\n"
      "  --mode server|client  the back end's side of the socket (default server)\n"
      "  --timeout-ms N  wait for each reply up to N ms (default 3000)\n"
      "  --quiet         print only what is not 'ok'\n"
      "  --timeout-scale X  multiply every wait by X (default 1)\n\n"
      "EXAMPLES\n  vhost-conform replay qemu-7.2/b1_boot\n", true },
    { "record",
      "NAME\n  vhost-conform record - record a front end's trace\n\n"
      "SYNOPSIS\n  vhost-conform record --listen A --connect B [--log F] [--raw F]\n\n"
      "DESCRIPTION\n  A proxy between a front end (connects to A) and a back end (listens\n"
      "  on B) writing every message in the fixtures' trace format.\n\n"
      "OPTIONS\n  --listen PATH   the socket the front end connects to\n"
      "  --connect PATH  the back end's socket\n"
      "  --log FILE.log  decoded lines (default stdout)\n"
      "  --raw FILE.raw  exact bytes per message\n"
      "  --device net|blk|fs  how to name feature bits\n"
      "  --sessions N    exit after N front-end sessions (default: until a signal)\n"
      "  --wait S        give up when no peer comes within S seconds (default 300)\n"
      "  --front-connect connect to the front end at A (a QEMU chardev server)\n"
      "  --pause-ms N    between sessions (default 500)\n\n"
      "EXAMPLES\n  vhost-conform record --listen /tmp/a.sock --connect /tmp/b.sock --log t.log\n",
      true },
    { "play",
      "NAME\n  vhost-conform play - what a QEMU does to a back end in one scenario\n\n"
      "SYNOPSIS\n  vhost-conform play SCENARIO [--profile P] [--device net|blk|fs] [--queues N]\n"
      "                     [--backend 'CMD {socket}' | --socket PATH] [--mode M] [OPTIONS]\n"
      "  vhost-conform play --list\n\n"
      "DESCRIPTION\n  Plays one scenario the way the QEMU of --profile does it, with the\n"
      "  message order, flags, sizes, fd counts and payloads of the recorded\n"
      "  traces (fixtures/qemu-7.2, -8.2, -10.2): init, boot (start, traffic,\n"
      "  poweroff), guest-cycle (driver unbind/rebind, rmmod/insmod), host-cycle\n"
      "  (QMP stop/cont), link-cycle (set_link off/on), reconnect (back end killed and\n"
      "  restarted, QEMU reconnects), disconnect (the same without reconnect=),\n"
      "  reset (system_reset).  One line per step; --trace shows every message.\n"
      "  Exit 1 when a step failed or the back end completed none of the traffic.\n"
      "  'play --list' names the traces each scenario follows; the fidelity\n"
      "  tests (ctest -L fidelity) replay every one of them.\n\n"
      "OPTIONS\n"
      "  --profile NAME  the QEMU imitated (default qemu-7.2)\n"
      "  --profile-file PATH  a profile of your own\n"
      "  --device net|blk|fs  the back end's device (default net)\n"
      "  --queues N      net queue pairs, blk queues, fs request queues (default 1)\n"
      "  --backend 'CMD {socket}'  back end to start; {socket} and {mode} are\n"
      "                  replaced (default: the bundled vhost-refnet, net only);\n"
      "                  the kill of reconnect and disconnect needs --backend\n"
      "  --socket PATH   a back end already running (no kill, no restart)\n"
      "  --mode server|client  the back end's side of the socket (default server)\n"
      "  --backend-socket PATH  {socket} for --backend (default: a private path)\n"
      "  --via PATH      the front end uses PATH, not {socket}: a proxy such as\n"
      "                  'vhost-conform record' in between\n"
      "  --backend-log PATH  the back end's output (default: a private file,\n"
      "                  shown when play fails)\n"
      "  --down-ms N     how long a killed back end stays down (default 500)\n"
      "  --repeat N      play it N times, a fresh QEMU each time\n"
      "  --timeout-ms N  every wait (default 5000)\n"
      "  --timeout-scale X  multiply every wait by X (default 1)\n"
      "  --trace         every message, decoded, to stderr as it goes\n"
      "  --list          the scenarios, with the traces each follows\n\n"
      "EXAMPLES\n  vhost-conform play reconnect --backend 'my-vhost --socket {socket}' --repeat 50\n"
      "  vhost-conform play boot --device blk --backend 'qemu-storage-daemon ...'\n", true },
    { "trace-diff",
      "NAME\n  vhost-conform trace-diff - compare two traces, normalised\n\n"
      "SYNOPSIS\n  vhost-conform trace-diff EXPECTED.log ACTUAL.log [--width N] [--context N]\n"
      "                           [--quiet]\n\n"
      "DESCRIPTION\n  Compares two traces in the fixtures' format message by message:\n"
      "  direction, request, flags, size, fd count and kinds, payload.  What varies\n"
      "  from run to run is normalised first: sequence numbers and times,\n"
      "  addresses (numbered @N by first appearance, so new rings still differ\n"
      "  from the same rings), ring bases after traffic (0 stays 0, others <n>),\n"
      "  the recorder's notes, events (a new session is marked).  Differences are\n"
      "  printed side by side ('<' only expected, '>' only actual, '|' changed,\n"
      "  with where the two lines part).\n\n"
      "OPTIONS\n"
      "  --width N       width of the side-by-side report (default 160, 40..1000)\n"
      "  --context N     equal lines shown around each difference (default 2)\n"
      "  --quiet         only the summary line\n\n"
      "EXIT STATUS\n  0  the same\n  1  different\n  2  a file is missing or not a trace\n\n"
      "EXAMPLES\n  vhost-conform trace-diff fixtures/qemu-7.2/b1_boot.log mine.log\n", false },
    { "profiles",
      "NAME\n  vhost-conform profiles - the bundled QEMU profiles\n\n"
      "SYNOPSIS\n  vhost-conform profiles [--show NAME]\n\n"
      "DESCRIPTION\n  Lists the QEMU versions the mock front end imitates (--profile).\n\n"
      "OPTIONS\n  --show NAME     print one profile's source\n\n"
      "EXAMPLES\n  vhost-conform profiles --show qemu-8.2\n", true },
    { "help",
      "NAME\n  vhost-conform help - the manual pages\n\n"
      "SYNOPSIS\n  vhost-conform help [COMMAND]\n"
      "  vhost-conform help --man [COMMAND] | --man-dir DIR\n\n"
      "DESCRIPTION\n  Prints a command's manual page ('vhost-conform COMMAND --help' is the\n"
      "  same), or with no COMMAND the overview.  The installed man pages\n"
      "  (man vhost-conform-run) are made from these texts.\n\n"
      "OPTIONS\n  --man [COMMAND]  the page as roff (man(7)) on stdout\n"
      "  --man-dir DIR   every page as DIR/vhost-conform[-COMMAND].1\n\n"
      "EXAMPLES\n  vhost-conform help run\n  vhost-conform help --man run | man -l -\n", true },
    { NULL, NULL, false },
};

static const char overview[] =
    "NAME\n  vhost-conform - conformance suite for vhost-user back ends\n\n"
    "SYNOPSIS\n  vhost-conform COMMAND [OPTIONS]\n  vhost-conform help [COMMAND]\n"
    "  vhost-conform --version\n\n"
    "COMMANDS\n"
    "  list [GLOB]   case ids and summaries\n"
    "  explain CASE  rule, steps and messages of a case\n"
    "  run           run cases; TAP 14 on stdout\n"
    "  shell         type requests by name, see decoded replies\n"
    "  features      what a guest would see of a back end, per QEMU profile\n"
    "  report        JUnit / HTML / merged TAP from saved TAP files\n"
    "  replay, record  replay / record message traces\n"
    "  play          what a QEMU does in a scenario (boot, reconnect, ...)\n"
    "  trace-diff    compare two traces, normalised, side by side\n"
    "  profiles      the bundled QEMU profiles\n"
    "  help          a command's manual page\n\n"
    "OPTIONS\n"
    "  --version     the version and the commit it was built from\n"
    "  --help        this page\n\n"
    "FILES\n"
    "  ../share/vhost-conform/fixtures  from the binary: replay traces, QEMU\n"
    "                profiles (also built in) and expectations of known back ends\n"
    "  /usr/share/bash-completion/completions/vhost-conform  bash completion\n"
    "                (in the source: scripts/vhost-conform.bash-completion)\n\n";

const struct vhc_help_page *vhc_help_pages(void)
{
    return pages;
}

const struct vhc_help_page *vhc_help_find(const char *command)
{
    static const struct vhc_help_page top = { NULL, overview, true };
    if (!command)
        return &top;
    for (const struct vhc_help_page *p = pages; p->name; p++)
        if (strcmp(p->name, command) == 0)
            return p;
    return NULL;
}

const char *vhc_help_exit_common(void)
{
    return exit_common;
}

int vhc_help(const char *command)
{
    const struct vhc_help_page *p = vhc_help_find(command);
    if (!p) {
        fprintf(stderr, "vhost-conform: no help for '%s'\n", command);
        return -1;
    }
    fputs(p->text, stdout);
    if (p->common_exit) {
        if (p->name)
            putchar('\n');
        fputs(exit_common, stdout);
    }
    return 0;
}

/* vhost-conform shell: type vhost-user requests by name, see every message
 * decoded.  On a terminal with libedit: line editing, history, completion of
 * request and command names; otherwise (a pipe) plain lines, so scripts and
 * tests can drive it. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "beopts.h"
#include "cli.h"

#ifdef VHC_HAVE_LIBEDIT
#include <editline/readline.h>
#endif

#define SHELL_TIMEOUT_MS 3000
#define MAX_ARGS 8
#define RAW_MAX VHU_HDR_SIZE + VHU_MAX_PAYLOAD
#define QUIET_MS 300      /* after raw bytes: how long to listen for an answer */

struct shell {
    struct mfe *fe;
    struct vhc_cli_conn *conn;
    bool need_reply;      /* set NEED_REPLY on every request */
    bool done;
    int failures;         /* commands that failed: the exit status */
    /* what the shell has told already, so each is told once: the back end
     * closed the connection, sent bytes unasked, exited */
    bool told_closed, told_data, told_exit;
    bool interactive;     /* libedit's line editing on a terminal */
};

typedef int (*shell_fn)(struct shell *sh, int argc, char **argv);

/* ---- numbers ---- */

static bool parse_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    *v = strtoull(s, &end, 0);
    return s[0] != '-' && end != s && !*end && errno == 0;
}

static bool parse_u32(const char *s, uint32_t *v)
{
    uint64_t x;
    if (!parse_u64(s, &x) || x > UINT32_MAX)
        return false;
    *v = (uint32_t)x;
    return true;
}

static int bad_args(const char *what)
{
    printf("usage: %s\n", what);
    return -1;
}

/* ---- the front end's view, kept current as requests go by ---- */

/* What the back end said or we acked, so later requests (REPLY_ACK) and
 * qemu-start behave as after a real negotiation. */
static void remember(struct mfe *fe, const struct vhu_msg *m, const struct vhu_msg *r)
{
    switch (m->hdr.request) {
    case VHU_REQ_GET_FEATURES: fe->features = r->u.u64; break;
    case VHU_REQ_GET_PROTOCOL_FEATURES: fe->protocol_features = r->u.u64; break;
    case VHU_REQ_SET_FEATURES: fe->acked_features = m->u.u64; break;
    case VHU_REQ_SET_PROTOCOL_FEATURES:
        fe->acked_protocol_features = m->u.u64;
        fe->protocol_acked = true;
        break;
    case VHU_REQ_GET_QUEUE_NUM: fe->queue_num = (unsigned)r->u.u64; break;
    default: break;
    }
}

/* ---- building a request from its arguments, by payload kind ---- */

static bool is_vring_fd(uint32_t req)
{
    return req == VHU_REQ_SET_VRING_KICK || req == VHU_REQ_SET_VRING_CALL ||
           req == VHU_REQ_SET_VRING_ERR;
}

static int build_u64(struct vhu_msg *m, int argc, char **argv)
{
    uint64_t v;
    if (argc != 2 || !parse_u64(argv[1], &v))
        return bad_args("REQUEST VALUE  (a vring fd request: INDEX, | 0x100 for no fd)");
    m->u.u64 = v;
    m->hdr.size = sizeof m->u.u64;
    /* a fresh eventfd, as QEMU passes one; ours closes after the send */
    if (is_vring_fd(m->hdr.request) && !(v & VHU_VRING_NOFD)) {
        int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fd < 0 || !vhu_msg_add_fd(m, fd))
            return -1;
    }
    return 0;
}

static int build_state(struct vhu_msg *m, int argc, char **argv)
{
    uint32_t idx, num = 0;
    if (argc < 2 || argc > 3 || !parse_u32(argv[1], &idx) ||
        (argc == 3 && !parse_u32(argv[2], &num)))
        return bad_args("REQUEST INDEX [NUM]");
    m->u.state = (struct vhu_vring_state){ idx, num };
    m->hdr.size = sizeof m->u.state;
    return 0;
}

/* SET_VRING_ADDR IDX [NUM]: the ring laid out in guest memory (see mem) */
static int build_addr(struct mfe *fe, struct vhu_msg *m, int argc, char **argv)
{
    uint32_t idx, num = 256;
    if (argc < 2 || argc > 3 || !parse_u32(argv[1], &idx) || idx >= MFE_MAX_VQ ||
        (argc == 3 && !parse_u32(argv[2], &num)))
        return bad_args("SET_VRING_ADDR INDEX [RING-SIZE]  (after 'mem')");
    if (!fe->mem.nregions) {
        printf("no guest memory yet: run 'mem' first\n");
        return -1;
    }
    if (!fe->vq[idx].ready && mfe_vq_setup(fe, idx, num) < 0) {
        printf("%s\n", mfe_error(fe));
        return -1;
    }
    vhu_msg_addr(m, &(struct vhu_vring_addr){ 0 });
    mfe_vq_addr(fe, idx, &m->u.addr);
    return 0;
}

static int build_mem(struct mfe *fe, struct vhu_msg *m)
{
    if (!fe->mem.nregions) {
        printf("no guest memory yet: run 'mem' first\n");
        return -1;
    }
    struct vhu_region regions[VHU_MAX_REGIONS];
    int fds[VHU_MAX_REGIONS];
    unsigned n = mfe_mem_table(&fe->mem, regions, fds);
    vhu_msg_mem(m, regions, fds, n);
    return 0;
}

static int build(struct shell *sh, const struct vhu_req_desc *d, struct vhu_msg *m, int argc,
                 char **argv)
{
    vhu_msg_init(m, d->num, VHU_VERSION | (sh->need_reply ? VHU_FLAG_NEED_REPLY : 0));
    switch (d->payload) {
    case VHU_P_NONE:
        return argc == 1 ? 0 : bad_args("REQUEST  (it carries no payload)");
    case VHU_P_U64: return build_u64(m, argc, argv);
    case VHU_P_STATE: return build_state(m, argc, argv);
    case VHU_P_ADDR: return build_addr(sh->fe, m, argc, argv);
    case VHU_P_MEM: return argc == 1 ? build_mem(sh->fe, m) : bad_args("SET_MEM_TABLE");
    default:
        printf("%s: this payload is not built by the shell; use 'raw HEX'\n",
                d->name);
        return -1;
    }
}

/* A request typed by name: build, send, wait for what it owes. */
static int do_request(struct shell *sh, const struct vhu_req_desc *d, int argc, char **argv)
{
    struct vhu_msg m, r;
    if (build(sh, d, &m, argc, argv) < 0) {
        if (d->payload != VHU_P_MEM)
            vhu_msg_close_fds(&m);
        return -1;
    }
    /* an ack of REPLY_ACK is owed by the message that acks it */
    if (m.hdr.request == VHU_REQ_SET_PROTOCOL_FEATURES)
        remember(sh->fe, &m, &m);
    int rc = mfe_request(sh->fe, &m, &r);
    if (d->payload != VHU_P_MEM)   /* the memory's fds stay with fe->mem */
        vhu_msg_close_fds(&m);
    if (rc == 0)
        remember(sh->fe, &m, &r);
    vhu_msg_close_fds(&r);
    if (rc == 0 && !mfe_expects_reply(sh->fe, &m))
        printf("(no reply owed)\n");
    return rc;
}

/* ---- shell commands ---- */
/* Output, errors included, goes to stdout in order: it reads as a session. */

static int sh_qemu_init(struct shell *sh, int argc, char **argv)
{
    uint32_t pairs = 1;
    if (argc > 2 || (argc == 2 && (!parse_u32(argv[1], &pairs) || !pairs)))
        return bad_args("qemu-init [QUEUE-PAIRS]");
    return mfe_qemu_init(sh->fe, pairs);
}

static int sh_qemu_start(struct shell *sh, int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return bad_args("qemu-start");
    struct mfe_start_opts o = { .reuse_memory = sh->fe->mem.nregions > 0 };
    return mfe_qemu_start(sh->fe, &o);
}

static int sh_qemu_stop(struct shell *sh, int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return bad_args("qemu-stop");
    return mfe_qemu_stop(sh->fe, NULL);
}

/* guest memory laid out as QEMU's (profile size), then SET_MEM_TABLE */
static int sh_mem(struct shell *sh, int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return bad_args("mem");
    struct mfe *fe = sh->fe;
    if (!fe->mem.nregions) {
        const struct mfe_profile *p = fe->profile ? fe->profile : mfe_profile_current();
        if (mfe_mem_create(&fe->mem, (uint64_t)p->mem_mb << 20, MFE_LAYOUT_QEMU, 2) < 0) {
            printf("cannot create guest memory: %s\n", strerror(errno));
            return -1;
        }
    }
    char *args[] = { "SET_MEM_TABLE" };
    return do_request(sh, vhu_req_desc(VHU_CH_FRONT, VHU_REQ_SET_MEM_TABLE), 1, args);
}

static int hex_value(int c)
{
    return isdigit(c) ? c - '0' : isxdigit(c) ? tolower(c) - 'a' + 10 : -1;
}

/* Hex digits, spaces anywhere between bytes. */
static int parse_hex(int argc, char **argv, uint8_t *buf, size_t cap, size_t *len)
{
    int hi = -1;
    *len = 0;
    for (int i = 1; i < argc; i++)
        for (const char *p = argv[i]; *p; p++) {
            int v = hex_value((unsigned char)*p);
            if (v < 0 || (hi < 0 && *len == cap))
                return -1;
            if (hi < 0) {
                hi = v;
            } else {
                buf[(*len)++] = (uint8_t)(hi << 4 | v);
                hi = -1;
            }
        }
    return hi < 0 && *len ? 0 : -1;
}

/* bytes as they are; then listen briefly for whatever comes back */
static int sh_raw(struct shell *sh, int argc, char **argv)
{
    uint8_t buf[RAW_MAX];
    size_t len;
    if (parse_hex(argc, argv, buf, sizeof buf, &len) < 0)
        return bad_args("raw HEX...  (e.g. raw 01000000 01000000 00000000)");
    int rc = mfe_send_raw(sh->fe, buf, len, NULL, 0);
    if (rc < 0)
        return rc;
    printf("(sent %zu bytes)\n", len);
    fflush(stdout);
    rc = mfe_expect_silence(sh->fe, QUIET_MS);
    if (rc == VHU_IO_TIMEOUT)
        printf("(no answer within %d ms)\n", QUIET_MS);
    return rc == VHU_IO_TIMEOUT || rc == 0 ? 0 : rc;
}

/* wait for one message from the back end */
static int sh_recv(struct shell *sh, int argc, char **argv)
{
    uint32_t ms = SHELL_TIMEOUT_MS;
    if (argc > 2 || (argc == 2 && !parse_u32(argv[1], &ms)))
        return bad_args("recv [MS]");
    int rc = mfe_expect_silence(sh->fe, (int)ms);
    if (rc == VHU_IO_TIMEOUT)
        printf("(nothing within %u ms)\n", ms);
    return rc == VHU_IO_TIMEOUT || rc == 0 ? 0 : rc;
}

static int sh_need_reply(struct shell *sh, int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "on") == 0 || strcmp(argv[1], "off") == 0))
        sh->need_reply = strcmp(argv[1], "on") == 0;
    else if (argc != 1)
        return bad_args("need-reply [on|off]");
    printf("need-reply %s\n", sh->need_reply ? "on" : "off");
    return 0;
}

static int sh_quit(struct shell *sh, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    sh->done = true;
    return 0;
}

/* ---- the back end's life cycle ---- */

/* A fresh connection (reconnect, restart): its close will be told again. */
static int fresh(struct shell *sh, int rc)
{
    sh->told_closed = sh->told_data = false;
    return rc;
}

static int sh_reconnect(struct shell *sh, int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return bad_args("reconnect");
    return fresh(sh, vhc_cli_reconnect(sh->conn));
}

/* "KILL", "SIGKILL" or "9" */
static int signal_number(const char *s)
{
    char *end;
    long n = strtol(s, &end, 10);
    if (*s && !*end)
        return n > 0 && n < NSIG ? (int)n : -1;
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (int i = 1; i < NSIG; i++)
        if (sigabbrev_np(i) && strcasecmp(s, sigabbrev_np(i)) == 0)
            return i;
    return -1;
}

static int sh_kill(struct shell *sh, int argc, char **argv)
{
    int sig = argc == 2 ? signal_number(argv[1]) : SIGKILL;
    if (argc > 2 || sig < 0)
        return bad_args("kill [SIGNAL]  (KILL, TERM, SEGV, STOP, CONT, ... or a number)");
    return vhc_cli_kill(sh->conn, sig);
}

static int sh_restart(struct shell *sh, int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return bad_args("restart");
    sh->told_exit = false;
    return fresh(sh, vhc_cli_restart(sh->conn));
}

static int sh_help(struct shell *sh, int argc, char **argv);

static const struct {
    const char *name, *args, *help;
    shell_fn fn;
} commands[] = {
    { "qemu-init", "[PAIRS]", "the profile's vhost_dev_init sequence", sh_qemu_init },
    { "qemu-start", "", "vhost_net_start: memory, rings, features, enable", sh_qemu_start },
    { "qemu-stop", "", "vhost_net_stop: GET_VRING_BASE per ring", sh_qemu_stop },
    { "mem", "", "create guest memory (QEMU layout) and send SET_MEM_TABLE", sh_mem },
    { "raw", "HEX...", "send bytes as they are, show any answer", sh_raw },
    { "recv", "[MS]", "wait for one message from the back end", sh_recv },
    { "need-reply", "[on|off]", "set NEED_REPLY on every request", sh_need_reply },
    { "reconnect", "", "close the connection and connect again", sh_reconnect },
    { "kill", "[SIGNAL]", "send the back end started here SIGNAL (default KILL)", sh_kill },
    { "restart", "", "stop the back end, start it again, reconnect", sh_restart },
    { "help", "", "this list", sh_help },
    { "quit", "", "stop the back end (if started here) and leave", sh_quit },
    { "exit", "", "the same as quit", sh_quit },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static int sh_help(struct shell *sh, int argc, char **argv)
{
    (void)sh;
    (void)argc;
    (void)argv;
    puts("REQUEST [ARGS]         a front-end request by name, e.g.\n"
         "  GET_FEATURES  SET_FEATURES 0x140000000  SET_VRING_NUM 0 256\n"
         "  SET_VRING_BASE 0 0  SET_VRING_ADDR 0  SET_VRING_KICK 0  SET_MEM_TABLE");
    for (size_t i = 0; i < NCOMMANDS; i++)
        printf("%-10s %-11s %s\n", commands[i].name, commands[i].args, commands[i].help);
    puts("Every message sent and received is printed decoded; waits time out.");
    return 0;
}

/* ---- telling what the back end did between commands ---- */

#define WATCH_MS 200      /* how often a back end that exited is looked for */

static void tell(struct shell *sh, const char *what)
{
    printf("%s*** %s\n", sh->interactive ? "\n" : "", what);
    fflush(stdout);
#ifdef VHC_HAVE_LIBEDIT
    if (sh->interactive)
        rl_forced_update_display();   /* the prompt and what was typed, again */
#endif
}

/* The back end started here has exited: say how, once. */
static void check_exit(struct shell *sh)
{
    char why[64], line[128];
    if (sh->told_exit || !vhc_cli_backend_gone(sh->conn, why, sizeof why))
        return;
    sh->told_exit = true;
    snprintf(line, sizeof line, "the back end %s ('restart' starts it again)", why);
    tell(sh, line);
}

/* The connection became readable while no request waits: closed, or bytes
 * the back end sent unasked. */
static void check_socket(struct shell *sh)
{
    char b;
    ssize_t n = recv(sh->fe->sock, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n > 0) {
        sh->told_data = true;
        tell(sh, "the back end sent a message unasked ('recv' shows it)");
        return;
    }
    sh->told_closed = true;
    tell(sh, n == 0 ? "the back end closed the connection ('reconnect' or 'restart')"
                    : "the connection broke ('reconnect' or 'restart')");
    for (int i = 0; i < 10 && !sh->told_exit && sh->conn->be.pid > 0; i++) {
        struct timespec ts = { 0, 20 * 1000000L };   /* it is likely exiting: say how */
        nanosleep(&ts, NULL);
        check_exit(sh);
    }
}

/* Wait until stdin has input (or ends), telling at once what the back end
 * does meanwhile. */
static void wait_for_input(struct shell *sh)
{
    for (;;) {
        bool watch = sh->fe->sock >= 0 && !sh->told_closed && !sh->told_data;
        struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN },
                               { .fd = sh->fe->sock, .events = POLLIN | POLLRDHUP } };
        int rc = poll(p, watch ? 2 : 1, WATCH_MS);
        if (rc < 0 && errno != EINTR)
            return;
        if (watch && rc > 0 && p[1].revents)
            check_socket(sh);
        check_exit(sh);
        if (rc > 0 && p[0].revents)
            return;
    }
}

/* ---- the loop ---- */

static int split(char *line, char **argv)
{
    int argc = 0;
    for (char *tok = strtok(line, " \t\r\n"); tok && argc < MAX_ARGS;
         tok = strtok(NULL, " \t\r\n"))
        argv[argc++] = tok;
    return argc;
}

static void execute(struct shell *sh, char *line)
{
    char *argv[MAX_ARGS];
    fflush(stdout);   /* our lines before the messages mfe writes to the fd */
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';   /* comments, for scripts */
    int argc = split(line, argv);
    if (argc == 0)
        return;
    int rc = -1;
    bool known = false;
    for (size_t i = 0; i < NCOMMANDS && !known; i++)
        if (strcmp(argv[0], commands[i].name) == 0) {
            known = true;
            sh->fe->err[0] = '\0';
            rc = commands[i].fn(sh, argc, argv);
        }
    uint32_t req = known ? 0 : vhu_req_by_name(VHU_CH_FRONT, argv[0]);
    if (req) {
        known = true;
        sh->fe->err[0] = '\0';
        rc = do_request(sh, vhu_req_desc(VHU_CH_FRONT, req), argc, argv);
    }
    if (!known)
        printf("unknown command '%s' (try 'help')\n", argv[0]);
    else if (rc < 0 && sh->fe->err[0])
        printf("error: %s\n", mfe_error(sh->fe));
    if (rc < 0)
        sh->failures++;
    sh->told_data = false;   /* what comes after this command is news again */
    fflush(stdout);
}

#ifdef VHC_HAVE_LIBEDIT
/* completion: shell commands, then request names */
static char *complete_word(const char *text, int state)
{
    static unsigned i;
    if (!state)
        i = 0;
    size_t len = strlen(text);
    for (; i < NCOMMANDS + VHU_REQ_MAX; i++) {
        const char *name = i < NCOMMANDS
            ? commands[i].name
            : vhu_req_desc(VHU_CH_FRONT, (uint32_t)(i - NCOMMANDS)) ?
              vhu_req_name(VHU_CH_FRONT, (uint32_t)(i - NCOMMANDS)) : NULL;
        if (name && strncasecmp(name, text, len) == 0) {
            i++;
            return strdup(name);
        }
    }
    return NULL;
}

static char **complete(const char *text, int start, int end)
{
    (void)end;
    rl_attempted_completion_over = 1;   /* no file names */
    return start == 0 ? rl_completion_matches(text, complete_word) : NULL;
}

static void history_path(char *buf, size_t cap)
{
    const char *home = getenv("HOME");
    snprintf(buf, cap, "%s/.vhost-conform_history", home ? home : ".");
}

static struct shell *editing;   /* the shell libedit's callback runs for */

static void on_line(char *line)
{
    if (!line) {   /* end of input */
        editing->done = true;
        putchar('\n');
        return;
    }
    if (line[strspn(line, " \t")])
        add_history(line);
    execute(editing, line);
    free(line);
    /* a fresh line: libedit shows the last one until a key comes, and a
     * notice redraws the prompt */
    rl_callback_handler_remove();
    if (!editing->done)
        rl_callback_handler_install("vhost-user> ", on_line);
}

/* libedit's callback interface, so the shell can tell what the back end
 * does while a line is being typed */
static void interactive(struct shell *sh)
{
    char hist[PATH_MAX];
    history_path(hist, sizeof hist);
    rl_attempted_completion_function = complete;
    using_history();
    read_history(hist);
    editing = sh;
    sh->interactive = true;
    rl_callback_handler_install("vhost-user> ", on_line);
    while (!sh->done) {
        wait_for_input(sh);
        rl_callback_read_char();
    }
    rl_callback_handler_remove();
    write_history(hist);
}
#endif

static void batch(struct shell *sh, FILE *in)
{
    char *line = NULL;
    size_t cap = 0;
    /* unbuffered: no line may wait in stdio's buffer while we poll the fd */
    setvbuf(in, NULL, _IONBF, 0);
    while (!sh->done && (wait_for_input(sh), getline(&line, &cap, in) >= 0)) {
        printf("> %s", line);   /* the command, so the output reads as a session */
        if (!strchr(line, '\n'))
            putchar('\n');
        execute(sh, line);
    }
    free(line);
}

struct shell_opts {
    const char *backend, *socket;
    const struct mfe_profile *profile;
    int timeout_ms;
};

static int parse_opts(int argc, char **argv, struct shell_opts *o)
{
    static const struct option own[] = {
        { "timeout", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct vhc_beopts b;
    vhc_beopts_init(&b, VHC_BE_BACKEND | VHC_BE_SOCKET | VHC_BE_PROFILE | VHC_BE_SCALE);
    struct option table[sizeof own / sizeof own[0] + VHC_BEOPT_COUNT];
    const struct option *opts = vhc_beopts_table(&b, own, table, sizeof table / sizeof table[0]);
    int opt;
    uint32_t ms;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int rc = vhc_beopts_take(&b, opt, optarg);
        if (rc < 0)
            return 2;
        if (rc == 0)
            continue;
        switch (opt) {
        case 't':
            if (!parse_u32(optarg, &ms) || !ms || ms > 600000)
                return 2;
            o->timeout_ms = (int)ms;
            break;
        case 'h': return vhc_help("shell") < 0 ? 2 : 1;
        default: return 2;
        }
    }
    o->backend = b.backend;
    o->socket = b.socket;
    o->profile = vhc_beopts_profile(&b);
    o->timeout_ms = vhc_beopts_ms(&b, o->timeout_ms);
    return optind < argc || vhc_beopts_check(&b) < 0 ? 2 : 0;
}

int vhc_cmd_shell(int argc, char **argv)
{
    struct shell_opts o = { .timeout_ms = SHELL_TIMEOUT_MS };
    int rc = parse_opts(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : vhc_usage("shell");
    signal(SIGPIPE, SIG_IGN);
    struct vhc_cli_conn conn;
    if (vhc_cli_open(&conn, o.backend, o.socket, o.timeout_ms) < 0) {
        vhc_cli_close(&conn);
        return 2;
    }
    struct shell sh = { .fe = conn.fe, .conn = &conn };
    sh.fe->profile = o.profile;
    sh.fe->trace_fd = STDOUT_FILENO;   /* every message, decoded, as it goes */
    printf("connected to %s (timeout %d ms; 'help' lists commands)\n", conn.sock,
           o.timeout_ms);
    fflush(stdout);
#ifdef VHC_HAVE_LIBEDIT
    if (isatty(STDIN_FILENO))
        interactive(&sh);
    else
#endif
        batch(&sh, stdin);
    sh.fe->trace_fd = -1;
    vhc_cli_close(&conn);
    return sh.failures ? 1 : 0;
}

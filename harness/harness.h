/* The harness's own interfaces: result records, expectations, the TAP
 * writer, the back-end life cycle and the runner.  Cases never see these;
 * their contract is caseapi/caseapi.h.
 */
#ifndef VHC_HARNESS_H
#define VHC_HARNESS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "caseapi.h"

/* "pass", "fail", ... for a verdict (record.c) */
const char *vhc_verdict_name(enum vhc_verdict v);

/* ---- one case's outcome (record.c) ---- */
struct vhc_result {
    enum vhc_verdict verdict;
    char rule[128];            /* fail: stable rule id */
    char at[256];              /* fail: FILE:LINE */
    char reason[1024];         /* fail, skip, timeout, crash: one line */
    char *transcript;          /* last messages, one per line; NULL = none */
    char *backend_tail;        /* last lines of the back end's output; NULL = none */
    char *case_tail;           /* last lines the case child wrote to stderr (a
                                  sanitizer's report when it crashed); NULL = none */
    unsigned long duration_ms;
    /* the runner's own notes, not shown as the verdict */
    bool bail;                 /* broken before any back end of this run came up:
                                  the whole run stops (Bail out!) */
    long messages;             /* "tell messages N" from the case; -1 = not told */
    char leftover[256];        /* processes killed after the case: "PID (NAME), ..." */
};

/* Parse the record a case child wrote (format in caseapi.h).  Returns 0, or -1
 * with r->reason saying what is wrong.  r must be zeroed first. */
int vhc_record_parse(const char *buf, size_t len, struct vhc_result *r);
void vhc_result_free(struct vhc_result *r);
/* fail, timeout and crash are failures; pass, skip and notrun are not */
bool vhc_verdict_failed(enum vhc_verdict v);
/* "pass" ... -> verdict; -1 for an unknown word */
int vhc_verdict_parse(const char *word);
const char *vhc_mode_name(enum vhc_mode m);

/* ---- expectations: known failures of a back end (expect.c) ---- */
struct vhc_expect {
    char id[128];
    int mode;                  /* enum vhc_mode, or -1 for both */
    enum vhc_verdict verdict;  /* fail, timeout or crash */
    char rule[128];            /* "fail:RULE": only a failure of this rule; "" = any */
    char reason[256];
    unsigned line;             /* where it was written */
};

struct vhc_expectations {
    struct vhc_expect *v;
    size_t n;
};

/* Parse lines "CASE-ID[@server|@client] VERDICT[:RULE] reason..." with '#'
 * comments and blank lines; ":RULE" only after fail.  Returns 0, or -1 with a
 * message in err ("FILE:LINE: ..."). */
int vhc_expect_parse(FILE *in, const char *name, struct vhc_expectations *out,
                     char *err, size_t errlen);
/* the entry for id in mode (a mode-specific line wins), or NULL */
const struct vhc_expect *vhc_expect_find(const struct vhc_expectations *e,
                                         const char *id, enum vhc_mode mode);
/* the entry that covers result r of id in mode: vhc_expect_find's, unless it
 * names a rule and r is not a failure of that rule (then NULL: a timing-
 * dependent failure recorded by its rule hides no other failure, and a pass
 * is a plain pass) */
const struct vhc_expect *vhc_expect_match(const struct vhc_expectations *e, const char *id,
                                          enum vhc_mode mode, const struct vhc_result *r);
void vhc_expect_free(struct vhc_expectations *e);

/* ---- TAP 14 (tap.c) ---- */
struct vhc_tap_item {
    unsigned n;                      /* test number, from 1 */
    const char *id;                  /* the case id (description) */
    enum vhc_mode mode;
    const struct vhc_result *r;
    const char *spec;                /* the case's rule text, or NULL */
    const struct vhc_expect *expect; /* the expectation that lists it, or NULL */
};

/* Every case lands in exactly one bucket, so the buckets add up to the plan:
 * todo holds the listed failures whatever their verdict, xpass the listed
 * ones that passed, while fail, timeout and crash hold only the unexpected
 * ones. */
struct vhc_tally {
    unsigned pass, fail, skip, todo, xpass, timeout, crash, broken;
};

void vhc_tap_begin(FILE *f, unsigned plan);
void vhc_tap_item(FILE *f, const struct vhc_tap_item *it);
/* Count it; returns true when it is an unexpected failure. */
bool vhc_tally_add(struct vhc_tally *t, const struct vhc_tap_item *it);
void vhc_tap_end(FILE *f, const struct vhc_tally *t);
/* YAML helpers, exposed for the unit tests: key: value at indent, value as
 * a double-quoted string, or as a literal block scalar when it is several
 * printable lines that survive the round trip. */
void vhc_yaml_string(FILE *f, const char *indent, const char *key, const char *value);

/* ---- the back end (backend.c) ---- */
#define VHC_TAIL_LINES 20u

/* The keeper of a back end's log (logcap.c): the back end writes into a
 * pipe, the keeper copies it into the log file and keeps the file under a
 * cap (the tail survives). */
struct vhc_logcap {
    pid_t pid;                 /* 0 when none */
    int ctl;                   /* to ask it to catch up; -1 when none */
};
/* Start a keeper for path; returns the pipe's write end for the back end
 * (the caller closes it once the back end has it), or -1. */
int vhc_logcap_start(struct vhc_logcap *k, const char *path);
/* Return once the file holds everything written so far (bounded wait). */
void vhc_logcap_sync(struct vhc_logcap *k);
/* Sync, end the keeper, reap it. */
void vhc_logcap_end(struct vhc_logcap *k);

struct vhc_backend {
    pid_t pid;                 /* also the process group; 0 when not running */
    bool exited;               /* the leader has exited (not yet reaped) */
    int code, status;          /* siginfo si_code (CLD_*) and si_status */
    char log_path[4200];
    struct vhc_logcap keeper;  /* its output into log_path */
};

/* The command to run when the user gave none: the bundled vhost-refnet.
 * Returns a malloc'd template, or NULL when it cannot be found. */
char *vhc_backend_default(enum vhc_mode mode);
/* Replace {socket} (shell-quoted when needed), {mode} and {n} (job, the
 * job number under --jobs: 0 without); malloc'd. */
char *vhc_backend_expand_job(const char *tmpl, const char *socket_path, enum vhc_mode mode,
                             unsigned job);
/* The same for job 0. */
char *vhc_backend_expand(const char *tmpl, const char *socket_path, enum vhc_mode mode);
/* Start `/bin/sh -c "exec CMD"` in a new process group, output through a
 * keeper into log_path; it gets SIGKILL if we die. */
int vhc_backend_start(struct vhc_backend *b, const char *cmd, const char *log_path);
/* Wait up to ms for it to be there: in server mode its socket file at sock,
 * in client mode a connection pending on listen_fd.  Returns 0, or -1 with
 * why ("exited with status 127 before it listened on ...: LAST LOG LINE")
 * when it exits first or the time runs out; -1 with why empty once *stop
 * is set (a signal: the caller stops). */
int vhc_backend_wait_ready(struct vhc_backend *b, enum vhc_mode mode, const char *sock,
                           int listen_fd, int ms, volatile sig_atomic_t *stop, char *why,
                           size_t len);
/* Has it died by a crash signal (or a sanitizer abort)?  Fills why.  Also
 * valid after vhc_backend_stop (a crash while shutting down counts). */
bool vhc_backend_crashed(struct vhc_backend *b, char *why, size_t len);
/* SIGTERM to the group, up to grace_ms, then SIGKILL; reap. */
void vhc_backend_stop(struct vhc_backend *b, int grace_ms);
/* SIGKILL to the group at once; reap (a kill the case asked for). */
void vhc_backend_kill_group(struct vhc_backend *b);
/* The last VHC_TAIL_LINES lines of the log, malloc'd, or NULL. */
char *vhc_backend_tail(struct vhc_backend *b);
char *vhc_log_tail(const char *path);
/* Can a run be set up at all (preflight.c)?  The template (NULL with
 * --socket) names {socket} and a program that exists, and the socket path
 * (socket_opt, or the one the runner makes under $TMPDIR) fits a UNIX
 * socket address.  0, or -1 with why. */
int vhc_preflight(const char *tmpl, const char *socket_opt, char *why, size_t len);

/* ---- the case child's requests: kill, restart, tell (control.c) ---- */
struct vhc_control {
    int fd;                    /* the runner's end; -1 when closed */
    const char *tmpl;          /* back-end command template; NULL with --socket */
    const char *sock;          /* socket path ({socket}) */
    enum vhc_mode mode;
    unsigned job;              /* {n}: the job number (0 without --jobs) */
    struct vhc_backend *be;    /* the running back end */
    const char *log;           /* its log; a restart keeps the old one as log.N */
    unsigned kills, restarts;
    char crashed[192];         /* it had crashed on its own before a kill or
                                  restart came: judged as a crash all the same */
    long messages;             /* "tell messages N"; -1 when not told */
    char line[256];            /* a request being read */
    size_t len;
};

void vhc_control_init(struct vhc_control *c, int fd, const char *tmpl, const char *sock,
                      enum vhc_mode mode, struct vhc_backend *be, const char *log);
/* Serve every complete request waiting on c->fd.  Returns -1 once the
 * child closed its end (c->fd is then closed and -1). */
int vhc_control_serve(struct vhc_control *c);
/* The requests themselves, for a command that owns the back end and asks
 * itself (play, replay): SIGKILL the group and reap; start it again (a kill
 * first if it still runs).  0, or -1 with errno. */
int vhc_control_kill(struct vhc_control *c);
int vhc_control_restart(struct vhc_control *c);

/* ---- the runner (runner.c) ---- */
/* each case's directory under $TMPDIR, and the socket in it (server mode) */
#define VHC_CASE_DIR    "vhc.XXXXXX"
#define VHC_CASE_SOCKET "vu.sock"
#define VHC_MAX_FILTERS 64u

struct vhc_run_opts {
    const char *backend;       /* command template, NULL = default / none */
    const char *socket;        /* --socket: a back end already running */
    enum vhc_mode mode;
    const char *filter[VHC_MAX_FILTERS];  /* globs, any may match; none = all */
    unsigned nfilter;
    const char *expect_file;
    const char *tap_file;
    const char *junit_file;    /* --junit FILE, or NULL (report.h) */
    const char *html_file;     /* --html FILE, or NULL */
    double timeout_scale;
    bool list_only;
    /* --profile / --profile-file: the QEMU profiles every case runs under
     * (none = mfe_profile_current(), qemu-7.2); with several, each case runs
     * once per profile and its TAP id gets "@NAME" */
    const struct mfe_profile *profiles[MFE_PROFILE_MAX + 1];
    unsigned nprofiles;
    const char *fault;         /* --fault SPEC: applied in every case */
    int fault_matrix;          /* --fault-matrix KIND (enum mfe_fault_kind), 0 = off */
    bool trace;                /* --trace: every message to stderr as it goes */
    unsigned repeat;           /* --repeat N: each case N times; 0/1 = once */
    unsigned shard_k, shard_n; /* --shard K/N (1-based); 0 = no sharding */
    unsigned jobs;             /* --jobs N: cases at once; 0/1 = one */
    enum vhc_device device;    /* --device net|blk|fs: net-only cases SKIP otherwise */
    bool strict;               /* --strict: a listed failure that passes fails the run */
    const char *options;       /* the options as typed, for the reports; NULL = none */
};

/* Exit status: 0 no unexpected failure, 1 some (a broken case too), 2 usage
 * or setup error (Bail out!); 128 + the signal when interrupted (130 SIGINT,
 * 129 SIGHUP, 143 SIGTERM). */
int vhc_run(const struct vhc_run_opts *o);

#endif

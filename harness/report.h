/* Reports: one run's results as data, read back from our own TAP or handed
 * over by the runner, and written as JUnit XML (junit.c) or as one
 * self-contained HTML page (html.c).  Several runs make one report.
 */
#ifndef VHC_REPORT_H
#define VHC_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "harness.h"

/* One case of one run.  Strings are malloc'd; NULL = absent. */
struct vhc_rcase {
    char *id;
    enum vhc_verdict verdict;
    bool todo;                 /* the expectations list it (TAP # TODO): an
                                  expected failure, or an unexpected pass */
    char *directive;           /* the SKIP or TODO reason */
    char *rule, *at, *message, *spec, *expected_verdict;
    char *transcript, *backend_stderr, *case_stderr;
    unsigned long duration_ms;
    bool has_duration;         /* saved TAP keeps durations of failures only */
};

struct vhc_rrun {
    char *name;                /* column title: "dpdk-testpmd server" */
    char *backend;             /* the command, or NULL */
    char *mode;                /* "server", "client", or NULL when unknown */
    char *source;              /* the TAP file it was read from, or NULL */
    char *bail;                /* "Bail out!" reason: the run is incomplete */
    char *shard;               /* "K/N" of a `run --shard` output, or NULL */
    char *profile;             /* the profiles, "qemu-7.2" or "qemu-7.2 qemu-8.2", or NULL */
    /* what produced it (the TAP header's comments; NULL = not said) */
    char *version, *commit;    /* vhost-conform's, "0.1.0" and "1a2b3c4d5e6f" */
    char *date;                /* the run's start, UTC: "2025-06-01T12:00:00Z" */
    char *host;                /* "name (Linux 6.1.0-18-amd64 x86_64)" */
    char *device;              /* "net", "blk" or "fs" */
    char *options;             /* the options as typed, the back end left out */
    char *strict;              /* "yes" under --strict: an xpass fails the run */
    unsigned planned;
    struct vhc_rcase *c;
    size_t n, cap;
};

/* Counts as the TAP summary has them (todo holds the listed failures). */
struct vhc_rtally {
    unsigned pass, fail, skip, todo, timeout, crash, xpass, broken;
};

void vhc_rrun_init(struct vhc_rrun *run);
void vhc_rrun_free(struct vhc_rrun *run);
/* A new, zeroed case at the end of run; NULL when out of memory. */
struct vhc_rcase *vhc_rrun_add(struct vhc_rrun *run, const char *id);
void vhc_rrun_tally(const struct vhc_rrun *run, struct vhc_rtally *t);
/* "vhost-refnet server" from a command and a mode (either may be NULL). */
char *vhc_rrun_name(const char *backend, const char *mode);

/* What a case counts as in a report: one of these words. */
enum vhc_rkind { VHC_RK_PASS, VHC_RK_FAIL, VHC_RK_SKIP, VHC_RK_TODO, VHC_RK_XPASS,
                 VHC_RK_TIMEOUT, VHC_RK_CRASH, VHC_RK_BROKEN };
enum vhc_rkind vhc_rcase_kind(const struct vhc_rcase *c);
const char *vhc_rkind_name(enum vhc_rkind k);

/* Read a TAP stream vhost-conform wrote (TAP 14, YAML under failures, the
 * header's '# KEY: value' comments, '# duration_ms: N' after a passing case).  Unknown lines are ignored.
 * Returns 0, or -1 with err set when it is not TAP at all. */
int vhc_tap_read(FILE *in, struct vhc_rrun *run, char *err, size_t errlen);

/* ---- what produced a run (run_meta.c) ---- */
/* The fields of the TAP header, in their order: "version", "commit", "date",
 * "host", "backend", "mode", "profile", "device", "options", "shard",
 * "strict".  Field i of run, or NULL past the last. */
const char *vhc_rrun_meta_key(size_t i);
char **vhc_rrun_meta(struct vhc_rrun *run, size_t i);
const char *vhc_rrun_meta_get(const struct vhc_rrun *run, size_t i);
/* A run about to start, described: this binary's version and commit, the
 * date, the host, the back end (command or socket), mode, profiles, device,
 * options and shard of o.  Returns 0, or -1 when out of memory. */
int vhc_rrun_describe(struct vhc_rrun *run, const struct vhc_run_opts *o, const char *backend);
/* The header comments after the plan: "# KEY: value" for every field the
 * run has, control characters blanked. */
void vhc_rrun_write_header(FILE *f, const struct vhc_rrun *run);
/* Copy the fields of from into to (which must have none).  0, or -1. */
int vhc_rrun_meta_copy(struct vhc_rrun *to, const struct vhc_rrun *from);

/* Text for XML and HTML: &<>"' as entities; control characters other than
 * tab and newline, and bytes that are not valid UTF-8, dropped / replaced
 * with '?'.  In attributes (attr) tab and newline become character refs. */
void vhc_put_escaped(FILE *f, const char *s, bool attr);

/* Writers.  Return 0, or -1 when the stream failed. */
int vhc_junit_write(FILE *f, const struct vhc_rrun *runs, size_t n);
int vhc_html_write(FILE *f, const struct vhc_rrun *runs, size_t n);

/* ---- the runner's hook (--junit / --html) ---- */
struct vhc_report_out;
/* Opens the files now, so a bad path fails before the run; NULL on error
 * (message printed).  Returns NULL too when neither file was asked for,
 * with *failed false. */
struct vhc_report_out *vhc_report_open(const char *junit, const char *html,
                                       const struct vhc_rrun *meta, bool *failed);
void vhc_report_item(struct vhc_report_out *o, const struct vhc_tap_item *it);
/* Write both files (bail: why the run stopped early, or NULL) and free o.
 * Returns 0, or -1 when a write failed (message printed). */
int vhc_report_close(struct vhc_report_out *o, const char *bail);

/* ---- shards (report_merge.c) ---- */
/* Runs that are shards of one run (same back end, mode, profile and shard
 * count) become one, cases sorted by id; the merged run takes the first's
 * place and *n shrinks.  Warns about missing shards.  Returns 0, or -1
 * (message printed) when a case id or a shard appears twice. */
int vhc_rruns_merge(struct vhc_rrun *runs, size_t *n);
/* One run as TAP 14, numbered in its order, YAML under failures.
 * Returns 0, or -1 when the stream failed. */
int vhc_rrun_write_tap(FILE *f, const struct vhc_rrun *run);

/* `vhost-conform report` */
int vhc_cmd_report(int argc, char **argv);

#endif

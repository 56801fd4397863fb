/* Scenarios: what a QEMU of one profile does to a back end in a named
 * situation (a boot, a driver rebind, a VM stop/cont, a back-end crash ...),
 * as a table of steps over the QEMU building blocks of mfe.h.
 *
 * A step is data: init, firmware, start (of a kind), traffic, stop (for a
 * cause), kill, restart, reconnect, idle, quit.  mfe_play_run walks a
 * scenario's table; the device type (f->device) and the profile
 * (f->profile) decide the messages, so one table serves net, blk and fs and
 * every QEMU version.  What the caller owns (the connection, the back-end
 * process) it provides through hooks: `vhost-conform play` kills and starts
 * a real process, the unit tests a fake back end scripted from a trace.
 */
#ifndef MFE_SCENARIO_H
#define MFE_SCENARIO_H

#include <stdbool.h>
#include <stdint.h>

#include "mfe.h"

enum mfe_step_kind {
    MFE_STEP_INIT,       /* QEMU comes up: mfe_qemu_init (MFE_INIT_BOOT) */
    MFE_STEP_FIRMWARE,   /* the firmware starts the device, reads once and
                            the guest kernel resets it (blk: SeaBIOS, e2
                            19-33); nothing for a device no firmware drives */
    MFE_STEP_START,      /* arg: enum mfe_start_kind */
    MFE_STEP_TRAFFIC,    /* the guest uses the device: frames looped through
                            the back end (net), a read (blk); fs: none */
    MFE_STEP_STOP,       /* arg: enum mfe_stop_cause */
    MFE_STEP_KILL,       /* the back end is SIGKILLed; QEMU sees the
                            connection close (its stop can send nothing) */
    MFE_STEP_RESTART,    /* the back end is started again */
    MFE_STEP_RECONNECT,  /* QEMU's chardev reconnects: a new connection and
                            mfe_qemu_reconnect */
    MFE_STEP_IDLE,       /* arg: milliseconds */
    MFE_STEP_QUIT,       /* QMP quit: a running device stops (host), QEMU
                            closes the connection */
    MFE_STEP_LOG_ON,     /* migration starts: dirty logging on every running
                            device (mfe_migration_log_on, a memfd log) */
    MFE_STEP_DESTINATION,  /* the destination QEMU: a new connection,
                            mfe_qemu_destination from the last stop's bases */
    MFE_STEP_END
};

struct mfe_step {
    enum mfe_step_kind kind;
    int arg;
    const char *what;    /* the guest or host action, for the report */
};

#define MFE_DEV_BIT(d) (1u << (d))

struct mfe_scenario {
    const char *name;        /* "boot" */
    const char *summary;     /* one line */
    const char *source;      /* the traces it follows, or the QEMU source */
    unsigned devices;        /* MFE_DEV_BIT per device type it applies to */
    bool needs_backend;      /* kills and restarts the back end */
    const struct mfe_step *steps;   /* ends with MFE_STEP_END */
};

unsigned mfe_scenario_count(void);
const struct mfe_scenario *mfe_scenario_at(unsigned i);
const struct mfe_scenario *mfe_scenario_find(const char *name);
const char *mfe_step_name(enum mfe_step_kind k);
/* "start (boot)", "stop (guest reset)": the step's kind with its argument */
void mfe_step_label(const struct mfe_step *s, char *buf, size_t cap);

struct mfe_play_hooks {
    void *arg;
    /* connect or accept f: the first connection and every reconnect;
     * required.  0, or negative with mfe_error(f). */
    int (*open)(void *arg, struct mfe *f);
    /* the back end's process: required by scenarios that kill it */
    int (*kill)(void *arg);
    int (*restart)(void *arg);
    /* the guest using the device; NULL = the built-in (mfe_play_traffic) */
    int (*traffic)(void *arg, struct mfe *f);
    /* after each step (rc < 0: it failed, mfe_error(f) says why); may be NULL */
    void (*step_done)(void *arg, unsigned n, const struct mfe_step *s, int rc);
};

struct mfe_play_opts {
    unsigned queues;         /* net queue pairs, blk queues, fs request
                                queues; 0 = 1 */
    unsigned down_ms;        /* the back end stays dead this long before
                                MFE_STEP_RESTART; 0 = 500 */
};

struct mfe_play_stats {
    unsigned steps;          /* steps done */
    uint64_t sent, completed;  /* frames / requests the guest posted and
                                  got back */
    uint64_t traffic_steps, idle_traffic;  /* traffic steps, and those in
                                              which nothing came back */
};

/* Play sc over f: f->device / f->profile as the caller set them, the first
 * connection opened through h->open.  Returns 0 when every step went
 * through, -1 when one failed (mfe_error(f) says why; st->steps how far it
 * got).  f is left disconnected (QEMU quit), its memory kept. */
int mfe_play_run(struct mfe *f, const struct mfe_scenario *sc, const struct mfe_play_opts *o,
                 const struct mfe_play_hooks *h, struct mfe_play_stats *st);

/* ---- the built-in traffic (mfe_play_traffic.c) ---- */
struct mfe_play_traffic;
struct mfe_play_traffic *mfe_play_traffic_new(void);
void mfe_play_traffic_free(struct mfe_play_traffic *t);
/* One round of guest traffic on the running device: net posts RX buffers
 * and sends frames on queue pair 0, waiting for them to come back; blk
 * reads sector 0.  Returns the number completed (0 when the back end
 * returned nothing in time) or negative when the driver model could not be
 * set up; *sent gets what was posted. */
int mfe_play_traffic_run(struct mfe_play_traffic *t, struct mfe *f, unsigned *sent);
/* The guest driver is gone (device reset) or the rings moved: forget the
 * driver model; the next traffic builds a new one. */
void mfe_play_traffic_reset(struct mfe_play_traffic *t);
/* After a reconnect: the rings carry on, with the call eventfds init made. */
void mfe_play_traffic_rewire(struct mfe_play_traffic *t, struct mfe *f);

#endif

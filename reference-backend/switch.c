/* The learning L2 switch of --mode switch (see switch.h). */
#include "switch.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void add(_Atomic uint64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* ---- life cycle ---- */

struct ref_switch *ref_sw_create(unsigned nports)
{
    struct ref_switch *sw = calloc(1, sizeof *sw);
    if (!sw || nports > REF_SW_MAX_PORTS) {
        ref_log("refnet: cannot create the switch (%u ports)", nports);
        free(sw);
        return NULL;
    }
    sw->nports = nports;
    pthread_mutex_init(&sw->mac_mu, NULL);
    for (unsigned p = 0; p < REF_SW_MAX_PORTS; p++)
        for (unsigned q = 0; q < REF_MAX_QUEUE_PAIRS; q++) {
            struct ref_sw_inbox *b = &sw->port[p].inbox[q];
            pthread_mutex_init(&b->mu, NULL);
            b->efd = p < nports ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : -1;
            if (p < nports && b->efd < 0) {
                ref_log("refnet: cannot create the switch: no eventfd");
                ref_sw_destroy(sw);
                return NULL;
            }
        }
    return sw;
}

/* Drop everything queued; under b->mu.  Returns how many. */
static unsigned purge(struct ref_sw_inbox *b)
{
    unsigned n = b->count;
    for (; b->count > 0; b->count--) {
        free(b->q[b->head]);
        b->head = (b->head + 1) % REF_SW_INBOX;
    }
    return n;
}

void ref_sw_destroy(struct ref_switch *sw)
{
    if (!sw)
        return;
    for (unsigned p = 0; p < REF_SW_MAX_PORTS; p++)
        for (unsigned q = 0; q < REF_MAX_QUEUE_PAIRS; q++) {
            struct ref_sw_inbox *b = &sw->port[p].inbox[q];
            purge(b);
            if (b->efd >= 0)
                close(b->efd);
            pthread_mutex_destroy(&b->mu);
        }
    pthread_mutex_destroy(&sw->mac_mu);
    free(sw);
}

/* ---- MAC table ---- */

static unsigned mac_hash(const uint8_t *mac)
{
    uint32_t h = 2166136261u;           /* FNV-1a */
    for (unsigned i = 0; i < 6; i++)
        h = (h ^ mac[i]) * 16777619u;
    return h & (REF_SW_MACS - 1);
}

static bool fresh(const struct ref_sw_mac *e, int64_t now)
{
    return e->used && now - e->seen_ms < REF_SW_AGE_MS;
}

/* The entry for mac, else a free or stale one, else the oldest; under mac_mu. */
static struct ref_sw_mac *mac_slot(struct ref_switch *sw, const uint8_t *mac, int64_t now)
{
    unsigned h = mac_hash(mac);
    struct ref_sw_mac *spare = NULL;
    for (unsigned i = 0; i < REF_SW_PROBE; i++) {
        struct ref_sw_mac *e = &sw->mac[(h + i) & (REF_SW_MACS - 1)];
        if (e->used && memcmp(e->mac, mac, 6) == 0)
            return e;
        bool free_slot = !fresh(e, now);
        if (!spare || (free_slot && fresh(spare, now)) ||
            (fresh(spare, now) && e->seen_ms < spare->seen_ms))
            spare = e;
    }
    return spare;
}

static void learn(struct ref_switch *sw, const uint8_t *src, unsigned port, int64_t now)
{
    if (src[0] & 1)
        return;                         /* a group address is never a source */
    pthread_mutex_lock(&sw->mac_mu);
    struct ref_sw_mac *e = mac_slot(sw, src, now);
    memcpy(e->mac, src, 6);
    e->used = true;
    e->port = port;
    e->seen_ms = now;
    pthread_mutex_unlock(&sw->mac_mu);
}

/* Port behind dst, or -1 when unknown (or aged out). */
static int lookup(struct ref_switch *sw, const uint8_t *dst, int64_t now)
{
    int port = -1;
    pthread_mutex_lock(&sw->mac_mu);
    struct ref_sw_mac *e = mac_slot(sw, dst, now);
    if (e->used && memcmp(e->mac, dst, 6) == 0 && fresh(e, now))
        port = (int)e->port;
    pthread_mutex_unlock(&sw->mac_mu);
    return port;
}

static void forget_port(struct ref_switch *sw, unsigned port)
{
    pthread_mutex_lock(&sw->mac_mu);
    for (unsigned i = 0; i < REF_SW_MACS; i++)
        if (sw->mac[i].used && sw->mac[i].port == port)
            sw->mac[i].used = false;
    pthread_mutex_unlock(&sw->mac_mu);
}

/* ---- inboxes ---- */

static bool is_open(struct ref_sw_inbox *b)
{
    pthread_mutex_lock(&b->mu);
    bool open = b->open;
    pthread_mutex_unlock(&b->mu);
    return open;
}

/* Queue f (taken) on (port, pair): the pair's own inbox, or pair 0's when
 * the destination guest runs fewer queue pairs than the source. */
static void enqueue(struct ref_switch *sw, unsigned port, unsigned pair, struct ref_sw_frame *f)
{
    struct ref_sw_port *dst = &sw->port[port];
    struct ref_sw_inbox *b = &dst->inbox[pair];
    if (pair != 0 && !is_open(b))
        b = &dst->inbox[0];
    pthread_mutex_lock(&b->mu);
    _Atomic uint64_t *why = !b->open ? &dst->st.drop_down
                          : b->count == REF_SW_INBOX ? &dst->st.drop_full : NULL;
    bool was_empty = b->count == 0;
    if (!why) {
        b->q[(b->head + b->count) % REF_SW_INBOX] = f;
        b->count++;
    }
    pthread_mutex_unlock(&b->mu);
    if (why) {
        add(why);
        free(f);
        return;
    }
    add(&dst->st.in);
    uint64_t one = 1;
    if (was_empty && write(b->efd, &one, sizeof one) < 0) {
        /* a full eventfd counter wakes the reader all the same */
    }
}

static struct ref_sw_frame *dup_frame(const struct ref_sw_frame *f)
{
    struct ref_sw_frame *c = malloc(sizeof *c + f->len);
    if (c)
        memcpy(c, f, sizeof *c + f->len);
    return c;
}

static void flood(struct ref_switch *sw, unsigned from, unsigned pair, struct ref_sw_frame *f)
{
    int last = -1;
    for (unsigned p = 0; p < sw->nports; p++) {
        if (p == from)
            continue;
        if (last >= 0) {
            struct ref_sw_frame *c = dup_frame(f);
            if (c)
                enqueue(sw, (unsigned)last, pair, c);
            else
                add(&sw->port[last].st.drop_full);
        }
        last = (int)p;
    }
    if (last >= 0)
        enqueue(sw, (unsigned)last, pair, f);   /* the original goes to the last one */
    else
        free(f);
}

void ref_sw_forward(struct ref_switch *sw, unsigned port, unsigned pair, struct ref_sw_frame *f)
{
    if (f->len < REF_ETH_HLEN) {
        add(&sw->port[port].st.runt);
        free(f);
        return;
    }
    const uint8_t *dst = f->data, *src = f->data + 6;
    int64_t now = now_ms();
    learn(sw, src, port, now);
    int to = dst[0] & 1 ? -1 : lookup(sw, dst, now);
    if (to < 0) {
        flood(sw, port, pair, f);
    } else if ((unsigned)to == port) {
        add(&sw->port[port].st.filtered);   /* both ends behind the same port */
        free(f);
    } else {
        enqueue(sw, (unsigned)to, pair, f);
    }
}

struct ref_sw_frame *ref_sw_take(struct ref_switch *sw, unsigned port, unsigned pair)
{
    struct ref_sw_inbox *b = &sw->port[port].inbox[pair];
    struct ref_sw_frame *f = NULL;
    pthread_mutex_lock(&b->mu);
    if (b->count > 0) {
        f = b->q[b->head];
        b->head = (b->head + 1) % REF_SW_INBOX;
        b->count--;
    }
    pthread_mutex_unlock(&b->mu);
    return f;
}

void ref_sw_set_open(struct ref_switch *sw, unsigned port, unsigned pair, bool open)
{
    struct ref_sw_port *sp = &sw->port[port];
    struct ref_sw_inbox *b = &sp->inbox[pair];
    pthread_mutex_lock(&b->mu);
    b->open = open;
    unsigned dropped = open ? 0 : purge(b);
    pthread_mutex_unlock(&b->mu);
    atomic_fetch_add_explicit(&sp->st.drop_down, dropped, memory_order_relaxed);
}

void ref_sw_port_down(struct ref_switch *sw, unsigned port)
{
    for (unsigned q = 0; q < REF_MAX_QUEUE_PAIRS; q++)
        ref_sw_set_open(sw, port, q, false);
    forget_port(sw, port);
}

int ref_sw_efd(const struct ref_switch *sw, unsigned port, unsigned pair)
{
    return sw->port[port].inbox[pair].efd;
}

void ref_sw_print_stats(struct ref_switch *sw, unsigned port)
{
    struct ref_sw_stats *st = &sw->port[port].st;
    fprintf(stderr, "refnet: stats switch port=%u in=%" PRIu64 " drop_down=%" PRIu64
            " drop_full=%" PRIu64 " filtered=%" PRIu64 " runt=%" PRIu64 "\n", port,
            atomic_load(&st->in), atomic_load(&st->drop_down), atomic_load(&st->drop_full),
            atomic_load(&st->filtered), atomic_load(&st->runt));
}

/* SEND_RARP (protocol feature RARP): after a migration QEMU asks the back
 * end to announce the guest's MAC, since the guest does not know it moved.
 * The frame is what QEMU's own announce sends (a RARP request naming the
 * MAC, broadcast), put on the wire as if the guest had sent it: into the
 * TAP queue or the switch, and in loopback back into the guest's RX. */
#include "handlers.h"
#include "worker.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RARP_LEN 60u

REF_HANDLER(send_rarp)
{
    (void)reply;
    for (unsigned i = 0; i < 6; i++)
        s->rarp_mac[i] = (uint8_t)(m->u.u64 >> (8 * i));
    s->rarp_pending = true;     /* the first pair's worker sends it */
    return 0;
}

static void build(uint8_t *f, const uint8_t *mac)
{
    static const uint8_t head[] = { 0x80, 0x35, 0, 1, 0x08, 0x00, 6, 4, 0, 3 };
    memset(f, 0, RARP_LEN);
    memset(f, 0xff, 6);                 /* broadcast */
    memcpy(f + 6, mac, 6);
    memcpy(f + 12, head, sizeof head);  /* RARP, Ethernet/IPv4, reverse request */
    memcpy(f + 22, mac, 6);             /* sender hardware address */
    memcpy(f + 32, mac, 6);             /* target hardware address */
}

/* True when the frame went out (or never can): no longer pending. */
static bool send_frame(struct ref_worker *w, uint8_t *f)
{
    if (w->sw) {
        struct ref_sw_frame *c = malloc(sizeof *c + RARP_LEN);
        if (c) {
            c->len = RARP_LEN;
            memcpy(c->data, f, RARP_LEN);
            ref_sw_forward(w->sw, w->s->opts->port, w->pair, c);
        }
        return true;
    }
    if (w->port_fd >= 0) {
        if (write(w->port_fd, f, RARP_LEN) < 0) {
            /* TAP queue full or down: an announce is best effort */
        }
        return true;
    }
    if (!w->rx)
        return false;
    struct ref_iov src = { f, RARP_LEN };
    if (ref_net_rx(&w->net, w->rx, &w->s->mem, &src, 1, 0, RARP_LEN) == REF_NO_ROOM)
        return false;
    /* published here: the fast path that may run next flushes only what it moved */
    ref_ops(w->rx)->flush(w->rx);
    return true;
}

void ref_rarp_burst(struct ref_worker *w)
{
    if (w->pair != 0 || !w->s->rarp_pending)
        return;
    uint8_t f[RARP_LEN];
    build(f, w->s->rarp_mac);
    if (send_frame(w, f))
        w->s->rarp_pending = false;
}

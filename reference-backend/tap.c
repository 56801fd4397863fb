/* TAP port: one queue of a TAP device per queue pair (IFF_MULTI_QUEUE),
 * opened before any front end connects so a missing /dev/net/tun is a
 * clear start-up error. */
#include "refnet.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int open_queue(const char *name)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        ref_log("refnet: --mode tap: cannot open /dev/net/tun: %s", strerror(errno));
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE;
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        ref_log("refnet: --mode tap: TUNSETIFF %s: %s", name, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int ref_tap_open(struct ref_opts *o)
{
    for (unsigned p = 0; p < REF_MAX_QUEUE_PAIRS; p++)
        o->tap_fds[p] = -1;
    if (strcmp(o->mode, "tap") != 0)
        return 0;
    if (!o->tap || strlen(o->tap) >= IFNAMSIZ) {
        ref_log("refnet: --mode tap needs --tap NAME (at most %d characters)", IFNAMSIZ - 1);
        return -1;
    }
    for (unsigned p = 0; p < o->queues; p++) {
        o->tap_fds[p] = open_queue(o->tap);
        if (o->tap_fds[p] < 0) {
            ref_tap_close(o);
            return -1;
        }
    }
    return 0;
}

void ref_tap_close(struct ref_opts *o)
{
    for (unsigned p = 0; p < REF_MAX_QUEUE_PAIRS; p++) {
        if (o->tap_fds[p] >= 0)
            close(o->tap_fds[p]);
        o->tap_fds[p] = -1;
    }
}

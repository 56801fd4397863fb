/* Non-blocking I/O on front-end eventfds (fdio.c). */
#ifndef REFNET_FDIO_H
#define REFNET_FDIO_H

#include <stdbool.h>
#include <stdint.h>

enum ref_fd_io {
    REF_FD_OK,          /* done */
    REF_FD_AGAIN,       /* not ready now: nothing done, nothing wrong */
    REF_FD_EOF,         /* read returned 0: a pipe or socket whose writer is gone */
    REF_FD_NOT_EVENTFD, /* a read that was not 8 bytes of a non-zero count */
    REF_FD_BLOCKED,     /* the call slept and the nudge interrupted it */
    REF_FD_DEAD,        /* any other error, or POLLERR */
};

/* Add 1 to an eventfd (call, err); fd < 0 is REF_FD_OK. */
enum ref_fd_io ref_fd_signal(int fd);
/* Read an eventfd's count (a kick) without sleeping. */
enum ref_fd_io ref_fd_drain(int fd);
/* Why fd cannot be a kick, call or err fd (a kind that is always ready or
 * has no eventfd semantics), or NULL when it may be one. */
const char *ref_fd_kind_problem(int fd);
const char *ref_fd_io_name(enum ref_fd_io r);

/* Send m (no fds) on a socket without sleeping: REF_FD_OK when all of it
 * went, REF_FD_AGAIN when the buffer is full (nothing sent), REF_FD_DEAD
 * otherwise (a short write, or errno set). */
struct vhu_msg;
enum ref_fd_io ref_fd_send_msg(int fd, const struct vhu_msg *m);

/* Is r a sign of a hostile or broken fd (the ring should stop using it)? */
static inline bool ref_fd_bad(enum ref_fd_io r)
{
    return r != REF_FD_OK && r != REF_FD_AGAIN;
}

#endif

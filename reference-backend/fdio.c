/* I/O on the front end's kick, call and err fds that never blocks, whatever
 * their O_NONBLOCK flag says (fault.h explains why the flag is left alone).
 *
 * Writes (call, err): poll for POLLOUT with a zero timeout first.  An
 * eventfd whose counter is at its maximum, or a full pipe, is not writable
 * and is skipped: its reader has something to read already.
 * Reads (kick): preadv2(RWF_NOWAIT), which returns EAGAIN instead of
 * sleeping; where the fd does not support it, poll with a zero timeout and
 * read.  Either way a call that still sleeps (the front end raced us on its
 * own fd) is interrupted by the nudge (REF_SIG_NUDGE) and reported as
 * REF_FD_BLOCKED. */
#include "fdio.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vhu.h"

static bool ready(int fd, short events, short *revents)
{
    struct pollfd p = { fd, events, 0 };
    int rc = poll(&p, 1, 0);
    *revents = rc > 0 ? p.revents : 0;
    return rc > 0 && (p.revents & events);
}

enum ref_fd_io ref_fd_signal(int fd)
{
    if (fd < 0)
        return REF_FD_OK;
    short rev;
    bool can = ready(fd, POLLOUT, &rev);
    if (rev & (POLLERR | POLLHUP | POLLNVAL))
        return REF_FD_DEAD;         /* e.g. a pipe without reader: no write, no SIGPIPE */
    if (!can)
        return REF_FD_AGAIN;
    uint64_t one = 1;
    ssize_t n = write(fd, &one, sizeof one);
    if (n == (ssize_t)sizeof one)
        return REF_FD_OK;
    if (n < 0 && errno == EINTR)
        return REF_FD_BLOCKED;
    if (n < 0 && errno == EAGAIN)
        return REF_FD_AGAIN;
    return REF_FD_DEAD;
}

/* What one read of an eventfd must look like: 8 bytes, a non-zero count. */
static enum ref_fd_io judge_read(ssize_t n, uint64_t v)
{
    if (n == (ssize_t)sizeof v)
        return v ? REF_FD_OK : REF_FD_NOT_EVENTFD;
    if (n == 0)
        return REF_FD_EOF;
    if (n > 0)
        return REF_FD_NOT_EVENTFD;
    if (errno == EAGAIN)
        return REF_FD_AGAIN;
    if (errno == EINTR)
        return REF_FD_BLOCKED;
    return REF_FD_DEAD;
}

enum ref_fd_io ref_fd_drain(int fd)
{
    uint64_t v = 0;
    struct iovec io = { &v, sizeof v };
    ssize_t n = preadv2(fd, &io, 1, -1, RWF_NOWAIT);
    if (n >= 0 || (errno != EOPNOTSUPP && errno != EINVAL && errno != ESPIPE))
        return judge_read(n, v);
    short rev;
    if (!ready(fd, POLLIN, &rev))
        return rev & POLLHUP ? REF_FD_EOF : rev & (POLLERR | POLLNVAL) ? REF_FD_DEAD
                                                                       : REF_FD_AGAIN;
    n = read(fd, &v, sizeof v);
    return judge_read(n, v);
}

const char *ref_fd_kind_problem(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return "fstat fails on it";
    switch (st.st_mode & S_IFMT) {
    case S_IFREG: return "it is a regular file (always readable, nothing to wait on)";
    case S_IFDIR: return "it is a directory";
    case S_IFBLK: return "it is a block device";
    case S_IFCHR: return "it is a character device (no eventfd semantics)";
    default: return NULL;       /* anonymous inode (eventfd), pipe or socket */
    }
}

const char *ref_fd_io_name(enum ref_fd_io r)
{
    switch (r) {
    case REF_FD_OK: return "ok";
    case REF_FD_AGAIN: return "not ready";
    case REF_FD_EOF: return "end of file (the writer is gone)";
    case REF_FD_NOT_EVENTFD: return "a read without eventfd semantics (not 8 bytes, or 0)";
    case REF_FD_BLOCKED: return "a call on it blocked";
    case REF_FD_DEAD: return "an error on it";
    }
    return "?";
}

enum ref_fd_io ref_fd_send_msg(int fd, const struct vhu_msg *m)
{
    uint8_t buf[VHU_HDR_SIZE + VHU_MAX_PAYLOAD];
    errno = 0;                  /* a short write sets none */
    size_t len = vhu_encode(m, buf, sizeof buf);
    if (len == 0)
        return REF_FD_DEAD;
    ssize_t n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return REF_FD_AGAIN;
    return n == (ssize_t)len ? REF_FD_OK : REF_FD_DEAD;
}

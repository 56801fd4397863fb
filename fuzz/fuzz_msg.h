/* The input format of fuzz_msg (fuzz_msg.c), shared with the seed
 * generator (make_seeds.c).
 *
 * An input is a stream of records:
 *
 *     1 byte   spec: low nibble = number of fds (mod 9), high nibble = their
 *              kind (enum fz_kind); kind FZ_ACTION makes the record a harness
 *              action instead of a message
 *    12 bytes  vhost-user header (request, flags, size), as on the wire; for
 *              an action, request is the enum fz_action and size its length
 *     N bytes  payload, N = header size (at most VHU_MAX_PAYLOAD: a larger
 *              size is sent as a bare header, which the session rejects)
 *
 * Memfds the harness sends are kept (up to FZ_KEEP) so later actions can
 * write into guest memory (FZ_POKE) or shrink it (FZ_SHRINK); eventfds and
 * pipe write ends it keeps are what FZ_KICK writes to. */
#ifndef FUZZ_MSG_H
#define FUZZ_MSG_H

#include <stdint.h>

#define FZ_KIND_SHIFT   4
#define FZ_KEEP         16u
#define FZ_MEMFD_SIZE   (256ull << 20)  /* the size QEMU 7.2's traces use */
#define FZ_MEMFD_HUGE   (1ull << 30)

enum fz_kind {
    FZ_BY_REQUEST = 0,      /* memory requests: FZ_MEMFD_SIZE sparse memfd; others:
                               a non-blocking eventfd (what QEMU sends) */
    FZ_EVENTFD_BLOCKING,    /* a blocking eventfd */
    FZ_EVENTFD_FULL,        /* a blocking eventfd at its maximum count */
    FZ_PIPE_EOF,            /* the read end of a pipe without writer */
    FZ_PIPE_FULL,           /* the write end of a full blocking pipe (read end held) */
    FZ_PIPE_READ,           /* the read end of a pipe whose writer FZ_KICK writes */
    FZ_MEMFD_SMALL,         /* a 4 KiB memfd with data: a regular file */
    FZ_SOCKET,              /* one end of a socketpair whose other end is closed */
    FZ_DEVNULL,             /* /dev/null */
    FZ_MEMFD_LARGE,         /* an FZ_MEMFD_HUGE sparse memfd */
    FZ_KIND_COUNT,
    FZ_ACTION = 15,
};

enum fz_action {
    FZ_POKE,        /* payload: u8 memfd index, u64 offset, bytes to pwrite there */
    FZ_SHRINK,      /* payload: u8 memfd index, u64 new size (ftruncate) */
    FZ_KICK,        /* write 1 to every kept eventfd and pipe, let the workers run */
};

#define FZ_SPEC(kind, nfds) ((uint8_t)((kind) << FZ_KIND_SHIFT | (nfds)))

#endif

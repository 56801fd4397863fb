/* refnet-selftest: vhost-refnet driven over its socket by hand-made bytes
 * (nothing of protocol/ is used, so the codec cannot hide its own bugs
 * here).  selftest_conn.c: connections, messages, fds, trace replay;
 * selftest.c: the checks. */
#ifndef REFNET_SELFTEST_H
#define REFNET_SELFTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    REQ_GET_FEATURES = 1, REQ_SET_FEATURES = 2, REQ_SET_OWNER = 3,
    REQ_SET_MEM_TABLE = 5, REQ_SET_VRING_NUM = 8, REQ_SET_VRING_ADDR = 9,
    REQ_SET_VRING_BASE = 10, REQ_GET_VRING_BASE = 11, REQ_SET_VRING_KICK = 12,
    REQ_SET_VRING_CALL = 13, REQ_GET_PROTOCOL_FEATURES = 15,
    REQ_SET_PROTOCOL_FEATURES = 16, REQ_GET_QUEUE_NUM = 17, REQ_SET_VRING_ENABLE = 18,
    REQ_NET_SET_MTU = 20, REQ_SET_BACKEND_REQ_FD = 21, REQ_GET_CONFIG = 24,
    REQ_GET_MAX_MEM_SLOTS = 36, REQ_ADD_MEM_REG = 37, REQ_REM_MEM_REG = 38,
};

#define F_VERSION    0x1u
#define F_REPLY      0x4u
#define F_NEED_REPLY 0x8u
#define HDR_LEN      12u
#define MAX_BODY     4096u
#define MAX_FDS      8u

/* a message as bytes: header fields and payload */
struct smsg {
    uint32_t req, flags;
    uint8_t body[MAX_BODY];
    size_t len;
};

struct conn {
    int fd;
};

/* ---- checks (selftest.c) ---- */
/* Print "ok" or "FAILED" and the text; count the failures.  Returns cond. */
bool check(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- payloads ---- */
void p_u64(struct smsg *m, uint64_t v);
void p_state(struct smsg *m, uint32_t index, uint32_t num);
void p_region(uint8_t *at, uint64_t gpa, uint64_t size, uint64_t uaddr, uint64_t off);
/* SET_MEM_TABLE / ADD_MEM_REG payloads of n regions {gpa, size, uaddr, off} */
void p_mem_table(struct smsg *m, const uint64_t (*regions)[4], unsigned n);
void p_mem_reg(struct smsg *m, uint64_t gpa, uint64_t size, uint64_t uaddr, uint64_t off);
void p_vring_addr(struct smsg *m, uint32_t index, uint64_t desc, uint64_t used,
                  uint64_t avail, uint32_t flags);
void msg_init(struct smsg *m, uint32_t req, uint32_t flags);

/* ---- connections (selftest_conn.c) ---- */
/* Connect to path with 2 s receive and send timeouts; false on failure. */
bool conn_open(struct conn *c, const char *path);
void conn_close(struct conn *c);
/* Header + payload with fds in one sendmsg; false on error. */
bool conn_send(struct conn *c, const struct smsg *m, const int *fds, unsigned nfds);
/* Raw bytes (a header that lies about its size, a truncated payload). */
bool conn_send_raw(struct conn *c, const void *buf, size_t len, const int *fds, unsigned n);
/* One message; false on EOF, timeout or error.  Fds received are closed. */
bool conn_recv(struct conn *c, struct smsg *out);
/* send + recv */
bool conn_call(struct conn *c, const struct smsg *m, const int *fds, unsigned nfds,
               struct smsg *reply);
/* Did the back end close the connection (EOF within 2 s)? */
bool conn_closed(struct conn *c);

/* ---- fds ---- */
int make_memfd(uint64_t size);
int make_eventfd(void);

/* ---- trace replay ---- */
/* Replay the F->B messages of a recorded trace (fixtures/qemu-7.2) on a new
 * connection to path (see selftest_conn.c); true when every owed reply
 * came right and the connection still answers afterwards. */
bool replay_trace(const char *trace_path, const char *sock_path);

#endif

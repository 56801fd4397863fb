/* SET/GET_VRING_* handlers. */
#include "handlers.h"

#include "fdio.h"

#include <inttypes.h>

static int not_started(struct ref_session *s, const struct ref_vring *v, const char *what)
{
    if (v->started)
        return ref_fail(s, "vring.started: %s on ring %u while it is started", what, v->index);
    return 0;
}

REF_HANDLER(set_vring_num)
{
    (void)reply;
    struct ref_vring *v = ref_ring(s, m->u.state.index);
    uint32_t num = m->u.state.num;
    if (!v || not_started(s, v, "SET_VRING_NUM") < 0)
        return -1;
    if (num == 0)
        return ref_fail(s, "vring.num: 0 is not a valid ring size");
    if (num & (num - 1))
        return ref_fail(s, "vring.num: %u is not a power of two", num);
    if (num > REF_MAX_RING_NUM)
        return ref_fail(s, "vring.num: %u exceeds %u", num, REF_MAX_RING_NUM);
    v->num = num;
    return 0;
}

/* Addresses arrive before or after the memory table and ring size; they are
 * checked against memory when the ring starts.  A started ring switches to
 * the new addresses only if they translate. */
REF_HANDLER(set_vring_addr)
{
    (void)reply;
    struct ref_vring *v = ref_ring(s, m->u.addr.index);
    if (!v || ref_vring_check_addr(s, &m->u.addr) < 0)
        return -1;
    if (!v->started) {
        struct ref_vring before = *v;
        v->addr = m->u.addr;
        v->addr_set = true;
        if (ref_vring_try_start(s, v) == 0)
            return 0;
        v->addr = before.addr;          /* a rejected request changes nothing */
        v->addr_set = before.addr_set;
        return -1;
    }
    struct ref_vring next = *v;
    void *ptr[3];
    next.addr = m->u.addr;
    if (ref_vring_translate(s, &next, &s->mem, ptr) < 0)
        return -1;
    ref_vring_disarm(v);
    v->addr = m->u.addr;
    v->desc = ptr[0];
    v->avail = ptr[1];
    v->used = ptr[2];
    ref_vring_rearm(s, v);
    return 0;
}

REF_HANDLER(set_vring_base)
{
    (void)reply;
    struct ref_vring *v = ref_ring(s, m->u.state.index);
    if (!v || not_started(s, v, "SET_VRING_BASE") < 0)
        return -1;
    /* split: a 16-bit avail index; packed: kept as given (wrap in bit 15) */
    if (!ref_has_feature(s, VHU_F_RING_PACKED) && m->u.state.num > 0xffff)
        return ref_fail(s, "vring.base: %u does not fit a 16-bit ring index",
                        m->u.state.num);
    v->base = m->u.state.num;
    return 0;
}

/* Stops the ring; its worker is parked, so the base is the device's
 * last_avail_idx and everything consumed before it is in the used ring. */
REF_HANDLER(get_vring_base)
{
    struct ref_vring *v = ref_ring(s, m->u.state.index);
    if (!v)
        return -1;
    ref_vring_stop(v);
    reply->u.state.index = v->index;
    reply->u.state.num = v->base;
    return 0;
}

/* The u64 of KICK/CALL/ERR: ring index in the low byte, NOFD in bit 8;
 * vhu_validate already checked the other bits and the fd count.  The fd
 * must be something with eventfd semantics: a regular file, directory or
 * device is always "ready" and would make a worker wake in a loop, so it
 * is refused here (and one that misbehaves later breaks its ring, worker.c). */
static struct ref_vring *fd_ring(struct ref_session *s, struct vhu_msg *m, int *fd,
                                 const char *what)
{
    struct ref_vring *v = ref_ring(s, (uint32_t)(m->u.u64 & VHU_VRING_IDX_MASK));
    if (!v)
        return NULL;
    *fd = -1;
    if (!(m->u.u64 & VHU_VRING_NOFD)) {
        const char *problem = ref_fd_kind_problem(m->fds[0]);
        if (problem) {
            ref_fail(s, "vring.%s.fd: ring %u: %s", what, v->index, problem);
            return NULL;
        }
        *fd = m->fds[0];
        m->fds[0] = -1;         /* kept */
    }
    return v;
}

/* A kick fd (or polling, with NOFD) is what starts a ring. */
REF_HANDLER(set_vring_kick)
{
    (void)reply;
    int fd;
    struct ref_vring *v = fd_ring(s, m, &fd, "kick");
    if (!v)
        return -1;
    ref_vring_disarm(v);
    ref_vring_set_fd(&v->kick_fd, fd);
    v->kick_set = true;
    if (ref_vring_try_start(s, v) < 0) {
        /* leave the ring as if the kick never came */
        ref_vring_set_fd(&v->kick_fd, -1);
        v->kick_set = false;
        return -1;
    }
    ref_vring_rearm(s, v);
    return 0;
}

REF_HANDLER(set_vring_call)
{
    (void)reply;
    int fd;
    struct ref_vring *v = fd_ring(s, m, &fd, "call");
    if (!v)
        return -1;
    ref_vring_disarm(v);
    ref_vring_set_fd(&v->call_fd, fd);
    ref_vring_rearm(s, v);
    return 0;
}

REF_HANDLER(set_vring_err)
{
    (void)reply;
    int fd;
    struct ref_vring *v = fd_ring(s, m, &fd, "err");
    if (!v)
        return -1;
    ref_vring_set_fd(&v->err_fd, fd);
    return 0;
}

REF_HANDLER(set_vring_enable)
{
    (void)reply;
    struct ref_vring *v = ref_ring(s, m->u.state.index);
    if (!v)
        return -1;
    if (m->u.state.num > 1)
        return ref_fail(s, "vring.enable: %u is neither 0 nor 1", m->u.state.num);
    v->enabled = m->u.state.num == 1;
    ref_vring_rearm(s, v);
    return 0;
}

/* Signals in the datapath: recovery from faults in guest memory, the nudge
 * that interrupts a worker's blocking call, and the signal mask of every
 * thread vhost-refnet starts.
 *
 * Guest memory that shrinks.  The front end owns the files behind guest
 * memory.  If it truncates one after SET_MEM_TABLE (a memfd without
 * F_SEAL_SHRINK, any memory-backend-file, a hugetlbfs file), every access
 * to a page past the new end raises SIGBUS in whichever worker touches it.
 * Sealing cannot be demanded: QEMU's memory-backend-memfd seals by default,
 * but file-backed memory cannot be sealed at all, and a size check at map
 * time says nothing about later.  So the guarantee is made where the
 * access is: only worker threads touch guest memory (the control thread
 * translates addresses but never dereferences them), each worker runs with
 * a recovery point (sigsetjmp) and the process-wide SIGBUS handler jumps
 * back to it when the faulting address lies inside that worker's session's
 * mappings.  The worker then breaks the rings of its queue pair (logged,
 * err fd signalled) and never touches them again until they are started
 * anew.  Any other SIGBUS (a fault outside guest memory, a signal sent with
 * kill) goes to the handler that was there before ours (a sanitizer's) or
 * to the default action: a bug of ours still crashes with a report.
 *
 * Blocking calls.  Front-end fds are used without changing their flags
 * (O_NONBLOCK is a property of the file description, which the front end
 * shares).  A read or write that is ready only after poll() said so can
 * still block if the front end races us on the same fd; for that, the
 * control thread interrupts a worker that does not park in time with
 * REF_SIG_NUDGE (a handler installed without SA_RESTART), the call fails
 * with EINTR, and the worker breaks the ring whose fd blocked.
 *
 * Signal masks.  Asynchronous signals (SIGINT, SIGTERM, SIGUSR1, ...) stay
 * with the thread that waits for them, so other threads block them; the
 * signals a fault raises (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS)
 * are never blocked: a blocked fault signal makes the kernel kill the
 * process outright, without the sanitizer's (or our) handler running. */
#ifndef REFNET_FAULT_H
#define REFNET_FAULT_H

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>

#include "refnet.h"

/* The signal that interrupts a worker's blocking call. */
#define REF_SIG_NUDGE (SIGRTMIN + 2)

struct ref_guard {
    sigjmp_buf jb;              /* where a fault in guest memory resumes */
    const struct ref_mem *mem;  /* the mappings this thread may fault in */
    void *addr;                 /* the address of the last recovered fault */
};

/* Install the SIGBUS and nudge handlers, once per process. */
void ref_fault_install(void);
/* From now on a SIGBUS in g->mem on this thread jumps to g->jb (which the
 * caller has set with sigsetjmp(g->jb, 1)); NULL: no recovery point. */
void ref_fault_guard(struct ref_guard *g);
/* The mask a thread of ours runs with: every signal blocked except the
 * ones a fault raises and, with nudge, REF_SIG_NUDGE. */
void ref_thread_sigmask(sigset_t *set, bool nudge);

#endif

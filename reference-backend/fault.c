/* SIGBUS recovery, the nudge signal and thread signal masks (fault.h). */
#include "fault.h"

#include <stdint.h>
#include <string.h>

static _Thread_local struct ref_guard *guard;
static struct sigaction before_ours;    /* SIGBUS's handler before ref_fault_install */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static const int fault_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS };

/* Is a inside one of m's mappings?  Reads only what the control thread
 * does not change while this worker runs. */
static bool in_mappings(const struct ref_mem *m, const void *a)
{
    uintptr_t x = (uintptr_t)a;
    for (unsigned i = 0; i < m->n && i < REF_MAX_MEM_SLOTS; i++) {
        uintptr_t p = (uintptr_t)m->r[i].map;
        if (p && x >= p && x - p < m->r[i].map_len)
            return true;
    }
    return false;
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    struct ref_guard *g = guard;
    /* si_code > 0: raised by the kernel for this access, not sent */
    if (g && g->mem && si->si_code > 0 && in_mappings(g->mem, si->si_addr)) {
        g->addr = si->si_addr;
        siglongjmp(g->jb, 1);
    }
    /* Not a fault in guest memory: the handler before ours takes it.  A
     * fault repeats when we return (the instruction runs again); a sent
     * signal is raised again (blocked until we return). */
    (void)uc;
    sigaction(SIGBUS, &before_ours, NULL);
    if (si->si_code <= 0)
        raise(sig);
}

static void on_nudge(int sig)
{
    (void)sig;      /* its only job: make a blocking call return EINTR */
}

static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &before_ours);
    struct sigaction nudge;
    memset(&nudge, 0, sizeof nudge);
    nudge.sa_handler = on_nudge;    /* no SA_RESTART */
    sigemptyset(&nudge.sa_mask);
    sigaction(REF_SIG_NUDGE, &nudge, NULL);
}

void ref_fault_install(void)
{
    pthread_once(&once, install);
}

void ref_fault_guard(struct ref_guard *g)
{
    guard = g;
}

void ref_thread_sigmask(sigset_t *set, bool nudge)
{
    sigfillset(set);
    for (size_t i = 0; i < sizeof fault_signals / sizeof fault_signals[0]; i++)
        sigdelset(set, fault_signals[i]);
    if (nudge)
        sigdelset(set, REF_SIG_NUDGE);
}

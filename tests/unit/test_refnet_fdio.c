/* Unit tests of vhost-refnet's fd I/O that never blocks (reference-backend/
 * fdio.c) and its signal plumbing (fault.c): the nudge that interrupts a
 * sleeping call, and the SIGBUS recovery from guest memory that shrank.
 * Every test runs under alarm(): a call that sleeps fails it with SIGALRM
 * instead of hanging the suite. */
#include "fault.h"
#include "fdio.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

void ref_log(const char *fmt, ...)
{
    (void)fmt;
}

static void arm_alarm(void)
{
    alarm(5);
}

static int blocking_eventfd(uint64_t count)
{
    int fd = eventfd(0, EFD_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    if (count)
        ck_assert_int_eq(write(fd, &count, sizeof count), sizeof count);
    return fd;
}

START_TEST(signal_saturated_eventfd)
{
    int fd = blocking_eventfd(0xfffffffffffffffeull);
    ck_assert_int_eq(ref_fd_signal(fd), REF_FD_AGAIN);
    close(fd);
}
END_TEST

START_TEST(signal_full_pipe)
{
    int p[2];
    ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
    static const char block[4096];
    while (write(p[1], block, sizeof block) > 0)
        ;
    ck_assert_int_eq(fcntl(p[1], F_SETFL, 0), 0);   /* blocking again */
    ck_assert_int_eq(ref_fd_signal(p[1]), REF_FD_AGAIN);
    close(p[0]);
    close(p[1]);
}
END_TEST

/* SIGPIPE keeps its default action here: a write would kill the test. */
START_TEST(signal_pipe_without_reader)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    close(p[0]);
    ck_assert_int_eq(ref_fd_signal(p[1]), REF_FD_DEAD);
    close(p[1]);
}
END_TEST

START_TEST(signal_counts_one)
{
    int fd = blocking_eventfd(0);
    ck_assert_int_eq(ref_fd_signal(fd), REF_FD_OK);
    ck_assert_int_eq(ref_fd_signal(-1), REF_FD_OK);
    uint64_t v = 0;
    ck_assert_int_eq(read(fd, &v, sizeof v), sizeof v);
    ck_assert_uint_eq(v, 1);
    close(fd);
}
END_TEST

START_TEST(drain_kinds)
{
    int e = blocking_eventfd(0);
    ck_assert_int_eq(ref_fd_drain(e), REF_FD_AGAIN);   /* empty, blocking: no sleep */
    uint64_t three = 3;
    ck_assert_int_eq(write(e, &three, sizeof three), sizeof three);
    ck_assert_int_eq(ref_fd_drain(e), REF_FD_OK);
    ck_assert_int_eq(ref_fd_drain(e), REF_FD_AGAIN);
    close(e);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(write(p[1], "abc", 3), 3);
    ck_assert_int_eq(ref_fd_drain(p[0]), REF_FD_NOT_EVENTFD);
    close(p[1]);
    ck_assert_int_eq(ref_fd_drain(p[0]), REF_FD_EOF);
    close(p[0]);
    int z = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(z, 0);
    ck_assert_int_eq(ref_fd_drain(z), REF_FD_NOT_EVENTFD);
    close(z);
}
END_TEST

START_TEST(kind_problems)
{
    int m = memfd_create("t", MFD_CLOEXEC);
    int n = open("/dev/null", O_RDWR | O_CLOEXEC);
    int e = eventfd(0, EFD_CLOEXEC), p[2], s[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
    ck_assert_ptr_nonnull(ref_fd_kind_problem(m));
    ck_assert_ptr_nonnull(ref_fd_kind_problem(n));
    ck_assert_ptr_null(ref_fd_kind_problem(e));
    ck_assert_ptr_null(ref_fd_kind_problem(p[0]));
    ck_assert_ptr_null(ref_fd_kind_problem(s[0]));
    int fds[] = { m, n, e, p[0], p[1], s[0], s[1] };
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        close(fds[i]);
}
END_TEST

/* A thread sleeping in read() returns EINTR when nudged. */
static int sleeper_fd;
static int sleeper_errno;

static void *sleeper(void *arg)
{
    (void)arg;
    char c;
    ssize_t n = read(sleeper_fd, &c, 1);
    sleeper_errno = n < 0 ? errno : 0;
    return NULL;
}

START_TEST(nudge_interrupts_a_read)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    sleeper_fd = p[0];
    ref_fault_install();
    sigset_t mask, old;
    ref_thread_sigmask(&mask, true);
    ck_assert(!sigismember(&mask, SIGSEGV) && !sigismember(&mask, SIGBUS));
    ck_assert(sigismember(&mask, SIGTERM) && !sigismember(&mask, REF_SIG_NUDGE));
    pthread_sigmask(SIG_SETMASK, &mask, &old);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, sleeper, NULL), 0);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    usleep(100 * 1000);                 /* it is asleep in read() by now */
    ck_assert_int_eq(pthread_kill(th, REF_SIG_NUDGE), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(sleeper_errno, EINTR);
    close(p[0]);
    close(p[1]);
}
END_TEST

/* Two pages of a memfd mapped as guest memory, then the file truncated:
 * the access comes back through the guard with the faulting address. */
START_TEST(sigbus_in_guest_memory_recovers)
{
    int fd = memfd_create("guest", MFD_CLOEXEC);
    ck_assert_int_eq(ftruncate(fd, 8192), 0);
    uint8_t *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    static struct ref_mem m;
    ref_mem_init(&m);
    m.r[0] = (struct ref_region){ .gpa = 0, .size = 8192, .map = p, .map_len = 8192 };
    m.n = 1;
    static struct ref_guard g;
    g.mem = &m;
    ref_fault_install();
    ck_assert_int_eq(ftruncate(fd, 0), 0);
    volatile int recovered = 0;
    ref_fault_guard(&g);
    if (sigsetjmp(g.jb, 1) == 0)
        ((volatile uint8_t *)p)[4100] = 1;
    else
        recovered = 1;
    ref_fault_guard(NULL);
    ck_assert_int_eq(recovered, 1);
    ck_assert_ptr_eq(g.addr, p + 4100);
    munmap(p, 8192);
    close(fd);
}
END_TEST

/* The same fault without a guard is not ours to handle: the process dies
 * of SIGBUS (the test expects that signal). */
START_TEST(sigbus_outside_guest_memory_is_not_caught)
{
    int fd = memfd_create("other", MFD_CLOEXEC);
    ck_assert_int_eq(ftruncate(fd, 4096), 0);
    uint8_t *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    static struct ref_mem m;            /* the guard's memory does not hold p */
    ref_mem_init(&m);
    static struct ref_guard g;
    g.mem = &m;
    ref_fault_install();
    ck_assert_int_eq(ftruncate(fd, 0), 0);
    ref_fault_guard(&g);
    if (sigsetjmp(g.jb, 1) == 0)
        ((volatile uint8_t *)p)[0] = 1;
    ck_abort_msg("a fault outside guest memory was recovered");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("refnet_fdio");
    TCase *t = tcase_create("fdio");
    tcase_add_checked_fixture(t, arm_alarm, NULL);
    tcase_add_test(t, signal_saturated_eventfd);
    tcase_add_test(t, signal_full_pipe);
    tcase_add_test(t, signal_pipe_without_reader);
    tcase_add_test(t, signal_counts_one);
    tcase_add_test(t, drain_kinds);
    tcase_add_test(t, kind_problems);
    suite_add_tcase(s, t);
    t = tcase_create("signals");
    tcase_add_checked_fixture(t, arm_alarm, NULL);
    tcase_add_test(t, nudge_interrupts_a_read);
    tcase_add_test(t, sigbus_in_guest_memory_recovers);
    tcase_add_test_raise_signal(t, sigbus_outside_guest_memory_is_not_caught, SIGBUS);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}

/* vhost-refnet's IOTLB translation (reference-backend/iotlb.h): permissions,
 * entries spanned, misses sent and waited for with a bound. */
#include "iotlb.h"

#include <check.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void ref_log(const char *fmt, ...)
{
    (void)fmt;
}

static struct ref_iotlb *t;
static uint8_t mem[3 * 4096];

static void add(uint64_t iova, uint64_t size, uint8_t *host, uint8_t perm)
{
    t->e[t->n++] = (struct ref_iotlb_ent){ iova, size, 0, host, perm };
}

static void setup(void)
{
    t = calloc(1, sizeof *t);
    ck_assert_ptr_nonnull(t);
    pthread_mutex_init(&t->mu, NULL);
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &a);
    t->backend_fd = -1;
    add(0x10000, 4096, mem, REF_PERM_RO);
    add(0x11000, 4096, mem + 4096, REF_PERM_RW);
    add(0x20000, 4096, mem + 8192, REF_PERM_WO);
}

static void teardown(void)
{
    free(t);
}

static struct ref_iovs io;

START_TEST(permissions)
{
    unsigned hint = 0;
    io.n = 0;
    ck_assert_int_eq(ref_iotlb_xlate(t, &hint, 0x10010, 16, false, &io), 0);
    ck_assert_uint_eq(io.n, 1);
    ck_assert_ptr_eq(io.v[0].p, mem + 0x10);
    ck_assert_int_eq(ref_iotlb_xlate(t, &hint, 0x10010, 16, true, &io), -1);  /* RO: no write */
    ck_assert_uint_eq(io.n, 1);                                               /* nothing added */
    ck_assert_int_eq(ref_iotlb_xlate(t, &hint, 0x20000, 16, false, &io), -1); /* WO: no read */
    ck_assert_int_eq(ref_iotlb_xlate(t, &hint, 0x20000, 16, true, &io), 0);
    ck_assert_ptr_null(ref_iotlb_one(t, &hint, 0x20000, 16));                 /* tables: read */
    ck_assert_ptr_eq(ref_iotlb_one(t, &hint, 0x11000, 4096), mem + 4096);
    ck_assert_ptr_null(ref_iotlb_one(t, &hint, 0x11000, 4097));               /* past it */
    ck_assert_ptr_null(ref_iotlb_span(t, 0x10000, 16, REF_PERM_WO));
    ck_assert_ptr_eq(ref_iotlb_span(t, 0x11000, 16, REF_PERM_RW), mem + 4096);
}
END_TEST

START_TEST(spans_entries)
{
    unsigned hint = 2;
    io.n = 0;
    /* RO then RW: a read across both gives two iovs */
    ck_assert_int_eq(ref_iotlb_xlate(t, &hint, 0x10ff0, 32, false, &io), 0);
    ck_assert_uint_eq(io.n, 2);
    ck_assert_uint_eq(io.v[0].len, 16);
    ck_assert_ptr_eq(io.v[1].p, mem + 4096);
    ck_assert_uint_eq(io.v[1].len, 16);
    /* a write across them stops at the RO part, all of it undone */
    io.n = 0;
    ck_assert_int_eq(ref_iotlb_xlate(t, &hint, 0x10ff0, 32, true, &io), -1);
    ck_assert_uint_eq(io.n, 0);
    /* past the RW entry there is nothing and no channel: no wait */
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    ck_assert_int_eq(ref_iotlb_xlate(t, &hint, 0x11ff0, 32, false, &io), -1);
    clock_gettime(CLOCK_MONOTONIC, &b);
    ck_assert_int_lt(b.tv_sec - a.tv_sec, 1);
    ck_assert_uint_eq(io.n, 0);
}
END_TEST

START_TEST(wraps)
{
    t->n = 0;
    add(0, 4096, mem + 4096, REF_PERM_RW);
    add(UINT64_MAX - 4095, 4096, mem, REF_PERM_RW);
    unsigned hint = 0;
    io.n = 0;
    ck_assert_int_eq(ref_iotlb_xlate(t, &hint, UINT64_MAX - 15, 32, false, &io), -1);
    ck_assert_uint_eq(io.n, 0);
}
END_TEST

static int peer;

static void *updater(void *arg)
{
    (void)arg;
    struct vhu_msg m;
    const char *rule = NULL;
    if (vhu_recv(peer, &m, 2000, &rule) == 0 && m.u.iotlb.type == REF_IOTLB_MISS) {
        pthread_mutex_lock(&t->mu);
        t->e[t->n++] = (struct ref_iotlb_ent){ m.u.iotlb.iova & ~0xfffull, 4096, 0, mem + 8192,
                                               REF_PERM_RW };
        pthread_cond_broadcast(&t->cv);
        pthread_mutex_unlock(&t->mu);
    }
    return NULL;
}

START_TEST(miss_then_update)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    t->backend_fd = sv[0];
    t->need_reply = true;
    peer = sv[1];
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, updater, NULL), 0);
    unsigned hint = 0;
    io.n = 0;
    ck_assert_int_eq(ref_iotlb_xlate(t, &hint, 0x30010, 16, true, &io), 0);
    pthread_join(th, NULL);
    ck_assert_ptr_eq(io.v[0].p, mem + 8192 + 0x10);
    ck_assert_uint_eq(t->misses, 1);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

START_TEST(miss_bounded)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    t->backend_fd = sv[0];
    t->need_reply = true;
    unsigned hint = 0;
    io.n = 0;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    ck_assert_int_eq(ref_iotlb_xlate(t, &hint, 0x40000, 16, false, &io), -1);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    ck_assert_int_ge(ms, REF_IOTLB_WAIT_MS - 50);
    ck_assert_int_lt(ms, REF_IOTLB_WAIT_MS + 1000);
    struct vhu_msg m;
    const char *rule = NULL;
    ck_assert_int_eq(vhu_recv(sv[1], &m, 100, &rule), 0);
    ck_assert_uint_eq(m.hdr.request, VHU_BREQ_IOTLB_MSG);
    ck_assert(m.hdr.flags & VHU_FLAG_NEED_REPLY);
    ck_assert_uint_eq(m.u.iotlb.type, REF_IOTLB_MISS);
    ck_assert_uint_eq(m.u.iotlb.iova, 0x40000);
    ck_assert_uint_eq(m.u.iotlb.perm, REF_PERM_RO);
    ck_assert_uint_eq(t->timeouts, 1);
    /* a coming park: no wait starts */
    t->parking = true;
    clock_gettime(CLOCK_MONOTONIC, &a);
    ck_assert_int_eq(ref_iotlb_xlate(t, &hint, 0x40000, 16, false, &io), -1);
    clock_gettime(CLOCK_MONOTONIC, &b);
    ck_assert_int_lt(b.tv_sec - a.tv_sec, 1);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("refnet_iotlb");
    TCase *tc = tcase_create("xlate");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, permissions);
    tcase_add_test(tc, spans_entries);
    tcase_add_test(tc, wraps);
    tcase_add_test(tc, miss_then_update);
    tcase_add_test(tc, miss_bounded);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* The guarded guest memory and the ring of refnet_mem.h. */
#include "refnet_mem.h"

#include <check.h>
#include <sys/mman.h>

struct ref_mem mem;
struct ref_vring vr;
struct ref_iovs io;
static uint8_t *area;
static size_t area_len;

void ref_log(const char *fmt, ...)
{
    (void)fmt;                          /* "ring broken" lines: not needed here */
}

/* Page layout: guard, A (4 pages), guard, B (4), guard, C (1), guard, D (1),
 * guard. */
static void add_region(unsigned first_page, unsigned pages, uint64_t gpa)
{
    uint8_t *p = area + (size_t)first_page * PG;
    ck_assert_int_eq(mprotect(p, (size_t)pages * PG, PROT_READ | PROT_WRITE), 0);
    mem.r[mem.n++] = (struct ref_region){ .gpa = gpa, .size = (uint64_t)pages * PG,
                                          .uaddr = gpa, .map = p, .map_len = pages * PG };
}

void *host(uint64_t gpa)
{
    for (unsigned i = 0; i < mem.n; i++)
        if (gpa >= mem.r[i].gpa && gpa - mem.r[i].gpa < mem.r[i].size)
            return (uint8_t *)mem.r[i].map + (gpa - mem.r[i].gpa);
    ck_abort_msg("test bug: gpa 0x%llx outside memory", (unsigned long long)gpa);
    return NULL;
}

void setup_mem(void)
{
    area_len = 15 * PG;             /* the last page stays a guard */
    area = mmap(NULL, area_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(area, MAP_FAILED);
    ref_mem_init(&mem);
    add_region(1, 4, GPA_A);
    add_region(6, 4, GPA_B);
    add_region(11, 1, GPA_C);
    add_region(13, 1, GPA_D);
}

void teardown(void)
{
    munmap(area, area_len);
}

void start_ring(bool packed)
{
    ref_vring_init(&vr, 1);
    vr.num = NUM;
    vr.packed = packed;
    vr.desc = host(RING_GPA);
    vr.avail = host(RING_GPA + 0x100);
    vr.used = host(RING_GPA + 0x200);
    vr.base = packed ? 0x8000u : 0;     /* packed: position 0, wrap counter 1 */
    struct ref_session s = { 0 };
    ref_vq_start(&s, &vr);
    io.n = 0;
}

uint64_t bad_count(void)
{
    return atomic_load(&vr.dp.st.bad);
}

void sdesc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    ((struct sdesc *)host(RING_GPA))[i] = (struct sdesc){ addr, len, flags, next };
}

/* Make head available (avail idx += 1). */
void post(uint16_t head)
{
    uint16_t *avail = host(RING_GPA + 0x100);
    avail[2 + avail[1] % NUM] = head;
    avail[1]++;
}

int spop(struct ref_elem *e, bool write)
{
    io.n = 0;
    return ref_split_ops.pop(&vr, &mem, &io, write, e);
}

void pdesc(unsigned i, uint64_t addr, uint32_t len, uint16_t id, uint16_t flags)
{
    ((struct pdesc *)host(RING_GPA))[i] = (struct pdesc){ addr, len, id, flags | P_AVAIL };
}

int ppop(struct ref_elem *e)
{
    io.n = 0;
    return ref_packed_ops.pop(&vr, &mem, &io, false, e);
}


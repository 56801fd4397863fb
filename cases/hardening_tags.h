/* The shipped bugs the hardening cases (and a few older cases) guard
 * against, each said in our own words, for struct vhc_case.tags.  Strings
 * are concatenated, so a case lists several as TAG_A "; " TAG_B. */
#ifndef VHC_HARDENING_TAGS_H
#define VHC_HARDENING_TAGS_H

#define CVE_2018_1059 "CVE-2018-1059 (DPDK vhost): guest addresses were translated by " \
    "checking only where a buffer starts; a descriptor whose length ran past the end of " \
    "its memory region made the back end copy to or from host memory outside the " \
    "guest's; fixed by translating (address, length) and refusing a range not inside " \
    "one mapping"
#define CVE_2020_10722 "CVE-2020-10722 (DPDK vhost): SET_LOG_BASE added the front " \
    "end's mmap offset and size without an overflow check, so a wrapped sum mapped a " \
    "small log that was then addressed far outside it"
#define CVE_2020_10723 "CVE-2020-10723 (DPDK vhost): a ring address that did not " \
    "translate through the memory table was used anyway (NULL plus an offset), a wild " \
    "pointer the back end then dereferenced"
#define CVE_2020_10725 "CVE-2020-10725 (DPDK vhost): descriptor addresses were used " \
    "without checking that the whole length translated (packed-ring batch path); a " \
    "guest crashed the back end with a descriptor outside its memory"
#define CVE_2020_10726 "CVE-2020-10726 (DPDK vhost): the inflight-buffer messages " \
    "leaked a file descriptor every time they were repeated, exhausting the back end's " \
    "fd table; the same advisory fixed a ring index compared with the wrong bound"
#define CVE_2022_0669 "CVE-2022-0669 (DPDK vhost): fds attached to a message that " \
    "takes fewer (GET/SET_INFLIGHT_FD) were never closed, so a front end could exhaust " \
    "the back end's fds; fixed by checking the fd count of every request and closing " \
    "the ones it does not use"
#define CVE_2022_2132 "CVE-2022-2132 (DPDK vhost): the TX copy assumed the 12-byte " \
    "virtio-net header spans at most two descriptors; a guest that split it over more " \
    "made the back end read past the descriptors it was given and crash"
#define CVE_2024_11614 "CVE-2024-11614 (DPDK vhost): a TX header asking for checksum " \
    "offload with csum_start beyond the end of the frame made the software checksum " \
    "length wrap, and the back end read far past the packet buffer"
#define FIX_LIBVHOST_USER_DESC "libvhost-user (QEMU) descriptor walk: refuses a next " \
    "index >= queue size, a chain longer than the queue (a loop), an indirect table " \
    "whose length is not a multiple of 16 or is nested, and a descriptor that does not " \
    "map, with vu_panic rather than assert() on guest input"
#define FIX_RUST_VMM_CHAIN "rust-vmm virtio-queue (security review findings): a " \
    "descriptor chain is bounded by the queue size so a loop ends, and an indirect " \
    "table must be a non-zero multiple of 16 bytes, not nested, inside guest memory"
#define FIX_RUST_VMM_MSG "rust-vmm vhost (security review findings): every message " \
    "payload is checked for its exact size and an unknown request code is an error, " \
    "never a default branch"
#define FIX_LIBVHOST_USER_MEM "libvhost-user / virtiofsd fixes: a region's mmap offset " \
    "and size are checked before mmap, and a memory table that cannot be mapped is " \
    "refused instead of leaving half-mapped regions"
#define FIX_QEMU_MEMFD_SEAL "QEMU memory-backend-memfd seals guest RAM against " \
    "shrinking (seal=on, its default since it came in QEMU 2.12): a process that maps a " \
    "file which then shrinks dies of SIGBUS on its next access; memory-backend-file and " \
    "hugetlbfs files cannot be sealed, so a back end has to survive it"
#define FIX_INDIRECT_BOUND "Linux vhost (drivers/vhost/vhost.c, get_indirect) refuses " \
    "an indirect table of more than 2^16 entries ('Indirect buffer length too big'): " \
    "a table bounded only by its memory region lets a guest make one chain cost tens of " \
    "millions of descriptor reads while the control plane waits"
#define FIX_VRING_NUM "DPDK vhost_user_set_vring_num and libvhost-user: a ring size of " \
    "0, not a power of two, or above 32768 is refused (it sizes arrays the back end " \
    "indexes with guest data)"

#endif

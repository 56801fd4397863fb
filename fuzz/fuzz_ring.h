/* The input format of fuzz_ring (fuzz_ring.c), shared with the seed
 * generator (make_seeds.c).
 *
 *   byte 0   ring size: 1 << (b % 9) for split (1..256); b % 256 + 1 packed
 *   byte 1   bit 0 packed, bit 1 EVENT_IDX, bit 2 INDIRECT_DESC,
 *            bit 3 MRG_RXBUF, bits 4-7 bursts to run (1..16)
 *   byte 2-3 TX ring base (SET_VRING_BASE value), little endian
 *   byte 4-5 RX ring base
 *   rest     guest memory: the first FR_SMALL bytes from gpa 0 (region 0),
 *            the next FR_BIG_HEAD bytes at the start of region 1; the rest
 *            stays zero
 *
 * Region 0 holds the rings: TX desc FR_TX, TX avail/driver area
 * FR_TX + FR_AVAIL, TX used/device area FR_TX + FR_USED; RX the same at
 * FR_RX; the rest (0x4000..) is for buffers.  Regions 1 and 2 are large and
 * sparse (FR_BIG each, at FR_BIG_GPA1 and FR_BIG_GPA2): room for buffers
 * and indirect tables far longer than any queue. */
#ifndef FUZZ_RING_H
#define FUZZ_RING_H

#define FR_CFG_BYTES 6u
#define FR_SMALL     (64u * 1024u)
#define FR_BIG_HEAD  4096u
#define FR_BIG       (64ull << 20)
#define FR_BIG_GPA1  0x1000000ull
#define FR_BIG_GPA2  0x10000000ull
#define FR_TX        0x0000u
#define FR_RX        0x2000u
#define FR_AVAIL     0x1000u
#define FR_USED      0x1400u
#define FR_MAX_LEN   (FR_CFG_BYTES + FR_SMALL + FR_BIG_HEAD)

#endif

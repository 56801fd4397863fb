#!/usr/bin/env python3
"""make-corpus.py FIXTURES OUTDIR: seed corpora for the fuzz targets.

OUTDIR/msg/NAME    one seed per recorded trace FIXTURES/NAME.raw: its
                   front-end messages (F->B) in order, each prefixed with
                   its fd count (fuzz_msg.c's record format)
OUTDIR/ring/NAME   a few well-formed loopback rings (fuzz_ring.c's format):
                   split and packed, direct and indirect, one TX frame and
                   one RX buffer each, so the fuzzer starts from chains
                   that really get forwarded
"""
import pathlib
import struct
import sys

DESC_F_NEXT, DESC_F_WRITE, DESC_F_INDIRECT = 1, 2, 4
DESC_F_AVAIL = 1 << 7
TX, RX = 0x0000, 0x2000           # ring blocks, as in fuzz_ring.c
AVAIL_OFF, USED_OFF = 0x1000, 0x1400
TX_BUF, RX_BUF, TABLE = 0x4000, 0x8000, 0x5000

# What vhost-refnet offers (reference-backend/session.c offered_features and
# offered_pfeatures).  The traces' SET_FEATURES / SET_PROTOCOL_FEATURES ack
# what dpdk-testpmd offered; QEMU acks the intersection of its own set and
# the back end's, so masking with refnet's offer gives what QEMU would send
# to refnet -- otherwise every seed would stop at SET_PROTOCOL_FEATURES.
REQ_SET_FEATURES, REQ_SET_PROTOCOL_FEATURES = 2, 16
REFNET_FEATURES = sum(1 << b for b in (15, 22, 28, 29, 30, 32, 34))
REFNET_PFEATURES = sum(1 << b for b in (0, 3, 5, 13, 15, 16))
MASKS = {REQ_SET_FEATURES: REFNET_FEATURES, REQ_SET_PROTOCOL_FEATURES: REFNET_PFEATURES}


def msg_seed(raw_path):
    out = bytearray()
    for line in raw_path.read_text().splitlines():
        parts = line.split()
        if len(parts) != 4 or parts[1] != "F->B":
            continue
        nfds = int(parts[2].split("=")[1])
        msg = bytearray.fromhex(parts[3])
        req, _, size = struct.unpack_from("<III", msg)
        if req in MASKS and size == 8:
            value = struct.unpack_from("<Q", msg, 12)[0]
            struct.pack_into("<Q", msg, 12, value & MASKS[req])
        out.append(nfds)
        out += msg
    return bytes(out)


def put(mem, at, data):
    mem[at:at + len(data)] = data


def split_desc(addr, length, flags, nxt=0):
    return struct.pack("<QIHH", addr, length, flags, nxt)


def packed_desc(addr, length, buf_id, flags):
    return struct.pack("<QIHH", addr, length, buf_id, flags)


def cfg(size_byte, packed, event_idx, indirect, mrg, bursts, tx_base, rx_base):
    flags = packed | event_idx << 1 | indirect << 2 | mrg << 3 | (bursts - 1) << 4
    return bytes([size_byte, flags]) + struct.pack("<HH", tx_base, rx_base)


def split_ring(indirect, event_idx):
    mem = bytearray(0xa000)
    if indirect:
        put(mem, TX, split_desc(TABLE, 32, DESC_F_INDIRECT))
        put(mem, TABLE, split_desc(TX_BUF, 12, DESC_F_NEXT, 1) +
            split_desc(TX_BUF + 0x100, 52, 0))
    else:
        put(mem, TX, split_desc(TX_BUF, 64, 0))
    put(mem, TX + AVAIL_OFF, struct.pack("<HHH", 0, 1, 0))
    put(mem, RX, split_desc(RX_BUF, 2048, DESC_F_WRITE))
    put(mem, RX + AVAIL_OFF, struct.pack("<HHH", 0, 1, 0))
    return cfg(3, 0, event_idx, indirect, 1, 2, 0, 0) + bytes(mem)


def packed_ring(indirect):
    mem = bytearray(0xa000)
    if indirect:
        put(mem, TX, packed_desc(TABLE, 32, 0, DESC_F_INDIRECT | DESC_F_AVAIL))
        put(mem, TABLE, packed_desc(TX_BUF, 12, 0, 0) + packed_desc(TX_BUF + 0x100, 52, 0, 0))
    else:
        put(mem, TX, packed_desc(TX_BUF, 64, 0, DESC_F_AVAIL))
    put(mem, RX, packed_desc(RX_BUF, 2048, 0, DESC_F_AVAIL | DESC_F_WRITE))
    # base 0x8000: position 0, wrap counter 1 (a fresh packed ring)
    return cfg(7, 1, 0, indirect, 1, 2, 0x8000, 0x8000) + bytes(mem)


def main():
    fixtures, outdir = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    (outdir / "msg").mkdir(parents=True, exist_ok=True)
    (outdir / "ring").mkdir(parents=True, exist_ok=True)
    raws = sorted(fixtures.glob("*.raw"))
    if not raws:
        sys.exit(f"make-corpus: no *.raw traces in {fixtures}")
    for raw in raws:
        (outdir / "msg" / raw.stem).write_bytes(msg_seed(raw))
    rings = {
        "split": split_ring(0, 0), "split-indirect": split_ring(1, 0),
        "split-event-idx": split_ring(0, 1),
        "packed": packed_ring(0), "packed-indirect": packed_ring(1),
    }
    for name, data in rings.items():
        (outdir / "ring" / name).write_bytes(data)
    print(f"make-corpus: {len(raws)} message seeds, {len(rings)} ring seeds in {outdir}")


if __name__ == "__main__":
    main()

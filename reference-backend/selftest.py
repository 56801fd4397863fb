#!/usr/bin/env python3
"""Drive vhost-refnet over its socket: replay QEMU 7.2 traces with real
eventfds/memfds, then malformed and semantically wrong inputs.  Checks
replies, nacks, closes, that the process survives, that every fd it was
given is closed again, and a clean SIGTERM exit.

usage: selftest.py PATH/TO/vhost-refnet FIXTURES_DIR [--valgrind]
Exit status 0 when every check passed."""
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

HDR = struct.Struct("<III")
REPLY, NEED_REPLY = 0x4, 0x8
GET_FEATURES, SET_FEATURES, SET_OWNER = 1, 2, 3
SET_MEM_TABLE, SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE = 5, 8, 9, 10
GET_VRING_BASE, SET_VRING_KICK, SET_VRING_CALL = 11, 12, 13
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_QUEUE_NUM = 15, 16, 17
SET_VRING_ENABLE, GET_CONFIG, GET_MAX_MEM_SLOTS, ADD_MEM_REG, REM_MEM_REG = 18, 24, 36, 37, 38
MEM_FDS = (SET_MEM_TABLE, ADD_MEM_REG, REM_MEM_REG)
FAILS = []


def check(cond, what):
    print(("ok     " if cond else "FAILED ") + what)
    if not cond:
        FAILS.append(what)


class Conn:
    def __init__(self, path, timeout=2.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)

    def send(self, req, payload=b"", fds=(), flags=1):
        self.s.sendmsg([HDR.pack(req, flags, len(payload)) + payload],
                       [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack(f"{len(fds)}i", *fds))]
                       if fds else [])

    def send_raw(self, data, fds=()):
        socket.send_fds(self.s, [data], list(fds)) if fds else self.s.sendall(data)

    def recv(self):
        """(req, flags, payload) or None on EOF/timeout."""
        try:
            hdr = self._exact(12)
            if hdr is None:
                return None
            req, flags, size = HDR.unpack(hdr)
            body = self._exact(size) if size else b""
            return req, flags, body
        except (socket.timeout, ConnectionResetError):
            return None

    def _exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def closed(self):
        """True when the back end closed the connection (EOF within 2 s)."""
        try:
            return self.s.recv(1) == b""
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def call(self, req, payload=b"", fds=(), flags=1):
        self.send(req, payload, fds, flags)
        return self.recv()

    def close(self):
        self.s.close()


def u64(v):
    return struct.pack("<Q", v)


def state(i, n):
    return struct.pack("<II", i, n)


def memfd(size):
    fd = os.memfd_create("guest")
    os.ftruncate(fd, size)
    return fd


# ---- trace replay ----

def parse_raw(path):
    msgs = []
    for line in open(path):
        seq, direction, nfds, hexdata = line.split()
        msgs.append((direction, int(nfds.split("=")[1]), bytes.fromhex(hexdata)))
    return msgs


def make_fds(req, payload, n, keep):
    if req in MEM_FDS:
        fds = [memfd(0x10000000) for _ in range(n)]
    elif req == 21:
        a, b = socket.socketpair()
        keep.append(a)
        fds = [b.detach()]
    else:
        fds = [os.eventfd(0) for _ in range(n)]
    return fds


def replay(path, sock, skip=(GET_CONFIG,)):
    """Send every F->B message; masks SET_(PROTOCOL_)FEATURES to what we were
    offered, the way QEMU would; expects a reply wherever the trace has one."""
    c = Conn(sock)
    offered, keep, ok = {}, [], True
    msgs = parse_raw(path)
    for i, (direction, nfds, data) in enumerate(msgs):
        if direction != "F->B":
            continue
        req, flags, size = HDR.unpack(data[:12])
        if req in skip:
            continue
        payload = data[12:]
        if req in (SET_FEATURES, SET_PROTOCOL_FEATURES):
            want = struct.unpack("<Q", payload)[0]
            payload = u64(want & offered[req - 1])
        fds = make_fds(req, payload, nfds, keep)
        try:
            c.send(req, payload, fds, flags)
        except OSError as e:
            print(f"   message {i + 1} req {req}: {e}")
            return False
        finally:
            for fd in fds:
                os.close(fd)
        expect = i + 1 < len(msgs) and msgs[i + 1][0] == "B->F"
        if expect:
            r = c.recv()
            ref = HDR.unpack(msgs[i + 1][2][:12])
            good = r is not None and r[0] == req and r[1] == 0x5 and len(r[2]) == ref[2]
            if not good:
                print(f"   message {i + 1} req {req}: got {r}, want like {ref}")
                ok = False
                break
            if req in (GET_FEATURES, GET_PROTOCOL_FEATURES):
                offered[req] = struct.unpack("<Q", r[2])[0]
    # nothing unexpected may come back, and the connection must still work
    try:
        r = c.call(GET_FEATURES)
    except OSError:
        r = None
    ok = ok and r is not None and r[0] == GET_FEATURES
    c.close()
    for k in keep:
        k.close()
    return ok


# ---- sessions for the negative cases ----

def negotiated(sock, pf=(1 << 0) | (1 << 3) | (1 << 5) | (1 << 15) | (1 << 16) | (1 << 13),
               features=(1 << 32) | (1 << 30)):
    c = Conn(sock)
    c.call(GET_FEATURES)
    c.call(GET_PROTOCOL_FEATURES)
    c.send(SET_PROTOCOL_FEATURES, u64(pf))
    c.send(SET_OWNER)
    c.send(SET_FEATURES, u64(features))
    return c


def ack(c, req, payload=b"", fds=()):
    r = c.call(req, payload, fds, flags=1 | NEED_REPLY)
    if r is None or r[0] != req or r[1] != 0x5 or len(r[2]) != 8:
        return None
    return struct.unpack("<Q", r[2])[0]


def region(gpa, size, uaddr, off):
    return struct.pack("<QQQQ", gpa, size, uaddr, off)


def mem_table(regions):
    return struct.pack("<II", len(regions), 0) + b"".join(regions)


def vring_addr(i, desc, used, avail, flags=0):
    return struct.pack("<IIQQQQ", i, flags, desc, used, avail, 0)


def alive(sock):
    c = Conn(sock)
    r = c.call(GET_FEATURES)
    c.close()
    return r is not None and r[0] == GET_FEATURES and r[1] == 0x5


def neg_cases(sock):
    c = negotiated(sock)
    check(ack(c, SET_VRING_NUM, state(0, 255)) == 1, "SET_VRING_NUM 255 with NEED_REPLY: nack")
    check(ack(c, SET_VRING_NUM, state(200, 256)) == 1, "SET_VRING_NUM index 200: nack")
    check(ack(c, SET_VRING_NUM, state(0, 65536)) == 1, "SET_VRING_NUM 65536: nack")
    check(ack(c, SET_VRING_NUM, state(0, 256)) == 0, "SET_VRING_NUM 256: ack 0")
    efd = os.eventfd(0)
    check(ack(c, SET_VRING_CALL, u64(200), [efd]) == 1, "SET_VRING_CALL index 200 with fd: nack")
    check(ack(c, SET_FEATURES, u64(1 << 0)) == 1, "SET_FEATURES with CSUM (not offered): nack")
    check(ack(c, SET_PROTOCOL_FEATURES, u64(1 << 8)) == 1, "SET_PROTOCOL_FEATURES PAGEFAULT: nack")
    check(ack(c, 20, u64(1500)) == 1, "NET_SET_MTU (gated, not negotiated): nack")
    check(ack(c, SET_VRING_ENABLE, state(0, 2)) == 1, "SET_VRING_ENABLE num 2: nack")
    # memory
    small = memfd(0x10000)
    check(ack(c, SET_MEM_TABLE, mem_table([region(0, 0x20000, 0x7000000, 0)]), [small]) == 1,
          "SET_MEM_TABLE larger than its file: nack")
    check(ack(c, SET_MEM_TABLE, mem_table([region(0, 0x1000, 2**64 - 0x800, 0)]), [small]) == 1,
          "SET_MEM_TABLE uaddr+size wraps: nack")
    check(ack(c, SET_MEM_TABLE, mem_table([region(0, 0, 0x7000000, 0)]), [small]) == 1,
          "SET_MEM_TABLE size 0: nack")
    check(ack(c, SET_MEM_TABLE, mem_table([region(0, 0x8000, 0x7000000, 0),
                                           region(0x4000, 0x8000, 0x8000000, 0)]),
              [small, small]) == 1, "SET_MEM_TABLE overlapping gpa: nack")
    check(ack(c, SET_MEM_TABLE, mem_table([region(0, 0x8000, 0x7000000, 0x1800),
                                           region(0x10000, 0x4000, 0x8000000, 0x9000)]),
              [small, small]) == 0, "SET_MEM_TABLE two regions, unaligned offset: ack 0")
    # ring 0: desc must lie in one region; region 0 maps uaddr 0x7000000..+0x8000
    check(ack(c, SET_VRING_ADDR, vring_addr(0, 0x7000008, 0x7002000, 0x7001000)) == 1,
          "SET_VRING_ADDR desc misaligned: nack")
    check(ack(c, SET_VRING_ADDR, vring_addr(0, 0x7000000, 0x7002000, 0x7001000, flags=1)) == 1,
          "SET_VRING_ADDR LOG flag without LOG_ALL: nack")
    check(ack(c, SET_VRING_ADDR, vring_addr(0, 0x7007800, 0x7002000, 0x7001000)) == 0,
          "SET_VRING_ADDR (not started yet, desc past region end): stored, ack 0")
    kick = os.eventfd(0)
    check(ack(c, SET_VRING_KICK, u64(0), [kick]) == 1,
          "SET_VRING_KICK starts ring whose desc crosses the region end: nack")
    check(ack(c, SET_VRING_ADDR, vring_addr(0, 0x7000000, 0x7002000, 0x7001000)) == 0,
          "SET_VRING_ADDR inside region 0: ack 0")
    check(ack(c, SET_VRING_KICK, u64(0), [kick]) == 0, "SET_VRING_KICK: ring starts, ack 0")
    check(ack(c, SET_VRING_NUM, state(0, 128)) == 1, "SET_VRING_NUM on a started ring: nack")
    check(ack(c, REM_MEM_REG, b"\0" * 8 + region(0, 0x8000, 0x7000000, 0x1800)) == 1,
          "REM_MEM_REG of the region a started ring uses: nack")
    moved = memfd(0x100000)
    check(ack(c, SET_MEM_TABLE, mem_table([region(0, 0x1000, 0x7000000, 0)]), [moved]) == 1,
          "SET_MEM_TABLE that no longer holds the started ring: nack")
    check(ack(c, SET_MEM_TABLE, mem_table([region(0, 0x10000, 0x7000000, 0x10000)]), [moved]) == 0,
          "SET_MEM_TABLE replacing the table under a started ring: ack 0")
    r = c.call(GET_VRING_BASE, state(0, 0))
    check(r is not None and r[0] == GET_VRING_BASE and r[1] == 0x5 and r[2] == state(0, 0),
          "GET_VRING_BASE replies {0, 0} with flags 0x5")
    check(ack(c, SET_VRING_BASE, state(0, 0x10000)) == 1, "SET_VRING_BASE 0x10000 (split): nack")
    check(ack(c, SET_VRING_KICK, u64(0x100)) == 0, "SET_VRING_KICK NOFD (polling): ack 0")
    check(ack(c, ADD_MEM_REG, b"\0" * 8 + region(0x20000, 0x1000, 0x9000000, 0), [moved]) == 0,
          "ADD_MEM_REG: ack 0")
    check(ack(c, ADD_MEM_REG, b"\0" * 8 + region(0x20800, 0x1000, 0xa000000, 0), [moved]) == 1,
          "ADD_MEM_REG overlapping: nack")
    check(ack(c, REM_MEM_REG, b"\0" * 8 + region(0x20000, 0x1000, 0x9000000, 0), [moved]) == 0,
          "REM_MEM_REG (with fd, as QEMU sends it): ack 0")
    r = c.call(GET_MAX_MEM_SLOTS)
    check(r is not None and struct.unpack("<Q", r[2])[0] == 32, "GET_MAX_MEM_SLOTS = 32")
    r = c.call(GET_QUEUE_NUM)
    check(r is not None and struct.unpack("<Q", r[2])[0] == 2, "GET_QUEUE_NUM = 2 (--queues 2)")
    for fd in (efd, small, kick, moved):
        os.close(fd)
    check(not c.closed(), "connection still open after nacks")
    c.close()


def closing_cases(sock):
    """Each input must end the connection; the next one must work."""
    efd, mfd = os.eventfd(0), memfd(0x10000)
    cases = [
        ("SET_VRING_NUM 255 without NEED_REPLY, after SET_OWNER",
         lambda c: c.send(SET_VRING_NUM, state(0, 255))),
        ("SET_VRING_ADDR index 200 without NEED_REPLY, after SET_OWNER",
         lambda c: c.send(SET_VRING_ADDR, vring_addr(200, 0, 0, 0))),
        ("SET_MEM_TABLE nregions 9", lambda c: c.send(SET_MEM_TABLE, mem_table(
            [region(i * 0x1000, 0x1000, 0x1000 * i, 0) for i in range(9)]), [mfd] * 8)),
        ("SET_MEM_TABLE missing fds", lambda c: c.send(SET_MEM_TABLE, mem_table(
            [region(0, 0x1000, 0, 0), region(0x1000, 0x1000, 0x1000, 0)]), [mfd])),
        ("SET_VRING_CALL without fd and without NOFD", lambda c: c.send(SET_VRING_CALL, u64(0))),
        ("unknown request 99", lambda c: c.send(99)),
        ("version 2 header", lambda c: c.send(GET_FEATURES, flags=2)),
        ("SET_FEATURES size 4", lambda c: c.send(SET_FEATURES, b"\0" * 4)),
        ("GET_MAX_MEM_SLOTS (gated, ALWAYS reply) before CONFIGURE_MEM_SLOTS",
         lambda c: c.send(GET_MAX_MEM_SLOTS)),
        ("truncated payload then EOF", lambda c: c.send_raw(HDR.pack(SET_FEATURES, 1, 8) + b"\0" * 4,
                                                            [efd])),
        ("SET_VRING_ADDR before SET_OWNER", lambda c: c.send(SET_VRING_ADDR, vring_addr(0, 0, 0, 0))),
        ("size 0x10000", lambda c: c.send_raw(HDR.pack(SET_FEATURES, 1, 0x10000))),
    ]
    for name, act in cases:
        c = negotiated(sock) if "after SET_OWNER" in name else Conn(sock)
        act(c)
        if name.startswith("truncated"):
            c.s.shutdown(socket.SHUT_WR)
        check(c.closed(), f"closes on: {name}")
        c.close()
        check(alive(sock), f"  next connection works after: {name}")
    os.close(efd)
    os.close(mfd)


def second_connection(sock):
    c = negotiated(sock)
    d = Conn(sock)
    check(d.closed(), "second connection while one is active is closed")
    d.close()
    r = c.call(GET_FEATURES)
    check(r is not None and r[0] == GET_FEATURES, "first connection unaffected")
    c.close()


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def wait_socket(path, proc):
    for _ in range(100):
        if os.path.exists(path) or proc.poll() is not None:
            return
        time.sleep(0.05)


def server_tests(binary, fixtures, tmp, prefix):
    sock = os.path.join(tmp, "refnet.sock")
    err = open(os.path.join(tmp, "stderr.log"), "w")
    proc = subprocess.Popen(prefix + [binary, "--socket", sock, "--queues", "2"],
                            stdout=subprocess.DEVNULL, stderr=err)
    wait_socket(sock, proc)
    time.sleep(0.5 if prefix else 0.05)
    pid = proc.pid
    check(alive(sock), "server answers GET_FEATURES")
    time.sleep(0.2)
    base = fd_count(pid)
    for trace in ("a1_init_client", "a4_init_mq", "b1_boot", "b2_boot_mq", "c1_guest_cycle",
                  "e2_blk_boot"):
        check(replay(os.path.join(fixtures, trace + ".raw"), sock), f"replay {trace}")
    neg_cases(sock)
    closing_cases(sock)
    second_connection(sock)
    time.sleep(0.3)
    check(fd_count(pid) == base, f"no fd leaked ({fd_count(pid)} open, {base} at start)")
    check(proc.poll() is None, "process still alive")
    proc.terminate()
    rc = proc.wait(timeout=20)
    check(rc == 0, f"SIGTERM exit status 0 (got {rc})")
    check(not os.path.exists(sock), "socket unlinked on exit")
    err.close()
    log = open(os.path.join(tmp, "stderr.log")).read()
    check("reject SET_VRING_NUM: vring.num: 255 is not a power of two" in log,
          "stderr names the rejected request and rule")
    return log


def client_tests(binary, tmp):
    path = os.path.join(tmp, "fe.sock")
    lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lst.bind(path)
    lst.listen(1)
    lst.settimeout(5)
    proc = subprocess.Popen([binary, "--socket", path, "--client", "--queues", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for round_ in range(2):
        try:
            s, _ = lst.accept()
        except socket.timeout:
            check(False, f"client connects (round {round_})")
            break
        s.settimeout(2)
        s.sendall(HDR.pack(GET_FEATURES, 1, 0))
        data = s.recv(20)
        feats = struct.unpack("<Q", data[12:20])[0] if len(data) == 20 else 0
        check(len(data) == 20 and feats & (1 << 22), f"client mode round {round_}: reply with MQ")
        s.close()
    proc.terminate()
    check(proc.wait(timeout=5) == 0, "client mode: SIGTERM exit 0")
    lst.close()


def main():
    binary, fixtures = sys.argv[1], sys.argv[2]
    prefix = ["valgrind", "--leak-check=full", "--track-fds=yes", "--error-exitcode=9",
              "-q"] if "--valgrind" in sys.argv else []
    with tempfile.TemporaryDirectory() as tmp:
        log = server_tests(binary, fixtures, tmp, prefix)
        if "-v" in sys.argv or FAILS:
            print(log)
        if not prefix:
            client_tests(binary, tmp)
    print(f"{len(FAILS)} failed" if FAILS else "all passed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""leak.py VHOST_REFNET [CYCLES]: fd and memory leaks per connection.

Starts vhost-refnet, then CYCLES times: connect, QEMU 7.2's init (GET_FEATURES,
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, SET_OWNER, SET_BACKEND_REQ_FD,
SET_VRING_CALL/ERR for both rings with eventfds, SET_MEM_TABLE with one memfd
region and NEED_REPLY), disconnect.  Open fds (/proc/PID/fd) must be exactly
what they were after a warm-up; RSS may grow by at most MAX_RSS_KB (allocator
noise), not by a per-connection amount."""
import os, socket, struct, subprocess, sys, tempfile, time

MAX_RSS_KB = 2048
WARMUP = 50


def msg(req, payload=b"", flags=0x1):
    return struct.pack("<III", req, flags, len(payload)) + payload


def recv_reply(s):
    hdr = s.recv(12, socket.MSG_WAITALL)
    if len(hdr) != 12:
        raise RuntimeError("no reply")
    size = struct.unpack("<III", hdr)[2]
    return s.recv(size, socket.MSG_WAITALL) if size else b""


def cycle(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    s.sendall(msg(1)); recv_reply(s)                       # GET_FEATURES
    s.sendall(msg(15)); pf = struct.unpack("<Q", recv_reply(s))[0]
    s.sendall(msg(16, struct.pack("<Q", pf)))              # SET_PROTOCOL_FEATURES
    s.sendall(msg(3))                                      # SET_OWNER
    fds = [os.eventfd(0) for _ in range(5)]
    mfd = os.memfd_create("leak-guest")
    os.ftruncate(mfd, 1 << 21)
    socket.send_fds(s, [msg(21, b"", 0x9)], [fds[0]]); recv_reply(s)   # SET_BACKEND_REQ_FD
    for ring in range(2):
        socket.send_fds(s, [msg(13, struct.pack("<Q", ring))], [fds[1 + ring]])  # CALL
        socket.send_fds(s, [msg(14, struct.pack("<Q", ring))], [fds[3 + ring]])  # ERR
    region = struct.pack("<IIQQQQ", 1, 0, 0, 1 << 21, 0x7f0000000000, 0)
    socket.send_fds(s, [msg(5, region, 0x9)], [mfd]); recv_reply(s)   # SET_MEM_TABLE
    for fd in fds + [mfd]:
        os.close(fd)
    s.close()


def snapshot(pid):
    nfds = len(os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    return nfds, rss


def main():
    refnet, cycles = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    d = tempfile.mkdtemp(prefix="vhc-leak.")
    path = os.path.join(d, "sock")
    p = subprocess.Popen([refnet, "--socket", path, "--queues", "1"],
                         stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(path):
                break
            time.sleep(0.05)
        for _ in range(WARMUP):
            cycle(path)
        time.sleep(0.2)                 # let the last close be handled
        fd0, rss0 = snapshot(p.pid)
        for _ in range(cycles):
            cycle(path)
        time.sleep(0.2)
        fd1, rss1 = snapshot(p.pid)
        print(f"leak: {cycles} cycles: fds {fd0} -> {fd1}, RSS {rss0} kB -> {rss1} kB")
        if p.poll() is not None:
            sys.exit(f"leak: vhost-refnet exited ({p.returncode})")
        if fd1 != fd0:
            sys.exit(f"leak: FAIL: {fd1 - fd0} fds more after {cycles} cycles")
        if rss1 - rss0 > MAX_RSS_KB:
            sys.exit(f"leak: FAIL: RSS grew {rss1 - rss0} kB (limit {MAX_RSS_KB} kB)")
        print("ok")
    finally:
        p.terminate()
        p.wait(timeout=10)
        try:
            os.unlink(path)
        except OSError:
            pass
        os.rmdir(d)


if __name__ == "__main__":
    main()

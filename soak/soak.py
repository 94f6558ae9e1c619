#!/usr/bin/env python3
"""Soak test (not run by CI): mixed load with connection churn against `tcpsocket listen`,
reporting the server's RSS, open descriptors and errors over time.

    python3 soak/soak.py --minutes 3 [--binary build/default/tools/tcpsocket/tcpsocket]

Worker processes (several, so that no client process holds too many descriptors) each run a mix:
  churn   connect, send 1-64 KiB of random bytes, check the echo byte for byte, close
  stream  a long-lived connection echoing 1 MiB bursts
  stuck   connects, sends 4 MiB and never reads (the server must not buffer it), then resets
  reset   connects, sends, resets mid-transfer
  halfclose  sends, half-closes, reads the full echo until the server's FIN
Every 5 s one line: elapsed, server RSS (KiB), server open fds, connections done, errors.
"""
import argparse
import multiprocessing
import os
import random
import select
import signal
import socket
import subprocess
import sys
import time

LINGER_RST = b"\x01\x00\x00\x00\x00\x00\x00\x00"


def recv_exact(s, n):
    data = bytearray()
    while len(data) < n:
        chunk = s.recv(min(65536, n - len(data)))
        if not chunk:
            raise ConnectionError("early EOF after %d of %d bytes" % (len(data), n))
        data.extend(chunk)
    return bytes(data)


def churn(port, rng):
    payload = rng.randbytes(rng.randint(1, 64 << 10))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(payload)
        if recv_exact(s, len(payload)) != payload:
            raise ValueError("echo mismatch")


def exchange(s, payload):
    """Sends payload and reads its echo at the same time (neither side may stall the other)."""
    s.setblocking(False)
    view = memoryview(payload)
    got = bytearray()
    deadline = time.time() + 30
    while len(got) < len(payload):
        if time.time() > deadline:
            raise TimeoutError("echo stalled at %d of %d bytes" % (len(got), len(payload)))
        want_write = [s] if view else []
        readable, writable, _ = select.select([s], want_write, [], 1.0)
        if writable:
            try:
                view = view[s.send(view[:65536]):]
            except BlockingIOError:
                pass
        if readable:
            chunk = s.recv(1 << 20)
            if not chunk:
                raise ConnectionError("early EOF")
            got.extend(chunk)
    s.setblocking(True)
    return bytes(got)


def stream(port, rng):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        for _ in range(8):
            burst = rng.randbytes(1 << 20)
            if exchange(s, burst) != burst:
                raise ValueError("stream echo mismatch")


def stuck(port, rng):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        sent = 0
        while sent < (4 << 20):
            sent += s.send(b"s" * 65536)
    except (socket.timeout, BlockingIOError):
        pass
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
    s.close()


def reset(port, rng):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(rng.randbytes(256 << 10))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
    s.close()


def halfclose(port, rng):
    payload = rng.randbytes(rng.randint(1, 512 << 10))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        got = bytearray()
        view = memoryview(payload)
        while view:
            n = s.send(view[:65536])
            view = view[n:]
            s.setblocking(False)
            try:
                got.extend(s.recv(1 << 20))
            except BlockingIOError:
                pass
            s.setblocking(True)
        s.shutdown(socket.SHUT_WR)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got.extend(chunk)
        if bytes(got) != payload:
            raise ValueError("half-close echo mismatch")


MIX = [(churn, 60), (halfclose, 15), (stream, 5), (stuck, 10), (reset, 10)]


def worker(port, seed, deadline, counters):
    rng = random.Random(seed)
    kinds = [k for k, w in MIX for _ in range(w)]
    while time.time() < deadline:
        kind = rng.choice(kinds)
        try:
            kind(port, rng)
            with counters.get_lock():
                counters[0] += 1
        except Exception as e:  # noqa: BLE001 - every failure is counted and shown
            with counters.get_lock():
                counters[1] += 1
            print("soak: %s failed: %r" % (kind.__name__, e), file=sys.stderr)


def server_stats(pid):
    rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    fds = len(os.listdir("/proc/%d/fd" % pid))
    return rss, fds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=3)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--binary", default="build/default/tools/tcpsocket/tcpsocket")
    args = ap.parse_args()
    server = subprocess.Popen([args.binary, "listen", "--port", "0"], stdout=subprocess.PIPE, text=True)
    port = int(server.stdout.readline().strip().rsplit(":", 1)[1])
    deadline = time.time() + args.minutes * 60
    counters = multiprocessing.Array("q", 2)
    procs = [multiprocessing.Process(target=worker, args=(port, i, deadline, counters))
             for i in range(args.workers)]
    for p in procs:
        p.start()
    start = time.time()
    print("| elapsed s | server RSS KiB | server fds | connections done | errors |")
    print("|---|---|---|---|---|")
    rows = []
    while any(p.is_alive() for p in procs):
        rss, fds = server_stats(server.pid)
        rows.append((time.time() - start, rss, fds, counters[0], counters[1]))
        print("| %.0f | %d | %d | %d | %d |" % rows[-1], flush=True)
        time.sleep(5)
    for p in procs:
        p.join()
    time.sleep(3)  # lingering closes finish
    rss, fds = server_stats(server.pid)
    print("| end | %d | %d | %d | %d |" % (rss, fds, counters[0], counters[1]))
    server.send_signal(signal.SIGTERM)
    code = server.wait(10)
    print("server exit status after SIGTERM: %d" % code)
    return 0 if counters[1] == 0 and code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

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
and, against a second server in chat mode (--chat-workers processes):
  chat_talk    sends lines and reads what the others say
  chat_silent  50 members that never read (the room must reset them, not buffer for them)
  chat_flood   4 MiB of bare newlines
Every 5 s one line: elapsed, RSS (KiB) and open fds of both servers, connections done, chat
members cut off (the room's design, not a failure), errors.
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
    try:
        s.sendall(rng.randbytes(256 << 10))
    except socket.timeout:
        # Not reading the echo, this client can fill every buffer on the way, and the kernel's
        # buffers shrink under the chat floods' TCP memory pressure: it resets mid-transfer anyway.
        pass
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


class CutOff(Exception):
    """The chat room reset a member that fell behind: its design, not a failure."""


def chat_talk(port, rng):
    """A member that talks and reads what others say (it may still fall behind a flood)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        try:
            for i in range(rng.randint(5, 30)):
                s.sendall(b"line %d from a talker\n" % i)
                deadline = time.time() + 0.05
                while time.time() < deadline:
                    if select.select([s], [], [], 0.01)[0] and not s.recv(1 << 20):
                        raise ConnectionError("chat server closed a talker")
        except ConnectionResetError:
            raise CutOff()


def chat_silent(port, rng):
    """50 members that never read, held 3-5 s: the room must cut them off, not buffer for them.
    Returns how many it reset (a reset is the room's answer to a member that falls behind)."""
    members = []
    for _ in range(50):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(10)
        s.connect(("127.0.0.1", port))
        members.append(s)
    time.sleep(rng.uniform(3, 5))  # longer than the room's 2 s grace for members that fall behind
    resets = 0
    for s in members:
        s.setblocking(False)
        try:
            while s.recv(1 << 20):
                pass
        except BlockingIOError:
            pass
        except ConnectionResetError:
            resets += 1
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
        s.close()
    return resets


def chat_flood(port, rng):
    """4 MiB of bare newlines, as fast as the room takes them: one block per read, not one send per line."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        try:
            s.sendall(b"\n" * (4 << 20))
        except ConnectionResetError:
            raise CutOff()


CHAT_MIX = [(chat_talk, 60), (chat_silent, 25), (chat_flood, 15)]


def worker(port, seed, deadline, counters, mix):
    rng = random.Random(seed)
    kinds = [k for k, w in mix for _ in range(w)]
    while time.time() < deadline:
        kind = rng.choice(kinds)
        try:
            cut = kind(port, rng) or 0
            with counters.get_lock():
                counters[0] += 1
                counters[2] += cut
        except CutOff:
            with counters.get_lock():
                counters[2] += 1
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


def start_server(binary, *args):
    server = subprocess.Popen([binary, "listen", "--port", "0", *args], stdout=subprocess.PIPE, text=True)
    return server, int(server.stdout.readline().strip().rsplit(":", 1)[1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=3)
    ap.add_argument("--workers", type=int, default=8, help="echo load processes")
    ap.add_argument("--chat-workers", type=int, default=4, help="chat load processes")
    ap.add_argument("--binary", default="build/default/tools/tcpsocket/tcpsocket")
    args = ap.parse_args()
    echo, echo_port = start_server(args.binary)
    chat, chat_port = start_server(args.binary, "--mode", "chat")
    deadline = time.time() + args.minutes * 60
    counters = multiprocessing.Array("q", 3)  # done, errors, chat members cut off
    procs = [multiprocessing.Process(target=worker, args=(echo_port, i, deadline, counters, MIX))
             for i in range(args.workers)]
    procs += [multiprocessing.Process(target=worker, args=(chat_port, 1000 + i, deadline, counters, CHAT_MIX))
              for i in range(args.chat_workers)]
    for p in procs:
        p.start()
    start = time.time()
    print("| elapsed s | echo RSS KiB | echo fds | chat RSS KiB | chat fds | connections done | "
          "chat members cut off | errors |")
    print("|---|---|---|---|---|---|---|---|")

    def row(label):
        print("| %s | %d | %d | %d | %d | %d | %d | %d |" % (
            (label,) + server_stats(echo.pid) + server_stats(chat.pid) + (counters[0], counters[2], counters[1])),
            flush=True)

    while any(p.is_alive() for p in procs):
        row("%.0f" % (time.time() - start))
        time.sleep(5)
    for p in procs:
        p.join()
    time.sleep(3)  # lingering closes finish
    row("end")
    codes = []
    for server in (echo, chat):
        server.send_signal(signal.SIGTERM)
        codes.append(server.wait(10))
    print("server exit statuses after SIGTERM: echo %d, chat %d" % tuple(codes))
    return 0 if counters[1] == 0 and codes == [0, 0] else 1


if __name__ == "__main__":
    sys.exit(main())

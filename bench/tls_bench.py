#!/usr/bin/env python3
"""TLS next to plain TCP: the same `tcpsocket listen --mode echo`, with and without --tls-cert, in
one run. Prints a markdown section (scripts/bench.sh appends it to docs/benchmarks.md).

    python3 bench/tls_bench.py [--rounds 3] [--megabytes 256] [--idle 2000]

- Bulk echo: one connection, MEGABYTES sent and echoed back; the server's CPU time (utime+stime)
  per GB echoed, and the throughput the client saw.
- Idle connections: IDLE connections opened (handshake done, one byte echoed so each was accepted),
  the server's RSS growth per connection.
The client is Python (its ssl module, non-blocking, one thread) pinned to CPU 1, the server to CPU 0.
Python is the slower side, so throughput is a floor; server CPU per GB is the comparable figure.
"""
import argparse
import os
import select
import socket
import ssl
import statistics
import subprocess
import tempfile
import time

from benchlib import BUILD, cpu_seconds, raise_nofile, rss_kib

TCPSOCKET = os.path.join(BUILD, "tools", "tcpsocket", "tcpsocket")
MAKE_CERTS = os.path.join(BUILD, "tests", "make_test_certs")


class Server:
    def __init__(self, certs, tls):
        args = [TCPSOCKET, "listen", "--mode", "echo"]
        if tls:
            args += ["--tls-cert", os.path.join(certs, "good.pem"), "--tls-key", os.path.join(certs, "good.key")]
        self.proc = subprocess.Popen(["taskset", "-c", "0", *args], stdout=subprocess.PIPE, text=True,
                                     preexec_fn=raise_nofile)
        self.port = int(self.proc.stdout.readline().strip().rsplit(":", 1)[1])
        self.context = ssl.create_default_context(cafile=os.path.join(certs, "ca.pem")) if tls else None

    def connect(self):
        raw = socket.create_connection(("127.0.0.1", self.port))
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.context.wrap_socket(raw, server_hostname="localhost") if self.context else raw

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def pump(sock, total, chunk=256 << 10):
    """Sends `total` bytes and reads as many back, one thread, non-blocking."""
    payload = os.urandom(chunk)
    sock.setblocking(False)
    sent = received = 0
    retry = (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError)
    while received < total:
        select.select([sock], [sock] if sent < total else [], [], 1.0)
        if sent < total:
            try:
                sent += sock.send(payload[:min(chunk, total - sent)])
            except retry:
                pass
        try:
            while True:
                n = len(sock.recv(1 << 20))
                if n == 0:
                    raise RuntimeError("server closed early")
                received += n
        except retry:
            pass


def bulk(certs, tls, megabytes):
    server = Server(certs, tls)
    try:
        with server.connect() as warm:
            pump(warm, 8 << 20)
        with server.connect() as sock:
            before = cpu_seconds(server.proc.pid)
            start = time.monotonic()
            pump(sock, megabytes << 20)
            seconds = time.monotonic() - start
            cpu = cpu_seconds(server.proc.pid) - before
    finally:
        server.stop()
    gigabytes = (megabytes << 20) / 1e9
    return {"ms_cpu_per_gb": cpu * 1e3 / gigabytes, "mb_per_s": (megabytes << 20) / seconds / 1e6}


def idle(certs, tls, count):
    server = Server(certs, tls)
    sockets = []
    try:
        with server.connect() as warm:  # loads everything a first connection needs
            pump(warm, 1, chunk=1)
        time.sleep(0.2)
        before = rss_kib(server.proc.pid)
        for _ in range(count):
            s = server.connect()
            s.sendall(b"x")
            s.recv(1)
            sockets.append(s)
        time.sleep(0.5)
        after = rss_kib(server.proc.pid)
    finally:
        for s in sockets:
            s.close()
        server.stop()
    return (after - before) / count


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--megabytes", type=int, default=256)
    ap.add_argument("--idle", type=int, default=2000)
    args = ap.parse_args()
    os.sched_setaffinity(0, {1})
    raise_nofile()
    results = {False: [], True: []}
    idles = {False: [], True: []}
    with tempfile.TemporaryDirectory() as certs:
        subprocess.run([MAKE_CERTS, certs], check=True)
        for r in range(args.rounds):
            for tls in ([False, True] if r % 2 == 0 else [True, False]):  # interleaved rounds
                results[tls].append(bulk(certs, tls, args.megabytes))
                idles[tls].append(idle(certs, tls, args.idle))
    med = statistics.median
    row = {tls: (med(m["ms_cpu_per_gb"] for m in results[tls]), med(m["mb_per_s"] for m in results[tls]),
                 med(idles[tls])) for tls in (False, True)}
    print("`python3 bench/tls_bench.py --rounds %d --megabytes %d --idle %d`: `tcpsocket listen --mode echo` "
          "plain and with `--tls-cert` (TLS 1.3, ECDSA P-256), medians of interleaved rounds. Client: Python's "
          "ssl, one non-blocking thread on CPU 1 (the slower side: throughput is a floor)."
          % (args.rounds, args.megabytes, args.idle))
    print()
    print("| | plain | TLS | TLS / plain |")
    print("|---|---|---|---|")
    labels = ["server CPU per GB echoed (ms)", "bulk echo throughput, 1 connection (MB/s)",
              "server RSS per idle connection (KiB)"]
    for i, label in enumerate(labels):
        print("| %s | %.1f | %.1f | %.2f |" % (label, row[False][i], row[True][i], row[True][i] / row[False][i]))


if __name__ == "__main__":
    main()

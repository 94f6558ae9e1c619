#!/usr/bin/env python3
"""TLS: tcpsocket against a dedicated TLS terminator, and next to its own plain TCP, in one run.
Prints a markdown section (scripts/bench.sh appends it to docs/benchmarks.md) and draws
docs/benchmarks-tls.svg.

    python3 bench/tls_bench.py [--rounds 3] [--megabytes 256] [--handshakes 400] [--idle 2000]

Servers, all pinned to CPU 0:
- `tcpsocket TLS`: `tcpsocket listen --mode echo --tls-cert ... --tls-key ...`, one process;
- `stunnel + raw epoll`: Debian's stunnel4 terminating TLS in front of bench/raw_epoll_echo, what
  one would deploy instead; both processes are counted (CPU and memory);
- `tcpsocket plain`: the same server without TLS, for what TLS itself costs.
Figures:
- bulk echo: one connection, MEGABYTES sent and echoed back; server CPU (utime+stime) per GB;
- handshakes: HANDSHAKES sequential connections (TLS 1.3 full handshake, ECDSA P-256 key, one byte
  echoed, close); handshakes per server CPU-second;
- idle: IDLE connections opened (handshake done, one byte echoed) and held; server RSS growth per
  connection.
The client is Python (its ssl module, non-blocking, one thread) pinned to CPU 1. Python is the
slower side, so throughput is a floor and server CPU is the comparable figure. This bulk figure is
one connection driven by Python, the main table's is four driven by bench/loadgen: the two plain
CPU-per-GB figures differ for that reason (fewer, larger reads under the faster client).
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

from benchlib import BUILD, ROOT, cpu_seconds, raise_nofile, rss_kib
from chart import panels

TCPSOCKET = os.path.join(BUILD, "tools", "tcpsocket", "tcpsocket")
RAW_EPOLL = os.path.join(BUILD, "bench", "raw_epoll_echo")
MAKE_CERTS = os.path.join(BUILD, "tests", "make_test_certs")
STUNNEL = "stunnel4"
SERVERS = ["tcpsocket TLS", "stunnel + raw epoll", "tcpsocket plain"]


def free_port():
    """A port for stunnel, which cannot listen on port 0 and report it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(args):
    return subprocess.Popen(["taskset", "-c", "0", *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, preexec_fn=raise_nofile)


def port_of(proc):
    return int(proc.stdout.readline().strip().rsplit(":", 1)[1])


class Server:
    def __init__(self, name, certs):
        cert, key = os.path.join(certs, "good.pem"), os.path.join(certs, "good.key")
        self.procs = []
        self.context = None
        if name != "tcpsocket plain":
            self.context = ssl.create_default_context(cafile=os.path.join(certs, "ca.pem"))
        if name == "stunnel + raw epoll":
            backend = spawn([RAW_EPOLL])
            self.procs.append(backend)
            self.port = free_port()
            conf = os.path.join(certs, "stunnel-%d.conf" % self.port)
            with open(conf, "w") as f:
                f.write("foreground = yes\npid =\ndebug = 3\nsocket = l:TCP_NODELAY=1\nsocket = r:TCP_NODELAY=1\n"
                        "[echo]\naccept = 127.0.0.1:%d\nconnect = 127.0.0.1:%d\ncert = %s\nkey = %s\n"
                        % (self.port, port_of(backend), cert, key))
            self.procs.append(spawn([STUNNEL, conf]))
            self._await_listening()
        else:
            args = [TCPSOCKET, "listen", "--mode", "echo"]
            if self.context:
                args += ["--tls-cert", cert, "--tls-key", key]
            self.procs.append(spawn(args))
            self.port = port_of(self.procs[0])

    def _await_listening(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.procs):
                raise RuntimeError("stunnel4 exited; run it by hand with the configuration to see why")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("stunnel4 did not listen within 10 s")

    def connect(self):
        raw = socket.create_connection(("127.0.0.1", self.port))
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.context.wrap_socket(raw, server_hostname="localhost") if self.context else raw

    def cpu(self):
        return sum(cpu_seconds(p.pid) for p in self.procs)

    def rss(self):
        return sum(rss_kib(p.pid) for p in self.procs)

    def stop(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


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


def echo_one(sock):
    sock.sendall(b"x")
    if sock.recv(1) != b"x":
        raise RuntimeError("no echo")


def measure(server, args):
    with server.connect() as warm:  # loads everything a first connection needs
        pump(warm, 8 << 20)
    with server.connect() as sock:
        before = server.cpu()
        start = time.monotonic()
        pump(sock, args.megabytes << 20)
        seconds = time.monotonic() - start
        bulk_cpu = server.cpu() - before
    gigabytes = (args.megabytes << 20) / 1e9
    before = server.cpu()
    for _ in range(args.handshakes):
        with server.connect() as sock:
            echo_one(sock)
    handshake_cpu = server.cpu() - before
    time.sleep(0.2)
    rss_before = server.rss()
    held = []
    try:
        for _ in range(args.idle):
            s = server.connect()
            echo_one(s)
            held.append(s)
        time.sleep(0.5)
        rss_after = server.rss()
    finally:
        for s in held:
            s.close()
    return {"ms_cpu_per_gb": bulk_cpu * 1e3 / gigabytes, "mb_per_s": (args.megabytes << 20) / seconds / 1e6,
            "handshakes_per_cpu_s": args.handshakes / max(handshake_cpu, 1e-3),
            "kib_per_idle": (rss_after - rss_before) / args.idle}


FIGURES = [("ms_cpu_per_gb", "server CPU per GB echoed, 1 connection (ms)", "CPU per GB echoed", "ms", "lower"),
           ("mb_per_s", "bulk echo throughput, 1 connection (MB/s)", "bulk throughput", "MB/s", "higher"),
           ("handshakes_per_cpu_s", "connections (TLS: full handshakes) per server CPU-second", "new connections",
            "per CPU-second", "higher"),
           ("kib_per_idle", "server RSS per idle connection (KiB)", "idle connection memory", "KiB", "lower")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--megabytes", type=int, default=256)
    ap.add_argument("--handshakes", type=int, default=400)
    ap.add_argument("--idle", type=int, default=2000)
    args = ap.parse_args()
    os.sched_setaffinity(0, {1})
    raise_nofile()
    results = {name: [] for name in SERVERS}
    with tempfile.TemporaryDirectory() as certs:
        subprocess.run([MAKE_CERTS, certs], check=True)
        for r in range(args.rounds):
            for name in SERVERS[r % len(SERVERS):] + SERVERS[:r % len(SERVERS)]:  # interleaved rounds
                server = Server(name, certs)
                try:
                    results[name].append(measure(server, args))
                finally:
                    server.stop()
    med = statistics.median
    value = {key: {n: med(m[key] for m in results[n]) for n in SERVERS} for key, *_ in FIGURES}
    banner = subprocess.run([STUNNEL, "-version"], capture_output=True, text=True).stderr.splitlines()
    version = next((line.split(" on ")[0] for line in banner if line.startswith("stunnel ")), STUNNEL)
    print("`python3 bench/tls_bench.py --rounds %d --megabytes %d --handshakes %d --idle %d`: TLS 1.3 with an "
          "ECDSA P-256 certificate; `tcpsocket listen --mode echo --tls-cert` against `%s` terminating TLS in front "
          "of `bench/raw_epoll_echo` (both processes counted), and the same tcpsocket server without TLS; medians "
          "of interleaved rounds. Client: Python's ssl, one non-blocking thread on CPU 1 (the slower side: "
          "throughput is a floor). The plain bulk figure here (one connection, Python client) is not the main "
          "table's (four connections, bench/loadgen)." % (args.rounds, args.megabytes, args.handshakes, args.idle,
                                                          version.strip()))
    print()
    print("![TLS, one panel per figure](benchmarks-tls.svg)")
    print()
    print("| | " + " | ".join(SERVERS) + " | tcpsocket TLS / stunnel pair |")
    print("|---|" + "---|" * len(SERVERS) + "---|")
    for key, label, *_ in FIGURES:
        v = value[key]
        print("| %s | %s | **%.2f** |" % (label, " | ".join("%.1f" % v[n] for n in SERVERS),
                                          v["tcpsocket TLS"] / v["stunnel + raw epoll"]))
    panels(os.path.join(ROOT, "docs", "benchmarks-tls.svg"), "TLS echo servers side by side (this run)",
           [{"title": title, "unit": unit, "better": better, "values": value[key]}
            for key, _, title, unit, better in FIGURES], columns=2)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""tcpsocket behind the real balancer: Debian's HAProxy, started here on loopback with a generated
configuration (mode tcp, send-proxy-v2, health checks that send the header too), in front of three
`tcpsocket listen --proxy-protocol` backends on 127.0.0.2, 127.0.0.3 and 127.0.0.4.

(a) each backend sees each client's own address and port (clients connect from 127.0.0.1x);
(b) 2,000 clients echo byte-exact through HAProxy;
(c) a backend killed mid-run is marked down; the survivors' clients lose nothing; new
    connections succeed once HAProxy has noticed;
(d) a rolling restart of every backend (SIGUSR2 handover) under a steady 500 connections/s:
    no connection refused or reset, every echo byte-exact;
(e) a direct connection from an untrusted address with a forged PROXY header is refused.

A missing haproxy is a failure, not a skip. usage: haproxy_test.py TCPSOCKET_BINARY [TEST...]
"""
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

BINARY = None
BACKEND_HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
CLIENT_SOURCES = ["127.0.0.%d" % i for i in range(10, 20)]


def free_port():
    """A loopback port for HAProxy's frontend, which cannot bind port 0 and report it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


class Backend:
    """One `tcpsocket listen` (and, after handovers, its successors), with its log collected."""

    def __init__(self, host):
        self.host = host
        self.proc = subprocess.Popen(
            [BINARY, "listen", "--host", host, "--port", "0", "--verbose", "--proxy-protocol",
             "--proxy-trusted", "127.0.0.1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.match(r"listening on ([\d.]+):(\d+)$", line.strip())
        if not m:
            self.proc.kill()
            raise AssertionError("backend %s did not start: %r %r" % (host, line, self.proc.stderr.read()))
        self.port = int(m.group(2))
        self.pid = self.proc.pid
        self.lines = []
        self.ready_lines = 1
        self.readers = [threading.Thread(target=self._collect, args=(self.proc.stderr,), daemon=True),
                        threading.Thread(target=self._count_ready, daemon=True)]
        for r in self.readers:
            r.start()

    def _collect(self, stream):
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def _count_ready(self):
        for line in self.proc.stdout:
            if line.startswith("listening on"):
                self.ready_lines += 1

    def log(self):
        return "\n".join(self.lines)

    def restart(self, timeout=10):
        """SIGUSR2: a new process takes the listener over; waits until the old one has exited."""
        before = self.ready_lines
        os.kill(self.pid, signal.SIGUSR2)
        if not wait_for(lambda: self.ready_lines > before, timeout):
            raise AssertionError("backend %s: no new process listened\n%s" % (self.host, self.log()))
        m = re.findall(r"handing the listeners over to process (\d+)", self.log())
        old, self.pid = self.pid, int(m[-1])
        if not wait_for(lambda: not alive(old), timeout):
            raise AssertionError("backend %s: the old process %d did not exit" % (self.host, old))
        if old == self.proc.pid:
            self.proc.wait(5)

    def kill(self):
        os.kill(self.pid, signal.SIGKILL)
        wait_for(lambda: not alive(self.pid), 5)

    def stop(self):
        for pid in {self.pid, self.proc.pid}:
            if alive(pid):
                os.kill(pid, signal.SIGTERM)
                wait_for(lambda: not alive(pid), 5)
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)


class Balancer:
    def __init__(self, directory, backends):
        if shutil.which("haproxy") is None:
            raise AssertionError("haproxy is not installed (scripts/install-deps.sh installs it)")
        self.port = free_port()
        self.admin = os.path.join(directory, "admin.sock")
        servers = "\n".join(
            "  server s%d %s:%d source 127.0.0.1 send-proxy-v2 check check-send-proxy inter 200ms fall 2 rise 2"
            % (i + 1, b.host, b.port) for i, b in enumerate(backends))
        self.config = os.path.join(directory, "haproxy.cfg")
        with open(self.config, "w") as f:
            f.write("""global
  maxconn 8000
  stats socket %s mode 600 level admin
defaults
  mode tcp
  timeout connect 2s
  timeout client 20s
  timeout server 20s
  retries 3
  option redispatch
frontend fe
  bind 127.0.0.1:%d
  default_backend be
backend be
  balance roundrobin
%s
""" % (self.admin, self.port, servers))
        self.proc = subprocess.Popen(["haproxy", "-f", self.config, "-db"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        if not wait_for(self.listening, 10):
            self.proc.kill()
            raise AssertionError("haproxy did not start: %s" % self.proc.stderr.read())

    def listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return self.proc.poll() is not None and False

    def server_states(self):
        """{"s1": "UP", ...} from HAProxy's runtime API."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(self.admin)
            s.sendall(b"show stat\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        states = {}
        for row in data.decode().splitlines():
            fields = row.split(",")
            if len(fields) > 17 and fields[0] == "be" and fields[1].startswith("s"):
                states[fields[1]] = fields[17].split()[0]
        return states

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def echo(port, payload, source=None, host="127.0.0.1", timeout=20):
    """Sends `payload`, half-closes, returns (what came back, the client's own address:port)."""
    with socket.socket() as s:
        s.settimeout(timeout)
        if source:
            s.bind((source, 0))
        s.connect((host, port))
        me = "%s:%d" % s.getsockname()
        received = bytearray()

        def reader():
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                received.extend(chunk)

        t = threading.Thread(target=reader)
        t.start()
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        t.join(timeout)
        return bytes(received), me


class BehindHaproxy(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.backends = []
        try:
            self.backends = [Backend(h) for h in BACKEND_HOSTS]
            self.balancer = Balancer(self.dir, self.backends)
            self.assertTrue(wait_for(lambda: set(self.balancer.server_states().values()) == {"UP"}, 10),
                            self.balancer.server_states())
        except BaseException:
            self.tearDown()
            raise

    def tearDown(self):
        if getattr(self, "balancer", None):
            self.balancer.stop()
        for b in self.backends:
            b.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def many(self, count, concurrency=64, size=2048, seed=1):
        """`count` echoes through HAProxy; returns the failures (empty when all were byte-exact)
        and the client addresses used."""
        rng = random.Random(seed)
        payloads = [rng.randbytes(size) for _ in range(count)]
        failures, clients = [], []

        def one(i):
            try:
                got, me = echo(self.balancer.port, payloads[i], source=CLIENT_SOURCES[i % len(CLIENT_SOURCES)])
                clients.append(me)
                if got != payloads[i]:
                    failures.append("echo %d: %d of %d bytes" % (i, len(got), len(payloads[i])))
            except OSError as e:
                failures.append("echo %d: %r" % (i, e))

        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(one, range(count)))
        return failures, clients

    def test_a_b_each_backend_sees_the_clients_and_2000_echo_byte_exact(self):
        failures, clients = self.many(2000)
        self.assertEqual(failures, [])
        time.sleep(0.3)  # the backends log each close as it happens
        seen = {}
        for b in self.backends:
            for m in re.finditer(r"connection from (127\.0\.0\.\d+:\d+)$", b.log(), re.M):
                seen.setdefault(m.group(1), b.host)
        missing = [c for c in clients if c not in seen]
        self.assertEqual(missing, [], "clients no backend saw as themselves")
        for b in self.backends:
            self.assertTrue(any(host == b.host for host in seen.values()), "%s served no client" % b.host)

    def test_c_a_killed_backend_is_marked_down_and_the_others_lose_nothing(self):
        # Long-lived clients spread over every backend, then one backend dies.
        held = []
        for i in range(30):
            s = socket.create_connection(("127.0.0.1", self.balancer.port), timeout=10)
            held.append(s)
            s.sendall(b"hello %d\n" % i)
            self.assertEqual(s.recv(100), b"hello %d\n" % i)
        self.backends[1].kill()
        self.assertTrue(wait_for(lambda: self.balancer.server_states().get("s2") == "DOWN", 10),
                        self.balancer.server_states())
        survivors = 0
        for i, s in enumerate(held):
            try:
                s.sendall(b"again %d\n" % i)
                if s.recv(100) == b"again %d\n" % i:
                    survivors += 1
            except OSError:
                pass  # a client of the killed backend
        self.assertGreaterEqual(survivors, 18, "clients of the two survivors kept their connections")
        for s in held:
            s.close()
        failures, _ = self.many(300, seed=3)
        self.assertEqual(failures, [], "new connections after the detection")

    def test_d_rolling_restart_under_500_connections_per_second_refuses_nothing(self):
        stop = threading.Event()
        failures, done = [], [0]
        rng = random.Random(7)

        def client(k):  # each of 10 clients: one echo every 20 ms, for 500 per second in all
            while not stop.is_set():
                started = time.monotonic()
                payload = rng.randbytes(1500)
                try:
                    got, _ = echo(self.balancer.port, payload, source=CLIENT_SOURCES[k])
                    if got != payload:
                        failures.append("short echo: %d of %d" % (len(got), len(payload)))
                    done[0] += 1
                except OSError as e:
                    failures.append(repr(e))
                time.sleep(max(0.0, 0.02 - (time.monotonic() - started)))

        clients = [threading.Thread(target=client, args=(k,)) for k in range(10)]
        for c in clients:
            c.start()
        try:
            time.sleep(1)
            for b in self.backends:
                b.restart()
                time.sleep(0.5)
            time.sleep(1)
        finally:
            stop.set()
            for c in clients:
                c.join(30)
        self.assertEqual(failures, [])
        self.assertGreater(done[0], 1500, "the load was steady")
        self.assertEqual(set(self.balancer.server_states().values()), {"UP"})

    def test_e_a_forged_header_from_an_untrusted_address_is_refused(self):
        b = self.backends[0]
        with socket.socket() as s:
            s.settimeout(10)
            s.bind(("127.0.0.5", 0))
            try:  # reset as soon as it is accepted: even connect() may see it
                s.connect((b.host, b.port))
                s.sendall(b"PROXY TCP4 203.0.113.9 127.0.0.2 5555 80\r\nforged")
                answer = s.recv(100)
            except (ConnectionResetError, BrokenPipeError):
                answer = b""
        self.assertEqual(answer, b"", "no echo for a forged header")
        self.assertNotIn("203.0.113.9", b.log())


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)

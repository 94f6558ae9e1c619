"""Helpers shared by the black-box tests of the `tcpsocket` binary (tests/cli/*_test.py).

Each test script sets `clihelpers.BINARY` from its first argument before running.
"""
import os
import signal
import socket
import subprocess
import threading
import time

BINARY = None


def start_listen(*args):
    proc = subprocess.Popen([BINARY, "listen", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        proc.kill()
        raise AssertionError("unexpected first line: %r, stderr: %r" % (line, proc.stderr.read()))
    host_port = line[len("listening on "):]
    port = int(host_port.rsplit(":", 1)[1])
    return proc, host_port, port


def echo_concurrently(port, payloads):
    """Echoes every payload over its own connection, all at once; returns what came back."""
    results = [None] * len(payloads)

    def run(i):
        results[i] = echo_roundtrip(port, payloads[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(payloads))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def quiet_asan_env():
    """Keeps AddressSanitizer's quarantine of freed memory out of the memory-bound checks."""
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "quarantine_size_mb=1"]))
    return env


def send_until_blocked(sock, limit, stall=1.0):
    """Sends until the peer stops taking bytes for `stall` seconds (or `limit` bytes); returns the count."""
    sock.settimeout(stall)
    sent = 0
    chunk = b"y" * 65536
    while sent < limit:
        try:
            sent += sock.send(chunk)
        except (socket.timeout, BlockingIOError):
            break
    return sent


def stop(proc, timeout=5.0):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    finally:
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def unused_port():
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OneShotServer:
    """A raw Python server for one connection; `handler(conn)` runs on its own thread."""

    def __init__(self, handler, family=socket.AF_INET, host="127.0.0.1", backlog=8):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(backlog)
        self.port = self.sock.getsockname()[1]
        self.result = None
        self.thread = threading.Thread(target=self._run, args=(handler,))
        self.thread.start()

    def _run(self, handler):
        conn, _ = self.sock.accept()
        with conn:
            self.result = handler(conn)

    def close(self):
        self.thread.join(30)
        self.sock.close()


def read_all(conn):
    data = bytearray()
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return bytes(data)
        data.extend(chunk)


def run_connect(*args, stdin=b"", timeout=60):
    return subprocess.run([BINARY, "connect", *args], input=stdin, capture_output=True, timeout=timeout)


def echo_roundtrip(port, payload, family=socket.AF_INET, host="127.0.0.1"):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(20)
        s.connect((host, port))
        received = bytearray()

        def reader():
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return
                received.extend(chunk)

        t = threading.Thread(target=reader)
        t.start()
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)  # half-close: the server finishes what it owes, then closes
        t.join(30)
        return bytes(received)


def wait_for(predicate, timeout, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def read_until_end(sock, timeout):
    """Reads until EOF or an error; returns (bytes, "eof" | "reset" | "timeout")."""
    sock.settimeout(timeout)
    data = bytearray()
    try:
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                return bytes(data), "eof"
            data.extend(chunk)
    except ConnectionResetError:
        return bytes(data), "reset"
    except socket.timeout:
        return bytes(data), "timeout"


def fill_without_reading(sock, limit=64 << 20):
    """Sends until neither the server nor the kernels take more; returns what was sent."""
    sock.setblocking(False)
    block = os.urandom(65536)
    sent = bytearray()
    stalls = 0
    while stalls < 10 and len(sent) < limit:
        try:
            n = sock.send(block)
            sent.extend(block[:n])
            stalls = 0
        except BlockingIOError:
            stalls += 1
            time.sleep(0.02)
    sock.setblocking(True)
    return bytes(sent)


def release(proc, socks=()):
    """Test cleanup: closes the sockets and kills the server if a failed check left it running."""
    for s in socks:
        s.close()
    if proc.poll() is None:
        proc.kill()
        proc.wait()

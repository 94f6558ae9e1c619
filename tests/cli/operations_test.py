"""Running `tcpsocket listen` as operators do: socket activation (systemd's LISTEN_FDS convention),
a restart on SIGUSR2 that refuses no connection under load, a handover that fails and leaves the
old process serving, Prometheus metrics scraped with curl, and the PROXY protocol from the
command line.

Run by CTest as: python3 operations_test.py PATH_TO_TCPSOCKET PATH_TO_MAKE_TEST_CERTS
"""
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import clihelpers
from clihelpers import echo_roundtrip, release, wait_for

MAKE_CERTS = None


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def terminate(pid, timeout=10):
    """SIGTERM to a process that is not our child; True once it is gone."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    return wait_for(lambda: not alive(pid), timeout)


def read_line(stream, timeout=10):
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        raise AssertionError("no line within %d s" % timeout)
    line = stream.readline()
    return line.decode() if isinstance(line, bytes) else line


def start_activated(listener, *args, env_extra=None):
    """Starts `listen --systemd` as systemd would: the socket as descriptor 3, LISTEN_FDS=1 and
    LISTEN_PID naming the new process itself."""
    fd = listener.fileno()
    os.set_inheritable(fd, True)  # dup2 onto itself (fd 3 already) would keep close-on-exec

    # close_fds=False: closing would happen after this and take descriptor 3 too.
    def as_systemd():
        os.dup2(fd, 3)
        os.environ["LISTEN_FDS"] = "1"
        os.environ["LISTEN_PID"] = str(os.getpid())

    return subprocess.Popen([clihelpers.BINARY, "listen", "--systemd", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=as_systemd, close_fds=False, env=env_extra)


def curl(url):
    r = subprocess.run(["curl", "-sS", "--max-time", "10", url], capture_output=True, timeout=20)
    if r.returncode != 0:
        raise AssertionError("curl %s failed: %s" % (url, r.stderr))
    return r.stdout.decode()


def metric(text, name):
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    if not m:
        raise AssertionError("no %s in:\n%s" % (name, text))
    return int(m.group(1))


class SocketActivation(unittest.TestCase):
    def test_serves_the_socket_systemd_passes_and_the_clients_queued_before_it(self):
        listener = socket.create_server(("127.0.0.1", 0), backlog=16)
        port = listener.getsockname()[1]
        early = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(3)]
        proc = start_activated(listener)
        listener.close()  # systemd keeps its copy; ours is not needed
        try:
            self.assertEqual(read_line(proc.stdout).strip(), "listening on 127.0.0.1:%d" % port)
            for c in early:
                c.sendall(b"early")
                self.assertEqual(c.recv(10), b"early")
            self.assertEqual(echo_roundtrip(port, b"later"), b"later")
            self.assertEqual(clihelpers.stop(proc), 0)
        finally:
            for c in early:
                c.close()
            release(proc)

    def test_without_a_passed_socket_it_says_so(self):
        r = subprocess.run([clihelpers.BINARY, "listen", "--systemd"], capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr.decode(), r"^tcpsocket: NetworkError: --systemd: no listening socket")


class Handover(unittest.TestCase):
    def test_sigusr2_under_load_refuses_and_resets_nothing(self):
        proc, _, port = clihelpers.start_listen("--verbose", "--threads", "2")
        stop_load = threading.Event()
        results = {"ok": 0, "failed": []}

        def load():  # a new connection every few milliseconds, each an echo
            i = 0
            while not stop_load.is_set():
                payload = b"%d" % i * 50
                try:
                    got = echo_roundtrip(port, payload)
                    if got == payload:
                        results["ok"] += 1
                    else:
                        results["failed"].append("short echo %d/%d" % (len(got), len(payload)))
                except OSError as e:
                    results["failed"].append(repr(e))
                i += 1

        workers = [threading.Thread(target=load) for _ in range(4)]
        for w in workers:
            w.start()
        log = []  # read as it comes: a full stderr pipe would stall the server's loops
        logger = threading.Thread(target=lambda: log.extend(proc.stderr))
        logger.start()
        new_pid = None
        try:
            time.sleep(0.5)
            proc.send_signal(signal.SIGUSR2)
            line = read_line(proc.stdout)
            self.assertEqual(line.strip(), "listening on 127.0.0.1:%d" % port, "the new process's ready line")
            self.assertEqual(proc.wait(10), 0, "the old process drained and exited")
            self.assertTrue(wait_for(lambda: any("took over: draining" in l for l in log), 10))
            new_pid = int(re.search(r"handing the listeners over to process (\d+)", "".join(log)).group(1))
            time.sleep(0.5)  # the new process serves alone now
        finally:
            stop_load.set()
            for w in workers:
                w.join(30)
            if new_pid:
                self.assertTrue(terminate(new_pid), "the new process stops on SIGTERM")
            release(proc)
            logger.join(10)
        self.assertEqual(results["failed"], [])
        self.assertGreater(results["ok"], 50)

    def test_a_new_process_that_fails_leaves_the_old_one_serving(self):
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([MAKE_CERTS, d], check=True)
            proc, _, port = clihelpers.start_listen("--tls-cert", os.path.join(d, "good.pem"), "--tls-key",
                                                    os.path.join(d, "good.key"))
            try:
                os.remove(os.path.join(d, "good.key"))  # the new process cannot load it
                proc.send_signal(signal.SIGUSR2)
                err = b""
                deadline = time.monotonic() + 10
                while b"HandoverError" not in err and time.monotonic() < deadline:
                    ready, _, _ = select.select([proc.stderr], [], [], 1)
                    if ready:
                        err += os.read(proc.stderr.fileno(), 4096)
                self.assertIn(b"tcpsocket: HandoverError: the new process", err)
                self.assertIsNone(proc.poll())
                import ssl
                context = ssl.create_default_context(cafile=os.path.join(d, "ca.pem"))
                with context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                                         server_hostname="localhost") as c:
                    c.sendall(b"still")
                    self.assertEqual(c.recv(10), b"still")
                self.assertEqual(clihelpers.stop(proc), 0)
            finally:
                release(proc)


    def test_sigterm_right_after_sigusr2_leaves_no_server_behind(self):
        """Found by an attack: the new process, not yet ready, served on alone, orphaned."""
        proc, _, port = clihelpers.start_listen("--mode", "discard")
        try:
            proc.send_signal(signal.SIGUSR2)
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(10), 0)

            def refused():
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    return False
                except ConnectionRefusedError:
                    return True

            self.assertTrue(wait_for(refused, 10), "something still listens on the port")
        finally:
            release(proc)

    def test_the_binary_now_at_the_path_is_what_runs(self):
        """Found by an attack: /proc/self/exe ran the old file, so an upgrade never took effect."""
        with tempfile.TemporaryDirectory() as d:
            installed = os.path.join(d, "tcpsocket")
            marker = os.path.join(d, "upgraded")
            shutil.copy(clihelpers.BINARY, installed)
            proc = subprocess.Popen([installed, "listen", "--verbose"], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            log = []  # read by a thread: the new process keeps the pipe open after the old exits
            logger = threading.Thread(target=lambda: log.extend(proc.stderr))
            logger.start()
            new_pid = None
            try:
                port = int(read_line(proc.stdout).rsplit(":", 1)[1])
                upgrade = os.path.join(d, "next")
                with open(upgrade, "w") as f:  # the "new version": marks its start, then serves
                    f.write("#!/bin/sh\ntouch %s\nexec %s \"$@\"\n" % (marker, clihelpers.BINARY))
                os.chmod(upgrade, 0o755)
                os.rename(upgrade, installed)
                proc.send_signal(signal.SIGUSR2)
                self.assertTrue(read_line(proc.stdout).startswith("listening on"))
                self.assertEqual(proc.wait(10), 0)
                self.assertTrue(wait_for(lambda: "over to process" in "".join(log), 5))
                new_pid = int(re.search(r"over to process (\d+)", "".join(log)).group(1))
                self.assertTrue(os.path.exists(marker), "the binary at the path did not run")
                self.assertEqual(echo_roundtrip(port, b"after"), b"after")
            finally:
                if new_pid:
                    self.assertTrue(terminate(new_pid))
                release(proc)
                logger.join(5)

    def test_a_tls_client_in_its_handshake_survives_the_handover(self):
        """Found by an attack: the old process's drain reset clients still in their handshake."""
        import ssl
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([MAKE_CERTS, d], check=True)
            proc, _, port = clihelpers.start_listen("--verbose", "--tls-cert", os.path.join(d, "good.pem"),
                                                    "--tls-key", os.path.join(d, "good.key"))
            log = []
            logger = threading.Thread(target=lambda: log.extend(proc.stderr))
            logger.start()
            new_pid = None
            try:
                raw = socket.create_connection(("127.0.0.1", port), timeout=10)
                time.sleep(0.2)  # accepted, waiting for the ClientHello
                proc.send_signal(signal.SIGUSR2)
                self.assertTrue(read_line(proc.stdout).startswith("listening on"))
                time.sleep(0.5)  # the old process drains, past its quiet period
                context = ssl.create_default_context(cafile=os.path.join(d, "ca.pem"))
                with context.wrap_socket(raw, server_hostname="localhost") as c:
                    c.sendall(b"mid-handshake")
                    self.assertEqual(c.recv(100), b"mid-handshake")
                self.assertEqual(proc.wait(10), 0)
                logger.join(5)
                new_pid = int(re.search(r"over to process (\d+)", "".join(log)).group(1))
            finally:
                if new_pid:
                    self.assertTrue(terminate(new_pid))
                release(proc)
                logger.join(5)


class Metrics(unittest.TestCase):
    def test_a_slow_request_cannot_hold_a_scrape_slot(self):
        """Found by an attack: 70 clients sending a byte every 3 s blocked every scrape (the idle
        timeout restarted with each byte)."""
        proc, _, _ = clihelpers.start_listen("--verbose", "--metrics", "127.0.0.1:0")
        slow = []
        try:
            where = re.search(r"metrics on (\S+)", read_line(proc.stderr)).group(1)
            host, port = where.rsplit(":", 1)
            for _ in range(70):
                s = socket.socket()
                s.settimeout(1)
                try:
                    s.connect((host, int(port)))
                except OSError:
                    pass
                slow.append(s)
            deadline = time.monotonic() + 7
            while time.monotonic() < deadline:  # a byte a second each: never idle for long
                for s in slow:
                    try:
                        s.send(b"G")
                    except OSError:
                        pass
                time.sleep(1)
            self.assertIn("tcpsocket_connections_open", curl("http://%s/metrics" % where))
        finally:
            for s in slow:
                s.close()
            release(proc)


    def test_prometheus_text_scraped_with_curl(self):
        proc, _, port = clihelpers.start_listen("--verbose", "--metrics", "127.0.0.1:0", "--proxy-protocol=optional")
        try:
            where = re.search(r"metrics on (\S+)", read_line(proc.stderr)).group(1)
            for _ in range(5):
                self.assertEqual(echo_roundtrip(port, b"x" * 1000), b"x" * 1000)
            with socket.create_connection(("127.0.0.1", port)) as bad:
                bad.sendall(b"PROXY TCP4 bad\r\n")
                bad.settimeout(5)
                try:
                    bad.recv(10)
                except ConnectionResetError:
                    pass
            with socket.create_connection(("127.0.0.1", port)) as resetting:
                resetting.sendall(b"y" * 100)
                time.sleep(0.1)
                resetting.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")

            def scraped():
                text = curl("http://%s/metrics" % where)
                return (metric(text, "tcpsocket_connections_accepted_total") >= 6 and
                        'tcpsocket_proxy_headers_total{result="refused"} 1' in text and
                        "tcpsocket_connection_errors_total{name=" in text), text

            self.assertTrue(wait_for(lambda: scraped()[0], 10), scraped()[1])
            text = scraped()[1]
            self.assertGreaterEqual(metric(text, "tcpsocket_received_bytes_total"), 5100)
            self.assertGreaterEqual(metric(text, "tcpsocket_sent_bytes_total"), 5000)
            self.assertEqual(metric(text, "tcpsocket_connections_open"), 0)
            self.assertIn("# TYPE tcpsocket_connections_accepted_total counter", text)
            self.assertEqual(clihelpers.stop(proc), 0)
        finally:
            release(proc)


class ProxyProtocolFlags(unittest.TestCase):
    def test_the_log_shows_the_client_the_balancer_named(self):
        proc, _, port = clihelpers.start_listen("--verbose", "--proxy-protocol", "--proxy-trusted", "127.0.0.0/8")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"PROXY TCP4 192.0.2.44 198.51.100.7 40000 443\r\nping")
                self.assertEqual(s.recv(10), b"ping")
            proc.send_signal(signal.SIGTERM)
            _, log = proc.communicate(timeout=10)
            self.assertIn("connection from 192.0.2.44:40000", log)
        finally:
            release(proc)

    def test_an_untrusted_source_is_reset(self):
        proc, _, port = clihelpers.start_listen("--proxy-protocol", "--proxy-trusted", "10.0.0.0/8")
        try:
            answer = b""
            try:  # reset as soon as it is accepted: even the connect may see it
                with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                    s.sendall(b"PROXY TCP4 192.0.2.44 198.51.100.7 40000 443\r\nping")
                    s.settimeout(5)
                    answer = s.recv(10)
            except (ConnectionResetError, BrokenPipeError):
                pass
            self.assertEqual(answer, b"")
            self.assertEqual(clihelpers.stop(proc), 0)
        finally:
            release(proc)


if __name__ == "__main__":
    clihelpers.BINARY = sys.argv.pop(1)
    MAKE_CERTS = sys.argv.pop(1)
    unittest.main(verbosity=2)

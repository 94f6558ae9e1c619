"""End-to-end tests of the `tcpsocket` binary as a black box, with real clients (Python sockets).

Run by CTest as: python3 cli_e2e_test.py PATH_TO_TCPSOCKET
"""
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

from clihelpers import *  # noqa: F401,F403  (start_listen, stop, echo_roundtrip, ...)
import clihelpers


class ListenCommand(unittest.TestCase):
    def test_prints_listening_line_with_real_port(self):
        proc, host_port, port = start_listen()
        try:
            self.assertTrue(host_port.startswith("127.0.0.1:"))
            self.assertNotEqual(port, 0)
        finally:
            self.assertEqual(stop(proc), 0)

    def test_echo_is_byte_exact_over_concurrent_connections(self):
        proc, _, port = start_listen()
        try:
            rng = random.Random(7)
            payloads = [bytes(rng.getrandbits(8) for _ in range(200_000)) + b"\0\xff\xfe" for _ in range(8)]
            for sent, got in zip(payloads, echo_concurrently(port, payloads)):
                self.assertEqual(got, sent)
        finally:
            self.assertEqual(stop(proc), 0)

    def test_large_transfer_is_byte_exact(self):
        proc, _, port = start_listen()
        try:
            payload = os.urandom(64 << 20)
            self.assertEqual(echo_roundtrip(port, payload), payload)
        finally:
            self.assertEqual(stop(proc), 0)

    def test_ipv6_loopback(self):
        proc, host_port, port = start_listen("--host", "::1")
        try:
            self.assertTrue(host_port.startswith("[::1]:"))
            self.assertEqual(echo_roundtrip(port, b"over ipv6", socket.AF_INET6, "::1"), b"over ipv6")
        finally:
            self.assertEqual(stop(proc), 0)

    def test_discard_mode_sends_nothing_back(self):
        proc, _, port = start_listen("--mode", "discard")
        try:
            self.assertEqual(echo_roundtrip(port, b"x" * 100000), b"")
        finally:
            self.assertEqual(stop(proc), 0)

    def test_chat_relays_lines_to_others(self):
        proc, _, port = start_listen("--mode", "chat")
        try:
            a = socket.create_connection(("127.0.0.1", port), timeout=10)
            b = socket.create_connection(("127.0.0.1", port), timeout=10)
            time.sleep(0.2)
            a.sendall(b"hello b\n")
            self.assertEqual(b.recv(100), b"hello b\n")
            a.close()
            b.close()
        finally:
            self.assertEqual(stop(proc), 0)

    def test_sigterm_exits_zero_within_five_seconds_even_if_a_peer_never_reads(self):
        proc, _, port = start_listen()
        stuck = socket.create_connection(("127.0.0.1", port))
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.settimeout(0.5)
        try:
            sent = 0
            while sent < (64 << 20):  # the server echoes into a peer that never reads
                try:
                    sent += stuck.send(b"y" * 65536)
                except (socket.timeout, BlockingIOError):
                    break
            start = time.monotonic()
            self.assertEqual(stop(proc, timeout=6), 0)
            self.assertLess(time.monotonic() - start, 5.0)
        finally:
            stuck.close()

    def test_a_client_that_never_reads_does_not_grow_server_memory(self):
        proc = subprocess.Popen([BINARY, "listen"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=quiet_asan_env())
        port = int(proc.stdout.readline().strip().rsplit(":", 1)[1])
        try:
            echo_roundtrip(port, os.urandom(1 << 20))  # warm-up: the read buffer and allocator
            before = rss_kib(proc.pid)
            stuck = socket.create_connection(("127.0.0.1", port))
            stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sent = send_until_blocked(stuck, 256 << 20)
            grown = rss_kib(proc.pid) - before
            # The echo server stops reading (suspend) once 64 KiB of its output is queued: what the
            # client pushed beyond that waits in kernel buffers, not in the server's heap.
            self.assertLess(sent, 64 << 20, "the server kept reading from a peer that does not read")
            self.assertLess(grown, 8 << 10, "server RSS grew by %d KiB" % grown)
            stuck.close()
        finally:
            self.assertEqual(stop(proc), 0)

    def test_sigterm_mid_transfer_ends_with_a_clean_close(self):
        proc, _, port = start_listen()
        s = socket.create_connection(("127.0.0.1", port))
        payload = os.urandom(8 << 20)
        received = bytearray()
        done = threading.Event()

        def reader():
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    received.extend(chunk)
            except OSError:
                received.extend(b"<reset>")
            done.set()

        t = threading.Thread(target=reader)
        t.start()
        try:
            s.sendall(payload[: 2 << 20])
            self.assertEqual(stop(proc), 0)
            self.assertTrue(done.wait(10), "the server's close did not reach the client")
            self.assertNotIn(b"<reset>", received[-7:])
            self.assertEqual(bytes(received), payload[: len(received)], "echo is a prefix of what was sent")
        finally:
            t.join(10)
            s.close()

    def test_max_connections_makes_extra_clients_wait(self):
        proc, _, port = start_listen("--max-connections", "2")
        try:
            a = socket.create_connection(("127.0.0.1", port), timeout=10)
            b = socket.create_connection(("127.0.0.1", port), timeout=10)
            c = socket.create_connection(("127.0.0.1", port), timeout=10)  # completes in the backlog
            for s in (a, b):
                s.sendall(b"in")
                self.assertEqual(s.recv(10), b"in")
            c.sendall(b"waiting")
            c.settimeout(0.5)
            with self.assertRaises(socket.timeout):
                c.recv(10)  # not accepted yet: nobody echoes
            a.close()  # one slot frees: below the low-water mark, accepting resumes
            c.settimeout(10)
            self.assertEqual(c.recv(10), b"waiting")
            b.close()
            c.close()
        finally:
            self.assertEqual(stop(proc), 0)

    def test_idle_timeout_resets_a_silent_connection(self):
        proc, _, port = start_listen("--idle-timeout", "0.3")
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"hi")
            self.assertEqual(s.recv(10), b"hi")
            with self.assertRaises(ConnectionResetError):
                while s.recv(10):  # silent from here on: the server resets it
                    pass
            s.close()
        finally:
            self.assertEqual(stop(proc), 0)

    def test_workers_share_the_port(self):
        proc, _, port = start_listen("--workers", "3")
        try:
            children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
            self.assertEqual(len(children), 3)
            for i in range(30):
                payload = b"worker test %d" % i
                self.assertEqual(echo_roundtrip(port, payload), payload)
        finally:
            start = time.monotonic()
            self.assertEqual(stop(proc), 0)
            self.assertLess(time.monotonic() - start, 5.0)
        for pid in children:
            self.assertFalse(os.path.exists("/proc/%s" % pid) and open("/proc/%s/stat" % pid).read().split()[2] != "Z",
                             "worker %s outlived the server" % pid)

    def test_threads_share_the_port(self):
        proc, _, port = start_listen("--threads", "3")
        try:
            threads = 0
            for _ in range(200):  # the loop threads start right after the ready line
                with open("/proc/%d/status" % proc.pid) as f:
                    threads = int([l for l in f if l.startswith("Threads:")][0].split()[1])
                if threads >= 4:
                    break
                time.sleep(0.01)
            self.assertGreaterEqual(threads, 4, "three loops and the signal watcher")
            payloads = [os.urandom(100000) for _ in range(12)]
            self.assertEqual(echo_concurrently(port, payloads), payloads)
        finally:
            start = time.monotonic()
            self.assertEqual(stop(proc), 0)
            self.assertLess(time.monotonic() - start, 5.0)

    def test_client_reset_mid_transfer_does_not_hurt_the_server(self):
        proc, _, port = start_listen()
        try:
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(os.urandom(1 << 20))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()  # RST
            self.assertEqual(echo_roundtrip(port, b"still alive"), b"still alive")
        finally:
            self.assertEqual(stop(proc), 0)


class ConnectCommand(unittest.TestCase):
    def test_pipes_tens_of_mib_through_the_echo_server_byte_exact(self):
        proc, _, port = start_listen()
        try:
            payload = os.urandom(32 << 20) + b"\0\xff\xfe\0"
            r = run_connect("127.0.0.1", str(port), stdin=payload)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr, b"")
            self.assertEqual(r.stdout, payload)
        finally:
            self.assertEqual(stop(proc), 0)

    def test_ipv6_loopback(self):
        proc, _, port = start_listen("--host", "::1")
        try:
            r = run_connect("::1", str(port), stdin=b"six")
            self.assertEqual((r.returncode, r.stdout), (0, b"six"), r.stderr)
        finally:
            self.assertEqual(stop(proc), 0)

    def test_end_of_stdin_half_closes_and_the_reply_still_arrives(self):
        def handler(conn):
            request = read_all(conn)  # ends only with the client's FIN
            time.sleep(0.2)
            conn.sendall(b"reply to " + request)
            return request

        server = OneShotServer(handler)
        try:
            r = run_connect("127.0.0.1", str(server.port), stdin=b"question")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, b"reply to question")
        finally:
            server.close()
        self.assertEqual(server.result, b"question")

    def test_does_not_read_stdin_faster_than_the_peer_takes_it(self):
        release = threading.Event()

        def handler(conn):
            release.wait(30)  # reads nothing until told
            return len(read_all(conn))

        server = OneShotServer(handler)
        proc = subprocess.Popen([BINARY, "connect", "127.0.0.1", str(server.port)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=quiet_asan_env())
        try:
            os.set_blocking(proc.stdin.fileno(), False)
            written = 0
            stalled_since = None
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and written < (256 << 20):
                try:
                    written += os.write(proc.stdin.fileno(), b"z" * 65536)
                    stalled_since = None
                except BlockingIOError:
                    stalled_since = stalled_since or time.monotonic()
                    if time.monotonic() - stalled_since > 1.0:
                        break
                    time.sleep(0.01)
            self.assertLess(written, 64 << 20, "stdin was read with nowhere to put it")
            self.assertLess(rss_kib(proc.pid), 64 << 10)
            release.set()
            os.set_blocking(proc.stdin.fileno(), True)
            proc.stdin.close()  # end of input: everything written must still arrive
            self.assertEqual(proc.wait(30), 0)
        finally:
            release.set()
            server.close()
            proc.stdout.close()
            proc.stderr.close()
        self.assertEqual(server.result, written)

    def test_closed_stdout_ends_quietly(self):
        def handler(conn):
            try:
                for _ in range(2000):
                    conn.sendall(b"x" * 65536)
            except OSError:
                pass

        server = OneShotServer(handler)
        try:
            proc = subprocess.Popen([BINARY, "connect", "127.0.0.1", str(server.port)], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self.assertEqual(len(proc.stdout.read(1000)), 1000)
            proc.stdout.close()  # like `| head -c 1000`
            self.assertEqual(proc.wait(20), 0)
            self.assertEqual(proc.stderr.read(), b"")
            proc.stderr.close()
            proc.stdin.close()
        finally:
            server.close()

    def test_peer_reset_is_a_network_error(self):
        def handler(conn):
            conn.recv(10)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")

        server = OneShotServer(handler)
        try:
            proc = subprocess.Popen([BINARY, "connect", "127.0.0.1", str(server.port)], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            proc.stdin.write(b"hi")
            proc.stdin.flush()
            _, err = proc.communicate(timeout=20)
            self.assertEqual(proc.returncode, 1)
            self.assertEqual(err.decode(), "tcpsocket: NetworkError: connection to 127.0.0.1:%d failed\n" % server.port)
        finally:
            server.close()


class ManifestPolicy(unittest.TestCase):
    def setUp(self):
        import tempfile
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def manifest(self, text, name="app.webapp"):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def run_cli(self, *args, stdin=b""):
        return subprocess.run([BINARY, *args], input=stdin, capture_output=True, timeout=10)

    def test_web_app_may_not_listen(self):
        path = self.manifest('{"type": "web", "permissions": {"tcp-socket": {}}}')
        r = self.run_cli("listen", "--manifest", path)
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith(b"tcpsocket: SecurityError: a web app may not use TCP sockets"), r.stderr)
        self.assertEqual(r.stdout, b"")

    def test_workers_report_a_refusal_once(self):
        path = self.manifest('{"type": "web", "permissions": {"tcp-socket": {}}}')
        r = self.run_cli("listen", "--workers", "3", "--manifest", path)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.decode().strip().splitlines()), 1, r.stderr)

    def test_privileged_app_may_not_listen_below_1024(self):
        path = self.manifest('{"type": "privileged", "permissions": {"tcp-socket": {}}}')
        r = self.run_cli("listen", "--manifest", path, "--port", "80")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith(b"tcpsocket: SecurityError: listening on port 80 needs a certified app"),
                        r.stderr)

    def test_os_refusal_is_named_apart_from_the_policy(self):
        with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
            if int(f.read()) <= 80 or os.geteuid() != 0:
                self.skipTest("needs root to drop privileges and port 80 to be privileged")
        path = self.manifest('{"type": "certified", "permissions": {"tcp-socket": {}}}')
        os.chmod(self.tmp.name, 0o755)
        os.chmod(path, 0o644)
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", BINARY, "listen",
                            "--manifest", path, "--port", "80"], capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith(b"tcpsocket: PermissionDeniedError: "), r.stderr)

    def test_malformed_manifest_is_a_clear_error_never_full_trust(self):
        path = self.manifest('{\n  "type": "privileged",\n  "permissions": {"tcp-socket": {"connect": ["*:99999"]}}\n}')
        r = self.run_cli("listen", "--manifest", path)
        self.assertEqual(r.returncode, 2)
        line = r.stderr.decode()
        self.assertTrue(line.startswith("tcpsocket: ManifestError: %s:3:" % path), line)
        self.assertIn("permissions.tcp-socket.connect[0]", line)
        self.assertEqual(r.stdout, b"", "it must not start listening")
        r = self.run_cli("listen", "--manifest", os.path.join(self.tmp.name, "missing.webapp"))
        self.assertEqual(r.returncode, 2)
        self.assertTrue(r.stderr.startswith(b"tcpsocket: ManifestError: "), r.stderr)

    def test_connect_allowlist(self):
        proc, _, port = start_listen()
        try:
            denied = self.manifest('{"type": "privileged", "permissions": {"tcp-socket": {"connect": "*:*"}}}',
                                   "denied.webapp")
            r = self.run_cli("connect", "127.0.0.1", str(port), "--manifest", denied, stdin=b"x")
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stderr.decode(),
                             "tcpsocket: SecurityError: the app's connect allowlist does not allow 127.0.0.1:%d\n" % port)
            allowed = self.manifest('{"type": "privileged", "permissions": {"tcp-socket": {"connect": "127.0.0.1:%d"}}}'
                                    % port, "allowed.webapp")
            r = self.run_cli("connect", "127.0.0.1", str(port), "--manifest", allowed, stdin=b"allowed")
            self.assertEqual((r.returncode, r.stdout), (0, b"allowed"), r.stderr)
        finally:
            self.assertEqual(stop(proc), 0)

    def test_listen_under_an_allowing_manifest(self):
        path = self.manifest('{"type": "certified", "permissions": {"tcp-socket": {"listen": "127.0.0.1:*"}}}')
        proc, _, port = start_listen("--manifest", path)
        try:
            self.assertEqual(echo_roundtrip(port, b"policy ok"), b"policy ok")
        finally:
            self.assertEqual(stop(proc), 0)


class ErrorLines(unittest.TestCase):
    def run_cli(self, *args):
        start = time.monotonic()
        r = subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=5)
        self.assertLess(time.monotonic() - start, 2.0)
        return r

    def assert_usage_error(self, *args):
        r = self.run_cli(*args)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertTrue(r.stderr.startswith("tcpsocket: UsageError: "), r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)
        self.assertEqual(r.stdout, "")

    def test_bad_ports(self):
        for bad in ("70000", "-1", "abc", ""):
            self.assert_usage_error("listen", "--port", bad)

    def test_bad_worker_counts(self):
        for bad in ("0", "65", "x"):
            self.assert_usage_error("listen", "--workers", bad)

    def test_unknown_flag_and_command(self):
        self.assert_usage_error("listen", "--bogus")
        self.assert_usage_error("frobnicate")
        self.assert_usage_error()

    def test_address_in_use(self):
        proc, _, port = start_listen()
        try:
            r = self.run_cli("listen", "--port", str(port))
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stderr.strip(),
                             "tcpsocket: AddressInUseError: 127.0.0.1:%d is already in use" % port)
        finally:
            self.assertEqual(stop(proc), 0)

    def test_connect_refused(self):
        port = unused_port()
        r = self.run_cli("connect", "127.0.0.1", str(port))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "tcpsocket: ConnectionRefusedError: 127.0.0.1:%d refused the connection\n" % port)

    def test_connect_timeout(self):
        # A listener whose accept queue is full drops SYNs: the connection attempt hangs.
        full = socket.socket()
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        port = full.getsockname()[1]
        fillers = []
        try:
            for _ in range(3):
                f = socket.socket()
                f.setblocking(False)
                f.connect_ex(("127.0.0.1", port))
                fillers.append(f)
            r = self.run_cli("connect", "127.0.0.1", str(port), "--timeout", "0.5")
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stderr, "tcpsocket: NetworkTimeoutError: 127.0.0.1:%d did not answer within 500 ms\n"
                             % port)
        finally:
            for f in fillers:
                f.close()
            full.close()

    def test_connect_unknown_host(self):
        # Never through the machine's DNS server: in a private network namespace whose resolv.conf
        # points at a stub on its own loopback that answers NXDOMAIN.
        if os.geteuid() != 0:
            self.skipTest("needs root for a private network namespace")
        stub = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nxdomain_stub.py")
        script = ("ip link set lo up && echo 'nameserver 127.0.0.1' > \"$T/resolv.conf\" && "
                  "mount --bind \"$T/resolv.conf\" /etc/resolv.conf && "
                  "{ python3 \"$STUB\" \"$T/ready\" >/dev/null 2>&1 & } && "
                  "for i in $(seq 100); do [ -e \"$T/ready\" ] && break; sleep 0.05; done && "
                  "exec \"$BIN\" connect no-such-host.invalid 80")
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, T=tmp, STUB=stub, BIN=BINARY)
            r = subprocess.run(["unshare", "-n", "-m", "sh", "-c", script], capture_output=True, text=True,
                               timeout=20, env=env)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stderr, "tcpsocket: DomainNotFoundError: cannot resolve host 'no-such-host.invalid'\n")

    def test_connect_usage_errors(self):
        self.assert_usage_error("connect")
        self.assert_usage_error("connect", "127.0.0.1")
        self.assert_usage_error("connect", "127.0.0.1", "70000")
        self.assert_usage_error("connect", "127.0.0.1", "80", "--timeout", "soon")
        self.assert_usage_error("connect", "127.0.0.1", "80", "--bogus")

    def test_tls_flags_need_tls_and_files_that_exist(self):
        self.assert_usage_error("connect", "127.0.0.1", "80", "--ca", "ca.pem")
        r = self.run_cli("connect", "127.0.0.1", "80", "--tls", "--ca", "/nonexistent/ca.pem")
        self.assertEqual(r.returncode, 2)
        self.assertTrue(r.stderr.startswith("tcpsocket: TLSConfigurationError: "), r.stderr)
        r = self.run_cli("listen", "--tls-cert", "/nonexistent/c.pem", "--tls-key", "/nonexistent/k.pem")
        self.assertEqual(r.returncode, 2)
        self.assertTrue(r.stderr.startswith("tcpsocket: TLSConfigurationError: "), r.stderr)

    def test_address_not_local(self):
        r = self.run_cli("listen", "--host", "192.0.2.1")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("tcpsocket: AddressNotAvailableError: "), r.stderr)

    def test_host_not_an_address(self):
        r = self.run_cli("listen", "--host", "bogus")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, 'tcpsocket: InvalidAddressError: "bogus" is not an IPv4 or IPv6 address\n')

    def test_privileged_port_without_the_privilege(self):
        with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
            if int(f.read()) > 80 and os.geteuid() == 0 and os.access(BINARY, os.X_OK):
                pass
            else:
                self.skipTest("ports below 1024 are not privileged here, or not root to drop privileges")
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", BINARY, "listen",
                            "--port", "80"], capture_output=True, text=True, timeout=5)
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("tcpsocket: PermissionDeniedError: "), r.stderr)

    def test_help_and_version(self):
        r = self.run_cli("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("tcpsocket listen", r.stdout)
        r = self.run_cli("--version")
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("tcpsocket "))


if __name__ == "__main__":
    BINARY = clihelpers.BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)

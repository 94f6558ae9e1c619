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


def stop(proc, timeout=5.0):
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=timeout)


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
            results = [None] * len(payloads)

            def run(i):
                results[i] = echo_roundtrip(port, payloads[i])

            threads = [threading.Thread(target=run, args=(i,)) for i in range(len(payloads))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            for sent, got in zip(payloads, results):
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

    def test_address_not_local(self):
        r = self.run_cli("listen", "--host", "192.0.2.1")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("tcpsocket: AddressNotAvailableError: "), r.stderr)

    def test_help_and_version(self):
        r = self.run_cli("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("tcpsocket listen", r.stdout)
        r = self.run_cli("--version")
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("tcpsocket "))


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)

"""Hostile inputs to the `tcpsocket` binary: files that are not regular files, oversized files,
control characters that would forge error lines, and a TLS peer that never answers the handshake.
Every run has a subprocess timeout: a hang is a failure, never a stuck test.

Run by CTest as: python3 inputs_test.py PATH_TO_TCPSOCKET PATH_TO_MAKE_TEST_CERTS
"""
import contextlib
import functools
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import clihelpers

MAKE_CERTS = CERTS = None
PROMPT = 10  # seconds: what "at once" may take on a loaded machine, far below a hang
ONE_MIB = 1 << 20


def cert(name):
    return os.path.join(CERTS, name)


@functools.lru_cache(maxsize=None)
def sanitized_binary():
    """True when the binary runs under a sanitizer, whose shadow memory ignores address-space
    limits."""
    with open(clihelpers.BINARY, "rb") as f:
        image = f.read()
    return any(marker in image for marker in (b"libasan", b"libtsan", b"AddressSanitizer",
                                              b"ThreadSanitizer"))


def limit_memory():
    # A regression that reads /dev/zero to the end must die of bad_alloc, not take the machine.
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def run_cli(*args, timeout=PROMPT):
    """(exit status, stderr text, seconds taken); a run past `timeout` is killed and fails."""
    preexec = None if sanitized_binary() else limit_memory
    started = time.monotonic()
    try:
        r = subprocess.run([clihelpers.BINARY, *args], stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout, preexec_fn=preexec)
    except subprocess.TimeoutExpired:
        raise AssertionError("tcpsocket %s still running after %d s" % (" ".join(args), timeout))
    return r.returncode, r.stderr.decode(errors="replace"), time.monotonic() - started


class Scratch(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def fifo(self):
        path = os.path.join(self.tmp.name, "fifo.pem")
        os.mkfifo(path)
        return path

    def file_of(self, size, name="big"):
        path = os.path.join(self.tmp.name, name)
        with open(path, "wb") as f:
            f.write(b"{" + b" " * (size - 2) + b"}")
        return path

    def assert_one_error_line(self, status, stderr, name, *fragments):
        self.assertEqual(status, 2, stderr)
        self.assertEqual(stderr.count("\n"), 1, stderr)
        self.assertTrue(stderr.startswith("tcpsocket: %s: " % name), stderr)
        for fragment in fragments:
            self.assertIn(fragment, stderr)


class TlsFilesThatAreNotFiles(Scratch):
    def test_fifo_as_certificate_is_refused_at_once(self):
        fifo = self.fifo()
        status, stderr, _ = run_cli("listen", "--tls-cert", fifo, "--tls-key", cert("good.key"))
        self.assert_one_error_line(status, stderr, "TLSConfigurationError", fifo, "is not a regular file")

    def test_fifo_as_key_is_refused_at_once(self):
        fifo = self.fifo()
        status, stderr, _ = run_cli("listen", "--tls-cert", cert("good.pem"), "--tls-key", fifo)
        self.assert_one_error_line(status, stderr, "TLSConfigurationError", fifo, "is not a regular file")

    def test_fifo_as_ca_is_refused_at_once(self):
        fifo = self.fifo()
        status, stderr, _ = run_cli("connect", "127.0.0.1", str(clihelpers.unused_port()), "--tls", "--ca", fifo)
        self.assert_one_error_line(status, stderr, "TLSConfigurationError", fifo, "is not a regular file")

    def test_oversized_certificate_is_refused(self):
        big = self.file_of(ONE_MIB + 1, "big.pem")
        status, stderr, _ = run_cli("listen", "--tls-cert", big, "--tls-key", cert("good.key"))
        self.assert_one_error_line(status, stderr, "TLSConfigurationError", big, "is larger than 1 MiB")

    def test_real_files_still_work(self):
        proc, _, _ = clihelpers.start_listen("--tls-cert", cert("good.pem"), "--tls-key", cert("good.key"))
        self.assertEqual(clihelpers.stop(proc), 0)


class ManifestsThatAreNotSmallFiles(Scratch):
    def test_dev_zero_is_refused_at_once(self):
        status, stderr, _ = run_cli("listen", "--manifest", "/dev/zero")
        self.assert_one_error_line(status, stderr, "ManifestError", "/dev/zero", "is not a regular file")

    def test_two_mebibytes_are_refused(self):
        big = self.file_of(2 * ONE_MIB)
        status, stderr, _ = run_cli("listen", "--manifest", big)
        self.assert_one_error_line(status, stderr, "ManifestError", big, "is larger than 1 MiB")

    def test_directory_is_named_as_such(self):
        status, stderr, _ = run_cli("listen", "--manifest", self.tmp.name)
        self.assert_one_error_line(status, stderr, "ManifestError", self.tmp.name, "is a directory")

    def test_fifo_is_refused_at_once(self):
        fifo = self.fifo()
        status, stderr, _ = run_cli("connect", "127.0.0.1", "9", "--manifest", fifo)
        self.assert_one_error_line(status, stderr, "ManifestError", fifo, "is not a regular file")


class ErrorLinesCannotBeForged(Scratch):
    FORGED = "\ntcpsocket: FakeError: injected"

    def test_host_with_a_newline_prints_one_escaped_line(self):
        status, stderr, _ = run_cli("listen", "--host", "127.0.0.1" + self.FORGED)
        self.assertNotEqual(status, 0)
        self.assertEqual(stderr.count("\n"), 1, stderr)
        self.assertIn("127.0.0.1\\ntcpsocket: FakeError: injected", stderr)

    def test_manifest_path_with_control_characters_is_escaped(self):
        path = os.path.join(self.tmp.name, "a\rb\x1b[2Jc\\" + self.FORGED)
        status, stderr, _ = run_cli("listen", "--manifest", path)
        self.assertEqual(status, 2, stderr)
        self.assertEqual(stderr.count("\n"), 1, stderr)
        for raw in ("\r", "\x1b"):
            self.assertNotIn(raw, stderr)
        self.assertIn("a\\rb\\x1b[2Jc\\\\\\ntcpsocket: FakeError", stderr)


class SilentTlsServer:
    """Accepts one TCP connection and never says a word: the TLS handshake cannot complete."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.hold, daemon=True)
        self.thread.start()

    def hold(self):
        self.listener.settimeout(20)
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            self.done.wait(20)

    def close(self):
        self.done.set()
        self.thread.join(25)
        self.listener.close()


@contextlib.contextmanager
def unanswered_port():
    """A loopback port where TCP never comes up: its listener's accept queue is full, so the kernel
    drops further SYNs."""
    with socket.socket() as full:
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        port = full.getsockname()[1]
        with contextlib.ExitStack() as queued:
            for _ in range(3):
                filler = queued.enter_context(socket.socket())
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
            yield port


class ConnectTls(unittest.TestCase):
    def test_handshake_timeout_follows_timeout_and_says_so(self):
        server = SilentTlsServer()
        try:
            status, stderr, took = run_cli("connect", "127.0.0.1", str(server.port), "--tls", "--ca", cert("ca.pem"),
                                           "--timeout", "1")
        finally:
            server.close()
        self.assertEqual(status, 1, stderr)
        self.assertEqual(stderr, "tcpsocket: NetworkTimeoutError: the TLS handshake with 127.0.0.1:%d did not "
                                 "complete within 1000 ms\n" % server.port)
        self.assertLess(took, 3.5, "the handshake must be bounded by --timeout, not the 5 s default")

    def test_connect_timeout_with_tls_is_still_a_connect_timeout(self):
        with unanswered_port() as port:
            status, stderr, _ = run_cli("connect", "127.0.0.1", str(port), "--tls", "--ca", cert("ca.pem"),
                                        "--timeout", "0.5")
        self.assertEqual(status, 1, stderr)
        self.assertEqual(stderr, "tcpsocket: NetworkTimeoutError: 127.0.0.1:%d did not answer within 500 ms\n" % port)

    def test_empty_servername_is_a_usage_error(self):
        status, stderr, _ = run_cli("connect", "127.0.0.1", "9", "--tls", "--servername", "")
        self.assertEqual(status, 2, stderr)
        self.assertTrue(stderr.startswith("tcpsocket: UsageError: --servername"), stderr)


def main():
    global MAKE_CERTS, CERTS
    clihelpers.BINARY = sys.argv.pop(1)
    MAKE_CERTS = sys.argv.pop(1)
    with tempfile.TemporaryDirectory() as tmp:
        CERTS = tmp
        subprocess.run([MAKE_CERTS, tmp], check=True, stdout=subprocess.DEVNULL)
        program = unittest.main(verbosity=2, exit=False)
    sys.exit(0 if program.result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()

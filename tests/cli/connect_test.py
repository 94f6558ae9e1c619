"""`tcpsocket connect` pipes standard input to a peer and the peer to standard output: byte-exact,
over IPv6, half-closing at the end of input while the reply still arrives, reading input no faster
than the peer takes it, ending quietly when its output is closed, and naming a peer's reset.

Run by CTest as: python3 connect_test.py PATH_TO_TCPSOCKET
"""
import os
import socket
import subprocess
import sys
import threading
import time
import unittest

import clihelpers
from clihelpers import (OneShotServer, quiet_asan_env, read_all, release, rss_kib, run_connect,
                        start_listen, stop)


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

    def test_source_and_netcat_flags_connect_from_the_given_address(self):
        def handler(conn):
            peer = conn.getpeername()[0]
            conn.sendall(peer.encode())
            return read_all(conn)

        server = OneShotServer(handler, host="0.0.0.0")
        try:
            r = run_connect("127.0.0.1", str(server.port), "-s", "127.0.0.9", "--timeout=5", "-v",
                            stdin=b"hi")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, b"127.0.0.9")
        finally:
            server.close()
        self.assertEqual(server.result, b"hi")

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


if __name__ == "__main__":
    BINARY = clihelpers.BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)

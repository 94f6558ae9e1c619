"""`tcpsocket listen` bounds what a client can cost it: one that never reads does not grow the
server's memory (the echo stops reading instead), --max-connections makes extra clients wait in
the kernel's backlog rather than be dropped, and --idle-timeout resets a silent connection.

Run by CTest as: python3 listen_limits_test.py PATH_TO_TCPSOCKET
"""
import os
import socket
import subprocess
import sys
import unittest

import clihelpers
from clihelpers import (echo_roundtrip, quiet_asan_env, rss_kib, send_until_blocked, start_listen,
                        stop)


class ListenLimits(unittest.TestCase):
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


if __name__ == "__main__":
    BINARY = clihelpers.BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)

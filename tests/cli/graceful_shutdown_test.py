"""SIGTERM stops `tcpsocket listen` gracefully and never truncates silently: what arrived before
the stop is echoed before the FIN, a connection still busy at the deadline is reset (never a clean
end, which would say everything was answered), and the exit is 0 within five seconds even with a
peer that never reads.

Run by CTest as: python3 graceful_shutdown_test.py PATH_TO_TCPSOCKET
"""
import os
import signal
import socket
import sys
import threading
import time
import unittest

import clihelpers
from clihelpers import fill_without_reading, read_until_end, release, start_listen, stop


class GracefulShutdown(unittest.TestCase):
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

    def test_sigterm_echoes_everything_that_arrived_before_the_fin(self):
        """Before: the server exited at once and each client got a clean EOF after only part of the
        echo of bytes the server's kernel had already acknowledged."""
        proc, _, port = start_listen()
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        try:
            sent = [fill_without_reading(c) for c in clients]
            for s in sent:
                self.assertGreater(len(s), 256 << 10)
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            results = [None] * len(clients)

            def read(i):
                results[i] = read_until_end(clients[i], 20)

            threads = [threading.Thread(target=read, args=(i,)) for i in range(len(clients))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            self.assertEqual(proc.wait(10), 0)
            self.assertLess(time.monotonic() - started, 5.0)
            for (data, ending), s in zip(results, sent):
                self.assertEqual(ending, "eof")
                self.assertEqual(len(data), len(s), "a clean EOF after a truncated echo")
                self.assertTrue(data == s)
        finally:
            release(proc, clients)

    def test_a_connection_cut_at_the_deadline_is_reset_never_ended_cleanly(self):
        proc, _, port = start_listen()
        client = socket.create_connection(("127.0.0.1", port))
        try:
            fill_without_reading(client)  # and never reads until the server is gone
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(10), 0)
            _, ending = read_until_end(client, 10)
            self.assertEqual(ending, "reset")
        finally:
            release(proc, [client])


if __name__ == "__main__":
    clihelpers.BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)

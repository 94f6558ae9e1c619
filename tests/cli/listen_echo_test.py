"""`tcpsocket listen` serves what it says it serves: it announces its real port, the echo is
byte-exact over concurrent connections, large transfers and IPv6, discard sends nothing back, chat
relays lines to the others, and a client reset mid-transfer does not hurt the server. Real clients (Python sockets),
the binary a black box.

Run by CTest as: python3 listen_echo_test.py PATH_TO_TCPSOCKET
"""
import os
import random
import socket
import sys
import time
import unittest

import clihelpers
from clihelpers import echo_concurrently, echo_roundtrip, start_listen, stop


class ListenEcho(unittest.TestCase):
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


if __name__ == "__main__":
    clihelpers.BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)

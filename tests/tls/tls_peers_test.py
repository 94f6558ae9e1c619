#!/usr/bin/env python3
"""TLS against other implementations: `openssl s_server`/`s_client` and Python's ssl module talk
to the tcpsocket command (connect --tls, listen --tls-cert/--tls-key) and to the STARTTLS example.
Certificates are made fresh for every run by make_test_certs.

usage: tls_peers_test.py TCPSOCKET_BINARY MAKE_TEST_CERTS STARTTLS_EXAMPLE [TEST...]
"""
import os
import random
import re
import select
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import warnings

BINARY = MAKE_CERTS = STARTTLS = CERTS = None


def path(name):
    return os.path.join(CERTS, name)


def read_line_with_timeout(stream, timeout=10.0):
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        raise AssertionError("no output within %.0f s" % timeout)
    return stream.readline()


def read_until_end(sock, answer=None):
    """Everything `sock` receives until EOF, a reset or a timeout; sends `answer` once after the
    first bytes (garbage for a TLS peer)."""
    got = bytearray()
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            if answer and not got:
                sock.sendall(answer)
            got.extend(chunk)
    except OSError:  # reset, timeout
        pass
    return bytes(got)


class Process:
    """A child process killed at the end of the test, whatever happens."""

    def __init__(self, args, **kwargs):
        # Unbuffered: select() must see every byte not yet read (a buffered reader hides lines).
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, bufsize=0, **kwargs)

    def wait_for(self, pattern, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = read_line_with_timeout(self.proc.stdout, deadline - time.monotonic())
            if not line:
                raise AssertionError("exited before printing %r: %r" % (pattern, self.proc.stderr.read()))
            m = re.search(pattern, line.decode(errors="replace"))
            if m:
                return m
        raise AssertionError("never printed %r" % pattern)

    def wait_for_stderr(self, text, timeout=10.0):
        seen = b""
        deadline = time.monotonic() + timeout
        wanted = text.encode()
        while time.monotonic() < deadline:
            at = seen.find(wanted)
            if at >= 0 and b"\n" in seen[at:]:  # the whole line
                break
            ready, _, _ = select.select([self.proc.stderr], [], [], deadline - time.monotonic())
            if not ready:
                break
            chunk = self.proc.stderr.read(4096)
            if not chunk:
                break
            seen += chunk
        return seen.decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self.log = self.proc.stderr.read().decode(errors="replace")
        self.out = self.proc.stdout.read().decode(errors="replace")
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            stream.close()


def s_server(cert, key, *extra):
    p = Process(["openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", path(cert), "-key", path(key),
                 "-naccept", "1", "-rev", *extra])
    port = int(p.wait_for(r"ACCEPT .*:(\d+)").group(1))
    return p, port


def run_connect(port, *flags, stdin=b"", host="127.0.0.1", timeout=20):
    return subprocess.run([BINARY, "connect", host, str(port), "--tls", *flags], input=stdin,
                          capture_output=True, timeout=timeout)


class PythonTlsServer:
    """A TLS server in a thread, one connection, with any ssl.SSLContext."""

    def __init__(self, context, handler):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.context, self.handler, self.error = context, handler, None
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            self.listener.settimeout(15)
            conn, _ = self.listener.accept()
            with conn:
                conn.settimeout(15)
                self.handler(conn, self.context)
        except Exception as e:  # reported by the test through .error
            self.error = e
        finally:
            self.listener.close()

    def join(self):
        self.thread.join(timeout=20)


class ClientAgainstOpensslServer(unittest.TestCase):
    def test_good_chain_data_both_ways(self):
        server, port = s_server("good.pem", "good.key")
        try:
            r = run_connect(port, "--ca", path("ca.pem"), stdin=b"hello tls\n")
        finally:
            server.stop()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"slt olleh", r.stdout)  # s_server -rev answers each line reversed

    def test_host_name_is_checked(self):
        server, port = s_server("good.pem", "good.key")
        try:
            r = run_connect(port, "--ca", path("ca.pem"), stdin=b"x\n", host="localhost")
        finally:
            server.stop()
        self.assertEqual(r.returncode, 0, r.stderr)

    def assert_refused_with(self, cert, name, *flags):
        server, port = s_server(cert + ".pem", cert + ".key")
        try:
            r = run_connect(port, *flags, stdin=b"secret\n")
        finally:
            server.stop()
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertTrue(r.stderr.decode().startswith("tcpsocket: %s: the TLS handshake with 127.0.0.1:%d failed"
                                                     % (name, port)), r.stderr)
        self.assertEqual(r.stdout, b"")

    def test_wrong_host(self):
        self.assert_refused_with("wronghost", "SecurityCertificateDomainMismatchError", "--ca", path("ca.pem"))

    def test_expired(self):
        self.assert_refused_with("expired", "SecurityExpiredCertificateError", "--ca", path("ca.pem"))

    def test_self_signed_without_ca(self):
        self.assert_refused_with("selfsigned", "SecurityUntrustedCertificateIssuerError", "--ca", path("ca.pem"))

    def test_test_ca_is_not_in_the_system_store(self):
        self.assert_refused_with("good", "SecurityUntrustedCertificateIssuerError")

    def test_servername_overrides_the_checked_name(self):
        server, port = s_server("wronghost.pem", "wronghost.key")
        try:
            r = run_connect(port, "--ca", path("ca.pem"), "--servername", "elsewhere.test", stdin=b"ab\n")
        finally:
            server.stop()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"ba", r.stdout)

    def test_no_stdin_byte_is_sent_to_an_unverified_server(self):
        # A plain TCP "server" that records everything: a TLS client must send only its ClientHello.
        listener = socket.create_server(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        got = bytearray()

        def record():
            conn, _ = listener.accept()
            conn.settimeout(5)
            with conn:
                got.extend(read_until_end(conn, answer=b"HTTP/1.0 400 not TLS\r\n\r\n"))
        t = threading.Thread(target=record, daemon=True)
        t.start()
        r = run_connect(port, "--ca", path("ca.pem"), stdin=b"SECRET-PAYLOAD\n")
        t.join(10)
        listener.close()
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith(b"tcpsocket: Security"), r.stderr)
        self.assertEqual(got[:1], b"\x16", "a TLS handshake record first")
        self.assertNotIn(b"SECRET-PAYLOAD", bytes(got))

    def test_fin_without_close_notify_is_a_normal_close(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(path("good.pem"), path("good.key"))

        def handler(conn, ctx):
            with ctx.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(b"bye\n")
                assert tls.recv(100) == b""  # our close_notify: stdin was empty
                tls.shutdown(socket.SHUT_RDWR)  # a bare FIN: SSLSocket.shutdown sends no close_notify
        server = PythonTlsServer(context, handler)
        r = run_connect(server.port, "--ca", path("ca.pem"))
        server.join()
        self.assertIsNone(server.error)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"bye\n")

    def test_tls10_only_peer_is_refused(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():  # TLS 1.0 is deprecated: that is the point of the test
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.maximum_version = ssl.TLSVersion.TLSv1
        context.load_cert_chain(path("good.pem"), path("good.key"))

        def handler(conn, ctx):
            try:
                ctx.wrap_socket(conn, server_side=True)
            except ssl.SSLError:
                pass  # our client refuses: expected
        server = PythonTlsServer(context, handler)
        r = run_connect(server.port, "--ca", path("ca.pem"), stdin=b"x\n")
        server.join()
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertTrue(r.stderr.startswith(b"tcpsocket: SecurityUnsupportedTLSVersionError: "), r.stderr)


class ServerAgainstRealClients(unittest.TestCase):
    def setUp(self):
        self.server = Process([BINARY, "listen", "--verbose", "--tls-cert", path("good.pem"), "--tls-key",
                               path("good.key")])
        self.port = int(self.server.wait_for(r"listening on 127\.0\.0\.1:(\d+)").group(1))
        self.context = ssl.create_default_context(cafile=path("ca.pem"))

    def tearDown(self):
        self.server.stop()
        if os.environ.get("SHOW_SERVER_LOG"):
            print(self.server.log, file=sys.stderr)

    def tls_client(self):
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=15)
        return self.context.wrap_socket(raw, server_hostname="localhost")

    def test_python_client_echo_byte_exact(self):
        payload = random.Random(5).randbytes(10 << 20)
        received = bytearray()
        # One thread and a non-blocking socket: an SSLSocket is not safe to read and write from
        # two threads at once.
        with self.tls_client() as c:
            c.setblocking(False)
            sent = 0
            deadline = time.monotonic() + 60
            while len(received) < len(payload) and time.monotonic() < deadline:
                select.select([c], [c] if sent < len(payload) else [], [], 1.0)
                if sent < len(payload):
                    try:
                        sent += c.send(payload[sent:sent + (256 << 10)])
                    except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                        pass
                try:
                    while True:
                        chunk = c.recv(1 << 20)
                        if not chunk:
                            raise AssertionError("the server closed after %d bytes" % len(received))
                        received.extend(chunk)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    pass
        self.assertEqual(len(received), len(payload))
        self.assertTrue(received == payload)

    def test_openssl_s_client(self):
        client = Process(["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.port, "-CAfile",
                          path("ca.pem"), "-verify_return_error", "-servername", "localhost", "-quiet"])
        try:
            client.proc.stdin.write(b"ping from s_client\n")
            client.proc.stdin.flush()
            client.wait_for("^ping from s_client$")  # echoed back through the TLS server
        finally:
            client.stop()

    def test_garbage_and_stalled_clients_do_not_block_others(self):
        stalled = socket.create_connection(("127.0.0.1", self.port))
        garbage = socket.create_connection(("127.0.0.1", self.port))
        garbage.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 50)
        try:
            with self.tls_client() as c:
                c.sendall(b"still served\n")
                self.assertEqual(c.recv(100), b"still served\n")
            garbage.settimeout(10)
            try:
                rest = garbage.recv(100)  # an alert, then the end
                while rest:
                    rest = garbage.recv(100)
            except ConnectionResetError:
                pass
        finally:
            stalled.close()
            garbage.close()

    def test_client_requiring_an_unknown_ca_fails_cleanly(self):
        other = ssl.create_default_context()  # the system store: does not know our test CA
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=15)
        with self.assertRaises(ssl.SSLCertVerificationError):
            other.wrap_socket(raw, server_hostname="localhost")
        raw.close()
        with self.tls_client() as c:  # the server is fine afterwards
            c.sendall(b"ok\n")
            self.assertEqual(c.recv(10), b"ok\n")


def public_key_pin(cert):
    """curl's --pinnedpubkey form of a certificate's key: sha256/ + base64(SHA-256(SPKI DER))."""
    pem = subprocess.run(["openssl", "x509", "-in", path(cert), "-pubkey", "-noout"],
                         capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pem,
                         capture_output=True, check=True).stdout
    import base64
    import hashlib
    return "sha256/" + base64.b64encode(hashlib.sha256(der).digest()).decode()


class MutualTlsAlpnAndPinsFromTheCommandLine(unittest.TestCase):
    """connect --cert/--key/--alpn/--pin against openssl s_server, and listen --tls-client-ca/--alpn
    against openssl s_client and Python's ssl module."""

    def mutual_s_server(self, *extra):
        return s_server("good.pem", "good.key", "-Verify", "1", "-CAfile", path("ca.pem"),
                        "-verify_return_error", *extra)

    def test_client_certificate_and_alpn_reach_s_server(self):
        server, port = self.mutual_s_server("-alpn", "foo,bar")
        try:
            r = run_connect(port, "--ca", path("ca.pem"), "--cert", path("client.pem"), "--key",
                            path("client.key"), "--alpn", "bar", stdin=b"hello\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(b"olleh", r.stdout)
            server.proc.wait(timeout=10)  # -naccept 1: it exits after the connection, output flushed
        finally:
            server.stop()
        self.assertIn("Verification: OK", open_log(server))
        self.assertIn("ALPN protocols selected: bar", open_log(server))

    def test_without_a_client_certificate_s_server_refuses(self):
        server, port = self.mutual_s_server()
        try:
            r = run_connect(port, "--ca", path("ca.pem"), stdin=b"hello\n")
        finally:
            server.stop()
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertNotIn(b"olleh", r.stdout)
        self.assertTrue(r.stderr.startswith(b"tcpsocket: Security"), r.stderr)

    def test_a_matching_pin_connects_and_another_is_refused(self):
        for pin, expected in ((public_key_pin("good.pem"), 0), (public_key_pin("selfsigned.pem"), 1)):
            server, port = s_server("good.pem", "good.key")
            try:
                r = run_connect(port, "--ca", path("ca.pem"), "--pin", pin, stdin=b"hello\n")
            finally:
                server.stop()
            self.assertEqual(r.returncode, expected, r.stderr)
            if expected:
                self.assertTrue(r.stderr.startswith(b"tcpsocket: SecurityBadCertificateError: "), r.stderr)
                self.assertNotIn(b"olleh", r.stdout)
            else:
                self.assertIn(b"olleh", r.stdout)

    def listen_mutual(self, *extra):
        server = Process([BINARY, "listen", "--tls-cert", path("good.pem"), "--tls-key", path("good.key"),
                          "--tls-client-ca", path("ca.pem"), *extra])
        self.addCleanup(server.stop)
        return int(server.wait_for(r"listening on 127\.0\.0\.1:(\d+)").group(1))

    def test_s_client_with_a_certificate_is_served(self):
        port = self.listen_mutual()
        client = Process(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-CAfile", path("ca.pem"),
                          "-cert", path("client.pem"), "-key", path("client.key"), "-verify_return_error",
                          "-servername", "localhost", "-quiet"])
        try:
            client.proc.stdin.write(b"mutual ping\n")
            client.proc.stdin.flush()
            client.wait_for("^mutual ping$")
        finally:
            client.stop()

    def python_client(self, port, cert=None, alpn=None):
        context = ssl.create_default_context(cafile=path("ca.pem"))
        if cert:
            context.load_cert_chain(path(cert + ".pem"), path(cert + ".key"))
        if alpn:
            context.set_alpn_protocols(alpn)
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        return context.wrap_socket(raw, server_hostname="localhost")

    def echo_or_error(self, port, **kwargs):
        """b"ok" echoed, or the exception that ended the attempt (TLS 1.3 reports a refused client
        certificate only at the first read)."""
        try:
            with self.python_client(port, **kwargs) as c:
                c.sendall(b"ok")
                return c.recv(10), c.selected_alpn_protocol()
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError) as e:
            return e, None

    def test_clients_without_a_certificate_or_with_another_cas_are_refused(self):
        port = self.listen_mutual()
        self.assertEqual(self.echo_or_error(port, cert="client")[0], b"ok")
        for cert in (None, "otherclient"):
            answer, _ = self.echo_or_error(port, cert=cert)
            self.assertIsInstance(answer, Exception, "client certificate %r was accepted" % cert)
        self.assertEqual(self.echo_or_error(port, cert="client")[0], b"ok", "the server is fine afterwards")

    def test_listen_alpn_picks_its_protocol_and_refuses_others(self):
        port = self.listen_mutual("--alpn", "foo,bar")
        answer, selected = self.echo_or_error(port, cert="client", alpn=["x", "bar"])
        self.assertEqual((answer, selected), (b"ok", "bar"))
        answer, _ = self.echo_or_error(port, cert="client", alpn=["x"])
        self.assertIsInstance(answer, Exception, "a client offering only other protocols was accepted")


def open_log(process):
    """What an openssl s_server printed (after stop())."""
    return process.out + process.log


class StartTlsWithPython(unittest.TestCase):
    def server_context(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(path("good.pem"), path("good.key"))
        return context

    def test_our_client_upgrades_against_a_python_server(self):
        def handler(conn, ctx):
            conn.sendall(b"220 ready\r\n")
            assert conn.recv(100) == b"STARTTLS\r\n"
            conn.sendall(b"220 go ahead\r\n")
            with ctx.wrap_socket(conn, server_side=True) as tls:
                line = tls.recv(100)
                tls.sendall(b"python saw: " + line)
                tls.unwrap()
        server = PythonTlsServer(self.server_context(), handler)
        r = subprocess.run([STARTTLS, "client", "127.0.0.1", str(server.port), path("ca.pem")],
                           capture_output=True, timeout=20)
        server.join()
        self.assertIsNone(server.error)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"python saw: hello over TLS\r\n")

    def start_our_server(self, *extra):
        p = Process([STARTTLS, "server", path("good.pem"), path("good.key"), *extra])
        self.addCleanup(p.stop)
        return p, int(p.wait_for(r"listening on (\d+)").group(1))

    def greeted_client(self, *server_args):
        _, port = self.start_our_server(*server_args)
        raw = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.addCleanup(raw.close)
        self.assertEqual(raw.recv(100), b"220 ready\r\n")
        return raw

    def plaintext_preamble(self):
        """Our STARTTLS server, a raw client past its greeting and STARTTLS: (server, socket)."""
        proc, port = self.start_our_server()
        raw = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.assertEqual(raw.recv(100), b"220 ready\r\n")
        raw.sendall(b"STARTTLS\r\n")
        self.assertEqual(raw.recv(100), b"220 go ahead\r\n")
        return proc, raw

    def assert_echoed_over_tls(self, raw, line):
        context = ssl.create_default_context(cafile=path("ca.pem"))
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(line)
            self.assertEqual(tls.recv(100), line)

    def test_python_client_upgrades_against_our_server(self):
        _, raw = self.plaintext_preamble()
        self.assert_echoed_over_tls(raw, b"echo me\r\n")

    def test_command_split_across_segments_is_understood(self):
        raw = self.greeted_client()
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        raw.sendall(b"START")
        time.sleep(0.3)  # two reads on the server's side, not one
        raw.sendall(b"TLS\r\n")
        self.assertEqual(raw.recv(100), b"220 go ahead\r\n")
        self.assert_echoed_over_tls(raw, b"after a split command\r\n")

    def test_plaintext_pipelined_with_starttls_is_dropped(self):
        raw = self.greeted_client()
        raw.sendall(b"STARTTLS\r\nRSET\r\n")  # the second command, if run, would answer 530
        self.assertEqual(raw.recv(100), b"220 go ahead\r\n")
        self.assert_echoed_over_tls(raw, b"only this\r\n")

    def test_silent_client_is_dropped(self):
        raw = self.greeted_client("0.5")
        raw.settimeout(10)
        self.assertEqual(read_until_end(raw), b"421 timed out waiting for STARTTLS\r\n")

    def test_overlong_command_line_is_refused(self):
        raw = self.greeted_client()
        raw.sendall(b"A" * 600)
        raw.settimeout(10)
        self.assertEqual(read_until_end(raw), b"500 line too long\r\n")

    def test_plaintext_injected_after_starttls_is_not_delivered(self):
        proc, raw = self.plaintext_preamble()
        raw.sendall(b"RSET\r\nMAIL FROM:<attacker@example.test>\r\n")  # plaintext, not TLS
        raw.settimeout(10)
        got = read_until_end(raw)
        raw.close()
        self.assertNotIn(b"RSET", bytes(got))  # the server would echo it, had it delivered it
        self.assertNotIn(b"530", bytes(got))
        # The server reports the failed handshake (it may still be writing the line).
        self.assertIn("connection error: Security", proc.wait_for_stderr("connection error"))


def main():
    global BINARY, MAKE_CERTS, STARTTLS, CERTS
    BINARY, MAKE_CERTS, STARTTLS = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as tmp:
        CERTS = tmp
        subprocess.run([MAKE_CERTS, tmp], check=True)
        program = unittest.main(argv=[sys.argv[0], "-v", *sys.argv[4:]], exit=False)  # [TEST...]
    sys.exit(0 if program.result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()

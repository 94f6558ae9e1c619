"""netcat's two ways of serving: `listen --mode stdio` (one connection relayed to stdin/stdout, as
`ncat -l > file`) and `listen --exec CMD` (a program per connection, as `ncat -l -e`); the byte
counts --verbose prints at the end of a connection; and no helper thread in either command.

Run by CTest as: python3 netcat_modes_test.py PATH_TO_TCPSOCKET
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import clihelpers
from clihelpers import read_all, release, wait_for


def start_stdio(stdin, stdout, *args):
    """`listen --mode stdio`; its ready line is on stderr, since stdout carries the data."""
    proc = subprocess.Popen([clihelpers.BINARY, "listen", "--mode", "stdio", *args], stdin=stdin,
                            stdout=stdout, stderr=subprocess.PIPE)
    line = proc.stderr.readline().decode()
    m = re.match(r"tcpsocket: listening on 127\.0\.0\.1:(\d+)$", line.strip())
    if not m:
        proc.kill()
        raise AssertionError("unexpected first stderr line: %r" % line)
    return proc, int(m.group(1))


def thread_count(pid):
    with open("/proc/%d/status" % pid) as f:
        return int([l for l in f if l.startswith("Threads:")][0].split()[1])


def children_of(pid):
    found = []
    for task in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/children" % (pid, task)) as f:
            found += f.read().split()
    return found


class StdioMode(unittest.TestCase):
    def test_receives_a_file_byte_exact_and_exits_when_the_connection_ends(self):
        payload = os.urandom(3 << 20)
        with tempfile.TemporaryFile() as out, open(os.devnull, "rb") as nothing:
            proc, port = start_stdio(nothing, out)
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
                    s.sendall(payload)
                    s.shutdown(socket.SHUT_WR)
                    self.assertEqual(read_all(s), b"", "stdin (/dev/null) sent nothing")
                self.assertEqual(proc.wait(20), 0)
                out.seek(0)
                received = out.read()
                self.assertEqual(len(received), len(payload))
                self.assertTrue(received == payload)
            finally:
                release(proc)

    def test_sends_stdin_and_refuses_a_second_client(self):
        payload = os.urandom(1 << 20)
        with tempfile.TemporaryFile() as source:
            source.write(payload)
            source.seek(0)
            proc, port = start_stdio(source, subprocess.DEVNULL)
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
                    self.assertTrue(wait_for(lambda: _refused(port), 10),
                                    "a second client was let in while the first is served")
                    received = read_all(s)  # stdin ends: half-closed after the last byte
                    self.assertTrue(received == payload, "%d of %d bytes" % (len(received), len(payload)))
                self.assertEqual(proc.wait(20), 0)
            finally:
                release(proc)

    def test_a_slow_stdout_brakes_the_sender_instead_of_buffering_everything(self):
        """stdout is a pipe nobody reads for a while: the server stops reading the socket (its
        memory stays bounded), then delivers every byte once the reader comes back."""
        reader, writer = os.pipe()
        proc, port = start_stdio(subprocess.DEVNULL, writer)
        os.close(writer)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
                sent = clihelpers.send_until_blocked(s, 256 << 20)
                self.assertLess(sent, 64 << 20, "the server kept reading into memory")
                rss = clihelpers.rss_kib(proc.pid)
                self.assertLess(rss, 64 * 1024, "RSS %d KiB" % rss)
                got = bytearray()
                drained = threading.Thread(target=lambda: _drain(reader, got))
                drained.start()
                s.settimeout(20)
                s.shutdown(socket.SHUT_WR)
                self.assertEqual(proc.wait(30), 0)
                drained.join(30)
            self.assertEqual(len(got), sent)
        finally:
            os.close(reader)
            release(proc)

    def test_sigterm_mid_connection_delivers_what_arrived_and_exits_zero(self):
        payload = os.urandom(2 << 20)
        with tempfile.TemporaryFile() as out:
            proc, port = start_stdio(subprocess.DEVNULL, out)
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
                    s.sendall(payload)
                    start = time.monotonic()
                    proc.send_signal(signal.SIGTERM)
                    self.assertEqual(proc.wait(10), 0)
                    self.assertLess(time.monotonic() - start, 5.0)
                    self.assertEqual(read_all(s), b"", "a clean end: the connection was quiet")
                out.seek(0)
                self.assertTrue(out.read() == payload, "stdout lost bytes that had arrived")
            finally:
                release(proc)

    def test_sigterm_before_any_client_exits_zero(self):
        proc, _ = start_stdio(subprocess.DEVNULL, subprocess.DEVNULL)
        try:
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(10), 0)
        finally:
            release(proc)


def _refused(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as t:
            t.settimeout(2)
            return t.recv(1) == b""  # accepted, then closed at once
    except (ConnectionRefusedError, ConnectionResetError):
        return True
    except socket.timeout:
        return False


def _drain(fd, into):
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return
        into.extend(chunk)


class ExecMode(unittest.TestCase):
    def start(self, command, *args):
        proc, _, port = clihelpers.start_listen("--exec", command, *args)
        self.addCleanup(release, proc)
        return proc, port

    def test_each_connection_gets_its_own_program(self):
        proc, port = self.start("tr a-z A-Z")
        payloads = [os.urandom(200000).replace(b"\n", b"x") + b"abc" for _ in range(4)]
        results = clihelpers.echo_concurrently(port, payloads)
        for payload, result in zip(payloads, results):
            self.assertEqual(result, payload.translate(bytes.maketrans(b"abcdefghijklmnopqrstuvwxyz",
                                                                       b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")))
        self.assertTrue(wait_for(lambda: children_of(proc.pid) == [], 10),
                        "programs left behind: %s" % children_of(proc.pid))
        self.assertEqual(clihelpers.stop(proc), 0)

    def test_a_big_stream_through_cat_is_byte_exact(self):
        _, port = self.start("cat")
        payload = os.urandom(8 << 20)
        self.assertTrue(clihelpers.echo_roundtrip(port, payload) == payload)

    def test_the_program_learns_who_called_and_inherits_no_descriptor(self):
        _, port = self.start('echo "$TCPSOCKET_REMOTE_ADDR $TCPSOCKET_REMOTE_PORT $TCPSOCKET_LOCAL_PORT";'
                             ' ls /proc/$$/fd')
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            mine = s.getsockname()
            answer = read_all(s).decode().split("\n")
        self.assertEqual(answer[0], "%s %d %d" % (mine[0], mine[1], port))
        self.assertEqual(sorted(answer[1:-1]), ["0", "1", "2"], "the shell's descriptors")

    def test_the_program_ending_ends_the_connection(self):
        _, port = self.start("printf bye")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            self.assertEqual(read_all(s), b"bye")

    def test_a_program_that_ignores_its_input_does_not_stop_the_server(self):
        proc, port = self.start("exec sleep 30")
        quiet = socket.create_connection(("127.0.0.1", port), timeout=10)
        try:
            quiet.sendall(b"x" * 1000)
            self.assertTrue(wait_for(lambda: len(children_of(proc.pid)) == 1, 10))
            start = time.monotonic()
            self.assertEqual(clihelpers.stop(proc), 0)
            self.assertLess(time.monotonic() - start, 5.0)
        finally:
            quiet.close()

    def test_a_program_that_cannot_start_is_one_error_line_and_the_server_goes_on(self):
        proc, port = self.start("exit 3")
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                self.assertEqual(read_all(s), b"")
        self.assertTrue(wait_for(lambda: children_of(proc.pid) == [], 10))
        self.assertIsNone(proc.poll())

    def test_exec_and_mode_do_not_mix(self):
        r = subprocess.run([clihelpers.BINARY, "listen", "--exec", "cat", "--mode", "chat"],
                           capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"UsageError", r.stderr)


class VerboseAndThreads(unittest.TestCase):
    def test_verbose_prints_byte_counts_when_a_connection_ends(self):
        proc, _, port = clihelpers.start_listen("--verbose")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                client_port = s.getsockname()[1]
                s.sendall(b"hello")
                s.shutdown(socket.SHUT_WR)
                self.assertEqual(read_all(s), b"hello")
            proc.send_signal(signal.SIGTERM)
            _, log = proc.communicate(timeout=10)
            self.assertEqual(proc.returncode, 0)
        finally:
            release(proc)
        self.assertIn("closed 127.0.0.1:%d: 5 bytes sent, 5 bytes received" % client_port, log)

    def test_connect_runs_on_one_thread(self):
        server = socket.create_server(("127.0.0.1", 0))
        port = server.getsockname()[1]
        reader, writer = os.pipe()
        proc = subprocess.Popen([clihelpers.BINARY, "connect", "127.0.0.1", str(port)], stdin=reader,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.close(reader)
        try:
            conn, _ = server.accept()
            os.write(writer, b"ping")
            conn.settimeout(10)
            self.assertEqual(conn.recv(10), b"ping")
            conn.sendall(b"pong")
            time.sleep(0.2)
            self.assertEqual(thread_count(proc.pid), 1, "stdin and stdout are watched by the loop")
            os.close(writer)
            writer = None
            conn.close()
            out, _ = proc.communicate(timeout=10)
            self.assertEqual(out, b"pong")
            self.assertEqual(proc.returncode, 0)
        finally:
            if writer is not None:
                os.close(writer)
            server.close()
            release(proc)


if __name__ == "__main__":
    clihelpers.BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)

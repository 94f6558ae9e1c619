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


def processes_running(cmdline):
    """Pids of processes whose command line is exactly `cmdline` (a list of arguments)."""
    wanted = ("\0".join(cmdline) + "\0").encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as f:
                    if f.read() == wanted:
                        found.append(int(entry))
            except OSError:
                pass
    return found


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

    def test_a_client_that_half_closes_still_gets_all_of_stdin(self):
        """Before: the client's FIN closed the connection, and the rest of stdin was dropped."""
        payload = os.urandom(4 << 20)
        with tempfile.TemporaryFile() as source, tempfile.TemporaryFile() as out:
            source.write(payload)
            source.seek(0)
            proc, port = start_stdio(source, out)
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
                    s.sendall(b"request\n")
                    s.shutdown(socket.SHUT_WR)
                    received = read_all(s)
                self.assertEqual(len(received), len(payload))
                self.assertTrue(received == payload)
                self.assertEqual(proc.wait(20), 0)
                out.seek(0)
                self.assertEqual(out.read(), b"request\n")
            finally:
                release(proc)

    def test_a_reset_connection_is_an_error_line_and_status_1(self):
        """Before: a transfer cut by the client's reset ended with status 0, like a complete one."""
        with tempfile.TemporaryFile() as out:
            proc, port = start_stdio(subprocess.DEVNULL, out)
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=20)
                s.sendall(b"partial")
                time.sleep(0.2)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                s.close()
                self.assertEqual(proc.wait(10), 1)
                log = proc.stderr.read().decode()
                self.assertRegex(log, r"^tcpsocket: NetworkError: the connection from 127\.0\.0\.1:\d+ failed\n$")
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


def _send_quietly(sock, data):
    try:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


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

    def test_a_program_that_does_not_read_still_has_all_of_its_output_delivered(self):
        """Before: the program's closed stdin (EPIPE) reset the connection, and its output was lost."""
        _, port = self.start("exec 0<&-; sleep 0.3; seq 200000")
        expected = "".join("%d\n" % i for i in range(1, 200001)).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
            got = bytearray()
            sender = threading.Thread(target=lambda: _send_quietly(s, b"z" * (10 << 20)))
            sender.start()
            got = read_all(s)
            sender.join(30)
        self.assertEqual(len(got), len(expected))
        self.assertTrue(got == expected)

    def test_shutdown_terminates_the_programs_a_shell_started(self):
        """Before: SIGTERM went to the shell only; a command it forked outlived the server."""
        proc, port = self.start("sleep 37.25; true")
        clients = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(3)]
        try:
            self.assertTrue(wait_for(lambda: len(processes_running(["sleep", "37.25"])) == 3, 10))
            self.assertEqual(clihelpers.stop(proc), 0)
            self.assertTrue(wait_for(lambda: processes_running(["sleep", "37.25"]) == [], 5),
                            "left behind: %s" % processes_running(["sleep", "37.25"]))
        finally:
            for c in clients:
                c.close()

    def test_a_program_still_running_after_its_connection_ended_is_terminated(self):
        """Before: it ran on, unbounded by --max-connections."""
        proc, port = self.start("exec >&-; exec sleep 38.5")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.shutdown(socket.SHUT_WR)
            self.assertEqual(read_all(s), b"")
        self.assertTrue(wait_for(lambda: processes_running(["sleep", "38.5"]) != [], 5))
        self.assertTrue(wait_for(lambda: processes_running(["sleep", "38.5"]) == [], 10),
                        "the program outlived its connection by more than the grace period")
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

    def test_connect_sends_all_of_stdin_after_the_peer_half_closed(self):
        """Before: the peer's FIN closed the connection: 64 KiB of 5 MB arrived, and exit was 0."""
        server = socket.create_server(("127.0.0.1", 0))
        port = server.getsockname()[1]
        payload = os.urandom(5 << 20)
        got = {}

        def serve():
            conn, _ = server.accept()
            with conn:
                conn.sendall(b"hello")
                conn.shutdown(socket.SHUT_WR)
                got["data"] = read_all(conn)

        t = threading.Thread(target=serve)
        t.start()
        try:
            r = clihelpers.run_connect("127.0.0.1", str(port), stdin=payload)
            t.join(30)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, b"hello")
            self.assertEqual(len(got["data"]), len(payload))
            self.assertTrue(got["data"] == payload)
        finally:
            server.close()

    def test_verbose_lines_of_several_workers_never_run_together(self):
        proc, _, port = clihelpers.start_listen("--workers", "2", "--verbose")
        try:
            payloads = [b"x" * 100 for _ in range(40)]
            self.assertEqual(clihelpers.echo_concurrently(port, payloads), payloads)
            proc.send_signal(signal.SIGTERM)
            _, log = proc.communicate(timeout=10)
        finally:
            release(proc)
        for line in log.splitlines():
            self.assertRegex(line, r"^tcpsocket: (connection from \S+|closed \S+: \d+ bytes sent, \d+ bytes "
                                   r"received|SIG\w+: stopping)$")

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

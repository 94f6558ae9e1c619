"""Readers of `tcpsocket listen`'s output that go away: a closed log pipe, closed standard
descriptors at start, `listen | true`. None of them may kill the server or leak its log into the
loop's descriptors. Each test failed against the server before its fix.

Run by CTest as: python3 closed_output_test.py PATH_TO_TCPSOCKET
"""
import os
import signal
import subprocess
import sys
import time
import unittest

import clihelpers
from clihelpers import release


class ClosedOutput(unittest.TestCase):
    def assert_serves_then_stops(self, proc, port, rounds=1):
        """Echoes as usual, and exits 0 on SIGTERM."""
        for _ in range(rounds):
            self.assertEqual(clihelpers.echo_roundtrip(port, b"ping"), b"ping")
        self.assertIsNone(proc.poll())
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(10), 0)

    def test_verbose_log_to_a_closed_pipe_is_not_fatal(self):
        """Before: the first log line after the reader of stderr went away killed the server
        (SIGPIPE, exit -13) and every client got EOF."""
        proc = subprocess.Popen([clihelpers.BINARY, "listen", "--verbose"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            port = int(proc.stdout.readline().strip().rsplit(":", 1)[1])
            proc.stderr.close()  # whoever read our log is gone
            self.assert_serves_then_stops(proc, port, rounds=3)
        finally:
            release(proc)
            proc.stdout.close()

    def test_closed_standard_descriptors_are_not_reused_for_the_loop(self):
        """Started with stdin and stderr closed, the loop's own descriptors took numbers 0 and 2, and
        log lines were written into them."""
        def close_stdin_and_stderr():
            os.close(0)
            os.close(2)

        proc = subprocess.Popen([clihelpers.BINARY, "listen", "--verbose"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                preexec_fn=close_stdin_and_stderr)
        try:
            port = int(proc.stdout.readline().strip().rsplit(":", 1)[1])
            for fd in (0, 2):
                self.assertEqual(os.readlink("/proc/%d/fd/%d" % (proc.pid, fd)), "/dev/null")
            self.assert_serves_then_stops(proc, port)
        finally:
            release(proc)
            proc.stdout.close()

    def test_listen_piped_into_a_command_that_exits_keeps_serving(self):
        """`tcpsocket listen | true` exited 141 (SIGPIPE) with no error line."""
        reader, writer = os.pipe()
        os.close(reader)  # like `| true`: nobody will read the "listening on" line
        proc = subprocess.Popen([clihelpers.BINARY, "listen"], stdout=writer, stderr=subprocess.PIPE)
        os.close(writer)
        try:
            time.sleep(0.5)
            self.assertIsNone(proc.poll(), "exited with %s" % proc.returncode)
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(10), 0)
        finally:
            release(proc)
            proc.stderr.close()


if __name__ == "__main__":
    clihelpers.BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)

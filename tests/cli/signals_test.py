"""Signals an operator (or a stray process) sends `tcpsocket listen`: stray ones neither kill the
server nor disable SIGTERM, and a second SIGTERM does not cut the drain short. With --workers,
stray signals do not kill the supervisor, and its workers stop with it, even when one of them is
wedged (SIGSTOP) or the supervisor is SIGKILLed. Each test failed against the server before its fix.

Run by CTest as: python3 signals_test.py PATH_TO_TCPSOCKET
"""
import os
import signal
import socket
import sys
import time
import unittest

import clihelpers
from clihelpers import fill_without_reading, read_until_end, release, start_listen, stop, wait_for


class Signals(unittest.TestCase):
    def assert_serves(self, port):
        self.assertEqual(clihelpers.echo_roundtrip(port, b"still here"), b"still here")

    def test_stray_signals_neither_kill_nor_disable_sigterm(self):
        """Before: a SIGUSR2 made the signal thread return, after which SIGTERM stayed blocked forever;
        SIGHUP killed the server. (SIGUSR2 now hands the server over: operations_test.py.)"""
        proc, _, port = start_listen()
        try:
            for sig in (signal.SIGHUP, signal.SIGUSR1, signal.SIGHUP, signal.SIGUSR1):
                proc.send_signal(sig)
                time.sleep(0.05)
                self.assertIsNone(proc.poll(), "killed by %s" % sig.name)
                self.assert_serves(port)
            started = time.monotonic()
            self.assertEqual(stop(proc), 0)
            self.assertLess(time.monotonic() - started, 5.0)
        finally:
            release(proc)

    def test_a_second_sigterm_does_not_cut_the_drain_short(self):
        proc, _, port = start_listen()
        client = socket.create_connection(("127.0.0.1", port))
        try:
            sent = fill_without_reading(client)
            proc.send_signal(signal.SIGTERM)
            proc.send_signal(signal.SIGINT)
            proc.send_signal(signal.SIGTERM)
            data, ending = read_until_end(client, 20)
            self.assertEqual(proc.wait(10), 0)
            self.assertEqual((len(data), ending), (len(sent), "eof"))
        finally:
            release(proc, [client])

    @staticmethod
    def kill_leftovers(workers):
        """Test cleanup: no worker a failed check left behind may go on serving the port."""
        for pid in workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def worker_pids(self, supervisor):
        with open("/proc/%d/task/%d/children" % (supervisor, supervisor)) as f:
            return [int(p) for p in f.read().split()]

    def test_workers_survive_stray_signals_and_stop_with_their_supervisor(self):
        """Before: SIGHUP/SIGUSR1/SIGUSR2/SIGQUIT killed the supervisor and left its workers serving
        the port, adopted by PID 1."""
        proc, _, port = start_listen("--workers", "2")
        workers = self.worker_pids(proc.pid)
        try:
            self.assertEqual(len(workers), 2)
            for sig in (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
                proc.send_signal(sig)
                time.sleep(0.05)
                self.assertIsNone(proc.poll(), "supervisor killed by %s" % sig.name)
                self.assert_serves(port)
            proc.send_signal(signal.SIGQUIT)
            self.assertEqual(proc.wait(10), 0)
            for pid in workers:
                self.assertFalse(os.path.exists("/proc/%d" % pid) and open("/proc/%d/stat" % pid).read().split()[2] != "Z",
                                 "worker %d outlived its supervisor" % pid)
        finally:
            release(proc)

    def test_a_stopped_worker_does_not_hold_the_supervisor_past_the_deadline(self):
        """Before: a worker stopped with SIGSTOP (or wedged) kept the supervisor waiting forever."""
        proc, _, port = start_listen("--workers", "2")
        workers = self.worker_pids(proc.pid)
        try:
            os.kill(workers[0], signal.SIGSTOP)
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(10), 1, "a worker had to be killed: not a clean stop")
            self.assertLess(time.monotonic() - started, 6.0)
            self.assertIn("WorkerError", proc.stderr.read())
            self.assertFalse(os.path.exists("/proc/%d" % workers[0]), "the stopped worker was left behind")
        finally:
            self.kill_leftovers(workers)
            release(proc)

    def test_workers_stop_when_the_supervisor_is_killed(self):
        proc, _, port = start_listen("--workers", "2")
        workers = self.worker_pids(proc.pid)
        try:
            proc.kill()  # SIGKILL: nothing of the supervisor runs
            proc.wait()

            def gone(pid):
                try:
                    with open("/proc/%d/stat" % pid) as f:
                        return f.read().split()[2] == "Z"
                except FileNotFoundError:
                    return True

            self.assertTrue(wait_for(lambda: all(gone(p) for p in workers), 8),
                            "workers kept serving after their supervisor died")
            with self.assertRaises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
        finally:
            self.kill_leftovers(workers)


if __name__ == "__main__":
    clihelpers.BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)

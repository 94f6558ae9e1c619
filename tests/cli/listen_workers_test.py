"""`tcpsocket listen --workers N` and `--threads N` share one port among processes or loop
threads, and all of them stop promptly on SIGTERM: no worker outlives its supervisor.

Run by CTest as: python3 listen_workers_test.py PATH_TO_TCPSOCKET
"""
import os
import subprocess
import sys
import time
import unittest

import clihelpers
from clihelpers import echo_concurrently, echo_roundtrip, start_listen, stop


class ListenWorkers(unittest.TestCase):
    def test_workers_share_the_port(self):
        proc, _, port = start_listen("--workers", "3")
        try:
            children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
            self.assertEqual(len(children), 3)
            for i in range(30):
                payload = b"worker test %d" % i
                self.assertEqual(echo_roundtrip(port, payload), payload)
        finally:
            start = time.monotonic()
            self.assertEqual(stop(proc), 0)
            self.assertLess(time.monotonic() - start, 5.0)
        for pid in children:
            self.assertFalse(os.path.exists("/proc/%s" % pid) and open("/proc/%s/stat" % pid).read().split()[2] != "Z",
                             "worker %s outlived the server" % pid)

    def test_threads_share_the_port(self):
        proc, _, port = start_listen("--threads", "3")
        try:
            threads = 0
            for _ in range(200):  # the loop threads start right after the ready line
                with open("/proc/%d/status" % proc.pid) as f:
                    threads = int([l for l in f if l.startswith("Threads:")][0].split()[1])
                if threads >= 3:
                    break
                time.sleep(0.01)
            time.sleep(0.2)  # a helper thread, if any, has started by now
            with open("/proc/%d/status" % proc.pid) as f:
                threads = int([l for l in f if l.startswith("Threads:")][0].split()[1])
            # ThreadSanitizer's runtime adds a thread of its own once the program starts one.
            sanitizer = 1 if b"__tsan_init" in open(clihelpers.BINARY, "rb").read() else 0
            self.assertEqual(threads, 3 + sanitizer,
                             "three loops, and no helper thread (signals come to a loop)")
            payloads = [os.urandom(100000) for _ in range(12)]
            self.assertEqual(echo_concurrently(port, payloads), payloads)
        finally:
            start = time.monotonic()
            self.assertEqual(stop(proc), 0)
            self.assertLess(time.monotonic() - start, 5.0)


if __name__ == "__main__":
    clihelpers.BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)

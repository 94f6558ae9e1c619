"""Every error line of the CLI that can be provoked on loopback, each one line with its exit status
and within two seconds: usage errors, ports in use or refusing, connect timeouts, an unknown host
(inside a private network namespace, never through the machine's DNS), TLS flags, addresses.

Run by CTest as: python3 error_lines_test.py PATH_TO_TCPSOCKET
"""
import os
import socket
import subprocess
import sys
import time
import unittest

import clihelpers
from clihelpers import start_listen, stop, unused_port


class ErrorLines(unittest.TestCase):
    def run_cli(self, *args):
        start = time.monotonic()
        r = subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=5)
        self.assertLess(time.monotonic() - start, 2.0)
        return r

    def assert_usage_error(self, *args):
        r = self.run_cli(*args)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertTrue(r.stderr.startswith("tcpsocket: UsageError: "), r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)
        self.assertEqual(r.stdout, "")

    def test_bad_ports(self):
        for bad in ("70000", "-1", "abc", ""):
            self.assert_usage_error("listen", "--port", bad)

    def test_bad_worker_counts(self):
        for bad in ("0", "65", "x"):
            self.assert_usage_error("listen", "--workers", bad)

    def test_unknown_flag_and_command(self):
        self.assert_usage_error("listen", "--bogus")
        self.assert_usage_error("frobnicate")
        self.assert_usage_error()

    def test_address_in_use(self):
        proc, _, port = start_listen()
        try:
            r = self.run_cli("listen", "--port", str(port))
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stderr.strip(),
                             "tcpsocket: AddressInUseError: 127.0.0.1:%d is already in use" % port)
        finally:
            self.assertEqual(stop(proc), 0)

    def test_connect_refused(self):
        port = unused_port()
        r = self.run_cli("connect", "127.0.0.1", str(port))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "tcpsocket: ConnectionRefusedError: 127.0.0.1:%d refused the connection\n" % port)

    def test_connect_timeout(self):
        # A listener whose accept queue is full drops SYNs: the connection attempt hangs.
        full = socket.socket()
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        port = full.getsockname()[1]
        fillers = []
        try:
            for _ in range(3):
                f = socket.socket()
                f.setblocking(False)
                f.connect_ex(("127.0.0.1", port))
                fillers.append(f)
            r = self.run_cli("connect", "127.0.0.1", str(port), "--timeout", "0.5")
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stderr, "tcpsocket: NetworkTimeoutError: 127.0.0.1:%d did not answer within 500 ms\n"
                             % port)
        finally:
            for f in fillers:
                f.close()
            full.close()

    def test_connect_unknown_host(self):
        # Never through the machine's DNS server: in a private network namespace whose resolv.conf
        # points at a stub on its own loopback that answers NXDOMAIN.
        if os.geteuid() != 0:
            self.skipTest("needs root for a private network namespace")
        stub = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nxdomain_stub.py")
        script = ("ip link set lo up && echo 'nameserver 127.0.0.1' > \"$T/resolv.conf\" && "
                  "mount --bind \"$T/resolv.conf\" /etc/resolv.conf && "
                  "{ python3 \"$STUB\" \"$T/ready\" >/dev/null 2>&1 & } && "
                  "for i in $(seq 100); do [ -e \"$T/ready\" ] && break; sleep 0.05; done && "
                  "exec \"$BIN\" connect no-such-host.invalid 80")
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, T=tmp, STUB=stub, BIN=BINARY)
            r = subprocess.run(["unshare", "-n", "-m", "sh", "-c", script], capture_output=True, text=True,
                               timeout=20, env=env)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stderr, "tcpsocket: DomainNotFoundError: cannot resolve host 'no-such-host.invalid'\n")

    def test_connect_usage_errors(self):
        self.assert_usage_error("connect")
        self.assert_usage_error("connect", "127.0.0.1")
        self.assert_usage_error("connect", "127.0.0.1", "70000")
        self.assert_usage_error("connect", "127.0.0.1", "80", "--timeout", "soon")
        self.assert_usage_error("connect", "127.0.0.1", "80", "--bogus")

    def test_tls_flags_need_tls_and_files_that_exist(self):
        self.assert_usage_error("connect", "127.0.0.1", "80", "--ca", "ca.pem")
        r = self.run_cli("connect", "127.0.0.1", "80", "--tls", "--ca", "/nonexistent/ca.pem")
        self.assertEqual(r.returncode, 2)
        self.assertTrue(r.stderr.startswith("tcpsocket: TLSConfigurationError: "), r.stderr)
        r = self.run_cli("listen", "--tls-cert", "/nonexistent/c.pem", "--tls-key", "/nonexistent/k.pem")
        self.assertEqual(r.returncode, 2)
        self.assertTrue(r.stderr.startswith("tcpsocket: TLSConfigurationError: "), r.stderr)

    def test_address_not_local(self):
        r = self.run_cli("listen", "--host", "192.0.2.1")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("tcpsocket: AddressNotAvailableError: "), r.stderr)

    def test_host_not_an_address(self):
        r = self.run_cli("listen", "--host", "bogus")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, 'tcpsocket: InvalidAddressError: "bogus" is not an IPv4 or IPv6 address\n')

    def test_privileged_port_without_the_privilege(self):
        with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
            if int(f.read()) > 80 and os.geteuid() == 0 and os.access(BINARY, os.X_OK):
                pass
            else:
                self.skipTest("ports below 1024 are not privileged here, or not root to drop privileges")
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", BINARY, "listen",
                            "--port", "80"], capture_output=True, text=True, timeout=5)
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("tcpsocket: PermissionDeniedError: "), r.stderr)

    def test_help_and_version(self):
        r = self.run_cli("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("tcpsocket listen", r.stdout)
        r = self.run_cli("--version")
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("tcpsocket "))


if __name__ == "__main__":
    BINARY = clihelpers.BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)

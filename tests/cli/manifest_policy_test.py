"""The app policy as the CLI applies it through --manifest: what a web, privileged or certified
app may listen on and connect to, each refusal a single error line and exit status, and a
malformed or missing manifest a clear error, never full trust.

Run by CTest as: python3 manifest_policy_test.py PATH_TO_TCPSOCKET
"""
import os
import subprocess
import sys
import unittest

import clihelpers
from clihelpers import echo_roundtrip, start_listen, stop


class ManifestPolicy(unittest.TestCase):
    def setUp(self):
        import tempfile
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def manifest(self, text, name="app.webapp"):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def run_cli(self, *args, stdin=b""):
        return subprocess.run([BINARY, *args], input=stdin, capture_output=True, timeout=10)

    def test_web_app_may_not_listen(self):
        path = self.manifest('{"type": "web", "permissions": {"tcp-socket": {}}}')
        r = self.run_cli("listen", "--manifest", path)
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith(b"tcpsocket: SecurityError: a web app may not use TCP sockets"), r.stderr)
        self.assertEqual(r.stdout, b"")

    def test_workers_report_a_refusal_once(self):
        path = self.manifest('{"type": "web", "permissions": {"tcp-socket": {}}}')
        r = self.run_cli("listen", "--workers", "3", "--manifest", path)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.decode().strip().splitlines()), 1, r.stderr)

    def test_privileged_app_may_not_listen_below_1024(self):
        path = self.manifest('{"type": "privileged", "permissions": {"tcp-socket": {}}}')
        r = self.run_cli("listen", "--manifest", path, "--port", "80")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith(b"tcpsocket: SecurityError: listening on port 80 needs a certified app"),
                        r.stderr)

    def test_os_refusal_is_named_apart_from_the_policy(self):
        with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
            if int(f.read()) <= 80 or os.geteuid() != 0:
                self.skipTest("needs root to drop privileges and port 80 to be privileged")
        path = self.manifest('{"type": "certified", "permissions": {"tcp-socket": {}}}')
        os.chmod(self.tmp.name, 0o755)
        os.chmod(path, 0o644)
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", BINARY, "listen",
                            "--manifest", path, "--port", "80"], capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith(b"tcpsocket: PermissionDeniedError: "), r.stderr)

    def test_malformed_manifest_is_a_clear_error_never_full_trust(self):
        path = self.manifest('{\n  "type": "privileged",\n  "permissions": {"tcp-socket": {"connect": ["*:99999"]}}\n}')
        r = self.run_cli("listen", "--manifest", path)
        self.assertEqual(r.returncode, 2)
        line = r.stderr.decode()
        self.assertTrue(line.startswith("tcpsocket: ManifestError: %s:3:" % path), line)
        self.assertIn("permissions.tcp-socket.connect[0]", line)
        self.assertEqual(r.stdout, b"", "it must not start listening")
        r = self.run_cli("listen", "--manifest", os.path.join(self.tmp.name, "missing.webapp"))
        self.assertEqual(r.returncode, 2)
        self.assertTrue(r.stderr.startswith(b"tcpsocket: ManifestError: "), r.stderr)

    def test_connect_allowlist(self):
        proc, _, port = start_listen()
        try:
            denied = self.manifest('{"type": "privileged", "permissions": {"tcp-socket": {"connect": "*:*"}}}',
                                   "denied.webapp")
            r = self.run_cli("connect", "127.0.0.1", str(port), "--manifest", denied, stdin=b"x")
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stderr.decode(),
                             "tcpsocket: SecurityError: the app's connect allowlist does not allow 127.0.0.1:%d\n" % port)
            allowed = self.manifest('{"type": "privileged", "permissions": {"tcp-socket": {"connect": "127.0.0.1:%d"}}}'
                                    % port, "allowed.webapp")
            r = self.run_cli("connect", "127.0.0.1", str(port), "--manifest", allowed, stdin=b"allowed")
            self.assertEqual((r.returncode, r.stdout), (0, b"allowed"), r.stderr)
        finally:
            self.assertEqual(stop(proc), 0)

    def test_listen_under_an_allowing_manifest(self):
        path = self.manifest('{"type": "certified", "permissions": {"tcp-socket": {"listen": "127.0.0.1:*"}}}')
        proc, _, port = start_listen("--manifest", path)
        try:
            self.assertEqual(echo_roundtrip(port, b"policy ok"), b"policy ok")
        finally:
            self.assertEqual(stop(proc), 0)


if __name__ == "__main__":
    BINARY = clihelpers.BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)

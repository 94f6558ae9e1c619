"""The bash completion (tools/tcpsocket/completion.bash) completes commands, flags and --mode
values, and offers no flag that `tcpsocket --help` does not document.

Run by CTest as: python3 completion_test.py PATH_TO_TCPSOCKET
"""
import os
import re
import subprocess
import sys
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "tcpsocket",
                      "completion.bash")
BINARY = sys.argv[1] if len(sys.argv) > 1 else "tcpsocket"


def complete(*words):
    """What bash completes for the last of `words` (a command line being typed)."""
    r = subprocess.run(["bash", "-c", 'source "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); '
                        '_tcpsocket; printf "%s\\n" "${COMPREPLY[@]}"', SCRIPT, "tcpsocket", *words],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return [w for w in r.stdout.split("\n") if w]


class Completion(unittest.TestCase):
    def test_commands_flags_and_modes(self):
        self.assertEqual(complete("li"), ["listen"])
        self.assertEqual(complete("co"), ["connect"])
        self.assertEqual(complete("listen", "--mo"), ["--mode"])
        self.assertEqual(sorted(complete("listen", "--mode", "")), ["chat", "discard", "echo", "stdio"])
        self.assertIn("--tls", complete("connect", "example.org", "443", "--t"))
        self.assertNotIn("--tls", complete("listen", "--t"))
        self.assertEqual(complete("listen", "--port", ""), [], "a port is the user's to type")

    def test_every_offered_flag_is_documented(self):
        usage = subprocess.run([BINARY, "--help"], capture_output=True, text=True, timeout=30).stdout
        documented = set(re.findall(r"--[a-z][a-z-]*", usage))
        for command in ("listen", "connect"):
            for flag in complete(command, "--"):
                self.assertIn(flag, documented, "%s offers %s, which --help does not name" % (command, flag))


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]])

#!/usr/bin/env python3
"""Runs the README's kv_server (built from the README as written, scripts/test-package.sh) and
checks what the README says of it: replies per line however the lines are packed into reads,
every reply when many lines come at once and the client reads late (backpressure), an error and a
close for a line that never ends, and a clean exit (0) on SIGTERM.

Usage: readme_kv_client.py PATH_TO_KV_SERVER
"""
import signal
import socket
import subprocess
import sys
import time


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.settimeout(10)
    return s


def read_lines(s, count):
    data = b""
    while data.count(b"\n") < count:
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        data += chunk
    return data.decode().splitlines()


def main():
    server = subprocess.Popen([sys.argv[1]], stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        assert line.startswith("listening on 127.0.0.1:"), line
        port = int(line.strip().rsplit(":", 1)[1])

        c = connect(port)
        c.sendall(b"SET answer 42\nGET ans")  # a line split across reads
        time.sleep(0.05)
        c.sendall(b"wer\nGET nothing\nBOGUS\n")
        assert read_lines(c, 4) == ["OK", "VALUE 42", "NONE", "ERR unknown command"]

        # 20,000 requests in one go, read only after a pause: far past 64 KiB of replies, so the
        # server's sends are refused and it must brake and resume, not stall.
        many = connect(port)
        many.sendall(b"GET answer\n" * 20000)
        time.sleep(0.3)
        replies = read_lines(many, 20000)
        assert len(replies) == 20000 and set(replies) == {"VALUE 42"}, len(replies)
        many.sendall(b"GET answer\n")  # and it still reads
        assert read_lines(many, 1) == ["VALUE 42"]

        endless = connect(port)
        endless.sendall(b"x" * 5000)
        reply = b""
        while True:
            chunk = endless.recv(1 << 16)
            if not chunk:
                break
            reply += chunk
        assert reply == b"ERR line too long\n", reply

        for s in (c, many, endless):
            s.close()
        server.send_signal(signal.SIGTERM)
        assert server.wait(10) == 0, "exit status %s after SIGTERM" % server.returncode
        print("readme kv_server: replies, backpressure, long line and SIGTERM as documented")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


main()

#!/usr/bin/env python3
"""The server's memory per connection in the worst cases a peer can choose, for docs/reliability.md:

    python3 bench/worst_case_memory.py [--conns 2000] [--binary build/default/tools/tcpsocket/tcpsocket]

  idle          connects and says nothing
  echo stuck    sends as much as the server takes and never reads (the server holds what it read
                and could not write back)
  tls silent    connects to a TLS server and never starts the handshake (until the 5 s deadline)
  tls garbage   sends 1 KiB that is not TLS
  chat silent   joins a chat room that relays 4 MiB of lines and never reads

Each row: the server's RSS growth with --conns such clients connected, divided by --conns, after
the server has taken what it will take; then the RSS left 6 s after they all left.
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

from benchlib import BUILD, raise_nofile, rss_kib

HERE = os.path.dirname(os.path.abspath(__file__))


def make_certs(directory):
    tool = os.path.join(BUILD, "tests", "make_test_certs")
    subprocess.run([tool, directory], check=True, capture_output=True)
    return os.path.join(directory, "good.pem"), os.path.join(directory, "good.key")


def settle(pid, seconds=1.0):
    """Waits until RSS stops moving (the server has taken what it will take)."""
    last = rss_kib(pid)
    deadline = time.time() + 15
    while time.time() < deadline:
        time.sleep(seconds)
        now = rss_kib(pid)
        if abs(now - last) < 64:
            return now
        last = now
    return last


def fill(sock):
    sock.setblocking(False)
    block = b"x" * 65536
    stalls = 0
    while stalls < 5:
        try:
            sock.send(block)
            stalls = 0
        except BlockingIOError:
            stalls += 1
            time.sleep(0.005)


def measure(binary, conns, label, args, client):
    server = subprocess.Popen([binary, "listen", "--max-connections", "20000", *args], stdout=subprocess.PIPE,
                              text=True, preexec_fn=raise_nofile)
    port = int(server.stdout.readline().strip().rsplit(":", 1)[1])
    time.sleep(0.3)
    before = rss_kib(server.pid)
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(conns)]
    for s in socks:
        client(s, port)
    held = settle(server.pid)
    for s in socks:
        s.close()
    time.sleep(6)
    after = rss_kib(server.pid)
    server.terminate()
    server.wait(10)
    print("| %s | %d | %.1f | %.1f |" % (label, conns, (held - before) / conns, (after - before) / 1024.0),
          flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--conns", type=int, default=2000)
    ap.add_argument("--binary", default=os.path.join(BUILD, "tools", "tcpsocket", "tcpsocket"))
    args = ap.parse_args()
    raise_nofile()
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = make_certs(tmp)
        tls = ["--tls-cert", cert, "--tls-key", key]

        print("| client | connections | server KiB per connection while held | server MiB over the start, 6 s after all left |")
        print("|---|---|---|---|")
        measure(args.binary, args.conns, "idle", [], lambda s, p: None)
        measure(args.binary, args.conns, "echo stuck", [], lambda s, p: fill(s))
        measure(args.binary, args.conns, "tls silent", tls, lambda s, p: None)
        measure(args.binary, args.conns, "tls garbage", tls, lambda s, p: s.send(os.urandom(1024)))

        def chat(s, port):
            chat.count += 1
            if chat.count == args.conns:  # the last one talks once everyone is in
                line = b"c" * 1023 + b"\n"
                s.settimeout(30)
                for _ in range(4096):
                    s.sendall(line)

        chat.count = 0
        measure(args.binary, args.conns, "chat silent (4 MiB relayed)", ["--mode", "chat"], chat)
    return 0


if __name__ == "__main__":
    sys.exit(main())

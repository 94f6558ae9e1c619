#!/usr/bin/env python3
"""The kernel's side of an idle connection: the slab memory (socket, TCP control block, file,
epoll item, dentry) that holding N idle loopback connections to `tcpsocket listen` adds, from
/proc/meminfo's Slab before and after. Both ends live on this machine, so a connection costs two
sockets; the server's share is about half. User-space RSS is c100k.py's and run.py's figure.

    python3 bench/kernel_memory.py [--conns 8000] [--rounds 3]
"""
import argparse
import socket
import subprocess
import time

from benchlib import BUILD, raise_nofile, rss_kib

TOOL = BUILD + "/tools/tcpsocket/tcpsocket"


def slab_kib():
    for line in open("/proc/meminfo"):
        if line.startswith("Slab:"):
            return int(line.split()[1])
    raise RuntimeError("no Slab in /proc/meminfo")


def one_round(conns):
    server = subprocess.Popen([TOOL, "listen", "--max-connections", "20000"], stdout=subprocess.PIPE,
                              text=True)
    try:
        port = int(server.stdout.readline().rsplit(":", 1)[1])
        time.sleep(0.5)
        before = slab_kib()
        held = []
        for _ in range(conns):
            c = socket.create_connection(("127.0.0.1", port))
            c.sendall(b"x")
            held.append(c)
        for c in held:
            c.recv(1)  # echoed: accepted and idle
        time.sleep(1)
        pair = (slab_kib() - before) / conns
        rss = rss_kib(server.pid) / conns
        for c in held:
            c.close()
        return pair, rss
    finally:
        server.terminate()
        server.wait(10)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--conns", type=int, default=8000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    raise_nofile()  # the client ends are this process's: at most 20,000 files in all
    results = sorted(one_round(args.conns) for _ in range(args.rounds))
    pair, rss = results[len(results) // 2]
    print("idle loopback connections: %d, median of %d rounds" % (args.conns, args.rounds))
    print("kernel slab per connection (both ends): %.1f KiB; per server socket: about %.1f KiB"
          % (pair, pair / 2))
    print("server RSS per connection (whole process, start-up included): %.2f KiB" % rss)


if __name__ == "__main__":
    main()

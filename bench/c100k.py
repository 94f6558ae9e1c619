#!/usr/bin/env python3
"""Many idle connections: 19,000 on one tcpsocket process (these machines cap a process at 20,000
open files), and 100,000 on a `--workers` group, the load spread over several load-generator
processes with their own 127.0.0.x source addresses. Reports user-space RSS per connection,
time to open them all (each one echoes a byte, so it was accepted), and the clean stop.

    python3 bench/c100k.py [--single 19000] [--group 100000] [--workers 8]
"""
import argparse
import json
import os
import signal
import subprocess
import time

from benchlib import BUILD, raise_nofile, rss_kib

TOOL = os.path.join(BUILD, "tools", "tcpsocket", "tcpsocket")
LOADGEN = os.path.join(BUILD, "bench", "loadgen")
PER_CLIENT = 18000


def group_pids(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out] or [pid]


def run(total, workers, subnet):
    # Above the default --max-connections (10,000 per process): this run is about that many.
    args = [TOOL, "listen", "--max-connections", "20000"] + (["--workers", str(workers)] if workers > 1 else [])
    server = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, preexec_fn=raise_nofile)
    port = int(server.stdout.readline().strip().rsplit(":", 1)[1])
    pids = group_pids(server.pid)
    time.sleep(0.3)
    before = sum(rss_kib(p) for p in pids)
    clients = []
    start = time.monotonic()
    n_clients = (total + PER_CLIENT - 1) // PER_CLIENT
    for i in range(n_clients):
        conns = total // n_clients + (1 if i < total % n_clients else 0)
        clients.append(subprocess.Popen([LOADGEN, "idle", str(port), "--conns", str(conns), "--hold", "600",
                                         "--source", "127.0.%d.%d" % (subnet, 2 + i)],
                                        stdout=subprocess.PIPE, text=True, preexec_fn=raise_nofile))
    opened = 0
    try:
        for c in clients:
            line = c.stdout.readline()
            if not line:
                raise RuntimeError("a load generator failed (see its error above)")
            opened += json.loads(line)["connections"]
    except BaseException:
        for c in clients:
            c.kill()
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        raise
    elapsed = time.monotonic() - start
    time.sleep(1)
    after = sum(rss_kib(p) for p in pids)
    for c in clients:
        c.send_signal(signal.SIGKILL)  # the kernel closes every connection at once
        c.wait()
    stop_start = time.monotonic()
    server.send_signal(signal.SIGTERM)
    code = server.wait(30)
    stopped = time.monotonic() - stop_start
    return {"connections": opened, "processes": len(pids), "open_seconds": elapsed,
            "rss_kib_per_conn": (after - before) / opened, "rss_total_mib": after / 1024,
            "exit": code, "stop_seconds": stopped}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--single", type=int, default=19000)
    ap.add_argument("--group", type=int, default=100000)
    ap.add_argument("--workers", type=int, default=8)
    args = ap.parse_args()
    print("| setup | connections | server processes | time to open all (s) | RSS per connection (KiB) | "
          "total RSS (MiB) | exit after SIGTERM | stop (s) |")
    print("|---|---|---|---|---|---|---|---|")
    # Each run has its own source addresses: the previous run's ports sit in TIME_WAIT for a minute.
    subnet = int(time.time()) % 200 + 1
    for label, total, workers in (("one process", args.single, 1),
                                  ("--workers %d" % args.workers, args.group, args.workers)):
        subnet += 1
        r = run(total, workers, subnet)
        print("| %s | %d | %d | %.1f | %.2f | %.0f | %d | %.1f |" % (
            label, r["connections"], r["processes"], r["open_seconds"], r["rss_kib_per_conn"],
            r["rss_total_mib"], r["exit"], r["stop_seconds"]), flush=True)


if __name__ == "__main__":
    main()

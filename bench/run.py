#!/usr/bin/env python3
"""Runs the echo benchmarks side by side and writes docs/benchmarks.md.

    python3 bench/run.py [--rounds 3] [--seconds 3] [--idle 10000] [--out docs/benchmarks.md]
                         [--server NAME=PATH ...]

Servers: raw epoll (the limit: a hand-tuned server), and what a user would pick instead: idiomatic
Asio, libuv and Node's `net`; and `tcpsocket listen --mode echo` (the one measured). Each scenario runs every server once per round, in a rotating order (interleaved rounds:
machine noise hits all alike), the server pinned to CPU 0 and the load generator to CPU 1. Server
CPU time (utime+stime from /proc) per unit of work is the figure that separates servers; throughput
only shows whether the single-threaded load generator saturated first. Medians over the rounds.
`--server NAME=PATH` adds another `tcpsocket` binary to the same run (a build of an older commit:
before/after checks of a change, side by side under the same noise).
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

from benchlib import BUILD, ROOT, cpu_seconds, raise_nofile, rss_kib
from chart import panels

SERVERS = {
    "raw epoll": [os.path.join(BUILD, "bench", "raw_epoll_echo")],
    "Asio": [os.path.join(BUILD, "bench", "asio_echo")],
    "libuv": [os.path.join(BUILD, "bench", "libuv_echo")],
    "Node net": ["node", os.path.join(ROOT, "bench", "node", "net_echo.js")],
    "tcpsocket": [os.path.join(BUILD, "tools", "tcpsocket", "tcpsocket"), "listen", "--mode", "echo"],
}
# The same server on Asio's io_uring backend (CMake preset "uring"), when it has been built.
URING = os.path.join(ROOT, "build", "uring", "tools", "tcpsocket", "tcpsocket")
if os.path.exists(URING):
    SERVERS["tcpsocket io_uring"] = [URING, "listen", "--mode", "echo"]
LOADGEN = os.path.join(BUILD, "bench", "loadgen")
EXTRA = []  # names given with --server
# name: (loadgen args, unit, how to turn (result, cpu seconds) into the server CPU figure)
SCENARIOS = {
    "ping-pong 64 B, 50 conns": (["pingpong", "--conns", "50", "--size", "64"], "µs CPU/msg"),
    "pipelined 64 B x16, 50 conns": (["pipelined", "--conns", "50", "--size", "64", "--depth", "16"], "µs CPU/msg"),
    "bulk 64 KiB, 4 conns": (["bulk", "--conns", "4", "--size", "65536"], "ms CPU/GB"),
    "connect + 1 B echo + close, 50 parallel": (["connect", "--conns", "50"], "µs CPU/conn"),
}


def start(name):
    proc = subprocess.Popen(["taskset", "-c", "0", *SERVERS[name]], stdout=subprocess.PIPE, text=True,
                            preexec_fn=raise_nofile)
    line = proc.stdout.readline()
    return proc, int(line.strip().rsplit(":", 1)[1])


def stop(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def loadgen(args, port, seconds):
    out = subprocess.run(["taskset", "-c", "1", LOADGEN, args[0], str(port), *args[1:], "--seconds", str(seconds)],
                         capture_output=True, text=True, preexec_fn=raise_nofile, timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError("loadgen failed: " + out.stderr)
    return json.loads(out.stdout)


def measure(name, args, seconds):
    proc, port = start(name)
    try:
        loadgen(args, port, 0.5)  # warm-up: connections, allocator, caches
        before = cpu_seconds(proc.pid)
        result = loadgen(args, port, seconds)
        cpu = cpu_seconds(proc.pid) - before
    finally:
        stop(proc)
    unit_count = result["messages"]
    if args[0] == "bulk":
        figure = cpu * 1e3 / (result["bytes"] / 1e9)
        rate = result["bytes"] / result["seconds"] / 1e6  # MB/s
    else:
        figure = cpu * 1e6 / max(unit_count, 1)
        rate = unit_count / result["seconds"]
    return {"cpu_figure": figure, "rate": rate, "p99_us": result["p99_us"], "p50_us": result["p50_us"]}


def measure_idle(name, count, hold):
    proc, port = start(name)
    try:
        time.sleep(0.2)
        before = rss_kib(proc.pid)
        gen = subprocess.Popen(["taskset", "-c", "1", LOADGEN, "idle", str(port), "--conns", str(count), "--hold",
                                str(hold)], stdout=subprocess.PIPE, text=True, preexec_fn=raise_nofile)
        info = json.loads(gen.stdout.readline())
        time.sleep(0.5)
        after = rss_kib(proc.pid)
        gen.wait(hold + 30)
    finally:
        stop(proc)
    return {"kib_per_conn": (after - before) / count, "accept_seconds": info["open_seconds"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--idle", type=int, default=10000)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    ap.add_argument("--server", action="append", default=[], metavar="NAME=PATH",
                    help="another tcpsocket binary to measure in the same run")
    args = ap.parse_args()
    for extra in args.server:
        name, path = extra.split("=", 1)
        SERVERS[name] = [path, "listen", "--mode", "echo"]
        EXTRA.append(name)
    for name, command in SERVERS.items():
        if command[0] != "node" and not os.path.exists(command[0]):
            sys.exit("bench/run.py: %s is not built (%s); scripts/bench.sh installs what it needs and builds it"
                     % (name, command[0]))
    names = list(SERVERS)
    results = {s: {n: [] for n in names} for s in SCENARIOS}
    idle = {n: [] for n in names}
    for r in range(args.rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for scenario, (gen_args, _) in SCENARIOS.items():
            for name in order:
                m = measure(name, gen_args, args.seconds)
                results[scenario][name].append(m)
                print("round %d  %-42s %-10s %10.3f %s  rate %.0f" % (r + 1, scenario, name, m["cpu_figure"],
                      SCENARIOS[scenario][1], m["rate"]), flush=True)
        for name in order:
            m = measure_idle(name, args.idle, 2)
            idle[name].append(m)
            print("round %d  idle %d conns %-10s %.3f KiB/conn, accepted in %.2f s" % (
                r + 1, args.idle, name, m["kib_per_conn"], m["accept_seconds"]), flush=True)
    write_report(args, names, results, idle)


def med(values):
    return statistics.median(values)


def summary(names, cpu, kib):
    """One paragraph in plain words, from this run's figures."""
    ours = {s: cpu[s]["tcpsocket"] / cpu[s]["raw epoll"] for s in SCENARIOS}
    lo, hi = min(ours.values()), max(ours.values())
    peers = [n for n in names if n not in ("raw epoll", "tcpsocket") and not n.startswith("tcpsocket")]
    beaten = {p: sum(1 for s in SCENARIOS if cpu[s]["tcpsocket"] < cpu[s][p]) for p in peers}
    text = ("Across the four workloads the tcpsocket server used between %.2f and %.2f times the CPU of a "
            "hand-tuned raw-epoll server doing the same work (1.00 would be equal). " % (lo, hi))
    text += "It used less CPU than %s. " % ", ".join(
        "%s on %d of %d" % (p, beaten[p], len(SCENARIOS)) for p in peers)
    text += "An idle connection cost %.2f KiB of the server's memory (%s). " % (
        kib["tcpsocket"], ", ".join("%s %.2f" % (n, kib[n]) for n in names if n != "tcpsocket"))
    return text


def write_report(args, names, results, idle):
    cpu_model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    cpu = {s: {n: med([m["cpu_figure"] for m in results[s][n]]) for n in names} for s in SCENARIOS}
    rate = {s: {n: med([m["rate"] for m in results[s][n]]) for n in names} for s in SCENARIOS}
    pp = "ping-pong 64 B, 50 conns"
    p99 = {n: med([m["p99_us"] for m in results[pp][n]]) for n in names}
    p50 = {n: med([m["p50_us"] for m in results[pp][n]]) for n in names}
    kib = {n: med([m["kib_per_conn"] for m in idle[n]]) for n in names}
    acc = {n: med([m["accept_seconds"] for m in idle[n]]) for n in names}
    uring = "tcpsocket io_uring" in names
    lines = ["# Benchmarks", "", summary(names, cpu, kib), "",
             "Generated by `python3 bench/run.py --rounds %d --seconds %g --idle %d` (one command from a clean clone: "
             "`bash scripts/bench.sh`)." % (args.rounds, args.seconds, args.idle), "",
             "- date: %s" % datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
             "- kernel: %s; CPU: %s, %d cores" % (platform.release(), cpu_model, os.cpu_count()),
             "- server pinned to CPU 0, load generator (`bench/loadgen`, one thread, epoll, every byte verified) to CPU 1; "
             "loopback; each figure is the median of %d interleaved rounds of %g s after a 0.5 s warm-up." % (
                 args.rounds, args.seconds),
             "- servers: `bench/raw_epoll_echo` (the limit: edge-triggered, registered once, a 256 KiB read buffer "
             "shared by the loop, writev for what the kernel refuses), `bench/asio_echo` (idiomatic Asio), "
             "`bench/libuv_echo` (idiomatic libuv %s), `bench/node/net_echo.js` (Node %s `net`, `socket.pipe(socket)`), "
             "`tcpsocket listen --mode echo` (this project, default optimised build)%s." % (
                 _libuv_version(), _node_version(),
                 ("; `tcpsocket io_uring`: the same on Asio's io_uring backend (preset `uring`)" if uring else "")
                 + "".join("; `%s`: another build of the same CLI, given with `--server`" % n for n in EXTRA)),
             "", "![one panel per figure](benchmarks.svg)", "",
             "## Server CPU per unit of work (lower is better)", "",
             "| scenario | unit | " + " | ".join(names) + " | tcpsocket / raw epoll |",
             "|---|---|" + "---|" * len(names) + "---|"]
    for scenario, (_, unit) in SCENARIOS.items():
        figs = cpu[scenario]
        lines.append("| %s | %s | %s | **%.2f** |" % (scenario, unit, " | ".join("%.3f" % figs[n] for n in names),
                                                      figs["tcpsocket"] / figs["raw epoll"]))
    lines += ["", "## Throughput seen by the load generator (higher is better)", "",
              "The load generator is one thread on one core: where every server reaches the same rate, the "
              "generator was the limit, and only the CPU figures above separate the servers.", "",
              "| scenario | unit | " + " | ".join(names) + " | tcpsocket / raw epoll |",
              "|---|---|" + "---|" * len(names) + "---|"]
    for scenario in SCENARIOS:
        unit = "MB/s" if "bulk" in scenario else ("conn/s" if "connect" in scenario else "msg/s")
        rates = rate[scenario]
        lines.append("| %s | %s | %s | **%.2f** |" % (scenario, unit, " | ".join("%.0f" % rates[n] for n in names),
                                                      rates["tcpsocket"] / rates["raw epoll"]))
    lines += ["", "## Ping-pong latency (µs, lower is better)", "",
              "| percentile | " + " | ".join(names) + " | tcpsocket / raw epoll |", "|---|" + "---|" * len(names) + "---|",
              "| p50 | %s | **%.2f** |" % (" | ".join("%.1f" % p50[n] for n in names), p50["tcpsocket"] / p50["raw epoll"]),
              "| p99 | %s | **%.2f** |" % (" | ".join("%.1f" % p99[n] for n in names), p99["tcpsocket"] / p99["raw epoll"])]
    lines += ["", "## Idle connections (%d held)" % args.idle, "",
              "| figure | " + " | ".join(names) + " |", "|---|" + "---|" * len(names),
              "| user-space RSS per idle connection (KiB) | %s |" % " | ".join("%.2f" % kib[n] for n in names),
              "| time to open, echo once and hold all (s) | %s |" % " | ".join("%.2f" % acc[n] for n in names), ""]
    figures = [{"title": "CPU: " + s, "unit": SCENARIOS[s][1], "better": "lower", "values": cpu[s]}
               for s in SCENARIOS]
    figures.append({"title": "idle connection memory", "unit": "KiB RSS per connection", "better": "lower",
                    "values": kib})
    figures.append({"title": "ping-pong latency, p99", "unit": "µs", "better": "lower", "values": p99})
    figures.append({"title": "bulk throughput (4 conns)", "unit": "MB/s", "better": "higher",
                    "values": rate["bulk 64 KiB, 4 conns"]})
    panels(os.path.join(os.path.dirname(args.out), "benchmarks.svg"), "Echo servers side by side (this run)",
           figures)
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote " + args.out)


def _libuv_version():
    out = subprocess.run(["pkg-config", "--modversion", "libuv"], capture_output=True, text=True)
    return out.stdout.strip()


def _node_version():
    return subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    sys.exit(main())

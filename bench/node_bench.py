#!/usr/bin/env python3
"""The Node.js binding against what a JavaScript user would pick instead; prints a markdown section.

    python3 bench/node_bench.py [--rounds 3] [--seconds 3] [--idle 10000]

Servers: the same JavaScript echo server on the binding (bench/node/binding_echo.js) and on
Node's `net` (bench/node/net_echo.js), measured exactly as bench/run.py measures the C++ servers
(pinned to CPU 0, bench/loadgen on CPU 1, server CPU per unit of work, RSS per idle connection).
Clients: a JavaScript ping-pong / bulk client (bench/node/client_bench.js) on the binding, on
`net`, and on emailjs-tcp-socket's Node shim (what the Firefox OS-era mail libraries run on in
Node today), against bench/raw_epoll_echo; the client's own CPU per unit of work.
Interleaved rounds, medians. Progress goes to stderr, the section to stdout.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

import run
from benchlib import BUILD, ROOT, raise_nofile

NODE = "node"
JS_SERVERS = {
    "Node net": [NODE, os.path.join(ROOT, "bench", "node", "net_echo.js")],
    "binding": [NODE, os.path.join(ROOT, "bench", "node", "binding_echo.js")],
}
CLIENTS = ["binding", "net", "emailjs"]
CLIENT_SCENARIOS = {
    "ping-pong 64 B, 50 conns": (["pingpong", "50", "64"], "µs CPU/msg"),
    "bulk 64 KiB, 4 conns": (["bulk", "4", "65536"], "ms CPU/GB"),
}


def client_run(impl, args, port, seconds):
    mode, conns, size = args
    out = subprocess.run(["taskset", "-c", "1", NODE, os.path.join(ROOT, "bench", "node", "client_bench.js"), mode,
                          impl, str(port), conns, str(seconds), size], capture_output=True, text=True,
                         preexec_fn=raise_nofile, timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError("client_bench failed: " + out.stderr)
    r = json.loads(out.stdout)
    if mode == "bulk":
        return r["cpu_seconds"] * 1e3 / (r["bytes"] / 1e9)
    return r["cpu_seconds"] * 1e6 / max(r["messages"], 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--idle", type=int, default=10000)
    args = ap.parse_args()
    run.SERVERS.update(JS_SERVERS)
    names = list(JS_SERVERS)
    server = {s: {n: [] for n in names} for s in run.SCENARIOS}
    idle = {n: [] for n in names}
    client = {s: {c: [] for c in CLIENTS} for s in CLIENT_SCENARIOS}
    for r in range(args.rounds):
        order = names[r % 2:] + names[:r % 2]
        for scenario, (gen_args, unit) in run.SCENARIOS.items():
            for name in order:
                m = run.measure(name, gen_args, args.seconds)
                server[scenario][name].append(m["cpu_figure"])
                print("# round %d server %-40s %-9s %10.3f %s" % (r + 1, scenario, name, m["cpu_figure"], unit),
                      file=sys.stderr, flush=True)
        for name in order:
            m = run.measure_idle(name, args.idle, 2)
            idle[name].append(m["kib_per_conn"])
            print("# round %d idle %-9s %.3f KiB/conn" % (r + 1, name, m["kib_per_conn"]), file=sys.stderr, flush=True)
        echo = subprocess.Popen(["taskset", "-c", "0", os.path.join(BUILD, "bench", "raw_epoll_echo")],
                                stdout=subprocess.PIPE, text=True, preexec_fn=raise_nofile)
        port = int(echo.stdout.readline().strip().rsplit(":", 1)[1])
        try:
            for scenario, (cargs, unit) in CLIENT_SCENARIOS.items():
                for impl in CLIENTS[r % 3:] + CLIENTS[:r % 3]:
                    figure = client_run(impl, cargs, port, args.seconds)
                    client[scenario][impl].append(figure)
                    print("# round %d client %-30s %-8s %10.3f %s" % (r + 1, scenario, impl, figure, unit), file=sys.stderr, flush=True)
        finally:
            run.stop(echo)
    med = statistics.median
    node_version = subprocess.run([NODE, "--version"], capture_output=True, text=True).stdout.strip()
    print("\n## The Node.js binding\n")
    print("`python3 bench/node_bench.py --rounds %d --seconds %g --idle %d`, %s, Node %s, kernel %s, %d cores. "
          "Medians of %d interleaved rounds." % (args.rounds, args.seconds, args.idle,
                                                   datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
                                                   node_version, platform.release(), os.cpu_count(), args.rounds))
    print("\nThe same JavaScript echo server (`bench/node/*_echo.js`) on this binding and on Node's `net`, "
          "measured like the C++ servers above: server CPU per unit of work, lower is better.\n")
    print("| scenario | unit | Node net | binding | binding / Node net |")
    print("|---|---|---|---|---|")
    for scenario, (_, unit) in run.SCENARIOS.items():
        a, b = med(server[scenario]["Node net"]), med(server[scenario]["binding"])
        print("| %s | %s | %.3f | %.3f | **%.2f** |" % (scenario, unit, a, b, b / a))
    a, b = med(idle["Node net"]), med(idle["binding"])
    print("| %d idle connections | KiB RSS per connection | %.2f | %.2f | **%.2f** |" % (args.idle, a, b, b / a))
    print("\nA JavaScript client (`bench/node/client_bench.js`) against `bench/raw_epoll_echo`: the client's CPU "
          "per unit of work, lower is better. emailjs-tcp-socket's Node shim wraps `net` (and reports "
          "`bufferedAmount` as 0).\n")
    print("| scenario | unit | Node net | emailjs-tcp-socket | binding | binding / Node net |")
    print("|---|---|---|---|---|---|")
    for scenario, (_, unit) in CLIENT_SCENARIOS.items():
        f = {c: med(client[scenario][c]) for c in CLIENTS}
        print("| %s | %s | %.3f | %.3f | %.3f | **%.2f** |" % (scenario, unit, f["net"], f["emailjs"], f["binding"],
                                                              f["binding"] / f["net"]))


if __name__ == "__main__":
    main()

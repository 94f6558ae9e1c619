#!/usr/bin/env python3
"""How accepted connections are spread over N loops: SO_REUSEPORT listeners per loop (what
`tcpsocket listen --threads N` does) against one acceptor handing descriptors out round-robin,
both on raw epoll (bench/accept_strategies) so that only the strategy differs; with
`tcpsocket listen --threads N` itself alongside. Prints a markdown section.

    python3 bench/accept_bench.py [--rounds 3] [--seconds 3] [--threads 2]

Same harness as bench/run.py: server pinned to CPU 0 (all its threads), load generator to CPU 1,
interleaved rounds, medians. On 2 cores the server has one core, so this measures what each
strategy costs per connection, not how it scales.
"""
import argparse
import os
import statistics

import run

SCENARIOS = {
    "connect + 1 B echo + close, 50 parallel": ["connect", "--conns", "50"],
    "ping-pong 64 B, 50 conns": ["pingpong", "--conns", "50", "--size", "64"],
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    n = str(args.threads)
    strategies = os.path.join(run.BUILD, "bench", "accept_strategies")
    servers = {
        "reuseport, %s loops" % n: [strategies, "reuseport", n],
        "round-robin handoff, %s loops" % n: [strategies, "handoff", n],
        "tcpsocket --threads %s" % n: run.SERVERS["tcpsocket"] + ["--threads", n],
    }
    run.SERVERS.update(servers)
    names = list(servers)
    results = {s: {name: [] for name in names} for s in SCENARIOS}
    for r in range(args.rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for scenario, gen_args in SCENARIOS.items():
            for name in order:
                results[scenario][name].append(run.measure(name, gen_args, args.seconds))
    print("`python3 bench/accept_bench.py --rounds %d --seconds %g --threads %s`: server (all its threads) on "
          "CPU 0, load generator on CPU 1, medians of interleaved rounds. With one core for the server this "
          "shows what each way of spreading connections costs, not scaling." % (args.rounds, args.seconds, n))
    print()
    print("| scenario | figure | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for scenario in SCENARIOS:
        unit = "µs CPU/conn" if scenario.startswith("connect") else "µs CPU/msg"
        rate = "conn/s" if scenario.startswith("connect") else "msg/s"
        med = statistics.median
        print("| %s | %s | %s |" % (scenario, unit, " | ".join(
            "%.2f" % med(m["cpu_figure"] for m in results[scenario][name]) for name in names)))
        print("| %s | %s | %s |" % (scenario, rate, " | ".join(
            "%.0f" % med(m["rate"] for m in results[scenario][name]) for name in names)))


if __name__ == "__main__":
    main()

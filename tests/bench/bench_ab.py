#!/usr/bin/env python3
"""bench_ab.py: two builds of ddmfs side by side, for a change's numbers.

Usage: bench_ab.py BUILD_A BUILD_B [--rounds N] [--parts latency,cost,...]

Mounts ddmfs from each build (FUSE transport, one ddm-null node each) at
the same time, and runs bench_client's parts (latency, cost, throughput;
default latency,cost) on A and B in turn, ABBA..., for N rounds (default
6). Prints the median of each figure for A and B, and B/A. On a
noisy VM, host timings of one build scatter by about 10 % between runs of
./run bench, so a change of that size shows only when both builds are
measured alternately in one run. The client is BUILD_B's. Needs root. Not
part of ./run check: it measures, it asserts nothing.

To measure a change: build the old commit in a worktree
(git worktree add /tmp/old HEAD~1 && (cd /tmp/old && ./run build)), then
  tests/bench/bench_ab.py /tmp/old/build build
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (after dont_write_bytecode)

PARTS = ("latency", "cost", "throughput")


def conf_for(build):
    return f"""transport = "fuse";
driver_path = "{os.path.join(build, "tests", "bench")}";
buses = (
	{{ name = "isa0"; mode = "0755";
	  devices = (
		{{ name = "null0"; driver = "ddm-null"; io = "sim"; mode = "0666"; }}
	  );
	}}
);
"""


def figures(part, rec):
    """(name, value) of one bench_client result line."""
    if part == "latency":
        return [(f"{rec['op']} median us", rec["median_ns"] / 1000)]
    if part == "throughput":
        return [(f"{rec['op']} MB/s", rec["mb_s"])]
    out = [("cost ctx sw/op", rec["ctxsw_per_op"]),
           ("cost CPU us/op", rec["cpu_ns_per_op"] / 1000)]
    for name, p in rec["procs"].items():
        out.append((f"cost {name} CPU us/op", p["cpu_ns"] / rec["ops"] / 1000))
    return out


def main():
    ap = argparse.ArgumentParser(description="ddmfs: two builds side by side")
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--parts", default="latency,cost")
    args = ap.parse_args()
    parts = args.parts.split(",")
    if any(p not in PARTS for p in parts):
        sys.exit(f"bench_ab: --parts takes {','.join(PARTS)}")
    if os.geteuid() != 0:
        sys.exit("bench_ab: needs root (FUSE mounts with allow_other)")
    builds = {"A": os.path.abspath(args.a), "B": os.path.abspath(args.b)}
    for b in builds.values():
        for p in ("ddmfs/ddmfs", "tests/bench/ddm-null",
                  "tests/bench/bench_client"):
            if not os.access(os.path.join(b, p), os.X_OK):
                sys.exit(f"bench_ab: {b}/{p} is not built")
    client = os.path.join(builds["B"], "tests", "bench", "bench_client")
    tmp = tempfile.mkdtemp(prefix="ddmab.", dir="/tmp")
    os.chmod(tmp, 0o755)
    mounts, res = {}, {"A": {}, "B": {}}
    try:
        for k, build in builds.items():
            work = os.path.join(tmp, k)
            os.mkdir(work)
            d = bench.Ddmfs(build, work, conf_for(build), name=k)
            mounts[k] = d
            d.start()
            bench.wait_mount(d.mnt, d.server)
            nodes = d.wait_running(1)
            d.pids = [f"--pid=ddmfs={d.server.pid}",
                      f"--pid=ddm-null={list(nodes.values())[0][1]}"]
        for r in range(args.rounds):
            for k in ("A", "B") if r % 2 == 0 else ("B", "A"):
                d = mounts[k]
                for part in parts:
                    argv = [client, "--target", "ddm-fuse", "--part", part,
                            "--path", os.path.join(d.mnt, "isa0", "null0"),
                            "--iters", "20000", "--budget-ms", "2000",
                            "--run-ms", "500", "--cost-ops", "20000"]
                    if part == "cost":
                        argv += d.pids
                    out = subprocess.run(argv, capture_output=True,
                                         text=True, check=True).stdout
                    for line in out.splitlines():
                        for name, v in figures(part, json.loads(line)):
                            res[k].setdefault(name, []).append(v)
    finally:
        for d in mounts.values():
            d.stop()
    print(f"A = {builds['A']}\nB = {builds['B']}\n"
          f"medians of {args.rounds} rounds, A and B alternating")
    for name, va in res["A"].items():
        a = statistics.median(va)
        b = statistics.median(res["B"].get(name, [0]))
        ratio = f"{b / a:6.2f}" if a else "     -"
        print(f"{name:28s} A {a:10.2f}  B {b:10.2f}  B/A {ratio}")


if __name__ == "__main__":
    main()

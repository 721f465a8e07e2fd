#!/usr/bin/env python3
"""bench_report.py: makes bench-results.json, the table and the chart from
what bench.py measured, and checks a bench-results.json.

    bench_report.py --validate FILE [--require-guest]
        prints TAP: the file is JSON, has every key bench-results.json
        must have, and every measured time, rate, size and ratio in it is
        a positive number; exit 0 if so.  Asserts nothing about speed.
    bench_report.py --table FILE    prints the table of a results file
    bench_report.py --plot FILE PNG draws its chart again

bench-results.json (schema "ddmfs-bench/1"); times in ns unless a key
says _s (seconds) or _ms; rates in MB/s (10^6 bytes) and ops/s; sizes in
KiB (_kib):

    schema, date (UTC, ISO 8601), duration_s, short (bool), command,
    machine {cpus, kernel, arch, cpu_model, mem_kib, debian,
             loadavg_start, loadavg_end},
    parts {host, tree, guest: "ran" | "error: ..."},
    targets {NAME: what it is}, notes {FIGURE: how it is measured},
    latency {TARGET: {OP: {n, median_ns, p99_ns, max_ns, rounds,
                           rounds_median_ns} | {error}}}
        OP: open_close read_1 read_4k write_1 ioctl poll_wake
        (poll_wake also: lost, not_asleep, wchan); over several rounds,
        median_ns and p99_ns are the medians of the rounds' figures
    throughput {TARGET: {OP: {size, bytes, calls, ns, mb_s, rounds,
                              rounds_mb_s} | {error}}}
        OP: read_4k write_4k read_64k write_64k read_1024k write_1024k
    scaling {TARGET: {one|spread: {THREADS: ops_s}}}
    cost {TARGET: {op, ops, ns, ctxsw_per_op, cpu_ns_per_op,
                   procs {NAME: {vol, invol, cpu_ns, threads}}}}
    extras {OP: {...}}            rtc0, lp0, kbd0 (host, ddm-fuse)
    drivers {idle_rss_kib {ddm-null, ddm-rtc}, ddmfs_rss_kib_start,
             ddmfs_rss_kib_end}
    tree {buses, nodes_per_bus, leaves, driver_instances, layout,
          tmpfs_ls_R_s, tmpfs_ls_R_runs_s, ls_R_cold_s, ls_R_warm_s,
          ls_R_warm_runs_s, tmpfs_ls_lR_s, ls_lR_cold_s, ls_lR_warm_s,
          start_to_visible_s, start_to_running_s,
          ddmfs_rss_kib, driver_rss_kib, drivers_rss_kib_total} | {error}
    guest {status: "ran" | "skipped", note, kernel, cpus, cuse, smp,
           clock ("icount: ..." or "wall (TCG)"), wall_s}
    ratios [{group, figure, op, stat, pair, value}]
    goals [{figure, pair, measured, unit, goal, met (true, false, or
            null when this run did not measure it), note}]
    errors [text]

TARGET: kernel, bare-fuse, ddm-fuse (host); guest-kernel, bare-cuse,
ddm-cuse (QEMU guest).
"""

import json
import math
import os
import shutil
import subprocess
import sys

SCHEMA = "ddmfs-bench/1"
HOST_TARGETS = ("kernel", "bare-fuse", "ddm-fuse")
GUEST_TARGETS = ("guest-kernel", "bare-cuse", "ddm-cuse")
TARGETS = {
    "kernel": "host kernel: /dev/zero (open, read), /dev/null (write), "
              "/dev/urandom RNDGETENTCNT (ioctl), a pipe (poll)",
    "bare-fuse": "bare_fuse: libfuse low-level server, multi-threaded "
                 "loop, answers in the FUSE worker",
    "ddm-fuse": "ddmfs, FUSE transport, ddm-null driver (one node per "
                "instance)",
    "guest-kernel": "guest kernel (QEMU TCG), same devices as kernel",
    "bare-cuse": "bare_cuse: libfuse CUSE server, one thread (as "
                 "libdriver)",
    "ddm-cuse": "ddmfs, CUSE transport, ddm-null driver; opened through "
                "the ddmfs leaf",
}
NOTES = {
    "latency": "single operations on one open file (open+close: a fresh "
               "open each), timed with CLOCK_MONOTONIC after a warm-up; "
               "each row stops at its sample count or time budget",
    "poll_wake": "a thread asleep in poll(2) for POLLIN on one handle "
                 "(its /proc wchan says so) is woken by a 1-byte write "
                 "through another handle of the same node (the kernel: a "
                 "pipe); time from before the write to poll's return",
    "throughput": "one thread, one open file, read(2) or write(2) of the "
                  "size for a fixed time; MB/s = 10^6 bytes/s of what the "
                  "calls returned",
    "scaling": "4 KiB reads/s, each thread with its own open file; one: "
               "every thread on the same node; spread: thread i on node "
               "i % 8 (ddm-fuse: 8 ddm-null instances, one node each; "
               "bare-fuse: its 8 leaves; kernel: /dev/zero 8 times)",
    "cost": "a fixed number of 4 KiB reads; context switches (voluntary + "
            "involuntary) and CPU time of the client (getrusage, its "
            "CPU-time clock) and of every thread of the server and driver "
            "(/proc/PID/task/*/status and schedstat), per read",
    "tree": "cold: the first ls -R of a fresh mount, after every driver "
            "runs; warm: the median of the following runs; ls -lR (a "
            "lookup and attributes of every leaf) on a third fresh mount; "
            "tmpfs: the "
            "same shape of empty files; start to visible: from exec of "
            "ddmfs until readdir of the mount shows every leaf",
}
LAT_OPS = (("open_close", "open+close"), ("read_1", "read 1 B"),
           ("read_4k", "read 4 KiB"), ("write_1", "write 1 B"),
           ("ioctl", "ioctl _IOR 4 B"), ("poll_wake", "poll wake-up"))
THR_OPS = (("read_4k", "read 4 KiB"), ("write_4k", "write 4 KiB"),
           ("read_64k", "read 64 KiB"), ("write_64k", "write 64 KiB"),
           ("read_1024k", "read 1 MiB"), ("write_1024k", "write 1 MiB"))
LAT_PAIRS = (("ddm-fuse", "bare-fuse"), ("ddm-fuse", "kernel"),
             ("bare-fuse", "kernel"), ("ddm-cuse", "bare-cuse"),
             ("ddm-cuse", "guest-kernel"), ("bare-cuse", "guest-kernel"))
THR_PAIRS = (("ddm-fuse", "bare-fuse"), ("ddm-fuse", "kernel"),
             ("ddm-cuse", "bare-cuse"))
COST_PAIRS = (("ddm-fuse", "bare-fuse"), ("ddm-cuse", "bare-cuse"))
MIB = 1024 * 1024


# -- building the results ---------------------------------------------
def build(meta, records, measured, errors):
    """The bench-results.json object from bench.py's meta, bench_client's
    records, its own measurements and the errors so far."""
    res = {"schema": SCHEMA}
    res.update({k: meta[k] for k in ("date", "duration_s", "short",
                                     "command", "machine", "parts")})
    res["targets"] = TARGETS
    res["notes"] = NOTES
    res["latency"], res["throughput"], res["scaling"] = {}, {}, {}
    res["cost"], res["extras"] = {}, {}
    errors = list(errors)
    for r in merge_rounds(records):
        kind, target, op = r.get("kind"), r.get("target"), r.get("op")
        if "error" in r:
            errors.append(f"{r.get('where', '?')} {target} {kind} {op}: "
                          f"{r['error']}")
        body = {k: v for k, v in r.items()
                if k not in ("kind", "target", "op", "where")}
        if kind == "latency":
            res["latency"].setdefault(target, {})[op] = body
        elif kind == "throughput":
            res["throughput"].setdefault(target, {})[op] = body
        elif kind == "scaling" and "error" not in r:
            res["scaling"].setdefault(target, {}).setdefault(
                r["layout"], {})[str(r["threads"])] = r["ops_s"]
        elif kind == "scaling":
            res["scaling"].setdefault(target, {}).setdefault(
                "errors", []).append(r["error"])
        elif kind == "cost":
            body["op"] = op
            res["cost"][target] = body
        elif kind == "extra":
            res["extras"][op] = body
    host = measured.get("host", {})
    res["drivers"] = {k: host[k] for k in (
        "idle_driver_rss_kib", "ddmfs_rss_kib_start", "ddmfs_rss_kib_end")
        if k in host}
    if "idle_driver_rss_kib" in res["drivers"]:
        res["drivers"]["idle_rss_kib"] = res["drivers"].pop(
            "idle_driver_rss_kib")
    res["tree"] = measured.get("tree", {})
    res["guest"] = measured.get("guest", {})
    res["ratios"] = ratios(res)
    res["goals"] = goals(res)
    res["errors"] = errors
    return res


def merge_rounds(records):
    """bench_client's records of every round, one per figure: latency the
    median of the rounds' medians and p99s (each round's kept in
    rounds_median_ns), rates and costs from the summed counts."""
    groups = {}
    for r in records:
        key = (r.get("where"), r.get("kind"), r.get("target"), r.get("op"),
               r.get("threads"))
        groups.setdefault(key, []).append(r)
    out = []
    for rs in groups.values():
        bad = [r for r in rs if "error" in r]
        if bad or len(rs) == 1:
            out.append(bad[0] if bad else rs[0])
            continue
        m = dict(rs[0])
        kind = m["kind"]
        if kind == "latency":
            for k in ("median_ns", "p99_ns"):
                m[k] = median([r[k] for r in rs])
            m["max_ns"] = max(r["max_ns"] for r in rs)
            for k in ("n", "lost", "not_asleep"):
                if k in m:
                    m[k] = sum(r[k] for r in rs)
            m["rounds_median_ns"] = [r["median_ns"] for r in rs]
        elif kind == "throughput":
            for k in ("bytes", "calls", "ns"):
                m[k] = sum(r[k] for r in rs)
            m["mb_s"] = m["bytes"] * 1e3 / m["ns"]
            m["rounds_mb_s"] = [r["mb_s"] for r in rs]
        elif kind == "scaling":
            for k in ("ops", "ns"):
                m[k] = sum(r[k] for r in rs)
            m["ops_s"] = m["ops"] * 1e9 / m["ns"]
        elif kind == "cost":
            for k in ("ops", "ns"):
                m[k] = sum(r[k] for r in rs)
            m["procs"] = {}
            for name in rs[0]["procs"]:
                p = {k: sum(r["procs"][name][k] for r in rs)
                     for k in ("vol", "invol", "cpu_ns")}
                p["threads"] = rs[-1]["procs"][name]["threads"]
                m["procs"][name] = p
            m["ctxsw_per_op"] = sum(
                p["vol"] + p["invol"] for p in m["procs"].values()) / m["ops"]
            m["cpu_ns_per_op"] = sum(
                p["cpu_ns"] for p in m["procs"].values()) / m["ops"]
        m["rounds"] = len(rs)
        out.append(m)
    return out


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d if isinstance(d, (int, float)) and not isinstance(d, bool) \
        else None


def div(a, b):
    if a is None or b is None or a <= 0 or b <= 0:
        return None
    return a / b


def ratios(res):
    out = []

    def add(group, figure, op, stat, pair, value):
        if value is not None:
            out.append({"group": group, "figure": figure, "op": op,
                        "stat": stat, "pair": f"{pair[0]}/{pair[1]}",
                        "value": round(value, 4)})

    for op, label in LAT_OPS:
        for stat in ("median", "p99"):
            for p in LAT_PAIRS:
                add("latency", f"{label} {stat} latency", op, stat, p,
                    div(get(res["latency"], p[0], op, f"{stat}_ns"),
                        get(res["latency"], p[1], op, f"{stat}_ns")))
    for op, label in THR_OPS:
        for p in THR_PAIRS:
            add("throughput", f"{label} throughput", op, "mb_s", p,
                div(get(res["throughput"], p[0], op, "mb_s"),
                    get(res["throughput"], p[1], op, "mb_s")))
    for layout in ("one", "spread"):
        for n in ("1", "2", "4", "8", "16"):
            p = ("ddm-fuse", "bare-fuse")
            where = "one node" if layout == "one" else "8 nodes"
            add("scaling", f"{n}-thread 4 KiB reads/s, {where}",
                f"{layout}_{n}", "ops_s", p,
                div(get(res["scaling"], p[0], layout, n),
                    get(res["scaling"], p[1], layout, n)))
    for key, label in (("ctxsw_per_op", "context switches per 4 KiB read"),
                       ("cpu_ns_per_op", "CPU time per 4 KiB read")):
        for p in COST_PAIRS:
            add("cost", label, "read_4k", key, p,
                div(get(res["cost"], p[0], key), get(res["cost"], p[1], key)))
    t = res["tree"]
    for key, base, label in (
            ("ls_R_cold_s", "tmpfs_ls_R_s", "ls -R cold"),
            ("ls_R_warm_s", "tmpfs_ls_R_s", "ls -R warm"),
            ("ls_lR_cold_s", "tmpfs_ls_lR_s", "ls -lR cold"),
            ("ls_lR_warm_s", "tmpfs_ls_lR_s", "ls -lR warm")):
        add("tree", f"{label}, {t.get('leaves', '?')} leaves", key, "time",
            ("ddm-fuse", "tmpfs"), div(get(t, key), get(t, base)))
    return out


def ratio_of(res, op, stat, pair, group=None):
    for r in res["ratios"]:
        if r["op"] == op and r["stat"] == stat and r["pair"] == pair and \
                (group is None or r["group"] == group):
            return r["value"]
    return None


def goals(res):
    out = []

    def add(figure, pair, measured, unit, goal, le, limit, note=""):
        met = None if measured is None else (
            measured <= limit if le else measured >= limit)
        g = {"figure": figure, "pair": pair,
             "measured": None if measured is None else round(measured, 4),
             "unit": unit, "goal": goal, "met": met}
        if note:
            g["note"] = note
        out.append(g)

    for op, label in LAT_OPS:
        add(f"FUSE {label} median latency", "ddm-fuse/bare-fuse",
            ratio_of(res, op, "median", "ddm-fuse/bare-fuse", "latency"),
            "x", "<= 1.5", True, 1.5)
    for op, label in THR_OPS[2:]:
        add(f"FUSE {label} throughput", "ddm-fuse/bare-fuse",
            ratio_of(res, op, "mb_s", "ddm-fuse/bare-fuse"), "x", ">= 0.7",
            False, 0.7)
    add("FUSE 16-reader ops/s, one node", "ddm-fuse/bare-fuse",
        ratio_of(res, "one_16", "ops_s", "ddm-fuse/bare-fuse"), "x",
        ">= 0.8", False, 0.8)
    add("FUSE 16-reader ops/s, 8 nodes", "ddm-fuse/bare-fuse",
        ratio_of(res, "spread_16", "ops_s", "ddm-fuse/bare-fuse"), "x",
        ">= 0.8", False, 0.8, "the same goal, readers spread over 8 "
        "ddm-null instances")
    guest_note = "" if res["guest"].get("status") == "ran" else \
        "guest not run: " + str(res["guest"].get("note",
                                                  res["guest"].get("error",
                                                                   "")))
    for op, label in LAT_OPS:
        add(f"CUSE {label} median latency (guest)", "ddm-cuse/bare-cuse",
            ratio_of(res, op, "median", "ddm-cuse/bare-cuse", "latency"),
            "x", "<= 1.05", True, 1.05, guest_note)
    add("context switches per forwarded read", "ddm-fuse/bare-fuse",
        ratio_of(res, "read_4k", "ctxsw_per_op", "ddm-fuse/bare-fuse"), "x",
        "<= 2", True, 2)
    t = res["tree"]
    leaves = t.get("leaves")
    at = f"{leaves} leaves" if leaves else "the tree"
    if "error" in t or "leaves" not in t:
        tnote = f"tree not measured: {t.get('error', t.get('note', ''))}"
    elif leaves != 10000:
        tnote = f"measured at {at}, not 10000"
    else:
        tnote = ""
    add(f"warm ls -R of {at}", "ddm-fuse/tmpfs",
        ratio_of(res, "ls_R_warm_s", "time", "ddm-fuse/tmpfs"), "x",
        "<= 1.5", True, 1.5, tnote)
    add(f"cold ls -R of {at}", "ddm-fuse/tmpfs",
        ratio_of(res, "ls_R_cold_s", "time", "ddm-fuse/tmpfs"), "x",
        "<= 3", True, 3, tnote)
    rss = get(t, "ddmfs_rss_kib")
    n = leaves or 10000
    limit = (8 * MIB + 300 * n) / 1024
    add(f"ddmfs RSS at {at}", "ddmfs", rss, "KiB",
        f"<= 8 MiB + 300 B/leaf = {limit:.0f} KiB", True, limit, tnote)
    idle = res["drivers"].get("idle_rss_kib", {})
    for name in ("ddm-null", "ddm-rtc"):
        add(f"idle driver RSS ({name})", name, get(idle, name), "KiB",
            "<= 2 MiB = 2048 KiB", True, 2048)
    add(f"start to all of {at} visible", "ddmfs",
        get(t, "start_to_visible_s"), "s", "<= 1 s", True, 1.0, tnote)
    return out


# -- the table --------------------------------------------------------
def fmt_ns(ns):
    if ns is None:
        return "-"
    if ns < 1e3:
        return f"{ns:.0f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.1f} us"
    if ns < 1e9:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e9:.2f} s"


def fmt_x(x):
    return "-" if x is None else f"{x:.2f}x"


def fmt_num(x, unit=""):
    if x is None:
        return "-"
    if x >= 100:
        s = f"{x:,.0f}"
    elif x >= 1:
        s = f"{x:.2f}"
    else:
        s = f"{x:.3g}"
    return s + unit


def cell(d, op, key, fmt):
    v = d.get(op) if isinstance(d, dict) else None
    if isinstance(v, dict) and "error" in v:
        return "error"
    return fmt(get(d, op, key))


def print_table(res, f):
    w = f.write
    m = res["machine"]
    w(f"ddmfs bench, {res['date']} ({'short' if res['short'] else 'full'}"
      f" run, {res['duration_s']} s): {m.get('cpus')} CPUs "
      f"({m.get('cpu_model', '?')}), kernel {m.get('kernel')}, "
      f"{(m.get('mem_kib') or 0) // 1024} MiB\n")
    if m.get("loadavg_start"):
        w(f"load average (1, 5, 15 min) at start "
          f"{', '.join(f'{x:.2f}' for x in m['loadavg_start'])}, at end "
          f"{', '.join(f'{x:.2f}' for x in m['loadavg_end'])} (a load "
          "well above 0 at the start means other work shared the CPUs: "
          "expect noise)\n")
    w("parts: " + ", ".join(f"{k} {v}" for k, v in res["parts"].items())
      + "\n")
    lat = res["latency"]

    def lat_block(title, targets, pair):
        if not any(t in lat for t in targets):
            return
        w(f"\n{title}\n")
        w(f"{'latency (median / p99)':<22}" +
          "".join(f"{t:>24}" for t in targets) +
          f"{pair[0] + '/' + pair[1]:>26}\n")
        for op, label in LAT_OPS:
            row = f"{label:<22}"
            for t in targets:
                med = cell(lat.get(t, {}), op, "median_ns", fmt_ns)
                p99 = cell(lat.get(t, {}), op, "p99_ns", fmt_ns)
                row += f"{med + ' / ' + p99:>24}"
            r1 = ratio_of(res, op, "median", f"{pair[0]}/{pair[1]}",
                          "latency")
            r2 = ratio_of(res, op, "p99", f"{pair[0]}/{pair[1]}",
                          "latency")
            row += f"{fmt_x(r1) + ' / ' + fmt_x(r2):>26}"
            w(row + "\n")

    lat_block("Host (FUSE)", HOST_TARGETS, ("ddm-fuse", "bare-fuse"))
    g = res["guest"]
    if g.get("status") == "ran":
        lat_block(f"Guest (CUSE; QEMU TCG, {g.get('cpus', '?')} CPU, kernel"
                  f" {g.get('kernel', '?')}, clock {g.get('clock', 'wall')};"
                  " not the host's times, compare ratios only)",
                  GUEST_TARGETS, ("ddm-cuse", "bare-cuse"))
    else:
        w(f"\nGuest (CUSE): {g.get('status', 'skipped')}: "
          f"{g.get('note', g.get('error', ''))}\n")

    thr = res["throughput"]
    for targets, pair in ((HOST_TARGETS, "ddm-fuse/bare-fuse"),
                          (GUEST_TARGETS, "ddm-cuse/bare-cuse")):
        if not any(t in thr for t in targets):
            continue
        w(f"\n{'throughput (MB/s)':<22}" +
          "".join(f"{t:>14}" for t in targets) + f"{pair:>22}\n")
        for op, label in THR_OPS:
            w(f"{label:<22}" + "".join(
                f"{cell(thr.get(t, {}), op, 'mb_s', fmt_num):>14}"
                for t in targets) +
              f"{fmt_x(ratio_of(res, op, 'mb_s', pair)):>22}\n")
        for t in targets:
            for op, label in THR_OPS:
                r = thr.get(t, {}).get(op, {})
                if get(r, "calls") and r["bytes"] < r["size"] * r["calls"]:
                    w(f"  ({t} {label}: short transfers, "
                      f"{fmt_num(r['bytes'] / r['calls'] / 1024)} KiB per "
                      "call on average)\n")

    sc = res["scaling"]
    if sc:
        w(f"\n{'4 KiB reads/s':<22}" + "".join(
            f"{t + ' ' + lay:>17}" for lay in ("one", "spread")
            for t in HOST_TARGETS) + f"{'ddm/bare one':>14}"
          f"{'ddm/bare 8':>12}\n")
        for n in ("1", "2", "4", "8", "16"):
            w(f"{n + ' thread' + ('s' if n != '1' else ''):<22}" + "".join(
                f"{fmt_num(get(sc, t, lay, n)):>17}"
                for lay in ("one", "spread") for t in HOST_TARGETS) +
              f"{fmt_x(ratio_of(res, 'one_' + n, 'ops_s', 'ddm-fuse/bare-fuse')):>14}"
              f"{fmt_x(ratio_of(res, 'spread_' + n, 'ops_s', 'ddm-fuse/bare-fuse')):>12}\n")
        w("(one: every thread on node n0/null0; spread: thread i on node "
          "i % 8; ddmfs's 8 nodes are 8 ddm-null instances; the kernel's "
          "are all /dev/zero)\n")

    cost = res["cost"]
    if cost:
        w(f"\n{'cost per 4 KiB read':<22}{'ctx sw/op':>12}{'CPU/op':>12}"
          "   per process (ctx sw/op, CPU/op)\n")
        for t in HOST_TARGETS + GUEST_TARGETS:
            c = cost.get(t)
            if c is None:
                continue
            if "error" in c:
                w(f"{t:<22}error: {c['error']}\n")
                continue
            ops = c["ops"]
            procs = ", ".join(
                f"{n} {(p['vol'] + p['invol']) / ops:.2f}, "
                f"{fmt_ns(p['cpu_ns'] / ops)}"
                for n, p in c["procs"].items())
            w(f"{t:<22}{c['ctxsw_per_op']:>12.2f}"
              f"{fmt_ns(c['cpu_ns_per_op']):>12}   {procs}\n")
        for key, label in (("ctxsw_per_op", "ctx sw"), ("cpu_ns_per_op",
                                                         "CPU")):
            for p in COST_PAIRS:
                pr = f"{p[0]}/{p[1]}"
                v = ratio_of(res, "read_4k", key, pr)
                if v is not None:
                    w(f"  {label} per read {pr}: {fmt_x(v)}\n")

    t = res["tree"]
    w("\nthe tree: ")
    if "error" in t:
        w(f"error: {t['error']}\n")
    elif "leaves" in t:
        w(f"{t['buses']} buses x {t['nodes_per_bus']} leaves = "
          f"{t['leaves']} leaves, {t['layout']}\n")
        for key, label in (("tmpfs_ls_R_s", "ls -R on tmpfs (median)"),
                           ("ls_R_cold_s", "ls -R cold (fresh mount)"),
                           ("ls_R_warm_s", "ls -R warm (median)"),
                           ("tmpfs_ls_lR_s", "ls -lR on tmpfs (median)"),
                           ("ls_lR_cold_s", "ls -lR cold (fresh mount)"),
                           ("ls_lR_warm_s", "ls -lR warm (median)")):
            v = get(t, key)
            w(f"  {label:<34}{fmt_ns(v * 1e9 if v else None):>12}")
            if not key.startswith("tmpfs"):
                w(f"   {fmt_x(ratio_of(res, key, 'time', 'ddm-fuse/tmpfs'))}"
                  " of tmpfs")
            w("\n")
        for key, label in (("start_to_visible_s",
                            "start to every leaf visible"),
                           ("start_to_running_s",
                            "start to every driver running")):
            v = get(t, key)
            w(f"  {label:<34}{fmt_ns(v * 1e9 if v else None):>12}\n")
        for key, label in (("ddmfs_rss_kib", "ddmfs RSS"),
                           ("driver_rss_kib", "ddm-null RSS (median)"),
                           ("drivers_rss_kib_total", "all drivers' RSS")):
            w(f"  {label:<34}{fmt_num(get(t, key), ' KiB'):>12}\n")
    else:
        w(f"{t.get('status', 'not run')}: {t.get('note', '')}\n")
    d = res["drivers"]
    if d.get("idle_rss_kib"):
        w("idle driver RSS: " + ", ".join(
            f"{n} {fmt_num(v, ' KiB')}"
            for n, v in d["idle_rss_kib"].items()) +
          f"; ddmfs RSS {fmt_num(d.get('ddmfs_rss_kib_start'), ' KiB')} at "
          f"start, {fmt_num(d.get('ddmfs_rss_kib_end'), ' KiB')} after the "
          "host bench\n")
    ex = res["extras"]
    if ex:
        w("extras (ddm-fuse):")
        for op, v in ex.items():
            if "error" in v:
                w(f" {op} error: {v['error']};")
            elif "median_ns" in v:
                w(f" {op} median {fmt_ns(v['median_ns'])}, p99 "
                  f"{fmt_ns(v['p99_ns'])};")
            elif "mb_s" in v:
                w(f" {op} {fmt_num(v['mb_s'])} MB/s (a regular file "
                  f"{fmt_num(v.get('regular_file_mb_s'))} MB/s);")
        w("\n")

    w(f"\nevery ratio ({len(res['ratios'])})\n")
    for r in res["ratios"]:
        w(f"  {r['figure']:<46}{r['pair']:<28}{fmt_x(r['value']):>10}\n")

    w("\nthe issue's goals (measured in this run)\n")
    for gl in res["goals"]:
        m = gl["measured"]
        ms = "not measured" if m is None else (
            fmt_x(m) if gl["unit"] == "x" else fmt_num(m, " " + gl["unit"]))
        verdict = {True: "met", False: "not met", None: "-"}[gl["met"]]
        w(f"  {gl['figure']:<46}measured {ms:>14}, goal {gl['goal']:<36}"
          f"{verdict}")
        if gl.get("note"):
            w(f"  ({gl['note']})")
        w("\n")
    if res["errors"]:
        w("\nerrors\n")
        for e in res["errors"]:
            w(f"  {e}\n")


# -- the chart --------------------------------------------------------
def chart_rows(res):
    """(label, FUSE ratio, CUSE ratio) per operation: ddm over bare."""
    rows = []
    for op, label in LAT_OPS:
        rows.append((f"{label} (lat.)",
                     ratio_of(res, op, "median", "ddm-fuse/bare-fuse",
                              "latency"),
                     ratio_of(res, op, "median", "ddm-cuse/bare-cuse",
                              "latency")))
    for op, label in THR_OPS:
        rows.append((f"{label} (MB/s)",
                     ratio_of(res, op, "mb_s", "ddm-fuse/bare-fuse"),
                     ratio_of(res, op, "mb_s", "ddm-cuse/bare-cuse")))
    for n in ("1", "16"):
        rows.append((f"{n} reader{'s' if n != '1' else ''} (ops/s)",
                     ratio_of(res, f"one_{n}", "ops_s",
                              "ddm-fuse/bare-fuse"), None))
    rows.append(("16 readers, 8 nodes (ops/s)",
                 ratio_of(res, "spread_16", "ops_s", "ddm-fuse/bare-fuse"),
                 None))
    rows.append(("ctx sw per read",
                 ratio_of(res, "read_4k", "ctxsw_per_op",
                          "ddm-fuse/bare-fuse"),
                 ratio_of(res, "read_4k", "ctxsw_per_op",
                          "ddm-cuse/bare-cuse")))
    rows.append(("CPU per read",
                 ratio_of(res, "read_4k", "cpu_ns_per_op",
                          "ddm-fuse/bare-fuse"),
                 ratio_of(res, "read_4k", "cpu_ns_per_op",
                          "ddm-cuse/bare-cuse")))
    for key, label in (("ls_R_cold_s", "ls -R cold vs tmpfs"),
                       ("ls_R_warm_s", "ls -R warm vs tmpfs"),
                       ("ls_lR_cold_s", "ls -lR cold vs tmpfs"),
                       ("ls_lR_warm_s", "ls -lR warm vs tmpfs")):
        rows.append((label, ratio_of(res, key, "time", "ddm-fuse/tmpfs"),
                     None))
    return rows


def plot(res, png):
    """Draws the ratios with gnuplot into png; returns an error or None."""
    gp = shutil.which("gnuplot")
    if gp is None:
        return "gnuplot not found (apt-get install gnuplot-nox)"
    rows = [r for r in chart_rows(res) if r[1] is not None or
            r[2] is not None]
    data = "\n".join(
        '"{}" {} {}'.format(label,
                            "?" if a is None else f"{a:.4f}",
                            "?" if b is None else f"{b:.4f}")
        for label, a, b in rows)
    vals = [v for _, a, b in rows for v in (a, b) if v is not None]
    if not vals:
        return "no ratios to draw"
    lo = min(vals + [1.0]) / 1.5
    hi = max(vals + [1.0]) * 2.5
    tics = ", ".join(f"{t:g}" for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1,
                                        2, 5, 10, 20, 50, 100, 200, 500)
                     if lo <= t <= hi)
    title = (f"ddmfs / bare, {res['date']}, {res['machine'].get('cpus')} "
             f"CPUs, kernel {res['machine'].get('kernel')}"
             f"{' (short run)' if res['short'] else ''}")
    script = f"""
set terminal pngcairo size 1400,760 font ",10" noenhanced
set output "{png}"
set rmargin 10
set bmargin 9
set title "{title}\\nlatency, CPU, ctx sw, ls: lower is better; MB/s, ops/s: higher is better; 1 = bare"
set datafile missing "?"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set logscale y
set yrange [{lo:.4f}:{hi:.4f}]
set ylabel "ddmfs / bare (log scale)"
set ytics ({tics})
set format y "%g"
set xtics rotate by -40 scale 0 font ",9"
set grid ytics
set key top left
$d << EOD
{data}
EOD
plot $d using 2:xtic(1) title "ddmfs FUSE / bare FUSE (host; ls -R: / tmpfs)" lc rgb "#3366cc", \\
     $d using 3 title "ddmfs CUSE / bare CUSE (QEMU guest)" lc rgb "#dc7633", \\
     $d using ($0 - 1.0/6):2:(sprintf("%.2f", $2)) with labels rotate by 90 left offset 0,0.4 font ",8" notitle, \\
     $d using ($0 + 1.0/6):3:(sprintf("%.2f", $3)) with labels rotate by 90 left offset 0,0.4 font ",8" notitle, \\
     1 with lines lc rgb "black" dt 2 notitle
"""
    r = subprocess.run([gp], input=script, capture_output=True, text=True)
    if r.returncode != 0 and "pngcairo" in r.stderr:
        r = subprocess.run([gp], input=script.replace(
            "pngcairo size 1400,760 font \",10\"", "png size 1400,760"),
            capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(png):
        return f"gnuplot failed: {r.stderr.strip()[-300:]}"
    return None


# -- validation -------------------------------------------------------
def validate(path, require_guest=False):
    """TAP lines checking the results file; returns (lines, failures)."""
    checks = []

    def check(ok, what):
        checks.append((bool(ok), what))

    try:
        with open(path) as f:
            res = json.load(f)
    except (OSError, ValueError) as e:
        return [f"not ok 1 - {path} is JSON: {e}"], 1
    check(True, f"{path} is JSON")
    keys = ("schema", "date", "duration_s", "short", "command", "machine",
            "parts", "targets", "notes", "latency", "throughput", "scaling", "cost",
            "extras", "drivers", "tree", "guest", "ratios", "goals",
            "errors")
    missing = [k for k in keys if k not in res]
    check(not missing, "every top-level key is there" +
          (f" (missing {missing})" if missing else ""))
    if missing:
        return tap(checks)
    check(res["schema"] == SCHEMA, f"schema is {SCHEMA}")
    m = res["machine"]
    check(pos(m.get("cpus")) and m.get("kernel"),
          "the machine's CPUs and kernel are given")
    bad = []

    def need(d, where, keys, nonneg=()):
        for k in keys:
            if not pos(get(d, k)):
                bad.append(f"{where}.{k}={d.get(k) if d else None}")
        for k in nonneg:
            v = get(d, k)
            if v is None or v < 0:
                bad.append(f"{where}.{k}={d.get(k) if d else None}")

    for t in HOST_TARGETS:
        for op, _ in LAT_OPS:
            need(res["latency"].get(t, {}).get(op), f"latency.{t}.{op}",
                 ("n", "median_ns", "p99_ns", "max_ns"))
        for op, _ in THR_OPS:
            need(res["throughput"].get(t, {}).get(op),
                 f"throughput.{t}.{op}", ("size", "bytes", "ns", "mb_s"))
        for lay in ("one", "spread"):
            need(res["scaling"].get(t, {}).get(lay), f"scaling.{t}.{lay}",
                 ("1", "2", "4", "8", "16"))
        need(res["cost"].get(t), f"cost.{t}", ("ops", "ns", "cpu_ns_per_op"),
             ("ctxsw_per_op",))
    check(not bad, "every host latency, throughput, scaling and cost "
          "figure is a positive number" + (f" (not: {bad[:6]})" if bad
                                           else ""))
    bad = []
    need(res["tree"], "tree", ("buses", "nodes_per_bus", "leaves",
                               "tmpfs_ls_R_s", "ls_R_cold_s", "ls_R_warm_s",
                               "tmpfs_ls_lR_s", "ls_lR_cold_s",
                               "ls_lR_warm_s",
                               "start_to_visible_s", "start_to_running_s",
                               "ddmfs_rss_kib", "driver_rss_kib"))
    need(res["drivers"].get("idle_rss_kib"), "drivers.idle_rss_kib",
         ("ddm-null", "ddm-rtc"))
    check(not bad, "the tree's times and sizes and the idle RSS are "
          "positive numbers" + (f" (not: {bad[:6]})" if bad else ""))
    g = res["guest"]
    check(g.get("status") == "ran" if require_guest else
          g.get("status") in ("ran", "skipped") and
          (g.get("status") == "ran" or g.get("note") or g.get("error")),
          ("the guest part ran" if require_guest else
           "the guest part ran or says why not") + " (status "
          f"{g.get('status')}: {g.get('note', g.get('error', ''))})")
    if g.get("status") == "ran" or require_guest:
        bad = []
        for t in GUEST_TARGETS:
            for op, _ in LAT_OPS:
                need(res["latency"].get(t, {}).get(op), f"latency.{t}.{op}",
                     ("n", "median_ns", "p99_ns"))
        check(not bad, "every guest latency is a positive number" +
              (f" (not: {bad[:6]})" if bad else ""))
    rs = res["ratios"]
    check(rs and all(pos(r.get("value")) and r.get("pair") and
                     r.get("figure") for r in rs),
          f"{len(rs)} ratios, each a positive number with its figure and "
          "pair")
    want = {"ddm-fuse/bare-fuse", "ddm-fuse/tmpfs"}
    have = {r["pair"] for r in rs}
    check(want <= have, f"ratios against bare FUSE and tmpfs are there "
          f"(pairs: {sorted(have)})")
    gs = res["goals"]
    check(len(gs) >= 10 and all(
        "figure" in x and "goal" in x and
        (x["measured"] is None and x["met"] is None or
         pos(x["measured"]) and isinstance(x["met"], bool)) for x in gs),
        f"{len(gs)} goals, each measured (a positive number and met or "
        "not) or said not measured")
    check(isinstance(res["errors"], list) and not res["errors"],
          "no part reported an error" +
          (f" ({res['errors'][:3]})" if res["errors"] else ""))
    return tap(checks)


def pos(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and \
        math.isfinite(v) and v > 0


def tap(checks):
    lines = [f"{'ok' if ok else 'not ok'} {i} - {what}"
             for i, (ok, what) in enumerate(checks, 1)]
    return lines, sum(1 for ok, _ in checks if not ok)


def main(argv):
    if len(argv) >= 3 and argv[1] == "--validate":
        lines, failed = validate(argv[2], "--require-guest" in argv[3:])
        print(f"1..{len(lines)}")
        print("\n".join(lines))
        return 1 if failed else 0
    if len(argv) == 3 and argv[1] == "--table":
        with open(argv[2]) as f:
            print_table(json.load(f), sys.stdout)
        return 0
    if len(argv) == 4 and argv[1] == "--plot":
        with open(argv[2]) as f:
            err = plot(json.load(f), argv[3])
        if err:
            print(f"bench_report: {err}", file=sys.stderr)
            return 1
        return 0
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

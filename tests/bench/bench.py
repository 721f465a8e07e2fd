#!/usr/bin/env python3
"""bench.py: the bench layer (./run bench; ./run check runs it --short).

Usage: bench.py BUILDDIR [--short] [--out DIR] [--tree BUSESxNODES]
                [--no-host] [--no-tree] [--no-guest] [--guest-smp N]
                [--guest-clock icount|wall]

Measures, side by side in one run, and prints one table with every figure
and ratio; writes DIR/bench-results.json (every number, the machine, the
date) and DIR/bench-results.png (the ratios, with gnuplot).  DIR is --out,
by default BUILDDIR (./run bench: build/).

  host      the kernel's own devices, a bare libfuse server (bare_fuse)
            and ddmfs on FUSE (ddm-null driver instances): latency of
            open+close, 1-byte read, 4 KiB read, 1-byte write, an ioctl
            (_IOR, 4 bytes) and a poll wake-up; read and write throughput
            at 4 KiB, 64 KiB and 1 MiB; 4 KiB reads per second of 1 to 16
            threads on one node and spread over 8 nodes (8 ddm-null
            instances, one node each); context switches and CPU time per
            4 KiB read of every process involved; the idle RSS of
            ddm-null and ddm-rtc; rtc0, lp0 and kbd0 figures (extras)
  tree      BUSES buses of NODES leaves (default 100x100, --short 10x10),
            one ddm-null instance per bus serving all of its leaves:
            `ls -R` cold (a fresh mount) and warm against the same shape
            on tmpfs, ddmfs's RSS, the driver's RSS, and the time from
            starting ddmfs to every leaf visible in the mount
  guest     in a QEMU guest (CUSE): the guest kernel's devices, a bare
            libfuse CUSE server (bare_cuse) and ddmfs on the CUSE
            transport serving ddm-null: latency, throughput and cost.
            By default the guest's clock counts instructions (QEMU
            -icount shift=0,sleep=off: one virtual nanosecond per guest
            instruction, idle time skipped), so its times are the
            instructions a path executes, kernel included, and repeat
            from run to run; under TCG's wall clock (--guest-clock wall)
            the same ratios scattered by +-40 % between runs.
            Skipped, with the reason, when QEMU or the guest kernel is
            missing (tests/guest/mkinitramfs.sh fetches the kernel)

Nothing is pass/fail on time: each goal of the issue is shown as "measured
X, goal Y" and called met only from this run's numbers.  The exit status
is 0 when every part ran, 1 when some part could not (its error is in the
table and the JSON), 2 on bad usage.  Needs root (FUSE mounts with
allow_other, tmpfs).  A full run takes about 5 minutes, --short under one.
"""

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_report  # noqa: E402  (after dont_write_bytecode)

SRCDIR = os.path.abspath(os.path.join(HERE, "..", ".."))
GUEST_DIR = os.path.join(SRCDIR, "tests", "guest")

RNDGETENTCNT = 0x80045200  # _IOR('R', 0x00, int): the kernel's cheap _IOR
MOUNT_WAIT_S = 20     # a file system must be mounted within this
RUNNING_WAIT_S = 20   # every driver must be running within this
CLIENT_LIMIT_S = 300  # one bench_client run is killed after this
STOP_WAIT_S = 30      # a server must exit this long after SIGTERM
TREE_VISIBLE_WAIT_S = 120  # every leaf must be visible within this
GUEST_TIMEOUT_S = 420      # the whole guest boot and bench
# the guest's clock: one virtual ns per instruction, idle time skipped
GUEST_ICOUNT = ["-icount", "shift=0,sleep=off"]
GUEST_PREFIX = "DDM-BENCH "
SPREAD_NODES = 8

# per-row time and sample budgets: full run, --short
# per-row time and sample budgets of one round: full run, --short.  Each
# part runs in rounds, the targets in turn (A B C, C B A, A B C ...), so that
# a change in the machine's load weighs on every target alike;
# bench_report merges the rounds.
BUDGET = {
    False: {"budget_ms": 200, "run_ms": 100, "iters": 4000,
            "cost_ops": 4000, "rounds": 5, "ls_runs": 5,
            "tree": (100, 100)},
    True: {"budget_ms": 60, "run_ms": 40, "iters": 1000,
           "cost_ops": 1000, "rounds": 1, "ls_runs": 2, "tree": (10, 10)},
}
GUEST_BUDGET = {
    False: {"budget_ms": 100, "run_ms": 60, "iters": 1000,
            "cost_ops": 600, "rounds": 5},
    True: {"budget_ms": 50, "run_ms": 30, "iters": 300, "cost_ops": 300,
           "rounds": 1},
}


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


class BenchError(Exception):
    """A part of the bench could not run; the message says why."""


class Server:
    """A process started here, with its output in a log file."""

    def __init__(self, name, argv, logpath):
        self.name = name
        self.logpath = logpath
        with open(logpath, "ab") as f:
            self.proc = subprocess.Popen(argv, stdout=f,
                                         stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        self.pid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def logtext(self, n=2000):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def wait_mount(path, server, timeout=MOUNT_WAIT_S):
    deadline = time.monotonic() + timeout
    while not os.path.ismount(path):
        if not server.alive():
            raise BenchError(f"{server.name} exited {server.proc.returncode}"
                             f" before mounting {path}: "
                             f"{server.logtext().strip()}")
        if time.monotonic() > deadline:
            raise BenchError(f"{path} was not mounted within {timeout} s: "
                             f"{server.logtext().strip()}")
        time.sleep(0.01)


def unmount(path):
    if os.path.ismount(path):
        subprocess.run(["umount", "-l", path], check=False)


def vm_rss_kib(pid):
    """VmRSS of pid in KiB, or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class Ddmfs:
    """ddmfs mounted from a conf in a work dir."""

    def __init__(self, build, work, conf_text, name="ddmfs"):
        self.build = build
        self.mnt = os.path.join(work, "mnt")
        self.state = os.path.join(work, "state")
        self.conf = os.path.join(work, "ddmfs.conf")
        os.makedirs(self.mnt, exist_ok=True)
        with open(self.conf, "w") as f:
            f.write(conf_text)
        self.logpath = os.path.join(work, f"{name}.log")
        self.server = None

    def start(self):
        self.started = time.monotonic()
        self.server = Server("ddmfs", [
            os.path.join(self.build, "ddmfs", "ddmfs"), "-f", "-c",
            self.conf, "--state-dir", self.state, self.mnt], self.logpath)
        return self

    def ctl_list(self):
        """ddmctl --json list: {node: (state, pid)}; {} if not answered."""
        r = subprocess.run(
            [os.path.join(self.build, "ddmfs", "ddmctl"), "--state-dir",
             self.state, "--json", "--timeout", "5", "list"],
            capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            return {}
        try:
            nodes = json.loads(r.stdout)["nodes"]
        except (ValueError, KeyError):
            return {}
        return {n["node"]: (n["state"], n["pid"]) for n in nodes}

    def wait_running(self, count, timeout=RUNNING_WAIT_S):
        """Waits until count nodes are listed, all running; returns the
        list."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.server.alive():
                raise BenchError(f"ddmfs exited {self.server.proc.returncode}"
                                 f": {self.server.logtext().strip()}")
            nodes = self.ctl_list()
            if len(nodes) >= count and all(
                    s == "running" for s, _ in nodes.values()):
                return nodes
            if time.monotonic() > deadline:
                bad = sorted(n for n, (s, _) in nodes.items()
                             if s != "running")
                raise BenchError(
                    f"{len(nodes)} of {count} nodes listed within {timeout}"
                    f" s, not running: {', '.join(bad[:5]) or '-'}; "
                    f"{self.server.logtext().strip()}")
            time.sleep(0.05)

    def stop(self):
        if self.server is not None:
            self.server.stop()
        unmount(self.mnt)


class Bench:
    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build)
        self.bin = os.path.join(self.build, "tests", "bench")
        self.short = args.short
        self.b = BUDGET[self.short]
        self.records = []  # bench_client's JSON lines, each with "where"
        self.results = {"host": {}, "tree": {}, "guest": {}}
        self.errors = []

    # -- bench_client --------------------------------------------------
    def client(self, target, part, opts, budget=None, where="host"):
        b = budget or self.b
        argv = [os.path.join(self.bin, "bench_client"), "--target", target,
                "--part", part, "--budget-ms", str(b["budget_ms"]),
                "--run-ms", str(b["run_ms"]), "--iters", str(b["iters"]),
                "--cost-ops", str(b["cost_ops"])] + opts
        try:
            r = subprocess.run(argv, capture_output=True, text=True,
                               timeout=CLIENT_LIMIT_S)
        except subprocess.TimeoutExpired:
            self.error(f"{where} {target} {part}: bench_client took over "
                       f"{CLIENT_LIMIT_S} s")
            return
        for line in r.stdout.splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                self.error(f"{where} {target} {part}: bad output: {line}")
                continue
            rec["where"] = where
            self.records.append(rec)
        if r.returncode != 0:
            self.error(f"{where} {target} {part}: bench_client exited "
                       f"{r.returncode}: {r.stderr.strip()}")

    def error(self, msg):
        log(msg)
        self.errors.append(msg)

    # -- host: kernel, bare FUSE, ddmfs FUSE ----------------------------
    def host(self, tmp):
        bare_mnt = os.path.join(tmp, "bare")
        os.mkdir(bare_mnt)
        work = os.path.join(tmp, "ddm")
        os.mkdir(work)
        nulls = "".join(
            f"""
		{{ name = "null{i}"; driver = "ddm-null"; io = "sim";
		  mode = "0666"; }},""" for i in range(SPREAD_NODES))
        conf = f"""# the bench's host tree: {SPREAD_NODES} ddm-null instances
# (one node each) and the sim rtc0, lp0, kbd0
transport = "fuse";
driver_path = "{self.bin}";
buses = (
	{{ name = "isa0"; mode = "0755";
	  devices = ({nulls}
		{{ name = "rtc0"; driver = "ddm-rtc"; io = "sim"; mode = "0644";
		  ports = [ "0x70-0x71" ]; }},
		{{ name = "lp0"; driver = "ddm-lp"; io = "sim"; mode = "0666";
		  ports = [ "0x378-0x37a" ]; }},
		{{ name = "kbd0"; driver = "ddm-kbd"; io = "sim"; mode = "0644";
		  ports = [ "0x60", "0x64" ]; }}
	  );
	}}
);
"""
        bare = Server("bare_fuse", [os.path.join(self.bin, "bare_fuse"),
                                    "-f", bare_mnt],
                      os.path.join(tmp, "bare_fuse.log"))
        ddm = Ddmfs(self.build, work, conf)
        try:
            wait_mount(bare_mnt, bare)
            ddm.start()
            wait_mount(ddm.mnt, ddm.server)
            nodes = ddm.wait_running(SPREAD_NODES + 3)
            pid = {n.split("/")[-1]: p for n, (_, p) in nodes.items()}
            self.results["host"]["idle_driver_rss_kib"] = {
                "ddm-null": vm_rss_kib(pid["null0"]),
                "ddm-rtc": vm_rss_kib(pid["rtc0"]),
            }
            self.results["host"]["ddmfs_rss_kib_start"] = vm_rss_kib(
                ddm.server.pid)
            node = [os.path.join(ddm.mnt, "isa0", f"null{i}")
                    for i in range(SPREAD_NODES)]
            leaf = [os.path.join(bare_mnt, f"n{i}")
                    for i in range(SPREAD_NODES)]
            targets = [
                ("kernel", ["--open", "/dev/zero", "--read", "/dev/zero",
                            "--write", "/dev/null", "--ioctl", "/dev/urandom",
                            "--ioctl-cmd", str(RNDGETENTCNT), "--poll",
                            "pipe"] +
                 [a for _ in range(SPREAD_NODES)
                  for a in ("--node", "/dev/zero")], []),
                ("bare-fuse", ["--path", leaf[0]] +
                 [a for p in leaf for a in ("--node", p)],
                 [f"--pid=bare_fuse={bare.pid}"]),
                ("ddm-fuse", ["--path", node[0]] +
                 [a for p in node for a in ("--node", p)],
                 [f"--pid=ddmfs={ddm.server.pid}",
                  f"--pid=ddm-null={pid['null0']}"]),
            ]
            for part in ("latency", "throughput", "scaling", "cost"):
                log(f"host: {part}")
                for rnd in range(self.b["rounds"]):
                    for name, opts, pids in (targets if rnd % 2 == 0 else
                                             targets[::-1]):
                        self.client(name, part, opts +
                                    (pids if part == "cost" else []))
            log("host: extras (rtc0, lp0, kbd0)")
            self.client("ddm-fuse", "extras", [
                "--rtc", os.path.join(ddm.mnt, "isa0", "rtc0"),
                "--lp", os.path.join(ddm.mnt, "isa0", "lp0"),
                "--lp-file", os.path.join(tmp, "lp0.file"),
                "--kbd", os.path.join(ddm.mnt, "isa0", "kbd0"),
                "--kbd-fifo", os.path.join(ddm.state, "sim", "kbd0.in")])
            self.results["host"]["ddmfs_rss_kib_end"] = vm_rss_kib(
                ddm.server.pid)
        finally:
            ddm.stop()
            bare.stop()
            unmount(bare_mnt)

    # -- the tree -------------------------------------------------------
    def tree_conf(self, buses, nodes):
        out = [f"# the bench's tree: {buses} buses x {nodes} leaves, one "
               "ddm-null instance per bus",
               'transport = "fuse";', f'driver_path = "{self.bin}";',
               "buses = ("]
        for b in range(buses):
            leaves = ", ".join(f'{{ name = "n{k}"; }}' for k in range(nodes))
            out.append(f'\t{{ name = "b{b}"; mode = "0755"; devices = ( '
                       f'{{ name = "d{b}"; driver = "ddm-null"; io = "sim"; '
                       f'mode = "0666"; nodes = ( {leaves} ); }} ); }}'
                       f'{"," if b < buses - 1 else ""}')
        out.append(");")
        return "\n".join(out) + "\n"

    @staticmethod
    def ls_r(path, flags="-R"):
        """Seconds one `ls -R path` (or ls FLAGS) takes, output to
        /dev/null."""
        t0 = time.perf_counter()
        r = subprocess.run(["ls", flags, path], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True,
                           env=dict(os.environ, LC_ALL="C"), timeout=300)
        dt = time.perf_counter() - t0
        if r.returncode != 0:
            raise BenchError(f"ls {flags} {path} exited {r.returncode}: "
                             f"{r.stderr.strip()[:300]}")
        return dt

    @staticmethod
    def count_leaves(mnt):
        """Leaves visible under mnt (two levels), by readdir only."""
        n = 0
        try:
            with os.scandir(mnt) as buses:
                for b in buses:
                    with os.scandir(b.path) as leaves:
                        n += sum(1 for _ in leaves)
        except OSError:
            pass
        return n

    @contextlib.contextmanager
    def running_tree(self, tmp, name, conf, total):
        """A fresh ddmfs on conf in tmp/name, mounted and with its total
        leaves running: (Ddmfs, its ddmctl list); stopped after."""
        work = os.path.join(tmp, name)
        os.mkdir(work)
        ddm = Ddmfs(self.build, work, conf, name=name)
        try:
            ddm.start()
            wait_mount(ddm.mnt, ddm.server, timeout=TREE_VISIBLE_WAIT_S)
            yield ddm, ddm.wait_running(total, timeout=TREE_VISIBLE_WAIT_S)
        finally:
            ddm.stop()

    def tree(self, tmp, buses, nodes):
        t = self.results["tree"]
        total = buses * nodes
        t.update({"buses": buses, "nodes_per_bus": nodes, "leaves": total,
                  "driver_instances": buses,
                  "layout": "one ddm-null instance per bus serving its "
                            f"{nodes} leaves"})
        runs = self.b["ls_runs"]
        # the same shape on tmpfs
        tdir = os.path.join(tmp, "tmpfs")
        os.mkdir(tdir)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs",
                        tdir], check=True)
        try:
            for b in range(buses):
                d = os.path.join(tdir, f"b{b}")
                os.mkdir(d)
                for k in range(nodes):
                    open(os.path.join(d, f"n{k}"), "w").close()
            tm = [self.ls_r(tdir) for _ in range(runs + 1)]
            tml = [self.ls_r(tdir, "-lR") for _ in range(runs + 1)]
        finally:
            subprocess.run(["umount", tdir], check=False)
        t["tmpfs_ls_R_s"] = median(tm)
        t["tmpfs_ls_R_runs_s"] = tm
        t["tmpfs_ls_lR_s"] = median(tml)

        conf = self.tree_conf(buses, nodes)
        # start 1: from exec to every leaf visible (readdir only)
        work = os.path.join(tmp, "tree1")
        os.mkdir(work)
        ddm = Ddmfs(self.build, work, conf, name="tree1")
        try:
            ddm.start()
            deadline = ddm.started + TREE_VISIBLE_WAIT_S
            seen = 0
            while True:
                if not ddm.server.alive():
                    raise BenchError(
                        f"ddmfs refused or left the {buses} x {nodes} tree "
                        f"(exit {ddm.server.proc.returncode}): "
                        f"{ddm.server.logtext().strip()} (--tree "
                        "BUSESxNODES measures a shape it takes)")
                if os.path.ismount(ddm.mnt):
                    seen = self.count_leaves(ddm.mnt)
                    if seen >= total:
                        break
                if time.monotonic() > deadline:
                    raise BenchError(
                        f"only {seen} of {total} leaves visible "
                        f"{TREE_VISIBLE_WAIT_S} s after start")
                time.sleep(0.005)
            t["start_to_visible_s"] = time.monotonic() - ddm.started
            ddm.wait_running(total, timeout=TREE_VISIBLE_WAIT_S)
            t["start_to_running_s"] = time.monotonic() - ddm.started
        finally:
            ddm.stop()
        # start 2: a fresh mount, so the kernel has looked nothing up
        with self.running_tree(tmp, "tree2", conf, total) as (ddm, nodes_):
            t["ls_R_cold_s"] = self.ls_r(ddm.mnt)
            warm = [self.ls_r(ddm.mnt) for _ in range(runs)]
            t["ls_R_warm_runs_s"] = warm
            t["ls_R_warm_s"] = median(warm)
            if self.count_leaves(ddm.mnt) != total:
                raise BenchError("the tree lost leaves")
            t["ddmfs_rss_kib"] = vm_rss_kib(ddm.server.pid)
            pids = sorted({p for _, p in nodes_.values() if p})
            rss = [vm_rss_kib(p) for p in pids]
            rss = [r for r in rss if r is not None]
            if rss:
                t["driver_rss_kib"] = median(rss)
                t["drivers_rss_kib_total"] = sum(rss)
        # start 3: ls -lR (a lookup and attributes of every leaf), cold
        # and warm, beside the goals
        with self.running_tree(tmp, "tree3", conf, total) as (ddm, _):
            t["ls_lR_cold_s"] = self.ls_r(ddm.mnt, "-lR")
            t["ls_lR_warm_s"] = median([self.ls_r(ddm.mnt, "-lR")
                                        for _ in range(runs)])

    # -- the guest ------------------------------------------------------
    def guest(self):
        g = self.results["guest"]
        g["status"] = "skipped"
        if shutil.which("qemu-system-x86_64") is None:
            g["note"] = "qemu-system-x86_64 not found"
            return
        r = subprocess.run([os.path.join(GUEST_DIR, "mkinitramfs.sh")],
                           capture_output=True, text=True)
        if r.returncode != 0:
            g["note"] = ("no guest kernel or initramfs: " +
                         r.stderr.strip()[-300:])
            return
        b = GUEST_BUDGET[self.short]
        opts = (f"--budget-ms={b['budget_ms']} --run-ms={b['run_ms']} "
                f"--iters={b['iters']} --cost-ops={b['cost_ops']}")
        g["rounds"] = b["rounds"]
        cmd = [os.path.join(GUEST_DIR, "boot.sh"),
               f"--timeout={GUEST_TIMEOUT_S}", f"--smp={self.args.guest_smp}",
               f"--env=DDM_BUILD={self.build}",
               f"--env=DDM_BENCH_OPTS={opts.replace(' ', ',')}",
               f"--env=DDM_BENCH_ROUNDS={b['rounds']}"]
        if self.args.guest_clock == "icount":
            cmd += [f"--qemu-arg={a}" for a in GUEST_ICOUNT]
        cmd += ["--", os.path.join(GUEST_DIR, "guest-bench.sh")]
        log("guest: booting QEMU (TCG) for bare CUSE and ddmfs CUSE")
        t0 = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=GUEST_TIMEOUT_S + 60)
        g["wall_s"] = round(time.monotonic() - t0, 1)
        g["smp"] = self.args.guest_smp
        g["clock"] = ("icount: 1 virtual ns per guest instruction"
                      if self.args.guest_clock == "icount" else
                      "wall (TCG)")
        notes = []
        n = 0
        for line in p.stdout.splitlines():
            i = line.find(GUEST_PREFIX)
            if i < 0:
                if line.startswith("bench-guest: "):
                    notes.append(line[len("bench-guest: "):])
                continue
            try:
                rec = json.loads(line[i + len(GUEST_PREFIX):])
            except ValueError:
                self.error(f"guest: a garbled line: {line[:200]}")
                continue
            if rec.get("kind") == "guest":
                g.update({k: v for k, v in rec.items()
                          if k not in ("kind", "target")})
                continue
            rec["where"] = "guest"
            self.records.append(rec)
            n += 1
        if notes:
            g["notes"] = notes
        if p.returncode != 0 or n == 0:
            tail = "\n".join(p.stdout.splitlines()[-15:])
            raise BenchError(f"the guest bench failed (boot.sh status "
                             f"{p.returncode}, {n} results): "
                             f"{p.stderr.strip()[-400:]} {tail}")
        g["status"] = "ran"

    # -- the whole run --------------------------------------------------
    def run(self):
        started = time.time()
        load_start = os.getloadavg()
        tmp = tempfile.mkdtemp(prefix="ddmbench.", dir="/tmp")
        os.chmod(tmp, 0o755)
        parts = {}
        try:
            if not self.args.no_host:
                parts["host"] = self.part("host", self.host, tmp)
            else:
                self.results["host"] = {"status": "skipped",
                                        "note": "--no-host"}
            if self.args.no_tree:
                self.results["tree"] = {"status": "skipped",
                                        "note": "--no-tree"}
            else:
                buses, nodes = self.tree_shape()
                log(f"tree: {buses} buses x {nodes} leaves")
                parts["tree"] = self.part("tree", self.tree, tmp, buses,
                                          nodes)
            if not self.args.no_guest:
                parts["guest"] = self.part("guest", self.guest)
            else:
                self.results["guest"] = {"status": "skipped",
                                         "note": "--no-guest"}
        finally:
            for m in ("bare", "ddm/mnt", "tree1/mnt", "tree2/mnt",
                      "tree3/mnt", "tmpfs"):
                unmount(os.path.join(tmp, m))
            shutil.rmtree(tmp, ignore_errors=True)
        meta = {
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                  time.gmtime(started)),
            "duration_s": round(time.time() - started, 1),
            "short": self.short,
            "command": " ".join(sys.argv),
            "machine": dict(machine(), loadavg_start=list(load_start),
                            loadavg_end=list(os.getloadavg())),
            "parts": parts,
        }
        return meta

    def tree_shape(self):
        if self.args.tree:
            m = re.fullmatch(r"(\d+)x(\d+)", self.args.tree)
            if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
                sys.exit("bench: --tree wants BUSESxNODES, e.g. 100x100")
            return int(m.group(1)), int(m.group(2))
        return self.b["tree"]

    def part(self, name, fn, *args):
        """Runs one part; returns "ran" or the error that stopped it."""
        try:
            fn(*args)
        except (BenchError, OSError, subprocess.SubprocessError) as e:
            msg = f"{name}: {e}"
            self.error(msg)
            self.results[name]["error"] = str(e)
            return f"error: {e}"
        return "ran"


def median(xs):
    return sorted(xs)[len(xs) // 2]


def machine():
    m = {"cpus": os.cpu_count(), "kernel": platform.release(),
         "arch": platform.machine()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    m["cpu_model"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            m["mem_kib"] = int(f.readline().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/etc/debian_version") as f:
            m["debian"] = f.read().strip()
    except OSError:
        pass
    return m


def main():
    ap = argparse.ArgumentParser(
        description="ddmfs bench: see the top of bench.py")
    ap.add_argument("build")
    ap.add_argument("--short", action="store_true",
                    help="few iterations, a 10x10 tree: proves it works")
    ap.add_argument("--out", help="where bench-results.json and .png go "
                    "(default: BUILD)")
    ap.add_argument("--tree", help="BUSESxNODES (default 100x100, "
                    "--short 10x10)")
    ap.add_argument("--no-host", action="store_true")
    ap.add_argument("--no-tree", action="store_true")
    ap.add_argument("--no-guest", action="store_true")
    ap.add_argument("--guest-smp", type=int, default=1)
    ap.add_argument("--guest-clock", choices=("icount", "wall"),
                    default="icount",
                    help="the guest's clock: instructions (default, "
                    "repeatable) or TCG's wall clock")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: needs root (FUSE mounts with allow_other, tmpfs)")
    build = os.path.abspath(args.build)
    for p in ("ddmfs/ddmfs", "ddmfs/ddmctl", "tests/bench/bench_client",
              "tests/bench/bare_fuse", "tests/bench/bare_cuse",
              "tests/bench/ddm-null"):
        if not os.access(os.path.join(build, p), os.X_OK):
            sys.exit(f"bench: {build}/{p} is not built")
    out = os.path.abspath(args.out or build)
    os.makedirs(out, exist_ok=True)
    b = Bench(args)
    meta = b.run()
    res = bench_report.build(meta, b.records, b.results, b.errors)
    png = os.path.join(out, "bench-results.png")
    err = bench_report.plot(res, png)
    if err:
        b.error(f"chart: {err}")
        res["errors"].append(f"chart: {err}")
    json_path = os.path.join(out, "bench-results.json")
    with open(json_path + ".tmp", "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    os.rename(json_path + ".tmp", json_path)
    bench_report.print_table(res, sys.stdout)
    print(f"\nresults: {json_path}" + ("" if err else f"\nchart:   {png}"))
    return 1 if res["errors"] else 0

if __name__ == "__main__":
    sys.exit(main())

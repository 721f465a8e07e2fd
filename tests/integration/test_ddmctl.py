#!/usr/bin/env python3
"""ddmctl for people and scripts: every verb against a real mount.

list (tab-separated without a terminal, aligned under a header on one;
-v adds the grants, --all the unbound PCI functions), tree, status with
its counters and recent log lines, start, stop, restart, reload, upgrade
and monitor; --json on every read command parses; the exit codes 2
(usage), 3 (no such node) and 4 (not permitted); and monitors: the
events in order, several at once, and one that never reads slows no
one and hears how many events it lost.
"""

import contextlib
import json
import os
import pty
import queue
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ddmtest import (DDMCTL, DDMFS, LP, RTC_LINE, Mount, as_nobody,  # noqa: E402
                     conf_text, mounted, read_node, run, wait_until,
                     write_node)

# rtc0 and nvram0 are one instance ("rtc0"), lp0 another
RTC_NVRAM = """
			{ name = "rtc0"; driver = "ddm-rtc"; io = "sim";
			  ports = [ "0x70-0x71" ]; mode = "0644";
			  nodes = ( { name = "rtc0"; },
			            { name = "nvram0"; mode = "0600"; } ); }"""
TWO = conf_text(devices=RTC_NVRAM + "," + LP)
ONE = conf_text(devices=RTC_NVRAM)
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
LIST_KEYS = ["node", "driver", "instance", "transport", "state", "pid",
             "restarts", "mode", "owner", "group", "grants"]


@contextlib.contextmanager
def both():
    """A mount with rtc0, nvram0 and lp0, every driver running."""
    with mounted(conf=TWO) as m:
        m.wait_running("isa0/lp0")
        yield m


def rows(m, *args):
    return [line.split("\t") for line in m.ctl("list", *args).stdout
            .splitlines()]


def on_a_terminal(m, *args):
    """ddmctl's output with a pseudo-terminal as its stdout."""
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen([DDMCTL, "--state-dir", m.state] + list(args),
                             stdout=slave, stderr=subprocess.PIPE)
        os.close(slave)
        slave = -1
        out = b""
        while True:
            r, _, _ = select.select([master], [], [], 20)
            assert r, "ddmctl on a terminal said nothing for 20 s"
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the other side is closed
                break
            if not chunk:
                break
            out += chunk
        assert p.wait(timeout=20) == 0, p.stderr.read()
        return out.decode().replace("\r\n", "\n")
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)


def test_list_without_a_terminal_is_tab_separated_without_header():
    with both() as m:
        m.wait_running("isa0/rtc0")
        got = rows(m)
        pid_rtc = m.driver_pid("isa0/rtc0")
        pid_lp = m.driver_pid("isa0/lp0")
        assert got == [
            ["isa0/lp0", "ddm-lp", "lp0", "fuse", "running", str(pid_lp),
             "0", "0666", "root", "root"],
            ["isa0/nvram0", "ddm-rtc", "rtc0", "fuse", "running",
             str(pid_rtc), "0", "0600", "root", "root"],
            ["isa0/rtc0", "ddm-rtc", "rtc0", "fuse", "running",
             str(pid_rtc), "0", "0644", "root", "root"],
        ], got
        # a stopped driver: state stopped, pid "-"; chmod shows at once
        m.ctl("stop", "isa0/lp0")
        os.chmod(m.path("isa0/rtc0"), 0o640)
        got = {r[0]: r for r in rows(m)}
        assert got["isa0/lp0"][4:6] == ["stopped", "-"], got
        assert got["isa0/rtc0"][7] == "0640", got


def test_list_on_a_terminal_aligns_columns_under_a_header():
    with both() as m:
        lines = on_a_terminal(m, "list", "-v").splitlines()
        assert len(lines) == 4, lines
        head = lines[0].split()
        assert head == ["NODE", "DRIVER", "INSTANCE", "TRANSPORT", "STATE",
                        "PID", "RESTARTS", "MODE", "OWNER", "GROUP",
                        "GRANTS"], lines
        # every cell starts where its column's title starts
        starts = [lines[0].index(h) for h in head]
        for line in lines[1:]:
            assert "\t" not in line, line
            cells = line.split()
            assert len(cells) == len(head), line
            for cell, col in zip(cells, starts):
                assert line[col:col + len(cell)] == cell, (line, cell, col)
        assert lines[1].split()[0] == "isa0/lp0", lines


def test_list_v_adds_grants_and_all_adds_unbound_pci_functions():
    with both() as m:
        grants = {r[0]: r[10] for r in rows(m, "-v")}
        assert grants == {"isa0/lp0": "0x378-0x37a",
                          "isa0/nvram0": "0x70-0x71",
                          "isa0/rtc0": "0x70-0x71"}, grants
        assert all(len(r) == 10 for r in rows(m)), rows(m)
        every = rows(m, "--all", "-v")
        nodes = [r for r in every if len(r) == 11]
        others = [r for r in every if len(r) != 11]
        assert [r[0] for r in nodes] == ["isa0/lp0", "isa0/nvram0",
                                         "isa0/rtc0"], every
        # whatever PCI functions this host has, none is taken by a rule
        for r in others:
            assert len(r) == 4 and r[3] == "unbound", r
            assert re.match(r"^[0-9a-f]{4}:[0-9a-f]{4}$", r[1]), r


def test_list_json_parses_with_every_field():
    with both() as m:
        doc = json.loads(m.ctl("list", "--json").stdout)
        assert list(doc) == ["nodes"], doc
        by = {n["node"]: n for n in doc["nodes"]}
        assert sorted(by) == ["isa0/lp0", "isa0/nvram0", "isa0/rtc0"], doc
        rtc = by["isa0/rtc0"]
        assert list(rtc) == LIST_KEYS, rtc
        assert rtc["pid"] == m.driver_pid("isa0/rtc0"), rtc
        assert rtc["restarts"] == 0 and rtc["mode"] == "0644", rtc
        assert rtc["instance"] == "rtc0" and by["isa0/nvram0"][
            "instance"] == "rtc0", doc
        assert rtc["grants"] == ["0x70-0x71"], rtc
        m.ctl("stop", "isa0/lp0")
        doc = json.loads(m.ctl("--json", "list", "--all").stdout)
        lp = [n for n in doc["nodes"] if n["node"] == "isa0/lp0"][0]
        assert lp["pid"] is None and lp["state"] == "stopped", lp
        assert isinstance(doc["unbound"], list), doc
        for u in doc["unbound"]:
            assert set(u) == {"address", "vendor", "device", "class",
                              "state"}, u


def test_tree_draws_buses_and_leaves_with_their_state():
    with both() as m:
        m.ctl("stop", "isa0/lp0")
        out = m.ctl("tree").stdout
        assert out.splitlines() == [
            ".",
            "└── isa0",
            "    ├── lp0 [stopped]",
            "    ├── nvram0 [running]",
            "    └── rtc0 [running]",
        ], out
        doc = json.loads(m.ctl("tree", "--json").stdout)
        assert doc["type"] == "dir" and doc["path"] == "", doc
        [isa0] = doc["children"]
        assert (isa0["name"], isa0["path"], isa0["type"]) == \
            ("isa0", "isa0", "dir"), isa0
        leaves = [(c["name"], c["path"], c["type"], c["state"], c["driver"])
                  for c in isa0["children"]]
        assert leaves == [
            ("lp0", "isa0/lp0", "leaf", "stopped", "ddm-lp"),
            ("nvram0", "isa0/nvram0", "leaf", "running", "ddm-rtc"),
            ("rtc0", "isa0/rtc0", "leaf", "running", "ddm-rtc"),
        ], leaves


def test_status_counts_requests_and_errors_and_shows_recent_log_lines():
    with mounted(conf=ONE) as m:
        pid = m.driver_pid("isa0/rtc0")
        before = m.status("isa0/rtc0")
        assert before["instance"] == "rtc0", before
        assert before["errors"] == "0", before
        for _ in range(5):
            assert RTC_LINE.match(read_node(m.path("isa0/rtc0")))
        after = m.status("isa0/rtc0")
        # each read is an open, a read and a release at least
        assert int(after["requests"]) >= int(before["requests"]) + 15, \
            (before, after)
        # a malformed time is answered EINVAL: one error
        try:
            write_node(m.path("isa0/rtc0"), b"not a time\n")
        except OSError:
            pass
        wait_until(lambda: m.status("isa0/rtc0")["errors"] == "1", 5,
                   "the error counted")
        out = m.ctl("status", "isa0/rtc0").stdout
        log = out.split("log:\n", 1)[1].splitlines()
        assert any(line.endswith(f"isa0/rtc0: driver ddm-rtc started "
                                 f"(pid {pid})") for line in log), out
        for line in log:
            assert line.startswith("  ") and TIME.match(line.split()[0]), \
                line
        doc = json.loads(m.ctl("status", "isa0/rtc0", "--json").stdout)
        assert doc["pid"] == pid and doc["errors"] == 1, doc
        assert doc["requests"] >= int(after["requests"]), doc
        assert doc["node"] == "isa0/rtc0" and doc["mode"] == "0644", doc
        assert doc["log"] and doc["log"][0].endswith(
            f"started (pid {pid})"), doc
        assert list(doc)[-1] == "log", doc
        # a kill -9 is in the log the status shows
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: m.status("isa0/rtc0").get("pid") not in
                   (str(pid), "-"), 10, "the restart")
        m.wait_running("isa0/rtc0")
        log = json.loads(m.ctl("--json", "status", "isa0/rtc0").stdout)[
            "log"]
        assert any(line.endswith(f"(pid {pid}) killed by signal 9")
                   for line in log), log
        assert json.loads(m.ctl("--json", "status", "isa0/rtc0").stdout)[
            "restarts"] == 1


def test_exit_codes_for_usage_no_node_and_not_permitted():
    with mounted(conf=ONE) as m:
        for args in ([], ["frobnicate"], ["status"], ["list", "--bogus"],
                     ["status", "a", "b"], ["stop", "--json", "isa0/rtc0"],
                     ["tree", "-v"], ["--timeout", "0", "list"],
                     ["restart", "--all", "isa0/rtc0"]):
            r = m.ctl(*args, check=False)
            assert r.returncode == 2 and r.stderr, (args, r)
            assert r.stdout == "", (args, r)
        for args in (["status", "isa0/nope"], ["restart", "isa0/nope"],
                     ["stop", "isa0"], ["start", "nope0/rtc0"],
                     ["reset", "isa0/nope"]):
            r = m.ctl(*args, check=False)
            assert r.returncode == 3, (args, r)
            name = args[1]
            assert r.stderr == f"ddmctl: No node {name}.\n", (args, r)
        pid = m.driver_pid("isa0/rtc0")
        ctl = [DDMCTL, "--state-dir", m.state]
        for args in (["stop", "isa0/rtc0"], ["restart", "isa0/rtc0"],
                     ["start", "isa0/rtc0"], ["reload"], ["upgrade"],
                     ["reset", "isa0/rtc0"]):
            r = as_nobody(*ctl, *args)
            assert r.returncode == 4, (args, r)
            assert r.stderr.startswith("ddmctl: Permission denied: only "
                                       "root may "), r
        assert m.driver_pid("isa0/rtc0") == pid
        # read commands are for anyone
        r = as_nobody(*ctl, "--json", "status", "isa0/rtc0")
        assert r.returncode == 0 and json.loads(r.stdout)["pid"] == pid, r
        # no ddmfs there: a failure, said in words
        r = m.ctl("--state-dir", os.path.join(m.tmp, "nowhere"), "list",
                  check=False)
        assert r.returncode == 1 and "Cannot connect" in r.stderr, r


def test_help_names_the_state_dir_every_verb_and_the_exit_codes():
    r = subprocess.run([DDMCTL, "--help"], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 0, r
    for word in ("DDMFS_STATE_DIR", "--state-dir", "--json", "--timeout",
                 "list [-v] [--all]", "tree", "status NODE", "start NODE",
                 "stop NODE", "restart NODE", "reset NODE", "reload",
                 "upgrade",
                 "monitor", "2 usage", "3 no such node", "4 not permitted"):
        assert word in r.stdout, (word, r.stdout)
    r = subprocess.run([DDMCTL], capture_output=True, text=True, timeout=20)
    assert r.returncode == 2 and "DDMFS_STATE_DIR" in r.stderr, r


def test_stop_start_restart_and_reload_do_what_they_say():
    with mounted(conf=ONE) as m:
        pid = m.driver_pid("isa0/rtc0")
        assert m.ctl("stop", "isa0/rtc0").stdout == ""
        st = m.status("isa0/rtc0")
        assert (st["state"], st["pid"]) == ("stopped", "-"), st
        m.ctl("start", "isa0/rtc0")
        st = m.status("isa0/rtc0")
        assert st["state"] == "running" and st["pid"] != str(pid), st
        pid = int(st["pid"])
        m.ctl("restart", "isa0/nvram0")  # the same instance
        st = m.status("isa0/rtc0")
        assert st["state"] == "running" and int(st["pid"]) != pid, st
        with open(m.conf, "w") as f:
            f.write(TWO)
        out = m.ctl("reload").stdout
        assert out.endswith("reload: 1 added, 0 removed, 0 restarted\n"), \
            out
        m.wait_running("isa0/lp0")
        # reset: an explicit chmod goes, the conf's mode is back
        os.chmod(m.path("isa0/rtc0"), 0o600)
        assert m.status("isa0/rtc0")["mode"] == "0600"
        assert m.ctl("reset", "isa0/rtc0").stdout == ""
        assert m.status("isa0/rtc0")["mode"] == "0644"
        assert os.stat(m.path("isa0/rtc0")).st_mode & 0o7777 == 0o644


def test_upgrade_keeps_the_drivers_and_ends_monitors_with_an_event():
    with mounted(conf=ONE) as m:
        pid = m.driver_pid("isa0/rtc0")
        mon = Monitor(m, "--json")
        try:
            mon.sync()
            assert m.ctl("upgrade").stdout == "upgraded\n"
            ev = mon.until(lambda e: e["event"] == "upgrade")
            assert ev["node"] == "-", ev
            # ddmfs closed the monitor's connection: ddmctl ends, 0
            assert mon.proc.wait(timeout=20) == 0
        finally:
            mon.close()
        assert m.driver_pid("isa0/rtc0") == pid
        assert RTC_LINE.match(read_node(m.path("isa0/rtc0")))


class Monitor:
    """`ddmctl monitor` running, its lines gathered by a thread."""

    def __init__(self, m, *args):
        self.m = m
        self.json = "--json" in args
        self.proc = subprocess.Popen(
            [DDMCTL, "--state-dir", m.state, "monitor"] + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def event(self, line):
        if self.json:
            return json.loads(line)
        f = line.rstrip("\n").split(" ", 3)
        assert len(f) == 4 and TIME.match(f[0]), line
        return {"time": f[0], "event": f[1], "node": f[2], "detail": f[3]}

    def until(self, pred, timeout=20):
        """Gathers events until one satisfies pred; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no such event; saw {self.seen}"
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            assert line is not None, \
                f"monitor ended: {self.proc.stderr.read()}; saw {self.seen}"
            e = self.event(line)
            self.seen.append(e)
            if pred(e):
                return e

    def sync(self):
        """Waits until this monitor hears events: chmods rtc0 (mode kept
        as 0644) until one is seen."""
        path = self.m.path("isa0/rtc0")
        deadline = time.monotonic() + 20
        while True:
            os.chmod(path, 0o644)
            try:
                return self.until(lambda e: e["event"] == "perm",
                                  timeout=0.2)
            except AssertionError:
                assert time.monotonic() < deadline, "monitor never heard"

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def test_monitors_see_add_remove_kill_restart_and_chmod_in_order():
    with mounted(conf=ONE) as m:
        mons = [Monitor(m, "--json"), Monitor(m)]  # several at once
        try:
            for mon in mons:
                mon.sync()
            pid = m.driver_pid("isa0/rtc0")
            with open(m.conf, "w") as f:
                f.write(TWO)
            m.ctl("reload")  # adds lp0
            m.wait_running("isa0/lp0")
            with open(m.conf, "w") as f:
                f.write(ONE)
            m.ctl("reload")  # removes it
            os.kill(pid, signal.SIGKILL)
            wait_until(lambda: m.status("isa0/rtc0").get("pid") not in
                       (str(pid), "-"), 10, "the restart")
            m.wait_running("isa0/rtc0")
            new_pid = m.driver_pid("isa0/rtc0")
            os.chmod(m.path("isa0/rtc0"), 0o600)
            for mon in mons:
                mon.until(lambda e: e["event"] == "perm" and
                          e["detail"].startswith("mode 0600"))
                want = [
                    ("add", "isa0/lp0", "reload"),
                    ("remove", "isa0/lp0", "reload"),
                    ("exit", "isa0/rtc0", "signal 9"),
                    ("restart", "isa0/rtc0", "restart 1"),
                    ("start", "isa0/rtc0", f"pid {new_pid}"),
                    ("perm", "isa0/rtc0", "mode 0600 owner 0 group 0"),
                ]
                got = [(e["event"], e["node"], e["detail"])
                       for e in mon.seen]
                # in this order, whatever else came between
                at = 0
                for w in want:
                    assert w in got[at:], (w, got)
                    at = got.index(w, at) + 1
                for e in mon.seen:
                    assert TIME.match(e["time"]), e
            ex = [e for e in mons[0].seen if e["event"] == "exit" and
                  e["node"] == "isa0/rtc0"][0]
            assert ex["signal"] == 9 and ex["pid"] == pid, ex
            st = [e for e in mons[0].seen if e["event"] == "start" and
                  e["node"] == "isa0/rtc0"][-1]
            assert st["pid"] == new_pid, st
            perm = mons[0].seen[-1]
            assert (perm["mode"], perm["uid"], perm["gid"]) == \
                ("0600", 0, 0), perm
        finally:
            for mon in mons:
                mon.close()


def test_a_monitor_that_never_reads_slows_no_one_and_hears_what_it_lost():
    with mounted(conf=ONE) as m:
        stalled = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stalled.connect(os.path.join(m.state, "ctl.sock"))
        stalled.sendall(b"monitor\n")
        stalled.settimeout(20)
        assert stalled.recv(3) == b"OK\n"
        path = m.path("isa0/rtc0")
        reads = 0
        try:
            # thousands of events, reads of rtc0 among them
            for i in range(6000):
                os.chmod(path, 0o640 if i % 2 else 0o644)
                if i % 500 == 0:
                    assert RTC_LINE.match(read_node(path))
                    reads += 1
            assert reads == 12
            # ddmctl still answers, and the node still reads
            assert m.status("isa0/rtc0")["state"] == "running"
            assert RTC_LINE.match(read_node(path))
            # now it reads: what queued, then how many were lost
            buf = b""
            lost = None
            deadline = time.monotonic() + 30
            while lost is None:
                assert time.monotonic() < deadline, buf[-500:]
                chunk = stalled.recv(65536)
                assert chunk, "ddmfs closed the monitor"
                buf += chunk
                for line in buf.split(b"\n"):
                    f = line.split(b"\t")
                    if len(f) >= 4 and f[1] == b"lost":
                        lost = int(f[3].split()[0])
            assert lost > 0, lost
            assert re.search(rb"\tlost\t-\t\d+ events lost\tcount=\d+\n",
                             buf), buf[-500:]
        finally:
            stalled.close()
        # the monitor went when its peer did; others still connect
        mon = Monitor(m)
        try:
            mon.sync()
        finally:
            mon.close()


def test_a_monitor_of_a_ddmfs_that_stops_ends_with_status_0():
    m = Mount(conf=ONE)
    try:
        m.start()
        mon = Monitor(m)
        mon.sync()
        assert m.stop() == 0
        assert mon.proc.wait(timeout=20) == 0, mon.proc.stderr.read()
    finally:
        m.cleanup()

BAD_LP = """
			{ name = "lp0"; driver = "ddm-lp"; io = "sim";
			  ports = [ "0x378-0x37a" ]; args = [ "--bogus=1" ]; }"""


def test_a_driver_that_keeps_failing_shows_as_failed_to_monitors_and_list():
    with mounted(conf=ONE) as m:
        mon = Monitor(m, "--json")
        try:
            mon.sync()
            with open(m.conf, "w") as f:
                f.write(conf_text(devices=RTC_NVRAM + "," + BAD_LP))
            m.ctl("reload")
            ev = mon.until(lambda e: e["event"] == "failed", timeout=30)
            assert ev["node"] == "isa0/lp0" and ev["count"] == 5, ev
            got = [(e["event"], e.get("status")) for e in mon.seen
                   if e["node"] == "isa0/lp0"]
            # add, then five exits (status 2: an unknown option), with a
            # restart and a start between them
            assert got[0] == ("add", None), got
            assert [g for g in got if g[0] == "exit"] == [("exit", 2)] * 5, \
                got
            assert [g[0] for g in got].count("restart") == 4, got
            assert got[-1] == ("failed", None), got
            row = [r for r in rows(m) if r[0] == "isa0/lp0"][0]
            assert row[4:6] == ["failed", "-"], row
            st = json.loads(m.ctl("status", "--json", "isa0/lp0").stdout)
            assert st["state"] == "failed" and st["pid"] is None, st
            assert any("failed 5 times in a row" in line
                       for line in st["log"]), st
            # start tries again at once, and says in words that it failed
            r = m.ctl("start", "isa0/lp0", check=False)
            assert r.returncode == 1, r
            assert r.stderr.startswith("ddmctl: Could not start isa0/lp0: "
                                       "its driver is "), r
        finally:
            mon.close()


JOURNAL_NS = """
set -e
mount -t tmpfs none /run
mkdir -p /run/systemd/journal
touch /run/systemd/journal/socket
mount --bind "$1/journal.sock" /run/systemd/journal/socket
exec "$2" -c "$3" --state-dir "$4" "$5"
"""


def test_the_daemon_logs_to_journald_with_node_driver_and_pid_fields():
    """A daemon (no -f) where /run/systemd/journal/socket exists: a
    socket of the test's, in a mount namespace of ddmfs's own."""
    m = Mount(conf=ONE)
    journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    daemon = None
    try:
        journal.bind(os.path.join(m.tmp, "journal.sock"))
        journal.settimeout(5)
        r = subprocess.run(["unshare", "-m", "sh", "-c", JOURNAL_NS, "sh",
                            m.tmp, DDMFS, m.conf, m.state, m.mnt],
                           capture_output=True, text=True, timeout=20)
        assert r.returncode == 0 and r.stderr == "", r
        m.wait_running("isa0/rtc0")
        pid = m.driver_pid("isa0/rtc0")
        with open(f"/proc/{pid}/status") as f:
            daemon = int([line for line in f
                          if line.startswith("PPid:")][0].split()[1])
        os.kill(pid, signal.SIGKILL)
        want = f"isa0/rtc0: driver ddm-rtc (pid {pid}) killed by signal 9"
        deadline = time.monotonic() + 10
        while True:
            data = journal.recv(65536).decode(errors="replace")
            fields = dict(line.split("=", 1) for line in data.split("\n")
                          if "=" in line)
            if fields.get("MESSAGE") == want:
                break
            assert time.monotonic() < deadline, data
        assert fields["NODE"] == "isa0/rtc0", fields
        assert fields["DRIVER"] == "ddm-rtc", fields
        assert fields["PID"] == str(pid), fields
        assert fields["SYSLOG_IDENTIFIER"] == "ddmfs", fields
        assert fields["PRIORITY"] == "5", fields  # LOG_NOTICE
    finally:
        if daemon is not None:
            os.kill(daemon, signal.SIGTERM)
            wait_until(lambda: not os.path.exists(f"/proc/{daemon}"),
                       what="the daemon to exit")
        journal.close()
        m.cleanup()


if __name__ == "__main__":
    sys.exit(run([
        test_list_without_a_terminal_is_tab_separated_without_header,
        test_list_on_a_terminal_aligns_columns_under_a_header,
        test_list_v_adds_grants_and_all_adds_unbound_pci_functions,
        test_list_json_parses_with_every_field,
        test_tree_draws_buses_and_leaves_with_their_state,
        test_status_counts_requests_and_errors_and_shows_recent_log_lines,
        test_exit_codes_for_usage_no_node_and_not_permitted,
        test_help_names_the_state_dir_every_verb_and_the_exit_codes,
        test_stop_start_restart_and_reload_do_what_they_say,
        test_upgrade_keeps_the_drivers_and_ends_monitors_with_an_event,
        test_monitors_see_add_remove_kill_restart_and_chmod_in_order,
        test_a_monitor_that_never_reads_slows_no_one_and_hears_what_it_lost,
        test_a_monitor_of_a_ddmfs_that_stops_ends_with_status_0,
        test_a_driver_that_keeps_failing_shows_as_failed_to_monitors_and_list,
        test_the_daemon_logs_to_journald_with_node_driver_and_pid_fields,
    ]))

"""Host integration: ddmfs replaced while it runs, crashed, debugged and
reconfigured, without its users noticing more than they must.

ddmctl upgrade re-execs the binary on disk with everything handed over:
readers keep reading, blocked reads and pollers are answered by the new
process, drivers keep their pids.  A reload adds, removes and restarts
nodes without a remount.  A driver held by a debugger is not killed by
the heartbeat.
"""

import errno
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time

from ddmtest import (BUILD, DDMFS, KBD, LP, RTC, RTC_LINE, Mount, conf_text,
                     expect_errno, read_node, run, wait_until, write_node)

HI = b"\x23\xa3\x17\x97"  # set-1 scancodes: h, i


def pids(m, nodes):
    return {n: m.driver_pid(n) for n in nodes}


def test_ten_upgrades_under_16_readers_lose_nothing():
    nodes = ("isa0/rtc0", "isa0/kbd0")
    with Mount(conf=conf_text(",".join((RTC, KBD)))) as m:
        m.wait_running("isa0/kbd0")
        before = pids(m, nodes)
        ddmfs_pid = m.proc.pid
        good, bad = [0], []
        stop = threading.Event()

        def reader():
            while not stop.is_set():
                try:
                    out = read_node(m.path("isa0/rtc0"))
                    if RTC_LINE.match(out):
                        good[0] += 1
                    else:
                        bad.append(out)
                except OSError as e:
                    bad.append(errno.errorcode[e.errno])

        held = os.open(m.path("isa0/rtc0"), os.O_RDONLY)  # opened before
        kbd = os.open(m.path("isa0/kbd0"), os.O_RDONLY)
        polled = os.open(m.path("isa0/kbd0"), os.O_RDONLY)
        typed = []
        blocked = threading.Thread(target=lambda: typed.append(
            os.read(kbd, 100)))  # a read that waits across the upgrades
        blocked.start()
        poller = select.poll()
        poller.register(polled, select.POLLIN)
        assert poller.poll(100) == []  # the kernel now holds a poll handle
        threads = [threading.Thread(target=reader) for _ in range(16)]
        for t in threads:
            t.start()
        try:
            for i in range(10):
                r = m.ctl("upgrade")
                assert r.stdout == "upgraded\n", r
                assert good[0] > 0
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        assert bad == [], bad[:10]
        n = good[0]
        assert n > 0
        with open(os.path.join(m.state, "sim", "kbd0.in"), "wb") as f:
            f.write(HI)
        blocked.join(15)
        assert typed == [b"hi"], typed
        assert poller.poll(5000) == [(polled, select.POLLIN)]
        assert RTC_LINE.match(os.read(held, 100))
        for fd in (held, kbd, polled):
            os.close(fd)
        assert pids(m, nodes) == before
        assert m.proc.pid == ddmfs_pid and m.proc.poll() is None
        assert sum("upgraded: pid" in line for line in m.log_lines()) == 10
        print(f"# {n} reads by 16 readers over 10 upgrades, 0 failed")


def test_an_upgrade_to_a_binary_that_cannot_take_over_is_refused():
    with Mount() as m0:
        tree = os.path.join(m0.tmp, "b")
        os.makedirs(os.path.join(tree, "ddmfs"))
        os.symlink(os.path.join(BUILD, "drivers"),
                   os.path.join(tree, "drivers"))
        exe = os.path.join(tree, "ddmfs", "ddmfs")
        shutil.copy(DDMFS, exe)
        m = Mount(exe=exe)
        try:
            m.start()
            pid = m.driver_pid("isa0/rtc0")
            with open(exe + ".new", "w") as f:
                f.write("#!/bin/sh\necho ddmfs upgrade format 0\n")
            os.chmod(exe + ".new", 0o755)
            os.rename(exe + ".new", exe)  # a newer ddmfs that reads another
            r = m.ctl("upgrade", check=False)
            assert r.returncode == 1, r
            # what this ddmfs reads: ddmfs --upgrade-check says it
            ours = subprocess.run([DDMFS, "--upgrade-check"], text=True,
                                  capture_output=True).stdout.strip()
            assert ours.startswith("ddmfs upgrade format "), ours
            assert (f"answers \"ddmfs upgrade format 0\", not \"{ours}\""
                    in r.stderr), r.stderr
            # the old one serves on
            assert RTC_LINE.match(read_node(m.path("isa0/rtc0")))
            assert m.driver_pid("isa0/rtc0") == pid
            assert m.ctl("list").stdout.startswith(
                "isa0/rtc0\tddm-rtc\trtc0\tfuse\trunning\t")
        finally:
            m.cleanup()


def test_a_driver_held_by_a_debugger_for_20_s_is_not_restarted():
    with Mount() as m:
        pid = m.driver_pid("isa0/rtc0")
        gdb = subprocess.Popen(["gdb", "-nx", "-batch", "-p", str(pid),
                                "-ex", "shell sleep 20"],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)

        def traced():
            with open(f"/proc/{pid}/status") as f:
                return any(line.startswith("TracerPid:") and
                           line.split()[1] != "0" for line in f)

        try:
            wait_until(traced, 20, "gdb to attach")
            reader = subprocess.Popen(["cat", m.path("isa0/rtc0")],
                                      stdout=subprocess.PIPE)
            assert gdb.wait(60) == 0
            out, _ = reader.communicate(timeout=10)
        finally:
            if gdb.poll() is None:
                gdb.kill()
        assert reader.returncode == 0 and RTC_LINE.match(out), out
        st = m.status("isa0/rtc0")
        assert st["pid"] == str(pid) and st["restarts"] == "0", st
        assert any("is being traced; its deadlines wait" in line
                   for line in m.log_lines()), m.logtext()


def test_reload_adds_removes_and_restarts_nodes_without_a_remount():
    with Mount(conf=conf_text(",".join((RTC, LP)))) as m:
        m.wait_running("isa0/lp0")
        rtc_pid, lp_pid = m.driver_pid("isa0/rtc0"), m.driver_pid("isa0/lp0")
        held = os.open(m.path("isa0/rtc0"), os.O_RDONLY)
        assert sorted(os.listdir(m.path("isa0"))) == ["lp0", "rtc0"]
        with open(m.conf, "w") as f:  # rtc0 out, kbd0 in, lp0 as nobody
            f.write(conf_text(",".join(
                (LP.replace('mode = "0666";',
                            'mode = "0666"; user = "nobody";'), KBD))))
        out = m.ctl("reload").stdout
        assert "reload: isa0/kbd0 added\n" in out, out
        assert "reload: isa0/rtc0 removed\n" in out, out
        assert ("reload: isa0/lp0 restarted with its new driver "
                "settings\n") in out, out
        assert out.endswith("reload: 1 added, 1 removed, 1 restarted\n"), out
        assert sorted(os.listdir(m.path("isa0"))) == ["kbd0", "lp0"]
        expect_errno(errno.ENOENT, os.stat, m.path("isa0/rtc0"))
        expect_errno(errno.ENODEV, os.read, held, 100)
        os.close(held)
        wait_until(lambda: not os.path.exists(f"/proc/{rtc_pid}"), 10,
                   "rtc0's driver to stop")
        m.wait_running("isa0/kbd0")
        m.wait_running("isa0/lp0")
        new_lp = m.driver_pid("isa0/lp0")
        assert new_lp != lp_pid
        with open(f"/proc/{new_lp}/status") as f:
            assert [line.split()[1] for line in f
                    if line.startswith("Uid:")] == ["65534"]
        assert write_node(m.path("isa0/lp0"), b"x") == 1
        assert "isa0/rtc0" not in m.ctl("list").stdout
        # a broken conf changes nothing and says where it is broken
        with open(m.conf, "a") as f:
            f.write("\nbogus = ;\n")
        r = m.ctl("reload", check=False)
        assert r.returncode == 1 and f"{m.conf}:" in r.stderr, r
        assert sorted(os.listdir(m.path("isa0"))) == ["kbd0", "lp0"]


def test_a_killed_ddmfs_comes_back_with_tree_perms_and_drivers():
    nodes = ("isa0/rtc0", "isa0/lp0", "isa0/kbd0")
    m = Mount(conf=conf_text(",".join((RTC, LP, KBD))))
    try:
        m.start()
        for n in nodes:
            m.wait_running(n)
        os.chmod(m.path("isa0/lp0"), 0o600)
        before = pids(m, nodes)
        m.proc.send_signal(signal.SIGKILL)
        m.proc.wait()
        m.proc = None
        m.start()
        for n in nodes:
            m.wait_running(n)
        assert pids(m, nodes) == before
        assert os.stat(m.path("isa0/lp0")).st_mode & 0o777 == 0o600
        assert sorted(os.listdir(m.path("isa0"))) == ["kbd0", "lp0", "rtc0"]
        with open(os.path.join(m.state, "sim", "kbd0.in"), "wb") as f:
            f.write(HI)
        fd = os.open(m.path("isa0/kbd0"), os.O_RDONLY | os.O_NONBLOCK)
        os.close(fd)
        assert m.stop() == 0
        for pid in before.values():
            wait_until(lambda: not os.path.exists(f"/proc/{pid}/exe"), 10,
                       f"driver {pid} to be gone")
    finally:
        m.cleanup()


if __name__ == "__main__":
    sys.exit(run([
        test_ten_upgrades_under_16_readers_lose_nothing,
        test_an_upgrade_to_a_binary_that_cannot_take_over_is_refused,
        test_a_driver_held_by_a_debugger_for_20_s_is_not_restarted,
        test_reload_adds_removes_and_restarts_nodes_without_a_remount,
        test_a_killed_ddmfs_comes_back_with_tree_perms_and_drivers,
    ]))

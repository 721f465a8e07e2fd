#!/usr/bin/env python3
"""A node with spawn = "manual": its driver is started by hand (here under
gdb too) with --attach, asks ddmfs over the control socket, gets what the
conf grants, and serves; who may attach; ddmctl restart waits for the next
one; the edit, rebuild, restart cycle is timed."""

import errno
import os
import pwd
import shutil
import subprocess
import time

from ddmtest import (BUILD, NOBODY, RTC_LINE, Mount, conf_text,
                     expect_errno, read_node, run, wait_until)

RTC_BIN = os.path.join(BUILD, "drivers", "rtc", "ddm-rtc")
MANUAL = """
			{ name = "rtc0"; driver = "ddm-rtc"; io = "sim";
			  ports = [ "0x70-0x71" ]; mode = "0644"; spawn = "manual";
			  nodes = ( { name = "rtc0"; },
			            { name = "nvram0"; kind = "nvram"; } ); },
			{ name = "lp0"; driver = "ddm-lp"; io = "sim";
			  ports = [ "0x378-0x37a" ]; mode = "0666"; }"""


class _Manual:
    """mounted() that waits for lp0, not the manual rtc0."""

    def __enter__(self):
        self.m = Mount(conf=conf_text(MANUAL))
        try:
            self.m.start(wait_for="isa0/lp0")
        except Exception:
            self.m.cleanup()
            raise
        return self.m

    def __exit__(self, *exc):
        self.m.cleanup()


def attach(m, *extra, user=None, gdb=False, exe=RTC_BIN):
    """Starts ddm-rtc --attach isa0/rtc0 by hand, as user (a name)."""
    cmd = [exe, "--attach", "isa0/rtc0"] + list(extra)
    if gdb:
        cmd = ["gdb", "-q", "-batch", "-ex", "run", "--args"] + cmd
    if user is not None:
        pw = pwd.getpwnam(user)
        cmd = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}",
               "--clear-groups", "--"] + cmd
    env = dict(os.environ, DDMFS_STATE_DIR=m.state)
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def stop(p):
    if p.poll() is None:
        p.terminate()
    try:
        return p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.communicate()


def test_a_manual_node_waits_and_a_hand_started_driver_serves_it():
    with _Manual() as m:
        assert m.status("isa0/rtc0")["state"] == "manual"
        expect_errno(errno.ENXIO, read_node, m.path("isa0/rtc0"))
        p = attach(m)
        try:
            m.wait_running("isa0/rtc0")
            assert RTC_LINE.match(read_node(m.path("isa0/rtc0")))
            # both nodes of the instance come with it
            with open(m.path("isa0/nvram0"), "rb", buffering=0) as f:
                assert len(os.pread(f.fileno(), 200, 0)) == 114
            st = m.status("isa0/rtc0")
            assert int(st["pid"]) == p.pid, (st, p.pid)
            assert "started by hand attached" in m.logtext()
        finally:
            out, err = stop(p)
        # its exit is no failure: the node waits for the next one
        wait_until(lambda: m.status("isa0/rtc0")["state"] == "manual",
                   what="manual again")
        assert m.status("isa0/rtc0")["restarts"] == "0"


def test_a_driver_under_gdb_serves_its_node():
    with _Manual() as m:
        p = attach(m, gdb=True)
        try:
            m.wait_running("isa0/rtc0", timeout=30)
            assert RTC_LINE.match(read_node(m.path("isa0/rtc0")))
            pid = int(m.status("isa0/rtc0")["pid"])
            with open(f"/proc/{pid}/status") as f:
                tracer = [l for l in f if l.startswith("TracerPid:")][0]
            assert int(tracer.split()[1]) != 0, tracer  # gdb holds it
        finally:
            stop(p)


def test_only_root_or_the_conf_user_may_attach():
    with _Manual() as m:
        p = attach(m, user="nobody")
        out, err = p.communicate(timeout=20)
        assert p.returncode == 1, (p.returncode, err)
        assert "permission denied: uid %d is neither root nor the user " \
               "of isa0/rtc0" % NOBODY in err, err
        assert m.status("isa0/rtc0")["state"] == "manual"
        # the conf's user (the default driver user) may
        p = attach(m, user="ddmfs")
        try:
            m.wait_running("isa0/rtc0")
            assert RTC_LINE.match(read_node(m.path("isa0/rtc0")))
            # and a second one while it serves is refused
            q = attach(m)
            out, err = q.communicate(timeout=20)
            assert q.returncode == 1, err
            assert "isa0/rtc0 is running, not waiting for a driver" in err
        finally:
            stop(p)


def test_attach_refuses_a_node_ddmfs_starts_and_bad_options():
    with _Manual() as m:
        env = dict(os.environ, DDMFS_STATE_DIR=m.state)
        lp = os.path.join(BUILD, "drivers", "lp", "ddm-lp")
        r = subprocess.run([lp, "--attach", "isa0/lp0"], env=env,
                           capture_output=True, text=True, timeout=20)
        assert r.returncode == 1, r
        assert "isa0/lp0 is started by ddmfs" in r.stderr, r.stderr
        r = subprocess.run([RTC_BIN, "--attach", "isa0/nosuch0"], env=env,
                           capture_output=True, text=True, timeout=20)
        assert r.returncode == 1 and "no such node: isa0/nosuch0" in \
            r.stderr, r.stderr
        # an option the conf's entry does not match is refused
        r = subprocess.run([RTC_BIN, "--attach", "isa0/rtc0", "--io=pio"],
                           env=env, capture_output=True, text=True,
                           timeout=20)
        assert r.returncode == 1, r
        assert "--io=pio is not what ddmfs gives isa0/rtc0" in r.stderr
        # the driver's own checks: unknown options, options without value
        r = subprocess.run([RTC_BIN, "--attach", "isa0/rtc0", "--bogus=1"],
                           env=env, capture_output=True, text=True,
                           timeout=20)
        assert r.returncode == 2, r
        assert "unknown option '--bogus=1'" in r.stderr, r.stderr
        r = subprocess.run([RTC_BIN, "--attach"], env=env,
                           capture_output=True, text=True, timeout=20)
        assert r.returncode == 2, r
        assert "option '--attach' needs a value" in r.stderr, r.stderr
        # nothing attached meanwhile
        assert m.status("isa0/rtc0")["state"] == "manual"


def test_edit_rebuild_restart_cycle_is_timed():
    # The rebuild happens in a private copy of the driver's build dir (at
    # the same depth, so its relative paths hold): relinking the shared
    # ddm-rtc would pull it from under the tests running alongside.
    src = os.path.join(BUILD, "drivers", "rtc")
    priv = os.path.join(BUILD, "drivers", f"rtc-rebuild.{os.getpid()}")
    shutil.copytree(src, priv, symlinks=True)
    try:
        with _Manual() as m:
            p = attach(m)
            try:
                m.wait_running("isa0/rtc0")
                t0 = time.monotonic()
                for f in os.listdir(priv):  # the edit: rtc.c changed
                    if f.endswith(".o"):
                        os.unlink(os.path.join(priv, f))
                subprocess.run(["make", "-s", "-C", priv, "ddm-rtc"],
                               check=True, capture_output=True, timeout=120)
                t1 = time.monotonic()
                r = m.ctl("restart", "isa0/rtc0")
                assert "waits for a driver started by hand" in r.stdout, r
                p.wait(timeout=10)  # ddmfs stopped the old one
                assert m.status("isa0/rtc0")["state"] == "manual"
                p = attach(m, exe=os.path.join(priv, "ddm-rtc"))
                wait_until(lambda: _reads(m), what="rtc0 served again")
                t2 = time.monotonic()
                print(f"# edit+rebuild {1000 * (t1 - t0):.0f} ms, "
                      f"restart+attach+first read "
                      f"{1000 * (t2 - t1):.0f} ms, "
                      f"cycle {1000 * (t2 - t0):.0f} ms")
            finally:
                stop(p)
    finally:
        shutil.rmtree(priv, ignore_errors=True)


def _reads(m):
    try:
        return RTC_LINE.match(read_node(m.path("isa0/rtc0"))) is not None
    except OSError:
        return False


if __name__ == "__main__":
    raise SystemExit(run([
        test_a_manual_node_waits_and_a_hand_started_driver_serves_it,
        test_a_driver_under_gdb_serves_its_node,
        test_only_root_or_the_conf_user_may_attach,
        test_attach_refuses_a_node_ddmfs_starts_and_bad_options,
        test_edit_rebuild_restart_cycle_is_timed,
    ]))

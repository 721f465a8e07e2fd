"""Host integration: ddmfs survives hostile and hung drivers.

Each test mounts a real rtc0 next to evil0, served by evil_driver.py in
one of its modes, and checks that the bad driver is caught (restarted,
its clients answered) while rtc0 keeps answering.  The last one is a
hostile state dir: a permission save that fails must leave no trace.
"""

import contextlib
import errno
import os
import signal
import subprocess
import sys
import threading
import time

from ddmtest import (RTC_LINE, Mount, conf_text, expect_errno, read_node, run,
                     wait_until)

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.join(os.environ["DDM_SRCDIR"], "tests", "integration") \
    if os.environ.get("DDM_SRCDIR") else HERE
# Readers blocked on evil0 at once: their requests (about 280 fit) fill
# its socket, and the rest stop in ddmfs's sends, more than libfuse's
# default of 10 worker threads.
READERS = 320
HAMMER = """
import errno, os, sys, threading
fds = [os.open(sys.argv[1], os.O_RDONLY) for _ in range(int(sys.argv[2]))]
errs = []
def read(fd):
    try:
        os.read(fd, 100)
        errs.append("read")
    except OSError as e:
        errs.append(errno.errorcode[e.errno])
threads = [threading.Thread(target=read, args=(fd,)) for fd in fds]
for t in threads:
    t.start()
print("reading", flush=True)
for t in threads:
    t.join()
print(" ".join(errs), flush=True)
"""


@contextlib.contextmanager
def hostile_mount(*args, wait_evil=True):
    """A mount of rtc0 and evil0, evil_driver.py run with args."""
    quoted = ", ".join(f'"{a}"' for a in args)
    devices = f"""
			{{ name = "rtc0"; driver = "ddm-rtc"; io = "sim";
			  ports = [ "0x70-0x71" ]; mode = "0644"; }},
			{{ name = "evil0"; driver = "evil_driver.py";
			  mode = "0666"; args = [ {quoted} ]; }}
"""
    m = Mount(conf=conf_text(devices, f'driver_path = "{SRCDIR}";'))
    try:
        m.start()
        if wait_evil:
            m.wait_running("isa0/evil0")
        yield m
    finally:
        m.cleanup()


def restarts(m, node="isa0/evil0"):
    return int(m.status(node)["restarts"])


def rtc0_answers(m):
    """cat of rtc0 succeeds within a bounded time with one rtc line."""
    r = subprocess.run(["cat", m.path("isa0/rtc0")], capture_output=True,
                       timeout=10)
    assert r.returncode == 0, r
    assert RTC_LINE.match(r.stdout), r.stdout
    return True


def test_driver_that_stops_reading_is_restarted_and_rtc0_answers():
    with hostile_mount("--mode=stopread", f"--after={READERS}") as m:
        # the readers live in a child: every fork of a process holding
        # evil0 fds (cat below) would close them, and each close sends
        # evil0 a flush
        hammer = subprocess.Popen(
            [sys.executable, "-c", HAMMER, m.path("isa0/evil0"),
             str(READERS)], stdout=subprocess.PIPE, text=True)
        try:
            assert hammer.stdout.readline() == "reading\n"
            reads = 0
            deadline = time.monotonic() + 30
            while hammer.poll() is None:
                assert time.monotonic() < deadline, "readers still blocked"
                reads += rtc0_answers(m)
            errors = hammer.stdout.read().split()
        finally:
            if hammer.poll() is None:
                hammer.kill()
        assert reads >= 1
        assert errors == [errno.errorcode[errno.EIO]] * READERS, errors
        wait_until(lambda: restarts(m) >= 1, 20, "evil0 restart")
        assert any("isa0/evil0" in line and "did not read its socket" in line
                   for line in m.log_lines()), m.logtext()
        rtc0_answers(m)
        assert restarts(m, "isa0/rtc0") == 0


def test_sigkilled_reader_of_a_silent_driver_exits():
    with hostile_mount("--mode=silent") as m:
        before = int(m.status("isa0/evil0")["requests"])
        cat = subprocess.Popen(["cat", m.path("isa0/evil0")],
                               stdout=subprocess.DEVNULL)
        try:
            # open and read forwarded: the read now waits in the driver
            wait_until(lambda: int(m.status("isa0/evil0")["requests"]) >=
                       before + 2, 10, "the read to reach evil0")
            cat.kill()
            assert cat.wait(timeout=15) == -signal.SIGKILL
        finally:
            if cat.poll() is None:
                cat.kill()
        assert not os.path.exists(f"/proc/{cat.pid}/stat")
        wait_until(lambda: restarts(m) >= 1, 20, "evil0 restart")
        assert any("isa0/evil0" in line and "interrupted request" in line
                   for line in m.log_lines()), m.logtext()
        rtc0_answers(m)


def test_flooding_driver_is_restarted_and_its_log_stays_small():
    with hostile_mount("--mode=flood", wait_evil=False) as m:
        wait_until(lambda: restarts(m) >= 1, 20, "evil0 restart")
        # ddmfs stays responsive while the driver floods and restarts
        for _ in range(10):
            rtc0_answers(m)
        wait_until(lambda: m.status("isa0/evil0")["state"] == "failed", 20,
                   "evil0 to be given up")
        evil = [line for line in m.log_lines() if "isa0/evil0" in line]
        assert 0 < len(evil) < 100, len(evil)
        assert any("bogus messages in a row (reply to unknown request" in
                   line for line in evil), \
            evil
        rtc0_answers(m)


def test_read_reply_longer_than_asked_gives_eio_and_a_restart():
    with hostile_mount("--mode=bigread") as m:
        fd = os.open(m.path("isa0/evil0"), os.O_RDONLY)
        try:
            expect_errno(errno.EIO, os.read, fd, 100)
        finally:
            os.close(fd)
        wait_until(lambda: restarts(m) >= 1, 20, "evil0 restart")
        assert any("isa0/evil0" in line and
                   "read reply of 101/101 bytes, 100 asked" in line
                   for line in m.log_lines()), m.logtext()


def test_driver_that_ignores_pings_is_restarted_and_rtc0_is_not():
    with hostile_mount("--mode=mute") as m:
        pid = m.driver_pid("isa0/evil0")
        rtc_pid = m.driver_pid("isa0/rtc0")
        wait_until(lambda: restarts(m) >= 1, 20, "evil0 restart")
        want = (f"isa0/evil0: driver evil_driver.py (pid {pid}): did not "
                f"answer for 5 s; restarting it")
        assert any(want in line for line in m.log_lines()), m.logtext()
        # rtc0 idled as long, was pinged too, and answered
        assert restarts(m, "isa0/rtc0") == 0
        assert m.driver_pid("isa0/rtc0") == rtc_pid
        assert not any("isa0/rtc0" in line for line in m.log_lines()), \
            m.logtext()
        rtc0_answers(m)


def test_failed_chmod_save_leaves_the_node_on_conf_defaults():
    with hostile_mount("--mode=silent") as m:
        node = m.path("isa0/rtc0")
        perms = os.path.join(m.state, "perms")
        os.mkdir(perms)  # the atomic save cannot rename onto it
        expect_errno(errno.EISDIR, os.chmod, node, 0o600)
        assert os.stat(node).st_mode & 0o7777 == 0o644
        os.rmdir(perms)
        with open(m.conf) as f:
            text = f.read()
        with open(m.conf, "w") as f:
            f.write(text.replace('mode = "0644"', 'mode = "0640"'))
        m.ctl("reload")
        # no entry was left behind: the node follows the new default
        wait_until(lambda: os.stat(node).st_mode & 0o7777 == 0o640, 10,
                   "rtc0 to take the conf's new mode")
        assert not os.path.exists(perms)


def test_a_driver_of_the_first_protocol_is_sent_no_more_than_it_takes():
    # evil_driver.py announces no payload limit in its HELLO, as drivers
    # built before the limit grew: ddmfs sends it 64 KiB at most, and a
    # bigger write is a short write, not a packet cut short
    with hostile_mount("--mode=stopread", "--after=1000000") as m:
        fd = os.open(m.path("isa0/evil0"), os.O_WRONLY)
        try:
            n = os.write(fd, b"w" * (1 << 20))
        finally:
            os.close(fd)
        assert n == 64 * 1024, n
        assert restarts(m) == 0


if __name__ == "__main__":
    sys.exit(run([
        test_driver_that_stops_reading_is_restarted_and_rtc0_answers,
        test_sigkilled_reader_of_a_silent_driver_exits,
        test_flooding_driver_is_restarted_and_its_log_stays_small,
        test_read_reply_longer_than_asked_gives_eio_and_a_restart,
        test_driver_that_ignores_pings_is_restarted_and_rtc0_is_not,
        test_failed_chmod_save_leaves_the_node_on_conf_defaults,
        test_a_driver_of_the_first_protocol_is_sent_no_more_than_it_takes,
    ]))

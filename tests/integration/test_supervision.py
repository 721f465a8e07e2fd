"""Host integration: ddmfs and its drivers survive what an admin meets on
day one.  Each test pins one defect that was found by trying ddmfs out:
a build under a 0700 home, a 0700 state dir, a second ddmfs, a ddmfs
killed with -9, opens during a driver's restart, a stopped driver, slow
and hostile control clients, many devices, the clock ioctl, the drivers'
own user, a driver's forked processes, and the smaller ones.
"""

import errno
import fcntl
import os
import pwd
import resource
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

from ddmtest import (BUILD, DDMCTL, DDMFS, KBD, LP, RTC, RTC_LINE, SANITIZERS,
                     Mount, as_nobody, conf_text, expect_errno, read_node, run,
                     wait_until, write_node)

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.join(os.environ["DDM_SRCDIR"], "tests", "integration") \
    if os.environ.get("DDM_SRCDIR") else HERE
RTC_BIN = os.path.join(BUILD, "drivers", "rtc", "ddm-rtc")
NULL_DIR = os.path.join(BUILD, "tests", "bench")
RTC_SET_TIME = 0x4024700a  # _IOW('p', 0x0a, struct rtc_time)
DRIVER_USER = "ddmfs"



def devices(*parts):
    return ",".join(parts)


def evil(mode, name="evil0"):
    return f"""
			{{ name = "{name}"; driver = "evil_driver.py";
			  mode = "0666"; args = [ "--mode={mode}" ]; }}"""


def evil_conf(*parts):
    return conf_text(devices(*parts), f'driver_path = "{SRCDIR}";')


def rtc_ok(m):
    out = read_node(m.path("isa0/rtc0"))
    assert RTC_LINE.match(out), out
    return out


def start_plain(args, timeout=20):
    """Runs ddmfs in the foreground to be refused: (status, stderr)."""
    r = subprocess.run([DDMFS, "-f"] + args, capture_output=True,
                       text=True, timeout=timeout)
    return r.returncode, r.stderr


def mounts_on(path):
    with open("/proc/self/mountinfo") as f:
        return sum(1 for line in f if line.split()[4] == path)


def children(pid):
    """The pids whose parent is pid."""
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/status") as f:
                for line in f:
                    if line.startswith("PPid:") and \
                            int(line.split()[1]) == pid:
                        kids.append(int(d))
                        break
        except OSError:
            pass
    return kids


def alive(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return not any(line.startswith("State:") and "Z" in line
                           for line in f)
    except OSError:
        return False


def test_a_driver_in_a_0700_directory_runs_through_its_fd():
    home = tempfile.mkdtemp(prefix="ddmhome.")  # 0700, root's: like /root
    try:
        os.chmod(home, 0o700)
        shutil.copy(RTC_BIN, os.path.join(home, "ddm-rtc-home"))
        conf = conf_text(RTC.replace('"ddm-rtc"', '"ddm-rtc-home"'),
                         f'driver_path = "{home}";')
        with Mount(conf=conf) as m:
            rtc_ok(m)
            pid = m.driver_pid("isa0/rtc0")
            assert os.stat(f"/proc/{pid}").st_uid == \
                pwd.getpwnam(DRIVER_USER).pw_uid
            assert os.readlink(f"/proc/{pid}/exe") == \
                os.path.join(home, "ddm-rtc-home")
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_a_driver_its_user_cannot_execute_is_logged_in_words():
    bindir = tempfile.mkdtemp(prefix="ddmbin.")
    try:
        os.chmod(bindir, 0o755)
        exe = os.path.join(bindir, "ddm-rtc-root")
        shutil.copy(RTC_BIN, exe)
        os.chmod(exe, 0o700)  # root may run it, the driver's user not
        conf = conf_text(RTC.replace('"ddm-rtc"', '"ddm-rtc-root"'),
                         f'driver_path = "{bindir}";')
        m = Mount(conf=conf)
        try:
            m.start(wait_for=None)
            want = (f"isa0/rtc0: cannot start driver ddm-rtc-root: user "
                    f"{DRIVER_USER} may not execute {exe}: Permission "
                    f"denied")
            wait_until(lambda: any(want in line for line in m.log_lines()),
                       10, "the reason in the log")
            assert m.status("isa0/rtc0")["state"] in ("restarting",
                                                      "failed")
        finally:
            m.cleanup()
    finally:
        shutil.rmtree(bindir, ignore_errors=True)


def test_a_0700_state_dir_serves_the_sim_drivers_and_keeps_their_files():
    state = tempfile.mkdtemp(prefix="ddmstate.")  # 0700, as mktemp -d
    try:
        m = Mount(conf=conf_text(devices(RTC, LP)), state_dir=state)
        try:
            m.start()
            m.wait_running("isa0/lp0")
            assert write_node(m.path("isa0/lp0"), b"hello\n") == 6
            out = os.path.join(state, "sim", "lp0.out")
            with open(out, "rb") as f:
                assert f.read() == b"hello\n"
            st = os.stat(out)
            assert st.st_mode & 0o777 == 0o600, oct(st.st_mode)
            assert st.st_uid == pwd.getpwnam(DRIVER_USER).pw_uid
            write_node(m.path("isa0/rtc0"), b"2031-02-03 04:05:06\n")
            assert read_node(m.path("isa0/rtc0")).startswith(b"2031-02-03")
            assert os.path.exists(os.path.join(state, "sim",
                                               "rtc0.offset"))
            m.stop()
            m.start()
            # the time was saved, not only kept in the old process
            assert read_node(m.path("isa0/rtc0")).startswith(b"2031-02-03")
        finally:
            m.cleanup()
    finally:
        shutil.rmtree(state, ignore_errors=True)


def test_an_rtc_time_that_cannot_be_saved_fails_the_write():
    m = Mount(conf=conf_text(RTC))
    try:
        m.start()
        before = read_node(m.path("isa0/rtc0"))
        os.mkdir(os.path.join(m.state, "sim", "rtc0.offset"))
        try:
            write_node(m.path("isa0/rtc0"), b"2031-02-03 04:05:06\n")
        except OSError as e:
            assert e.errno in (errno.EISDIR, errno.EIO, errno.EBUSY), e
        else:
            raise AssertionError("a time that was not saved was accepted")
        assert read_node(m.path("isa0/rtc0"))[:10] == before[:10]
    finally:
        m.cleanup()


def test_a_second_ddmfs_on_the_same_state_dir_is_refused():
    with Mount() as m:
        other = os.path.join(m.tmp, "mnt2")
        os.mkdir(other)
        st, err = start_plain(["-c", m.conf, "--state-dir", m.state, other])
        assert st == 2, (st, err)
        want = (f"ddmfs: state dir {m.state}: in use by another ddmfs "
                f"(pid {m.proc.pid}); stop it first")
        assert want in err, err
        assert mounts_on(other) == 0
        # the first one's control socket is still its own
        assert running_in_list(m, "isa0/rtc0")


def test_a_second_ddmfs_on_a_live_mountpoint_is_refused():
    with Mount() as m:
        st, err = start_plain(["-c", m.conf, "--state-dir",
                               os.path.join(m.tmp, "state2"), m.mnt])
        assert st == 2, (st, err)
        assert (f"ddmfs: mountpoint {m.mnt}: already mounted by a running "
                f"ddmfs") in err, err
        assert mounts_on(m.mnt) == 1
        rtc_ok(m)


def test_a_mountpoint_that_is_not_a_directory_is_refused():
    m = Mount()
    try:
        f = os.path.join(m.tmp, "file")
        open(f, "w").close()
        st, err = start_plain(["-c", m.conf, "--state-dir", m.state, f])
        assert st == 2, (st, err)
        assert f"ddmfs: mountpoint {f}: not a directory" in err, err
    finally:
        m.cleanup()


def test_after_kill_9_a_new_ddmfs_detaches_the_stale_mount_and_adopts():
    m = Mount(conf=conf_text(devices(RTC, LP)))
    try:
        m.start()
        m.wait_running("isa0/lp0")
        os.chmod(m.path("isa0/rtc0"), 0o600)
        pids = {n: m.driver_pid(n) for n in ("isa0/rtc0", "isa0/lp0")}
        m.proc.kill()
        m.proc.wait()
        expect_errno(errno.ENOTCONN, os.statvfs, m.mnt)
        for pid in pids.values():
            assert alive(pid), pid  # drivers no longer die with ddmfs
        m.proc = None
        m.start()
        m.wait_running("isa0/lp0")
        assert mounts_on(m.mnt) == 1
        assert {n: m.driver_pid(n) for n in pids} == pids
        assert os.stat(m.path("isa0/rtc0")).st_mode & 0o777 == 0o600
        rtc_ok(m)
        assert write_node(m.path("isa0/lp0"), b"x") == 1
        assert any("detached the stale mount" in line
                   for line in m.log_lines()), m.logtext()
        assert sum("adopting driver" in line for line in m.log_lines()) == 2
        assert m.stop() == 0
        for pid in pids.values():
            wait_until(lambda: not alive(pid), 10, f"driver {pid} to go")
        assert mounts_on(m.mnt) == 0
    finally:
        m.cleanup()


def test_opens_while_a_killed_driver_is_reaped_wait_instead_of_enxio():
    # evil0 hangs up after 20 requests and lingers: ddmfs kills it after
    # DRV_HANGUP_MS and restarts it; opens meanwhile must wait, not fail
    m = Mount(conf=evil_conf(evil("hangup").replace(
        '"--mode=hangup"', '"--mode=hangup", "--after=20"')))
    try:
        m.start(wait_for="isa0/evil0")
        errors, good = [], [0]
        stop = threading.Event()

        def hammer():
            while not stop.is_set():
                try:
                    fd = os.open(m.path("isa0/evil0"), os.O_RDONLY)
                    try:
                        if os.read(fd, 100) == b"evil\n":
                            good[0] += 1
                    finally:
                        os.close(fd)
                except OSError as e:
                    errors.append(errno.errorcode[e.errno])

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            # the first instance hung up; opens wait while it is dying
            wait_until(lambda: int(m.status("isa0/evil0")["restarts"]) >= 1,
                       20, "evil0's restart")
            after = good[0]
            wait_until(lambda: good[0] > after, 20, "reads again")
        finally:
            stop.set()
            for t in threads:
                t.join(20)
        assert any("isa0/evil0: driver evil_driver.py" in line and
                   ("exited" in line or "killed" in line)
                   for line in m.log_lines()), m.logtext()
        assert "ENXIO" not in errors, errors
        assert set(errors) <= {"EIO"}, set(errors)
    finally:
        m.cleanup()


def test_opens_on_a_hung_driver_are_failed_by_its_restart_not_enxio():
    with Mount() as m:
        pid = m.driver_pid("isa0/rtc0")
        errors, good = [], [0]
        stop = threading.Event()

        def hammer():
            while not stop.is_set():
                try:
                    fd = os.open(m.path("isa0/rtc0"), os.O_RDONLY)
                    try:
                        if RTC_LINE.match(os.read(fd, 100)):
                            good[0] += 1
                    finally:
                        os.close(fd)
                except OSError as e:
                    errors.append(errno.errorcode[e.errno])

        os.kill(pid, signal.SIGSTOP)  # a hung driver: pings go unanswered
        threads = [threading.Thread(target=hammer) for _ in range(16)]
        for t in threads:
            t.start()
        try:
            wait_until(lambda: int(m.status("isa0/rtc0")["restarts"]) >= 1,
                       20, "the hung driver's restart")
            m.wait_running("isa0/rtc0")
            after = good[0]
            wait_until(lambda: good[0] > after + 50, 20, "reads again")
        finally:
            stop.set()
            for t in threads:
                t.join(20)
        assert "ENXIO" not in errors, errors
        assert set(errors) <= {"EIO"}, set(errors)


def test_a_stopped_driver_does_not_stall_other_nodes():
    with Mount(conf=conf_text(devices(RTC, LP))) as m:
        m.wait_running("isa0/lp0")
        pid = m.driver_pid("isa0/rtc0")
        hammer = subprocess.Popen(
            [sys.executable, "-c", """
import os, sys, threading
fds = [os.open(sys.argv[1], os.O_RDONLY) for _ in range(int(sys.argv[2]))]
print("opened", flush=True)
sys.stdin.readline()
def read(fd):
    try:
        os.read(fd, 100)
    except OSError:
        pass
for fd in fds:
    threading.Thread(target=read, args=(fd,), daemon=True).start()
print("reading", flush=True)
sys.stdin.read()
""", m.path("isa0/rtc0"), "600"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True)
        try:
            assert hammer.stdout.readline() == "opened\n"
            os.kill(pid, signal.SIGSTOP)
            hammer.stdin.write("go\n")
            hammer.stdin.flush()
            assert hammer.stdout.readline() == "reading\n"
            # 600 opens and 600 reads forwarded; the stopped driver's
            # socket took a few hundred, ddmfs queued the rest
            wait_until(lambda: int(m.status("isa0/rtc0")["requests"]) >=
                       1200, 10, "the reads to be forwarded")
            r = subprocess.run(["cat", m.path("isa0/lp0")],
                               capture_output=True, timeout=10)
            # lp0 answered while rtc0's driver still hangs, not yet
            # restarted: no FUSE worker waited on rtc0's full socket
            assert int(m.status("isa0/rtc0")["restarts"]) == 0
            assert r.returncode == 0 and r.stdout.startswith(b"busy="), r
        finally:
            os.kill(pid, signal.SIGCONT)
            hammer.kill()
            hammer.wait()


def running_in_list(m, node):
    """Whether ddmctl list shows node's driver running."""
    return any(f[0] == node and f[4] == "running"
               for f in (line.split("\t")
                         for line in m.ctl("list").stdout.splitlines()))


def connect_ctl(m):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(os.path.join(m.state, "ctl.sock"))
    return s


def nobody_ctl_clients(m, n):
    """A child holding n idle control connections as nobody; it prints
    one line per answer it gets."""
    return subprocess.Popen(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
         sys.executable, "-c", """
import socket, sys, time
socks = []
for _ in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    s.sendall(b"l")  # the start of "list", then nothing
    socks.append(s)
print("connected", flush=True)
for s in socks:
    s.settimeout(30)
    try:
        print(repr(s.recv(200)), flush=True)
    except OSError as e:
        print("error", e, flush=True)
""", os.path.join(m.state, "ctl.sock"), str(n)],
        stdout=subprocess.PIPE, text=True)


def test_a_slow_control_client_does_not_delay_roots_ddmctl():
    with Mount() as m:
        slow = nobody_ctl_clients(m, 1)
        try:
            assert slow.stdout.readline() == "connected\n"
            m.ctl("restart", "isa0/rtc0")
            # root was served while the slow client still had its
            # request open: that one is answered at its own deadline
            assert not select.select([slow.stdout], [], [], 0)[0]
            answer = slow.stdout.readline()
            assert "not complete within 2 s" in answer, answer
        finally:
            slow.kill()
            slow.wait()


def test_a_user_holding_many_control_connections_gets_busy_not_root():
    with Mount() as m:
        holder = nobody_ctl_clients(m, 4)
        try:
            assert holder.stdout.readline() == "connected\n"
            r = as_nobody(DDMCTL, "--state-dir", m.state, "list")
            assert r.returncode == 1, r
            assert "Busy: too many control connections" in r.stderr, r
            assert running_in_list(m, "isa0/rtc0")
        finally:
            holder.kill()
            holder.wait()


def test_the_control_socket_keeps_serving_after_emfile():
    with Mount() as m:
        pid = m.proc.pid
        nfds = len(os.listdir(f"/proc/{pid}/fd"))
        old = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (nfds + 2, old[1]))
        held = []
        try:
            for _ in range(8):
                held.append(connect_ctl(m))  # and say nothing
            wait_until(lambda: any("accept: Too many open files" in line
                                   for line in m.log_lines()),
                       10, "accept() to fail with EMFILE")
        finally:
            for s in held:
                s.close()
            resource.prlimit(pid, resource.RLIMIT_NOFILE, old)
        assert running_in_list(m, "isa0/rtc0")


def test_ddmctl_gives_up_on_a_ddmfs_that_does_not_answer():
    d = tempfile.mkdtemp(prefix="ddmctl.")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        srv.bind(os.path.join(d, "ctl.sock"))
        srv.listen(4)  # accepts, never answers
        t0 = time.monotonic()
        r = subprocess.run([DDMCTL, "--state-dir", d, "--timeout", "1",
                            "list"], capture_output=True, text=True,
                           timeout=20)
        assert r.returncode == 1, r
        assert "no answer within 1 s" in r.stderr, r.stderr
        assert time.monotonic() - t0 < 15
        r = subprocess.run([DDMCTL, "--timeout", "0", "list"],
                           capture_output=True, text=True, timeout=20)
        assert r.returncode == 2 and "--timeout takes 1 to" in r.stderr, r
    finally:
        srv.close()
        shutil.rmtree(d, ignore_errors=True)


def many_null_devices(n):
    devs = ",".join(f"""
			{{ name = "null{i}"; driver = "ddm-null"; mode = "0644"; }}"""
                    for i in range(n))
    return conf_text(devs, f'driver_path = "{NULL_DIR}";')


def test_more_devices_than_the_fd_soft_limit_start_and_stop_cleanly():
    # 600 devices under the usual soft limit of 1024 (two fds a driver);
    # a sanitizer build, whose processes are heavy, shows the same with
    # 180 under 256
    soft, n = (256, 180) if SANITIZERS else (1024, 600)
    m = Mount(conf=many_null_devices(n))
    ours = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, ours[1]))
        try:
            m.start(wait_for=None, timeout=120)  # the drivers start first
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, ours)
        assert resource.prlimit(m.proc.pid,
                                resource.RLIMIT_NOFILE)[0] == ours[1]
        wait_until(lambda: m.ctl("list").stdout.count("\trunning\t") == n,
                   120, f"{n} drivers running")
        assert len(os.listdir(f"/proc/{m.proc.pid}/fd")) > soft
        fd = os.open(m.path(f"isa0/null{n - 1}"), os.O_RDONLY)
        try:  # a null driver: zeros without end
            assert os.read(fd, 100) == bytes(100)
        finally:
            os.close(fd)
        pids = [int(line.split("\t")[5])
                for line in m.ctl("list").stdout.splitlines()]
        assert m.stop() == 0
        log = m.logtext()
        assert "libgcc_s" not in log and "Too many open files" not in log, \
            log
        assert mounts_on(m.mnt) == 0
        wait_until(lambda: not any(alive(p) for p in pids), 20,
                   "every driver to be gone")
    finally:
        m.cleanup()


def test_devices_beyond_the_hard_fd_limit_are_refused_with_a_message():
    m = Mount(conf=many_null_devices(600))
    try:
        r = subprocess.run(["prlimit", "--nofile=512:512", DDMFS, "-f",
                            "-c", m.conf, "--state-dir", m.state, m.mnt],
                           capture_output=True, text=True, timeout=20)
        assert r.returncode == 2, r
        assert "600 devices need about" in r.stderr and \
            "the limit is 512" in r.stderr, r.stderr
        assert mounts_on(m.mnt) == 0
    finally:
        m.cleanup()


def set_time_ioctl(path, flags):
    """RTC_SET_TIME through an open with flags, as the caller: the errno
    name, or "ok"."""
    return f"""
import errno, fcntl, os, struct
fd = os.open({path!r}, {flags})
tm = struct.pack("9i", 5, 4, 3, 2, 1, 131, 0, 0, 0)
try:
    fcntl.ioctl(fd, {RTC_SET_TIME}, tm)
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
"""


def test_rtc_set_time_needs_a_writable_open():
    with Mount(conf=conf_text(RTC.replace('"0644"', '"0666"'))) as m:
        node = m.path("isa0/rtc0")
        r = as_nobody(sys.executable, "-c",
                      set_time_ioctl(node, os.O_RDONLY))
        assert r.stdout.strip() == "EBADF", r
        assert not read_node(node).startswith(b"2031-02-02")
        r = as_nobody(sys.executable, "-c", set_time_ioctl(node, os.O_RDWR))
        assert r.stdout.strip() == "ok", r
        assert read_node(node).startswith(b"2031-02-02 03:04:0")


def test_drivers_run_as_their_own_user_and_nobody_cannot_touch_them():
    with Mount(conf=conf_text(devices(RTC, LP, KBD))) as m:
        m.wait_running("isa0/kbd0")
        pid = m.driver_pid("isa0/rtc0")
        user = pwd.getpwnam(DRIVER_USER)
        assert user.pw_uid != 65534
        with open(f"/proc/{pid}/status") as f:
            uids = [line.split()[1:] for line in f
                    if line.startswith("Uid:")][0]
        assert uids == [str(user.pw_uid)] * 4, uids
        r = as_nobody("kill", "-KILL", str(pid))
        assert r.returncode != 0, r
        assert alive(pid)
        write_node(m.path("isa0/lp0"), b"secret\n")
        sim = os.path.join(m.state, "sim")
        r = as_nobody("cat", os.path.join(sim, "lp0.out"))
        assert r.returncode != 0 and "Permission denied" in r.stderr, r
        r = as_nobody("sh", "-c", f"printf x > {sim}/kbd0.in")
        assert r.returncode != 0 and "Permission denied" in r.stderr, r
        assert int(m.status("isa0/rtc0")["restarts"]) == 0


def test_a_drivers_forked_processes_go_with_it():
    m = Mount(conf=evil_conf(evil("forker")))
    try:
        m.start(wait_for="isa0/evil0")
        pid = m.driver_pid("isa0/evil0")
        wait_until(lambda: children(pid), 10, "the driver's child")
        kid = children(pid)[0]
        m.ctl("stop", "isa0/evil0")
        wait_until(lambda: not alive(kid), 10, "the child to go too")
        m.ctl("start", "isa0/evil0")
        pid = m.driver_pid("isa0/evil0")
        wait_until(lambda: children(pid), 10, "the new driver's child")
        kid = children(pid)[0]
        os.kill(pid, signal.SIGKILL)  # a crash, not a stop
        wait_until(lambda: not alive(kid), 10, "the child to die with it")
    finally:
        m.cleanup()


def test_a_stopped_driver_left_by_a_killed_ddmfs_is_replaced_not_doubled():
    m = Mount()
    try:
        m.start()
        old = m.driver_pid("isa0/rtc0")
        os.kill(old, signal.SIGSTOP)
        m.proc.kill()
        m.proc.wait()
        m.proc = None
        m.start()
        new = m.driver_pid("isa0/rtc0")
        assert new != old
        wait_until(lambda: not alive(old), 10, "the stopped one to be killed")
        assert any(f"killing driver pid {old}" in line
                   for line in m.log_lines()), m.logtext()
        rtc_ok(m)
    finally:
        m.cleanup()


def test_stale_temp_files_are_removed_at_start():
    m = Mount()
    try:
        os.mkdir(m.state, 0o755)
        stale = os.path.join(m.state, "perms.tmp.999.1")
        with open(stale, "w") as f:
            f.write("isa0/rtc0 07")  # a crash mid-write
        m.start()
        assert not os.path.exists(stale)
    finally:
        m.cleanup()


def test_malformed_perm_lines_are_counted_and_the_file_kept_aside():
    m = Mount()
    try:
        os.mkdir(m.state, 0o755)
        perms = os.path.join(m.state, "perms")
        text = "isa0/rtc0 0600 0 0\ngarbage here\nisa0 0755 0 0 extra\n"
        with open(perms, "w") as f:
            f.write(text)
        m.start()
        assert os.stat(m.path("isa0/rtc0")).st_mode & 0o777 == 0o600
        assert any(f"{perms}: 2 malformed lines skipped; the file as it "
                   f"was is kept as {perms}.bad" in line
                   for line in m.log_lines()), m.logtext()
        os.chmod(m.path("isa0/rtc0"), 0o640)  # a save drops the bad lines
        with open(perms + ".bad") as f:
            assert f.read() == text
    finally:
        m.cleanup()


def test_a_name_over_255_bytes_is_enametoolong():
    with Mount() as m:
        expect_errno(errno.ENAMETOOLONG, os.stat,
                     m.path("isa0/" + "a" * 300))
        expect_errno(errno.ENOENT, os.stat, m.path("isa0/" + "a" * 200))


def test_root_may_chmod_the_tree_root_and_it_persists():
    m = Mount()
    try:
        m.start()
        os.chmod(m.mnt, 0o711)
        assert os.stat(m.mnt).st_mode & 0o7777 == 0o711
        r = as_nobody("chmod", "755", m.mnt)
        assert r.returncode != 0, r
        m.stop()
        m.start()
        assert os.stat(m.mnt).st_mode & 0o7777 == 0o711
    finally:
        m.cleanup()


def test_a_notification_flood_is_a_fault_and_the_log_stays_small():
    m = Mount(conf=evil_conf(RTC, evil("notify")))
    try:
        m.start()
        wait_until(lambda: m.status("isa0/evil0")["state"] == "failed", 30,
                   "the flooding driver to be given up")
        lines = [line for line in m.log_lines() if "isa0/evil0" in line]
        assert 0 < len(lines) < 100, len(lines)
        assert any("bogus messages in a row (poll notification nobody "
                   "waits for)" in line for line in lines), lines
        rtc_ok(m)
    finally:
        m.cleanup()


def test_an_error_fuse_cannot_carry_is_eio_and_no_bad_error_value():
    m = Mount(conf=evil_conf(RTC, evil("bigerr")))
    try:
        m.start(wait_for="isa0/evil0")
        fd = os.open(m.path("isa0/evil0"), os.O_RDONLY)
        try:
            expect_errno(errno.EIO, os.read, fd, 10)
        finally:
            os.close(fd)
        assert "bad error value" not in m.logtext()
        assert any("isa0/evil0" in line and "malformed message" in line
                   for line in m.log_lines()), m.logtext()
    finally:
        m.cleanup()


def test_a_chmod_storm_by_an_owner_and_roots_reads_all_succeed():
    with Mount() as m:
        node = m.path("isa0/rtc0")
        os.chown(node, 65534, 0)
        reads = [0]
        stop = threading.Event()

        def reader():
            while not stop.is_set():
                rtc_ok(m)
                reads[0] += 1

        t = threading.Thread(target=reader)
        t.start()
        try:
            r = as_nobody(sys.executable, "-c", f"""
import os
for i in range(200):
    os.chmod({node!r}, 0o644 if i % 2 else 0o640)
print("done")
""")
        finally:
            stop.set()
            t.join(20)
        assert r.stdout.strip() == "done", r
        assert reads[0] > 0
        assert os.stat(node).st_mode & 0o777 == 0o644
        with open(os.path.join(m.state, "perms")) as f:
            assert "isa0/rtc0 0644 65534 0\n" in f.read()


if __name__ == "__main__":
    sys.exit(run([
        test_a_driver_in_a_0700_directory_runs_through_its_fd,
        test_a_driver_its_user_cannot_execute_is_logged_in_words,
        test_a_0700_state_dir_serves_the_sim_drivers_and_keeps_their_files,
        test_an_rtc_time_that_cannot_be_saved_fails_the_write,
        test_a_second_ddmfs_on_the_same_state_dir_is_refused,
        test_a_second_ddmfs_on_a_live_mountpoint_is_refused,
        test_a_mountpoint_that_is_not_a_directory_is_refused,
        test_after_kill_9_a_new_ddmfs_detaches_the_stale_mount_and_adopts,
        test_opens_while_a_killed_driver_is_reaped_wait_instead_of_enxio,
        test_opens_on_a_hung_driver_are_failed_by_its_restart_not_enxio,
        test_a_stopped_driver_does_not_stall_other_nodes,
        test_a_slow_control_client_does_not_delay_roots_ddmctl,
        test_a_user_holding_many_control_connections_gets_busy_not_root,
        test_the_control_socket_keeps_serving_after_emfile,
        test_ddmctl_gives_up_on_a_ddmfs_that_does_not_answer,
        test_more_devices_than_the_fd_soft_limit_start_and_stop_cleanly,
        test_devices_beyond_the_hard_fd_limit_are_refused_with_a_message,
        test_rtc_set_time_needs_a_writable_open,
        test_drivers_run_as_their_own_user_and_nobody_cannot_touch_them,
        test_a_drivers_forked_processes_go_with_it,
        test_a_stopped_driver_left_by_a_killed_ddmfs_is_replaced_not_doubled,
        test_stale_temp_files_are_removed_at_start,
        test_malformed_perm_lines_are_counted_and_the_file_kept_aside,
        test_a_name_over_255_bytes_is_enametoolong,
        test_root_may_chmod_the_tree_root_and_it_persists,
        test_a_notification_flood_is_a_fault_and_the_log_stays_small,
        test_an_error_fuse_cannot_carry_is_eio_and_no_bad_error_value,
        test_a_chmod_storm_by_an_owner_and_roots_reads_all_succeed,
    ]))

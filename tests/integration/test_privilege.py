"""Host integration: privilege and process hygiene of ddmfs and its drivers.

A driver must not be reachable by other processes of its user (ptrace,
/proc), must run with a minimal environment in a session of its own and
hold no fd but its own; the state dir must be root's alone; any user may
list through ddmctl but only root may change anything; conf args cannot
override the options ddmfs passes a driver.
"""

import os
import signal
import socket
import subprocess
import sys
import time

from ddmtest import (DDMCTL, DDMFS, NOBODY, Mount, as_nobody, conf_text,
                     mounted, run, wait_until)

PTRACE_SEIZE = 0x4206
START_TIMEOUT_S = 10  # a refused start must exit within this

# Run as nobody: tries PTRACE_SEIZE on argv[1], prints the errno (0: worked).
SEIZE = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                        ctypes.c_void_p]
r = libc.ptrace(%d, int(sys.argv[1]), None, None)
print(0 if r == 0 else ctypes.get_errno())
""" % PTRACE_SEIZE


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {key} line for {pid}")


def proc_uid(pid):
    return proc_status(pid, "Uid")


def fd_targets(pid):
    d = f"/proc/{pid}/fd"
    out = {}
    for fd in os.listdir(d):
        try:
            out[int(fd)] = os.readlink(os.path.join(d, fd))
        except OSError:
            pass
    return out


def unix_inode(path):
    """The inode of the listening unix socket bound at path."""
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            parts = line.split()
            if len(parts) >= 8 and parts[7] == path:
                return parts[6]
    raise AssertionError(f"{path} not in /proc/net/unix")


def test_driver_is_not_dumpable_so_nobody_cannot_ptrace_or_read_it():
    # the driver runs as nobody here, so the prying processes below are
    # of its own user
    with mounted(conf=conf_text("""
			{ name = "rtc0"; driver = "ddm-rtc"; io = "sim";
			  ports = [ "0x70-0x71" ]; mode = "0644"; user = "nobody"; }""")) as m:
        pid = m.driver_pid("isa0/rtc0")
        assert proc_uid(pid) == NOBODY, proc_uid(pid)
        # a non-dumpable process's /proc files belong to root
        assert os.stat(f"/proc/{pid}/environ").st_uid == 0
        r = as_nobody("cat", f"/proc/{pid}/environ")
        assert r.returncode != 0 and "Permission denied" in r.stderr, r
        r = as_nobody(sys.executable, "-c", SEIZE, str(pid))
        assert r.stdout.strip() == "1", r  # EPERM
        # the driver is still alive and serving
        assert m.driver_pid("isa0/rtc0") == pid
        with open(m.path("isa0/rtc0"), "rb", buffering=0) as f:
            assert len(f.read(64)) == 20


def test_driver_environment_is_only_path_and_lang():
    os.environ["DDM_SECRET_TEST"] = "leaked"
    try:
        with mounted() as m:
            pid = m.driver_pid("isa0/rtc0")
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = sorted(f.read().split(b"\0")[:-1])
            assert env == [b"LANG=C.UTF-8", b"PATH=/usr/bin:/bin"], env
    finally:
        del os.environ["DDM_SECRET_TEST"]


def test_driver_runs_in_a_session_of_its_own():
    with mounted() as m:
        pid = m.driver_pid("isa0/rtc0")
        assert os.getsid(pid) == pid, (os.getsid(pid), pid)
        assert os.getsid(pid) != os.getsid(m.proc.pid)
        assert os.getpgid(pid) != os.getpgid(m.proc.pid)


def check_driver_fds(m, pid):
    sock = os.path.join(m.state, "ctl.sock")
    ctl = f"socket:[{unix_inode(sock)}]"
    mine = fd_targets(m.proc.pid).values()
    assert "/dev/fuse" in mine and ctl in mine, mine  # the test means it
    fds = fd_targets(pid)
    assert fds[3].startswith("socket:["), fds
    for fd, target in fds.items():
        assert target != "/dev/fuse", (fd, target)
        assert target != ctl, (fd, target)
        if target.startswith(m.state + "/"):
            assert target == m.state + "/sim" or \
                target.startswith(m.state + "/sim/") or \
                target == m.state + "/drivers/isa0/rtc0", (fd, target)


def test_driver_holds_no_fuse_ctl_or_state_fd_also_after_a_restart():
    with mounted() as m:
        pid = m.driver_pid("isa0/rtc0")
        check_driver_fds(m, pid)
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: m.status("isa0/rtc0").get("pid") not in
                   (str(pid), "-") and
                   m.status("isa0/rtc0").get("state") == "running",
                   what="rtc0 restarted")
        check_driver_fds(m, m.driver_pid("isa0/rtc0"))


def start_refused(m):
    """Runs ddmfs on m, which must refuse to start: exit 2, no mount."""
    r = subprocess.run([DDMFS, "-f", "-c", m.conf, "--state-dir", m.state,
                        m.mnt], capture_output=True, text=True,
                       timeout=START_TIMEOUT_S)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert not os.path.ismount(m.mnt)
    return r.stderr


def test_state_dir_not_owned_by_root_is_refused():
    m = Mount()
    try:
        os.mkdir(m.state, 0o755)
        os.chown(m.state, NOBODY, NOBODY)
        err = start_refused(m)
        assert f"ddmfs: state dir {m.state}: owned by uid {NOBODY}, " \
            "not root\n" in err, err
        assert os.listdir(m.state) == [], os.listdir(m.state)
    finally:
        m.cleanup()


def test_state_dir_writable_by_others_is_refused():
    m = Mount()
    try:
        os.mkdir(m.state)
        os.chmod(m.state, 0o777)
        err = start_refused(m)
        assert f"ddmfs: state dir {m.state}: writable by others " \
            "(mode 0777)\n" in err, err
    finally:
        m.cleanup()


def test_planted_sim_symlink_is_refused_and_its_target_untouched():
    m = Mount()
    try:
        target = os.path.join(m.tmp, "target")
        os.mkdir(target, 0o700)
        os.mkdir(m.state, 0o755)
        os.symlink(target, os.path.join(m.state, "sim"))
        err = start_refused(m)
        assert f"ddmfs: state dir {m.state}: sim is a symlink, not a " \
            "directory\n" in err, err
        st = os.stat(target)
        assert (st.st_uid, st.st_gid) == (0, 0), (st.st_uid, st.st_gid)
        assert st.st_mode & 0o7777 == 0o700, oct(st.st_mode)
    finally:
        m.cleanup()


def test_nobody_can_list_and_status_but_not_restart():
    with mounted() as m:
        pid = m.driver_pid("isa0/rtc0")
        st = os.stat(os.path.join(m.state, "ctl.sock"))
        assert st.st_mode & 0o777 == 0o666, oct(st.st_mode)
        ctl = [DDMCTL, "--state-dir", m.state]
        r = as_nobody(*ctl, "list")
        assert r.returncode == 0, r
        assert r.stdout.startswith(
            f"isa0/rtc0\tddm-rtc\trtc0\tfuse\trunning\t{pid}\t"), r.stdout
        r = as_nobody(*ctl, "status", "isa0/rtc0")
        assert r.returncode == 0 and f"pid: {pid}\n" in r.stdout, r
        for cmd in (["restart", "isa0/rtc0"], ["stop", "isa0/rtc0"],
                    ["reload"]):
            r = as_nobody(*ctl, *cmd)
            assert r.returncode == 4, r
            assert r.stderr == "ddmctl: Permission denied: only root " \
                f"may {cmd[0]}.\n", r.stderr
        assert m.driver_pid("isa0/rtc0") == pid


def test_conf_args_setting_io_are_refused_with_file_and_line():
    conf = conf_text(devices="""
			{ name = "rtc0"; driver = "ddm-rtc"; io = "sim";
			  ports = [ "0x70-0x71" ];
			  args = [ "--io=pio" ]; }
""")
    line = conf.splitlines().index('\t\t\t  args = [ "--io=pio" ]; }') + 1
    m = Mount(conf=conf)
    try:
        err = start_refused(m)
        assert err == f"ddmfs: {m.conf}:{line}: args: \"--io=pio\" sets " \
            "--io, which ddmfs sets itself\n", err
    finally:
        m.cleanup()


# In a private mount namespace: /dev is a tmpfs holding the real null and
# fuse and, as /dev/log, the test's socket; then ddmfs starts as a daemon.
DAEMON_NS = """
set -e
mount --bind /dev "$1/realdev"
mount -t tmpfs none /dev
touch /dev/null /dev/fuse /dev/log
mount --bind "$1/realdev/null" /dev/null
mount --bind "$1/realdev/fuse" /dev/fuse
mount --bind "$1/log.sock" /dev/log
exec "$2" -c "$3" --state-dir "$4" "$5"
"""


def test_daemon_logs_to_syslog_and_its_drivers_get_syslog():
    m = Mount()
    log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    daemon = None
    try:
        log.bind(os.path.join(m.tmp, "log.sock"))
        log.settimeout(5)
        os.mkdir(os.path.join(m.tmp, "realdev"))
        r = subprocess.run(["unshare", "-m", "sh", "-c", DAEMON_NS, "sh",
                            m.tmp, DDMFS, m.conf, m.state, m.mnt],
                           capture_output=True, text=True, timeout=20)
        assert r.returncode == 0 and r.stderr == "", r
        m.wait_running("isa0/rtc0")
        pid = m.driver_pid("isa0/rtc0")
        daemon = proc_status(pid, "PPid")
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            assert b"\0--syslog\0" in f.read()
        os.kill(pid, signal.SIGKILL)
        want = f"isa0/rtc0: driver ddm-rtc (pid {pid}) killed by signal 9"
        deadline = time.monotonic() + 5
        while True:
            line = log.recv(4096).decode(errors="replace")
            if "ddmfs[" in line and want in line:
                break
            assert time.monotonic() < deadline, line
    finally:
        if daemon is not None:
            os.kill(daemon, signal.SIGTERM)
            wait_until(lambda: not os.path.exists(f"/proc/{daemon}"),
                       what="the daemon to exit")
        log.close()
        m.cleanup()


if __name__ == "__main__":
    sys.exit(run([
        test_driver_is_not_dumpable_so_nobody_cannot_ptrace_or_read_it,
        test_driver_environment_is_only_path_and_lang,
        test_driver_runs_in_a_session_of_its_own,
        test_driver_holds_no_fuse_ctl_or_state_fd_also_after_a_restart,
        test_state_dir_not_owned_by_root_is_refused,
        test_state_dir_writable_by_others_is_refused,
        test_planted_sim_symlink_is_refused_and_its_target_untouched,
        test_nobody_can_list_and_status_but_not_restart,
        test_conf_args_setting_io_are_refused_with_file_and_line,
        test_daemon_logs_to_syslog_and_its_drivers_get_syslog,
    ]))

"""Host integration: ddmfs with the rtc driver on a real FUSE mount.

Covers the tree, the rtc0 node semantics, permissions and their store, the
supervisor restarting a killed driver, and bad input (confs, writes,
ioctls, a missing driver binary).
"""

import datetime
import errno
import fcntl
import os
import pwd
import re
import signal
import struct
import subprocess
import sys
import threading

from ddmtest import (DDMFS, LP, NOBODY, RTC, Mount, as_nobody, conf_text,
                     expect_errno, mounted, read_node, run, wait_until,
                     write_node)

RTC_RD_TIME = 0x80247009  # _IOR('p', 0x09, struct rtc_time)
RTC_SET_TIME = 0x4024700a  # _IOW('p', 0x0a, struct rtc_time)
RTC_LINE = re.compile(rb"^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\n$")


def parse_line(data):
    m = RTC_LINE.match(data)
    assert m, f"not an rtc line: {data!r}"
    return datetime.datetime(*map(int, m.groups()))


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def rd_time(path):
    """RTC_RD_TIME through python's fcntl.ioctl; returns a datetime."""
    buf = bytearray(36)
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.ioctl(fd, RTC_RD_TIME, buf)
    finally:
        os.close(fd)
    sec, mn, hour, mday, mon, year = struct.unpack("9i", buf)[:6]
    return datetime.datetime(year + 1900, mon + 1, mday, hour, mn, sec)


def near(a, b, slack):
    return abs((a - b).total_seconds()) <= slack


def test_tree_lists_isa0_rtc0():
    with mounted() as m:
        out = subprocess.run(["ls", "-R", m.path()], capture_output=True,
                             text=True, check=True).stdout
        assert "isa0" in out and "rtc0" in out, out
        st = os.stat(m.path("isa0/rtc0"))
        assert oct(st.st_mode & 0o7777) == "0o644", oct(st.st_mode)
        assert os.path.isdir(m.path("isa0"))
        assert sorted(os.listdir(m.path())) == ["isa0"]


def test_cat_rtc0_is_within_2s_of_date():
    with mounted() as m:
        out = subprocess.run(["cat", m.path("isa0/rtc0")],
                             capture_output=True, check=True).stdout
        assert near(parse_line(out), utcnow(), 2), out


def test_read_gives_one_line_then_eof():
    with mounted() as m:
        with open(m.path("isa0/rtc0"), "rb", buffering=0) as f:
            first = f.read(4096)
            parse_line(first)
            assert f.read(4096) == b""
            assert f.read(4096) == b""


def test_written_time_is_seen_by_read_ioctl_and_after_restart():
    with mounted() as m:
        node = m.path("isa0/rtc0")
        target = datetime.datetime(2030, 1, 2, 3, 4, 5)
        assert write_node(node, b"2030-01-02 03:04:05\n") == 20
        assert near(parse_line(read_node(node)), target, 2)
        assert near(rd_time(node), target, 2)
        # echo from the shell (open with O_TRUNC) works too
        subprocess.run(["sh", "-c", f"echo '2031-06-07 08:09:10' > {node}"],
                       check=True)
        target = datetime.datetime(2031, 6, 7, 8, 9, 10)
        assert near(parse_line(read_node(node)), target, 2)
        # kill the driver; the supervisor restarts it; the time persists
        pid = m.driver_pid("isa0/rtc0")
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: m.status("isa0/rtc0").get("pid") not in
                   (str(pid), None) and
                   m.status("isa0/rtc0").get("state") == "running",
                   what="driver restart")
        assert near(parse_line(read_node(node)), target, 3)
        assert int(m.status("isa0/rtc0")["restarts"]) >= 1


def test_rtc_set_time_ioctl_sets_the_clock():
    with mounted() as m:
        node = m.path("isa0/rtc0")
        tm = struct.pack("9i", 30, 20, 10, 15, 4, 2029 - 1900, 0, 0, 0)
        fd = os.open(node, os.O_WRONLY)
        try:
            fcntl.ioctl(fd, RTC_SET_TIME, tm)
        finally:
            os.close(fd)
        target = datetime.datetime(2029, 5, 15, 10, 20, 30)
        assert near(rd_time(node), target, 2)
        assert near(parse_line(read_node(node)), target, 2)


def test_handle_opened_before_a_crash_gets_eio():
    with mounted() as m:
        node = m.path("isa0/rtc0")
        fd = os.open(node, os.O_RDONLY)
        try:
            pid = m.driver_pid("isa0/rtc0")
            os.kill(pid, signal.SIGKILL)
            wait_until(lambda: m.status("isa0/rtc0").get("state") ==
                       "running" and m.status("isa0/rtc0")["pid"] != str(pid),
                       what="driver restart")
            expect_errno(errno.EIO, os.read, fd, 100)
        finally:
            os.close(fd)
        parse_line(read_node(node))  # a new open works


def test_chmod_0600_denies_nobody_and_chown_lets_it_read():
    with mounted() as m:
        node = m.path("isa0/rtc0")
        r = as_nobody("cat", node)
        assert r.returncode == 0, r.stderr
        parse_line(r.stdout.encode())
        os.chmod(node, 0o600)
        assert os.stat(node).st_mode & 0o7777 == 0o600
        r = as_nobody("cat", node)
        assert r.returncode != 0 and "Permission denied" in r.stderr, r
        os.chown(node, NOBODY, -1)
        assert os.stat(node).st_uid == NOBODY
        r = as_nobody("cat", node)
        assert r.returncode == 0, r.stderr
        parse_line(r.stdout.encode())


def test_non_root_chmod_gets_eperm():
    with mounted() as m:
        node = m.path("isa0/rtc0")
        r = as_nobody("chmod", "0666", node)
        assert r.returncode != 0 and "Operation not permitted" in r.stderr, r
        assert os.stat(node).st_mode & 0o7777 == 0o644
        r = as_nobody("chown", str(NOBODY), node)
        assert r.returncode != 0 and "Operation not permitted" in r.stderr, r
        # the owner may chmod
        os.chown(node, NOBODY, -1)
        r = as_nobody("chmod", "0640", node)
        assert r.returncode == 0, r.stderr
        assert os.stat(node).st_mode & 0o7777 == 0o640


def test_permissions_survive_a_ddmfs_restart():
    m = Mount()
    try:
        m.start()
        os.chmod(m.path("isa0/rtc0"), 0o640)
        os.chown(m.path("isa0/rtc0"), NOBODY, 100)
        os.chmod(m.path("isa0"), 0o750)
        assert m.stop() == 0
        assert not os.path.ismount(m.mnt)
        m.start()
        st = os.stat(m.path("isa0/rtc0"))
        assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == \
            (0o640, NOBODY, 100), st
        assert os.stat(m.path("isa0")).st_mode & 0o7777 == 0o750
        with open(os.path.join(m.state, "perms")) as f:
            assert "isa0/rtc0 0640 65534 100" in f.read()
    finally:
        m.cleanup()


def test_creating_removing_renaming_get_eperm():
    with mounted() as m:
        expect_errno(errno.EPERM, os.mkdir, m.path("isa0/new"))
        expect_errno(errno.EPERM, os.mkdir, m.path("bus9"))
        expect_errno(errno.EPERM, os.unlink, m.path("isa0/rtc0"))
        expect_errno(errno.EPERM, os.rmdir, m.path("isa0"))
        expect_errno(errno.EPERM, os.rename, m.path("isa0/rtc0"),
                     m.path("isa0/rtc9"))
        expect_errno(errno.EPERM, os.symlink, "rtc0", m.path("isa0/link"))
        r = subprocess.run(["touch", m.path("isa0/newfile")],
                           capture_output=True, text=True)
        assert r.returncode != 0 and "Operation not permitted" in r.stderr, r
        r = subprocess.run(["rm", "-f", m.path("isa0/rtc0")],
                           capture_output=True, text=True)
        assert r.returncode != 0 and "Operation not permitted" in r.stderr, r
        assert sorted(os.listdir(m.path("isa0"))) == ["rtc0"]


def test_driver_runs_as_its_own_user_without_capabilities():
    user = pwd.getpwnam("ddmfs")  # not nobody: shared with nothing else
    with mounted() as m:
        pid = m.driver_pid("isa0/rtc0")
        with open(f"/proc/{pid}/status") as f:
            st = dict(line.split(":", 1) for line in f)
        assert st["Uid"].split() == [str(user.pw_uid)] * 4, st["Uid"]
        assert st["Gid"].split()[0] == str(user.pw_gid), st["Gid"]
        assert st["Groups"].split() == [], st["Groups"]
        for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            assert int(st[cap], 16) == 0, (cap, st[cap])
        assert st["NoNewPrivs"].strip() == "1"
        # it holds only the standard fds and its socket to ddmfs
        fds = sorted(int(x) for x in os.listdir(f"/proc/{pid}/fd"))
        assert fds[:4] == [0, 1, 2, 3], fds


def test_16_parallel_readers_get_correct_lines():
    with mounted() as m:
        node = m.path("isa0/rtc0")
        results = [None] * 16
        errors = []

        def reader(i):
            try:
                for _ in range(20):
                    results[i] = parse_line(read_node(node))
            except Exception as e:  # collected and asserted below
                errors.append(repr(e))

        threads = [threading.Thread(target=reader, args=(i,))
                   for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        now = utcnow()
        assert all(r is not None and near(r, now, 5) for r in results), \
            results


def test_garbage_and_huge_writes_get_einval_and_keep_the_time():
    with mounted() as m:
        node = m.path("isa0/rtc0")
        write_node(node, b"2030-01-02 03:04:05")
        bad = [b"garbage\n", b"2030-13-01 00:00:00\n",
               b"2030-02-30 10:00:00", b"2030-01-02 03:04:05 junk",
               b"2030-01-02 03:04:05\n2030-01-02 03:04:05\n",
               b"\x00\xff" * 8, b"", b"x" * (1 << 20)]
        for data in bad:
            if not data:
                continue
            expect_errno(errno.EINVAL, write_node, node, data)
        r = subprocess.run(["sh", "-c", f"head -c 1048576 /dev/zero > {node}"],
                           capture_output=True, text=True)
        assert r.returncode != 0 and "Invalid argument" in r.stderr, r
        assert near(parse_line(read_node(node)),
                    datetime.datetime(2030, 1, 2, 3, 4, 5), 5)
        assert m.proc.poll() is None


def test_unknown_ioctl_gets_enotty():
    with mounted() as m:
        fd = os.open(m.path("isa0/rtc0"), os.O_RDONLY)
        try:
            # _IOR('p', 0x7f, int): an rtc-looking command nobody serves
            expect_errno(errno.ENOTTY, fcntl.ioctl, fd, 0x8004707f,
                         bytearray(4))
            # TCGETS: not a tty
            expect_errno(errno.ENOTTY, fcntl.ioctl, fd, 0x5401,
                         bytearray(60))
        finally:
            os.close(fd)
        parse_line(read_node(m.path("isa0/rtc0")))


def ddmfs_with_conf(text, tmpdir):
    """Runs ddmfs on conf text; it must refuse before mounting."""
    conf = os.path.join(tmpdir, "bad.conf")
    with open(conf, "w") as f:
        f.write(text)
    mnt = os.path.join(tmpdir, "mnt")
    os.makedirs(mnt, exist_ok=True)
    r = subprocess.run([DDMFS, "-f", "-c", conf, "--state-dir",
                        os.path.join(tmpdir, "state"), mnt],
                       capture_output=True, text=True, timeout=20)
    assert not os.path.ismount(mnt)
    return r


def test_bad_and_missing_confs_exit_2_with_file_and_line():
    m = Mount()
    try:
        r = ddmfs_with_conf('buses = (\n  { name = = "isa0"; }\n);\n', m.tmp)
        assert r.returncode == 2, r
        assert re.search(r"bad\.conf:2: ", r.stderr), r.stderr
        r = ddmfs_with_conf(
            'buses = (\n { name = "isa0";\n   devices = (\n'
            '     { name = "rtc0"; driver = "ddm-rtc"; mode = "0999"; }\n'
            '   );\n }\n);\n', m.tmp)
        assert r.returncode == 2, r
        assert re.search(r"bad\.conf:4: .*0999", r.stderr), r.stderr
        r = ddmfs_with_conf('bogus_key = 1;\n', m.tmp)
        assert r.returncode == 2 and "bad.conf:1: " in r.stderr, r.stderr
        missing = os.path.join(m.tmp, "nope.conf")
        r = subprocess.run([DDMFS, "-f", "-c", missing, m.mnt],
                           capture_output=True, text=True, timeout=20)
        assert r.returncode == 2, r
        assert missing in r.stderr and "No such file" in r.stderr, r.stderr
        assert not os.path.ismount(m.mnt)
    finally:
        m.cleanup()


def test_unknown_io_backend_and_overlapping_ports_are_refused():
    m = Mount()
    try:
        r = ddmfs_with_conf(conf_text(
            '{ name = "rtc0"; driver = "ddm-rtc";\n io = "bogus"; }'),
            m.tmp)
        assert r.returncode == 2, r
        assert re.search(r'bad\.conf:\d+: .*"bogus"', r.stderr), r.stderr
        r = ddmfs_with_conf(conf_text(
            '{ name = "lp0"; driver = "ddm-lp"; ports = [ "0x378-0x37a" ]; },'
            '\n{ name = "lp1"; driver = "ddm-lp"; ports = [ "0x37a" ]; }'),
            m.tmp)
        assert r.returncode == 2, r
        assert "isa0/lp1" in r.stderr and "isa0/lp0" in r.stderr, r.stderr
        assert "overlap" in r.stderr, r.stderr
        # the driver itself refuses an unknown backend by name
        drv = os.path.join(os.path.dirname(DDMFS), "..", "drivers", "rtc",
                           "ddm-rtc")
        r = subprocess.run([drv, "--io=bogus", "--node=isa0/rtc0",
                            "--ddm-fd=0"], capture_output=True, text=True,
                           timeout=20)
        assert r.returncode == 2, r
        assert "bogus" in r.stderr, r.stderr
    finally:
        m.cleanup()


def test_missing_driver_binary_leaves_that_node_out():
    devices = RTC + """,
			{ name = "ghost0"; driver = "ddm-no-such-driver"; },""" + LP
    with mounted(conf=conf_text(devices)) as m:
        m.wait_running("isa0/lp0")
        assert sorted(os.listdir(m.path("isa0"))) == ["lp0", "rtc0"]
        assert "ddm-no-such-driver" in m.logtext(), m.logtext()
        assert "ghost0" in m.logtext()
        parse_line(read_node(m.path("isa0/rtc0")))
        assert read_node(m.path("isa0/lp0")).startswith(b"busy=0")


def test_ddmctl_lists_nodes_in_stable_columns():
    with mounted() as m:
        out = m.ctl("list").stdout
        lines = out.splitlines()
        assert len(lines) == 1, out
        (node, driver, instance, transport, state, pid, restarts, mode,
         owner, group) = lines[0].split("\t")
        assert (node, driver, instance, transport, state, restarts, mode,
                owner, group) == ("isa0/rtc0", "ddm-rtc", "rtc0", "fuse",
                                  "running", "0", "0644", "root", "root"), \
            lines
        assert int(pid) == m.driver_pid("isa0/rtc0")
        r = m.ctl("status", "isa0/nope", check=False)
        assert r.returncode == 3 and "isa0/nope" in r.stderr, r


if __name__ == "__main__":
    sys.exit(run([
        test_tree_lists_isa0_rtc0,
        test_cat_rtc0_is_within_2s_of_date,
        test_read_gives_one_line_then_eof,
        test_written_time_is_seen_by_read_ioctl_and_after_restart,
        test_rtc_set_time_ioctl_sets_the_clock,
        test_handle_opened_before_a_crash_gets_eio,
        test_chmod_0600_denies_nobody_and_chown_lets_it_read,
        test_non_root_chmod_gets_eperm,
        test_permissions_survive_a_ddmfs_restart,
        test_creating_removing_renaming_get_eperm,
        test_driver_runs_as_its_own_user_without_capabilities,
        test_16_parallel_readers_get_correct_lines,
        test_garbage_and_huge_writes_get_einval_and_keep_the_time,
        test_unknown_ioctl_gets_enotty,
        test_bad_and_missing_confs_exit_2_with_file_and_line,
        test_unknown_io_backend_and_overlapping_ports_are_refused,
        test_missing_driver_binary_leaves_that_node_out,
        test_ddmctl_lists_nodes_in_stable_columns,
    ]))

"""Host integration: the lp and kbd drivers on the sim backend.

The sim parallel port appends what it prints to <state>/sim/lp0.out and
takes its condition from <state>/sim/lp0.ctl; the sim i8042 takes raw set-1
scancodes from the FIFO <state>/sim/kbd0.in.
"""

import errno
import fcntl
import os
import select
import subprocess
import sys
import threading
import time

from ddmtest import (conf_text, expect_errno, mounted, read_node, run,
                     wait_until, write_node)

KDGKBMODE = 0x4B44
KDSKBMODE = 0x4B45
K_RAW = 0x00
K_UNICODE = 0x03

DEVICES = """
			{ name = "kbd0"; driver = "ddm-kbd"; io = "sim"; mode = "0644";
			  ports = [ "0x60", "0x64" ]; },
			{ name = "lp0"; driver = "ddm-lp"; io = "sim"; mode = "0666";
			  ports = [ "0x378-0x37a" ]; },
			{ name = "rtc0"; driver = "ddm-rtc"; io = "sim"; mode = "0644";
			  ports = [ "0x70-0x71" ]; }
"""


def lp_kbd_mount():
    return mounted(conf=conf_text(DEVICES))


def sim(m, name):
    return os.path.join(m.state, "sim", name)


def lp_out(m):
    try:
        with open(sim(m, "lp0.out"), "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


def set_printer(m, word):
    with open(sim(m, "lp0.ctl"), "w") as f:
        f.write(word + "\n")


def feed_keys(m, data):
    """Writes raw scancodes into the sim keyboard's FIFO."""
    fd = os.open(sim(m, "kbd0.in"), os.O_WRONLY)
    try:
        os.write(fd, bytes(data))
    finally:
        os.close(fd)


def open_kbd(m, flags=os.O_RDONLY):
    return os.open(m.path("isa0/kbd0"), flags)


def read_exactly(fd, n, timeout=10):
    """Reads n bytes from a blocking fd, failing after timeout seconds."""
    out = b""
    deadline = time.monotonic() + timeout
    while len(out) < n:
        left = deadline - time.monotonic()
        assert left > 0, f"got only {out!r}"
        r, _, _ = select.select([fd], [], [], left)
        if r:
            chunk = os.read(fd, n - len(out))
            assert chunk, "unexpected EOF"
            out += chunk
    return out


def test_tree_has_kbd0_lp0_rtc0():
    with lp_kbd_mount() as m:
        m.wait_running("isa0/lp0")
        m.wait_running("isa0/kbd0")
        assert sorted(os.listdir(m.path("isa0"))) == ["kbd0", "lp0", "rtc0"]


def test_printf_hello_reaches_lp0_out_exactly():
    with lp_kbd_mount() as m:
        m.wait_running("isa0/lp0")
        subprocess.run(["sh", "-c", f"printf 'hello\\n' > {m.path('isa0/lp0')}"],
                       check=True)
        assert lp_out(m) == b"hello\n"


def test_one_ddm_lp_binary_drives_lp0_and_lp1_at_their_ports():
    devices = DEVICES.rstrip() + """,
			{ name = "lp1"; driver = "ddm-lp"; io = "sim"; mode = "0666";
			  ports = [ "0x278-0x27a" ]; }
"""
    with mounted(conf=conf_text(devices)) as m:
        m.wait_running("isa0/lp1")
        write_node(m.path("isa0/lp1"), b"to lp1\n")
        write_node(m.path("isa0/lp0"), b"to lp0\n")
        with open(sim(m, "lp1.out"), "rb") as f:
            assert f.read() == b"to lp1\n"
        assert lp_out(m) == b"to lp0\n"
        p0, p1 = m.driver_pid("isa0/lp0"), m.driver_pid("isa0/lp1")
        assert p0 != p1
        assert os.readlink(f"/proc/{p0}/exe") == \
            os.readlink(f"/proc/{p1}/exe")
        assert "--ports=0x278-0x27a" in \
            open(f"/proc/{p1}/cmdline").read().split("\0")
        assert read_node(m.path("isa0/lp1")).startswith(b"busy=0 select=1")


def test_1mib_write_arrives_complete():
    with lp_kbd_mount() as m:
        m.wait_running("isa0/lp0")
        data = bytes((i * 7 + (i >> 8)) & 0xff for i in range(1 << 20))
        with open(m.path("isa0/lp0"), "wb", buffering=0) as f:
            done = 0
            while done < len(data):
                done += f.write(data[done:])
        out = lp_out(m)
        assert len(out) == len(data), len(out)
        assert out == data


def test_busy_printer_times_out_without_duplicating():
    with lp_kbd_mount() as m:
        m.wait_running("isa0/lp0")
        write_node(m.path("isa0/lp0"), b"ab")
        set_printer(m, "busy")
        expect_errno(errno.ETIMEDOUT, write_node, m.path("isa0/lp0"), b"cd")
        set_printer(m, "ready")
        write_node(m.path("isa0/lp0"), b"ef")
        assert lp_out(m) == b"abef"


def test_paper_out_and_offline_are_reported():
    with lp_kbd_mount() as m:
        m.wait_running("isa0/lp0")
        node = m.path("isa0/lp0")
        assert read_node(node) == b"busy=0 select=1 paperout=0 error=0\n"
        set_printer(m, "paperout")
        line = read_node(node)
        assert b"paperout=1" in line, line
        expect_errno(errno.ENOSPC, write_node, node, b"x")
        set_printer(m, "offline")
        assert b"select=0" in read_node(node)
        expect_errno(errno.EIO, write_node, node, b"x")
        set_printer(m, "ready")
        assert lp_out(m) == b""


def test_second_open_of_lp0_gets_ebusy():
    with lp_kbd_mount() as m:
        m.wait_running("isa0/lp0")
        fd = os.open(m.path("isa0/lp0"), os.O_WRONLY)
        try:
            expect_errno(errno.EBUSY, os.open, m.path("isa0/lp0"),
                         os.O_WRONLY)
        finally:
            os.close(fd)
        os.close(os.open(m.path("isa0/lp0"), os.O_WRONLY))


def test_back_to_back_opens_never_see_a_stale_ebusy():
    # FUSE sends RELEASE asynchronously; the next open must still get lp0
    with lp_kbd_mount() as m:
        m.wait_running("isa0/lp0")
        node = m.path("isa0/lp0")
        for _ in range(200):
            read_node(node)
            write_node(node, b"x")
        assert lp_out(m) == b"x" * 200


def test_lpgetstatus_is_enotty_over_fuse():
    with lp_kbd_mount() as m:
        m.wait_running("isa0/lp0")
        fd = os.open(m.path("isa0/lp0"), os.O_RDONLY)
        try:
            expect_errno(errno.ENOTTY, fcntl.ioctl, fd, 0x060b, 0)
        finally:
            os.close(fd)


def test_scancodes_become_hi_for_head():
    with lp_kbd_mount() as m:
        m.wait_running("isa0/kbd0")
        p = subprocess.Popen(["head", "-c", "2", m.path("isa0/kbd0")],
                             stdout=subprocess.PIPE)
        time.sleep(0.3)  # let head open the node and block in read
        feed_keys(m, [0x23, 0xa3, 0x17, 0x97])
        out, _ = p.communicate(timeout=10)
        assert out == b"hi", out


def test_two_readers_both_get_the_keys_and_raw_gets_bytes():
    with lp_kbd_mount() as m:
        m.wait_running("isa0/kbd0")
        a, b, raw = open_kbd(m), open_kbd(m), open_kbd(m)
        try:
            fcntl.ioctl(raw, KDSKBMODE, K_RAW)
            feed_keys(m, [0x23, 0xa3, 0x17, 0x97])
            assert read_exactly(a, 2) == b"hi"
            assert read_exactly(b, 2) == b"hi"
            assert read_exactly(raw, 4) == bytes([0x23, 0xa3, 0x17, 0x97])
            # shift-a, then an up arrow
            feed_keys(m, [0x2a, 0x1e, 0x9e, 0xaa, 0xe0, 0x48, 0xe0, 0xc8])
            assert read_exactly(a, 4) == b"A\x1b[A"
        finally:
            for fd in (a, b, raw):
                os.close(fd)


def test_fifo_closed_and_reopened_loses_no_keys():
    with lp_kbd_mount() as m:
        m.wait_running("isa0/kbd0")
        fd = open_kbd(m)
        try:
            for code in (0x23, 0x17, 0x23, 0x17):  # h i h i, one open each
                feed_keys(m, [code, code | 0x80])
            assert read_exactly(fd, 4) == b"hihi"
            # garbage and a truncated E0 prefix lose no key either
            feed_keys(m, [0x00, 0xff, 0xe0, 0x23, 0xa3, 0xe0, 0xe0, 0x17,
                          0x97])
            assert read_exactly(fd, 2) == b"hi"
        finally:
            os.close(fd)


def test_poll_times_out_idle_and_wakes_on_a_key():
    with lp_kbd_mount() as m:
        m.wait_running("isa0/kbd0")
        fd = open_kbd(m)
        try:
            p = select.poll()
            p.register(fd, select.POLLIN)
            assert p.poll(200) == []
            t = threading.Timer(0.2, feed_keys, (m, [0x23, 0xa3]))
            t.start()
            ev = p.poll(5000)
            t.join()
            assert ev and ev[0][1] & select.POLLIN, ev
            assert os.read(fd, 16) == b"h"
        finally:
            os.close(fd)


def test_nonblocking_read_with_nothing_queued_is_eagain():
    with lp_kbd_mount() as m:
        m.wait_running("isa0/kbd0")
        fd = open_kbd(m, os.O_RDWR | os.O_NONBLOCK)
        try:
            expect_errno(errno.EAGAIN, os.read, fd, 16)
            expect_errno(errno.EINVAL, os.write, fd, b"x")
            expect_errno(errno.EINVAL, fcntl.ioctl, fd, KDSKBMODE, 0x7f)
        finally:
            os.close(fd)
        # O_NONBLOCK set with fcntl after a blocking open counts too
        fd = open_kbd(m)
        try:
            fl = fcntl.fcntl(fd, fcntl.F_GETFL)
            fcntl.fcntl(fd, fcntl.F_SETFL, fl | os.O_NONBLOCK)
            expect_errno(errno.EAGAIN, os.read, fd, 16)
            fcntl.fcntl(fd, fcntl.F_SETFL, fl)
            feed_keys(m, [0x23, 0xa3])  # h
            assert read_exactly(fd, 1) == b"h"
        finally:
            os.close(fd)


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_idle_drivers_use_under_1_percent_cpu():
    with lp_kbd_mount() as m:
        nodes = ("isa0/kbd0", "isa0/lp0", "isa0/rtc0")
        for n in nodes:
            m.wait_running(n)
        pids = [m.driver_pid(n) for n in nodes]
        hz = os.sysconf("SC_CLK_TCK")
        before = sum(cpu_ticks(p) for p in pids)
        t0 = time.monotonic()
        time.sleep(10)
        used = (sum(cpu_ticks(p) for p in pids) - before) / hz
        wall = time.monotonic() - t0
        print(f"# idle cpu: {used:.3f}s of {wall:.1f}s "
              f"({100 * used / wall:.2f}%)")
        assert used < 0.01 * wall, used


def test_interrupted_blocking_read_does_not_wedge_the_driver():
    with lp_kbd_mount() as m:
        m.wait_running("isa0/kbd0")
        p = subprocess.Popen(["cat", m.path("isa0/kbd0")],
                             stdout=subprocess.PIPE)
        time.sleep(0.3)
        p.kill()
        p.wait(timeout=10)
        fd = open_kbd(m)
        try:
            feed_keys(m, [0x17, 0x97])
            assert read_exactly(fd, 1) == b"i"
        finally:
            os.close(fd)


if __name__ == "__main__":
    sys.exit(run([
        test_tree_has_kbd0_lp0_rtc0,
        test_printf_hello_reaches_lp0_out_exactly,
        test_one_ddm_lp_binary_drives_lp0_and_lp1_at_their_ports,
        test_1mib_write_arrives_complete,
        test_busy_printer_times_out_without_duplicating,
        test_paper_out_and_offline_are_reported,
        test_second_open_of_lp0_gets_ebusy,
        test_back_to_back_opens_never_see_a_stale_ebusy,
        test_lpgetstatus_is_enotty_over_fuse,
        test_scancodes_become_hi_for_head,
        test_two_readers_both_get_the_keys_and_raw_gets_bytes,
        test_fifo_closed_and_reopened_loses_no_keys,
        test_poll_times_out_idle_and_wakes_on_a_key,
        test_nonblocking_read_with_nothing_queued_is_eagain,
        test_idle_drivers_use_under_1_percent_cpu,
        test_interrupted_blocking_read_does_not_wedge_the_driver,
    ]))

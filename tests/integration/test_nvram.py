"""Host integration: the MC146818's CMOS RAM as the nvram0 node.

One ddm-rtc instance on the sim backend serves two nodes: rtc0, the clock,
and nvram0, the 114 battery-backed bytes as Linux /dev/nvram shows them
(byte N is CMOS register N + 14).  The sim model keeps them in
<state>/sim/rtc0.cmos (128 bytes, byte i being register i), so they
survive a driver restart and a remount.  Byte 36 is register 0x32, the
century, which the clock owns; the tests read it but write around it.
"""

import datetime
import errno
import os
import re
import stat
import sys

from ddmtest import (Mount, as_nobody, conf_text, expect_errno, mounted,
                     read_node, run, wait_until, write_node)

NVRAM_SIZE = 114
CENTURY = 0x32 - 14  # nvram0's byte for the century register
RTC_LINE = re.compile(rb"^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\n$")

DEVICES = """
			{ name = "rtc0"; driver = "ddm-rtc"; io = "sim";
			  ports = [ "0x70-0x71" ]; mode = "0644";
			  nodes = ( { name = "rtc0"; },
			            { name = "nvram0"; kind = "nvram";
			              mode = "0600"; } ); }"""


def nvram_mount():
    return mounted(conf=conf_text(DEVICES))


def parse_line(data):
    m = RTC_LINE.match(data)
    assert m, f"not an rtc line: {data!r}"
    return datetime.datetime(*map(int, m.groups()))


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def near(a, b, slack):
    return abs((a - b).total_seconds()) <= slack


def bcd(v):
    return (v // 10) << 4 | v % 10


def open_nvram(m, flags=os.O_RDWR):
    return os.open(m.path("isa0/nvram0"), flags)


def cmos_file(m):
    return os.path.join(m.state, "sim", "rtc0.cmos")


# offsets and bytes the tests write: the first byte, runs in the middle,
# the last byte; none touches the century
PATTERN = [(0, b"\x01\x02\x03"), (20, bytes(range(200, 210))),
           (60, b"\xff"), (100, b"\x10\x20\x30"), (113, b"\x7e")]


def write_pattern(fd):
    for off, data in PATTERN:
        assert os.pwrite(fd, data, off) == len(data), off


def expected_image():
    """What nvram0 holds after write_pattern() on a fresh sim dir."""
    img = bytearray(NVRAM_SIZE)
    img[CENTURY] = bcd(utcnow().year // 100)
    for off, data in PATTERN:
        img[off:off + len(data)] = data
    return bytes(img)


def test_nvram0_is_114_bytes_and_0600_beside_rtc0_0644():
    with nvram_mount() as m:
        assert sorted(os.listdir(m.path("isa0"))) == ["nvram0", "rtc0"]
        st = os.stat(m.path("isa0/nvram0"))
        assert st.st_size == NVRAM_SIZE, st.st_size
        assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
        st = os.stat(m.path("isa0/rtc0"))
        assert stat.S_IMODE(st.st_mode) == 0o644, oct(st.st_mode)


def test_fresh_nvram_is_zero_but_the_century_byte():
    with nvram_mount() as m:
        fd = open_nvram(m, os.O_RDONLY)
        try:
            data = os.pread(fd, 4096, 0)
        finally:
            os.close(fd)
        want = bytearray(NVRAM_SIZE)
        want[CENTURY] = bcd(utcnow().year // 100)
        assert data == bytes(want), data.hex()


def test_pread_and_pwrite_round_trip_at_several_offsets():
    with nvram_mount() as m:
        fd = open_nvram(m)
        try:
            write_pattern(fd)
            for off, data in PATTERN:
                assert os.pread(fd, len(data), off) == data, off
            assert os.pread(fd, 1, 113) == b"\x7e"
            assert os.pread(fd, 4096, 0) == expected_image()
            # a read in the middle gives just what was asked
            assert os.pread(fd, 3, 21) == bytes([201, 202, 203])
        finally:
            os.close(fd)


def test_reads_at_and_past_the_end_give_nothing():
    with nvram_mount() as m:
        fd = open_nvram(m)
        try:
            assert os.pwrite(fd, b"\xaa\xbb\xcc\xdd", 110) == 4
            assert os.pread(fd, 100, 110) == b"\xaa\xbb\xcc\xdd"
            assert os.pread(fd, 100, 114) == b""
            assert os.pread(fd, 1, 115) == b""
            assert os.pread(fd, 100, 4096) == b""
            assert os.lseek(fd, 114, os.SEEK_SET) == 114
            assert os.read(fd, 100) == b""
        finally:
            os.close(fd)


def test_pwrite_at_the_end_is_enospc_and_across_it_short():
    with nvram_mount() as m:
        fd = open_nvram(m)
        try:
            expect_errno(errno.ENOSPC, os.pwrite, fd, b"x", 114)
            expect_errno(errno.ENOSPC, os.pwrite, fd, b"xyz", 200)
            assert os.pwrite(fd, b"abcdef", 110) == 4
            assert os.pread(fd, 100, 108) == b"\0\0abcd"
            # a write(2) at the file offset goes on from there
            assert os.lseek(fd, 112, os.SEEK_SET) == 112
            assert os.write(fd, b"XYZ") == 2
            expect_errno(errno.ENOSPC, os.write, fd, b"Q")
            assert os.pread(fd, 100, 110) == b"abXY"
        finally:
            os.close(fd)


def test_lseek_then_read_gives_that_byte():
    with nvram_mount() as m:
        fd = open_nvram(m)
        try:
            assert os.pwrite(fd, bytes([0x5a, 0x5b]), 10) == 2
            assert os.pwrite(fd, b"\x99", 0) == 1
            assert os.lseek(fd, 10, os.SEEK_SET) == 10
            assert os.read(fd, 1) == b"\x5a"
            assert os.read(fd, 1) == b"\x5b"  # the offset moved on
            assert os.lseek(fd, 0, os.SEEK_CUR) == 12
            assert os.lseek(fd, 0, os.SEEK_SET) == 0
            assert os.read(fd, 1) == b"\x99"
        finally:
            os.close(fd)


def test_values_survive_a_driver_restart_and_a_remount():
    m = Mount(conf=conf_text(DEVICES))
    try:
        m.start()
        fd = open_nvram(m)
        try:
            write_pattern(fd)
        finally:
            os.close(fd)
        want = expected_image()
        # the sim file: all 128 registers, the clock's bytes 0
        with open(cmos_file(m), "rb") as f:
            img = f.read()
        assert len(img) == 128, len(img)
        assert img[:14] == bytes(14), img[:14].hex()
        assert img[14:] == want[:CENTURY] + b"\0" + want[CENTURY + 1:], \
            img.hex()
        assert stat.S_IMODE(os.stat(cmos_file(m)).st_mode) == 0o600

        pid = m.driver_pid("isa0/rtc0")
        m.ctl("restart", "isa0/rtc0")
        wait_until(lambda: m.status("isa0/rtc0").get("state") == "running"
                   and m.status("isa0/rtc0").get("pid") not in
                   (str(pid), None), what="driver restart")
        assert read_node(m.path("isa0/nvram0")) == want

        assert m.stop() == 0
        assert not os.path.ismount(m.mnt)
        m.start()
        assert read_node(m.path("isa0/nvram0")) == want
        assert os.stat(m.path("isa0/nvram0")).st_size == NVRAM_SIZE
    finally:
        m.cleanup()


def test_rtc0_reads_and_sets_the_time_while_nvram0_is_open():
    with nvram_mount() as m:
        fd = open_nvram(m)
        try:
            assert os.pwrite(fd, b"\x42", 5) == 1
            assert near(parse_line(read_node(m.path("isa0/rtc0"))),
                        utcnow(), 2)
            assert os.pread(fd, 1, 5) == b"\x42"
            assert write_node(m.path("isa0/rtc0"),
                              b"2030-01-02 03:04:05\n") == 20
            assert os.pwrite(fd, b"\x43", 6) == 1
            assert near(parse_line(read_node(m.path("isa0/rtc0"))),
                        datetime.datetime(2030, 1, 2, 3, 4, 5), 2)
            assert os.pread(fd, 2, 5) == b"\x42\x43"
            # the clock's century shows through nvram0 as BCD 0x20
            assert os.pread(fd, 1, CENTURY) == b"\x20"
        finally:
            os.close(fd)


def test_a_user_cannot_open_nvram0_but_reads_rtc0():
    with nvram_mount() as m:
        nvram = m.path("isa0/nvram0")
        fd = open_nvram(m)
        try:
            assert os.pwrite(fd, b"\x11", 0) == 1
        finally:
            os.close(fd)
        r = as_nobody("cat", nvram)
        assert r.returncode != 0 and "Permission denied" in r.stderr, r
        r = as_nobody("sh", "-c", f"printf x > {nvram}")
        assert r.returncode != 0 and "Permission denied" in r.stderr, r
        assert read_node(nvram)[:1] == b"\x11"  # unchanged
        r = as_nobody("cat", m.path("isa0/rtc0"))
        assert r.returncode == 0, r.stderr
        assert near(parse_line(r.stdout.encode()), utcnow(), 2)


def test_reload_adds_nvram0_to_the_instance_then_removes_both():
    only_rtc = """
			{ name = "rtc0"; driver = "ddm-rtc"; io = "sim";
			  ports = [ "0x70-0x71" ]; mode = "0644"; }"""
    with mounted(conf=conf_text(only_rtc)) as m:
        assert sorted(os.listdir(m.path("isa0"))) == ["rtc0"]
        old = m.driver_pid("isa0/rtc0")
        with open(m.conf, "w") as f:
            f.write(conf_text(DEVICES))
        r = m.ctl("reload")
        assert "reload: isa0/nvram0 added" in r.stdout, r.stdout
        m.wait_running("isa0/nvram0")
        # a new node list is a new instance: one process for both
        assert sorted(os.listdir(m.path("isa0"))) == ["nvram0", "rtc0"]
        pid = m.driver_pid("isa0/rtc0")
        assert pid != old and m.driver_pid("isa0/nvram0") == pid
        assert os.stat(m.path("isa0/nvram0")).st_size == NVRAM_SIZE
        fd = open_nvram(m, os.O_RDONLY)
        try:
            assert len(os.pread(fd, 4, 0)) == 4
            with open(m.conf, "w") as f:
                f.write(conf_text(""))
            r = m.ctl("reload")
            assert "reload: isa0/rtc0 removed" in r.stdout, r.stdout
            assert "reload: isa0/nvram0 removed" in r.stdout, r.stdout
            assert os.listdir(m.path("isa0")) == []
            # the open handle of the removed node: ENODEV
            expect_errno(errno.ENODEV, os.pread, fd, 4, 0)
        finally:
            os.close(fd)
        wait_until(lambda: not os.path.exists(f"/proc/{pid}"),
                   what="the removed instance's driver to exit")


if __name__ == "__main__":
    sys.exit(run([
        test_nvram0_is_114_bytes_and_0600_beside_rtc0_0644,
        test_fresh_nvram_is_zero_but_the_century_byte,
        test_pread_and_pwrite_round_trip_at_several_offsets,
        test_reads_at_and_past_the_end_give_nothing,
        test_pwrite_at_the_end_is_enospc_and_across_it_short,
        test_lseek_then_read_gives_that_byte,
        test_values_survive_a_driver_restart_and_a_remount,
        test_rtc0_reads_and_sets_the_time_while_nvram0_is_open,
        test_a_user_cannot_open_nvram0_but_reads_rtc0,
        test_reload_adds_nvram0_to_the_instance_then_removes_both,
    ]))

"""Host integration: the PS/2 mouse on the sim i8042's aux port.

One ddm-kbd instance serves two nodes, kbd0 (keys) and aux0 (the mouse).
The sim i8042 takes raw mouse bytes from the FIFO <state>/sim/kbd0.aux
and raw set-1 scancodes from <state>/sim/kbd0.in.
"""

import errno
import os
import select
import stat
import sys
import threading
import time

from ddmtest import RTC, conf_text, expect_errno, mounted, run

DEVICES = RTC + """,
			{ name = "kbd0"; driver = "ddm-kbd"; io = "sim";
			  ports = [ "0x60", "0x64" ];
			  nodes = ( { name = "kbd0"; },
			            { name = "aux0"; kind = "aux"; mode = "0640"; } ); }
"""

# two packets: x +10 y -5 (sign bit 0x20 in the first byte), then the
# left button down with x -10 y +1
PKT1 = bytes([0x28, 0x0a, 0xfb])
PKT2 = bytes([0x19, 0xf6, 0x01])
HI = [0x23, 0xa3, 0x17, 0x97]  # h, i: make and break each


def aux_mount():
    return mounted(conf=conf_text(DEVICES))


def sim(m, name):
    return os.path.join(m.state, "sim", name)


def write_fifo(m, name, data):
    fd = os.open(sim(m, name), os.O_WRONLY)
    try:
        assert os.write(fd, bytes(data)) == len(data)
    finally:
        os.close(fd)


def move(m, data):
    """Raw bytes from the mouse, into the sim's aux FIFO."""
    write_fifo(m, "kbd0.aux", data)


def feed_keys(m, data):
    write_fifo(m, "kbd0.in", data)


def open_node(m, name, flags=os.O_RDONLY):
    m.wait_running("isa0/kbd0")
    return os.open(m.path("isa0/" + name), flags)


def read_exactly(fd, n, unit=1, timeout=10):
    """Reads n bytes from fd, failing after timeout seconds; every read
    must give whole units."""
    out = b""
    deadline = time.monotonic() + timeout
    while len(out) < n:
        left = deadline - time.monotonic()
        assert left > 0, f"got only {out!r}"
        r, _, _ = select.select([fd], [], [], left)
        if r:
            chunk = os.read(fd, 64)
            assert chunk, "unexpected EOF"
            assert len(chunk) % unit == 0, f"part packet {chunk!r}"
            out += chunk
    assert len(out) == n, f"got {out!r}, more than {n} bytes"
    return out


def read_packets(fd, n):
    return read_exactly(fd, 3 * n, unit=3)


def test_tree_has_kbd0_and_aux0_of_one_instance():
    with aux_mount() as m:
        m.wait_running("isa0/kbd0")
        assert sorted(os.listdir(m.path("isa0"))) == ["aux0", "kbd0", "rtc0"]
        assert stat.S_IMODE(os.stat(m.path("isa0/aux0")).st_mode) == 0o640
        st = os.stat(sim(m, "kbd0.aux"))
        assert stat.S_ISFIFO(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o600


def test_two_packets_come_out_of_aux0_exactly():
    with aux_mount() as m:
        fd = open_node(m, "aux0")
        try:
            got = []
            t = threading.Thread(target=lambda: got.append(os.read(fd, 64)))
            t.start()  # a blocking read, waiting in the driver
            move(m, PKT1 + PKT2)
            t.join(10)
            assert not t.is_alive(), "the blocked read never returned"
            assert len(got[0]) in (3, 6), got
            out = got[0] + read_packets(fd, 2 - len(got[0]) // 3)
            assert out == PKT1 + PKT2, out
        finally:
            os.close(fd)


def test_garbage_byte_before_a_packet_is_dropped():
    with aux_mount() as m:
        fd = open_node(m, "aux0")
        try:
            move(m, bytes([0x00]) + PKT1)  # 0x00: bit 3 clear, no packet
            assert read_packets(fd, 1) == PKT1
            move(m, bytes([0x05, 0x81]) + PKT2)
            assert read_packets(fd, 1) == PKT2
        finally:
            os.close(fd)


def test_keys_flow_to_kbd0_while_aux0_is_open_and_moving():
    with aux_mount() as m:
        aux = open_node(m, "aux0")
        kbd = open_node(m, "kbd0")
        try:
            move(m, PKT1)
            feed_keys(m, HI)
            move(m, PKT2)
            assert read_exactly(kbd, 2) == b"hi"
            assert read_packets(aux, 2) == PKT1 + PKT2
            feed_keys(m, HI[:2])
            move(m, PKT1)
            assert read_exactly(kbd, 1) == b"h"
            assert read_packets(aux, 1) == PKT1
        finally:
            os.close(aux)
            os.close(kbd)


def test_two_readers_of_aux0_each_get_every_packet():
    with aux_mount() as m:
        a, b = open_node(m, "aux0"), open_node(m, "aux0")
        try:
            move(m, PKT1)
            move(m, PKT2)
            assert read_packets(a, 2) == PKT1 + PKT2
            assert read_packets(b, 2) == PKT1 + PKT2
        finally:
            os.close(a)
            os.close(b)


def test_poll_on_aux0_wakes_when_a_packet_arrives():
    with aux_mount() as m:
        fd = open_node(m, "aux0")
        try:
            p = select.poll()
            p.register(fd, select.POLLIN)
            assert p.poll(200) == []
            t = threading.Timer(0.2, move, (m, PKT1))
            t.start()
            ev = p.poll(5000)
            t.join()
            assert ev and ev[0][1] & select.POLLIN, ev
            assert os.read(fd, 64) == PKT1
        finally:
            os.close(fd)


def test_part_packet_does_not_make_aux0_readable():
    # the rest must come within the driver's 500 ms packet gap
    with aux_mount() as m:
        fd = open_node(m, "aux0")
        try:
            p = select.poll()
            p.register(fd, select.POLLIN)
            move(m, PKT2[:2])
            assert p.poll(100) == []
            move(m, PKT2[2:])
            ev = p.poll(5000)
            assert ev and ev[0][1] & select.POLLIN, ev
            assert os.read(fd, 64) == PKT2
        finally:
            os.close(fd)


def test_aux0_write_and_short_read_are_einval():
    with aux_mount() as m:
        fd = open_node(m, "aux0", os.O_RDWR | os.O_NONBLOCK)
        try:
            expect_errno(errno.EINVAL, os.write, fd, PKT1)
            expect_errno(errno.EAGAIN, os.read, fd, 64)
            expect_errno(errno.EINVAL, os.read, fd, 2)
        finally:
            os.close(fd)


if __name__ == "__main__":
    sys.exit(run([
        test_tree_has_kbd0_and_aux0_of_one_instance,
        test_two_packets_come_out_of_aux0_exactly,
        test_garbage_byte_before_a_packet_is_dropped,
        test_keys_flow_to_kbd0_while_aux0_is_open_and_moving,
        test_two_readers_of_aux0_each_get_every_packet,
        test_poll_on_aux0_wakes_when_a_packet_arrives,
        test_part_packet_does_not_make_aux0_readable,
        test_aux0_write_and_short_read_are_einval,
    ]))

#!/usr/bin/env python3
"""cuse_client.py: the ioctl, poll and signal checks of cuse-libdriver.sh,
as a caller of a driver's CUSE device would make them.

Usage: cuse_client.py CHECK DEVICE [ARGS...]
  rtc-rd-time DEV         print RTC_RD_TIME as "YYYY-MM-DD HH:MM:SS"
  enotty DEV CMD          ioctl CMD (hex) must fail with ENOTTY
  kbd-mode DEV            print KDGKBMODE, then KDSKBMODE K_RAW and print
                          KDGKBMODE again, on one open file
  kbd-key DEV FIFO        open a text and a K_RAW handle, feed the 'a' key
                          into the sim i8042 FIFO, poll both, print what
                          each read
  intr-read DEV           a read blocked with no key is interrupted by
                          SIGALRM; print the errno name and the seconds taken
Exits 0 when the check ran as described, 1 otherwise (with a message).
"""
import errno
import fcntl
import os
import select
import signal
import struct
import sys
import time

RTC_RD_TIME = 0x80247009  # _IOR('p', 0x09, struct rtc_time)
KDGKBMODE = 0x4B44
KDSKBMODE = 0x4B45
K_RAW = 0
# How long a key may take to come through the sim i8042, in milliseconds.
KEY_TIMEOUT_MS = 5000
# When SIGALRM interrupts the blocked read, in seconds.
ALARM_SECS = 0.5


def die(msg):
    print(f"cuse_client: {msg}", file=sys.stderr)
    sys.exit(1)


def rtc_rd_time(dev):
    with open(dev, "rb", buffering=0) as f:
        buf = bytearray(36)
        fcntl.ioctl(f.fileno(), RTC_RD_TIME, buf)
    sec, mn, hour, mday, mon, year = struct.unpack_from("<6i", buf)
    print(f"{year + 1900:04d}-{mon + 1:02d}-{mday:02d} "
          f"{hour:02d}:{mn:02d}:{sec:02d}")


def enotty(dev, cmd):
    with open(dev, "rb", buffering=0) as f:
        try:
            fcntl.ioctl(f.fileno(), int(cmd, 16), bytearray(8))
        except OSError as e:
            if e.errno == errno.ENOTTY:
                return
            die(f"ioctl {cmd}: {e}, want ENOTTY")
    die(f"ioctl {cmd} succeeded, want ENOTTY")


def get_mode(fd):
    buf = bytearray(4)
    fcntl.ioctl(fd, KDGKBMODE, buf)
    return struct.unpack("<i", buf)[0]


def kbd_mode(dev):
    fd = os.open(dev, os.O_RDONLY)
    before = get_mode(fd)
    fcntl.ioctl(fd, KDSKBMODE, K_RAW)
    after = get_mode(fd)
    os.close(fd)
    print(before, after)


def read_ready(fd):
    p = select.poll()
    p.register(fd, select.POLLIN)
    if not p.poll(KEY_TIMEOUT_MS):
        die("poll timed out: no key came through")
    return os.read(fd, 64)


def kbd_key(dev, fifo):
    text = os.open(dev, os.O_RDONLY)
    raw = os.open(dev, os.O_RDONLY)
    fcntl.ioctl(raw, KDSKBMODE, K_RAW)
    w = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    os.write(w, b"\x1e\x9e")  # set-1 make and break of 'a'
    os.close(w)
    t = read_ready(text)
    r = read_ready(raw)
    os.close(text)
    os.close(raw)
    print(t.decode(errors="replace"), r.hex())


class Alarm(Exception):
    pass


def on_alarm(signum, frame):
    raise Alarm()


def intr_read(dev):
    fd = os.open(dev, os.O_RDONLY)
    signal.signal(signal.SIGALRM, on_alarm)
    start = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, ALARM_SECS)
    try:
        data = os.read(fd, 64)
        die(f"read returned {data!r} with no key")
    except Alarm:
        pass
    took = time.monotonic() - start
    os.close(fd)
    print("EINTR", f"{took:.1f}")


def main():
    if len(sys.argv) < 3:
        die("usage: cuse_client.py CHECK DEVICE [ARGS...]")
    check, dev, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    checks = {
        "rtc-rd-time": rtc_rd_time,
        "enotty": enotty,
        "kbd-mode": kbd_mode,
        "kbd-key": kbd_key,
        "intr-read": intr_read,
    }
    if check not in checks:
        die(f"unknown check {check}")
    checks[check](dev, *rest)


if __name__ == "__main__":
    main()

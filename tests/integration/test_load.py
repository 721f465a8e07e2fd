"""Host integration: load with crashes.

64 clients use rtc0, lp0 and kbd0 for LOAD_SECS while a random driver is
killed with -9 every KILL_EVERY_SECS and root runs random ddmctl commands.
Every answer is checked (an rtc line, the keys that were typed, the bytes
written), every operation must end (a hang fails the test), the only
errors allowed are EIO (a handle from before a crash) and EINTR, no node
may end "failed", and ddmfs's open fds must be back where they were.
The counts are printed as TAP comments.
"""

import collections
import errno
import os
import random
import sys
import threading
import time

from ddmtest import KBD, LP, RTC, RTC_LINE, Mount, conf_text, run, wait_until

LOAD_SECS = 30
KILL_EVERY_SECS = 3
OP_BOUND_SECS = 20  # an operation not over in this long is a hang
NODES = ("isa0/rtc0", "isa0/lp0", "isa0/kbd0")
A_KEY = b"\x1e\x9e"  # set-1: a pressed, a released
CONF = conf_text(",".join((RTC, LP, KBD)))


def fds_of(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.ok = collections.Counter()
        self.errors = collections.Counter()
        self.wrong = []
        self.busy = {}  # thread -> start of its current operation

    def op(self, what, fn):
        me = threading.get_ident()
        self.busy[me] = time.monotonic()
        try:
            good = fn()
        except OSError as e:
            with self.lock:
                self.errors[(what, errno.errorcode[e.errno])] += 1
        else:
            with self.lock:
                if good is True:
                    self.ok[what] += 1
                else:
                    self.wrong.append((what, good))
        finally:
            del self.busy[me]


def rtc_client(m, t, stop):
    def once():
        fd = os.open(m.path("isa0/rtc0"), os.O_RDONLY)
        try:
            out = os.read(fd, 100)
            return True if RTC_LINE.match(out) else out
        finally:
            os.close(fd)
    while not stop.is_set():
        t.op("rtc0 read", once)


def lp_client(m, t, stop, lp_lock):
    data = b"0123456789" * 10

    def once():
        # lp0 is exclusive: the writers take turns, so EBUSY is an error
        with lp_lock:
            fd = os.open(m.path("isa0/lp0"), os.O_WRONLY)
            try:
                n = os.write(fd, data)
                return True if n == len(data) else n
            finally:
                os.close(fd)
    while not stop.is_set():
        t.op("lp0 write", once)


def kbd_client(m, t, stop):
    def once():
        fd = os.open(m.path("isa0/kbd0"), os.O_RDONLY)
        try:
            out = os.read(fd, 100)
            return True if out and set(out) == {ord("a")} else out
        finally:
            os.close(fd)
    while not stop.is_set():
        t.op("kbd0 read", once)


def typist(m, stop):
    fifo = os.path.join(m.state, "sim", "kbd0.in")
    while not stop.is_set():
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            time.sleep(0.01)  # no model reads it (kbd0 restarting)
            continue
        try:
            while not stop.is_set():
                os.write(fd, A_KEY)
                time.sleep(0.01)
        except OSError:
            pass
        finally:
            os.close(fd)


def killer(m, stop, kills):
    while not stop.wait(KILL_EVERY_SECS):
        node = random.choice(NODES)
        pid = m.status(node)["pid"]
        if pid != "-":
            try:
                os.kill(int(pid), 9)
                kills[node] += 1
            except ProcessLookupError:
                pass


def admin(m, stop, cmds):
    while not stop.wait(random.uniform(0.3, 1.0)):
        cmd = random.choice(["list", "status", "restart", "reload"])
        args = [cmd] + ([random.choice(NODES)]
                        if cmd in ("status", "restart") else [])
        r = m.ctl(*args, check=False)
        cmds[(cmd, r.returncode)] += 1


def test_64_clients_with_a_driver_killed_every_3_s():
    random.seed(7)
    with Mount(conf=CONF) as m:
        for n in NODES:
            m.wait_running(n)
        pid = m.proc.pid
        fds_before, rss_before = fds_of(pid), rss_kib(pid)
        t, stop, side = Tally(), threading.Event(), threading.Event()
        kills, cmds = collections.Counter(), collections.Counter()
        lp_lock = threading.Lock()
        clients = [threading.Thread(target=rtc_client, args=(m, t, stop))
                   for _ in range(40)]
        clients += [threading.Thread(target=lp_client,
                                     args=(m, t, stop, lp_lock))
                    for _ in range(8)]
        clients += [threading.Thread(target=kbd_client, args=(m, t, stop))
                    for _ in range(16)]
        helpers = [threading.Thread(target=typist, args=(m, side)),
                   threading.Thread(target=killer, args=(m, stop, kills)),
                   threading.Thread(target=admin, args=(m, stop, cmds))]
        for th in clients + helpers:
            th.start()
        end = time.monotonic() + LOAD_SECS
        hung = []
        while time.monotonic() < end:
            time.sleep(1)
            now = time.monotonic()
            hung += [now - s for s in list(t.busy.values())
                     if now - s > OP_BOUND_SECS]
        stop.set()
        for th in clients + helpers[1:]:
            th.join(OP_BOUND_SECS + 10)
        side.set()
        helpers[0].join(10)
        left = [th for th in clients if th.is_alive()]
        for n in NODES:  # the last kill's restart settles
            m.wait_running(n, timeout=20)
        states = [line.split("\t")[4]
                  for line in m.ctl("list").stdout.splitlines()]
        wait_until(lambda: fds_of(pid) == fds_before, 10,
                   f"ddmfs's fds back at {fds_before} (now {fds_of(pid)})")
        rss_after = rss_kib(pid)
        print(f"# ops ok: {dict(t.ok)}")
        print(f"# errors: {dict(t.errors)}")
        print(f"# wrong answers: {len(t.wrong)}; hangs: {len(hung)}; "
              f"threads left: {len(left)}")
        print(f"# kills: {dict(kills)}; ddmctl: {dict(cmds)}")
        print(f"# ddmfs fds {fds_before} -> {fds_of(pid)}, "
              f"RSS {rss_before} -> {rss_after} KiB")
        assert t.wrong == [], t.wrong[:5]
        assert hung == [] and left == [], (hung, left)
        assert {e for _, e in t.errors} <= {"EIO", "EINTR"}, t.errors
        assert states == ["running"] * 3, states
        assert sum(kills.values()) >= LOAD_SECS // KILL_EVERY_SECS - 1
        assert all(t.ok[w] > 0 for w in ("rtc0 read", "lp0 write",
                                         "kbd0 read")), t.ok
        assert all(rc == 0 for (_, rc) in cmds), cmds


if __name__ == "__main__":
    sys.exit(run([test_64_clients_with_a_driver_killed_every_3_s]))

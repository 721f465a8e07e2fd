"""Host integration: ddmfs as a systemd service sees it.

ddmfs tells systemd how it is doing through sd_notify (the datagram socket
named by $NOTIFY_SOCKET): READY=1 once the tree is mounted, RELOADING=1 and
READY=1 around a SIGHUP reload, STOPPING=1 on SIGTERM.  The test plays
systemd's part with a socket of its own.  SIGHUP reloads the conf like
ddmctl reload and never unmounts.  -d logs each forwarded request with its
result and latency.
"""

import errno
import fcntl
import os
import re
import signal
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ddmtest import (LP, RTC, Mount, conf_text, expect_errno,  # noqa: E402
                     read_node, run, wait_until)

RTC_NVRAM = """
			{ name = "rtc0"; driver = "ddm-rtc"; io = "sim";
			  ports = [ "0x70-0x71" ]; mode = "0644";
			  nodes = ( { name = "rtc0"; },
			            { name = "nvram0"; kind = "nvram";
			              mode = "0600"; } ); }"""


class Notify:
    """systemd's end of sd_notify: a datagram socket that ddmfs is told
    about through $NOTIFY_SOCKET while it starts."""

    def __init__(self, tmp):
        self.path = os.path.join(tmp, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def start(self, m):
        os.environ["NOTIFY_SOCKET"] = self.path
        try:
            m.start()
        finally:
            del os.environ["NOTIFY_SOCKET"]

    def until(self, key, timeout=10):
        """The messages received (each a dict) up to and including the
        first that holds key ("READY=1"); fails after timeout s."""
        got = []
        self.sock.settimeout(timeout)
        while True:
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                raise AssertionError(f"no {key} in time; got {got}")
            msg = dict(line.split("=", 1) for line in data.splitlines())
            got.append(msg)
            k, v = key.split("=", 1)
            if msg.get(k) == v:
                return got

    def close(self):
        self.sock.close()


def service_mount(devices=RTC, args=()):
    m = Mount(conf=conf_text(devices), args=args)
    return m, Notify(m.tmp)


def test_ready_comes_once_the_tree_is_mounted():
    m, n = service_mount()
    try:
        n.start(m)
        got = n.until("READY=1")
        assert os.path.ismount(m.mnt), "READY=1 before the mount"
        statuses = [g["STATUS"] for g in got if "STATUS" in g]
        assert statuses[-1] == "serving " + m.mnt, statuses
        assert any(s.startswith("starting the drivers of ")
                   for s in statuses), statuses
    finally:
        n.close()
        m.cleanup()


def test_sighup_reloads_the_conf_and_keeps_the_mount():
    m, n = service_mount()
    try:
        n.start(m)
        n.until("READY=1")
        with open(m.conf, "w") as f:
            f.write(conf_text(RTC + "," + LP))
        m.proc.send_signal(signal.SIGHUP)
        got = n.until("READY=1")
        assert got[0].get("RELOADING") == "1", got
        assert got[-1]["STATUS"] == (
            f"serving {m.mnt}; reload: 1 added, 0 removed, 0 restarted"), got
        assert m.proc.poll() is None, "ddmfs exited on SIGHUP"
        assert os.path.ismount(m.mnt)
        m.wait_running("isa0/lp0")
        assert read_node(m.path("isa0/lp0")).startswith(b"busy=")
        assert "ddmfs: SIGHUP: reload: 1 added, 0 removed, 0 restarted" \
            in m.log_lines()
    finally:
        n.close()
        m.cleanup()


def test_sighup_with_a_bad_conf_changes_nothing_and_says_why():
    m, n = service_mount()
    try:
        n.start(m)
        n.until("READY=1")
        with open(m.conf, "w") as f:
            f.write(conf_text(RTC + "," + LP) + "\nbogus_key = 1;\n")
        m.proc.send_signal(signal.SIGHUP)
        got = n.until("READY=1")
        assert got[-1]["STATUS"].startswith(
            f"serving {m.mnt}; reload failed: "), got
        assert m.conf in got[-1]["STATUS"], got
        assert m.proc.poll() is None and os.path.ismount(m.mnt)
        assert sorted(os.listdir(m.path("isa0"))) == ["rtc0"]
        assert any(line.startswith(f"ddmfs: SIGHUP: reload: {m.conf}:")
                   for line in m.log_lines()), m.logtext()
    finally:
        n.close()
        m.cleanup()


def test_sigterm_says_stopping_then_unmounts():
    m, n = service_mount()
    try:
        n.start(m)
        n.until("READY=1")
        m.proc.send_signal(signal.SIGTERM)
        got = n.until("STOPPING=1")
        assert got[-1]["STATUS"] == f"stopping (signal {signal.SIGTERM})"
        assert m.proc.wait(timeout=15) == 0
        assert not os.path.ismount(m.mnt)
    finally:
        n.close()
        m.cleanup()


def test_an_upgrade_is_a_reload_in_the_same_process():
    m, n = service_mount()
    try:
        n.start(m)
        n.until("READY=1")
        pid = m.proc.pid
        r = m.ctl("upgrade")
        assert "upgraded" in r.stdout, r.stdout
        got = n.until("READY=1")
        assert got[0].get("RELOADING") == "1", got
        assert got[0]["STATUS"].startswith("upgrading to "), got
        assert got[-1]["STATUS"] == f"serving {m.mnt} (upgraded)", got
        assert m.proc.pid == pid and m.proc.poll() is None
        assert read_node(m.path("isa0/rtc0"))
    finally:
        n.close()
        m.cleanup()


# "isa0/rtc0: read 4096 @0 -> 20 (85 us)"
def trace(node, op, result):
    return re.compile(re.escape(f"ddmfs: {node}: {op}") + r"(?: \S+)* -> " +
                      re.escape(result) + r" \(\d+ us\)$")


def test_debug_logs_every_request_with_result_and_latency():
    m = Mount(conf=conf_text(RTC_NVRAM), args=["-d"])
    try:
        m.start()
        line = read_node(m.path("isa0/rtc0"))
        fd = os.open(m.path("isa0/rtc0"), os.O_RDONLY)
        try:
            # _IOR('p', 0x7f, int): nobody serves it
            expect_errno(errno.ENOTTY, fcntl.ioctl, fd, 0x8004707f,
                         bytearray(4))
        finally:
            os.close(fd)
        read_node(m.path("isa0/nvram0"))

        def seen(node, op, result):
            rx = trace(node, op, result)
            return any(rx.match(x) for x in m.log_lines())

        for node, op, result in (
                ("isa0/rtc0", "open", "0"),
                ("isa0/rtc0", "read", str(len(line))),
                ("isa0/rtc0", "ioctl", "ENOTTY"),
                ("isa0/nvram0", "open", "0"),
                ("isa0/nvram0", "read", "114")):
            wait_until(lambda: seen(node, op, result), timeout=5,
                       what=f"a -d line for {node} {op} -> {result}:\n" +
                       m.logtext())
        assert any(re.match(r"ddmfs: isa0/rtc0: read \d+ @0 -> \d+ \(\d+ us\)$", x)
                   for x in m.log_lines()), m.logtext()
        wait_until(lambda: "ddmfs: isa0/nvram0: release" in m.log_lines(),
                   timeout=5, what="a release line")
    finally:
        m.cleanup()


def test_without_debug_no_request_is_logged():
    m = Mount(conf=conf_text(RTC))
    try:
        m.start()
        read_node(m.path("isa0/rtc0"))
        m.stop()
        assert not any(" -> " in x for x in m.log_lines()), m.logtext()
    finally:
        m.cleanup()


if __name__ == "__main__":
    sys.exit(run([
        test_ready_comes_once_the_tree_is_mounted,
        test_sighup_reloads_the_conf_and_keeps_the_mount,
        test_sighup_with_a_bad_conf_changes_nothing_and_says_why,
        test_sigterm_says_stopping_then_unmounts,
        test_an_upgrade_is_a_reload_in_the_same_process,
        test_debug_logs_every_request_with_result_and_latency,
        test_without_debug_no_request_is_logged,
    ]))

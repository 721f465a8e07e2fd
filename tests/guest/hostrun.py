#!/usr/bin/env python3
"""hostrun.py: the host side of the ddmfs guest tests.

Usage: hostrun.py fuse|cuse|env|pci   (pio-fuse.py, pio-cuse.py,
                                       guest-env.py and pci-vfio.py call
                                       main())

Boots one QEMU guest through boot.sh (pinned RTC, two parallel ports to files,
QMP socket) running guest-ddmfs.sh TRANSPORT (or, for env, guest-env.sh:
smoke.sh and cuse-libdriver.sh; for pci, guest-pci.sh on the PCI machine,
boot.sh --pci), and reads its console as it streams.  Guest TAP lines are
renumbered into one TAP stream, together with the host's own checks; other
console lines become TAP comments.  A guest
line "DDM-HOST: ID VERB ARGS..." asks the host to act:

    send-key KEY...        type the keys over QMP (qmp.py key syntax)
    mouse-move DX,DY...    move the PS/2 mouse over QMP (input-send-event,
                           rel axes, QEMU's sense: y grows downwards), one
                           event batch (so one PS/2 packet) per argument
    mouse-click BUTTON...  press and release each button (left, right,
                           middle), one batch for the press, one for the
                           release
    rtc-is ISO [WHY...]    check QEMU's RTC (QMP qom-get /machine rtc-time)
                           is ISO within CLOCK_SLACK_S; prints a TAP line
    device-add DRIVER ID [BUS]
                           hotplug a device (QMP device_add), e.g.
                           device-add edu e2 rp1 on the PCI machine
    device-del ID          unplug it again (QMP device_del; the guest
                           sees it go a moment later)

and the host then creates the file ID ("ok" or "fail: why") in an ack
directory the guest sees over 9p.  The run directory (console log, ack
files, the files of the two parallel ports, lp0.out at 0x378 and lp1.out
at 0x278) is $DDM_BUILDDIR/tests/guest/run-NAME,
outside /tmp, which the guest hides.  Every "1..N" plan the guest prints
adds to the number of guest results expected.

No QEMU or no kernel is a skip, except under CI=true, where it fails; a
guest that does not boot, does not finish, or reports fewer tests than it
planned always fails.
"""

import calendar
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
import qmp  # noqa: E402  (after dont_write_bytecode: keep the tree clean)

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("DDM_SRCDIR") or os.path.abspath(
    os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("DDM_BUILDDIR") or os.path.join(SRCDIR, "build")
BOOT = os.path.join(HERE, "boot.sh")
SCRIPTS = {"fuse": "guest-ddmfs.sh", "cuse": "guest-ddmfs.sh",
           "env": "guest-env.sh", "pci": "guest-pci.sh"}
# boot.sh options of each, besides the common ones
MACHINE = {"pci": ["--pci"]}
CONF = os.path.join(SRCDIR, "conf", "ddmfs-pio.conf")
MNT = "/ddm"
RTC_BASE = "2026-11-21T12:34:56"
NEEDED = ("ddmfs/ddmfs", "ddmfs/ddmctl", "drivers/rtc/ddm-rtc",
          "drivers/lp/ddm-lp", "drivers/kbd/ddm-kbd", "drivers/edu/ddm-edu")

# Bound on one whole boot (QEMU is killed after it), in seconds.
BOOT_TIMEOUT_S = 300
# Largest accepted difference between the guest's and QEMU's RTC, in seconds.
CLOCK_SLACK_S = 3
# Pause between the key strokes of one send-key request, in seconds.
KEY_GAP_S = 0.05
# How long QEMU holds a key that send-key pressed (its hold-time default
# is 100 ms), with a margin, in seconds.
KEY_RELEASE_S = 0.3
# Pause between the mouse event batches of one request, in seconds.
MOUSE_GAP_S = 0.05

TAP_RE = re.compile(r"^(not ok|ok)\b\s*\d*\s*(?:-\s*)?(.*)$")
PLAN_RE = re.compile(r"^1\.\.(\d+)")
HOST_RE = re.compile(r"^DDM-HOST: (\S+) (\S+) ?(.*)$")


class Tap:
    """One TAP stream on stdout, numbered here, plan at the end."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.n = 0
        self.failed = 0

    def result(self, ok, name):
        """One test point."""
        self.n += 1
        if not ok:
            self.failed += 1
        print(f"{'ok' if ok else 'not ok'} {self.n} - {self.prefix}{name}",
              flush=True)

    def comment(self, text):
        print(f"# {text}", flush=True)

    def plan(self):
        print(f"1..{self.n}", flush=True)


def qemu_rtc(sock):
    """QEMU's RTC time as seconds since the epoch."""
    q = qmp.QMP(sock)
    try:
        tm = q.execute("qom-get", {"path": "/machine", "property": "rtc-time"})
    finally:
        q.close()
    return calendar.timegm((tm["tm_year"] + 1900, tm["tm_mon"] + 1,
                            tm["tm_mday"], tm["tm_hour"], tm["tm_min"],
                            tm["tm_sec"], 0, 0, 0))


def send_keys(sock, keys):
    q = qmp.QMP(sock)
    try:
        for i, k in enumerate(keys):
            if i:
                time.sleep(KEY_GAP_S)
            q.execute("send-key", {"keys": qmp.key_combo(k)})
        # QEMU releases the keys hold-time after send-key returned: the
        # acknowledgement means every press and release was sent
        time.sleep(KEY_RELEASE_S)
    finally:
        q.close()


def send_events(sock, batches):
    """Each batch (a list of QMP InputEvents) in one input-send-event: QEMU
    syncs the mouse after each, which sends a PS/2 packet."""
    q = qmp.QMP(sock)
    try:
        for i, events in enumerate(batches):
            if i:
                time.sleep(MOUSE_GAP_S)
            q.execute("input-send-event", {"events": events})
    finally:
        q.close()


def mouse_moves(args):
    """['10,-5', ...] -> one batch of rel x, rel y events per argument."""
    batches = []
    for a in args:
        dx, dy = (int(v) for v in a.split(","))
        batches.append([{"type": "rel", "data": {"axis": axis, "value": v}}
                        for axis, v in (("x", dx), ("y", dy))])
    return batches


def mouse_clicks(args):
    """['left', ...] -> a press batch and a release batch per button."""
    return [[{"type": "btn", "data": {"down": down, "button": b}}]
            for b in args for down in (True, False)]


def qmp_call(sock, cmd, args):
    q = qmp.QMP(sock)
    try:
        q.execute(cmd, args)
    finally:
        q.close()


def act(tap, sock, verb, args):
    """Carries out one guest request; returns the acknowledgement text."""
    if verb == "device-add" and len(args) in (2, 3):
        dev = {"driver": args[0], "id": args[1]}
        if len(args) == 3:
            dev["bus"] = args[2]
        qmp_call(sock, "device_add", dev)
        return "ok"
    if verb == "device-del" and len(args) == 1:
        qmp_call(sock, "device_del", {"id": args[0]})
        return "ok"
    if verb == "send-key" and args:
        send_keys(sock, args)
        return "ok"
    if verb == "mouse-move" and args:
        send_events(sock, mouse_moves(args))
        return "ok"
    if verb == "mouse-click" and args:
        send_events(sock, mouse_clicks(args))
        return "ok"
    if verb == "rtc-is" and args:
        want = calendar.timegm(time.strptime(args[0], "%Y-%m-%dT%H:%M:%S"))
        got = qemu_rtc(sock)
        ok = abs(got - want) <= CLOCK_SLACK_S
        have = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(got))
        why = " ".join(args[1:])
        tap.result(ok, f"host: QEMU's RTC (QMP rtc-time {have}) is {args[0]}"
                   f" within {CLOCK_SLACK_S}s {why}".rstrip())
        return "ok" if ok else f"fail: QEMU's RTC is {have}"
    tap.result(False, f"host: unknown request {verb} {' '.join(args)}")
    return f"fail: unknown request {verb}"


def acknowledge(ack_dir, rid, text):
    tmp = os.path.join(ack_dir, f".{rid}.tmp")
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.rename(tmp, os.path.join(ack_dir, rid))


def unavailable(tap, why):
    """No QEMU or kernel: a skip, or a failure under CI."""
    if os.environ.get("CI", "") in ("", "false", "0"):
        print(f"1..0 # SKIP {why}", flush=True)
        return 0
    tap.result(False, f"guest layer can run ({why}; CI=true forbids a skip)")
    tap.plan()
    return 1


def preflight(tap):
    """Returns None when the guest can be booted, else the exit status."""
    if shutil.which("qemu-system-x86_64") is None:
        return unavailable(tap, "qemu-system-x86_64 not found")
    env = subprocess.run([os.path.join(HERE, "mkinitramfs.sh")],
                         capture_output=True, text=True)
    if env.returncode != 0:
        for line in env.stderr.splitlines():
            tap.comment(line)
        return unavailable(tap, "no guest kernel or initramfs")
    missing = [p for p in NEEDED if not os.access(os.path.join(BUILD, p),
                                                   os.X_OK)]
    if missing:
        tap.result(False, f"build tree {BUILD} has {', '.join(missing)}")
        tap.plan()
        return 1
    try:
        os.makedirs(MNT, exist_ok=True)  # the guest sees the host's root
    except OSError as e:
        tap.result(False, f"{MNT} exists on the host for the guest: {e}")
        tap.plan()
        return 1
    return None


def main(name):
    """Boots the guest for name (fuse, cuse, env or pci); returns the
    status."""
    tap = Tap(f"{name}: ")
    st = preflight(tap)
    if st is not None:
        return st
    script = os.path.join(HERE, SCRIPTS[name])
    run_dir = os.path.join(BUILD, "tests", "guest", f"run-{name}")
    shutil.rmtree(run_dir, ignore_errors=True)
    ack_dir = os.path.join(run_dir, "ack")
    os.makedirs(ack_dir)
    lp_out = os.path.join(run_dir, "lp0.out")
    lp1_out = os.path.join(run_dir, "lp1.out")
    for f in (lp_out, lp1_out):
        open(f, "wb").close()
    sock = f"/tmp/ddm-qmp.{os.getpid()}.{name}"
    cmd = [BOOT, f"--rtc-base={RTC_BASE}", f"--parallel={lp_out}",
           f"--parallel={lp1_out}", f"--qmp={sock}", f"--timeout={BOOT_TIMEOUT_S}",
           f"--env=DDM_BUILD={BUILD}", f"--env=DDM_CONF={CONF}",
           f"--env=DDM_ACK_DIR={ack_dir}", f"--env=DDM_LP_OUT={lp_out}",
           f"--env=DDM_LP1_OUT={lp1_out}",
           f"--env=DDM_RTC_DATE={RTC_BASE[:10]}"] + MACHINE.get(name, []) + [
           "--", script, name]
    tap.comment(" ".join(cmd))
    start = time.monotonic()
    boot = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    signal.signal(signal.SIGTERM, lambda *_: boot.terminate())
    signal.signal(signal.SIGINT, lambda *_: boot.terminate())
    planned = 0
    reported = 0
    with open(os.path.join(run_dir, "console.log"), "w") as log:
        for raw in boot.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            log.write(line + "\n")
            log.flush()
            m = HOST_RE.match(line)
            if m:
                rid, verb, args = m.group(1), m.group(2), m.group(3).split()
                try:
                    text = act(tap, sock, verb, args)
                except (qmp.QMPError, OSError, ValueError, KeyError) as e:
                    tap.result(False, f"host: {verb} {' '.join(args)}: {e}")
                    text = f"fail: {e}"
                acknowledge(ack_dir, rid, text)
                continue
            m = TAP_RE.match(line)
            if m:
                reported += 1
                tap.result(m.group(1) == "ok", m.group(2))
                continue
            m = PLAN_RE.match(line)
            if m:
                planned += int(m.group(1))
                continue
            tap.comment(line[2:] if line.startswith("# ") else line)
    rc = boot.wait()
    secs = time.monotonic() - start
    try:
        os.unlink(sock)
    except OSError:
        pass
    tap.result(rc == 0, f"the guest booted, ran {SCRIPTS[name]} and exited "
               f"0 (boot.sh status {rc}, {secs:.0f}s wall)")
    tap.result(planned > 0 and reported == planned,
               f"every planned guest test reported ({reported} of "
               f"{planned})")
    tap.plan()
    return 1 if tap.failed else 0


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in SCRIPTS:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))

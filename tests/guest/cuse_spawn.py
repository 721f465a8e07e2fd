#!/usr/bin/env python3
"""cuse_spawn.py: start a ddmfs driver on the CUSE transport the way ddmfs
does, for the guest tests.

Usage: cuse_spawn.py --node=BUS/NAME --ready=FILE [--dev=MAJ:MIN]
                     [--user=UID] [--hello-timeout=SECS] -- DRIVER [ARGS...]

Makes a SOCK_SEQPACKET socketpair, opens /dev/cuse (as root), and runs
DRIVER ARGS --node=... --ddm-fd=N --cuse-fd=M --cuse-dev=MAJ:MIN with both
fds passed, optionally as UID (after the opens, as ddmfs drops privilege).
It waits for the driver's DDM_HELLO, checks it (version 1, arg1 = 1: serving
over CUSE), reads the allocated numbers from /sys/class/cuse/<name>/dev and
writes "MAJ:MIN PID" (PID: the driver's) as one line to FILE.  It then
waits: on SIGTERM or SIGINT it closes its end of the socket (ddmfs is
gone) and exits with the driver's status, as soon as the driver exits too.
Errors before HELLO print one line and exit 3.
"""
import argparse
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

# struct ddm_msg from lib/libdriver/ddm_proto.h: 64 bytes, no padding.
DDM_MSG = struct.Struct("<IHHQQiIQQIIII")
DDM_MAGIC = 0x444D3144
DDM_HELLO = 1
DDM_PROTO_VERSION = 1
HELLO_VIA_CUSE = 1
# How long the driver may take to exit after the hangup, in seconds.
EXIT_TIMEOUT_SECS = 5

assert DDM_MSG.size == 64


def fail(msg):
    print(f"cuse_spawn: {msg}", file=sys.stderr, flush=True)
    sys.exit(3)


def wait_hello(sock, proc, timeout):
    """Returns the HELLO header fields as a tuple, or fails."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            fail("no HELLO in time")
        r, _, _ = select.select([sock], [], [], min(left, 0.1))
        if r:
            pkt = sock.recv(65536 + DDM_MSG.size)
            if len(pkt) == 0:
                fail(f"driver hung up before HELLO (status {proc.wait()})")
            if len(pkt) != DDM_MSG.size:
                fail(f"HELLO packet of {len(pkt)} bytes")
            return DDM_MSG.unpack(pkt)
        if proc.poll() is not None:
            fail(f"driver exited before HELLO (status {proc.returncode})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--node", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--dev", default="0:0")
    ap.add_argument("--user", type=int)
    ap.add_argument("--hello-timeout", type=float, default=10.0)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        fail("no driver command")

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    cuse = os.open("/dev/cuse", os.O_RDWR)
    argv = cmd + [f"--node={a.node}", f"--ddm-fd={theirs.fileno()}",
                  f"--cuse-fd={cuse}", f"--cuse-dev={a.dev}"]

    def drop():
        if a.user is not None:
            os.setgroups([])
            os.setgid(a.user)
            os.setuid(a.user)

    proc = subprocess.Popen(argv, pass_fds=(theirs.fileno(), cuse),
                            preexec_fn=drop)
    theirs.close()
    os.close(cuse)

    f = wait_hello(ours, proc, a.hello_timeout)
    magic, op, flags, _id, _fh, _res, arg0, arg1 = f[:8]
    if magic != DDM_MAGIC or op != DDM_HELLO or flags != 0:
        fail(f"not a HELLO: magic {magic:#x} op {op} flags {flags}")
    if arg0 != DDM_PROTO_VERSION or arg1 != HELLO_VIA_CUSE:
        fail(f"HELLO version {arg0} arg1 {arg1}, want 1 and 1")
    name = "ddm!" + a.node.replace("/", "!")
    with open(f"/sys/class/cuse/{name}/dev") as s:
        devnum = s.read().strip()
    with open(a.ready + ".tmp", "w") as r:
        r.write(f"{devnum} {proc.pid}\n")
    os.rename(a.ready + ".tmp", a.ready)

    while not stop and proc.poll() is None:
        try:
            select.select([ours], [], [], 0.2)
        except InterruptedError:
            pass
        # Drain anything the driver sends; nothing is expected.
        try:
            ours.recv(65536 + DDM_MSG.size, socket.MSG_DONTWAIT)
        except BlockingIOError:
            pass
    ours.close()
    try:
        status = proc.wait(timeout=EXIT_TIMEOUT_SECS)
    except subprocess.TimeoutExpired:
        proc.kill()
        status = 124
    sys.exit(status if status >= 0 else 128 - status)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""cuse_spawn.py: start a ddmfs driver on the CUSE transport the way ddmfs
does, for the guest tests.

Usage: cuse_spawn.py --node=BUS/NAME --ready=FILE [--dev=MAJ:MIN]
                     [--user=UID] [--hello-timeout=SECS] [--sim-dir=DIR]
                     -- DRIVER [ARGS...]

Makes a SOCK_SEQPACKET socketpair, opens /dev/cuse (and DIR, the sim
directory, if given) as root, and runs DRIVER ARGS --node=... --ddm-fd=N
--cuse-fd=M --cuse-dev=MAJ:MIN [--sim-fd=S] with those fds passed,
optionally as UID (after the opens, as ddmfs drops privilege).  It waits
for the driver's DDM_HELLO, checks it (version 1, arg1 = 1: serving over
CUSE), reads the allocated numbers from /sys/class/cuse/<name>/dev and
writes "MAJ:MIN PID" (PID: the driver's) as one line to FILE.  It then
plays ddmfs:
  SIGTERM, SIGINT  stop the driver as ddmfs does (SIGTERM to it, then
                   close the socket) and exit with its status
  SIGUSR1          die as a crashed ddmfs does: close the socket only (the
                   driver becomes an orphan); writes FILE.orphan
  SIGUSR2          adopt the orphan as a new ddmfs does: take its socket
                   with pidfd_getfd(), send DDM_ADOPT, wait for its HELLO;
                   writes FILE.adopted holding the HELLO's arg1
Errors before HELLO print one line and exit 3.
"""
import argparse
import ctypes
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
# struct ddm_hello_node: HELLO's payload holds one per node of the instance
HELLO_NODE = struct.Struct("<IIQ")
DDM_MAGIC = 0x444D3144
DDM_HELLO = 1
DDM_ADOPT = 13
DDM_PROTO_VERSION = 1
SYS_PIDFD_GETFD = 438
HELLO_VIA_CUSE = 1
# How long the driver may take to exit after the hangup, in seconds.
EXIT_TIMEOUT_SECS = 5

assert DDM_MSG.size == 64


def fail(msg):
    print(f"cuse_spawn: {msg}", file=sys.stderr, flush=True)
    sys.exit(3)


def wait_hello(sock, proc, timeout):
    """Returns the HELLO header fields as a tuple, or fails.  Its payload
    (len, the last field) is a whole number of node records."""
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
            if len(pkt) < DDM_MSG.size:
                fail(f"HELLO packet of {len(pkt)} bytes")
            f = DDM_MSG.unpack_from(pkt)
            extra = len(pkt) - DDM_MSG.size
            if f[-1] != extra or extra % HELLO_NODE.size:
                fail(f"HELLO payload of {extra} bytes, len {f[-1]}")
            return f
        if proc.poll() is not None:
            fail(f"driver exited before HELLO (status {proc.returncode})")


def pidfd_getfd(pid, fd):
    """The driver's fd number fd, duplicated into this process."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        got = libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
        if got < 0:
            raise OSError(ctypes.get_errno(), "pidfd_getfd")
        return got
    finally:
        os.close(pidfd)


def adopt(proc, fd_num, timeout):
    """Takes the orphan's socket and adopts it: the new socket and the
    HELLO's arg1, or fails."""
    deadline = time.monotonic() + timeout
    while True:
        sock = socket.socket(fileno=pidfd_getfd(proc.pid, fd_num))
        try:
            sock.send(DDM_MSG.pack(DDM_MAGIC, DDM_ADOPT, 0, 0, 0, 0,
                                   DDM_PROTO_VERSION, 0, 0, 0, 0, 0, 0))
            break
        except (BrokenPipeError, ConnectionResetError):
            sock.close()  # not swapped yet: the old, dead socket
            if time.monotonic() > deadline:
                fail("the orphan never put a fresh socket in place")
            time.sleep(0.05)
    f = wait_hello(sock, proc, timeout)
    return sock, f[7]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--node", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--dev", default="0:0")
    ap.add_argument("--user", type=int)
    ap.add_argument("--hello-timeout", type=float, default=10.0)
    ap.add_argument("--sim-dir")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        fail("no driver command")

    events = []
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1,
                signal.SIGUSR2):
        signal.signal(sig, lambda s, _: events.append(s))

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    cuse = os.open("/dev/cuse", os.O_RDWR)
    fds = [theirs.fileno(), cuse]
    argv = cmd + [f"--node={a.node}", f"--ddm-fd={theirs.fileno()}",
                  f"--cuse-fd={cuse}", f"--cuse-dev={a.dev}"]
    if a.sim_dir:
        sim = os.open(a.sim_dir, os.O_RDONLY | os.O_DIRECTORY)
        fds.append(sim)
        argv.append(f"--sim-fd={sim}")
    fd_num = theirs.fileno()

    def drop():
        if a.user is not None:
            os.setgroups([])
            os.setgid(a.user)
            os.setuid(a.user)

    # exec'd through an fd opened as root, as ddmfs does: the driver's
    # user need not reach the binary's directory (a checkout in /root)
    exe = os.open(argv[0], os.O_RDONLY | os.O_CLOEXEC)
    proc = subprocess.Popen(argv, executable=f"/proc/self/fd/{exe}",
                            pass_fds=fds + [exe], preexec_fn=drop)
    os.close(exe)
    theirs.close()
    for fd in fds[1:]:
        os.close(fd)

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

    stopping = False
    while not stopping and proc.poll() is None:
        try:
            select.select([ours] if ours else [], [], [], 0.2)
        except InterruptedError:
            pass
        # Drain anything the driver sends; nothing is expected.
        try:
            if ours:
                ours.recv(65536 + DDM_MSG.size, socket.MSG_DONTWAIT)
        except BlockingIOError:
            pass
        while events:
            sig = events.pop(0)
            if sig == signal.SIGUSR1 and ours:
                ours.close()
                ours = None
                open(a.ready + ".orphan", "w").close()
            elif sig == signal.SIGUSR2 and not ours:
                ours, arg1 = adopt(proc, fd_num, a.hello_timeout)
                with open(a.ready + ".adopted", "w") as r:
                    r.write(f"{arg1}\n")
            elif sig in (signal.SIGTERM, signal.SIGINT):
                proc.send_signal(signal.SIGTERM)
                stopping = True
    if ours:
        ours.close()
    try:
        status = proc.wait(timeout=EXIT_TIMEOUT_SECS)
    except subprocess.TimeoutExpired:
        proc.kill()
        status = 124
    sys.exit(status if status >= 0 else 128 - status)


if __name__ == "__main__":
    main()

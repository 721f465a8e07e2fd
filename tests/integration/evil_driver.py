#!/usr/bin/python3
"""evil_driver.py: a hostile ddmfs driver for test_hostile.py.

It speaks lib/libdriver/ddm_proto.h by hand (struct) on the socket ddmfs
passes as --ddm-fd=N, says HELLO, then misbehaves as --mode= says:

  stopread  answers --after=N requests, then never reads its socket again
  silent    answers opens, flushes and pings; never answers a read, and
            ignores DDM_INTERRUPT
  mute      reads everything, answers opens only: not even pings
  flood     sends replies to unknown ids in a tight loop
  bigread   answers a read with one byte more than asked
  bigerr    answers a read with error -1500, which FUSE cannot carry
  notify    sends poll notifications for a handle nobody polls, in a
            tight loop
  forker    starts a child of its own (sleep, in a session of its own)
            that would outlive it
  hangup    answers --after=N requests, then closes its socket and
            lingers (until ddmfs kills it)

The other options ddmfs passes (--io, --node, --state-dir, ...) are
ignored.  A well-behaved answer: open, flush, ping give 0, a read gives
"evil\\n", a write takes every byte.
"""

import os
import socket
import struct
import sys
import time

MAGIC = 0x444D3144
HDR = struct.Struct("=IHHQQiIQQIIII")  # struct ddm_msg, 64 bytes
(HELLO, OPEN, RELEASE, READ, WRITE, IOCTL, POLL, FLUSH, INTERRUPT, REPLY,
 NOTIFY, PING) = range(1, 13)
PAYLOAD_MAX = 64 * 1024  # a driver of the first protocol: HELLO announces none
PROTO_VERSION = 1
HELLO_SOCKET = 0


def pack(op, mid=0, fh=0, result=0, arg0=0, arg1=0, payload=b""):
    return HDR.pack(MAGIC, op, 0, mid, fh, result, arg0, arg1, 0, 0, 0, 0,
                    len(payload)) + payload


def reply(sock, mid, result=0, payload=b""):
    sock.send(pack(REPLY, mid, result=result, payload=payload))


def answer(sock, mode, op, mid, arg1, length):
    """Answers one request as mode says."""
    if op in (RELEASE, INTERRUPT):
        return
    if mode == "mute" and op != OPEN:
        return
    if mode == "silent" and op == READ:
        return
    if mode == "bigerr" and op == READ:
        reply(sock, mid, -1500)
        return
    if op == READ:
        size = min(arg1, PAYLOAD_MAX - 1)
        data = b"x" * (size + 1) if mode == "bigread" else b"evil\n"[:size]
        reply(sock, mid, len(data), data)
    elif op == WRITE:
        reply(sock, mid, length)
    elif op == IOCTL:
        reply(sock, mid, -25)  # -ENOTTY
    elif op == POLL:
        reply(sock, mid, 1)  # POLLIN
    else:
        reply(sock, mid, 0)


def flood(sock):
    mid = 1 << 62
    while True:
        mid += 1
        reply(sock, mid, 0)


def notify_flood(sock):
    while True:
        sock.send(pack(NOTIFY, fh=12345))


def fork_child():
    """A process of our own that would outlive us: sleep in a session of
    its own."""
    if os.fork() == 0:
        os.setsid()
        os.execvp("sleep", ["sleep", "3600"])


def main(argv):
    opts = dict(a[2:].split("=", 1) for a in argv[1:]
                if a.startswith("--") and "=" in a)
    mode = opts.get("mode", "")
    after = int(opts.get("after", "0"))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET,
                         fileno=int(opts["ddm-fd"]))
    sock.send(pack(HELLO, arg0=PROTO_VERSION, arg1=HELLO_SOCKET))
    if mode == "flood":
        flood(sock)
    if mode == "notify":
        notify_flood(sock)
    if mode == "forker":
        fork_child()
    served = 0
    while True:
        if mode == "stopread" and served >= after:
            time.sleep(3600)  # never reads again
        if mode == "hangup" and served >= after:
            sock.close()
            time.sleep(3600)  # alive, but gone from ddmfs's view
        pkt = sock.recv(HDR.size + PAYLOAD_MAX)
        if not pkt:
            return 0
        (magic, op, _, mid, _, _, _, arg1, _, _, _, _,
         length) = HDR.unpack_from(pkt)
        if magic != MAGIC:
            continue
        answer(sock, mode, op, mid, arg1, length)
        served += 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (BrokenPipeError, ConnectionResetError):
        sys.exit(0)

#!/usr/bin/env python3
"""qmp.py: a tiny QMP client for the QEMU guest tests (stdlib only).

Usage:
  qmp.py SOCK send-key KEY...        each KEY is a press-and-release; a KEY
                                     like shift-a presses shift and a together
  qmp.py SOCK qom-get PATH PROPERTY  e.g. qom-get /machine rtc-time
  qmp.py SOCK device_add DRIVER ID [BUS]
                                     e.g. device_add edu e1, or on the PCI
                                     machine device_add edu e2 rp1
  qmp.py SOCK device_del ID
  qmp.py SOCK raw JSON               any command, e.g. '{"execute":"query-pci"}'
The command's "return" value is printed as JSON. Connecting is retried for
CONNECT_TIMEOUT_S seconds (QEMU may still be starting). Exit status 0 on
success, 1 when QEMU answers with an error, 2 on usage or connection errors.
"""

import json
import socket
import sys
import time

# How long to keep retrying the connection, in seconds.
CONNECT_TIMEOUT_S = 10.0
# Pause between connection attempts, in seconds.
CONNECT_RETRY_S = 0.1
# Longest wait for one reply from QEMU, in seconds.
REPLY_TIMEOUT_S = 30.0
# Pause between the keys of one send-key invocation, in seconds; QEMU queues
# keys itself, this only keeps separate key strokes apart.
KEY_GAP_S = 0.05


class QMPError(Exception):
    pass


class QMP:
    def __init__(self, path):
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(path)
                break
            except OSError as e:
                sock.close()
                if time.monotonic() >= deadline:
                    raise QMPError(f"cannot connect to {path}: {e}") from e
                time.sleep(CONNECT_RETRY_S)
        sock.settimeout(REPLY_TIMEOUT_S)
        self.sock = sock
        self.rfile = sock.makefile("r", encoding="utf-8")
        greeting = self._read()
        if "QMP" not in greeting:
            raise QMPError(f"not a QMP greeting: {greeting}")
        self.execute("qmp_capabilities")

    def _read(self):
        line = self.rfile.readline()
        if not line:
            raise QMPError("QEMU closed the connection")
        return json.loads(line)

    def execute(self, cmd, args=None):
        """Run one command and return its "return" value; skips events."""
        msg = {"execute": cmd}
        if args is not None:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                continue
            if "error" in reply:
                err = reply["error"]
                raise QMPError(f"{cmd}: {err.get('class')}: {err.get('desc')}")
            return reply.get("return")

    def close(self):
        self.rfile.close()
        self.sock.close()


def key_combo(spec):
    """'shift-a' -> qcode key list for keys pressed together; '-' alone
    and 'minus' name the minus key."""
    names = ["minus"] if spec == "-" else spec.split("-")
    if any(not n for n in names):
        raise QMPError(f"bad key '{spec}'")
    return [{"type": "qcode", "data": n} for n in names]


def run(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    sock, cmd, rest = argv[1], argv[2], argv[3:]
    if cmd == "send-key" and rest:
        combos = [key_combo(k) for k in rest]
        calls = [("send-key", {"keys": c}) for c in combos]
    elif cmd == "qom-get" and len(rest) == 2:
        calls = [("qom-get", {"path": rest[0], "property": rest[1]})]
    elif cmd == "device_add" and len(rest) in (2, 3):
        dev = {"driver": rest[0], "id": rest[1]}
        if len(rest) == 3:
            dev["bus"] = rest[2]
        calls = [("device_add", dev)]
    elif cmd == "device_del" and len(rest) == 1:
        calls = [("device_del", {"id": rest[0]})]
    elif cmd == "raw" and len(rest) == 1:
        msg = json.loads(rest[0])
        calls = [(msg["execute"], msg.get("arguments"))]
    else:
        raise SystemExit(__doc__)

    qmp = QMP(sock)
    try:
        for i, (name, args) in enumerate(calls):
            if i:
                time.sleep(KEY_GAP_S)
            ret = qmp.execute(name, args)
            if cmd != "send-key":
                print(json.dumps(ret))
    finally:
        qmp.close()


def main():
    try:
        run(sys.argv)
    except QMPError as e:
        print(f"qmp.py: {e}", file=sys.stderr)
        return 2 if str(e).startswith("cannot connect") else 1
    except (OSError, ValueError, KeyError) as e:
        print(f"qmp.py: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

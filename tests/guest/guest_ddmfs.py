#!/usr/bin/env python3
"""guest_ddmfs.py: the ddmfs tests that run inside the QEMU guest, on real
(emulated) hardware through the pio backend.  Started by guest-ddmfs.sh
under boot.sh; hostrun.py boots the guest and plays the host's part.

Usage: guest_ddmfs.py TRANSPORT     (fuse or cuse)

Mounts ddmfs on /ddm from conf/ddmfs-pio.conf with transport = TRANSPORT,
then runs the same node-semantics tests on either transport and prints TAP
on the console.  Where the host must act (type keys over QMP, read QEMU's
RTC over QMP) a test prints a request line

    DDM-HOST: ID VERB ARGS...

and waits, at most ACK_TIMEOUT_S, for hostrun.py to create the file ID in
$DDM_ACK_DIR (a host directory the guest sees over 9p).

Environment (set by hostrun.py through boot.sh --env):
  DDM_BUILD    the build tree (ddmfs/ddmfs, ddmfs/ddmctl, the drivers)
  DDM_CONF     the pio conf to start from
  DDM_ACK_DIR  where the host's acknowledgements appear
  DDM_LP_OUT   the file QEMU's first parallel port (0x378) writes to
  DDM_LP1_OUT  the file its second parallel port (0x278) writes to

The tree has the shipped conf's nodes: the ddm-kbd instance kbd0 serves
kbd0 and aux0 (the PS/2 mouse), the ddm-rtc instance rtc0 serves rtc0 and
nvram0 (the CMOS bytes), and one ddm-lp binary runs twice, as lp0 and lp1.
nvram0 is checked against the chip itself through /dev/port and against
the kernel's nvram driver (/dev/nvram, nvram.ko of the guest kernel).
"""

import ctypes
import errno
import fcntl
import os
import re
import select
import signal
import stat
import struct
import subprocess
import sys
import time

# The helpers the host integration tests use serve here too.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import guest_tap  # noqa: E402  (beside this file)
from ddmtest import (as_nobody, expect_errno, read_node,  # noqa: E402
                     wait_until, write_node)

BUILD = os.environ.get("DDM_BUILD", "")
CONF = os.environ.get("DDM_CONF", "")
ACK_DIR = os.environ.get("DDM_ACK_DIR", "")
LP_OUT = os.environ.get("DDM_LP_OUT", "")
LP1_OUT = os.environ.get("DDM_LP1_OUT", "")
DDMFS = os.path.join(BUILD, "ddmfs", "ddmfs")
DDMCTL = os.path.join(BUILD, "ddmfs", "ddmctl")
MNT = "/ddm"
WORK = "/tmp/ddm-guest"
STATE = os.path.join(WORK, "state")
NOBODY = 65534
NODES = ("aux0", "kbd0", "lp0", "lp1", "nvram0", "rtc0")
# seekable nodes: ddmfs forwards them even under CUSE, whose char devices
# get no file offsets from the kernel
SEEKABLE = ("nvram0",)


def leaf_transport(n):
    """How node n is served: "cuse" (its own char device) or "fuse"."""
    return "fuse" if n in SEEKABLE else transport
# each instance's nodes, the instance's own name first
INSTANCES = {"kbd0": ("kbd0", "aux0"), "lp0": ("lp0",), "lp1": ("lp1",),
             "rtc0": ("rtc0", "nvram0")}
HERE = os.path.dirname(os.path.abspath(__file__))
# the guest kernel, as fetch-kernel.sh recorded it (MODDIR=...)
KERNEL_ENV = os.path.join(HERE, "cache", "kernel.env")

# How long ddmfs may take to mount and start its drivers, in seconds.
MOUNT_TIMEOUT_S = 20
# How long the host may take to act on a DDM-HOST request, in seconds.
ACK_TIMEOUT_S = 30
# How long typed keys may take to come out of kbd0, in seconds.
KEY_TIMEOUT_S = 10
# How long printed bytes may take to reach the parallel-port file, in seconds.
LP_TIMEOUT_S = 10
# Bound on any one client command, in seconds.
CMD_TIMEOUT_S = 30
# How long ddmfs may take to exit after SIGTERM, in seconds.
EXIT_TIMEOUT_S = 15
# Largest accepted difference between two readings of one clock, in seconds.
CLOCK_SLACK_S = 3
# Reads of rtc0 in the data-path test.
N_READS = 1000

RTC_RD_TIME = 0x80247009  # _IOR('p', 0x09, struct rtc_time)
LPGETSTATUS = 0x060B  # <linux/lp.h>, no size encoded
KDSKBMODE = 0x4B45
K_RAW = 0
LP_IDLE_STATUS = 0xD9  # QEMU's parallel port status when idle
LP_IDLE_LINE = b"busy=0 select=1 paperout=0 error=0\n"
NVRAM_SIZE = 114  # CMOS registers 14..127, as Linux /dev/nvram
NVRAM_FIRST = 14
# The PC checksum Linux's nvram driver checks (pc_nvram_read): the sum of
# nvram bytes 2..31, big-endian in bytes 32 and 33.  QEMU leaves it unset.
CKS_FIRST, CKS_LAST, CKS_AT = 2, 31, 32
# Free bytes the tests write (outside the checksummed range and the
# century, register 0x32 = byte 36).
NVRAM_PROBE = 60
NVRAM_PROBE2 = 61
CMOS_INDEX, CMOS_DATA = 0x70, 0x71
SYS_FINIT_MODULE = 313  # x86_64
MOUSE_TIMEOUT_S = 10
# QMP moves (QEMU's sense: y grows downwards; PS/2's: upwards) and the
# PS/2 packets QEMU's mouse gives for them: bit 3 always set, bit 4 the
# sign of x, bit 5 the sign of y, bits 6 and 7 overflow (QEMU clamps
# instead), bits 0-2 the buttons.
MOVES = (("10,-5", bytes([0x08, 0x0a, 0x05])),
         ("-30,12", bytes([0x38, 0xe2, 0xf4])),
         ("3,4", bytes([0x28, 0x03, 0xfc])))
# a move larger than one packet holds: QEMU splits it (127 at most each)
BIG_MOVE = ("200,0", 200, 0)
CLICK = bytes([0x09, 0x00, 0x00, 0x08, 0x00, 0x00])  # left down, up
KEYS = ("h", "i", "shift-a")
KEYS_TEXT = b"hiA"
KEYS_RAW = bytes.fromhex("23 a3 17 97 2a 1e 9e aa")

transport = sys.argv[1] if len(sys.argv) > 1 else "fuse"
ddmfs_proc = None
requests_sent = 0


def node(name):
    return os.path.join(MNT, "isa0", name)


def raw_node(name):
    return os.path.join("/dev/ddm/isa0", name)


def run(cmd, check=True, **kw):
    """Runs cmd (a list) bounded by CMD_TIMEOUT_S; returns CompletedProcess."""
    r = subprocess.run(cmd, capture_output=True, timeout=CMD_TIMEOUT_S, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)}: exit {r.returncode}: "
                             f"{r.stdout!r} {r.stderr!r}")
    return r


def ask_host(verb, *args):
    """Prints a DDM-HOST request and waits for the host's acknowledgement;
    returns its text ("ok" or "fail: why")."""
    global requests_sent
    requests_sent += 1
    rid = f"{transport}-{requests_sent}"
    ack = os.path.join(ACK_DIR, rid)
    print(f"DDM-HOST: {rid} {verb} {' '.join(args)}", flush=True)
    wait_until(lambda: os.path.exists(ack), ACK_TIMEOUT_S,
               f"the host to answer request {rid} ({verb})")
    with open(ack) as f:
        return f.read().strip()


def ctl(*args):
    return run([DDMCTL, "--state-dir", STATE] + list(args), text=True).stdout


def status(name):
    out = ctl("status", f"isa0/{name}")
    return dict(line.split(": ", 1) for line in out.splitlines()
                if ": " in line)


def cat(path):
    return run(["cat", path]).stdout


def parse_time(text):
    """'YYYY-MM-DD HH:MM:SS...' -> seconds since the epoch (UTC)."""
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)", text)
    assert m, f"not a time: {text!r}"
    return time.mktime(tuple(int(x) for x in m.groups()) + (0, 0, 0)) \
        - time.mktime(time.gmtime(0))


def rtc_line():
    out = cat(node("rtc0")).decode()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n", out), repr(out)
    return out.strip()


def conf_text():
    with open(CONF) as f:
        text = f.read()
    text, n = re.subn(r'(?m)^transport = "[a-z]*";',
                      f'transport = "{transport}";', text)
    assert n == 1, f"no transport line in {CONF}"
    return text


def test_ddmfs_mounts_the_pio_tree_on_ddm():
    global ddmfs_proc
    os.makedirs(STATE, exist_ok=True)
    conf = os.path.join(WORK, "ddmfs.conf")
    with open(conf, "w") as f:
        f.write(conf_text())
    assert os.path.isdir(MNT), f"{MNT} missing (hostrun.py creates it)"
    log = open(os.path.join(WORK, "ddmfs.log"), "ab")
    ddmfs_proc = subprocess.Popen(
        [DDMFS, "-f", "-c", conf, "--state-dir", STATE, MNT],
        stdout=log, stderr=subprocess.STDOUT)
    log.close()
    wait_until(lambda: os.path.ismount(MNT) or ddmfs_proc.poll() is not None,
               MOUNT_TIMEOUT_S, "the mount")
    assert ddmfs_proc.poll() is None, f"ddmfs exited {ddmfs_proc.returncode}"
    for n in INSTANCES:
        wait_until(lambda: status(n).get("state") == "running",
                   MOUNT_TIMEOUT_S, f"isa0/{n} to run")
    assert sorted(os.listdir(os.path.join(MNT, "isa0"))) == list(NODES)


def rtc_cmos_devices():
    """The devices the kernel's rtc_cmos driver holds now."""
    import glob
    return sorted(os.path.basename(p)
                  for p in glob.glob("/sys/bus/*/drivers/rtc_cmos/*")
                  if os.path.islink(p) and os.path.basename(p) != "module")


def rtc_port_claim():
    """The /proc/ioports line claiming port 0x70, or None."""
    with open("/proc/ioports") as f:
        for line in f:
            m = re.match(r"\s*([0-9a-f]+)-([0-9a-f]+) : (.*)", line)
            if m and int(m[1], 16) <= 0x70 <= int(m[2], 16) \
                    and not m[3].startswith("PCI"):
                return line.strip()
    return None


def test_rtc_cmos_is_unbound_while_rtc0_drives_its_ports():
    # the conf says unbind = "rtc_cmos": ddmfs took 0x70-0x71 from it
    assert rtc_cmos_devices() == [], rtc_cmos_devices()
    assert rtc_port_claim() is None, rtc_port_claim()
    assert not os.path.exists("/dev/rtc0")
    with open(os.path.join(STATE, "unbound")) as f:
        noted = f.read()
    assert re.fullmatch(r"rtc_cmos \w+ \S+\n", noted), noted
    assert status("rtc0")["state"] == "running"


def test_ddmctl_list_names_the_transport():
    lines = ctl("list").splitlines()
    assert len(lines) == len(NODES), lines
    for line in lines:
        f = line.split("\t")
        leaf = f[0].split("/")[-1]
        # NODE DRIVER INSTANCE TRANSPORT STATE PID ...
        assert f[4] == "running" and f[3] == leaf_transport(leaf), line
    assert status("rtc0")["transport"] == transport


def test_ls_l_shows_the_leaf_type_of_the_transport():
    out = run(["ls", "-l", os.path.join(MNT, "isa0")], text=True).stdout
    leaves = [line for line in out.splitlines() if line.split()[-1] in NODES]
    assert len(leaves) == len(NODES), out
    for line in leaves:
        want = "c" if leaf_transport(line.split()[-1]) == "cuse" else "-"
        assert line[0] == want, f"want '{want}': {line}"


def test_leaf_rdev_is_the_drivers_raw_device():
    for n in NODES:
        st = os.stat(node(n))
        if leaf_transport(n) == "cuse":
            raw = os.stat(raw_node(n))
            assert stat.S_ISCHR(st.st_mode), oct(st.st_mode)
            assert st.st_rdev == raw.st_rdev, (st.st_rdev, raw.st_rdev)
            rdev = f"{os.major(raw.st_rdev)}:{os.minor(raw.st_rdev)}"
            assert status(n).get("rdev") == rdev, (status(n), rdev)
        else:
            assert stat.S_ISREG(st.st_mode), oct(st.st_mode)
            assert not os.path.exists(raw_node(n)), raw_node(n)


def test_raw_dev_nodes_are_root_only():
    for n in NODES:
        if leaf_transport(n) != "cuse":
            assert not os.path.exists(raw_node(n))
            continue
        st = os.stat(raw_node(n))
        assert stat.S_ISCHR(st.st_mode), oct(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
        assert st.st_uid == 0 and st.st_gid == 0, (st.st_uid, st.st_gid)
        r = as_nobody("head", "-c", "1", raw_node(n))
        assert r.returncode != 0 and "Permission denied" in r.stderr, r


def test_nodes_of_one_instance_share_its_driver_and_each_has_a_device():
    for inst, nodes in INSTANCES.items():
        st = {n: status(n) for n in nodes}
        assert len({s["pid"] for s in st.values()}) == 1, st
        assert len({s["driver"] for s in st.values()}) == 1, st
        if transport != "cuse":
            continue
        # under CUSE each stream node is a char device of its own; a
        # seekable one (nvram0) is forwarded by ddmfs, as over FUSE: the
        # kernel gives a CUSE device no file offsets
        streams = [n for n in nodes if n != "nvram0"]
        rdevs = {n: os.stat(raw_node(n)).st_rdev for n in streams}
        assert len(set(rdevs.values())) == len(streams), rdevs
        for n in streams:
            assert stat.S_ISCHR(os.stat(node(n)).st_mode), n
            assert os.stat(node(n)).st_rdev == rdevs[n], n
        if "nvram0" in nodes:
            st = os.stat(node("nvram0"))
            assert stat.S_ISREG(st.st_mode), oct(st.st_mode)
            assert st.st_size == NVRAM_SIZE, st.st_size
            assert not os.path.exists(raw_node("nvram0"))
    pids = {inst: status(inst)["pid"] for inst in INSTANCES}
    assert len(set(pids.values())) == len(INSTANCES), pids


def test_cat_rtc0_is_qemus_rtc_time():
    line = rtc_line()
    # The kernel set the system clock from this RTC at boot.
    diff = parse_time(line) - time.time()
    assert abs(diff) <= CLOCK_SLACK_S, f"{line} is {diff:+.0f}s off the clock"
    ack = ask_host("rtc-is", line.replace(" ", "T"), "(cat rtc0)")
    assert ack == "ok", ack


def test_hwclock_show_agrees_with_cat():
    # --noadjfile: /etc/adjtime is read-only in the guest, so no drift file;
    # --utc: the RTC keeps UTC, as rtc0 shows.
    out = run(["hwclock", "--show", "--noadjfile", "--utc", "-f",
               node("rtc0")], text=True).stdout
    line = rtc_line()
    diff = parse_time(out) - parse_time(line)
    assert abs(diff) <= CLOCK_SLACK_S, f"hwclock {out!r} vs cat {line!r}"


def test_hwclock_set_changes_qemus_clock():
    run(["hwclock", "--set", "--date", "2031-02-03 04:05:06", "--noadjfile",
         "--utc", "-f", node("rtc0")])
    line = rtc_line()
    assert re.fullmatch(r"2031-02-03 04:05:0[6-9]", line), line
    ack = ask_host("rtc-is", "2031-02-03T04:05:06", "(after hwclock --set)")
    assert ack == "ok", ack


def test_rtc0_write_sets_the_time_and_bad_text_is_einval():
    assert write_node(node("rtc0"), b"2030-01-02 03:04:05\n") == 20
    line = rtc_line()
    assert re.fullmatch(r"2030-01-02 03:04:0[5-8]", line), line
    expect_errno(errno.EINVAL, write_node, node("rtc0"), b"not a time\n")
    expect_errno(errno.EINVAL, write_node, node("rtc0"),
                 b"2030-13-02 03:04:05")


def test_rtc_rd_time_ioctl_matches_cat():
    with open(node("rtc0"), "rb", buffering=0) as f:
        buf = bytearray(36)
        fcntl.ioctl(f.fileno(), RTC_RD_TIME, buf)
    sec, mn, hour, mday, mon, year = struct.unpack_from("<6i", buf)
    got = (f"{year + 1900:04d}-{mon + 1:02d}-{mday:02d} "
           f"{hour:02d}:{mn:02d}:{sec:02d}")
    diff = parse_time(rtc_line()) - parse_time(got)
    assert 0 <= diff <= CLOCK_SLACK_S, got


def lp_size():
    return os.stat(LP_OUT).st_size


def test_printf_hello_reaches_the_parallel_file_exactly():
    before = lp_size()
    run(["sh", "-c", f"printf 'hello\\n' > {node('lp0')}"])
    wait_until(lambda: lp_size() >= before + 6, LP_TIMEOUT_S,
               f"6 new bytes in {LP_OUT}")
    time.sleep(0.2)  # nothing more may follow
    with open(LP_OUT, "rb") as f:
        f.seek(before)
        got = f.read()
    assert got == b"hello\n", got


# QEMU's port reads busy after a byte until its status has been polled a
# few times, so the idle checks come before the first write.
def test_lp0_reads_the_idle_status_line():
    line = read_node(node("lp0"))
    assert line == LP_IDLE_LINE, line


def lp_getstatus():
    with open(node("lp0"), "rb", buffering=0) as f:
        buf = bytearray(4)
        fcntl.ioctl(f.fileno(), LPGETSTATUS, buf)
    return struct.unpack("<i", buf)[0]


def test_lpgetstatus_gives_the_status_byte_on_cuse_only():
    if transport == "cuse":
        v = lp_getstatus()
        assert v == LP_IDLE_STATUS, hex(v)
    else:
        expect_errno(errno.ENOTTY, lp_getstatus)


def test_second_open_of_lp0_is_ebusy():
    fd = os.open(node("lp0"), os.O_WRONLY)
    try:
        expect_errno(errno.EBUSY, os.open, node("lp0"), os.O_WRONLY)
    finally:
        os.close(fd)
    os.close(os.open(node("lp0"), os.O_WRONLY))


def test_lp1_is_the_same_ddm_lp_binary_on_the_second_port():
    s0, s1 = status("lp0"), status("lp1")
    assert s0["driver"] == s1["driver"] == "ddm-lp", (s0, s1)
    assert s0["pid"] != s1["pid"], (s0, s1)
    exe0 = os.readlink(f"/proc/{s0['pid']}/exe")
    exe1 = os.readlink(f"/proc/{s1['pid']}/exe")
    assert exe0 == exe1 and os.path.basename(exe0) == "ddm-lp", (exe0, exe1)
    # QEMU's second port answers at 0x278 like the first at 0x378
    line = read_node(node("lp1"))
    assert line == LP_IDLE_LINE, line


def test_lp1_bytes_reach_the_second_parallel_file_only():
    b0, b1 = lp_size(), os.stat(LP1_OUT).st_size
    run(["sh", "-c", f"printf 'second port\\n' > {node('lp1')}"])
    wait_until(lambda: os.stat(LP1_OUT).st_size >= b1 + 12, LP_TIMEOUT_S,
               f"12 new bytes in {LP1_OUT}")
    run(["sh", "-c", f"printf 'first\\n' > {node('lp0')}"])
    wait_until(lambda: lp_size() >= b0 + 6, LP_TIMEOUT_S,
               f"6 new bytes in {LP_OUT}")
    time.sleep(0.2)  # nothing more may follow
    with open(LP1_OUT, "rb") as f:
        f.seek(b1)
        got1 = f.read()
    with open(LP_OUT, "rb") as f:
        f.seek(b0)
        got0 = f.read()
    assert got1 == b"second port\n", got1
    assert got0 == b"first\n", got0


def cmos_port():
    """The CMOS bytes 14..127 read from the chip through /dev/port."""
    fd = os.open("/dev/port", os.O_RDWR)
    try:
        out = bytearray()
        for reg in range(NVRAM_FIRST, NVRAM_FIRST + NVRAM_SIZE):
            os.pwrite(fd, bytes([reg]), CMOS_INDEX)
            out += os.pread(fd, 1, CMOS_DATA)
        return bytes(out)
    finally:
        os.close(fd)


def nvram0_image():
    """All of nvram0, in one read of a fresh open (a read to EOF would not
    end on CUSE if the offset were lost)."""
    fd = os.open(node("nvram0"), os.O_RDONLY)
    try:
        return os.read(fd, 4096)
    finally:
        os.close(fd)


def read_seq(fd, n):
    """Reads n bytes (fewer at the end) from fd's position on."""
    out = b""
    while len(out) < n:
        chunk = os.read(fd, n - len(out))
        if not chunk:
            break
        out += chunk
    return out


def nvram0_pwrite(data, off):
    fd = os.open(node("nvram0"), os.O_RDWR)
    try:
        return os.pwrite(fd, data, off)
    finally:
        os.close(fd)


def nvram0_pread(n, off):
    fd = os.open(node("nvram0"), os.O_RDONLY)
    try:
        return os.pread(fd, n, off)
    finally:
        os.close(fd)


def pc_checksum(img):
    s = sum(img[CKS_FIRST:CKS_LAST + 1]) & 0xFFFF
    return bytes([s >> 8, s & 0xFF])


nvram_saved = None  # nvram0 as first read, restored at the end


def test_nvram0_is_the_cmos_bytes_the_chip_gives_through_dev_port():
    global nvram_saved
    img = nvram0_image()
    assert len(img) == NVRAM_SIZE, len(img)
    if transport == "fuse":
        assert os.stat(node("nvram0")).st_size == NVRAM_SIZE
    port = cmos_port()
    assert img == port, f"nvram0 {img.hex()} vs /dev/port {port.hex()}"
    # the century (register 0x32) is the clock's, BCD
    assert img[0x32 - NVRAM_FIRST] == 0x20, img.hex()
    nvram_saved = img


def cmos_image_except(img, off):
    return img[:off] + img[off + 1:]


def load_nvram_ko():
    """Loads the guest kernel's nvram.ko (finit_module: the guest's root
    is the host's, which need not have insmod) and waits for /dev/nvram."""
    if os.path.exists("/dev/nvram"):
        return
    moddir = None
    with open(KERNEL_ENV) as f:
        for line in f:
            if line.startswith("MODDIR="):
                moddir = line.strip().split("=", 1)[1]
    assert moddir, f"no MODDIR in {KERNEL_ENV}"
    ko = os.path.join(moddir, "kernel", "drivers", "char", "nvram.ko")
    fd = os.open(ko, os.O_RDONLY)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.syscall(SYS_FINIT_MODULE, fd, b"", 0) != 0:
            e = ctypes.get_errno()
            assert e == errno.EEXIST, f"finit_module {ko}: {os.strerror(e)}"
    finally:
        os.close(fd)
    wait_until(lambda: os.path.exists("/dev/nvram"), CMD_TIMEOUT_S,
               "/dev/nvram to appear")


def dev_nvram():
    """All of /dev/nvram (the kernel checks the PC checksum first: EIO)."""
    fd = os.open("/dev/nvram", os.O_RDONLY)
    try:
        return os.pread(fd, 4096, 0)
    finally:
        os.close(fd)


def test_nvram0_equals_dev_nvram_once_nvram0_sets_the_pc_checksum():
    load_nvram_ko()
    img = bytearray(nvram0_image())
    cks = pc_checksum(img)
    if img[CKS_AT:CKS_AT + 2] != cks:
        # QEMU leaves the checksum unset: the kernel refuses to read
        expect_errno(errno.EIO, dev_nvram)
        img[CKS_AT:CKS_AT + 2] = cks
        # the whole image, at offset 0 (CUSE carries no offsets)
        assert nvram0_pwrite(bytes(img), 0) == NVRAM_SIZE
    kern = dev_nvram()
    assert kern == bytes(img) == cmos_port(), \
        f"/dev/nvram {kern.hex()} vs nvram0 {img.hex()}"


def test_a_byte_written_through_dev_nvram_shows_in_nvram0():
    load_nvram_ko()
    img = nvram0_image()
    b = img[NVRAM_PROBE2] ^ 0xC3
    try:
        fd = os.open("/dev/nvram", os.O_RDWR)
        try:
            assert os.pwrite(fd, bytes([b]), NVRAM_PROBE2) == 1
        finally:
            os.close(fd)
        got = nvram0_image()
        assert got[NVRAM_PROBE2] == b, got.hex()
        assert cmos_image_except(got, NVRAM_PROBE2) == \
            cmos_image_except(img, NVRAM_PROBE2), got.hex()
    finally:
        assert nvram0_pwrite(img, 0) == NVRAM_SIZE
    assert dev_nvram() == img


def test_nvram0_pread_gives_the_byte_at_that_offset():
    img = cmos_port()
    for off in (1, 0x32 - NVRAM_FIRST, NVRAM_PROBE, NVRAM_SIZE - 1):
        got = nvram0_pread(1, off)
        assert got == img[off:off + 1], \
            f"pread at {off}: {got.hex()}, the chip has {img[off]:02x}"
    assert nvram0_pread(8, NVRAM_SIZE - 4) == img[-4:]
    assert nvram0_pread(8, NVRAM_SIZE) == b""


def test_nvram0_pwrite_at_an_offset_reaches_the_chip_and_dev_nvram():
    load_nvram_ko()
    before = nvram0_image()
    new = before[NVRAM_PROBE] ^ 0xA5
    try:
        assert nvram0_pwrite(bytes([new]), NVRAM_PROBE) == 1
        after = cmos_port()
        assert after[NVRAM_PROBE] == new, after.hex()
        # and no other byte
        assert cmos_image_except(after, NVRAM_PROBE) == \
            cmos_image_except(before, NVRAM_PROBE), after.hex()
        assert dev_nvram() == after
        assert nvram0_pread(1, NVRAM_PROBE) == bytes([new])
    finally:
        assert nvram0_pwrite(before, 0) == NVRAM_SIZE
    assert cmos_port() == before


def test_nvram0_lseek_and_sequential_reads_follow_the_offset():
    """On both transports: nvram0 is forwarded by ddmfs even under CUSE
    (a CUSE device gets no file offsets from the kernel), so lseek, pread
    and reads from the file's position all give the right bytes."""
    img = cmos_port()
    fd = os.open(node("nvram0"), os.O_RDONLY)
    try:
        assert os.pread(fd, 2, 20) == img[20:22]
        assert os.read(fd, 10) == img[:10]
        assert os.read(fd, 10) == img[10:20]
        assert os.lseek(fd, 30, os.SEEK_SET) == 30
        assert os.read(fd, 1) == img[30:31]
        assert os.lseek(fd, 0, os.SEEK_END) == NVRAM_SIZE
        assert read_seq(fd, 10) == b""
        os.lseek(fd, 100, os.SEEK_SET)
        assert read_seq(fd, 200) == img[100:]
    finally:
        os.close(fd)


def test_nvram0_restores_the_cmos_bytes_as_they_were():
    assert nvram_saved is not None, "the first nvram0 test did not run"
    assert nvram0_pwrite(nvram_saved, 0) == NVRAM_SIZE
    assert cmos_port() == nvram_saved
    assert nvram0_image() == nvram_saved


def has_open(pid, path):
    """True once process pid holds path open."""
    d = f"/proc/{pid}/fd"
    try:
        return any(os.readlink(os.path.join(d, fd)) == path
                   for fd in os.listdir(d))
    except OSError:
        return False


def read_n(fd, n, what):
    out = b""
    deadline = time.monotonic() + KEY_TIMEOUT_S
    os.set_blocking(fd, False)
    while len(out) < n:
        assert time.monotonic() < deadline, f"{what}: got only {out.hex()}"
        try:
            chunk = os.read(fd, n - len(out))
        except BlockingIOError:
            time.sleep(0.02)
            continue
        assert chunk, f"{what}: EOF after {out.hex()}"
        out += chunk
    return out


def test_typed_keys_come_out_of_cat_kbd0_as_text():
    p = subprocess.Popen(["cat", node("kbd0")], stdout=subprocess.PIPE)
    try:
        wait_until(lambda: has_open(p.pid, node("kbd0")), CMD_TIMEOUT_S,
                   "cat to open kbd0")
        ack = ask_host("send-key", *KEYS)
        assert ack == "ok", ack
        got = read_n(p.stdout.fileno(), len(KEYS_TEXT), "cat kbd0")
    finally:
        p.kill()
        p.wait()
    assert got == KEYS_TEXT, got


def test_k_raw_handle_gets_set1_scancodes():
    fd = os.open(node("kbd0"), os.O_RDONLY)
    try:
        fcntl.ioctl(fd, KDSKBMODE, K_RAW)
        ack = ask_host("send-key", *KEYS)
        assert ack == "ok", ack
        got = read_n(fd, len(KEYS_RAW), "K_RAW handle")
    finally:
        os.close(fd)
    assert got == KEYS_RAW, got.hex(" ")


def read_packets(fd, n, what):
    """n whole PS/2 packets from aux0 within MOUSE_TIMEOUT_S; no read may
    give part of one."""
    out = b""
    deadline = time.monotonic() + MOUSE_TIMEOUT_S
    while len(out) < 3 * n:
        left = deadline - time.monotonic()
        assert left > 0, f"{what}: got only {out.hex(' ')}"
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        chunk = os.read(fd, 3 * n - len(out))
        assert chunk, f"{what}: EOF after {out.hex(' ')}"
        assert len(chunk) % 3 == 0, f"{what}: part packet {chunk.hex(' ')}"
        out += chunk
    return out


def check_packet(p, what):
    """A PS/2 packet's first byte agrees with its deltas; gives (dx, dy)."""
    assert p[0] & 0x08, f"{what}: bit 3 clear in {p.hex(' ')}"
    assert not p[0] & 0xC0, f"{what}: overflow in {p.hex(' ')}"
    dx = p[1] - 256 if p[0] & 0x10 else p[1]
    dy = p[2] - 256 if p[0] & 0x20 else p[2]
    return dx, dy


def assert_quiet(fd, what):
    """Nothing more to read on fd: poll says so for a while.  (Not a
    non-blocking read: the drivers take O_NONBLOCK from the open only.)"""
    r, _, _ = select.select([fd], [], [], 0.3)
    if r:
        extra = os.read(fd, 64)
        raise AssertionError(f"{what}: unexpected {extra.hex(' ')}")


def test_mouse_moves_come_out_of_aux0_while_keys_go_to_kbd0():
    aux = os.open(node("aux0"), os.O_RDONLY)
    kbd = os.open(node("kbd0"), os.O_RDONLY)
    try:
        fcntl.ioctl(kbd, KDSKBMODE, K_RAW)  # exact bytes: no mouse bytes
        for move, want in MOVES:
            ack = ask_host("mouse-move", move)
            assert ack == "ok", ack
            got = read_packets(aux, 1, f"move {move}")
            dx, dy = check_packet(got, move)
            mx, my = (int(v) for v in move.split(","))
            assert (dx, dy) == (mx, -my), (move, got.hex(" "))
            assert got == want, f"move {move}: {got.hex(' ')}"
        move, sx, sy = BIG_MOVE
        ack = ask_host("mouse-move", move)
        assert ack == "ok", ack
        got = read_packets(aux, 2, f"move {move}")
        deltas = [check_packet(got[i:i + 3], move) for i in (0, 3)]
        assert deltas == [(127, 0), (sx - 127, sy)], got.hex(" ")
        ack = ask_host("mouse-click", "left")
        assert ack == "ok", ack
        got = read_packets(aux, 2, "left click")
        assert got == CLICK, got.hex(" ")
        # the keyboard still works beside the mouse, and neither leaks
        # into the other
        ack = ask_host("send-key", *KEYS)
        assert ack == "ok", ack
        got = read_n(kbd, len(KEYS_RAW), "kbd0 after the mouse")
        assert got == KEYS_RAW, got.hex(" ")
        assert_quiet(kbd, "kbd0")
        assert_quiet(aux, "aux0")
    finally:
        os.close(aux)
        os.close(kbd)


def test_rtc0_reads_bypass_ddmfs_on_cuse_only():
    before = int(status("rtc0")["requests"])
    for _ in range(N_READS):
        with open(node("rtc0"), "rb", buffering=0) as f:
            assert len(f.read(64)) == 20
    after = int(status("rtc0")["requests"])
    if transport == "cuse":
        # (the instance's count holds nvram0's, which ddmfs forwards)
        assert after == before, (before, after)
    else:
        assert after - before >= N_READS, (before, after)


def test_chmod_0600_gives_nobody_eacces():
    os.chmod(node("rtc0"), 0o644)
    r = as_nobody("cat", node("rtc0"))
    assert r.returncode == 0 and len(r.stdout) == 20, r
    os.chmod(node("rtc0"), 0o600)
    assert stat.S_IMODE(os.stat(node("rtc0")).st_mode) == 0o600
    r = as_nobody("cat", node("rtc0"))
    assert r.returncode != 0 and "Permission denied" in r.stderr, r


def test_chown_nobody_lets_nobody_read():
    os.chmod(node("rtc0"), 0o600)
    os.chown(node("rtc0"), NOBODY, -1)
    assert os.stat(node("rtc0")).st_uid == NOBODY
    r = as_nobody("cat", node("rtc0"))
    assert r.returncode == 0 and len(r.stdout) == 20, r
    os.chown(node("rtc0"), 0, -1)
    r = as_nobody("cat", node("rtc0"))
    assert r.returncode != 0 and "Permission denied" in r.stderr, r
    os.chmod(node("rtc0"), 0o644)

def as_user(uid, *cmd):
    """Runs cmd as uid/gid uid with no supplementary groups."""
    return subprocess.run(
        ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
         "--"] + list(cmd), capture_output=True, text=True,
        timeout=CMD_TIMEOUT_S)


def test_an_acl_grants_one_user_a_leaf_its_mode_denies():
    # On CUSE the kernel checks the leaf (mode and ACL) before it opens
    # the char device; ddmfs sees no open at all.
    granted, refused = 65533, NOBODY
    rtc = node("rtc0")
    os.chmod(rtc, 0o600)
    try:
        r = as_user(granted, "cat", rtc)
        assert r.returncode != 0 and "Permission denied" in r.stderr, r
        run(["setfacl", "-m", f"u:{granted}:r", rtc])
        out = run(["getfacl", "-n", "-c", rtc], text=True).stdout
        assert f"user:{granted}:r--" in out.split(), out
        r = as_user(granted, "cat", rtc)
        assert r.returncode == 0 and len(r.stdout) == 20, r
        r = as_user(refused, "cat", rtc)
        assert r.returncode != 0 and "Permission denied" in r.stderr, r
    finally:
        run(["setfacl", "-b", rtc])
        os.chmod(rtc, 0o644)


def driver_pids():
    return {n: status(n)["pid"] for n in NODES}


def test_upgrade_keeps_the_drivers_and_open_files():
    before = driver_pids()
    held = os.open(node("rtc0"), os.O_RDONLY)  # opened before the upgrades
    try:
        for _ in range(3):
            assert ctl("upgrade") == "upgraded\n"
            rtc_line()
        assert re.fullmatch(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n",
                            os.read(held, 64))
    finally:
        os.close(held)
    assert driver_pids() == before
    assert ddmfs_proc.poll() is None  # the same process, a new binary


def start_ddmfs():
    global ddmfs_proc
    log = open(os.path.join(WORK, "ddmfs.log"), "ab")
    ddmfs_proc = subprocess.Popen(
        [DDMFS, "-f", "-c", os.path.join(WORK, "ddmfs.conf"), "--state-dir",
         STATE, MNT], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    def running(n):
        # the old mount and control socket linger until the new ddmfs
        # replaced them: ask until it answers
        r = run([DDMCTL, "--state-dir", STATE, "status", f"isa0/{n}"],
                check=False, text=True)
        assert ddmfs_proc.poll() is None, \
            f"ddmfs exited {ddmfs_proc.returncode}"
        return r.returncode == 0 and "state: running" in r.stdout

    for n in INSTANCES:
        wait_until(lambda: running(n), MOUNT_TIMEOUT_S,
                   f"isa0/{n} to run again")


def test_kill_9_of_ddmfs_then_a_new_one_adopts_the_drivers():
    before = driver_pids()
    held = os.open(node("rtc0"), os.O_RDONLY)
    try:
        ddmfs_proc.send_signal(signal.SIGKILL)
        ddmfs_proc.wait()
        start_ddmfs()
        assert driver_pids() == before
        rtc_line()
        if transport == "cuse":
            # the char device and its open file outlived ddmfs
            out = os.read(held, 64)
            assert re.fullmatch(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n",
                                out), out
        else:
            # its mount died with ddmfs
            expect_errno(errno.ENOTCONN, os.read, held, 64)
    finally:
        try:
            os.close(held)
        except OSError as e:  # the flush of a file on the dead mount
            assert transport == "fuse" and e.errno == errno.ENOTCONN, e


def test_sigterm_unmounts_ddm_cleanly():
    assert ddmfs_proc is not None, "ddmfs never started"
    ddmfs_proc.send_signal(signal.SIGTERM)
    rc = ddmfs_proc.wait(timeout=EXIT_TIMEOUT_S)
    assert rc == 0, rc
    assert not os.path.ismount(MNT)
    if transport == "cuse":
        wait_until(lambda: not os.path.exists(raw_node("rtc0")),
                   EXIT_TIMEOUT_S, "the raw nodes to go")


def test_rtc_cmos_is_bound_again_after_ddmfs_stops():
    devs = rtc_cmos_devices()
    assert len(devs) == 1, devs
    # rtc_cmos claims the ports again, under a new rtc device number
    assert re.fullmatch(r"0070-0077 : rtc\d+", rtc_port_claim() or ""), \
        rtc_port_claim()
    assert not os.path.exists(os.path.join(STATE, "unbound"))


def test_ports_a_kernel_driver_holds_are_refused_without_unbind():
    global ddmfs_proc
    conf = os.path.join(WORK, "no-unbind.conf")
    text, n = re.subn(r'(?m)^\s*unbind = "rtc_cmos";\n', "", conf_text())
    assert n == 1, "no unbind line in the conf"
    with open(conf, "w") as f:
        f.write(text)
    state = os.path.join(WORK, "state-no-unbind")
    os.makedirs(state, exist_ok=True)
    logpath = os.path.join(WORK, "no-unbind.log")
    with open(logpath, "wb") as log:
        ddmfs_proc = subprocess.Popen(
            [DDMFS, "-f", "-c", conf, "--state-dir", state, MNT],
            stdout=log, stderr=subprocess.STDOUT)
    claim = rtc_port_claim()
    want = ("isa0/rtc0: cannot start driver ddm-rtc: ports 0x70-0x71 are "
            f"held by kernel driver rtc_cmos (/proc/ioports: {claim}); "
            "ddmfs does not drive them unless the conf says "
            'unbind = "rtc_cmos"')

    def logged():
        with open(logpath, errors="replace") as f:
            return want in f.read()
    try:
        wait_until(logged, MOUNT_TIMEOUT_S, "the refusal in the log")
        out = run([DDMCTL, "--state-dir", state, "status", "isa0/rtc0"],
                  text=True).stdout
        assert "state: running" not in out, out
        assert "pid: -" in out, out
        # the other instances run; the kernel keeps its RTC
        out = run([DDMCTL, "--state-dir", state, "status", "isa0/lp0"],
                  text=True).stdout
        assert "state: running" in out, out
        assert len(rtc_cmos_devices()) == 1
        assert rtc_port_claim() == claim
    finally:
        ddmfs_proc.send_signal(signal.SIGTERM)
        rc = ddmfs_proc.wait(timeout=EXIT_TIMEOUT_S)
        with open(logpath, errors="replace") as f:
            for line in f.read().splitlines()[-5:]:
                print("# no-unbind.log: " + line)
        assert rc == 0, rc


TESTS = [
    test_ddmfs_mounts_the_pio_tree_on_ddm,
    test_rtc_cmos_is_unbound_while_rtc0_drives_its_ports,
    test_ddmctl_list_names_the_transport,
    test_ls_l_shows_the_leaf_type_of_the_transport,
    test_leaf_rdev_is_the_drivers_raw_device,
    test_raw_dev_nodes_are_root_only,
    test_nodes_of_one_instance_share_its_driver_and_each_has_a_device,
    test_cat_rtc0_is_qemus_rtc_time,
    test_hwclock_show_agrees_with_cat,
    test_hwclock_set_changes_qemus_clock,
    test_rtc0_write_sets_the_time_and_bad_text_is_einval,
    test_rtc_rd_time_ioctl_matches_cat,
    test_lp0_reads_the_idle_status_line,
    test_lpgetstatus_gives_the_status_byte_on_cuse_only,
    test_printf_hello_reaches_the_parallel_file_exactly,
    test_second_open_of_lp0_is_ebusy,
    test_lp1_is_the_same_ddm_lp_binary_on_the_second_port,
    test_lp1_bytes_reach_the_second_parallel_file_only,
    test_typed_keys_come_out_of_cat_kbd0_as_text,
    test_k_raw_handle_gets_set1_scancodes,
    test_mouse_moves_come_out_of_aux0_while_keys_go_to_kbd0,
    test_nvram0_is_the_cmos_bytes_the_chip_gives_through_dev_port,
    test_nvram0_equals_dev_nvram_once_nvram0_sets_the_pc_checksum,
    test_a_byte_written_through_dev_nvram_shows_in_nvram0,
    test_nvram0_pread_gives_the_byte_at_that_offset,
    test_nvram0_pwrite_at_an_offset_reaches_the_chip_and_dev_nvram,
    test_nvram0_lseek_and_sequential_reads_follow_the_offset,
    test_nvram0_restores_the_cmos_bytes_as_they_were,
    test_rtc0_reads_bypass_ddmfs_on_cuse_only,
    test_chmod_0600_gives_nobody_eacces,
    test_chown_nobody_lets_nobody_read,
    test_an_acl_grants_one_user_a_leaf_its_mode_denies,
    test_upgrade_keeps_the_drivers_and_open_files,
    test_kill_9_of_ddmfs_then_a_new_one_adopts_the_drivers,
    test_sigterm_unmounts_ddm_cleanly,
    test_rtc_cmos_is_bound_again_after_ddmfs_stops,
    test_ports_a_kernel_driver_holds_are_refused_without_unbind,
]


def main():
    if transport not in ("fuse", "cuse"):
        print(f"usage: {sys.argv[0]} fuse|cuse", file=sys.stderr)
        return 2
    os.makedirs(WORK, exist_ok=True)
    return guest_tap.run(TESTS, os.path.join(WORK, "ddmfs.log"),
                         lambda: ddmfs_proc)


if __name__ == "__main__":
    sys.exit(main())

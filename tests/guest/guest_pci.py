#!/usr/bin/env python3
"""guest_pci.py: the PCI tests that run inside the QEMU guest (q35 with
QEMU's intel-iommu, an edu device and a PCIe root port for hotplug; boot.sh
--pci).  Started by guest-pci.sh under boot.sh; hostrun.py boots the guest
and plays the host's part (QMP device_add and device_del).

Usage: guest_pci.py

The platform first, the facts ddmfs and libdriver build on: the edu
function at 0000:00:04.0 in an IOMMU group of its own, the IOMMU (DMAR)
on, the VFIO modules loaded, binding the function to vfio-pci through
driver_override and drivers_probe (/dev/vfio/GROUP appears), the VFIO
container, group and device fds taking BAR0 accesses, MSI through an
eventfd and DMA through the IOMMU, unbinding giving the function back, and
a hotplugged edu on the root port appearing, working and going again.

Then ddmfs on them, with a pci rule for edu (CONF): the bus pci0, the
functions no rule took in ddmctl list --all, the edu function as the leaf
pci0/edu0 that ddm-edu drives through VFIO (echo 5, cat: 120, counted
in ddmctl status's interrupts; the DMA ioctls, with the driver asleep in
its event wait meanwhile), the driver restarted after kill -9 and kept
across an upgrade, the function given back on a reload without the rule
and at exit, a hostile driver (edu-rogue) whose DMA to RAM it never
mapped faults in the IOMMU and leaves the page alone, a hotplugged edu as
pci0/edu1 that keeps its name and mode when plugged again, and an unplug
during DMA ioctls failing them with nothing crashing.

Host requests are lines

    DDM-HOST: ID VERB ARGS...

answered by the file ID in $DDM_ACK_DIR (see hostrun.py).

Environment (set by hostrun.py through boot.sh --env):
  DDM_BUILD    the build tree
  DDM_ACK_DIR  where the host's acknowledgements appear
"""

import ctypes
import errno
import fcntl
import mmap
import os
import re
import select
import signal
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import guest_tap  # noqa: E402  (beside this file)
from ddmtest import as_nobody, wait_until  # noqa: E402

BUILD = os.environ.get("DDM_BUILD", "")
ACK_DIR = os.environ.get("DDM_ACK_DIR", "")
DDMFS = os.path.join(BUILD, "ddmfs", "ddmfs")
DDMCTL = os.path.join(BUILD, "ddmfs", "ddmctl")
MNT = "/ddm"
WORK = "/tmp/ddm-pci"
STATE = os.path.join(WORK, "state")
NOBODY = 65534
# ddmfs's conf: edu functions become pci0/eduN, driven by ddm-edu
CONF = """
mountpoint = "/ddm";
transport = "fuse";
pci = (
	{ vendor = "1234"; device = "11e8"; driver = "ddm-edu";
	  name = "edu%d"; mode = "0666"; }
);
# a rule for functions plugged in later (edu0 is not edu[1-9]*)
rules = (
	{ path = "pci0/edu[1-9]*"; group = 65533; acl = [ "u:65533:rw-" ]; }
);
"""
# q35's own functions, which no rule takes: ddmctl list --all shows them
# unbound (address, vendor:device, class)
Q35_UNBOUND = (("0000:00:00.0", "8086:29c0", "060000"),   # host bridge
               ("0000:00:1f.0", "8086:2918", "060100"),   # LPC (ISA) bridge
               ("0000:00:1f.2", "8086:2922", "010601"))   # SATA (AHCI)

SYS_PCI = "/sys/bus/pci"
EDU = "0000:00:04.0"          # -device edu on q35: slot 4 of pcie.0
HOTPLUG = "0000:01:00.0"      # device_add edu on the root port rp1
EDU_VENDOR, EDU_DEVICE = "0x1234", "0x11e8"
VFIO_MODULES = ("irqbypass", "vfio", "vfio_iommu_type1", "vfio_virqfd",
                "vfio_pci_core", "vfio_pci")

# How long /dev/vfio/GROUP may take to appear or go after a (re)probe, s.
VFIO_NODE_TIMEOUT_S = 5
# How long a hotplugged function may take to appear or go, in seconds.
HOTPLUG_TIMEOUT_S = 3
# How long the host may take to act on a DDM-HOST request, in seconds.
ACK_TIMEOUT_S = 30
# How long edu may take for a factorial, in seconds.
EDU_TIMEOUT_S = 5
# How long ddmfs may take to mount and start its drivers, in seconds.
MOUNT_TIMEOUT_S = 20
# How long a hotplugged function may take to show in /ddm, in seconds.
HOTPLUG_NODE_TIMEOUT_S = 10
# Bound on any one client command, in seconds.
CMD_TIMEOUT_S = 30
# How long ddmfs may take to exit after SIGTERM, in seconds.
EXIT_TIMEOUT_S = 15

# <linux/vfio.h>: _IO(VFIO_TYPE ';', VFIO_BASE 100 + n)
VFIO_GET_API_VERSION = 0x3B64
VFIO_CHECK_EXTENSION = 0x3B65
VFIO_SET_IOMMU = 0x3B66
VFIO_GROUP_GET_STATUS = 0x3B67
VFIO_GROUP_SET_CONTAINER = 0x3B68
VFIO_GROUP_GET_DEVICE_FD = 0x3B6A
VFIO_DEVICE_GET_REGION_INFO = 0x3B6C
VFIO_DEVICE_SET_IRQS = 0x3B6E
VFIO_IOMMU_MAP_DMA = 0x3B71
VFIO_IOMMU_UNMAP_DMA = 0x3B72
VFIO_API_VERSION = 0
VFIO_TYPE1_IOMMU = 1
VFIO_GROUP_FLAGS_VIABLE = 1
VFIO_GROUP_FLAGS_CONTAINER_SET = 2
VFIO_REGION_INFO_FLAG_READ = 1
VFIO_REGION_INFO_FLAG_WRITE = 2
VFIO_REGION_INFO_FLAG_MMAP = 4
VFIO_PCI_BAR0_REGION_INDEX = 0
VFIO_PCI_CONFIG_REGION_INDEX = 7
VFIO_PCI_MSI_IRQ_INDEX = 1
VFIO_IRQ_SET_DATA_EVENTFD = 1 << 2
VFIO_IRQ_SET_ACTION_TRIGGER = 1 << 5
VFIO_DMA_MAP_FLAG_READ_WRITE = 3
# argsz flags index cap_offset size offset
REGION_INFO = struct.Struct("=IIIIQQ")
IRQ_SET = struct.Struct("=IIIIIi")      # argsz flags index start count fd
DMA_MAP = struct.Struct("=IIQQQ")       # argsz flags vaddr iova size
DMA_UNMAP = struct.Struct("=IIQQ")      # argsz flags iova size
PCI_COMMAND = 0x04
PCI_COMMAND_MEMORY_MASTER = 0x06        # memory space, bus master

# ddm-edu's ioctls (drivers/edu/edureg.h): struct edu_dma { u32 len; u32
# off; u8 data[4096]; }, _IOW('E', 1, ...) and _IOWR('E', 2, ...)
EDU_DMA_STRUCT = struct.Struct("=II4096s")
EDU_IOC_DMA_TO = 0x40000000 | EDU_DMA_STRUCT.size << 16 | ord("E") << 8 | 1
EDU_IOC_DMA_FROM = 0xC0000000 | EDU_DMA_STRUCT.size << 16 | ord("E") << 8 | 2

# QEMU's edu (docs/specs/edu.txt): BAR0 is 1 MiB of registers.
EDU_BAR0_SIZE = 1 << 20
EDU_ID = 0x00          # 0xRRrr00edu: major 1, minor 0
EDU_ID_VALUE = 0x010000ED
EDU_LIVENESS = 0x04    # reads back the inverse of what was written
EDU_FACT = 0x08        # write N, read N! once status bit 0 clears
EDU_STATUS = 0x20
EDU_STATUS_COMPUTING = 0x01
EDU_STATUS_IRQ_FACT = 0x80  # raise an interrupt when the factorial is done
EDU_INTR_STATUS = 0x24
EDU_INTR_ACK = 0x64
EDU_INTR_FACT = 0x001
EDU_INTR_DMA = 0x100
EDU_DMA_SRC = 0x80
EDU_DMA_DST = 0x88
EDU_DMA_COUNT = 0x90
EDU_DMA_CMD = 0x98
EDU_DMA_START = 0x1
EDU_DMA_TO_RAM = 0x2        # else from RAM to edu
EDU_DMA_IRQ = 0x4
EDU_DMA_BUF = 0x40000       # edu's own 4 KiB buffer
EDU_DMA_SIZE = 4096
# The most one DMA may move: QEMU 7.2's edu (Debian 12) aborts the whole
# VM ("hardware error: EDU: DMA range ... out of bounds") on a transfer
# that ends at the end of its buffer, an off-by-one fixed upstream in 2024.
DMA_LEN = EDU_DMA_SIZE - 1
# where the test maps its buffer for edu (edu's DMA mask is 28 bits)
DMA_IOVA = 0x100000
# How long an edu interrupt may take to reach the eventfd, in seconds.
IRQ_TIMEOUT_S = 5

requests_sent = 0
ddmfs_proc = None


def ask_host(verb, *args):
    """Prints a DDM-HOST request and waits for the host's acknowledgement;
    returns its text ("ok" or "fail: why")."""
    global requests_sent
    requests_sent += 1
    rid = f"pci-{requests_sent}"
    ack = os.path.join(ACK_DIR, rid)
    print(f"DDM-HOST: {rid} {verb} {' '.join(args)}", flush=True)
    wait_until(lambda: os.path.exists(ack), ACK_TIMEOUT_S,
               f"the host to answer request {rid} ({verb})")
    with open(ack) as f:
        return f.read().strip()


def dev_path(bdf, *rest):
    return os.path.join(SYS_PCI, "devices", bdf, *rest)


def sysfs(path):
    with open(path) as f:
        return f.read().strip()


def sysfs_write(path, text):
    with open(path, "w") as f:
        f.write(text)


def group_of(bdf):
    return os.path.basename(os.readlink(dev_path(bdf, "iommu_group")))


def driver_of(bdf):
    link = dev_path(bdf, "driver")
    return os.path.basename(os.readlink(link)) if os.path.lexists(link) \
        else None


def is_edu(bdf):
    return (sysfs(dev_path(bdf, "vendor")), sysfs(dev_path(bdf, "device"))) \
        == (EDU_VENDOR, EDU_DEVICE)


def bind_vfio(bdf):
    """driver_override + drivers_probe, then waits for /dev/vfio/GROUP."""
    sysfs_write(dev_path(bdf, "driver_override"), "vfio-pci")
    sysfs_write(os.path.join(SYS_PCI, "drivers_probe"), bdf)
    node = os.path.join("/dev/vfio", group_of(bdf))
    wait_until(lambda: os.path.exists(node), VFIO_NODE_TIMEOUT_S,
               f"{node} to appear")
    assert driver_of(bdf) == "vfio-pci", driver_of(bdf)
    return node


def unbind_vfio(bdf):
    """Clears the override, unbinds from vfio-pci and probes again; waits
    for /dev/vfio/GROUP to go."""
    node = os.path.join("/dev/vfio", group_of(bdf))
    sysfs_write(dev_path(bdf, "driver_override"), "\n")
    if driver_of(bdf) == "vfio-pci":
        sysfs_write(os.path.join(SYS_PCI, "drivers", "vfio-pci", "unbind"),
                    bdf)
    sysfs_write(os.path.join(SYS_PCI, "drivers_probe"), bdf)
    wait_until(lambda: not os.path.exists(node), VFIO_NODE_TIMEOUT_S,
               f"{node} to go")


class Vfio:
    """The container, the group and the device fd of one function, the way
    ddmfs opens them for a driver (see issue9-contract)."""

    def __init__(self, bdf):
        self.container = self.group = self.device = -1
        try:
            self.container = os.open("/dev/vfio/vfio", os.O_RDWR)
            api = fcntl.ioctl(self.container, VFIO_GET_API_VERSION)
            assert api == VFIO_API_VERSION, api
            assert fcntl.ioctl(self.container, VFIO_CHECK_EXTENSION,
                               VFIO_TYPE1_IOMMU) == 1, "no type1 IOMMU"
            self.group = os.open(os.path.join("/dev/vfio", group_of(bdf)),
                                 os.O_RDWR)
            st = bytearray(struct.pack("=II", 8, 0))
            fcntl.ioctl(self.group, VFIO_GROUP_GET_STATUS, st, True)
            flags = struct.unpack("=II", st)[1]
            assert flags & VFIO_GROUP_FLAGS_VIABLE, f"group flags {flags:#x}"
            fcntl.ioctl(self.group, VFIO_GROUP_SET_CONTAINER,
                        bytearray(struct.pack("=i", self.container)), True)
            fcntl.ioctl(self.container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)
            self.device = fcntl.ioctl(self.group, VFIO_GROUP_GET_DEVICE_FD,
                                      bytearray(bdf.encode() + b"\0"), True)
            assert self.device >= 0, self.device
        except BaseException:
            self.close()
            raise

    def region(self, index):
        """(flags, size, offset) of region index."""
        buf = bytearray(REGION_INFO.pack(REGION_INFO.size, 0, index, 0, 0, 0))
        fcntl.ioctl(self.device, VFIO_DEVICE_GET_REGION_INFO, buf, True)
        _, flags, _, _, size, offset = REGION_INFO.unpack(buf)
        return flags, size, offset

    def enable_bus_master(self):
        _, _, cfg = self.region(VFIO_PCI_CONFIG_REGION_INDEX)
        cmd = struct.unpack("<H", os.pread(self.device, 2,
                                           cfg + PCI_COMMAND))[0]
        cmd |= PCI_COMMAND_MEMORY_MASTER
        assert os.pwrite(self.device, struct.pack("<H", cmd),
                         cfg + PCI_COMMAND) == 2

    def msi_eventfd(self, efd):
        """Routes MSI vector 0 to the eventfd efd."""
        fcntl.ioctl(self.device, VFIO_DEVICE_SET_IRQS, bytearray(IRQ_SET.pack(
            IRQ_SET.size, VFIO_IRQ_SET_DATA_EVENTFD |
            VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, efd)),
            True)

    def map_dma(self, vaddr, iova, size):
        fcntl.ioctl(self.container, VFIO_IOMMU_MAP_DMA, bytearray(DMA_MAP.pack(
            DMA_MAP.size, VFIO_DMA_MAP_FLAG_READ_WRITE, vaddr, iova, size)),
            True)

    def unmap_dma(self, iova, size):
        fcntl.ioctl(self.container, VFIO_IOMMU_UNMAP_DMA, bytearray(
            DMA_UNMAP.pack(DMA_UNMAP.size, 0, iova, size)), True)

    def close(self):
        for fd in (self.device, self.group, self.container):
            if fd >= 0:
                os.close(fd)
        self.container = self.group = self.device = -1


def bar0_read32(v, base, reg):
    return struct.unpack("<I", os.pread(v.device, 4, base + reg))[0]


def bar0_write32(v, base, reg, value):
    assert os.pwrite(v.device, struct.pack("<I", value), base + reg) == 4


def edu_through_vfio(bdf):
    """Binds bdf to vfio-pci, checks BAR0 through the device fd (id,
    liveness, a factorial by polling), closes and unbinds."""
    bind_vfio(bdf)
    try:
        v = Vfio(bdf)
        try:
            flags, size, base = v.region(VFIO_PCI_BAR0_REGION_INDEX)
            want = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE
            assert flags & want == want, f"BAR0 flags {flags:#x}"
            assert size == EDU_BAR0_SIZE, f"BAR0 size {size:#x}"
            got = bar0_read32(v, base, EDU_ID)
            assert got == EDU_ID_VALUE, f"id register {got:#010x}"
            for x in (0x12345678, 0):
                bar0_write32(v, base, EDU_LIVENESS, x)
                got = bar0_read32(v, base, EDU_LIVENESS)
                assert got == x ^ 0xFFFFFFFF, f"liveness {x:#x}: {got:#x}"
            bar0_write32(v, base, EDU_FACT, 5)
            wait_until(lambda: not bar0_read32(v, base, EDU_STATUS)
                       & EDU_STATUS_COMPUTING, EDU_TIMEOUT_S,
                       "edu to compute 5!")
            got = bar0_read32(v, base, EDU_FACT)
            assert got == 120, got
        finally:
            v.close()
    finally:
        unbind_vfio(bdf)


def wait_irq(v, base, efd, want):
    """Waits for one interrupt on efd, checks edu's interrupt status is
    want, acknowledges it."""
    r, _, _ = select.select([efd], [], [], IRQ_TIMEOUT_S)
    assert r, f"no interrupt within {IRQ_TIMEOUT_S}s"
    n = os.eventfd_read(efd)
    assert n == 1, f"{n} interrupts"
    got = bar0_read32(v, base, EDU_INTR_STATUS)
    assert got == want, f"interrupt status {got:#x}, want {want:#x}"
    bar0_write32(v, base, EDU_INTR_ACK, got)


def edu_msi_and_dma(bdf):
    """Through VFIO on bdf: a factorial completing with an MSI, then
    DMA_LEN bytes from a mapped buffer to edu and back, each completing
    with an MSI."""
    bind_vfio(bdf)
    efd = -1
    try:
        v = Vfio(bdf)
        buf = mmap.mmap(-1, 2 * EDU_DMA_SIZE)
        try:
            _, _, base = v.region(VFIO_PCI_BAR0_REGION_INDEX)
            v.enable_bus_master()
            efd = os.eventfd(0, os.EFD_NONBLOCK)
            v.msi_eventfd(efd)
            bar0_write32(v, base, EDU_STATUS, EDU_STATUS_IRQ_FACT)
            bar0_write32(v, base, EDU_FACT, 6)
            wait_irq(v, base, efd, EDU_INTR_FACT)
            assert bar0_read32(v, base, EDU_FACT) == 720
            bar0_write32(v, base, EDU_STATUS, 0)

            cbuf = (ctypes.c_char * len(buf)).from_buffer(buf)
            v.map_dma(ctypes.addressof(cbuf), DMA_IOVA, len(buf))
            try:
                data = bytes((i * 7 + 3) & 0xFF for i in range(DMA_LEN))
                buf[:DMA_LEN] = data
                for src, dst, cmd in (
                        (DMA_IOVA, EDU_DMA_BUF, 0),
                        (EDU_DMA_BUF, DMA_IOVA + EDU_DMA_SIZE,
                         EDU_DMA_TO_RAM)):
                    bar0_write32(v, base, EDU_DMA_SRC, src)
                    bar0_write32(v, base, EDU_DMA_DST, dst)
                    bar0_write32(v, base, EDU_DMA_COUNT, DMA_LEN)
                    bar0_write32(v, base, EDU_DMA_CMD,
                                 EDU_DMA_START | EDU_DMA_IRQ | cmd)
                    wait_irq(v, base, efd, EDU_INTR_DMA)
                back = buf[EDU_DMA_SIZE:EDU_DMA_SIZE + DMA_LEN]
                assert back == data, "the bytes came back changed"
            finally:
                v.unmap_dma(DMA_IOVA, len(buf))
                del cbuf
        finally:
            buf.close()
            v.close()
    finally:
        if efd >= 0:
            os.close(efd)
        unbind_vfio(bdf)


def run(cmd, check=True, **kw):
    """Runs cmd (a list) bounded by CMD_TIMEOUT_S; returns CompletedProcess."""
    r = subprocess.run(cmd, capture_output=True, timeout=CMD_TIMEOUT_S, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)}: exit {r.returncode}: "
                             f"{r.stdout!r} {r.stderr!r}")
    return r


def ctl(*args):
    return run([DDMCTL, "--state-dir", STATE] + list(args), text=True).stdout


def status(name):
    r = run([DDMCTL, "--state-dir", STATE, "status", f"pci0/{name}"],
            check=False, text=True)
    return dict(line.split(": ", 1) for line in r.stdout.splitlines()
                if ": " in line) if r.returncode == 0 else {}


def node(name):
    return os.path.join(MNT, "pci0", name)


# ---- the platform -------------------------------------------------------

def test_edu_is_at_00_04_0_with_vendor_1234_device_11e8():
    assert os.path.isdir(dev_path(EDU)), sorted(
        os.listdir(os.path.join(SYS_PCI, "devices")))
    assert is_edu(EDU), (sysfs(dev_path(EDU, "vendor")),
                         sysfs(dev_path(EDU, "device")))
    # and no other edu: the hotplug slot is empty
    edus = [d for d in os.listdir(os.path.join(SYS_PCI, "devices"))
            if is_edu(d)]
    assert edus == [EDU], edus


def kmsg():
    """The kernel log so far (dmesg), as bytes."""
    fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    log = b""
    try:
        while True:  # one record per read, EAGAIN at the end
            try:
                log += os.read(fd, 8192)
            except BlockingIOError:
                break
            except BrokenPipeError:  # a record overwritten; go on
                continue
    finally:
        os.close(fd)
    return log


def test_the_iommu_dmar_is_enabled():
    log = kmsg()
    assert b"DMAR: IOMMU enabled" in log, "no 'DMAR: IOMMU enabled' in dmesg"
    assert os.listdir("/sys/class/iommu"), "no IOMMU in /sys/class/iommu"


def test_edu_is_alone_in_its_iommu_group():
    group = group_of(EDU)
    members = os.listdir(os.path.join("/sys/kernel/iommu_groups", group,
                                      "devices"))
    assert members == [EDU], (group, members)


def test_vfio_modules_are_loaded():
    with open("/proc/modules") as f:
        loaded = {line.split()[0] for line in f}
    missing = [m for m in VFIO_MODULES if m not in loaded]
    assert not missing, f"not loaded: {missing}"
    assert os.path.exists("/dev/vfio/vfio")


def test_edu_has_no_kernel_driver_at_boot():
    assert driver_of(EDU) is None, driver_of(EDU)
    assert not os.path.exists(os.path.join("/dev/vfio", group_of(EDU)))


def test_driver_override_and_drivers_probe_bind_vfio_pci():
    node = bind_vfio(EDU)
    try:
        assert os.stat(node).st_mode & 0o170000 == 0o020000, node
    finally:
        unbind_vfio(EDU)


def test_unbinding_gives_the_function_back():
    bind_vfio(EDU)
    unbind_vfio(EDU)
    assert driver_of(EDU) is None, driver_of(EDU)
    assert sysfs(dev_path(EDU, "driver_override")) == "(null)"
    # and binding again works
    bind_vfio(EDU)
    unbind_vfio(EDU)


def test_vfio_device_fd_reaches_edus_bar0():
    edu_through_vfio(EDU)


def test_vfio_msi_and_a_4095_byte_dma_round_trip_through_the_iommu():
    edu_msi_and_dma(EDU)


def test_hotplug_edu_on_the_root_port_appears_within_3s():
    assert not os.path.exists(dev_path(HOTPLUG))
    start = time.monotonic()
    ack = ask_host("device-add", "edu", "e2", "rp1")
    assert ack == "ok", ack
    wait_until(lambda: os.path.exists(dev_path(HOTPLUG, "device")),
               HOTPLUG_TIMEOUT_S - (time.monotonic() - start),
               f"{HOTPLUG} to appear")
    print(f"# {HOTPLUG} appeared after {time.monotonic() - start:.2f}s",
          flush=True)
    assert is_edu(HOTPLUG)
    members = os.listdir(os.path.join("/sys/kernel/iommu_groups",
                                      group_of(HOTPLUG), "devices"))
    assert members == [HOTPLUG], members


def test_hotplugged_edu_works_through_vfio_with_msi_and_dma():
    edu_through_vfio(HOTPLUG)
    edu_msi_and_dma(HOTPLUG)


def test_device_del_removes_it_within_3s():
    start = time.monotonic()
    ack = ask_host("device-del", "e2")
    assert ack == "ok", ack
    wait_until(lambda: not os.path.exists(dev_path(HOTPLUG)),
               HOTPLUG_TIMEOUT_S - (time.monotonic() - start),
               f"{HOTPLUG} to go")
    print(f"# {HOTPLUG} went after {time.monotonic() - start:.2f}s",
          flush=True)


# ---- ddmfs on the edu function ----------------------------------------

def edu_compute(path, n, who=None):
    """echo n > path; cat path, as root or (who="nobody") as nobody."""
    script = f"echo {n} > {path} && cat {path}"
    if who == "nobody":
        r = as_nobody("sh", "-c", script)
        assert r.returncode == 0, (r.returncode, r.stderr)
        return r.stdout
    return run(["sh", "-c", script], text=True).stdout


def write_conf(text):
    conf = os.path.join(WORK, "ddmfs.conf")
    with open(conf + ".tmp", "w") as f:
        f.write(text)
    os.rename(conf + ".tmp", conf)
    return conf


def start_ddmfs(conf):
    global ddmfs_proc
    log = open(os.path.join(WORK, "ddmfs.log"), "ab")
    ddmfs_proc = subprocess.Popen(
        [DDMFS, "-f", "-c", conf, "--state-dir", STATE, MNT],
        stdout=log, stderr=subprocess.STDOUT)
    log.close()


def test_ddmfs_mounts_with_a_pci_list():
    global ddmfs_proc
    os.makedirs(STATE, exist_ok=True)
    conf = write_conf(CONF)
    assert os.path.isdir(MNT), f"{MNT} missing (hostrun.py creates it)"
    log = open(os.path.join(WORK, "ddmfs.log"), "ab")
    ddmfs_proc = subprocess.Popen(
        [DDMFS, "-f", "-c", conf, "--state-dir", STATE, MNT],
        stdout=log, stderr=subprocess.STDOUT)
    log.close()
    wait_until(lambda: os.path.ismount(MNT) or ddmfs_proc.poll() is not None,
               MOUNT_TIMEOUT_S, "the mount")
    assert ddmfs_proc.poll() is None, f"ddmfs exited {ddmfs_proc.returncode}"
    assert os.path.isdir(os.path.join(MNT, "pci0"))


def test_pci0_edu0_runs_ddm_edu_on_the_edu_function():
    wait_until(lambda: status("edu0").get("state") == "running",
               MOUNT_TIMEOUT_S, "pci0/edu0 to run")
    assert os.listdir(os.path.join(MNT, "pci0")) == ["edu0"]
    assert os.stat(node("edu0")).st_mode & 0o777 == 0o666
    # ddmfs handed the function to vfio-pci for the driver
    assert driver_of(EDU) == "vfio-pci", driver_of(EDU)


def test_echo_5_then_cat_gives_120():
    out = edu_compute(node("edu0"), 5)
    assert out == "120\n", repr(out)


def test_status_counts_edu0s_interrupts():
    st = status("edu0")
    assert st["pci"] == EDU, st
    before = int(st["interrupts"])
    assert edu_compute(node("edu0"), 5) == "120\n"
    assert edu_compute(node("edu0"), 6) == "720\n"
    after = int(status("edu0")["interrupts"])
    # one completion interrupt a factorial
    assert after >= before + 2, (before, after)
    print(f"# interrupts {before} -> {after}", flush=True)


def test_nobody_computes_through_mode_0666():
    out = edu_compute(node("edu0"), 4, who="nobody")
    assert out == "24\n", repr(out)


def test_ddmctl_list_all_shows_q35s_own_functions_unbound():
    lines = ctl("list", "--all").splitlines()
    rows = [line.split("\t") for line in lines]
    unbound = {r[0]: r[1:] for r in rows if r[-1] == "unbound"}
    for addr, ids, cls in Q35_UNBOUND:
        assert unbound.get(addr) == [ids, cls, "unbound"], \
            (addr, unbound.get(addr), lines)
    assert EDU not in unbound, lines
    # list alone shows no unbound function
    assert "unbound" not in ctl("list"), ctl("list")


def edu_dma(fd, req, off, data=b"", n=0):
    """One ddm-edu DMA ioctl: DMA_TO of data at off, or DMA_FROM of n
    bytes at off (returned)."""
    arg = bytearray(EDU_DMA_STRUCT.pack(len(data) or n, off, data))
    fcntl.ioctl(fd, req, arg, True)
    return bytes(arg[8:8 + n])


def test_dma_ioctls_round_trip_4095_bytes():
    data = bytes((i * 13 + 5) & 0xFF for i in range(DMA_LEN))
    fd = os.open(node("edu0"), os.O_RDWR)
    try:
        edu_dma(fd, EDU_IOC_DMA_TO, 0, data)
        assert edu_dma(fd, EDU_IOC_DMA_FROM, 0, n=DMA_LEN) == data
        # and at an offset, the rest left as it was
        edu_dma(fd, EDU_IOC_DMA_TO, 100, b"\xa5" * 200)
        want = data[:100] + b"\xa5" * 200 + data[300:]
        assert edu_dma(fd, EDU_IOC_DMA_FROM, 0, n=DMA_LEN) == want
        assert edu_dma(fd, EDU_IOC_DMA_FROM, 50, n=100) == want[50:150]
    finally:
        os.close(fd)


def test_dma_ioctls_refuse_ranges_outside_the_device_buffer():
    """EINVAL, and the last byte of edu's buffer among them: a transfer
    there would abort QEMU (see DMA_LEN)."""
    fd = os.open(node("edu0"), os.O_RDWR)
    try:
        for off, n in ((1, EDU_DMA_SIZE), (EDU_DMA_SIZE, 1), (0, 0),
                       (0, EDU_DMA_SIZE), (EDU_DMA_SIZE - 1, 1),
                       (DMA_LEN - 10, 11)):
            for req, arg in ((EDU_IOC_DMA_FROM, {"n": n}),
                             (EDU_IOC_DMA_TO, {"data": b"\x5a" * n})):
                try:
                    edu_dma(fd, req, off, **arg)
                except OSError as e:
                    assert e.errno == errno.EINVAL, (off, n, e)
                else:
                    raise AssertionError(f"{req:#x} off {off} len {n} "
                                         "worked")
    finally:
        os.close(fd)


# x86_64 syscall numbers a driver waiting for events may sleep in
WAIT_SYSCALLS = {7: "poll", 232: "epoll_wait", 271: "ppoll",
                 281: "epoll_pwait", 441: "epoll_pwait2"}
# DMAs of the no-CPU test; QEMU's edu finishes each after 100 ms
N_SLOW_DMAS = 10


def proc_ticks(pid):
    """utime + stime of pid, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def proc_wait(pid):
    """(state, syscall name or None) of pid now."""
    with open(f"/proc/{pid}/stat") as f:
        state = f.read().rsplit(")", 1)[1].split()[0]
    with open(f"/proc/{pid}/syscall") as f:
        call = f.read().split()
    nr = int(call[0]) if call and call[0].isdigit() else None
    return state, WAIT_SYSCALLS.get(nr)


# N DMA_FROM ioctls of 16 bytes on a node, in a process of their own (an
# ioctl holds Python's GIL, which would stop a sampling thread)
SLOW_DMAS = f"""
import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
for _ in range(int(sys.argv[2])):
    fcntl.ioctl(fd, {EDU_IOC_DMA_FROM}, bytearray(struct.pack("=II4096s",
                16, 0, b"")), True)
"""


def test_ddm_edu_sleeps_while_a_dma_waits_for_its_interrupt():
    """No polling: while edu works on a DMA (~100 ms each), ddm-edu is
    asleep in its event wait and uses next to no CPU."""
    pid = int(status("edu0")["pid"])
    samples = []
    start, ticks = time.monotonic(), proc_ticks(pid)
    p = subprocess.Popen([sys.executable, "-c", SLOW_DMAS, node("edu0"),
                          str(N_SLOW_DMAS)])
    try:
        while p.poll() is None:
            samples.append(proc_wait(pid))
            time.sleep(0.01)
    finally:
        rc = p.wait(timeout=CMD_TIMEOUT_S)
    assert rc == 0, rc
    wall = time.monotonic() - start
    cpu = (proc_ticks(pid) - ticks) / os.sysconf("SC_CLK_TCK")
    asleep = sum(1 for st, call in samples if st == "S" and call)
    print(f"# {N_SLOW_DMAS} DMAs took {wall:.2f}s; ddm-edu used "
          f"{cpu:.2f}s of CPU; asleep in "
          f"{set(c for _, c in samples if c)} in {asleep} of "
          f"{len(samples)} samples", flush=True)
    # the device made it wait: edu's DMA timer is 100 ms
    assert wall >= N_SLOW_DMAS * 0.1, wall
    # a poller would be running (R) or in nanosleep, not in its event wait
    assert len(samples) >= N_SLOW_DMAS, samples
    assert asleep >= 0.8 * len(samples), samples
    assert cpu <= 0.25 * wall, (cpu, wall)


def test_dma_to_needs_the_node_open_for_writing():
    fd = os.open(node("edu0"), os.O_RDONLY)
    try:
        edu_dma(fd, EDU_IOC_DMA_TO, 0, b"x")
    except OSError as e:
        assert e.errno == errno.EBADF, e
    else:
        raise AssertionError("DMA_TO on a read-only open worked")
    finally:
        os.close(fd)


def test_kill_9_of_ddm_edu_restarts_it_on_the_same_function():
    pid = int(status("edu0")["pid"])
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: status("edu0").get("state") == "running"
               and status("edu0").get("pid") not in (None, str(pid)),
               MOUNT_TIMEOUT_S, "pci0/edu0 to run again")
    assert edu_compute(node("edu0"), 7) == "5040\n"
    assert driver_of(EDU) == "vfio-pci", driver_of(EDU)


def test_upgrade_keeps_edu0s_driver_and_its_function():
    pid = status("edu0")["pid"]
    assert ctl("upgrade") == "upgraded\n"
    assert status("edu0")["pid"] == pid
    assert edu_compute(node("edu0"), 8) == "40320\n"
    assert ddmfs_proc.poll() is None  # the same process, a new binary


def test_reload_without_the_rule_gives_the_function_back_then_takes_it():
    write_conf(re.sub(r"(?s)pci = \(.*\);", "pci = ( );", CONF))
    out = ctl("reload")
    assert "reload: 0 added, 1 removed" in out, out
    assert os.listdir(os.path.join(MNT, "pci0")) == []
    wait_until(lambda: driver_of(EDU) is None, CMD_TIMEOUT_S,
               f"{EDU} to leave vfio-pci")
    assert sysfs(dev_path(EDU, "driver_override")) == "(null)"
    unbound = [line for line in ctl("list", "--all").splitlines()
               if line.startswith(EDU + "\t")]
    assert unbound == [f"{EDU}\t1234:11e8\t00ff00\tunbound"], unbound
    write_conf(CONF)
    out = ctl("reload")
    assert "reload: 1 added, 0 removed" in out, out
    wait_until(lambda: status("edu0").get("state") == "running",
               MOUNT_TIMEOUT_S, "pci0/edu0 to run again")
    assert edu_compute(node("edu0"), 9) == "362880\n"


# The page the rogue driver aims at: all this byte, edu's buffer another.
PAGE_FILL, EDU_FILL = 0xA5, 0x3C
# edu's DMA mask is 28 bits: it reaches the first 256 MiB only
EDU_DMA_LIMIT = 1 << 28
# how much memory the test may lock to find a page edu can reach
PAGE_SEARCH_MAX = 128 << 20


def physical_page_below(limit):
    """A locked anonymous page whose physical address is below limit:
    (mmap, offset in it, physical address).  Root reads the frame numbers
    in /proc/self/pagemap."""
    libc = ctypes.CDLL(None, use_errno=True)
    size = 16 << 20
    while size <= PAGE_SEARCH_MAX:
        m = mmap.mmap(-1, size)
        m[:] = bytes([PAGE_FILL]) * size
        base = ctypes.addressof((ctypes.c_char * size).from_buffer(m))
        assert libc.mlock(ctypes.c_void_p(base), ctypes.c_size_t(size)) == 0
        with open("/proc/self/pagemap", "rb") as f:
            for off in range(0, size, mmap.PAGESIZE):
                f.seek((base + off) // mmap.PAGESIZE * 8)
                e = struct.unpack("<Q", f.read(8))[0]
                pfn = e & ((1 << 55) - 1)
                if e >> 63 and 0 < pfn * mmap.PAGESIZE < limit:
                    return m, off, pfn * mmap.PAGESIZE
        size *= 2
    raise AssertionError(f"no page below {limit:#x} in {PAGE_SEARCH_MAX} "
                         "bytes of locked memory")


def test_a_rogue_drivers_dma_to_an_unmapped_address_faults_in_the_iommu():
    """edu-rogue programs edu to DMA into RAM it never mapped: the IOMMU
    faults, the page keeps its bytes, ddmfs and the device carry on."""
    # edu's buffer holds EDU_FILL, which must not reach the page
    fd = os.open(node("edu0"), os.O_RDWR)
    try:
        edu_dma(fd, EDU_IOC_DMA_TO, 0, bytes([EDU_FILL]) * DMA_LEN)
    finally:
        os.close(fd)
    m, off, phys = physical_page_below(EDU_DMA_LIMIT)
    faults_before = kmsg().count(b"DMAR: [DMA Write")
    rogue = CONF.replace('transport = "fuse";',
                         f'transport = "fuse";\ndriver_path = '
                         f'"{os.path.join(BUILD, "tests", "guest")}";') \
        .replace('driver = "ddm-edu"', 'driver = "edu-rogue"')
    write_conf(rogue)
    try:
        out = ctl("reload")
        assert "1 restarted" in out, out
        wait_until(lambda: status("edu0").get("driver") == "edu-rogue"
                   and status("edu0").get("state") == "running",
                   MOUNT_TIMEOUT_S, "edu-rogue to run")
        with open(node("edu0"), "w") as f:
            f.write(f"{phys:x} 64")   # answered at the DMA interrupt
        log = kmsg()
        page = m[off:off + mmap.PAGESIZE]
        assert page == bytes([PAGE_FILL]) * mmap.PAGESIZE, \
            f"the page at {phys:#x} changed: {page[:16].hex()}"
        faults = [line for line in log.decode(errors="replace").splitlines()
                  if "DMAR: [DMA Write" in line]
        print(f"# {faults[-1] if faults else 'no fault line'}", flush=True)
        assert len(faults) > faults_before, "no new DMAR write fault"
        assert "Request device [00:04.0]" in faults[-1], faults[-1]
        assert f"fault addr 0x{phys:x}" in faults[-1], (hex(phys), faults[-1])
    finally:
        m.close()
        write_conf(CONF)
    assert ddmfs_proc.poll() is None, "ddmfs died"
    out = ctl("reload")
    assert "1 restarted" in out, out
    wait_until(lambda: status("edu0").get("driver") == "ddm-edu"
               and status("edu0").get("state") == "running",
               MOUNT_TIMEOUT_S, "ddm-edu to run again")
    assert edu_compute(node("edu0"), 10) == "3628800\n"


def hotplug_edu1(qdev_id):
    """device_add edu on rp1; waits for pci0/edu1 to run."""
    start = time.monotonic()
    ack = ask_host("device-add", "edu", qdev_id, "rp1")
    assert ack == "ok", ack
    wait_until(lambda: os.path.exists(node("edu1")), HOTPLUG_NODE_TIMEOUT_S,
               "pci0/edu1 to appear")
    print(f"# pci0/edu1 appeared after {time.monotonic() - start:.2f}s",
          flush=True)
    wait_until(lambda: status("edu1").get("state") == "running",
               MOUNT_TIMEOUT_S, "pci0/edu1 to run")


def unplug_edu1(qdev_id):
    """device_del; waits for pci0/edu1, its driver and the function to
    go."""
    pid = int(status("edu1")["pid"])
    start = time.monotonic()
    ack = ask_host("device-del", qdev_id)
    assert ack == "ok", ack
    # the kernel waits for the driver to let go of the function (VFIO's
    # request interrupt) before the function goes
    wait_until(lambda: not os.path.exists(node("edu1")),
               HOTPLUG_NODE_TIMEOUT_S, "pci0/edu1 to go")
    print(f"# pci0/edu1 went after {time.monotonic() - start:.2f}s",
          flush=True)
    wait_until(lambda: not os.path.exists(f"/proc/{pid}"),
               HOTPLUG_NODE_TIMEOUT_S, f"ddm-edu (pid {pid}) to exit")
    wait_until(lambda: not os.path.exists(dev_path(HOTPLUG)),
               HOTPLUG_NODE_TIMEOUT_S, f"{HOTPLUG} to go")


def test_hotplugged_edu_becomes_edu1_and_goes_with_device_del():
    hotplug_edu1("e3")
    # the conf's rule applied to the hotplugged leaf, and only to it
    assert os.stat(node("edu1")).st_gid == 65533
    assert os.stat(node("edu0")).st_gid == 0
    acl = os.getxattr(node("edu1"), "system.posix_acl_access")
    assert struct.pack("<HHI", 2, 6, 65533) in acl, acl.hex()
    assert os.listxattr(node("edu0")) == []
    assert edu_compute(node("edu1"), 6) == "720\n"
    os.chmod(node("edu1"), 0o640)   # kept for the function's return
    # a ddmfs killed and started again adopts edu1's driver, and takes
    # over its function's unplug request
    pid = status("edu1")["pid"]
    ddmfs_proc.kill()
    ddmfs_proc.wait()
    start_ddmfs(os.path.join(WORK, "ddmfs.conf"))
    wait_until(lambda: status("edu1").get("state") == "running"
               and status("edu0").get("state") == "running",
               MOUNT_TIMEOUT_S, "the new ddmfs to adopt the drivers")
    assert status("edu1")["pid"] == pid
    assert edu_compute(node("edu1"), 5) == "120\n"
    unplug_edu1("e3")
    assert not os.path.exists(node("edu1"))
    # edu0 carries on
    assert edu_compute(node("edu0"), 3) == "6\n"


def test_unplug_during_dma_ioctls_fails_them_and_crashes_nothing():
    hotplug_edu1("e4")
    # plugged back at the same address: the same name, the earlier chmod
    assert os.stat(node("edu1")).st_mode & 0o777 == 0o640
    assert edu_compute(node("edu1"), 4) == "24\n"
    # the new ddmfs takes over the unplug request of edu1's function too
    assert ctl("upgrade") == "upgraded\n"
    fd = os.open(node("edu1"), os.O_RDWR)
    done, errs = [0], []

    def hammer():
        try:
            while True:
                edu_dma(fd, EDU_IOC_DMA_FROM, 0, n=64)
                done[0] += 1
        except OSError as e:
            errs.append(e.errno)

    t = threading.Thread(target=hammer)
    t.start()
    try:
        wait_until(lambda: done[0] >= 2 or errs, CMD_TIMEOUT_S,
                   "DMAs on edu1")
        unplug_edu1("e4")
        t.join(CMD_TIMEOUT_S)
        assert not t.is_alive(), "a DMA ioctl still hangs"
    finally:
        os.close(fd)
    print(f"# {done[0]} DMAs, then {errno.errorcode.get(errs[0], errs)}"
          if errs else "# no error", flush=True)
    assert errs and errs[0] in (errno.ENODEV, errno.EIO), errs
    assert ddmfs_proc.poll() is None, "ddmfs died"
    assert edu_compute(node("edu0"), 2) == "2\n"
    assert sorted(os.listdir(os.path.join(MNT, "pci0"))) == ["edu0"]


def test_a_driver_that_cannot_start_ends_failed():
    """Its function stays with vfio-pci; ddmfs gives it back at exit all
    the same, with no process of the instance's left to wait for
    (test_ddmfs_gave_the_edu_function_back...)."""
    write_conf(CONF.replace('mode = "0666";',
                            'mode = "0666"; args = [ "--no-such=1" ];'))
    out = ctl("reload")
    assert "1 restarted" in out, out
    wait_until(lambda: status("edu0").get("state") == "failed",
               MOUNT_TIMEOUT_S, "pci0/edu0 to fail")
    assert status("edu0")["pid"] == "-"
    assert driver_of(EDU) == "vfio-pci", driver_of(EDU)


def test_sigterm_unmounts_ddm_cleanly():
    assert ddmfs_proc is not None, "ddmfs never started"
    ddmfs_proc.send_signal(signal.SIGTERM)
    rc = ddmfs_proc.wait(timeout=EXIT_TIMEOUT_S)
    assert rc == 0, rc
    assert not os.path.ismount(MNT)


def test_ddmfs_gave_the_edu_function_back_to_the_kernel():
    assert driver_of(EDU) is None, driver_of(EDU)
    assert sysfs(dev_path(EDU, "driver_override")) == "(null)"
    assert not os.path.exists(os.path.join("/dev/vfio", group_of(EDU)))


TESTS = [
    test_edu_is_at_00_04_0_with_vendor_1234_device_11e8,
    test_the_iommu_dmar_is_enabled,
    test_edu_is_alone_in_its_iommu_group,
    test_vfio_modules_are_loaded,
    test_edu_has_no_kernel_driver_at_boot,
    test_driver_override_and_drivers_probe_bind_vfio_pci,
    test_unbinding_gives_the_function_back,
    test_vfio_device_fd_reaches_edus_bar0,
    test_vfio_msi_and_a_4095_byte_dma_round_trip_through_the_iommu,
    test_hotplug_edu_on_the_root_port_appears_within_3s,
    test_hotplugged_edu_works_through_vfio_with_msi_and_dma,
    test_device_del_removes_it_within_3s,
    test_ddmfs_mounts_with_a_pci_list,
    test_ddmctl_list_all_shows_q35s_own_functions_unbound,
    test_pci0_edu0_runs_ddm_edu_on_the_edu_function,
    test_echo_5_then_cat_gives_120,
    test_status_counts_edu0s_interrupts,
    test_nobody_computes_through_mode_0666,
    test_dma_ioctls_round_trip_4095_bytes,
    test_dma_ioctls_refuse_ranges_outside_the_device_buffer,
    test_ddm_edu_sleeps_while_a_dma_waits_for_its_interrupt,
    test_dma_to_needs_the_node_open_for_writing,
    test_kill_9_of_ddm_edu_restarts_it_on_the_same_function,
    test_upgrade_keeps_edu0s_driver_and_its_function,
    test_reload_without_the_rule_gives_the_function_back_then_takes_it,
    test_a_rogue_drivers_dma_to_an_unmapped_address_faults_in_the_iommu,
    test_hotplugged_edu_becomes_edu1_and_goes_with_device_del,
    test_unplug_during_dma_ioctls_fails_them_and_crashes_nothing,
    test_a_driver_that_cannot_start_ends_failed,
    test_sigterm_unmounts_ddm_cleanly,
    test_ddmfs_gave_the_edu_function_back_to_the_kernel,
]


def main():
    os.makedirs(WORK, exist_ok=True)
    return guest_tap.run(TESTS, os.path.join(WORK, "ddmfs.log"),
                         lambda: ddmfs_proc)


if __name__ == "__main__":
    sys.exit(main())

"""ddmtest: what the host integration tests share.

A Mount is a real ddmfs FUSE mount in a temp dir, made from a conf the test
writes, with the drivers from the build tree.  run() is a tiny TAP harness:
each test is a function; an exception fails it, and the rest still run.
"""

import contextlib
import errno
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

BUILD = os.environ.get("DDM_BUILDDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "build"))
DDMFS = os.path.join(BUILD, "ddmfs", "ddmfs")
DDMCTL = os.path.join(BUILD, "ddmfs", "ddmctl")
NOBODY = 65534
# The build was configured --enable-sanitizers: every report fails a test.
SANITIZERS = os.environ.get("DDM_SANITIZERS") == "1"

RTC_LINE = re.compile(rb"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n$")

# the three sim devices, as conf entries for conf_text()
RTC = """
			{ name = "rtc0"; driver = "ddm-rtc"; io = "sim";
			  ports = [ "0x70-0x71" ]; mode = "0644"; }"""
LP = """
			{ name = "lp0"; driver = "ddm-lp"; io = "sim";
			  ports = [ "0x378-0x37a" ]; mode = "0666"; }"""
KBD = """
			{ name = "kbd0"; driver = "ddm-kbd"; io = "sim";
			  ports = [ "0x60", "0x64" ]; mode = "0644"; }"""

DEFAULT_DEVICES = RTC


def conf_text(devices=DEFAULT_DEVICES, extra=""):
    """A conf with one bus, isa0, holding devices."""
    return f"""
transport = "fuse";
{extra}
buses = (
	{{ name = "isa0"; mode = "0755";
	  devices = ( {devices} );
	}}
);
"""


class Mount:
    """ddmfs mounted on a temp dir; use as a context manager."""

    def __init__(self, conf=None, state_dir=None, args=(), exe=DDMFS):
        self.exe = exe
        self.tmp = tempfile.mkdtemp(prefix="ddmtest.")
        os.chmod(self.tmp, 0o755)
        self.mnt = os.path.join(self.tmp, "mnt")
        self.state = state_dir or os.path.join(self.tmp, "state")
        self.conf = os.path.join(self.tmp, "ddmfs.conf")
        self.log = os.path.join(self.tmp, "ddmfs.log")
        self.args = list(args)
        os.mkdir(self.mnt)
        with open(self.conf, "w") as f:
            f.write(conf if conf is not None else conf_text())
        self.proc = None

    def path(self, rel=""):
        return os.path.join(self.mnt, rel)

    def start(self, wait_for="isa0/rtc0", timeout=10):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [self.exe, "-f", "-c", self.conf, "--state-dir", self.state] +
            self.args + [self.mnt],
            stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        deadline = time.monotonic() + timeout
        while not os.path.ismount(self.mnt):
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"ddmfs exited {self.proc.returncode}: {self.logtext()}")
            if time.monotonic() > deadline:
                raise AssertionError("ddmfs did not mount: " + self.logtext())
            time.sleep(0.02)
        if wait_for:
            self.wait_running(wait_for)
        return self

    def wait_running(self, node, timeout=10):
        """Waits until ddmctl reports node's driver as running."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.ctl("status", node, check=False)
            if "state: running" in st.stdout:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{node} not running: {st.stdout}"
                                     f"{st.stderr} {self.logtext()}")
            time.sleep(0.02)

    def ctl(self, *args, check=True):
        r = subprocess.run([DDMCTL, "--state-dir", self.state] + list(args),
                           capture_output=True, text=True, timeout=20)
        if check and r.returncode != 0:
            raise AssertionError(f"ddmctl {args}: {r.returncode} {r.stderr}")
        return r

    def status(self, node):
        out = self.ctl("status", node).stdout
        return dict(line.split(": ", 1) for line in out.splitlines()
                    if ": " in line)

    def driver_pid(self, node):
        return int(self.status(node)["pid"])

    def logtext(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def sanitizer_reports(self):
        """The sanitizers' reports in the log (ddmfs's and the
        drivers'), in a build made with --enable-sanitizers."""
        text = self.logtext_all()
        return [line for line in text.splitlines()
                if "Sanitizer" in line or "runtime error:" in line]

    def log_lines(self):
        """The whole log, as lines."""
        return self.logtext_all().splitlines()

    def logtext_all(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if os.path.ismount(self.mnt):
            subprocess.run(["umount", "-l", self.mnt], check=False)
        rc = self.proc.returncode
        self.proc = None
        return rc

    def cleanup(self):
        self.stop()
        reports = self.sanitizer_reports() if SANITIZERS else []
        log = self.logtext_all()
        shutil.rmtree(self.tmp, ignore_errors=True)
        if reports:
            raise AssertionError("sanitizer reports:\n" + log[-6000:])

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()


def as_nobody(*cmd, input=None):
    """Runs cmd as uid/gid 65534 with no supplementary groups."""
    return subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
         "--clear-groups", "--"] + list(cmd),
        capture_output=True, text=True, input=input, timeout=20)


def expect_errno(err, fn, *args):
    """Calls fn(*args) and checks that it fails with errno err."""
    try:
        fn(*args)
    except OSError as e:
        assert e.errno == err, \
            f"expected {errno.errorcode[err]}, got {errno.errorcode.get(e.errno, e.errno)}"
        return
    raise AssertionError(f"expected {errno.errorcode[err]}, call succeeded")


def wait_until(pred, timeout=10, what="condition"):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def read_node(path):
    with open(path, "rb", buffering=0) as f:
        return f.read()


def write_node(path, data):
    with open(path, "wb", buffering=0) as f:
        return f.write(data)


def run(tests):
    """Runs each test function, printing TAP.  Exit status 1 on failure."""
    if os.geteuid() != 0:
        print("1..0 # SKIP needs root for FUSE mounts and setpriv")
        sys.exit(77 if not os.environ.get("CI") else 1)
    print(f"1..{len(tests)}", flush=True)
    failed = 0
    for i, t in enumerate(tests, 1):
        name = t.__name__
        try:
            t()
        except Exception:  # report and go on with the next test
            failed += 1
            print(f"not ok {i} - {name}")
            for line in traceback.format_exc().splitlines():
                print("# " + line)
        else:
            print(f"ok {i} - {name}")
        sys.stdout.flush()
    return 1 if failed else 0


@contextlib.contextmanager
def mounted(**kw):
    m = Mount(**kw)
    try:
        m.start()
        yield m
    finally:
        m.cleanup()

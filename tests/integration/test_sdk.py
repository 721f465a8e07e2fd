"""Host integration: the driver SDK as a driver author gets it.

`make install DESTDIR=...` from the build tree, then examples/hello/hello.c
built out of tree with nothing but `pkg-config libddmdriver` pointed at that
DESTDIR (as C, and again as C++), and run by ddmfs as ddm-hello from a conf
with driver_path and args.  Checks the installed files, the soname, that
the shared library exports exactly the functions of ddm_driver.h and
ddm_io.h, and the example's node semantics.
"""

import atexit
import contextlib
import errno
import os
import re
import shutil
import subprocess
import sys
import tempfile

from ddmtest import (BUILD, SANITIZERS, Mount, conf_text, expect_errno,
                     read_node, run, write_node)

SRCDIR = os.environ.get("DDM_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
HELLO_C = os.path.join(SRCDIR, "examples", "hello", "hello.c")
WARN = ["-Wall", "-Wextra", "-Werror"]
SAN = ["-fsanitize=address,undefined"] if SANITIZERS else []

_sdk = {}


def no_make_env():
    """The environment without the outer make's jobserver and flags."""
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):
        env.pop(k, None)
    return env


def sh(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                       **kw)
    assert r.returncode == 0, f"{cmd}: {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r.stdout


def find(root, name):
    for d, _, files in os.walk(root):
        if name in files or os.path.islink(os.path.join(d, name)):
            return os.path.join(d, name)
    raise AssertionError(f"{name} not installed under {root}")


def sdk():
    """Installs into a temp DESTDIR once; returns its paths.  Every
    directory is 0755: the driver runs as another user, and the dynamic
    loader opens libddmdriver.so.0 by its path there."""
    if _sdk:
        return _sdk
    dest = tempfile.mkdtemp(prefix="ddmsdk.")
    atexit.register(shutil.rmtree, dest, True)
    sh(["make", "-C", BUILD, "-s", "install", f"DESTDIR={dest}"],
       env=no_make_env(), preexec_fn=lambda: os.umask(0o022))
    for d, _, _ in os.walk(dest):
        os.chmod(d, 0o755)
    pc = find(dest, "libddmdriver.pc")
    so = find(dest, "libddmdriver.so.0")
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pc),
               PKG_CONFIG_SYSROOT_DIR=dest)
    env.pop("PKG_CONFIG_LIBDIR", None)
    flags = sh(["pkg-config", "--cflags", "--libs", "libddmdriver"],
               env=env).split()
    bindir = os.path.join(dest, "hello")
    os.mkdir(bindir)
    os.chmod(bindir, 0o755)
    rpath = "-Wl,-rpath," + os.path.dirname(so)
    exe = os.path.join(bindir, "ddm-hello")
    sh(["cc"] + WARN + SAN + ["-o", exe, HELLO_C] + flags + [rpath])
    exe_cxx = os.path.join(bindir, "ddm-hello-cxx")
    sh(["g++"] + WARN + SAN + ["-x", "c++", "-o", exe_cxx, HELLO_C,
                               "-x", "none"] + flags + [rpath])
    _sdk.update(dest=dest, pc=pc, so=so, env=env, flags=flags,
                bindir=bindir, exe=exe, exe_cxx=exe_cxx)
    return _sdk


def header_functions(path):
    """The names of the functions a header declares (its static inline
    helpers are not the library's)."""
    text = re.sub(r"/\*.*?\*/", " ", open(path).read(), flags=re.S)
    text = re.sub(r"#ifdef __cplusplus.*?#endif", " ", text, flags=re.S)
    text = re.sub(r"^\s*#.*$", " ", text, flags=re.M)
    names, depth, decl = set(), 0, ""
    for c in text:
        if depth == 0 and c in ";{":
            decl = " ".join(decl.split())
            m = re.search(r"\b((?:ddm|io)_\w+)\s*\(", decl)
            if m and not decl.startswith(("typedef", "static")):
                names.add(m.group(1))
            decl = ""
        elif depth == 0:
            decl += c
        depth += (c == "{") - (c == "}")
    return names


@contextlib.contextmanager
def hello_mounted(who_args='"--who=there"', exe_name="ddm-hello"):
    """ddmfs serving isa0/hello0 with the example driver, args who_args."""
    s = sdk()
    devices = f"""
			{{ name = "hello0"; driver = "{exe_name}"; mode = "0666";
			  args = [ {who_args} ]; }}
"""
    m = Mount(conf=conf_text(devices, f'driver_path = "{s["bindir"]}";'))
    try:
        m.start(wait_for="isa0/hello0")
        yield m
    finally:
        m.cleanup()


def test_install_puts_the_sdk_in_place():
    s = sdk()
    inc = os.path.dirname(find(s["dest"], "ddm_driver.h"))
    assert os.path.basename(inc) == "ddm", inc
    assert sorted(os.listdir(inc)) == ["ddm_driver.h", "ddm_io.h"], \
        os.listdir(inc)
    assert os.path.islink(s["so"]), s["so"]
    real = os.path.realpath(s["so"])
    assert os.path.basename(real).startswith("libddmdriver.so.0."), real
    dev = os.path.join(os.path.dirname(s["so"]), "libddmdriver.so")
    assert os.path.realpath(dev) == real, dev
    soname = sh(["readelf", "-d", real])
    assert re.search(r"\(SONAME\)\s+Library soname: \[libddmdriver\.so\.0\]",
                     soname), soname
    man = find(s["dest"], "libddmdriver.3")
    assert os.path.basename(os.path.dirname(man)) == "man3", man
    page = open(man).read()
    assert page.startswith(".TH LIBDDMDRIVER 3"), page[:80]


def test_pkg_config_gives_the_installed_flags():
    s = sdk()
    inc = os.path.dirname(find(s["dest"], "ddm_driver.h"))
    assert "-I" + inc in s["flags"], s["flags"]
    assert "-L" + os.path.dirname(s["so"]) in s["flags"], s["flags"]
    assert "-lddmdriver" in s["flags"], s["flags"]
    # fuse3 and pciaccess are the library's own business
    assert "-lfuse3" not in s["flags"], s["flags"]
    static = sh(["pkg-config", "--libs", "--static", "libddmdriver"],
                env=s["env"]).split()
    assert "-lfuse3" in static and "-lpciaccess" in static, static
    req = sh(["pkg-config", "--print-requires-private", "libddmdriver"],
             env=s["env"])
    assert re.search(r"^fuse3\b", req, re.M) and \
        re.search(r"^pciaccess\b", req, re.M), req


def test_the_shared_library_exports_only_the_public_api():
    s = sdk()
    out = sh(["nm", "-D", "--defined-only", os.path.realpath(s["so"])])
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        syms[parts[-1].split("@")[0]] = parts[-2]
    # the version node of libddmdriver.sym is the one non-function
    assert syms.pop("DDMDRIVER_0", None) == "A", syms
    inc = os.path.dirname(find(s["dest"], "ddm_driver.h"))
    declared = (header_functions(os.path.join(inc, "ddm_driver.h")) |
                header_functions(os.path.join(inc, "ddm_io.h")))
    assert "ddm_driver_main" in declared and "io_open" in declared, declared
    assert "ddm_writable" not in declared  # static inline
    assert set(syms) == declared, (
        f"exported, not declared: {sorted(set(syms) - declared)}; "
        f"declared, not exported: {sorted(declared - set(syms))}")
    assert set(syms.values()) == {"T"}, syms


def test_hello_links_the_installed_shared_library():
    s = sdk()
    for exe in (s["exe"], s["exe_cxx"]):
        needed = sh(["readelf", "-d", exe])
        assert "Shared library: [libddmdriver.so.0]" in needed, needed
        ldd = sh(["ldd", exe])
        m = re.search(r"libddmdriver\.so\.0 => (\S+)", ldd)
        assert m, ldd
        assert os.path.realpath(m.group(1)) == os.path.realpath(s["so"]), ldd


def test_in_tree_drivers_carry_the_library_inside():
    for rel in ("drivers/rtc/ddm-rtc", "drivers/lp/ddm-lp",
                "drivers/kbd/ddm-kbd", "tests/bench/ddm-null"):
        exe = os.path.join(BUILD, rel)
        with open(exe, "rb") as f:
            assert f.read(4) == b"\x7fELF", f"{rel} is not an ELF binary"
        needed = sh(["readelf", "-d", exe])
        assert "libddmdriver" not in needed, needed


def test_hello_reads_its_who_option():
    with hello_mounted() as m:
        out = subprocess.run(["cat", m.path("isa0/hello0")],
                             capture_output=True, check=True).stdout
        assert out == b"hello, there\n", out


def test_hello_is_world_without_the_option():
    with hello_mounted(who_args="") as m:
        assert read_node(m.path("isa0/hello0")) == b"hello, world\n"


def test_read_gives_the_line_once_per_open():
    with hello_mounted() as m:
        with open(m.path("isa0/hello0"), "rb", buffering=0) as f:
            assert f.read(4) == b"hell"
            assert f.read(100) == b"o, there\n"
            assert f.read(100) == b""


def test_a_write_names_who_the_next_open_greets():
    with hello_mounted() as m:
        node = m.path("isa0/hello0")
        with open(node, "rb", buffering=0) as before:
            assert before.read(4) == b"hell"
            assert write_node(node, b"you\n") == 4
            # an open that has read keeps its text to the end
            assert before.read(100) == b"o, there\n"
        assert read_node(node) == b"hello, you\n"
        assert write_node(node, b"no newline") == 10
        assert read_node(node) == b"hello, no newline\n"
        assert write_node(node, b"x" * 63 + b"\n") == 64
        assert read_node(node) == b"hello, " + b"x" * 63 + b"\n"


def test_empty_and_long_names_get_einval():
    with hello_mounted() as m:
        node = m.path("isa0/hello0")
        fd = os.open(node, os.O_WRONLY)
        try:
            expect_errno(errno.EINVAL, os.write, fd, b"\n")
            expect_errno(errno.EINVAL, os.write, fd, b"y" * 100)
            expect_errno(errno.EINVAL, os.write, fd, b"z" * 64)
            # a zero-length write(2) never reaches a driver: 0 bytes
            assert os.write(fd, b"") == 0
        finally:
            os.close(fd)
        assert read_node(node) == b"hello, there\n"


def test_the_cxx_build_serves_the_same_node():
    with hello_mounted(exe_name="ddm-hello-cxx") as m:
        node = m.path("isa0/hello0")
        assert read_node(node) == b"hello, there\n"
        assert write_node(node, b"c++\n") == 4
        assert read_node(node) == b"hello, c++\n"


if __name__ == "__main__":
    sys.exit(run([
        test_install_puts_the_sdk_in_place,
        test_pkg_config_gives_the_installed_flags,
        test_the_shared_library_exports_only_the_public_api,
        test_hello_links_the_installed_shared_library,
        test_in_tree_drivers_carry_the_library_inside,
        test_hello_reads_its_who_option,
        test_hello_is_world_without_the_option,
        test_read_gives_the_line_once_per_open,
        test_a_write_names_who_the_next_open_greets,
        test_empty_and_long_names_get_einval,
        test_the_cxx_build_serves_the_same_node,
    ]))

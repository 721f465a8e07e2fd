#!/usr/bin/env python3
"""The pci rules on the host: the bus pci0 exists whenever the conf has a
pci list, a rule that matches nothing leaves it empty (nothing on the host
is ever bound), `ddmctl list --all` shows the host's PCI functions as
unbound with the address, ids and class sysfs gives, and a malformed id
is a FILE:LINE error."""

import os
import subprocess

from ddmtest import DDMFS, Mount, conf_text, run, wait_until

SYSFS = "/sys/bus/pci/devices"
# vendor ffff is no vendor: the rule matches nothing, so nothing is bound
NO_MATCH = """pci = (
	{ vendor = "ffff"; device = "fffe"; driver = "ddm-rtc";
	  name = "none%d"; } );"""


def sysfs_functions():
    """{address: (vendor:device, class)} as sysfs gives them, or {}."""
    out = {}
    if not os.path.isdir(SYSFS):
        return out
    for addr in os.listdir(SYSFS):
        def rd(f):
            with open(os.path.join(SYSFS, addr, f)) as fh:
                return int(fh.read().strip(), 16)
        out[addr] = (f"{rd('vendor'):04x}:{rd('device'):04x}",
                     f"{rd('class'):06x}")
    return out


def unbound_rows(m):
    rows = {}
    for line in m.ctl("list", "--all").stdout.splitlines():
        f = line.split("\t")
        if len(f) == 4 and f[3] == "unbound":
            rows[f[0]] = (f[1], f[2])
    return rows


def test_pci_list_makes_an_empty_pci0_when_no_rule_matches():
    with Mount(conf=conf_text(extra=NO_MATCH)) as m:
        assert os.path.isdir(m.path("pci0"))
        assert os.listdir(m.path("pci0")) == []
        assert sorted(os.listdir(m.path())) == ["isa0", "pci0"]
        assert not os.path.exists(os.path.join(m.state, "pci"))


def test_list_all_shows_the_hosts_functions_as_sysfs_gives_them():
    with Mount(conf=conf_text(extra=NO_MATCH)) as m:
        want = sysfs_functions()
        got = unbound_rows(m)
        if want and got == {}:
            # libpciaccess could not read PCI here: one log line says so
            assert "pci: PCI is not readable here" in m.logtext_all()
        else:
            assert got == want, f"{got} != {want}"
        plain = m.ctl("list").stdout
        assert "unbound" not in plain, plain
        assert plain.startswith("isa0/rtc0\t"), plain


def test_without_a_pci_list_there_is_no_pci0_and_no_unbound_rows():
    with Mount(conf=conf_text()) as m:
        assert os.listdir(m.path()) == ["isa0"]
        assert unbound_rows(m) == {}


def test_reload_adds_and_removes_pci0_with_the_pci_list():
    with Mount(conf=conf_text()) as m:
        with open(m.conf, "w") as f:
            f.write(conf_text(extra=NO_MATCH))
        m.ctl("reload")
        wait_until(lambda: os.path.isdir(m.path("pci0")), what="pci0")
        with open(m.conf, "w") as f:
            f.write(conf_text())
        m.ctl("reload")
        wait_until(lambda: not os.path.exists(m.path("pci0")),
                   what="pci0 gone")


# matches every function, but names a driver that does not exist: the
# matches are named and reported, and nothing is started or bound
ALL_MISSING = """pci = (
	{ driver = "ddm-no-such-driver"; name = "fn%d"; } );"""


def test_a_rule_whose_driver_is_missing_names_and_reports_its_matches():
    want = sorted(sysfs_functions())
    m = Mount(conf=conf_text(extra=ALL_MISSING))
    try:
        m.start()
        names = [f"fn{i}" for i in range(len(want))]
        assert os.listdir(m.path("pci0")) == []
        log = m.logtext_all()
        if want and "pci: PCI is not readable here" in log:
            return  # nothing to match on this host
        assert (f"{m.conf}:4: driver \"ddm-no-such-driver\" not found"
                in log), log
        for name in names:
            assert f"device pci0/{name} left out" in log, log
        # the names are kept per address in the state dir's pci file
        stored = {}
        if want:
            with open(os.path.join(m.state, "pci")) as f:
                stored = dict(line.split() for line in f)
        assert stored == dict(zip(want, names)), stored
        # matched functions are not "unbound": a rule took them
        assert unbound_rows(m) == {}
        m.stop()
        # names given earlier stay, though not the lowest for the order
        reverse = "".join(f"{a} fn{len(want) - 1 - i}\n"
                          for i, a in enumerate(want))
        with open(os.path.join(m.state, "pci"), "w") as f:
            f.write(reverse)
        m.start()
        with open(os.path.join(m.state, "pci")) as f:
            assert f.read() == reverse
    finally:
        m.cleanup()


def test_malformed_pci_id_is_a_file_line_error():
    m = Mount(conf=conf_text(extra="""pci = (
	{ vendor = "12g4"; driver = "ddm-edu"; name = "edu%d"; } );"""))
    try:
        r = subprocess.run([DDMFS, "-f", "-c", m.conf, "--state-dir",
                            m.state, m.mnt], capture_output=True,
                           text=True, timeout=20)
        assert r.returncode != 0
        # conf_text() puts the extra text on line 3, the rule on line 4
        want = (f"{m.conf}:4: vendor \"12g4\" must be \"*\" or 1 to 4 "
                "hex digits")
        assert want in r.stderr, r.stderr
        assert not os.path.ismount(m.mnt)
    finally:
        m.cleanup()


if __name__ == "__main__":
    raise SystemExit(run([
        test_pci_list_makes_an_empty_pci0_when_no_rule_matches,
        test_list_all_shows_the_hosts_functions_as_sysfs_gives_them,
        test_without_a_pci_list_there_is_no_pci0_and_no_unbound_rows,
        test_reload_adds_and_removes_pci0_with_the_pci_list,
        test_a_rule_whose_driver_is_missing_names_and_reports_its_matches,
        test_malformed_pci_id_is_a_file_line_error,
    ]))

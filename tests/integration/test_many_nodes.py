"""Host integration: one driver instance serving many nodes.

One ddm-rtc instance (sim) publishes NODES clock nodes and one nvram node
on one bus: every node is listed, stats and answers through the one
driver.  The kernel keeps entries, attributes and listings for a long
time, so every change (a reset, a reload changing modes, a reload
dropping and adding nodes) must reach it at once: each check runs right
after the change, on a tree the kernel has cached.
"""

import contextlib
import errno
import os
import stat
import sys

from ddmtest import RTC_LINE, Mount, expect_errno, read_node, run

NODES = 150  # more than the old limit of 16 per instance


def conf(names, mode="0644"):
    nodes = ",\n".join(f'{{ name = "{n}"; kind = "rtc"; }}' for n in names)
    return f"""
transport = "fuse";
buses = (
	{{ name = "isa0"; mode = "0755";
	  devices = (
		{{ name = "clock"; driver = "ddm-rtc"; io = "sim";
		  ports = [ "0x70-0x71" ]; mode = "{mode}";
		  nodes = ( {nodes},
			{{ name = "nvram0"; kind = "nvram"; mode = "0600"; }} );
		}} );
	}}
);
"""


def names(n):
    return [f"c{i}" for i in range(n)]


@contextlib.contextmanager
def mount(n=NODES, mode="0644"):
    m = Mount(conf=conf(names(n), mode))
    try:
        m.start(wait_for="isa0/c0")
        yield m
    finally:
        m.cleanup()


def cache_all(m, ns):
    """Looks every node up, so the kernel holds its entry and attributes."""
    return {n: os.stat(m.path(f"isa0/{n}")) for n in ns}


def rewrite(m, text):
    with open(m.conf, "w") as f:
        f.write(text)
    m.ctl("reload")


def test_every_node_is_listed_and_answers():
    with mount() as m:
        want = sorted(names(NODES) + ["nvram0"])
        assert sorted(os.listdir(m.path("isa0"))) == want
        for n in names(NODES):
            line = read_node(m.path(f"isa0/{n}"))
            assert RTC_LINE.match(line), (n, line)
        assert os.stat(m.path("isa0/nvram0")).st_size > 0
        # one process serves them all
        pids = {m.driver_pid(f"isa0/{n}") for n in ("c0", "c77", "c149")}
        assert len(pids) == 1, pids


def test_listing_pages_through_every_entry():
    with mount() as m:
        # more entries than one kernel page of a listing holds
        seen = []
        for entry in os.scandir(m.path("isa0")):
            seen.append(entry.name)
            assert entry.is_file(follow_symlinks=False), entry.name
        assert len(seen) == NODES + 1
        assert len(set(seen)) == len(seen)
        # a second listing comes from the kernel's cache: the same
        assert sorted(seen) == sorted(os.listdir(m.path("isa0")))


def test_reset_is_seen_at_once():
    with mount() as m:
        p = m.path("isa0/c5")
        os.chmod(p, 0o600)
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
        m.ctl("reset", "isa0/c5")
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o644


def test_reload_changing_modes_is_seen_at_once():
    with mount() as m:
        before = cache_all(m, names(NODES))
        assert all(stat.S_IMODE(s.st_mode) == 0o644 for s in before.values())
        rewrite(m, conf(names(NODES), mode="0640"))
        after = cache_all(m, names(NODES))
        bad = [n for n, s in after.items() if stat.S_IMODE(s.st_mode) != 0o640]
        assert not bad, f"{len(bad)} nodes keep their old mode: {bad[:5]}"
        # the same nodes, the same inodes: only their attributes changed
        assert all(after[n].st_ino == before[n].st_ino for n in after)


def test_reload_dropping_and_adding_nodes_is_seen_at_once():
    with mount() as m:
        cache_all(m, names(NODES))
        sorted(os.listdir(m.path("isa0")))
        rewrite(m, conf(names(100) + ["extra"]))
        listed = sorted(os.listdir(m.path("isa0")))
        want = sorted(names(100) + ["extra", "nvram0"])
        assert listed == want, (f"gone but listed: {sorted(set(listed) - set(want))[:5]}, "
                                f"new but not listed: {sorted(set(want) - set(listed))}")
        expect_errno(errno.ENOENT, os.stat, m.path("isa0/c120"))
        assert RTC_LINE.match(read_node(m.path("isa0/extra")))
        assert RTC_LINE.match(read_node(m.path("isa0/c99")))


def test_reload_is_seen_in_a_listing_whose_leaves_were_never_looked_up():
    with mount() as m:
        # the kernel holds the listing, but no entry of any leaf
        assert len(os.listdir(m.path("isa0"))) == NODES + 1
        rewrite(m, conf(names(40) + ["late"]))
        listed = sorted(os.listdir(m.path("isa0")))
        assert listed == sorted(names(40) + ["late", "nvram0"]), listed[:5]


if __name__ == "__main__":
    sys.exit(run([
        test_every_node_is_listed_and_answers,
        test_listing_pages_through_every_entry,
        test_reset_is_seen_at_once,
        test_reload_changing_modes_is_seen_at_once,
        test_reload_dropping_and_adding_nodes_is_seen_at_once,
        test_reload_is_seen_in_a_listing_whose_leaves_were_never_looked_up,
    ]))

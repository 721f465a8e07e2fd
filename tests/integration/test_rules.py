"""Host integration: the conf's rules (like FreeBSD's devfs.rules).

A rule gives every node its glob matches a mode, owner, group and ACL
entries, before the node is visible, at start and when reload adds it.  An
explicit chmod of one node wins over the rules and is kept; ddmctl reset
drops it so the rules apply again.
"""

import os
import subprocess
import sys

from ddmtest import DDMCTL, LP, RTC, Mount, conf_text, run

LP_RULE = """
rules = (
	{ path = "isa0/rtc*"; mode = "0600"; },
	{ path = "isa0/lp*"; mode = "0640"; owner = 65533;
	  acl = [ "u:65534:rw-" ]; },
	{ path = "isa0/lp?"; group = 65532; }
);
"""


def getfacl(path):
    r = subprocess.run(["getfacl", "-n", "-c", path], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    return [line.split("#")[0].strip() for line in r.stdout.splitlines()
            if line.strip()]


def attrs(path):
    st = os.stat(path)
    return (st.st_mode & 0o7777, st.st_uid, st.st_gid)


def can_write(uid, path):
    r = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}",
                        "--clear-groups", "--", "sh", "-c",
                        f"printf x > {path}"],
                       capture_output=True, text=True, timeout=20)
    if r.returncode == 0:
        return True
    assert "Permission denied" in r.stderr, r.stderr
    return False


def perms_lines(m):
    try:
        with open(os.path.join(m.state, "perms")) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def test_a_glob_rule_applies_to_a_node_reload_adds():
    with Mount(conf=conf_text(RTC, extra=LP_RULE)) as m:
        # at start, before anyone looked
        assert attrs(m.path("isa0/rtc0")) == (0o600, 0, 0)
        with open(m.conf, "w") as f:
            f.write(conf_text(",".join((RTC, LP)), extra=LP_RULE))
        m.ctl("reload")
        lp = m.path("isa0/lp0")
        # the conf says 0666; the rules 0640 owner 65533, then group 65532
        # from the later rule; the ACL entry widens the mask as setfacl -m
        assert attrs(lp) == (0o660, 65533, 65532)
        assert getfacl(lp) == ["user::rw-", "user:65534:rw-", "group::r--",
                               "mask::rw-", "other::---"]
        assert not any(line.startswith("isa0/lp0 ") for line in perms_lines(m))


def test_an_explicit_chmod_wins_and_reset_brings_the_rule_back():
    m = Mount(conf=conf_text(",".join((RTC, LP)), extra=LP_RULE))
    try:
        m.start()
        lp = m.path("isa0/lp0")
        assert attrs(lp)[0] == 0o660
        os.chmod(lp, 0o604)
        m.ctl("reload")
        assert attrs(lp) == (0o604, 65533, 65532)
        assert m.stop() == 0
        m.start()
        assert attrs(lp) == (0o604, 65533, 65532)
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534",
                            "--clear-groups", "--", DDMCTL,
                            "--state-dir", m.state, "reset", "isa0/lp0"],
                           capture_output=True, text=True, timeout=20)
        assert r.returncode == 4, r  # not permitted
        assert attrs(lp)[0] == 0o604
        assert not can_write(65534, lp)  # the mask (mode 0604) says ---
        m.ctl("reset", "isa0/lp0")
        # no waiting for the attribute cache: reset invalidated it
        assert attrs(lp) == (0o660, 65533, 65532)
        assert can_write(65534, lp)  # the rule's ACL entry, mask rw-
        assert "user:65534:rw-" in getfacl(lp)
        assert not any(line.startswith("isa0/lp0 ") for line in perms_lines(m))
        r = m.ctl("reset", "isa0/nope0", check=False)
        assert r.returncode == 3 and "No node isa0/nope0" in r.stderr, r
        # the rules' ACL is handed over by an upgrade
        m.ctl("upgrade")
        m.wait_running("isa0/lp0")
        assert attrs(lp) == (0o660, 65533, 65532)
        assert "user:65534:rw-" in getfacl(lp)
    finally:
        m.cleanup()


def test_a_reload_that_changes_the_rules_reapplies_them():
    with Mount(conf=conf_text(",".join((RTC, LP)), extra=LP_RULE)) as m:
        lp, rtc = m.path("isa0/lp0"), m.path("isa0/rtc0")
        os.chmod(rtc, 0o640)  # explicit: stays
        with open(m.conf, "w") as f:
            f.write(conf_text(",".join((RTC, LP)), extra="""
rules = ( { path = "isa0/*"; mode = "0604"; } );"""))
        m.ctl("reload")
        assert attrs(lp) == (0o604, 0, 0)
        assert os.listxattr(lp) == []
        assert attrs(rtc)[0] == 0o640


def test_bad_rules_are_refused_with_file_and_line():
    with Mount(conf=conf_text(RTC)) as m:
        for rules, line, words in (
                ('rules = ( { path = "isa0/[lp"; mode = "0600"; } );',
                 3, "is not a glob"),
                ('rules = ( { path = "isa0/*"; } );', 3, "sets nothing"),
                ('rules = (\n { path = "isa0/*";\n acl = [ "u:nosuchuser:rw-" ]; } );',
                 5, "acl entry")):
            with open(m.conf, "w") as f:
                f.write(conf_text(RTC, extra=rules))
            r = m.ctl("reload", check=False)
            assert r.returncode != 0, r
            assert f"{m.conf}:{line}: " in r.stderr and words in r.stderr, \
                r.stderr


if __name__ == "__main__":
    sys.exit(run([
        test_a_glob_rule_applies_to_a_node_reload_adds,
        test_an_explicit_chmod_wins_and_reset_brings_the_rule_back,
        test_a_reload_that_changes_the_rules_reapplies_them,
        test_bad_rules_are_refused_with_file_and_line,
    ]))

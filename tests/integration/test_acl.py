"""Host integration: POSIX ACLs on ddmfs nodes and bus directories.

setfacl and getfacl go through the kernel (FUSE_CAP_POSIX_ACL): it reads
the ACL with getxattr and checks every open against it; ddmfs stores the
ACL with the node's mode in <state_dir>/perms.  Two users stand in for the
granted and the refused one: 65534 (named in the ACLs) and 65533 (not).
"""

import errno
import os
import struct
import subprocess
import sys

from ddmtest import (LP, RTC, RTC_LINE, Mount, conf_text, expect_errno, run,
                     wait_until)

GRANTED = 65534
REFUSED = 65533
RTC_0600 = RTC.replace('mode = "0644"', 'mode = "0600"')
ACCESS = "system.posix_acl_access"


def as_user(uid, *cmd):
    return subprocess.run(
        ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
         "--"] + list(cmd), capture_output=True, text=True, timeout=20)


def can_read(uid, path):
    r = as_user(uid, "cat", path)
    if r.returncode == 0:
        assert RTC_LINE.match(r.stdout.encode()), r.stdout
        return True
    assert "Permission denied" in r.stderr, r.stderr
    return False


def setfacl(*args):
    r = subprocess.run(["setfacl"] + list(args), capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    return r


def getfacl(path, *opts):
    r = subprocess.run(["getfacl", "-n", "-c"] + list(opts) + [path],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    return [line.split("#")[0].strip() for line in r.stdout.splitlines()
            if line.strip()]


def mode(path):
    return os.stat(path).st_mode & 0o7777


def xattr(entries, version=2):
    """An ACL xattr value: (tag, perm, id) entries."""
    return struct.pack("<I", version) + b"".join(
        struct.pack("<HHI", t, p, i) for t, p, i in entries)


def test_setfacl_grants_one_user_and_getfacl_shows_it():
    with Mount(conf=conf_text(RTC_0600)) as m:
        rtc = m.path("isa0/rtc0")
        assert not can_read(GRANTED, rtc)
        setfacl("-m", f"u:{GRANTED}:r", rtc)
        assert getfacl(rtc) == ["user::rw-", f"user:{GRANTED}:r--",
                                "group::---", "mask::r--", "other::---"]
        # the mask is the mode's group triple
        assert mode(rtc) == 0o640
        assert can_read(GRANTED, rtc)
        assert not can_read(REFUSED, rtc)
        assert os.listxattr(rtc) == [ACCESS]
        setfacl("-b", rtc)
        assert getfacl(rtc) == ["user::rw-", "group::---", "other::---"]
        assert os.listxattr(rtc) == []
        assert not can_read(GRANTED, rtc)


def test_chmod_changes_the_mask_and_so_the_grant():
    with Mount(conf=conf_text(RTC_0600)) as m:
        rtc = m.path("isa0/rtc0")
        setfacl("-m", f"u:{GRANTED}:r", rtc)
        os.chmod(rtc, 0o600)
        assert f"user:{GRANTED}:r--" in getfacl(rtc)
        assert "mask::---" in getfacl(rtc)
        assert not can_read(GRANTED, rtc)
        os.chmod(rtc, 0o640)
        assert "mask::r--" in getfacl(rtc)
        assert can_read(GRANTED, rtc)


def test_only_the_owner_or_root_may_change_an_acl():
    with Mount(conf=conf_text(RTC_0600)) as m:
        rtc = m.path("isa0/rtc0")
        r = as_user(REFUSED, "setfacl", "-m", f"u:{REFUSED}:r", rtc)
        assert r.returncode != 0 and "Operation not permitted" in r.stderr, r
        assert getfacl(rtc) == ["user::rw-", "group::---", "other::---"]
        os.chown(rtc, REFUSED, REFUSED)
        r = as_user(REFUSED, "setfacl", "-m", f"u:{GRANTED}:r", rtc)
        assert r.returncode == 0, r.stderr
        assert can_read(GRANTED, rtc)
        r = as_user(GRANTED, "setfacl", "-b", rtc)
        assert r.returncode != 0 and "Operation not permitted" in r.stderr, r
        assert f"user:{GRANTED}:r--" in getfacl(rtc)


def test_a_malformed_acl_is_refused_with_einval_and_changes_nothing():
    with Mount(conf=conf_text(RTC_0600)) as m:
        rtc = m.path("isa0/rtc0")
        setfacl("-m", f"u:{GRANTED}:r", rtc)
        before = getfacl(rtc)
        good = [(0x01, 6, 0xffffffff), (0x04, 0, 0xffffffff),
                (0x20, 0, 0xffffffff)]
        bad = {
            "short": xattr(good)[:-3],
            "bad tag": xattr(good + [(0x40, 4, 7)]),
            "twice": xattr(good[:1] + [(0x02, 4, 7), (0x02, 4, 7)] +
                           good[1:] + [(0x10, 4, 0xffffffff)]),
            "no other": xattr(good[:2]),
            "no mask": xattr(good + [(0x02, 4, 7)]),
        }
        for what, value in bad.items():
            try:
                os.setxattr(rtc, ACCESS, value)
            except OSError as e:
                assert e.errno == errno.EINVAL, (what, e)
            else:
                raise AssertionError(f"{what}: accepted")
        # a wrong version: the kernel's own word for it is EOPNOTSUPP
        expect_errno(errno.EOPNOTSUPP, os.setxattr, rtc, ACCESS,
                     xattr(good, version=3))
        assert getfacl(rtc) == before
        assert mode(rtc) == 0o640
        # other xattrs stay refused
        expect_errno(errno.EPERM, os.setxattr, rtc, "user.x", b"1")
        expect_errno(errno.EOPNOTSUPP, os.getxattr, rtc, "user.x")


def test_an_acl_on_a_bus_directory_is_enforced():
    with Mount(conf=conf_text(RTC)) as m:
        bus = m.path("isa0")
        assert as_user(REFUSED, "ls", bus).returncode == 0
        setfacl("-m", f"u:{REFUSED}:---", bus)
        r = as_user(REFUSED, "ls", bus)
        assert r.returncode != 0 and "Permission denied" in r.stderr, r
        assert as_user(GRANTED, "ls", bus).stdout.split() == ["rtc0"]


def test_acls_survive_a_ddmfs_restart_and_an_upgrade():
    m = Mount(conf=conf_text(RTC_0600))
    try:
        m.start()
        rtc = m.path("isa0/rtc0")
        setfacl("-m", f"u:{GRANTED}:r", rtc)
        setfacl("-d", "-m", f"u:{GRANTED}:rx", m.path("isa0"))
        acl = getfacl(rtc)
        dacl = getfacl(m.path("isa0"), "-d")
        with open(os.path.join(m.state, "perms")) as f:
            text = f.read()
        assert (f"isa0/rtc0 0640 0 0 a=u::rw-,u:{GRANTED}:r--,g::---,"
                "m::r--,o::---\n") in text, text
        assert m.stop() == 0
        m.start()
        assert getfacl(rtc) == acl
        assert getfacl(m.path("isa0"), "-d") == dacl
        assert can_read(GRANTED, rtc) and not can_read(REFUSED, rtc)
        pid = m.proc.pid
        m.ctl("upgrade")
        wait_until(lambda: "upgrade: done" in m.logtext() or
                   m.ctl("status", "isa0/rtc0", check=False).returncode == 0,
                   what="the upgraded ddmfs")
        m.wait_running("isa0/rtc0")
        assert m.proc.pid == pid  # re-exec in place
        assert getfacl(rtc) == acl
        assert getfacl(m.path("isa0"), "-d") == dacl
        assert can_read(GRANTED, rtc) and not can_read(REFUSED, rtc)
    finally:
        m.cleanup()


def test_a_default_acl_is_inherited_by_a_node_reload_adds():
    m = Mount(conf=conf_text(LP))
    try:
        m.start(wait_for="isa0/lp0")
        setfacl("-d", "-m", f"u:{GRANTED}:r", m.path("isa0"))
        with open(m.conf, "w") as f:
            f.write(conf_text(",".join((LP, RTC.replace(
                'mode = "0644"', 'mode = "0640"')))))
        m.ctl("reload")
        m.wait_running("isa0/rtc0")
        rtc = m.path("isa0/rtc0")
        # the default ACL masked by the conf's 0640, as creat(2) does
        assert getfacl(rtc) == ["user::rw-", f"user:{GRANTED}:r--",
                                "group::r-x", "mask::r--", "other::---"]
        assert mode(rtc) == 0o640
        assert can_read(GRANTED, rtc) and not can_read(REFUSED, rtc)
        # a leaf without an entry of its own follows its bus's default
        # ACL at every reload, as it would after a restart: lp0's 0666
        # masked by the default ACL's mask and other entries (r-x)
        lp = m.path("isa0/lp0")
        assert f"user:{GRANTED}:r--" in getfacl(lp)
        assert mode(lp) == 0o644
        # an explicit chmod wins over it
        os.chmod(lp, 0o600)
        m.ctl("reload")
        assert mode(lp) == 0o600
    finally:
        m.cleanup()


if __name__ == "__main__":
    sys.exit(run([
        test_setfacl_grants_one_user_and_getfacl_shows_it,
        test_chmod_changes_the_mask_and_so_the_grant,
        test_only_the_owner_or_root_may_change_an_acl,
        test_a_malformed_acl_is_refused_with_einval_and_changes_nothing,
        test_an_acl_on_a_bus_directory_is_enforced,
        test_acls_survive_a_ddmfs_restart_and_an_upgrade,
        test_a_default_acl_is_inherited_by_a_node_reload_adds,
    ]))

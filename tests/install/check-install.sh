#!/bin/sh
# check-install.sh BUILDDIR: installs BUILDDIR into a fresh DESTDIR and
# checks that every file is in its place (the layout from configure, via
# make print-layout): ddmfs and ddmctl in sbin, the drivers in
# libexec/ddmfs, the conf, the systemd unit, sysusers.d and tmpfiles.d,
# the SDK (library, header, pkg-config file) and the man pages.  Names
# every missing file and exits 1 if any is; with systemd-analyze at hand
# (and working here) also verifies the installed unit.  Prints TAP.
set -u

build=${1:?usage: check-install.sh BUILDDIR}
build=$(cd "$build" && pwd) || exit 2

# Man pages the install must hold (Makefile.am's dist_man*_MANS); extend
# this list as pages are added.
MAN_PAGES="man3/libddmdriver.3 man5/ddmfs.conf.5 man8/ddmfs.8 man8/ddmctl.8"

DRIVERS="ddm-rtc ddm-lp ddm-kbd ddm-edu"

tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }

if make -s -C "$build" install DESTDIR="$dest" >"$tmp/install.log" 2>&1; then
	ok "make install DESTDIR=..."
else
	not_ok "make install DESTDIR=... failed:"
	sed 's/^/# /' "$tmp/install.log"
	echo "1..$n"
	exit 1
fi

layout=$(make -s --no-print-directory -C "$build" print-layout) || {
	echo "Bail out! make print-layout failed"
	exit 1
}
# eval: NAME=DIR lines from our own Makefile, paths only
eval "$layout"

# want DESCRIPTION PATH [TEST]: PATH (under DESTDIR) exists, and passes
# TEST (-x for executables) when given.
want() {
	what=$1 path=$dest$2 t=${3:--e}
	if test "$t" "$path"; then
		ok "$what: $2"
	else
		not_ok "$what: $2 is missing (test $t)"
	fi
}

want "daemon" "$sbindir/ddmfs" -x
want "control tool" "$sbindir/ddmctl" -x
for d in $DRIVERS; do
	want "driver" "$pkglibexecdir/$d" -x
done
want "conf" "$sysconfdir/ddmfs/ddmfs.conf" -f
if grep -q "^driver_path = \"$pkglibexecdir\";" \
    "$dest$sysconfdir/ddmfs/ddmfs.conf" 2>/dev/null; then
	ok "conf: driver_path is $pkglibexecdir"
else
	not_ok "conf: no driver_path = \"$pkglibexecdir\" in $sysconfdir/ddmfs/ddmfs.conf"
fi
want "SDK library" "$libdir/libddmdriver.so" -e
want "SDK library soname" "$libdir/libddmdriver.so.0" -e
want "SDK header" "$includedir/ddm/ddm_driver.h" -f
want "SDK pkg-config file" "$libdir/pkgconfig/libddmdriver.pc" -f
for m in $MAN_PAGES; do
	want "man page" "$mandir/$m" -f
done
if test -n "$systemdsystemunitdir" && test "$systemdsystemunitdir" != no; then
	unit=$systemdsystemunitdir/ddmfs.service
	want "systemd unit" "$unit" -f
	want "sysusers.d" "$sysusersdir/ddmfs.conf" -f
	want "tmpfiles.d" "$tmpfilesdir/ddmfs.conf" -f
	if grep -q "^ExecStart=$sbindir/ddmfs " "$dest$unit" 2>/dev/null &&
	    grep -q "ddmfs.conf$" "$dest$unit"; then
		ok "unit: ExecStart runs $sbindir/ddmfs with the installed conf"
	else
		not_ok "unit: ExecStart is not $sbindir/ddmfs ... $sysconfdir/ddmfs/ddmfs.conf"
	fi
	if grep -q '@[a-z]*@' "$dest$unit"; then
		not_ok "unit: unsubstituted @...@ left in $unit"
	else
		ok "unit: every @...@ substituted"
	fi
	# systemd-analyze verify checks the directives, that the commands
	# exist and that the Documentation= pages open: on a copy whose
	# commands point into DESTDIR (with --root it would miss systemd's
	# own units), with man looking in DESTDIR's man dir.
	if command -v systemd-analyze >/dev/null 2>&1; then
		sed "s|$sbindir/|$dest$sbindir/|g" "$dest$unit" >"$tmp/ddmfs.service"
		if MANPATH=$dest$mandir systemd-analyze verify "$tmp/ddmfs.service" \
		    >"$tmp/verify.log" 2>&1 &&
		    ! grep -q . "$tmp/verify.log"; then
			ok "systemd-analyze verify $unit"
		else
			not_ok "systemd-analyze verify $unit:"
			sed 's/^/# /' "$tmp/verify.log"
		fi
	else
		ok "# SKIP systemd-analyze is not installed"
	fi
else
	ok "# SKIP configured --without-systemdsystemunitdir"
fi

echo "1..$n"
if test $failed -gt 0; then
	echo "check-install: $failed of $n checks failed" >&2
	exit 1
fi
exit 0

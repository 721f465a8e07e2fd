#!/bin/sh
# check-man.sh: every man page renders with no warnings (TAP).
#
# For each page, two test points: `MANWIDTH=80 man -l PAGE` prints nothing
# on stderr (what an admin sees), and `groff -ww -z -man PAGE` (every troff
# warning enabled) prints nothing either.  A failure names the page and
# shows what was printed.
#
# usage: check-man.sh [SRCDIR]   (default: $DDM_SRCDIR, else the tree this
#                                 script is in)

srcdir=${1:-${DDM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}}
pages="man/ddmfs.8 man/ddmctl.8 man/ddmfs.conf.5 man/libddmdriver.3"

n=0
for p in $pages; do
	n=$((n + 2))
done
echo "1..$n"

i=0
# ok/not ok for test point $1 ("what"), given the text printed ($2)
report() {
	i=$((i + 1))
	if [ -z "$2" ]; then
		echo "ok $i - $1"
	else
		echo "not ok $i - $1"
		printf '%s\n' "$2" | sed 's/^/# /'
	fi
}

for p in $pages; do
	f=$srcdir/$p
	if [ ! -f "$f" ]; then
		report "$p renders with man -l" "$f: no such file"
		report "$p has no groff warnings" "$f: no such file"
		continue
	fi
	if command -v man >/dev/null 2>&1; then
		out=$(MANWIDTH=80 man -l "$f" 2>&1 >/dev/null)
	else
		out="man is not installed (Debian: man-db)"
	fi
	report "$p renders with man -l and no message on stderr" "$out"
	if command -v groff >/dev/null 2>&1; then
		out=$(groff -ww -z -man "$f" 2>&1)
	else
		out="groff is not installed (Debian: groff-base)"
	fi
	report "$p has no groff warnings (groff -ww)" "$out"
done

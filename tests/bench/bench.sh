#!/usr/bin/env bash
# bench.sh BUILDDIR [BENCH.PY OPTIONS]: the bench layer (./run bench).
# Builds tests/bench in BUILDDIR and runs bench.py, which mounts bare FUSE
# and ddmfs side by side, boots the QEMU guest for bare CUSE and ddmfs on
# CUSE, measures, prints one table with every figure and ratio, and writes
# bench-results.json and bench-results.png into BUILDDIR (or --out DIR).
# See bench.py for the parts and options (--short, --tree BUSESxNODES,
# --no-guest ...).  Needs root.
set -euo pipefail

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: bench.sh BUILDDIR [--short] [--out DIR] [--tree BUSESxNODES] [--no-host] [--no-tree] [--no-guest]"
build=$(cd "$1" && pwd) || die "no build dir $1"
shift
[ "$(id -u)" -eq 0 ] || die "needs root (FUSE mounts with allow_other, tmpfs)"
[ -x "$build/ddmfs/ddmfs" ] || die "$build/ddmfs/ddmfs is not built"
make -s -C "$build/tests/bench" >/dev/null || die "building tests/bench failed"
exec python3 "$(dirname "${BASH_SOURCE[0]}")/bench.py" "$build" "$@"

#!/usr/bin/env bash
# bench.sh BUILDDIR: the bench layer.  Mounts a bare libfuse server
# (bare_fuse) and ddmfs (a null0 leaf served by ddm-null, plus the sim
# rtc0, lp0 and kbd0) in a temp dir, runs bench_client against them and
# the kernel's /dev/zero, and prints one table and the ratios.  Figures are
# ratios to baselines timed in the same run, never pass/fail thresholds;
# the exit status says only whether the bench could run.  Needs root (FUSE
# mounts with allow_other) and a built tree; takes well under 2 minutes.
#
# The bare CUSE baseline belongs to the guest (the host may lack CUSE):
# there, start a minimal CUSE server (libfuse's example/cuse.c answering
# reads with zeros) and pass its /dev node to bench_client as --bare.
set -euo pipefail

MOUNT_WAIT_S=10   # a file system must be mounted within this, seconds
RUNNING_WAIT_S=10 # each driver must be running within this, seconds
BENCH_LIMIT_S=150 # bench_client is killed after this, seconds

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: bench.sh BUILDDIR"
build=$(cd "$1" && pwd) || die "no build dir $1"
[ "$(id -u)" -eq 0 ] || die "needs root (FUSE mounts with allow_other)"
[ -x "$build/ddmfs/ddmfs" ] || die "$build/ddmfs/ddmfs is not built"
make -s -C "$build/tests/bench" >/dev/null || die "building tests/bench failed"
bench=$build/tests/bench

tmp=$(mktemp -d /tmp/ddmbench.XXXXXX)
chmod 755 "$tmp"
mkdir "$tmp/bare" "$tmp/mnt"
bare_pid='' ddmfs_pid=''

# Stops what this script started and removes the temp dir.
cleanup() {
	local pid
	for pid in $ddmfs_pid $bare_pid; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in $ddmfs_pid $bare_pid; do
		wait "$pid" 2>/dev/null || true
	done
	for m in "$tmp/mnt" "$tmp/bare"; do
		mountpoint -q "$m" && umount -l "$m"
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_mount DIR PID LOG: waits until DIR is a mount point served by PID.
wait_mount() {
	local _
	for _ in $(seq $((MOUNT_WAIT_S * 20))); do
		mountpoint -q "$1" && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.05
	done
	cat "$3" >&2
	die "$1 did not get mounted"
}

# wait_running NODE: waits until ddmctl reports NODE's driver running.
wait_running() {
	local _
	for _ in $(seq $((RUNNING_WAIT_S * 20))); do
		"$build/ddmfs/ddmctl" --state-dir "$tmp/state" status "$1" \
			2>/dev/null | grep -q '^state: running' && return 0
		sleep 0.05
	done
	cat "$tmp/ddmfs.log" >&2
	die "$1 is not running"
}

cat >"$tmp/ddmfs.conf" <<CONF
transport = "fuse";
driver_path = "$bench";
buses = (
	{ name = "isa0"; mode = "0755";
	  devices = (
		{ name = "null0"; driver = "ddm-null"; io = "sim"; mode = "0666"; },
		{ name = "rtc0"; driver = "ddm-rtc"; io = "sim"; mode = "0644";
		  ports = [ "0x70-0x71" ]; },
		{ name = "lp0"; driver = "ddm-lp"; io = "sim"; mode = "0666";
		  ports = [ "0x378-0x37a" ]; },
		{ name = "kbd0"; driver = "ddm-kbd"; io = "sim"; mode = "0644";
		  ports = [ "0x60", "0x64" ]; }
	  );
	}
);
CONF

"$bench/bare_fuse" -f "$tmp/bare" >"$tmp/bare.log" 2>&1 &
bare_pid=$!
wait_mount "$tmp/bare" "$bare_pid" "$tmp/bare.log"

"$build/ddmfs/ddmfs" -f -c "$tmp/ddmfs.conf" --state-dir "$tmp/state" \
	"$tmp/mnt" >"$tmp/ddmfs.log" 2>&1 &
ddmfs_pid=$!
wait_mount "$tmp/mnt" "$ddmfs_pid" "$tmp/ddmfs.log"
for node in null0 rtc0 lp0 kbd0; do
	wait_running "isa0/$node"
done

printf 'ddmfs bench: %s, kernel %s, %s CPUs, transport fuse\n' \
	"$(date -u '+%Y-%m-%d %H:%M:%S UTC')" "$(uname -r)" "$(nproc)"
timeout "$BENCH_LIMIT_S" "$bench/bench_client" \
	--kernel /dev/zero \
	--bare "$tmp/bare/zero" \
	--ddm "$tmp/mnt/isa0/null0" \
	--rtc "$tmp/mnt/isa0/rtc0" \
	--lp "$tmp/mnt/isa0/lp0" --lp-file "$tmp/lp0.file" \
	--kbd "$tmp/mnt/isa0/kbd0" --kbd-fifo "$tmp/state/sim/kbd0.in"

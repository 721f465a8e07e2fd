#!/bin/bash
# guest-bench.sh: the guest side of the bench (tests/bench/bench.py boots
# it with boot.sh): the CUSE transport, which the host lacks.  Starts
# bare_cuse (a minimal libfuse CUSE server, on one thread as libdriver
# serves) as /dev/ddm_bench_bare and ddmfs with transport = "cuse" serving
# ddm-null as null0, then runs bench_client's latency, throughput and cost
# parts on the guest kernel's devices, bare CUSE and ddmfs CUSE, and
# prints each result line on the console behind "DDM-BENCH ".  Notes go
# out as "bench-guest: ...".  Exits 0 only if everything started.
#
# Environment (boot.sh --env): DDM_BUILD, the build tree; DDM_BENCH_OPTS,
# bench_client's budget options, comma-separated; DDM_BENCH_ROUNDS, how
# many rounds of each part (1).
set -uo pipefail

MOUNT_WAIT_S=20   # ddmfs must mount within this, seconds
RUNNING_WAIT_S=20 # null0 must be running within this, seconds
DEV_WAIT_S=10     # the bare CUSE device must appear within this, seconds
RNDGETENTCNT=0x80045200
BARE_NAME=ddm_bench_bare

build=${DDM_BUILD:?DDM_BUILD is not set}
bench=$build/tests/bench
opts=()
IFS=, read -r -a opts <<<"${DDM_BENCH_OPTS:-}"
work=/tmp/ddm-bench
mkdir -p "$work/mnt"
bare_pid='' ddmfs_pid=''

note() { echo "bench-guest: $*"; }
emit() { sed -u "s/^/DDM-BENCH /"; }

# shellcheck disable=SC2317 # called from the trap
cleanup() {
	local p
	for p in $ddmfs_pid $bare_pid; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $ddmfs_pid $bare_pid; do
		wait "$p" 2>/dev/null
	done
	mountpoint -q "$work/mnt" && umount -l "$work/mnt"
}
trap cleanup EXIT

# wait_for SECS CMD...: runs CMD every 20 ms until it succeeds.
wait_for() {
	local n=$(($1 * 50))
	shift
	while ! "$@" 2>/dev/null; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.02
	done
}

# shellcheck disable=SC2317 # called through wait_for
running() {
	"$build/ddmfs/ddmctl" --state-dir "$work/state" status isa0/null0 |
		grep -q '^state: running'
}

echo "{\"kind\": \"guest\", \"target\": \"-\", \"kernel\": \"$(uname -r)\"," \
	"\"cpus\": $(nproc), \"cuse\": $([ -e /dev/cuse ] && echo true || echo false)}" | emit

"$bench/bare_cuse" --name=$BARE_NAME -f -s >"$work/bare.log" 2>&1 &
bare_pid=$!
if ! wait_for $DEV_WAIT_S test -c /dev/$BARE_NAME; then
	note "bare_cuse did not make /dev/$BARE_NAME: $(tail -n5 "$work/bare.log")"
	exit 1
fi
chmod 0666 /dev/$BARE_NAME

cat >"$work/ddmfs.conf" <<CONF
transport = "cuse";
driver_path = "$bench";
buses = (
	{ name = "isa0"; mode = "0755";
	  devices = (
		{ name = "null0"; driver = "ddm-null"; io = "sim"; mode = "0666"; }
	  );
	}
);
CONF
"$build/ddmfs/ddmfs" -f -c "$work/ddmfs.conf" --state-dir "$work/state" \
	"$work/mnt" >"$work/ddmfs.log" 2>&1 &
ddmfs_pid=$!
if ! wait_for $MOUNT_WAIT_S mountpoint -q "$work/mnt" ||
	! wait_for $RUNNING_WAIT_S running; then
	note "ddmfs (cuse) did not come up: $(tail -n5 "$work/ddmfs.log")"
	exit 1
fi
driver_pid=$("$build/ddmfs/ddmctl" --state-dir "$work/state" status \
	isa0/null0 | sed -n 's/^pid: //p')
leaf=$work/mnt/isa0/null0
note "leaf $(stat -c '%F %t:%T' "$leaf"), driver pid $driver_pid"

client() {
	"$bench/bench_client" "${opts[@]}" "$@" | emit
}
target() {
	case $1 in
	guest-kernel)
		client --target guest-kernel --part "$2" --open /dev/zero \
			--read /dev/zero --write /dev/null --ioctl /dev/urandom \
			--ioctl-cmd $RNDGETENTCNT --poll pipe
		;;
	bare-cuse)
		client --target bare-cuse --part "$2" --path /dev/$BARE_NAME \
			--pid "bare_cuse=$bare_pid"
		;;
	ddm-cuse)
		client --target ddm-cuse --part "$2" --path "$leaf" \
			--pid "ddmfs=$ddmfs_pid" --pid "ddm-null=$driver_pid"
		;;
	esac
}
# each part in rounds, the targets in turn (A B C, C B A, ...), as on the
# host; bench_report merges the rounds
for part in latency throughput cost; do
	for ((r = 0; r < ${DDM_BENCH_ROUNDS:-1}; r++)); do
		order="guest-kernel bare-cuse ddm-cuse"
		[ $((r % 2)) -eq 1 ] && order="ddm-cuse bare-cuse guest-kernel"
		for t in $order; do
			target "$t" "$part"
		done
	done
done
exit 0

#!/bin/bash
# cuse-libdriver.sh: guest-side test of libdriver's CUSE transport (run it
# through boot.sh).  Starts the real ddm-rtc and ddm-kbd drivers on the sim
# backend as ddmfs will (cuse_spawn.py: socketpair, /dev/cuse opened as
# root, driver as uid 65534 with --ddm-fd/--cuse-fd/--cuse-dev), then uses
# their /dev/ddm/test0/* devices.  Prints TAP; exits 0 only if all pass.
#
# The drivers come from $DDM_BUILD (default: the checkout's build-cuse).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${DDM_BUILD:-$repo/build-cuse}
rtc_bin=$build/drivers/rtc/ddm-rtc
kbd_bin=$build/drivers/kbd/ddm-kbd
spawn=$here/cuse_spawn.py
client=$here/cuse_client.py
work=/tmp/cuse-libdriver
state=$work/state
# How long a driver may take to say HELLO, in seconds.
HELLO_TIMEOUT_SECS=10
# Bound on any single client command, in seconds.
CMD_TIMEOUT_SECS=10
DRIVER_UID=65534

checks=0
failed=0

# ok DESCRIPTION COMMAND...: one TAP line for COMMAND's success.
ok() {
	local what=$1
	shift
	checks=$((checks + 1))
	if "$@" >"$work/out" 2>&1; then
		echo "ok $checks - $what"
	else
		echo "not ok $checks - $what"
		sed 's/^/# /' "$work/out"
		failed=$((failed + 1))
	fi
}

# start NAME BIN NODE DEV [ARGS...]: runs BIN ARGS for NODE over CUSE in the
# background; sets ${NAME}_pid (the helper), ${NAME}_dev (MAJ:MIN),
# ${NAME}_drv (driver).  Drivers start only with their ports granted
# (--ports, as ddmfs passes the conf's).
start() {
	local name=$1 bin=$2 node=$3 dev=$4 ready=$work/$1.ready i
	shift 4
	rm -f "$ready"
	python3 "$spawn" --node="$node" --ready="$ready" --dev="$dev" \
		--user=$DRIVER_UID --hello-timeout=$HELLO_TIMEOUT_SECS \
		--sim-dir="$state/sim" -- "$bin" --io=sim "$@" \
		2>>"$work/$name.log" &
	printf -v "${name}_pid" %s $!
	for ((i = 0; i < HELLO_TIMEOUT_SECS * 10; i++)); do
		if [ -s "$ready" ]; then
			read -r "${name}_dev" "${name}_drv" <"$ready"
			return 0
		fi
		kill -0 $! 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# start_fails NAME BIN NODE DEV [ARGS...]: the driver must exit 1 without
# HELLO.
start_fails() {
	if start "$@"; then
		stop "$(eval echo "\${$1_pid}")"
		return 1
	fi
	cat "$work/$1.log"
	grep -q "before HELLO (status 1)" "$work/$1.log"
}

# stop PID: the helper stops the driver as ddmfs does (SIGTERM, then the
# hangup); true if the driver exited 0.
stop() {
	[ "${1:-0}" -gt 0 ] || return 1 # never kill 0: our whole group
	kill -TERM "$1" 2>/dev/null
	wait "$1"
}

# crash NAME: the helper dies as a crashed ddmfs would (hangup only); true
# once it says so and the driver is still alive.
crash() {
	local helper drv ready=$work/$1.ready i
	helper=$(eval echo "\${$1_pid}")
	drv=$(eval echo "\${$1_drv}")
	kill -USR1 "$helper" || return 1
	for ((i = 0; i < CMD_TIMEOUT_SECS * 10; i++)); do
		[ -e "$ready.orphan" ] && break
		sleep 0.1
	done
	[ -e "$ready.orphan" ] && sleep 0.3 && kill -0 "$drv"
}

# adopt NAME: the helper adopts the orphan as a new ddmfs would; true if
# the driver answered DDM_ADOPT with a HELLO for CUSE (arg1 1).
adopt() {
	local helper ready=$work/$1.ready i
	helper=$(eval echo "\${$1_pid}")
	kill -USR2 "$helper" || return 1
	for ((i = 0; i < CMD_TIMEOUT_SECS * 10; i++)); do
		[ -s "$ready.adopted" ] && break
		sleep 0.1
	done
	echo "HELLO arg1: $(cat "$ready.adopted" 2>/dev/null)"
	[ "$(cat "$ready.adopted" 2>/dev/null)" = 1 ]
}

# read_held FD_FILE: reads from the rtc fd a background holder opened
# before the crash; true for one rtc line.
exec_hold_rtc() {
	exec 7<"$1"
}
read_held() {
	local line
	line=$(timeout $CMD_TIMEOUT_SECS head -n 1 <&7) || return 1
	echo "got: $line"
	[[ $line =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}:[0-9]{2}$ ]]
}

# is_chr_with PATH MAJ:MIN: PATH is a char device with those numbers.
is_chr_with() {
	local t
	[ -c "$1" ] || return 1
	t=$(stat -c '%t %T' "$1") || return 1
	set -- "$2" $t
	[ "$1" = "$((16#$2)):$((16#$3))" ] || {
		echo "$1 is not $((16#$2)):$((16#$3))"
		return 1
	}
}

sysfs_dev() {
	[ "$(cat "/sys/class/cuse/$1/dev")" = "$2" ]
}

mode_is() {
	[ "$(stat -c %a "$1")" = "$2" ]
}

# cat_one_line DEV: cat gives exactly one rtc line, then EOF.
cat_one_line() {
	local out
	out=$(timeout $CMD_TIMEOUT_SECS cat "$1") || return 1
	echo "got: $out"
	[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
		[[ $out =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}:[0-9]{2}$ ]]
}

# set_and_read DEV: a written time reads back (within a few seconds).
set_and_read() {
	local out
	echo "2031-02-03 04:05:06" >"$1" || return 1
	out=$(timeout $CMD_TIMEOUT_SECS cat "$1") || return 1
	echo "got: $out"
	[[ $out =~ ^2031-02-03\ 04:05:0[6-9]$ ]]
}

bad_write_fails() {
	! echo "not a time" >"$1"
}

rd_time_matches() {
	local out
	out=$(timeout $CMD_TIMEOUT_SECS python3 "$client" rtc-rd-time "$1") ||
		return 1
	echo "got: $out"
	[[ $out =~ ^2031-02-03\ 04:0[5-6]:[0-9]{2}$ ]]
}

client_says() {
	local want=$1 out
	shift
	out=$(timeout $CMD_TIMEOUT_SECS python3 "$client" "$@") || return 1
	echo "got: $out"
	[[ $out =~ $want ]]
}

# intr_read DEV: a blocked read interrupted by a signal returns EINTR at
# once.  If the driver ignores the interrupt the read cannot end; the driver
# is then killed (so the kernel aborts the read) and the check fails.
intr_read() {
	local pid i out
	python3 "$client" intr-read "$1" >"$work/intr.out" 2>&1 &
	pid=$!
	for ((i = 0; i < CMD_TIMEOUT_SECS * 10; i++)); do
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 $pid 2>/dev/null; then
		echo "read still blocked after ${CMD_TIMEOUT_SECS}s: killing the driver"
		[ "${k1_drv:-0}" -gt 0 ] && kill -KILL "$k1_drv"
	fi
	wait $pid
	out=$(cat "$work/intr.out")
	echo "got: $out"
	[[ $out =~ ^EINTR\ 0\.[5-9]$ ]]
}

gone() {
	[ ! -e "$1" ]
}

same() {
	echo "$1 vs $2"
	[ "$1" = "$2" ]
}

# term_driver DRIVER HELPER: SIGTERM to the driver itself; true if it
# exited 0 (the helper passes the status on).
term_driver() {
	[ "${1:-0}" -gt 0 ] || return 1 # never kill 0: our whole group
	kill -TERM "$1" || return 1
	wait "$2"
}

rm -rf "$work"
mkdir -p "$state/sim" && chmod 0777 "$work" "$state" "$state/sim"
rtc=/dev/ddm/test0/rtc0
kbd=/dev/ddm/test0/kbd0
rtc_ports=--ports=0x70-0x71
kbd_ports=--ports=0x60,0x64

echo "1..30"
ok "ddm-rtc says HELLO (arg1=1) over CUSE as uid $DRIVER_UID" \
	start r1 "$rtc_bin" test0/rtc0 0:0 $rtc_ports
ok "$rtc is a char device with the numbers in sysfs" \
	is_chr_with $rtc "${r1_dev:-none}"
ok "sysfs names the device ddm!test0!rtc0" \
	sysfs_dev 'ddm!test0!rtc0' "${r1_dev:-none}"
ok "$rtc is root-only (0600)" mode_is $rtc 600
ok "cat $rtc gives one rtc line, then EOF" cat_one_line $rtc
ok "a written time reads back" set_and_read $rtc
ok "RTC_RD_TIME gives the written time" rd_time_matches $rtc
ok "a malformed time is refused" bad_write_fails $rtc
ok "an unknown value ioctl gives ENOTTY" \
	timeout $CMD_TIMEOUT_SECS python3 "$client" enotty $rtc 1234
ok "an unknown _IOR ioctl gives ENOTTY" \
	timeout $CMD_TIMEOUT_SECS python3 "$client" enotty $rtc 8004707f
ok "SIGTERM to the driver exits it with 0" \
	term_driver "${r1_drv:-0}" "${r1_pid:-0}"
ok "... and removes the device" gone $rtc

ok "a restart with --cuse-dev=${r1_dev:-none} says HELLO" \
	start r2 "$rtc_bin" test0/rtc0 "${r1_dev:-0:0}" $rtc_ports
ok "... and gets the same numbers" same "${r2_dev:-}" "${r1_dev:-}"
ok "... and the same device node" is_chr_with $rtc "${r1_dev:-none}"
ok "a second driver asking for those numbers fails without HELLO" \
	start_fails r3 "$rtc_bin" test0/rtc1 "${r1_dev:-0:0}" $rtc_ports
exec_hold_rtc $rtc
ok "hangup of the ddm socket (ddmfs died) leaves the driver waiting" \
	crash r2
ok "... its device serves a new open" cat_one_line $rtc
ok "... and a file opened before the hangup" read_held
ok "DDM_ADOPT through pidfd_getfd gets a HELLO for CUSE" adopt r2
ok "... and the device still serves" cat_one_line $rtc
exec 7<&-
ok "stopping it as ddmfs does exits it with 0" stop "${r2_pid:-0}"
ok "... and removes the device" gone $rtc

r1_dev=${r1_dev:-240:0} # r1 may have failed: go on with some numbers
kbd_ask=${r1_dev%%:*}:$((${r1_dev#*:} + 5))
ok "ddm-kbd says HELLO over CUSE" \
	start k1 "$kbd_bin" test0/kbd0 "$kbd_ask" $kbd_ports
ok "... with exactly the numbers it asked for ($kbd_ask)" \
	is_chr_with $kbd "$kbd_ask"
ok "KDGKBMODE gives K_UNICODE, K_RAW after KDSKBMODE K_RAW" \
	client_says '^3 0$' kbd-mode $kbd
ok "a key wakes poll: 'a' on a text handle, 1e9e on a raw one" \
	client_says '^a 1e9e$' kbd-key $kbd "$state/sim/kbd0.in"
ok "a blocked read interrupted by a signal gives EINTR at once" \
	intr_read $kbd
ok "after the interrupt the driver still serves keys" \
	client_says '^a 1e9e$' kbd-key $kbd "$state/sim/kbd0.in"
ok "stopping ddm-kbd as ddmfs does exits it with 0" stop "${k1_pid:-0}"

for f in "$work"/*.log; do
	[ -s "$f" ] && sed "s|^|# $(basename "$f"): |" "$f"
done
[ "$failed" = 0 ]

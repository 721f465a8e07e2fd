#!/bin/bash
# smoke.sh: guest-side check of the QEMU test environment (run it through
# boot.sh). Prints TAP; exits 0 only if every check passes.
set -uo pipefail

checks=0
failed=0

# ok DESCRIPTION COMMAND...: one TAP line for COMMAND's success.
ok() {
	local what=$1
	shift
	checks=$((checks + 1))
	if "$@" >/dev/null 2>&1; then
		echo "ok $checks - $what"
	else
		echo "not ok $checks - $what"
		failed=$((failed + 1))
	fi
}

chr() {
	[ -c "$1" ]
}

# The RTC date in /sys, when boot.sh pinned it with --rtc-base, must match.
rtc_date() {
	local d
	d=$(cat /sys/class/rtc/rtc0/date) || return 1
	[[ $d =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] || return 1
	[ -z "${DDM_RTC_DATE:-}" ] || [ "$d" = "$DDM_RTC_DATE" ]
}

writable() {
	local f=$1/ddm-smoke.$$
	echo x >"$f" && [ "$(cat "$f")" = x ] && rm -f "$f"
}

read_only_root() {
	! touch /ddm-smoke-ro 2>/dev/null
}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

echo "1..12"
ok "running in the guest (DDM_GUEST=1)" test "${DDM_GUEST:-}" = 1
ok "cuse present (/dev/cuse)" chr /dev/cuse
ok "fuse present (/dev/fuse)" chr /dev/fuse
ok "cuse module loaded" grep -q '^cuse ' /proc/modules
ok "host checkout readable ($repo/configure.ac)" test -r "$repo/configure.ac"
ok "9p host root mounted read-only" read_only_root
ok "rtc0 date readable (equal to \$DDM_RTC_DATE if set)" rtc_date
ok "hwclock reads the RTC" hwclock -r
ok "/tmp writable" writable /tmp
ok "/var/lib/ddmfs writable" writable /var/lib/ddmfs
ok "bash and python3 from the host run" python3 -c 'import fcntl'
ok "i8042 left to user space (no serio0)" test ! -e /sys/bus/serio/devices/serio0
[ "$failed" = 0 ]

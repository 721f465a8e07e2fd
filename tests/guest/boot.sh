#!/bin/bash
# boot.sh: run one script inside a throwaway QEMU (TCG) guest whose root is
# the host's root, read-only over 9p, and exit with the script's status.
#
# Usage: tests/guest/boot.sh [options] [--] SCRIPT [ARGS...]
#   --rtc-base=ISO     pin the guest RTC (-rtc base=2026-11-21T12:34:56)
#   --parallel=FILE    parallel port output goes to FILE; repeatable: the
#                      first is LPT1 (0x378), the second LPT2 (0x278)
#   --qmp=SOCK         QMP server on the unix socket SOCK (see qmp.py)
#   --device=DEV       extra -device DEV (e.g. edu), repeatable
#   --timeout=SECS     kill QEMU and fail after SECS (default 300)
#   --log=FILE         write the console to FILE instead of stdout
#   --env=NAME=VALUE   export NAME=VALUE to SCRIPT, repeatable
#   --append=ARGS      extra kernel command line arguments
#   --smp=N --mem=MB   guest CPUs (default 1) and memory (default 1024)
#   --pci              the PCI machine: q35 with QEMU's intel-iommu (interrupt
#                      remapping; intel_iommu=on), an edu device at 00:04.0,
#                      a PCIe root port rp1 to hotplug into (its function
#                      is 01:00.0) and the VFIO modules loaded by /init;
#                      without it the machine is QEMU's default (i440fx)
#   --qemu-arg=ARG     one more raw QEMU argument, repeatable
#   --interactive      the console is this terminal, both ways: SCRIPT runs
#                      with the serial line as its terminal (./run vm); no
#                      timeout, exit status is QEMU's (Ctrl-A x kills it)
# SCRIPT runs with bash as root in the guest, in the current directory (or /
# if that is hidden), with stdin from /dev/null; /tmp, /run, /mnt are empty
# tmpfs there, /var/lib is writable (tmpfs overlay), all else is the host's,
# read-only.
# So SCRIPT and anything it needs must live outside /tmp, /run and /mnt,
# or inside this checkout, which the guest keeps visible wherever it is.
#
# Exit status: SCRIPT's status taken from the guest's DDM-GUEST-EXIT marker;
# 124 on timeout; 125 when the guest ended without the marker (init error,
# panic, crash) or boot.sh itself could not start it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache="$here/cache"

# Kernel command line limit on x86, in bytes (COMMAND_LINE_SIZE).
CMDLINE_MAX_BYTES=2048
# Grace after SIGTERM before timeout(1) sends SIGKILL to QEMU, in seconds.
KILL_GRACE_SECS=5

rtc_base=
parallels=()
qmp=
log=
append=
timeout_secs=300
smp=1
mem=1024
devices=()
envs=()
qemu_args=()
interactive=0
pci=0

die() {
	echo "boot.sh: $*" >&2
	exit 125
}

usage() {
	sed -n '4,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2
	exit 125
}

# Kernel argument NAME=VALUE, or NAME64=base64(VALUE) when VALUE has
# characters the kernel or the guest's word splitting would mangle.
karg() {
	if [[ $2 =~ ^[A-Za-z0-9_./:,@+=%-]*$ ]]; then
		printf ' %s=%s' "$1" "$2"
	else
		printf ' %s64=%s' "$1" "$(printf '%s' "$2" | base64 -w0)"
	fi
}

# True when PATH is hidden in the guest by one of its tmpfs mounts.
hidden() {
	case $1/ in
	/tmp/* | /run/* | /mnt/*) return 0 ;;
	esac
	return 1
}

while [ $# -gt 0 ]; do
	case $1 in
	--rtc-base=*) rtc_base=${1#*=} ;;
	--parallel=*) parallels+=("${1#*=}") ;;
	--qmp=*) qmp=${1#*=} ;;
	--device=*) devices+=("${1#*=}") ;;
	--timeout=*) timeout_secs=${1#*=} ;;
	--log=*) log=${1#*=} ;;
	--env=*) envs+=("${1#*=}") ;;
	--append=*) append=${1#*=} ;;
	--smp=*) smp=${1#*=} ;;
	--mem=*) mem=${1#*=} ;;
	--qemu-arg=*) qemu_args+=("${1#*=}") ;;
	--interactive) interactive=1 ;;
	--pci) pci=1 ;;
	-h | --help) usage ;;
	--) shift && break ;;
	-*) echo "boot.sh: unknown option $1" >&2 && usage ;;
	*) break ;;
	esac
	shift
done
[ $# -ge 1 ] || usage
[[ $timeout_secs =~ ^[1-9][0-9]*$ ]] || die "--timeout wants seconds, not '$timeout_secs'"

script=$(realpath -e -- "$1" 2>/dev/null) || die "no such script: $1"
shift
# A checkout under /tmp (a CI clone, say) stays visible in the guest.
top=$(realpath -e -- "$here/../..")
keep=
hidden "$top" && keep=$top
# True when PATH is hidden in the guest and not inside the kept checkout.
lost() {
	hidden "$1" && { [ -z "$keep" ] || [ "${1#"$keep"/}" = "$1" ]; }
}
lost "$script" && die "$script is under a directory the guest hides with tmpfs"
cwd=$PWD
lost "$cwd" && [ "$cwd" != "$keep" ] && cwd=/

command -v qemu-system-x86_64 >/dev/null ||
	die "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
"$here/mkinitramfs.sh" >/dev/null || die "building the initramfs failed"
# shellcheck source=/dev/null
. "$cache/kernel.env"

# edd=off skips a BIOS disk probe that costs about 0.6 s under TCG.
cmdline="console=ttyS0 quiet initcall_blacklist=i8042_init panic=-1 edd=off"
cmdline+="$(karg ddm.test "$script")$(karg ddm.cwd "$cwd")"
[ -n "$keep" ] && cmdline+=$(karg ddm.keep "$keep")
for a in "$@"; do
	cmdline+=$(karg ddm.arg "$a")
done
for e in "${envs[@]}"; do
	[[ $e =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "--env wants NAME=VALUE, not '$e'"
	cmdline+=$(karg ddm.env "$e")
done
[ "$pci" = 1 ] && cmdline+=" intel_iommu=on ddm.vfio=1"
[ -n "$append" ] && cmdline+=" $append"
[ "$interactive" = 1 ] && cmdline+=" ddm.shell=1"
[ ${#cmdline} -lt $CMDLINE_MAX_BYTES ] ||
	die "kernel command line too long (${#cmdline} bytes); pass less via ARGS/--env"

# shellcheck disable=SC2054 # the commas belong to -virtfs
qemu=(qemu-system-x86_64 -accel tcg -m "$mem" -smp "$smp" -nographic
	-no-reboot -nic none
	-kernel "$VMLINUZ" -initrd "$cache/initramfs.cpio.gz" -append "$cmdline"
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap)
if [ "$pci" = 1 ]; then
	# The IOMMU must come before the devices it translates for.
	# shellcheck disable=SC2054 # the commas belong to -machine and -device
	qemu+=(-machine q35,kernel-irqchip=split
		-device intel-iommu,intremap=on,caching-mode=on
		-device edu,addr=04.0
		-device pcie-root-port,id=rp1,slot=1,chassis=1,addr=05.0)
fi
[ -n "$rtc_base" ] && qemu+=(-rtc "base=$rtc_base")
for p in "${parallels[@]}"; do
	qemu+=(-parallel "file:$p")
done
[ -n "$qmp" ] && qemu+=(-qmp "unix:$qmp,server=on,wait=off")
for d in "${devices[@]}"; do
	qemu+=(-device "$d")
done
qemu+=("${qemu_args[@]}")

if [ "$interactive" = 1 ]; then
	exec "${qemu[@]}"
fi

# The console always lands in a file so the marker can be parsed; without
# --log that file is temporary and is also streamed to stdout.
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/boot.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
out=${log:-$tmp/console}

# QEMU under timeout(1), which sits in its own process group: the pid is
# kept so a signal to boot.sh can stop QEMU too.
run_qemu() {
	timeout -k "$KILL_GRACE_SECS" "$timeout_secs" "${qemu[@]}" </dev/null 2>&1 &
	echo "$!" >"$tmp/pid"
	local st=0
	wait "$!" || st=$?
	echo "$st" >"$tmp/status"
}

# shellcheck disable=SC2317 # called from the trap
stop_qemu() {
	interrupted=1
	[ -s "$tmp/pid" ] && kill -TERM "$(cat "$tmp/pid")" 2>/dev/null
}

# Drop the CRs of the serial line and the terminal resets SeaBIOS sends.
scrub=$'s/\r$//; s/\x1bc//g; s/\x1b\\[[?0-9;]*[A-Za-z]//g'
start=$(date +%s.%N)
interrupted=0
if [ -n "$log" ]; then
	run_qemu | sed -u "$scrub" >"$out" &
else
	run_qemu | sed -u "$scrub" | tee -p "$out" &
fi
pipe=$!
trap stop_qemu INT TERM HUP
# wait returns early when a trapped signal arrives; wait on until done.
while kill -0 "$pipe" 2>/dev/null; do
	wait "$pipe" || true
done
trap - INT TERM HUP
qemu_status=$(cat "$tmp/status" 2>/dev/null || echo unknown)
if [ "$interrupted" = 1 ]; then
	echo "boot.sh: interrupted; QEMU stopped" >&2
	exit 130
fi
secs=$(echo "$start $(date +%s.%N)" | awk '{ printf "%.1f", $2 - $1 }')

marker=$(grep -a -o 'DDM-GUEST-EXIT=[0-9]*' "$out" | tail -n1 || true)
if [ -n "$marker" ]; then
	status=${marker#DDM-GUEST-EXIT=}
	up=$(grep -a -o 'DDM-GUEST-UPTIME=[0-9.]*' "$out" | tail -n1 || true)
	echo "boot.sh: $(basename "$script") exited $status in the guest" \
		"(guest uptime ${up#*=}s, wall ${secs}s)" >&2
	exit "$status"
fi

grep -a -E 'DDM-GUEST-ERROR|Kernel panic|BUG:|Oops' "$out" | head -n5 >&2 || true
if [ "$qemu_status" = 124 ] || [ "$qemu_status" = 137 ]; then
	echo "boot.sh: FAIL: timed out after ${timeout_secs}s without a DDM-GUEST-EXIT marker" >&2
	exit 124
fi
echo "boot.sh: FAIL: guest ended without a DDM-GUEST-EXIT marker" \
	"(qemu status $qemu_status, ${secs}s; see the console output)" >&2
exit 125

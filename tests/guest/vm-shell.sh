#!/bin/bash
# vm-shell.sh: the guest side of `./run vm` (boot.sh --interactive runs it
# with the serial console as its terminal).  Mounts ddmfs on /ddm from the
# pio conf, so the drivers drive QEMU's RTC, parallel port and i8042, then
# gives the user an interactive shell; when the shell exits, ddmfs is
# stopped and the guest powers off.
#
# Environment (from ./run vm through boot.sh --env):
#   DDM_BUILD   the build tree (ddmfs/ddmfs and the drivers)
#   DDM_CONF    the conf (conf/ddmfs-pio.conf)
#   DDM_TERM, DDM_ROWS, DDM_COLS   the user's terminal type and size
set -u

mnt=/ddm
state=/var/lib/ddmfs
log=/tmp/ddmfs.log
# How long ddmfs may take to mount, in tenths of a second.
MOUNT_TIMEOUT_DS=200

: "${DDM_BUILD:?set by ./run vm}" "${DDM_CONF:?set by ./run vm}"
export TERM=${DDM_TERM:-vt100}
[ -n "${DDM_ROWS:-}" ] && [ -n "${DDM_COLS:-}" ] &&
	stty rows "$DDM_ROWS" cols "$DDM_COLS" 2>/dev/null
export PATH=$DDM_BUILD/ddmfs:$PATH
export PS1='ddm-guest:\w# '

mkdir -p "$state"
ddmfs -f -c "$DDM_CONF" --state-dir "$state" "$mnt" >"$log" 2>&1 &
pid=$!
for ((i = 0; i < MOUNT_TIMEOUT_DS; i++)); do
	mountpoint -q "$mnt" && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
done
if mountpoint -q "$mnt"; then
	sleep 0.3 # let the drivers say hello
	ddmctl --state-dir "$state" list
	ls -l "$mnt/isa0"
else
	echo "vm-shell: ddmfs did not mount $mnt; its log:"
	cat "$log"
fi
lp_out=${DDM_LP_OUT:-"QEMU's -parallel file"}
cat <<EOT

ddmfs is mounted on $mnt (conf $DDM_CONF, drivers on pio).  Try:
  cat $mnt/isa0/rtc0;  hwclock --show --noadjfile --utc -f $mnt/isa0/rtc0
  printf 'hello\n' > $mnt/isa0/lp0   (lands in $lp_out)
  cat $mnt/isa0/kbd0 &   then type into QEMU's i8042 from its monitor:
      Ctrl-A c, "sendkey h", Ctrl-A c  (the serial line is not the i8042)
  ddmctl --state-dir $state status isa0/rtc0
The root is the host's, read-only; /tmp is writable.  Its log: $log.
Exit the shell (Ctrl-D) to power off; Ctrl-A x kills QEMU.

EOT
cd /tmp || exit 1
bash --norc -i
status=$?
kill -TERM $pid 2>/dev/null && wait $pid
exit $status

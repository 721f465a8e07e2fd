#!/bin/sh
# shellcheck shell=sh
# guest-init.sh: /init of the QEMU test guest (busybox sh, copied into the
# initramfs by mkinitramfs.sh). Loads the modules, mounts the host root over
# 9p at /host, runs the test named on the kernel command line inside a chroot
# there, prints "DDM-GUEST-EXIT=<status>" on the console and powers off.
#
# Kernel command line (a NAME64=... form carries base64 of the value, for
# values with spaces or odd characters; boot.sh picks the form):
#   ddm.test=PATH       script to run with bash inside /host (required)
#   ddm.arg=VALUE       one argument for it, repeatable, kept in order
#   ddm.cwd=DIR         working directory for the script (default /)
#   ddm.env=NAME=VALUE  exported to the script, repeatable
#   ddm.keep=DIR        a host directory under /tmp, /run or /mnt (a
#                       checkout there) that stays visible in the guest
#                       through the tmpfs put on those
#   ddm.vfio=1          load the VFIO modules too (the PCI machine)
#   ddm.shell=1         interactive: the script gets the serial console
#                       (ttyS0) as stdin/stdout/stderr and controlling
#                       terminal, instead of stdin from /dev/null
# Any init failure prints "DDM-GUEST-ERROR: ..." and powers off without the
# exit marker, so the host side reports it as a failure.

PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH

# Modules in dependency order (see GUEST.md); each must load.
MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev
virtio_pci 9pnet 9pnet_virtio netfs fscache 9p fuse cuse uio uio_pci_generic"

fail() {
	echo "DDM-GUEST-ERROR: $*"
	poweroff -f
	exit 1
}

b64() {
	printf '%s' "$1" | base64 -d
}

mount -t proc proc /proc || fail "mount /proc"
mount -t sysfs sysfs /sys || fail "mount /sys"
mount -t devtmpfs devtmpfs /dev || fail "mount /dev"
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts ||
	fail "mount /dev/pts"
mount -t tmpfs -o mode=1777 tmpfs /dev/shm || fail "mount /dev/shm"

for m in $MODULES; do
	insmod "/lib/modules/$m.ko" || fail "insmod $m failed"
done
# VFIO, in dependency order (see GUEST.md), on the PCI machine only.
VFIO_MODULES="irqbypass vfio vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci"
if grep -qw ddm.vfio=1 /proc/cmdline; then
	for m in $VFIO_MODULES; do
		insmod "/lib/modules/$m.ko" || fail "insmod $m failed"
	done
fi
# Optional: lets /var/lib be writable (see below).
insmod /lib/modules/overlay.ko 2>/dev/null

mkdir -p /host
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 hostroot /host ||
	fail "mount of the host root over 9p failed"
for d in proc sys dev dev/pts dev/shm; do
	mount -o bind "/$d" "/host/$d" || fail "bind /$d into /host"
done
# ddm.keep: a checkout under /tmp (say) must survive the tmpfs put on
# /tmp, so it is bound aside first and back after.
keep=
for w in $(cat /proc/cmdline); do
	case $w in
	ddm.keep=*) keep=${w#*=} ;;
	ddm.keep64=*) keep=$(b64 "${w#*=}") ;;
	esac
done
if [ -n "$keep" ]; then
	mkdir -p /keep
	mount -o bind "/host$keep" /keep || fail "bind $keep aside"
fi
for d in tmp run mnt; do
	mount -t tmpfs -o mode=1777 tmpfs "/host/$d" || fail "tmpfs on /host/$d"
done
if [ -n "$keep" ]; then
	mkdir -p "/host$keep" && mount -o bind /keep "/host$keep" ||
		fail "bind $keep back"
fi
[ -d /sys/fs/fuse/connections ] &&
	mount -t fusectl fusectl /host/sys/fs/fuse/connections 2>/dev/null

# A writable /var/lib (for /var/lib/ddmfs): the host's /var/lib under a
# tmpfs overlay, else a bare tmpfs on /var/lib/ddmfs if the host has one.
mkdir -p /ovl
mount -t tmpfs tmpfs /ovl && mkdir -p /ovl/up /ovl/work
if mount -t overlay -o lowerdir=/host/var/lib,upperdir=/ovl/up,workdir=/ovl/work \
	overlay /host/var/lib 2>/dev/null; then
	mkdir -p /host/var/lib/ddmfs
elif [ -d /host/var/lib/ddmfs ]; then
	mount -t tmpfs tmpfs /host/var/lib/ddmfs
fi
hostname ddm-guest
ip link set lo up 2>/dev/null

test=
cwd=/
shell=0
set -f
cmdline=$(cat /proc/cmdline)
set --
for w in $cmdline; do
	case $w in
	ddm.test=*) test=${w#*=} ;;
	ddm.test64=*) test=$(b64 "${w#*=}") ;;
	ddm.cwd=*) cwd=${w#*=} ;;
	ddm.cwd64=*) cwd=$(b64 "${w#*=}") ;;
	ddm.arg=*) set -- "$@" "${w#*=}" ;;
	ddm.arg64=*) set -- "$@" "$(b64 "${w#*=}")" ;;
	ddm.env=*) export "${w#*=}" ;;
	ddm.env64=*) export "$(b64 "${w#*=}")" ;;
	ddm.shell=1) shell=1 ;;
	esac
done
set +f
[ -n "$test" ] || fail "no ddm.test= on the kernel command line"
[ -f "/host$test" ] || fail "test script $test not found in the guest"

export HOME=/tmp TERM=dumb DDM_GUEST=1
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
echo
# shellcheck disable=SC2016 # expanded by the inner bash
if [ "$shell" = 1 ]; then
	# setsid -c makes ttyS0 the controlling terminal (job control,
	# Ctrl-C); -w waits, so poweroff follows the script's end.
	chroot /host /usr/bin/setsid -c -w /bin/bash -c \
		'cd -- "$0" || exit 126; exec /bin/bash "$@"' \
		"$cwd" "$test" "$@" </dev/ttyS0 >/dev/ttyS0 2>&1
else
	chroot /host /bin/bash -c 'cd -- "$0" || exit 126; exec /bin/bash "$@"' \
		"$cwd" "$test" "$@" </dev/null
fi
status=$?
read -r uptime _ </proc/uptime
echo
echo "DDM-GUEST-UPTIME=$uptime"
echo "DDM-GUEST-EXIT=$status"
poweroff -f

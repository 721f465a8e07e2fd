#!/bin/bash
# mkinitramfs.sh: build cache/initramfs.cpio.gz for the QEMU test guest from
# busybox-static, the kernel modules the guest needs and guest-init.sh as
# /init.
#
# Usage: tests/guest/mkinitramfs.sh [-f]
#   Runs fetch-kernel.sh first. Rebuilds only when the image is missing or
#   older than one of its inputs (this script, guest-init.sh, busybox, the
#   kernel record), or when -f is given. Prints the image's path.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache="$here/cache"
out="$cache/initramfs.cpio.gz"
force=0
[ "${1:-}" = "-f" ] && force=1

# Loaded in this order by /init; overlay is optional there, and the VFIO
# ones (irqbypass on) are loaded only on the PCI machine (boot.sh --pci).
modules="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev
virtio_pci 9pnet 9pnet_virtio netfs fscache 9p fuse cuse uio uio_pci_generic
overlay irqbypass vfio vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci"

die() {
	echo "mkinitramfs: $*" >&2
	exit 1
}

"$here/fetch-kernel.sh" -q
# One build at a time when several boot.sh runs start together.
exec 9>"$cache/.initramfs.lock"
flock 9
# shellcheck source=/dev/null
. "$cache/kernel.env"

busybox=$(command -v busybox) ||
	die "busybox not found (apt-get install busybox-static)"
# A dynamically linked busybox would need its libraries in the image.
if LC_ALL=C file -L "$busybox" 2>/dev/null | grep -q dynamic; then
	die "$busybox is not static (apt-get install busybox-static)"
fi
command -v cpio >/dev/null || die "cpio not found (apt-get install cpio)"

if [ "$force" = 0 ] && [ -f "$out" ]; then
	stale=0
	for f in "$0" "$here/guest-init.sh" "$busybox" "$cache/kernel.env"; do
		[ "$f" -nt "$out" ] && stale=1
	done
	if [ "$stale" = 0 ]; then
		echo "$out"
		exit 0
	fi
fi

root=$(mktemp -d "$cache/initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,host,tmp,lib/modules}

cp "$busybox" "$root/bin/busybox"
# busybox --list-full gives e.g. "usr/bin/wc"; link each applet there.
"$busybox" --list-full | while read -r applet; do
	case $applet in
	bin/busybox | "") continue ;;
	esac
	mkdir -p "$root/$(dirname "$applet")"
	ln -sf /bin/busybox "$root/$applet"
done
install -m 0755 "$here/guest-init.sh" "$root/init"

# Modules go flat into /lib/modules/NAME.ko, decompressed when needed.
for m in $modules; do
	src=$(find "$MODDIR/kernel" \( -name "$m.ko" -o -name "$m.ko.xz" \
		-o -name "$m.ko.zst" -o -name "$m.ko.gz" \) -print -quit)
	[ -n "$src" ] || die "module $m not found under $MODDIR"
	dst="$root/lib/modules/$m.ko"
	case $src in
	*.xz) xz -dc "$src" >"$dst" ;;
	*.zst) zstd -qdc "$src" >"$dst" ;;
	*.gz) gzip -dc "$src" >"$dst" ;;
	*) cp "$src" "$dst" ;;
	esac
done

(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc -R 0:0 --quiet) | gzip -6 >"$out.tmp"
mv "$out.tmp" "$out"
echo "$out"

#!/bin/bash
# fetch-kernel.sh: unpack Debian's current amd64 kernel under cache/kernel/
# for the QEMU guest tests, without installing it on the host.
#
# Usage: tests/guest/fetch-kernel.sh [-q]
#   Finds the versioned package that linux-image-amd64 depends on, downloads
#   it with apt-get download into cache/, unpacks it with dpkg -x into
#   cache/kernel/ and records the result in cache/kernel.env:
#     KVER=6.1.0-NN-amd64
#     VMLINUZ=.../cache/kernel/boot/vmlinuz-KVER
#     MODDIR=.../cache/kernel/lib/modules/KVER
#   Does nothing when cache/kernel.env already names an unpacked kernel.
#   Prints the recorded values unless -q is given.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache="$here/cache"
env_file="$cache/kernel.env"
quiet=0
[ "${1:-}" = "-q" ] && quiet=1

die() {
	echo "fetch-kernel: $*" >&2
	exit 1
}

show() {
	[ "$quiet" = 1 ] || cat "$env_file"
}

mkdir -p "$cache"
# One fetch at a time when several boot.sh runs start together.
exec 9>"$cache/.kernel.lock"
flock 9

# An earlier run finished: the record exists and names real files.
if [ -f "$env_file" ]; then
	# shellcheck source=/dev/null
	. "$env_file"
	if [ -f "${VMLINUZ:-}" ] && [ -d "${MODDIR:-}" ]; then
		show
		exit 0
	fi
fi

command -v apt-get >/dev/null || die "apt-get not found (needs Debian)"
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1)
if [ -z "$pkg" ]; then
	# The package lists may never have been fetched on a fresh machine.
	apt-get update -qq || die "apt-get update failed"
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1)
fi
[ -n "$pkg" ] || die "cannot find the package linux-image-amd64 depends on"
kver=${pkg#linux-image-}

deb=$(find "$cache" -maxdepth 1 -name "${pkg}_*.deb" -print -quit)
if [ -z "$deb" ]; then
	# As root, apt's _apt sandbox user cannot write into the cache.
	sandbox=()
	[ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)
	(cd "$cache" && apt-get download -q "${sandbox[@]}" "$pkg") || die "apt-get download $pkg failed"
	deb=$(find "$cache" -maxdepth 1 -name "${pkg}_*.deb" -print -quit)
	[ -n "$deb" ] || die "downloaded $pkg but no .deb found in $cache"
fi

# Unpack into a fresh directory, then move it in place, so a half-unpacked
# tree never looks finished.
rm -rf "$cache/kernel.tmp" "$cache/kernel"
dpkg -x "$deb" "$cache/kernel.tmp" || die "dpkg -x $deb failed"
mv "$cache/kernel.tmp" "$cache/kernel"

vmlinuz="$cache/kernel/boot/vmlinuz-$kver"
moddir="$cache/kernel/lib/modules/$kver"
[ -f "$vmlinuz" ] || die "no $vmlinuz in $deb"
[ -d "$moddir" ] || die "no $moddir in $deb"

printf 'KVER=%s\nVMLINUZ=%s\nMODDIR=%s\n' "$kver" "$vmlinuz" "$moddir" \
	>"$env_file.tmp"
mv "$env_file.tmp" "$env_file"
show

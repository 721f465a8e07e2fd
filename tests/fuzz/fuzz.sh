#!/usr/bin/env bash
# fuzz.sh BUILDDIR SECONDS: the fuzz layer.  Builds the libFuzzer targets
# with clang (-fsanitize=fuzzer,address,undefined, every sanitizer report
# fatal) straight from the source tree into BUILDDIR/fuzz, runs each for
# SECONDS from its seed corpus (tests/fuzz/corpus/<target>), and prints one
# TAP line per target with its executions and result.  Exits 0 only if every
# target built and none crashed; a crash's line names its reproducer
# (replay it with BUILDDIR/fuzz/<target> FILE).  BUILDDIR must be
# configured (its config.h is used).  Without arguments (as under make
# check) BUILDDIR is $DDM_BUILDDIR and SECONDS $DDM_FUZZ_SECONDS or 15.
#
#   fuzz_proto      ddm_msg_unpack on any bytes; pack/unpack round trip
#   fuzz_conf       conf_load on any file contents
#   fuzz_ctl        the control socket's command handling (ctl_handle)
#   fuzz_kbd_xlate  the kbd driver's set-1 scancode translator
set -uo pipefail

die() { printf 'fuzz: %s\n' "$*" >&2; exit 2; }

# Under make check the arguments come from the environment.
[ $# -eq 2 ] || [ $# -eq 0 ] || die "usage: fuzz.sh BUILDDIR SECONDS"
bdir=${1:-${DDM_BUILDDIR:-}}
secs=${2:-${DDM_FUZZ_SECONDS:-15}}
[ -n "$bdir" ] || die "usage: fuzz.sh BUILDDIR SECONDS"
build=$(cd "$bdir" && pwd) || die "no build dir $bdir"
case $secs in '' | *[!0-9]*) die "SECONDS must be a number" ;; esac
[ -f "$build/config.h" ] || die "$build is not configured (no config.h)"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$build/fuzz
mkdir -p "$out/artifacts" "$out/logs" || die "cannot create $out"

CC=${CLANG:-clang}
SAN="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
CFLAGS="-g -O1 -Wall -Wextra -Wshadow -Wno-unused-parameter -Werror -D_GNU_SOURCE"
PER_INPUT_TIMEOUT_S=10 # one input running longer than this is a hang
GRACE_S=60             # a target still running SECONDS+GRACE_S later is killed
PROTO_MAX_LEN=65616    # a full packet (header + DDM_PAYLOAD_MAX) and a bit

# am_sources DIR VAR: the .c files of VAR_SOURCES in DIR/Makefile.am, as
# paths (the Makefile.am is the one list of what a library is made of).
am_sources() {
	awk -v var="$2_SOURCES" '
		cont || $1 == var { line = line " " $0; cont = /\\$/ }
		END { gsub(/\\/, " ", line); print line }' "$top/$1/Makefile.am" |
		tr -s ' \t' '\n' | grep '\.c$' | sed "s|^|$top/$1/|"
}

# build TARGET ARGS...: compiles with ARGS (tests/fuzz/TARGET.c, the
# sources under test, flags, libraries) into $out/TARGET.
build() {
	local target=$1
	shift
	# shellcheck disable=SC2046,SC2086
	$CC $SAN $CFLAGS -I"$build" "$@" -o "$out/$target" \
		>"$out/logs/$target.build" 2>&1
}

build_all() {
	local fuse config pci udev
	fuse=$(pkg-config --cflags --libs fuse3) || return 1
	config=$(pkg-config --cflags --libs libconfig) || return 1
	pci=$(pkg-config --cflags --libs pciaccess) || return 1
	udev=$(pkg-config --cflags --libs libudev) || return 1
	systemd=$(pkg-config --cflags --libs libsystemd) || return 1

	# shellcheck disable=SC2046,SC2086
	build fuzz_proto -I"$top/lib/libdriver" "$here/fuzz_proto.c" ||
		failed_build+=(fuzz_proto)
	# shellcheck disable=SC2046,SC2086
	build fuzz_conf -I"$top/ddmfs" -I"$top/lib/libdriver" \
		"$here/fuzz_conf.c" "$top/ddmfs/conf.c" \
		"$top/ddmfs/conf_value.c" "$top/ddmfs/rules.c" \
		"$top/ddmfs/acl.c" $config ||
		failed_build+=(fuzz_conf)
	# shellcheck disable=SC2046,SC2086
	build fuzz_ctl -I"$top/ddmfs" -I"$top/lib/libdriver" \
		-DDDM_DRIVER_DIR=\"/nonexistent\" \
		-DDDM_CONF_FILE=\"/nonexistent/ddmfs.conf\" \
		-DFUZZ_CONF=\""$top/conf/ddmfs.conf"\" \
		"$here/fuzz_ctl.c" $(am_sources ddmfs libddmfs_a) \
		$fuse $config $pci $udev $systemd -lpthread ||
		failed_build+=(fuzz_ctl)
	# shellcheck disable=SC2046,SC2086
	build fuzz_kbd_xlate -I"$top/drivers/kbd" "$here/fuzz_kbd_xlate.c" ||
		failed_build+=(fuzz_kbd_xlate)
}

# run TARGET [LIBFUZZER OPTIONS...]: fuzzes TARGET for $secs seconds and
# prints its line; returns nonzero if it crashed.
run() {
	local target=$1 log=$out/logs/$1.log work=$out/corpus/$1 rc execs
	local artifact
	shift
	mkdir -p "$work"
	timeout $((secs + GRACE_S)) "$out/$target" \
		-max_total_time="$secs" -timeout=$PER_INPUT_TIMEOUT_S \
		-print_final_stats=1 \
		-artifact_prefix="$out/artifacts/$target-" "$@" \
		"$work" "$here/corpus/$target" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
		tail -n 1)
	n=$((n + 1))
	if [ $rc -eq 0 ]; then
		printf 'ok %d - %s: %s execs, no crash\n' $n "$target" "${execs:-?}"
		return 0
	fi
	artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" |
		tail -n 1)
	printf 'not ok %d - %s: %s execs, CRASH (exit %d) input: %s log: %s\n' \
		$n "$target" "${execs:-?}" "$rc" "${artifact:-none}" "$log"
	grep -m 1 -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" |
		sed 's/^/# /'
	return 1
}

failed_build=()
build_all || die "pkg-config failed"
status=0
n=0
echo "1..4"
for t in "${failed_build[@]}"; do
	n=$((n + 1))
	printf 'not ok %d - %s: BUILD FAILED: %s\n' $n "$t" \
		"$out/logs/$t.build"
	sed 's/^/# /' "$out/logs/$t.build" | head -n 20
	status=1
done

for t in fuzz_proto fuzz_conf fuzz_ctl fuzz_kbd_xlate; do
	[ -x "$out/$t" ] || continue
	case " ${failed_build[*]} " in *" $t "*) continue ;; esac
	case $t in
	fuzz_proto) run $t -max_len=$PROTO_MAX_LEN || status=1 ;;
	fuzz_conf)
		LSAN_OPTIONS=suppressions=$here/lsan.supp:print_suppressions=0 \
			run $t || status=1
		;;
	*) run $t || status=1 ;;
	esac
done
exit $status

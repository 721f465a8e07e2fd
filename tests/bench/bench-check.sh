#!/bin/bash
# bench-check.sh: the short bench as a test of ./run check.  Runs bench.py
# --short (few iterations, a 10x10 tree, a short guest part when QEMU and
# the guest kernel are there) into $DDM_BUILDDIR/tests/bench/short/, then
# checks its bench-results.json with bench_report.py --validate.  Prints
# TAP: the bench ran and exited 0, the chart was drawn, and each check of
# the JSON.  It asserts nothing about speed.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${DDM_BUILDDIR:-$here/../../build}
py=${PYTHON3:-python3}
out=$build/tests/bench/short

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root (FUSE mounts with allow_other, tmpfs)"
	exit 0
fi
rm -rf "$out"
mkdir -p "$out"
start=$(date +%s)
"$py" "$here/bench.py" "$build" --short --out "$out" >"$out/bench.log" 2>&1
st=$?
secs=$(($(date +%s) - start))
sed 's/^/# /' "$out/bench.log"

# Under CI the guest part must run: a skipped one is not a passed one.
results=()
results+=("$([ $st -eq 0 ] && echo ok || echo not ok) - bench.py --short exited 0 (status $st, ${secs}s)")
results+=("$([ -s "$out/bench-results.png" ] && echo ok || echo not ok) - the chart bench-results.png was drawn")
while IFS= read -r line; do
	case $line in
	ok* | "not ok"*) results+=("$(printf '%s\n' "$line" | sed -E 's/^(ok|not ok) [0-9]+/\1/')") ;;
	esac
done < <("$py" "$here/bench_report.py" --validate "$out/bench-results.json" \
	$([ "${CI:-}" = true ] && echo --require-guest))

echo "1..${#results[@]}"
fail=0
for i in "${!results[@]}"; do
	r=${results[$i]}
	case $r in "not ok"*) fail=1 ;; esac
	printf '%s\n' "$r" | sed -E "s/^(ok|not ok) -/\1 $((i + 1)) -/"
done
exit $fail

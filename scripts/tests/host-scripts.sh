#!/usr/bin/env bash
# Host test: every script in scripts/ keeps the command-line contract:
# --help prints its usage and exits 0; an unknown option says so on
# stderr and exits 2, before building or booting anything; scripts/lib.sh
# is a library (sourced, not executable).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
SW_HOST=1 . "$root/scripts/guest/lib.sh"

err=$(mktemp)
trap 'rm -f "$err"' EXIT
check "scripts/lib.sh is not executable (it is sourced)" test ! -x "$root/scripts/lib.sh"
for s in "$root"/scripts/*; do
	[ -f "$s" ] && [ -x "$s" ] || continue
	n=${s##*/}
	check "$n --help exits 0 with a Usage line" sh -c "'$s' --help 2>&1 | grep -q '^Usage: scripts/$n'"
	set +e
	timeout 60 "$s" --no-such-option >/dev/null 2>"$err"
	rc=$?
	set -e
	check "$n --no-such-option exits 2" test "$rc" = 2
	check "$n --no-such-option says what is wrong on stderr" grep -q 'no-such-option' "$err"
done
# The architecture is checked as each script starts, before anything runs.
for s in vm-run kernel initramfs; do
	set +e
	STOPWATCH_ARCH=sparc64 timeout 60 "$root/scripts/$s" >/dev/null 2>"$err"
	rc=$?
	set -e
	check "STOPWATCH_ARCH=sparc64 $s fails naming it and the known ones" \
		sh -c "test $rc != 0 && grep -q \"unknown STOPWATCH_ARCH 'sparc64' (known: x86_64 arm64)\" '$err'"
done
set +e
timeout 60 "$root/scripts/reproduce" --arch sparc64 >/dev/null 2>"$err"
rc=$?
set -e
check "reproduce --arch sparc64 exits 2 naming the known ones" \
	sh -c "test $rc = 2 && grep -q 'arch must be one of: x86_64 arm64' '$err'"

# reproduce-runs --ab alternates with and without stopwatch and compares
# the sides' means: a stand-in reproduce says which side it ran as.
stub=$(mktemp -d)
cat >"$stub/reproduce" <<'EOF'
#!/bin/sh
case "$1" in
--no-stopwatch)
	echo "summary reproduced=1 stopwatch=0 bug_lines=6"
	echo "summary longest_stuck_s=6 storm_max_ms=5000.0 guest_s=20.00"
	;;
*)
	echo "summary reproduced=1 stopwatch=1 bug_lines=6 culprit=2"
	echo "summary longest_stuck_s=6 storm_max_ms=6000.0 guest_s=22.00"
	;;
esac
EOF
chmod +x "$stub/reproduce"
SW_REPRODUCE=$stub/reproduce "$root/scripts/reproduce-runs" -n 2 --ab --out "$stub/out" -- --cpus 4 >"$stub/table" 2>&1 || true
cat "$stub/table"
sides=$(awk '$1 ~ /^[0-9]+$/ { printf "%s ", $2 }' "$stub/table")
check "reproduce-runs --ab: 4 runs, loaded and not-loaded in turn" \
	test "$sides" = "loaded not-loaded loaded not-loaded "
check "reproduce-runs --ab: every run counted" grep -q '^reproduced 4 of 4$' "$stub/table"
check "reproduce-runs --ab: each side's mean stuck_s and call_ms" \
	sh -c "grep -Eq '^loaded +6.00 +6000.00 ' '$stub/table' && grep -Eq '^not-loaded +6.00 +5000.00 ' '$stub/table'"
check "reproduce-runs --ab: their ratios, with / without" grep -Eq '^ratio +1.000x +1.200x ' "$stub/table"
rm -rf "$stub"

# scripts/test speaks KTAP: the kernel's own parser (kunit.py parse, from
# this kernel's source) reads the cases of a real run and counts what
# scripts/test counted.
ktap=$(mktemp)
"$root/scripts/test" --only unit >"$ktap" 2>&1 || true
check "scripts/test's first line is KTAP's version line" sh -c "head -n1 '$ktap' | grep -qx 'KTAP version 1'"
counted=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/passed: \1 failed: \2/p' "$ktap")
kunit=$("$root/scripts/kernel" source)/tools/testing/kunit/kunit.py
parsed=$(python3 "$kunit" parse <"$ktap" 2>&1 | tr -d '\033' | sed -n 's/.*Testing complete. Ran [0-9]* tests: //p')
p=$(printf '%s' "$parsed" | sed -n 's/.*passed: \([0-9]*\).*/\1/p')
f=$(printf '%s' "$parsed" | sed -n 's/.*failed: \([0-9]*\).*/\1/p')
got="passed: ${p:-0} failed: ${f:-0}"
check "kunit.py parse counts what scripts/test counted ($counted; kunit.py: $parsed)" \
	sh -c "test -n '$counted' && test '$got' = '$counted' && ! printf '%s' '$parsed' | grep -q errors"
rm -f "$ktap"
exit "$SW_FAILED"

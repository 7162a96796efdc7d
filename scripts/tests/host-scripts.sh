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
exit "$SW_FAILED"

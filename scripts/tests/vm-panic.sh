#!/usr/bin/env bash
# VM test (from the host, booting guests): what reaches the serial console when the machine dies. With
# softlockup_panic=1 (scripts/reproduce --panic), stopwatch's warning and
# the hog's backtrace come before `Kernel panic`, and the panic notifier's
# dump follows it; for two hog CPU / vCPU-count combinations. A panic from
# anywhere else (sysrq) gets the dump too, and console=0 silences it.
# Each scenario boots its own guest.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
SW_HOST=1 . "$root/scripts/guest/lib.sh"

# value KEY: from the summary lines of the last run.
value() { sed -n "s/^summary .*\\b$1=\\([^ ]*\\).*/\\1/p" "$out" | head -n1; }

panic_scenario() {
	local cpus=$1 hog=$2 tag="panic, cpus=$1 hog=$2"
	out=$(mktemp)
	set +e
	"$root/scripts/reproduce" --panic --cpus "$cpus" --hog-cpu "$hog" >"$out" 2>&1
	rc=$?
	set -e
	cat "$out"
	check "[$tag] reproduce exits 0" test "$rc" = 0
	check "[$tag] the guest panicked" test "$(value panicked)" = 1
	check "[$tag] the warning naming CPU $hog and the hog is on the serial console before the panic" \
		test "$(value warning_before_panic)" = 1
	check "[$tag] the hog's code is in CPU $hog's backtrace before the panic" \
		test "$(value hog_frame_before_panic)" = 1
	check "[$tag] the panic dump is complete and names CPU $hog and the hog" \
		sh -c "test '$(value dump_complete)' = 1 && test '$(value dump_names_hog)' = 1"
	rm -f "$out"
}
panic_scenario 4 2
panic_scenario 3 1

# sysrq_panic ARGS: boot, load stopwatch with ARGS, crash through sysrq;
# the console log is in $out.
sysrq_panic() {
	out=$(mktemp)
	set +e
	"$root/scripts/vm-run" --quiet --log "$out" --cpus 2 --timeout 120 \
		--file "$root/scripts/guest/sysrq-panic.sh:sysrq-panic.sh" -- "ARGS='$*'; . /stopwatch/sysrq-panic.sh"
	rc=$?
	set -e
}
# in_order FILE RE...: each extended RE matches a line after the previous.
in_order() {
	local file=$1 from=1 at re
	shift
	for re in "$@"; do
		at=$(awk -v from="$from" -v re="$re" 'NR >= from && $0 ~ re { print NR; exit }' "$file")
		[ -n "$at" ] || { echo "no line matching '$re' after line $from"; return 1; }
		from=$((at + 1))
	done
}
# dump_follows: the sysrq panic's dump is all there, in order; if not,
# what the console had from the panic on (the log is deleted after).
dump_follows() {
	in_order "$out" 'Kernel panic - not syncing: sysrq triggered crash' 'stopwatch: panic dump: ' \
		'stopwatch: no stop_machine[(][)] call in flight' 'stopwatch: cpu=0 online=1 ' 'stopwatch: cpu=1 online=1 ' \
		'stopwatch: newest records of CPU 0:' 'stopwatch: newest records of CPU 1:' 'stopwatch: end of panic dump' &&
		return 0
	echo "--- the console from the panic on:"
	sed -n '/Kernel panic/,$p' "$out" | head -n 80
	return 1
}
tag="panic from sysrq"
sysrq_panic
check "[$tag] the guest died (vm-run exit 125)" test "$rc" = 125
check "[$tag] the dump follows the panic: no call in flight, every CPU, their records, complete" dump_follows
rm -f "$out"
tag="panic from sysrq, console=0"
sysrq_panic console=0
check "[$tag] the guest died (vm-run exit 125)" test "$rc" = 125
check "[$tag] the kernel panicked" grep -q 'Kernel panic - not syncing: sysrq triggered crash' "$out"
check "[$tag] no panic dump" sh -c "! grep -q 'stopwatch: panic dump' '$out'"
rm -f "$out"
exit "$SW_FAILED"

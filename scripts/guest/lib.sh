# shellcheck shell=sh
# Helpers for end-to-end tests running in the guest (busybox sh).
# scripts/test counts the `STOPWATCH-TEST ok|not ok - ...` lines.

SW_FAILED=0
SW_DEBUGFS=/sys/kernel/debug/stopwatch

# Keep kernel messages off the console so they cannot split our result
# lines; `finish` prints the whole kernel log at the end instead. Host-side
# tests source this file with SW_HOST=1 for `check` and `fails` only.
# SW_T0: the uptime when the test began. What the kernel logged before
# is its boot, not the test's doing (a debug kernel under TCG can report a
# soft lockup while it enumerates ACPI with KASAN and kmemleak on); the
# console and `finish` still show it.
if [ -z "${SW_HOST:-}" ]; then
	dmesg -n 1
	SW_T0=$(cut -d' ' -f1 /proc/uptime)
fi

# test_dmesg: the kernel log since the test began (lines stamped at or
# after SW_T0, with the unstamped lines that follow them).
test_dmesg() {
	dmesg | awk -v t0="$SW_T0" '/^\[/ { s = $0; sub(/^\[ */, "", s); sub(/\].*/, "", s); keep = (s + 0 >= t0) } keep'
}

# check DESCRIPTION COMMAND [ARGS...]: one test case, passes if COMMAND does.
check() {
	sw_desc=$1
	shift
	if "$@"; then
		echo "STOPWATCH-TEST ok - $sw_desc"
	else
		echo "STOPWATCH-TEST not ok - $sw_desc"
		SW_FAILED=1
	fi
}

# fails DESCRIPTION COMMAND [ARGS...]: passes if COMMAND fails.
fails() {
	sw_desc=$1
	shift
	if "$@"; then
		echo "STOPWATCH-TEST not ok - $sw_desc (expected failure, it succeeded)"
		SW_FAILED=1
	else
		echo "STOPWATCH-TEST ok - $sw_desc"
	fi
}

# skip DESCRIPTION REASON: a case this machine cannot run, with the reason
# (scripts/test prints it and counts it apart from passes and failures).
skip() {
	echo "STOPWATCH-TEST skip - $1 ($2)"
}

# hog_wait_runs N TENTHS: wait until the hog sample has completed N runs
# and runs no more (at most TENTHS tenths of a second), then 1 s for the
# kernel's reports and stopwatch's notes to come.
hog_wait_runs() {
	sw_i=0
	while [ $sw_i -lt "$2" ] && ! grep -q "^runs=$1 running=0 " /sys/kernel/debug/stopwatch_hog/stats; do
		usleep 100000
		sw_i=$((sw_i + 1))
	done
	sleep 1
}

# storm_on CPUS: the storm's thread (there must be one) allowed on CPUS
# only, a `taskset -c` list, then one of its periods (at most 1 s) for a
# sleep still timed elsewhere to end. The thread sleeps on a timer of the
# CPU it last ran on; on PREEMPT_RT (Debian's rt-amd64) timers expire in
# that CPU's ktimers thread, which a hog there keeps from running: no call
# would come while the hog runs. (It wakes on the CPU that completed the
# last call, often the one a hog held up.) scripts/guest/reproduce.sh
# keeps it off the hogged CPUs the same way.
storm_on() {
	sw_n=0
	for sw_p in /proc/[0-9]*; do
		[ "$(cat "$sw_p/comm" 2>/dev/null)" = stopwatch_storm ] || continue
		taskset -pc "$1" "${sw_p#/proc/}" >/dev/null || return 1
		sw_n=$((sw_n + 1))
	done
	sleep 1
	[ "$sw_n" = 1 ]
}

# storm_off CPU: the storm's thread on every CPU but CPU (see storm_on).
storm_off() {
	sw_on=
	for sw_c in $(seq 0 $(($(nproc) - 1))); do
		[ "$sw_c" = "$1" ] || sw_on=${sw_on:+$sw_on,}$sw_c
	done
	storm_on "$sw_on"
}

# hog_holds_storm CPU: a storm call held up 2 s by the hog on CPU (loaded
# idle, touching every 100 ms), with the storm calling every 50 ms,
# warn_percent 10 (a 2 s wait is a culprit's from 1 s on, with the lockup
# threshold at 10 s) and the console off (the warning's backtrace would be
# a Call Trace in dmesg). Returns 200 ms after the run: `stops` keeps the
# newest 32 instances, about 1.6 s of this storm. The hog and the storm
# stay loaded.
hog_holds_storm() {
	check "warn_percent 10" sh -c "echo 10 > $SW_DEBUGFS/warn_percent"
	check "console off" sh -c "echo 0 > $SW_DEBUGFS/console"
	check "hog loads idle" insmod /stopwatch/stopwatch_hog.ko start=0 cpu="$1" seconds=2 touch_ms=100
	check "storm loads (period 50 ms)" insmod /stopwatch/stopwatch_storm.ko period_ms=50
	check "the storm's thread kept off CPU $1" storm_off "$1"
	echo 1 >/sys/kernel/debug/stopwatch_hog/run
	sw_i=0
	while [ $sw_i -lt 100 ] && ! grep -q '^runs=1 running=0 ' /sys/kernel/debug/stopwatch_hog/stats; do
		usleep 100000
		sw_i=$((sw_i + 1))
	done
	usleep 200000
}

# SW_MACHINE: the machine's architecture as `uname -m` says it (x86_64,
# aarch64), for the few cases that differ.
SW_MACHINE=$(uname -m)

# exit_status OUT COMMAND [ARGS...]: runs COMMAND with its output in the
# file OUT and prints its exit status (with or without `set -e`).
exit_status() {
	sw_out=$1
	shift
	"$@" >"$sw_out" 2>&1 && echo 0 || echo $?
}

# dmesg_clean: no BUG, WARNING, Oops or stack trace ("Call Trace:" on x86,
# "Call trace:" on arm64) in the kernel log since the test
# began.
dmesg_clean() {
	if test_dmesg | grep -E 'BUG|WARNING|Oops|Call [Tt]race'; then
		return 1
	fi
	return 0
}

# finish: print the kernel log, exit with the tests' overall status.
finish() {
	echo "--- guest dmesg"
	dmesg
	echo "--- end of guest dmesg"
	exit "$SW_FAILED"
}

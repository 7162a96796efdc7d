# shellcheck shell=sh
# Helpers for end-to-end tests running in the guest (busybox sh).
# scripts/test counts the `STOPWATCH-TEST ok|not ok - ...` lines.

SW_FAILED=0
SW_DEBUGFS=/sys/kernel/debug/stopwatch

# Keep kernel messages off the console so they cannot split our result
# lines; `finish` prints the whole kernel log at the end instead. Host-side
# tests source this file with SW_HOST=1 for `check` and `fails` only.
if [ -z "${SW_HOST:-}" ]; then
	dmesg -n 1
fi

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

# dmesg_clean: no BUG, WARNING or Oops in the kernel log so far.
dmesg_clean() {
	if dmesg | grep -E 'BUG|WARNING|Oops|Call Trace'; then
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

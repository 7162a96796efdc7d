# shellcheck shell=sh
# The guest side of scripts/bench (busybox sh): every measurement in one
# boot, each printed as `BENCH <what> ops=N ns_per_op=X`, which the host
# turns into the table. Settings come from the environment:
#   CALLS   calls per touch measurement     ROUNDS  rounds of them
#   STOPS   stop_machine() round trips per measurement
#   FILL    records per CPU ring for the read comparison
#   ONLY    "stop": the stop_machine() measurements only
set -u

B=/sys/kernel/debug/stopwatch_bench
D=/sys/kernel/debug/stopwatch
T=/sys/kernel/tracing
dmesg -n 1
[ -d $T/events ] || mount -t tracefs nodev $T || exit 3
insmod /stopwatch/stopwatch_bench.ko || exit 3

# measure WHAT FILE N: one timed run of N operations, one BENCH line.
measure() {
	echo "$3" >"$B/$2" || exit 3
	echo "BENCH $1 $(cat $B/result)"
}
# ftrace_on DEFINITION: one ftrace kprobe event (group swbench), enabled.
ftrace_on() {
	echo "$1" >$T/kprobe_events && echo 1 >$T/events/swbench/enable || exit 3
}
ftrace_off() {
	echo 0 >$T/events/swbench/enable
	echo >$T/kprobe_events
}
# sync_event [FETCH]: the kprobe event on touch_softlockup_watchdog_sync().
sync_event() { echo "p:swbench/sync touch_softlockup_watchdog_sync $*"; }
# The caller, as stopwatch records it: the return address on top of the
# stack at entry on x86, the link register on arm64.
case $(uname -m) in
aarch64) CALLER='caller=%x30:x64' ;;
*) CALLER='caller=+0($stack):x64' ;;
esac

ONLY=${ONLY:-}
# stop_round SIDE: the stop_machine() measurements of one side.
stop_round() {
	measure "$1_stop" stop_machine "$STOPS"
	measure "$1_window" stop_window "$STOPS"
}

# spin_rounds: bare set 2 split by its spin probe (samples/bench_seam.c):
# set 5 without it, set 6 with one the kprobe core may jump-optimise
# (whether it did is the list's [OPTIMIZED]: after registering, the core
# optimises from a work item, within the second slept).
spin_rounds() {
	echo 5 >$B/bare && sleep 1
	stop_round bare_nospin
	echo 0 >$B/bare
	echo 6 >$B/bare && sleep 1
	echo "SPINPROBE $(grep -c 'stop_machine_yield.*OPTIMIZED' /sys/kernel/debug/kprobes/list)"
	stop_round bare_optspin
	echo 0 >$B/bare
}

r=0
while [ -n "$ONLY" ] && [ $r -lt "$ROUNDS" ]; do
	stop_round none
	echo 2 >$B/bare && sleep 1
	stop_round bare
	echo 0 >$B/bare
	spin_rounds
	insmod /stopwatch/stopwatch.ko || exit 3
	sleep 1
	stop_round stopwatch
	grep -E '^(probe="(stop_machine_yield|touch_softlockup_watchdog)"|total)' $D/stats | sed 's/^/STATS /'
	rmmod stopwatch
	r=$((r + 1))
done
[ -n "$ONLY" ] && { rmmod stopwatch_bench; exit 0; }

while [ $r -lt "$ROUNDS" ]; do
	measure none run "$CALLS"
	measure none_alt run_alternate "$CALLS"
	measure none_sync run_sync "$CALLS"
	stop_round none
	# A kprobe is jump-optimised a few jiffies after it is registered.
	echo 1 >$B/bare && sleep 1
	measure bare run "$CALLS"
	measure bare_alt run_alternate "$CALLS"
	measure bare_sync run_sync "$CALLS"
	echo 0 >$B/bare
	echo 2 >$B/bare && sleep 1
	stop_round bare
	echo 0 >$B/bare
	spin_rounds
	echo 3 >$B/bare && sleep 1
	measure bare_stop_ret stop_machine "$STOPS"
	echo 0 >$B/bare
	echo 4 >$B/bare && sleep 1
	measure bare_stop_entry stop_machine "$STOPS"
	echo 0 >$B/bare
	ftrace_on "$(sync_event)"
	measure ftrace_sync run_sync "$CALLS"
	ftrace_off
	ftrace_on "$(sync_event "$CALLER")"
	measure ftrace_caller_sync run_sync "$CALLS"
	ftrace_off
	insmod /stopwatch/stopwatch.ko || exit 3
	sleep 1
	measure stopwatch run "$CALLS"
	measure stopwatch_alt run_alternate "$CALLS"
	measure stopwatch_sync run_sync "$CALLS"
	stop_round stopwatch
	grep -E '^(probe="(touch_softlockup_watchdog|stop_machine_yield)"|total)' $D/stats | sed 's/^/STATS /'
	rmmod stopwatch
	measure ring ring_write "$CALLS"
	measure ring_buffer rb_write "$CALLS"
	r=$((r + 1))
done

# time_cat WHAT FILE LINES: the time to read FILE once, per line.
time_cat() {
	t0=$(cat $B/clock)
	cat "$2" >/dev/null
	t1=$(cat $B/clock)
	echo "BENCH $1 $(awk -v n="$3" -v t="$((t1 - t0))" 'BEGIN { printf "ops=%d ns_per_op=%.3f", n, t / n }')"
}

# Reading: stopwatch's `events` on full rings (4 CPUs x FILL records)
# against ftrace's `trace` holding as many kprobe events (with the caller).
insmod /stopwatch/stopwatch.ko buffer_size="$FILL" test_fill="$FILL" || exit 3
echo 0 >$D/enable
lines=$(wc -l <$D/events)
time_cat cat_events $D/events "$lines"
rmmod stopwatch
# One CPU makes them all: room for 4 x FILL events of ~40 bytes there.
echo $((4 * FILL * 48 / 1024)) >$T/buffer_size_kb || exit 3
ftrace_on "$(sync_event "$CALLER")"
echo $((4 * FILL)) >$B/run_sync || exit 3
echo 0 >$T/events/swbench/enable
tlines=$(grep -vc '^#' $T/trace)
time_cat cat_trace $T/trace "$tlines"
ftrace_off
echo 1408 >$T/buffer_size_kb
rmmod stopwatch_bench

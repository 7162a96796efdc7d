# shellcheck shell=sh
# The guest side of scripts/reproduce (busybox sh): set the watchdog
# threshold, load stopwatch and the storm, run the workload, let the
# kernel's reports and a few storm calls come, then dump everything in
# `=== section` blocks for the host to read. Settings come from the
# environment: THRESH STORM PERIOD_MS WORKLOAD, and for the workloads
# HOG_CPU HOG_SECONDS (lists allowed) TOUCH_MS (hog), PROCS (oom), OOM_SECONDS (memcg),
# STOPWATCH=0 to run the same scene without
# stopwatch (the A/B of --no-stopwatch: the kernel's reports only), and PANIC=1 when the kernel panics at the first soft lockup (the host
# then reads the serial console, which must show what a fleet's would: the
# kernel's default console log level).
D=/sys/kernel/debug/stopwatch
[ "${PANIC:-0}" = 1 ] || dmesg -n 1
echo "$THRESH" >/proc/sys/kernel/watchdog_thresh || { echo "=== error watchdog_thresh"; exit 3; }
if [ "${STOPWATCH:-1}" = 1 ]; then
	insmod /stopwatch/stopwatch.ko || { echo "=== error insmod stopwatch"; exit 3; }
fi
if [ "$STORM" = 1 ]; then
	insmod /stopwatch/stopwatch_storm.ko period_ms="$PERIOD_MS" || { echo "=== error insmod storm"; exit 3; }
fi
# Let the storm run and stopwatch measure the watchdog's period.
sleep 2
storm_calls() { sed -n 's/^calls=\([0-9]*\) .*/\1/p' /sys/kernel/debug/stopwatch_storm/stats 2>/dev/null || echo 0; }
case "$WORKLOAD" in
oom)
	# For a vmcore's reader (scripts/reproduce --vmcore), as for the hog.
	if [ "${KALLSYMS:-0}" = 1 ]; then
		echo "=== kallsyms"
		grep '\[stopwatch' /proc/kallsyms
		echo "=== incident"
	fi
	sh /stopwatch/global-oom.sh "$PROCS"
	;;
memcg) sh /stopwatch/memcg-oom.sh "$OOM_SECONDS" ;;
hog)
	# The storm's thread runs on the CPUs the hog leaves free. It sleeps on
	# a timer of the CPU it last ran on; on PREEMPT_RT (Debian's rt-amd64)
	# timers expire in that CPU's ktimers thread, which a hogged CPU never
	# runs: the thread would not wake, and no call would come. (Without RT
	# the timer's interrupt wakes it onto another CPU.)
	# (A CPU list, not a mask: 64 CPUs and more do not fit in one.)
	free=
	for c in $(seq 0 $(($(nproc) - 1))); do
		case ",$HOG_CPU," in *",$c,"*) continue ;; esac
		free=${free:+$free,}$c
	done
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = stopwatch_storm ] && taskset -pc "$free" "${p#/proc/}" >/dev/null
	done
	# For a vmcore's reader (scripts/reproduce --vmcore): the modules'
	# symbols, which drgn cannot find in a kernel without debug info,
	# printed before the hog starts (once it runs, the storm's next call
	# stops userspace until the panic).
	start=1
	[ "${KALLSYMS:-0}" = 0 ] || start=0
	insmod /stopwatch/stopwatch_hog.ko cpu="$HOG_CPU" seconds="$HOG_SECONDS" touch_ms="$TOUCH_MS" start=$start ||
		{ echo "=== error insmod hog"; exit 3; }
	if [ "$start" = 0 ]; then
		echo "=== kallsyms"
		grep '\[stopwatch' /proc/kallsyms
		echo "=== incident"
		echo 1 >/sys/kernel/debug/stopwatch_hog/run
	fi
	i=0
	# Nothing in userspace runs while the incident lasts (every CPU is in
	# a stopper or the hog): poll for the hog's end, then read.
	# HOG_SECONDS may be a list (one per CPU): wait for the longest.
	longest=$(echo "$HOG_SECONDS" | tr , '\n' | sort -n | tail -n1)
	while [ $i -lt $((longest * 10 + 100)) ]; do
		[ $i -gt 5 ] && grep -q 'running=0' /sys/kernel/debug/stopwatch_hog/stats && break
		usleep 100000
		i=$((i + 1))
	done
	;;
esac
# Give the kernel's report and a few storm calls time to come.
sleep $((2 * THRESH + 1))
before=$(storm_calls)
sleep $((PERIOD_MS * 3 / 1000 + 1))
echo "=== recovery storm_calls_before=$before storm_calls_after=$(storm_calls)"
if [ "${STOPWATCH:-1}" = 1 ]; then
	echo 0 >$D/enable
	echo "=== stops"; cat $D/stops
	echo "=== cpus"; cat $D/cpus
	echo "=== stats"; cat $D/stats
	# Everything recorded: the host's diagnosis (tools/diagnose) runs
	# stopwatch's analysis on it, and --timeline draws it.
	echo "=== dump"; cat $D/dump
fi
echo "=== unload"
for m in stopwatch_hog stopwatch_storm stopwatch; do
	grep -q "^$m " /proc/modules || continue
	if rmmod $m; then echo "rmmod $m ok"; else echo "rmmod $m failed"; fi
done
echo "=== dmesg"; dmesg
read -r up _ </proc/uptime
echo "=== guest uptime_s=$up"
echo "=== end"

# shellcheck shell=sh
# Guest side of scripts/probe-race: bare stop-path probes registered and
# unregistered under a 100 Hz stop_machine() storm, with no stopwatch code
# loaded. The bench module's `bare` set 2 is what stopwatch places on the
# stop path (empty handlers): kretprobes on stop_machine_cpuslocked() and
# multi_cpu_stop() (ftrace-based: both have an fentry site) and an int3
# probe with a post handler on stop_machine_yield().
# In: CYCLES. Prints `RACE cycles=N` when all cycles ran; the host reads
# the kernel log for oopses.
B=/sys/kernel/debug/stopwatch_bench
insmod /stopwatch/stopwatch_storm.ko period_ms=10 || { echo "RACE error: insmod storm"; exit 3; }
insmod /stopwatch/stopwatch_bench.ko || { echo "RACE error: insmod bench"; exit 3; }
i=0
while [ $i -lt "$CYCLES" ]; do
	echo 2 >$B/bare || { echo "RACE error: registering the bare probes failed"; exit 3; }
	usleep 20000
	echo 0 >$B/bare
	usleep 5000
	i=$((i + 1))
	# Stop at the first oops: the storm thread may be dead.
	dmesg | grep -q 'Oops' && break
done
echo "RACE cycles=$i"
dmesg | grep -E 'Oops|RIP:' | head -n 2 | sed 's/^/RACE dmesg: /'
rmmod stopwatch_bench
rmmod stopwatch_storm
exit 0

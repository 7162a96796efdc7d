# End-to-end: a nested stop. CPU 3's stopper waits in a stop_two_cpus()
# call (as migrate_swap() makes) for CPU 2, which a hog holds; a
# stop_machine() then waits for both. stopwatch records the other call,
# names CPU 2 first and CPU 3 as blocked in it, in `stops` and the early
# warning, and says so in its note after the kernel's reports. (The `cpus`
# view cannot be read meanwhile: every CPU is busy; host tests cover it.)
# vm-run: --cpus 4

D=$SW_DEBUGFS
H=/sys/kernel/debug/stopwatch_hog
# incident: the instance that waited longest in PREPARE, whoever called it
# (the storm, or the kernel itself: a clocksource change on TSC-unstable
# TCG has been seen to come first).
incident() {
	awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^longest_prepare_ms=/) { split($i, kv, "="); w = kv[2] + 0 }
		if (w >= best) { best = w; line = $0 } } END { print line }' "$D/stops"
}
echo 1 >/proc/sys/kernel/watchdog_thresh
check "stopwatch.ko loads" insmod /stopwatch/stopwatch.ko
# The fn of a call no stop_machine() started is read only once an instance
# has verified the layout of struct multi_stop_data.
# warm_up: one stop_machine() call from the storm, then unload it.
warm_up() {
	insmod /stopwatch/stopwatch_storm.ko period_ms=60000 || return 1
	i=0
	while [ $i -lt 50 ] && ! grep -q '^calls=[1-9]' /sys/kernel/debug/stopwatch_storm/stats; do
		sleep 0.1
		i=$((i + 1))
	done
	rmmod stopwatch_storm && grep -q ' layout_errors=0' "$D/stats" && [ $i -lt 50 ]
}
check "a first stop_machine() verifies the layout" warm_up
fails "the hog refuses pair_cpu equal to its CPU" insmod /stopwatch/stopwatch_hog.ko cpu=2 pair_cpu=2
check "the refusal is explained in dmesg" sh -c 'dmesg | grep -q "pair_cpu=2 must be an online CPU other than 2"'
check "the hog loads on CPU 2 for 5 s, with stop_two_cpus(3, 2)" \
	insmod /stopwatch/stopwatch_hog.ko cpu=2 seconds=5 pair_cpu=3
sleep 1
# Every CPU is now busy until the hog ends (CPU 2 hogged, CPU 3's stopper
# spinning in the pair call, CPUs 0 and 1 soon in stop_machine()): what
# follows runs after it, and reads what stopwatch recorded and printed.
check "the storm calls stop_machine() once more" insmod /stopwatch/stopwatch_storm.ko period_ms=60000
i=0
while [ $i -lt 100 ] && { grep -q ' end=running ' "$D/stops" || ! grep -q '^runs=1 ' "$H/stats"; }; do
	sleep 0.2
	i=$((i + 1))
done
incident
check "CPU 3 recorded entering the pair call (threads=2, its fn)" \
	sh -c "grep '\\[003\\]' $D/events | grep -q ' other_stop key=[0-9a-f]* threads=2 fn=stopwatch_hog_pair_fn+'"
# incident_has RE...: the incident's line matches every RE.
incident_has() {
	for re in "$@"; do
		incident | grep -q -- "$re" || return 1
	done
}
check "stops: CPU 2 late, then CPU 3, blocked in the pair call" \
	incident_has ' end=returned ' ' culprit=2,3 culprit_why=late,blocked ' ' blocked_in=3:stopwatch_hog_pair_fn+'
check "the pair call returned 0" sh -c 'dmesg | grep -q "stop_two_cpus(3, 2) returned 0"'
check "warning: CPU 2 named first, with the hog's task" \
	sh -c 'dmesg | grep -A2 "stopwatch: stop_machine #[0-9]* has waited" | grep -q "CPU 2 has not arrived: task=stopwatch_hog/2/"'
check "warning: CPU 3 blocked in another multi_cpu_stop(), with its fn" \
	sh -c 'dmesg | grep -q "CPU 3 has not arrived (blocked in another multi_cpu_stop(), fn=stopwatch_hog_pair_fn+"'
check "note: a waiting CPU waits for CPU 2 and CPU 3, blocked" \
	sh -c 'dmesg | grep -q "is waiting in stop_machine #[0-9]* (PREPARE, [0-9.]* s) for CPUs 2 (stopwatch_hog/2/[0-9]*), 3 ([^,]*, blocked in another multi_cpu_stop())"'
for m in stopwatch_storm stopwatch_hog stopwatch; do
	check "rmmod $m" rmmod $m
done
finish

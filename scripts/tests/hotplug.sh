# End-to-end: CPU hotplug (which runs stop_machine itself) with stopwatch
# loaded; a storm call held up by the hog; rmmod of the storm as the hog
# starts.
# vm-run: --cpus 4 --append watchdog_thresh=5

D=$SW_DEBUGFS
check "stopwatch.ko loads" insmod /stopwatch/stopwatch.ko
check "CPU 3 goes offline" sh -c 'echo 0 > /sys/devices/system/cpu/cpu3/online'
check "cpus shows CPU 3 offline" grep -q '^cpu=3 online=0 ' "$D/cpus"
check "stops has the hotplug instance (take_cpu_down, 4 CPUs, all arrived)" \
	sh -c "grep 'fn=take_cpu_down' $D/stops | grep -q ' cpus=4 arrivals_ms=0:+[0-9.]*,1:+[0-9.]*,2:+[0-9.]*,3:+[0-9.]* '"
check "CPU 3 comes back" sh -c 'echo 1 > /sys/devices/system/cpu/cpu3/online'
# x86 brings the new CPU's caching in line with the others by
# stop_machine_from_inactive_cpu() (cache_ap_online()): no
# stop_machine_cpuslocked(), its multi_cpu_stop() calls are other stops,
# on every CPU, CPU 3 included, num_active_cpus() + 1 threads. arm64 has
# no such call.
if [ "$SW_MACHINE" = x86_64 ]; then
	grep ' other_stop ' "$D/events" | tail -n 4
	check "stop_machine_from_inactive_cpu() recorded on CPU 3 (fn=cache_rendezvous_handler, 4 threads)" \
		sh -c "grep '\\[003\\]' $D/events | grep -q ' other_stop key=[0-9a-f]* threads=4 fn=cache_rendezvous_handler+'"
	check "... and on CPU 0, the same call" \
		sh -c "k=\$(grep '\\[003\\].* fn=cache_rendezvous_handler+' $D/events | tail -n1 | sed 's/.* key=\\([0-9a-f]*\\) .*/\\1/')
			grep '\\[000\\]' $D/events | grep -q \" other_stop key=\$k threads=4 fn=cache_rendezvous_handler+\""
else
	skip "stop_machine_from_inactive_cpu() recorded when CPU 3 comes back" "x86 only: MTRR/PAT's cache_ap_online()"
fi
check "no layout errors or missed probes across hotplug" \
	sh -c "grep -q 'layout_errors=0' $D/stats && grep -q ' missed=0 ' $D/stats"

# A storm call held up by the hog on CPU 1 completes and is recorded.
hog_holds_storm 1
check "stops shows a storm instance that waited >= 1.5 s for CPU 1" \
	sh -c "grep 'caller=stopwatch_storm/' $D/stops | grep -Eq 'longest_prepare_ms=(1[5-9][0-9]{2}|[2-9][0-9]{3})\\.[0-9]+ .* culprit=1 '"
check "storm unloads after a held-up call" rmmod stopwatch_storm

# rmmod as the hog starts: the storm's next call is held up for 2 s. While
# a stop_machine() call runs no other task does (every CPU is in a stopper
# or in the hog), so rmmod runs either before that call, or waits in
# kthread_stop() until the call is over; both must be clean.
sleep 1
check "storm loads again (period 50 ms)" insmod /stopwatch/stopwatch_storm.ko period_ms=50
sleep 1
echo 1 >/sys/kernel/debug/stopwatch_hog/run
check "rmmod of the storm right as the hog starts is clean" rmmod stopwatch_storm
check "the storm reported no failed call" sh -c "dmesg | grep 'stopwatch_storm: stopped:' | tail -n1 | grep -q 'errors=0'"
sleep 3
check "hog unloads" rmmod stopwatch_hog
check "stopwatch unloads" rmmod stopwatch
check "dmesg has no BUG, WARNING or Oops" dmesg_clean
finish

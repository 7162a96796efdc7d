# End-to-end: a probe that cannot be registered is named in dmesg with its
# errno, the load fails, and nothing stays registered.
# vm-run: --cpus 2

fails "stopwatch refuses to load when probe 9 (stop_machine_yield) cannot be placed" \
	insmod /stopwatch/stopwatch.ko test_missing_probe=9
check "dmesg names the symbol and the errno" \
	sh -c 'dmesg | grep -q "cannot kprobe \"stopwatch_test_no_such_symbol\": error -2"'
check "no probe is left registered" sh -c 'test -e /sys/kernel/debug/kprobes/list && ! grep -q . /sys/kernel/debug/kprobes/list'
check "no debugfs directory is left" test ! -e "$SW_DEBUGFS"
fails "a kretprobe failure (probe 8, multi_cpu_stop) unwinds too" insmod /stopwatch/stopwatch.ko test_missing_probe=8
check "dmesg names the kretprobe" \
	sh -c 'dmesg | grep -q "cannot kretprobe \"stopwatch_test_no_such_symbol\": error -2"'
check "still nothing registered" sh -c 'test -e /sys/kernel/debug/kprobes/list && ! grep -q . /sys/kernel/debug/kprobes/list'
fails "test_missing_probe out of range is refused" insmod /stopwatch/stopwatch.ko test_missing_probe=11
check "a normal load then works and registers every probe" \
	sh -c 'insmod /stopwatch/stopwatch.ko && test $(grep -c . /sys/kernel/debug/kprobes/list) = 10'
check "paired probes are kretprobes" sh -c 'grep -q " r  stop_machine_cpuslocked+0x0" /sys/kernel/debug/kprobes/list && grep -q " r  multi_cpu_stop+0x0" /sys/kernel/debug/kprobes/list'
check "every probe in the table is registered on its symbol" sh -c '
	for s in touch_softlockup_watchdog touch_softlockup_watchdog_sched touch_softlockup_watchdog_sync \
		touch_all_softlockup_watchdogs softlockup_fn watchdog_timer_fn stop_machine_cpuslocked \
		multi_cpu_stop stop_machine_yield add_taint; do
		grep -q " $s+0x0" /sys/kernel/debug/kprobes/list || { echo "missing $s"; exit 1; }
	done'
check "stopwatch unloads and unregisters everything" \
	sh -c 'rmmod stopwatch && test -e /sys/kernel/debug/kprobes/list && ! grep -q . /sys/kernel/debug/kprobes/list'
check "dmesg has no BUG, WARNING or Oops" dmesg_clean
finish

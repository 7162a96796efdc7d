# End-to-end: stopwatch reads the private struct multi_stop_data only
# through a layout it has checked. Read 8 bytes off, as on a kernel whose
# struct differs, every multi_cpu_stop() call of an instance counts in
# layout_errors and no state is read through it; read right, none does.
# vm-run: --cpus 2

D=$SW_DEBUGFS
# storm_burst: about 50 stop_machine() calls.
storm_burst() {
	insmod /stopwatch/stopwatch_storm.ko period_ms=20 && sleep 1 && rmmod stopwatch_storm
}
states_of_instances() { grep -Ec 'stop_state stop=[1-9][0-9]* state=(PREPARE|DISABLE_IRQ|RUN)' "$D/events"; }

check "stopwatch loads with test_layout_shift=8" insmod /stopwatch/stopwatch.ko test_layout_shift=8
check "storm calls stop_machine()" storm_burst
check "shifted: layout_errors counts the calls" sh -c "grep -Eq ' layout_errors=[1-9]' $D/stats"
check "shifted: no PREPARE, DISABLE_IRQ or RUN state is recorded" test "$(states_of_instances)" = 0
check "shifted: the instances still show their arrivals" \
	sh -c "grep 'caller=stopwatch_storm/' $D/stops | grep -q ' arrivals_ms=0:+[0-9.]*,1:+'"
check "stopwatch unloads" rmmod stopwatch
fails "test_layout_shift=65 is refused" insmod /stopwatch/stopwatch.ko test_layout_shift=65
check "the refusal is explained in dmesg" sh -c 'dmesg | grep -q "test_layout_shift=65 must be 0..=64"'
check "stopwatch loads" insmod /stopwatch/stopwatch.ko
check "storm calls stop_machine()" storm_burst
check "right: no layout error" grep -Eq ' layout_errors=0( |$)' "$D/stats"
check "right: the states are recorded" test "$(states_of_instances)" -gt 0
check "stopwatch unloads" rmmod stopwatch
check "dmesg has no BUG, WARNING or Oops" dmesg_clean
finish

# End-to-end: stopwatch and the samples load, show themselves, unload
# cleanly, and bad parameters are refused.
# vm-run: --cpus 4

check "stopwatch.ko loads" insmod /stopwatch/stopwatch.ko
check "debugfs directory /sys/kernel/debug/stopwatch exists" test -d "$SW_DEBUGFS"
check "format file reports record format 1" test "$(cat "$SW_DEBUGFS/format")" = 1
check "format file is root read-only (0400)" test "$(stat -c %a "$SW_DEBUGFS/format")" = 400
check "stopwatch.ko unloads" rmmod stopwatch
check "debugfs directory is gone after rmmod" test ! -e "$SW_DEBUGFS"
check "stopwatch.ko loads again after unload" insmod /stopwatch/stopwatch.ko
check "and unloads again" rmmod stopwatch

fails "storm refuses period_ms=0" insmod /stopwatch/stopwatch_storm.ko period_ms=0
check "refusal is explained in dmesg" sh -c 'dmesg | grep -q "period_ms=0 out of range"'
check "storm loads with defaults" insmod /stopwatch/stopwatch_storm.ko
check "storm unloads" rmmod stopwatch_storm

check "dmesg has no BUG, WARNING or Oops" dmesg_clean
finish

# End-to-end: stopwatch and the samples load, show themselves, unload
# cleanly, and bad parameters are refused.
# vm-run: --cpus 4

check "stopwatch.ko loads" insmod /stopwatch/stopwatch.ko
check "debugfs directory /sys/kernel/debug/stopwatch exists" test -d "$SW_DEBUGFS"
check "format file reports record format 2" test "$(cat "$SW_DEBUGFS/format")" = 2
check "format file is root read-only (0400)" test "$(stat -c %a "$SW_DEBUGFS/format")" = 400
check "stopwatch.ko unloads" rmmod stopwatch
check "debugfs directory is gone after rmmod" test ! -e "$SW_DEBUGFS"
check "stopwatch.ko loads again after unload" insmod /stopwatch/stopwatch.ko
check "and unloads again" rmmod stopwatch

fails "storm refuses period_ms=0" insmod /stopwatch/stopwatch_storm.ko period_ms=0
check "refusal is explained in dmesg" sh -c 'dmesg | grep -q "period_ms=0 out of range"'
check "storm loads with defaults" insmod /stopwatch/stopwatch_storm.ko
check "storm unloads" rmmod stopwatch_storm

fails "hog refuses seconds=0" insmod /stopwatch/stopwatch_hog.ko seconds=0
fails "hog refuses seconds=61" insmod /stopwatch/stopwatch_hog.ko seconds=61
fails "hog refuses touch_ms=10001" insmod /stopwatch/stopwatch_hog.ko touch_ms=10001
fails "hog refuses delay_ms=60001" insmod /stopwatch/stopwatch_hog.ko delay_ms=60001
fails "hog refuses a CPU that does not exist" insmod /stopwatch/stopwatch_hog.ko cpu=99
fails "hog refuses a CPU listed twice" insmod /stopwatch/stopwatch_hog.ko cpu=1,1
fails "hog refuses 2 lengths for 3 CPUs" insmod /stopwatch/stopwatch_hog.ko cpu=1,2,3 seconds=2,3
check "hog's refusals are explained in dmesg" sh -c 'dmesg | grep -q "seconds=0 out of range" && dmesg | grep -q "seconds=61 out of range" && dmesg | grep -q "touch_ms=10001 out of range" && dmesg | grep -q "delay_ms=60001 out of range" && dmesg | grep -q "cpu=99 does not exist" && dmesg | grep -q "cpu=1 is listed twice" && dmesg | grep -q "seconds takes one value or one per CPU: 2 for 3 CPUs"'
check "hog takes two CPUs with a length each, and runs both on request" sh -c 'insmod /stopwatch/stopwatch_hog.ko start=0 cpu=1,2 seconds=1,2 touch_ms=100 &&
	echo 1 > /sys/kernel/debug/stopwatch_hog/run && sleep 3 &&
	grep -q "^runs=1 running=0 .* seconds=1,2 " /sys/kernel/debug/stopwatch_hog/stats &&
	grep -q "^cpu=1 seconds=1 runs=1 running=0 " /sys/kernel/debug/stopwatch_hog/stats &&
	grep -q "^cpu=2 seconds=2 runs=1 running=0 " /sys/kernel/debug/stopwatch_hog/stats &&
	rmmod stopwatch_hog'
check "hog loads without running (start=0)" insmod /stopwatch/stopwatch_hog.ko start=0 cpu=1 seconds=1
check "hog runs once on request" sh -c 'echo 1 > /sys/kernel/debug/stopwatch_hog/run && sleep 2 && grep -q "runs=1 running=0" /sys/kernel/debug/stopwatch_hog/stats'
fails "hog's run file refuses '2'" sh -c 'echo 2 > /sys/kernel/debug/stopwatch_hog/run'
check "hog unloads" rmmod stopwatch_hog
fails "stopwatch refuses buffer_size=100" insmod /stopwatch/stopwatch.ko buffer_size=100
fails "stopwatch refuses warn_percent=0" insmod /stopwatch/stopwatch.ko warn_percent=0
check "stopwatch's refusals are explained in dmesg" sh -c 'dmesg | grep -q "buffer_size=100 must be" && dmesg | grep -q "warn_percent=0 must be"'

check "dmesg has no BUG, WARNING or Oops" dmesg_clean
finish

# End-to-end: rings for the CPUs that have come up, not for every possible
# one. The guest boots 2 of its 4 CPUs (maxcpus=2): stopwatch loads with
# 2 rings; CPU 2, brought up later, gets its ring from the hotplug
# callback and is recorded and named like the others; it keeps its ring
# (and history) offline and across a resize; CPU 3, up after the resize,
# gets one of the new size. A ring is 40 bytes a record (`logic::ring`).
# vm-run: --cpus 4 --append maxcpus=2 --append watchdog_thresh=5

D=$SW_DEBUGFS
RING=$((4096 * 40))
check "4 possible CPUs, 2 online" \
	sh -c 'test "$(cat /sys/devices/system/cpu/possible)" = 0-3 && test "$(cat /sys/devices/system/cpu/online)" = 0-1'
check "stopwatch.ko loads" insmod /stopwatch/stopwatch.ko
check "the load line: rings for 2 of 4 possible CPUs" \
	sh -c "dmesg | grep 'stopwatch: recording:' | tail -n1 | grep -q 'rings for 2 of 4 possible CPUs ($((2 * RING / 1024)) KiB)'"
grep '^memory ' "$D/stats"
check "stats: 2 rings of 4096 records, for 4 possible CPUs" \
	grep -q "^memory possible_cpus=4 rings=2 ring_bytes=$((2 * RING)) .* ring_failures=0$" "$D/stats"
check "stats: a line for CPUs 0 and 1 only" sh -c "test \"\$(grep '^cpu=' $D/stats | cut -d' ' -f1 | paste -sd' ')\" = 'cpu=0 cpu=1'"
check "cpus: a line for every possible CPU, 2 and 3 offline" \
	sh -c "grep -q '^cpu=2 online=0 ' $D/cpus && grep -q '^cpu=3 online=0 ' $D/cpus"
check "CPU 2 comes up" sh -c 'echo 1 > /sys/devices/system/cpu/cpu2/online'
check "stats: CPU 2 got its ring" \
	sh -c "grep -q '^memory possible_cpus=4 rings=3 ring_bytes=$((3 * RING)) ' $D/stats && grep -q '^cpu=2 ' $D/stats"
sleep 2
check "CPU 2's watchdog is recorded" sh -c "grep '\\[002\\]' $D/events | grep -q ' watchdog_check '"

# The hog on CPU 2 holds up a storm call: CPU 2 is named as any other.
hog_holds_storm 2
check "stops: a storm instance of 3 CPUs waited >= 1.5 s for CPU 2" \
	sh -c "grep 'caller=stopwatch_storm/' $D/stops | grep ' cpus=3 ' | grep -Eq 'longest_prepare_ms=(1[5-9][0-9]{2}|[2-9][0-9]{3})\\.[0-9]+ .* culprit=2 '"
check "storm unloads" rmmod stopwatch_storm
check "hog unloads" rmmod stopwatch_hog

# Offline, CPU 2 keeps its ring and what it recorded.
check "CPU 2 goes offline" sh -c 'echo 0 > /sys/devices/system/cpu/cpu2/online'
check "stats: still 3 rings" grep -q '^memory possible_cpus=4 rings=3 ' "$D/stats"
check "events: CPU 2's records are still there" grep -q '\[002\]' "$D/events"
# A resize makes rings for the CPUs that had one: CPU 2's too, not 3's.
check "recording off" sh -c "echo 0 > $D/enable"
check "buffer_size 64" sh -c "echo 64 > $D/buffer_size"
check "stats: 3 rings of 64 records after the resize" \
	grep -q "^memory possible_cpus=4 rings=3 ring_bytes=$((3 * 64 * 40)) " "$D/stats"
check "recording on" sh -c "echo 1 > $D/enable"
check "CPU 3 comes up after the resize" sh -c 'echo 1 > /sys/devices/system/cpu/cpu3/online'
check "stats: CPU 3 got a ring of the new size" \
	grep -q "^memory possible_cpus=4 rings=4 ring_bytes=$((4 * 64 * 40)) " "$D/stats"
check "no layout errors or missed probes" \
	sh -c "grep -q 'layout_errors=0' $D/stats && grep -q ' missed=0 ' $D/stats"
check "stopwatch unloads" rmmod stopwatch
check "dmesg has no BUG, WARNING or Oops" dmesg_clean
finish

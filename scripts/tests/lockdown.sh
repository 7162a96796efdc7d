# End-to-end: stopwatch under lockdown, as a Secure Boot machine runs it
# (lockdown=integrity). Loaded first, then lockdown raised: debugfs opens
# only files with no write bit, so every view (stops, events, dump, cpus,
# stats, format) still reads and the console diagnosis still works, while
# the control files (0600, 0200) refuse to open, with the kernel's reason
# in dmesg; their values are in stats. An unsigned module is refused.
# Kernels without the lockdown LSM (the project's own) skip.
# vm-run: --cpus 4

D=$SW_DEBUGFS
L=/sys/kernel/security/lockdown
H=/sys/kernel/debug/stopwatch_hog
mkdir -p /sys/kernel/security
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
if [ ! -e $L ]; then
	skip "lockdown" "this kernel has no lockdown LSM (CONFIG_SECURITY_LOCKDOWN_LSM); Debian's kernel has"
	finish
fi
check "lockdown starts off (none)" grep -q '\[none\]' $L

echo 1 >/proc/sys/kernel/watchdog_thresh
# The hog runs on CPU 2; this shell and its commands on CPU 3 (see
# console.sh: a CPU flushing the TLB of a task CPU 2 last ran waits for it).
check "this shell pinned to CPU 3" sh -c "taskset -p 8 $$ >/dev/null"
check "stopwatch.ko loads" insmod /stopwatch/stopwatch.ko
check "storm loads (period 200 ms)" insmod /stopwatch/stopwatch_storm.ko period_ms=200
check "the storm's thread kept off CPU 2" storm_off 2
# No debugfs write can start the hog once lockdown is on: it starts itself.
check "hog loads, to run 3 s after load (CPU 2, 4 s)" \
	insmod /stopwatch/stopwatch_hog.ko cpu=2 seconds=4 touch_ms=100 delay_ms=3000
check "lockdown raised to integrity" sh -c "echo integrity > $L && grep -q '\\[integrity\\]' $L"

# Every view reads, with no write bit in its mode.
for f in stops events dump cpus stats format; do
	check "$f is read-only (0400)" test "$(stat -c %a "$D/$f")" = 400
	check "$f reads under lockdown" sh -c "cat $D/$f >/tmp/$f && test -s /tmp/$f"
done
# The control files refuse, with the kernel's reason; the settings are in
# stats.
for f in enable buffer_size warn_percent console; do
	fails "$f does not open for reading under lockdown" sh -c "cat $D/$f >/dev/null 2>&1"
done
check "a control write fails with 'Operation not permitted'" \
	sh -c "! (echo 0 > $D/enable) 2>/tmp/err && grep -q 'Operation not permitted' /tmp/err"
check "dmesg says why (Lockdown: debugfs access is restricted)" \
	sh -c "dmesg | grep -q 'Lockdown: .*debugfs access is restricted'"
check "stats still shows the settings (enabled=1, console=1)" \
	sh -c "grep -q '^format=[0-9]* enabled=1 buffer_size=[0-9]* warn_percent=[0-9]* console=1 ' $D/stats"

# The stall, started by the hog itself.
hog_wait_runs 1 150
check "the hog ran once" grep -q '^runs=1 running=0 ' $H/stats
check "the stall made the kernel report soft lockups" sh -c "dmesg | grep -q 'BUG: soft lockup'"
check "console: the warning names CPU 2 and the hog, under lockdown" \
	sh -c "dmesg | grep -Eq 'stopwatch: #[0-9]+ CPU 2 has not arrived: task=stopwatch_hog/2/'"
check "console: a note after a report names CPU 2" \
	sh -c "dmesg | grep -Eq 'stopwatch: CPU [013] is waiting in stop_machine #[0-9]+ [(]PREPARE, [0-9.]+ s[)] for CPU 2 [(]stopwatch_hog/2/'"
check "stops names CPU 2 as the culprit, read under lockdown" \
	sh -c "grep -Eq 'longest_prepare_ms=([2-9][0-9]{3}|[1-9][0-9]{4})\\.[0-9]+ .* culprit=2 ' $D/stops"

# An unsigned module: refused, and dmesg says why.
check "storm unloads under lockdown" rmmod stopwatch_storm
fails "an unsigned module is refused under lockdown" insmod /stopwatch/stopwatch_storm.ko
check "dmesg says why (unsigned module loading is restricted)" \
	sh -c "dmesg | grep -q 'Lockdown: .*unsigned module loading is restricted'"
check "hog unloads" rmmod stopwatch_hog
check "stopwatch unloads under lockdown" rmmod stopwatch
finish

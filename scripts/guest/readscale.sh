# shellcheck shell=sh
# The guest side of scripts/scale's reading at size (busybox sh): every
# CPU's ring full (test_fill=FILL), a stop_machine() storm every 100 ms,
# and `stops`, `events` and `dump` each read whole while it runs: how
# many lines, how long (guest time), and the longest a reader kept its
# CPU without yielding (stats: reading longest_hold_us).
D=/sys/kernel/debug/stopwatch
dmesg -n 1
insmod /stopwatch/stopwatch.ko buffer_size="$FILL" test_fill="$FILL" || { echo "=== error insmod stopwatch"; exit 3; }
insmod /stopwatch/stopwatch_storm.ko period_ms=100 || { echo "=== error insmod storm"; exit 3; }
sleep 1
# uptime_cs: the guest's uptime in hundredths of a second.
uptime_cs() { read -r up _ </proc/uptime; echo "${up%.*}${up#*.}"; }
for f in stops events dump; do
	t0=$(uptime_cs)
	n=$(wc -l <"$D/$f")
	t1=$(uptime_cs)
	echo "=== read file=$f lines=$n cs=$((t1 - t0))"
done
echo "=== stats $(grep '^reading ' $D/stats) $(grep '^memory ' $D/stats)"
rmmod stopwatch_storm
rmmod stopwatch
echo "=== end"

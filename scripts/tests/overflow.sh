# End-to-end: tiny rings under a stop_machine storm overwrite the oldest
# records, and every counter still adds up with what `events` shows.
# vm-run: --cpus 4

D=$SW_DEBUGFS
check "stopwatch.ko loads with 16-record rings" insmod /stopwatch/stopwatch.ko buffer_size=16
check "storm loads (period 20 ms)" insmod /stopwatch/stopwatch_storm.ko period_ms=20
sleep 2
check "storm unloads" rmmod stopwatch_storm
echo 0 >"$D/enable"
cat "$D/stats" >/tmp/stats
cat "$D/events" >/tmp/events
cat /tmp/stats
ring_ok() {
	for cpu in 0 1 2 3; do
		line=$(grep "^cpu=$cpu " /tmp/stats)
		w=$(echo "$line" | sed 's/.* written=\([0-9]*\) .*/\1/')
		o=$(echo "$line" | sed 's/.* overwritten=\([0-9]*\) .*/\1/')
		r=$(echo "$line" | sed 's/.* in_ring=\([0-9]*\) .*/\1/')
		lines=$(grep -c "\\[00$cpu\\] " /tmp/events)
		[ "$o" -gt 0 ] || { echo "cpu $cpu: nothing overwritten ($line)"; return 1; }
		[ "$r" -le 16 ] || { echo "cpu $cpu: in_ring $r > 16"; return 1; }
		[ $((o + r)) = "$w" ] || { echo "cpu $cpu: written $w != overwritten $o + in_ring $r"; return 1; }
		[ "$lines" = "$r" ] || { echo "cpu $cpu: $lines event lines, in_ring $r"; return 1; }
	done
}
check "each CPU overwrote, keeps <= 16, written = overwritten + in_ring = event lines" ring_ok
check "no torn record was returned and none missed" grep -q ' missed=0 torn=0$' /tmp/stats
check "events are in time order" sh -c "awk '{t = \$3; sub(/:\$/, \"\", t); if (t + 0 < last) exit 1; last = t + 0}' /tmp/events"
check "stops still reads (partial instances are fine)" cat "$D/stops"
check "stopwatch unloads" rmmod stopwatch
check "dmesg has no BUG, WARNING or Oops" dmesg_clean
finish

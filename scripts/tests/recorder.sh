# End-to-end: the recorder sees stop_machine instances from the storm on
# every CPU, its views agree with each other, bad control input changes
# nothing, and unload is clean.
# vm-run: --cpus 4 --append watchdog_thresh=2

D=$SW_DEBUGFS
check "stopwatch.ko loads" insmod /stopwatch/stopwatch.ko
check "storm loads (period 300 ms)" insmod /stopwatch/stopwatch_storm.ko period_ms=300
sleep 3
check "storm unloads" rmmod stopwatch_storm

# --- cpus: every CPU touched within the watchdog period (2*2/5 s = 800 ms;
# the check allows 200 ms of timer and scheduling lateness under TCG).
cpus_ok() {
	lines=$(grep -c '^cpu=' "$D/cpus")
	[ "$lines" = 4 ] || { echo "expected 4 cpu lines, got $lines"; return 1; }
	awk '/^cpu=/ {
		for (i = 1; i <= NF; i++) if ($i ~ /^touch_age_ms=/) { split($i, kv, "="); age = kv[2] }
		if (age == "-" || age + 0 >= 1000) { print "stale: " $0; bad = 1 }
	} END { exit bad }' "$D/cpus"
}
check "cpus: a touch within the 800 ms watchdog period (+200 ms slack) on every CPU" cpus_ok

echo 0 >"$D/enable"
cat "$D/stops" >/tmp/stops
cat "$D/events" >/tmp/events
cat "$D/stats" >/tmp/stats
cat "$D/dump" >/tmp/dump
echo "--- stops"; cat /tmp/stops
echo "--- stats"; cat /tmp/stats

# --- stops: the storm's instances, all 4 CPUs in and out.
stop=$(grep 'caller=stopwatch_storm/' /tmp/stops | grep ' ret=0 ' | tail -n1 | sed 's/^stop=\([0-9]*\) .*/\1/')
check "stops lists a completed storm instance" test -n "$stop"
arrivals_ok() {
	grep "^stop=$stop " /tmp/stops | grep -q ' cpus=4 arrivals_ms=0:+[0-9.]*,1:+[0-9.]*,2:+[0-9.]*,3:+[0-9.]* '
}
check "stops: instance $stop has all 4 CPUs arriving" arrivals_ok
check "stops: instance $stop, an ordinary call, has a longest PREPARE wait and no culprit" \
	sh -c "grep '^stop=$stop ' /tmp/stops | grep -q ' longest_prepare_ms=[0-9].* culprit=- culprit_why=ordinary '"

# --- events: each CPU's states of that instance, in order (the arrival,
# NONE, stands for PREPARE too: every CPU arrives in it).
states_ok() {
	for cpu in 0 1 2 3; do
		seq=$(grep "\\[00$cpu\\] .* stop_state stop=$stop " /tmp/events | sed 's/.*state=//' | tr '\n' ' ')
		if [ "$seq" != "NONE DISABLE_IRQ RUN EXIT " ]; then
			echo "cpu $cpu of stop $stop: '$seq'"
			return 1
		fi
	done
}
check "events: each CPU went NONE DISABLE_IRQ RUN EXIT in stop $stop" states_ok
check "events: stop_begin and stop_end of stop $stop from the storm" \
	sh -c "grep -q 'stopwatch_storm-.* stop_begin stop=$stop fn=' /tmp/events && grep -q 'stop_end stop=$stop ret=0 duration_ms=' /tmp/events"

# --- stats agree with events.
counts_ok() {
	total=$(grep -c . /tmp/events)
	in_ring=$(sed -n 's/^total .* in_ring=\([0-9]*\) .*/\1/p' /tmp/stats)
	[ "$total" = "$in_ring" ] || { echo "events has $total lines, stats says in_ring=$in_ring"; return 1; }
	for cpu in 0 1 2 3; do
		lines=$(grep -c "\\[00$cpu\\] " /tmp/events)
		want=$(sed -n "s/^cpu=$cpu written=[0-9]* overwritten=[0-9]* in_ring=\\([0-9]*\\) .*/\\1/p" /tmp/stats)
		[ "$lines" = "$want" ] || { echo "cpu $cpu: $lines lines, in_ring=$want"; return 1; }
	done
	enters=$(grep -c 'stop_state stop=[0-9]* state=NONE' /tmp/events)
	hits=$(sed -n 's/^probe="multi_cpu_stop" kind=kretprobe hits=\([0-9]*\) .*/\1/p' /tmp/stats)
	[ "$enters" = "$hits" ] || { echo "$enters arrivals in events, multi_cpu_stop hits=$hits"; return 1; }
}
check "stats: per-CPU and total in_ring match events; arrivals match probe hits" counts_ok
# --- dump: the same records as events, with the header tools/timeline
# reads (a line per CPU with its threshold).
dump_ok() {
	head -n 1 /tmp/dump | grep -Eq '^stopwatch-dump version=1 format=2 cpus=4 now_ns=[0-9]+ printk_ns=[0-9]+ warn_percent=50 online=0,1,2,3 running=[0-9,]* last_stop=[0-9]+$' ||
		{ echo "header: $(head -n 1 /tmp/dump)"; return 1; }
	[ "$(grep -c '^threshold cpu=[0-3] ns=[0-9]*$' /tmp/dump)" = 4 ] || { echo "threshold lines"; return 1; }
	records=$(grep -c '^r [0-9a-f]\{16\} [0-9a-f]\{16\} [0-9a-f]\{16\} [0-9a-f]\{16\}' /tmp/dump)
	[ "$records" = "$(grep -c . /tmp/events)" ] || { echo "$records record lines, $(grep -c . /tmp/events) events"; return 1; }
	[ "$(grep -c . /tmp/dump)" = $((records + 5)) ] || { echo "other lines in dump"; return 1; }
	# (The storm is unloaded: its fn is an address now.)
	grep -q "	sym=0x[0-9a-f]*$" /tmp/dump || { echo "no storm fn address"; return 1; }
	grep -q "	sym=[a-z_]*+0x[0-9a-f]*/0x[0-9a-f]*" /tmp/dump || { echo "no caller symbol"; return 1; }
	grep -q "	comm=migration/2" /tmp/dump || { echo "no stopper comm"; return 1; }
}
check "dump: a header, a threshold per CPU, a line per events record, with names" dump_ok

check "stats: no probe missed a hit, no layout error" \
	sh -c "grep -q ' missed=0 ' /tmp/stats && grep -q 'layout_errors=0' /tmp/stats"

# --- modes.
mode_is() { test "$(stat -c %a "$D/$1")" = "$2"; }
for f in events cpus stops stats format dump; do check "mode of $f is 0400" mode_is "$f" 400; done
for f in enable buffer_size warn_percent console; do check "mode of $f is 0600" mode_is "$f" 600; done
check "mode of clear is 0200" mode_is clear 200

# --- bad control input fails and changes nothing.
lines_before=$(grep -c . "$D/events")
for bad in 2 on " 1" -1 01 "1 1"; do
	fails "enable refuses '$bad'" sh -c "printf '%s' '$bad' > $D/enable"
done
check "enable still 0" test "$(cat "$D/enable")" = 0
for bad in 0 yes 2; do
	fails "clear refuses '$bad'" sh -c "echo '$bad' > $D/clear"
done
for bad in 1000 8 0 abc 4096k; do
	fails "buffer_size refuses '$bad'" sh -c "echo '$bad' > $D/buffer_size"
done
for bad in 0 101 abc; do
	fails "warn_percent refuses '$bad'" sh -c "echo '$bad' > $D/warn_percent"
done
check "buffer_size still 4096" test "$(cat "$D/buffer_size")" = 4096
check "warn_percent still 50" test "$(cat "$D/warn_percent")" = 50
check "events unchanged by refused writes" test "$(grep -c . "$D/events")" = "$lines_before"

# --- good control input works.
echo 1 >"$D/enable"
fails "buffer_size refuses a resize while enabled (EBUSY)" sh -c "echo 1024 > $D/buffer_size"
echo 0 >"$D/enable"
check "buffer_size 1024 accepted while disabled" sh -c "echo 1024 > $D/buffer_size"
check "buffer_size reads 1024" test "$(cat "$D/buffer_size")" = 1024
check "resize empties the rings" test "$(grep -c . "$D/events")" = 0
echo 1 >"$D/enable"
sleep 1
check "recording resumes after resize" test "$(grep -c . "$D/events")" -gt 0
check "clear empties the rings" sh -c "echo 1 > $D/clear && echo 0 > $D/enable && test \$(grep -c . $D/events) = 0"
check "warn_percent 75 accepted" sh -c "echo 75 > $D/warn_percent && test \$(cat $D/warn_percent) = 75"

check "stopwatch.ko unloads" rmmod stopwatch
check "dmesg has no BUG, WARNING or Oops" dmesg_clean
finish

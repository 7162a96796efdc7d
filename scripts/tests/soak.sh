# End-to-end soak: stopwatch loads into machines in the middle of an
# incident and must never be the next one. Each part repeats something a
# user does during one, with counts printed (`SOAK ...` lines), under a
# 100 Hz stop_machine() storm where it makes sense:
#   loads     insmod/rmmod cycles, a reader running
#   hotplug   CPU 3 off and on, recording and reading
#   resize    buffer_size and clear changed, recording and reading
#   events    10 M records into 16-record rings: written = overwritten +
#             in_ring on every CPU, and the records read are the ones held
#   fuzz      random writes to every control file: only EINVAL, state
#             unchanged
#   held      rmmod as a stop_machine() gets held up by the hog
# `make test` runs it short; `make soak` (scripts/soak) long, with the
# counts from the environment (SOAK_LOADS, SOAK_HOTPLUG, SOAK_RESIZE,
# SOAK_EVENTS, SOAK_FUZZ, SOAK_HELD).
# It boots single-threaded TCG (--accel tcg-single): under multi-threaded
# TCG a CPU can run an int3 the kernel already removed from an ftrace
# site and synchronised every CPU against, and registering any kprobe on
# the stop path under a storm crashes the guest with no stopwatch code
# loaded (scripts/probe-race). That tests QEMU, not stopwatch.
# vm-run: --cpus 4 --mem 1024M --timeout 1800 --accel tcg-single

D=$SW_DEBUGFS
B=/sys/kernel/debug/stopwatch_bench
LOADS=${SOAK_LOADS:-10}
HOTPLUG=${SOAK_HOTPLUG:-5}
RESIZE=${SOAK_RESIZE:-10}
EVENTS=${SOAK_EVENTS:-1000000}
FUZZ=${SOAK_FUZZ:-300}
HELD=${SOAK_HELD:-3}
[ "$FUZZ" -ge 2 ] || FUZZ=2
echo "SOAK counts: loads=$LOADS hotplug=$HOTPLUG resize=$RESIZE events=$EVENTS fuzz=$FUZZ held=$HELD"

# part_start / part_took: a part's guest time, printed on its SOAK line.
part_start() { read -r part_t0 _ </proc/uptime; }
part_took() { read -r t _ </proc/uptime; echo "$((${t%.*} - ${part_t0%.*})) s"; }

# reader_start / reader_stop: a loop reading every stopwatch file, while
# stopwatch may come and go under it.
reader_start() {
	rm -f /tmp/reader-stop
	(
		while [ ! -e /tmp/reader-stop ]; do
			for f in events stops cpus stats dump; do
				cat "$D/$f" >/dev/null 2>&1
			done
			usleep 20000
		done
	) &
	READER=$!
}
reader_stop() {
	touch /tmp/reader-stop
	wait "$READER"
}
# no_checker_report: dmesg (since the test began) has no BUG, WARNING,
# Oops, call trace, or KASAN or lockdep report; on a kernel with kmemleak
# (the debug flavour), a scan finds no leak of stopwatch's modules.
no_checker_report() {
	if test_dmesg | grep -E 'BUG|WARNING|Oops|Call [Tt]race|KASAN|lockdep|possible circular'; then
		return 1
	fi
	[ -e /sys/kernel/debug/kmemleak ] || return 0
	echo scan >/sys/kernel/debug/kmemleak
	sleep 5
	echo scan >/sys/kernel/debug/kmemleak
	leaks=$(grep -c 'unreferenced object' /sys/kernel/debug/kmemleak)
	echo "SOAK kmemleak: $leaks unreferenced objects in all"
	! grep -A 20 'unreferenced object' /sys/kernel/debug/kmemleak | grep stopwatch
}
# ring_accounts: on every CPU, written = overwritten + in_ring.
ring_accounts() {
	grep '^cpu=' "$D/stats" | while read -r line; do
		w=$(echo "$line" | sed 's/.* written=\([0-9]*\) .*/\1/')
		o=$(echo "$line" | sed 's/.* overwritten=\([0-9]*\) .*/\1/')
		r=$(echo "$line" | sed 's/.* in_ring=\([0-9]*\) .*/\1/')
		[ $((o + r)) = "$w" ] || { echo "written $w != overwritten $o + in_ring $r: $line"; exit 1; }
	done
}
# total KEY: the sum of KEY=N over the CPUs of `stats`.
total() { sed -n "s/^cpu=.* $1=\([0-9]*\) .*/\1/p" "$D/stats" | awk '{ s += $1 } END { print s + 0 }'; }

check "storm loads (100 Hz)" insmod /stopwatch/stopwatch_storm.ko period_ms=10

# --- loads: insmod/rmmod cycles under the storm, a reader running.
reader_start
# unload: rmmod stopwatch, again while the reader holds a file open (an
# open debugfs file holds the module); counts the retries.
unload() {
	n=0
	while ! rmmod stopwatch 2>/dev/null; do
		n=$((n + 1))
		[ $n -lt 200 ] || return 1
		usleep 10000
	done
	retries=$((retries + n))
}
loads() {
	part_start
	i=0 retries=0
	while [ $i -lt "$LOADS" ]; do
		insmod /stopwatch/stopwatch.ko || { echo "load $i failed"; return 1; }
		usleep 50000
		unload || { echo "unload $i failed"; return 1; }
		i=$((i + 1))
	done
	echo "SOAK loads: $i insmod/rmmod cycles under a 100 Hz storm, a reader running ($retries rmmod retries while it held a file open), in $(part_took)"
}
check "$LOADS load cycles" loads
reader_stop

# --- hotplug: CPU 3 off and on, recording and reading.
check "stopwatch loads" insmod /stopwatch/stopwatch.ko
reader_start
hotplug() {
	part_start
	i=0
	while [ $i -lt "$HOTPLUG" ]; do
		echo 0 >/sys/devices/system/cpu/cpu3/online || return 1
		echo 1 >/sys/devices/system/cpu/cpu3/online || return 1
		i=$((i + 1))
	done
	echo "SOAK hotplug: $i off/on cycles of CPU 3, recording and reading, in $(part_took)"
}
check "$HOTPLUG hotplug cycles" hotplug
check "no layout error" grep -q ' layout_errors=0' "$D/stats"
# A hit on a CPU where a handler runs is dropped by the kprobe core and
# counted (Limits in Documentation/stopwatch.rst): the watchdog's timer, or
# a touch from an interrupt, landing in a jump-optimised touch handler,
# which runs with interrupts on. A long run on a slow (KASAN) kernel sees
# some. No kretprobe may miss (nothing calls their functions from a
# handler or an interrupt: a miss there would be an instance lost), and
# the kprobes' misses stay rare: one, or under 1 in 10,000 of the probe's
# hits (a probe hit a few times, watchdog_timer_fn() here, once lost a hit
# of 2 on Debian's image, its timer landing in a handler that runs with
# interrupts on; the spin probe, whose handler must not, is checked to be
# an int3 probe by the probes test). Every miss is printed.
misses_ok() {
	awk '/^probe=/ {
		kind = $2; sub(/kind=/, "", kind)
		hits = $3; sub(/hits=/, "", hits)
		missed = $4; sub(/nmissed=/, "", missed)
		if (missed + 0 > 0) print "SOAK missed: " $0
		if (missed + 0 > 0 && (kind == "kretprobe" || (missed > 1 && missed * 10000 > hits + 0))) bad = 1
	} END { exit bad }' "$D/stats"
}
check "no kretprobe missed a hit, a kprobe one or under 1 in 10,000 (nested hits)" misses_ok

# --- resize: buffer_size and clear, recording and reading.
resize() {
	part_start
	i=0
	while [ $i -lt "$RESIZE" ]; do
		case $((i % 4)) in
		0) size=16 ;; 1) size=1024 ;; 2) size=64 ;; *) size=4096 ;;
		esac
		echo 0 >"$D/enable" && echo $size >"$D/buffer_size" && echo 1 >"$D/enable" || return 1
		usleep 30000
		echo 1 >"$D/clear" || return 1
		usleep 30000
		grep -q "buffer_size=$size " "$D/stats" || { echo "buffer_size is not $size"; return 1; }
		i=$((i + 1))
	done
	echo "SOAK resize: $i resizes and clears under the storm, a reader running, in $(part_took)"
}
check "$RESIZE resizes and clears" resize
reader_stop
check "storm unloads" rmmod stopwatch_storm

# --- events: 10 M records through 16-record rings, every one accounted.
check "the bench helper loads" insmod /stopwatch/stopwatch_bench.ko
check "16-record rings" sh -c "echo 0 > $D/enable && echo 16 > $D/buffer_size && echo 1 > $D/enable"
events() {
	part_start
	before=$(total written)
	# Touches from two call sites in turn: each one is recorded.
	left=$EVENTS
	while [ "$left" -gt 0 ]; do
		n=$left
		[ "$n" -gt 10000000 ] && n=10000000
		[ "$n" -lt 1000 ] && n=1000
		echo $n >$B/run_alternate || return 1
		left=$((left - n))
	done
	echo 0 >"$D/enable"
	written=$(($(total written) - before))
	grep '^cpu=' "$D/stats"
	echo "SOAK events: $written records written into 16-record rings, $(total overwritten) overwritten, $(total in_ring) in the rings, in $(part_took)"
	[ "$written" -ge "$EVENTS" ] || { echo "only $written written"; return 1; }
	ring_accounts
}
check "$EVENTS records into 16-record rings: written = overwritten + in_ring per CPU" events
# torn counts since the load: the resize part's reader, racing the storm,
# may have added some (a KASAN kernel reads slowly enough to).
torn() { sed -n 's/^total .* torn=\([0-9]*\)$/\1/p' "$D/stats"; }
torn_before=$(torn)
check "... and events shows exactly what the rings hold" test "$(wc -l <"$D/events")" = "$(total in_ring)"
# (A hit can be missed here, counted: the watchdog's timer interrupt landing
# in a touch handler, on a CPU touching in a tight loop.)
grep '^total ' "$D/stats"
none_torn() { [ -n "$torn_before" ] && [ "$(torn)" = "$torn_before" ]; }
check "... none counted torn by reading with recording off" none_torn
check "the bench helper unloads" rmmod stopwatch_bench
check "stopwatch unloads" rmmod stopwatch

# --- fuzz: random writes to every control file.
check "stopwatch loads" insmod /stopwatch/stopwatch.ko
# One awk pass writes every input, a line each: the file, then the bytes
# as echo -e escapes (\0ooo), so NULs and newlines get through too. Each
# is 1 to 24 bytes: raw random bytes, a random number, or a random number
# with two random bytes before it. The loop then runs shell builtins only
# (echo, read): a process per write made 10,000 writes outlast 90 minutes
# on a KASAN kernel under TCG.
fuzz_inputs() {
	head -c $((FUZZ * 24)) /dev/urandom | od -An -v -tu1 | awk -v n="$FUZZ" '
	{ for (k = 1; k <= NF; k++) b[m++] = $k }
	END {
		split("enable clear buffer_size warn_percent console", f, " ")
		for (i = 0; i < n; i++) {
			name = f[i % 5 + 1]
			len = (i * 7 + length(name)) % 24 + 1
			at = (i * 24) % (n * 24 - 24)
			raw = ""
			for (k = 0; k < len; k++) raw = raw sprintf("\\0%03o", b[at + k])
			num = 0
			for (k = 3; k >= 0; k--) num = num * 256 + (k < len ? b[at + k] : 0)
			num = sprintf("%.0f", num)
			if (i % 3 == 0) input = raw
			else if (i % 3 == 1) input = num
			else input = sprintf("\\0%03o\\0%03o%s", b[at], b[at + 1], num)
			print name, input
		}
	}' >/tmp/fuzz-inputs
}
fuzz() {
	part_start
	fuzz_inputs || return 1
	i=0 refused=0 accepted=0 other=0
	while read -r f input; do
		# state: what the control files set (the first line of stats).
		read -r was <"$D/stats"
		# (echo says why a write failed: "write error: <errno's text>".)
		if echo -ne "$input" >"$D/$f" 2>/tmp/err; then
			accepted=$((accepted + 1))
		else
			err=
			read -r err </tmp/err
			case "$f:$err" in
			*"Invalid argument" | "buffer_size:"*"busy")
				# (A valid size while recording is EBUSY, documented.)
				refused=$((refused + 1))
				read -r now <"$D/stats"
				[ "$now" = "$was" ] || { echo "$f: refused '$input' but the state changed: $was -> $now"; return 1; } ;;
			*)
				other=$((other + 1))
				echo "$f: '$input': $err" ;;
			esac
		fi
		i=$((i + 1))
	done </tmp/fuzz-inputs
	[ "$i" = "$FUZZ" ] || { echo "wrote $i of $FUZZ inputs"; return 1; }
	echo "SOAK fuzz: $i random writes, $refused refused with EINVAL (EBUSY for a valid buffer_size while recording), state unchanged, $accepted accepted, $other other errors, in $(part_took)"
	[ "$other" = 0 ]
}
check "$FUZZ random control writes: only EINVAL, nothing changed" fuzz
check "stopwatch unloads" rmmod stopwatch

# --- held: rmmod as a stop_machine() gets held up by the hog. While the
# call waits no task runs (every CPU is in a stopper or in the hog), so
# rmmod runs before it, or, caught mid-way (probes half unregistered, a
# kretprobe instance inside multi_cpu_stop()), resumes after it.
check "the hog loads idle (CPU 2, 1 s runs)" insmod /stopwatch/stopwatch_hog.ko start=0 cpu=2 seconds=1
check "storm loads (period 50 ms)" insmod /stopwatch/stopwatch_storm.ko period_ms=50
held() {
	part_start
	i=0 retries=0
	while [ $i -lt "$HELD" ]; do
		# Console off: the early warning's backtrace is a Call Trace.
		insmod /stopwatch/stopwatch.ko console=0 warn_percent=100 || return 1
		usleep 200000
		echo 1 >/sys/kernel/debug/stopwatch_hog/run
		unload || { echo "unload $i failed"; return 1; }
		i=$((i + 1))
		n=0
		while ! grep -q "^runs=$i running=0 " /sys/kernel/debug/stopwatch_hog/stats; do
			n=$((n + 1))
			[ $n -lt 100 ] || { echo "hog run $i did not end"; return 1; }
			usleep 50000
		done
	done
	echo "SOAK held: $i rmmods of stopwatch as a stop_machine() got held up by the hog, in $(part_took)"
}
check "$HELD rmmods as a stop_machine() gets held up" held
check "the storm reported no failed call" sh -c 'rmmod stopwatch_storm && dmesg | grep "stopwatch_storm: stopped:" | tail -n1 | grep -q "errors=0"'
check "the hog unloads" rmmod stopwatch_hog
check "no checker report (BUG, WARNING, Oops, KASAN, lockdep, kmemleak)" no_checker_report
finish

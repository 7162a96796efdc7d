# End-to-end: the read path on full rings of the largest size. 4 CPUs x
# 1 Mi records (128 MiB of slots): `events` streams every record in time
# order with the guest's memory use bounded (no copy of the rings, no
# output buffer growing with the output), `stops` and `stats` read as
# usual, and no record is counted torn.
# vm-run: --cpus 4 --mem 1024M --timeout 600

D=$SW_DEBUGFS
N=1048576
# A KASAN kernel (the debug flavour) checks every access of the read: at
# full size it runs past the timeout. It reads an eighth, with a note.
if dmesg | grep -q 'KernelAddressSanitizer initialized'; then
	N=131072
	echo "note: KASAN kernel: 4 x 128 Ki records instead of 4 x 1 Mi"
fi
# avail_kb: MemAvailable, in KiB.
avail_kb() { sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo; }

check "stopwatch loads with 4 x $N records, filled" \
	insmod /stopwatch/stopwatch.ko buffer_size=$N test_fill=$N
fails "test_fill beyond buffer_size is refused" \
	insmod /stopwatch/stopwatch.ko buffer_size=16 test_fill=17
check "recording off (the rings stay as they are)" sh -c "echo 0 > $D/enable"
check "stats: every ring holds $N records" test "$(grep -c "^cpu=.* in_ring=$N " "$D/stats")" = 4
grep '^cpu=' "$D/stats"

# Sample MemAvailable every 100 ms while `cat events` runs; the peak use is
# the drop from before.
before=$(avail_kb)
(
	low=$before
	while [ ! -e /tmp/read-done ]; do
		a=$(avail_kb)
		[ "$a" -lt "$low" ] && low=$a
		echo "$low" >/tmp/low
		usleep 100000
	done
) &
start=$(date +%s)
lines=$(wc -l <"$D/events")
end=$(date +%s)
touch /tmp/read-done
wait
low=$(cat /tmp/low)
echo "events: $lines lines in $((end - start)) s; MemAvailable before $before kB, lowest $low kB: peak use $((before - low)) kB"
check "events shows all 4 x $N records" test "$lines" = $((4 * N))
check "reading them used under 16 MiB of guest memory" test $((before - low)) -lt 16384
# Order: on the first 200,000 lines (awk on all 4 Mi takes minutes here).
check "events is in time order" sh -c "head -n 200000 $D/events | awk '{ t = \$3; sub(/:\$/, \"\", t); if (t + 0 < last) exit 1; last = t + 0 }'"
check "stops reads (no instance in synthetic records)" sh -c "cat $D/stops >/dev/null"
check "no record was counted torn" grep -q ' torn=0$' "$D/stats"
check "stopwatch unloads" rmmod stopwatch
check "dmesg has no BUG, WARNING or Oops" dmesg_clean
finish

# End-to-end: how long a reader keeps its CPU without yielding, measured
# where the figure means something: one vCPU under QEMU's -icount, where
# guest time counts the guest's own instructions (under plain TCG a
# stretch also counts whatever the host did meanwhile: descheduled vCPU
# threads, translation, milliseconds that are not the reader's). The
# reader measures itself (`stats`: reading longest_hold_us); a read of 64
# Ki records of `events`, and the analysis behind `stops` over them, must
# each keep it under one scheduling tick. Reading them in one stretch took
# about a second here.
# vm-run: --cpus 1 --icount 0 --mem 512M --timeout 600

D=$SW_DEBUGFS
N=65536
TICK_US=4000 # CONFIG_HZ=250 on the test kernels
# hold_us: the longest stretch so far, whole microseconds.
hold_us() { sed -n 's/^reading longest_hold_us=\([0-9]*\)\..*/\1/p' "$D/stats"; }

check "stopwatch loads with 64 Ki records, filled" insmod /stopwatch/stopwatch.ko buffer_size=$N test_fill=$N
check "recording off" sh -c "echo 0 > $D/enable"
check "nothing read yet: no stretch measured" test "$(hold_us)" = 0
check "events shows the 64 Ki records" test "$(wc -l <"$D/events")" = $N
grep '^reading ' "$D/stats"
check "reading events, no stretch reached one tick" test "$(hold_us)" -lt $TICK_US
check "stops reads" sh -c "cat $D/stops >/dev/null"
grep '^reading ' "$D/stats"
check "analysing them for stops, no stretch reached one tick" test "$(hold_us)" -lt $TICK_US
check "stopwatch unloads" rmmod stopwatch
check "dmesg has no BUG, WARNING or Oops" dmesg_clean
finish

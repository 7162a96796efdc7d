# shellcheck shell=sh
# Guest side of scripts/tests/host-panic.sh's sysrq scenarios: load
# stopwatch with ARGS, then crash the kernel through sysrq.
# In: ARGS (module parameters, may be empty).
#
# First wait for the boot's clocksource switch: on x86 the kernel moves
# from tsc-early to tsc about 2 s into boot, once the TSC is calibrated,
# and that switch is a stop_machine() call (timekeeping_notify()). Crashed
# during it, the dump rightly shows it in flight, which is not the case
# this scenario checks. current_clocksource changes only after the call
# has returned.
cs=/sys/devices/system/clocksource/clocksource0/current_clocksource
i=0
while [ $i -lt 100 ] && [ "$(cat $cs)" = tsc-early ]; do
	usleep 100000
	i=$((i + 1))
done
# shellcheck disable=SC2086 # ARGS is a list of parameters.
insmod /stopwatch/stopwatch.ko $ARGS || exit 3
echo c >/proc/sysrq-trigger

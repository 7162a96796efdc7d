# shellcheck shell=sh
# Guest side of scripts/tests/vm-panic.sh's sysrq scenarios: load
# stopwatch with ARGS, then crash the kernel through sysrq. (/init has
# waited for the boot's clocksource switch, a stop_machine() call that
# would otherwise be in flight at the panic now and then.)
# In: ARGS (module parameters, may be empty).
# shellcheck disable=SC2086 # ARGS is a list of parameters.
insmod /stopwatch/stopwatch.ko $ARGS || exit 3
echo c >/proc/sysrq-trigger

# End-to-end: a probe that cannot be registered is named in dmesg with its
# errno, the load fails, and nothing stays registered. (The timeout is for
# the KASAN kernels: 7.3's takes over 5 min to try every function.)
# vm-run: --cpus 2 --timeout 900

fails "stopwatch refuses to load when probe 9 (stop_machine_yield) cannot be placed" \
	insmod /stopwatch/stopwatch.ko test_missing_probe=9
check "dmesg names the symbol and the errno" \
	sh -c 'dmesg | grep -q "cannot kprobe \"stopwatch_test_no_such_symbol\": error -2"'
check "no probe is left registered" sh -c 'test -e /sys/kernel/debug/kprobes/list && ! grep -q . /sys/kernel/debug/kprobes/list'
check "no debugfs directory is left" test ! -e "$SW_DEBUGFS"
fails "a kretprobe failure (probe 8, multi_cpu_stop) unwinds too" insmod /stopwatch/stopwatch.ko test_missing_probe=8
check "dmesg names the kretprobe" \
	sh -c 'dmesg | grep -q "cannot kretprobe \"stopwatch_test_no_such_symbol\": error -2"'
check "still nothing registered" sh -c 'test -e /sys/kernel/debug/kprobes/list && ! grep -q . /sys/kernel/debug/kprobes/list'
fails "test_missing_probe out of range is refused" insmod /stopwatch/stopwatch.ko test_missing_probe=11
dmesg >/tmp/before
check "a normal load then works and registers every probe" \
	sh -c 'insmod /stopwatch/stopwatch.ko && test $(grep -c . /sys/kernel/debug/kprobes/list) = 10'
# A production machine gets one line from a load: no self-tests, no noise.
dmesg >/tmp/after
check "the load printed one line, 'stopwatch: recording: ...'" \
	sh -c 'test $(($(wc -l </tmp/after) - $(wc -l </tmp/before))) = 1 && tail -n 1 /tmp/after | grep -q "stopwatch: recording: 10 probes"'
# A function's entry, as kprobes places a probe there: +0x0, but on an x86
# kernel with IBT (Debian's) after the ENDBR64 every function starts with,
# +0x4 (arch_adjust_kprobe_addr()); such a kernel links the seal list,
# __ibt_endbr_seal, of which kallsyms knows.
entry=0x0
if [ "$SW_MACHINE" = x86_64 ] && grep -q ' __ibt_endbr_seal$' /proc/kallsyms; then entry=0x4; fi
check "paired probes are kretprobes (entry +$entry)" sh -c "grep -q ' r  stop_machine_cpuslocked+$entry ' /sys/kernel/debug/kprobes/list && grep -q ' r  multi_cpu_stop+$entry ' /sys/kernel/debug/kprobes/list"
# On its entry, but for stop_machine_yield(), the spin probe. On x86 it
# is on the instruction that leaves the function (ret, or the jmp to the
# return thunk), which kprobes emulate: one trap a spin instead of two
# (sw_register_spin_kprobe() in rust/services.c): +0x7 after push %rbp;
# mov %rsp,%rbp; pause; pop %rbp (the project's kernels, frame pointers),
# +0x6 after ENDBR64 and pause (Debian's: IBT, no frame pointers). On an
# arm64 kernel without BTI, whose first instruction is then cpu_relax()'s
# YIELD, which arm64's kprobes refuse, the probe is on the next
# instruction (sw_register_after_yield()); with BTI (the test kernels have
# it) a BTI C comes first, which kprobes accept.
if [ "$SW_MACHINE" = aarch64 ]; then yield_at='0x[04]'; else yield_at='0x[67]'; fi
check "every probe in the table is registered on its symbol's entry (+$entry), the spin probe at stop_machine_yield+$yield_at" sh -c "
	for s in touch_softlockup_watchdog touch_softlockup_watchdog_sched touch_softlockup_watchdog_sync \
		touch_all_softlockup_watchdogs softlockup_fn watchdog_timer_fn stop_machine_cpuslocked \
		multi_cpu_stop stop_machine_yield add_taint; do
		at=$entry; [ \$s != stop_machine_yield ] || at='$yield_at'
		grep -q \" \$s+\$at \" /sys/kernel/debug/kprobes/list || { echo \"missing \$s+\$at\"; exit 1; }
	done"
# The spin probe's handler must run with interrupts off, so that the
# watchdog's timer, which reports the waiting CPUs, never lands in it (a
# hit it brings would be dropped as nested): an int3 probe, neither
# jump-optimised (its post handler keeps the kprobe core from that, which
# works from a work item a few jiffies after registering) nor ftrace-based.
sleep 1
check "the spin probe is an int3 probe (neither [OPTIMIZED] nor [FTRACE])" sh -c "
	grep -q ' stop_machine_yield+' /sys/kernel/debug/kprobes/list &&
	! grep ' stop_machine_yield+' /sys/kernel/debug/kprobes/list | grep -q 'OPTIMIZED\|FTRACE'"
# No kprobe can land in stopwatch's own code (rust/Kbuild puts it all in
# .kprobes.text): try one on every function of stopwatch.ko kallsyms
# lists, through the bench helper, which registers whatever kprobes allow.
B=/sys/kernel/debug/stopwatch_bench
check "the bench helper loads" insmod /stopwatch/stopwatch_bench.ko
# try_probe ADDR: 0 or the -errno of a kprobe at ADDR.
try_probe() { echo "$1" >$B/probe_try && sed -n 's/^ret=//p' $B/probe_try; }
control_accepted() {
	addr=$(grep ' [tT] bench_stop_fn' /proc/kallsyms | grep stopwatch_bench | cut -d' ' -f1)
	[ -n "$addr" ] && [ "$(try_probe "$addr")" = 0 ]
}
check "a kprobe on the bench helper's own code is accepted (the control)" control_accepted
# Not tried: cleanup_module (.exit.text) and, on a KASAN kernel, the
# compiler's asan.module_ctor/dtor of the module's .mod.o, which run once,
# at load or unload, on no hit path. The last of them is the module's last
# function, which kallsyms sizes up to the next symbol: 6.12's kprobe
# optimiser, decoding that far, faults. Nor arm64's mapping symbols ($x:
# code starts here), which are not functions (the kernel's own lookups
# skip them; /proc/kallsyms lists them): the one of .exit.text is
# cleanup_module's address.
all_refused() {
	grep '\[stopwatch\]$' /proc/kallsyms | grep -E '^[0-9a-f]+ [tT] ' |
		grep -Ev ' (cleanup_module|asan\.module_(ctor|dtor)|\$[a-z])[[:space:]]' >/tmp/functions
	n=0 bad=0
	while read -r addr _type name _mod; do
		n=$((n + 1))
		ret=$(try_probe "$addr")
		[ "$ret" = -22 ] || { echo "not refused ($ret): $name"; bad=$((bad + 1)); }
	done </tmp/functions
	echo "$n functions of stopwatch.ko tried, $bad not refused (-EINVAL expected)"
	[ "$n" -ge 100 ] && [ "$bad" = 0 ]
}
check "kprobes refuse every function of stopwatch.ko (-EINVAL)" all_refused
check "stopwatch_probe_hit and stopwatch_touch_hit are among them" \
	sh -c 'grep -q " stopwatch_probe_hit" /tmp/functions && grep -q " stopwatch_touch_hit" /tmp/functions'
check "the bench helper unloads" rmmod stopwatch_bench
check "stopwatch unloads and unregisters everything" \
	sh -c 'rmmod stopwatch && test -e /sys/kernel/debug/kprobes/list && ! grep -q . /sys/kernel/debug/kprobes/list'
check "dmesg has no BUG, WARNING or Oops" dmesg_clean
finish

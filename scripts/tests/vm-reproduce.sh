#!/usr/bin/env bash
# VM test (from the host, booting guests): scripts/reproduce replays the seed's lockup and stopwatch
# explains it, in its files and on the console (warning, backtrace, a note
# after each of the kernel's reports), for three hog CPU / vCPU-count
# combinations (up to 16 vCPUs), does not blame stop_machine for a hog
# alone, and runs the same scene without stopwatch (the A/B); on 6.12,
# the real incident: a global OOM's task dump holds a CPU and the others
# report soft lockups in migration/N. Each scenario boots its own guest.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
SW_HOST=1 . "$root/scripts/guest/lib.sh"

# value KEY: from the summary lines of the last run.
value() { sed -n "s/^summary .*\\b$1=\\([^ ]*\\).*/\\1/p" "$out" | head -n1; }
# others CPUS HOG: "0,1,3" for 4 CPUs and hog 2.
others() { seq 0 $(($1 - 1)) | grep -vx "$2" | paste -sd, -; }
# before A B: both are numbers (not '-', not missing) and A < B.
before() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "-" && b != "-" && a != "" && b != "" && a + 0 < b + 0) }'; }

# What the console's "Linux version" line must say on a distribution
# kernel: its release, then (after the compiler) its package version.
. "$root/scripts/lib.sh"
sw_select_kernel
distro_booted=
[ "$SW_KIND" != distro ] || distro_booted="$SW_DISTRO_RELEASE .* Debian $SW_DISTRO_VERSION "

storm_scenario() {
	local cpus=$1 hog=$2 tag="cpus=$1 hog=$2"
	out=$(mktemp)
	set +e
	"$root/scripts/reproduce" --cpus "$cpus" --hog-cpu "$hog" --thresh 1 \
		--hog-seconds 6 --touch-ms 100 --period-ms 1000 >"$out" 2>&1
	rc=$?
	set -e
	cat "$out"
	local waiters
	waiters=$(others "$cpus" "$hog")
	check "[$tag] reproduce exits 0 (reproduced and diagnosed)" test "$rc" = 0
	# On a distribution kernel, its image, as Debian built it.
	[ -z "$distro_booted" ] ||
		check "[$tag] the guest ran Debian's own image ($distro_booted)" grep -q "^Linux version $distro_booted" "$out"
	check "[$tag] soft lockups reported on CPUs $waiters exactly" test "$(value bug_cpus)" = "$waiters"
	check "[$tag] no soft lockup reported on the hog's CPU $hog" test "$(value expected_cpu_reported)" = 0
	check "[$tag] the reported tasks are migration/N" \
		sh -c "echo '$(value bug_tasks)' | tr , '\\n' | grep -qv '^migration/' && exit 1 || exit 0"
	check "[$tag] CPUs $waiters waited in PREPARE >= 2 s" test "$(value waiters)" = "$waiters"
	check "[$tag] CPU $hog arrived last" test "$(value last_arrival)" = "$hog"
	check "[$tag] culprit is CPU $hog" test "$(value culprit)" = "$hog"
	check "[$tag] culprit task is the hog" sh -c "value=\"$(value culprit_task)\"; case \"\$value\" in stopwatch_hog/$hog/*) exit 0 ;; esac; exit 1"
	check "[$tag] no touch on waiting CPUs before the earliest possible report (1.6*thresh)" \
		test "$(value waiters_touched_before_threshold)" = 0
	check "[$tag] touches on CPU $hog during the wait" test "$(value culprit_touches)" -gt 0
	check "[$tag] early warning precedes the first BUG line" before "$(value first_warning_s)" "$(value first_bug_s)"
	check "[$tag] console: stopwatch's warning precedes the first BUG line in dmesg" \
		before "$(value console_warning_s)" "$(value first_bug_s)"
	check "[$tag] console: the warning names CPU $hog and the hog's task" \
		sh -c "test '$(value console_warning_cpu)' = $hog && case '$(value console_warning_task)' in stopwatch_hog/$hog/*) exit 0 ;; esac; exit 1"
	check "[$tag] console: CPU $hog's backtrace shows the hog's code" test "$(value console_backtrace_culprit_frame)" = 1
	check "[$tag] console: every soft-lockup report is followed by a note naming CPU $hog" \
		sh -c "test '$(value unannotated_reports)' = 0 && test '$(value annotated_reports)' = '$(value bug_lines)'"
	check "[$tag] the storm keeps completing calls afterwards" \
		test "$(value storm_calls_after)" -gt "$(value storm_calls_before)"
	check "[$tag] rmmod of all three modules is clean" test "$(value rmmod_ok)" = 3
	# (The storm's next call comes up to a period after the hog starts.)
	check "[$tag] the storm's longest call spans most of the hog's 6 s" \
		awk -v m="$(value storm_max_ms)" 'BEGIN { exit !(m + 0 >= 4000 && m + 0 < 10000) }'
	check "[$tag] no checker report, Oops or WARN in dmesg" test "$(value checker_reports)" = 0
	grep -q 'stop_machine #[0-9]* from stopwatch_storm/.* waited .* in PREPARE for CPU '"$hog"', which ran stopwatch_hog/' "$out" &&
		echo "STOPWATCH-TEST ok - [$tag] diagnosis names the stop, the wait, the CPU and the hog" ||
		{ echo "STOPWATCH-TEST not ok - [$tag] diagnosis names the stop, the wait, the CPU and the hog"; SW_FAILED=1; }
	rm -f "$out"
}

storm_scenario 4 2
storm_scenario 3 1
# At size (make scale goes to 64): 15 waiters, each report annotated; on
# our 7.3 (NR_CPUS=64) and Debian's generic image (8192), not again on
# 6.12 and the RT image (make test's time).
case "$SW_KERNEL:${SW_DISTRO_FLAVOUR:-}" in
7.3:* | debian-7.3:amd64) storm_scenario 16 9 ;;
*) skip "[cpus=16 hog=9] the storm scenario at 16 vCPUs" "run on 7.3 and debian-7.3 amd64 (and make scale)" ;;
esac

# Two hogs at once, CPU 1 for 4 s and CPU 2 for 6 s: the other CPUs wait
# for both; stopwatch names both, most late first, with lags and tasks.
two_hogs() {
	local tag="two hogs, CPU 1 for 4 s and CPU 2 for 6 s"
	out=$(mktemp)
	set +e
	"$root/scripts/reproduce" --cpus 4 --hog-cpu 1,2 --hog-seconds 4,6 >"$out" 2>&1
	rc=$?
	set -e
	cat "$out"
	check "[$tag] reproduce exits 0 (both CPUs named)" test "$rc" = 0
	check "[$tag] soft lockups reported on CPUs 0,3 exactly" test "$(value bug_cpus)" = 0,3
	check "[$tag] culprits: CPU 2, then CPU 1 (most late first)" test "$(value culprit)" = 2,1
	check "[$tag] their tasks are the two hogs" \
		sh -c "case '$(value culprit_task)' in stopwatch_hog/2/*,stopwatch_hog/1/*) exit 0 ;; esac; exit 1"
	check "[$tag] CPU 2 arrived 1 to 3 s after CPU 1 (lags from the first arrival)" \
		awk -v l="$(value culprit_lag_ms)" 'BEGIN { split(l, a, ","); d = a[1] - a[2]; exit !(d > 1000 && d < 3000) }'
	check "[$tag] console: the warning names CPUs 1 and 2" test "$(value console_warning_cpus)" = 1,2
	check "[$tag] console: every report is followed by a note naming the hogs' CPUs still out" \
		sh -c "test '$(value unannotated_reports)' = 0 && test '$(value annotated_reports)' = '$(value bug_lines)'"
	rm -f "$out"
}
two_hogs

# The hog alone, never touching: the kernel blames the hog's CPU, and
# stopwatch blames no stop_machine.
out=$(mktemp)
set +e
"$root/scripts/reproduce" --no-storm --touch-ms 0 --cpus 4 --hog-cpu 2 --hog-seconds 6 >"$out" 2>&1
rc=$?
set -e
cat "$out"
tag="no storm, touch-ms=0"
check "[$tag] reproduce exits 0" test "$rc" = 0
check "[$tag] the kernel reports CPU 2 itself" test "$(value bug_cpus)" = 2
check "[$tag] stopwatch emits no early warning" test "$(value early_warnings)" = 0
check "[$tag] stopwatch prints no stop_machine blame" test "$(value console_lines)" = 0
check "[$tag] no stop_machine wait over the threshold" \
	awk -v w="$(value longest_prepare_ms)" 'BEGIN { exit !(w != "" && w + 0 < 2000) }'
rm -f "$out"

# The same scene without stopwatch (the A/B's other side): the kernel's
# reports come as with it, nothing of stopwatch's is printed, and the
# storm measures the stall stopwatch would have diagnosed. On 7.3 only:
# what differs is the scripts, not the kernel.
no_stopwatch() {
	local tag="no stopwatch, cpus=4 hog=2"
	out=$(mktemp)
	set +e
	"$root/scripts/reproduce" --no-stopwatch --cpus 4 --hog-cpu 2 --hog-seconds 6 >"$out" 2>&1
	rc=$?
	set -e
	cat "$out"
	check "[$tag] reproduce exits 0 (the kernel reported the stoppers)" test "$rc" = 0
	check "[$tag] soft lockups reported on CPUs 0,1,3 exactly" test "$(value bug_cpus)" = 0,1,3
	check "[$tag] nothing of stopwatch's on the console" test "$(value console_lines)" = 0
	check "[$tag] the hog and the storm loaded and unloaded, stopwatch not" \
		sh -c "test '$(value modules_loaded)' = 2 && test '$(value rmmod_ok)' = 2 && test '$(value stopwatch)' = 0"
	# (The storm's next call comes up to a period after the hog starts.)
	check "[$tag] the storm's longest call spans most of the hog's 6 s" \
		awk -v m="$(value storm_max_ms)" 'BEGIN { exit !(m + 0 >= 4000 && m + 0 < 10000) }'
	check "[$tag] the kernel's longest 'stuck for' is 2..7 s" \
		awk -v s="$(value longest_stuck_s)" 'BEGIN { exit !(s + 0 >= 2 && s + 0 <= 7) }'
	check "[$tag] the guest's uptime is reported" awk -v g="$(value guest_s)" 'BEGIN { exit !(g + 0 > 0) }'
	rm -f "$out"
}
if [ "$SW_KERNEL" = 7.3 ]; then
	no_stopwatch
else
	skip "[no stopwatch] the scene without stopwatch" "run on 7.3"
fi

# The real incident, on the kernel without forced preemption: no hog, the
# kernel's own OOM report holds the CPU.
oom_scenario() {
	# 9000, not reproduce's default 6000: with 6000 the task dump took 2.9 s
	# in one run of many (5 s typical), under the 2 s threshold plus a
	# watchdog period, and the kernel reported nothing to diagnose.
	local tag="global OOM, 9000 processes"
	out=$(mktemp)
	set +e
	"$root/scripts/reproduce" --kernel 6.12 --workload oom --procs 9000 >"$out" 2>&1
	rc=$?
	set -e
	cat "$out"
	local oom_cpu
	oom_cpu=$(value oom_cpu)
	check "[$tag] reproduce exits 0 (reproduced and diagnosed)" test "$rc" = 0
	check "[$tag] one global OOM kill, its report's CPU found" \
		sh -c "test '$(value global_oom_kills)' = 1 && test '$oom_cpu' != -"
	check "[$tag] soft lockups reported in migration/N only" \
		sh -c "echo '$(value bug_tasks)' | tr , '\\n' | grep -qv '^migration/' && exit 1 || exit 0"
	check "[$tag] the CPU that ran the OOM dump ($oom_cpu) is not reported" test "$(value expected_cpu_reported)" = 0
	check "[$tag] culprit is the CPU that ran the OOM dump" \
		sh -c "test '$oom_cpu' != - && test '$(value culprit)' = '$oom_cpu'"
	check "[$tag] culprit task is the task that hit the OOM" \
		sh -c "test '$(value oom_task)' != - && test '$(value culprit_task)' = '$(value oom_task)'"
	check "[$tag] the culprit's touches include dump_tasks' (one per 1024 tasks, at most)" \
		sh -c "test '$(value dump_touches)' -ge 1 && test '$(value dump_touches)' -le '$(value expected_dump_touches)'"
	check "[$tag] the waiters waited in PREPARE past the threshold" \
		sh -c "test -n '$(value waiters)' && test '$(value waiters)' != -"
	check "[$tag] console: the warning names the CPU that ran the OOM dump" \
		sh -c "test '$oom_cpu' != - && test '$(value console_warning_cpu)' = '$oom_cpu'"
	check "[$tag] console: every soft-lockup report is followed by a note naming it" \
		sh -c "test '$(value unannotated_reports)' = 0 && test '$(value annotated_reports)' = '$(value bug_lines)'"
	check "[$tag] rmmod of stopwatch and the storm is clean" test "$(value rmmod_ok)" = 2
	check "[$tag] no checker report, Oops or WARN in dmesg" test "$(value checker_reports)" = 0
	rm -f "$out"
}
[ "${STOPWATCH_KERNEL:-7.3}" != 6.12 ] || oom_scenario
exit "$SW_FAILED"

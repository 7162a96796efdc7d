#!/usr/bin/env bash
# VM test (from the host, booting guests): stopwatch's history after the crash, from the vmcore. A
# `scripts/reproduce --panic --vmcore` run keeps the guest's memory at the
# panic; the host reads every ring from it (scripts/vmcore: drgn for the
# memory, stopwatch's own reader and analysis for the rest) and its
# `stops` line for the call in flight says what the panic dump said: the
# same instance, caller, fn, culprit CPU and task; the vmcore holds every
# record the rings held (the panic dump counts them); the dump it wrote
# reads back to the same lines. On 6.12, the same for the real incident,
# the global OOM. On Debian's kernel, whose -dbg package has the types,
# the kernel's own structures name the same CPU and task, in that vmcore
# and in one of the same scene without stopwatch. A vmcore of a kernel
# without stopwatch, and a file that is no vmcore: a clear error, nothing
# written.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
SW_HOST=1 . "$root/scripts/guest/lib.sh"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
out=$dir/out
hog=2
set +e
"$root/scripts/reproduce" --panic --cpus 4 --hog-cpu $hog --vmcore "$dir/run" >"$out" 2>&1
rc=$?
set -e
grep -v '^\[' "$out" | tail -n 30
value() { sed -n "s/^summary .*\\b$1=\\([^ ]*\\).*/\\1/p" "$out" | head -n1; }
# refused NAME RE DESC: scripts/vmcore on $dir/NAME.core fails, its
# message matches RE, and it writes no dump.
refused() {
	set +e
	"$root/scripts/vmcore" "$dir/$1.core" --write-dump "$dir/$1.dump" >"$dir/$1.out" 2>&1
	rc=$?
	set -e
	cat "$dir/$1.out"
	check "$3: exit non-zero, $2 said, nothing written" \
		sh -c "test $rc != 0 && grep -q '$2' '$dir/$1.out' && test ! -e '$dir/$1.dump'"
	rm -f "$dir/$1.core"
}
check "reproduce --panic --vmcore exits 0" test "$rc" = 0
check "the guest panicked and its memory was kept" sh -c "test '$(value panicked)' = 1 && test -s '$dir/run/vmcore'"
check "stopwatch's rings were read from the vmcore" test "$(value vmcore_read)" = 1
for f in dump.txt stops.txt trace.json timeline.svg; do
	check "the vmcore gave $f" test -s "$dir/run/$f"
done

# The panic dump's lines (console) and the vmcore's `stops` line of the
# same instance: the one in flight.
console=$dir/run/console.txt
warn=$(grep -E 'stopwatch: stop_machine #[0-9]+ has waited .* not_arrived=' "$console" | tail -n1 || true)
stop=$(echo "$warn" | sed -n 's/.*stop_machine #\([0-9]*\) has waited \([0-9.]*\) ms.*/\1/p')
waited=$(echo "$warn" | sed -n 's/.*has waited \([0-9.]*\) ms.*/\1/p')
called=$(grep -E "stopwatch: #$stop called by " "$console" | tail -n1 || true)
caller=$(echo "$called" | sed -n 's/.* called by \([^ ]*\) at .*/\1/p')
fn=$(echo "$called" | sed -n 's/.* fn=\(.*\) began_ms_ago=.*/\1/p')
task=$(grep -E "stopwatch: #$stop CPU $hog has not arrived: task=" "$console" | tail -n1 | sed -n 's/.*task=\([^ ]*\).*/\1/p')
line=$(grep "^stop=$stop " "$dir/run/stops.txt" || true)
field() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n1; }
echo "panic dump: stop=$stop waited=$waited caller=$caller fn=$fn task=$task"
echo "vmcore:     $line"
check "the vmcore has the instance in flight at the panic (stop $stop), still running" test "$(field end)" = running
check "... called by the same task ($caller)" test "$(field caller)" = "$caller"
check "... of the same fn ($fn)" sh -c "echo '$line' | grep -qF 'fn=$fn '"
check "... its culprit is CPU $hog, not arrived" sh -c "test '$(field culprit)' = $hog && test '$(field culprit_why)' = not_arrived"
check "... and the hog, by the same task as the panic dump names ($task)" test "$(field culprit_task)" = "$task"
# The waits are measured to two moments the crash puts a few ms apart.
check "... its longest PREPARE wait is the panic dump's (within 50 ms)" \
	awk -v a="$(field longest_prepare_ms)" -v b="$waited" 'BEGIN { d = a - b; exit !(a != "" && d < 50 && d > -50) }'
# holds_all CONSOLE OUT: the vmcore read in OUT holds at least the records
# the panic dump in CONSOLE counted (panic() may touch the watchdog after
# the dump: a record more), and read every one it held, none torn.
holds_all() {
	sw_held=$(sed -n 's/.*stopwatch: rings hold \([0-9]*\) records.*/\1/p' "$1" | tail -n1)
	sw_read=$(grep '^vmcore: .* records held' "$2" | head -n1)
	echo "panic dump: $sw_held records; $sw_read"
	echo "$sw_read" | awk -v d="$sw_held" '{
		for (i = 1; i < NF; i++) {
			if ($(i + 1) == "records" && $(i + 2) == "held,") h = $i
			if ($(i + 1) == "read,") r = $i
			if ($(i + 1) == "torn,") t = $i
		}
		exit !(d != "" && h >= d && r == h && t == 0)
	}'
}
check "every record the rings held (the panic dump's count) is in the vmcore, all read, none torn" \
	holds_all "$console" "$out"
check "the dump written from the vmcore reads back to the same stops lines" \
	sh -c "'$root/target/release/stopwatch-timeline' '$dir/run/dump.txt' 2>/dev/null | cmp -s - '$dir/run/stops.txt'"
# A module file that is not one the crashed kernel had loaded (the bench
# module of the same build: never loaded in this run).
bench_ko=$(. "$root/scripts/lib.sh" && sw_module_files | grep '/stopwatch_bench\.ko$')
set +e
"$root/scripts/vmcore" "$dir/run/vmcore" -s "$bench_ko" --write-dump "$dir/wrong.dump" >"$dir/wrong.out" 2>&1
rc=$?
set -e
cat "$dir/wrong.out"
check "-s with a module the crashed kernel did not have: exit non-zero, says so, nothing written" \
	sh -c "test $rc != 0 && grep -q 'stopwatch_bench.ko is no part of the kernel in this memory' '$dir/wrong.out' && test ! -e '$dir/wrong.dump'"

# The kernel's own account, from its own structures, where its types are
# to be had (a distribution kernel's -dbg package, our kernel's dwarf
# flavour: make vmcore): on the same vmcore it names the CPU and the task
# stopwatch names; without the types, a clear error; and on a vmcore of
# the same scene without stopwatch, the same.
if (. "$root/scripts/lib.sh" && sw_select_kernel && sw_has_types); then
	echo "kernel: $(cat "$dir/run/kernel.txt" 2>/dev/null | tr '\n' '|')"
	check "the kernel's own structures in the same vmcore name CPU $hog as not arrived, running $task" \
		sh -c "test '$(value vmcore_kernel_names_culprit)' = 1 && grep -q '^kernel_stop .* not_arrived=$hog\$' '$dir/run/kernel.txt' && grep -qF 'CPU $hog has not arrived: its stopper'\''s work is queued, not started; it runs $task' '$dir/run/kernel.txt'"
	check "... and the stop_machine() in flight is the panic dump's (fn $fn, PREPARE)" \
		sh -c "grep -F ' fn=$(echo "$fn" | tr -d ' ') ' '$dir/run/kernel.txt' | grep -q ' state=PREPARE '"
	set +e
	"$root/scripts/vmcore" "$dir/run/vmcore" --kernel-only >"$dir/notypes.out" 2>&1
	rc=$?
	set -e
	cat "$dir/notypes.out"
	check "--kernel-only without the kernel's types: exit non-zero, says to give -s vmlinux with DWARF" \
		sh -c "test $rc != 0 && grep -q 'need its debug info (-s vmlinux with DWARF' '$dir/notypes.out'"
	rm -f "$dir/run/vmcore"
	set +e
	"$root/scripts/reproduce" --panic --no-stopwatch --cpus 4 --hog-cpu $hog --vmcore "$dir/bare" >"$out" 2>&1
	rc=$?
	set -e
	grep -v '^\[' "$out" | tail -n 12
	check "without stopwatch loaded: reproduce --panic --no-stopwatch --vmcore exits 0" test "$rc" = 0
	check "... the kernel's structures name CPU $hog as not arrived, the rest arrived, the hog running" \
		sh -c "grep -q '^kernel_stop .* arrived=0-1,3 not_arrived=$hog\$' '$dir/bare/kernel.txt' && grep -q 'CPU $hog has not arrived: .* it runs stopwatch_hog/$hog/' '$dir/bare/kernel.txt'"
	mv "$dir/bare/vmcore" "$dir/bare.core"
	refused bare 'no stopwatch descriptor' "... and stopwatch's reader finds no stopwatch in that memory"
else
	skip "the kernel's own stop_machine() state in the vmcore" "its types come from a distribution's -dbg package or the dwarf flavour: run on debian-7.3, or make vmcore"
fi
rm -f "$dir/run/vmcore"

# The real incident (6.12's global OOM, a 2 GiB guest) with --panic: the
# vmcore's stops line names the CPU and task the panic dump names as not
# arrived (the OOM report's), and holds every record. 9000 processes, as
# in vm-reproduce: with reproduce's default 6000 the task dump was once
# too short for the scene to last until the panic.
if [ "${STOPWATCH_KERNEL:-7.3}" = 6.12 ]; then
	set +e
	"$root/scripts/reproduce" --panic --workload oom --procs 9000 --vmcore "$dir/oom" >"$out" 2>&1
	rc=$?
	set -e
	grep '^summary\|^vmcore: ' "$out"
	check "the OOM with --panic --vmcore: reproduce exits 0" test "$rc" = 0
	check "... the vmcore's stops line names the panic dump's culprit CPU and task" test "$(value vmcore_names_hog)" = 1
	check "... and holds every record the rings held, all read, none torn" holds_all "$dir/oom/console.txt" "$out"
	rm -rf "$dir/oom"
fi

# A vmcore of a kernel without stopwatch, and a file that is no core.
"$root/scripts/vm-run" --quiet --no-build --cpus 2 --timeout 120 --vmcore "$dir/plain.core" \
	-- 'echo c >/proc/sysrq-trigger' >/dev/null 2>&1 || true
refused plain 'no stopwatch descriptor' "a vmcore of a kernel without stopwatch"
head -c 1048576 /dev/urandom >"$dir/noise.core"
refused noise 'noise.core: no VMCOREINFO' "a file that is no core"
exit "$SW_FAILED"

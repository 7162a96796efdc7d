#!/usr/bin/env bash
# VM test (from the host, booting guests): scripts/vm-run's contract: CPUs, modules and kallsyms in the
# guest, the guest command's status passed through, 125 when the kernel
# dies, 124 on timeout, 2 on bad usage; single-threaded TCG boots.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
SW_HOST=1 . "$root/scripts/guest/lib.sh"
vm() { "$root/scripts/vm-run" --no-build --quiet "$@"; }
status() { exit_status /dev/null "$@"; }

out=$(mktemp)
trap 'rm -f "$out"' EXIT
vm --log "$out" --cpus 4 -- 'dmesg -n 1; echo "NPROC=$(nproc)"; echo "KOS=$(ls /stopwatch/*.ko | wc -l)"; echo "KALLSYMS=$(grep -c . /proc/kallsyms)"' || true
check "4 vCPUs seen by nproc" grep -qx 'NPROC=4' "$out"
check "the built modules are in /stopwatch" grep -Eq '^KOS=[1-9]' "$out"
check "kallsyms is populated" grep -Eq '^KALLSYMS=[0-9]{4,}' "$out"
check "the guest command's status is passed through (exit 7)" test "$(status vm -- 'exit 7')" = 7
check "a panicking guest gives 125 (kernel died)" \
	test "$(status vm --timeout 60 -- 'echo c > /proc/sysrq-trigger; sleep 100')" = 125
check "a guest past --timeout gives 124" test "$(status vm --timeout 6 -- 'sleep 100')" = 124
check "--accel tcg-single (one host thread) boots 4 vCPUs and runs the command" \
	test "$(status vm --accel tcg-single --cpus 4 -- '[ "$(nproc)" = 4 ] && exit 9')" = 9
check "a bad --accel gives 2" test "$(status "$root/scripts/vm-run" --accel tcg2 -- true)" = 2
check "an unknown flag gives 2" test "$(status "$root/scripts/vm-run" --bogus -- true)" = 2
check "a bad --cpus gives 2" test "$(status "$root/scripts/vm-run" --cpus 300 -- true)" = 2
# More vCPUs than the kernel's NR_CPUS: refused, naming it (ours: 64;
# Debian's 8192 is past QEMU's 255).
. "$root/scripts/lib.sh"
nr_cpus=$(sed -n 's/^CONFIG_NR_CPUS=//p' "$(sw_kdir)/.config")
if [ "$nr_cpus" -lt 255 ]; then
	set +e
	"$root/scripts/vm-run" --no-build --cpus $((nr_cpus + 1)) -- true >/dev/null 2>"$out"
	rc=$?
	set -e
	check "--cpus $((nr_cpus + 1)) gives 2 naming the kernel's NR_CPUS ($nr_cpus)" \
		sh -c "test $rc = 2 && grep -q \"more than this kernel's NR_CPUS ($nr_cpus)\" '$out'"
else
	skip "--cpus past the kernel's NR_CPUS gives 2" "NR_CPUS=$nr_cpus is past QEMU's 255"
fi
check "--help succeeds" test "$(status "$root/scripts/vm-run" --help)" = 0
exit "$SW_FAILED"

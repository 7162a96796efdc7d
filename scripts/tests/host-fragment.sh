#!/usr/bin/env bash
# Host test: `make kernel` fails, naming the option, when a fragment option
# does not survive olddefconfig (a typo here, and one with a missing
# dependency), and `scripts/kernel check` accepts the real build's config.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/scripts/lib.sh"
sw_select_kernel
if [ "$SW_KIND" = distro ]; then
	# The distribution's config is its own: host-symbols checks it.
	echo "STOPWATCH-TEST skip - fragment ($SW_KERNEL is configured by the distribution, not by the fragments)"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

# The cached kernel's .config has every option of the fragment.
if ! "$root/scripts/kernel" check "$(sw_kernel_dir)/.config"; then
	echo "FAIL: the built kernel's .config does not pass the check"
	status=1
fi

# A typo and an option whose dependency is missing (TMPFS needs SHMEM).
{
	sed 's/^CONFIG_KPROBES=y$/CONFIG_KPROBEZ=y/; /^CONFIG_SHMEM=y$/d' "$root/.config.fragment"
	echo "CONFIG_SHMEM=n"
} >"$tmp/fragment"
export STOPWATCH_FRAGMENT=$tmp/fragment
dir=$(sw_kernel_dir)
set +e
"$root/scripts/kernel" build >"$tmp/out" 2>&1
rc=$?
set -e
rm -rf "$dir" "$dir.lock"
cat "$tmp/out"
if [ "$rc" = 0 ]; then
	echo "FAIL: scripts/kernel build succeeded with a broken fragment"
	status=1
fi
for opt in CONFIG_KPROBEZ CONFIG_TMPFS; do
	if ! grep -q "^  $opt=y" "$tmp/out"; then
		echo "FAIL: $opt not named in the error"
		status=1
	fi
done
exit "$status"

#!/usr/bin/env bash
# Host test: the modules link against the kernel they were built for, and
# the checks that say so fail by name. scripts/symcheck accepts the
# kernel's own Module.symvers and, given one without a symbol stopwatch.ko
# imports, names that symbol and the module. On a distribution kernel: the
# modules' vermagic is its release, and scripts/buildroot check refuses a
# build root whose rustc is not the one the kernel's config names, naming
# both version strings.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
SW_HOST=1 . "$root/scripts/guest/lib.sh"
. "$root/scripts/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sw_select_kernel
kdir=$(sw_kdir)
ko=$(sw_module_files | grep '/stopwatch\.ko$')
mapfile -t kos < <(sw_module_files)

check "symcheck accepts the kernel's Module.symvers for every module" \
	"$root/scripts/symcheck" "$kdir/Module.symvers" "${kos[@]}"
# A symbol stopwatch.ko imports, gone from the kernel's exports.
grep -v "	register_kprobe	" "$kdir/Module.symvers" >"$tmp/Module.symvers"
set +e
"$root/scripts/symcheck" "$tmp/Module.symvers" "${kos[@]}" >"$tmp/out" 2>&1
rc=$?
set -e
cat "$tmp/out"
check "symcheck fails on a Module.symvers without register_kprobe" test "$rc" = 1
check "and names the symbol and the module" grep -q '^scripts/symcheck: stopwatch.ko needs register_kprobe, which ' "$tmp/out"
check "and names no other symbol" test "$(sed -n 's/.* needs \([^,]*\), which .*/\1/p' "$tmp/out" | sort -u)" = register_kprobe
fails "symcheck refuses a missing Module.symvers (exit 2)" "$root/scripts/symcheck" "$tmp/none" "$ko"

if [ "$SW_KIND" = distro ]; then
	check "stopwatch.ko's vermagic is the distribution's release ($SW_DISTRO_RELEASE)" \
		sh -c "objcopy -O binary --only-section=.modinfo '$ko' /dev/stdout | tr '\\0' '\\n' | grep -q '^vermagic=$SW_DISTRO_RELEASE '"
	check "the prepared tree's Module.symvers is the distribution's" \
		cmp -s "$kdir/Module.symvers" "$kdir/Module.symvers.distro"
	sed 's/^CONFIG_RUSTC_VERSION_TEXT=.*/CONFIG_RUSTC_VERSION_TEXT="rustc 1.95.0 (59807616e 2026-04-14)"/' \
		"$kdir/config.distro" >"$tmp/config"
	set +e
	STOPWATCH_DISTRO_CONFIG=$tmp/config "$root/scripts/buildroot" check >"$tmp/out" 2>&1
	rc=$?
	set -e
	cat "$tmp/out"
	check "buildroot check refuses a config naming another rustc" test "$rc" = 1
	check "and names both version strings" \
		sh -c "grep -q 'CONFIG_RUSTC_VERSION_TEXT is \"rustc 1.95.0 (59807616e 2026-04-14)\", but the build root.s .rustc --version. says \"rustc 1.85.1 ' '$tmp/out'"
	check "buildroot check accepts the kernel's own config" \
		env STOPWATCH_DISTRO_CONFIG="$kdir/config.distro" "$root/scripts/buildroot" check
fi
exit "$SW_FAILED"

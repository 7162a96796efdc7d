#!/usr/bin/env bash
# VM test (from the host, booting guests): `make deb` on a distribution kernel. The package holds
# stopwatch.ko under /lib/modules/RELEASE/updates/, depends on the exact
# kernel image package, runs depmod; installed in the guest booted from
# that image with dpkg, `modprobe stopwatch` loads it. Signed with
# `--sign KEY CERT` (scripts/sign), the module carries the signature and
# the signer's name. The project's own kernels skip.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
SW_HOST=1 . "$root/scripts/guest/lib.sh"
. "$root/scripts/lib.sh"
sw_select_kernel
if [ "$SW_KIND" != distro ]; then
	skip "deb" "$SW_KERNEL is a kernel the project builds; make deb packages for a distribution's"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check "scripts/deb builds a package" sh -c "'$root/scripts/deb' -o '$tmp/plain' >'$tmp/path'"
deb=$(cat "$tmp/path")
check "named stopwatch-modules-${SW_DISTRO_RELEASE}_VERSION_amd64.deb" \
	sh -c "basename '$deb' | grep -q '^stopwatch-modules-${SW_DISTRO_RELEASE}_.*_amd64\\.deb\$'"
check "it depends on the exact image: $SW_DISTRO_KERNEL_PKG (= $SW_DISTRO_VERSION)" \
	test "$(dpkg-deb -f "$deb" Depends)" = "$SW_DISTRO_KERNEL_PKG (= $SW_DISTRO_VERSION)"
check "it holds the module under updates/" \
	sh -c "dpkg-deb -c '$deb' | grep -q ' ./lib/modules/$SW_DISTRO_RELEASE/updates/stopwatch.ko\$'"
check "its postinst runs depmod for the release" \
	sh -c "dpkg-deb --ctrl-tarfile '$deb' | tar -xO ./postinst | grep -qx 'depmod -a $SW_DISTRO_RELEASE'"

set +e
"$root/scripts/vm-run" --quiet --log "$tmp/console" --cpus 2 --timeout 300 \
	--file "$deb:stopwatch.deb" --file "$root/scripts/guest/deb-install.sh:deb-install.sh" \
	-- ". /stopwatch/deb-install.sh"
rc=$?
set -e
grep '^STOPWATCH-TEST ' "$tmp/console" || true
check "the guest installed and loaded it (vm-run exit 0)" test "$rc" = 0

# Signed with a key of one's own, as for a Machine Owner Key.
openssl req -new -x509 -newkey rsa:2048 -nodes -days 1 -subj '/CN=stopwatch test signing key/' \
	-addext extendedKeyUsage=codeSigning -keyout "$tmp/MOK.priv" -outform DER -out "$tmp/MOK.der" 2>/dev/null
check "scripts/deb --sign builds a signed package" \
	sh -c "'$root/scripts/deb' -o '$tmp/signed' --sign '$tmp/MOK.priv' '$tmp/MOK.der' >'$tmp/path'"
mkdir -p "$tmp/x"
dpkg-deb -x "$(cat "$tmp/path")" "$tmp/x"
signed=$tmp/x/lib/modules/$SW_DISTRO_RELEASE/updates/stopwatch.ko
check "the packaged module ends with the module signature marker" \
	sh -c "tail -c 28 '$signed' | grep -q '~Module signature appended~'"
check "the signature names the signer" grep -q 'stopwatch test signing key' "$signed"
check "the built module itself is left unsigned" \
	sh -c "! tail -c 28 '$(sw_module_files | grep '/stopwatch\.ko$')' | grep -q '~Module signature appended~'"
fails "scripts/sign refuses a key that is not there" "$root/scripts/sign" "$tmp/none" "$tmp/MOK.der"
exit "$SW_FAILED"

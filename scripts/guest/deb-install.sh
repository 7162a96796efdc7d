# shellcheck shell=sh
# Guest side of vm-deb: install stopwatch's package with (busybox's)
# dpkg, as a user installs it, and load the module by name.
. /stopwatch/lib.sh
rel=$(uname -r)
mkdir -p /var/lib/dpkg/info /lib/modules/"$rel"
touch /var/lib/dpkg/status
# The kernel's own modules are not in this initramfs: depmod sees ours only.
# Its image package is not installed here either (the kernel booted from
# QEMU's -kernel), so its dependency is forced, and only that.
check "dpkg -i installs the package" dpkg -i -F depends /stopwatch/stopwatch.deb
check "the module is in /lib/modules/$rel/updates/" test -f /lib/modules/"$rel"/updates/stopwatch.ko
check "postinst ran depmod: modules.dep lists it" grep -q 'updates/stopwatch.ko' /lib/modules/"$rel"/modules.dep
check "modprobe stopwatch loads it" modprobe stopwatch
check "it is loaded and its views read" sh -c "test -d /sys/module/stopwatch && grep -q ^format= $SW_DEBUGFS/stats"
check "modprobe -r stopwatch unloads it" modprobe -r stopwatch
check "and it is gone" test ! -e /sys/module/stopwatch
finish

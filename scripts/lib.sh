# shellcheck shell=bash
# Shared settings and helpers for stopwatch's scripts. Sourced, not run.
#
# This is the one place that pins the kernels and the toolchain: adding a
# kernel means adding a case to `sw_select_kernel` (and, if it needs
# options of its own, scripts/config/kernel-VERSION.fragment).

SW_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# rustup's tools (rustc, cargo, bindgen) live here; a non-login shell (CI)
# may not have it on PATH.
case ":$PATH:" in
*":${CARGO_HOME:-$HOME/.cargo}/bin:"*) ;;
*) [ -d "${CARGO_HOME:-$HOME/.cargo}/bin" ] && PATH=${CARGO_HOME:-$HOME/.cargo}/bin:$PATH ;;
esac
export PATH
SW_CACHE=${STOPWATCH_CACHE:-${HOME}/.cache/stopwatch}

# LLVM toolchain suffix passed as `make LLVM=-19`: 7.3 needs LLVM >= 17 and
# bookworm ships 19.
SW_LLVM=-19
# bindgen-cli version installed by `scripts/deps` (0.73.x passes
# `make rustavailable` on 7.3).
SW_BINDGEN_VERSION=0.73.1
# Bump when the way the kernel is configured or built changes, so cached
# builds are not reused across incompatible recipes.
SW_KERNEL_RECIPE=1

# Kernel selection: STOPWATCH_KERNEL=7.3 (default), 6.12 or debian-7.3; `make
# KERNEL=6.12` sets it for every target.
SW_KERNEL=${STOPWATCH_KERNEL:-7.3}
# Every kernel `make test` covers, in the order it runs them: the two the
# project builds, then the distribution's own.
SW_KERNELS="7.3 6.12 debian-7.3"
# Then the other images of a distribution kernel it covers (KERNEL:FLAVOUR),
# with the tests that show what their config changes: PREEMPT_RT on
# Debian's rt-amd64 (the module's load and unload, the console's warning
# and notes, hotplug, lockdown, the reproducer's scenarios, the symbols).
SW_TEST_IMAGES="debian-7.3:rt-amd64"
SW_TEST_IMAGE_NAMES="lifecycle console hotplug lockdown vm-reproduce host-symbols"
# The flavour of a distribution kernel: which of its images (Debian's
# amd64, cloud-amd64, rt-amd64); `make DISTRO_FLAVOUR=` sets it.
SW_DISTRO_FLAVOUR=${STOPWATCH_DISTRO_FLAVOUR:-amd64}

# Architecture of the test kernel and its guest: STOPWATCH_ARCH=x86_64
# (default) or arm64; `make ARCH=arm64` sets it for every target. With
# the kernel version and the flavour it is one of the three axes of a
# kernel build's cache key (sw_kernel_dir).
SW_ARCH=${STOPWATCH_ARCH:-x86_64}
# Every architecture there is a recipe for.
SW_ARCHES="x86_64 arm64"

# Sets what differs between architectures: the kernel's ARCH=, the image
# QEMU boots, the QEMU binary and the package that has it, the machine
# and CPU options, the serial console, what the kernel command line needs
# (ending in a space), Debian's name of the architecture, and the guest's
# busybox package if it is not the host's.
sw_select_arch() {
	case "$SW_ARCH" in
	x86_64)
		SW_KARCH=x86_64
		SW_KIMAGE=arch/x86/boot/bzImage
		SW_QEMU=qemu-system-x86_64
		SW_QEMU_PKG=qemu-system-x86
		SW_QEMU_MACHINE=()
		SW_QEMU_CPU=max
		SW_CONSOLE=ttyS0
		SW_APPEND=
		SW_DEB_ARCH=amd64
		# The guest's busybox: the host's busybox-static (scripts/deps).
		SW_BUSYBOX_VERSION=
		SW_BUSYBOX_SHA256=
		;;
	arm64)
		SW_KARCH=arm64
		SW_KIMAGE=arch/arm64/boot/Image
		SW_QEMU=qemu-system-aarch64
		SW_QEMU_PKG=qemu-system-arm
		# GICv3, for pseudo-NMI (see arch-arm64.fragment). Pointer
		# authentication with QEMU's own algorithm: the architected one
		# (QARMA) is very slow to emulate, and the kernel signs return
		# addresses.
		SW_QEMU_MACHINE=(-M virt,gic-version=3)
		SW_QEMU_CPU=max,pauth-impdef=on
		SW_CONSOLE=ttyAMA0
		SW_APPEND="irqchip.gicv3_pseudo_nmi=1 "
		SW_DEB_ARCH=arm64
		# The guest's busybox: Debian bookworm's static build.
		SW_BUSYBOX_VERSION=1:1.35.0-4+deb12u1+b1
		SW_BUSYBOX_SHA256=732c9135564fc71337e0e05fb4da4d11e6c28c1834bce3e405e575afef2a52f5
		;;
	*)
		sw_die "unknown STOPWATCH_ARCH '$SW_ARCH' (known: $SW_ARCHES)"
		;;
	esac
}

# Flavour of the test kernel: STOPWATCH_FLAVOUR=stock (default), or a name
# with patches in scripts/patches/NAME/ and/or options in
# scripts/config/flavour-NAME.fragment (`make FLAVOUR=`). `seed-fix` is the
# seed's one-line change to multi_cpu_stop(), for evaluation.
SW_FLAVOUR=${STOPWATCH_FLAVOUR:-stock}

# Sets, for the selected kernel, SW_KIND (`built`: the project configures
# and builds it; `distro`: a distribution's image, fetched and pinned,
# never rebuilt) and where its source comes from (SW_KPKG*). A distro
# kernel also sets its release, packages and build root (SW_DISTRO_*,
# SW_ROOT_*; see sw_select_distro).
sw_select_kernel() {
	SW_KIND=built
	case "$SW_KERNEL" in
	7.3 | debian-7.3)
		# Debian trixie-backports' linux-source-7.3, fetched with a
		# project-local sources list (the system's apt config is not
		# touched).
		SW_KPKG=linux-source-7.3
		SW_KPKG_VERSION=7.3.4-1~bpo13+1
		SW_KPKG_SHA256=703e369ddd4cce971452f5a593ee55df3a5c10c83caf0fa0df039633ed181ee3
		SW_KPKG_ARCHIVE=http://deb.debian.org/debian
		SW_KPKG_SUITE=trixie-backports
		SW_KPKG_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
		[ "$SW_KERNEL" = 7.3 ] || sw_select_distro
		;;
	6.12)
		# The LTS kernel fleets run, without forced preemption: Debian
		# bookworm-security's linux-source-6.12 (the debian-security
		# archive). PREEMPT_NONE comes from its fragment.
		SW_KPKG=linux-source-6.12
		SW_KPKG_VERSION=6.12.117-1~deb12u1
		SW_KPKG_SHA256=e849faf31ca3555757f3a8877cb01af92122f744f75d1f3102734651c4e14703
		SW_KPKG_ARCHIVE=http://deb.debian.org/debian-security
		SW_KPKG_SUITE=bookworm-security
		SW_KPKG_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
		;;
	*)
		sw_die "unknown STOPWATCH_KERNEL '$SW_KERNEL' (known: $SW_KERNELS)"
		;;
	esac
}

# A distribution kernel: Debian's own 7.3 images, built with CONFIG_RUST=y
# (trixie-backports). Its source is linux-source-7.3 of the same version
# (above), which regenerates the Rust build products Debian's headers do
# not ship. Per flavour: the package with the signed image and the one with
# its .config and Module.symvers, each pinned by sha256. The build root
# holds the toolchain the config names (CONFIG_*_VERSION_TEXT, checked by
# scripts/buildroot check). Adding the next Debian kernel with Rust: a case
# here and in sw_select_kernel.
sw_select_distro() {
	[ "$SW_ARCH" = x86_64 ] ||
		sw_die "$SW_KERNEL is Debian's amd64 image: STOPWATCH_ARCH=$SW_ARCH is not one of its architectures"
	SW_KIND=distro
	SW_DISTRO_VERSION=7.3.4-1~bpo13+1
	SW_DISTRO_ARCHIVE=http://deb.debian.org/debian
	SW_DISTRO_SUITE=trixie-backports
	SW_DISTRO_RELEASE=7.3.4+deb13-$SW_DISTRO_FLAVOUR
	SW_DISTRO_IMAGE_PKG=linux-binary-$SW_DISTRO_RELEASE
	SW_DISTRO_HEADERS_PKG=linux-headers-$SW_DISTRO_RELEASE
	# What Debian's kernel is installed as (`make deb` depends on it).
	SW_DISTRO_KERNEL_PKG=linux-image-$SW_DISTRO_RELEASE
	# Its debug info (scripts/kernel debuginfo).
	SW_DISTRO_DBG_PKG=linux-image-$SW_DISTRO_RELEASE-dbg
	case "$SW_DISTRO_FLAVOUR" in
	amd64)
		SW_DISTRO_IMAGE_SHA256=7e3248d03a84dcdda88c567aa8c4038f2e7795d2dd167b112c56f8901b6f513f
		SW_DISTRO_HEADERS_SHA256=1c43249a7b98aee4af60f2b822ddb04a9e96c1c9e8b013e5f74d3d9faf318699
		SW_DISTRO_DBG_SHA256=da632c9ab7db5fb8eb649a696fc2e984f9b9631753c86f990f9c2d70da772b1d
		;;
	cloud-amd64)
		SW_DISTRO_IMAGE_SHA256=c4fbc8e404958693b28825474c20742d70594d65ca58aea7be6a279c81eb6fa0
		SW_DISTRO_HEADERS_SHA256=7cd1d71ea5c0dd03f1288767a9d489a02324cedcce17549971604f50450ccb3c
		SW_DISTRO_DBG_SHA256=f21b51c29bd1a62c7132f3b85c5e5d21d27abfa4e64af36c54581560ce19e09f
		;;
	rt-amd64)
		SW_DISTRO_IMAGE_SHA256=7046cf548f57392d29006037c300a764bde1793907bcc8facbc153486dffda2f
		SW_DISTRO_HEADERS_SHA256=5b4a2ea376ad328afdad4bafaa370060d5876cbe53aa0ff2d4976bfe7155b464
		SW_DISTRO_DBG_SHA256=06f69efdbcaa9f610d03b4a5786f9ae8e9c8e14d7a3781ac697e961478c4fc4a
		;;
	*)
		sw_die "unknown STOPWATCH_DISTRO_FLAVOUR '$SW_DISTRO_FLAVOUR' for $SW_KERNEL (known: amd64 cloud-amd64 rt-amd64)"
		;;
	esac
	# The compiler the config names (CONFIG_CC_VERSION_TEXT), as Debian's
	# kernel build calls it, and the build root that has it.
	SW_DISTRO_CC=x86_64-linux-gnu-gcc-14
	SW_ROOT_SUITE=trixie
	SW_ROOT_ARCHIVE=http://deb.debian.org/debian
	SW_ROOT_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
	# Pinned: what the kernel's config and its Rust symbols depend on
	# (rustc's version string is in every Rust symbol's hash), and pahole
	# (CONFIG_PAHOLE_VERSION), and rustfmt (bindgen formats the bindings
	# with it). Unpinned: kbuild's other tools, openssl
	# among them (CONFIG_OPENSSL_SUPPORTS_ML_DSA asks the openssl binary).
	SW_ROOT_PACKAGES="gcc-14=14.2.0-19 rustc=1.85.1+dfsg1-1+deb13u1
		rust-src=1.85.1+dfsg1-1+deb13u1 rust-clippy=1.85.1+dfsg1-1+deb13u1
		rustfmt=1.85.1+dfsg1-1+deb13u1
		bindgen=0.71.1-6
		libclang-19-dev=1:19.1.7-3+b1 dwarves=1.30-1
		make bc flex bison libelf-dev libssl-dev openssl kmod cpio xz-utils python3"
}

# The build root of the selected distribution kernel's toolchain, keyed by
# its suite and pins (scripts/buildroot).
sw_buildroot_dir() {
	local key
	key=$(printf '%s\n' "$SW_ROOT_SUITE" $SW_ROOT_PACKAGES | sw_hash)
	printf '%s/buildroot/%s-%s\n' "$SW_CACHE" "$SW_ROOT_SUITE" "$key"
}

sw_log() { printf 'stopwatch: %s\n' "$*" >&2; }
sw_die() {
	printf 'stopwatch: error: %s\n' "$*" >&2
	exit 1
}

# sw_apt_fetch STATE PKG VERSION ARCH SHA256 ARCHIVE SUITE KEYRING: print
# the path of Debian's PKG=VERSION for ARCH (`all` for arch-independent
# packages) in the cache, downloading it first if it is not there, and
# check it against SHA256. apt runs with a sources list and state of its
# own in $SW_CACHE/apt/STATE (one per concurrent user): the system's apt
# configuration and dpkg's architectures are not touched.
sw_apt_fetch() {
	local state=$1 pkg=$2 version=$3 arch=$4 sha=$5 archive=$6 suite=$7 keyring=$8
	local aptdir=$SW_CACHE/apt/$state deb
	deb=$SW_CACHE/dl/${pkg}_${version//:/%3a}_$arch.deb
	if [ -f "$deb" ] && echo "$sha  $deb" | sha256sum -c --quiet - 2>/dev/null; then
		printf '%s\n' "$deb"
		return
	fi
	mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$SW_CACHE/dl"
	echo "deb [signed-by=$keyring] $archive $suite main" >"$aptdir/sources.list"
	local opts=(-o "Dir::Etc::SourceList=$aptdir/sources.list"
		-o "Dir::Etc::SourceParts=/dev/null"
		-o "Dir::State::Lists=$aptdir/lists"
		-o "Dir::Cache=$aptdir/cache"
		-o "APT::Sandbox::User=root"
		-o "Debug::NoLocking=1")
	# Another architecture's packages: apt's view only, for this state.
	[ "$arch" = all ] || opts+=(-o "APT::Architecture=$arch" -o "APT::Architectures::=$arch")
	sw_log "fetching $pkg $version ($suite, $arch)"
	apt-get "${opts[@]}" -qq update >&2 ||
		sw_die "apt-get update of the project-local list failed: is the Debian mirror reachable?"
	(cd "$SW_CACHE/dl" && apt-get "${opts[@]}" -qq download "$pkg=$version" >&2) ||
		sw_die "could not download $pkg=$version: the pin in scripts/lib.sh may be gone from $suite"
	if ! echo "$sha  $deb" | sha256sum -c --quiet - >&2; then
		rm -f "$deb"
		sw_die "sha256 mismatch for $deb (expected $sha); removed it"
	fi
	printf '%s\n' "$deb"
}

# sw_has_types: whether the selected kernel's DWARF types, which
# scripts/vmcore --kernel-only needs, are to be had: a distribution's -dbg
# package, or our kernel's `dwarf` flavour.
sw_has_types() { [ "$SW_KIND" = distro ] || [ "$SW_FLAVOUR" = dwarf ]; }

# sw_debug_vmlinux: the path of a vmlinux with those types, fetched if
# need be; empty if the kernel has none (sw_has_types).
sw_debug_vmlinux() {
	if [ "$SW_KIND" = distro ]; then
		STOPWATCH_KERNEL=$SW_KERNEL STOPWATCH_DISTRO_FLAVOUR=$SW_DISTRO_FLAVOUR "$SW_ROOT/scripts/kernel" debuginfo
	elif sw_has_types; then
		printf '%s/vmlinux\n' "$(sw_kdir)"
	fi
}

# Hash of stdin, 16 hex digits: cache keys.
sw_hash() { sha256sum | cut -c1-16; }

# What the kernel build depends on besides the sources: the toolchain.
sw_toolchain_id() {
	{
		"clang${SW_LLVM}" --version 2>/dev/null | head -n1
		rustc --version 2>/dev/null
		bindgen --version 2>/dev/null
	}
}

# The config fragments of the selected kernel, in merge order: the common
# one (STOPWATCH_FRAGMENT overrides it, for tests), the architecture's,
# the kernel's own, the kernel's on this architecture, the flavour's, the
# flavour's for this kernel.
sw_fragments() {
	printf '%s\n' "${STOPWATCH_FRAGMENT:-$SW_ROOT/.config.fragment}"
	local f
	for f in "$SW_ROOT/scripts/config/arch-$SW_ARCH.fragment" \
		"$SW_ROOT/scripts/config/kernel-$SW_KERNEL.fragment" \
		"$SW_ROOT/scripts/config/kernel-$SW_KERNEL-$SW_ARCH.fragment" \
		"$SW_ROOT/scripts/config/flavour-$SW_FLAVOUR.fragment" \
		"$SW_ROOT/scripts/config/flavour-$SW_FLAVOUR-$SW_KERNEL.fragment"; do
		[ ! -f "$f" ] || printf '%s\n' "$f"
	done
}

# The flavours there are: stock and every scripts/patches/NAME or
# scripts/config/flavour-NAME.fragment.
sw_flavours() {
	{
		echo stock
		find "$SW_ROOT/scripts/patches" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null
		find "$SW_ROOT/scripts/config" -name 'flavour-*.fragment' -printf '%f\n' 2>/dev/null |
			sed 's/^flavour-//; s/\.fragment$//; s/-[0-9][0-9.]*$//'
	} | sort -u | paste -sd' ' -
}

# Dies unless the selected flavour exists.
sw_check_flavour() {
	case " $(sw_flavours) " in
	*" $SW_FLAVOUR "*) ;;
	*) sw_die "unknown STOPWATCH_FLAVOUR '$SW_FLAVOUR' (known: $(sw_flavours))" ;;
	esac
}

# The patches of the selected flavour, in apply order (none for stock).
sw_patches() {
	[ -d "$SW_ROOT/scripts/patches/$SW_FLAVOUR" ] || return 0
	find "$SW_ROOT/scripts/patches/$SW_FLAVOUR" -name '*.patch' | sort
}

# Directory of the configured and built kernel for the selected version,
# fragments and toolchain (the `O=` of the kernel build, usable as KDIR).
# A distribution kernel's is the source prepared for modules with its
# config, keyed by its pinned packages and build root.
sw_kernel_dir() {
	sw_select_kernel
	local key
	local patches
	if [ "$SW_KIND" = distro ]; then
		[ "$SW_FLAVOUR" = stock ] ||
			sw_die "$SW_KERNEL is the distribution's image, never rebuilt: STOPWATCH_FLAVOUR=$SW_FLAVOUR needs a kernel the project builds (7.3, 6.12)"
		key=$({
			echo "recipe $SW_KERNEL_RECIPE"
			echo "$SW_KPKG $SW_KPKG_VERSION $SW_KPKG_SHA256"
			echo "$SW_DISTRO_IMAGE_PKG $SW_DISTRO_VERSION $SW_DISTRO_IMAGE_SHA256"
			echo "$SW_DISTRO_HEADERS_PKG $SW_DISTRO_VERSION $SW_DISTRO_HEADERS_SHA256"
			sw_buildroot_dir
		} | sw_hash)
		printf '%s/kernel/%s-%s-%s-%s\n' "$SW_CACHE" "$SW_ARCH" "$SW_KERNEL" "$SW_DISTRO_FLAVOUR" "$key"
		return
	fi
	sw_check_flavour
	patches=$(sw_patches)
	key=$({
		echo "recipe $SW_KERNEL_RECIPE"
		echo "arch $SW_ARCH"
		echo "$SW_KPKG $SW_KPKG_VERSION $SW_KPKG_SHA256"
		sw_fragments | while read -r f; do cat "$f"; done
		sw_toolchain_id
		[ -z "$patches" ] || cat $patches
	} | sw_hash)
	# The three axes in the name, for people; the key has everything.
	printf '%s/kernel/%s-%s-%s-%s\n' "$SW_CACHE" "$SW_ARCH" "$SW_KERNEL" "$SW_FLAVOUR" "$key"
}

# The kernel tree modules build against: KDIR if the user gave one, else
# the cached build.
sw_kdir() {
	if [ -n "${KDIR:-}" ]; then
		printf '%s\n' "$KDIR"
	else
		sw_kernel_dir
	fi
}

# The .ko files of the last module build for `sw_kdir`, from its
# modules.order (a module whose source is gone is not listed).
sw_module_files() {
	local src
	src=$(sw_modules_dir)/src
	[ -f "$src/modules.order" ] || return 0
	# Entries are paths of the .o (or .ko), relative to src or absolute.
	sed 's/\.k\?o$/.ko/' "$src/modules.order" | while read -r m; do
		case "$m" in /*) ;; *) m=$src/$m ;; esac
		[ ! -f "$m" ] || printf '%s\n' "$m"
	done
}

# The kernel image QEMU boots that goes with `sw_kdir`: a distribution
# kernel's is its own signed image, copied there unmodified.
sw_kimage() {
	sw_select_kernel
	if [ "$SW_KIND" = distro ]; then
		printf '%s/vmlinuz\n' "$(sw_kdir)"
	else
		printf '%s/%s\n' "$(sw_kdir)" "$SW_KIMAGE"
	fi
}

# sw_kbuild ARGS...: make ARGS with the selected kernel's toolchain: the
# project's LLVM for a kernel it builds; for a distribution kernel, its
# own compiler in its build root (scripts/buildroot), with its release.
sw_kbuild() {
	sw_select_kernel
	if [ "$SW_KIND" = distro ]; then
		"$SW_ROOT/scripts/buildroot" run make ARCH=x86 CROSS_COMPILE=x86_64-linux-gnu- \
			CC="$SW_DISTRO_CC" HOSTCC="$SW_DISTRO_CC" KERNELRELEASE="$SW_DISTRO_RELEASE" "$@"
	else
		make ARCH="$SW_KARCH" LLVM="$SW_LLVM" "$@"
	fi
}

# Where the out-of-tree modules are built: outside the repo, one directory
# per kernel tree, holding a mirror of the sources in src/ (scripts/modules
# builds with `make M=DIR/src`; the .ko files are found below DIR).
sw_modules_dir() {
	local kdir
	kdir=$(sw_kdir)
	printf '%s/modules/%s\n' "$SW_CACHE" "$(printf 'mirrored %s' "$kdir" | sw_hash)"
}

# The architecture is chosen once, when a script starts: a bad
# STOPWATCH_ARCH stops it here.
sw_select_arch

# SPDX-License-Identifier: GPL-2.0
# stopwatch: user-facing targets. Kbuild (read by `make -C $KDIR M=$PWD`)
# describes the modules; the work is done by scripts/, which take --help.
#
#   make            build the modules (and the test kernel if missing)
#   make unit       cargo test of the pure logic on the host (seconds)
#   make run        boot the test kernel and replay the incident
#                   (REPRODUCE_ARGS='--hog-cpu 1 ...': see scripts/reproduce --help)
#   make test       run every test; ends with `N passed, M failed`
#   make bench      cost next to a bare kprobe and ftrace: touches, stop_machine(), reading
#   make soak       the long soak (load cycles, hotplug, fuzzed controls, ...)
#   make scale      the incident at 4, 16 and 64 vCPUs on every kernel: a
#                   table of who was named and what was printed (SCALE_ARGS)
#   make vmcore     the post-mortem test (vm-vmcore) on our 7.3 (KERNEL=)
#                   built with DWARF (the dwarf flavour, a kernel of its
#                   own): the kernel's own reading of the vmcore, on it
#   make kernel     fetch, configure and build the test kernel only
#                   (a distribution kernel: fetch it, prepare its source)
#   make deb        a Debian package of stopwatch.ko for Debian's kernel
#                   (KERNEL=debian-7.3, the default for this target;
#                   SIGN_KEY=MOK.priv SIGN_CERT=MOK.der signs it)
#   make deps       install the toolchain and packages
#   make clippy     build the modules with CLIPPY=1
#   make fmt        rustfmt the Rust sources; `make fmt-check` only checks
#   make clean      remove the module build products (the kernel stays)
#
# KERNEL=6.12 selects the LTS kernel for every target (default 7.3; `make
# test` without KERNEL= tests every kernel). KERNEL=debian-7.3 is Debian's
# own 7.3 image, unmodified, built against with Debian's toolchain;
# DISTRO_FLAVOUR=amd64 (default), cloud-amd64 or rt-amd64 picks its image. ARCH=arm64 builds, boots and tests an
# arm64 kernel under qemu-system-aarch64 instead of x86_64 (`make test`
# without ARCH= tests x86_64 only). FLAVOUR=seed-fix builds the kernel
# with the seed's multi_cpu_stop() change, FLAVOUR=debug with the kernel's
# checkers, FLAVOUR=dwarf with DWARF debug info (scripts/vmcore
# --kernel-only). KDIR=/path uses a kernel tree
# you built instead of the cached one.
# STOPWATCH_CACHE=/path moves the cache (default ~/.cache/stopwatch).
# The targets that boot guests install what they need first (scripts/deps);
# `make deb` needs only mmdebstrap (scripts/deps --distro).

export KDIR
ifdef KERNEL
export STOPWATCH_KERNEL := $(KERNEL)
endif
ifdef FLAVOUR
export STOPWATCH_FLAVOUR := $(FLAVOUR)
endif
ifdef DISTRO_FLAVOUR
export STOPWATCH_DISTRO_FLAVOUR := $(DISTRO_FLAVOUR)
endif
# ARCH= on make's command line only: an ARCH in the environment is often
# somebody else's (STOPWATCH_ARCH is this project's).
ifeq ($(origin ARCH),command line)
export STOPWATCH_ARCH := $(ARCH)
endif
# rustup's tools may be missing from a non-login shell's PATH (CI).
export PATH := $(HOME)/.cargo/bin:$(PATH)
RUST_SOURCES := $(shell find rust samples tools -name '*.rs' 2>/dev/null)

.PHONY: all modules kernel deb deps run test unit bench soak scale vmcore clippy fmt fmt-check clean help

all: modules

modules:
	@scripts/modules $(if $(CLIPPY),--clippy)

clippy:
	@scripts/modules --clippy

kernel:
	@scripts/kernel build

deb:
	@scripts/deb $(if $(SIGN_KEY),--sign $(SIGN_KEY) $(SIGN_CERT))

deps:
	@scripts/deps

run: deps modules
	@scripts/reproduce $(REPRODUCE_ARGS)

test: deps
	@scripts/test

unit:
	@scripts/test --only unit

bench: deps modules
	@scripts/bench

soak: deps modules
	@scripts/soak $(SOAK_ARGS)

# Every kernel: scripts/scale builds what each needs through reproduce.
scale: deps
	@scripts/scale $(SCALE_ARGS)

# Not in `make test`: the dwarf kernel is one build more (7 min).
vmcore: deps
	@STOPWATCH_FLAVOUR=dwarf STOPWATCH_KERNEL=$${STOPWATCH_KERNEL:-7.3} scripts/test --only host vm-vmcore

# The kernel's own rustfmt settings, from the cached source tree.
RUSTFMT = rustfmt --edition 2021 --config-path "$$(scripts/kernel source)/.rustfmt.toml"

fmt:
	$(RUSTFMT) $(RUST_SOURCES)

fmt-check:
	$(RUSTFMT) --check $(RUST_SOURCES)

clean:
	@bash -c '. scripts/lib.sh && d=$$(sw_modules_dir) && echo "rm -rf $$d" && rm -rf "$$d"'

help:
	@sed -n 's/^#   //p' Makefile

// SPDX-License-Identifier: GPL-2.0

//! Atomics for state the probes write and the readers read.
//!
//! With this toolchain every access through `kernel::sync::atomic::Atomic`
//! is an out-of-line call to a C helper (`rust_helper_atomic64_read`, ...):
//! inlining them (`RUST_INLINE_HELPERS`) needs rustc and clang to share an
//! LLVM version, and bookworm's clang 19 does not match rustc 1.95. On the
//! watchdog touch path those calls were most of stopwatch's cost per hit
//! (`make bench`). The rings, the live per-CPU state and the comm cache are
//! only ever touched by stopwatch's own Rust code, probe side and reader
//! side, so they use `core::sync::atomic`: plain loads and stores on x86,
//! with orderings that are exact in Rust's memory model, the only one both
//! sides follow. State shared with C goes through the seam, never here.

pub(crate) use core::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release},
};

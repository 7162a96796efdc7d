// SPDX-License-Identifier: GPL-2.0

//! stopwatch's pure logic: the record format, the ring, the comm cache,
//! the live per-CPU state, what it says about a `stop_machine` call in
//! flight (`diagnosis`), the check of the private struct it is read
//! through (`layout`), the analysis of recorded instances, their text,
//! and the parsing of control writes.
//!
//! Everything below depends on `core` only. The same files are a module
//! of every kernel module that needs them (`stopwatch.ko` on 6.12 and 7.3,
//! `stopwatch_bench.ko`) and, through `rust/host.rs`, a host crate that
//! `cargo test` runs in seconds. Where the logic needs memory it asks its
//! caller through [`Alloc`]: `KVec` in the kernel (`crate::services`),
//! `Vec` on the host, and a failing one in the tests of the error paths.

pub(crate) mod abi;
pub(crate) mod analysis;
pub(crate) mod comm;
pub(crate) mod control;
pub(crate) mod demangle;
pub(crate) mod diagnosis;
pub(crate) mod dump;
pub(crate) mod layout;
pub(crate) mod live;
pub(crate) mod merge;
pub(crate) mod record;
pub(crate) mod ring;
pub(crate) mod shown;
pub(crate) mod sort;
pub(crate) mod text;
pub(crate) mod vmcore;

use core::ops::{Deref, DerefMut};

/// An allocation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NoMemory;

/// A growable list, as the logic uses one: a slice that can grow at the
/// end, where growing may fail.
pub(crate) trait List<T>: Deref<Target = [T]> + DerefMut {
    /// An empty list (allocates nothing).
    fn empty() -> Self;
    /// Appends `value`.
    fn try_push(&mut self, value: T) -> Result<(), NoMemory>;
}

/// Where the logic's lists come from.
pub(crate) trait Alloc {
    /// The list type.
    type List<T>: List<T>;
}

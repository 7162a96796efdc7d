// SPDX-License-Identifier: GPL-2.0

//! The host build of stopwatch's pure logic (`rust/logic.rs`), for
//! `cargo test`: the very files the kernel modules compile, with `Vec` as
//! their [`logic::Alloc`]. Nothing here runs in the kernel.

#![no_std]
// The kernel modules use items the host tests do not.
#![allow(
    dead_code,
    unused_imports,
    reason = "the kernel modules use what the host tests do not (items and re-exports)"
)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub(crate) mod logic;

mod host_alloc;

// The host tools' parts that are pure (core and alloc), tested here.
#[path = "../tools"]
mod tools {
    pub(crate) mod kernel_log;
    pub(crate) mod panic;
    pub(crate) mod verdict;
}

use alloc::vec::Vec;
pub(crate) use host_alloc::Host;

/// Lists that hold at most `N` items: allocation failure on demand, for
/// the tests of the error paths.
#[cfg(test)]
pub(crate) struct Bounded<const N: usize>;

/// A `Vec` that refuses to grow past `N`.
#[cfg(test)]
pub(crate) struct BoundedVec<T, const N: usize>(Vec<T>);

#[cfg(test)]
impl<T, const N: usize> core::ops::Deref for BoundedVec<T, N> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.0
    }
}

#[cfg(test)]
impl<T, const N: usize> core::ops::DerefMut for BoundedVec<T, N> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

#[cfg(test)]
impl<T, const N: usize> logic::List<T> for BoundedVec<T, N> {
    fn empty() -> Self {
        Self(Vec::new())
    }

    fn try_push(&mut self, value: T) -> Result<(), logic::NoMemory> {
        if self.0.len() >= N {
            return Err(logic::NoMemory);
        }
        self.0.push(value);
        Ok(())
    }
}

#[cfg(test)]
impl<const N: usize> logic::Alloc for Bounded<N> {
    type List<T> = BoundedVec<T, N>;
}

/// What the tests of several logic files share.
#[cfg(test)]
pub(crate) mod testing {
    use crate::logic::record::{Event, Record};

    /// A millisecond in nanoseconds.
    pub(crate) const MS: u64 = 1_000_000;

    /// A record at `ts_ms` milliseconds.
    pub(crate) fn rec(ts_ms: u64, cpu: u16, pid: u32, event: Event) -> Record {
        Record {
            ts_ns: ts_ms * MS,
            cpu,
            pid,
            event,
        }
    }

    /// `stop_begin` of instance `stop` for `nr_cpus` CPUs, `fn` at `func`,
    /// called by pid 87 on CPU 0.
    pub(crate) fn begin(ts_ms: u64, stop: u32, nr_cpus: u16, func: u64) -> Record {
        rec(
            ts_ms,
            0,
            87,
            Event::StopBegin {
                stop,
                nr_cpus,
                nr_active: 0,
                func,
            },
        )
    }

    /// A small deterministic generator (xorshift64*), so the property tests
    /// need no crate and replay exactly.
    pub(crate) struct Rng(pub(crate) u64);

    impl Rng {
        /// The next 64 random bits.
        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        /// A number in `0..n`.
        pub(crate) fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The kernel's lists for the pure logic: `KVec` as its [`Alloc`], the
//! same on every kernel stopwatch supports.

use crate::logic::{Alloc, List, NoMemory};
use kernel::prelude::*;

/// Lists from `kmalloc()` (`GFP_KERNEL`: process context only).
pub(crate) struct Kernel;

impl<T> List<T> for KVec<T> {
    fn empty() -> Self {
        KVec::new()
    }

    fn try_push(&mut self, value: T) -> Result<(), NoMemory> {
        self.push(value, GFP_KERNEL).map_err(|_| NoMemory)
    }
}

impl Alloc for Kernel {
    type List<T> = KVec<T>;
}

// SPDX-License-Identifier: GPL-2.0

//! The logic's lists on the host heap ([`Host`]): for `cargo test`
//! (`rust/host.rs`) and the host tools (`tools/timeline`). Not built into
//! any module (the kernel's lists are `KVec`, `rust/lists.rs`).

use crate::logic;
use alloc::vec::Vec;

/// Lists on the host heap.
pub(crate) struct Host;

impl<T> logic::List<T> for Vec<T> {
    fn empty() -> Self {
        Vec::new()
    }

    fn try_push(&mut self, value: T) -> Result<(), logic::NoMemory> {
        self.try_reserve(1).map_err(|_| logic::NoMemory)?;
        self.push(value);
        Ok(())
    }
}

impl logic::Alloc for Host {
    type List<T> = Vec<T>;
}

// SPDX-License-Identifier: GPL-2.0

//! The rings of every CPU: one for each CPU that has come up, made when
//! it first does.
//!
//! CPU ids go up to `nr_cpu_ids`, which is what the firmware says may ever
//! exist, not what runs: Debian's kernels allow 8192, and virtual machines
//! often declare far more hotpluggable CPUs than they start. A ring for
//! every possible CPU would be 8192 x 128 KiB = 1 GiB at the default size,
//! allocated on a machine that may already be short of memory. So, as
//! `kernel/trace/ring_buffer.c` does for its per-CPU buffers, a set holds
//! a ring for each CPU online when it is made, and the CPU hotplug
//! callback (`hotplug.rs`, at `CPUHP_BP_PREPARE_DYN`: on another CPU,
//! before the new one runs anything, where sleeping allocations are fine)
//! adds the ring of a CPU coming up for the first time. A ring stays
//! until its set is freed: a CPU going offline keeps its history.
//!
//! A CPU without a ring (its allocation failed: the callback does not
//! refuse the CPU for it) records nothing; `stats` counts the failures.
//! Everything else about a CPU (its live state, what the console and the
//! `cpus` view show) does not depend on its ring.

use crate::{
    hot::{Acquire, AtomicPtr, AtomicU64, Relaxed, Release},
    logic::{
        merge::Rings,
        ring::{Ring, Slot},
        vmcore::{address_of, Descriptor, RingEntry},
    },
};
use kernel::prelude::*;

/// A CPU's ring, over slots from `kvmalloc()`.
pub(crate) type CpuRing = Ring<KVVec<Slot>>;

/// The rings of every CPU, replaced as a whole on resize.
///
/// # Invariants
///
/// Each entry of `rings` is null or comes from `KBox::into_raw` of a ring
/// of `records` slots; once set it is not changed until the set is
/// dropped, which frees it.
pub(crate) struct RingSet {
    /// Indexed by CPU id.
    rings: KVec<AtomicPtr<CpuRing>>,
    /// The same rings for a post-mortem reader (the vmcore descriptor's
    /// ring table): where each one's header and slots are.
    table: KVec<RingEntry>,
    /// Slots of each ring.
    records: usize,
    /// Rings that could not be allocated (the CPU records nothing).
    pub(crate) failed: AtomicU64,
    /// Resizes before this set was made: a reader that began on another
    /// set ends (`Recorder::read_next`).
    pub(crate) generation: u64,
}

impl RingSet {
    /// A set for CPUs `0..nr_cpus`, with rings of `records` (a valid ring
    /// size) for those `wanted` picks.
    pub(super) fn new(
        nr_cpus: usize,
        records: usize,
        generation: u64,
        wanted: impl Fn(usize) -> bool,
    ) -> Result<KBox<Self>> {
        let mut rings = KVec::with_capacity(nr_cpus, GFP_KERNEL)?;
        let mut table = KVec::with_capacity(nr_cpus, GFP_KERNEL)?;
        for _ in 0..nr_cpus {
            rings.push(AtomicPtr::new(core::ptr::null_mut()), GFP_KERNEL)?;
            table.push(RingEntry::new(), GFP_KERNEL)?;
        }
        let set = KBox::new(
            Self {
                rings,
                table,
                records,
                failed: AtomicU64::new(0),
                generation,
            },
            GFP_KERNEL,
        )?;
        for cpu in (0..nr_cpus).filter(|&c| wanted(c)) {
            set.add(cpu)?;
        }
        Ok(set)
    }

    /// Gives `cpu` a ring if it has none.
    ///
    /// One caller at a time: the recorder's `ring_lock` held, or the set
    /// not published yet.
    pub(super) fn add(&self, cpu: usize) -> Result {
        let entry = self.rings.get(cpu).ok_or(EINVAL)?;
        if !entry.load(Relaxed).is_null() {
            return Ok(());
        }
        let mut slots = KVVec::with_capacity(self.records, GFP_KERNEL)?;
        for _ in 0..self.records {
            slots.push(Slot::new(), GFP_KERNEL)?;
        }
        let ring = KBox::new(Ring::new(slots).map_err(|_| EINVAL)?, GFP_KERNEL)?;
        if let Some(t) = self.table.get(cpu) {
            t.slots.store(ring.slots_addr(), Relaxed);
            t.ring.store(address_of::<CpuRing>(&ring), Release);
        }
        // Release: whoever loads the pointer sees the ring initialised.
        entry.store(KBox::into_raw(ring), Release);
        Ok(())
    }

    /// Writes where the set's rings are into the vmcore descriptor.
    pub(super) fn describe(&self, d: &Descriptor) {
        d.ring_records.store(self.records as u32, Relaxed);
        d.generation.store(self.generation, Relaxed);
        d.ring_table.store(self.table.as_ptr() as u64, Release);
    }

    /// The ring of `cpu`, if it has one.
    #[inline(always)]
    pub(crate) fn get(&self, cpu: usize) -> Option<&CpuRing> {
        let ring = self.rings.get(cpu)?.load(Acquire);
        // SAFETY: by the type invariants a non-null entry is a live ring,
        // freed only when the set is dropped, which `&self` outlives.
        unsafe { ring.as_ref() }
    }

    /// Every CPU with a ring, and its ring.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &CpuRing)> {
        (0..self.rings.len()).filter_map(|cpu| self.get(cpu).map(|ring| (cpu, ring)))
    }

    /// Bytes of slots the set's rings hold.
    pub(crate) fn ring_bytes(&self) -> usize {
        self.iter().count() * self.records * core::mem::size_of::<Slot>()
    }
}

impl Rings for RingSet {
    type Slots = KVVec<Slot>;

    fn count(&self) -> usize {
        self.rings.len()
    }

    fn ring(&self, cpu: usize) -> Option<&CpuRing> {
        self.get(cpu)
    }
}

impl Drop for RingSet {
    fn drop(&mut self) {
        for t in self.table.iter() {
            t.ring.store(0, Relaxed);
        }
        for entry in self.rings.iter() {
            let ring = entry.swap(core::ptr::null_mut(), Relaxed);
            if !ring.is_null() {
                // SAFETY: by the type invariants it came from
                // `KBox::into_raw`, and `&mut self` means nobody else
                // holds the set.
                drop(unsafe { KBox::from_raw(ring) });
            }
        }
    }
}

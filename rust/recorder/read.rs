// SPDX-License-Identifier: GPL-2.0

//! The recorder's reading side: every record in time order, read in
//! place ([`RingReader`], `logic::merge`) under `ring_lock` against a
//! concurrent resize, for the debugfs files; the ring counters; and the
//! newest records without the lock, for the panic dump.

use super::{Held, Recorder};
use crate::{
    hot::{Acquire, Relaxed},
    lists::Kernel,
    logic::{merge::Merge, record::Record, ring::RingCounts},
    services,
};
use kernel::prelude::*;

/// Where a reader of every ring is ([`Recorder::reader`]).
pub(crate) struct RingReader {
    /// The cursors.
    merge: Merge<Kernel>,
    /// The [`RingSet::generation`] it reads.
    generation: u64,
    /// Of `merge.torn()`, what is already added to [`Recorder::torn`].
    torn_counted: u64,
}

impl Recorder {
    /// Hands the newest `n` records of `cpu` to `each`, oldest first,
    /// without `ring_lock` and without allocating: for the panic dump only.
    pub(crate) fn newest_records(&self, cpu: usize, n: usize, mut each: impl FnMut(&Record)) {
        let rings = self.rings.load(Acquire);
        // SAFETY: by the type invariants `rings` is live until a resize has
        // waited for a grace period after replacing it. `panic()` disables
        // interrupts on its CPU before it calls the notifiers, so no grace
        // period can end while the dump reads (whether or not the other
        // CPUs could be stopped).
        let rings = unsafe { &*rings };
        let Some(ring) = rings.get(cpu) else {
            return;
        };
        ring.newest(n, |words| {
            if let Ok(rec) = Record::decode(words) {
                each(&rec);
            }
        });
    }

    /// How many records every ring holds, summed, and how many rings,
    /// without `ring_lock`: for the panic dump only (as
    /// [`Recorder::newest_records`]), so that a vmcore's reader can be
    /// checked against it.
    pub(crate) fn held_at_panic(&self) -> Held {
        let rings = self.rings.load(Acquire);
        // SAFETY: as in `newest_records`: a panic keeps the set alive.
        let rings = unsafe { &*rings };
        let mut held = Held::default();
        for (_, ring) in rings.iter() {
            let r = ring.held();
            held.records += r.end - r.start;
            held.rings += 1;
        }
        held
    }

    /// A reader of every record the rings hold now, in time order, read in
    /// place (`logic::merge`): memory for one cursor per CPU.
    pub(crate) fn reader(&self) -> Result<RingReader> {
        let _guard = self.ring_lock.lock();
        // SAFETY: `ring_lock` is held, so no resize frees the set meanwhile.
        let rings = unsafe { &*self.rings.load(Acquire) };
        Ok(RingReader {
            merge: Merge::new(rings).map_err(|_| ENOMEM)?,
            generation: rings.generation,
            torn_counted: 0,
        })
    }

    /// The next record of `reader`, or `None` at its end, or if the rings
    /// were resized since it began (their records are gone). Records it
    /// had to skip, overwritten before their turn, are added to `torn`.
    pub(crate) fn read_next(&self, reader: &mut RingReader) -> Option<Record> {
        let _guard = self.ring_lock.lock();
        // SAFETY: `ring_lock` is held, so no resize frees the set meanwhile.
        let rings = unsafe { &*self.rings.load(Acquire) };
        if rings.generation != reader.generation {
            return None;
        }
        let next = reader.merge.next(rings);
        let torn = reader.merge.torn();
        self.torn.fetch_add(torn - reader.torn_counted, Relaxed);
        reader.torn_counted = torn;
        next
    }

    /// Hands every record the rings hold now to `each`, in time order,
    /// read in place; yields the CPU whenever it has kept it for
    /// [`services::HOLD_NS`] (each record costs a look at every CPU's
    /// ring: a count of records would hold the CPU 16 times as long at 64
    /// CPUs as at 4; measured, 26.9 ms for 256 records at 64 under TCG).
    pub(crate) fn for_each_record(&self, mut each: impl FnMut(&Record) -> Result) -> Result {
        let mut reader = self.reader()?;
        let mut cpu = services::Yielder::new();
        while let Some(rec) = self.read_next(&mut reader) {
            each(&rec)?;
            cpu.yield_if_due();
        }
        Ok(())
    }

    /// Per-CPU ring counters, by CPU id (`None`: the CPU has no ring).
    pub(crate) fn ring_counts(&self) -> Result<KVec<Option<RingCounts>>> {
        let _guard = self.ring_lock.lock();
        // SAFETY: `ring_lock` is held, so no resize frees the set.
        let rings = unsafe { &*self.rings.load(Acquire) };
        let mut out = KVec::with_capacity(self.cpus.len(), GFP_KERNEL)?;
        for cpu in 0..self.cpus.len() {
            out.push(rings.get(cpu).map(|r| r.counts()), GFP_KERNEL)?;
        }
        Ok(out)
    }
}

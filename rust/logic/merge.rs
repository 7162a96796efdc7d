// SPDX-License-Identifier: GPL-2.0

//! Every CPU's ring read in time order, in place: no copy of the rings.
//!
//! A reader of `events` or `stops` used to copy every ring, then merge the
//! copies into a third list: memory in proportion to the records (up to
//! 32 MiB per CPU, twice), allocated during what may be an OOM incident.
//! A [`Merge`] holds one cursor per CPU instead (a write number, the end it
//! stops at, and the next record, decoded), and reads each record from its
//! slot under the slot's sequence protocol (`Ring::read`) when it is its
//! turn. Memory is one cursor per CPU, whatever the ring size.
//!
//! The end of each ring is fixed when the merge starts: records written
//! since are not shown (as with a copy). A record overwritten before its
//! turn (the writer went round the ring while the reader was slow) is
//! skipped, and so is every older one of that ring: the cursor jumps to
//! the oldest record still held, and the skipped ones are counted in
//! [`Merge::torn`], as torn slots of a copy are.
//!
//! Order: the oldest record of any CPU next, the lowest CPU among equal
//! times; each CPU's own order is kept (its records are in write order,
//! and its clock, `ktime_get_mono_fast_ns()`, does not go back).
//!
//! The rings are any [`Rings`]: the module's set, in which a CPU that was
//! never online has no ring (a ring that appears after the merge began is not read: its
//! end was fixed, empty, when it began).

use super::{
    record::Record,
    ring::{Ring, Slot},
    Alloc, List, NoMemory,
};
use core::ops::Deref;

/// A set of rings indexed by CPU, some of which may not exist.
pub(crate) trait Rings {
    /// What the rings' slots are in.
    type Slots: Deref<Target = [Slot]>;
    /// CPUs `0..count()` are indexed.
    fn count(&self) -> usize;
    /// The ring of `cpu`, if it has one.
    fn ring(&self, cpu: usize) -> Option<&Ring<Self::Slots>>;
}

/// One ring's reading position.
#[derive(Clone, Copy, Debug)]
struct Cursor {
    /// Write number of the next record to read.
    next: u64,
    /// Write number the reading stops at (the head when it started).
    end: u64,
    /// The record read ahead, whose turn has not come.
    peeked: Option<Record>,
}

/// Reads a set of rings in time order; see the module documentation.
pub(crate) struct Merge<A: Alloc> {
    /// One per CPU of the set (by CPU), with a ring or not.
    cursors: A::List<Cursor>,
    /// Records skipped because they were overwritten before their turn.
    torn: u64,
}

impl<A: Alloc> Merge<A> {
    /// A merge of what `rings` hold now.
    pub(crate) fn new<R: Rings + ?Sized>(rings: &R) -> Result<Self, NoMemory> {
        let mut cursors: A::List<Cursor> = List::empty();
        for cpu in 0..rings.count() {
            // No ring: nothing to read, ever (an empty range).
            let (start, end) = rings.ring(cpu).map_or((0, 0), |ring| {
                let held = ring.held();
                (held.start, held.end)
            });
            cursors.try_push(Cursor {
                next: start,
                end,
                peeked: None,
            })?;
        }
        Ok(Self { cursors, torn: 0 })
    }

    /// The next record in time order from `rings` (the set [`Merge::new`]
    /// was given), or `None` once every ring is read to its end.
    pub(crate) fn next<R: Rings + ?Sized>(&mut self, rings: &R) -> Option<Record> {
        let mut best: Option<(usize, u64)> = None;
        for (i, cursor) in self.cursors.iter_mut().enumerate() {
            let Some(ring) = rings.ring(i) else {
                continue;
            };
            if cursor.peeked.is_none() {
                cursor.peeked = Self::read_ahead(cursor, ring, &mut self.torn);
            }
            if let Some(r) = cursor.peeked {
                // Strictly earlier: the lowest CPU wins among equal times.
                let earlier = match best {
                    Some((_, ts)) => r.ts_ns < ts,
                    None => true,
                };
                if earlier {
                    best = Some((i, r.ts_ns));
                }
            }
        }
        let (i, _) = best?;
        self.cursors[i].peeked.take()
    }

    /// Records skipped so far because the writer overwrote them first.
    pub(crate) fn torn(&self) -> u64 {
        self.torn
    }

    /// The next decodable record of `ring` before `cursor.end`, moving
    /// `cursor` past it; records of other formats (not ours) are passed
    /// over, overwritten ones counted in `torn`.
    fn read_ahead<S: Deref<Target = [Slot]>>(
        cursor: &mut Cursor,
        ring: &Ring<S>,
        torn: &mut u64,
    ) -> Option<Record> {
        while cursor.next < cursor.end {
            let n = cursor.next;
            cursor.next += 1;
            match ring.read(n) {
                Some(words) => {
                    if let Ok(rec) = Record::decode(words) {
                        return Some(rec);
                    }
                }
                None => {
                    // Overwritten: so is everything older. Go on from the
                    // oldest record the ring still holds.
                    let oldest = ring.held().start.clamp(cursor.next, cursor.end);
                    *torn += 1 + (oldest - cursor.next);
                    cursor.next = oldest;
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        logic::record::Event,
        testing::{rec, MS},
        Host,
    };
    use alloc::vec::Vec;

    fn rings(n: usize, records: usize) -> Vec<Ring<Vec<Slot>>> {
        (0..n)
            .map(|_| Ring::new((0..records).map(|_| Slot::new()).collect::<Vec<_>>()).unwrap())
            .collect()
    }

    /// The tests' rings are a `Vec` of them.
    impl Rings for Vec<Ring<Vec<Slot>>> {
        type Slots = Vec<Slot>;

        fn count(&self) -> usize {
            self.len()
        }

        fn ring(&self, cpu: usize) -> Option<&Ring<Vec<Slot>>> {
            self.get(cpu)
        }
    }

    fn push(ring: &Ring<Vec<Slot>>, ts_ms: u64, cpu: u16) {
        ring.push(rec(ts_ms, cpu, 1, Event::WatchdogWork).encode());
    }

    fn all(merge: &mut Merge<Host>, rings: &Vec<Ring<Vec<Slot>>>) -> Vec<(u64, u16)> {
        let mut out = Vec::new();
        while let Some(r) = merge.next(rings) {
            out.push((r.ts_ns / MS, r.cpu));
        }
        out
    }

    #[test]
    fn merges_in_time_order_lowest_cpu_first_among_equals() {
        let r = rings(3, 16);
        for (t, cpu) in [(5, 0), (1, 1), (3, 1), (3, 2), (9, 2), (3, 0)] {
            // Each CPU's own records in write order, as its handlers write.
            push(&r[usize::from(cpu)], t, cpu);
        }
        let mut m = Merge::<Host>::new(&r).unwrap();
        // CPU 0's records keep their order (5 then 3): a ring is read in
        // write order, and the merge only interleaves.
        assert_eq!(
            all(&mut m, &r),
            [(1, 1), (3, 1), (3, 2), (5, 0), (3, 0), (9, 2)]
        );
        assert_eq!(m.torn(), 0);
        // Records written after the merge began are not shown.
        push(&r[0], 10, 0);
        assert_eq!(m.next(&r), None);
    }

    #[test]
    fn the_same_records_as_a_copy_of_every_ring() {
        let r = rings(4, 16);
        let mut rng = crate::testing::Rng(0x5eed_0000_0000_0042);
        let mut clock = [0u64; 4];
        for _ in 0..50 {
            let cpu = rng.below(4) as usize;
            clock[cpu] += rng.below(5);
            push(&r[cpu], clock[cpu], cpu as u16);
        }
        // The copy: every ring's records, stably sorted by time then CPU.
        let mut want = Vec::new();
        for (cpu, ring) in r.iter().enumerate() {
            ring.snapshot(|w| -> Result<(), ()> {
                want.push((Record::decode(w).unwrap().ts_ns / MS, cpu as u16));
                Ok(())
            })
            .unwrap();
        }
        want.sort_by_key(|&(t, cpu)| (t, cpu));
        let mut m = Merge::<Host>::new(&r).unwrap();
        assert_eq!(all(&mut m, &r), want);
    }

    #[test]
    fn a_ring_the_writer_laps_is_skipped_forward_and_counted() {
        let r = rings(2, 16);
        for t in 0..16 {
            push(&r[0], t, 0);
        }
        push(&r[1], 100, 1);
        let mut m = Merge::<Host>::new(&r).unwrap();
        assert_eq!(m.next(&r).map(|x| x.ts_ns / MS), Some(0));
        // CPU 0's writer goes on by 20 while the reader waits: records 1..20
        // of it are gone (16 slots); the reader goes on from the oldest
        // held, 20, up to where it began (16): nothing of CPU 0 is left.
        for t in 16..36 {
            push(&r[0], t, 0);
        }
        assert_eq!(all(&mut m, &r), [(100, 1)]);
        assert_eq!(m.torn(), 15);
    }

    /// Rings of CPUs 0 and 2 only, as the module's set has them when CPU 1
    /// was never online; CPU 3's ring is made after the merge began.
    struct Holes {
        rings: Vec<Ring<Vec<Slot>>>,
        late: core::cell::Cell<bool>,
    }

    impl Rings for Holes {
        type Slots = Vec<Slot>;

        fn count(&self) -> usize {
            4
        }

        fn ring(&self, cpu: usize) -> Option<&Ring<Vec<Slot>>> {
            match cpu {
                0 | 2 => self.rings.get(cpu),
                3 if self.late.get() => self.rings.get(3),
                _ => None,
            }
        }
    }

    #[test]
    fn cpus_without_a_ring_are_passed_over() {
        let h = Holes {
            rings: rings(4, 16),
            late: core::cell::Cell::new(false),
        };
        for (t, cpu) in [(4, 0), (2, 2), (1, 1), (6, 2), (3, 3)] {
            push(&h.rings[usize::from(cpu)], t, cpu);
        }
        let mut m = Merge::<Host>::new(&h).unwrap();
        assert_eq!(m.cursors.len(), 4);
        assert_eq!(m.next(&h).map(|r| (r.ts_ns / MS, r.cpu)), Some((2, 2)));
        // CPU 3's ring appears now: its end was fixed, empty, at the start.
        h.late.set(true);
        let mut rest = Vec::new();
        while let Some(r) = m.next(&h) {
            rest.push((r.ts_ns / MS, r.cpu));
        }
        assert_eq!(rest, [(4, 0), (6, 2)]);
        // A merge begun now reads it.
        let mut m = Merge::<Host>::new(&h).unwrap();
        let mut all = Vec::new();
        while let Some(r) = m.next(&h) {
            all.push((r.ts_ns / MS, r.cpu));
        }
        assert_eq!(all, [(2, 2), (3, 3), (4, 0), (6, 2)]);
    }

    #[test]
    fn memory_is_one_cursor_per_ring() {
        let r = rings(2, 1024);
        for t in 0..1000 {
            push(&r[0], t, 0);
        }
        let m = Merge::<Host>::new(&r).unwrap();
        assert_eq!(m.cursors.len(), 2);
        // A full read allocates nothing more (the list type would fail).
        let mut b = Merge::<crate::Bounded<2>>::new(&r).unwrap();
        let mut n = 0;
        while b.next(&r).is_some() {
            n += 1;
        }
        assert_eq!(n, 1000);
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The per-CPU flight-recorder ring.
//!
//! One ring per CPU, written only by probe handlers on that CPU. A kprobe
//! handler runs with preemption disabled and the kprobe core never nests
//! two handlers on one CPU (a hit while one runs is counted in `nmissed`
//! and dropped), so each ring has a single writer and needs no lock.
//! Readers run concurrently on other CPUs and never block the writer: each
//! slot carries a sequence word, odd while the slot is being written, and a
//! reader keeps a copy only if the sequence was even and unchanged around
//! it (a per-slot seqcount). The oldest records are overwritten, as in a
//! flight recorder.
//!
//! Why not the kernel's `ring_buffer_*`: `make bench` times 32-byte writes
//! in one boot, and `ring_buffer_write()` took 2.3 times as long as a write
//! here including the clock read a probe does; its iterator
//! (`ring_buffer_read_start`) stops the writer while it reads, where we want
//! snapshots that leave recording running; and its header is not in 7.3's
//! Rust bindings. A write here is five relaxed stores and two fences
//! (compiler barriers on x86).

use crate::hot::{fence, Acquire, AtomicU64, Relaxed, Release};
use kernel::prelude::*;

/// Smallest ring, in records.
pub(crate) const MIN_RECORDS: usize = 16;
/// Largest ring, in records (32 MiB of slots per CPU).
pub(crate) const MAX_RECORDS: usize = 1 << 20;

/// Checks a requested ring size: a power of two in
/// [`MIN_RECORDS`]`..=`[`MAX_RECORDS`].
pub(crate) fn valid_size(records: usize) -> bool {
    (MIN_RECORDS..=MAX_RECORDS).contains(&records) && records.is_power_of_two()
}

/// One record's storage.
///
/// # Invariants
///
/// `seq` is `2 * i + 1` while write number `i` fills `words`, and `2 * i + 2`
/// once that write is complete. It is 0 before the first write.
struct Slot {
    /// Sequence word, see the type invariants.
    seq: AtomicU64,
    /// The encoded record ([`crate::record::Record::encode`]).
    words: [AtomicU64; 4],
}

impl Slot {
    /// An empty slot.
    fn new() -> Self {
        Self {
            seq: AtomicU64::new(0),
            words: [const { AtomicU64::new(0) }; 4],
        }
    }
}

/// A fixed-size overwrite-oldest ring of encoded records.
///
/// # Invariants
///
/// `slots.len()` is a power of two; `head` counts the writes ever started;
/// `base <= head` is where the last [`Ring::clear`] left `head`.
pub(crate) struct Ring {
    /// Write number of the next record.
    head: AtomicU64,
    /// `head` at the last clear: records before it are not shown.
    base: AtomicU64,
    /// The storage.
    slots: KVVec<Slot>,
}

/// Counters of a ring since its last clear.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RingCounts {
    /// Records written.
    pub(crate) written: u64,
    /// Records lost to overwriting (oldest first).
    pub(crate) overwritten: u64,
}

impl Ring {
    /// Allocates a ring of `records` slots; `records` must pass
    /// [`valid_size`].
    pub(crate) fn new(records: usize) -> Result<Self> {
        if !valid_size(records) {
            return Err(EINVAL);
        }
        let mut slots = KVVec::with_capacity(records, GFP_KERNEL)?;
        for _ in 0..records {
            slots.push(Slot::new(), GFP_KERNEL)?;
        }
        Ok(Self {
            head: AtomicU64::new(0),
            base: AtomicU64::new(0),
            slots,
        })
    }

    /// Slot of write number `n`.
    fn slot(&self, n: u64) -> &Slot {
        // `slots.len()` is a power of two (type invariant), so masking keeps
        // the index in bounds.
        &self.slots[(n as usize) & (self.slots.len() - 1)]
    }

    /// Appends a record, overwriting the oldest when full.
    ///
    /// Only the ring's own CPU may call this, from a probe handler (or with
    /// preemption disabled): the ring has a single writer.
    pub(crate) fn push(&self, words: [u64; 4]) {
        let n = self.head.load(Relaxed);
        let slot = self.slot(n);
        slot.seq.store(2 * n + 1, Relaxed);
        fence(Release);
        for (dst, src) in slot.words.iter().zip(words) {
            dst.store(src, Relaxed);
        }
        slot.seq.store(2 * n + 2, Release);
        self.head.store(n + 1, Release);
    }

    /// Counters since the last clear.
    pub(crate) fn counts(&self) -> RingCounts {
        let head = self.head.load(Acquire);
        let base = self.base.load(Relaxed).min(head);
        let written = head - base;
        RingCounts {
            written,
            overwritten: written.saturating_sub(self.slots.len() as u64),
        }
    }

    /// Forgets every record written so far (the counters restart too).
    ///
    /// Safe to call while the writer runs: a record written concurrently
    /// may land on either side.
    pub(crate) fn clear(&self) {
        self.base.store(self.head.load(Acquire), Relaxed);
    }

    /// Appends a consistent copy of every record still in the ring, oldest
    /// first, to `out`. Returns how many slots were skipped because the
    /// writer overwrote them during the copy.
    pub(crate) fn snapshot(&self, out: &mut KVVec<[u64; 4]>) -> Result<u64> {
        let head = self.head.load(Acquire);
        let base = self.base.load(Relaxed).min(head);
        let first = base.max(head.saturating_sub(self.slots.len() as u64));
        out.reserve((head - first) as usize, GFP_KERNEL)?;
        let mut torn = 0;
        for n in first..head {
            let slot = self.slot(n);
            let before = slot.seq.load(Acquire);
            let mut words = [0u64; 4];
            for (dst, src) in words.iter_mut().zip(&slot.words) {
                *dst = src.load(Relaxed);
            }
            fence(Acquire);
            let after = slot.seq.load(Relaxed);
            if before == 2 * n + 2 && after == before {
                out.push(words, GFP_KERNEL)?;
            } else {
                torn += 1;
            }
        }
        Ok(torn)
    }
}

// samples/bench.rs includes this file to time it against the kernel's
// ring_buffer; its copy carries no tests (`--cfg stopwatch_bench`).
#[cfg(not(stopwatch_bench))]
#[kunit_tests(stopwatch_ring)]
mod tests {
    use super::*;

    fn rec(i: u64) -> [u64; 4] {
        [i, i + 1, i + 2, !i]
    }

    #[test]
    fn sizes() {
        assert!(valid_size(16));
        assert!(valid_size(4096));
        assert!(!valid_size(15));
        assert!(!valid_size(8));
        assert!(!valid_size(1000));
        assert!(!valid_size(MAX_RECORDS * 2));
        assert!(Ring::new(100).is_err());
    }

    #[test]
    fn keeps_everything_until_full() -> Result {
        let ring = Ring::new(16)?;
        let mut out = KVVec::new();
        assert_eq!(ring.snapshot(&mut out)?, 0);
        assert!(out.is_empty());
        for i in 0..16 {
            ring.push(rec(i));
        }
        assert_eq!(ring.snapshot(&mut out)?, 0);
        assert_eq!(out.len(), 16);
        for (i, w) in out.iter().enumerate() {
            assert_eq!(*w, rec(i as u64));
        }
        assert_eq!(
            ring.counts(),
            RingCounts {
                written: 16,
                overwritten: 0
            }
        );
        Ok(())
    }

    #[test]
    fn wraps_and_counts_overwrites() -> Result {
        let ring = Ring::new(16)?;
        for i in 0..53 {
            ring.push(rec(i));
        }
        let mut out = KVVec::new();
        ring.snapshot(&mut out)?;
        assert_eq!(out.len(), 16);
        // The 16 newest, oldest first.
        for (k, w) in out.iter().enumerate() {
            assert_eq!(*w, rec(37 + k as u64));
        }
        assert_eq!(
            ring.counts(),
            RingCounts {
                written: 53,
                overwritten: 37
            }
        );
        Ok(())
    }

    #[test]
    fn clear_forgets_and_restarts_counters() -> Result {
        let ring = Ring::new(16)?;
        for i in 0..40 {
            ring.push(rec(i));
        }
        ring.clear();
        assert_eq!(ring.counts(), RingCounts::default());
        let mut out = KVVec::new();
        ring.snapshot(&mut out)?;
        assert!(out.is_empty());
        ring.push(rec(99));
        ring.snapshot(&mut out)?;
        assert_eq!(out.len(), 1);
        assert_eq!(out[0], rec(99));
        assert_eq!(ring.counts().written, 1);
        Ok(())
    }

    #[test]
    fn torn_slot_is_skipped_not_returned() -> Result {
        let ring = Ring::new(16)?;
        for i in 0..4 {
            ring.push(rec(i));
        }
        // Simulate a writer caught half-way through rewriting slot 1.
        ring.slots[1].seq.store(2 * 17 + 1, Relaxed);
        let mut out = KVVec::new();
        assert_eq!(ring.snapshot(&mut out)?, 1);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0], rec(0));
        assert_eq!(out[1], rec(2));
        Ok(())
    }
}

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

use core::ops::Deref;
use core::sync::atomic::{
    fence, AtomicU64, Ordering::Acquire, Ordering::Relaxed, Ordering::Release,
};

/// The cache line size the per-CPU structures written by handlers are
/// aligned to (`L1_CACHE_BYTES` on x86_64 and arm64), so that no two CPUs
/// write one line: [`Ring`] and `super::live::CpuLive`. Must match their
/// `repr(align)`.
#[allow(
    dead_code,
    reason = "used by `const _` assertions and the tests only; rustc 1.85 (Debian's) does not count a use in a `const _`, newer rustc does, so an `expect` would be unfulfilled there"
)]
pub(crate) const CACHE_LINE: usize = 64;

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
///
/// `repr(C)`: a post-mortem reader finds `seq` and `words` at the offsets
/// the vmcore descriptor states ([`SLOT_SEQ_OFFSET`], [`SLOT_WORDS_OFFSET`]).
#[repr(C)]
pub(crate) struct Slot {
    /// Sequence word, see the type invariants.
    seq: AtomicU64,
    /// The encoded record ([`super::record::Record::encode`]).
    words: [AtomicU64; 4],
}

impl Slot {
    /// An empty slot.
    pub(crate) const fn new() -> Self {
        Self {
            seq: AtomicU64::new(0),
            words: [const { AtomicU64::new(0) }; 4],
        }
    }

    /// A slot as a post-mortem reader found it in memory.
    #[cfg_attr(CONFIG_RUST, expect(dead_code, reason = "the host tool reads vmcores"))]
    pub(crate) fn from_raw(seq: u64, words: [u64; 4]) -> Self {
        Self {
            seq: AtomicU64::new(seq),
            words: words.map(AtomicU64::new),
        }
    }
}

/// Offset of [`Slot`]'s sequence word (for the vmcore descriptor).
pub(crate) const SLOT_SEQ_OFFSET: usize = core::mem::offset_of!(Slot, seq);
/// Offset of [`Slot`]'s record words.
pub(crate) const SLOT_WORDS_OFFSET: usize = core::mem::offset_of!(Slot, words);

/// The ring's size is not one [`valid_size`] accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BadSize;

/// A fixed-size overwrite-oldest ring of encoded records, over storage `S`
/// its owner allocated (`KVVec<Slot>` in the kernel, `Vec<Slot>` on the
/// host). Cache-line aligned ([`CACHE_LINE`]): the rings of
/// all CPUs lie side by side and each CPU's handlers write its `head`.
///
/// # Invariants
///
/// `slots.len()` passes [`valid_size`] (so it is a power of two); `head`
/// counts the writes ever started; `base <= head` is where the last
/// [`Ring::clear`] left `head`.
///
/// `repr(C)`: `head` and `base` are at [`RING_HEAD_OFFSET`] and
/// [`RING_BASE_OFFSET`] whatever `S` is (the vmcore descriptor states them).
#[repr(C, align(64))]
pub(crate) struct Ring<S> {
    /// Write number of the next record.
    head: AtomicU64,
    /// `head` at the last clear: records before it are not shown.
    base: AtomicU64,
    /// The storage.
    slots: S,
}

const _: () = assert!(core::mem::align_of::<Ring<&[Slot]>>() == CACHE_LINE);

/// Offset of a ring's `head`.
pub(crate) const RING_HEAD_OFFSET: usize = core::mem::offset_of!(Ring<&[Slot]>, head);
/// Offset of a ring's `base`.
pub(crate) const RING_BASE_OFFSET: usize = core::mem::offset_of!(Ring<&[Slot]>, base);

/// Counters of a ring since its last clear.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RingCounts {
    /// Records written.
    pub(crate) written: u64,
    /// Records lost to overwriting (oldest first).
    pub(crate) overwritten: u64,
}

/// What [`Ring::snapshot`] found besides the records it handed over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SnapshotCounts {
    /// Records handed over.
    pub(crate) copied: u64,
    /// Slots skipped because the writer overwrote them during the copy.
    pub(crate) torn: u64,
}

impl<S: Deref<Target = [Slot]>> Ring<S> {
    /// A ring over `slots`, which must be fresh ([`Slot::new`]) and
    /// [`valid_size`] long.
    pub(crate) fn new(slots: S) -> Result<Self, BadSize> {
        if !valid_size(slots.len()) {
            return Err(BadSize);
        }
        Ok(Self {
            head: AtomicU64::new(0),
            base: AtomicU64::new(0),
            slots,
        })
    }

    /// A ring as a post-mortem reader found it in memory: its `head`, its
    /// `base` and its slots (of a valid size).
    #[cfg_attr(CONFIG_RUST, expect(dead_code, reason = "the host tool reads vmcores"))]
    pub(crate) fn from_raw(head: u64, base: u64, slots: S) -> Result<Self, BadSize> {
        let ring = Self::new(slots)?;
        ring.head.store(head, Relaxed);
        ring.base.store(base, Relaxed);
        Ok(ring)
    }

    /// Address of slot 0 (for the vmcore descriptor).
    pub(crate) fn slots_addr(&self) -> u64 {
        self.slots.as_ptr() as u64
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
    #[inline(always)]
    pub(crate) fn push(&self, words: [u64; 4]) {
        let n = self.head.load(Relaxed);
        let slot = self.slot(n);
        slot.seq.store(2 * n + 1, Relaxed);
        fence(Release);
        // Four stores by constant index: an iterator here stays a call
        // per word in the kernel's build of `core`.
        let [w0, w1, w2, w3] = &slot.words;
        w0.store(words[0], Relaxed);
        w1.store(words[1], Relaxed);
        w2.store(words[2], Relaxed);
        w3.store(words[3], Relaxed);
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

    /// Hands a consistent copy of every record still in the ring to `each`,
    /// oldest first, and counts the slots skipped as torn. Stops at the
    /// first error `each` returns. (The tests' reference; readers in the
    /// kernel read in place, `super::merge`.)
    #[cfg(test)]
    pub(crate) fn snapshot<E>(
        &self,
        each: impl FnMut([u64; 4]) -> Result<(), E>,
    ) -> Result<SnapshotCounts, E> {
        self.copy_newest(usize::MAX, each)
    }

    /// Like [`Ring::snapshot`], for the newest `n` records only; reads
    /// nothing else, takes no lock and allocates nothing (the panic dump).
    pub(crate) fn newest(&self, n: usize, mut each: impl FnMut([u64; 4])) -> SnapshotCounts {
        let copied = self.copy_newest(n, |words| -> Result<(), core::convert::Infallible> {
            each(words);
            Ok(())
        });
        match copied {
            Ok(counts) => counts,
            Err(never) => match never {},
        }
    }

    /// Write numbers of the records the ring holds now: `first..head`.
    pub(crate) fn held(&self) -> core::ops::Range<u64> {
        let head = self.head.load(Acquire);
        let base = self.base.load(Relaxed).min(head);
        base.max(head.saturating_sub(self.slots.len() as u64))..head
    }

    /// A consistent copy of write number `n`, or `None` if that record is
    /// gone (overwritten, or being overwritten) or not written yet.
    pub(crate) fn read(&self, n: u64) -> Option<[u64; 4]> {
        let slot = self.slot(n);
        let before = slot.seq.load(Acquire);
        let mut words = [0u64; 4];
        for (dst, src) in words.iter_mut().zip(&slot.words) {
            *dst = src.load(Relaxed);
        }
        fence(Acquire);
        let after = slot.seq.load(Relaxed);
        (before == 2 * n + 2 && after == before).then_some(words)
    }

    /// The copy behind [`Ring::snapshot`] and [`Ring::newest`]: the newest
    /// `n` records, oldest first.
    fn copy_newest<E>(
        &self,
        n: usize,
        mut each: impl FnMut([u64; 4]) -> Result<(), E>,
    ) -> Result<SnapshotCounts, E> {
        let held = self.held();
        let first = held.start.max(held.end.saturating_sub(n as u64));
        let mut counts = SnapshotCounts::default();
        for n in first..held.end {
            match self.read(n) {
                Some(words) => {
                    each(words)?;
                    counts.copied += 1;
                }
                None => counts.torn += 1,
            }
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn rec(i: u64) -> [u64; 4] {
        [i, i + 1, i + 2, !i]
    }

    fn ring(records: usize) -> Ring<Vec<Slot>> {
        let slots = (0..records).map(|_| Slot::new()).collect::<Vec<_>>();
        Ring::new(slots).unwrap()
    }

    fn contents(ring: &Ring<Vec<Slot>>) -> (Vec<[u64; 4]>, SnapshotCounts) {
        let mut out = Vec::new();
        let counts = ring
            .snapshot(|w| -> Result<(), ()> {
                out.push(w);
                Ok(())
            })
            .unwrap();
        (out, counts)
    }

    #[test]
    fn each_rings_header_has_its_own_cache_line() {
        assert_eq!(core::mem::align_of::<Ring<Vec<Slot>>>(), CACHE_LINE);
    }

    #[test]
    fn newest_hands_over_the_last_records_oldest_first() {
        let ring = ring(16);
        let newest = |n| {
            let mut out = Vec::new();
            let counts = ring.newest(n, |w| out.push(w[0]));
            (out, counts.copied)
        };
        assert_eq!(newest(4), (Vec::new(), 0));
        for i in 0..3 {
            ring.push(rec(i));
        }
        assert_eq!(newest(4), (alloc::vec![0, 1, 2], 3));
        for i in 3..40 {
            ring.push(rec(i));
        }
        assert_eq!(newest(4), (alloc::vec![36, 37, 38, 39], 4));
        assert_eq!(newest(100).0, (24..40).collect::<Vec<_>>());
        ring.clear();
        ring.push(rec(40));
        assert_eq!(newest(4), (alloc::vec![40], 1));
    }

    #[test]
    fn sizes() {
        assert!(valid_size(16));
        assert!(valid_size(4096));
        assert!(!valid_size(15));
        assert!(!valid_size(8));
        assert!(!valid_size(1000));
        assert!(!valid_size(MAX_RECORDS * 2));
        let slots = (0..100).map(|_| Slot::new()).collect::<Vec<_>>();
        assert_eq!(Ring::new(slots).err(), Some(BadSize));
    }

    #[test]
    fn keeps_everything_until_full() {
        let ring = ring(16);
        assert!(contents(&ring).0.is_empty());
        for i in 0..16 {
            ring.push(rec(i));
        }
        let (out, counts) = contents(&ring);
        assert_eq!(
            counts,
            SnapshotCounts {
                copied: 16,
                torn: 0
            }
        );
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
    }

    #[test]
    fn wraps_and_counts_overwrites() {
        let ring = ring(16);
        for i in 0..53 {
            ring.push(rec(i));
        }
        let (out, _) = contents(&ring);
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
    }

    #[test]
    fn clear_forgets_and_restarts_counters() {
        let ring = ring(16);
        for i in 0..40 {
            ring.push(rec(i));
        }
        ring.clear();
        assert_eq!(ring.counts(), RingCounts::default());
        assert!(contents(&ring).0.is_empty());
        ring.push(rec(99));
        assert_eq!(contents(&ring).0, [rec(99)]);
        assert_eq!(ring.counts().written, 1);
    }

    #[test]
    fn torn_slot_is_skipped_not_returned() {
        let ring = ring(16);
        for i in 0..4 {
            ring.push(rec(i));
        }
        // Simulate a writer caught half-way through rewriting slot 1.
        ring.slots[1].seq.store(2 * 17 + 1, Relaxed);
        let (out, counts) = contents(&ring);
        assert_eq!(counts, SnapshotCounts { copied: 3, torn: 1 });
        assert_eq!(out, [rec(0), rec(2), rec(3)]);
    }

    #[test]
    fn snapshot_stops_at_the_callers_error() {
        let ring = ring(16);
        for i in 0..10 {
            ring.push(rec(i));
        }
        let mut seen = 0;
        let r = ring.snapshot(|_| {
            seen += 1;
            if seen == 3 {
                Err("full")
            } else {
                Ok(())
            }
        });
        assert_eq!(r, Err("full"));
        assert_eq!(seen, 3);
    }

    /// Against a model (a plain list of everything written since the last
    /// clear): after any sequence of pushes and clears, the ring holds the
    /// newest `min(written, capacity)` records in order, and its counters
    /// add up.
    #[test]
    fn matches_a_model_under_random_pushes_and_clears() {
        let mut rng = crate::testing::Rng(0x5eed_1234_abcd_0001);
        for _case in 0..200 {
            let cap = 16usize << rng.below(4);
            let ring = ring(cap);
            let mut model: Vec<[u64; 4]> = Vec::new();
            let mut next = 0u64;
            for _ in 0..rng.below(600) {
                if rng.below(50) == 0 {
                    ring.clear();
                    model.clear();
                } else {
                    ring.push(rec(next));
                    model.push(rec(next));
                    next += 1;
                }
            }
            let (out, counts) = contents(&ring);
            let keep = model.len().min(cap);
            assert_eq!(out, model[model.len() - keep..]);
            assert_eq!(counts.torn, 0);
            let c = ring.counts();
            assert_eq!(c.written, model.len() as u64);
            assert_eq!(c.written - c.overwritten, keep as u64);
        }
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Task names by pid, so that records can stay 32 bytes.
//!
//! The probes put a task's name here on the first record of that task on a
//! CPU; readers look names up when they format. Direct-mapped by pid and
//! best effort: a slot taken by another pid reads as unknown, and a writer
//! that finds a slot being written by another CPU gives up rather than
//! wait (probe context never waits).

use core::ops::Deref;
use core::sync::atomic::{
    fence, AtomicU32, AtomicU64,
    Ordering::{Acquire, Relaxed, Release},
};

/// Length of a task name (`TASK_COMM_LEN`).
pub(crate) const COMM_LEN: usize = 16;

/// A task name as the kernel keeps it: NUL-padded bytes.
pub(crate) type Comm = [u8; COMM_LEN];

/// Packs a task name into two words.
pub(crate) fn comm_to_words(comm: &Comm) -> [u64; 2] {
    let mut lo = [0u8; 8];
    let mut hi = [0u8; 8];
    lo.copy_from_slice(&comm[..8]);
    hi.copy_from_slice(&comm[8..]);
    [u64::from_le_bytes(lo), u64::from_le_bytes(hi)]
}

/// Unpacks [`comm_to_words`]; the last byte is always NUL.
pub(crate) fn words_to_comm(words: [u64; 2]) -> Comm {
    let mut comm = [0u8; COMM_LEN];
    comm[..8].copy_from_slice(&words[0].to_le_bytes());
    comm[8..].copy_from_slice(&words[1].to_le_bytes());
    comm[COMM_LEN - 1] = 0;
    comm
}

/// The NUL-terminated name in `comm` as a string (`?` if not UTF-8).
pub(crate) fn comm_str(comm: &Comm) -> &str {
    let end = comm.iter().position(|&b| b == 0).unwrap_or(COMM_LEN);
    core::str::from_utf8(&comm[..end]).unwrap_or("?")
}

/// One entry of the cache.
///
/// # Invariants
///
/// `seq` is odd while one writer fills the entry, which it claimed with a
/// compare-and-exchange; other writers skip it meanwhile.
///
/// `repr(C)`, at the offsets the vmcore descriptor states
/// ([`COMM_SEQ_OFFSET`] and the others).
#[repr(C)]
pub(crate) struct CommSlot {
    /// Sequence word.
    seq: AtomicU32,
    /// The pid.
    pid: AtomicU32,
    /// The name, in two words.
    comm: [AtomicU64; 2],
}

impl CommSlot {
    /// An empty slot.
    pub(crate) const fn new() -> Self {
        Self {
            seq: AtomicU32::new(0),
            pid: AtomicU32::new(u32::MAX),
            comm: [const { AtomicU64::new(0) }; 2],
        }
    }

    /// A slot as a post-mortem reader found it in memory.
    #[cfg_attr(CONFIG_RUST, expect(dead_code, reason = "the host tool reads vmcores"))]
    pub(crate) fn from_raw(seq: u32, pid: u32, name: &Comm) -> Self {
        let [lo, hi] = comm_to_words(name);
        Self {
            seq: AtomicU32::new(seq),
            pid: AtomicU32::new(pid),
            comm: [AtomicU64::new(lo), AtomicU64::new(hi)],
        }
    }
}

/// Offset of [`CommSlot`]'s sequence word (for the vmcore descriptor).
pub(crate) const COMM_SEQ_OFFSET: usize = core::mem::offset_of!(CommSlot, seq);
/// Offset of its pid.
pub(crate) const COMM_PID_OFFSET: usize = core::mem::offset_of!(CommSlot, pid);
/// Offset of its name.
pub(crate) const COMM_NAME_OFFSET: usize = core::mem::offset_of!(CommSlot, comm);

/// Task names by pid, over slots its owner allocated.
pub(crate) struct CommCache<S> {
    /// Direct-mapped by pid; never empty.
    slots: S,
}

impl<S: Deref<Target = [CommSlot]>> CommCache<S> {
    /// A cache over `slots` (fresh, at least one); `None` if empty.
    pub(crate) fn new(slots: S) -> Option<Self> {
        (!slots.is_empty()).then_some(Self { slots })
    }

    /// Address of slot 0 and the number of slots (for the vmcore
    /// descriptor).
    pub(crate) fn slots_addr(&self) -> u64 {
        self.slots.as_ptr() as u64
    }

    /// Slots.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The slot of `pid` (always `Some`: the slots are never empty; the
    /// check keeps a division-by-zero panic off the probe path).
    fn slot(&self, pid: u32) -> Option<&CommSlot> {
        let i = (pid as usize).checked_rem(self.slots.len())?;
        self.slots.get(i)
    }

    /// Remembers `pid`'s name; gives up if another CPU writes the slot.
    pub(crate) fn insert(&self, pid: u32, comm: &Comm) {
        let Some(slot) = self.slot(pid) else {
            return;
        };
        let seq = slot.seq.load(Relaxed);
        if seq & 1 == 1
            || slot
                .seq
                .compare_exchange(seq, seq.wrapping_add(1), Acquire, Relaxed)
                .is_err()
        {
            return;
        }
        // The odd sequence must be visible before the new contents.
        fence(Release);
        let words = comm_to_words(comm);
        slot.pid.store(pid, Relaxed);
        slot.comm[0].store(words[0], Relaxed);
        slot.comm[1].store(words[1], Relaxed);
        slot.seq.store(seq.wrapping_add(2), Release);
    }

    /// Whether `pid` has the slot (its name may be mid-write).
    #[inline]
    pub(crate) fn holds(&self, pid: u32) -> bool {
        self.slot(pid)
            .is_some_and(|slot| slot.pid.load(Relaxed) == pid)
    }

    /// `pid`'s name, if cached.
    pub(crate) fn lookup(&self, pid: u32) -> Option<Comm> {
        let slot = self.slot(pid)?;
        let before = slot.seq.load(Acquire);
        let cached = slot.pid.load(Relaxed);
        let words = [slot.comm[0].load(Relaxed), slot.comm[1].load(Relaxed)];
        fence(Acquire);
        if before & 1 == 1 || slot.seq.load(Relaxed) != before || cached != pid {
            return None;
        }
        Some(words_to_comm(words))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn comm(name: &[u8]) -> Comm {
        let mut c = [0u8; COMM_LEN];
        c[..name.len()].copy_from_slice(name);
        c
    }

    #[test]
    fn packing_round_trips_and_terminates() {
        let c = comm(b"migration/3");
        assert_eq!(words_to_comm(comm_to_words(&c)), c);
        assert_eq!(comm_str(&c), "migration/3");
        // A full 16-byte name loses its last byte to the NUL.
        let full = [b'x'; COMM_LEN];
        assert_eq!(comm_str(&words_to_comm(comm_to_words(&full))).len(), 15);
    }

    #[test]
    fn hits_and_misses() {
        let slots = (0..512).map(|_| CommSlot::new()).collect::<Vec<_>>();
        let cache = CommCache::new(slots).unwrap();
        cache.insert(91, &comm(b"hog"));
        assert_eq!(cache.lookup(91), Some(comm(b"hog")));
        // Same slot, other pid: the newer wins, the older is unknown.
        cache.insert(91 + 512, &comm(b"other"));
        assert_eq!(cache.lookup(91), None);
        assert_eq!(cache.lookup(91 + 512), Some(comm(b"other")));
        assert_eq!(cache.lookup(5), None);
    }

    #[test]
    fn a_slot_being_written_is_skipped_by_writers_and_readers() {
        let slots = (0..4).map(|_| CommSlot::new()).collect::<Vec<_>>();
        let cache = CommCache::new(slots).unwrap();
        cache.insert(1, &comm(b"a"));
        // Another CPU is half-way through writing slot 1.
        cache.slots[1].seq.store(3, Relaxed);
        cache.insert(5, &comm(b"b"));
        assert_eq!(cache.lookup(1), None);
        assert_eq!(cache.lookup(5), None);
        assert!(CommCache::new(Vec::<CommSlot>::new()).is_none());
    }
}

// SPDX-License-Identifier: GPL-2.0

//! A descriptor read back from a dead machine's memory, and checked
//! (host only).

use super::{off, BYTES, MAGIC, VERSION};

/// A descriptor read back from memory ([`View::decode`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct View {
    /// Its address, as it says.
    pub(crate) self_addr: u64,
    /// See [`Descriptor`]; the fields of the same names.
    pub(crate) nr_cpus: u32,
    pub(crate) ring_records: u32,
    pub(crate) ring_table: u64,
    pub(crate) ring_head_off: u32,
    pub(crate) ring_base_off: u32,
    pub(crate) slot_bytes: u32,
    pub(crate) slot_seq_off: u32,
    pub(crate) slot_words_off: u32,
    pub(crate) comm_slot_bytes: u32,
    pub(crate) comm_slots: u64,
    pub(crate) comm_count: u32,
    pub(crate) comm_seq_off: u32,
    pub(crate) comm_pid_off: u32,
    pub(crate) comm_name_off: u32,
    pub(crate) live: u64,
    pub(crate) live_stride: u32,
    pub(crate) live_interval_off: u32,
    pub(crate) open: u64,
    pub(crate) open_count: u32,
    pub(crate) open_stride: u32,
    pub(crate) open_id_off: u32,
    pub(crate) last_stop: u64,
    pub(crate) warn_percent: u64,
    pub(crate) online_mask: u64,
    pub(crate) active_mask: u64,
    pub(crate) load_mono_ns: u64,
    pub(crate) load_printk_ns: u64,
    /// The panic, if the notifier ran.
    pub(crate) panic: Option<Panic>,
    pub(crate) generation: u64,
}

/// What the panic notifier stamped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Panic {
    /// The records' clock then.
    pub(crate) mono_ns: u64,
    /// printk's.
    pub(crate) printk_ns: u64,
    /// The panicking CPU.
    pub(crate) cpu: u32,
}

/// Why bytes are not a descriptor this reader can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BadDescriptor {
    /// Fewer than [`BYTES`].
    Short,
    /// Not [`MAGIC`].
    Magic,
    /// Never published (a copy in the module's file) or unpublished
    /// (stopwatch was unloading).
    Unpublished,
    /// Another layout version.
    Version(u32),
    /// Records of another format.
    RecordFormat(u32),
    /// A size or offset that cannot be right (a field that would lie
    /// outside its structure, a ring size no ring has, no CPUs).
    Inconsistent(&'static str),
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(w)
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(w)
}

impl View {
    /// Decodes and checks a descriptor's bytes.
    pub(crate) fn decode(b: &[u8]) -> Result<Self, BadDescriptor> {
        if b.len() < BYTES {
            return Err(BadDescriptor::Short);
        }
        if b[off::MAGIC..off::MAGIC + 16] != MAGIC {
            return Err(BadDescriptor::Magic);
        }
        let self_addr = u64_at(b, off::SELF_ADDR);
        if self_addr == 0 {
            return Err(BadDescriptor::Unpublished);
        }
        match u32_at(b, off::VERSION) {
            VERSION => {}
            v => return Err(BadDescriptor::Version(v)),
        }
        match u32_at(b, off::RECORD_FORMAT) {
            v if v == u32::from(crate::logic::record::FORMAT_VERSION) => {}
            v => return Err(BadDescriptor::RecordFormat(v)),
        }
        let v = Self {
            self_addr,
            nr_cpus: u32_at(b, off::NR_CPUS),
            ring_records: u32_at(b, off::RING_RECORDS),
            ring_table: u64_at(b, off::RING_TABLE),
            ring_head_off: u32_at(b, off::RING_HEAD_OFF),
            ring_base_off: u32_at(b, off::RING_BASE_OFF),
            slot_bytes: u32_at(b, off::SLOT_BYTES),
            slot_seq_off: u32_at(b, off::SLOT_SEQ_OFF),
            slot_words_off: u32_at(b, off::SLOT_WORDS_OFF),
            comm_slot_bytes: u32_at(b, off::COMM_SLOT_BYTES),
            comm_slots: u64_at(b, off::COMM_SLOTS),
            comm_count: u32_at(b, off::COMM_COUNT),
            comm_seq_off: u32_at(b, off::COMM_SEQ_OFF),
            comm_pid_off: u32_at(b, off::COMM_PID_OFF),
            comm_name_off: u32_at(b, off::COMM_NAME_OFF),
            live: u64_at(b, off::LIVE),
            live_stride: u32_at(b, off::LIVE_STRIDE),
            live_interval_off: u32_at(b, off::LIVE_INTERVAL_OFF),
            open: u64_at(b, off::OPEN),
            open_count: u32_at(b, off::OPEN_COUNT),
            open_stride: u32_at(b, off::OPEN_STRIDE),
            open_id_off: u32_at(b, off::OPEN_ID_OFF),
            last_stop: u64_at(b, off::LAST_STOP),
            warn_percent: u64_at(b, off::WARN_PERCENT),
            online_mask: u64_at(b, off::ONLINE_MASK),
            active_mask: u64_at(b, off::ACTIVE_MASK),
            load_mono_ns: u64_at(b, off::LOAD_MONO_NS),
            load_printk_ns: u64_at(b, off::LOAD_PRINTK_NS),
            panic: (u32_at(b, off::PANICKED) != 0).then(|| Panic {
                mono_ns: u64_at(b, off::PANIC_MONO_NS),
                printk_ns: u64_at(b, off::PANIC_PRINTK_NS),
                cpu: u32_at(b, off::PANIC_CPU),
            }),
            generation: u64_at(b, off::GENERATION),
        };
        v.check()?;
        Ok(v)
    }

    /// The sanity of sizes and offsets: each field inside its structure.
    fn check(&self) -> Result<(), BadDescriptor> {
        let bad = BadDescriptor::Inconsistent;
        if self.nr_cpus == 0 || self.nr_cpus > 8192 * 8 {
            return Err(bad("nr_cpus"));
        }
        if !crate::logic::ring::valid_size(self.ring_records as usize) {
            return Err(bad("ring_records"));
        }
        let inside =
            |off: u32, len: u32, size: u32| off.checked_add(len).is_some_and(|e| e <= size);
        if !inside(self.slot_seq_off, 8, self.slot_bytes)
            || !inside(self.slot_words_off, 32, self.slot_bytes)
        {
            return Err(bad("slot layout"));
        }
        if self.comm_count == 0
            || !inside(self.comm_seq_off, 4, self.comm_slot_bytes)
            || !inside(self.comm_pid_off, 4, self.comm_slot_bytes)
            || !inside(self.comm_name_off, 16, self.comm_slot_bytes)
        {
            return Err(bad("comm layout"));
        }
        if !inside(self.live_interval_off, 8, self.live_stride) {
            return Err(bad("live layout"));
        }
        if !inside(self.open_id_off, 4, self.open_stride) {
            return Err(bad("open layout"));
        }
        if self.ring_head_off.max(self.ring_base_off) > 56 {
            return Err(bad("ring layout"));
        }
        Ok(())
    }
}

/// Reads a `u32` at `off` of `b` (for the readers of the structures the
/// descriptor points to).
pub(crate) fn read_u32(b: &[u8], off: usize) -> u32 {
    u32_at(b, off)
}

/// Reads a `u64` at `off` of `b`.
pub(crate) fn read_u64(b: &[u8], off: usize) -> u64 {
    u64_at(b, off)
}

// SPDX-License-Identifier: GPL-2.0

//! The vmcore descriptor: how a post-mortem reader finds stopwatch's
//! history in the memory of a dead machine, with no Rust types.
//!
//! A kdump vmcore (or QEMU's `dump-guest-memory`) holds everything the
//! rings held at the crash, but drgn and crash know no Rust types, and
//! the rings are `kvmalloc()`ed wherever. So the module keeps one
//! C-layout structure, [`Descriptor`], in its own `.data`, exported as
//! the symbol `stopwatch_vmcore`, that says where everything is and how
//! it is laid out: the per-CPU ring table, the comm cache, the live state
//! the soft-lockup thresholds come from, the open-instance table, the
//! online and active masks, and the two clocks at load and at the panic. Offsets and
//! strides of the module's own structures are written into it at build
//! time (`offset_of!`), so a reader reads fields where the descriptor
//! says they are and never assumes a Rust layout; only the descriptor's
//! own layout is fixed, by [`VERSION`], and pinned here and in
//! `stopwatch_vmcore.h` (the C view, for crash extensions and drgn
//! scripts) by assertions on both sides.
//!
//! A reader without symbols finds the descriptor by its [`MAGIC`] in
//! physical memory: the copy in the module's file (an initramfs, the page
//! cache) has a zero `self_addr`, the live one its own virtual address,
//! which the reader reads back through the page tables to check.
//! `Documentation/record-format.rst` describes the layout for readers.

use core::sync::atomic::{AtomicU32, AtomicU64};

// Reading descriptors back is the host tool's (the kernel writes them), as
// is reading the kernel's own stop_machine() state.
#[cfg(not(CONFIG_RUST))]
pub(crate) mod kernel;
#[cfg(not(CONFIG_RUST))]
pub(crate) mod read;
#[cfg(not(CONFIG_RUST))]
mod view;
#[cfg(not(CONFIG_RUST))]
pub(crate) use view::{read_u32, read_u64, BadDescriptor, Panic, View};

/// The first 16 bytes.
pub(crate) const MAGIC: [u8; 16] = *b"stopwatch-vmcore";

/// The descriptor's layout version; any change to [`Descriptor`] bumps it.
pub(crate) const VERSION: u32 = 1;

/// Bytes of the descriptor.
#[cfg_attr(
    CONFIG_RUST,
    allow(
        dead_code,
        reason = "the module uses it only in the layout assertions, which Debian's rustc 1.85 does not count as a use (1.95 does)"
    )
)]
pub(crate) const BYTES: usize = 216;

/// Bytes of one entry of the ring table ([`RingEntry`]).
#[cfg_attr(CONFIG_RUST, allow(dead_code, reason = "as BYTES"))]
pub(crate) const RING_ENTRY_BYTES: usize = 16;

/// Field offsets of [`Descriptor`] (pinned by the assertions below and in
/// `stopwatch_vmcore.h`).
#[cfg_attr(CONFIG_RUST, allow(dead_code, reason = "as BYTES"))]
pub(crate) mod off {
    pub(crate) const MAGIC: usize = 0;
    pub(crate) const SELF_ADDR: usize = 16;
    pub(crate) const VERSION: usize = 24;
    pub(crate) const RECORD_FORMAT: usize = 28;
    pub(crate) const NR_CPUS: usize = 32;
    pub(crate) const RING_RECORDS: usize = 36;
    pub(crate) const RING_TABLE: usize = 40;
    pub(crate) const RING_HEAD_OFF: usize = 48;
    pub(crate) const RING_BASE_OFF: usize = 52;
    pub(crate) const SLOT_BYTES: usize = 56;
    pub(crate) const SLOT_SEQ_OFF: usize = 60;
    pub(crate) const SLOT_WORDS_OFF: usize = 64;
    pub(crate) const COMM_SLOT_BYTES: usize = 68;
    pub(crate) const COMM_SLOTS: usize = 72;
    pub(crate) const COMM_COUNT: usize = 80;
    pub(crate) const COMM_SEQ_OFF: usize = 84;
    pub(crate) const COMM_PID_OFF: usize = 88;
    pub(crate) const COMM_NAME_OFF: usize = 92;
    pub(crate) const LIVE: usize = 96;
    pub(crate) const LIVE_STRIDE: usize = 104;
    pub(crate) const LIVE_INTERVAL_OFF: usize = 108;
    pub(crate) const OPEN: usize = 112;
    pub(crate) const OPEN_COUNT: usize = 120;
    pub(crate) const OPEN_STRIDE: usize = 124;
    pub(crate) const OPEN_ID_OFF: usize = 128;
    pub(crate) const PAD: usize = 132;
    pub(crate) const LAST_STOP: usize = 136;
    pub(crate) const WARN_PERCENT: usize = 144;
    pub(crate) const ONLINE_MASK: usize = 152;
    pub(crate) const LOAD_MONO_NS: usize = 160;
    pub(crate) const LOAD_PRINTK_NS: usize = 168;
    pub(crate) const PANIC_MONO_NS: usize = 176;
    pub(crate) const PANIC_PRINTK_NS: usize = 184;
    pub(crate) const PANIC_CPU: usize = 192;
    pub(crate) const PANICKED: usize = 196;
    pub(crate) const GENERATION: usize = 200;
    pub(crate) const ACTIVE_MASK: usize = 208;
}

/// The address of `r`, as the descriptor stores addresses.
pub(crate) fn address_of<T>(r: &T) -> u64 {
    core::ptr::from_ref(r) as u64
}

/// The descriptor (`struct stopwatch_vmcore`). Addresses are the
/// kernel's virtual addresses, 0 where there is none; every field is
/// little-endian on the architectures stopwatch runs on.
///
/// # Invariants
///
/// `self_addr` is 0 or this structure's own address; once it is not 0,
/// every other field has been written (it is stored last, with
/// `Release`), and the addresses stay valid until it is 0 again.
#[repr(C)]
pub(crate) struct Descriptor {
    /// [`MAGIC`].
    pub(crate) magic: [u8; 16],
    /// This structure's address: 0 until published.
    pub(crate) self_addr: AtomicU64,
    /// [`VERSION`].
    pub(crate) version: AtomicU32,
    /// The records' [`super::record::FORMAT_VERSION`].
    pub(crate) record_format: AtomicU32,
    /// Entries of the ring table: CPU ids `0..nr_cpus`.
    pub(crate) nr_cpus: AtomicU32,
    /// Slots of each ring.
    pub(crate) ring_records: AtomicU32,
    /// The ring table: `nr_cpus` [`RingEntry`]s.
    pub(crate) ring_table: AtomicU64,
    /// Offset of a ring's `head` (write number of the next record, `u64`).
    pub(crate) ring_head_off: AtomicU32,
    /// Offset of a ring's `base` (`head` at the last clear, `u64`).
    pub(crate) ring_base_off: AtomicU32,
    /// Bytes of a ring slot.
    pub(crate) slot_bytes: AtomicU32,
    /// Offset of a slot's sequence word (`u64`).
    pub(crate) slot_seq_off: AtomicU32,
    /// Offset of a slot's four record words.
    pub(crate) slot_words_off: AtomicU32,
    /// Bytes of a comm cache slot.
    pub(crate) comm_slot_bytes: AtomicU32,
    /// The comm cache's slots.
    pub(crate) comm_slots: AtomicU64,
    /// How many.
    pub(crate) comm_count: AtomicU32,
    /// Offset of a comm slot's sequence word (`u32`).
    pub(crate) comm_seq_off: AtomicU32,
    /// Offset of its pid (`u32`).
    pub(crate) comm_pid_off: AtomicU32,
    /// Offset of its name (16 bytes, NUL-padded).
    pub(crate) comm_name_off: AtomicU32,
    /// The live state of CPU 0; CPU `n`'s is `n * live_stride` further.
    pub(crate) live: AtomicU64,
    /// See `live`.
    pub(crate) live_stride: AtomicU32,
    /// Offset of a CPU's measured watchdog check interval (`u64` ns; the
    /// lockup threshold is 5 times it, `CpuLive::lockup_threshold_ns`).
    pub(crate) live_interval_off: AtomicU32,
    /// The open-instance table (`stop_machine()` calls in flight).
    pub(crate) open: AtomicU64,
    /// Its slots.
    pub(crate) open_count: AtomicU32,
    /// Bytes of a slot.
    pub(crate) open_stride: AtomicU32,
    /// Offset of a slot's instance id (`u32`; 0 free, `u32::MAX` filling).
    pub(crate) open_id_off: AtomicU32,
    /// Padding.
    pub(crate) _pad: AtomicU32,
    /// The last instance id handed out (address of a `u32`).
    pub(crate) last_stop: AtomicU64,
    /// The early warning's percentage (address of a `u32`).
    pub(crate) warn_percent: AtomicU64,
    /// The kernel's `cpu_online_mask` bits (`unsigned long`s).
    pub(crate) online_mask: AtomicU64,
    /// The records' clock (`ktime_get_mono_fast_ns()`) at load.
    pub(crate) load_mono_ns: AtomicU64,
    /// printk's (`local_clock()`), read right after.
    pub(crate) load_printk_ns: AtomicU64,
    /// The records' clock when the panic notifier ran (0: no panic).
    pub(crate) panic_mono_ns: AtomicU64,
    /// printk's, read right after.
    pub(crate) panic_printk_ns: AtomicU64,
    /// The panicking CPU.
    pub(crate) panic_cpu: AtomicU32,
    /// 1 once the panic notifier ran.
    pub(crate) panicked: AtomicU32,
    /// Ring sets made before the current one (a resize makes a new one).
    pub(crate) generation: AtomicU64,
    /// The kernel's `cpu_active_mask` bits: a panic stops the other CPUs,
    /// which takes them out of `online_mask` but not out of this one.
    pub(crate) active_mask: AtomicU64,
}

/// One entry of the ring table (`struct stopwatch_vmcore_ring`).
#[repr(C)]
pub(crate) struct RingEntry {
    /// The CPU's ring (its `head` and `base`), 0: no ring.
    pub(crate) ring: AtomicU64,
    /// Its slot 0.
    pub(crate) slots: AtomicU64,
}

impl RingEntry {
    /// An entry for a CPU without a ring.
    pub(crate) const fn new() -> Self {
        Self {
            ring: AtomicU64::new(0),
            slots: AtomicU64::new(0),
        }
    }
}

impl Descriptor {
    /// An unpublished descriptor: the magic only.
    pub(crate) const fn new() -> Self {
        Self {
            magic: MAGIC,
            self_addr: AtomicU64::new(0),
            version: AtomicU32::new(0),
            record_format: AtomicU32::new(0),
            nr_cpus: AtomicU32::new(0),
            ring_records: AtomicU32::new(0),
            ring_table: AtomicU64::new(0),
            ring_head_off: AtomicU32::new(0),
            ring_base_off: AtomicU32::new(0),
            slot_bytes: AtomicU32::new(0),
            slot_seq_off: AtomicU32::new(0),
            slot_words_off: AtomicU32::new(0),
            comm_slot_bytes: AtomicU32::new(0),
            comm_slots: AtomicU64::new(0),
            comm_count: AtomicU32::new(0),
            comm_seq_off: AtomicU32::new(0),
            comm_pid_off: AtomicU32::new(0),
            comm_name_off: AtomicU32::new(0),
            live: AtomicU64::new(0),
            live_stride: AtomicU32::new(0),
            live_interval_off: AtomicU32::new(0),
            open: AtomicU64::new(0),
            open_count: AtomicU32::new(0),
            open_stride: AtomicU32::new(0),
            open_id_off: AtomicU32::new(0),
            _pad: AtomicU32::new(0),
            last_stop: AtomicU64::new(0),
            warn_percent: AtomicU64::new(0),
            online_mask: AtomicU64::new(0),
            load_mono_ns: AtomicU64::new(0),
            load_printk_ns: AtomicU64::new(0),
            panic_mono_ns: AtomicU64::new(0),
            panic_printk_ns: AtomicU64::new(0),
            panic_cpu: AtomicU32::new(0),
            panicked: AtomicU32::new(0),
            generation: AtomicU64::new(0),
            active_mask: AtomicU64::new(0),
        }
    }
}

/// A field of [`Descriptor`] and its offset, as [`pin!`] lists them.
#[cfg(test)]
struct FieldAt {
    name: &'static str,
    offset: usize,
}

/// Pins each field at its offset, and lists them for the test that
/// compares `stopwatch_vmcore.h`.
macro_rules! pin {
    ($($field:ident => $off:ident),* $(,)?) => {
        $(const _: () = assert!(core::mem::offset_of!(Descriptor, $field) == off::$off);)*
        #[cfg(test)]
        const FIELDS: &[FieldAt] = &[$(FieldAt { name: stringify!($field), offset: off::$off }),*];
    };
}
pin! {
    magic => MAGIC, self_addr => SELF_ADDR, version => VERSION,
    record_format => RECORD_FORMAT, nr_cpus => NR_CPUS,
    ring_records => RING_RECORDS, ring_table => RING_TABLE,
    ring_head_off => RING_HEAD_OFF, ring_base_off => RING_BASE_OFF,
    slot_bytes => SLOT_BYTES, slot_seq_off => SLOT_SEQ_OFF,
    slot_words_off => SLOT_WORDS_OFF, comm_slot_bytes => COMM_SLOT_BYTES,
    comm_slots => COMM_SLOTS, comm_count => COMM_COUNT,
    comm_seq_off => COMM_SEQ_OFF, comm_pid_off => COMM_PID_OFF,
    comm_name_off => COMM_NAME_OFF, live => LIVE, live_stride => LIVE_STRIDE,
    live_interval_off => LIVE_INTERVAL_OFF, open => OPEN,
    open_count => OPEN_COUNT, open_stride => OPEN_STRIDE,
    open_id_off => OPEN_ID_OFF, _pad => PAD, last_stop => LAST_STOP,
    warn_percent => WARN_PERCENT, online_mask => ONLINE_MASK,
    load_mono_ns => LOAD_MONO_NS, load_printk_ns => LOAD_PRINTK_NS,
    panic_mono_ns => PANIC_MONO_NS, panic_printk_ns => PANIC_PRINTK_NS,
    panic_cpu => PANIC_CPU, panicked => PANICKED, generation => GENERATION,
    active_mask => ACTIVE_MASK,
}
const _: () = assert!(core::mem::size_of::<Descriptor>() == BYTES);
const _: () = assert!(core::mem::size_of::<RingEntry>() == RING_ENTRY_BYTES);
const _: () = assert!(core::mem::offset_of!(RingEntry, slots) == 8);

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use alloc::vec::Vec;
    use core::sync::atomic::Ordering::Relaxed;

    /// A published descriptor as bytes, with the fields `fill` sets.
    pub(crate) fn bytes(fill: impl FnOnce(&Descriptor)) -> Vec<u8> {
        let d = Descriptor::new();
        d.self_addr.store(0xffff_8880_0000_1000, Relaxed);
        d.version.store(VERSION, Relaxed);
        d.record_format
            .store(crate::logic::record::FORMAT_VERSION.into(), Relaxed);
        d.nr_cpus.store(4, Relaxed);
        d.ring_records.store(16, Relaxed);
        d.slot_bytes.store(40, Relaxed);
        d.slot_words_off.store(8, Relaxed);
        d.comm_slot_bytes.store(24, Relaxed);
        d.comm_count.store(8, Relaxed);
        d.comm_pid_off.store(4, Relaxed);
        d.comm_name_off.store(8, Relaxed);
        d.live_stride.store(128, Relaxed);
        d.open_stride.store(64, Relaxed);
        d.ring_base_off.store(8, Relaxed);
        fill(&d);
        // SAFETY: `Descriptor` is `repr(C)` of integers, `BYTES` long, with
        // no padding the compiler added (its fields are pinned above).
        let raw =
            unsafe { core::slice::from_raw_parts((&d as *const Descriptor).cast::<u8>(), BYTES) };
        raw.to_vec()
    }

    #[test]
    fn decodes_what_the_module_writes() {
        let b = bytes(|d| {
            d.panicked.store(1, Relaxed);
            d.panic_cpu.store(2, Relaxed);
            d.panic_mono_ns.store(77, Relaxed);
            d.comm_slots.store(0x1234, Relaxed);
        });
        let v = View::decode(&b).unwrap();
        assert_eq!(v.self_addr, 0xffff_8880_0000_1000);
        assert_eq!((v.nr_cpus, v.ring_records, v.comm_slots), (4, 16, 0x1234));
        assert_eq!(
            v.panic,
            Some(Panic {
                mono_ns: 77,
                printk_ns: 0,
                cpu: 2
            })
        );
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        let ok = bytes(|_| {});
        assert_eq!(View::decode(&ok[..BYTES - 1]), Err(BadDescriptor::Short));
        let mut b = ok.clone();
        b[3] ^= 1;
        assert_eq!(View::decode(&b), Err(BadDescriptor::Magic));
        let b = bytes(|d| d.self_addr.store(0, Relaxed));
        assert_eq!(View::decode(&b), Err(BadDescriptor::Unpublished));
        let b = bytes(|d| d.version.store(2, Relaxed));
        assert_eq!(View::decode(&b), Err(BadDescriptor::Version(2)));
        let b = bytes(|d| d.record_format.store(1, Relaxed));
        assert_eq!(View::decode(&b), Err(BadDescriptor::RecordFormat(1)));
        let b = bytes(|d| d.ring_records.store(1000, Relaxed));
        assert_eq!(
            View::decode(&b),
            Err(BadDescriptor::Inconsistent("ring_records"))
        );
        let b = bytes(|d| d.slot_words_off.store(16, Relaxed));
        assert_eq!(
            View::decode(&b),
            Err(BadDescriptor::Inconsistent("slot layout"))
        );
        let b = bytes(|d| d.comm_name_off.store(20, Relaxed));
        assert_eq!(
            View::decode(&b),
            Err(BadDescriptor::Inconsistent("comm layout"))
        );
    }

    /// The layout the C header states (`stopwatch_vmcore.h`), field by
    /// field: a field moved on one side only fails here or in the C
    /// build's `static_assert`s.
    #[test]
    fn c_header_states_the_same_offsets() {
        let header = include_str!("../stopwatch_vmcore.h");
        let mut seen = 0;
        for line in header.lines() {
            let Some(rest) = line.trim().strip_prefix("SW_VMCORE_FIELD(") else {
                continue;
            };
            let fields: Vec<&str> = rest
                .trim_end_matches(");")
                .split(',')
                .map(str::trim)
                .collect();
            let (name, offset): (&str, usize) = (fields[1], fields[2].parse().unwrap());
            let Some(ours) = FIELDS
                .iter()
                .find(|f| f.name.trim_start_matches('_') == name)
            else {
                panic!("stopwatch_vmcore.h has a field {name} the descriptor lacks");
            };
            assert_eq!(offset, ours.offset, "{name}");
            seen += 1;
        }
        assert_eq!(
            seen,
            FIELDS.len(),
            "every field of the descriptor is in the header"
        );
    }
}

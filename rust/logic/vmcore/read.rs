// SPDX-License-Identifier: GPL-2.0

//! A dump from a dead machine's memory: the vmcore descriptor
//! (`logic::vmcore`) found, the rings it points to read under the rules
//! the live reader uses (`logic::ring`, `logic::merge`: a slot whose
//! sequence word is not that of a finished write is torn, counted and
//! skipped), and the result written in the `dump` format, so the rest of
//! the tool sees what `/sys/kernel/debug/stopwatch/dump` would have
//! shown at the panic.
//!
//! Host only (the kernel writes descriptors, `stopwatch-timeline` reads
//! them). Memory comes through [`Memory`]: in the tool, drgn in a child process
//! (`tools/vmcore/memory.py`, which reads kdump vmcores, QEMU's
//! `dump-guest-memory` cores); in the tests, a map of
//! synthetic memory. Nothing here knows where the bytes came from.

use crate::logic::{
    self,
    comm::{Comm, CommCache, CommSlot, COMM_LEN},
    demangle::Demangled,
    dump::{self, Clocks, DumpLine, HeaderLine},
    live::CpuLive,
    merge::{Merge, Rings},
    record::Record,
    ring::{Ring, Slot},
    text::Names,
    vmcore::{self, BadDescriptor, View},
};
use crate::Host;
use alloc::{
    collections::{btree_map::Entry, BTreeMap},
    format,
    string::{String, ToString},
    vec::Vec,
};
use core::{
    fmt::{self, Display, Write as _},
    sync::atomic::Ordering::Relaxed,
};

/// Where the bytes of a dead (or live) kernel come from.
pub(crate) trait Memory {
    /// `len` bytes at `addr`, virtual or physical.
    fn read(&mut self, addr: u64, len: usize, physical: bool) -> Result<Vec<u8>, String>;
    /// Physical addresses where `pattern` starts.
    fn find(&mut self, pattern: &[u8]) -> Result<Vec<u64>, String>;
    /// The symbol at `addr` as `%pS` prints it (`fn+0x1a/0x40 [mod]`), if
    /// known.
    fn symbol(&mut self, addr: u64) -> Result<Option<String>, String>;
}

/// What reading found, besides the dump.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// The descriptor's address.
    pub(crate) descriptor: u64,
    /// CPUs with a ring.
    pub(crate) rings: usize,
    /// Records the rings held (`held()` of each, summed).
    pub(crate) held: u64,
    /// Records decoded into the dump.
    pub(crate) records: u64,
    /// Slots skipped as torn (being written at the crash).
    pub(crate) torn: u64,
    /// The panicking CPU, if the panic notifier ran.
    pub(crate) panic_cpu: Option<u32>,
}

/// The rings, rebuilt on the host.
struct HostRings(Vec<Option<Ring<Vec<Slot>>>>);

impl Rings for HostRings {
    type Slots = Vec<Slot>;

    fn count(&self) -> usize {
        self.0.len()
    }

    fn ring(&self, cpu: usize) -> Option<&Ring<Vec<Slot>>> {
        self.0.get(cpu)?.as_ref()
    }
}

/// Names as the dead machine knew them.
struct DeadNames {
    comms: CommCache<Vec<CommSlot>>,
    symbols: BTreeMap<u64, String>,
}

impl Names for DeadNames {
    fn symbol(&self, f: &mut fmt::Formatter<'_>, addr: u64) -> fmt::Result {
        match self.symbols.get(&addr) {
            Some(s) => Demangled(s).fmt(f),
            None => write!(f, "0x{addr:x}"),
        }
    }

    fn comm(&self, pid: u32) -> Option<Comm> {
        self.comms.lookup(pid)
    }
}

/// A [`BadDescriptor`] in words.
fn why(e: BadDescriptor) -> String {
    match e {
        BadDescriptor::Short => "a descriptor cut short".to_string(),
        BadDescriptor::Magic => "not a descriptor".to_string(),
        BadDescriptor::Unpublished => {
            "a descriptor never published (a copy of stopwatch.ko's file, or stopwatch was unloading)".to_string()
        }
        BadDescriptor::Version(v) => format!(
            "a descriptor of layout version {v}; this tool reads version {}: use the tools of that stopwatch",
            vmcore::VERSION
        ),
        BadDescriptor::RecordFormat(v) => format!(
            "records of format {v}; this tool reads format {}: use the tools of that stopwatch",
            logic::record::FORMAT_VERSION
        ),
        BadDescriptor::Inconsistent(what) => format!("a descriptor whose {what} cannot be right (corrupt memory?)"),
    }
}

/// Finds the one published descriptor.
fn find(mem: &mut impl Memory) -> Result<(View, Vec<u8>), String> {
    let mut refused = Vec::new();
    for phys in mem.find(&vmcore::MAGIC)? {
        let bytes = match mem.read(phys, vmcore::BYTES, true) {
            Ok(b) => b,
            Err(e) => {
                refused.push(format!("at physical 0x{phys:x}: {e}"));
                continue;
            }
        };
        match View::decode(&bytes) {
            // Its own address must read back the same bytes: the copy the
            // page tables map, not a stale one.
            Ok(view) => match mem.read(view.self_addr, vmcore::BYTES, false) {
                Ok(again) if again == bytes => return Ok((view, bytes)),
                Ok(_) => refused.push(format!(
                    "at physical 0x{phys:x}: its address 0x{:x} holds other bytes (a stale copy)",
                    view.self_addr
                )),
                Err(e) => refused.push(format!("at physical 0x{phys:x}: its address: {e}")),
            },
            Err(BadDescriptor::Unpublished) => {}
            Err(e) => refused.push(format!("at physical 0x{phys:x}: {}", why(e))),
        }
    }
    Err(match refused.is_empty() {
        true => "no stopwatch descriptor in this memory: stopwatch.ko was not loaded at the crash, or it is a stopwatch without one (before format 2's descriptor)".to_string(),
        false => format!("no usable stopwatch descriptor: {}", refused.join("; ")),
    })
}

/// Reads `n` items of `size` bytes from `addr` in one read.
fn table(
    mem: &mut impl Memory,
    addr: u64,
    n: usize,
    size: usize,
    what: &str,
) -> Result<Vec<u8>, String> {
    mem.read(addr, n * size, false)
        .map_err(|e| format!("{what} at 0x{addr:x}: {e}"))
}

/// Reads stopwatch's history from `mem` and writes it as a dump; the
/// error says what is wrong and nothing is returned then.
pub(crate) fn read_dump(mem: &mut impl Memory) -> Result<(String, Counts), String> {
    let (v, _) = find(mem)?;
    let nr_cpus = v.nr_cpus as usize;
    let records = v.ring_records as usize;
    let slot_bytes = v.slot_bytes as usize;
    let mut counts = Counts {
        descriptor: v.self_addr,
        panic_cpu: v.panic.map(|p| p.cpu),
        ..Counts::default()
    };

    // The rings.
    let entries = table(
        mem,
        v.ring_table,
        nr_cpus,
        vmcore::RING_ENTRY_BYTES,
        "the ring table",
    )?;
    let mut rings = Vec::with_capacity(nr_cpus);
    for cpu in 0..nr_cpus {
        let ring = vmcore::read_u64(&entries, cpu * vmcore::RING_ENTRY_BYTES);
        let slots_at = vmcore::read_u64(&entries, cpu * vmcore::RING_ENTRY_BYTES + 8);
        if ring == 0 {
            rings.push(None);
            continue;
        }
        let header = table(mem, ring, 1, 64, &format!("CPU {cpu}'s ring"))?;
        let head = vmcore::read_u64(&header, v.ring_head_off as usize);
        let base = vmcore::read_u64(&header, v.ring_base_off as usize);
        let raw = table(
            mem,
            slots_at,
            records,
            slot_bytes,
            &format!("CPU {cpu}'s slots"),
        )?;
        let slots = raw
            .chunks_exact(slot_bytes)
            .map(|s| {
                let w = |i: usize| vmcore::read_u64(s, v.slot_words_off as usize + 8 * i);
                Slot::from_raw(
                    vmcore::read_u64(s, v.slot_seq_off as usize),
                    [w(0), w(1), w(2), w(3)],
                )
            })
            .collect();
        let ring = Ring::from_raw(head, base, slots)
            .map_err(|_| format!("CPU {cpu}'s ring: {records} slots is no ring size"))?;
        let held = ring.held();
        counts.held += held.end - held.start;
        counts.rings += 1;
        rings.push(Some(ring));
    }
    let rings = HostRings(rings);

    // The names.
    let comm_bytes = v.comm_slot_bytes as usize;
    let raw = table(
        mem,
        v.comm_slots,
        v.comm_count as usize,
        comm_bytes,
        "the comm cache",
    )?;
    let comms = raw
        .chunks_exact(comm_bytes)
        .map(|s| {
            let mut name: Comm = [0; COMM_LEN];
            name.copy_from_slice(&s[v.comm_name_off as usize..v.comm_name_off as usize + COMM_LEN]);
            CommSlot::from_raw(
                vmcore::read_u32(s, v.comm_seq_off as usize),
                vmcore::read_u32(s, v.comm_pid_off as usize),
                &name,
            )
        })
        .collect();
    let comms = CommCache::new(comms).ok_or("an empty comm cache")?;

    // The state the header needs.
    let stride = v.live_stride as usize;
    let live = table(mem, v.live, nr_cpus, stride, "the live state")?;
    let thresholds: Vec<u64> = (0..nr_cpus)
        .map(|cpu| {
            let l = CpuLive::new();
            l.check_interval_ns.store(
                vmcore::read_u64(&live, cpu * stride + v.live_interval_off as usize),
                Relaxed,
            );
            l.lockup_threshold_ns()
        })
        .collect();
    let open_stride = v.open_stride as usize;
    let open = table(
        mem,
        v.open,
        v.open_count as usize,
        open_stride,
        "the open-instance table",
    )?;
    let running: Vec<u32> = (0..v.open_count as usize)
        .map(|i| vmcore::read_u32(&open, i * open_stride + v.open_id_off as usize))
        .filter(|&id| id != 0 && id != u32::MAX)
        .collect();
    let last_stop = vmcore::read_u32(&table(mem, v.last_stop, 1, 4, "the last instance id")?, 0);
    let warn_percent = vmcore::read_u32(&table(mem, v.warn_percent, 1, 4, "warn_percent")?, 0);
    // Online or active, as the panic dump counts them: stopping the other
    // CPUs at a panic takes them offline, not out of the active mask.
    let online_bits = table(
        mem,
        v.online_mask,
        nr_cpus.div_ceil(64),
        8,
        "cpu_online_mask",
    )?;
    let active_bits = table(
        mem,
        v.active_mask,
        nr_cpus.div_ceil(64),
        8,
        "cpu_active_mask",
    )?;
    let set = |bits: &[u8], cpu: usize| bits[cpu / 8] & (1 << (cpu % 8)) != 0;
    let online: Vec<u16> = (0..nr_cpus)
        .filter(|&cpu| set(&online_bits, cpu) || set(&active_bits, cpu))
        .map(|cpu| cpu as u16)
        .collect();

    // Every record, in time order, and the symbols of their addresses.
    let mut merge = Merge::<Host>::new(&rings).map_err(|_| "out of memory")?;
    let mut out: Vec<Record> = Vec::new();
    while let Some(r) = merge.next(&rings) {
        out.push(r);
    }
    counts.records = out.len() as u64;
    counts.torn = merge.torn();
    let mut symbols = BTreeMap::new();
    for r in &out {
        if let Some(addr) = dump::address(&r.event) {
            if let Entry::Vacant(e) = symbols.entry(addr) {
                if let Some(name) = mem.symbol(addr)? {
                    e.insert(name);
                }
            }
        }
    }
    let names = DeadNames { comms, symbols };

    // The moment: the panic's, else the newest record's (with the clocks'
    // difference at load).
    let clocks = match v.panic {
        Some(p) => Clocks {
            now_ns: p.mono_ns,
            printk_ns: p.printk_ns,
        },
        None => {
            let now_ns = out.iter().map(|r| r.ts_ns).max().unwrap_or(v.load_mono_ns);
            Clocks {
                now_ns,
                printk_ns: now_ns.wrapping_add(v.load_printk_ns.wrapping_sub(v.load_mono_ns)),
            }
        }
    };
    let mut text = String::new();
    let _ = write!(
        text,
        "{}",
        HeaderLine {
            cpus: nr_cpus as u16,
            clocks,
            warn_percent,
            online: online.iter().copied(),
            running: running.iter().copied(),
            last_stop,
        }
    );
    for (cpu, ns) in thresholds.iter().enumerate() {
        let _ = write!(
            text,
            "{}",
            Threshold {
                cpu: cpu as u16,
                ns: *ns
            }
        );
    }
    for r in &out {
        let _ = write!(
            text,
            "{}",
            DumpLine {
                rec: r,
                names: &names
            }
        );
    }
    Ok((text, counts))
}

/// A threshold line.
struct Threshold {
    cpu: u16,
    ns: u64,
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        dump::write_threshold(f, self.cpu, self.ns)
    }
}

#[cfg(test)]
mod tests;

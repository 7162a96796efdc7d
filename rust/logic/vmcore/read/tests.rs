// SPDX-License-Identifier: GPL-2.0

//! The vmcore reader on synthetic memory: a dead machine's structures laid
//! out as bytes where a descriptor says they are.

use super::*;
use crate::logic::{
    dump::{parse_line, DumpItem},
    record::{Event, StopState, TouchSource},
    vmcore::{tests::bytes, Descriptor},
};
use crate::testing::{begin, rec, MS};
use alloc::vec;
use core::sync::atomic::Ordering::Relaxed;

/// Where the synthetic kernel's structures are (virtual; physical is
/// virtual minus `PHYS_OFF` for the descriptor, the one thing searched).
const DESC: u64 = 0xffff_ffff_c000_1000;
const PHYS_OFF: u64 = 0xffff_ffff_b000_0000;
const TABLE: u64 = 0xffff_8880_0100_0000;
const RING: u64 = 0xffff_8880_0200_0000;
const SLOTS: u64 = 0xffff_c900_0000_0000;
const COMMS: u64 = 0xffff_8880_0300_0000;
const LIVE: u64 = 0xffff_8880_0400_0000;
const OPEN: u64 = 0xffff_8880_0500_0000;
const LAST: u64 = 0xffff_8880_0600_0000;
const WARN: u64 = 0xffff_8880_0600_0010;
const MASK: u64 = 0xffff_8880_0700_0000;
const ACTIVE: u64 = 0xffff_8880_0700_0100;
const CPUS: usize = 4;
const RECORDS: usize = 16;
const HOG: u32 = 91;

/// Memory: blobs at virtual addresses, and the physical ones searched.
#[derive(Default)]
struct Fake {
    virt: BTreeMap<u64, Vec<u8>>,
    phys: BTreeMap<u64, Vec<u8>>,
}

fn at(map: &BTreeMap<u64, Vec<u8>>, addr: u64, len: usize) -> Result<Vec<u8>, String> {
    let (start, blob) = map.range(..=addr).next_back().ok_or("unmapped")?;
    let off = (addr - start) as usize;
    blob.get(off..off + len)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| "unmapped".to_string())
}

impl Memory for Fake {
    fn read(&mut self, addr: u64, len: usize, physical: bool) -> Result<Vec<u8>, String> {
        at(if physical { &self.phys } else { &self.virt }, addr, len)
    }

    fn find(&mut self, pattern: &[u8]) -> Result<Vec<u64>, String> {
        Ok(self
            .phys
            .iter()
            .filter(|(_, b)| b.starts_with(pattern))
            .map(|(a, _)| *a)
            .collect())
    }

    fn symbol(&mut self, addr: u64) -> Result<Option<String>, String> {
        Ok((addr == 0xffff_ffff_a000_0000)
            .then(|| "stopwatch_storm_work+0x0/0x44 [stopwatch_storm]".to_string()))
    }
}

/// The seed's incident in flight: stop 12 from CPU 0, CPU 2's hog
/// touching its watchdog, every other CPU waiting in PREPARE.
fn incident() -> Vec<Record> {
    let mut seq = vec![begin(10, 12, 4, 0xffff_ffff_a000_0000)];
    for cpu in [0u16, 1, 3] {
        seq.push(rec(
            11 + u64::from(cpu),
            cpu,
            20 + u32::from(cpu),
            Event::CpuState {
                stop: 12,
                state: StopState::None,
            },
        ));
    }
    seq.extend((1..8).map(|i| {
        rec(
            100 * i,
            2,
            HOG,
            Event::Touch {
                source: TouchSource::Plain,
                caller: 0xffff_ffff_a100_0119,
            },
        )
    }));
    seq
}

/// Slot bytes: sequence word, then the four words.
fn slot(seq: u64, words: [u64; 4]) -> Vec<u8> {
    let mut b = seq.to_le_bytes().to_vec();
    for w in words {
        b.extend_from_slice(&w.to_le_bytes());
    }
    b
}

/// A dead machine holding `records` in its rings, the descriptor as the
/// module publishes it (`fill` changes it).
fn machine(records: &[Record], fill: impl FnOnce(&Descriptor)) -> Fake {
    let mut m = Fake::default();
    let desc = bytes(|d| {
        d.self_addr.store(DESC, Relaxed);
        d.nr_cpus.store(CPUS as u32, Relaxed);
        d.ring_records.store(RECORDS as u32, Relaxed);
        d.ring_table.store(TABLE, Relaxed);
        d.comm_slots.store(COMMS, Relaxed);
        d.comm_count.store(8, Relaxed);
        d.live.store(LIVE, Relaxed);
        d.live_stride.store(128, Relaxed);
        d.live_interval_off.store(64, Relaxed);
        d.open.store(OPEN, Relaxed);
        d.open_count.store(2, Relaxed);
        d.open_stride.store(64, Relaxed);
        d.open_id_off.store(0, Relaxed);
        d.last_stop.store(LAST, Relaxed);
        d.warn_percent.store(WARN, Relaxed);
        d.online_mask.store(MASK, Relaxed);
        d.active_mask.store(ACTIVE, Relaxed);
        d.panicked.store(1, Relaxed);
        d.panic_cpu.store(1, Relaxed);
        d.panic_mono_ns.store(3000 * MS, Relaxed);
        d.panic_printk_ns.store(3000 * MS + 5, Relaxed);
        fill(d);
    });
    m.phys.insert(DESC - PHYS_OFF, desc.clone());
    m.virt.insert(DESC, desc);
    let mut table = Vec::new();
    for cpu in 0..CPUS {
        let ring = RING + 0x1000 * cpu as u64;
        let slots_at = SLOTS + 0x10_0000 * cpu as u64;
        table.extend_from_slice(&ring.to_le_bytes());
        table.extend_from_slice(&slots_at.to_le_bytes());
        let mine: Vec<&Record> = records
            .iter()
            .filter(|r| usize::from(r.cpu) == cpu)
            .collect();
        let mut slots = vec![0u8; RECORDS * 40];
        for (n, r) in mine.iter().enumerate() {
            let i = n % RECORDS;
            slots[i * 40..(i + 1) * 40].copy_from_slice(&slot(2 * n as u64 + 2, r.encode()));
        }
        let mut header = (mine.len() as u64).to_le_bytes().to_vec();
        header.resize(64, 0);
        m.virt.insert(ring, header);
        m.virt.insert(slots_at, slots);
    }
    m.virt.insert(TABLE, table);
    let mut comms = vec![0u8; 8 * 24];
    for (pid, name) in [(HOG, &b"stopwatch_hog/2"[..]), (20, b"migration/0")] {
        let i = pid as usize % 8;
        comms[i * 24..i * 24 + 4].copy_from_slice(&2u32.to_le_bytes());
        comms[i * 24 + 4..i * 24 + 8].copy_from_slice(&pid.to_le_bytes());
        comms[i * 24 + 8..i * 24 + 8 + name.len()].copy_from_slice(name);
    }
    m.virt.insert(COMMS, comms);
    let mut live = vec![0u8; CPUS * 128];
    for cpu in 0..CPUS {
        // watchdog_thresh=1: checks every 400 ms, a 2 s threshold.
        live[cpu * 128 + 64..cpu * 128 + 72].copy_from_slice(&(400 * MS).to_le_bytes());
    }
    m.virt.insert(LIVE, live);
    let mut open = vec![0u8; 2 * 64];
    open[64..68].copy_from_slice(&12u32.to_le_bytes());
    m.virt.insert(OPEN, open);
    m.virt.insert(LAST, 12u32.to_le_bytes().to_vec());
    m.virt.insert(WARN, 50u32.to_le_bytes().to_vec());
    // The panic stopped CPUs 0, 2 and 3: offline, still active.
    m.virt.insert(MASK, 0b0010u64.to_le_bytes().to_vec());
    m.virt.insert(ACTIVE, 0b1101u64.to_le_bytes().to_vec());
    m
}

#[test]
fn reads_every_record_back_in_time_order_with_the_dead_machines_names() {
    let records = incident();
    let (text, counts) = read_dump(&mut machine(&records, |_| {})).unwrap();
    assert_eq!(
        counts,
        Counts {
            descriptor: DESC,
            rings: 4,
            held: records.len() as u64,
            records: records.len() as u64,
            torn: 0,
            panic_cpu: Some(1),
        }
    );
    let mut lines = text.lines();
    let Ok(DumpItem::Header(h)) = parse_line(lines.next().unwrap()) else {
        panic!("no header: {text}");
    };
    assert_eq!(
        (h.cpus, h.now_ns, h.printk_ns, h.warn_percent, h.last_stop),
        (4, 3000 * MS, 3000 * MS + 5, 50, 12)
    );
    assert_eq!(h.online().collect::<Vec<_>>(), [0, 1, 2, 3]);
    assert_eq!(h.running().collect::<Vec<_>>(), [12]);
    let mut back = Vec::new();
    for line in lines {
        match parse_line(line).unwrap() {
            DumpItem::Threshold { ns, .. } => assert_eq!(ns, 2000 * MS),
            DumpItem::Record {
                record,
                comm,
                symbol,
            } => {
                if record.pid == HOG {
                    assert_eq!(comm, Some("stopwatch_hog/2"));
                }
                if let Event::StopBegin { .. } = record.event {
                    assert_eq!(
                        symbol,
                        Some("stopwatch_storm_work+0x0/0x44 [stopwatch_storm]")
                    );
                }
                back.push(record);
            }
            DumpItem::Header(_) => panic!("a second header"),
        }
    }
    let mut sorted = records.clone();
    sorted.sort_by_key(|r| r.ts_ns);
    assert_eq!(back, sorted);
}

#[test]
fn a_slot_being_written_at_the_crash_is_counted_torn_not_decoded() {
    let records = incident();
    let mut m = machine(&records, |_| {});
    // CPU 2's third touch: the writer had set its sequence odd.
    let slots = m.virt.get_mut(&(SLOTS + 0x20_0000)).unwrap();
    slots[2 * 40..2 * 40 + 8].copy_from_slice(&(2 * 2 + 1u64).to_le_bytes());
    let (text, counts) = read_dump(&mut m).unwrap();
    assert_eq!((counts.records, counts.torn), (records.len() as u64 - 1, 1));
    assert!(
        !text.contains(&format!("{:016x}", 300 * MS)),
        "the torn record is not in the dump"
    );
}

#[test]
fn a_wrapped_ring_gives_its_newest_records() {
    let mut records = incident();
    records.extend((8..40).map(|i| {
        rec(
            100 * i,
            2,
            HOG,
            Event::Touch {
                source: TouchSource::Plain,
                caller: 1,
            },
        )
    }));
    let (_, counts) = read_dump(&mut machine(&records, |_| {})).unwrap();
    // CPU 2 wrote 39 touches into 16 slots; the others 1 record each.
    assert_eq!(counts.held, 16 + 4);
    assert_eq!(counts.records, 16 + 4);
}

#[test]
fn without_a_panic_the_moment_is_the_newest_record() {
    let (text, counts) =
        read_dump(&mut machine(&incident(), |d| d.panicked.store(0, Relaxed))).unwrap();
    assert_eq!(counts.panic_cpu, None);
    let Ok(DumpItem::Header(h)) = parse_line(text.lines().next().unwrap()) else {
        panic!("no header");
    };
    assert_eq!(h.now_ns, 700 * MS);
}

#[test]
fn refuses_memory_it_cannot_read_and_says_why() {
    let err = |m: &mut Fake| read_dump(m).unwrap_err();
    let mut none = Fake::default();
    assert!(
        err(&mut none).contains("no stopwatch descriptor"),
        "{}",
        err(&mut none)
    );
    let mut other = machine(&incident(), |d| d.version.store(7, Relaxed));
    assert!(
        err(&mut other).contains("layout version 7"),
        "{}",
        err(&mut other)
    );
    let mut format = machine(&incident(), |d| d.record_format.store(1, Relaxed));
    assert!(
        err(&mut format).contains("records of format 1"),
        "{}",
        err(&mut format)
    );
    // A copy whose address holds other bytes: not the live descriptor.
    let mut stale = machine(&incident(), |_| {});
    stale.virt.get_mut(&DESC).unwrap()[40] ^= 0xff;
    assert!(
        err(&mut stale).contains("stale copy"),
        "{}",
        err(&mut stale)
    );
    // A table that is not mapped: named, nothing returned.
    let mut cut = machine(&incident(), |_| {});
    cut.virt.remove(&TABLE);
    assert!(
        err(&mut cut).contains("the ring table"),
        "{}",
        err(&mut cut)
    );
}

#[test]
fn an_unpublished_copy_beside_the_live_one_is_passed_over() {
    let mut m = machine(&incident(), |_| {});
    // stopwatch.ko's file in the page cache: the magic, a zero address.
    let copy = bytes(|d| d.self_addr.store(0, Relaxed));
    m.phys.insert(0x10, copy);
    assert_eq!(read_dump(&mut m).unwrap().1.descriptor, DESC);
}

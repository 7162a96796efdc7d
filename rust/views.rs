// SPDX-License-Identifier: GPL-2.0

//! The files under `/sys/kernel/debug/stopwatch/`: what each shows and
//! what writing to it does. The text of records and instances is
//! `logic::text`; what is live (per-CPU state, counters) is formatted here.
//! Field names are documented in `Documentation/stopwatch.rst`; changing
//! one is an interface change.

use crate::{
    hot::Relaxed,
    lists::Kernel,
    logic::{
        analysis::StopLog,
        control,
        diagnosis::{CpuLine, WaitSummary},
        dump::{self, DumpLine},
        record::{Record, FORMAT_VERSION},
        text::{EventLine, Ms, StopLine},
    },
    probes::PROBES,
    recorder::{InFlight, KernelNames, Recorder, RingReader},
    seam,
    services::{self, FileSpec, Stream, StreamFns},
};
use core::fmt::{self, Formatter};
use kernel::prelude::*;

/// Every file, in the order `ls` shows them.
pub(crate) static FILES: [FileSpec<Recorder>; 11] = [
    stream(c"events", &EVENTS),
    stream(c"dump", &DUMP),
    read_only(c"cpus", cpus),
    stream(c"stops", &STOPS),
    read_only(c"stats", stats),
    read_write(c"enable", read_enable, write_enable),
    FileSpec {
        name: c"clear",
        read: None,
        write: Some(write_clear),
        stream: None,
    },
    read_write(c"buffer_size", read_buffer_size, write_buffer_size),
    read_write(c"warn_percent", read_warn_percent, write_warn_percent),
    read_write(c"console", read_console, write_console),
    read_only(c"format", format),
];

/// The functions of the `events` stream.
static EVENTS: StreamFns = services::stream_fns::<Recorder, Events>();
/// The functions of the `stops` stream.
static STOPS: StreamFns = services::stream_fns::<Recorder, Stops>();
/// The functions of the `dump` stream.
static DUMP: StreamFns = services::stream_fns::<Recorder, Dump>();

/// A file read as a [`Stream`].
const fn stream(name: &'static core::ffi::CStr, fns: &'static StreamFns) -> FileSpec<Recorder> {
    FileSpec {
        name,
        read: None,
        write: None,
        stream: Some(fns),
    }
}

/// A file that can only be read.
const fn read_only(
    name: &'static core::ffi::CStr,
    read: services::ReadFn<Recorder>,
) -> FileSpec<Recorder> {
    FileSpec {
        name,
        read: Some(read),
        write: None,
        stream: None,
    }
}

/// A file that can be read and written.
const fn read_write(
    name: &'static core::ffi::CStr,
    read: services::ReadFn<Recorder>,
    write: services::WriteFn<Recorder>,
) -> FileSpec<Recorder> {
    FileSpec {
        name,
        read: Some(read),
        write: Some(write),
        stream: None,
    }
}

/// A control write's parse failure: `EINVAL`, nothing changed.
fn einval(_: control::Invalid) -> Error {
    EINVAL
}

/// `enable` read.
fn read_enable(rec: &Recorder, f: &mut Formatter<'_>) -> fmt::Result {
    writeln!(f, "{}", u8::from(rec.enabled.load(Relaxed)))
}

/// `enable` write: `0` or `1`.
fn write_enable(rec: &Recorder, input: &[u8]) -> Result {
    let on = control::parse_enable(input).map_err(einval)?;
    rec.enabled.store(on, Relaxed);
    Ok(())
}

/// `clear` write: `1`.
fn write_clear(rec: &Recorder, input: &[u8]) -> Result {
    control::parse_clear(input).map_err(einval)?;
    rec.clear();
    Ok(())
}

/// `buffer_size` read.
fn read_buffer_size(rec: &Recorder, f: &mut Formatter<'_>) -> fmt::Result {
    writeln!(f, "{}", rec.ring_records.load(Relaxed))
}

/// `buffer_size` write: only while disabled (`EBUSY` otherwise).
fn write_buffer_size(rec: &Recorder, input: &[u8]) -> Result {
    let records = control::parse_buffer_size(input).map_err(einval)?;
    rec.resize(records)
}

/// `warn_percent` read.
fn read_warn_percent(rec: &Recorder, f: &mut Formatter<'_>) -> fmt::Result {
    writeln!(f, "{}", rec.warn_percent.load(Relaxed))
}

/// `warn_percent` write: 1..=100.
fn write_warn_percent(rec: &Recorder, input: &[u8]) -> Result {
    let percent = control::parse_warn_percent(input).map_err(einval)?;
    rec.warn_percent.store(percent, Relaxed);
    Ok(())
}

/// `console` read.
fn read_console(rec: &Recorder, f: &mut Formatter<'_>) -> fmt::Result {
    writeln!(f, "{}", u8::from(rec.console.on.load(Relaxed)))
}

/// `console` write: `0` or `1` (see `console.rs`).
fn write_console(rec: &Recorder, input: &[u8]) -> Result {
    let on = control::parse_enable(input).map_err(einval)?;
    rec.console.on.store(on, Relaxed);
    Ok(())
}

/// `format` read: the record format version.
fn format(_: &Recorder, f: &mut Formatter<'_>) -> fmt::Result {
    writeln!(f, "{FORMAT_VERSION}")
}

/// `events`: every record in the rings, in time order, one per item, read
/// from the rings in place (memory: a cursor per CPU, whatever the rings
/// hold).
struct Events {
    /// Where the reading is.
    reader: RingReader,
    /// Number of the current item.
    index: u64,
    /// The current item (`None`: the end).
    current: Option<Record>,
}

impl Events {
    /// A reading from the start.
    fn start(rec: &Recorder) -> Result<Self> {
        let mut reader = rec.reader()?;
        let current = rec.read_next(&mut reader);
        Ok(Self {
            reader,
            index: 0,
            current,
        })
    }
}

impl Stream<Recorder> for Events {
    fn open(rec: &Recorder) -> Result<Self> {
        Self::start(rec)
    }

    fn seek(&mut self, rec: &Recorder, pos: u64) -> bool {
        if pos < self.index {
            // Back (a seek to 0): read again from what the rings hold now.
            match Self::start(rec) {
                Ok(again) => *self = again,
                Err(_) => return false,
            }
        }
        while self.index < pos && self.advance(rec) {}
        self.index == pos && self.current.is_some()
    }

    fn advance(&mut self, rec: &Recorder) -> bool {
        if self.current.is_none() {
            return false;
        }
        self.current = rec.read_next(&mut self.reader);
        self.index += 1;
        self.current.is_some()
    }

    fn show(&self, rec: &Recorder, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.current {
            Some(r) => writeln!(
                f,
                "{}",
                EventLine {
                    rec: r,
                    names: &KernelNames(rec)
                }
            ),
            None => Ok(()),
        }
    }
}

/// `dump`: what `events` reads, as `logic::dump` lines for a host tool
/// (`tools/timeline`): a header (item 0), then a line per record.
struct Dump {
    /// The records, read as `events` reads them (item `n + 1` is its item
    /// `n`).
    events: Events,
    /// Whether the header is the current item.
    at_header: bool,
    /// Online CPUs at open.
    online: KVec<u16>,
    /// Instances in flight at open.
    in_flight: InFlight,
    /// Open time, on both clocks.
    clocks: dump::Clocks,
}

impl Stream<Recorder> for Dump {
    fn open(rec: &Recorder) -> Result<Self> {
        // The header's moment comes first: records read after it may be
        // newer, never older.
        let in_flight = rec.in_flight();
        let now_ns = services::now_ns();
        let printk_ns = services::printk_clock_ns();
        Ok(Self {
            online: rec.online_cpus()?,
            in_flight,
            clocks: dump::Clocks { now_ns, printk_ns },
            events: Events::start(rec)?,
            at_header: true,
        })
    }

    fn seek(&mut self, rec: &Recorder, pos: u64) -> bool {
        if pos == 0 {
            if self.at_header && self.events.index == 0 {
                return true;
            }
            // From the start again: a new moment, its header and records.
            return match Self::open(rec) {
                Ok(again) => {
                    *self = again;
                    true
                }
                Err(_) => false,
            };
        }
        self.at_header = false;
        self.events.seek(rec, pos - 1)
    }

    fn advance(&mut self, rec: &Recorder) -> bool {
        if self.at_header {
            self.at_header = false;
            return self.events.current.is_some();
        }
        self.events.advance(rec)
    }

    fn show(&self, rec: &Recorder, f: &mut Formatter<'_>) -> fmt::Result {
        if self.at_header {
            write!(
                f,
                "{}",
                dump::HeaderLine {
                    cpus: rec.cpus.len() as u16,
                    clocks: self.clocks,
                    warn_percent: rec.warn_percent.load(Relaxed),
                    online: self.online.iter().copied(),
                    running: self.in_flight.ids(),
                    last_stop: self.in_flight.last(),
                }
            )?;
            for (cpu, live) in rec.cpus.iter().enumerate() {
                dump::write_threshold(f, cpu as u16, live.lockup_threshold_ns())?;
            }
            return Ok(());
        }
        match &self.events.current {
            Some(r) => write!(
                f,
                "{}",
                DumpLine {
                    rec: r,
                    names: &KernelNames(rec)
                }
            ),
            None => Ok(()),
        }
    }
}

/// Writes `/sys/kernel/debug/stopwatch/cpus`: a summary line, then one
/// line per CPU (`logic::diagnosis`, shared with the console).
fn cpus(rec: &Recorder, f: &mut Formatter<'_>) -> fmt::Result {
    let names = KernelNames(rec);
    let cpus = rec.live_cpus();
    writeln!(f, "{}", WaitSummary(&cpus))?;
    for (cpu, live) in cpus.live.iter().enumerate() {
        writeln!(
            f,
            "{}",
            CpuLine {
                cpu,
                live,
                online: (cpus.online)(cpu),
                now_ns: cpus.now_ns,
                names: &names,
            }
        )?;
    }
    Ok(())
}

/// `stops`: the newest instances still in the rings, oldest first, one
/// per item. The analysis runs once, at open, over the rings read in place;
/// each line is made when its turn comes.
struct Stops {
    /// The analysis.
    log: StopLog<Kernel>,
    /// Online CPUs at open.
    online: KVec<u16>,
    /// Open time.
    now_ns: u64,
    /// Index of the current instance in `log.stops`.
    index: usize,
}

impl Stream<Recorder> for Stops {
    fn open(rec: &Recorder) -> Result<Self> {
        // What runs, read around the reading of the rings: an instance with
        // no end record that was not running before it or after it, and
        // began before it, returned with its end record lost.
        let before = rec.in_flight();
        let mut log = StopLog::<Kernel>::new();
        rec.for_each_record(|r| log.feed(r).map_err(|_| ENOMEM))?;
        let after = rec.in_flight();
        log.confirm_running(|stop| {
            before.contains(stop) || after.contains(stop) || before.began_after(stop)
        });
        Ok(Self {
            log,
            online: rec.online_cpus()?,
            now_ns: services::now_ns(),
            index: 0,
        })
    }

    fn seek(&mut self, _rec: &Recorder, pos: u64) -> bool {
        self.index = usize::try_from(pos).unwrap_or(usize::MAX);
        self.index < self.log.stops.len()
    }

    fn advance(&mut self, _rec: &Recorder) -> bool {
        self.index = self.index.saturating_add(1);
        self.index < self.log.stops.len()
    }

    fn show(&self, rec: &Recorder, f: &mut Formatter<'_>) -> fmt::Result {
        let Some(s) = self.log.stops.get(self.index) else {
            return Ok(());
        };
        // The task the watchdog last saw on a CPU, if it has checked it.
        let task_on = |cpu: u16| {
            let live = rec.cpu(u32::from(cpu))?;
            (live.check_ns.load(Relaxed) != 0).then(|| live.check_pid.load(Relaxed))
        };
        writeln!(
            f,
            "{}",
            StopLine {
                stop: s,
                now_ns: self.now_ns,
                online: &self.online,
                names: &KernelNames(rec),
                task_on: &task_on,
                blame: rec.blame(),
                queued_behind: self.log.queued_behind(s.stop),
            }
        )
    }
}

/// Writes `/sys/kernel/debug/stopwatch/stats`.
fn stats(rec: &Recorder, f: &mut Formatter<'_>) -> fmt::Result {
    let counts = rec.ring_counts().map_err(|_| fmt::Error)?;
    let torn = rec.torn.load(Relaxed);
    writeln!(
        f,
        "format={FORMAT_VERSION} enabled={} buffer_size={} warn_percent={} console={} layout_errors={}",
        u8::from(rec.enabled.load(Relaxed)),
        rec.ring_records.load(Relaxed),
        rec.warn_percent.load(Relaxed),
        u8::from(rec.console.on.load(Relaxed)),
        rec.layout_errors.load(Relaxed)
    )?;
    // Both clocks read back to back: record time + (printk_ns - mono_ns)
    // is the dmesg time of a record.
    let mono = services::now_ns();
    let printk = services::printk_clock_ns();
    writeln!(f, "clock mono_ns={mono} printk_ns={printk}")?;
    // Rings exist for the CPUs that have come up (`recorder/rings.rs`);
    // the rest is per possible CPU.
    let m = rec.memory();
    writeln!(
        f,
        "memory possible_cpus={} rings={} ring_bytes={} per_cpu_bytes={} comm_bytes={} ring_failures={}",
        rec.cpus.len(),
        m.rings,
        m.ring_bytes,
        m.per_cpu_bytes,
        m.comm_bytes,
        m.failed
    )?;
    let (mut written, mut overwritten, mut coalesced) = (0u64, 0u64, 0u64);
    for (cpu, live) in rec.cpus.iter().enumerate() {
        // A line per CPU with a ring: not one per possible CPU.
        let Some(c) = counts.get(cpu).copied().flatten() else {
            continue;
        };
        let co = live.coalesced.load(Relaxed);
        written += c.written;
        overwritten += c.overwritten;
        coalesced += co;
        writeln!(
            f,
            "cpu={cpu} written={} overwritten={} in_ring={} coalesced={co} lockup_threshold_ms={}",
            c.written,
            c.overwritten,
            c.written - c.overwritten,
            Ms(live.lockup_threshold_ns())
        )?;
    }
    let mut missed = 0;
    for (index, spec) in PROBES.iter().enumerate() {
        let hits: u64 = rec.cpus.iter().map(|c| c.hits[index].load(Relaxed)).sum();
        let nmissed = seam::probe_nmissed(index);
        missed += nmissed;
        writeln!(
            f,
            "probe={:?} kind={} hits={hits} nmissed={nmissed}",
            spec.symbol,
            spec.kind.api()
        )?;
    }
    writeln!(
        f,
        "total written={written} overwritten={overwritten} in_ring={} coalesced={coalesced} missed={missed} torn={torn}",
        written - overwritten
    )?;
    // The longest a reader of these files kept its CPU without yielding.
    let hold_ns = services::longest_hold_ns();
    writeln!(
        f,
        "reading longest_hold_us={}.{:03}",
        hold_ns / 1000,
        hold_ns % 1000
    )
}

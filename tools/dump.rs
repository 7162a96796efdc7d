// SPDX-License-Identifier: GPL-2.0

//! A stopwatch dump (`/sys/kernel/debug/stopwatch/dump`, copied off the
//! machine that recorded it, or read from a vmcore), read for the host
//! tools: its records, thresholds and names, and stopwatch's analysis of
//! them, as the `stops` view runs it.

use crate::{
    logic::{
        self,
        analysis::{Blame, StopLog},
        comm::{Comm, COMM_LEN},
        dump::{parse_line, DumpError, DumpHeader, DumpItem},
        record::Record,
        text::Names,
        NoMemory,
    },
    Host,
};
use std::{
    collections::HashMap,
    fmt::{self, Display},
};

/// A dump, read.
pub(crate) struct Dump {
    /// Its header line (parsed again for [`Dump::header`]).
    header_line: String,
    /// Soft-lockup threshold of each CPU (by index).
    pub(crate) thresholds_ns: Vec<u64>,
    /// The records, in time order.
    pub(crate) records: Vec<Record>,
    /// Symbol of each address the records hold.
    symbols: HashMap<u64, String>,
    /// Name of each pid the records hold.
    comms: HashMap<u32, String>,
}

impl Dump {
    /// Reads a dump's text; the error names the line.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut lines = text.lines().enumerate();
        let bad = |n: usize, e: DumpError| format!("line {}: {}", n + 1, Why(e));
        let header_line = match lines.next() {
            Some((n, line)) => match parse_line(line) {
                Ok(DumpItem::Header(_)) => line.to_string(),
                Ok(_) => return Err("line 1: not a stopwatch dump header".to_string()),
                Err(e) => return Err(bad(n, e)),
            },
            None => return Err("empty: not a stopwatch dump".to_string()),
        };
        let mut dump = Self {
            header_line,
            thresholds_ns: Vec::new(),
            records: Vec::new(),
            symbols: HashMap::new(),
            comms: HashMap::new(),
        };
        // 0: no threshold line (yet) for that CPU.
        dump.thresholds_ns = vec![0; usize::from(dump.header().cpus)];
        for (n, line) in lines {
            match parse_line(line).map_err(|e| bad(n, e))? {
                DumpItem::Header(_) => return Err(format!("line {}: a second header", n + 1)),
                DumpItem::Threshold { cpu, ns } => match dump
                    .thresholds_ns
                    .get_mut(usize::from(cpu))
                {
                    Some(t) => *t = ns,
                    None => return Err(format!("line {}: CPU {cpu} is not in the dump", n + 1)),
                },
                DumpItem::Record {
                    record,
                    comm,
                    symbol,
                } => {
                    if let Some(comm) = comm {
                        dump.comms.insert(record.pid, comm.to_string());
                    }
                    if let (Some(sym), Some(addr)) = (symbol, logic::dump::address(&record.event)) {
                        dump.symbols.insert(addr, sym.to_string());
                    }
                    dump.records.push(record);
                }
            }
        }
        if let Some(cpu) = dump.thresholds_ns.iter().position(|&t| t == 0) {
            return Err(format!("no threshold line for CPU {cpu}"));
        }
        Ok(dump)
    }

    /// The header.
    pub(crate) fn header(&self) -> DumpHeader<'_> {
        match parse_line(&self.header_line) {
            Ok(DumpItem::Header(h)) => h,
            // `parse` kept it only if it was one.
            _ => unreachable!("the header was checked"),
        }
    }
}

/// A [`DumpError`] in words.
struct Why(DumpError);

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            DumpError::Syntax => f.write_str("not a dump line (or a field malformed)"),
            DumpError::Version(v) => write!(
                f,
                "a dump of version {v}; this tool reads version {}",
                logic::dump::DUMP_VERSION
            ),
            DumpError::Record(e) => write!(f, "a record that does not decode ({e:?})"),
        }
    }
}

impl Names for Dump {
    fn symbol(&self, f: &mut fmt::Formatter<'_>, addr: u64) -> fmt::Result {
        match self.symbols.get(&addr) {
            // Names as the kernel gave them, in a dump of before they were
            // demangled there, or from a vmcore's kallsyms.
            Some(s) => logic::demangle::Demangled(s).fmt(f),
            None => write!(f, "0x{addr:x}"),
        }
    }

    fn comm(&self, pid: u32) -> Option<Comm> {
        let name = self.comms.get(&pid)?;
        let mut comm = [0u8; COMM_LEN];
        let n = name.len().min(COMM_LEN - 1);
        comm[..n].copy_from_slice(&name.as_bytes()[..n]);
        Some(comm)
    }
}

/// The analysis of a dump's records at its moment, as the `stops` view
/// runs it.
pub(crate) struct Analysis {
    /// The instances and what each CPU did in them.
    pub(crate) log: StopLog<Host>,
    /// Who is to blame, by the dump's thresholds.
    pub(crate) blame: Blame,
}

impl Dump {
    /// The analysis of the records at the dump's moment, as the `stops`
    /// view runs it, and who is to blame.
    pub(crate) fn analyse(&self) -> Result<Analysis, NoMemory> {
        let header = self.header();
        let mut log = StopLog::<Host>::new();
        for r in &self.records {
            log.feed(r)?;
        }
        log.confirm_running(|stop| header.was_running(stop));
        let blame = Blame::of(self.thresholds_ns.iter().copied(), header.warn_percent);
        Ok(Analysis { log, blame })
    }
}

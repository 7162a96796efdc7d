// SPDX-License-Identifier: GPL-2.0

//! Reading a dump back, line by line (the format: `super`).

use super::DUMP_VERSION;
use crate::logic::{
    analysis,
    record::{DecodeError, Record, FORMAT_VERSION},
};

/// What the header line says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DumpHeader<'a> {
    /// Possible CPUs (rings).
    pub(crate) cpus: u16,
    /// Clock (`ktime_get_mono_fast_ns()`) when the dump was taken.
    pub(crate) now_ns: u64,
    /// printk's clock (`local_clock()`) at the same moment: a kernel log
    /// line's time minus `printk_ns - now_ns` is on the records' clock.
    pub(crate) printk_ns: u64,
    /// The early warning's threshold, percent of the lockup threshold.
    pub(crate) warn_percent: u32,
    /// Online CPUs, comma-separated (see [`DumpHeader::online`]).
    online: &'a str,
    /// Instances in flight, comma-separated (see [`DumpHeader::running`]).
    running: &'a str,
    /// The last instance id handed out when the dump was taken.
    pub(crate) last_stop: u32,
}

impl DumpHeader<'_> {
    /// Online CPUs when the dump was taken.
    pub(crate) fn online(&self) -> impl Iterator<Item = u16> + '_ {
        numbers(self.online)
    }

    /// Instances (`stop_machine()` calls) in flight when the dump was taken.
    pub(crate) fn running(&self) -> impl Iterator<Item = u32> + '_ {
        numbers(self.running)
    }

    /// Whether instance `stop` was running when the dump was taken, or
    /// began while it was read (the test [`crate::logic::analysis::StopLog::confirm_running`]
    /// needs for an instance with no end record).
    pub(crate) fn was_running(&self, stop: u32) -> bool {
        self.running().any(|s| s == stop) || analysis::id_after(stop, self.last_stop)
    }
}

/// The numbers of a comma-separated list (malformed ones skipped: the
/// parser has checked them).
fn numbers<T: core::str::FromStr>(list: &str) -> impl Iterator<Item = T> + '_ {
    list.split(',').filter_map(|n| n.parse().ok())
}

/// One line of a dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DumpItem<'a> {
    /// The first line.
    Header(DumpHeader<'a>),
    /// A CPU's soft-lockup threshold.
    Threshold {
        /// The CPU.
        cpu: u16,
        /// Its threshold.
        ns: u64,
    },
    /// A record and its names.
    Record {
        /// The record.
        record: Record,
        /// Its task's name, if known.
        comm: Option<&'a str>,
        /// The symbol of its address, if it holds one.
        symbol: Option<&'a str>,
    },
}

/// Why a dump line could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DumpError {
    /// Not a line of any kind, or a field missing or malformed.
    Syntax,
    /// A dump of another [`DUMP_VERSION`].
    Version(u32),
    /// A record line whose words do not decode.
    Record(DecodeError),
}

/// `value` of the field `key=value` that comes next in `fields`.
fn field<'a>(fields: &mut impl Iterator<Item = &'a str>, key: &str) -> Result<&'a str, DumpError> {
    fields
        .next()
        .and_then(|f| f.strip_prefix(key))
        .and_then(|f| f.strip_prefix('='))
        .ok_or(DumpError::Syntax)
}

/// [`field`], parsed.
fn number<'a, T: core::str::FromStr>(
    fields: &mut impl Iterator<Item = &'a str>,
    key: &str,
) -> Result<T, DumpError> {
    field(fields, key)?.parse().map_err(|_| DumpError::Syntax)
}

/// Checks a comma-separated list of numbers (empty is an empty list).
fn list<T: core::str::FromStr>(s: &str) -> Result<&str, DumpError> {
    if s.is_empty() || s.split(',').all(|n| n.parse::<T>().is_ok()) {
        Ok(s)
    } else {
        Err(DumpError::Syntax)
    }
}

/// Reads one line of a dump (without its newline).
pub(crate) fn parse_line(line: &str) -> Result<DumpItem<'_>, DumpError> {
    let mut tabs = line.split('\t');
    let mut fields = tabs.next().unwrap_or("").split(' ');
    match fields.next() {
        Some("stopwatch-dump") => {
            let version = number(&mut fields, "version")?;
            if version != DUMP_VERSION {
                return Err(DumpError::Version(version));
            }
            let format: u8 = number(&mut fields, "format")?;
            if format != FORMAT_VERSION {
                return Err(DumpError::Record(DecodeError::Version(format)));
            }
            let header = DumpHeader {
                cpus: number(&mut fields, "cpus")?,
                now_ns: number(&mut fields, "now_ns")?,
                printk_ns: number(&mut fields, "printk_ns")?,
                warn_percent: number(&mut fields, "warn_percent")?,
                online: list::<u16>(field(&mut fields, "online")?)?,
                running: list::<u32>(field(&mut fields, "running")?)?,
                last_stop: number(&mut fields, "last_stop")?,
            };
            if fields.next().is_some() || tabs.next().is_some() {
                return Err(DumpError::Syntax);
            }
            Ok(DumpItem::Header(header))
        }
        Some("threshold") => {
            let item = DumpItem::Threshold {
                cpu: number(&mut fields, "cpu")?,
                ns: number(&mut fields, "ns")?,
            };
            if fields.next().is_some() || tabs.next().is_some() {
                return Err(DumpError::Syntax);
            }
            Ok(item)
        }
        Some("r") => {
            let mut words = [0u64; 4];
            for w in &mut words {
                let hex = fields.next().ok_or(DumpError::Syntax)?;
                *w = u64::from_str_radix(hex, 16).map_err(|_| DumpError::Syntax)?;
            }
            if fields.next().is_some() {
                return Err(DumpError::Syntax);
            }
            let record = Record::decode(words).map_err(DumpError::Record)?;
            let (mut comm, mut symbol) = (None, None);
            for name in tabs {
                if let Some(c) = name.strip_prefix("comm=") {
                    comm = Some(c);
                } else if let Some(s) = name.strip_prefix("sym=") {
                    symbol = Some(s);
                } else {
                    return Err(DumpError::Syntax);
                }
            }
            Ok(DumpItem::Record {
                record,
                comm,
                symbol,
            })
        }
        _ => Err(DumpError::Syntax),
    }
}

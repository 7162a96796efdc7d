// SPDX-License-Identifier: GPL-2.0

//! The dump: what stopwatch holds, as text a host tool reads back
//! (`/sys/kernel/debug/stopwatch/dump`, read by `tools/timeline`), so a
//! user can copy it off a sick machine and analyse it elsewhere with the
//! same code the module runs.
//!
//! ```text
//! stopwatch-dump version=1 format=2 cpus=4 now_ns=N printk_ns=M warn_percent=P online=0,1,2,3 running=5 last_stop=5
//! threshold cpu=0 ns=20000000000
//! r 000000052a1c7e40 0000004200010602 0000000000000001 0000000000000000<TAB>comm=sh<TAB>sym=fn+0x1a/0x40 [mod]
//! ```
//!
//! A header line (the time the dump was taken, on the records' clock and on
//! printk's, so that kernel log lines can be placed among the records; the
//! settings the analysis
//! needs, which CPUs were online and which instances were in flight), a
//! line per CPU with its soft-lockup threshold, then a line per record in
//! time order: its four words as [`Record::encode`] makes them, in hex, so
//! the reader decodes them with [`Record::decode`], followed by the names
//! only the recording machine knows, tab-separated: the comm of its pid
//! and the symbol of the address it holds (a touch's caller, a call's
//! `fn`). Names never hold a control character (each is replaced by `?`).

use super::{
    comm::comm_str,
    record::{Event, Record, FORMAT_VERSION},
    text::{comm_for, Names},
};
use core::fmt::{self, Display, Formatter, Write};

/// Version of the dump's own lines (the records carry [`FORMAT_VERSION`]).
pub(crate) const DUMP_VERSION: u32 = 1;

#[cfg_attr(
    CONFIG_RUST,
    expect(
        dead_code,
        reason = "the kernel writes dumps; the host tool reads them"
    )
)]
mod read;

#[cfg_attr(
    CONFIG_RUST,
    expect(
        unused_imports,
        reason = "the kernel writes dumps; the host tool reads them"
    )
)]
pub(crate) use read::{parse_line, DumpError, DumpHeader, DumpItem};

/// The moment a dump was taken, on both clocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Clocks {
    /// The records' clock (`ktime_get_mono_fast_ns()`).
    pub(crate) now_ns: u64,
    /// printk's (`local_clock()`), read right after.
    pub(crate) printk_ns: u64,
}

/// The header line.
pub(crate) struct HeaderLine<O, R> {
    /// Possible CPUs.
    pub(crate) cpus: u16,
    /// When it was taken.
    pub(crate) clocks: Clocks,
    /// The early warning's threshold, percent of the lockup threshold.
    pub(crate) warn_percent: u32,
    /// Online CPUs.
    pub(crate) online: O,
    /// Instances in flight.
    pub(crate) running: R,
    /// The last instance id handed out.
    pub(crate) last_stop: u32,
}

impl<O, R> Display for HeaderLine<O, R>
where
    O: Iterator<Item = u16> + Clone,
    R: Iterator<Item = u32> + Clone,
{
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let Clocks { now_ns, printk_ns } = self.clocks;
        write!(
            f,
            "stopwatch-dump version={DUMP_VERSION} format={FORMAT_VERSION} cpus={} now_ns={now_ns} printk_ns={printk_ns} warn_percent={} online=",
            self.cpus, self.warn_percent
        )?;
        write_list(f, self.online.clone())?;
        f.write_str(" running=")?;
        write_list(f, self.running.clone())?;
        writeln!(f, " last_stop={}", self.last_stop)
    }
}

/// Writes `items` comma-separated.
fn write_list<T: Display>(
    f: &mut Formatter<'_>,
    items: impl IntoIterator<Item = T>,
) -> fmt::Result {
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            f.write_char(',')?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

/// Writes a CPU's threshold line (with its newline).
pub(crate) fn write_threshold(f: &mut Formatter<'_>, cpu: u16, ns: u64) -> fmt::Result {
    writeln!(f, "threshold cpu={cpu} ns={ns}")
}

/// The address a record holds, if any: the one its symbol names.
pub(crate) fn address(event: &Event) -> Option<u64> {
    match *event {
        Event::Touch { caller, .. } => Some(caller),
        Event::StopBegin { func, .. } => Some(func),
        Event::OtherStop { func, .. } if func != 0 => Some(func),
        _ => None,
    }
}

/// A writer that passes text on with control characters (tabs and
/// newlines among them) made `?`, so a name stays one field of one line
/// and is safe to show anywhere.
struct OneField<'a, 'b>(&'a mut Formatter<'b>);

impl Write for OneField<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for part in s.split(char::is_control).enumerate() {
            if part.0 > 0 {
                self.0.write_char('?')?;
            }
            self.0.write_str(part.1)?;
        }
        Ok(())
    }
}

/// A record's line (with its newline).
pub(crate) struct DumpLine<'a, N: Names> {
    /// The record.
    pub(crate) rec: &'a Record,
    /// Where its names come from.
    pub(crate) names: &'a N,
}

/// A symbol written through [`Names::symbol`], for [`OneField`].
struct Symbol<'a, N: Names>(&'a N, u64);

impl<N: Names> Display for Symbol<'_, N> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.0.symbol(f, self.1)
    }
}

impl<N: Names> Display for DumpLine<'_, N> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let [ts, header, arg0, arg1] = self.rec.encode();
        write!(f, "r {ts:016x} {header:016x} {arg0:016x} {arg1:016x}")?;
        if let Some(comm) = comm_for(self.names, self.rec.pid) {
            f.write_str("\tcomm=")?;
            OneField(f).write_str(comm_str(&comm))?;
        }
        if let Some(addr) = address(&self.rec.event) {
            f.write_str("\tsym=")?;
            write!(OneField(f), "{}", Symbol(self.names, addr))?;
        }
        f.write_char('\n')
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::{
        comm::Comm,
        record::{DecodeError, StopState, TouchSource},
    };
    use alloc::string::String;
    use core::fmt::Write as _;

    /// Names from fixed tables.
    struct Fixed;

    impl Names for Fixed {
        fn symbol(&self, f: &mut Formatter<'_>, addr: u64) -> fmt::Result {
            write!(f, "fn_{addr:x}+0x1/0x10 [mod]\tx")
        }

        fn comm(&self, pid: u32) -> Option<Comm> {
            (pid == 7).then(|| *b"sh\nx\x1b\0\0\0\0\0\0\0\0\0\0\0")
        }
    }

    fn line(rec: &Record) -> String {
        let mut s = String::new();
        write!(s, "{}", DumpLine { rec, names: &Fixed }).unwrap();
        s
    }

    fn header(cpus: u16, online: &[u16], running: &[u32]) -> String {
        struct H<'a>(u16, &'a [u16], &'a [u32]);
        impl Display for H<'_> {
            fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    "{}",
                    HeaderLine {
                        cpus: self.0,
                        clocks: Clocks {
                            now_ns: 99,
                            printk_ns: 1099,
                        },
                        warn_percent: 50,
                        online: self.1.iter().copied(),
                        running: self.2.iter().copied(),
                        last_stop: 6,
                    }
                )?;
                write_threshold(f, 1, 20_000_000_000)
            }
        }
        let mut s = String::new();
        write!(s, "{}", H(cpus, online, running)).unwrap();
        s
    }

    #[test]
    fn records_round_trip_with_their_names() {
        let records = [
            Record {
                ts_ns: 5,
                cpu: 3,
                pid: 7,
                event: Event::Touch {
                    source: TouchSource::Sync,
                    caller: 0xffff_ffff_8100_1234,
                },
            },
            Record {
                ts_ns: u64::MAX,
                cpu: 0,
                pid: 0,
                event: Event::CpuState {
                    stop: 9,
                    state: StopState::Prepare,
                },
            },
        ];
        let text = line(&records[0]);
        assert!(
            text.ends_with("\tcomm=sh?x?\tsym=fn_ffffffff81001234+0x1/0x10 [mod]?x\n"),
            "{text}"
        );
        assert_eq!(
            parse_line(text.trim_end_matches('\n')),
            Ok(DumpItem::Record {
                record: records[0],
                comm: Some("sh?x?"),
                symbol: Some("fn_ffffffff81001234+0x1/0x10 [mod]?x"),
            })
        );
        // pid 0 is the idle task; a state holds no address.
        let text = line(&records[1]);
        assert!(text.ends_with("\tcomm=<idle>\n"), "{text}");
        match parse_line(text.trim_end_matches('\n')) {
            Ok(DumpItem::Record {
                record,
                symbol: None,
                ..
            }) => assert_eq!(record, records[1]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn header_and_thresholds_round_trip() {
        let text = header(4, &[0, 1, 3], &[5, 6]);
        let mut lines = text.lines();
        let Ok(DumpItem::Header(h)) = parse_line(lines.next().unwrap()) else {
            panic!("{text}");
        };
        assert_eq!(
            (h.cpus, h.now_ns, h.printk_ns, h.warn_percent),
            (4, 99, 1099, 50)
        );
        assert!(h.online().eq([0, 1, 3]));
        assert!(h.running().eq([5, 6]));
        assert_eq!(h.last_stop, 6);
        assert!(h.was_running(5) && h.was_running(7) && !h.was_running(4));
        assert_eq!(
            parse_line(lines.next().unwrap()),
            Ok(DumpItem::Threshold {
                cpu: 1,
                ns: 20_000_000_000
            })
        );
        let text = header(1, &[0], &[]);
        let Ok(DumpItem::Header(h)) = parse_line(text.lines().next().unwrap()) else {
            panic!("{text}");
        };
        assert_eq!(h.running().count(), 0);
    }

    #[test]
    fn bad_lines_are_refused() {
        let good = line(&Record {
            ts_ns: 1,
            cpu: 0,
            pid: 1,
            event: Event::WatchdogWork,
        });
        let good = good.trim_end_matches('\n');
        assert!(parse_line(good).is_ok());
        for bad in [
            "",
            "x",
            "r 1 2 3",
            "r 1 2 3 4 5",
            "r 1 2 3 zz",
            "threshold cpu=1",
            "threshold cpu=x ns=1",
            "threshold cpu=1 ns=1 x",
            "threshold cpu=1 ns=1\tx=y",
            "stopwatch-dump version=1",
            "stopwatch-dump version=1 format=2 cpus=4 now_ns=1 printk_ns=1 warn_percent=50 online=0,x running= last_stop=1",
            "stopwatch-dump version=1 format=2 cpus=4 now_ns=1 printk_ns=1 warn_percent=50 online=0 running= last_stop=1 x",
        ] {
            assert_eq!(parse_line(bad), Err(DumpError::Syntax), "{bad:?}");
        }
        let other = alloc::format!("{good}\tpid=3");
        assert_eq!(parse_line(&other), Err(DumpError::Syntax));
        assert_eq!(
            parse_line("stopwatch-dump version=2 format=2"),
            Err(DumpError::Version(2))
        );
        // A record of another format.
        let mut words: alloc::vec::Vec<&str> = good.split(' ').collect();
        let header = u64::from_str_radix(words[2], 16).unwrap() & !0xff | 1;
        let header = alloc::format!("{header:016x}");
        words[2] = &header;
        assert_eq!(
            parse_line(&words.join(" ")),
            Err(DumpError::Record(DecodeError::Version(1)))
        );
    }
}

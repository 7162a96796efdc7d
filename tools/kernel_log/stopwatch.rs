// SPDX-License-Identifier: GPL-2.0

//! stopwatch's own lines in a kernel log: its warning, the last arrival,
//! its note after a kernel report and the header of a backtrace it asked
//! for (the kernel's own lines are the parent's).

use super::{number, Stamp};
use alloc::vec::Vec;

/// The text after `stopwatch: `, if the line is one of stopwatch's.
pub(crate) fn stopwatch_text(line: &str) -> Option<&str> {
    Some(line.split_once("stopwatch: ")?.1)
}

/// Whether a line is one of stopwatch's about a `stop_machine()` wait
/// (warnings, backtraces, notes, the panic dump), not its load and unload
/// lines.
pub(crate) fn is_blame_line(line: &str) -> bool {
    line.match_indices("stopwatch: ").any(|(i, m)| {
        let t = &line[i + m.len()..];
        t.starts_with("stop_machine #")
            || t.starts_with("panic dump")
            || t.strip_prefix('#').is_some_and(|r| {
                let d = r.bytes().take_while(u8::is_ascii_digit).count();
                d > 0 && r[d..].starts_with(' ')
            })
            || t.strip_prefix("CPU ").is_some_and(|r| {
                let d = r.bytes().take_while(u8::is_ascii_digit).count();
                d > 0 && r[d..].starts_with(" is waiting")
            })
    })
}

/// One of stopwatch's lines about a CPU in an instance, `stopwatch: #4
/// CPU 2 <phrase>...`: the instance, the CPU and what follows the phrase.
struct AboutCpu<'a> {
    stop: u32,
    cpu: u16,
    rest: &'a str,
}

impl<'a> AboutCpu<'a> {
    fn parse(line: &'a str, phrase: &str) -> Option<Self> {
        let t = stopwatch_text(line)?.strip_prefix('#')?;
        let (stop, t) = number(t, " CPU ")?;
        let (cpu, rest) = number(t, phrase)?;
        Some(Self { stop, cpu, rest })
    }

    /// The `task=comm/pid` right after the phrase, if it is there.
    fn task(&self) -> Option<&'a str> {
        self.rest
            .strip_prefix("task=")
            .and_then(|r| r.split(' ').next())
    }
}

/// stopwatch's console warning: `stopwatch: #4 CPU 2 has not arrived:
/// task=stopwatch_hog/2/133 ...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Warning<'a> {
    /// The line's stamp.
    pub(crate) at: Option<Stamp>,
    /// The instance.
    pub(crate) stop: u32,
    /// The CPU not arrived.
    pub(crate) cpu: u16,
    /// What it runs (`comm/pid`).
    pub(crate) task: Option<&'a str>,
}

impl<'a> Warning<'a> {
    /// The warning `line` is, if it is one.
    pub(crate) fn parse(line: &'a str) -> Option<Self> {
        let a = AboutCpu::parse(line, " has not arrived: ")?;
        Some(Self {
            at: Stamp::first(line),
            stop: a.stop,
            cpu: a.cpu,
            task: a.task(),
        })
    }
}

/// stopwatch's line naming the CPU of an instance that arrived last, once
/// every CPU has but some have not seen the wait end: `stopwatch: #115
/// CPU 2 arrived last: task=tail/9078 after_first_ms=3111.170`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LastArrival<'a> {
    /// The instance.
    pub(crate) stop: u32,
    /// The CPU.
    pub(crate) cpu: u16,
    /// What it ran (`comm/pid`).
    pub(crate) task: Option<&'a str>,
}

impl<'a> LastArrival<'a> {
    /// The line `line` is, if it is one.
    pub(crate) fn parse(line: &'a str) -> Option<Self> {
        let a = AboutCpu::parse(line, " arrived last: ")?;
        Some(Self {
            stop: a.stop,
            cpu: a.cpu,
            task: a.task(),
        })
    }
}

/// stopwatch's note on a kernel report: `stopwatch: CPU 0 is waiting in
/// stop_machine #4 (PREPARE, 2.6 s) for CPU 2 (stopwatch_hog/2/133)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Note {
    /// The CPU waiting (the one the kernel reported).
    pub(crate) cpu: u16,
    /// The CPUs it names as waited for; empty for `for no CPU (all have
    /// arrived)`.
    pub(crate) waited_for: Vec<u16>,
    /// Whether every CPU of the list could be read.
    pub(crate) readable: bool,
}

impl Note {
    /// The note `line` is, if it is one.
    pub(crate) fn parse(line: &str) -> Option<Self> {
        let t = stopwatch_text(line)?.strip_prefix("CPU ")?;
        let (cpu, t) = number(t, " is waiting in stop_machine #")?;
        // `for no CPU (all have arrived)`, and once the arrivals are
        // known, `...; the last was CPU 2 (tail/9078), 3111.170 ms after
        // the first)`: that CPU is the one waited for.
        if let Some((_, rest)) = t.split_once(" for no CPU (all have arrived") {
            let last = rest
                .strip_prefix("; the last was CPU ")
                .and_then(|r| number::<u16>(r, " ("));
            return Some(Self {
                cpu,
                waited_for: last.map(|(c, _)| c).into_iter().collect(),
                readable: rest == ")" || last.is_some(),
            });
        }
        let list = t
            .rsplit_once(" for CPUs ")
            .or_else(|| t.rsplit_once(" for CPU "))
            .map(|(_, l)| l);
        let mut waited_for = Vec::new();
        let mut readable = list.is_some();
        for item in list.unwrap_or("").split(", ") {
            match item.split(' ').next().and_then(|c| c.parse().ok()) {
                Some(c) => waited_for.push(c),
                None => readable = false,
            }
        }
        Some(Self {
            cpu,
            waited_for,
            readable,
        })
    }
}

/// The header of stopwatch's backtrace of a CPU: `stopwatch: #4 CPU 2
/// backtrace (IPI answered after 2.464 ms), running stopwatch_hog/2/133:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BacktraceHeader<'a> {
    /// The instance.
    pub(crate) stop: u32,
    /// The CPU whose stack follows.
    pub(crate) cpu: u16,
    /// What it ran (`comm/pid`), if the line says.
    pub(crate) task: Option<&'a str>,
}

impl<'a> BacktraceHeader<'a> {
    /// The header `line` is, if it is one.
    pub(crate) fn parse(line: &'a str) -> Option<Self> {
        let a = AboutCpu::parse(line, " backtrace (IPI")?;
        let task = a
            .rest
            .split_once(" ms), running ")
            .map(|(_, r)| r.trim_end_matches(':'));
        Some(Self {
            stop: a.stop,
            cpu: a.cpu,
            task,
        })
    }
}

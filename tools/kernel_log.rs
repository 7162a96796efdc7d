// SPDX-License-Identifier: GPL-2.0

//! The kernel log, read: what the host tools take from a guest's console
//! and its `dmesg`, parsed in one place (as `kunit.py` keeps its parser
//! apart), with its own tests.
//!
//! The guest's console (`scripts/guest/reproduce.sh`) is cut into blocks
//! by `=== NAME ...` lines ([`Console`]); the kernel's lines carry
//! printk's `[ seconds.micros]` stamp ([`Stamp`]). What is read of them:
//! the kernel's soft-lockup reports ([`SoftLockup`]), the global OOM's
//! report ([`OomReport`]), the checkers' reports ([`is_checker_report`]),
//! stack frames ([`Frame`]) and stopwatch's own console lines
//! ([`Warning`], [`Note`], [`backtrace`]).
//!
//! Pure `core` and `alloc`: the host library tests it (`rust/host.rs`).

use alloc::{string::String, vec::Vec};
use core::{fmt, ops::Range};

/// A console transcript: its lines, without carriage returns.
pub(crate) struct Console<'a> {
    lines: Vec<&'a str>,
}

impl<'a> Console<'a> {
    /// Splits `text` into lines.
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            lines: text.lines().map(|l| l.trim_end_matches('\r')).collect(),
        }
    }

    /// Every line.
    pub(crate) fn lines(&self) -> &[&'a str] {
        &self.lines
    }

    /// The lines of the `=== NAME` blocks named `name` (each block runs to
    /// the next `=== ` line).
    pub(crate) fn section(&self, name: &str) -> Vec<&'a str> {
        let mut inside = false;
        let mut out = Vec::new();
        for &l in &self.lines {
            if let Some(rest) = l.strip_prefix("=== ") {
                inside = rest.split(' ').next() == Some(name);
                continue;
            }
            if inside {
                out.push(l);
            }
        }
        out
    }

    /// The lines a guest program printed in the `=== NAME` blocks named
    /// `name`, with the kernel's messages taken out: the console carries
    /// both, and a message can land inside a line being printed (seen:
    /// `... 000000000000000[   19.565940] Disabling IRQ #4`, the line's
    /// rest on the next). A line that starts with a printk stamp is the
    /// kernel's and is dropped; one with a stamp inside is cut there and
    /// joined with its rest: the next line the kernel did not print (more
    /// of the kernel's messages may come first, each with its stamp).
    pub(crate) fn printed(&self, name: &str) -> Vec<String> {
        let lines = self.section(name);
        let mut out = Vec::new();
        let mut it = lines.iter().filter(|l| Stamp::strip(l).is_none());
        while let Some(&l) = it.next() {
            match spliced_at(l) {
                Some(at) => {
                    let mut line = String::from(&l[..at]);
                    if let Some(rest) = it.next() {
                        line.push_str(rest);
                    }
                    out.push(line);
                }
                None => out.push(String::from(l)),
            }
        }
        out
    }

    /// What follows `=== NAME ` on the first such line (`=== recovery
    /// storm_calls_before=1 ...`).
    pub(crate) fn marker(&self, name: &str) -> Option<&'a str> {
        self.lines.iter().find_map(|l| {
            let rest = l.strip_prefix("=== ")?.strip_prefix(name)?;
            match rest.strip_prefix(' ') {
                Some(r) => Some(r),
                None => rest.is_empty().then_some(rest),
            }
        })
    }
}

/// Where a kernel message begins inside `line` (a printk stamp after its
/// start), if one does.
fn spliced_at(line: &str) -> Option<usize> {
    line.match_indices('[')
        .map(|(i, _)| i)
        .find(|&i| i > 0 && Stamp::strip(&line[i..]).is_some())
}

/// `key=value`'s value in a line of space-separated fields.
pub(crate) fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split(' ')
        .find_map(|f| f.strip_prefix(key)?.strip_prefix('='))
}

/// A printk time stamp, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Stamp(pub(crate) u64);

impl Stamp {
    /// Reads `[ 12.345678]` at the start of `s`; the rest after it.
    fn read(s: &str) -> Option<(Self, &str)> {
        let inner = s.strip_prefix('[')?;
        let (secs, rest) = inner.split_once(']')?;
        let (whole, frac) = secs.trim_start().split_once('.')?;
        if whole.is_empty()
            || frac.is_empty()
            || frac.len() > 9
            || !whole
                .bytes()
                .chain(frac.bytes())
                .all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let mut frac_ns: u64 = frac.parse().ok()?;
        for _ in frac.len()..9 {
            frac_ns *= 10;
        }
        let ns = whole
            .parse::<u64>()
            .ok()?
            .checked_mul(1_000_000_000)?
            .checked_add(frac_ns)?;
        Some((Self(ns), rest))
    }

    /// The stamp a line starts with.
    pub(crate) fn first(line: &str) -> Option<Self> {
        Some(Self::read(line)?.0)
    }

    /// What follows the stamp `line` starts with.
    pub(crate) fn strip(line: &str) -> Option<&str> {
        Some(Self::read(line)?.1)
    }

    /// The last stamp in `line`: the serial console can append a message
    /// of one CPU to an unfinished line of another's (seen: a BUG line at
    /// 60.3 s after a task-dump line of 48.8 s), and the last stamp is the
    /// line's latest.
    pub(crate) fn last(line: &str) -> Option<Self> {
        let mut last = None;
        for (i, _) in line.match_indices('[') {
            if let Some((s, _)) = Self::read(&line[i..]) {
                last = Some(s);
            }
        }
        last
    }
}

/// As printk prints it: `12.345678`.
impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:06}",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000 / 1000
        )
    }
}

/// The kernel's report of a soft lockup: `[ 7.843729] watchdog: BUG: soft
/// lockup - CPU#0 stuck for 3s! [migration/0:16]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SoftLockup<'a> {
    /// The stamp just before `BUG`.
    pub(crate) at: Option<Stamp>,
    /// The CPU reported.
    pub(crate) cpu: u16,
    /// How long it was stuck, as the kernel says.
    pub(crate) stuck_s: u32,
    /// The task it ran (its comm).
    pub(crate) task: Option<&'a str>,
    /// The line from `BUG` on.
    pub(crate) text: &'a str,
}

const SOFT_LOCKUP: &str = "BUG: soft lockup - CPU#";

impl<'a> SoftLockup<'a> {
    /// The report `line` makes, if it is one.
    pub(crate) fn parse(line: &'a str) -> Option<Self> {
        let at = line.find(SOFT_LOCKUP)?;
        let text = line[at..].trim_end();
        let rest = &text[SOFT_LOCKUP.len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let cpu = rest[..digits].parse().ok()?;
        let stuck_s = rest[digits..]
            .strip_prefix(" stuck for ")
            .and_then(|s| s.split_once("s!"))
            .and_then(|(n, _)| n.parse().ok())
            .unwrap_or(0);
        // `[comm:pid]`: the comm may hold a colon, the pid does not.
        let task = text
            .rsplit_once("! [")
            .and_then(|(_, t)| t.strip_suffix(']'))
            .and_then(|t| t.rsplit_once(':'))
            .map(|(comm, _)| comm);
        Some(Self {
            at: Stamp::last(&line[..at]),
            cpu,
            stuck_s,
            task,
            text,
        })
    }
}

/// The global OOM killer's report: from `invoked oom-killer` to `Out of
/// memory: Killed process`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OomReport<'a> {
    /// The CPU that ran it (its stack dump's `CPU: N ... Comm:` line).
    pub(crate) cpu: Option<u16>,
    /// The task that ran it: its comm (the stack dump's `Comm:`).
    pub(crate) comm: Option<&'a str>,
    /// Its pid.
    pub(crate) pid: Option<u32>,
    /// How long its task dump took: from `Tasks state` to `oom-kill:`.
    pub(crate) dump_ns: Option<u64>,
}

impl<'a> OomReport<'a> {
    /// The first report in `lines`.
    pub(crate) fn first(lines: &[&'a str]) -> Option<Self> {
        let start = lines
            .iter()
            .position(|l| l.contains("invoked oom-killer"))?;
        let mut r = Self {
            cpu: None,
            comm: None,
            pid: None,
            dump_ns: None,
        };
        let mut tasks_at = None;
        for l in &lines[start..] {
            if r.cpu.is_none() {
                if let Some(rest) = l.split_once("] CPU: ").map(|(_, r)| r) {
                    if rest.contains("Comm: ") {
                        r.cpu = rest.split(' ').next().and_then(|c| c.parse().ok());
                        r.pid = field_after(rest, "PID: ").and_then(|p| p.parse().ok());
                        r.comm = field_after(rest, "Comm: ");
                    }
                }
            }
            if l.contains("Tasks state (memory values in pages)") {
                tasks_at = Stamp::first(l);
            }
            if let (Some(t), true, None) = (tasks_at, l.contains("oom-kill:constraint="), r.dump_ns)
            {
                r.dump_ns = Stamp::first(l).map(|e| e.0.saturating_sub(t.0));
            }
            if l.contains("Out of memory: Killed process") {
                break;
            }
        }
        Some(r)
    }
}

/// The word after `key` in `s`.
fn field_after<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    s.split_once(key)?.1.split(' ').next()
}

/// Whether a line is a report of one of the kernel's checkers (on the
/// debug flavour: KASAN, lockdep, DEBUG_ATOMIC_SLEEP, DEBUG_OBJECTS,
/// kmemleak), an Oops or a WARN. The soft lockups are the incident, not a
/// checker's.
pub(crate) fn is_checker_report(line: &str) -> bool {
    const MARKS: [&str; 15] = [
        "BUG: KASAN",
        "possible circular locking",
        "possible recursive locking",
        "inconsistent lock state",
        "suspicious RCU usage",
        "BUG: sleeping function",
        "BUG: scheduling while atomic",
        "BUG: unable to handle",
        "BUG: kernel NULL",
        "BUG: Bad page",
        "Unable to handle kernel",
        "ODEBUG:",
        "UBSAN:",
        "Oops",
        "WARNING: CPU",
    ];
    MARKS.iter().any(|m| line.contains(m))
        || line.match_indices("kmemleak: ").any(|(i, m)| {
            let rest = &line[i + m.len()..];
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            digits > 0 && rest[digits..].starts_with(" new suspected")
        })
}

/// A number followed by `end` at the start of `s`; the rest.
fn number<'a, T: core::str::FromStr>(s: &'a str, end: &str) -> Option<(T, &'a str)> {
    let d = s.bytes().take_while(u8::is_ascii_digit).count();
    let rest = s[d..].strip_prefix(end)?;
    Some((s[..d].parse().ok()?, rest))
}

/// A stack frame: `[ 6.172371]  ? hog::hog_thread+0x1a5/0x264
/// [stopwatch_hog]`, and arm64's `pc : ` and `lr : ` register lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Frame<'a> {
    /// `function+0xoff/0xlen`'s function.
    pub(crate) function: &'a str,
    /// The module, if any.
    pub(crate) module: Option<&'a str>,
    /// Marked `? ` (found on the stack, not in the frame chain).
    pub(crate) guess: bool,
    /// A `pc : ` or `lr : ` line, not a stack line.
    pub(crate) register: bool,
}

impl<'a> Frame<'a> {
    /// The frame `line` shows, if any.
    pub(crate) fn parse(line: &'a str) -> Option<Self> {
        let (_, after) = line.split_once("] ")?;
        let (register, rest) = if let Some(r) = after.strip_prefix(' ') {
            (false, r)
        } else if let Some(r) = after.strip_prefix("pc : ").or(after.strip_prefix("lr : ")) {
            (true, r)
        } else {
            return None;
        };
        let (guess, rest) = match rest.strip_prefix("? ") {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let (symbol, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        let (function, offsets) = symbol.rsplit_once('+')?;
        let (off, len) = offsets.split_once('/')?;
        let hex = |s: &str| {
            s.strip_prefix("0x")
                .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()))
        };
        if function.is_empty() || !hex(off) || !hex(len) {
            return None;
        }
        let module = rest
            .strip_prefix('[')
            .and_then(|m| m.split(']').next())
            .filter(|m| !m.is_empty());
        Some(Self {
            function,
            module,
            guess,
            register,
        })
    }
}

/// Where stopwatch's backtrace of `cpu` is in `lines`: its header line,
/// then the lines up to the end of the stack: x86's `</TASK>` (its `Call
/// Trace:` has lines of registers among the frames), or the last frame
/// line (`[ time]  frame`, two spaces) after arm64's `Call trace:`.
pub(crate) fn backtrace_range(lines: &[&str], cpu: u16) -> Option<Range<usize>> {
    let header = |l: &str| BacktraceHeader::parse(l).is_some_and(|h| h.cpu == cpu);
    let start = lines.iter().position(|l| header(l))?;
    let mut end = start;
    let mut frames = false;
    for &l in &lines[start..] {
        let frame_line = l
            .strip_prefix('[')
            .and_then(|r| r.split_once(']'))
            .is_some_and(|(_, r)| r.starts_with("  "));
        if frames && !frame_line {
            break;
        }
        end += 1;
        if l.contains("</TASK>") {
            break;
        }
        if l.contains("Call trace:") {
            frames = true;
        }
    }
    Some(start..end)
}

/// The lines of stopwatch's backtrace of `cpu` ([`backtrace_range`]).
pub(crate) fn backtrace<'l, 'a>(lines: &'l [&'a str], cpu: u16) -> &'l [&'a str] {
    backtrace_range(lines, cpu).map_or(&[], |r| &lines[r])
}

mod stopwatch;
#[cfg(test)]
mod tests;

pub(crate) use stopwatch::{is_blame_line, BacktraceHeader, LastArrival, Note, Warning};

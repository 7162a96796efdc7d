// SPDX-License-Identifier: GPL-2.0

//! The verdict of a reproduction that panics at the first soft lockup
//! (`scripts/reproduce --panic`, as production fleets run): the serial
//! console is all there is, so what counts is what reached it before
//! `Kernel panic` (stopwatch's warning naming the culprit, its backtrace
//! with the culprit's own frame) and the panic dump after it; and, with a
//! vmcore, what the rings held at the panic and the kernel's own
//! `stop_machine()` state in it.
//!
//! Pure `core` and `alloc`: the host library tests it (`rust/host.rs`).

use crate::tools::{
    kernel_log::{
        backtrace_range, is_blame_line, BacktraceHeader, Console, Frame, LastArrival, Warning,
    },
    verdict::{Scenario, Workload},
};
use alloc::{
    format,
    string::{String, ToString},
    vec::Vec,
};
use core::fmt::{self, Display, Formatter};

/// What one `stop_machine()` instance was held up by, as stopwatch's
/// analysis of the vmcore's records says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Held {
    /// The CPUs everyone waited for, most to blame first.
    pub(crate) cpus: Vec<u16>,
    /// What the first ran (`comm/pid`).
    pub(crate) task: String,
}

/// What stopwatch's reader gave from the vmcore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StopwatchRead<'a> {
    /// The text of its `stops` lines.
    pub(crate) stops: &'a str,
    /// Each instance's culprits.
    pub(crate) held: Vec<Held>,
}

/// Something read from the vmcore, if it was asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Read<T> {
    /// Not asked for (no vmcore, or no types to read it with).
    NotAsked,
    /// Asked for, and it could not be read.
    Failed,
    /// Read.
    Got(T),
}

/// What the vmcore gave.
pub(crate) struct Vmcore<'a> {
    /// Where it is.
    pub(crate) path: &'a str,
    /// stopwatch's records, as its reader gave them.
    pub(crate) stopwatch: Read<StopwatchRead<'a>>,
    /// The kernel's own `stop_machine()` state (`kernel_stop` lines).
    pub(crate) kernel: Read<&'a str>,
}

/// The CPU that should be named, and what it ran (a prefix of `comm/pid`).
struct Culprit {
    cpu: Option<u16>,
    /// `stopwatch_hog/N/` for the hog (any pid), else as named.
    task: String,
}

/// Where the panic dump is on the console: its first and last lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct DumpLines {
    /// `stopwatch: panic dump: `.
    start: usize,
    /// `stopwatch: end of panic dump`.
    end: usize,
}

/// The verdict of a panic run.
pub(crate) struct PanicVerdict<'s, 'a> {
    sc: &'s Scenario<'s>,
    console: &'s Console<'a>,
    vm_exit: i32,
    culprit: Culprit,
    panic_at: Option<usize>,
    first_bug_at: Option<usize>,
    warning_at: Option<usize>,
    backtrace_at: Option<usize>,
    frame_at: Option<usize>,
    dump: Option<DumpLines>,
    dump_names_culprit: bool,
    vmcore: Option<Vmcore<'a>>,
}

/// A CPU the panic dump names as the one everyone waited for: not
/// arrived (a [`Warning`] line), or arrived last ([`LastArrival`]).
#[derive(Clone, Copy)]
struct Named<'a> {
    /// The CPU.
    cpu: u16,
    /// What it ran (`comm/pid`).
    task: Option<&'a str>,
}

impl<'a> Named<'a> {
    /// The line `line` is, if it names one.
    fn parse(line: &'a str) -> Option<Self> {
        match Warning::parse(line) {
            Some(w) => Some(Self {
                cpu: w.cpu,
                task: w.task,
            }),
            None => LastArrival::parse(line).map(|a| Self {
                cpu: a.cpu,
                task: a.task,
            }),
        }
    }
}

/// Whether `t` is `task` or starts with it (`stopwatch_hog/2/` names the
/// hog's thread whatever its pid).
fn is_task(t: Option<&str>, task: &str) -> bool {
    t.is_some_and(|t| !task.is_empty() && t.starts_with(task))
}

impl<'s, 'a> PanicVerdict<'s, 'a> {
    /// Reads `console` (and what the vmcore gave).
    pub(crate) fn of(
        sc: &'s Scenario<'s>,
        console: &'s Console<'a>,
        vm_exit: i32,
        vmcore: Option<Vmcore<'a>>,
    ) -> Self {
        let lines = console.lines();
        let first = |from: usize, pick: &dyn Fn(&str) -> bool| {
            lines
                .iter()
                .skip(from)
                .position(|l| pick(l))
                .map(|i| i + from)
        };
        let panic_at = first(0, &|l| {
            l.contains("Kernel panic - not syncing: softlockup: hung tasks")
        });
        let first_bug_at = first(0, &|l| l.contains("BUG: soft lockup"));
        let dump_at = first(0, &|l| l.contains("stopwatch: panic dump: "));
        let dump_end_at = first(0, &|l| l.contains("stopwatch: end of panic dump"));
        let culprit = match sc.workload {
            Workload::Hog => Culprit {
                cpu: sc.hog_cpus.first().copied(),
                task: format!(
                    "stopwatch_hog/{}/",
                    sc.hog_cpus.first().copied().unwrap_or(0)
                ),
            },
            // The OOM's culprit is the CPU that ran the OOM report,
            // whichever it was: the one the panic dump names as not
            // arrived, or, when it arrived as the kernel reported (the
            // report's CPU had not seen the wait end), as the last to
            // arrive; and its task.
            _ => {
                let named = lines
                    .iter()
                    .skip(dump_at.unwrap_or(0))
                    .find_map(|l| Named::parse(l));
                Culprit {
                    cpu: named.map(|n| n.cpu),
                    task: named.and_then(|n| n.task).unwrap_or("").to_string(),
                }
            }
        };
        let task = culprit.task.as_str();
        let names_culprit = |l: &str| {
            Warning::parse(l).is_some_and(|w| Some(w.cpu) == culprit.cpu && is_task(w.task, task))
        };
        let dump_names = |l: &str| {
            Named::parse(l).is_some_and(|n| Some(n.cpu) == culprit.cpu && is_task(n.task, task))
        };
        let warning_at = first(0, &names_culprit);
        let backtrace_at = first(0, &|l| {
            let Some(cpu) = culprit.cpu else {
                return false;
            };
            BacktraceHeader::parse(l).is_some_and(|h| h.cpu == cpu && is_task(h.task, task))
        });
        // A frame of the hog's code in stopwatch's backtrace of its CPU
        // (the OOM report's frames are the kernel's: its backtrace stands).
        let frame_at = match (sc.workload, culprit.cpu) {
            (Workload::Hog, Some(cpu)) => backtrace_range(lines, cpu).and_then(|mut r| {
                r.find(|&i| {
                    Frame::parse(lines[i]).is_some_and(|f| f.module == Some("stopwatch_hog"))
                })
            }),
            _ => backtrace_at,
        };
        let dump = match (dump_at, dump_end_at) {
            (Some(start), Some(end)) if start < end => Some(DumpLines { start, end }),
            _ => None,
        };
        let dump_names_culprit =
            dump.is_some_and(|d| lines[d.start..=d.end].iter().any(|l| dump_names(l)));
        Self {
            sc,
            console,
            vm_exit,
            culprit,
            panic_at,
            first_bug_at,
            warning_at,
            backtrace_at,
            frame_at,
            dump,
            dump_names_culprit,
            vmcore,
        }
    }

    /// The culprit's task (prefix).
    fn task(&self) -> &str {
        &self.culprit.task
    }

    /// Whether stopwatch's records in the vmcore name the culprit.
    fn vmcore_names_culprit(&self) -> bool {
        match self.vmcore.as_ref().map(|v| &v.stopwatch) {
            Some(Read::Got(read)) => read.held.iter().any(|h| {
                self.culprit.cpu.is_some_and(|c| h.cpus == [c])
                    && is_task(Some(&h.task), self.task())
            }),
            _ => false,
        }
    }

    /// Whether the kernel's own state in the vmcore says the culprit had
    /// not arrived, and what it ran.
    fn kernel_names_culprit(&self) -> Read<bool> {
        let Some(v) = &self.vmcore else {
            return Read::NotAsked;
        };
        match v.kernel {
            Read::NotAsked => Read::NotAsked,
            Read::Failed => Read::Failed,
            Read::Got(text) => {
                let Some(cpu) = self.culprit.cpu else {
                    return Read::Got(false);
                };
                let not_arrived = format!(" not_arrived={cpu}");
                let runs = format!("kernel_stop CPU {cpu} has not arrived: ");
                let stop = text
                    .lines()
                    .any(|l| l.starts_with("kernel_stop ") && l.ends_with(&not_arrived));
                let task = text.lines().any(|l| {
                    l.strip_prefix(&runs)
                        .and_then(|r| r.rsplit_once(" it runs "))
                        .is_some_and(|(_, t)| is_task(Some(t), self.task()))
                });
                Read::Got(stop && task)
            }
        }
    }

    /// Whether line `a` exists and comes before line `b`.
    fn before(a: Option<usize>, b: Option<usize>) -> bool {
        matches!((a, b), (Some(a), Some(b)) if a < b)
    }

    /// Whether the run showed what it meant to.
    pub(crate) fn passed(&self) -> bool {
        let kernel_ok = !matches!(self.kernel_names_culprit(), Read::Failed | Read::Got(false));
        if !self.sc.stopwatch {
            return self.panic_at.is_some() && kernel_ok;
        }
        let vmcore_ok = !matches!(
            self.vmcore.as_ref().map(|v| &v.stopwatch),
            Some(Read::Failed)
        );
        // The dump comes from a panic notifier: panic() prints its `Kernel
        // panic - not syncing` line first, then calls the notifiers.
        vmcore_ok
            && kernel_ok
            && Self::before(self.warning_at, self.panic_at)
            && Self::before(self.frame_at, self.panic_at)
            && self.dump.is_some()
            && self.dump_names_culprit
    }
}

impl Display for PanicVerdict<'_, '_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let sc = self.sc;
        let lines = self.console.lines();
        let b = |x: bool| u8::from(x);
        writeln!(
            f,
            "== serial console: the kernel's reports and stopwatch's lines, up to the panic"
        )?;
        let reports: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.contains("BUG: soft lockup") || l.contains("Kernel panic - not syncing"))
            .collect();
        if reports.is_empty() {
            writeln!(f, "(no BUG or panic line)")?;
        }
        for l in reports
            .iter()
            .chain(lines.iter().filter(|l| is_blame_line(l)))
        {
            writeln!(f, "{l}")?;
        }
        writeln!(f)?;
        writeln!(f, "== summary")?;
        let hog_cpu = sc
            .hog_cpus
            .first()
            .map_or("-".to_string(), |c| c.to_string());
        writeln!(
            f,
            "summary panicked={} kernel={} workload={} cpus={} hog_cpu={hog_cpu} culprit_cpu={} vm_run_exit={}",
            b(self.panic_at.is_some()),
            sc.kernel,
            sc.workload.name(),
            sc.cpus,
            self.culprit.cpu.map_or(String::new(), |c| c.to_string()),
            self.vm_exit
        )?;
        writeln!(
            f,
            "summary warning_before_panic={} warning_before_first_bug={}",
            b(Self::before(self.warning_at, self.panic_at)),
            b(Self::before(self.warning_at, self.first_bug_at))
        )?;
        writeln!(
            f,
            "summary backtrace_before_panic={} hog_frame_before_panic={}",
            b(Self::before(self.backtrace_at, self.panic_at)),
            b(Self::before(self.frame_at, self.panic_at))
        )?;
        writeln!(
            f,
            "summary dump_complete={} dump_names_hog={}",
            b(self.dump.is_some()),
            b(self.dump_names_culprit)
        )?;
        let Some(v) = &self.vmcore else {
            return Ok(());
        };
        if sc.stopwatch {
            writeln!(f)?;
            writeln!(f, "== from the vmcore ({})", v.path)?;
            let read = match &v.stopwatch {
                Read::Got(read) => {
                    f.write_str(read.stops)?;
                    true
                }
                _ => false,
            };
            writeln!(
                f,
                "summary vmcore_read={} vmcore_names_hog={}",
                b(read),
                b(self.vmcore_names_culprit())
            )?;
        }
        let kernel = self.kernel_names_culprit();
        if kernel != Read::NotAsked {
            writeln!(f)?;
            writeln!(
                f,
                "== the kernel's own stop_machine() state, from the vmcore"
            )?;
            if let Read::Got(text) = v.kernel {
                f.write_str(text)?;
            }
            writeln!(
                f,
                "summary vmcore_kernel_names_culprit={}",
                b(kernel == Read::Got(true))
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;

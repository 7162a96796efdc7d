// SPDX-License-Identifier: GPL-2.0

//! The verdict of a reproduction (`scripts/reproduce`): what stopwatch
//! recorded, analysed by stopwatch's own logic (the analysis the `stops`
//! view prints), set against what the kernel said in its log
//! ([`crate::tools::kernel_log`]) and what the run meant to cause
//! ([`Scenario`]); in words (the diagnosis) and as `summary key=value`
//! lines for scripts.
//!
//! Pure `core` and `alloc`, with the names of a dump or a test's: the host
//! library tests it (`rust/host.rs`); `tools/diagnose` runs it.

use crate::{
    logic::{
        analysis::{Blame, StopLog},
        text::Names,
        NoMemory,
    },
    tools::kernel_log::{
        backtrace, field, is_blame_line, is_checker_report, Console, Frame, OomReport, SoftLockup,
        Stamp, Warning,
    },
    Host,
};
use alloc::vec::Vec;

/// What the guest ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Workload {
    /// stopwatch_hog: a CPU that does not schedule.
    Hog,
    /// A global OOM, its report's task dump on the serial console.
    Oom,
    /// Memory cgroup OOM kills.
    Memcg,
}

impl Workload {
    /// Its name on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Hog => "hog",
            Self::Oom => "oom",
            Self::Memcg => "memcg",
        }
    }
}

/// What the run meant to cause, as `scripts/reproduce` set it up.
pub(crate) struct Scenario<'a> {
    /// The kernel (`7.3`, `6.12`, `debian-7.3`).
    pub(crate) kernel: &'a str,
    /// Its flavour.
    pub(crate) flavour: &'a str,
    /// The workload.
    pub(crate) workload: Workload,
    /// Whether the storm of `stop_machine()` calls ran.
    pub(crate) storm: bool,
    /// Whether stopwatch was loaded.
    pub(crate) stopwatch: bool,
    /// vCPUs.
    pub(crate) cpus: u16,
    /// `kernel.watchdog_thresh`, seconds.
    pub(crate) thresh_s: u32,
    /// The hog's CPUs.
    pub(crate) hog_cpus: Vec<u16>,
    /// How long the hog runs (seconds, as given: a list allowed).
    pub(crate) hog_seconds: &'a str,
    /// How often the hog touches its watchdog (0: never).
    pub(crate) touch_ms: u32,
}

impl Scenario<'_> {
    /// The soft-lockup threshold: twice `watchdog_thresh`.
    fn lockup_ns(&self) -> u64 {
        2 * u64::from(self.thresh_s) * 1_000_000_000
    }
}

/// What stopwatch recorded: its records analysed, as a dump gives them.
pub(crate) struct Recorded<'a, N: Names> {
    /// The analysis.
    pub(crate) log: &'a StopLog<Host>,
    /// Names of addresses and pids.
    pub(crate) names: &'a N,
    /// When the records were read.
    pub(crate) now_ns: u64,
    /// The CPUs online then.
    pub(crate) online: &'a [u16],
    /// Who is to blame, and when.
    pub(crate) blame: Blame,
    /// printk's clock minus the records' (the dump's header has both).
    pub(crate) printk_offset_ns: i64,
}

impl<N: Names> Recorded<'_, N> {
    /// A record time on printk's clock.
    fn printk(&self, ns: u64) -> u64 {
        ns.saturating_add_signed(self.printk_offset_ns)
    }
}

/// Whether a frame is the culprit's own code: a function of
/// stopwatch_hog.ko (hog_thread() or one it calls; an IPI that lands in a
/// function the hog calls, before it has saved its return address, leaves
/// hog_thread() out of the frame-pointer chain: x86 finds it on the stack
/// and marks it `? `, arm64 prints the interrupted `pc : ` and `lr : `),
/// or the OOM report's.
fn culprit_frame(workload: Workload, f: &Frame<'_>) -> bool {
    match workload {
        Workload::Hog => f.module == Some("stopwatch_hog"),
        _ => {
            !f.register
                && ["dump_header", "dump_tasks", "out_of_memory"]
                    .iter()
                    .any(|n| f.function.ends_with(n))
        }
    }
}

/// The verdict of one run.
pub(crate) struct Verdict<'a> {
    sc: &'a Scenario<'a>,
    incident: Option<Incident>,
    /// The kernel's soft-lockup reports of the incident.
    bugs: Vec<SoftLockup<'a>>,
    /// Those made after its instance ended: another lockup's.
    later: Vec<SoftLockup<'a>>,
    /// The checkers' reports.
    pub(crate) checkers: Vec<&'a str>,
    /// Early warnings of every instance.
    warnings: usize,
    oom: Option<OomReport<'a>>,
    oom_kills: usize,
    global_oom_kills: usize,
    storm_max_us: Option<u64>,
    guest_s: Option<&'a str>,
    tasks: Option<u32>,
    blame_lines: usize,
    warning: Option<Warning<'a>>,
    warning_cpus: Vec<u16>,
    /// stopwatch's backtrace of the (first) expected CPU.
    pub(crate) culprit_backtrace: Vec<&'a str>,
    console_backtrace: bool,
    annotations: Annotations,
    printed: Printed,
    expected: Vec<u16>,
    expected_reported: bool,
    waited_past: bool,
    rmmod_ok: usize,
    recovery: Option<&'a str>,
}

impl<'a> Verdict<'a> {
    /// Weighs what was recorded (if stopwatch was loaded) against the
    /// kernel's log in `console`.
    pub(crate) fn of<N: Names>(
        sc: &'a Scenario<'a>,
        console: &Console<'a>,
        recorded: Option<&Recorded<'_, N>>,
    ) -> Result<Self, NoMemory> {
        let dmesg = console.section("dmesg");
        let incident = match recorded {
            Some(r) => Incident::of(r, sc)?,
            None => None,
        };
        let waited_past = incident
            .as_ref()
            .and_then(|i| i.longest)
            .is_some_and(|w| w.ns >= sc.lockup_ns());
        // The kernel's reports of the incident: those made before its
        // instance ended (on the dmesg clock). A report after that is
        // another lockup: on 6.12 under TCG the console can still be
        // printing the OOM report seconds later, from a CPU's interrupt
        // work, and that CPU is reported in its idle task (seen once:
        // swapper/0, 9 s after the instance ended). Without a storm, or
        // without a wait past the threshold, there is no such instance (on
        // arm64 stopwatch's own probe registration makes short ones) and
        // every report is the incident's.
        let end = incident
            .as_ref()
            .filter(|_| sc.storm && waited_past)
            .and_then(|i| i.end_ns);
        let late = |l: &str| end.is_some_and(|e| Stamp::last(l).is_some_and(|t| t.0 > e));
        let before: Vec<&str> = dmesg.iter().copied().filter(|l| !late(l)).collect();
        let (later, bugs): (Vec<_>, Vec<_>) = dmesg
            .iter()
            .filter_map(|l| SoftLockup::parse(l).map(|r| (late(l), r)))
            .partition(|(late, _)| *late);
        let bugs: Vec<SoftLockup<'_>> = bugs.into_iter().map(|(_, r)| r).collect();
        let later = later.into_iter().map(|(_, r)| r).collect();
        let oom = OomReport::first(&dmesg);
        let global_oom_kills = dmesg
            .iter()
            .filter(|l| {
                Stamp::strip(l)
                    .is_some_and(|rest| rest.starts_with(" Out of memory: Killed process"))
            })
            .count();
        let expected = match sc.workload {
            Workload::Hog => sc.hog_cpus.clone(),
            Workload::Oom if global_oom_kills > 0 => oom.and_then(|o| o.cpu).into_iter().collect(),
            _ => Vec::new(),
        };
        let blame: Vec<&str> = dmesg.iter().copied().filter(|l| is_blame_line(l)).collect();
        let warning = blame.iter().find_map(|l| Warning::parse(l));
        let mut warning_cpus: Vec<u16> = blame
            .iter()
            .filter_map(|l| Warning::parse(l))
            .filter(|w| warning.is_some_and(|first| first.stop == w.stop))
            .map(|w| w.cpu)
            .collect();
        warning_cpus.sort_unstable();
        warning_cpus.dedup();
        let culprit_backtrace = match expected.first() {
            Some(&cpu) => backtrace(&dmesg, cpu).to_vec(),
            None => Vec::new(),
        };
        let console_backtrace = culprit_backtrace
            .iter()
            .skip(1)
            .filter_map(|l| Frame::parse(l))
            .any(|f| culprit_frame(sc.workload, &f));
        let expected_reported = bugs.iter().any(|b| expected.contains(&b.cpu));
        Ok(Self {
            sc,
            warnings: recorded.map_or(0, |r| r.log.stops.iter().map(|s| s.warnings.len()).sum()),
            incident,
            later,
            checkers: dmesg
                .iter()
                .copied()
                .filter(|l| is_checker_report(l))
                .collect(),
            oom: if global_oom_kills > 0 { oom } else { None },
            oom_kills: dmesg
                .iter()
                .filter(|l| l.contains("Memory cgroup out of memory"))
                .count(),
            global_oom_kills,
            storm_max_us: dmesg.iter().rev().find_map(|l| {
                l.split_once("stopwatch_storm: stopped: ")
                    .and_then(|(_, r)| r.split_once(" max_us="))
                    .and_then(|(_, v)| v.split(' ').next()?.parse().ok())
            }),
            guest_s: console.marker("guest").and_then(|g| field(g, "uptime_s")),
            tasks: console.lines().iter().find_map(|l| {
                let rest = l.strip_prefix("oom: ")?;
                let (_, all) = rest.split_once(" sleeping processes, ")?;
                all.split(' ').next()?.parse().ok()
            }),
            blame_lines: blame.len(),
            warning,
            warning_cpus,
            culprit_backtrace,
            console_backtrace,
            annotations: Annotations::of(&before, &expected),
            printed: Printed::of(&before),
            expected_reported,
            expected,
            waited_past,
            bugs,
            rmmod_ok: console
                .section("unload")
                .iter()
                .filter(|l| l.ends_with(" ok"))
                .count(),
            recovery: console.marker("recovery"),
        })
    }

    /// Whether the backtrace of the expected CPU shows its own code.
    pub(crate) fn console_backtrace(&self) -> bool {
        self.console_backtrace
    }

    /// The first expected CPU.
    pub(crate) fn expected_cpu(&self) -> Option<u16> {
        self.expected.first().copied()
    }

    /// Whether stopwatch printed its console warning.
    pub(crate) fn warned(&self) -> bool {
        self.warning.is_some()
    }

    fn bug_cpus(&self) -> Vec<u16> {
        let mut v: Vec<u16> = self.bugs.iter().map(|b| b.cpu).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    fn tasks_of(reports: &[SoftLockup<'a>]) -> Vec<&'a str> {
        let mut v: Vec<&str> = reports.iter().filter_map(|b| b.task).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Which case of the diagnosis the run is.
    fn case(&self) -> Case<'_> {
        let sc = self.sc;
        if !sc.stopwatch {
            return Case::NoStopwatch;
        }
        match &self.incident {
            Some(i) if sc.storm && !self.bugs.is_empty() && self.waited_past => Case::Waited(i),
            _ if !sc.storm && self.expected_reported => Case::HogAlone,
            _ => Case::Nothing,
        }
    }

    /// Whether the run reproduced and diagnosed what it meant to.
    pub(crate) fn reproduced(&self) -> bool {
        if !self.checkers.is_empty() {
            return false;
        }
        match self.case() {
            Case::NoStopwatch => Self::tasks_of(&self.bugs)
                .iter()
                .any(|t| t.starts_with("migration/")),
            Case::Waited(i) => {
                let mut got = i.culprits.clone();
                let mut want = self.expected.clone();
                got.sort_unstable();
                want.sort_unstable();
                got == want
            }
            Case::HogAlone => !self.waited_past,
            Case::Nothing => false,
        }
    }

    /// The diagnosis, in words.
    pub(crate) fn diagnosis(&self) -> Diagnosis<'_, 'a> {
        Diagnosis(self)
    }

    /// The `summary key=value` lines.
    pub(crate) fn summary(&self) -> Summary<'_, 'a> {
        Summary(self)
    }
}

/// The cases the diagnosis tells apart.
enum Case<'v> {
    /// Nothing of stopwatch's to read: what the kernel said.
    NoStopwatch,
    /// A `stop_machine()` waited past the threshold and the kernel
    /// reported its waiters.
    Waited(&'v Incident),
    /// No storm: the kernel reported the hog's CPU itself.
    HogAlone,
    /// No soft lockup around `stop_machine()`.
    Nothing,
}

mod counts;
mod incident;
mod text;

pub(crate) use counts::{Annotations, Printed};
#[cfg(test)]
use incident::touched_early;
use incident::Incident;
pub(crate) use text::{Diagnosis, Summary};

#[cfg(test)]
mod tests;

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
        analysis::{Blame, Culprit, Late, StopLog, StopSummary},
        text::{late_task, MaybeTask, Ms, Names, Sym, Task, TouchCallerList},
        NoMemory,
    },
    tools::kernel_log::{
        backtrace, field, is_blame_line, is_checker_report, Console, Frame, Note, OomReport,
        SoftLockup, Stamp, Warning,
    },
    Host,
};
use alloc::{
    format,
    string::{String, ToString},
    vec::Vec,
};
use core::fmt::{self, Display, Formatter, Write};

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

/// A CPU and how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct CpuNs {
    cpu: u16,
    ns: u64,
}

/// The instance everyone waited longest in (PREPARE), summed up.
struct Incident {
    /// Its id.
    stop: u32,
    /// `comm/pid` of its caller, `-` if not recorded.
    caller: String,
    /// Its `fn`.
    func: String,
    /// The longest PREPARE wait, if any.
    longest: Option<CpuNs>,
    /// The CPUs that waited the lockup threshold or longer.
    waiters: Vec<CpuNs>,
    /// How many of them were touched early (see [`touched_early`]);
    /// `None` if one has no untouched time to count from.
    waiters_touched: Option<usize>,
    /// The CPU that arrived last.
    last_arrival: Option<u16>,
    /// The CPUs it waited for, most to blame first.
    culprits: Vec<u16>,
    /// What each ran (`comm/pid`), comma-separated; `-` if none.
    culprit_tasks: String,
    /// Their watchdog touches before they arrived, comma-separated.
    culprit_touches: String,
    /// Their lags, comma-separated ms.
    culprit_lag: String,
    /// The first culprit's touch callers (`caller:count,...`).
    touch_callers: String,
    /// Of those, the count of `dump_tasks()`'s (or `dump_header()`'s,
    /// which inlines it).
    dump_touches: Option<u32>,
    /// Its first early warning, on printk's clock.
    first_warning_ns: Option<u64>,
    /// Its end (now, if it runs), on printk's clock; `None` if lost.
    end_ns: Option<u64>,
}

/// Whether a waiter's watchdog was touched early: its first touch came
/// within 1.6 `watchdog_thresh`, the earliest the watchdog can report a
/// waiting CPU (its last refresh may be up to one sample period,
/// 2 `thresh` / 5, older than its arrival; the report itself, printing
/// and dumping the stack, may touch).
fn touched_early(untouched_ns: u64, thresh_s: u32) -> bool {
    untouched_ns < u64::from(thresh_s) * 1_600_000_000
}

/// `a,b,c` of `items`, `-` if none.
fn list<T: Display>(items: impl IntoIterator<Item = T>) -> String {
    let mut s = String::new();
    for (i, item) in items.into_iter().enumerate() {
        let _ = write!(s, "{}{item}", if i == 0 { "" } else { "," });
    }
    if s.is_empty() {
        s.push('-');
    }
    s
}

/// Seconds, one decimal.
struct Sec1(u64);

impl Display for Sec1 {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1}", self.0 as f64 / 1e9)
    }
}

/// Seconds, six decimals (printk's).
fn secs6(ns: u64) -> String {
    Stamp(ns).to_string()
}

impl Incident {
    /// The instance with the longest PREPARE wait (the later of equals).
    fn of<N: Names>(r: &Recorded<'_, N>, sc: &Scenario<'_>) -> Result<Option<Self>, NoMemory> {
        let now = r.now_ns;
        let mut best: Option<&StopSummary<Host>> = None;
        let mut best_ns = 0;
        for s in r.log.stops.iter() {
            let w = s.longest_prepare(now).map_or(0, |w| w.ns);
            if best.is_none() || w >= best_ns {
                best = Some(s);
                best_ns = w;
            }
        }
        let Some(s) = best else {
            return Ok(None);
        };
        let n = r.names;
        let mut waiters = Vec::new();
        let mut touched = Some(0);
        for c in s.cpus.iter() {
            let Some(ns) = c.prepare_wait_ns(now) else {
                continue;
            };
            if ns < sc.lockup_ns() {
                continue;
            }
            waiters.push(CpuNs { cpu: c.cpu, ns });
            touched = match (touched, c.untouched_wait_ns(now)) {
                (Some(k), Some(u)) => Some(k + usize::from(touched_early(u, sc.thresh_s))),
                _ => None,
            };
        }
        waiters.sort_by_key(|w| w.cpu);
        let mut arrivals = s.arrivals()?;
        arrivals.sort_by_key(|a| a.cpu);
        let last_arrival = arrivals
            .iter()
            .fold(None::<(u16, u64)>, |m, a| match m {
                Some((_, t)) if a.ts_ns < t => m,
                _ => Some((a.cpu, a.ts_ns)),
            })
            .map(|(cpu, _)| cpu);
        let late: Vec<Late> = match s.culprit(r.online, now, r.blame)? {
            Culprit::Late(late) => late.to_vec(),
            _ => Vec::new(),
        };
        let task_on = |cpu: u16| r.log.last_check_pid(cpu);
        let first = late.first().and_then(|l| s.cpu(l.cpu));
        let dump_touches = first.and_then(|c| {
            c.touch_callers.by_count().iter().find_map(|t| {
                let name = Sym(n, t.caller).to_string();
                (t.count > 0
                    && (name.starts_with("dump_tasks+") || name.starts_with("dump_header+")))
                .then_some(t.count)
            })
        });
        let start = s.start_ns().unwrap_or(0);
        Ok(Some(Self {
            stop: s.stop,
            caller: match s.caller {
                Some(c) => Task(n, c.pid).to_string(),
                None => "-".to_string(),
            },
            func: Sym(n, s.func).to_string(),
            longest: s.longest_prepare(now).map(|w| CpuNs {
                cpu: w.cpu,
                ns: w.ns,
            }),
            waiters,
            waiters_touched: touched,
            last_arrival,
            culprits: late.iter().map(|l| l.cpu).collect(),
            culprit_tasks: list(
                late.iter()
                    .map(|l| MaybeTask(n, late_task(s, l, &task_on)).to_string()),
            ),
            culprit_touches: list(
                late.iter()
                    .map(|l| s.cpu(l.cpu).map_or(0, |c| c.touches_before_arrival)),
            ),
            culprit_lag: list(late.iter().map(|l| Ms(l.lag_ns))),
            touch_callers: if late.is_empty() {
                "-".to_string()
            } else {
                TouchCallerList(n, first).to_string()
            },
            dump_touches,
            first_warning_ns: s.warnings.first().map(|w| r.printk(w.ts_ns)),
            end_ns: match s.end {
                Some(e) => Some(r.printk(e.ts_ns)),
                None if s.end_lost => None,
                None => Some(r.printk(now.max(start))),
            },
        }))
    }
}

/// Whether stopwatch's note on each soft-lockup report came, naming only
/// CPUs of `expected` (or none, all having arrived), before the same
/// CPU's next report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Annotations {
    /// Reports followed by such a note.
    pub(crate) noted: usize,
    /// Reports without.
    pub(crate) missed: usize,
}

impl Annotations {
    /// Counts over `lines` (the incident's, in order).
    pub(crate) fn of(lines: &[&str], expected: &[u16]) -> Self {
        let mut open: Vec<u16> = Vec::new();
        let mut a = Self {
            noted: 0,
            missed: 0,
        };
        for l in lines {
            if let Some(r) = SoftLockup::parse(l) {
                if open.contains(&r.cpu) {
                    a.missed += 1;
                } else {
                    open.push(r.cpu);
                }
            } else if let Some(n) = Note::parse(l) {
                let names_right = n.readable && n.waited_for.iter().all(|c| expected.contains(c));
                if let Some(i) = open.iter().position(|&c| c == n.cpu) {
                    if names_right {
                        a.noted += 1;
                        open.remove(i);
                    }
                }
            }
        }
        a.missed += open.len();
        a
    }
}

/// Lines and bytes printed during the incident, by whom: the kernel's
/// soft-lockup reports (each from its BUG line to the end of its stack)
/// and stopwatch's lines (its own, and the backtraces it asked for). On a
/// serial console every byte costs about 87 us at 115200 baud, spent by
/// the CPU printing it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Printed {
    pub(crate) report_lines: usize,
    pub(crate) report_bytes: usize,
    pub(crate) stopwatch_lines: usize,
    pub(crate) stopwatch_bytes: usize,
}

impl Printed {
    /// Counts over `lines` (the incident's).
    pub(crate) fn of(lines: &[&str]) -> Self {
        #[derive(PartialEq)]
        enum Block {
            None,
            Kernel,
            Stopwatch,
        }
        let mut p = Self::default();
        let mut block = Block::None;
        for l in lines {
            if SoftLockup::parse(l).is_some() {
                block = Block::Kernel;
            }
            let text = l.split_once("] stopwatch: ").map(|(_, t)| t);
            if text.is_some_and(|t| {
                t.strip_prefix('#')
                    .and_then(|t| t.split_once(" backtrace (IPI"))
                    .is_some()
            }) {
                block = Block::Stopwatch;
            }
            let bytes = l.len() + 1;
            if text.is_some() {
                p.stopwatch_lines += 1;
                p.stopwatch_bytes += bytes;
                continue;
            }
            match block {
                Block::Kernel => {
                    p.report_lines += 1;
                    p.report_bytes += bytes;
                }
                Block::Stopwatch => {
                    p.stopwatch_lines += 1;
                    p.stopwatch_bytes += bytes;
                }
                Block::None => {}
            }
            if l.contains("</TASK>") {
                block = Block::None;
            }
        }
        p
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

/// The verdict in words.
pub(crate) struct Diagnosis<'v, 'a>(&'v Verdict<'a>);

impl Display for Diagnosis<'_, '_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let v = self.0;
        let sc = v.sc;
        let bug_cpus = list(v.bug_cpus());
        let bug_tasks = list(Verdict::tasks_of(&v.bugs));
        let oom_line = |f: &mut Formatter<'_>| -> fmt::Result {
            let (cpu, task, dump) = v.oom_fields();
            write!(
                f,
                "The kernel's own OOM report ran on CPU {cpu} ({task}); its task dump of {} processes took {dump} s",
                v.tasks.map_or("?".to_string(), |t| t.to_string())
            )
        };
        match v.case() {
            Case::NoStopwatch => {
                let bugs = if v.bugs.is_empty() {
                    "none".to_string()
                } else {
                    bug_cpus
                };
                let tasks = Verdict::tasks_of(&v.bugs);
                let tasks = if tasks.is_empty() {
                    "nothing".to_string()
                } else {
                    list(tasks)
                };
                writeln!(
                    f,
                    "stopwatch was not loaded: the kernel reported {} soft lockup(s) on CPUs {bugs} in {tasks}, the longest stuck for {} s.",
                    v.bugs.len(),
                    v.longest_stuck_s().unwrap_or(0)
                )?;
                if sc.workload == Workload::Oom {
                    oom_line(f)?;
                    writeln!(f, ".")?;
                }
            }
            Case::Waited(i) => {
                let touched = i.waiters_touched.map_or("-".to_string(), |k| k.to_string());
                writeln!(
                    f,
                    "stop_machine #{} from {} (fn={}) waited {} s in PREPARE for CPU {}, which ran {} without scheduling ({} watchdog touches there meanwhile, by {}; {touched} of the waiting CPUs touched before the threshold); CPUs {bug_cpus} reported soft lockups in {}.",
                    i.stop,
                    i.caller,
                    i.func,
                    Sec1(i.longest.map_or(0, |w| w.ns)),
                    list(&i.culprits),
                    i.culprit_tasks,
                    i.culprit_touches,
                    i.touch_callers,
                    if v.bugs.is_empty() { "?".to_string() } else { bug_tasks },
                )?;
                if !v.later.is_empty() {
                    let tasks = Verdict::tasks_of(&v.later);
                    writeln!(
                        f,
                        "After the instance ended the kernel made {} more report(s), in {}: not this incident's.",
                        v.later.len(),
                        if tasks.is_empty() { "?".to_string() } else { list(tasks) }
                    )?;
                }
                if sc.workload == Workload::Oom {
                    oom_line(f)?;
                    writeln!(
                        f,
                        "; while the others waited it touched the watchdog {} times from dump_tasks() (inlined into dump_header(); once per 1024 tasks: at most {} in the whole dump).",
                        i.dump_touches.unwrap_or(0),
                        v.expected_dump_touches()
                    )?;
                }
            }
            Case::HogAlone => {
                let how = if sc.touch_ms == 0 {
                    "and without touching its watchdog".to_string()
                } else {
                    format!("touching its watchdog every {} ms", sc.touch_ms)
                };
                writeln!(
                    f,
                    "CPU {} ran stopwatch_hog for {} s without scheduling {how} and the kernel reported that CPU itself ({bug_tasks}); no stop_machine was waiting (longest PREPARE wait {} ms), so stopwatch blames none.",
                    list(&sc.hog_cpus),
                    sc.hog_seconds,
                    v.longest_ms()
                )?;
            }
            Case::Nothing => {
                let reports = if v.bugs.is_empty() {
                    String::new()
                } else {
                    format!("kernel reports on CPUs {bug_cpus}; ")
                };
                let stop = match &v.incident {
                    Some(i) => format!(" in stop_machine #{}", i.stop),
                    None => String::new(),
                };
                writeln!(
                    f,
                    "No soft lockup around stop_machine this time: {reports}longest PREPARE wait {} ms (threshold {} ms){stop}; {} memcg and {} global OOM kills.",
                    v.longest_ms(),
                    sc.lockup_ns() / 1_000_000,
                    v.oom_kills,
                    v.global_oom_kills
                )?;
                if sc.workload != Workload::Hog && sc.kernel.trim_start_matches("debian-") == "7.3"
                {
                    writeln!(f, "7.3 has no PREEMPT_NONE: the OOM dump can be preempted, so the stoppers get in; the seed's kernels were non-preemptible (try --kernel 6.12).")?;
                }
            }
        }
        if !v.checkers.is_empty() {
            writeln!(
                f,
                "The kernel's checkers reported {} line(s) (KASAN, lockdep, sleep in atomic, debug objects, kmemleak, Oops or WARN): the run fails.",
                v.checkers.len()
            )?;
            for l in v.checkers.iter().take(10) {
                writeln!(f, "{l}")?;
            }
        }
        Ok(())
    }
}

impl Verdict<'_> {
    /// The longest `stuck for` of the incident's reports.
    fn longest_stuck_s(&self) -> Option<u32> {
        self.bugs.iter().map(|b| b.stuck_s).max()
    }

    /// The longest PREPARE wait, ms (`0` if none).
    fn longest_ms(&self) -> String {
        match self.incident.as_ref().and_then(|i| i.longest) {
            Some(w) => Ms(w.ns).to_string(),
            None => "0".to_string(),
        }
    }

    /// `tasks / 1024`: the most touches `dump_tasks()` makes.
    fn expected_dump_touches(&self) -> String {
        self.tasks
            .map_or("-".to_string(), |t| (t / 1024).to_string())
    }

    /// The OOM report's CPU, task and dump length, `-` for each unknown.
    fn oom_fields(&self) -> (String, String, String) {
        let dash = || "-".to_string();
        match self.oom {
            Some(o) => (
                o.cpu.map_or_else(dash, |c| c.to_string()),
                match (o.comm, o.pid) {
                    (Some(c), Some(p)) => format!("{c}/{p}"),
                    _ => dash(),
                },
                o.dump_ns.map_or_else(dash, |d| Sec1(d).to_string()),
            ),
            None => (dash(), dash(), dash()),
        }
    }
}

/// The verdict as `summary key=value` lines.
pub(crate) struct Summary<'v, 'a>(&'v Verdict<'a>);

impl Display for Summary<'_, '_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let v = self.0;
        let sc = v.sc;
        let i = v.incident.as_ref();
        let b = |x: bool| u8::from(x);
        let or_dash = |s: Option<String>| s.unwrap_or_else(|| "-".to_string());
        let (oom_cpu, oom_task, dump_s) = v.oom_fields();
        let recovery = |k: &str| v.recovery.and_then(|r| field(r, k)).unwrap_or("0");
        let p = v.printed;
        writeln!(f, "summary checker_reports={}", v.checkers.len())?;
        writeln!(
            f,
            "summary reproduced={} kernel={} flavour={} bug_lines={} stopwatch={}",
            b(v.reproduced()),
            sc.kernel,
            sc.flavour,
            v.bugs.len(),
            b(sc.stopwatch)
        )?;
        writeln!(
            f,
            "summary longest_stuck_s={} storm_max_ms={} guest_s={}",
            or_dash(v.longest_stuck_s().map(|s| s.to_string())),
            or_dash(
                v.storm_max_us
                    .map(|us| format!("{:.1}", us as f64 / 1000.0))
            ),
            v.guest_s.unwrap_or("-")
        )?;
        writeln!(
            f,
            "summary report_lines={} report_bytes={} stopwatch_lines={} stopwatch_bytes={}",
            p.report_lines, p.report_bytes, p.stopwatch_lines, p.stopwatch_bytes
        )?;
        writeln!(
            f,
            "summary workload={} storm={} cpus={} thresh={} hog_cpu={} expected_cpu={}",
            sc.workload.name(),
            b(sc.storm),
            sc.cpus,
            sc.thresh_s,
            list(&sc.hog_cpus),
            list(&v.expected)
        )?;
        writeln!(
            f,
            "summary bug_cpus={} bug_tasks={} expected_cpu_reported={}",
            list(v.bug_cpus()),
            list(Verdict::tasks_of(&v.bugs)),
            b(v.expected_reported)
        )?;
        writeln!(
            f,
            "summary later_reports={} later_tasks={}",
            v.later.len(),
            list(Verdict::tasks_of(&v.later))
        )?;
        writeln!(
            f,
            "summary stop={} culprit={} culprit_task={} last_arrival={}",
            or_dash(i.map(|i| i.stop.to_string())),
            i.map_or("-".to_string(), |i| list(&i.culprits)),
            i.map_or("-", |i| &i.culprit_tasks),
            or_dash(i.and_then(|i| i.last_arrival).map(|c| c.to_string()))
        )?;
        let waiters = i.map_or(&[][..], |i| &i.waiters);
        writeln!(
            f,
            "summary longest_prepare_ms={} waiters={} min_wait_ms={}",
            v.longest_ms(),
            list(waiters.iter().map(|w| w.cpu)),
            waiters
                .iter()
                .map(|w| w.ns)
                .min()
                .map_or("0".to_string(), |ns| Ms(ns).to_string())
        )?;
        writeln!(
            f,
            "summary waiters_touched_before_threshold={} culprit_touches={}",
            match i {
                Some(i) => i.waiters_touched.map_or("-".to_string(), |k| k.to_string()),
                None => "0".to_string(),
            },
            i.map_or("0", |i| &i.culprit_touches)
        )?;
        writeln!(
            f,
            "summary culprit_touch_callers={}",
            i.map_or("-", |i| &i.touch_callers)
        )?;
        writeln!(
            f,
            "summary oom_cpu={oom_cpu} oom_task={oom_task} dump_s={dump_s} global_oom_kills={}",
            v.global_oom_kills
        )?;
        writeln!(
            f,
            "summary tasks={} dump_touches={} expected_dump_touches={}",
            or_dash(v.tasks.map(|t| t.to_string())),
            i.and_then(|i| i.dump_touches).unwrap_or(0),
            v.expected_dump_touches()
        )?;
        writeln!(
            f,
            "summary early_warnings={} first_warning_s={} first_bug_s={}",
            v.warnings,
            or_dash(i.and_then(|i| i.first_warning_ns).map(secs6)),
            or_dash(v.bugs.first().and_then(|r| r.at).map(|s| s.to_string()))
        )?;
        let w = v.warning;
        writeln!(
            f,
            "summary console_lines={} console_warning_s={} console_warning_cpu={}",
            v.blame_lines,
            or_dash(w.and_then(|w| w.at).map(|s| s.to_string())),
            or_dash(w.map(|w| w.cpu.to_string()))
        )?;
        writeln!(
            f,
            "summary console_warning_task={} console_backtrace_culprit_frame={}",
            w.and_then(|w| w.task).unwrap_or("-"),
            b(v.console_backtrace)
        )?;
        writeln!(
            f,
            "summary console_warning_cpus={} culprit_lag_ms={}",
            list(&v.warning_cpus),
            i.map_or("-", |i| &i.culprit_lag)
        )?;
        writeln!(
            f,
            "summary annotated_reports={} unannotated_reports={}",
            v.annotations.noted, v.annotations.missed
        )?;
        writeln!(
            f,
            "summary storm_calls_before={} storm_calls_after={}",
            recovery("storm_calls_before"),
            recovery("storm_calls_after")
        )?;
        let loaded = usize::from(sc.stopwatch)
            + usize::from(sc.storm)
            + usize::from(sc.workload == Workload::Hog);
        writeln!(
            f,
            "summary modules_loaded={loaded} rmmod_ok={} oom_kills={}",
            v.rmmod_ok, v.oom_kills
        )
    }
}

#[cfg(test)]
mod tests;

// SPDX-License-Identifier: GPL-2.0

//! The verdict in words ([`Diagnosis`]) and as `summary key=value` lines
//! ([`Summary`]).

use super::{Case, Verdict, Workload};
use crate::{
    logic::text::Ms,
    tools::kernel_log::{field, Stamp},
};
use alloc::{
    format,
    string::{String, ToString},
};
use core::fmt::{self, Display, Formatter, Write};

/// `a,b,c` of `items`, `-` if none.
pub(super) fn list<T: Display>(items: impl IntoIterator<Item = T>) -> String {
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

/// The verdict in words.
pub(crate) struct Diagnosis<'v, 'a>(pub(super) &'v Verdict<'a>);

impl Display for Diagnosis<'_, '_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let v = self.0;
        let sc = v.sc;
        let bug_cpus = list(v.bug_cpus());
        let bug_tasks = list(Verdict::tasks_of(&v.bugs));
        let oom_line = |f: &mut Formatter<'_>| -> fmt::Result {
            let OomFields {
                cpu,
                task,
                dump_s: dump,
            } = v.oom_fields();
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
    fn oom_fields(&self) -> OomFields {
        let dash = || "-".to_string();
        match self.oom {
            Some(o) => OomFields {
                cpu: o.cpu.map_or_else(dash, |c| c.to_string()),
                task: match (o.comm, o.pid) {
                    (Some(c), Some(p)) => format!("{c}/{p}"),
                    _ => dash(),
                },
                dump_s: o.dump_ns.map_or_else(dash, |d| Sec1(d).to_string()),
            },
            None => OomFields {
                cpu: dash(),
                task: dash(),
                dump_s: dash(),
            },
        }
    }
}

/// The OOM report's fields as the verdict writes them, `-` for each
/// unknown.
struct OomFields {
    /// The CPU that ran it.
    cpu: String,
    /// Its task, `comm/pid`.
    task: String,
    /// How long its task dump took, in seconds.
    dump_s: String,
}

/// The verdict as `summary key=value` lines.
pub(crate) struct Summary<'v, 'a>(pub(super) &'v Verdict<'a>);

impl Display for Summary<'_, '_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let v = self.0;
        let sc = v.sc;
        let i = v.incident.as_ref();
        let b = |x: bool| u8::from(x);
        let or_dash = |s: Option<String>| s.unwrap_or_else(|| "-".to_string());
        let OomFields {
            cpu: oom_cpu,
            task: oom_task,
            dump_s,
        } = v.oom_fields();
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

// SPDX-License-Identifier: GPL-2.0

//! The incident in stopwatch's records: the instance everyone waited
//! longest in, summed up by the analysis the `stops` view runs.

use super::{text::list, Recorded, Scenario};
use crate::{
    logic::{
        analysis::{Culprit, Late, StopSummary},
        text::{late_task, MaybeTask, Ms, Names, Sym, Task, TouchCallerList},
        NoMemory,
    },
    Host,
};
use alloc::{
    string::{String, ToString},
    vec::Vec,
};

/// A CPU and how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct CpuNs {
    pub(super) cpu: u16,
    pub(super) ns: u64,
}

/// The instance everyone waited longest in (PREPARE), summed up.
pub(super) struct Incident {
    /// Its id.
    pub(super) stop: u32,
    /// `comm/pid` of its caller, `-` if not recorded.
    pub(super) caller: String,
    /// Its `fn`.
    pub(super) func: String,
    /// The longest PREPARE wait, if any.
    pub(super) longest: Option<CpuNs>,
    /// The CPUs that waited the lockup threshold or longer.
    pub(super) waiters: Vec<CpuNs>,
    /// How many of them were touched early (see [`touched_early`]);
    /// `None` if one has no untouched time to count from.
    pub(super) waiters_touched: Option<usize>,
    /// The CPU that arrived last.
    pub(super) last_arrival: Option<u16>,
    /// The CPUs it waited for, most to blame first.
    pub(super) culprits: Vec<u16>,
    /// What each ran (`comm/pid`), comma-separated; `-` if none.
    pub(super) culprit_tasks: String,
    /// Their watchdog touches before they arrived, comma-separated.
    pub(super) culprit_touches: String,
    /// Their lags, comma-separated ms.
    pub(super) culprit_lag: String,
    /// The first culprit's touch callers (`caller:count,...`).
    pub(super) touch_callers: String,
    /// Of those, the count of `dump_tasks()`'s (or `dump_header()`'s,
    /// which inlines it).
    pub(super) dump_touches: Option<u32>,
    /// Its first early warning, on printk's clock.
    pub(super) first_warning_ns: Option<u64>,
    /// Its end (now, if it runs), on printk's clock; `None` if lost.
    pub(super) end_ns: Option<u64>,
}

/// Whether a waiter's watchdog was touched early: its first touch came
/// within 1.6 `watchdog_thresh`, the earliest the watchdog can report a
/// waiting CPU (its last refresh may be up to one sample period,
/// 2 `thresh` / 5, older than its arrival; the report itself, printing
/// and dumping the stack, may touch).
pub(super) fn touched_early(untouched_ns: u64, thresh_s: u32) -> bool {
    untouched_ns < u64::from(thresh_s) * 1_600_000_000
}

impl Incident {
    /// The instance with the longest PREPARE wait (the later of equals).
    pub(super) fn of<N: Names>(
        r: &Recorded<'_, N>,
        sc: &Scenario<'_>,
    ) -> Result<Option<Self>, NoMemory> {
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

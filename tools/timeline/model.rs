// SPDX-License-Identifier: GPL-2.0

//! What the trace and the image show, built once from the analysis
//! (`logic::analysis::StopLog`, as the `stops` view builds it) and the
//! records.

use crate::{
    logic::{
        analysis::{Culprit, Wait},
        record::{Event, StopState},
        text::{StopLine, Task},
        NoMemory,
    },
    tools::{
        dump::{Analysis, Dump},
        kernel_log::{SoftLockup, Stamp},
    },
};

/// Where something is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Track {
    /// A CPU: its stopper's states and what happened on it.
    Cpu(u16),
    /// The `stop_machine()` calls made from a CPU.
    Calls(u16),
}

/// What a slice is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SliceKind {
    /// A stopper in a state of an instance (`None`: arrived).
    State(StopState),
    /// A CPU the others waited for, not arrived yet.
    NotArrived,
    /// A `stop_machine()` call, entry to return.
    Call,
}

/// Something that lasted.
pub(crate) struct Slice {
    /// Where.
    pub(crate) track: Track,
    /// From.
    pub(crate) start_ns: u64,
    /// To.
    pub(crate) end_ns: u64,
    /// The instance.
    pub(crate) stop: u32,
    /// What.
    pub(crate) kind: SliceKind,
    /// Its label.
    pub(crate) name: String,
}

/// What an instant is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mark {
    /// A watchdog touch.
    Touch,
    /// A watchdog check that found the CPU touched in time.
    Check,
    /// A watchdog check past the soft-lockup threshold: the kernel's
    /// `BUG: soft lockup` report.
    Report,
    /// stopwatch's early warning.
    Warning,
}

/// Something that happened at one moment.
pub(crate) struct Instant {
    /// Where.
    pub(crate) track: Track,
    /// When.
    pub(crate) ts_ns: u64,
    /// What.
    pub(crate) kind: Mark,
    /// Its label.
    pub(crate) name: String,
    /// Details, `key: value`.
    pub(crate) args: Vec<(&'static str, String)>,
}

/// One `stop_machine()` instance, as the analysis sees it.
pub(crate) struct Instance {
    /// Its id.
    pub(crate) stop: u32,
    /// The calling CPU, if its entry was recorded.
    pub(crate) caller_cpu: Option<u16>,
    /// Entry, else the first thing seen of it.
    pub(crate) start_ns: u64,
    /// Return, else now if it runs, else the last thing seen of it.
    pub(crate) end_ns: u64,
    /// Whether it still ran when the dump was taken.
    pub(crate) running: bool,
    /// First arrival of a CPU.
    pub(crate) first_arrival_ns: Option<u64>,
    /// The CPUs the others waited for, most to blame first.
    pub(crate) culprits: Vec<u16>,
    /// What the first culprit ran when the watchdog last checked it
    /// (`comm/pid`).
    pub(crate) culprit_task: Option<String>,
    /// The longest PREPARE wait, and whose.
    pub(crate) longest_wait: Option<Wait>,
    /// Its line in the `stops` view.
    pub(crate) line: String,
    /// Its `fn`.
    pub(crate) func: String,
}

/// Everything drawn.
pub(crate) struct Timeline {
    /// CPUs in the dump.
    pub(crate) cpus: u16,
    /// Each CPU's soft-lockup threshold.
    pub(crate) thresholds_ns: Vec<u64>,
    /// The CPUs online when the dump was taken.
    pub(crate) online: Vec<u16>,
    /// The earliest time shown (the first record).
    pub(crate) origin_ns: u64,
    /// Slices, by instance, then CPU, then time.
    pub(crate) slices: Vec<Slice>,
    /// Instants, in time order.
    pub(crate) instants: Vec<Instant>,
    /// Instances, oldest first.
    pub(crate) instances: Vec<Instance>,
}

impl Timeline {
    /// The instance to draw: `stop`, else the one with a culprit whose
    /// waiters waited longest, else the longest.
    pub(crate) fn pick(&self, stop: Option<u32>) -> Option<&Instance> {
        if let Some(stop) = stop {
            return self.instances.iter().find(|i| i.stop == stop);
        }
        let wait = |i: &&Instance| i.longest_wait.map_or(0, |w| w.ns);
        self.instances
            .iter()
            .filter(|i| !i.culprits.is_empty())
            .max_by_key(wait)
            .or_else(|| {
                self.instances
                    .iter()
                    .max_by_key(|i| i.end_ns.saturating_sub(i.start_ns))
            })
    }

    /// The newest instance that names `cpu` a culprit.
    pub(crate) fn culprit_of(&self, cpu: u16) -> Option<u32> {
        self.instances
            .iter()
            .rev()
            .find(|i| i.culprits.contains(&cpu))
            .map(|i| i.stop)
    }
}

/// Builds the timeline of `dump`, with the soft-lockup reports of `dmesg`
/// (the kernel log of the same boot) if given.
pub(crate) fn build(dump: &Dump, dmesg: Option<&str>) -> Result<Timeline, NoMemory> {
    let header = dump.header();
    let online: Vec<u16> = header.online().collect();
    // The analysis runs at the dump's moment, as the `stops` view does;
    // records read after it (the file is read over time) may be newer, and
    // a running instance is drawn up to the newest.
    let now_ns = header.now_ns;
    let drawn_now_ns = dump.records.last().map_or(now_ns, |r| r.ts_ns.max(now_ns));
    let Analysis { log, blame } = dump.analyse()?;
    let mut t = Timeline {
        cpus: header.cpus,
        thresholds_ns: dump.thresholds_ns.clone(),
        online: online.clone(),
        origin_ns: dump.records.first().map_or(now_ns, |r| r.ts_ns),
        slices: Vec::new(),
        instants: Vec::new(),
        instances: Vec::new(),
    };
    for s in log.stops.iter() {
        let running = s.running();
        // The first and last things seen of it: an old instance may have
        // lost its begin and arrivals to the ring's wrap, or its end.
        let seen = || {
            s.cpus
                .iter()
                .flat_map(|c| c.state_ns.iter().flatten())
                .copied()
        };
        let start_ns = s
            .begin_ns
            .or(s.start_ns())
            .or(seen().min())
            .or(s.end.map(|e| e.ts_ns))
            .unwrap_or(now_ns);
        let end_ns = match (s.end, running) {
            (Some(e), _) => e.ts_ns,
            (None, true) => drawn_now_ns,
            (None, false) => seen().max().unwrap_or(start_ns),
        }
        .max(start_ns);
        let culprits: Vec<u16> = match s.culprit(&online, now_ns, blame)? {
            Culprit::Late(late) => late.iter().map(|l| l.cpu).collect(),
            _ => Vec::new(),
        };
        let task_on = |cpu: u16| log.last_check_pid(cpu);
        let line = StopLine {
            stop: s,
            now_ns,
            online: &online,
            names: dump,
            task_on: &task_on,
            blame,
            queued_behind: log.queued_behind(s.stop),
        }
        .to_string();
        let func = Sym(dump, s.func).to_string();
        if let Some(c) = s.caller {
            t.slices.push(Slice {
                track: Track::Calls(c.cpu),
                start_ns,
                end_ns,
                stop: s.stop,
                kind: SliceKind::Call,
                name: format!("stop_machine() #{} {func}", s.stop),
            });
        }
        for c in s.cpus.iter() {
            let states: Vec<(StopState, u64)> = StopState::ALL
                .iter()
                .zip(c.state_ns)
                .filter_map(|(&st, t)| Some((st, t?)))
                .collect();
            for (i, &(state, from)) in states.iter().enumerate() {
                if state == StopState::Exit {
                    break;
                }
                let to = states.get(i + 1).map_or(end_ns, |n| n.1);
                let what = match state {
                    StopState::None => "arrived",
                    other => other.name(),
                };
                t.slices.push(Slice {
                    track: Track::Cpu(c.cpu),
                    start_ns: from,
                    end_ns: to.max(from),
                    stop: s.stop,
                    kind: SliceKind::State(state),
                    name: format!("#{} {what}", s.stop),
                });
            }
        }
        let first_arrival_ns = s.first_arrival_ns();
        if let Some(first) = first_arrival_ns {
            for &cpu in &culprits {
                let arrived = s.cpu(cpu).and_then(|c| c.arrived_ns()).unwrap_or(end_ns);
                t.slices.push(Slice {
                    track: Track::Cpu(cpu),
                    start_ns: first,
                    end_ns: arrived.max(first),
                    stop: s.stop,
                    kind: SliceKind::NotArrived,
                    name: format!("#{}: CPU {cpu} not arrived, the others wait", s.stop),
                });
            }
        }
        t.instances.push(Instance {
            stop: s.stop,
            caller_cpu: s.caller.map(|c| c.cpu),
            start_ns,
            end_ns,
            running,
            first_arrival_ns,
            // What the watchdog last saw it run before it arrived (or, if
            // it never did in a running instance, last saw at all).
            culprit_task: culprits
                .first()
                .and_then(|&c| {
                    s.cpu(c).and_then(|c| c.task_before_arrival).or(if running {
                        log.last_check_pid(c)
                    } else {
                        None
                    })
                })
                .map(|pid| Task(dump, pid).to_string()),
            culprits,
            longest_wait: s.longest_prepare(now_ns),
            line,
            func,
        });
    }
    t.slices
        .sort_by_key(|s| (s.stop, s.track, s.start_ns, s.kind == SliceKind::NotArrived));
    // Without the kernel log, the reports are inferred as the kernel makes
    // them (kernel/watchdog.c): it counts in `running_clock() >> 30` units
    // (about 1.07 s) on printk's clock, and reports a CPU when more than
    // the threshold's whole seconds have passed since its last touch or
    // its last report (`update_report_ts()`).
    let printk = |ns: u64| (ns + header.printk_ns).saturating_sub(header.now_ns);
    let mut last_report: Vec<Option<u64>> = vec![None; usize::from(header.cpus)];
    for r in &dump.records {
        let threshold = t
            .thresholds_ns
            .get(usize::from(r.cpu))
            .copied()
            .unwrap_or(u64::MAX);
        let (kind, name, args) = match r.event {
            Event::Touch { source, caller } => (
                Mark::Touch,
                format!("touch ({})", source.name()),
                vec![("caller", Sym(dump, caller).to_string())],
            ),
            Event::WatchdogCheck {
                touch_age_ns: Some(touch_age_ns),
            } => {
                let args = vec![("touch_age_ms", format!("{:.3}", touch_age_ns as f64 / 1e6))];
                let touched_ns = r.ts_ns.saturating_sub(touch_age_ns);
                let reported = last_report.get_mut(usize::from(r.cpu));
                let since = match reported.as_deref() {
                    Some(&Some(last)) => last.max(touched_ns),
                    _ => touched_ns,
                };
                let thresh_s = threshold.saturating_add(500_000_000) / 1_000_000_000;
                let due = (printk(r.ts_ns) >> 30).saturating_sub(printk(since) >> 30) > thresh_s;
                if due {
                    if let Some(slot) = reported {
                        *slot = Some(r.ts_ns);
                    }
                    if dmesg.is_some() {
                        // The kernel's own lines say when it reported.
                        (
                            Mark::Check,
                            "watchdog check, past the threshold".to_string(),
                            args,
                        )
                    } else {
                        (
                            Mark::Report,
                            "BUG: soft lockup (a watchdog check past the threshold)".to_string(),
                            args,
                        )
                    }
                } else {
                    (Mark::Check, "watchdog check".to_string(), args)
                }
            }
            Event::EarlyWarning {
                stop,
                culprit,
                waited_ns,
            } => (
                Mark::Warning,
                match culprit {
                    Some(cpu) => format!("#{stop} early warning: CPU {cpu} has not arrived"),
                    None => format!("#{stop} early warning: no CPU found not arrived"),
                },
                vec![("waited_ms", format!("{:.3}", waited_ns as f64 / 1e6))],
            ),
            _ => continue,
        };
        t.instants.push(Instant {
            track: Track::Cpu(r.cpu),
            ts_ns: r.ts_ns,
            kind,
            name,
            args,
        });
    }
    // The kernel's reports, moved from printk's clock to the records'.
    let origin_ns = t.origin_ns;
    for line in dmesg.into_iter().flat_map(str::lines) {
        let Some(SoftLockup {
            at: Some(Stamp(printk_ns)),
            cpu,
            text: what,
            ..
        }) = SoftLockup::parse(line)
        else {
            continue;
        };
        let Some(ts_ns) = printk_ns
            .checked_add(header.now_ns)
            .and_then(|t| t.checked_sub(header.printk_ns))
            // (Older than the first record: nothing to place it among.)
            .filter(|&ts| ts >= origin_ns)
        else {
            continue;
        };
        t.instants.push(Instant {
            track: Track::Cpu(cpu),
            ts_ns,
            kind: Mark::Report,
            name: what.to_string(),
            args: vec![("dmesg", line.trim().to_string())],
        });
    }
    t.instants.sort_by_key(|i| i.ts_ns);
    Ok(t)
}

/// An address as the dump names it.
struct Sym<'a>(&'a Dump, u64);

impl core::fmt::Display for Sym<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use crate::logic::text::Names;
        self.0.symbol(f, self.1)
    }
}

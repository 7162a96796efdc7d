// SPDX-License-Identifier: GPL-2.0

//! One instance, summed up: its caller, its CPUs, how it ended, its
//! warnings, and who everyone waited for (the culprit rule).

use super::{BlockedIn, CpuInStop};
use crate::logic::{sort, Alloc, List, NoMemory};
use core::cmp::Reverse;

/// Who called `stop_machine()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Caller {
    /// Its pid.
    pub(crate) pid: u32,
    /// The CPU it called from.
    pub(crate) cpu: u16,
}

/// How a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ended {
    /// When `stop_machine_cpuslocked()` returned.
    pub(crate) ts_ns: u64,
    /// What it returned.
    pub(crate) ret: i32,
}

/// An early-warning record of an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Warning {
    /// When.
    pub(crate) ts_ns: u64,
    /// The CPU that warned.
    pub(crate) cpu: u16,
    /// The CPU it named (`None`: none found).
    pub(crate) culprit: Option<u32>,
}

/// A wait in PREPARE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Wait {
    /// The CPU that waited.
    pub(crate) cpu: u16,
    /// For how long.
    pub(crate) ns: u64,
}

/// One `stop_machine()` call as the records tell it.
pub(crate) struct StopSummary<A: Alloc> {
    /// Instance id.
    pub(crate) stop: u32,
    /// Its caller, from the begin record (if still recorded).
    pub(crate) caller: Option<Caller>,
    /// Address of `fn`.
    pub(crate) func: u64,
    /// CPUs expected to arrive (online CPUs at the call; 0 if unknown).
    pub(crate) nr_cpus: u16,
    /// CPUs in the active mask (0: any one CPU).
    pub(crate) nr_active: u16,
    /// Begin time, if the begin record is still there.
    pub(crate) begin_ns: Option<u64>,
    /// How it ended, once it returned.
    pub(crate) end: Option<Ended>,
    /// No end record, and the live state says it is not running: it
    /// ended, but its end record is gone (the ring wrapped, or recording
    /// was off when it returned).
    pub(crate) end_lost: bool,
    /// Each CPU seen in it, in order of first appearance.
    pub(crate) cpus: A::List<CpuInStop>,
    /// Its early-warning records.
    pub(crate) warnings: A::List<Warning>,
}

/// When an instance has someone to blame, and how late is late.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Blame {
    /// Some CPU must have waited this long in PREPARE (the early warning's
    /// threshold): an instance nobody waited this long in is an ordinary
    /// call, with no culprit.
    pub(crate) wait_ns: u64,
    /// A CPU that arrived more than this after the first arrival held the
    /// others up.
    pub(crate) margin_ns: u64,
}

impl Blame {
    /// The rule for a warning threshold of `wait_ns`: late is a tenth of
    /// it after the first arrival.
    pub(crate) fn at(wait_ns: u64) -> Self {
        Self {
            wait_ns,
            margin_ns: wait_ns / 10,
        }
    }

    /// The rule for CPUs with these soft-lockup thresholds and the early
    /// warning at `warn_percent` of them: the warning's threshold, of the
    /// CPU that reports first.
    pub(crate) fn of(thresholds_ns: impl Iterator<Item = u64>, warn_percent: u32) -> Self {
        let lockup = thresholds_ns.min().unwrap_or(0);
        Self::at(lockup / 100 * u64::from(warn_percent))
    }
}

/// Whether instance id `stop` was handed out after `last` (ids grow; one
/// that wrapped around counts as old).
pub(crate) fn id_after(stop: u32, last: u32) -> bool {
    stop > last && stop - last < u32::MAX / 2
}

/// A CPU the others waited for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Late {
    /// The CPU.
    pub(crate) cpu: u16,
    /// Its arrival (or, if it has not arrived, now) minus the first
    /// arrival.
    pub(crate) lag_ns: u64,
    /// Whether it has arrived.
    pub(crate) arrived: bool,
    /// It was late because its stopper was busy in another
    /// `multi_cpu_stop()` (it arrived within the margin of leaving it, or
    /// is still in it): that call, which waits for CPUs of its own.
    pub(crate) blocked_in: Option<BlockedIn>,
}

impl Late {
    /// Where it comes in the list of culprits ([`BlameOrder`]).
    pub(crate) fn order(&self) -> BlameOrder {
        BlameOrder::new(self.blocked_in.is_some(), self.lag_ns, self.cpu)
    }
}

/// The order in which the CPUs an instance waited for are named, by the
/// recorded rule ([`Culprit::Late`]) and the live one
/// (`crate::logic::diagnosis::LiveCpus::missing_cpus`) alike: those held up
/// by nothing but themselves first, then those blocked in another
/// `multi_cpu_stop()` (which waits for the first ones: a stopper runs one
/// call at a time, so the chain ends at a CPU whose stopper cannot run);
/// each group most late first, the lowest CPU among equals. Smaller comes
/// first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct BlameOrder {
    /// Blocked in another call (the second group).
    blocked: bool,
    /// Most late first.
    lag_ns: Reverse<u64>,
    /// Lowest first.
    cpu: u16,
}

impl BlameOrder {
    /// The place of `cpu`, `lag_ns` late, `blocked` or not.
    pub(crate) fn new(blocked: bool, lag_ns: u64, cpu: u16) -> Self {
        Self {
            blocked,
            lag_ns: Reverse(lag_ns),
            cpu,
        }
    }
}

/// Who held an instance up.
pub(crate) enum Culprit<A: Alloc> {
    /// Running with no CPU arrived: its caller waits for `stop_cpus_mutex`
    /// behind the instance in flight ([`StopLog::queued_behind`]).
    Queued,
    /// Nobody waited [`Blame::wait_ns`]: an ordinary call.
    Ordinary,
    /// The CPUs the others waited for: every CPU that arrived more than
    /// [`Blame::margin_ns`] after the first arrival and, while the
    /// instance runs, every online CPU that has not arrived; in
    /// [`BlameOrder`].
    Late(A::List<Late>),
    /// Not enough records to tell (no arrival recorded, or a long wait
    /// with nobody late).
    Unknown,
}

impl<A: Alloc> StopSummary<A> {
    /// An instance nothing is known of yet.
    pub(super) fn new(stop: u32) -> Self {
        Self {
            stop,
            caller: None,
            func: 0,
            nr_cpus: 0,
            nr_active: 0,
            begin_ns: None,
            end: None,
            end_lost: false,
            cpus: List::empty(),
            warnings: List::empty(),
        }
    }

    /// The entry for `cpu`, created if new.
    pub(super) fn cpu_mut(&mut self, cpu: u16) -> Result<&mut CpuInStop, NoMemory> {
        let i = match self.cpus.iter().position(|c| c.cpu == cpu) {
            Some(i) => i,
            None => {
                self.cpus.try_push(CpuInStop::new(cpu))?;
                self.cpus.len() - 1
            }
        };
        Ok(&mut self.cpus[i])
    }

    /// The entry for `cpu`, if seen.
    pub(crate) fn cpu(&self, cpu: u16) -> Option<&CpuInStop> {
        self.cpus.iter().find(|c| c.cpu == cpu)
    }

    /// Start of the instance: when its stoppers were queued, which is when
    /// the first of them arrived (microseconds later); before any has, the
    /// begin record. A caller queued behind another instance on
    /// `stop_cpus_mutex` begins long before its stoppers are queued.
    pub(crate) fn start_ns(&self) -> Option<u64> {
        self.first_arrival_ns().or(self.begin_ns)
    }

    /// The first arrival, if any.
    pub(crate) fn first_arrival_ns(&self) -> Option<u64> {
        self.cpus.iter().filter_map(CpuInStop::arrived_ns).min()
    }

    /// How long the caller waited for its stoppers to be queued (for
    /// `stop_cpus_mutex`, behind other instances): from the begin record
    /// to the first arrival.
    pub(crate) fn queued_ns(&self) -> Option<u64> {
        Some(self.first_arrival_ns()?.saturating_sub(self.begin_ns?))
    }

    /// Longest PREPARE wait of any CPU (up to `now_ns` for ongoing waits);
    /// the lowest CPU among equals.
    pub(crate) fn longest_prepare(&self, now_ns: u64) -> Option<Wait> {
        self.cpus
            .iter()
            .filter_map(|c| {
                Some(Wait {
                    cpu: c.cpu,
                    ns: c.prepare_wait_ns(now_ns)?,
                })
            })
            .max_by_key(|w| (w.ns, u16::MAX - w.cpu))
    }

    /// The CPUs that arrived, with their arrival times, earliest first.
    pub(crate) fn arrivals(&self) -> Result<A::List<Arrival>, NoMemory> {
        let mut times: A::List<Arrival> = List::empty();
        for c in self.cpus.iter() {
            if let Some(ts_ns) = c.arrived_ns() {
                times.try_push(Arrival { ts_ns, cpu: c.cpu })?;
            }
        }
        sort::sort(&mut times);
        Ok(times)
    }

    /// Whether the instance is still running: no end record, not known to
    /// have ended, and not every CPU it expects has arrived.
    pub(crate) fn running(&self) -> bool {
        let arrived = self
            .cpus
            .iter()
            .filter(|c| c.arrived_ns().is_some())
            .count();
        let expected = usize::from(self.nr_cpus);
        self.end.is_none() && !self.end_lost && (expected == 0 || arrived < expected)
    }

    /// Who held it up, by `blame`'s rule, at `now_ns`. `online` lists the
    /// CPUs that should take part while it runs.
    pub(crate) fn culprit(
        &self,
        online: &[u16],
        now_ns: u64,
        blame: Blame,
    ) -> Result<Culprit<A>, NoMemory> {
        let Some(first) = self.first_arrival_ns() else {
            return Ok(if self.running() && self.begin_ns.is_some() {
                Culprit::Queued
            } else {
                Culprit::Unknown
            });
        };
        match self.longest_prepare(now_ns) {
            Some(w) if w.ns >= blame.wait_ns => {}
            _ => return Ok(Culprit::Ordinary),
        }
        // Blocked if it spent more than the margin in the other call while
        // this one waited (the CPU the other call waited for passes
        // through it in no time) and arrived (or it is now) within the
        // margin of leaving it, or is still there.
        let blocked = |c: Option<&CpuInStop>, t: u64| {
            c.and_then(|c| c.blocked_in).filter(|b| {
                let left = b.until_ns.unwrap_or(t);
                left.saturating_sub(b.other.since_ns.max(first)) > blame.margin_ns
                    && t.saturating_sub(left) <= blame.margin_ns
            })
        };
        let mut late: A::List<Late> = List::empty();
        for c in self.cpus.iter() {
            if let Some(t) = c.arrived_ns() {
                if t.saturating_sub(first) > blame.margin_ns {
                    late.try_push(Late {
                        cpu: c.cpu,
                        lag_ns: t - first,
                        arrived: true,
                        blocked_in: blocked(Some(c), t),
                    })?;
                }
            }
        }
        if self.running() {
            for &cpu in online {
                let c = self.cpu(cpu);
                if c.and_then(CpuInStop::arrived_ns).is_none() {
                    late.try_push(Late {
                        cpu,
                        lag_ns: now_ns.saturating_sub(first),
                        arrived: false,
                        blocked_in: blocked(c, now_ns),
                    })?;
                }
            }
        }
        if late.is_empty() {
            return Ok(Culprit::Unknown);
        }
        sort::sort_by_key(&mut late, Late::order);
        Ok(Culprit::Late(late))
    }
}

/// A CPU's arrival in an instance; orders by time, then CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Arrival {
    /// When it arrived.
    pub(crate) ts_ns: u64,
    /// The CPU.
    pub(crate) cpu: u16,
}

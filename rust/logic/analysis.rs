// SPDX-License-Identifier: GPL-2.0

//! Explaining `stop_machine` instances from the records: who arrived when,
//! who waited in PREPARE and for how long, and who everyone waited for.
//!
//! Pure logic over a time-ordered stream of [`Record`]s; the `stops` file
//! and the culprit tests use the same code.

use super::{
    record::{Event, Record, StopState},
    sort, Alloc, List, NoMemory,
};

/// How many instances a [`StopLog`] keeps (the newest).
pub(crate) const KEPT_STOPS: usize = 32;
/// How many distinct touch callers a CPU keeps per instance.
pub(crate) const TOUCH_CALLERS: usize = 4;

/// Recorded watchdog touches from one caller.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CallerTouches {
    /// Return address into the code that touched.
    pub(crate) caller: u64,
    /// Touches recorded from it (0: an unused entry).
    pub(crate) count: u32,
}

/// Who touched a CPU's watchdog, by caller: the first [`TOUCH_CALLERS`]
/// distinct callers, and a count of touches from any other.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TouchCallers {
    /// Distinct callers in order of first touch; unused entries have a
    /// count of 0 and come last.
    pub(crate) top: [CallerTouches; TOUCH_CALLERS],
    /// Touches from callers that did not fit in `top`.
    pub(crate) other: u32,
}

impl TouchCallers {
    /// Counts a touch from `caller`.
    fn add(&mut self, caller: u64) {
        for entry in self.top.iter_mut() {
            if entry.count == 0 {
                *entry = CallerTouches { caller, count: 1 };
                return;
            }
            if entry.caller == caller {
                entry.count += 1;
                return;
            }
        }
        self.other += 1;
    }

    /// The callers seen, most touches first (first seen among equals).
    pub(crate) fn by_count(&self) -> [CallerTouches; TOUCH_CALLERS] {
        let mut sorted = self.top;
        // An insertion sort: stable (ties keep the order of first touch),
        // and `core` has no stable sort.
        for i in 1..sorted.len() {
            let mut j = i;
            while j > 0 && sorted[j - 1].count < sorted[j].count {
                sorted.swap(j - 1, j);
                j -= 1;
            }
        }
        sorted
    }
}

/// What one CPU did in one instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CpuInStop {
    /// The CPU.
    pub(crate) cpu: u16,
    /// When it first saw each state, indexed by [`StopState`] (`None` is
    /// arrival, `Exit` is leaving).
    pub(crate) state_ns: [Option<u64>; 5],
    /// Watchdog touches on this CPU after the call began and before it
    /// arrived.
    pub(crate) touches_before_arrival: u32,
    /// Watchdog touches or watchdog work on this CPU while it waited in
    /// PREPARE.
    pub(crate) touches_waiting: u32,
    /// When the first of those came.
    pub(crate) first_touch_waiting_ns: Option<u64>,
    /// Who made the touches before it arrived.
    pub(crate) touch_callers: TouchCallers,
    /// Pid of the task the watchdog last saw on this CPU before it arrived
    /// (`None` if no check was recorded).
    pub(crate) task_before_arrival: Option<u32>,
    /// Before it arrived, its stopper was busy in another
    /// `multi_cpu_stop()` (a nested stop): this one.
    pub(crate) blocked_in: Option<BlockedIn>,
}

/// A `multi_cpu_stop()` call that no `stop_machine()` started
/// ([`Event::OtherStop`]), as one CPU's stopper is in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OtherStop {
    /// Its key.
    pub(crate) key: u32,
    /// Its `fn` (0: unknown).
    pub(crate) func: u64,
    /// Its `num_threads` (0: unknown).
    pub(crate) threads: u16,
    /// When this CPU's stopper entered it.
    pub(crate) since_ns: u64,
}

/// The other `multi_cpu_stop()` a CPU's stopper was busy in while an
/// instance waited for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BlockedIn {
    /// That call.
    pub(crate) other: OtherStop,
    /// When the CPU left it (`None`: not seen to leave).
    pub(crate) until_ns: Option<u64>,
}

impl CpuInStop {
    /// A CPU nothing is known of yet.
    fn new(cpu: u16) -> Self {
        Self {
            cpu,
            ..Default::default()
        }
    }

    /// Arrival time.
    pub(crate) fn arrived_ns(&self) -> Option<u64> {
        self.state_ns[StopState::None as usize]
    }

    /// When it began waiting in PREPARE.
    fn prepare_ns(&self) -> Option<u64> {
        self.state_ns[StopState::Prepare as usize].or(self.arrived_ns())
    }

    /// When it stopped waiting in PREPARE, if it has.
    fn prepare_end_ns(&self) -> Option<u64> {
        self.state_ns[StopState::DisableIrq as usize]
            .or(self.state_ns[StopState::Run as usize])
            .or(self.state_ns[StopState::Exit as usize])
    }

    /// How long it waited in PREPARE, up to `now_ns` if still waiting.
    pub(crate) fn prepare_wait_ns(&self, now_ns: u64) -> Option<u64> {
        let start = self.prepare_ns()?;
        let end = self.prepare_end_ns().unwrap_or(now_ns);
        Some(end.saturating_sub(start))
    }

    /// How long its watchdog went untouched while it waited in PREPARE:
    /// from the start of the wait to the first touch (or watchdog work)
    /// during it, or the whole wait (up to `now_ns`) if there was none. A
    /// waiting CPU untouched for the lockup threshold is one the kernel
    /// reports.
    pub(crate) fn untouched_wait_ns(&self, now_ns: u64) -> Option<u64> {
        let start = self.prepare_ns()?;
        let end = self
            .first_touch_waiting_ns
            .or(self.prepare_end_ns())
            .unwrap_or(now_ns);
        Some(end.saturating_sub(start))
    }

    /// Whether it is still in PREPARE (arrived, not moved on).
    fn waiting(&self) -> bool {
        self.arrived_ns().is_some()
            && self.state_ns[StopState::DisableIrq as usize..]
                .iter()
                .all(Option::is_none)
    }
}

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
    /// The CPU it named ([`u32::MAX`]: none found).
    pub(crate) culprit: u32,
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

/// Who held an instance up.
pub(crate) enum Culprit<A: Alloc> {
    /// Running with no CPU arrived: its caller waits for `stop_cpus_mutex`
    /// behind the instance in flight ([`StopLog::queued_behind`]).
    Queued,
    /// Nobody waited [`Blame::wait_ns`]: an ordinary call.
    Ordinary,
    /// The CPUs the others waited for: every CPU that arrived more than
    /// [`Blame::margin_ns`] after the first arrival and, while the
    /// instance runs, every online CPU that has not arrived. Those held up
    /// by nothing but themselves come first, then those blocked in another
    /// `multi_cpu_stop()` (which waits for the first ones: a stopper runs
    /// one call at a time, so the chain ends at a CPU whose stopper cannot
    /// run); each group most late first, the lowest CPU among equals.
    Late(A::List<Late>),
    /// Not enough records to tell (no arrival recorded, or a long wait
    /// with nobody late).
    Unknown,
}

impl<A: Alloc> StopSummary<A> {
    /// An instance nothing is known of yet.
    fn new(stop: u32) -> Self {
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
    fn cpu_mut(&mut self, cpu: u16) -> Result<&mut CpuInStop, NoMemory> {
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
        sort::sort_by_key(&mut late, |l| {
            (l.blocked_in.is_some(), u64::MAX - l.lag_ns, l.cpu)
        });
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

/// Builds [`StopSummary`]s from records fed in time order.
pub(crate) struct StopLog<A: Alloc> {
    /// The newest [`KEPT_STOPS`] instances, oldest first.
    pub(crate) stops: A::List<StopSummary<A>>,
    /// Per CPU (by index): pid at the last watchdog check.
    last_check_pid: A::List<Option<u32>>,
    /// Per CPU (by index): the other `multi_cpu_stop()` its stopper is in.
    in_other: A::List<Option<OtherStop>>,
}

impl<A: Alloc> StopLog<A> {
    /// An empty log.
    pub(crate) fn new() -> Self {
        Self {
            stops: List::empty(),
            last_check_pid: List::empty(),
            in_other: List::empty(),
        }
    }

    /// The log of `records`, fed in order (the tests; the kernel feeds
    /// records as it reads them from the rings).
    #[cfg(test)]
    pub(crate) fn from_records(records: &[Record]) -> Result<Self, NoMemory> {
        let mut log = Self::new();
        for rec in records {
            log.feed(rec)?;
        }
        Ok(log)
    }

    /// The instance `stop` waits behind, if it is queued (running, no CPU
    /// arrived): the running instance whose stoppers have arrived, the
    /// one that holds `stop_cpus_mutex`.
    pub(crate) fn queued_behind(&self, stop: u32) -> Option<u32> {
        let s = self.stops.iter().find(|s| s.stop == stop)?;
        if !s.running() || s.first_arrival_ns().is_some() {
            return None;
        }
        self.stops
            .iter()
            .find(|o| o.stop != stop && o.running() && o.first_arrival_ns().is_some())
            .map(|o| o.stop)
    }

    /// Marks every instance without an end record that `running` says has
    /// returned as ended with its end record lost (see
    /// [`StopSummary::end_lost`]).
    pub(crate) fn confirm_running(&mut self, running: impl Fn(u32) -> bool) {
        for s in self.stops.iter_mut() {
            if s.end.is_none() && !running(s.stop) {
                s.end_lost = true;
            }
        }
    }

    /// The summary of instance `stop`, created (replacing the oldest beyond
    /// [`KEPT_STOPS`]) if new.
    fn stop_mut(&mut self, stop: u32) -> Result<&mut StopSummary<A>, NoMemory> {
        if let Some(i) = self.stops.iter().position(|s| s.stop == stop) {
            return Ok(&mut self.stops[i]);
        }
        if self.stops.len() == KEPT_STOPS {
            self.stops.rotate_left(1);
            self.stops[KEPT_STOPS - 1] = StopSummary::new(stop);
        } else {
            self.stops.try_push(StopSummary::new(stop))?;
        }
        let last = self.stops.len() - 1;
        Ok(&mut self.stops[last])
    }

    /// Remembers the pid the watchdog saw on `cpu`.
    fn note_check(&mut self, cpu: u16, pid: u32) -> Result<(), NoMemory> {
        let i = usize::from(cpu);
        while self.last_check_pid.len() <= i {
            self.last_check_pid.try_push(None)?;
        }
        self.last_check_pid[i] = Some(pid);
        Ok(())
    }

    /// Notes that `cpu`'s stopper is in `other` (`None`: left it at
    /// `ts`), and marks it blocked in every instance in flight that it
    /// has not arrived in.
    fn note_other(&mut self, cpu: u16, other: Option<OtherStop>, ts: u64) -> Result<(), NoMemory> {
        let i = usize::from(cpu);
        while self.in_other.len() <= i {
            self.in_other.try_push(None)?;
        }
        let left = self.in_other[i];
        self.in_other[i] = other;
        for s in self
            .stops
            .iter_mut()
            .filter(|s| s.end.is_none() && !s.end_lost)
        {
            match s.first_arrival_ns() {
                Some(first) if first <= ts => {}
                _ => continue,
            }
            if s.cpu(cpu).and_then(CpuInStop::arrived_ns).is_some() {
                continue;
            }
            let c = s.cpu_mut(cpu)?;
            match (other, &mut c.blocked_in) {
                (Some(other), b @ None) => {
                    *b = Some(BlockedIn {
                        other,
                        until_ns: None,
                    })
                }
                (None, Some(b)) if Some(b.other) == left && b.until_ns.is_none() => {
                    b.until_ns = Some(ts)
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// At the first arrival in `stop`: every CPU whose stopper is in
    /// another `multi_cpu_stop()` is blocked in it.
    fn note_blocked_at_start(&mut self, stop: u32) -> Result<(), NoMemory> {
        let Some(i) = self.stops.iter().position(|s| s.stop == stop) else {
            return Ok(());
        };
        for (cpu, other) in self.in_other.iter().enumerate() {
            let Some(other) = *other else {
                continue;
            };
            let c = self.stops[i].cpu_mut(cpu as u16)?;
            if c.arrived_ns().is_none() && c.blocked_in.is_none() {
                c.blocked_in = Some(BlockedIn {
                    other,
                    until_ns: None,
                });
            }
        }
        Ok(())
    }

    /// Pid the watchdog last saw on `cpu`, if any check was recorded.
    pub(crate) fn last_check_pid(&self, cpu: u16) -> Option<u32> {
        self.last_check_pid.get(usize::from(cpu)).copied().flatten()
    }

    /// Counts a touch (from `caller`) or watchdog work (`None`) on `cpu`
    /// at `ts` against every instance in flight.
    fn note_touch(&mut self, cpu: u16, ts: u64, caller: Option<u64>) -> Result<(), NoMemory> {
        for s in self.stops.iter_mut().filter(|s| s.end.is_none()) {
            match s.start_ns() {
                Some(begin) if ts >= begin => {}
                _ => continue,
            }
            match s.cpus.iter().position(|c| c.cpu == cpu) {
                Some(i) => {
                    let c = &mut s.cpus[i];
                    if c.waiting() {
                        c.touches_waiting += 1;
                        c.first_touch_waiting_ns.get_or_insert(ts);
                    } else if c.arrived_ns().is_none() {
                        c.touches_before_arrival += 1;
                        if let Some(caller) = caller {
                            c.touch_callers.add(caller);
                        }
                    }
                }
                // Not arrived yet: remember it without an arrival time.
                None => {
                    let mut c = CpuInStop {
                        touches_before_arrival: 1,
                        ..CpuInStop::new(cpu)
                    };
                    if let Some(caller) = caller {
                        c.touch_callers.add(caller);
                    }
                    s.cpus.try_push(c)?;
                }
            }
        }
        Ok(())
    }

    /// Feeds the next record (records must come in time order).
    pub(crate) fn feed(&mut self, rec: &Record) -> Result<(), NoMemory> {
        match rec.event {
            Event::Touch { caller, .. } => self.note_touch(rec.cpu, rec.ts_ns, Some(caller))?,
            Event::WatchdogWork => self.note_touch(rec.cpu, rec.ts_ns, None)?,
            Event::WatchdogCheck { .. } => self.note_check(rec.cpu, rec.pid)?,
            Event::StopBegin {
                stop,
                nr_cpus,
                nr_active,
                func,
            } => {
                let s = self.stop_mut(stop)?;
                s.caller = Some(Caller {
                    pid: rec.pid,
                    cpu: rec.cpu,
                });
                s.func = func;
                s.nr_cpus = nr_cpus;
                s.nr_active = nr_active;
                s.begin_ns = Some(rec.ts_ns);
            }
            Event::StopEnd { stop, ret, .. } => {
                self.stop_mut(stop)?.end = Some(Ended {
                    ts_ns: rec.ts_ns,
                    ret,
                });
            }
            Event::CpuState { stop: 0, .. } => {}
            Event::CpuState { stop, state } => {
                let task = self.last_check_pid(rec.cpu);
                let s = self.stop_mut(stop)?;
                let first = state == StopState::None && s.first_arrival_ns().is_none();
                let c = s.cpu_mut(rec.cpu)?;
                let slot = &mut c.state_ns[state as usize];
                // A PREPARE record (the recorder before 2026-12 wrote one a
                // spin after each arrival) dates PREPARE over the arrival.
                if slot.is_none() || state == StopState::Prepare {
                    *slot = Some(rec.ts_ns);
                }
                if state == StopState::None {
                    c.task_before_arrival = task;
                    // The recorder writes no PREPARE record for a CPU that
                    // arrives in PREPARE (they all do): it waits from here.
                    c.state_ns[StopState::Prepare as usize].get_or_insert(rec.ts_ns);
                }
                if first {
                    self.note_blocked_at_start(stop)?;
                }
            }
            Event::OtherStop { key, threads, func } => {
                let other = OtherStop {
                    key,
                    func,
                    threads,
                    since_ns: rec.ts_ns,
                };
                self.note_other(rec.cpu, Some(other), rec.ts_ns)?;
            }
            Event::OtherState {
                state: StopState::Exit,
                ..
            } => self.note_other(rec.cpu, None, rec.ts_ns)?,
            Event::OtherState { .. } => {}
            Event::EarlyWarning { stop, culprit, .. } => {
                self.stop_mut(stop)?.warnings.try_push(Warning {
                    ts_ns: rec.ts_ns,
                    cpu: rec.cpu,
                    culprit,
                })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        logic::{diagnosis::LiveCpus, live::CpuLive, record::TouchSource},
        testing::{rec, MS},
        Bounded, Host,
    };
    use alloc::vec::Vec;
    use core::sync::atomic::Ordering::Relaxed;

    fn state(ts_ms: u64, cpu: u16, stop: u32, state: StopState) -> Record {
        rec(
            ts_ms,
            cpu,
            10 + u32::from(cpu),
            Event::CpuState { stop, state },
        )
    }

    fn touch(ts_ms: u64, cpu: u16) -> Record {
        rec(
            ts_ms,
            cpu,
            91,
            Event::Touch {
                source: TouchSource::Plain,
                caller: 0xffff_ffff_8100_0000,
            },
        )
    }

    fn begin(ts_ms: u64, stop: u32, nr_cpus: u16) -> Record {
        crate::testing::begin(ts_ms, stop, nr_cpus, 0xffff_ffff_a000_0000)
    }

    /// The seed's incident: 4 CPUs, CPU 2 runs a hog (pid 91) that touches
    /// its own watchdog; stop 12 from pid 87 on CPU 0 waits for it.
    fn incident() -> Vec<Record> {
        let mut seq = Vec::new();
        seq.push(rec(0, 2, 91, Event::WatchdogCheck { touch_age_ns: 0 }));
        seq.push(begin(10, 12, 4));
        for cpu in [0u16, 1, 3] {
            seq.push(state(11 + u64::from(cpu), cpu, 12, StopState::None));
            seq.push(state(12 + u64::from(cpu), cpu, 12, StopState::Prepare));
        }
        seq.extend((1..50).map(|i| touch(100 * i, 2)));
        seq.push(state(5100, 2, 12, StopState::None));
        seq.push(state(5100, 2, 12, StopState::Prepare));
        for s in [StopState::DisableIrq, StopState::Run, StopState::Exit] {
            for cpu in 0u16..4 {
                seq.push(state(5101 + s as u64, cpu, 12, s));
            }
        }
        seq.push(rec(
            5110,
            0,
            87,
            Event::StopEnd {
                stop: 12,
                ret: 0,
                duration_ns: 5100 * MS,
            },
        ));
        seq
    }

    fn log_upto(records: &[Record], upto_ms: u64) -> StopLog<Host> {
        let mut log = StopLog::new();
        for r in records.iter().filter(|r| r.ts_ns <= upto_ms * MS) {
            log.feed(r).unwrap();
        }
        log
    }

    #[test]
    fn finished_incident_blames_last_arrival() {
        let log = log_upto(&incident(), u64::MAX / MS);
        assert_eq!(log.stops.len(), 1);
        let s = &log.stops[0];
        assert_eq!(s.stop, 12);
        assert_eq!(s.caller, Some(Caller { pid: 87, cpu: 0 }));
        assert_eq!(
            s.end,
            Some(Ended {
                ts_ns: 5110 * MS,
                ret: 0
            })
        );
        // CPU 2 arrived 5089 ms after the first (CPU 0, at 11 ms).
        match s
            .culprit(&[0, 1, 2, 3], 6000 * MS, Blame::at(1000 * MS))
            .unwrap()
        {
            Culprit::Late(late) => assert_eq!(
                *late,
                [Late {
                    cpu: 2,
                    lag_ns: (5100 - 11) * MS,
                    arrived: true,
                    blocked_in: None,
                }]
            ),
            _ => panic!("expected Late"),
        }
        // With a threshold above the longest wait: an ordinary call.
        assert!(matches!(
            s.culprit(&[0, 1, 2, 3], 6000 * MS, Blame::at(6000 * MS))
                .unwrap(),
            Culprit::Ordinary
        ));
        // CPU 0 waited from 12 ms to 5103 ms.
        assert_eq!(
            s.longest_prepare(0),
            Some(Wait {
                cpu: 0,
                ns: 5091 * MS
            })
        );
        let c2 = s.cpu(2).unwrap();
        assert_eq!(c2.task_before_arrival, Some(91));
        assert_eq!(c2.touches_before_arrival, 49);
        for cpu in [0u16, 1, 3] {
            let c = s.cpu(cpu).unwrap();
            assert_eq!(c.touches_waiting, 0);
            assert_eq!(c.touches_before_arrival, 0);
            for st in StopState::ALL {
                assert!(c.state_ns[st as usize].is_some());
            }
        }
        let order: Vec<u16> = s.arrivals().unwrap().iter().map(|a| a.cpu).collect();
        assert_eq!(order, [0, 1, 3, 2]);
        assert_eq!(
            c2.touch_callers.by_count()[0],
            CallerTouches {
                caller: 0xffff_ffff_8100_0000,
                count: 49
            }
        );
    }

    #[test]
    fn touch_callers_keep_the_first_few_and_count_the_rest() {
        let mut t = TouchCallers::default();
        for caller in [1, 2, 2, 3, 4, 5, 5, 2, 6] {
            t.add(caller);
        }
        let counts: Vec<(u64, u32)> = t.by_count().iter().map(|c| (c.caller, c.count)).collect();
        assert_eq!(counts, [(2, 3), (1, 1), (3, 1), (4, 1)]);
        assert_eq!(t.other, 3);
    }

    #[test]
    fn ongoing_incident_names_missing_cpu() {
        let log = log_upto(&incident(), 3000);
        let s = &log.stops[0];
        assert_eq!(s.end, None);
        match s
            .culprit(&[0, 1, 2, 3], 3000 * MS, Blame::at(1000 * MS))
            .unwrap()
        {
            Culprit::Late(late) => assert_eq!(
                *late,
                [Late {
                    cpu: 2,
                    lag_ns: (3000 - 11) * MS,
                    arrived: false,
                    blocked_in: None,
                }]
            ),
            _ => panic!("expected Late"),
        }
        // Early on, nobody has waited the threshold yet.
        let early = log_upto(&incident(), 500);
        assert!(matches!(
            early.stops[0]
                .culprit(&[0, 1, 2, 3], 500 * MS, Blame::at(1000 * MS))
                .unwrap(),
            Culprit::Ordinary
        ));
        // Still waiting: measured up to "now".
        assert_eq!(
            s.longest_prepare(3000 * MS),
            Some(Wait {
                cpu: 0,
                ns: 2988 * MS
            })
        );
    }

    #[test]
    fn a_queued_caller_waits_behind_the_instance_in_flight() {
        // #12 is held up by CPU 2; #13 begins at 1000 ms and waits for
        // stop_cpus_mutex: no arrival of its own.
        let mut records: Vec<Record> = incident()
            .into_iter()
            .filter(|r| r.ts_ns <= 3000 * MS)
            .collect();
        records.push(begin(1000, 13, 4));
        records.sort_by_key(|r| r.ts_ns);
        let log = StopLog::<Host>::from_records(&records).unwrap();
        let queued = log.stops.iter().find(|s| s.stop == 13).unwrap();
        assert!(matches!(
            queued
                .culprit(&[0, 1, 2, 3], 3000 * MS, Blame::at(1000 * MS))
                .unwrap(),
            Culprit::Queued
        ));
        assert_eq!(log.queued_behind(13), Some(12));
        assert_eq!(log.queued_behind(12), None);
        // #12's clock starts at its first arrival (11 ms), not its begin.
        let held = log.stops.iter().find(|s| s.stop == 12).unwrap();
        assert_eq!(held.start_ns(), Some(11 * MS));
        assert_eq!(held.queued_ns(), Some(MS));
    }

    #[test]
    fn a_lost_end_is_not_a_running_instance() {
        // The incident at 3000 ms, but the live state says it returned:
        // its end record is gone. Nobody is blamed for not arriving.
        let mut log = log_upto(&incident(), 3000);
        log.confirm_running(|_| false);
        let s = &log.stops[0];
        assert!(s.end_lost && !s.running());
        assert!(matches!(
            s.culprit(&[0, 1, 2, 3], 3000 * MS, Blame::at(1000 * MS))
                .unwrap(),
            Culprit::Unknown
        ));
        // Confirmed running: CPU 2 has not arrived.
        let mut log = log_upto(&incident(), 3000);
        log.confirm_running(|stop| stop == 12);
        assert!(!log.stops[0].end_lost && log.stops[0].running());
    }

    /// A nested stop: CPU 3's stopper entered `stop_two_cpus(3, 2)`'s
    /// `multi_cpu_stop()` at `enter_ms` and waits there for CPU 2, which a
    /// hog holds until 3000 ms; stop 12 (CPUs 0 and 1 waiting from 11 ms)
    /// waits for both. CPU 2 then runs the other call, and both arrive.
    fn nested(enter_ms: u64) -> Vec<Record> {
        let other = |ts: u64, cpu: u16| {
            rec(
                ts,
                cpu,
                30,
                Event::OtherStop {
                    key: 0xab,
                    threads: 2,
                    func: 0xbeef,
                },
            )
        };
        let other_state =
            |ts: u64, cpu: u16, state| rec(ts, cpu, 30, Event::OtherState { key: 0xab, state });
        let mut v = alloc::vec![begin(10, 12, 4)];
        v.push(other(enter_ms, 3));
        v.push(other_state(enter_ms, 3, StopState::Prepare));
        for cpu in [0, 1] {
            v.push(state(11, cpu, 12, StopState::None));
            v.push(state(11, cpu, 12, StopState::Prepare));
        }
        v.push(other(3000, 2));
        v.push(other_state(3000, 2, StopState::Exit));
        v.push(other_state(3001, 3, StopState::Exit));
        for cpu in [2, 3] {
            v.push(state(3002, cpu, 12, StopState::None));
        }
        v.sort_by_key(|r| r.ts_ns);
        v
    }

    /// The culprits of stop 12 at `now_ms`: (cpu, arrived, blocked in fn).
    fn culprits(records: &[Record], now_ms: u64) -> Vec<(u16, bool, Option<u64>)> {
        let log = log_upto(records, now_ms);
        match log.stops[0]
            .culprit(&[0, 1, 2, 3], now_ms * MS, Blame::at(1000 * MS))
            .unwrap()
        {
            Culprit::Late(late) => late
                .iter()
                .map(|l| (l.cpu, l.arrived, l.blocked_in.map(|b| b.other.func)))
                .collect(),
            _ => panic!("expected Late"),
        }
    }

    #[test]
    fn a_cpu_blocked_in_a_nested_stop_comes_after_the_cpu_it_waits_for() {
        // CPU 3 entered the other call before stop 12 began, and after.
        for enter_ms in [5, 12] {
            let v = nested(enter_ms);
            // Running: CPU 2 (not arrived), then CPU 3 (blocked), though
            // CPU 3 is the lower CPU with the same lag.
            assert_eq!(
                culprits(&v, 2000),
                [(2, false, None), (3, false, Some(0xbeef))],
                "entered at {enter_ms} ms"
            );
            // Finished: the same, arrived, CPU 3 arriving right after
            // leaving the other call.
            assert_eq!(
                culprits(&v, 4000),
                [(2, true, None), (3, true, Some(0xbeef))],
                "entered at {enter_ms} ms"
            );
        }
    }

    #[test]
    fn a_cpu_that_left_a_nested_stop_long_before_arriving_is_late_itself() {
        // CPU 3 left the other call at 20 ms and arrived at 2500 ms: its
        // own lateness, not the other call's.
        let mut v: Vec<Record> = nested(5)
            .into_iter()
            .map(|mut r| {
                match (r.cpu, &r.event) {
                    (
                        3,
                        Event::OtherState {
                            state: StopState::Exit,
                            ..
                        },
                    ) => r.ts_ns = 20 * MS,
                    (3, Event::CpuState { stop: 12, .. }) => r.ts_ns = 2500 * MS,
                    _ => {}
                }
                r
            })
            .collect();
        v.sort_by_key(|r| r.ts_ns);
        assert_eq!(culprits(&v, 4000), [(2, true, None), (3, true, None)]);
    }

    #[test]
    fn quick_stop_has_no_real_wait() {
        let mut log = StopLog::<Host>::new();
        log.feed(&rec(
            0,
            1,
            5,
            Event::StopBegin {
                stop: 1,
                nr_cpus: 2,
                nr_active: 1,
                func: 1,
            },
        ))
        .unwrap();
        for st in StopState::ALL {
            log.feed(&state(1 + st as u64, 0, 1, st)).unwrap();
            log.feed(&state(1 + st as u64, 1, 1, st)).unwrap();
        }
        let s = &log.stops[0];
        assert_eq!(s.longest_prepare(100 * MS), Some(Wait { cpu: 0, ns: MS }));
        assert!(matches!(
            s.culprit(&[0, 1], 100 * MS, Blame::at(10 * MS)).unwrap(),
            Culprit::Ordinary
        ));
    }

    #[test]
    fn arrival_without_prepare_record_waits_from_arrival() {
        // What the recorder writes: an arrival, no PREPARE record, then
        // the states of the irqs-off window. CPU 1 arrives 2 s late.
        let mut log = StopLog::<Host>::new();
        log.feed(&begin(10, 1, 2)).unwrap();
        log.feed(&state(11, 0, 1, StopState::None)).unwrap();
        log.feed(&state(2011, 1, 1, StopState::None)).unwrap();
        for st in [StopState::DisableIrq, StopState::Run, StopState::Exit] {
            for cpu in [0, 1] {
                log.feed(&state(2011 + st as u64, cpu, 1, st)).unwrap();
            }
        }
        let s = &log.stops[0];
        let c0 = s.cpu(0).unwrap();
        assert_eq!(c0.state_ns[StopState::Prepare as usize], Some(11 * MS));
        assert_eq!(
            s.longest_prepare(3000 * MS),
            Some(Wait {
                cpu: 0,
                ns: (2011 + StopState::DisableIrq as u64 - 11) * MS
            })
        );
        // An old dump's PREPARE record, a spin after the arrival, wins.
        log.feed(&state(12, 0, 1, StopState::Prepare)).unwrap();
        let c0 = log.stops[0].cpu(0).unwrap();
        assert_eq!(c0.state_ns[StopState::Prepare as usize], Some(12 * MS));
    }

    #[test]
    fn keeps_only_the_newest_stops() {
        let mut log = StopLog::<Host>::new();
        for id in 1..=(KEPT_STOPS as u32 + 5) {
            log.feed(&begin(u64::from(id), id, 1)).unwrap();
        }
        assert_eq!(log.stops.len(), KEPT_STOPS);
        let ids: Vec<u32> = log.stops.iter().map(|s| s.stop).collect();
        assert_eq!(ids, (6..=KEPT_STOPS as u32 + 5).collect::<Vec<_>>());
        // The replaced summaries start afresh.
        assert!(log.stops.iter().all(|s| s.cpus.is_empty()));
    }

    #[test]
    fn non_stop_machine_states_are_ignored() {
        let mut log = StopLog::<Host>::new();
        log.feed(&state(1, 0, 0, StopState::None)).unwrap();
        assert!(log.stops.is_empty());
    }

    #[test]
    fn running_out_of_memory_is_an_error_not_a_panic() {
        // Lists of at most 2: the third CPU of the incident does not fit.
        let mut log = StopLog::<Bounded<2>>::new();
        let r = incident().iter().try_for_each(|r| log.feed(r));
        assert_eq!(r, Err(NoMemory));
    }

    /// Random instances on up to 8 CPUs, each CPU arriving at a random
    /// time, finished (everyone moves on at the last arrival) or cut off
    /// at a random time: against a model of the rule, with a warning
    /// threshold of 2 s (a 200 ms margin).
    #[test]
    fn culprit_matches_the_rule() {
        let blame = Blame::at(2000 * MS);
        let mut rng = crate::testing::Rng(0xa11c_e5ee_d000_0007);
        let (mut ordinary, mut several, mut nested) = (0, 0, 0);
        for _ in 0..2000 {
            let n = 1 + rng.below(8) as u16;
            let online: Vec<u16> = (0..n).collect();
            // Most CPUs arrive together, some late.
            let mut arrive: Vec<(u64, u16)> = online
                .iter()
                .map(|&c| {
                    let t = if rng.below(3) == 0 {
                        rng.below(6000)
                    } else {
                        rng.below(50)
                    };
                    (1 + t, c)
                })
                .collect();
            arrive.sort_unstable();
            let finished = rng.below(2) == 0;
            let now = if finished {
                20_000
            } else {
                1 + rng.below(7000)
            };
            let arrived: Vec<(u64, u16)> = arrive.iter().copied().filter(|a| a.0 <= now).collect();
            // Some CPUs not arrived by now have their stopper busy in
            // another multi_cpu_stop() since the call began (a nested
            // stop).
            let blocked: Vec<bool> = online
                .iter()
                .map(|&c| {
                    !finished && arrive.iter().any(|a| a.1 == c && a.0 > now) && rng.below(4) == 0
                })
                .collect();
            let other = OtherStop {
                key: 7,
                func: 0xbeef,
                threads: 2,
                since_ns: 0,
            };
            let mut records = Vec::new();
            records.push(begin(0, 1, n));
            for &c in online.iter().filter(|&&c| blocked[usize::from(c)]) {
                records.push(rec(
                    0,
                    c,
                    40,
                    Event::OtherStop {
                        key: other.key,
                        threads: other.threads,
                        func: other.func,
                    },
                ));
            }
            for &(t, cpu) in &arrived {
                records.push(state(t, cpu, 1, StopState::None));
            }
            let last = arrive[arrive.len() - 1].0;
            if finished {
                for &(_, cpu) in &arrive {
                    records.push(state(last, cpu, 1, StopState::DisableIrq));
                }
                records.push(rec(
                    20_000,
                    0,
                    87,
                    Event::StopEnd {
                        stop: 1,
                        ret: 0,
                        duration_ns: 0,
                    },
                ));
            }
            let log = StopLog::<Host>::from_records(&records).unwrap();
            let got = log.stops[0].culprit(&online, now * MS, blame).unwrap();

            // The model.
            let Some(first) = arrived.iter().map(|a| a.0).min() else {
                // Begun, nobody arrived: queued on stop_cpus_mutex.
                assert!(!finished && matches!(got, Culprit::Queued));
                continue;
            };
            let end = if finished { last } else { now };
            let longest = arrived.iter().map(|a| end - a.0).max().unwrap();
            if longest * MS < blame.wait_ns {
                assert!(
                    matches!(got, Culprit::Ordinary),
                    "n={n} {arrive:?} now={now}"
                );
                ordinary += 1;
                continue;
            }
            let mut want: Vec<Late> = arrived
                .iter()
                .filter(|a| (a.0 - first) * MS > blame.margin_ns)
                .map(|a| Late {
                    cpu: a.1,
                    lag_ns: (a.0 - first) * MS,
                    arrived: true,
                    blocked_in: None,
                })
                .collect();
            if !finished {
                want.extend(arrive.iter().filter(|a| a.0 > now).map(|a| {
                    Late {
                        cpu: a.1,
                        lag_ns: (now - first) * MS,
                        arrived: false,
                        blocked_in: (blocked[usize::from(a.1)]
                            && (now - first) * MS > blame.margin_ns)
                            .then_some(BlockedIn {
                                other,
                                until_ns: None,
                            }),
                    }
                }));
            }
            // Those held up by nothing but themselves first.
            want.sort_unstable_by_key(|l| (l.blocked_in.is_some(), u64::MAX - l.lag_ns, l.cpu));
            match got {
                Culprit::Late(late) => {
                    assert_eq!(*late, *want, "n={n} {arrive:?} now={now}");
                    if late.len() > 1 {
                        several += 1;
                    }
                    if late.iter().any(|l| l.blocked_in.is_some()) {
                        nested += 1;
                    }
                    // The live rule (the cpus view, the warning, the
                    // note) names the CPUs not arrived in the same order.
                    if !finished {
                        let live: Vec<CpuLive> = online.iter().map(|_| CpuLive::new()).collect();
                        for &(_, cpu) in &arrived {
                            live[usize::from(cpu)].stop_id.store(1, Relaxed);
                            live[usize::from(cpu)]
                                .stop_state
                                .store(StopState::Prepare as u32, Relaxed);
                        }
                        for (cpu, l) in live.iter().enumerate().filter(|(c, _)| blocked[*c]) {
                            assert!(l.stop().is_none(), "CPU {cpu}");
                            l.stop_func.store(other.func, Relaxed);
                            l.stop_state.store(StopState::Prepare as u32, Relaxed);
                        }
                        let cpus = LiveCpus {
                            live: &live,
                            online: |_| true,
                            now_ns: now * MS,
                        };
                        let live_order: Vec<u16> = cpus.missing_cpus(1).map(|c| c as u16).collect();
                        let recorded: Vec<u16> =
                            late.iter().filter(|l| !l.arrived).map(|l| l.cpu).collect();
                        assert_eq!(live_order, recorded, "n={n} {arrive:?} now={now}");
                    }
                }
                Culprit::Unknown => assert!(want.is_empty()),
                Culprit::Ordinary | Culprit::Queued => {
                    panic!("waited {longest} ms: {arrive:?} now={now}")
                }
            }
        }
        // The cases the rule distinguishes all occurred.
        assert!(
            ordinary > 100 && several > 100 && nested > 50,
            "{ordinary} {several} {nested}"
        );
    }
}

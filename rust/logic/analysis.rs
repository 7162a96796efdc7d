// SPDX-License-Identifier: GPL-2.0

//! Explaining `stop_machine` instances from the records: who arrived when,
//! who waited in PREPARE and for how long, and who everyone waited for.
//!
//! Pure logic over a time-ordered stream of [`Record`]s; the `stops` file
//! and the culprit tests use the same code.

mod cpu;
mod summary;
#[cfg(test)]
mod tests;

pub(crate) use cpu::{BlockedIn, CpuInStop, OtherStop};
pub(crate) use summary::{
    id_after, Blame, BlameOrder, Caller, Culprit, Ended, Late, StopSummary, Warning,
};
// The timeline's longest wait.
#[cfg(not(CONFIG_RUST))]
pub(crate) use summary::Wait;

use super::{
    record::{Event, Record, StopState},
    Alloc, List, NoMemory,
};

/// How many instances a [`StopLog`] keeps (the newest).
pub(crate) const KEPT_STOPS: usize = 32;
/// How many distinct touch callers a CPU keeps per instance.
pub(crate) const TOUCH_CALLERS: usize = 4;

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

// SPDX-License-Identifier: GPL-2.0

//! Explaining `stop_machine` instances from the records: who arrived when,
//! who waited in PREPARE and for how long, and who everyone waited for.
//!
//! Pure logic over a time-ordered stream of [`Record`]s; the `stops` file
//! and the culprit tests use the same code.

use crate::record::{Event, Record, StopState};
use kernel::prelude::*;

/// How many instances a [`StopLog`] keeps (the newest).
pub(crate) const KEPT_STOPS: usize = 32;

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
    /// Pid of the task the watchdog last saw on this CPU before it arrived
    /// (`None` if no check was recorded).
    pub(crate) task_before_arrival: Option<u32>,
}

impl CpuInStop {
    /// Arrival time.
    pub(crate) fn arrived_ns(&self) -> Option<u64> {
        self.state_ns[StopState::None as usize]
    }

    /// How long it waited in PREPARE, up to `now_ns` if still waiting.
    pub(crate) fn prepare_wait_ns(&self, now_ns: u64) -> Option<u64> {
        let start = self.state_ns[StopState::Prepare as usize].or(self.arrived_ns())?;
        let end = self.state_ns[StopState::DisableIrq as usize]
            .or(self.state_ns[StopState::Run as usize])
            .or(self.state_ns[StopState::Exit as usize])
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

/// One `stop_machine()` call as the records tell it.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct StopSummary {
    /// Instance id.
    pub(crate) stop: u32,
    /// Caller's pid and CPU, from the begin record (if still recorded).
    pub(crate) caller: Option<(u32, u16)>,
    /// Address of `fn`.
    pub(crate) func: u64,
    /// CPUs expected to arrive (online CPUs at the call; 0 if unknown).
    pub(crate) nr_cpus: u16,
    /// CPUs in the active mask (0: any one CPU).
    pub(crate) nr_active: u16,
    /// Begin time, if the begin record is still there.
    pub(crate) begin_ns: Option<u64>,
    /// End time and return value, once it returned.
    pub(crate) end: Option<(u64, i32)>,
    /// Each CPU seen in it, in order of first appearance.
    pub(crate) cpus: KVec<CpuInStop>,
    /// Early-warning records for it: (CPU that warned, culprit named).
    pub(crate) warnings: KVec<(u16, u32)>,
}

/// Who held an instance up.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Culprit {
    /// Every CPU arrived; this one came last, after everyone else waited
    /// `lag_ns` for it.
    LastArrived {
        /// The CPU.
        cpu: u16,
        /// Its arrival minus the previous arrival.
        lag_ns: u64,
    },
    /// These CPUs have not arrived (yet).
    Missing(KVec<u16>),
    /// Not enough records to tell.
    Unknown,
}

impl StopSummary {
    /// The entry for `cpu`, created if new.
    fn cpu_mut(&mut self, cpu: u16) -> Result<&mut CpuInStop> {
        if let Some(i) = self.cpus.iter().position(|c| c.cpu == cpu) {
            return Ok(&mut self.cpus[i]);
        }
        self.cpus.push(
            CpuInStop {
                cpu,
                ..Default::default()
            },
            GFP_KERNEL,
        )?;
        let last = self.cpus.len() - 1;
        Ok(&mut self.cpus[last])
    }

    /// The entry for `cpu`, if seen.
    pub(crate) fn cpu(&self, cpu: u16) -> Option<&CpuInStop> {
        self.cpus.iter().find(|c| c.cpu == cpu)
    }

    /// Start of the instance: the begin record, else the first arrival.
    pub(crate) fn start_ns(&self) -> Option<u64> {
        self.begin_ns
            .or_else(|| self.cpus.iter().filter_map(CpuInStop::arrived_ns).min())
    }

    /// Longest PREPARE wait of any CPU (up to `now_ns` for ongoing waits),
    /// with that CPU.
    pub(crate) fn longest_prepare(&self, now_ns: u64) -> Option<(u16, u64)> {
        self.cpus
            .iter()
            .filter_map(|c| Some((c.cpu, c.prepare_wait_ns(now_ns)?)))
            .max_by_key(|&(cpu, wait)| (wait, u16::MAX - cpu))
    }

    /// Who held it up. `online` lists the CPUs that should take part when
    /// the records cannot say (the instance is still running).
    pub(crate) fn culprit(&self, online: &[u16]) -> Result<Culprit> {
        let arrived = self
            .cpus
            .iter()
            .filter(|c| c.arrived_ns().is_some())
            .count();
        let expected = usize::from(self.nr_cpus);
        if self.end.is_none() && (expected == 0 || arrived < expected) {
            let mut missing = KVec::new();
            for &cpu in online {
                if self.cpu(cpu).and_then(CpuInStop::arrived_ns).is_none() {
                    missing.push(cpu, GFP_KERNEL)?;
                }
            }
            if !missing.is_empty() {
                return Ok(Culprit::Missing(missing));
            }
        }
        let mut times: KVec<(u64, u16)> = KVec::new();
        for c in self.cpus.iter() {
            if let Some(t) = c.arrived_ns() {
                times.push((t, c.cpu), GFP_KERNEL)?;
            }
        }
        times.sort_unstable();
        match times.len() {
            0 => Ok(Culprit::Unknown),
            1 => Ok(Culprit::LastArrived {
                cpu: times[0].1,
                lag_ns: 0,
            }),
            n => Ok(Culprit::LastArrived {
                cpu: times[n - 1].1,
                lag_ns: times[n - 1].0 - times[n - 2].0,
            }),
        }
    }
}

/// Builds [`StopSummary`]s from records fed in time order.
pub(crate) struct StopLog {
    /// The newest [`KEPT_STOPS`] instances, oldest first.
    pub(crate) stops: KVec<StopSummary>,
    /// Per CPU (by index): pid at the last watchdog check.
    last_check_pid: KVec<Option<u32>>,
}

impl StopLog {
    /// An empty log.
    pub(crate) fn new() -> Self {
        Self {
            stops: KVec::new(),
            last_check_pid: KVec::new(),
        }
    }

    /// The log of `records`, fed in order.
    pub(crate) fn from_records(records: &[Record]) -> Result<Self> {
        let mut log = Self::new();
        for rec in records {
            log.feed(rec)?;
        }
        Ok(log)
    }

    /// The summary of instance `stop`, created (dropping the oldest beyond
    /// [`KEPT_STOPS`]) if new.
    fn stop_mut(&mut self, stop: u32) -> Result<&mut StopSummary> {
        if let Some(i) = self.stops.iter().position(|s| s.stop == stop) {
            return Ok(&mut self.stops[i]);
        }
        if self.stops.len() == KEPT_STOPS {
            self.stops.remove(0)?;
        }
        self.stops.push(
            StopSummary {
                stop,
                ..Default::default()
            },
            GFP_KERNEL,
        )?;
        let last = self.stops.len() - 1;
        Ok(&mut self.stops[last])
    }

    /// Remembers the pid the watchdog saw on `cpu`.
    fn note_check(&mut self, cpu: u16, pid: u32) -> Result {
        let i = usize::from(cpu);
        while self.last_check_pid.len() <= i {
            self.last_check_pid.push(None, GFP_KERNEL)?;
        }
        self.last_check_pid[i] = Some(pid);
        Ok(())
    }

    /// Pid the watchdog last saw on `cpu`, if any check was recorded.
    pub(crate) fn last_check_pid(&self, cpu: u16) -> Option<u32> {
        self.last_check_pid.get(usize::from(cpu)).copied().flatten()
    }

    /// Counts a touch or watchdog work on `cpu` at `ts` against every
    /// instance in flight.
    fn note_touch(&mut self, cpu: u16, ts: u64) -> Result {
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
                    } else if c.arrived_ns().is_none() {
                        c.touches_before_arrival += 1;
                    }
                }
                // Not arrived yet: remember it without an arrival time.
                None => s.cpus.push(
                    CpuInStop {
                        cpu,
                        touches_before_arrival: 1,
                        ..Default::default()
                    },
                    GFP_KERNEL,
                )?,
            }
        }
        Ok(())
    }

    /// Feeds the next record (records must come in time order).
    pub(crate) fn feed(&mut self, rec: &Record) -> Result {
        match rec.event {
            Event::Touch { .. } | Event::WatchdogWork => self.note_touch(rec.cpu, rec.ts_ns)?,
            Event::WatchdogCheck { .. } => self.note_check(rec.cpu, rec.pid)?,
            Event::StopBegin {
                stop,
                nr_cpus,
                nr_active,
                func,
            } => {
                let s = self.stop_mut(stop)?;
                s.caller = Some((rec.pid, rec.cpu));
                s.func = func;
                s.nr_cpus = nr_cpus;
                s.nr_active = nr_active;
                s.begin_ns = Some(rec.ts_ns);
            }
            Event::StopEnd { stop, ret, .. } => {
                self.stop_mut(stop)?.end = Some((rec.ts_ns, ret));
            }
            Event::CpuState { stop: 0, .. } => {}
            Event::CpuState { stop, state } => {
                let task = self.last_check_pid(rec.cpu);
                let c = self.stop_mut(stop)?.cpu_mut(rec.cpu)?;
                let slot = &mut c.state_ns[state as usize];
                if slot.is_none() {
                    *slot = Some(rec.ts_ns);
                }
                if state == StopState::None {
                    c.task_before_arrival = task;
                }
            }
            Event::EarlyWarning { stop, culprit, .. } => {
                self.stop_mut(stop)?
                    .warnings
                    .push((rec.cpu, culprit), GFP_KERNEL)?;
            }
        }
        Ok(())
    }
}

#[kunit_tests(stopwatch_analysis)]
mod tests {
    use super::*;
    use crate::record::TouchSource;

    const MS: u64 = 1_000_000;

    fn rec(ts_ms: u64, cpu: u16, pid: u32, event: Event) -> Record {
        Record {
            ts_ns: ts_ms * MS,
            cpu,
            pid,
            event,
        }
    }

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

    /// The seed's incident: 4 CPUs, CPU 2 runs a hog (pid 91) that touches
    /// its own watchdog; stop 12 from pid 87 on CPU 0 waits for it.
    fn incident(log: &mut StopLog, upto_ms: u64) -> Result {
        let mut seq = KVec::new();
        seq.push(
            rec(0, 2, 91, Event::WatchdogCheck { touch_age_ns: 0 }),
            GFP_KERNEL,
        )?;
        seq.push(
            rec(
                10,
                0,
                87,
                Event::StopBegin {
                    stop: 12,
                    nr_cpus: 4,
                    nr_active: 0,
                    func: 0xffff_ffff_a000_0000,
                },
            ),
            GFP_KERNEL,
        )?;
        for cpu in [0u16, 1, 3] {
            seq.push(
                state(11 + u64::from(cpu), cpu, 12, StopState::None),
                GFP_KERNEL,
            )?;
            seq.push(
                state(12 + u64::from(cpu), cpu, 12, StopState::Prepare),
                GFP_KERNEL,
            )?;
        }
        let mut t = 100;
        while t < 5000 {
            seq.push(touch(t, 2), GFP_KERNEL)?;
            t += 100;
        }
        seq.push(state(5100, 2, 12, StopState::None), GFP_KERNEL)?;
        seq.push(state(5100, 2, 12, StopState::Prepare), GFP_KERNEL)?;
        for s in [StopState::DisableIrq, StopState::Run, StopState::Exit] {
            for cpu in 0u16..4 {
                seq.push(state(5101 + s as u64, cpu, 12, s), GFP_KERNEL)?;
            }
        }
        seq.push(
            rec(
                5110,
                0,
                87,
                Event::StopEnd {
                    stop: 12,
                    ret: 0,
                    duration_ns: 5100 * MS,
                },
            ),
            GFP_KERNEL,
        )?;
        for r in seq.iter().filter(|r| r.ts_ns <= upto_ms * MS) {
            log.feed(r)?;
        }
        Ok(())
    }

    #[test]
    fn finished_incident_blames_last_arrival() -> Result {
        let mut log = StopLog::new();
        incident(&mut log, u64::MAX / MS)?;
        assert_eq!(log.stops.len(), 1);
        let s = &log.stops[0];
        assert_eq!(s.stop, 12);
        assert_eq!(s.caller, Some((87, 0)));
        assert_eq!(s.end, Some((5110 * MS, 0)));
        assert_eq!(
            s.culprit(&[0, 1, 2, 3])?,
            Culprit::LastArrived {
                cpu: 2,
                lag_ns: (5100 - 14) * MS
            }
        );
        // CPU 0 waited from 12 ms to 5103 ms.
        assert_eq!(s.longest_prepare(0), Some((0, 5091 * MS)));
        let c2 = s.cpu(2).ok_or(EINVAL)?;
        assert_eq!(c2.task_before_arrival, Some(91));
        assert_eq!(c2.touches_before_arrival, 49);
        for cpu in [0u16, 1, 3] {
            let c = s.cpu(cpu).ok_or(EINVAL)?;
            assert_eq!(c.touches_waiting, 0);
            assert_eq!(c.touches_before_arrival, 0);
            for st in StopState::ALL {
                assert!(c.state_ns[st as usize].is_some());
            }
        }
        Ok(())
    }

    #[test]
    fn ongoing_incident_names_missing_cpu() -> Result {
        let mut log = StopLog::new();
        incident(&mut log, 3000)?;
        let s = &log.stops[0];
        assert_eq!(s.end, None);
        let mut want = KVec::new();
        want.push(2u16, GFP_KERNEL)?;
        assert_eq!(s.culprit(&[0, 1, 2, 3])?, Culprit::Missing(want));
        // Still waiting: measured up to "now".
        assert_eq!(s.longest_prepare(3000 * MS), Some((0, 2988 * MS)));
        Ok(())
    }

    #[test]
    fn quick_stop_has_no_real_wait() -> Result {
        let mut log = StopLog::new();
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
        ))?;
        for st in StopState::ALL {
            log.feed(&state(1 + st as u64, 0, 1, st))?;
            log.feed(&state(1 + st as u64, 1, 1, st))?;
        }
        let s = &log.stops[0];
        assert_eq!(s.longest_prepare(100 * MS), Some((0, MS)));
        assert!(matches!(
            s.culprit(&[0, 1])?,
            Culprit::LastArrived { lag_ns: 0, .. }
        ));
        Ok(())
    }

    #[test]
    fn keeps_only_the_newest_stops() -> Result {
        let mut log = StopLog::new();
        for id in 1..=(KEPT_STOPS as u32 + 5) {
            log.feed(&rec(
                u64::from(id),
                0,
                1,
                Event::StopBegin {
                    stop: id,
                    nr_cpus: 1,
                    nr_active: 0,
                    func: 0,
                },
            ))?;
        }
        assert_eq!(log.stops.len(), KEPT_STOPS);
        assert_eq!(log.stops[0].stop, 6);
        Ok(())
    }

    #[test]
    fn non_stop_machine_states_are_ignored() -> Result {
        let mut log = StopLog::new();
        log.feed(&state(1, 0, 0, StopState::None))?;
        assert!(log.stops.is_empty());
        Ok(())
    }
}

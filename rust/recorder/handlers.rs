// SPDX-License-Identifier: GPL-2.0

//! What each probe does: the recorder's writing side.
//!
//! These run in probe handlers, with preemption disabled, possibly with
//! interrupts off or in NMI context. They only load and store atomics,
//! read the clock, and push to their own CPU's ring: no locks, no
//! allocation, no printk, bounded work: the loops are over the CPUs
//! (`touch_all`, the culprit search of an early warning, once per CPU per
//! instance), over the [`super::open::OPEN_STOPS`] open-instance slots, and over
//! the at most four states a CPU can catch up on in one spin. What is to
//! be printed is only queued here (`seam::queue_warning`,
//! `seam::queue_note`); `console.rs` prints it.

use super::{open::Entry, Recorder, FALLBACK_NS};
use crate::{
    hot::{Acquire, Relaxed, Release},
    logic::{
        comm::comm_to_words,
        diagnosis::{Instance, LiveCpus},
        layout,
        live::{bump, CpuLive, NOT_IN_STOP},
        record::{Event, Record, StopState, TouchSource},
    },
    seam::{self, Hit, MultiStopPtr},
    services,
};

/// A touch from the same caller as the previous recorded one is recorded
/// again only after this long (the live state always has the latest).
const TOUCH_RECORD_GAP_NS: u64 = 10_000_000;

/// What a spin of `multi_cpu_stop()` has to do beyond being counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Spin {
    /// The call's state is `raw` now, not the one this CPU saw last.
    Moved {
        /// `msdata->state`, a valid [`StopState`].
        raw: u32,
    },
    /// Still in PREPARE of an instance, the first spin of this jiffy: the
    /// wait is checked against the early warning's limit.
    Check,
}

impl Spin {
    /// What the spin of this CPU's `multi_cpu_stop()` call needs, given
    /// the `cpumask` argument of its `stop_machine_yield()` call and
    /// `jiffies`: `None` for nearly every spin (the state this CPU saw,
    /// and PREPARE already checked this jiffy, or no call of ours), which
    /// is then only counted. A few loads and the fault-safe load of
    /// `msdata->state`; no clock.
    #[inline(always)]
    pub(crate) fn of(live: &CpuLive, mask: u64, jiffies: u64) -> Option<Self> {
        let addr = live.stop_msdata.load(Relaxed);
        if addr == 0 || live.stop_mask.load(Relaxed) != mask {
            return None;
        }
        // SAFETY: `addr` was stored by the entry handler of the paired
        // probe on the `multi_cpu_stop()` call we are spinning in, so it
        // is still live: the return handler of every call whose entry
        // handler ran clears it, and the cpumask matches. The one call
        // that returns without its return handler is one inside
        // `multi_cpu_stop()` while that kretprobe is unregistered; this
        // probe is unregistered before it (`probes::PROBES` order, checked
        // at compile time there), so no spin reads what such a call left.
        // `state()` reads it fault-safe all the same.
        let msdata = unsafe { MultiStopPtr::new(addr) };
        let raw = msdata.state()?;
        let state = StopState::from_raw(u64::from(raw))?;
        if raw != live.stop_state.load(Relaxed) {
            return Some(Self::Moved { raw });
        }
        if state != StopState::Prepare
            || live.stop_id.load(Relaxed) == 0
            || live.spin_jiffies.load(Relaxed) == jiffies
        {
            return None;
        }
        Some(Self::Check)
    }
}

impl Recorder {
    /// Appends a record for `hit` to its CPU's ring, if recording.
    pub(super) fn emit(&self, hit: &Hit, live: &CpuLive, event: Event) {
        if !self.enabled.load(Relaxed) {
            return;
        }
        let rings = self.rings.load(Acquire);
        // SAFETY: by the `Recorder` invariants `rings` is live; we run with
        // preemption disabled (probe context), so a resize waits for us in
        // `synchronize_rcu()` before freeing it.
        let rings = unsafe { &*rings };
        let Some(ring) = rings.get(hit.cpu as usize) else {
            return;
        };
        let [latest, before] = &live.comm_pids;
        let latest_pid = latest.load(Relaxed);
        if latest_pid != hit.pid {
            latest.store(hit.pid, Relaxed);
            let before_pid = before.swap(latest_pid, Relaxed);
            if before_pid != hit.pid || !self.comms.holds(hit.pid) {
                self.comms.insert(hit.pid, &hit.comm());
            }
        }
        let rec = Record {
            ts_ns: hit.ts_ns,
            cpu: hit.cpu as u16,
            pid: hit.pid,
            event,
        };
        ring.push(rec.encode());
    }

    /// Counts a hit of probe `index`; returns the CPU's live state.
    #[inline(always)]
    pub(crate) fn count_hit(&self, index: usize, hit: &Hit) -> Option<&CpuLive> {
        let live = self.cpu(hit.cpu)?;
        // A paired probe's return is the same call: count its entry only.
        if hit.phase == 0 {
            live.count_hit(index);
        }
        Some(live)
    }

    /// A `touch_*softlockup_watchdog*()` call that needs more than a count.
    ///
    /// A touch that repeats the CPU's latest one (`CpuLive::repeats_touch`:
    /// same caller, same jiffy) only counts as coalesced: no
    /// clock read, and the live touch time stays that of the first one (at
    /// most one jiffy old). The plain, sched and sync touch probes ask that
    /// before a [`Hit`] is even filled (`crate::probes::touch_hit`);
    /// asking again here keeps this function right on its own. Otherwise
    /// the clock is read, the live state updated, and a record written
    /// unless the same caller was recorded less than [`TOUCH_RECORD_GAP_NS`]
    /// ago.
    pub(crate) fn on_touch(&self, live: &CpuLive, hit: &mut Hit, source: TouchSource) {
        if source != TouchSource::All && live.repeats_touch(hit.jiffies, hit.caller) {
            bump(&live.coalesced);
            return;
        }
        hit.ts_ns = services::now_ns();
        let mark = |c: &CpuLive| {
            c.touch_ns.store(hit.ts_ns, Relaxed);
            c.touch_source.store(source as u32, Relaxed);
            c.touch_caller.store(hit.caller, Relaxed);
            c.touch_jiffies.store(hit.jiffies, Relaxed);
        };
        if source == TouchSource::All {
            self.cpus.iter().for_each(mark);
        } else {
            mark(live);
        }
        let last = live.rec_touch_ns.load(Relaxed);
        if live.rec_touch_caller.load(Relaxed) == hit.caller
            && last != 0
            && hit.ts_ns.saturating_sub(last) < TOUCH_RECORD_GAP_NS
        {
            bump(&live.coalesced);
            return;
        }
        live.rec_touch_ns.store(hit.ts_ns, Relaxed);
        live.rec_touch_caller.store(hit.caller, Relaxed);
        self.emit(
            hit,
            live,
            Event::Touch {
                source,
                caller: hit.caller,
            },
        );
    }

    /// `softlockup_fn()`: the watchdog work ran.
    pub(crate) fn on_watchdog_work(&self, live: &CpuLive, hit: &Hit) {
        live.work_ns.store(hit.ts_ns, Relaxed);
        self.emit(hit, live, Event::WatchdogWork);
    }

    /// `watchdog_timer_fn()`: the periodic check.
    pub(crate) fn on_watchdog_check(&self, live: &CpuLive, hit: &Hit) {
        let refreshed = live.touch_ns.load(Relaxed).max(live.work_ns.load(Relaxed));
        let touch_age_ns = (refreshed != 0).then(|| hit.ts_ns.saturating_sub(refreshed));
        let prev = live.check_ns.load(Relaxed);
        if prev != 0 {
            let interval = hit.ts_ns.saturating_sub(prev);
            // Ignore gaps from a stopped timer (watchdog off, CPU offline).
            if interval > 0 && interval < 60_000_000_000 {
                let last = live.last_interval_ns.swap(interval, Relaxed);
                let period = if last == 0 {
                    interval
                } else {
                    (interval + last) / 2
                };
                live.check_interval_ns.store(period, Relaxed);
            }
        }
        live.check_ns.store(hit.ts_ns, Relaxed);
        live.check_pid.store(hit.pid, Relaxed);
        let words = comm_to_words(&hit.comm());
        live.check_comm[0].store(words[0], Relaxed);
        live.check_comm[1].store(words[1], Relaxed);
        self.emit(hit, live, Event::WatchdogCheck { touch_age_ns });
    }

    /// `stop_machine_cpuslocked(fn, data, cpus)` entry.
    ///
    /// The instance gets an id and, if one is free, a slot in `open` (more
    /// than [`super::open::OPEN_STOPS`] callers at once queue on `stop_cpus_mutex`; the
    /// extra ones are recorded but their CPUs' states carry id 0). The id,
    /// slot and start travel to the return in the call's kretprobe scratch.
    pub(crate) fn on_stop_begin(&self, live: &CpuLive, hit: &mut Hit) {
        let mut id = self.next_stop.fetch_add(1, Relaxed).wrapping_add(1);
        // 0: no instance; FILLING: a slot being claimed.
        if id == 0 || id == super::open::FILLING {
            id = 1;
        }
        let nr_cpus = services::num_online_cpus();
        // SAFETY: `args[2]` is the `cpus` argument of the call being
        // entered: NULL or a cpumask its caller keeps alive for the call.
        let nr_active = unsafe { services::cpumask_weight(hit.args[2]) };
        let slot = self.open.claim(&Entry {
            instance: Instance {
                stop: id,
                pid: hit.pid,
                caller: hit.caller,
                func: hit.args[0],
                begin_ns: hit.ts_ns,
            },
            stack: hit.stack,
            data: hit.args[1],
            nr_cpus,
            active_cpus: hit.args[2],
        });
        // What the early warning counts touches from: once per call, one
        // store per CPU (stop_machine() itself costs far more).
        for c in self.cpus.iter() {
            c.touches_at_begin.store(self.touches(c), Relaxed);
        }
        let ts = hit.ts_ns;
        if let Some(scratch) = hit.instance() {
            let slot_plus_one = slot.map_or(0, |i| i as u64 + 1);
            scratch[0] = u64::from(id) | (slot_plus_one << 32);
            scratch[1] = ts;
        }
        self.emit(
            hit,
            live,
            Event::StopBegin {
                stop: id,
                nr_cpus: nr_cpus.min(u32::from(u16::MAX)) as u16,
                nr_active: nr_active.min(u32::from(u16::MAX)) as u16,
                func: hit.args[0],
            },
        );
    }

    /// `stop_machine_cpuslocked()` return (possibly on another CPU): the
    /// same call's entry left its id, slot and start in the scratch.
    pub(crate) fn on_stop_end(&self, live: &CpuLive, hit: &mut Hit) {
        let ts = hit.ts_ns;
        let (stop, slot, begin) = hit
            .instance()
            .map_or((0, 0, ts), |s| (s[0] as u32, (s[0] >> 32) as usize, s[1]));
        if let Some(index) = slot.checked_sub(1) {
            self.open.release(index, stop);
        }
        self.emit(
            hit,
            live,
            Event::StopEnd {
                stop,
                ret: hit.retval as i32,
                duration_ns: ts.saturating_sub(begin),
            },
        );
    }

    /// `multi_cpu_stop(msdata)` entry: this CPU's stopper arrived.
    pub(crate) fn on_cpu_enter(&self, live: &CpuLive, hit: &Hit) {
        // SAFETY: `args[0]` is the `data` argument of the `multi_cpu_stop()`
        // call being entered, and the wrapper is only kept in `live` until
        // the return probe of that call clears it.
        let msdata = unsafe { MultiStopPtr::new(hit.args[0]) };
        let ms = msdata.read();
        // Matched by where `msdata` lies, then every field checked against
        // what the instance's entry said (`logic::layout`). A call of no
        // instance (`stop_two_cpus()`) can only be checked in part: its
        // states are read once an instance has verified the layout.
        let matched = self.open.by_stack(msdata.addr(), self.thread_size);
        let stop = matched.as_ref().map_or(0, |m| m.stop);
        let layout_ok = match matched {
            Some(m) => {
                let ok = layout::check(&ms.seen(), Some(&m.expected)).is_ok();
                if ok {
                    self.layout_verified.store(true, Relaxed);
                } else {
                    self.layout_errors.fetch_add(1, Relaxed);
                }
                ok
            }
            None => self.layout_verified.load(Relaxed) && layout::check(&ms.seen(), None).is_ok(),
        };
        // A call of no instance is told apart from others by where its
        // `msdata` lies (see `Event::OtherStop`).
        let key = (msdata.addr() >> 3) as u32;
        live.stop_warned.store(false, Relaxed);
        live.stop_id.store(stop, Relaxed);
        live.stop_key.store(key, Relaxed);
        live.stop_func
            .store(if layout_ok { ms.func } else { 0 }, Relaxed);
        live.stop_since_ns.store(hit.ts_ns, Relaxed);
        live.stop_arrived_ns.store(hit.ts_ns, Relaxed);
        if layout_ok {
            let mask = if ms.active_cpus == 0 {
                services::cpu_online_mask()
            } else {
                ms.active_cpus
            };
            live.stop_mask.store(mask, Relaxed);
            live.stop_msdata.store(msdata.addr(), Relaxed);
        } else {
            live.stop_msdata.store(0, Relaxed);
        }
        // A CPU arrives in PREPARE: the caller set it before queuing the
        // stoppers, and it cannot move on before every CPU has acked it
        // (a layout that checks out says so: `layout::check` requires it).
        // The arrival record stands for both (the analysis dates PREPARE
        // from it), so the first spin, seeing PREPARE, records nothing:
        // one record per CPU per call fewer.
        let first = if layout_ok {
            StopState::Prepare
        } else {
            StopState::None
        };
        live.stop_state.store(first as u32, Release);
        let event = if stop == 0 {
            Event::OtherStop {
                key,
                threads: if layout_ok {
                    ms.num_threads.min(u32::from(u16::MAX)) as u16
                } else {
                    0
                },
                func: if layout_ok { ms.func } else { 0 },
            }
        } else {
            Event::CpuState {
                stop,
                state: StopState::None,
            }
        };
        self.emit(hit, live, event);
    }

    /// The record of this CPU's stopper seeing `state` in the call it is
    /// in: of the instance, or of the other call (by its key).
    #[inline(always)]
    fn state_event(live: &CpuLive, stop: u32, state: StopState) -> Event {
        match stop {
            0 => Event::OtherState {
                key: live.stop_key.load(Relaxed),
                state,
            },
            _ => Event::CpuState { stop, state },
        }
    }

    /// `stop_machine_yield(cpumask)`: once per spin of `multi_cpu_stop()`,
    /// for a spin [`Spin::of`] found something to do in.
    ///
    /// Called before the clock is read (`hit.ts_ns` is 0): a spin that
    /// sees a new state records it, one waiting in PREPARE reads the clock
    /// once a jiffy to check its wait.
    pub(crate) fn on_cpu_spin(&self, live: &CpuLive, hit: &mut Hit, spin: Spin) {
        let stop = live.stop_id.load(Relaxed);
        let raw = match spin {
            Spin::Moved { raw } => raw,
            Spin::Check => return self.check_wait(live, hit, stop),
        };
        let seen = live.stop_state.load(Relaxed);
        hit.ts_ns = services::now_ns();
        // States advance one at a time and every CPU acks each one, so a
        // CPU whose state moved on by more than one between two spins
        // passed through the ones in between: record them too.
        let from = if seen < raw { seen + 1 } else { raw };
        for step in from..=raw {
            if let Some(state) = StopState::from_raw(u64::from(step)) {
                self.emit(hit, live, Self::state_event(live, stop, state));
            }
        }
        live.stop_since_ns.store(hit.ts_ns, Relaxed);
        live.stop_state.store(raw, Release);
    }

    /// A spin in PREPARE, once a jiffy: the wait against the early
    /// warning's limit, and the console's fallback after the warning.
    fn check_wait(&self, live: &CpuLive, hit: &mut Hit, stop: u32) {
        live.spin_jiffies.store(hit.jiffies, Relaxed);
        hit.ts_ns = services::now_ns();
        if live.stop_warned.load(Relaxed) {
            self.console_fallback(stop, hit.ts_ns);
            return;
        }
        let waited_ns = hit.ts_ns.saturating_sub(live.stop_since_ns.load(Relaxed));
        let limit = live.lockup_threshold_ns() / 100 * u64::from(self.warn_percent.load(Relaxed));
        if waited_ns < limit {
            return;
        }
        live.stop_warned.store(true, Relaxed);
        // The console warns once per instance: the first CPU to get here.
        if self.console.on.load(Relaxed) && self.console.warned_stop.swap(stop, Relaxed) != stop {
            seam::queue_warning();
        }
        // The first CPU the analysis would name (not blocked in another
        // call, if any is not).
        let culprit = LiveCpus {
            live: &self.cpus,
            online: |cpu| services::cpu_online(cpu as u32),
            now_ns: hit.ts_ns,
        }
        .missing_cpus(stop)
        .next()
        .map(|cpu| cpu as u32);
        self.emit(
            hit,
            live,
            Event::EarlyWarning {
                stop,
                culprit,
                waited_ns,
            },
        );
    }

    /// After this CPU's warning: if the console warning of `stop` was handed
    /// to a CPU that has not arrived and is not printed [`FALLBACK_NS`]
    /// later (that CPU's interrupts are off), the first waiting CPU to
    /// notice queues the fallback, which prints it there. A few loads per
    /// spin.
    #[inline(always)]
    fn console_fallback(&self, stop: u32, now_ns: u64) {
        let c = &self.console;
        if c.handed_stop.load(Acquire) != stop
            || c.printed_stop.load(Relaxed) == stop
            || now_ns.saturating_sub(c.handed_ns.load(Relaxed)) < FALLBACK_NS
        {
            return;
        }
        if c.fallback_stop.swap(stop, Relaxed) != stop {
            seam::queue_fallback();
        }
    }

    /// `add_taint(flag, ...)`: after every soft-lockup report, on the
    /// reported CPU, the watchdog taints with `TAINT_SOFTLOCKUP`. If this
    /// CPU waits in PREPARE, the kernel just blamed a victim: queue the
    /// note that names the CPU it waits for.
    pub(crate) fn on_taint(&self, live: &CpuLive, hit: &Hit) {
        if hit.args[0] != u64::from(self.console.taint_softlockup) || !self.console.on.load(Relaxed)
        {
            return;
        }
        if live.waiting_in().is_some() {
            seam::queue_note();
        }
    }

    /// `multi_cpu_stop()` return: this CPU's stopper left. Called before
    /// the clock is read; it reads it if it records.
    pub(crate) fn on_cpu_exit(&self, live: &CpuLive, hit: &mut Hit) {
        let stop = live.stop_id.load(Relaxed);
        let was = live.stop_state.load(Relaxed);
        live.stop_msdata.store(0, Relaxed);
        live.stop_mask.store(0, Relaxed);
        live.stop_state.store(NOT_IN_STOP, Release);
        // The last spin usually saw EXIT already; if states were not
        // tracked (layout check failed), the return is the EXIT.
        if was != NOT_IN_STOP && was != StopState::Exit as u32 {
            hit.ts_ns = services::now_ns();
            self.emit(hit, live, Self::state_event(live, stop, StopState::Exit));
        }
    }
}

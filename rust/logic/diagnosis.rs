// SPDX-License-Identifier: GPL-2.0

//! What the live state says about a `stop_machine()` call in flight; the
//! words stopwatch uses for it on the console are in `diagnosis/text.rs`.
//!
//! The probe handlers keep each CPU's live state (`live.rs`). This file
//! reads it at one moment without allocating and without locks, so the
//! same code serves a debugfs read (the `cpus` view), an `irq_work` in hard
//! interrupt context (the early warning and the annotation of the kernel's
//! report) and a panic notifier running while the other CPUs are stopped.
//!
//! One rule decides who waits for whom. A CPU *waits* in instance `stop`
//! when its stopper is inside that instance and last saw PREPARE. An online
//! CPU whose stopper is not inside the instance *has not arrived*: PREPARE
//! ends only when every CPU has acknowledged it, so everyone waits for
//! those. The analysis of the records (`analysis.rs`) applies the same rule
//! to an instance's arrivals after the fact.

use super::{analysis::BlameOrder, live::CpuLive, record::StopState, sort};
use core::sync::atomic::Ordering::Relaxed;

#[cfg(test)]
mod tests;
mod text;

pub(crate) use text::{BlameNote, CpuLine, WaitSummary, WarningText};

/// CPUs that have not arrived named one by one in a warning or an
/// annotation; the rest are counted.
pub(crate) const NAMED_CPUS: usize = 8;

/// A `stop_machine()` call between its entry and return, as the
/// recorder's open-instance table has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Instance {
    /// Instance id.
    pub(crate) stop: u32,
    /// Pid of the calling task.
    pub(crate) pid: u32,
    /// Return address into the caller of `stop_machine_cpuslocked()`
    /// (usually the `stop_machine()` wrapper: the task says more).
    pub(crate) caller: u64,
    /// The `fn` every CPU runs.
    pub(crate) func: u64,
    /// When the call began.
    pub(crate) begin_ns: u64,
}

/// The live state of every CPU, read at `now_ns`.
pub(crate) struct LiveCpus<'a, O: Fn(usize) -> bool> {
    /// Per CPU, indexed by CPU id.
    pub(crate) live: &'a [CpuLive],
    /// Whether a CPU is online.
    pub(crate) online: O,
    /// The moment of the reading (`ktime_get_mono_fast_ns()`).
    pub(crate) now_ns: u64,
}

/// The CPU of an instance that arrived last, once every CPU has.
#[derive(Clone, Copy)]
pub(crate) struct LastArrival<'a> {
    /// The CPU.
    pub(crate) cpu: usize,
    /// Its live state.
    pub(crate) live: &'a CpuLive,
    /// How long after the first CPU it arrived.
    pub(crate) after_first_ns: u64,
}

/// How one instance's wait stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Wait {
    /// The instance.
    pub(crate) stop: u32,
    /// CPUs waiting in PREPARE.
    pub(crate) waiting: usize,
    /// Online CPUs that have not arrived.
    pub(crate) missing: usize,
    /// Since when the longest-waiting CPU has been in PREPARE.
    pub(crate) since_ns: u64,
}

impl<'a, O: Fn(usize) -> bool> LiveCpus<'a, O> {
    /// The instance CPUs wait in PREPARE in, if any (the lowest such CPU's;
    /// `stop_cpus_mutex` lets only one `stop_machine()` run its stoppers
    /// at a time).
    pub(crate) fn waiting_stop(&self) -> Option<u32> {
        self.live.iter().find_map(CpuLive::waiting_in)
    }

    /// Whether `cpu`'s stopper waits in PREPARE of `stop`.
    pub(crate) fn waits(&self, cpu: usize, stop: u32) -> bool {
        self.live
            .get(cpu)
            .and_then(CpuLive::stop)
            .is_some_and(|p| p.stop == stop && p.state == StopState::Prepare)
    }

    /// Whether `cpu` is online and its stopper not inside `stop`.
    pub(crate) fn missing(&self, cpu: usize, stop: u32) -> bool {
        (self.online)(cpu) && self.live.get(cpu).is_some_and(|c| !c.in_stop(stop))
    }

    /// Where instance `stop`'s wait stands.
    pub(crate) fn wait(&self, stop: u32) -> Wait {
        let mut wait = Wait {
            stop,
            waiting: 0,
            missing: 0,
            since_ns: self.now_ns,
        };
        for (cpu, live) in self.live.iter().enumerate() {
            if self.waits(cpu, stop) {
                wait.waiting += 1;
                wait.since_ns = wait.since_ns.min(live.stop_since_ns.load(Relaxed));
            } else if self.missing(cpu, stop) {
                wait.missing += 1;
            }
        }
        wait
    }

    /// The CPU of `stop` that arrived last, once every online CPU has
    /// arrived: the one everyone waited for, while a CPU has not yet seen
    /// the wait end (the kernel can report a waiting CPU in the moment
    /// between the last arrival and that CPU's next spin, and a report
    /// already being printed ends after it). The lowest of CPUs that
    /// arrived at the same moment.
    pub(crate) fn last_arrival(&self, stop: u32) -> Option<LastArrival<'a>> {
        if self.wait(stop).missing > 0 {
            return None;
        }
        let arrived = |live: &CpuLive| {
            let at_ns = live.stop_arrived_ns.load(Relaxed);
            (live.in_stop(stop) && at_ns != 0).then_some(at_ns)
        };
        let first_ns = self.live.iter().filter_map(arrived).min()?;
        let mut last: Option<LastArrival<'a>> = None;
        let mut last_ns = 0;
        for (cpu, live) in self.live.iter().enumerate() {
            match arrived(live) {
                Some(at_ns) if last.is_none() || at_ns > last_ns => {
                    last_ns = at_ns;
                    last = Some(LastArrival {
                        cpu,
                        live,
                        after_first_ns: at_ns - first_ns,
                    });
                }
                _ => {}
            }
        }
        last
    }

    /// The `fn` of the other `multi_cpu_stop()` that keeps `cpu` from
    /// arriving in `stop`, if it is missing because its stopper is busy
    /// in one (a nested stop; 0: fn unknown).
    pub(crate) fn blocked_in(&self, cpu: usize, stop: u32) -> Option<u64> {
        if !self.missing(cpu, stop) {
            return None;
        }
        self.live.get(cpu)?.other_stop()
    }

    /// The CPUs `stop` waits for, in [`BlameOrder`], the recorded rule's:
    /// every CPU not arrived has waited as long (since the first arrival),
    /// so each of the two groups, by CPU, is in that order, and merged by
    /// it (without allocating: the console prints from interrupt work).
    pub(crate) fn missing_cpus(&self, stop: u32) -> impl Iterator<Item = usize> + '_ {
        let n = self.live.len();
        let free = (0..n)
            .filter(move |&cpu| self.missing(cpu, stop) && self.blocked_in(cpu, stop).is_none());
        let blocked = (0..n).filter(move |&cpu| self.blocked_in(cpu, stop).is_some());
        sort::merge_by_key(free, blocked, move |&cpu| {
            BlameOrder::new(self.blocked_in(cpu, stop).is_some(), 0, cpu as u16)
        })
    }
}

/// How long ago a CPU's soft-lockup watchdog was last refreshed (a touch,
/// or the watchdog's own work), if ever.
pub(crate) fn refreshed_age_ns(live: &CpuLive, now_ns: u64) -> Option<u64> {
    let at = live.touch_ns.load(Relaxed).max(live.work_ns.load(Relaxed));
    (at != 0).then(|| now_ns.saturating_sub(at))
}

/// Whether asking `live`'s CPU for a backtrace leaves the kernel's own
/// reporting of it as it was.
///
/// Dumping a stack touches that CPU's watchdog (x86's
/// `printk_stack_address()` calls `touch_nmi_watchdog()`, as does the
/// kernel's own NMI backtrace), which postpones a soft-lockup report of
/// that CPU by the age of its last refresh. A CPU that refreshed within
/// half a threshold is being touched anyway (the hog, the OOM task dump)
/// and the kernel will not report it: the backtrace costs nothing. One
/// that has not will soon be reported by the kernel, backtrace included:
/// stopwatch leaves it alone.
pub(crate) fn backtrace_is_harmless(live: &CpuLive, now_ns: u64) -> bool {
    refreshed_age_ns(live, now_ns).is_some_and(|age| age < live.lockup_threshold_ns() / 2)
}

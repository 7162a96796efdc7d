// SPDX-License-Identifier: GPL-2.0

//! One CPU in one instance: when it arrived, each state it saw, who touched
//! its watchdog, and the other call its stopper was blocked in.

use super::TOUCH_CALLERS;
use crate::logic::record::StopState;

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
    pub(super) fn add(&mut self, caller: u64) {
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
    pub(super) fn new(cpu: u16) -> Self {
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
    pub(super) fn waiting(&self) -> bool {
        self.arrived_ns().is_some()
            && self.state_ns[StopState::DisableIrq as usize..]
                .iter()
                .all(Option::is_none)
    }
}

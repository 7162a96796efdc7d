// SPDX-License-Identifier: GPL-2.0

//! What each CPU is doing, as the probes last saw it: the live state
//! behind the `cpus` view and the early warning, written by the handlers
//! of that CPU (and `touch_all`) and read by anyone.

use super::{
    comm::{words_to_comm, Comm},
    record::StopState,
    ring::CACHE_LINE,
};
use core::sync::atomic::{
    AtomicBool, AtomicU32, AtomicU64,
    Ordering::{Acquire, Relaxed},
};

/// Probes a CPU counts hits of (the probe table's size at most).
pub(crate) const MAX_PROBES: usize = 16;

const _: () = assert!(core::mem::align_of::<CpuLive>() == CACHE_LINE);

/// `stop_state` of a CPU not inside `multi_cpu_stop()`.
pub(crate) const NOT_IN_STOP: u32 = u32::MAX;
/// Soft-lockup threshold assumed until the watchdog's period is measured:
/// `2 * watchdog_thresh` with the default `watchdog_thresh=10`.
const DEFAULT_LOCKUP_NS: u64 = 20_000_000_000;

/// Where a CPU's stopper is in a `multi_cpu_stop()` call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StopPosition {
    /// Instance id (0: not a `stop_machine()` instance).
    pub(crate) stop: u32,
    /// The state it last saw.
    pub(crate) state: StopState,
    /// Since when.
    pub(crate) since_ns: u64,
}

/// What one CPU is doing, as the probes last saw it. All fields are
/// atomics written by probe handlers and read by anyone.
///
/// Cache-line aligned ([`CACHE_LINE`]): the CPUs' states lie side by side
/// in one array, and each CPU's handlers write its own on every hit; no
/// line holds two CPUs' states.
#[repr(align(64))]
pub(crate) struct CpuLive {
    /// Last `touch_*softlockup_watchdog*()` affecting this CPU (0: none).
    pub(crate) touch_ns: AtomicU64,
    /// Its [`TouchSource`] as a number.
    ///
    /// [`TouchSource`]: super::record::TouchSource
    pub(crate) touch_source: AtomicU32,
    /// Its caller.
    pub(crate) touch_caller: AtomicU64,
    /// `jiffies` at it.
    pub(crate) touch_jiffies: AtomicU64,
    /// Last `softlockup_fn()` (0: none).
    pub(crate) work_ns: AtomicU64,
    /// Last `watchdog_timer_fn()` (0: none).
    pub(crate) check_ns: AtomicU64,
    /// Pid of the task it interrupted.
    pub(crate) check_pid: AtomicU32,
    /// Name of that task, 16 bytes in two words.
    pub(crate) check_comm: [AtomicU64; 2],
    /// The watchdog's `sample_period` as measured: the mean of the last
    /// two intervals between checks (a late timer makes the next interval
    /// short by as much; 0: not measured yet).
    pub(crate) check_interval_ns: AtomicU64,
    /// The last interval between checks (0: none yet).
    pub(crate) last_interval_ns: AtomicU64,
    /// Instance this CPU's stopper is in (meaningful with `stop_state`).
    pub(crate) stop_id: AtomicU32,
    /// [`StopState`] it last saw, or [`NOT_IN_STOP`].
    pub(crate) stop_state: AtomicU32,
    /// When it saw that state.
    pub(crate) stop_since_ns: AtomicU64,
    /// When it arrived in that call (its `multi_cpu_stop()` entry; 0: not
    /// yet in one).
    pub(crate) stop_arrived_ns: AtomicU64,
    /// The `struct multi_stop_data` of the call (0: not tracking states).
    pub(crate) stop_msdata: AtomicU64,
    /// The cpumask `stop_machine_yield()` gets in that call.
    pub(crate) stop_mask: AtomicU64,
    /// The `fn` of that call (0: unknown, the layout is not verified).
    pub(crate) stop_func: AtomicU64,
    /// Key of that call if no `stop_machine()` started it (`stop_id` 0;
    /// see `Event::OtherStop`).
    pub(crate) stop_key: AtomicU32,
    /// Whether this CPU already warned for the current call.
    pub(crate) stop_warned: AtomicBool,
    /// The jiffy of this CPU's latest spin that looked at the clock while
    /// waiting in PREPARE (the wait is checked once a jiffy, not every
    /// spin).
    pub(crate) spin_jiffies: AtomicU64,
    /// Its touch probes' hits when the latest `stop_machine()` call began
    /// (written by the caller's CPU): touches made since are the
    /// difference.
    pub(crate) touches_at_begin: AtomicU64,
    /// Time and caller of the last touch put in the ring (rate limit).
    pub(crate) rec_touch_ns: AtomicU64,
    /// See `rec_touch_ns`.
    pub(crate) rec_touch_caller: AtomicU64,
    /// Touches not put in the ring by the rate limit.
    pub(crate) coalesced: AtomicU64,
    /// The last two pids this CPU put in the comm cache, latest first. A
    /// CPU that goes back and forth between two tasks (a `stop_machine()`
    /// caller and its CPU's stopper) puts each in once, not at every
    /// switch, as long as the cache holds it; a task renamed meanwhile
    /// (exec, `PR_SET_NAME`) keeps its old name there until this CPU
    /// records a third task.
    pub(crate) comm_pids: [AtomicU32; 2],
    /// Hits per probe slot on this CPU.
    pub(crate) hits: [AtomicU64; MAX_PROBES],
}

impl CpuLive {
    /// A CPU nothing has been seen on.
    pub(crate) const fn new() -> Self {
        Self {
            touch_ns: AtomicU64::new(0),
            touch_source: AtomicU32::new(0),
            touch_caller: AtomicU64::new(0),
            touch_jiffies: AtomicU64::new(0),
            work_ns: AtomicU64::new(0),
            check_ns: AtomicU64::new(0),
            check_pid: AtomicU32::new(0),
            check_comm: [const { AtomicU64::new(0) }; 2],
            check_interval_ns: AtomicU64::new(0),
            last_interval_ns: AtomicU64::new(0),
            stop_id: AtomicU32::new(0),
            stop_state: AtomicU32::new(NOT_IN_STOP),
            stop_since_ns: AtomicU64::new(0),
            stop_arrived_ns: AtomicU64::new(0),
            stop_msdata: AtomicU64::new(0),
            stop_mask: AtomicU64::new(0),
            stop_func: AtomicU64::new(0),
            stop_key: AtomicU32::new(0),
            stop_warned: AtomicBool::new(false),
            spin_jiffies: AtomicU64::new(0),
            touches_at_begin: AtomicU64::new(0),
            rec_touch_ns: AtomicU64::new(0),
            rec_touch_caller: AtomicU64::new(0),
            coalesced: AtomicU64::new(0),
            comm_pids: [const { AtomicU32::new(u32::MAX) }; 2],
            hits: [const { AtomicU64::new(0) }; MAX_PROBES],
        }
    }

    /// Where this CPU's stopper is, if inside a `multi_cpu_stop()`.
    pub(crate) fn stop(&self) -> Option<StopPosition> {
        let state = StopState::from_raw(u64::from(self.stop_state.load(Acquire)))?;
        Some(StopPosition {
            stop: self.stop_id.load(Relaxed),
            state,
            since_ns: self.stop_since_ns.load(Relaxed),
        })
    }

    /// The `stop_machine()` instance this CPU's stopper waits in PREPARE
    /// of, if any (calls of no instance, `stop=0`, do not count).
    pub(crate) fn waiting_in(&self) -> Option<u32> {
        self.stop()
            .filter(|p| p.stop != 0 && p.state == StopState::Prepare)
            .map(|p| p.stop)
    }

    /// The `fn` of the other `multi_cpu_stop()` this CPU's stopper is in
    /// (one no `stop_machine()` started: `stop_two_cpus()` and the like),
    /// if it is in one (0: fn unknown).
    pub(crate) fn other_stop(&self) -> Option<u64> {
        self.stop()
            .filter(|p| p.stop == 0)
            .map(|_| self.stop_func.load(Relaxed))
    }

    /// Whether this CPU's stopper is inside instance `stop`.
    pub(crate) fn in_stop(&self, stop: u32) -> bool {
        self.stop_state.load(Acquire) != NOT_IN_STOP && self.stop_id.load(Relaxed) == stop
    }

    /// Name of the task at the last check.
    pub(crate) fn check_comm(&self) -> Comm {
        words_to_comm([
            self.check_comm[0].load(Relaxed),
            self.check_comm[1].load(Relaxed),
        ])
    }

    /// Whether a touch returning to `caller` at `jiffies` repeats this
    /// CPU's latest one: same caller, same jiffy. (A call site calls one
    /// touch function, so the caller names the source too.) Such a touch
    /// changes nothing the live state or the ring would show (the latest
    /// touch time is kept at most one jiffy old; the ring's rate limit is
    /// by caller as well), so it is only counted ([`CpuLive::coalesce`]).
    ///
    /// No return address is 0, the `touch_caller` of a CPU not touched yet:
    /// before the first touch nothing repeats.
    #[inline(always)]
    pub(crate) fn repeats_touch(&self, jiffies: u64, caller: u64) -> bool {
        self.touch_jiffies.load(Relaxed) == jiffies && self.touch_caller.load(Relaxed) == caller
    }

    /// Counts a touch through probe slot `index` that
    /// [`CpuLive::repeats_touch`]: a hit and a coalesced touch.
    #[inline(always)]
    pub(crate) fn coalesce(&self, index: usize) {
        self.count_hit(index);
        bump(&self.coalesced);
    }

    /// Counts a hit of probe slot `index`.
    #[inline(always)]
    pub(crate) fn count_hit(&self, index: usize) {
        if let Some(h) = self.hits.get(index) {
            bump(h);
        }
    }

    /// Hits of the probes in `mask` (bit `i`: probe slot `i`).
    pub(crate) fn hits_of(&self, mask: u32) -> u64 {
        // Over the set bits only: `stop_machine()`'s entry sums this for
        // every CPU.
        let mut sum = 0u64;
        let mut rest = mask;
        while rest != 0 {
            if let Some(h) = self.hits.get(rest.trailing_zeros() as usize) {
                sum = sum.wrapping_add(h.load(Relaxed));
            }
            rest &= rest - 1;
        }
        sum
    }

    /// Soft-lockup threshold (`2 * watchdog_thresh`) as measured on this
    /// CPU: the watchdog checks every `sample_period = 2 * watchdog_thresh
    /// / 5` (kernel/watchdog.c, `NUM_SAMPLE_PERIODS`).
    pub(crate) fn lockup_threshold_ns(&self) -> u64 {
        match self.check_interval_ns.load(Relaxed) {
            0 => DEFAULT_LOCKUP_NS,
            period => period.saturating_mul(5),
        }
    }
}

/// Adds one to a counter only its own CPU writes (from probe context, which
/// does not nest): a plain load and store, no locked read-modify-write.
#[inline(always)]
pub(crate) fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Relaxed).wrapping_add(1), Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockup_threshold_follows_measured_period() {
        let live = CpuLive::new();
        assert_eq!(live.lockup_threshold_ns(), DEFAULT_LOCKUP_NS);
        // watchdog_thresh=1: sample_period = 2 s / 5 = 400 ms.
        live.check_interval_ns.store(400_000_000, Relaxed);
        assert_eq!(live.lockup_threshold_ns(), 2_000_000_000);
    }

    #[test]
    fn stop_position_follows_the_state_word() {
        let live = CpuLive::new();
        assert_eq!(live.stop(), None);
        assert!(!live.in_stop(0));
        live.stop_id.store(7, Relaxed);
        live.stop_since_ns.store(42, Relaxed);
        live.stop_state.store(StopState::Prepare as u32, Relaxed);
        assert_eq!(
            live.stop(),
            Some(StopPosition {
                stop: 7,
                state: StopState::Prepare,
                since_ns: 42
            })
        );
        assert!(live.in_stop(7));
        assert!(!live.in_stop(8));
        live.stop_state.store(NOT_IN_STOP, Relaxed);
        assert!(!live.in_stop(7));
    }

    #[test]
    fn each_cpus_state_has_its_own_cache_lines() {
        assert_eq!(core::mem::align_of::<CpuLive>(), CACHE_LINE);
        let cpus: alloc::vec::Vec<CpuLive> = (0..3).map(|_| CpuLive::new()).collect();
        for c in &cpus {
            let start = core::ptr::from_ref(c) as usize;
            let end = start + core::mem::size_of::<CpuLive>();
            assert_eq!(start % CACHE_LINE, 0);
            assert_eq!(end % CACHE_LINE, 0);
        }
    }

    #[test]
    fn a_touch_repeats_only_the_same_caller_and_jiffy() {
        let live = CpuLive::new();
        // Before any touch nothing repeats, at any jiffy.
        assert!(!live.repeats_touch(0, 0xabc));
        live.touch_jiffies.store(100, Relaxed);
        live.touch_caller.store(0xabc, Relaxed);
        assert!(live.repeats_touch(100, 0xabc));
        assert!(!live.repeats_touch(101, 0xabc));
        assert!(!live.repeats_touch(100, 0xabd));
        live.coalesce(3);
        live.coalesce(3);
        live.coalesce(MAX_PROBES);
        assert_eq!(live.hits[3].load(Relaxed), 2);
        assert_eq!(live.hits_of(!0), 2);
        assert_eq!(live.coalesced.load(Relaxed), 3);
    }

    #[test]
    fn bump_counts() {
        let c = AtomicU64::new(u64::MAX);
        bump(&c);
        assert_eq!(c.load(Relaxed), 0);
        bump(&c);
        assert_eq!(c.load(Relaxed), 1);
    }
}

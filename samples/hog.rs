// SPDX-License-Identifier: GPL-2.0

//! CPU hog: on each CPU of `cpu` (a list), for `seconds` (one value, or
//! one per CPU), a section with preemption disabled that calls
//! `touch_softlockup_watchdog()` every `touch_ms` (0: never), as the OOM
//! killer's `dump_header()` does while it prints thousands of tasks.
//! Its CPU's stopper cannot run meanwhile: a `stop_machine()` issued now
//! waits for it with every other CPU spinning in PREPARE.
//!
//! Runs once at load (`start=1`, the default; `delay_ms` after it) and
//! again for each `1` written to `/sys/kernel/debug/stopwatch_hog/run`. Always bounded by
//! `seconds`, so the guest recovers.
//!
//! With `pair_cpu=N`, a thread also calls `stop_two_cpus(N, first hogged
//! CPU)` 200 ms after load, as the scheduler's `migrate_swap()` does: CPU
//! N's stopper then waits in that `multi_cpu_stop()` for the hogged CPU, a
//! nested stop for any `stop_machine()` issued meanwhile.

use core::{
    ffi::{c_int, c_void},
    sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
};
use kernel::prelude::*;

#[expect(dead_code, reason = "each module uses a part of the shared services")]
#[path = "../rust/services.rs"]
mod services;
#[expect(dead_code, reason = "the hog runs a thread per CPU, not a `Worker`")]
#[path = "support.rs"]
mod support;

use services::{FileSpec, Files, NoPreempt};
use support::check_param;

module! {
    type: Hog,
    name: "stopwatch_hog",
    description: "Non-preemptible CPU hog that touches its watchdog (stopwatch sample)",
    license: "GPL",
}

/// Most CPUs one load can hog (`HOG_MAX` of hog_seam.c).
const MAX_HOGS: usize = 8;

/// The module parameters (`struct hog_params` of hog_seam.c).
#[repr(C)]
#[derive(Default)]
struct Params {
    /// `cpu`: the first `nr_cpu` entries.
    cpu: [u32; MAX_HOGS],
    /// Entries of `cpu` given.
    nr_cpu: u32,
    /// `seconds`: the first `nr_seconds` entries.
    seconds: [u32; MAX_HOGS],
    /// Entries of `seconds` given.
    nr_seconds: u32,
    /// `touch_ms`.
    touch_ms: u32,
    /// `start`.
    start: bool,
    /// `irqs_off`.
    irqs_off: bool,
    /// `delay_ms`.
    delay_ms: u32,
}

mod ffi {
    use super::Params;
    use core::ffi::c_int;

    extern "C" {
        pub(super) fn touch_softlockup_watchdog();
        pub(super) fn stopwatch_hog_params(out: *mut Params);
        pub(super) fn stopwatch_hog_irq_save() -> usize;
        pub(super) fn stopwatch_hog_irq_restore(flags: usize);
        pub(super) fn stopwatch_hog_pair_start() -> c_int;
        pub(super) fn stopwatch_hog_pair_stop();
    }
}

/// One hogged CPU: its thread's settings and counters.
struct OneHog {
    /// The CPU.
    cpu: u32,
    /// Length of a run.
    seconds: u32,
    /// Touch period (0: never).
    touch_ms: u32,
    /// Interrupts off too.
    irqs_off: bool,
    /// Wait before the run asked for at load.
    delay_ms: u32,
    /// A run was asked for and has not started.
    pending: AtomicBool,
    /// A run is going on.
    running: AtomicBool,
    /// Runs completed.
    runs: AtomicU64,
    /// Watchdog touches made, all runs.
    touches: AtomicU64,
}

/// Shared by the threads, the debugfs files and unload.
struct HogState {
    /// One per CPU, in the order given.
    hogs: KVec<OneHog>,
}

/// The `pair_cpu` thread of hog_seam.c: a `stop_two_cpus()` call with the
/// first hogged CPU (a nested stop). Dropping it waits for the call to
/// return, which it does once that CPU's run ends.
struct Pair;

impl Pair {
    /// Starts the thread, if `pair_cpu` asks for one.
    fn start() -> Result<Self> {
        // SAFETY: no preconditions; `Pair::drop` stops what it starts.
        kernel::error::to_result(unsafe { ffi::stopwatch_hog_pair_start() })?;
        Ok(Pair)
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        // SAFETY: no preconditions (a no-op without a thread).
        unsafe { ffi::stopwatch_hog_pair_stop() };
    }
}

/// The loaded sample. `drop` stops the threads first (a run in progress
/// finishes, bounded by `seconds`); then the fields drop in order: the
/// pair call has returned (the hogged CPU's run is over) and the state the
/// threads read goes with `/sys/kernel/debug/stopwatch_hog/`.
struct Hog {
    /// The `stop_two_cpus()` thread, if any.
    _pair: Pair,
    /// One per hogged CPU, bound to it.
    threads: KVec<support::KThread>,
    /// The state and its files.
    files: Files<HogState>,
}

/// One run: `seconds` with preemption off, touching every `touch_ms`.
fn hog(st: &OneHog) {
    let total_ns = u64::from(st.seconds) * 1_000_000_000;
    let every_ns = u64::from(st.touch_ms) * 1_000_000;
    let mut next_touch = every_ns;
    let mut touches = 0;
    let start = services::now_ns();
    // Nothing in this section sleeps.
    let no_preempt = NoPreempt::new();
    let flags = st.irqs_off.then(|| {
        // SAFETY: no preconditions; restored below, on this CPU
        // (preemption is off).
        unsafe { ffi::stopwatch_hog_irq_save() }
    });
    loop {
        let elapsed = services::now_ns().saturating_sub(start);
        if elapsed >= total_ns {
            break;
        }
        if every_ns != 0 && elapsed >= next_touch {
            // SAFETY: callable from any context.
            unsafe { ffi::touch_softlockup_watchdog() };
            touches += 1;
            next_touch += every_ns;
        }
        services::cpu_relax();
    }
    if let Some(flags) = flags {
        // SAFETY: `flags` came from the save above, on this CPU.
        unsafe { ffi::stopwatch_hog_irq_restore(flags) };
    }
    drop(no_preempt);
    st.touches.fetch_add(touches, Relaxed);
}

/// A thread: wait for a request, hog, repeat, until asked to stop.
///
/// # Safety
///
/// `data` points to a [`OneHog`] inside the pinned [`HogState`], which
/// outlives the thread (see [`Hog`]).
unsafe extern "C" fn hog_thread(data: *mut c_void) -> c_int {
    // SAFETY: guaranteed by the caller.
    let st = unsafe { &*data.cast::<OneHog>() };
    support::sleep_ms(st.delay_ms);
    while !support::should_stop() {
        if st.pending.swap(false, Relaxed) {
            st.running.store(true, Relaxed);
            pr_info!(
                "hogging CPU {} for {} s, touching every {} ms{}\n",
                st.cpu,
                st.seconds,
                st.touch_ms,
                if st.irqs_off { ", interrupts off" } else { "" }
            );
            hog(st);
            st.runs.fetch_add(1, Relaxed);
            st.running.store(false, Relaxed);
            pr_info!("done on CPU {}\n", st.cpu);
        }
        support::sleep_ms(20);
    }
    0
}

/// `run` write: `1` starts a run on every CPU (`EBUSY` while one is going
/// on).
fn write_run(st: &HogState, input: &[u8]) -> Result {
    if input != b"1" && input != b"1\n" {
        return Err(EINVAL);
    }
    if st
        .hogs
        .iter()
        .any(|h| h.running.load(Relaxed) || h.pending.load(Relaxed))
    {
        return Err(EBUSY);
    }
    st.hogs.iter().for_each(|h| h.pending.store(true, Relaxed));
    Ok(())
}

/// `stats` read: the runs every CPU completed, how many run now, all
/// touches; then a line per CPU.
fn write_stats(st: &HogState, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
    let busy = |h: &OneHog| h.running.load(Relaxed) || h.pending.load(Relaxed);
    write!(
        f,
        "runs={} running={} touches={} seconds=",
        st.hogs
            .iter()
            .map(|h| h.runs.load(Relaxed))
            .min()
            .unwrap_or(0),
        st.hogs.iter().filter(|h| busy(h)).count(),
        st.hogs.iter().map(|h| h.touches.load(Relaxed)).sum::<u64>(),
    )?;
    for (i, h) in st.hogs.iter().enumerate() {
        write!(f, "{}{}", if i == 0 { "" } else { "," }, h.seconds)?;
    }
    writeln!(f, " touch_ms={}", st.hogs.first().map_or(0, |h| h.touch_ms))?;
    for h in st.hogs.iter() {
        writeln!(
            f,
            "cpu={} seconds={} runs={} running={} touches={}",
            h.cpu,
            h.seconds,
            h.runs.load(Relaxed),
            u8::from(busy(h)),
            h.touches.load(Relaxed)
        )?;
    }
    Ok(())
}

/// `/sys/kernel/debug/stopwatch_hog/`.
static FILES: [FileSpec<HogState>; 2] = [
    FileSpec {
        name: c"run",
        read: None,
        write: Some(write_run),
        stream: None,
    },
    FileSpec {
        name: c"stats",
        read: Some(write_stats),
        write: None,
        stream: None,
    },
];

impl kernel::Module for Hog {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let mut p = Params::default();
        // SAFETY: `p` is a valid destination of the C struct's layout.
        unsafe { ffi::stopwatch_hog_params(&mut p) };
        let cpus = p.cpu.get(..p.nr_cpu as usize).ok_or(EINVAL)?;
        let seconds = p.seconds.get(..p.nr_seconds as usize).ok_or(EINVAL)?;
        if seconds.len() != 1 && seconds.len() != cpus.len() {
            pr_err!(
                "seconds takes one value or one per CPU: {} for {} CPUs\n",
                seconds.len(),
                cpus.len()
            );
            return Err(EINVAL);
        }
        check_param("touch_ms", p.touch_ms.into(), 0, 10_000)?;
        check_param("delay_ms", p.delay_ms.into(), 0, 60_000)?;
        let mut hogs = KVec::with_capacity(cpus.len(), GFP_KERNEL)?;
        for (i, &cpu) in cpus.iter().enumerate() {
            let secs = seconds.get(i).or(seconds.first()).copied().unwrap_or(0);
            check_param("seconds", secs.into(), 1, 60)?;
            if cpu >= services::nr_cpu_ids() {
                pr_err!("cpu={cpu} does not exist\n");
                return Err(EINVAL);
            }
            if !services::cpu_online(cpu) {
                pr_err!("cpu={cpu} is offline\n");
                return Err(EINVAL);
            }
            if cpus[..i].contains(&cpu) {
                pr_err!("cpu={cpu} is listed twice\n");
                return Err(EINVAL);
            }
            hogs.push(
                OneHog {
                    cpu,
                    seconds: secs,
                    touch_ms: p.touch_ms,
                    irqs_off: p.irqs_off,
                    delay_ms: p.delay_ms,
                    pending: AtomicBool::new(p.start),
                    running: AtomicBool::new(false),
                    runs: AtomicU64::new(0),
                    touches: AtomicU64::new(0),
                },
                GFP_KERNEL,
            )?;
        }
        let files = Files::new(
            c"stopwatch_hog",
            KBox::pin(HogState { hogs }, GFP_KERNEL)?,
            &FILES,
        )?;
        // Before the hog threads: finding `stop_two_cpus()` waits for an
        // RCU grace period, which a running hog holds up.
        let pair = Pair::start()?;
        let mut threads = KVec::with_capacity(files.hogs.len(), GFP_KERNEL)?;
        for h in files.hogs.iter() {
            let data: *const OneHog = h;
            // SAFETY: `data` points into the pinned state in `files`, which
            // `Hog` drops only after `threads`; `hog_thread` loops until
            // asked to stop.
            let thread = unsafe {
                support::KThread::spawn(
                    hog_thread,
                    data.cast_mut().cast(),
                    c"stopwatch_hog/%u",
                    Some(h.cpu),
                )?
            };
            threads.push(thread, GFP_KERNEL)?;
        }
        Ok(Hog {
            _pair: pair,
            threads,
            files,
        })
    }
}

impl Drop for Hog {
    fn drop(&mut self) {
        // A run in progress finishes first (bounded by `seconds`).
        drop(core::mem::take(&mut self.threads));
        let st = &self.files;
        pr_info!(
            "unloaded after {} runs, {} touches\n",
            st.hogs
                .iter()
                .map(|h| h.runs.load(Relaxed))
                .min()
                .unwrap_or(0),
            st.hogs.iter().map(|h| h.touches.load(Relaxed)).sum::<u64>()
        );
    }
}

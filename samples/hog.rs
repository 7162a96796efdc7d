// SPDX-License-Identifier: GPL-2.0

//! CPU hog: on CPU `cpu`, for `seconds`, a section with preemption disabled
//! that calls `touch_softlockup_watchdog()` every `touch_ms` (0: never), as
//! the OOM killer's `dump_header()` does while it prints thousands of tasks.
//! Its CPU's stopper cannot run meanwhile: a `stop_machine()` issued now
//! waits for it with every other CPU spinning in PREPARE.
//!
//! Runs once at load (`start=1`, the default) and again for each `1`
//! written to `/sys/kernel/debug/stopwatch_hog/run`. Always bounded by
//! `seconds`, so the guest recovers.

use core::{
    ffi::{c_int, c_void},
    sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
};
use kernel::prelude::*;

#[expect(dead_code, reason = "each module uses a part of the shared services")]
#[path = "../rust/services.rs"]
mod services;
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

/// The module parameters (`struct hog_params` of hog_seam.c).
#[repr(C)]
#[derive(Default)]
struct Params {
    /// `cpu`.
    cpu: u32,
    /// `seconds`.
    seconds: u32,
    /// `touch_ms`.
    touch_ms: u32,
    /// `start`.
    start: bool,
    /// `irqs_off`.
    irqs_off: bool,
}

mod ffi {
    use super::Params;

    extern "C" {
        pub(super) fn touch_softlockup_watchdog();
        pub(super) fn stopwatch_hog_params(out: *mut Params);
        pub(super) fn stopwatch_hog_irq_save() -> usize;
        pub(super) fn stopwatch_hog_irq_restore(flags: usize);
    }
}

/// Shared by the thread, the debugfs files and unload.
struct HogState {
    /// Parameters, validated.
    seconds: u32,
    /// See [`HogState::seconds`].
    touch_ms: u32,
    /// See [`HogState::seconds`].
    irqs_off: bool,
    /// A run was asked for and has not started.
    pending: AtomicBool,
    /// A run is going on.
    running: AtomicBool,
    /// Runs completed.
    runs: AtomicU64,
    /// Watchdog touches made, all runs.
    touches: AtomicU64,
}

/// The loaded sample: the thread bound to `cpu` and
/// `/sys/kernel/debug/stopwatch_hog/`.
struct Hog(support::Worker<HogState>);

/// One run: `seconds` with preemption off, touching every `touch_ms`.
fn hog(st: &HogState) {
    let total_ns = u64::from(st.seconds) * 1_000_000_000;
    let every_ns = u64::from(st.touch_ms) * 1_000_000;
    let mut next_touch = every_ns;
    let mut touches = 0;
    let start = services::now_ns();
    // Nothing in this section sleeps.
    let no_preempt = NoPreempt::new();
    // SAFETY: no preconditions; restored below, on this CPU (preemption is
    // off).
    let flags = st
        .irqs_off
        .then(|| unsafe { ffi::stopwatch_hog_irq_save() });
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

/// The thread: wait for a request, hog, repeat, until asked to stop.
///
/// # Safety
///
/// `data` points to a pinned [`HogState`] that outlives the thread (see
/// `support::Worker`).
unsafe extern "C" fn hog_thread(data: *mut c_void) -> c_int {
    // SAFETY: `data` is the pinned `HogState`, which outlives the thread
    // (`support::Worker` stops the thread first).
    let st = unsafe { &*data.cast::<HogState>() };
    while !support::should_stop() {
        if st.pending.swap(false, Relaxed) {
            st.running.store(true, Relaxed);
            pr_info!(
                "hogging for {} s, touching every {} ms{}\n",
                st.seconds,
                st.touch_ms,
                if st.irqs_off { ", interrupts off" } else { "" }
            );
            hog(st);
            st.runs.fetch_add(1, Relaxed);
            st.running.store(false, Relaxed);
            pr_info!("done\n");
        }
        support::sleep_ms(20);
    }
    0
}

/// `run` write: `1` starts a run (`EBUSY` while one is going on).
fn write_run(st: &HogState, input: &[u8]) -> Result {
    if input != b"1" && input != b"1\n" {
        return Err(EINVAL);
    }
    if st.running.load(Relaxed) || st.pending.swap(true, Relaxed) {
        return Err(EBUSY);
    }
    Ok(())
}

/// `stats` read.
fn write_stats(st: &HogState, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
    writeln!(
        f,
        "runs={} running={} touches={} seconds={} touch_ms={}",
        st.runs.load(Relaxed),
        u8::from(st.running.load(Relaxed) || st.pending.load(Relaxed)),
        st.touches.load(Relaxed),
        st.seconds,
        st.touch_ms
    )
}

/// `/sys/kernel/debug/stopwatch_hog/`.
static FILES: [FileSpec<HogState>; 2] = [
    FileSpec {
        name: c"run",
        read: None,
        write: Some(write_run),
    },
    FileSpec {
        name: c"stats",
        read: Some(write_stats),
        write: None,
    },
];

impl kernel::Module for Hog {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let mut p = Params::default();
        // SAFETY: `p` is a valid destination of the C struct's layout.
        unsafe { ffi::stopwatch_hog_params(&mut p) };
        check_param("seconds", p.seconds.into(), 1, 60)?;
        check_param("touch_ms", p.touch_ms.into(), 0, 10_000)?;
        if p.cpu >= services::nr_cpu_ids() {
            pr_err!("cpu={} does not exist\n", p.cpu);
            return Err(EINVAL);
        }
        if !services::cpu_online(p.cpu) {
            pr_err!("cpu={} is offline\n", p.cpu);
            return Err(EINVAL);
        }
        let state = KBox::pin(
            HogState {
                seconds: p.seconds,
                touch_ms: p.touch_ms,
                irqs_off: p.irqs_off,
                pending: AtomicBool::new(p.start),
                running: AtomicBool::new(false),
                runs: AtomicU64::new(0),
                touches: AtomicU64::new(0),
            },
            GFP_KERNEL,
        )?;
        let files = Files::new(c"stopwatch_hog", state, &FILES)?;
        // SAFETY: `hog_thread` takes a `*const HogState` and loops until
        // asked to stop.
        let worker =
            unsafe { support::Worker::spawn(files, hog_thread, c"stopwatch_hog/%u", Some(p.cpu))? };
        Ok(Hog(worker))
    }
}

impl Drop for Hog {
    fn drop(&mut self) {
        // A run in progress finishes first (bounded by `seconds`).
        self.0.stop();
        let st = self.0.state();
        pr_info!(
            "unloaded after {} runs, {} touches\n",
            st.runs.load(Relaxed),
            st.touches.load(Relaxed)
        );
    }
}

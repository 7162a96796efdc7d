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

use core::ffi::{c_int, c_void};
use kernel::{
    bindings,
    cpu::CpuId,
    cpumask::Cpumask,
    debugfs::Scope,
    prelude::*,
    processor::cpu_relax,
    sync::atomic::{Atomic, Relaxed},
    time::{Instant, Monotonic},
    uaccess::UserSliceReader,
};

#[path = "support.rs"]
mod support;

use support::check_param;

module! {
    type: Hog,
    name: "stopwatch_hog",
    authors: ["stopwatch developers"],
    description: "Non-preemptible CPU hog that touches its watchdog (stopwatch sample)",
    license: "GPL",
    params: {
        cpu: u32 {
            default: 2,
            description: "CPU to hog (must be online)",
        },
        seconds: u32 {
            default: 6,
            description: "Length of the non-preemptible section (1..=60)",
        },
        touch_ms: u32 {
            default: 100,
            description: "Call touch_softlockup_watchdog() every touch_ms (0: never; ..=10000)",
        },
        start: bool {
            default: true,
            description: "Run once at load",
        },
    },
}

mod ffi {
    extern "C" {
        pub(super) fn touch_softlockup_watchdog();
        pub(super) fn stopwatch_hog_preempt_disable();
        pub(super) fn stopwatch_hog_preempt_enable();
    }
}

/// Shared by the thread, the debugfs files and unload.
struct HogState {
    /// Parameters, validated.
    seconds: u32,
    /// See [`HogState::seconds`].
    touch_ms: u32,
    /// A run was asked for and has not started.
    pending: Atomic<bool>,
    /// A run is going on.
    running: Atomic<bool>,
    /// Runs completed.
    runs: Atomic<u64>,
    /// Watchdog touches made, all runs.
    touches: Atomic<u64>,
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
    let start = Instant::<Monotonic>::now();
    // SAFETY: paired with the enable below; nothing in between sleeps.
    unsafe { ffi::stopwatch_hog_preempt_disable() };
    loop {
        let elapsed = start.elapsed().as_nanos().max(0) as u64;
        if elapsed >= total_ns {
            break;
        }
        if every_ns != 0 && elapsed >= next_touch {
            // SAFETY: callable from any context.
            unsafe { ffi::touch_softlockup_watchdog() };
            touches += 1;
            next_touch += every_ns;
        }
        cpu_relax();
    }
    // SAFETY: paired with the disable above.
    unsafe { ffi::stopwatch_hog_preempt_enable() };
    st.touches.add(touches, Relaxed);
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
        if st.pending.xchg(false, Relaxed) {
            st.running.store(true, Relaxed);
            pr_info!(
                "hogging for {} s, touching every {} ms\n",
                st.seconds,
                st.touch_ms
            );
            hog(st);
            st.runs.add(1, Relaxed);
            st.running.store(false, Relaxed);
            pr_info!("done\n");
        }
        support::sleep_ms(20);
    }
    0
}

/// `run` write: `1` starts a run (`EBUSY` while one is going on).
fn write_run(st: &HogState, reader: &mut UserSliceReader) -> Result {
    let mut buf = [0u8; 4];
    let n = reader.len();
    if n == 0 || n > buf.len() {
        return Err(EINVAL);
    }
    reader.read_slice(&mut buf[..n])?;
    if &buf[..n] != b"1" && &buf[..n] != b"1\n" {
        return Err(EINVAL);
    }
    if st.running.load(Relaxed) || st.pending.xchg(true, Relaxed) {
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

impl kernel::Module for Hog {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let cpu = module_parameters::cpu.value();
        let seconds = module_parameters::seconds.value();
        let touch_ms = module_parameters::touch_ms.value();
        check_param("seconds", seconds, 1..=60)?;
        check_param("touch_ms", touch_ms, 0..=10_000)?;
        let id = CpuId::from_u32(cpu).ok_or_else(|| {
            pr_err!("cpu={cpu} does not exist\n");
            EINVAL
        })?;
        // SAFETY: `__cpu_online_mask` is a static cpumask that lives forever.
        let online = unsafe { Cpumask::from_raw(&raw const bindings::__cpu_online_mask) };
        if !online.test(id) {
            pr_err!("cpu={cpu} is offline\n");
            return Err(EINVAL);
        }
        let state = KBox::pin_init(
            Scope::dir(
                HogState {
                    seconds,
                    touch_ms,
                    pending: Atomic::new(module_parameters::start.value()),
                    running: Atomic::new(false),
                    runs: Atomic::new(0),
                    touches: Atomic::new(0),
                },
                c"stopwatch_hog",
                |st, dir| {
                    dir.write_only_callback_file(c"run", st, &write_run);
                    dir.read_callback_file(c"stats", st, &write_stats);
                },
            ),
            GFP_KERNEL,
        )?;
        // SAFETY: `hog_thread` takes a `*const HogState` and loops until
        // asked to stop.
        let worker =
            unsafe { support::Worker::spawn(state, hog_thread, c"stopwatch_hog/%u", Some(cpu))? };
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

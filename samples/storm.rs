// SPDX-License-Identifier: GPL-2.0

//! stop_machine storm: a kernel thread that calls `stop_machine()` every
//! `period_ms` with a function that busy-works for `work_us`, as the seed's
//! reproducer did. Counts calls and durations in
//! `/sys/kernel/debug/stopwatch_storm/stats` and says them on unload.
//! rmmod stops the thread; a call in flight finishes first.

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

use services::{FileSpec, Files, StaticCpumask};
use support::check_param;

module! {
    type: Storm,
    name: "stopwatch_storm",
    description: "Calls stop_machine() periodically (stopwatch sample)",
    license: "GPL",
}

/// The module parameters (`struct storm_params` of storm_seam.c).
#[repr(C)]
#[derive(Default)]
struct Params {
    /// `period_ms`.
    period_ms: u32,
    /// `work_us`.
    work_us: u32,
    /// `cpu`.
    cpu: i32,
}

mod ffi {
    use super::{c_int, c_void, Params};

    extern "C" {
        pub(super) fn stop_machine(
            func: unsafe extern "C" fn(*mut c_void) -> c_int,
            data: *mut c_void,
            cpus: *const c_void,
        ) -> c_int;
        pub(super) fn stopwatch_storm_params(out: *mut Params);
    }
}

/// The loaded sample: the calling thread and
/// `/sys/kernel/debug/stopwatch_storm/`.
struct Storm(support::Worker<StormState>);

/// Shared between the thread, the debugfs file and unload.
struct StormState {
    /// Parameters, validated.
    period_ms: u32,
    /// See [`StormState::period_ms`].
    work_us: u32,
    /// The active CPU mask, `None` for `cpus == NULL`.
    mask: Option<StaticCpumask>,
    /// A `stop_machine()` call is in progress.
    in_call: AtomicBool,
    /// Calls made.
    calls: AtomicU64,
    /// Calls that returned an error.
    errors: AtomicU64,
    /// Sum and maximum of call durations.
    total_ns: AtomicU64,
    /// See [`StormState::total_ns`].
    max_ns: AtomicU64,
}

/// The function `stop_machine()` runs: busy-work for `*data` microseconds
/// with interrupts off on the active CPU. Not mangled, so that it reads as
/// `stopwatch_storm_work` in `stops` and `events`.
///
/// # Safety
///
/// `data` points to a live `u32`.
#[no_mangle]
unsafe extern "C" fn stopwatch_storm_work(data: *mut c_void) -> c_int {
    // SAFETY: `data` is the `work_us` of a live `StormState`.
    let mut left = unsafe { *data.cast::<u32>() };
    while left > 0 {
        let slice = left.min(1000);
        services::udelay(slice);
        left -= slice;
    }
    0
}

/// The thread: call, record, sleep, until asked to stop.
///
/// # Safety
///
/// `data` points to a pinned [`StormState`] that outlives the thread.
unsafe extern "C" fn storm_thread(data: *mut c_void) -> c_int {
    // SAFETY: `data` is the pinned `StormState`, which outlives the thread
    // (`support::Worker` stops the thread first).
    let st = unsafe { &*data.cast::<StormState>() };
    while !support::should_stop() {
        let mask = st.mask.map_or(core::ptr::null(), StaticCpumask::as_ptr);
        st.in_call.store(true, Relaxed);
        let start = services::now_ns();
        // SAFETY: `stopwatch_storm_work` only reads `work_us`, which lives as long as `st`;
        // `mask` is NULL or a live cpumask.
        let ret = unsafe {
            ffi::stop_machine(
                stopwatch_storm_work,
                (&raw const st.work_us).cast_mut().cast(),
                mask,
            )
        };
        st.in_call.store(false, Relaxed);
        let took = services::now_ns().saturating_sub(start);
        st.calls.fetch_add(1, Relaxed);
        if ret != 0 {
            st.errors.fetch_add(1, Relaxed);
        }
        st.total_ns.fetch_add(took, Relaxed);
        if took > st.max_ns.load(Relaxed) {
            st.max_ns.store(took, Relaxed);
        }
        support::sleep_ms(st.period_ms);
    }
    0
}

/// Writes the `stats` file.
fn write_stats(st: &StormState, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
    let calls = st.calls.load(Relaxed);
    let total = st.total_ns.load(Relaxed);
    writeln!(
        f,
        "calls={calls} errors={} mean_us={} max_us={} period_ms={} work_us={}",
        st.errors.load(Relaxed),
        total.checked_div(calls).unwrap_or(0) / 1000,
        st.max_ns.load(Relaxed) / 1000,
        st.period_ms,
        st.work_us
    )
}

/// `/sys/kernel/debug/stopwatch_storm/`.
static FILES: [FileSpec<StormState>; 1] = [FileSpec {
    name: c"stats",
    read: Some(write_stats),
    write: None,
    stream: None,
}];

impl kernel::Module for Storm {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let mut p = Params::default();
        // SAFETY: `p` is a valid destination of the C struct's layout.
        unsafe { ffi::stopwatch_storm_params(&mut p) };
        check_param("period_ms", p.period_ms.into(), 1, 60_000)?;
        check_param("work_us", p.work_us.into(), 0, 100_000)?;
        let nr = i64::from(services::nr_cpu_ids());
        check_param("cpu", p.cpu.into(), -1, nr - 1)?;
        let mask = match u32::try_from(p.cpu) {
            Ok(cpu) => Some(StaticCpumask::of(cpu).ok_or(EINVAL)?),
            Err(_) => None,
        };
        let state = KBox::pin(
            StormState {
                period_ms: p.period_ms,
                work_us: p.work_us,
                mask,
                in_call: AtomicBool::new(false),
                calls: AtomicU64::new(0),
                errors: AtomicU64::new(0),
                total_ns: AtomicU64::new(0),
                max_ns: AtomicU64::new(0),
            },
            GFP_KERNEL,
        )?;
        let files = Files::new(c"stopwatch_storm", state, &FILES)?;
        // SAFETY: `storm_thread` takes a `*const StormState` and loops until
        // asked to stop.
        let worker =
            unsafe { support::Worker::spawn(files, storm_thread, c"stopwatch_storm", None)? };
        pr_info!(
            "started: period_ms={} work_us={} cpu={}\n",
            p.period_ms,
            p.work_us,
            p.cpu
        );
        Ok(Storm(worker))
    }
}

impl Drop for Storm {
    fn drop(&mut self) {
        if self.0.state().in_call.load(Relaxed) {
            pr_info!("stopping: waiting for the stop_machine() call in flight\n");
        }
        self.0.stop();
        let st = self.0.state();
        let calls = st.calls.load(Relaxed);
        pr_info!(
            "stopped: calls={calls} errors={} max_us={}\n",
            st.errors.load(Relaxed),
            st.max_ns.load(Relaxed) / 1000
        );
    }
}

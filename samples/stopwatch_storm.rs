// SPDX-License-Identifier: GPL-2.0

//! stop_machine storm: a kernel thread that calls `stop_machine()` every
//! `period_ms` with a function that busy-works for `work_us`, as the seed's
//! reproducer did. Counts calls and durations in
//! `/sys/kernel/debug/stopwatch_storm/stats` and says them on unload.
//! rmmod stops the thread; a call in flight finishes first.

use core::ffi::{c_int, c_void};
use kernel::{
    bindings,
    cpu::CpuId,
    cpumask::CpumaskVar,
    debugfs::Scope,
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
    time::{delay::udelay, Delta, Instant, Monotonic},
};

#[path = "support.rs"]
mod support;

use support::check_param;

module! {
    type: Storm,
    name: "stopwatch_storm",
    authors: ["stopwatch developers"],
    description: "Calls stop_machine() periodically (stopwatch sample)",
    license: "GPL",
    params: {
        period_ms: u32 {
            default: 1000,
            description: "Milliseconds between stop_machine() calls (1..=60000)",
        },
        work_us: u32 {
            default: 10,
            description: "Microseconds the stop function busy-works (0..=100000)",
        },
        cpu: i32 {
            default: -1,
            description: "CPU that runs the function (-1: any, i.e. cpus=NULL)",
        },
    },
}

mod ffi {
    use super::{bindings::cpumask, c_int, c_void};

    extern "C" {
        pub(super) fn stop_machine(
            func: unsafe extern "C" fn(*mut c_void) -> c_int,
            data: *mut c_void,
            cpus: *const cpumask,
        ) -> c_int;
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
    mask: Option<CpumaskVar>,
    /// A `stop_machine()` call is in progress.
    in_call: Atomic<bool>,
    /// Calls made.
    calls: Atomic<u64>,
    /// Calls that returned an error.
    errors: Atomic<u64>,
    /// Sum and maximum of call durations.
    total_ns: Atomic<u64>,
    /// See [`StormState::total_ns`].
    max_ns: Atomic<u64>,
}

// SAFETY: the mask is only read after init; counters are atomics.
unsafe impl Sync for StormState {}
// SAFETY: as above.
unsafe impl Send for StormState {}

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
    let mut left = i64::from(unsafe { *data.cast::<u32>() });
    while left > 0 {
        let slice = left.min(1000);
        udelay(Delta::from_micros(slice));
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
        let mask = st
            .mask
            .as_ref()
            .map_or(core::ptr::null(), |m| m.as_raw().cast_const());
        st.in_call.store(true, Relaxed);
        let start = Instant::<Monotonic>::now();
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
        let took = start.elapsed().as_nanos().max(0) as u64;
        st.calls.add(1, Relaxed);
        if ret != 0 {
            st.errors.add(1, Relaxed);
        }
        st.total_ns.add(took, Relaxed);
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

impl kernel::Module for Storm {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let period_ms = module_parameters::period_ms.value();
        let work_us = module_parameters::work_us.value();
        let cpu = module_parameters::cpu.value();
        check_param("period_ms", period_ms, 1..=60_000)?;
        check_param("work_us", work_us, 0..=100_000)?;
        let nr = kernel::cpu::nr_cpu_ids() as i32;
        check_param("cpu", cpu, -1..=nr - 1)?;
        let mask = if cpu < 0 {
            None
        } else {
            let mut m = CpumaskVar::new_zero(GFP_KERNEL)?;
            m.set(CpuId::from_i32(cpu).ok_or(EINVAL)?);
            Some(m)
        };
        let state = KBox::pin_init(
            Scope::dir(
                StormState {
                    period_ms,
                    work_us,
                    mask,
                    in_call: Atomic::new(false),
                    calls: Atomic::new(0),
                    errors: Atomic::new(0),
                    total_ns: Atomic::new(0),
                    max_ns: Atomic::new(0),
                },
                c"stopwatch_storm",
                |st, dir| dir.read_callback_file(c"stats", st, &write_stats),
            ),
            GFP_KERNEL,
        )?;
        // SAFETY: `storm_thread` takes a `*const StormState` and loops until
        // asked to stop.
        let worker =
            unsafe { support::Worker::spawn(state, storm_thread, c"stopwatch_storm", None)? };
        pr_info!("started: period_ms={period_ms} work_us={work_us} cpu={cpu}\n");
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

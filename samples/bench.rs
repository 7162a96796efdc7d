// SPDX-License-Identifier: GPL-2.0

//! Benchmark helper: times `touch_softlockup_watchdog()` calls, and can put
//! a bare kprobe (empty handler) on it, so `scripts/bench` can compare no
//! probe, a bare kprobe and stopwatch in one boot.
//!
//! `/sys/kernel/debug/stopwatch_bench/`:
//! - `bare` (w): `1` registers the bare kprobe, `0` removes it.
//! - `run` (w): `N` makes N calls (1000..=10000000), in chunks of 10000
//!   with preemption disabled, and keeps the time per call.
//! - `result` (r): `calls=N ns_per_call=X.XXX` of the last run.

use kernel::{
    debugfs::Scope,
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
    time::{Instant, Monotonic},
    uaccess::UserSliceReader,
};

module! {
    type: Bench,
    name: "stopwatch_bench",
    authors: ["stopwatch developers"],
    description: "Times touch_softlockup_watchdog() with and without probes (stopwatch sample)",
    license: "GPL",
}

mod ffi {
    extern "C" {
        pub(super) fn touch_softlockup_watchdog();
        pub(super) fn stopwatch_bench_bare_register() -> i32;
        pub(super) fn stopwatch_bench_bare_unregister();
        pub(super) fn stopwatch_bench_preempt_disable();
        pub(super) fn stopwatch_bench_preempt_enable();
    }
}

/// Results of the last run.
struct BenchState {
    /// Calls made.
    calls: Atomic<u64>,
    /// Picoseconds per call.
    ps_per_call: Atomic<u64>,
}

/// The loaded module.
struct Bench {
    /// `/sys/kernel/debug/stopwatch_bench/`.
    _files: Pin<KBox<Scope<BenchState>>>,
}

/// Reads a short decimal number written by the user.
fn read_number(reader: &mut UserSliceReader) -> Result<u64> {
    let mut buf = [0u8; 16];
    let n = reader.len();
    if n == 0 || n > buf.len() {
        return Err(EINVAL);
    }
    reader.read_slice(&mut buf[..n])?;
    let text = buf[..n].strip_suffix(b"\n").unwrap_or(&buf[..n]);
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return Err(EINVAL);
    }
    core::str::from_utf8(text)
        .map_err(|_| EINVAL)?
        .parse()
        .map_err(|_| EINVAL)
}

/// `bare` write.
fn write_bare(_: &BenchState, reader: &mut UserSliceReader) -> Result {
    match read_number(reader)? {
        // SAFETY: registers a static kprobe with an empty handler.
        1 => kernel::error::to_result(unsafe { ffi::stopwatch_bench_bare_register() }),
        0 => {
            // SAFETY: no-op if not registered.
            unsafe { ffi::stopwatch_bench_bare_unregister() };
            Ok(())
        }
        _ => Err(EINVAL),
    }
}

/// `run` write: time N calls.
fn write_run(st: &BenchState, reader: &mut UserSliceReader) -> Result {
    let calls = read_number(reader)?;
    if !(1000..=10_000_000).contains(&calls) {
        return Err(EINVAL);
    }
    let mut total_ns = 0u64;
    let mut left = calls;
    while left > 0 {
        let chunk = left.min(10_000);
        // SAFETY: paired with the enable below; nothing in between sleeps.
        unsafe { ffi::stopwatch_bench_preempt_disable() };
        let start = Instant::<Monotonic>::now();
        for _ in 0..chunk {
            // SAFETY: callable from any context.
            unsafe { ffi::touch_softlockup_watchdog() };
        }
        total_ns += start.elapsed().as_nanos().max(0) as u64;
        // SAFETY: paired with the disable above.
        unsafe { ffi::stopwatch_bench_preempt_enable() };
        left -= chunk;
    }
    st.calls.store(calls, Relaxed);
    st.ps_per_call.store(total_ns * 1000 / calls, Relaxed);
    Ok(())
}

/// `result` read.
fn write_result(st: &BenchState, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
    let ps = st.ps_per_call.load(Relaxed);
    writeln!(
        f,
        "calls={} ns_per_call={}.{:03}",
        st.calls.load(Relaxed),
        ps / 1000,
        ps % 1000
    )
}

impl kernel::Module for Bench {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let files = KBox::pin_init(
            Scope::dir(
                BenchState {
                    calls: Atomic::new(0),
                    ps_per_call: Atomic::new(0),
                },
                c"stopwatch_bench",
                |st, dir| {
                    dir.write_only_callback_file(c"bare", st, &write_bare);
                    dir.write_only_callback_file(c"run", st, &write_run);
                    dir.read_callback_file(c"result", st, &write_result);
                },
            ),
            GFP_KERNEL,
        )?;
        Ok(Self { _files: files })
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        // SAFETY: no-op if not registered; waits for a running handler.
        unsafe { ffi::stopwatch_bench_bare_unregister() };
    }
}

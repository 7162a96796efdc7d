// SPDX-License-Identifier: GPL-2.0

//! Benchmark helper: times `touch_softlockup_watchdog()` calls, and can put
//! a bare kprobe (empty handler) on it, so `scripts/bench` can compare no
//! probe, a bare kprobe and stopwatch in one boot; and times record writes
//! to stopwatch's own ring (`rust/ring.rs`, the same file) against the
//! kernel's `ring_buffer_write()`.
//!
//! `/sys/kernel/debug/stopwatch_bench/`:
//! - `bare` (w): `1` registers the bare kprobe, `0` removes it.
//! - `run` (w): `N` makes N calls (1000..=10000000), in chunks of 10000
//!   with preemption disabled, and keeps the time per call.
//! - `ring_write` (w): `N` writes N 32-byte records, each stamped with
//!   `ktime_get_mono_fast_ns()` as the probes do, to a stopwatch ring.
//! - `rb_write` (w): `N` writes N 32-byte events to an overwriting kernel
//!   `ring_buffer` (which stamps them with its own clock).
//! - `result` (r): `ops=N ns_per_op=X.XXX` of the last of these.

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use kernel::prelude::*;

#[expect(dead_code, reason = "each module uses a part of the shared services")]
#[path = "../rust/services.rs"]
mod services;
// The same file stopwatch.ko is built from; the benchmark uses a part.
#[path = "../rust/logic/ring.rs"]
#[expect(dead_code, reason = "only the write side is timed")]
mod ring;

use services::{FileSpec, Files, NoPreempt};

module! {
    type: Bench,
    name: "stopwatch_bench",
    description: "Times touch_softlockup_watchdog() with and without probes (stopwatch sample)",
    license: "GPL",
}

mod ffi {
    extern "C" {
        pub(super) fn touch_softlockup_watchdog();
        pub(super) fn stopwatch_bench_bare_register() -> i32;
        pub(super) fn stopwatch_bench_bare_unregister();
        pub(super) fn stopwatch_bench_rb_alloc(bytes_per_cpu: usize) -> *mut core::ffi::c_void;
        pub(super) fn stopwatch_bench_rb_free(rb: *mut core::ffi::c_void);
        pub(super) fn stopwatch_bench_rb_write(
            rb: *mut core::ffi::c_void,
            data: *const core::ffi::c_void,
            len: usize,
        ) -> i32;
    }
}

/// Records per ring in the ring benchmarks.
const RING_RECORDS: usize = 4096;

/// The rings under test and the results of the last run.
struct BenchState {
    /// Operations timed.
    ops: AtomicU64,
    /// Picoseconds per operation.
    ps_per_op: AtomicU64,
    /// A stopwatch ring.
    ring: ring::Ring<KVVec<ring::Slot>>,
    /// A kernel `struct trace_buffer`, overwriting; freed on drop.
    rb: RingBufferPtr,
}

/// Owner of a kernel `struct trace_buffer`.
///
/// # Invariants
///
/// The pointer came from `ring_buffer_alloc()` and is freed only on drop.
struct RingBufferPtr(*mut core::ffi::c_void);

// SAFETY: the ring_buffer API may be used from any CPU.
unsafe impl Send for RingBufferPtr {}
// SAFETY: writers serialise per CPU inside the ring_buffer.
unsafe impl Sync for RingBufferPtr {}

impl Drop for RingBufferPtr {
    fn drop(&mut self) {
        // SAFETY: by the type invariants the buffer is live and ours.
        unsafe { ffi::stopwatch_bench_rb_free(self.0) };
    }
}

/// The loaded module.
struct Bench {
    /// `/sys/kernel/debug/stopwatch_bench/`.
    _files: Files<BenchState>,
}

/// Reads a short decimal number written by the user.
fn read_number(input: &[u8]) -> Result<u64> {
    if input.len() > 16 {
        return Err(EINVAL);
    }
    let text = input.strip_suffix(b"\n").unwrap_or(input);
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return Err(EINVAL);
    }
    core::str::from_utf8(text)
        .map_err(|_| EINVAL)?
        .parse()
        .map_err(|_| EINVAL)
}

/// `bare` write.
fn write_bare(_: &BenchState, input: &[u8]) -> Result {
    match read_number(input)? {
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

/// Times `n` runs of `op` in chunks of 10000 with preemption disabled and
/// keeps the time per run.
fn time_ops(st: &BenchState, n: u64, mut op: impl FnMut(u64)) -> Result {
    if !(1000..=10_000_000).contains(&n) {
        return Err(EINVAL);
    }
    let mut total_ns = 0u64;
    let mut done = 0;
    while done < n {
        let chunk = (n - done).min(10_000);
        // Nothing in this section sleeps.
        let no_preempt = NoPreempt::new();
        let start = services::now_ns();
        for i in done..done + chunk {
            op(i);
        }
        total_ns += services::now_ns().saturating_sub(start);
        drop(no_preempt);
        done += chunk;
    }
    st.ops.store(n, Relaxed);
    st.ps_per_op.store(total_ns * 1000 / n, Relaxed);
    Ok(())
}

/// `run` write: time N watchdog touches.
fn write_run(st: &BenchState, input: &[u8]) -> Result {
    let n = read_number(input)?;
    time_ops(st, n, |_| {
        // SAFETY: callable from any context.
        unsafe { ffi::touch_softlockup_watchdog() }
    })
}

/// `ring_write` write: time N records into a stopwatch ring.
fn write_ring(st: &BenchState, input: &[u8]) -> Result {
    let n = read_number(input)?;
    time_ops(st, n, |i| {
        let ts = services::now_ns();
        // One writer: this CPU, preemption disabled.
        st.ring.push([ts, i, i, i]);
    })
}

/// `rb_write` write: time N events into the kernel's ring_buffer.
fn write_rb(st: &BenchState, input: &[u8]) -> Result {
    let n = read_number(input)?;
    time_ops(st, n, |i| {
        let words = [0u64, i, i, i];
        // SAFETY: the buffer is live (type invariants of `RingBufferPtr`);
        // `words` is 32 readable bytes.
        unsafe { ffi::stopwatch_bench_rb_write(st.rb.0, words.as_ptr().cast(), 32) };
    })
}

/// `result` read.
fn write_result(st: &BenchState, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
    let ps = st.ps_per_op.load(Relaxed);
    writeln!(
        f,
        "ops={} ns_per_op={}.{:03}",
        st.ops.load(Relaxed),
        ps / 1000,
        ps % 1000
    )
}

/// A write-only file.
const fn write_only(
    name: &'static core::ffi::CStr,
    write: services::WriteFn<BenchState>,
) -> FileSpec<BenchState> {
    FileSpec {
        name,
        read: None,
        write: Some(write),
        stream: None,
    }
}

/// `/sys/kernel/debug/stopwatch_bench/`.
static FILES: [FileSpec<BenchState>; 5] = [
    write_only(c"bare", write_bare),
    write_only(c"run", write_run),
    write_only(c"ring_write", write_ring),
    write_only(c"rb_write", write_rb),
    FileSpec {
        name: c"result",
        read: Some(write_result),
        write: None,
        stream: None,
    },
];

impl kernel::Module for Bench {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // Room for RING_RECORDS events of 32 bytes plus their headers.
        // SAFETY: allocates a new buffer or returns NULL.
        let rb = unsafe { ffi::stopwatch_bench_rb_alloc(RING_RECORDS * 48) };
        if rb.is_null() {
            return Err(ENOMEM);
        }
        let rb = RingBufferPtr(rb);
        let mut slots = KVVec::with_capacity(RING_RECORDS, GFP_KERNEL)?;
        for _ in 0..RING_RECORDS {
            slots.push(ring::Slot::new(), GFP_KERNEL)?;
        }
        let state = KBox::pin(
            BenchState {
                ops: AtomicU64::new(0),
                ps_per_op: AtomicU64::new(0),
                ring: ring::Ring::new(slots).map_err(|_| EINVAL)?,
                rb,
            },
            GFP_KERNEL,
        )?;
        let files = Files::new(c"stopwatch_bench", state, &FILES)?;
        Ok(Self { _files: files })
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        // SAFETY: no-op if not registered; waits for a running handler.
        unsafe { ffi::stopwatch_bench_bare_unregister() };
    }
}

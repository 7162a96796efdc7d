// SPDX-License-Identifier: GPL-2.0

//! Benchmark helper: times the calls stopwatch probes, so `scripts/bench`
//! can compare no probe, a bare kprobe, ftrace and stopwatch in one boot:
//! `touch_softlockup_watchdog()`, `touch_softlockup_watchdog_sync()` and
//! `stop_machine()`, with bare probes (empty handlers) it can put where
//! stopwatch puts its own; and times record writes to stopwatch's own ring
//! (`rust/logic/ring.rs`, the same file) against the kernel's
//! `ring_buffer_write()`.
//!
//! `/sys/kernel/debug/stopwatch_bench/`:
//! - `bare` (w): bare probes (empty handlers) placed as stopwatch places
//!   its own: `1` on the two touch functions timed, `2` on the
//!   `stop_machine()` path; the floor of any per-CPU view of a
//!   `stop_machine()`: `3` a kretprobe on `multi_cpu_stop()` alone, `4` an
//!   entry kprobe there alone; `2` split by the spin probe: `5` without
//!   it, `6` with one the kprobe core may jump-optimise; `0` removes them.
//! - `run` (w): `N` makes N `touch_softlockup_watchdog()` calls
//!   (1000..=10000000) from one call site, in chunks of 10000 with
//!   preemption disabled, and keeps the time per call.
//! - `run_alternate` (w): `N` such calls from two call sites in turn, so no
//!   touch repeats the one before (stopwatch records each).
//! - `run_sync` (w): `N` `touch_softlockup_watchdog_sync()` calls.
//! - `stop_machine` (w): `N` round trips (1..=10000) of `stop_machine()`
//!   with an empty function on every online CPU.
//! - `stop_window` (w): `N` `stop_machine()` calls (1..=10000) with every
//!   online CPU active; the result is the mean interrupts-off window, from
//!   the last CPU's arrival (one spin before DISABLE_IRQ) to the last CPU
//!   enabling interrupts again (`bench_seam.c` says how, without a probe
//!   where stopwatch probes).
//! - `ring_write` (w): `N` writes N 32-byte records, each stamped with
//!   `ktime_get_mono_fast_ns()` as the probes do, to a stopwatch ring.
//! - `rb_write` (w): `N` writes N 32-byte events to an overwriting kernel
//!   `ring_buffer` (which stamps them with its own clock).
//! - `result` (r): `ops=N ns_per_op=X.XXX` of the last of these.
//! - `clock` (r): `ktime_get_mono_fast_ns()` now, for the guest to time
//!   reads of files (under `-icount` the guest clock counts instructions).
//! - `probe_try` (rw), for the tests: writing a hex address tries a kprobe
//!   there (registered and unregistered again); reading gives `ret=` 0 or
//!   the -errno of `register_kprobe()`.

use core::sync::atomic::{AtomicI32, AtomicU64, Ordering::Relaxed};
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
        pub(super) fn stopwatch_bench_bare_register(set: u32) -> i32;
        pub(super) fn stopwatch_bench_bare_unregister();
        pub(super) fn stopwatch_bench_rb_alloc(bytes_per_cpu: usize) -> *mut core::ffi::c_void;
        pub(super) fn stopwatch_bench_rb_free(rb: *mut core::ffi::c_void);
        pub(super) fn stopwatch_bench_rb_write(
            rb: *mut core::ffi::c_void,
            data: *const core::ffi::c_void,
            len: usize,
        ) -> i32;
        pub(super) fn stopwatch_bench_touch_pair();
        pub(super) fn stopwatch_bench_sync_lookup() -> i32;
        pub(super) fn stopwatch_bench_touch_sync();
        pub(super) fn stopwatch_bench_stop_machine() -> i32;
        pub(super) fn stopwatch_bench_window_start() -> i32;
        pub(super) fn stopwatch_bench_window_stop();
        pub(super) fn stopwatch_bench_stop_window(window_ns: *mut u64) -> i32;
        pub(super) fn stopwatch_bench_probe_try(addr: usize) -> i32;
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
    /// What the last `probe_try` got.
    probe_ret: AtomicI32,
    /// A stopwatch ring.
    ring: ring::Ring<KVVec<ring::Slot>>,
    /// A kernel `struct trace_buffer`, overwriting; freed on drop.
    rb: RingBufferPtr,
}

impl BenchState {
    /// Keeps the result of a run: `ops` operations in `total_ns`.
    fn keep(&self, ops: u64, total_ns: u64) {
        self.ops.store(ops, Relaxed);
        self.ps_per_op.store(
            total_ns.saturating_mul(1000).checked_div(ops).unwrap_or(0),
            Relaxed,
        );
    }
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
        set @ 1..=6 => {
            // SAFETY: registers static probes with empty handlers (or
            // refuses with -EBUSY while a set is registered).
            let err = unsafe { ffi::stopwatch_bench_bare_register(set as u32) };
            kernel::error::to_result(err)
        }
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
fn time_ops(st: &BenchState, n: u64, op: impl FnMut(u64)) -> Result {
    time_calls(st, n, 1, op)
}

/// Times `n` calls made `per_op` at a time by `op` (`n / per_op` runs), in
/// chunks of 10000 with preemption disabled, and keeps the time per call.
fn time_calls(st: &BenchState, n: u64, per_op: u64, mut op: impl FnMut(u64)) -> Result {
    if !(1000..=10_000_000).contains(&n) {
        return Err(EINVAL);
    }
    let runs = n.checked_div(per_op).ok_or(EINVAL)?;
    let mut total_ns = 0u64;
    let mut done = 0;
    while done < runs {
        let chunk = (runs - done).min(10_000);
        // Nothing in this section sleeps.
        let no_preempt = NoPreempt::new();
        let start = services::now_ns();
        for i in done..done + chunk {
            op(i);
        }
        total_ns += services::now_ns().saturating_sub(start);
        drop(no_preempt);
        done += chunk;
        // Outside the timed section: on a kernel without forced preemption
        // a million touches under KASAN and TCG hold the CPU long enough
        // for an RCU stall report (6.12 debug, seen in the soak).
        services::cond_resched();
    }
    st.keep(runs.saturating_mul(per_op), total_ns);
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

/// `run_alternate` write: time N watchdog touches from two call sites in
/// turn.
fn write_run_alternate(st: &BenchState, input: &[u8]) -> Result {
    let n = read_number(input)?;
    time_calls(st, n, 2, |_| {
        // SAFETY: callable from any context.
        unsafe { ffi::stopwatch_bench_touch_pair() }
    })
}

/// `run_sync` write: time N `touch_softlockup_watchdog_sync()` calls.
fn write_run_sync(st: &BenchState, input: &[u8]) -> Result {
    let n = read_number(input)?;
    time_ops(st, n, |_| {
        // SAFETY: the function was found at load (`Bench::init`); it only
        // writes this CPU's watchdog state, preemption is disabled.
        unsafe { ffi::stopwatch_bench_touch_sync() }
    })
}

/// A number of `stop_machine()` calls written by the user (1..=10000).
fn read_stops(input: &[u8]) -> Result<u64> {
    let n = read_number(input)?;
    if !(1..=10_000).contains(&n) {
        return Err(EINVAL);
    }
    Ok(n)
}

/// `stop_machine` write: time N `stop_machine()` round trips.
fn write_stop_machine(st: &BenchState, input: &[u8]) -> Result {
    let n = read_stops(input)?;
    let start = services::now_ns();
    for _ in 0..n {
        // SAFETY: process context (a debugfs write), no lock held.
        kernel::error::to_result(unsafe { ffi::stopwatch_bench_stop_machine() })?;
    }
    st.keep(n, services::now_ns().saturating_sub(start));
    Ok(())
}

/// `stop_window` write: the mean interrupts-off window of N calls.
fn write_stop_window(st: &BenchState, input: &[u8]) -> Result {
    let n = read_stops(input)?;
    // SAFETY: process context; undone below.
    kernel::error::to_result(unsafe { ffi::stopwatch_bench_window_start() })?;
    let mut total_ns = 0u64;
    let mut ret = Ok(());
    for _ in 0..n {
        let mut window_ns = 0;
        // SAFETY: process context (a debugfs write), no lock held;
        // `window_ns` is a valid destination.
        ret = kernel::error::to_result(unsafe { ffi::stopwatch_bench_stop_window(&mut window_ns) });
        if ret.is_err() {
            break;
        }
        total_ns = total_ns.saturating_add(window_ns);
    }
    // SAFETY: registered above.
    unsafe { ffi::stopwatch_bench_window_stop() };
    ret?;
    st.keep(n, total_ns);
    Ok(())
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

/// `probe_try` write: a kprobe at a hex address, tried.
fn write_probe_try(st: &BenchState, input: &[u8]) -> Result {
    let text = input.strip_suffix(b"\n").unwrap_or(input);
    let text = text.strip_prefix(b"0x").unwrap_or(text);
    if text.is_empty() || text.len() > 16 || !text.iter().all(u8::is_ascii_hexdigit) {
        return Err(EINVAL);
    }
    let text = core::str::from_utf8(text).map_err(|_| EINVAL)?;
    let addr = usize::from_str_radix(text, 16).map_err(|_| EINVAL)?;
    // SAFETY: registering a kprobe with an empty handler is safe at any
    // address kprobes accepts; it refuses the others.
    let ret = unsafe { ffi::stopwatch_bench_probe_try(addr) };
    st.probe_ret.store(ret, Relaxed);
    Ok(())
}

/// `probe_try` read.
fn read_probe_try(st: &BenchState, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
    writeln!(f, "ret={}", st.probe_ret.load(Relaxed))
}

/// `clock` read.
fn read_clock(_: &BenchState, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
    writeln!(f, "{}", services::now_ns())
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
static FILES: [FileSpec<BenchState>; 11] = [
    write_only(c"bare", write_bare),
    write_only(c"run", write_run),
    write_only(c"run_alternate", write_run_alternate),
    write_only(c"run_sync", write_run_sync),
    write_only(c"stop_machine", write_stop_machine),
    write_only(c"stop_window", write_stop_window),
    write_only(c"ring_write", write_ring),
    write_only(c"rb_write", write_rb),
    FileSpec {
        name: c"result",
        read: Some(write_result),
        write: None,
        stream: None,
    },
    FileSpec {
        name: c"clock",
        read: Some(read_clock),
        write: None,
        stream: None,
    },
    FileSpec {
        name: c"probe_try",
        read: Some(read_probe_try),
        write: Some(write_probe_try),
        stream: None,
    },
];

impl kernel::Module for Bench {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // SAFETY: no preconditions; a failure is printed.
        kernel::error::to_result(unsafe { ffi::stopwatch_bench_sync_lookup() })?;
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
                probe_ret: AtomicI32::new(0),
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

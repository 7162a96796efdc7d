// SPDX-License-Identifier: GPL-2.0

//! Kernel services every stopwatch module uses: debugfs files, the clock,
//! CPUs, preemption, RCU and delays.
//!
//! They are implemented in C (`services.c`, #included by each module's C
//! seam) because the kernels stopwatch supports do not share Rust
//! abstractions for them: 6.12's `kernel` crate has no debugfs, CPU, RCU or
//! clock modules and 7.3's differ. Through this file every kernel takes
//! the same code path; this is the only `extern "C"` block for them, and
//! the rest of each module stays safe. Each module includes this file
//! (`stopwatch.ko` as `mod services`, the samples with `#[path]`).

use core::ffi::{c_int, c_void, CStr};

mod ffi {
    use super::{c_int, c_void};

    extern "C" {
        pub(super) fn stopwatch_debugfs_dir(name: *const u8, out: *mut *mut c_void) -> c_int;
        /// `file` is a `SwFile`, opaque to C but for its layout.
        pub(super) fn stopwatch_debugfs_file(
            dir: *mut c_void,
            name: *const u8,
            file: *const c_void,
        ) -> c_int;
        pub(super) fn stopwatch_debugfs_remove(dir: *mut c_void);
        pub(super) fn stopwatch_seq_write(m: *mut c_void, buf: *const u8, len: usize) -> c_int;
        pub(super) fn stopwatch_cond_resched();
        pub(super) fn stopwatch_note_hold(ns: u64);
        pub(super) fn stopwatch_longest_hold_ns() -> u64;
        pub(super) fn stopwatch_now_ns() -> u64;
        pub(super) fn stopwatch_printk_clock_ns() -> u64;
        pub(super) fn stopwatch_msecs_to_jiffies(ms: u32) -> core::ffi::c_ulong;
        pub(super) fn stopwatch_udelay(us: u32);
        pub(super) fn stopwatch_nr_cpu_ids() -> u32;
        pub(super) fn stopwatch_cpu_online(cpu: u32) -> bool;
        pub(super) fn stopwatch_cpu_active(cpu: u32) -> bool;
        pub(super) fn stopwatch_this_cpu() -> u32;
        pub(super) fn stopwatch_num_online_cpus() -> u32;
        pub(super) fn stopwatch_cpu_online_mask() -> *const c_void;
        pub(super) fn stopwatch_cpu_active_mask() -> *const c_void;
        pub(super) fn stopwatch_cpumask_weight(mask: *const c_void) -> u32;
        pub(super) fn stopwatch_cpumask_of(cpu: u32) -> *const c_void;
        pub(super) fn stopwatch_preempt_disable();
        pub(super) fn stopwatch_preempt_enable();
        pub(super) fn stopwatch_cpu_relax();
        pub(super) fn stopwatch_synchronize_rcu();
    }
}

/// `s` as C's `const char *` (the kernel's `char` is unsigned).
pub(crate) fn c_str(s: &CStr) -> *const u8 {
    s.to_bytes_with_nul().as_ptr()
}

// --- time ----------------------------------------------------------------

/// `ktime_get_mono_fast_ns()`: the NMI-safe clock every record uses.
#[inline(always)]
pub(crate) fn now_ns() -> u64 {
    // SAFETY: no preconditions; NMI safe.
    unsafe { ffi::stopwatch_now_ns() }
}

/// `local_clock()`: the clock of printk timestamps (dmesg's `[s.us]`).
pub(crate) fn printk_clock_ns() -> u64 {
    // SAFETY: no preconditions.
    unsafe { ffi::stopwatch_printk_clock_ns() }
}

/// `msecs_to_jiffies(ms)`.
pub(crate) fn msecs_to_jiffies(ms: u32) -> core::ffi::c_ulong {
    // SAFETY: no preconditions.
    unsafe { ffi::stopwatch_msecs_to_jiffies(ms) }
}

/// Busy-waits `us` microseconds (`udelay()`).
pub(crate) fn udelay(us: u32) {
    // SAFETY: no preconditions.
    unsafe { ffi::stopwatch_udelay(us) }
}

// --- CPUs ----------------------------------------------------------------

/// `nr_cpu_ids`: CPU ids are below it.
pub(crate) fn nr_cpu_ids() -> u32 {
    // SAFETY: no preconditions.
    unsafe { ffi::stopwatch_nr_cpu_ids() }
}

/// Whether `cpu` exists and is online.
#[inline(always)]
pub(crate) fn cpu_online(cpu: u32) -> bool {
    // SAFETY: the C side checks `cpu < nr_cpu_ids`.
    unsafe { ffi::stopwatch_cpu_online(cpu) }
}

/// Whether `cpu` exists and is active: online and schedulable, and still
/// so after a panic has stopped it (which takes it offline).
pub(crate) fn cpu_active(cpu: u32) -> bool {
    // SAFETY: the C side checks `cpu < nr_cpu_ids`.
    unsafe { ffi::stopwatch_cpu_active(cpu) }
}

/// The CPU the caller runs on; meaningful only where it cannot migrate
/// (interrupt context, preemption off).
pub(crate) fn this_cpu() -> u32 {
    // SAFETY: no preconditions.
    unsafe { ffi::stopwatch_this_cpu() }
}

/// Number of online CPUs.
pub(crate) fn num_online_cpus() -> u32 {
    // SAFETY: no preconditions.
    unsafe { ffi::stopwatch_num_online_cpus() }
}

/// Address of `cpu_online_mask`.
pub(crate) fn cpu_online_mask() -> u64 {
    // SAFETY: no preconditions.
    unsafe { ffi::stopwatch_cpu_online_mask() as u64 }
}

/// Address of `cpu_active_mask`.
pub(crate) fn cpu_active_mask() -> u64 {
    // SAFETY: no preconditions.
    unsafe { ffi::stopwatch_cpu_active_mask() as u64 }
}

/// A `struct cpumask` that lives as long as the kernel: `cpumask_of()`.
#[derive(Clone, Copy)]
pub(crate) struct StaticCpumask(*const c_void);

// SAFETY: the mask is static and never written.
unsafe impl Send for StaticCpumask {}
// SAFETY: as above.
unsafe impl Sync for StaticCpumask {}

impl StaticCpumask {
    /// The mask of `cpu` alone; `None` if there is no such CPU.
    pub(crate) fn of(cpu: u32) -> Option<Self> {
        // SAFETY: the C side checks `cpu < nr_cpu_ids`.
        let mask = unsafe { ffi::stopwatch_cpumask_of(cpu) };
        (!mask.is_null()).then_some(Self(mask))
    }

    /// The mask, for C.
    pub(crate) fn as_ptr(self) -> *const c_void {
        self.0
    }
}

/// Number of CPUs in the cpumask at `mask`, 0 for NULL.
///
/// # Safety
///
/// `mask` is NULL or points to a live `struct cpumask`.
#[inline(always)]
pub(crate) unsafe fn cpumask_weight(mask: u64) -> u32 {
    // SAFETY: guaranteed by the caller.
    unsafe { ffi::stopwatch_cpumask_weight(mask as *const c_void) }
}

// --- scheduling ----------------------------------------------------------

/// A section with preemption disabled: enabled again on drop. Nothing in
/// it may sleep. Not `Send`: it must be dropped by the task that made it.
pub(crate) struct NoPreempt(core::marker::PhantomData<*mut ()>);

impl NoPreempt {
    /// Disables preemption until the guard is dropped.
    pub(crate) fn new() -> Self {
        // SAFETY: paired with the enable in `drop`.
        unsafe { ffi::stopwatch_preempt_disable() };
        Self(core::marker::PhantomData)
    }
}

impl Drop for NoPreempt {
    fn drop(&mut self) {
        // SAFETY: paired with the disable in `new`.
        unsafe { ffi::stopwatch_preempt_enable() };
    }
}

/// `cpu_relax()`: a pause in a busy-wait loop.
pub(crate) fn cpu_relax() {
    // SAFETY: no preconditions.
    unsafe { ffi::stopwatch_cpu_relax() }
}

/// `synchronize_rcu()`: waits until every CPU has left any section with
/// preemption disabled (a probe handler runs in one) begun before it.
pub(crate) fn synchronize_rcu() {
    // SAFETY: called from process context (may sleep).
    unsafe { ffi::stopwatch_synchronize_rcu() }
}

/// Lets the scheduler run something else if it wants to (process context
/// only).
pub(crate) fn cond_resched() {
    // SAFETY: no preconditions beyond process context, the caller's.
    unsafe { ffi::stopwatch_cond_resched() }
}

/// The longest a reader means to keep its CPU between yields: an eighth
/// of a tick at HZ=250, a half at HZ=1000.
pub(crate) const HOLD_NS: u64 = 500_000;

/// A reader's stretches on the CPU between yields, measured: the longest
/// of any reader since load is [`longest_hold_ns`] (the stream files
/// measure theirs in C the same way).
pub(crate) struct Yielder {
    /// When the current stretch began.
    since_ns: u64,
}

impl Yielder {
    /// Starts measuring now.
    pub(crate) fn new() -> Self {
        Self { since_ns: now_ns() }
    }

    /// Yields if the stretch so far is [`HOLD_NS`] or longer (process
    /// context only): a reader whose every step costs in proportion to the
    /// CPUs (a merge of every CPU's ring) yields as often in time at 64
    /// CPUs as at 4.
    pub(crate) fn yield_if_due(&mut self) {
        if now_ns().saturating_sub(self.since_ns) >= HOLD_NS {
            self.yield_now();
        }
    }

    /// Ends the stretch so far and lets the scheduler run something else
    /// (process context only).
    pub(crate) fn yield_now(&mut self) {
        // SAFETY: no preconditions.
        unsafe { ffi::stopwatch_note_hold(now_ns().saturating_sub(self.since_ns)) };
        cond_resched();
        self.since_ns = now_ns();
    }
}

impl Drop for Yielder {
    fn drop(&mut self) {
        // SAFETY: no preconditions.
        unsafe { ffi::stopwatch_note_hold(now_ns().saturating_sub(self.since_ns)) };
    }
}

/// The longest any reader of this module's files ran on a CPU between two
/// yields, since load (ns).
pub(crate) fn longest_hold_ns() -> u64 {
    // SAFETY: no preconditions.
    unsafe { ffi::stopwatch_longest_hold_ns() }
}

// The debugfs files: their specs, the C entry points and `Files`.
#[path = "services/debugfs.rs"]
mod debugfs;
pub(crate) use debugfs::*;

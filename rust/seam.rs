// SPDX-License-Identifier: GPL-2.0

//! stopwatch's own seam to C: `stopwatch_seam.c`, linked into the same
//! `.ko` (the services it shares with the samples are in `services.rs`).
//!
//! No kernel's Rust bindings have kprobes, `stop_machine.h` or a view of
//! the private `struct multi_stop_data`; `struct kprobe` must live in C
//! because its handlers take `struct pt_regs` and are registered by
//! address; and 6.12's `module!` takes no parameters. The C file does only
//! that; this module declares its functions in one private `extern "C"`
//! block and wraps each in a safe function. Nothing else in the crate uses
//! `unsafe` to reach C.

use crate::logic::{
    comm::{Comm, COMM_LEN},
    layout::Seen,
    live::CpuLive,
};
use crate::services::{self, c_str};
use core::ffi::{c_char, CStr};
use kernel::prelude::*;

pub(crate) use crate::logic::abi::ProbeKind;
use crate::logic::abi::{self, constant, pin_layout};

// The seam's constants, as `stopwatch_seam.h` states them (`logic::abi`).
const _: () = assert!(crate::logic::live::MAX_PROBES as u64 == constant("SW_MAX_PROBES"));
const _: () = assert!((INSTANCE_WORDS * 8) as u64 == constant("SW_INSTANCE_BYTES"));
const _: () = assert!(COMM_LEN as u64 == constant("SW_COMM_LEN"));

/// The module parameters as given at load (`struct sw_params`), not yet
/// checked.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct Params {
    /// `buffer_size`: records per CPU ring.
    pub(crate) buffer_size: u64,
    /// `warn_percent`: early warning after this % of the threshold.
    pub(crate) warn_percent: u32,
    /// `test_missing_probe`: probe N (1-based) on a missing symbol.
    pub(crate) test_missing_probe: u32,
    /// `console`: print on the console (0 or 1).
    pub(crate) console: u32,
    /// `test_layout_shift`: read `struct multi_stop_data` this far off.
    pub(crate) test_layout_shift: u32,
    /// `test_fill`: synthetic records per CPU ring at load.
    pub(crate) test_fill: u32,
}

/// The module parameters.
pub(crate) fn params() -> Params {
    let mut p = Params::default();
    // SAFETY: `p` is a valid destination of the C struct's layout.
    unsafe { ffi::stopwatch_params(&mut p) };
    p
}

/// What a probe saw (`struct sw_hit`).
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct Hit {
    /// `ktime_get_mono_fast_ns()` at the hit: 0 from C, filled in by the
    /// dispatch when the handler needs it (see [`now_ns`]).
    pub(crate) ts_ns: u64,
    /// `jiffies` at the hit.
    pub(crate) jiffies: u64,
    /// The first three integer arguments (entry probes).
    pub(crate) args: [u64; 3],
    /// Return address into the caller of the probed function.
    pub(crate) caller: u64,
    /// Return value (return of a paired probe).
    pub(crate) retval: i64,
    /// Address of the per-call scratch a paired probe carries from entry to
    /// return ([`INSTANCE_WORDS`] words), 0 for entry-only probes.
    instance: u64,
    /// Base of the current task's stack, at the entry of a paired probe
    /// (0 otherwise).
    pub(crate) stack: u64,
    /// CPU the hit happened on.
    pub(crate) cpu: u32,
    /// Pid of the current task.
    pub(crate) pid: u32,
    /// 0 at function entry, 1 at its return.
    pub(crate) phase: u32,
    /// Padding.
    _pad: u32,
}

/// Words of per-call scratch of a paired probe (`SW_INSTANCE_BYTES`).
pub(crate) const INSTANCE_WORDS: usize = 2;

impl Hit {
    /// The per-call scratch of a paired probe: zeroed at entry, handed back
    /// at the return of the same call. `None` for entry-only probes.
    pub(crate) fn instance(&mut self) -> Option<&mut [u64; INSTANCE_WORDS]> {
        if self.instance == 0 {
            return None;
        }
        // SAFETY: the C seam points `instance` at the kretprobe instance's
        // `data` (`SW_INSTANCE_BYTES`, 8-byte aligned), which belongs to this
        // call and is used by nobody else while the handler runs; the
        // `&mut self` borrow keeps this reference from outliving the hit.
        Some(unsafe { &mut *(self.instance as *mut [u64; INSTANCE_WORDS]) })
    }

    /// The hit an entry handler would make, at entry to a function with no
    /// arguments (the watchdog touches), made in Rust from what the touch
    /// handler passes: the clock not read yet, as from C.
    ///
    /// Call it only from the probe handler of that entry (preemption
    /// disabled), so the CPU and the task are the ones hit.
    pub(crate) fn at_entry(jiffies: u64, caller: u64) -> Self {
        Self {
            ts_ns: 0,
            jiffies,
            args: [0; 3],
            caller,
            retval: 0,
            instance: 0,
            stack: 0,
            cpu: services::this_cpu(),
            // SAFETY: no preconditions (`current` is always valid).
            pid: unsafe { ffi::stopwatch_current_pid() },
            phase: 0,
            _pad: 0,
        }
    }

    /// Name of the current task (the one that hit the probe), read from
    /// `current` only when needed: probe context, same task.
    pub(crate) fn comm(&self) -> Comm {
        let mut comm = [0u8; COMM_LEN];
        // SAFETY: `comm` has room for `TASK_COMM_LEN` bytes; called from the
        // probe handler that made this hit, so `current` is its task.
        unsafe { ffi::stopwatch_current_comm(comm.as_mut_ptr().cast()) };
        comm
    }
}

/// A copy of a `struct multi_stop_data` (`struct sw_multi_stop_view`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct MultiStop {
    /// `fn`.
    pub(crate) func: u64,
    /// `data`.
    pub(crate) data: u64,
    /// `active_cpus` (0 for NULL).
    pub(crate) active_cpus: u64,
    /// `num_threads`.
    pub(crate) num_threads: u32,
    /// `state`, as `enum multi_stop_state`.
    pub(crate) state: u32,
    /// `thread_ack`.
    pub(crate) thread_ack: i32,
    /// Padding.
    _pad: u32,
}

impl MultiStop {
    /// The fields the layout check looks at.
    pub(crate) fn seen(&self) -> Seen {
        Seen {
            func: self.func,
            data: self.data,
            active_cpus: self.active_cpus,
            num_threads: self.num_threads,
            state: self.state,
            thread_ack: self.thread_ack,
        }
    }
}

mod ffi {
    use super::{c_char, MultiStop, Params};

    extern "C" {
        pub(super) fn stopwatch_params(out: *mut Params);
        pub(super) fn stopwatch_probe_register(index: u32, symbol: *const u8, kind: u32) -> i32;
        pub(super) fn stopwatch_set_cpu_live(cpu: u32, live: *const core::ffi::c_void);
        pub(super) fn stopwatch_clear_cpu_live();
        pub(super) fn stopwatch_current_pid() -> u32;
        pub(super) fn stopwatch_probe_unregister(index: u32);
        pub(super) fn stopwatch_probe_nmissed(index: u32) -> u64;
        pub(super) fn stopwatch_read_multi_stop(
            msdata: *const core::ffi::c_void,
            out: *mut MultiStop,
        );
        pub(super) fn stopwatch_read_multi_stop_state(msdata: *const core::ffi::c_void) -> u32;
        pub(super) fn stopwatch_thread_size() -> u64;
        pub(super) fn stopwatch_current_comm(comm: *mut c_char);
        pub(super) fn stopwatch_format_symbol(buf: *mut c_char, len: usize, addr: u64) -> i32;
        pub(super) fn stopwatch_taint_softlockup() -> u32;
        pub(super) fn stopwatch_queue_warning();
        pub(super) fn stopwatch_queue_note();
        pub(super) fn stopwatch_queue_fallback();
        pub(super) fn stopwatch_send_backtrace(cpu: u32) -> i32;
        pub(super) fn stopwatch_console_start();
        pub(super) fn stopwatch_console_stop();
        pub(super) fn stopwatch_hotplug_start() -> i32;
        pub(super) fn stopwatch_hotplug_stop();
    }
}

// The structs C fills in, field by field as `stopwatch_seam.h` lays them out.
pin_layout!(Hit, abi::HIT, {
    ts_ns, jiffies, args, caller, retval, instance, stack, cpu, pid, phase, _pad => "pad",
});
pin_layout!(Params, abi::PARAMS, {
    buffer_size, warn_percent, test_missing_probe, console, test_layout_shift, test_fill,
});
pin_layout!(MultiStop, abi::MULTI_STOP_VIEW, {
    func => "fn", data, active_cpus, num_threads, state, thread_ack, _pad => "pad",
});

/// Registers probe slot `index` on `symbol`, placed as `kind` says. Hits
/// arrive in `crate::entries::stopwatch_probe_hit` (those of a
/// [`ProbeKind::Touch`] probe first in `stopwatch_touch_hit`).
///
/// `symbol` must stay alive while the probe is registered: taking a
/// `'static` string guarantees it.
pub(crate) fn probe_register(index: usize, symbol: &'static CStr, kind: ProbeKind) -> Result {
    let index = u32::try_from(index).map_err(|_| EINVAL)?;
    // SAFETY: `symbol` is a NUL-terminated string that lives forever; the C
    // side bounds-checks `index` and refuses an unknown kind.
    let err = unsafe { ffi::stopwatch_probe_register(index, c_str(symbol), kind as u32) };
    kernel::error::to_result(err)
}

/// Tells the touch probes' handler on CPU `cpu` where that CPU's live state
/// is (a per-CPU pointer it reads with one `this_cpu` load). Ignored for a
/// CPU that is not possible.
///
/// # Safety
///
/// `live` must stay valid until [`clear_cpu_live`] has been called after
/// the last probe is unregistered.
pub(crate) unsafe fn set_cpu_live(cpu: usize, live: &CpuLive) {
    let Ok(cpu) = u32::try_from(cpu) else {
        return;
    };
    // SAFETY: the C side only stores the pointer, for possible CPUs; the
    // caller keeps the pointee alive as long as a handler may read it.
    unsafe { ffi::stopwatch_set_cpu_live(cpu, core::ptr::from_ref(live).cast()) }
}

/// Points every CPU's live state pointer (see [`set_cpu_live`]) back to
/// the sink state (`crate::probes::SINK_LIVE`), which lives forever.
pub(crate) fn clear_cpu_live() {
    // SAFETY: no preconditions: stores NULL for every possible CPU.
    unsafe { ffi::stopwatch_clear_cpu_live() }
}

/// Unregisters probe slot `index` (no-op if not registered). On return no
/// handler of that probe is running or will run.
pub(crate) fn probe_unregister(index: usize) {
    // SAFETY: the C side bounds-checks `index` and ignores free slots.
    unsafe { ffi::stopwatch_probe_unregister(index as u32) }
}

/// Hits of probe slot `index` that the kprobe core dropped.
pub(crate) fn probe_nmissed(index: usize) -> u64 {
    // SAFETY: the C side bounds-checks `index`.
    unsafe { ffi::stopwatch_probe_nmissed(index as u32) }
}

/// A pointer to a live `struct multi_stop_data`, as passed to
/// `multi_cpu_stop()`.
///
/// # Invariants
///
/// The pointee is valid while the `multi_cpu_stop()` call that received it
/// runs: the caller of `stop_machine()` keeps it on its stack until every
/// CPU has left that call.
#[derive(Clone, Copy)]
pub(crate) struct MultiStopPtr(u64);

impl MultiStopPtr {
    /// Wraps the argument of a `multi_cpu_stop()` entry probe.
    ///
    /// # Safety
    ///
    /// `addr` must be the `data` argument of a `multi_cpu_stop()` call that
    /// has not returned yet, and the wrapper must not be used after it
    /// returns.
    pub(crate) unsafe fn new(addr: u64) -> Self {
        Self(addr)
    }

    /// The raw address, for comparisons and storage.
    pub(crate) fn addr(self) -> u64 {
        self.0
    }

    /// Reads the whole struct, fault-safe (unreadable fields are 0).
    pub(crate) fn read(self) -> MultiStop {
        let mut out = MultiStop::default();
        // SAFETY: by the type invariants the pointee is a live
        // `struct multi_stop_data`; `out` is a valid destination.
        unsafe { ffi::stopwatch_read_multi_stop(self.0 as *const _, &mut out) };
        out
    }

    /// Reads `state` only, fault-safe: `None` if unreadable (the seam
    /// returns all ones then, a value no state has).
    #[inline(always)]
    pub(crate) fn state(self) -> Option<u32> {
        // SAFETY: as in `read`.
        let raw = unsafe { ffi::stopwatch_read_multi_stop_state(self.0 as *const _) };
        (raw != u32::MAX).then_some(raw)
    }
}

/// `THREAD_SIZE`: bytes of a task's kernel stack.
pub(crate) fn thread_size() -> u64 {
    // SAFETY: no preconditions.
    unsafe { ffi::stopwatch_thread_size() }
}

/// `TAINT_SOFTLOCKUP`: the flag of the `add_taint()` call that follows
/// each soft-lockup report.
pub(crate) fn taint_softlockup() -> u32 {
    // SAFETY: no preconditions.
    unsafe { ffi::stopwatch_taint_softlockup() }
}

/// Queues the early warning's `irq_work` on this CPU (a no-op if it is
/// already pending). Lockless and NMI-safe: what a probe handler may do.
pub(crate) fn queue_warning() {
    // SAFETY: no preconditions; the work item is static.
    unsafe { ffi::stopwatch_queue_warning() }
}

/// Queues the warning's fallback `irq_work` on this CPU. As
/// [`queue_warning`].
pub(crate) fn queue_fallback() {
    // SAFETY: no preconditions; the work item is static.
    unsafe { ffi::stopwatch_queue_fallback() }
}

/// Queues this CPU's lockup-report note `irq_work`. As [`queue_warning`].
pub(crate) fn queue_note() {
    // SAFETY: no preconditions; the work items are static, one per CPU.
    unsafe { ffi::stopwatch_queue_note() }
}

/// Sends `cpu` an IPI that arrives in
/// `crate::entries::stopwatch_console_backtrace` on that CPU (and dumps its
/// stack if that says so). `EBUSY` if the previous one has not run yet.
/// Not from NMI context (an int3 probe handler is one).
pub(crate) fn send_backtrace(cpu: u32) -> Result {
    // SAFETY: the C side bounds-checks `cpu`; the csd is static and only
    // this function queues it.
    kernel::error::to_result(unsafe { ffi::stopwatch_send_backtrace(cpu) })
}

/// Registers the panic notifier and readies the backtrace requests.
///
/// # Safety
///
/// The console callbacks must have something valid to read until the
/// matching [`console_stop`] returns (`crate::console::Console`).
pub(crate) unsafe fn console_start() {
    // SAFETY: guaranteed by the caller.
    unsafe { ffi::stopwatch_console_start() }
}

/// Unregisters the panic notifier and waits for every queued work item and
/// backtrace request, then for a grace period (a backtrace request's lock
/// is released before its function runs): on return no console callback
/// runs or is pending.
/// Call only once nothing queues any more (probes unregistered).
pub(crate) fn console_stop() {
    // SAFETY: no preconditions beyond the above, which only affect whether
    // the wait is final.
    unsafe { ffi::stopwatch_console_stop() }
}

/// Registers the CPU hotplug callback, `stopwatch_cpu_prepare()`, for
/// every CPU that comes up from now on.
///
/// # Safety
///
/// What the callback reads must stay valid until [`hotplug_stop`].
pub(crate) unsafe fn hotplug_start() -> Result {
    // SAFETY: guaranteed by the caller.
    kernel::error::to_result(unsafe { ffi::stopwatch_hotplug_start() })
}

/// Unregisters the CPU hotplug callback: on return it does not run, and
/// will not.
pub(crate) fn hotplug_stop() {
    // SAFETY: no preconditions; a second call does nothing.
    unsafe { ffi::stopwatch_hotplug_stop() }
}

/// Symbol buffer for `%pS` output: `KSYM_SYMBOL_LEN` (a Rust name with
/// generics runs to 450 bytes; a cut one would not demangle).
pub(crate) struct Symbol {
    /// Bytes written.
    len: usize,
    /// The text.
    buf: [u8; 512],
}

impl Symbol {
    /// `addr` as `symbol+0xoff/0xsize [module]`, or hex if unknown.
    pub(crate) fn of(addr: u64) -> Self {
        let mut sym = Self {
            len: 0,
            buf: [0; 512],
        };
        // SAFETY: `buf` is writable for its whole length; scnprintf writes
        // at most `len - 1` bytes plus a NUL and returns the count.
        let n = unsafe {
            ffi::stopwatch_format_symbol(sym.buf.as_mut_ptr().cast(), sym.buf.len(), addr)
        };
        sym.len = usize::try_from(n).unwrap_or(0).min(sym.buf.len() - 1);
        sym
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("?")
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Every function of `stopwatch.ko` that C calls, in one place: the
//! seam's probe handlers, `irq_work`s, IPI, panic notifier and hotplug
//! callback (`rust/stopwatch_seam/`, declared in `stopwatch_seam.h`) call
//! these, and nothing else of the module. Here the raw pointers C hands
//! over become references, under the contracts written on each; every
//! entry then calls one safe function of the layer that does the work.
//!
//! The debugfs entries (`stopwatch_file_show`, `stopwatch_file_write`,
//! `stopwatch_stream_*`) are the services' own: every module of the tree
//! (stopwatch and the samples) links them from `services/debugfs.rs`,
//! beside the `SwFile` they dispatch on, and `services.c` calls them.
//!
//! Everything here runs in `.kprobes.text` (`kprobes_text.lds`), and the
//! probe entries are also `NOKPROBE_SYMBOL`s in the seam: a kprobe placed
//! on them would recurse. The hit entries' callees are `#[inline(always)]`,
//! so the probe path has no call more than before.

use crate::{console, hotplug, logic::comm::Comm, logic::live::CpuLive, probes, seam::Hit};

/// Every hit of probe `index` that fills in a [`Hit`].
///
/// # Safety
///
/// `hit` is null or points to a valid [`Hit`] that nothing else uses for
/// the duration of the call (the C handler's, on its stack); called from
/// a probe handler (preemption disabled).
#[no_mangle]
pub(crate) unsafe extern "C" fn stopwatch_probe_hit(index: u32, hit: *mut Hit) {
    // SAFETY: guaranteed by the caller.
    if let Some(hit) = unsafe { hit.as_mut() } {
        probes::probe_hit(index, hit);
    }
}

/// Every hit of a touch probe ([`probes::touch_hit`]). Returns 0, the
/// pre-handler's return value ("regs unchanged"): returning after the
/// call, rather than ending in it, lets the compiler keep the frame setup
/// off the repeat path.
///
/// # Safety
///
/// `live` is the state the seam was given for the current CPU
/// (`seam::set_cpu_live`), or `stopwatch_sink_live`: `Probes::register`
/// gives the seam pointers into the recorder's `cpus`, which outlives
/// every probe, and takes them back only after every probe is
/// unregistered. `index` is the probe's slot; called from a probe handler
/// (preemption disabled) on entry to a function with no arguments.
#[no_mangle]
pub(crate) unsafe extern "C" fn stopwatch_touch_hit(
    index: usize,
    caller: u64,
    jiffies: u64,
    live: *const core::ffi::c_void,
) -> i32 {
    // SAFETY: guaranteed by the caller.
    let live = unsafe { &*live.cast::<CpuLive>() };
    probes::touch_hit(index, caller, jiffies, live);
    0
}

/// Every hit of the spin probe on `stop_machine_yield()`
/// ([`probes::spin_hit`]); returns 0, as [`stopwatch_touch_hit`] does.
///
/// # Safety
///
/// As for [`stopwatch_touch_hit`]; `mask` is the `cpumask` argument of
/// the `stop_machine_yield()` call being entered.
#[no_mangle]
pub(crate) unsafe extern "C" fn stopwatch_spin_hit(
    index: usize,
    mask: u64,
    jiffies: u64,
    live: *const core::ffi::c_void,
) -> i32 {
    // SAFETY: guaranteed by the caller.
    let live = unsafe { &*live.cast::<CpuLive>() };
    probes::spin_hit(index, mask, jiffies, live);
    0
}

/// The warning `irq_work` (`fallback`: the timer after an IPI that was not
/// answered) ([`console::warning`]).
#[no_mangle]
pub(crate) extern "C" fn stopwatch_console_warning(fallback: bool) {
    console::warning(fallback);
}

/// The backtrace IPI, in hard interrupt context with the printk CPU lock
/// held, on CPU `cpu`, which runs `comm`/`pid` ([`console::backtrace`]);
/// whether to dump the stack.
///
/// # Safety
///
/// `comm` points to `COMM_LEN` bytes holding a NUL-terminated task name
/// (a copy of `current->comm`), valid for the call.
#[no_mangle]
pub(crate) unsafe extern "C" fn stopwatch_console_backtrace(
    cpu: u32,
    comm: *const Comm,
    pid: u32,
) -> bool {
    // SAFETY: guaranteed by the caller.
    let comm = unsafe { &*comm };
    console::backtrace(cpu, comm, pid)
}

/// The note `irq_work`, on the CPU the kernel just reported
/// ([`console::note`]).
#[no_mangle]
pub(crate) extern "C" fn stopwatch_console_note(cpu: u32) {
    console::note(cpu);
}

/// The panic notifier, on the panicking CPU `cpu` (`nmi`: in NMI context)
/// ([`console::panic`]).
#[no_mangle]
pub(crate) extern "C" fn stopwatch_console_panic(cpu: u32, nmi: bool) {
    console::panic(cpu, nmi);
}

/// The hotplug callback: CPU `cpu` is coming up (process context, may
/// sleep) ([`hotplug::cpu_prepare`]).
#[no_mangle]
pub(crate) extern "C" fn stopwatch_cpu_prepare(cpu: u32) {
    hotplug::cpu_prepare(cpu);
}

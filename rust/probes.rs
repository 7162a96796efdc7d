// SPDX-License-Identifier: GPL-2.0

//! The probe table and the dispatch from a hit to the recorder.
//!
//! [`PROBES`] lists every probe, one line each; adding a probe is adding a
//! line (and a [`Handler`] if it needs new logic). Registration is all or
//! nothing: a symbol that cannot be probed is named in dmesg with its errno
//! and the module does not load, with every probe registered so far
//! unregistered again.

use crate::{
    hot::{Acquire, AtomicPtr, Release},
    logic::{live::MAX_PROBES, record::TouchSource},
    recorder::Recorder,
    seam::{self, Hit},
    services,
};
use core::ffi::CStr;
use kernel::prelude::*;

/// What a probe does with a hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Handler {
    /// A watchdog touch function.
    Touch(TouchSource),
    /// `softlockup_fn()`.
    WatchdogWork,
    /// `watchdog_timer_fn()`.
    WatchdogCheck,
    /// `stop_machine_cpuslocked()`: begins at entry, ends at return.
    Stop,
    /// `multi_cpu_stop()`: this CPU arrives at entry, leaves at return.
    CpuStop,
    /// `stop_machine_yield()`, called once per spin of `multi_cpu_stop()`.
    CpuSpin,
    /// `add_taint()`: the soft-lockup report's taint.
    Taint,
}

/// One probe: where and what.
pub(crate) struct ProbeSpec {
    /// Kernel symbol.
    pub(crate) symbol: &'static CStr,
    /// A kretprobe with an entry handler (hits at entry and at the return
    /// of the same call, always paired) rather than an entry kprobe.
    pub(crate) paired: bool,
    /// An entry kprobe whose handler runs with interrupts off: never
    /// jump-optimised (see [`irqs_off`]).
    pub(crate) irqs_off: bool,
    /// What to do on a hit.
    pub(crate) handler: Handler,
}

/// An entry probe.
const fn entry(symbol: &'static CStr, handler: Handler) -> ProbeSpec {
    ProbeSpec {
        symbol,
        paired: false,
        irqs_off: false,
        handler,
    }
}

/// An entry probe whose handler no interrupt can land in.
///
/// A jump-optimised kprobe runs its handler with interrupts on, and an
/// interrupt that hits another probe while it runs is a missed hit (the
/// kprobe core does not nest handlers on a CPU). The waiting CPUs spend
/// much of their spin in the `stop_machine_yield()` handler, so the
/// watchdog's timer interrupt, which reports them, often came while it
/// ran, and the `watchdog_timer_fn()` and `add_taint()` hits of the report
/// were lost with it. An int3 kprobe's handler runs with interrupts off;
/// giving the probe a post handler keeps the kprobe core from optimising
/// it. It costs a trap per spin, on CPUs that are only waiting.
const fn irqs_off(symbol: &'static CStr, handler: Handler) -> ProbeSpec {
    ProbeSpec {
        symbol,
        paired: false,
        irqs_off: true,
        handler,
    }
}

/// A probe on entry and return of the same call.
const fn paired(symbol: &'static CStr, handler: Handler) -> ProbeSpec {
    ProbeSpec {
        symbol,
        paired: true,
        irqs_off: false,
        handler,
    }
}

/// Every probe stopwatch registers, in registration order.
///
/// `ack_state()`, `set_state()` and `update_touch_ts()` are inlined in
/// 6.12 and 7.3, so the states are read from `msdata->state` in the
/// `stop_machine_yield()` probe instead (see Documentation/stopwatch.rst).
#[rustfmt::skip]
pub(crate) const PROBES: [ProbeSpec; 10] = [
    entry(c"touch_softlockup_watchdog", Handler::Touch(TouchSource::Plain)),
    entry(c"touch_softlockup_watchdog_sched", Handler::Touch(TouchSource::Sched)),
    entry(c"touch_softlockup_watchdog_sync", Handler::Touch(TouchSource::Sync)),
    entry(c"touch_all_softlockup_watchdogs", Handler::Touch(TouchSource::All)),
    entry(c"softlockup_fn", Handler::WatchdogWork),
    entry(c"watchdog_timer_fn", Handler::WatchdogCheck),
    paired(c"stop_machine_cpuslocked", Handler::Stop),
    paired(c"multi_cpu_stop", Handler::CpuStop),
    irqs_off(c"stop_machine_yield", Handler::CpuSpin),
    entry(c"add_taint", Handler::Taint),
];
const _: () = assert!(PROBES.len() <= MAX_PROBES);

/// The touch probes' slots, bit `i` for `PROBES[i]`: a CPU's touches are
/// the hits of these (`CpuLive::hits_of`).
pub(crate) const TOUCH_PROBES: u32 = {
    let mut mask = 0;
    let mut i = 0;
    while i < PROBES.len() {
        if matches!(PROBES[i].handler, Handler::Touch(_)) {
            mask |= 1 << i;
        }
        i += 1;
    }
    mask
};

/// A symbol no kernel has, for the `test_missing_probe` parameter.
const MISSING_SYMBOL: &CStr = c"stopwatch_test_no_such_symbol";

/// The recorder the handlers feed; null while no probe is registered.
static RECORDER: AtomicPtr<Recorder> = AtomicPtr::new(core::ptr::null_mut());

/// Called by the C seam for every hit of probe `index`.
///
/// # Safety
///
/// `hit` points to a valid [`Hit`] that nothing else uses for the duration
/// of the call; called from a probe handler (preemption disabled).
#[no_mangle]
pub(crate) unsafe extern "C" fn stopwatch_probe_hit(index: u32, hit: *mut Hit) {
    let recorder = RECORDER.load(Acquire);
    if recorder.is_null() || hit.is_null() {
        return;
    }
    // SAFETY: `RECORDER` is set by `Probes::register` before any probe is
    // registered and cleared only after all are unregistered, so the
    // recorder outlives every handler.
    let recorder = unsafe { &*recorder };
    // SAFETY: guaranteed by the caller; the C handler owns the hit on its
    // stack and lends it to us for the call.
    let hit = unsafe { &mut *hit };
    let Some(spec) = PROBES.get(index as usize) else {
        return;
    };
    let Some(live) = recorder.count_hit(index as usize, hit) else {
        return;
    };
    // The touch handler reads the clock only when it needs to.
    if let Handler::Touch(source) = spec.handler {
        recorder.on_touch(live, hit, source);
        return;
    }
    hit.ts_ns = services::now_ns();
    let at_return = hit.phase != 0;
    match (spec.handler, at_return) {
        // Handled above, before the clock read.
        (Handler::Touch(_), _) => {}
        (Handler::WatchdogWork, _) => recorder.on_watchdog_work(live, hit),
        (Handler::WatchdogCheck, _) => recorder.on_watchdog_check(live, hit),
        (Handler::Stop, false) => recorder.on_stop_begin(live, hit),
        (Handler::Stop, true) => recorder.on_stop_end(live, hit),
        (Handler::CpuStop, false) => recorder.on_cpu_enter(live, hit),
        (Handler::CpuStop, true) => recorder.on_cpu_exit(live, hit),
        (Handler::CpuSpin, _) => recorder.on_cpu_spin(live, hit),
        (Handler::Taint, _) => recorder.on_taint(live, hit),
    }
}

/// Every probe in [`PROBES`], registered.
///
/// # Invariants
///
/// While a `Probes` exists, `RECORDER` points to the recorder it was
/// registered for and every probe in [`PROBES`] is registered. Dropping it
/// unregisters them all (which waits for running handlers) before clearing
/// `RECORDER`, so the recorder may be freed afterwards.
pub(crate) struct Probes {
    /// Only [`Probes::register`] makes one; the module owns it and drops
    /// it at unload.
    _private: (),
}

impl Probes {
    /// Registers every probe, feeding `recorder`.
    ///
    /// `missing`, if given, is a 0-based index into [`PROBES`] whose probe
    /// is put on [`MISSING_SYMBOL`] instead: a real registration failure,
    /// to test that the module names it and unwinds.
    ///
    /// # Safety
    ///
    /// `recorder` must stay valid and pinned until the returned value is
    /// dropped.
    pub(crate) unsafe fn register(recorder: &Recorder, missing: Option<usize>) -> Result<Self> {
        RECORDER.store(core::ptr::from_ref(recorder).cast_mut(), Release);
        for (index, spec) in PROBES.iter().enumerate() {
            let symbol = if missing == Some(index) {
                MISSING_SYMBOL
            } else {
                spec.symbol
            };
            if let Err(e) = seam::probe_register(index, symbol, spec.paired, spec.irqs_off) {
                pr_err!(
                    "cannot {} {:?}: error {} (check /proc/kallsyms and the kprobe blacklist)\n",
                    if spec.paired { "kretprobe" } else { "kprobe" },
                    symbol,
                    e.to_errno()
                );
                for earlier in (0..index).rev() {
                    seam::probe_unregister(earlier);
                }
                RECORDER.store(core::ptr::null_mut(), Release);
                return Err(e);
            }
        }
        Ok(Self { _private: () })
    }
}

impl Drop for Probes {
    fn drop(&mut self) {
        for index in (0..PROBES.len()).rev() {
            seam::probe_unregister(index);
        }
        // No handler runs any more: unregister_kprobe() waited for them.
        RECORDER.store(core::ptr::null_mut(), Release);
    }
}

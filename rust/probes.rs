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
    logic::{
        abi::ProbeKind,
        live::{CpuLive, MAX_PROBES},
        record::TouchSource,
    },
    recorder::{handlers::Spin, Recorder},
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
    /// How it is placed.
    pub(crate) kind: ProbeKind,
    /// What to do on a hit.
    pub(crate) handler: Handler,
}

/// An entry probe.
const fn entry(symbol: &'static CStr, handler: Handler) -> ProbeSpec {
    ProbeSpec {
        symbol,
        kind: ProbeKind::Entry,
        handler,
    }
}

/// A probe on a touch function whose repeated touches are coalesced
/// before the hit is filled in: the watchdog touch path, the hottest one
/// stopwatch probes (`make bench`).
const fn touch(symbol: &'static CStr, source: TouchSource) -> ProbeSpec {
    ProbeSpec {
        symbol,
        kind: ProbeKind::Touch,
        handler: Handler::Touch(source),
    }
}

/// The spin probe: a probe on every spin whose handler no interrupt can
/// land in (on x86 on the instruction that leaves the function, where the
/// kprobe core traps once, not twice: `sw_register_spin_kprobe()` in
/// `services.c`).
///
/// A jump-optimised kprobe runs its handler with interrupts on, and an
/// interrupt that hits another probe while it runs is a missed hit (the
/// kprobe core does not nest handlers on a CPU). The waiting CPUs spend
/// much of their spin in the `stop_machine_yield()` handler, so the
/// watchdog's timer interrupt, which reports them, often came while it
/// ran, and the `watchdog_timer_fn()` and `add_taint()` hits of the report
/// were lost with it. An int3 kprobe's handler runs with interrupts off;
/// giving the probe a post handler keeps the kprobe core from optimising
/// it. It costs a trap per spin, on CPUs that are only waiting; what the
/// handler adds to a spin that sees the state it saw is a few loads
/// ([`spin_hit`]).
const fn spin(symbol: &'static CStr) -> ProbeSpec {
    ProbeSpec {
        symbol,
        kind: ProbeKind::Spin,
        handler: Handler::CpuSpin,
    }
}

/// A probe on entry and return of the same call.
const fn paired(symbol: &'static CStr, handler: Handler) -> ProbeSpec {
    ProbeSpec {
        symbol,
        kind: ProbeKind::Paired,
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
    touch(c"touch_softlockup_watchdog", TouchSource::Plain),
    touch(c"touch_softlockup_watchdog_sched", TouchSource::Sched),
    touch(c"touch_softlockup_watchdog_sync", TouchSource::Sync),
    // Touches every CPU: never a repeat of one CPU's latest touch.
    entry(c"touch_all_softlockup_watchdogs", Handler::Touch(TouchSource::All)),
    entry(c"softlockup_fn", Handler::WatchdogWork),
    entry(c"watchdog_timer_fn", Handler::WatchdogCheck),
    paired(c"stop_machine_cpuslocked", Handler::Stop),
    paired(c"multi_cpu_stop", Handler::CpuStop),
    spin(c"stop_machine_yield"),
    entry(c"add_taint", Handler::Taint),
];
const _: () = assert!(PROBES.len() <= MAX_PROBES);

// The spin probe (`stop_machine_yield()`) reads the `msdata` that the
// `multi_cpu_stop()` kretprobe's entry handler stored and only the same
// call's return handler clears. A call inside `multi_cpu_stop()` while that
// kretprobe is unregistered never gets its return handler. `Probes::drop`
// unregisters backwards through `PROBES`, so with the spin probe after the
// kretprobe here it is gone first, and no spin reads what such a call left
// (the SAFETY argument of `Recorder::on_cpu_spin` rests on this).
const _: () = {
    let mut cpu_stop = usize::MAX;
    let mut i = 0;
    while i < PROBES.len() {
        match PROBES[i].handler {
            Handler::CpuStop => cpu_stop = i,
            Handler::CpuSpin => assert!(
                cpu_stop < i,
                "the spin probe must come after the multi_cpu_stop() kretprobe"
            ),
            _ => {}
        }
        i += 1;
    }
};

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

/// Every hit of probe `index` (`crate::entries::stopwatch_probe_hit`),
/// from a probe handler (preemption disabled).
#[inline(always)]
pub(crate) fn probe_hit(index: u32, hit: &mut Hit) {
    let recorder = RECORDER.load(Acquire);
    if recorder.is_null() {
        return;
    }
    // SAFETY: `RECORDER` is set by `Probes::register` before any probe is
    // registered and cleared only after all are unregistered, so the
    // recorder outlives every handler.
    let recorder = unsafe { &*recorder };
    let Some(spec) = PROBES.get(index as usize) else {
        return;
    };
    let Some(live) = recorder.count_hit(index as usize, hit) else {
        return;
    };
    let at_return = hit.phase != 0;
    // A touch, a spin and the return of `multi_cpu_stop()` read the clock
    // only if they record (most touches repeat the one before, most spins
    // see the state they saw, the last spin recorded EXIT); every other
    // hit records.
    let stamps_itself = matches!(
        (spec.handler, at_return),
        (Handler::Touch(_) | Handler::CpuSpin, _) | (Handler::CpuStop, true)
    );
    if !stamps_itself {
        hit.ts_ns = services::now_ns();
    }
    match (spec.handler, at_return) {
        (Handler::Touch(source), _) => recorder.on_touch(live, hit, source),
        (Handler::WatchdogWork, _) => recorder.on_watchdog_work(live, hit),
        (Handler::WatchdogCheck, _) => recorder.on_watchdog_check(live, hit),
        (Handler::Stop, false) => recorder.on_stop_begin(live, hit),
        (Handler::Stop, true) => recorder.on_stop_end(live, hit),
        (Handler::CpuStop, false) => recorder.on_cpu_enter(live, hit),
        (Handler::CpuStop, true) => recorder.on_cpu_exit(live, hit),
        (Handler::CpuSpin, _) => {
            if let Some(spin) = Spin::of(live, hit.args[0], hit.jiffies) {
                recorder.on_cpu_spin(live, hit, spin);
            }
        }
        (Handler::Taint, _) => recorder.on_taint(live, hit),
    }
}

/// Every hit of a [`ProbeKind::Touch`] probe
/// (`crate::entries::stopwatch_touch_hit`), instead of filling in a
/// [`Hit`]: a touch that repeats this CPU's latest one
/// (`CpuLive::repeats_touch`: same caller, same jiffy) is counted and that
/// is all it costs (no clock read, no `Hit`); the others go on to
/// [`probe_hit`] as any entry hit would.
///
/// This is what stopwatch adds to a `touch_softlockup_watchdog()` call in
/// a loop (`make bench`): a per-CPU pointer, jiffies and the return
/// address in the seam, two compares and two counters here.
#[inline(always)]
pub(crate) fn touch_hit(index: usize, caller: u64, jiffies: u64, live: &CpuLive) {
    // Slots are below MAX_PROBES (a power of two): the mask only spares a
    // bounds check.
    let slot = index % MAX_PROBES;
    if live.repeats_touch(jiffies, caller) {
        live.coalesce(slot);
    } else {
        touch_in_full(slot as u32, caller, jiffies);
    }
}

/// The live state the seam's per-CPU pointers start as and return to while
/// no recorder's is set: the touch handler always has one to hand over,
/// with no check on its hot path. Only a touch probe hit with no recorder
/// set could count repeats in it, and none is registered then.
#[export_name = "stopwatch_sink_live"]
static SINK_LIVE: CpuLive = CpuLive::new();

/// A touch that is not a repeat: the hit an entry handler would have made,
/// through the common dispatch. Out of line, so the repeat path stays a
/// leaf.
#[cold]
#[inline(never)]
fn touch_in_full(index: u32, caller: u64, jiffies: u64) {
    let mut hit = Hit::at_entry(jiffies, caller);
    probe_hit(index, &mut hit);
}

/// Every hit of the [`ProbeKind::Spin`] probe
/// (`crate::entries::stopwatch_spin_hit`), once per spin of every CPU in
/// `multi_cpu_stop()`, instead of filling in a [`Hit`]: a spin with
/// nothing to record or check ([`Spin::of`]) is counted and that is all it
/// costs; the others make their hit and go to [`Recorder::on_cpu_spin`].
/// `mask` is the `cpumask` argument of the `stop_machine_yield()` call
/// being entered.
///
/// This is what stopwatch adds to most spins of a `stop_machine()` (`make
/// bench`): a per-CPU pointer, the argument and jiffies in the seam, the
/// loads of [`Spin::of`] and a counter here.
#[inline(always)]
pub(crate) fn spin_hit(index: usize, mask: u64, jiffies: u64, live: &CpuLive) {
    let slot = index % MAX_PROBES;
    match Spin::of(live, mask, jiffies) {
        None => live.count_hit(slot),
        Some(spin) => spin_in_full(slot as u32, mask, jiffies, spin),
    }
}

/// A spin with something to record or check: its hit, counted and handed
/// to the recorder. Out of line, so the quiet path stays a leaf.
#[cold]
#[inline(never)]
fn spin_in_full(index: u32, mask: u64, jiffies: u64, spin: Spin) {
    let recorder = RECORDER.load(Acquire);
    if recorder.is_null() {
        return;
    }
    // SAFETY: as in `probe_hit`.
    let recorder = unsafe { &*recorder };
    let mut hit = Hit::at_entry(jiffies, 0);
    hit.args[0] = mask;
    if let Some(live) = recorder.count_hit(index as usize, &hit) {
        recorder.on_cpu_spin(live, &mut hit, spin);
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
        for (cpu, live) in recorder.cpus.iter().enumerate() {
            // SAFETY: the recorder outlives the probes (our caller's
            // promise); `Drop` and the error path below clear the pointers
            // after unregistering every probe.
            unsafe { seam::set_cpu_live(cpu, live) };
        }
        for (index, spec) in PROBES.iter().enumerate() {
            let symbol = if missing == Some(index) {
                MISSING_SYMBOL
            } else {
                spec.symbol
            };
            if let Err(e) = seam::probe_register(index, symbol, spec.kind) {
                pr_err!(
                    "cannot {} {:?}: error {} (check /proc/kallsyms and the kprobe blacklist)\n",
                    spec.kind.api(),
                    symbol,
                    e.to_errno()
                );
                for earlier in (0..index).rev() {
                    seam::probe_unregister(earlier);
                }
                seam::clear_cpu_live();
                RECORDER.store(core::ptr::null_mut(), Release);
                return Err(e);
            }
        }
        Ok(Self { _private: () })
    }
}

impl Drop for Probes {
    fn drop(&mut self) {
        // Backwards: the spin probe goes before the multi_cpu_stop()
        // kretprobe whose state it reads (see the assertion under PROBES).
        for index in (0..PROBES.len()).rev() {
            seam::probe_unregister(index);
        }
        // No handler runs any more: unregister_kprobe() waited for them.
        seam::clear_cpu_live();
        RECORDER.store(core::ptr::null_mut(), Release);
    }
}

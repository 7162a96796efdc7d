// SPDX-License-Identifier: GPL-2.0

//! The open-instance table: the `stop_machine_cpuslocked()` calls between
//! their entry and return, so that each `multi_cpu_stop()` call can be
//! matched to its instance and the console can name an instance's caller.
//!
//! A slot is claimed by the entry handler (id [`u32::MAX`] while it is
//! being filled, then the instance id with `Release`), read by anyone who
//! loads the id with `Acquire`, and freed only by the return handler of
//! the same call. More callers than slots at once queue on
//! `stop_cpus_mutex`; the extra ones get no slot.

use crate::{
    hot::{Acquire, AtomicU32, AtomicU64, Relaxed, Release},
    logic::{diagnosis::Instance, layout::Expected, vmcore::Descriptor},
};

/// Slots (concurrent `stop_machine()` callers tracked).
pub(crate) const OPEN_STOPS: usize = 8;

/// What the entry of a `stop_machine_cpuslocked()` call saw.
pub(crate) struct Entry {
    /// The instance: id, caller, `fn`, start.
    pub(crate) instance: Instance,
    /// Base of the caller's stack: the call's `struct multi_stop_data`
    /// lives in `[stack, stack + THREAD_SIZE)`.
    pub(crate) stack: u64,
    /// `data`.
    pub(crate) data: u64,
    /// Online CPUs at entry (`num_threads` of the call).
    pub(crate) nr_cpus: u32,
    /// The `cpus` argument (0 for NULL).
    pub(crate) active_cpus: u64,
}

/// A slot's id when it holds no call.
const FREE: u32 = 0;
/// A slot's id while its entry handler fills it in: never an instance's
/// id (`Recorder::on_stop_begin` skips it, and [`FREE`]).
pub(crate) const FILLING: u32 = u32::MAX;

/// Whether a slot's id is an instance's (not [`FREE`], not [`FILLING`]).
fn holds(id: u32) -> bool {
    id != FREE && id != FILLING
}

/// The call a `msdata` belongs to ([`OpenStops::by_stack`]).
pub(crate) struct OpenCall {
    /// Its instance.
    pub(crate) stop: u32,
    /// What its entry said.
    pub(crate) expected: Expected,
}

/// One call between its entry and return.
struct Slot {
    /// Instance id; [`FREE`], or [`FILLING`] while being filled.
    id: AtomicU32,
    /// See [`Entry::stack`].
    stack: AtomicU64,
    /// `fn`.
    func: AtomicU64,
    /// `data`.
    data: AtomicU64,
    /// See [`Entry::nr_cpus`].
    nr_cpus: AtomicU32,
    /// See [`Entry::active_cpus`].
    active_cpus: AtomicU64,
    /// See [`Instance::caller`].
    caller: AtomicU64,
    /// See [`Instance::pid`].
    pid: AtomicU32,
    /// See [`Instance::begin_ns`].
    begin_ns: AtomicU64,
}

/// The table.
pub(crate) struct OpenStops([Slot; OPEN_STOPS]);

impl OpenStops {
    /// Writes where the table is into the vmcore descriptor.
    pub(crate) fn describe(&self, d: &Descriptor) {
        d.open.store(self.0.as_ptr() as u64, Relaxed);
        d.open_count.store(OPEN_STOPS as u32, Relaxed);
        d.open_stride
            .store(core::mem::size_of::<Slot>() as u32, Relaxed);
        d.open_id_off
            .store(core::mem::offset_of!(Slot, id) as u32, Relaxed);
    }

    /// An empty table.
    pub(crate) const fn new() -> Self {
        Self(
            [const {
                Slot {
                    id: AtomicU32::new(0),
                    stack: AtomicU64::new(0),
                    func: AtomicU64::new(0),
                    data: AtomicU64::new(0),
                    nr_cpus: AtomicU32::new(0),
                    active_cpus: AtomicU64::new(0),
                    caller: AtomicU64::new(0),
                    pid: AtomicU32::new(0),
                    begin_ns: AtomicU64::new(0),
                }
            }; OPEN_STOPS],
        )
    }

    /// Claims a free slot for `entry` (whose id is neither [`FREE`] nor
    /// [`FILLING`]); its index, or `None` if all are taken.
    pub(crate) fn claim(&self, entry: &Entry) -> Option<usize> {
        let i = self.0.iter().position(|s| {
            s.id.compare_exchange(FREE, FILLING, Acquire, Relaxed)
                .is_ok()
        })?;
        let slot = &self.0[i];
        let inst = &entry.instance;
        slot.stack.store(entry.stack, Relaxed);
        slot.func.store(inst.func, Relaxed);
        slot.data.store(entry.data, Relaxed);
        slot.nr_cpus.store(entry.nr_cpus, Relaxed);
        slot.active_cpus.store(entry.active_cpus, Relaxed);
        slot.caller.store(inst.caller, Relaxed);
        slot.pid.store(inst.pid, Relaxed);
        slot.begin_ns.store(inst.begin_ns, Relaxed);
        slot.id.store(inst.stop, Release);
        Some(i)
    }

    /// Frees slot `index` if it still holds instance `stop` (only the
    /// return of the call that claimed it frees it).
    pub(crate) fn release(&self, index: usize, stop: u32) {
        if let Some(slot) = self.0.get(index) {
            let _ = slot.id.compare_exchange(stop, FREE, Release, Relaxed);
        }
    }

    /// The instance whose caller's stack holds `msdata` (a task's stack
    /// holds at most one call in flight, so this is unambiguous and does
    /// not depend on the layout of `msdata`), with what its entry said.
    pub(crate) fn by_stack(&self, msdata: u64, thread_size: u64) -> Option<OpenCall> {
        self.0.iter().find_map(|slot| {
            let id = slot.id.load(Acquire);
            let stack = slot.stack.load(Relaxed);
            (holds(id) && (stack..stack.saturating_add(thread_size)).contains(&msdata)).then(|| {
                OpenCall {
                    stop: id,
                    expected: Expected {
                        func: slot.func.load(Relaxed),
                        data: slot.data.load(Relaxed),
                        nr_cpus: slot.nr_cpus.load(Relaxed),
                        active_cpus: slot.active_cpus.load(Relaxed),
                    },
                }
            })
        })
    }

    /// The calls in the table.
    pub(crate) fn instances(&self) -> impl Iterator<Item = Instance> + '_ {
        self.0.iter().filter_map(|slot| {
            let stop = slot.id.load(Acquire);
            holds(stop).then(|| Instance {
                stop,
                pid: slot.pid.load(Relaxed),
                caller: slot.caller.load(Relaxed),
                func: slot.func.load(Relaxed),
                begin_ns: slot.begin_ns.load(Relaxed),
            })
        })
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The recorder: the per-CPU rings, the live per-CPU state, the comm cache
//! and the `stop_machine()` calls in flight, and its reading side.
//!
//! What each probe does is in `recorder/handlers.rs`; the rings, one for
//! each CPU that has come up, are `recorder/rings.rs`. Readers (the debugfs
//! files) run in process context, take `ring_lock` against a concurrent
//! resize, and never block the writers.

pub(crate) mod handlers;
mod open;
mod read;
mod rings;
pub(crate) mod vmcore;

use crate::{
    hot::{Acquire, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Relaxed, Release},
    logic::{
        analysis::{self, Blame},
        comm::{self, Comm, CommCache, CommSlot},
        demangle::Demangled,
        diagnosis::{Instance, LiveCpus},
        live::CpuLive,
        record::{Event, Record},
        ring,
        text::Names,
        vmcore::{address_of, Descriptor},
    },
    seam, services,
};
use core::fmt::{self, Display, Formatter};
use kernel::{new_mutex, prelude::*, sync::Mutex};
use open::{OpenStops, OPEN_STOPS};
pub(crate) use read::RingReader;
use rings::RingSet;

/// Slots of the pid -> comm cache.
const COMM_SLOTS: usize = 512;

/// Filling the rings for a test (`test_fill`, at load) yields the CPU
/// after this many records per CPU.
const YIELD_EVERY: u32 = 256;

/// What the recorder holds in memory ([`Recorder::memory`]).
pub(crate) struct Memory {
    /// CPUs with a ring.
    pub(crate) rings: usize,
    /// Their slots.
    pub(crate) ring_bytes: usize,
    /// Rings that could not be allocated.
    pub(crate) failed: u64,
    /// The state of every possible CPU: live state, console request,
    /// ring pointer.
    pub(crate) per_cpu_bytes: usize,
    /// The comm cache.
    pub(crate) comm_bytes: usize,
}

/// Records the rings hold ([`Recorder::held_at_panic`]).
#[derive(Default)]
pub(crate) struct Held {
    /// Records, every ring's summed.
    pub(crate) records: u64,
    /// Rings.
    pub(crate) rings: usize,
}

/// The instances in flight at one moment ([`Recorder::in_flight`]).
pub(crate) struct InFlight {
    /// Their ids (0: unused).
    ids: [u32; OPEN_STOPS],
    /// The last id handed out then.
    last: u32,
}

impl InFlight {
    /// Whether `stop` was in flight (and had a slot).
    pub(crate) fn contains(&self, stop: u32) -> bool {
        stop != 0 && self.ids.contains(&stop)
    }

    /// Whether `stop` began after this moment (ids grow; one that wrapped
    /// around counts as old).
    pub(crate) fn began_after(&self, stop: u32) -> bool {
        analysis::id_after(stop, self.last)
    }

    /// The ids in flight (with a slot).
    pub(crate) fn ids(&self) -> impl Iterator<Item = u32> + Clone + '_ {
        self.ids.iter().copied().filter(|&id| id != 0)
    }

    /// The last id handed out then.
    pub(crate) fn last(&self) -> u32 {
        self.last
    }
}

/// A backtrace request to one CPU (see `console.rs`).
pub(crate) struct Request {
    /// The instance it was sent for (0: none yet).
    pub(crate) stop: AtomicU32,
    /// When it was sent.
    pub(crate) sent_ns: AtomicU64,
    /// Whether the target prints the instance's warning before its
    /// backtrace.
    pub(crate) warning: AtomicBool,
}

/// Names from kallsyms and the recorder's comm cache: what every view and
/// the console print symbols and tasks with.
pub(crate) struct KernelNames<'a>(pub(crate) &'a Recorder);

impl Names for KernelNames<'_> {
    fn symbol(&self, f: &mut Formatter<'_>, addr: u64) -> fmt::Result {
        Demangled(seam::Symbol::of(addr).as_str()).fmt(f)
    }

    fn comm(&self, pid: u32) -> Option<Comm> {
        self.0.comm_of(pid)
    }
}

/// A console warning handed to a CPU that has not arrived is printed by a
/// waiting CPU instead if that CPU has not printed it after this long.
pub(crate) const FALLBACK_NS: u64 = 100_000_000;

/// The recorder's state for `console.rs`.
pub(crate) struct ConsoleState {
    /// Console output on.
    pub(crate) on: AtomicBool,
    /// The last instance whose warning was queued (once per instance).
    pub(crate) warned_stop: AtomicU32,
    /// The last instance whose warning was printed (by whoever got there
    /// first: the CPU it was handed to, or the fallback).
    pub(crate) printed_stop: AtomicU32,
    /// The last instance whose warning was handed to a CPU that has not
    /// arrived, and when: the waiting CPUs fall back to printing it
    /// themselves if it is not printed within `FALLBACK_NS`.
    pub(crate) handed_stop: AtomicU32,
    /// See `handed_stop`.
    pub(crate) handed_ns: AtomicU64,
    /// The last instance a waiting CPU queued the fallback for.
    pub(crate) fallback_stop: AtomicU32,
    /// Per CPU, indexed by CPU id.
    pub(crate) requests: KVec<Request>,
    /// `TAINT_SOFTLOCKUP`: the `add_taint()` flag of a soft-lockup report.
    pub(crate) taint_softlockup: u32,
}

impl ConsoleState {
    /// Console state for `nr_cpus` CPUs.
    fn new(nr_cpus: usize, on: bool) -> Result<Self> {
        let mut requests = KVec::with_capacity(nr_cpus, GFP_KERNEL)?;
        for _ in 0..nr_cpus {
            requests.push(
                Request {
                    stop: AtomicU32::new(0),
                    sent_ns: AtomicU64::new(0),
                    warning: AtomicBool::new(false),
                },
                GFP_KERNEL,
            )?;
        }
        Ok(Self {
            on: AtomicBool::new(on),
            warned_stop: AtomicU32::new(0),
            printed_stop: AtomicU32::new(0),
            handed_stop: AtomicU32::new(0),
            handed_ns: AtomicU64::new(0),
            fallback_stop: AtomicU32::new(0),
            requests,
            taint_softlockup: seam::taint_softlockup(),
        })
    }
}

/// Everything stopwatch records.
///
/// # Invariants
///
/// `rings` always points to a live [`RingSet`] owned by the recorder,
/// freed only by [`Recorder::resize`] after `synchronize_rcu()` (probe
/// handlers run with preemption disabled) and with `ring_lock` held (the
/// readers), or on drop.
#[pin_data(PinnedDrop)]
pub(crate) struct Recorder {
    /// Recording on (1) or off (0). Live state is kept either way.
    pub(crate) enabled: AtomicBool,
    /// Current rings.
    rings: AtomicPtr<RingSet>,
    /// Records per CPU ring.
    pub(crate) ring_records: AtomicUsize,
    /// Serialises readers against resize.
    #[pin]
    ring_lock: Mutex<()>,
    /// Per CPU, indexed by CPU id.
    pub(crate) cpus: KVec<CpuLive>,
    /// Task names.
    comms: CommCache<KVec<CommSlot>>,
    /// Instances between entry and return.
    open: OpenStops,
    /// Last instance id handed out.
    next_stop: AtomicU32,
    /// `THREAD_SIZE`.
    thread_size: u64,
    /// Early warning after this percentage of the lockup threshold.
    pub(crate) warn_percent: AtomicU32,
    /// The probe slots of the watchdog touch functions, bit `i` for slot
    /// `i` (`probes::TOUCH_PROBES`): a CPU's touches are their hits.
    touch_probes: u32,
    /// What the console side needs.
    pub(crate) console: ConsoleState,
    /// Records readers skipped because the writer overwrote them before
    /// their turn, since load.
    pub(crate) torn: AtomicU64,
    /// `multi_cpu_stop()` calls of an instance whose `struct
    /// multi_stop_data` did not check out (`logic::layout`): states not
    /// tracked for them.
    pub(crate) layout_errors: AtomicU64,
    /// Whether some instance's `struct multi_stop_data` checked out: only
    /// then are the states of calls of no instance read.
    pub(crate) layout_verified: AtomicBool,
}

// SAFETY: every field is an atomic, a lock, or data only read after init;
// the raw pointer is managed under the type invariants.
unsafe impl Send for Recorder {}
// SAFETY: as above: shared access only goes through atomics and the lock.
unsafe impl Sync for Recorder {}

impl Recorder {
    /// A recorder for `nr_cpus` CPUs with rings of `records` each,
    /// recording from the start; `touch_probes` are the slots of the probes
    /// on the watchdog touch functions.
    pub(crate) fn new(
        nr_cpus: usize,
        records: usize,
        warn_percent: u32,
        console: bool,
        touch_probes: u32,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            enabled: AtomicBool::new(true),
            ring_records: AtomicUsize::new(records),
            ring_lock <- new_mutex!(()),
            cpus: {
                let mut cpus = KVec::with_capacity(nr_cpus, GFP_KERNEL)?;
                for _ in 0..nr_cpus {
                    cpus.push(CpuLive::new(), GFP_KERNEL)?;
                }
                cpus
            },
            comms: {
                let mut slots = KVec::with_capacity(COMM_SLOTS, GFP_KERNEL)?;
                for _ in 0..COMM_SLOTS {
                    slots.push(CommSlot::new(), GFP_KERNEL)?;
                }
                CommCache::new(slots).ok_or(EINVAL)?
            },
            open: OpenStops::new(),
            next_stop: AtomicU32::new(0),
            thread_size: seam::thread_size(),
            warn_percent: AtomicU32::new(warn_percent),
            touch_probes,
            console: ConsoleState::new(nr_cpus, console)?,
            torn: AtomicU64::new(0),
            layout_errors: AtomicU64::new(0),
            layout_verified: AtomicBool::new(false),
            // Last: once the rings are a raw pointer only `PinnedDrop`
            // frees them, and it runs only for a fully built recorder.
            rings: AtomicPtr::new(KBox::into_raw(RingSet::new(nr_cpus, records, 0, |c| {
                services::cpu_online(c as u32)
            })?)),
        }? Error)
    }

    /// Live state of `cpu`, if it is one we track.
    #[inline(always)]
    pub(crate) fn cpu(&self, cpu: u32) -> Option<&CpuLive> {
        self.cpus.get(cpu as usize)
    }

    /// The live state of every CPU, read now.
    pub(crate) fn live_cpus(&self) -> LiveCpus<'_, impl Fn(usize) -> bool> {
        LiveCpus {
            live: &self.cpus,
            online: |cpu| services::cpu_online(cpu as u32),
            now_ns: services::now_ns(),
        }
    }

    /// Who is to blame for an instance: one in which some CPU waited the
    /// early warning's threshold (`warn_percent` of the lockup threshold,
    /// the smallest measured on any CPU).
    pub(crate) fn blame(&self) -> Blame {
        Blame::of(
            self.cpus.iter().map(CpuLive::lockup_threshold_ns),
            self.warn_percent.load(Relaxed),
        )
    }

    /// The `stop_machine()` calls between entry and return that have a
    /// slot in the open-instance table.
    pub(crate) fn open_instances(&self) -> impl Iterator<Item = Instance> + '_ {
        self.open.instances()
    }

    /// The instances in flight now, and the last id handed out.
    pub(crate) fn in_flight(&self) -> InFlight {
        let mut ids = [0; OPEN_STOPS];
        // The last id first: an instance in the table has an id up to it.
        let last = self.next_stop.load(Acquire);
        for (id, i) in ids.iter_mut().zip(self.open.instances()) {
            *id = i.stop;
        }
        InFlight { ids, last }
    }

    /// Instance `stop`, if it is in flight and has a slot.
    pub(crate) fn instance(&self, stop: u32) -> Option<Instance> {
        self.open_instances().find(|i| i.stop == stop)
    }

    /// Watchdog touches `live`'s CPU has made since load.
    #[inline(always)]
    pub(crate) fn touches(&self, live: &CpuLive) -> u64 {
        live.hits_of(self.touch_probes)
    }

    /// Name of `pid` if known.
    pub(crate) fn comm_of(&self, pid: u32) -> Option<Comm> {
        self.comms.lookup(pid)
    }

    /// Fills every CPU's ring with `per_cpu` synthetic records (watchdog
    /// work and checks, 1 us apart), for the tests of the read path.
    ///
    /// Only before the probes are registered and the files exist: the
    /// rings' single writer is then the caller (see `logic::ring`).
    pub(crate) fn test_fill(&self, per_cpu: u32) {
        // SAFETY: no resize can run before the files exist.
        let rings = unsafe { &*self.rings.load(Acquire) };
        let now = services::now_ns();
        for i in 0..per_cpu {
            for (cpu, ring) in rings.iter() {
                let event = match i % 2 {
                    0 => Event::WatchdogWork,
                    _ => Event::WatchdogCheck {
                        touch_age_ns: Some(1000),
                    },
                };
                let rec = Record {
                    ts_ns: now + u64::from(i) * 1000,
                    cpu: cpu as u16,
                    pid: 0,
                    event,
                };
                ring.push(rec.encode());
            }
            if i % YIELD_EVERY == 0 {
                services::cond_resched();
            }
        }
    }

    /// Forgets every record (live state stays).
    pub(crate) fn clear(&self) {
        let _guard = self.ring_lock.lock();
        // SAFETY: `ring_lock` is held, so no resize frees the set.
        let rings = unsafe { &*self.rings.load(Acquire) };
        rings.iter().for_each(|(_, ring)| ring.clear());
    }

    /// Replaces every ring by an empty one of `records`. Only while
    /// recording is off: `EBUSY` otherwise.
    pub(crate) fn resize(&self, records: usize) -> Result {
        let _guard = self.ring_lock.lock();
        if self.enabled.load(Relaxed) {
            return Err(EBUSY);
        }
        // SAFETY: `ring_lock` is held, so the set is live.
        let old = unsafe { &*self.rings.load(Acquire) };
        // A ring for every CPU that had one, and those online now. A CPU
        // coming up meanwhile waits for `ring_lock` in `add_cpu()`, then
        // gets its ring in the new set.
        let new = RingSet::new(self.cpus.len(), records, old.generation + 1, |c| {
            old.get(c).is_some() || services::cpu_online(c as u32)
        })?;
        new.describe(vmcore::descriptor());
        let old = self.rings.swap(KBox::into_raw(new), Release);
        self.ring_records.store(records, Relaxed);
        // Handlers that loaded `old` run with preemption disabled: wait for
        // them before freeing it.
        services::synchronize_rcu();
        // SAFETY: `old` came from `KBox::into_raw` and, after the grace
        // period and with `ring_lock` held, nobody can still use it.
        drop(unsafe { KBox::from_raw(old) });
        Ok(())
    }

    /// Gives `cpu`, coming up, its ring if it has none (the CPU hotplug
    /// callback, `hotplug.rs`). Process context; may sleep.
    pub(crate) fn add_cpu(&self, cpu: usize) {
        let _guard = self.ring_lock.lock();
        // SAFETY: `ring_lock` is held, so no resize frees the set.
        let rings = unsafe { &*self.rings.load(Acquire) };
        if rings.add(cpu).is_err() {
            rings.failed.fetch_add(1, Relaxed);
        }
    }

    /// Writes where everything is, and how it is laid out, into the vmcore
    /// descriptor `d` (`recorder/vmcore.rs`).
    fn describe(&self, d: &Descriptor) {
        d.nr_cpus.store(self.cpus.len() as u32, Relaxed);
        d.ring_head_off
            .store(ring::RING_HEAD_OFFSET as u32, Relaxed);
        d.ring_base_off
            .store(ring::RING_BASE_OFFSET as u32, Relaxed);
        d.slot_bytes
            .store(core::mem::size_of::<ring::Slot>() as u32, Relaxed);
        d.slot_seq_off.store(ring::SLOT_SEQ_OFFSET as u32, Relaxed);
        d.slot_words_off
            .store(ring::SLOT_WORDS_OFFSET as u32, Relaxed);
        d.comm_slot_bytes
            .store(core::mem::size_of::<CommSlot>() as u32, Relaxed);
        d.comm_slots.store(self.comms.slots_addr(), Relaxed);
        d.comm_count.store(self.comms.len() as u32, Relaxed);
        d.comm_seq_off.store(comm::COMM_SEQ_OFFSET as u32, Relaxed);
        d.comm_pid_off.store(comm::COMM_PID_OFFSET as u32, Relaxed);
        d.comm_name_off
            .store(comm::COMM_NAME_OFFSET as u32, Relaxed);
        d.live.store(self.cpus.as_ptr() as u64, Relaxed);
        d.live_stride
            .store(core::mem::size_of::<CpuLive>() as u32, Relaxed);
        d.live_interval_off.store(
            core::mem::offset_of!(CpuLive, check_interval_ns) as u32,
            Relaxed,
        );
        self.open.describe(d);
        d.last_stop.store(address_of(&self.next_stop), Relaxed);
        d.warn_percent
            .store(address_of(&self.warn_percent), Relaxed);
        let _guard = self.ring_lock.lock();
        // SAFETY: `ring_lock` is held, so no resize frees the set.
        let rings = unsafe { &*self.rings.load(Acquire) };
        rings.describe(d);
    }

    /// What the recorder holds in memory now.
    pub(crate) fn memory(&self) -> Memory {
        let _guard = self.ring_lock.lock();
        // SAFETY: `ring_lock` is held, so no resize frees the set.
        let rings = unsafe { &*self.rings.load(Acquire) };
        Memory {
            rings: rings.iter().count(),
            ring_bytes: rings.ring_bytes(),
            failed: rings.failed.load(Relaxed),
            per_cpu_bytes: self.cpus.len()
                * (core::mem::size_of::<CpuLive>()
                    + core::mem::size_of::<Request>()
                    + core::mem::size_of::<AtomicPtr<()>>()
                    + core::mem::size_of::<crate::logic::vmcore::RingEntry>()),
            comm_bytes: COMM_SLOTS * core::mem::size_of::<CommSlot>(),
        }
    }

    /// The online CPUs among those tracked.
    pub(crate) fn online_cpus(&self) -> Result<KVec<u16>> {
        let mut out = KVec::new();
        for cpu in 0..self.cpus.len() {
            if services::cpu_online(cpu as u32) {
                out.push(cpu as u16, GFP_KERNEL)?;
            }
        }
        Ok(out)
    }
}

#[pinned_drop]
impl PinnedDrop for Recorder {
    fn drop(self: Pin<&mut Self>) {
        let rings = self.rings.swap(core::ptr::null_mut(), Relaxed);
        if !rings.is_null() {
            // SAFETY: the probes are unregistered before the recorder is
            // dropped (see `Stopwatch`), so nothing uses the set; it came
            // from `KBox::into_raw`.
            drop(unsafe { KBox::from_raw(rings) });
        }
    }
}

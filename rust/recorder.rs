// SPDX-License-Identifier: GPL-2.0

//! The recorder: rings, live per-CPU state, and what each probe does.
//!
//! Probe handlers (`on_*`) run with preemption disabled, possibly with
//! interrupts off or in NMI context. They only load and store atomics, read
//! the clock the hit carries, and push to their own CPU's ring: no locks,
//! no allocation, no printk, bounded work (the one loop, the culprit
//! search of an early warning, runs once per CPU per instance and is
//! bounded by the number of CPUs).
//!
//! Readers (the debugfs files) run in process context, take `ring_lock`
//! against a concurrent resize, and never block the writers.

use crate::{
    hot::{
        fence, Acquire, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Relaxed, Release,
    },
    record::{Event, Record, StopState, TouchSource},
    ring::{Ring, RingCounts},
    seam::{self, Hit, MultiStopPtr, COMM_LEN, MAX_PROBES},
};
use kernel::{new_mutex, prelude::*, sync::Mutex};

/// `stop_state` of a CPU not inside `multi_cpu_stop()`.
const NOT_IN_STOP: u32 = u32::MAX;
/// A touch from the same caller as the previous recorded one is recorded
/// again only after this long (the live state always has the latest).
const TOUCH_RECORD_GAP_NS: u64 = 10_000_000;
/// Soft-lockup threshold assumed until the watchdog's period is measured:
/// `2 * watchdog_thresh` with the default `watchdog_thresh=10`.
const DEFAULT_LOCKUP_NS: u64 = 20_000_000_000;
/// Slots of the open-instance table (concurrent `stop_machine()` callers).
const OPEN_STOPS: usize = 8;
/// Slots of the pid -> comm cache.
const COMM_SLOTS: usize = 512;

/// What one CPU is doing, as the probes last saw it. All fields are
/// atomics written by probe handlers and read by anyone.
pub(crate) struct CpuLive {
    /// Last `touch_*softlockup_watchdog*()` affecting this CPU (0: none).
    pub(crate) touch_ns: AtomicU64,
    /// Its [`TouchSource`] as a number.
    pub(crate) touch_source: AtomicU32,
    /// Its caller.
    pub(crate) touch_caller: AtomicU64,
    /// `jiffies` at it.
    touch_jiffies: AtomicU64,
    /// Last `softlockup_fn()` (0: none).
    pub(crate) work_ns: AtomicU64,
    /// Last `watchdog_timer_fn()` (0: none).
    pub(crate) check_ns: AtomicU64,
    /// Pid of the task it interrupted.
    pub(crate) check_pid: AtomicU32,
    /// Name of that task, 16 bytes in two words.
    check_comm: [AtomicU64; 2],
    /// The watchdog's `sample_period` as measured: the mean of the last
    /// two intervals between checks (a late timer makes the next interval
    /// short by as much; 0: not measured yet).
    pub(crate) check_interval_ns: AtomicU64,
    /// The last interval between checks (0: none yet).
    last_interval_ns: AtomicU64,
    /// Instance this CPU's stopper is in (meaningful with `stop_state`).
    pub(crate) stop_id: AtomicU32,
    /// [`StopState`] it last saw, or [`NOT_IN_STOP`].
    pub(crate) stop_state: AtomicU32,
    /// When it saw that state.
    pub(crate) stop_since_ns: AtomicU64,
    /// The `struct multi_stop_data` of the call (0: not tracking states).
    stop_msdata: AtomicU64,
    /// The cpumask `stop_machine_yield()` gets in that call.
    stop_mask: AtomicU64,
    /// Whether this CPU already warned for the current call.
    stop_warned: AtomicBool,
    /// Time and caller of the last touch put in the ring (rate limit).
    rec_touch_ns: AtomicU64,
    /// See `rec_touch_ns`.
    rec_touch_caller: AtomicU64,
    /// Touches not put in the ring by the rate limit.
    pub(crate) coalesced: AtomicU64,
    /// Last pid this CPU put in the comm cache.
    comm_pid: AtomicU32,
    /// Hits per probe slot on this CPU.
    pub(crate) hits: [AtomicU64; MAX_PROBES],
}

impl CpuLive {
    /// A CPU nothing has been seen on.
    fn new() -> Self {
        Self {
            touch_ns: AtomicU64::new(0),
            touch_source: AtomicU32::new(0),
            touch_caller: AtomicU64::new(0),
            touch_jiffies: AtomicU64::new(0),
            work_ns: AtomicU64::new(0),
            check_ns: AtomicU64::new(0),
            check_pid: AtomicU32::new(0),
            check_comm: [const { AtomicU64::new(0) }; 2],
            check_interval_ns: AtomicU64::new(0),
            last_interval_ns: AtomicU64::new(0),
            stop_id: AtomicU32::new(0),
            stop_state: AtomicU32::new(NOT_IN_STOP),
            stop_since_ns: AtomicU64::new(0),
            stop_msdata: AtomicU64::new(0),
            stop_mask: AtomicU64::new(0),
            stop_warned: AtomicBool::new(false),
            rec_touch_ns: AtomicU64::new(0),
            rec_touch_caller: AtomicU64::new(0),
            coalesced: AtomicU64::new(0),
            comm_pid: AtomicU32::new(u32::MAX),
            hits: [const { AtomicU64::new(0) }; MAX_PROBES],
        }
    }

    /// The state of the stop it is in, if any.
    pub(crate) fn stop(&self) -> Option<(u32, StopState, u64)> {
        let state = StopState::from_raw(u64::from(self.stop_state.load(Acquire)))?;
        Some((
            self.stop_id.load(Relaxed),
            state,
            self.stop_since_ns.load(Relaxed),
        ))
    }

    /// Whether this CPU's stopper is inside instance `stop`.
    pub(crate) fn in_stop(&self, stop: u32) -> bool {
        self.stop_state.load(Acquire) != NOT_IN_STOP && self.stop_id.load(Relaxed) == stop
    }

    /// Name of the task at the last check.
    pub(crate) fn check_comm(&self) -> [u8; COMM_LEN] {
        words_to_comm([
            self.check_comm[0].load(Relaxed),
            self.check_comm[1].load(Relaxed),
        ])
    }

    /// Soft-lockup threshold (`2 * watchdog_thresh`) as measured on this
    /// CPU: the watchdog checks every `sample_period = 2 * watchdog_thresh
    /// / 5` (kernel/watchdog.c, `NUM_SAMPLE_PERIODS`).
    pub(crate) fn lockup_threshold_ns(&self) -> u64 {
        match self.check_interval_ns.load(Relaxed) {
            0 => DEFAULT_LOCKUP_NS,
            period => period.saturating_mul(5),
        }
    }
}

/// Adds one to a counter only its own CPU writes (from probe context, which
/// does not nest): a plain load and store, no locked read-modify-write.
#[inline(always)]
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Relaxed).wrapping_add(1), Relaxed);
}

/// Packs a task name into two words.
fn comm_to_words(comm: &[u8; COMM_LEN]) -> [u64; 2] {
    let mut lo = [0u8; 8];
    let mut hi = [0u8; 8];
    lo.copy_from_slice(&comm[..8]);
    hi.copy_from_slice(&comm[8..]);
    [u64::from_le_bytes(lo), u64::from_le_bytes(hi)]
}

/// Unpacks [`comm_to_words`].
fn words_to_comm(words: [u64; 2]) -> [u8; COMM_LEN] {
    let mut comm = [0u8; COMM_LEN];
    comm[..8].copy_from_slice(&words[0].to_le_bytes());
    comm[8..].copy_from_slice(&words[1].to_le_bytes());
    comm[COMM_LEN - 1] = 0;
    comm
}

/// One entry of the pid -> comm cache.
///
/// # Invariants
///
/// `seq` is odd while one writer fills the entry, which it claimed with a
/// compare-and-exchange; other writers skip it meanwhile.
struct CommSlot {
    /// Sequence word.
    seq: AtomicU32,
    /// The pid.
    pid: AtomicU32,
    /// The name, in two words.
    comm: [AtomicU64; 2],
}

/// Task names by pid, so records can stay 32 bytes: written by the probes
/// on the first record of a task on a CPU, read when formatting. Best
/// effort: a slot taken by another pid reads as unknown.
struct CommCache {
    /// Direct-mapped by pid.
    slots: KVec<CommSlot>,
}

impl CommCache {
    /// An empty cache.
    fn new() -> Result<Self> {
        let mut slots = KVec::with_capacity(COMM_SLOTS, GFP_KERNEL)?;
        for _ in 0..COMM_SLOTS {
            slots.push(
                CommSlot {
                    seq: AtomicU32::new(0),
                    pid: AtomicU32::new(u32::MAX),
                    comm: [const { AtomicU64::new(0) }; 2],
                },
                GFP_KERNEL,
            )?;
        }
        Ok(Self { slots })
    }

    /// Remembers `pid`'s name; gives up if another CPU writes the slot.
    fn insert(&self, pid: u32, comm: &[u8; COMM_LEN]) {
        let slot = &self.slots[pid as usize % COMM_SLOTS];
        let seq = slot.seq.load(Relaxed);
        if seq & 1 == 1
            || slot
                .seq
                .compare_exchange(seq, seq.wrapping_add(1), Acquire, Relaxed)
                .is_err()
        {
            return;
        }
        // The odd sequence must be visible before the new contents.
        fence(Release);
        let words = comm_to_words(comm);
        slot.pid.store(pid, Relaxed);
        slot.comm[0].store(words[0], Relaxed);
        slot.comm[1].store(words[1], Relaxed);
        slot.seq.store(seq.wrapping_add(2), Release);
    }

    /// `pid`'s name, if cached.
    fn lookup(&self, pid: u32) -> Option<[u8; COMM_LEN]> {
        let slot = &self.slots[pid as usize % COMM_SLOTS];
        let before = slot.seq.load(Acquire);
        let cached = slot.pid.load(Relaxed);
        let words = [slot.comm[0].load(Relaxed), slot.comm[1].load(Relaxed)];
        fence(Acquire);
        if before & 1 == 1 || slot.seq.load(Relaxed) != before || cached != pid {
            return None;
        }
        Some(words_to_comm(words))
    }
}

/// A `stop_machine_cpuslocked()` call between its entry and return.
struct OpenStop {
    /// Instance id; 0 when free, [`u32::MAX`] while being filled.
    id: AtomicU32,
    /// Base of the caller's stack: the call's `struct multi_stop_data`
    /// lives in `[stack, stack + THREAD_SIZE)`.
    stack: AtomicU64,
    /// `fn` and `data` (match `multi_cpu_stop()` calls to the instance).
    func: AtomicU64,
    /// See `func`.
    data: AtomicU64,
    /// Online CPUs at entry (`num_threads` of the call).
    nr_cpus: AtomicU32,
}

/// The rings of every CPU, replaced as a whole on resize.
pub(crate) struct RingSet {
    /// Indexed by CPU id.
    pub(crate) rings: KVec<Ring>,
}

impl RingSet {
    /// `nr_cpus` rings of `records` each.
    fn new(nr_cpus: usize, records: usize) -> Result<KBox<Self>> {
        let mut rings = KVec::with_capacity(nr_cpus, GFP_KERNEL)?;
        for _ in 0..nr_cpus {
            rings.push(Ring::new(records)?, GFP_KERNEL)?;
        }
        Ok(KBox::new(Self { rings }, GFP_KERNEL)?)
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
    comms: CommCache,
    /// Instances between entry and return.
    open: [OpenStop; OPEN_STOPS],
    /// Last instance id handed out.
    next_stop: AtomicU32,
    /// `THREAD_SIZE`.
    thread_size: u64,
    /// Early warning after this percentage of the lockup threshold.
    pub(crate) warn_percent: AtomicU32,
    /// Ring slots readers skipped because the writer was overwriting them
    /// while they copied, since load.
    pub(crate) torn: AtomicU64,
    /// `multi_cpu_stop()` calls whose `struct multi_stop_data` did not
    /// look like the one `stop_machine_cpuslocked()` built: states not
    /// tracked for them.
    pub(crate) layout_errors: AtomicU64,
}

// SAFETY: every field is an atomic, a lock, or data only read after init;
// the raw pointer is managed under the type invariants.
unsafe impl Send for Recorder {}
// SAFETY: as above: shared access only goes through atomics and the lock.
unsafe impl Sync for Recorder {}

impl Recorder {
    /// A recorder for `nr_cpus` CPUs with rings of `records` each,
    /// recording from the start.
    pub(crate) fn new(
        nr_cpus: usize,
        records: usize,
        warn_percent: u32,
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
            comms: CommCache::new()?,
            open: [const {
                OpenStop {
                    id: AtomicU32::new(0),
                    stack: AtomicU64::new(0),
                    func: AtomicU64::new(0),
                    data: AtomicU64::new(0),
                    nr_cpus: AtomicU32::new(0),
                }
            }; OPEN_STOPS],
            next_stop: AtomicU32::new(0),
            thread_size: seam::thread_size(),
            warn_percent: AtomicU32::new(warn_percent),
            torn: AtomicU64::new(0),
            layout_errors: AtomicU64::new(0),
            // Last: once the rings are a raw pointer only `PinnedDrop`
            // frees them, and it runs only for a fully built recorder.
            rings: AtomicPtr::new(KBox::into_raw(RingSet::new(nr_cpus, records)?)),
        }? Error)
    }

    /// Live state of `cpu`, if it is one we track.
    pub(crate) fn cpu(&self, cpu: u32) -> Option<&CpuLive> {
        self.cpus.get(cpu as usize)
    }

    /// Appends a record for `hit` to its CPU's ring, if recording.
    fn emit(&self, hit: &Hit, live: &CpuLive, event: Event) {
        if !self.enabled.load(Relaxed) {
            return;
        }
        let rings = self.rings.load(Acquire);
        // SAFETY: by the type invariants `rings` is live; we run with
        // preemption disabled (probe context), so a resize waits for us in
        // `synchronize_rcu()` before freeing it.
        let rings = unsafe { &*rings };
        let Some(ring) = rings.rings.get(hit.cpu as usize) else {
            return;
        };
        if live.comm_pid.load(Relaxed) != hit.pid {
            live.comm_pid.store(hit.pid, Relaxed);
            self.comms.insert(hit.pid, &hit.comm());
        }
        let rec = Record {
            ts_ns: hit.ts_ns,
            cpu: hit.cpu as u16,
            pid: hit.pid,
            event,
        };
        ring.push(rec.encode());
    }

    /// Counts a hit of probe `index`; returns the CPU's live state.
    #[inline(always)]
    pub(crate) fn count_hit(&self, index: usize, hit: &Hit) -> Option<&CpuLive> {
        let live = self.cpu(hit.cpu)?;
        // A paired probe's return is the same call: count its entry only.
        if hit.phase == 0 {
            if let Some(h) = live.hits.get(index) {
                bump(h);
            }
        }
        Some(live)
    }

    /// A `touch_*softlockup_watchdog*()` call: the hottest path, inlined
    /// into the dispatch (every call and return costs under TCG too).
    ///
    /// A touch from the same caller and source as the previous one on this
    /// CPU, within the same jiffy, only counts as coalesced: no clock read,
    /// and the live touch time stays that of the first one (at most one
    /// jiffy old). Otherwise the clock is read, the live state updated, and
    /// a record written unless the same caller was recorded less than
    /// [`TOUCH_RECORD_GAP_NS`] ago.
    #[inline(always)]
    pub(crate) fn on_touch(&self, live: &CpuLive, hit: &mut Hit, source: TouchSource) {
        if source != TouchSource::All
            && live.touch_jiffies.load(Relaxed) == hit.jiffies
            && live.touch_caller.load(Relaxed) == hit.caller
            && live.touch_source.load(Relaxed) == source as u32
            && live.touch_ns.load(Relaxed) != 0
        {
            bump(&live.coalesced);
            return;
        }
        hit.ts_ns = seam::now_ns();
        let mark = |c: &CpuLive| {
            c.touch_ns.store(hit.ts_ns, Relaxed);
            c.touch_source.store(source as u32, Relaxed);
            c.touch_caller.store(hit.caller, Relaxed);
            c.touch_jiffies.store(hit.jiffies, Relaxed);
        };
        if source == TouchSource::All {
            self.cpus.iter().for_each(mark);
        } else {
            mark(live);
        }
        let last = live.rec_touch_ns.load(Relaxed);
        if live.rec_touch_caller.load(Relaxed) == hit.caller
            && last != 0
            && hit.ts_ns.saturating_sub(last) < TOUCH_RECORD_GAP_NS
        {
            bump(&live.coalesced);
            return;
        }
        live.rec_touch_ns.store(hit.ts_ns, Relaxed);
        live.rec_touch_caller.store(hit.caller, Relaxed);
        self.emit(
            hit,
            live,
            Event::Touch {
                source,
                caller: hit.caller,
            },
        );
    }

    /// `softlockup_fn()`: the watchdog work ran.
    pub(crate) fn on_watchdog_work(&self, live: &CpuLive, hit: &Hit) {
        live.work_ns.store(hit.ts_ns, Relaxed);
        self.emit(hit, live, Event::WatchdogWork);
    }

    /// `watchdog_timer_fn()`: the periodic check.
    pub(crate) fn on_watchdog_check(&self, live: &CpuLive, hit: &Hit) {
        let refreshed = live.touch_ns.load(Relaxed).max(live.work_ns.load(Relaxed));
        let touch_age_ns = if refreshed == 0 {
            u64::MAX
        } else {
            hit.ts_ns.saturating_sub(refreshed)
        };
        let prev = live.check_ns.load(Relaxed);
        if prev != 0 {
            let interval = hit.ts_ns.saturating_sub(prev);
            // Ignore gaps from a stopped timer (watchdog off, CPU offline).
            if interval > 0 && interval < 60_000_000_000 {
                let last = live.last_interval_ns.swap(interval, Relaxed);
                let period = if last == 0 {
                    interval
                } else {
                    (interval + last) / 2
                };
                live.check_interval_ns.store(period, Relaxed);
            }
        }
        live.check_ns.store(hit.ts_ns, Relaxed);
        live.check_pid.store(hit.pid, Relaxed);
        let words = comm_to_words(&hit.comm());
        live.check_comm[0].store(words[0], Relaxed);
        live.check_comm[1].store(words[1], Relaxed);
        self.emit(hit, live, Event::WatchdogCheck { touch_age_ns });
    }

    /// `stop_machine_cpuslocked(fn, data, cpus)` entry.
    ///
    /// The instance gets an id and, if one is free, a slot in `open` (more
    /// than [`OPEN_STOPS`] callers at once queue on `stop_cpus_mutex`; the
    /// extra ones are recorded but their CPUs' states carry id 0). The id,
    /// slot and start travel to the return in the call's kretprobe scratch.
    pub(crate) fn on_stop_begin(&self, live: &CpuLive, hit: &mut Hit) {
        let mut id = self.next_stop.fetch_add(1, Relaxed).wrapping_add(1);
        if id == 0 || id == u32::MAX {
            id = 1;
        }
        let nr_cpus = seam::num_online_cpus();
        // SAFETY: `args[2]` is the `cpus` argument of the call being
        // entered: NULL or a cpumask its caller keeps alive for the call.
        let nr_active = unsafe { seam::cpumask_weight(hit.args[2]) };
        let slot = self
            .open
            .iter()
            .position(|s| s.id.compare_exchange(0, u32::MAX, Acquire, Relaxed).is_ok());
        if let Some(i) = slot {
            let slot = &self.open[i];
            slot.stack.store(hit.stack, Relaxed);
            slot.func.store(hit.args[0], Relaxed);
            slot.data.store(hit.args[1], Relaxed);
            slot.nr_cpus.store(nr_cpus, Relaxed);
            slot.id.store(id, Release);
        }
        let ts = hit.ts_ns;
        if let Some(scratch) = hit.instance() {
            let slot_plus_one = slot.map_or(0, |i| i as u64 + 1);
            scratch[0] = u64::from(id) | (slot_plus_one << 32);
            scratch[1] = ts;
        }
        self.emit(
            hit,
            live,
            Event::StopBegin {
                stop: id,
                nr_cpus: nr_cpus.min(u32::from(u16::MAX)) as u16,
                nr_active: nr_active.min(u32::from(u16::MAX)) as u16,
                func: hit.args[0],
            },
        );
    }

    /// `stop_machine_cpuslocked()` return (possibly on another CPU): the
    /// same call's entry left its id, slot and start in the scratch.
    pub(crate) fn on_stop_end(&self, live: &CpuLive, hit: &mut Hit) {
        let ts = hit.ts_ns;
        let (stop, slot, begin) = hit
            .instance()
            .map_or((0, 0, ts), |s| (s[0] as u32, (s[0] >> 32) as usize, s[1]));
        if let Some(open) = slot.checked_sub(1).and_then(|i| self.open.get(i)) {
            // Only this call's return frees its slot.
            let _ = open.id.compare_exchange(stop, 0, Release, Relaxed);
        }
        self.emit(
            hit,
            live,
            Event::StopEnd {
                stop,
                ret: hit.retval as i32,
                duration_ns: ts.saturating_sub(begin),
            },
        );
    }

    /// `multi_cpu_stop(msdata)` entry: this CPU's stopper arrived.
    pub(crate) fn on_cpu_enter(&self, live: &CpuLive, hit: &Hit) {
        // SAFETY: `args[0]` is the `data` argument of the `multi_cpu_stop()`
        // call being entered, and the wrapper is only kept in `live` until
        // the return probe of that call clears it.
        let msdata = unsafe { MultiStopPtr::new(hit.args[0]) };
        let ms = msdata.read();
        let mut stop = 0;
        let mut expected_threads = None;
        // The instance whose caller's stack holds this `msdata` (and whose
        // `fn` and `data` it carries): unambiguous even when two callers
        // pass the same `fn` and `data`.
        for slot in self.open.iter() {
            let id = slot.id.load(Acquire);
            let stack = slot.stack.load(Relaxed);
            if id != 0
                && id != u32::MAX
                && (stack..stack.saturating_add(self.thread_size)).contains(&msdata.addr())
                && slot.func.load(Relaxed) == ms.func
                && slot.data.load(Relaxed) == ms.data
            {
                stop = id;
                expected_threads = Some(slot.nr_cpus.load(Relaxed));
                break;
            }
        }
        let layout_ok = StopState::from_raw(u64::from(ms.state)).is_some()
            && ms.func != 0
            && expected_threads.is_none_or(|n| n == ms.num_threads);
        live.stop_warned.store(false, Relaxed);
        live.stop_id.store(stop, Relaxed);
        live.stop_since_ns.store(hit.ts_ns, Relaxed);
        if layout_ok {
            let mask = if ms.active_cpus == 0 {
                seam::cpu_online_mask()
            } else {
                ms.active_cpus
            };
            live.stop_mask.store(mask, Relaxed);
            live.stop_msdata.store(msdata.addr(), Relaxed);
        } else {
            self.layout_errors.fetch_add(1, Relaxed);
            live.stop_msdata.store(0, Relaxed);
        }
        live.stop_state.store(StopState::None as u32, Release);
        self.emit(
            hit,
            live,
            Event::CpuState {
                stop,
                state: StopState::None,
            },
        );
    }

    /// `stop_machine_yield(cpumask)`: once per spin of `multi_cpu_stop()`.
    pub(crate) fn on_cpu_spin(&self, live: &CpuLive, hit: &Hit) {
        let addr = live.stop_msdata.load(Relaxed);
        if addr == 0 || live.stop_mask.load(Relaxed) != hit.args[0] {
            return;
        }
        // SAFETY: `addr` was stored by the entry handler of the paired
        // probe on the `multi_cpu_stop()` call we are spinning in (its
        // return handler clears it, and the cpumask matches), so it is
        // still live; `state()` reads it fault-safe all the same.
        let msdata = unsafe { MultiStopPtr::new(addr) };
        let raw = msdata.state();
        let Some(state) = StopState::from_raw(u64::from(raw)) else {
            return;
        };
        let stop = live.stop_id.load(Relaxed);
        let seen = live.stop_state.load(Relaxed);
        if raw != seen {
            // States advance one at a time and every CPU acks each one, so
            // a CPU whose state moved on by more than one between two
            // spins passed through the ones in between: record them too.
            let from = if seen < raw { seen + 1 } else { raw };
            for step in from..=raw {
                if let Some(state) = StopState::from_raw(u64::from(step)) {
                    self.emit(hit, live, Event::CpuState { stop, state });
                }
            }
            live.stop_since_ns.store(hit.ts_ns, Relaxed);
            live.stop_state.store(raw, Release);
            return;
        }
        if state != StopState::Prepare || stop == 0 || live.stop_warned.load(Relaxed) {
            return;
        }
        let waited_ns = hit.ts_ns.saturating_sub(live.stop_since_ns.load(Relaxed));
        let limit = live.lockup_threshold_ns() / 100 * u64::from(self.warn_percent.load(Relaxed));
        if waited_ns < limit {
            return;
        }
        live.stop_warned.store(true, Relaxed);
        let culprit = self
            .cpus
            .iter()
            .enumerate()
            .find(|(cpu, c)| seam::cpu_online(*cpu as u32) && !c.in_stop(stop))
            .map_or(u32::MAX, |(cpu, _)| cpu as u32);
        self.emit(
            hit,
            live,
            Event::EarlyWarning {
                stop,
                culprit,
                waited_ns,
            },
        );
    }

    /// `multi_cpu_stop()` return: this CPU's stopper left.
    pub(crate) fn on_cpu_exit(&self, live: &CpuLive, hit: &Hit) {
        let stop = live.stop_id.load(Relaxed);
        let was = live.stop_state.load(Relaxed);
        live.stop_msdata.store(0, Relaxed);
        live.stop_mask.store(0, Relaxed);
        live.stop_state.store(NOT_IN_STOP, Release);
        // The last spin usually saw EXIT already; if states were not
        // tracked (layout check failed), the return is the EXIT.
        if was != NOT_IN_STOP && was != StopState::Exit as u32 {
            self.emit(
                hit,
                live,
                Event::CpuState {
                    stop,
                    state: StopState::Exit,
                },
            );
        }
    }

    /// Name of `pid` if known.
    pub(crate) fn comm_of(&self, pid: u32) -> Option<[u8; COMM_LEN]> {
        self.comms.lookup(pid)
    }

    /// Every record in the rings, merged in time order (each CPU's own
    /// order kept). Slots skipped as torn are added to `torn`.
    pub(crate) fn snapshot(&self) -> Result<KVVec<Record>> {
        let _guard = self.ring_lock.lock();
        let rings = self.rings.load(Acquire);
        // SAFETY: `ring_lock` is held, so no resize frees `rings` meanwhile.
        let rings = unsafe { &*rings };
        let mut per_cpu: KVec<KVVec<Record>> = KVec::new();
        let mut torn = 0;
        let mut total = 0;
        for ring in rings.rings.iter() {
            let mut words = KVVec::new();
            torn += ring.snapshot(&mut words)?;
            let mut recs = KVVec::with_capacity(words.len(), GFP_KERNEL)?;
            for w in words.iter() {
                // Records we cannot decode were not written by us.
                if let Ok(rec) = Record::decode(*w) {
                    recs.push(rec, GFP_KERNEL)?;
                }
            }
            total += recs.len();
            per_cpu.push(recs, GFP_KERNEL)?;
        }
        let mut merged = KVVec::with_capacity(total, GFP_KERNEL)?;
        let mut next = KVec::with_capacity(per_cpu.len(), GFP_KERNEL)?;
        for _ in 0..per_cpu.len() {
            next.push(0usize, GFP_KERNEL)?;
        }
        loop {
            let mut best: Option<(usize, u64)> = None;
            for (cpu, recs) in per_cpu.iter().enumerate() {
                if let Some(r) = recs.get(next[cpu]) {
                    if best.is_none_or(|(_, ts)| r.ts_ns < ts) {
                        best = Some((cpu, r.ts_ns));
                    }
                }
            }
            let Some((cpu, _)) = best else { break };
            merged.push(per_cpu[cpu][next[cpu]], GFP_KERNEL)?;
            next[cpu] += 1;
        }
        self.torn.fetch_add(torn, Relaxed);
        Ok(merged)
    }

    /// Per-CPU ring counters and the ring size.
    pub(crate) fn ring_counts(&self) -> Result<KVec<RingCounts>> {
        let _guard = self.ring_lock.lock();
        // SAFETY: `ring_lock` is held, so no resize frees the set.
        let rings = unsafe { &*self.rings.load(Acquire) };
        let mut out = KVec::with_capacity(rings.rings.len(), GFP_KERNEL)?;
        for ring in rings.rings.iter() {
            out.push(ring.counts(), GFP_KERNEL)?;
        }
        Ok(out)
    }

    /// Forgets every record (live state stays).
    pub(crate) fn clear(&self) {
        let _guard = self.ring_lock.lock();
        // SAFETY: `ring_lock` is held, so no resize frees the set.
        let rings = unsafe { &*self.rings.load(Acquire) };
        rings.rings.iter().for_each(Ring::clear);
    }

    /// Replaces every ring by an empty one of `records`. Only while
    /// recording is off: `EBUSY` otherwise.
    pub(crate) fn resize(&self, records: usize) -> Result {
        let _guard = self.ring_lock.lock();
        if self.enabled.load(Relaxed) {
            return Err(EBUSY);
        }
        let new = RingSet::new(self.cpus.len(), records)?;
        let old = self.rings.swap(KBox::into_raw(new), Release);
        self.ring_records.store(records, Relaxed);
        // Handlers that loaded `old` run with preemption disabled: wait for
        // them before freeing it.
        kernel::sync::rcu::synchronize_rcu();
        // SAFETY: `old` came from `KBox::into_raw` and, after the grace
        // period and with `ring_lock` held, nobody can still use it.
        drop(unsafe { KBox::from_raw(old) });
        Ok(())
    }

    /// The online CPUs among those tracked.
    pub(crate) fn online_cpus(&self) -> Result<KVec<u16>> {
        let mut out = KVec::new();
        for cpu in 0..self.cpus.len() {
            if seam::cpu_online(cpu as u32) {
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

#[kernel::prelude::kunit_tests(stopwatch_recorder)]
mod tests {
    use super::*;

    #[test]
    fn comm_packing_round_trips() {
        let mut comm = [0u8; COMM_LEN];
        comm[..11].copy_from_slice(b"migration/3");
        assert_eq!(words_to_comm(comm_to_words(&comm)), comm);
    }

    #[test]
    fn comm_cache_hits_and_misses() -> Result {
        let cache = CommCache::new()?;
        let mut comm = [0u8; COMM_LEN];
        comm[..3].copy_from_slice(b"hog");
        cache.insert(91, &comm);
        assert_eq!(cache.lookup(91), Some(comm));
        // Same slot, other pid: the newer wins, the older is unknown.
        cache.insert(91 + COMM_SLOTS as u32, &comm);
        assert_eq!(cache.lookup(91), None);
        assert_eq!(cache.lookup(5), None);
        Ok(())
    }

    #[test]
    fn lockup_threshold_follows_measured_period() {
        let live = CpuLive::new();
        assert_eq!(live.lockup_threshold_ns(), DEFAULT_LOCKUP_NS);
        // watchdog_thresh=1: sample_period = 2 s / 5 = 400 ms.
        live.check_interval_ns.store(400_000_000, Relaxed);
        assert_eq!(live.lockup_threshold_ns(), 2_000_000_000);
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The record format: the one definition of what stopwatch stores.
//!
//! A record is four 64-bit words (32 bytes), so a ring slot can be written
//! and read word by word with plain atomics and never tears inside a word:
//!
//! | word | bits   | field                                             |
//! |------|--------|---------------------------------------------------|
//! | 0    | 0..64  | `ts_ns`: `ktime_get_mono_fast_ns()` at the event  |
//! | 1    | 0..8   | format version ([`FORMAT_VERSION`])               |
//! | 1    | 8..16  | event kind ([`Event::kind`])                      |
//! | 1    | 16..32 | CPU the event happened on                         |
//! | 1    | 32..64 | pid of the task current on that CPU               |
//! | 2    | 0..64  | `arg0`, meaning depends on the kind               |
//! | 3    | 0..64  | `arg1`, meaning depends on the kind               |
//!
//! The per-kind meaning of `arg0`/`arg1` is in [`Event::encode`] and
//! `Documentation/record-format.rst`. Task names are not in the record; the
//! reader looks them up by pid.

/// Version of the layout above; bump it on any change.
pub(crate) const FORMAT_VERSION: u8 = 2;

/// Size of one encoded record in bytes.
#[allow(
    dead_code,
    reason = "used by the assertion below and the tests only; rustc 1.85 (Debian's) does not count a use in a `const _`, newer rustc does, so an `expect` would be unfulfilled there"
)]
pub(crate) const RECORD_BYTES: usize = 32;
const _: () = assert!(core::mem::size_of::<[u64; 4]>() == RECORD_BYTES);

/// The watchdog touch functions stopwatch tells apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum TouchSource {
    /// `touch_softlockup_watchdog()` (also reached from `touch_nmi_watchdog()`).
    Plain = 0,
    /// `touch_softlockup_watchdog_sched()`.
    Sched = 1,
    /// `touch_softlockup_watchdog_sync()`.
    Sync = 2,
    /// `touch_all_softlockup_watchdogs()`.
    All = 3,
}

impl TouchSource {
    /// Every source, in encoding order.
    pub(crate) const ALL: [TouchSource; 4] = [Self::Plain, Self::Sched, Self::Sync, Self::All];

    /// Decodes a source from its encoding.
    pub(crate) fn from_u8(v: u8) -> Option<Self> {
        Self::ALL.get(usize::from(v)).copied()
    }

    /// Name used in text output.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Plain => "touch",
            Self::Sched => "touch_sched",
            Self::Sync => "touch_sync",
            Self::All => "touch_all",
        }
    }
}

/// The states of `multi_cpu_stop()` (`enum multi_stop_state` in
/// `kernel/stop_machine.c`), with the same numbering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum StopState {
    /// `MULTI_STOP_NONE`: not started.
    None = 0,
    /// `MULTI_STOP_PREPARE`: waiting for every CPU to arrive.
    Prepare = 1,
    /// `MULTI_STOP_DISABLE_IRQ`: disabling interrupts.
    DisableIrq = 2,
    /// `MULTI_STOP_RUN`: the active CPU(s) run the function.
    Run = 3,
    /// `MULTI_STOP_EXIT`: done.
    Exit = 4,
}

impl StopState {
    /// Every state, in order.
    pub(crate) const ALL: [StopState; 5] = [
        Self::None,
        Self::Prepare,
        Self::DisableIrq,
        Self::Run,
        Self::Exit,
    ];

    /// Decodes a state from the kernel's numbering.
    pub(crate) fn from_raw(v: u64) -> Option<Self> {
        usize::try_from(v)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
    }

    /// Name used in text output.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::Prepare => "PREPARE",
            Self::DisableIrq => "DISABLE_IRQ",
            Self::Run => "RUN",
            Self::Exit => "EXIT",
        }
    }
}

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// A `touch_*softlockup_watchdog*()` call from code at `caller`.
    Touch {
        /// Which touch function.
        source: TouchSource,
        /// Return address into the caller.
        caller: u64,
    },
    /// `softlockup_fn()` ran on this CPU's stopper: the watchdog stamps were
    /// refreshed the normal way.
    WatchdogWork,
    /// `watchdog_timer_fn()` checked this CPU; the record's pid is the task
    /// it interrupted.
    WatchdogCheck {
        /// Nanoseconds since the last touch or watchdog work on this CPU
        /// (`None`: none seen yet).
        touch_age_ns: Option<u64>,
    },
    /// `stop_machine_cpuslocked()` was entered (on the calling CPU).
    StopBegin {
        /// Instance id, counting from 1 since load.
        stop: u32,
        /// CPUs that will run `multi_cpu_stop()` (online CPUs at the call).
        nr_cpus: u16,
        /// CPUs in the `cpus` mask that run `fn` (0: `cpus == NULL`, the
        /// first online CPU runs it).
        nr_active: u16,
        /// Address of `fn`.
        func: u64,
    },
    /// `stop_machine_cpuslocked()` returned.
    StopEnd {
        /// Instance id.
        stop: u32,
        /// Its return value.
        ret: i32,
        /// Nanoseconds since the matching [`Event::StopBegin`].
        duration_ns: u64,
    },
    /// This CPU's stopper saw the instance's state change: `None` when it
    /// arrived in `multi_cpu_stop()`, `Exit` when it left.
    CpuState {
        /// Instance id (0: a `multi_cpu_stop()` not started by
        /// `stop_machine()`, e.g. `stop_two_cpus()`).
        stop: u32,
        /// The state it saw.
        state: StopState,
    },
    /// This CPU's stopper entered a `multi_cpu_stop()` that no
    /// `stop_machine()` call started (`stop_two_cpus()` for
    /// `migrate_swap()`, `stop_core_cpuslocked()`,
    /// `stop_machine_from_inactive_cpu()`): its arrival, as
    /// [`Event::CpuState`] `None` is for an instance.
    OtherStop {
        /// Which call: its `struct multi_stop_data` address / 8, low 32
        /// bits (every CPU of the call sees the same; two calls in flight
        /// at once would need stacks a multiple of 32 GiB apart to share
        /// one).
        key: u32,
        /// Its `num_threads` (0: the layout is not verified yet).
        threads: u16,
        /// Address of its `fn` (0: the layout is not verified yet).
        func: u64,
    },
    /// This CPU's stopper saw the state of the [`Event::OtherStop`] call it
    /// is in change; `Exit` when it left.
    OtherState {
        /// The call's key.
        key: u32,
        /// The state it saw.
        state: StopState,
    },
    /// This CPU has waited in PREPARE past the warning threshold.
    EarlyWarning {
        /// Instance id.
        stop: u32,
        /// The first CPU that has not arrived (`None`: none was found).
        culprit: Option<u32>,
        /// Nanoseconds this CPU has waited so far.
        waited_ns: u64,
    },
}

/// How an absent optional field is encoded: all ones (a value no field
/// reaches: no touch age of 584 years, no CPU 4294967295). Only
/// [`Event::encode`] and [`Event::decode`] see it.
const NONE_64: u64 = u64::MAX;
/// As [`NONE_64`], for a 32-bit field.
const NONE_32: u32 = u32::MAX;

/// Kind numbers; stable within a [`FORMAT_VERSION`].
mod kind {
    pub(super) const TOUCH: u8 = 1;
    pub(super) const WATCHDOG_WORK: u8 = 2;
    pub(super) const WATCHDOG_CHECK: u8 = 3;
    pub(super) const STOP_BEGIN: u8 = 4;
    pub(super) const STOP_END: u8 = 5;
    pub(super) const CPU_STATE: u8 = 6;
    pub(super) const EARLY_WARNING: u8 = 7;
    pub(super) const OTHER_STOP: u8 = 8;
    pub(super) const OTHER_STATE: u8 = 9;
}

/// Packs two 32-bit values into one word, `lo` in the low half.
#[inline]
fn pack(lo: u32, hi: u32) -> u64 {
    u64::from(lo) | (u64::from(hi) << 32)
}

/// Splits a word into its low and high 32-bit halves.
fn unpack(w: u64) -> (u32, u32) {
    (w as u32, (w >> 32) as u32)
}

impl Event {
    /// The kind number stored in word 1.
    #[inline]
    pub(crate) fn kind(&self) -> u8 {
        match self {
            Self::Touch { .. } => kind::TOUCH,
            Self::WatchdogWork => kind::WATCHDOG_WORK,
            Self::WatchdogCheck { .. } => kind::WATCHDOG_CHECK,
            Self::StopBegin { .. } => kind::STOP_BEGIN,
            Self::StopEnd { .. } => kind::STOP_END,
            Self::CpuState { .. } => kind::CPU_STATE,
            Self::EarlyWarning { .. } => kind::EARLY_WARNING,
            Self::OtherStop { .. } => kind::OTHER_STOP,
            Self::OtherState { .. } => kind::OTHER_STATE,
        }
    }

    /// Encodes the payload as `(arg0, arg1)`.
    #[inline]
    pub(crate) fn encode(&self) -> (u64, u64) {
        match *self {
            Self::Touch { source, caller } => (caller, u64::from(source as u8)),
            Self::WatchdogWork => (0, 0),
            Self::WatchdogCheck { touch_age_ns } => (touch_age_ns.unwrap_or(NONE_64), 0),
            Self::StopBegin {
                stop,
                nr_cpus,
                nr_active,
                func,
            } => (
                func,
                pack(stop, u32::from(nr_cpus) | (u32::from(nr_active) << 16)),
            ),
            Self::StopEnd {
                stop,
                ret,
                duration_ns,
            } => (duration_ns, pack(stop, ret as u32)),
            Self::CpuState { stop, state } => (u64::from(state as u8), pack(stop, 0)),
            Self::EarlyWarning {
                stop,
                culprit,
                waited_ns,
            } => (waited_ns, pack(stop, culprit.unwrap_or(NONE_32))),
            Self::OtherStop { key, threads, func } => (func, pack(key, u32::from(threads))),
            Self::OtherState { key, state } => (u64::from(state as u8), pack(key, 0)),
        }
    }

    /// Decodes a payload; `None` for an unknown kind or a bad field.
    pub(crate) fn decode(kind: u8, arg0: u64, arg1: u64) -> Option<Self> {
        let (lo, hi) = unpack(arg1);
        Some(match kind {
            kind::TOUCH => Self::Touch {
                source: TouchSource::from_u8(u8::try_from(arg1).ok()?)?,
                caller: arg0,
            },
            kind::WATCHDOG_WORK => Self::WatchdogWork,
            kind::WATCHDOG_CHECK => Self::WatchdogCheck {
                touch_age_ns: (arg0 != NONE_64).then_some(arg0),
            },
            kind::STOP_BEGIN => Self::StopBegin {
                stop: lo,
                nr_cpus: hi as u16,
                nr_active: (hi >> 16) as u16,
                func: arg0,
            },
            kind::STOP_END => Self::StopEnd {
                stop: lo,
                ret: hi as i32,
                duration_ns: arg0,
            },
            kind::CPU_STATE => Self::CpuState {
                stop: lo,
                state: StopState::from_raw(arg0)?,
            },
            kind::EARLY_WARNING => Self::EarlyWarning {
                stop: lo,
                culprit: (hi != NONE_32).then_some(hi),
                waited_ns: arg0,
            },
            kind::OTHER_STOP => Self::OtherStop {
                key: lo,
                threads: u16::try_from(hi).ok()?,
                func: arg0,
            },
            kind::OTHER_STATE => Self::OtherState {
                key: lo,
                state: StopState::from_raw(arg0)?,
            },
            _ => return None,
        })
    }
}

/// One recorded event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Record {
    /// `ktime_get_mono_fast_ns()` when it happened.
    pub(crate) ts_ns: u64,
    /// The CPU it happened on.
    pub(crate) cpu: u16,
    /// Pid of the task current on that CPU.
    pub(crate) pid: u32,
    /// What happened.
    pub(crate) event: Event,
}

/// Why a stored record could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// Written by another format version.
    Version(u8),
    /// Unknown kind or a field out of range.
    Payload(u8),
}

impl Record {
    /// Encodes the record into its four words.
    #[inline]
    pub(crate) fn encode(&self) -> [u64; 4] {
        let (arg0, arg1) = self.event.encode();
        let header = u64::from(FORMAT_VERSION)
            | (u64::from(self.event.kind()) << 8)
            | (u64::from(self.cpu) << 16)
            | (u64::from(self.pid) << 32);
        [self.ts_ns, header, arg0, arg1]
    }

    /// Decodes four words written by [`Record::encode`].
    pub(crate) fn decode(words: [u64; 4]) -> Result<Self, DecodeError> {
        let [ts_ns, header, arg0, arg1] = words;
        let version = header as u8;
        if version != FORMAT_VERSION {
            return Err(DecodeError::Version(version));
        }
        let kind = (header >> 8) as u8;
        let event = Event::decode(kind, arg0, arg1).ok_or(DecodeError::Payload(kind))?;
        Ok(Self {
            ts_ns,
            cpu: (header >> 16) as u16,
            pid: (header >> 32) as u32,
            event,
        })
    }
}

#[cfg(test)]
mod tests;

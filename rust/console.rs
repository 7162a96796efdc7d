// SPDX-License-Identifier: GPL-2.0

//! What stopwatch says on the console, and from where.
//!
//! During a full stall no userspace runs, and with `softlockup_panic=1`
//! the machine dies at the first report: what stopwatch knows must reach
//! the kernel log by itself. Four things do, none printed by a probe
//! handler (a handler only queues; `stopwatch_seam.c` has the C side):
//!
//! - The **early warning**, once per `stop_machine()` instance: the
//!   `stop_machine_yield()` handler of the first CPU that has waited
//!   `warn_percent` of the lockup threshold in PREPARE queues an
//!   `irq_work`, which prints from hard interrupt context on that CPU
//!   (interrupts are still on in PREPARE).
//! - The **backtrace** of each CPU that has not arrived: right after the
//!   warning, an IPI to that CPU (`smp_call_function_single_async()`),
//!   which dumps its stack under the task it interrupted. Only where the
//!   dump's own watchdog touch postpones no report the kernel would make
//!   (`diagnosis::backtrace_is_harmless`).
//! - A **note after each false blame**: the `add_taint(TAINT_SOFTLOCKUP)`
//!   that follows every soft-lockup report runs on the reported CPU; if
//!   that CPU waits in PREPARE, its handler queues a per-CPU `irq_work`
//!   that names the CPU it waits for.
//! - The **panic dump**, from a panic notifier: the instances in flight,
//!   the note for the panicking CPU, the `cpus` table and the newest
//!   records of each CPU. Lockless reads only, no allocation.
//!
//! What each says comes from `logic::diagnosis`, the rule the `cpus` view
//! uses too. Output is bounded: [`NAMED_CPUS`] CPUs named per warning or
//! note, [`PANIC_CPUS`] CPUs and [`PANIC_RECORDS`] records each in the
//! dump, lines of at most [`LINE_BYTES`]. `console=0` (module parameter,
//! or the `console` file) silences all four.

use crate::{
    hot::{Acquire, AtomicPtr, Relaxed, Release},
    logic::{
        comm::{comm_str, Comm},
        diagnosis::{
            backtrace_is_harmless, refreshed_age_ns, BlameNote, CpuLine, LiveCpus, WarningText,
            NAMED_CPUS,
        },
        record::Record,
        text::{EventLine, Ms, Secs},
    },
    probes::TOUCH_PROBES,
    recorder::Recorder,
    seam, services,
    views::KernelNames,
};
use core::fmt::{self, Write};
use kernel::prelude::*;

/// CPUs whose line and records the panic dump shows.
const PANIC_CPUS: usize = 64;
/// Newest records per CPU in the panic dump.
const PANIC_RECORDS: usize = 4;
/// Longest line printed; longer ones continue on the next line.
const LINE_BYTES: usize = 224;

/// The recorder the console callbacks read; null outside a [`Console`]'s
/// lifetime.
static CONSOLE: AtomicPtr<Recorder> = AtomicPtr::new(core::ptr::null_mut());

/// The recorder, if a [`Console`] is running and printing is on.
fn recorder() -> Option<&'static Recorder> {
    let rec = CONSOLE.load(Acquire);
    if rec.is_null() {
        return None;
    }
    // SAFETY: `CONSOLE` is set by `Console::start` to a recorder that stays
    // valid until the `Console` is dropped, which clears it only after
    // `seam::console_stop()` has waited for every callback.
    let rec = unsafe { &*rec };
    rec.console.on.load(Relaxed).then_some(rec)
}

/// The console side of stopwatch: the panic notifier and the deferred
/// work are live while it exists.
///
/// # Invariants
///
/// While a `Console` exists, `CONSOLE` points to the recorder it was
/// started for. Dropping it stops every callback before clearing it.
pub(crate) struct Console {
    /// Only [`Console::start`] makes one.
    _private: (),
}

impl Console {
    /// Starts the console side for `rec`.
    ///
    /// # Safety
    ///
    /// `rec` must stay valid until the returned value is dropped, and the
    /// probes (the only ones that queue work) must be unregistered before
    /// it is.
    pub(crate) unsafe fn start(rec: &Recorder) -> Self {
        CONSOLE.store(core::ptr::from_ref(rec).cast_mut(), Release);
        // SAFETY: `CONSOLE` is valid until `drop`, which calls
        // `console_stop()` first.
        unsafe { seam::console_start() };
        Self { _private: () }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        seam::console_stop();
        CONSOLE.store(core::ptr::null_mut(), Release);
    }
}

/// The log level of a block of lines.
#[derive(Clone, Copy)]
enum Level {
    /// `KERN_WARNING`: the early warning and the backtraces.
    Warning,
    /// `KERN_EMERG`: the notes (the level of the report they annotate)
    /// and the panic dump.
    Emergency,
}

/// Text cut into `printk` lines, one record per line with the module's
/// prefix (`stopwatch: `), in a buffer on the stack; what is left is
/// printed when it is dropped.
struct Lines {
    /// Level of every line.
    level: Level,
    /// Bytes of the line being built.
    len: usize,
    /// The line being built.
    buf: [u8; LINE_BYTES],
}

impl Lines {
    /// An empty block at `level`.
    fn new(level: Level) -> Self {
        Self {
            level,
            len: 0,
            buf: [0; LINE_BYTES],
        }
    }

    /// Prints the line built so far, if any.
    fn flush(&mut self) {
        if self.len == 0 {
            return;
        }
        let bytes = &self.buf[..self.len];
        // A line cut at `LINE_BYTES` may end inside a character.
        let text = match core::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => core::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
        };
        match self.level {
            Level::Warning => pr_warn!("{}\n", text),
            Level::Emergency => pr_emerg!("{}\n", text),
        }
        self.len = 0;
    }
}

impl Write for Lines {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                self.flush();
                continue;
            }
            if self.len == LINE_BYTES {
                self.flush();
            }
            self.buf[self.len] = b;
            self.len += 1;
        }
        Ok(())
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Watchdog touches a CPU has made so far.
fn touches(live: &crate::logic::live::CpuLive) -> u64 {
    live.hits_of(TOUCH_PROBES)
}

/// The early warning's `irq_work`, on the CPU whose handler queued it.
#[no_mangle]
pub(crate) extern "C" fn stopwatch_console_warning() {
    let Some(rec) = recorder() else {
        return;
    };
    let stop = rec.console.warned_stop.load(Relaxed);
    let cpus = rec.live_cpus();
    // The wait may have ended between the queueing and now.
    if stop == 0 || cpus.wait(stop).waiting == 0 {
        return;
    }
    let names = KernelNames(rec);
    let mut out = Lines::new(Level::Warning);
    let _ = write!(
        out,
        "{}",
        WarningText {
            cpus: &cpus,
            instance: rec.instance(stop),
            stop,
            touches: &touches,
            names: &names,
        }
    );
    rec.console
        .backtrace_sent_ns
        .store(services::now_ns(), Relaxed);
    let missing = (0..cpus.live.len()).filter(|&c| cpus.missing(c, stop));
    for cpu in missing.take(NAMED_CPUS) {
        let Some(live) = cpus.live.get(cpu) else {
            continue;
        };
        if !backtrace_is_harmless(live, cpus.now_ns) {
            let _ = writeln!(
                out,
                "#{stop} no backtrace of CPU {cpu}: its watchdog was last refreshed {} ms ago, a stack dump would refresh it and postpone the kernel's own report of that CPU",
                refreshed_age_ns(live, cpus.now_ns).map_or(Ms(u64::MAX), Ms)
            );
            continue;
        }
        let _ = writeln!(out, "#{stop} backtrace of CPU {cpu} follows (IPI)");
        out.flush();
        if let Err(e) = seam::send_backtrace(cpu as u32) {
            let _ = writeln!(
                out,
                "#{stop} no backtrace of CPU {cpu}: IPI refused (error {}; EBUSY: the last one is still pending)",
                e.to_errno()
            );
        }
    }
}

/// A backtrace request, on the CPU it was sent to, in hard interrupt
/// context: `comm` and `pid` are of the task it interrupted. Returns
/// whether to dump the stack.
///
/// # Safety
///
/// `comm` must point to `COMM_LEN` bytes holding a NUL-terminated task
/// name, valid for the call.
#[no_mangle]
pub(crate) unsafe extern "C" fn stopwatch_console_backtrace(
    cpu: u32,
    comm: *const Comm,
    pid: u32,
) -> bool {
    let Some(rec) = recorder() else {
        return false;
    };
    // SAFETY: guaranteed by the caller (a copy of `current->comm`).
    let comm = unsafe { &*comm };
    let sent = rec.console.backtrace_sent_ns.load(Relaxed);
    let _ = writeln!(
        Lines::new(Level::Warning),
        "#{} CPU {cpu} backtrace (IPI answered after {} ms), running {}/{pid}:",
        rec.console.warned_stop.load(Relaxed),
        Ms(services::now_ns().saturating_sub(sent)),
        comm_str(comm)
    );
    true
}

/// The note `irq_work`, on the CPU the kernel just reported.
#[no_mangle]
pub(crate) extern "C" fn stopwatch_console_note(cpu: u32) {
    let Some(rec) = recorder() else {
        return;
    };
    let cpus = rec.live_cpus();
    let note = BlameNote {
        cpus: &cpus,
        cpu: cpu as usize,
    };
    if note.stop().is_some() {
        let _ = writeln!(Lines::new(Level::Emergency), "{note}");
    }
}

/// The panic notifier, on the panicking CPU `cpu`: the other CPUs are
/// stopped or about to be; nothing here allocates, locks or sleeps.
#[no_mangle]
pub(crate) extern "C" fn stopwatch_console_panic(cpu: u32) {
    let Some(rec) = recorder() else {
        return;
    };
    // Stopping the other CPUs took them offline; they are still active.
    let cpus = LiveCpus {
        live: &rec.cpus,
        online: |c: usize| services::cpu_online(c as u32) || services::cpu_active(c as u32),
        now_ns: services::now_ns(),
    };
    let names = KernelNames(rec);
    let mut out = Lines::new(Level::Emergency);
    let _ = writeln!(
        out,
        "panic dump: what stopwatch knows at {} s (mono clock)",
        Secs(cpus.now_ns)
    );
    let mut in_flight = 0;
    for instance in rec.open_instances() {
        in_flight += 1;
        let _ = write!(
            out,
            "{}",
            WarningText {
                cpus: &cpus,
                instance: Some(instance),
                stop: instance.stop,
                touches: &touches,
                names: &names,
            }
        );
    }
    if in_flight == 0 {
        let _ = writeln!(out, "no stop_machine() call in flight");
    }
    let note = BlameNote {
        cpus: &cpus,
        cpu: cpu as usize,
    };
    if note.stop().is_some() {
        let _ = writeln!(out, "{note}");
    }
    let shown = cpus.live.len().min(PANIC_CPUS);
    for (c, live) in cpus.live.iter().enumerate().take(shown) {
        let _ = writeln!(
            out,
            "{}",
            CpuLine {
                cpu: c,
                live,
                online: (cpus.online)(c),
                now_ns: cpus.now_ns,
                names: &names,
            }
        );
    }
    for c in 0..shown {
        let _ = writeln!(out, "newest records of CPU {c}:");
        rec.newest_records(c, PANIC_RECORDS, |r: &Record| {
            let _ = writeln!(
                out,
                "  {}",
                EventLine {
                    rec: r,
                    names: &names
                }
            );
        });
    }
    if cpus.live.len() > shown {
        let _ = writeln!(out, "({} more CPUs not shown)", cpus.live.len() - shown);
    }
    let _ = writeln!(out, "end of panic dump");
}

// SPDX-License-Identifier: GPL-2.0

//! What stopwatch says on the console, and from where.
//!
//! During a full stall no userspace runs, and with `softlockup_panic=1`
//! the machine dies at the first report: what stopwatch knows must reach
//! the kernel log by itself. Four things do, none printed by a probe
//! handler (a handler only queues; `stopwatch_seam/console.c` has the C side):
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
//!   records of each CPU; past its bounds, the CPUs that matter (not
//!   arrived in a call in flight, the panicking one) first, and a CPU
//!   list of those left out (`logic::shown`). Lockless reads only, no
//!   allocation.
//!
//! What each says comes from `logic::diagnosis`, the rule the `cpus` view
//! uses too. Output is bounded: [`NAMED_CPUS`] CPUs named per warning or
//! note, [`PANIC_CPUS`] CPU lines and [`PANIC_RECORDS`] records each of
//! [`PANIC_RECORD_CPUS`] CPUs in the dump, lines of at most [`LINE_BYTES`]. `console=0` (module parameter,
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
        shown::Shown,
        text::{CpusWhere, EventLine, Ms, Names, Secs},
    },
    recorder::{KernelNames, Recorder, FALLBACK_NS},
    seam, services,
};
use core::fmt::{self, Write};
use kernel::prelude::*;

/// CPUs whose line the panic dump shows (`logic::shown`: those that
/// matter first).
const PANIC_CPUS: usize = 64;
/// CPUs whose newest records the panic dump shows.
const PANIC_RECORD_CPUS: usize = 16;
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

/// The early warning's `irq_work` (`fallback` false), on the waiting CPU
/// whose handler queued it, or its fallback (`fallback` true), on a waiting
/// CPU that saw the warning not printed in time.
///
/// Printing touches the watchdog of the CPU that prints on a synchronous
/// console (the 8250 driver calls `touch_nmi_watchdog()`), which would
/// postpone the kernel's report of a waiting CPU. So the warning is handed
/// by IPI to the first CPU that has not arrived, if a stack dump there
/// postpones no report ([`backtrace_is_harmless`]): that CPU prints it
/// with its own backtrace. Only if there is no such CPU, or it does not
/// answer within `FALLBACK_NS` (its interrupts are off), does a waiting
/// CPU print it.
pub(crate) fn warning(fallback: bool) {
    let Some(rec) = recorder() else {
        return;
    };
    let console = &rec.console;
    let stop = console.warned_stop.load(Relaxed);
    let cpus = rec.live_cpus();
    // The wait may have ended between the queueing and now.
    if stop == 0 || cpus.wait(stop).waiting == 0 {
        return;
    }
    if !fallback {
        let mut handed = false;
        for cpu in cpus.missing_cpus(stop).take(NAMED_CPUS) {
            let (Some(live), Some(req)) = (cpus.live.get(cpu), console.requests.get(cpu)) else {
                continue;
            };
            if !backtrace_is_harmless(live, cpus.now_ns) {
                continue;
            }
            req.sent_ns.store(services::now_ns(), Relaxed);
            req.warning.store(!handed, Relaxed);
            req.stop.store(stop, Release);
            match seam::send_backtrace(cpu as u32) {
                Ok(()) if !handed => {
                    console.handed_ns.store(services::now_ns(), Relaxed);
                    console.handed_stop.store(stop, Release);
                    handed = true;
                }
                Ok(()) => {}
                Err(_) => {
                    // The last IPI to that CPU is still pending: it never
                    // took it (interrupts off).
                    req.warning.store(false, Relaxed);
                    req.stop.store(0, Relaxed);
                }
            }
        }
        if handed {
            return;
        }
    }
    if console.printed_stop.swap(stop, Relaxed) == stop {
        return;
    }
    let mut out = Lines::new(Level::Warning);
    print_warning(&mut out, rec, &cpus, stop);
    if fallback {
        let _ = writeln!(
            out,
            "#{stop} printed by CPU {} instead: the CPU it was handed to did not take the IPI within {} ms (interrupts off?)",
            services::this_cpu(),
            Ms(FALLBACK_NS)
        );
    }
}

/// The warning block of `stop`, then for each CPU that has not arrived
/// whether a backtrace follows and if not, why.
fn print_warning(
    out: &mut Lines,
    rec: &Recorder,
    cpus: &LiveCpus<'_, impl Fn(usize) -> bool>,
    stop: u32,
) {
    let names = KernelNames(rec);
    let _ = write!(
        out,
        "{}",
        WarningText {
            cpus,
            instance: rec.instance(stop),
            stop,
            touches: &|live| rec.touches(live),
            names: &names,
        }
    );
    for cpu in cpus.missing_cpus(stop).take(NAMED_CPUS) {
        let requested = rec
            .console
            .requests
            .get(cpu)
            .is_some_and(|r| r.stop.load(Acquire) == stop);
        if requested {
            let _ = writeln!(out, "#{stop} backtrace of CPU {cpu} by IPI");
            continue;
        }
        let age = cpus
            .live
            .get(cpu)
            .and_then(|live| refreshed_age_ns(live, cpus.now_ns));
        match age {
            Some(age) => {
                let _ = writeln!(
                    out,
                    "#{stop} no backtrace of CPU {cpu}: its watchdog was last refreshed {} ms ago; a stack dump would refresh it and postpone the kernel's own report of that CPU",
                    Ms(age)
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "#{stop} no backtrace of CPU {cpu}: its watchdog was never refreshed; the kernel will report it"
                );
            }
        }
    }
}

/// An IPI from [`warning`], on the CPU it was sent to,
/// in hard interrupt context with the printk CPU lock held: `comm` and
/// `pid` are of the task it interrupted. Prints the warning if it was
/// handed here, then the backtrace header; returns whether to dump the
/// stack.
pub(crate) fn backtrace(cpu: u32, comm: &Comm, pid: u32) -> bool {
    let Some(rec) = recorder() else {
        return false;
    };
    let Some(req) = rec.console.requests.get(cpu as usize) else {
        return false;
    };
    let stop = req.stop.load(Acquire);
    let late = Ms(services::now_ns().saturating_sub(req.sent_ns.load(Relaxed)));
    let cpus = rec.live_cpus();
    let mut out = Lines::new(Level::Warning);
    if req.warning.swap(false, Relaxed) && rec.console.printed_stop.swap(stop, Relaxed) != stop {
        print_warning(&mut out, rec, &cpus, stop);
    }
    if !cpus.missing(cpu as usize, stop) {
        let _ = writeln!(
            out,
            "#{stop} CPU {cpu} took the IPI after {late} ms, once it had arrived: no backtrace"
        );
        return false;
    }
    let _ = writeln!(
        out,
        "#{stop} CPU {cpu} backtrace (IPI answered after {late} ms), running {}/{pid}:",
        comm_str(comm)
    );
    true
}

/// The note `irq_work`, on the CPU the kernel just reported.
pub(crate) fn note(cpu: u32) {
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

/// Names for the panic dump from NMI context (a hard-lockup panic runs on
/// the NMI stack, a few KiB): addresses in hex, no symbol lookup.
struct RawNames<'a>(&'a Recorder);

impl Names for RawNames<'_> {
    fn symbol(&self, f: &mut fmt::Formatter<'_>, addr: u64) -> fmt::Result {
        write!(f, "{addr:#x}")
    }

    fn comm(&self, pid: u32) -> Option<Comm> {
        self.0.comm_of(pid)
    }
}

/// The panic notifier, on the panicking CPU `cpu` (`nmi`: in NMI
/// context): the other CPUs are stopped or about to be; nothing here
/// allocates, locks or sleeps.
pub(crate) fn panic(cpu: u32, nmi: bool) {
    crate::recorder::vmcore::stamp_panic(cpu);
    let Some(rec) = recorder() else {
        return;
    };
    if nmi {
        dump(rec, cpu, &RawNames(rec));
    } else {
        dump(rec, cpu, &KernelNames(rec));
    }
}

/// The panic dump.
fn dump(rec: &Recorder, cpu: u32, names: &impl Names) {
    // Stopping the other CPUs took them offline; they are still active.
    let cpus = LiveCpus {
        live: &rec.cpus,
        online: |c: usize| services::cpu_online(c as u32) || services::cpu_active(c as u32),
        now_ns: services::now_ns(),
    };
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
                touches: &|live| rec.touches(live),
                names,
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
    // What matters at a panic: the CPUs not arrived in a call in flight,
    // and the panicking CPU. Those first, whatever their number, then the
    // others in CPU order; who was left out is said, as a CPU list.
    let n = cpus.live.len();
    let matters =
        |c: usize| c == cpu as usize || rec.open_instances().any(|i| cpus.missing(c, i.stop));
    let lines = Shown::new(n, PANIC_CPUS, matters);
    for (c, live) in cpus.live.iter().enumerate() {
        if !lines.shows(c, matters(c)) {
            continue;
        }
        let _ = writeln!(
            out,
            "{}",
            CpuLine {
                cpu: c,
                live,
                online: (cpus.online)(c),
                now_ns: cpus.now_ns,
                names,
            }
        );
    }
    let hidden = |c: usize| !lines.shows(c, matters(c));
    let left_out = (0..n).filter(|&c| hidden(c)).count();
    if left_out > 0 {
        let waiting = (0..n)
            .filter(|&c| hidden(c) && cpus.live.get(c).is_some_and(|l| l.waiting_in().is_some()))
            .count();
        let _ = writeln!(
            out,
            "{left_out} more CPUs not shown ({waiting} of them waiting in stop_machine): {}",
            CpusWhere { n, pick: hidden }
        );
    }
    let records = Shown::new(n, PANIC_RECORD_CPUS, matters);
    for c in (0..n).filter(|&c| records.shows(c, matters(c))) {
        let _ = writeln!(out, "newest records of CPU {c}:");
        rec.newest_records(c, PANIC_RECORDS, |r: &Record| {
            let _ = writeln!(out, "  {}", EventLine { rec: r, names });
        });
    }
    let held = rec.held_at_panic();
    let _ = writeln!(
        out,
        "rings hold {} records ({} rings; all of them are in a vmcore: scripts/vmcore)",
        held.records, held.rings
    );
    let no_records = (0..n).filter(|&c| !records.shows(c, matters(c))).count();
    if no_records > 0 {
        let _ = writeln!(
            out,
            "records of {no_records} more CPUs not shown: {}",
            CpusWhere {
                n,
                pick: |c| !records.shows(c, matters(c))
            }
        );
    }
    let _ = writeln!(out, "end of panic dump");
}

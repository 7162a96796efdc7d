// SPDX-License-Identifier: GPL-2.0

//! Text output: one line per item, `key=value` fields, documented in
//! `Documentation/stopwatch.rst`. Changing a field name is an interface
//! change.

use crate::{
    analysis::{Culprit, StopLog, StopSummary},
    hot::Relaxed,
    probes::PROBES,
    record::{Event, Record, StopState, TouchSource, FORMAT_VERSION},
    recorder::{CpuLive, Recorder},
    seam::{self, comm_str, COMM_LEN},
};
use core::fmt::{self, Display, Formatter};
use kernel::prelude::*;

/// Nanoseconds shown as `seconds.micros` (ftrace style).
pub(crate) struct Secs(pub(crate) u64);

impl Display for Secs {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:06}",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000 / 1000
        )
    }
}

/// Nanoseconds shown as milliseconds with three decimals.
pub(crate) struct Ms(pub(crate) u64);

impl Display for Ms {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1_000_000, self.0 % 1_000_000 / 1000)
    }
}

/// Where names come from: the kernel, or a fake in tests.
pub(crate) trait Names {
    /// Writes `addr` as `symbol+off/size`.
    fn symbol(&self, f: &mut Formatter<'_>, addr: u64) -> fmt::Result;
    /// Name of `pid`, if known.
    fn comm(&self, pid: u32) -> Option<[u8; COMM_LEN]>;
}

/// Names from kallsyms and the recorder's comm cache.
pub(crate) struct KernelNames<'a>(pub(crate) &'a Recorder);

impl Names for KernelNames<'_> {
    fn symbol(&self, f: &mut Formatter<'_>, addr: u64) -> fmt::Result {
        f.write_str(seam::Symbol::of(addr).as_str())
    }

    fn comm(&self, pid: u32) -> Option<[u8; COMM_LEN]> {
        self.0.comm_of(pid)
    }
}

/// Name shown for `pid`: `<idle>` for pid 0 (every CPU's idle task has
/// it, under a different name), else the cached name.
fn comm_for<N: Names>(names: &N, pid: u32) -> Option<[u8; COMM_LEN]> {
    if pid == 0 {
        let mut idle = [0u8; COMM_LEN];
        idle[..6].copy_from_slice(b"<idle>");
        return Some(idle);
    }
    names.comm(pid)
}

/// `comm/pid`, `<...>/pid` if the name is unknown.
struct Task<'a, N: Names>(&'a N, u32);

impl<N: Names> Display for Task<'_, N> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match comm_for(self.0, self.1) {
            Some(comm) => write!(f, "{}/{}", comm_str(&comm), self.1),
            None => write!(f, "<...>/{}", self.1),
        }
    }
}

/// `comm/pid` or `-` if there is no pid.
struct MaybeTask<'a, N: Names>(&'a N, Option<u32>);

impl<N: Names> Display for MaybeTask<'_, N> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(pid) => write!(f, "{}", Task(self.0, pid)),
            None => f.write_str("-"),
        }
    }
}

/// `comm/pid` of the task the watchdog last saw on a CPU (its name as
/// seen then, not looked up now).
struct CheckedTask<'a>(&'a CpuLive);

impl Display for CheckedTask<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let comm = self.0.check_comm();
        write!(f, "{}/{}", comm_str(&comm), self.0.check_pid.load(Relaxed))
    }
}

/// An address through [`Names::symbol`].
struct Sym<'a, N: Names>(&'a N, u64);

impl<N: Names> Display for Sym<'_, N> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.0.symbol(f, self.1)
    }
}

/// One line of the `events` file, without the newline.
pub(crate) struct EventLine<'a, N: Names> {
    /// The record.
    pub(crate) rec: &'a Record,
    /// Name source.
    pub(crate) names: &'a N,
}

impl<N: Names> Display for EventLine<'_, N> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let r = self.rec;
        let n = self.names;
        let comm = comm_for(n, r.pid);
        let name = comm.as_ref().map_or("<...>", comm_str);
        write!(
            f,
            "{:>16}-{:<7} [{:03}] {}: ",
            name,
            r.pid,
            r.cpu,
            Secs(r.ts_ns)
        )?;
        match r.event {
            Event::Touch { source, caller } => {
                write!(f, "{} caller={}", source.name(), Sym(n, caller))
            }
            Event::WatchdogWork => f.write_str("watchdog_work"),
            Event::WatchdogCheck { touch_age_ns } => {
                if touch_age_ns == u64::MAX {
                    f.write_str("watchdog_check touch_age_ms=never")
                } else {
                    write!(f, "watchdog_check touch_age_ms={}", Ms(touch_age_ns))
                }
            }
            Event::StopBegin {
                stop,
                nr_cpus,
                nr_active,
                func,
            } => {
                write!(
                    f,
                    "stop_begin stop={stop} fn={} cpus={nr_cpus} active=",
                    Sym(n, func)
                )?;
                if nr_active == 0 {
                    f.write_str("any")
                } else {
                    write!(f, "{nr_active}")
                }
            }
            Event::StopEnd {
                stop,
                ret,
                duration_ns,
            } => write!(
                f,
                "stop_end stop={stop} ret={ret} duration_ms={}",
                Ms(duration_ns)
            ),
            Event::CpuState { stop, state } => {
                write!(f, "stop_state stop={stop} state={}", state.name())
            }
            Event::EarlyWarning {
                stop,
                culprit,
                waited_ns,
            } => {
                write!(
                    f,
                    "early_warning stop={stop} waited_ms={} culprit=",
                    Ms(waited_ns)
                )?;
                if culprit == u32::MAX {
                    f.write_str("unknown")
                } else {
                    write!(f, "{culprit}")
                }
            }
        }
    }
}

/// Writes `/sys/kernel/debug/stopwatch/events`.
pub(crate) fn events(rec: &Recorder, f: &mut Formatter<'_>) -> fmt::Result {
    let records = rec.snapshot().map_err(|_| fmt::Error)?;
    let names = KernelNames(rec);
    for r in records.iter() {
        writeln!(
            f,
            "{}",
            EventLine {
                rec: r,
                names: &names
            }
        )?;
    }
    Ok(())
}

/// `a,b,c` of CPUs.
struct CpuList<'a>(&'a [u16]);

impl Display for CpuList<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("-");
        }
        for (i, cpu) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{cpu}")?;
        }
        Ok(())
    }
}

/// Writes `/sys/kernel/debug/stopwatch/cpus`: a summary line, then one
/// line per CPU.
pub(crate) fn cpus(rec: &Recorder, f: &mut Formatter<'_>) -> fmt::Result {
    let now = seam::now_ns();
    let names = KernelNames(rec);
    let online = rec.online_cpus().map_err(|_| fmt::Error)?;

    // The stop_machine instance CPUs are waiting in, if any.
    let waiting_in = rec.cpus.iter().find_map(|c| match c.stop()? {
        (stop, StopState::Prepare, _) if stop != 0 => Some(stop),
        _ => None,
    });
    match waiting_in {
        None => writeln!(
            f,
            "# now={} stop=- (no CPU waits in stop_machine)",
            Secs(now)
        )?,
        Some(stop) => {
            let mut waiting = KVec::new();
            let mut culprits = KVec::new();
            let mut since = now;
            for &cpu in online.iter() {
                let Some(live) = rec.cpu(u32::from(cpu)) else {
                    continue;
                };
                if !live.in_stop(stop) {
                    culprits.push(cpu, GFP_KERNEL).map_err(|_| fmt::Error)?;
                } else if let Some((_, StopState::Prepare, t)) = live.stop() {
                    since = since.min(t);
                    waiting.push(cpu, GFP_KERNEL).map_err(|_| fmt::Error)?;
                }
            }
            write!(
                f,
                "# now={} stop={stop} state=PREPARE waiting_ms={} waiting_cpus={} culprit_cpus={}",
                Secs(now),
                Ms(now.saturating_sub(since)),
                CpuList(&waiting),
                CpuList(&culprits)
            )?;
            if let Some(live) = culprits.first().and_then(|&c| rec.cpu(u32::from(c))) {
                write!(f, " culprit_task={}", CheckedTask(live))?;
            }
            writeln!(f)?;
        }
    }

    for (cpu, live) in rec.cpus.iter().enumerate() {
        write!(
            f,
            "cpu={cpu} online={}",
            u8::from(seam::cpu_online(cpu as u32))
        )?;
        let touch = live.touch_ns.load(Relaxed);
        let work = live.work_ns.load(Relaxed);
        if touch == 0 && work == 0 {
            f.write_str(" touch_age_ms=- touch_source=- touch_caller=-")?;
        } else if work >= touch {
            write!(
                f,
                " touch_age_ms={} touch_source=work touch_caller=-",
                Ms(now.saturating_sub(work))
            )?;
        } else {
            let name = TouchSource::from_u8(live.touch_source.load(Relaxed) as u8)
                .map_or("?", TouchSource::name);
            write!(
                f,
                " touch_age_ms={} touch_source={name} touch_caller={}",
                Ms(now.saturating_sub(touch)),
                Sym(&names, live.touch_caller.load(Relaxed))
            )?;
        }
        let check = live.check_ns.load(Relaxed);
        if check == 0 {
            f.write_str(" check_age_ms=- task=-")?;
        } else {
            write!(
                f,
                " check_age_ms={} task={}",
                Ms(now.saturating_sub(check)),
                CheckedTask(live)
            )?;
        }
        match live.stop() {
            Some((stop, state, since)) => writeln!(
                f,
                " stop={stop} state={} in_state_ms={}",
                state.name(),
                Ms(now.saturating_sub(since))
            )?,
            None => writeln!(f, " stop=- state=- in_state_ms=-")?,
        }
    }
    Ok(())
}

/// One line of the `stops` file, without the newline.
pub(crate) struct StopLine<'a, N: Names> {
    /// The instance.
    pub(crate) stop: &'a StopSummary,
    /// Now, for instances still running.
    pub(crate) now_ns: u64,
    /// Online CPUs, for instances still running.
    pub(crate) online: &'a [u16],
    /// Name source.
    pub(crate) names: &'a N,
    /// Pid the watchdog last saw on a CPU (for CPUs not arrived).
    pub(crate) task_on: &'a dyn Fn(u16) -> Option<u32>,
}

impl<N: Names> Display for StopLine<'_, N> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let s = self.stop;
        let n = self.names;
        write!(f, "stop={}", s.stop)?;
        match s.caller {
            Some((pid, cpu)) => write!(f, " caller={} caller_cpu={cpu}", Task(n, pid))?,
            None => f.write_str(" caller=- caller_cpu=-")?,
        }
        write!(f, " fn={}", Sym(n, s.func))?;
        let start = s.start_ns().unwrap_or(0);
        write!(f, " start={}", Secs(start))?;
        match s.end {
            Some((end, ret)) => write!(
                f,
                " duration_ms={} ret={ret}",
                Ms(end.saturating_sub(start))
            )?,
            None => write!(
                f,
                " duration_ms={} ret=running",
                Ms(self.now_ns.saturating_sub(start))
            )?,
        }
        write!(f, " cpus={} arrivals_ms=", s.nr_cpus)?;
        let mut first = true;
        let mut arrivals: KVec<(u16, u64)> = KVec::new();
        for c in s.cpus.iter() {
            if let Some(t) = c.arrived_ns() {
                arrivals
                    .push((c.cpu, t), GFP_KERNEL)
                    .map_err(|_| fmt::Error)?;
            }
        }
        arrivals.sort_unstable();
        for (cpu, t) in arrivals.iter() {
            write!(
                f,
                "{}{cpu}:+{}",
                if first { "" } else { "," },
                Ms(t.saturating_sub(start))
            )?;
            first = false;
        }
        if first {
            f.write_str("-")?;
        }
        match s.longest_prepare(self.now_ns) {
            Some((cpu, wait)) => write!(
                f,
                " longest_prepare_ms={} longest_prepare_cpu={cpu}",
                Ms(wait)
            )?,
            None => f.write_str(" longest_prepare_ms=- longest_prepare_cpu=-")?,
        }
        let culprit = s.culprit(self.online).map_err(|_| fmt::Error)?;
        let waiter_touches = |culprits: &[u16]| -> u32 {
            s.cpus
                .iter()
                .filter(|c| !culprits.contains(&c.cpu))
                .map(|c| c.touches_waiting)
                .sum()
        };
        match culprit {
            Culprit::LastArrived { cpu, lag_ns } => {
                let c = s.cpu(cpu);
                write!(
                    f,
                    " culprit={cpu} culprit_why=last_arrived culprit_lag_ms={} culprit_task={}",
                    Ms(lag_ns),
                    MaybeTask(n, c.and_then(|c| c.task_before_arrival))
                )?;
                write!(
                    f,
                    " culprit_touches={} waiter_touches={}",
                    c.map_or(0, |c| c.touches_before_arrival),
                    waiter_touches(&[cpu])
                )?;
            }
            Culprit::Missing(cpus) => {
                write!(
                    f,
                    " culprit={} culprit_why=not_arrived culprit_lag_ms=- culprit_task={}",
                    CpuList(&cpus),
                    MaybeTask(n, cpus.first().and_then(|&c| (self.task_on)(c)))
                )?;
                let touches: u32 = cpus
                    .iter()
                    .filter_map(|&c| s.cpu(c))
                    .map(|c| c.touches_before_arrival)
                    .sum();
                write!(
                    f,
                    " culprit_touches={touches} waiter_touches={}",
                    waiter_touches(&cpus)
                )?;
            }
            Culprit::Unknown => f.write_str(
                " culprit=- culprit_why=unknown culprit_lag_ms=- culprit_task=- culprit_touches=- waiter_touches=-",
            )?,
        }
        write!(f, " warnings={}", s.warnings.len())
    }
}

/// Writes `/sys/kernel/debug/stopwatch/stops`: the newest instances still
/// in the rings, oldest first.
pub(crate) fn stops(rec: &Recorder, f: &mut Formatter<'_>) -> fmt::Result {
    let records = rec.snapshot().map_err(|_| fmt::Error)?;
    let log = StopLog::from_records(&records).map_err(|_| fmt::Error)?;
    let online = rec.online_cpus().map_err(|_| fmt::Error)?;
    let names = KernelNames(rec);
    let now_ns = seam::now_ns();
    // The task the watchdog last saw on a CPU, if it has checked it.
    let task_on = |cpu: u16| {
        let live = rec.cpu(u32::from(cpu))?;
        (live.check_ns.load(Relaxed) != 0).then(|| live.check_pid.load(Relaxed))
    };
    for s in log.stops.iter() {
        writeln!(
            f,
            "{}",
            StopLine {
                stop: s,
                now_ns,
                online: &online,
                names: &names,
                task_on: &task_on,
            }
        )?;
    }
    Ok(())
}

/// Writes `/sys/kernel/debug/stopwatch/stats`.
pub(crate) fn stats(rec: &Recorder, f: &mut Formatter<'_>) -> fmt::Result {
    let counts = rec.ring_counts().map_err(|_| fmt::Error)?;
    let torn = rec.torn.load(Relaxed);
    writeln!(
        f,
        "format={FORMAT_VERSION} enabled={} buffer_size={} warn_percent={} layout_errors={}",
        u8::from(rec.enabled.load(Relaxed)),
        rec.ring_records.load(Relaxed),
        rec.warn_percent.load(Relaxed),
        rec.layout_errors.load(Relaxed)
    )?;
    // Both clocks read back to back: record time + (printk_ns - mono_ns)
    // is the dmesg time of a record.
    let mono = seam::now_ns();
    let printk = seam::printk_clock_ns();
    writeln!(f, "clock mono_ns={mono} printk_ns={printk}")?;
    let (mut written, mut overwritten, mut coalesced) = (0u64, 0u64, 0u64);
    for (cpu, live) in rec.cpus.iter().enumerate() {
        let c = counts.get(cpu).copied().unwrap_or_default();
        let co = live.coalesced.load(Relaxed);
        written += c.written;
        overwritten += c.overwritten;
        coalesced += co;
        writeln!(
            f,
            "cpu={cpu} written={} overwritten={} in_ring={} coalesced={co} lockup_threshold_ms={}",
            c.written,
            c.overwritten,
            c.written - c.overwritten,
            Ms(live.lockup_threshold_ns())
        )?;
    }
    let mut missed = 0;
    for (index, spec) in PROBES.iter().enumerate() {
        let hits: u64 = rec.cpus.iter().map(|c| c.hits[index].load(Relaxed)).sum();
        let nmissed = seam::probe_nmissed(index);
        missed += nmissed;
        writeln!(
            f,
            "probe={:?} kind={} hits={hits} nmissed={nmissed}",
            spec.symbol,
            if spec.paired { "kretprobe" } else { "kprobe" }
        )?;
    }
    writeln!(
        f,
        "total written={written} overwritten={overwritten} in_ring={} coalesced={coalesced} missed={missed} torn={torn}",
        written - overwritten
    )
}

#[kernel::prelude::kunit_tests(stopwatch_text)]
mod tests {
    use super::*;
    use core::fmt::Write;

    /// Symbols as `sym_<hex>`, pid 91 is `hog`, others unknown.
    struct Fake;

    impl Names for Fake {
        fn symbol(&self, f: &mut Formatter<'_>, addr: u64) -> fmt::Result {
            write!(f, "sym_{addr:x}")
        }

        fn comm(&self, pid: u32) -> Option<[u8; COMM_LEN]> {
            let mut comm = [0u8; COMM_LEN];
            (pid == 91).then(|| {
                comm[..3].copy_from_slice(b"hog");
                comm
            })
        }
    }

    /// A fixed buffer to format into.
    struct Buf {
        bytes: [u8; 256],
        len: usize,
    }

    impl fmt::Write for Buf {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let end = self.len + s.len();
            if end > self.bytes.len() {
                return Err(fmt::Error);
            }
            self.bytes[self.len..end].copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }

    impl Buf {
        fn new() -> Self {
            Self {
                bytes: [0; 256],
                len: 0,
            }
        }

        fn as_bytes(&self) -> &[u8] {
            &self.bytes[..self.len]
        }
    }

    fn check(event: Event, pid: u32, want: &[u8]) -> Result {
        let rec = Record {
            ts_ns: 12_345_678_901,
            cpu: 2,
            pid,
            event,
        };
        let mut got = Buf::new();
        write!(
            got,
            "{}",
            EventLine {
                rec: &rec,
                names: &Fake
            }
        )
        .map_err(|_| EINVAL)?;
        assert_eq!(got.as_bytes(), want);
        Ok(())
    }

    #[test]
    fn every_record_type_formats() -> Result {
        let head = "             hog-91      [002] 12.345678: ";
        check(
            Event::Touch {
                source: TouchSource::Plain,
                caller: 0xabc,
            },
            91,
            cat(head, "touch caller=sym_abc")?.as_bytes(),
        )?;
        check(
            Event::Touch {
                source: TouchSource::All,
                caller: 0x1,
            },
            91,
            cat(head, "touch_all caller=sym_1")?.as_bytes(),
        )?;
        check(
            Event::WatchdogWork,
            91,
            cat(head, "watchdog_work")?.as_bytes(),
        )?;
        check(
            Event::WatchdogCheck {
                touch_age_ns: 1_500_000,
            },
            91,
            cat(head, "watchdog_check touch_age_ms=1.500")?.as_bytes(),
        )?;
        check(
            Event::WatchdogCheck {
                touch_age_ns: u64::MAX,
            },
            91,
            cat(head, "watchdog_check touch_age_ms=never")?.as_bytes(),
        )?;
        check(
            Event::StopBegin {
                stop: 12,
                nr_cpus: 4,
                nr_active: 0,
                func: 0xf00,
            },
            91,
            cat(head, "stop_begin stop=12 fn=sym_f00 cpus=4 active=any")?.as_bytes(),
        )?;
        check(
            Event::StopEnd {
                stop: 12,
                ret: -16,
                duration_ns: 5_100_000_000,
            },
            91,
            cat(head, "stop_end stop=12 ret=-16 duration_ms=5100.000")?.as_bytes(),
        )?;
        check(
            Event::CpuState {
                stop: 12,
                state: StopState::DisableIrq,
            },
            91,
            cat(head, "stop_state stop=12 state=DISABLE_IRQ")?.as_bytes(),
        )?;
        check(
            Event::EarlyWarning {
                stop: 12,
                culprit: 2,
                waited_ns: 1_000_123_456,
            },
            91,
            cat(head, "early_warning stop=12 waited_ms=1000.123 culprit=2")?.as_bytes(),
        )?;
        // Unknown task names and the idle task read like ftrace's.
        check(
            Event::WatchdogWork,
            7,
            b"           <...>-7       [002] 12.345678: watchdog_work",
        )?;
        check(
            Event::WatchdogWork,
            0,
            b"          <idle>-0       [002] 12.345678: watchdog_work",
        )?;
        Ok(())
    }

    /// `a` followed by `b`.
    fn cat(a: &str, b: &str) -> Result<Buf> {
        let mut buf = Buf::new();
        write!(buf, "{a}{b}").map_err(|_| EINVAL)?;
        Ok(buf)
    }

    #[test]
    fn durations() -> Result {
        let mut s = Buf::new();
        write!(s, "{} {} {}", Secs(0), Ms(999), Secs(1_000_000_000)).map_err(|_| EINVAL)?;
        assert_eq!(s.as_bytes(), b"0.000000 0.000 1.000000");
        Ok(())
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The words stopwatch uses for a call in flight, from the live state at
//! one moment: a CPU's line, the wait summed up, the early warning and the
//! note after the kernel's report. Each is a `Display` that allocates
//! nothing (the console prints them from `irq_work` and panic context).

use super::{Instance, LiveCpus, NAMED_CPUS};
use crate::logic::{
    comm::comm_str,
    live::CpuLive,
    record::TouchSource,
    text::{CpusWhere, Ms, Names, Secs, Sym, Task},
};
use core::fmt::{self, Display, Formatter};
use core::sync::atomic::Ordering::Relaxed;

/// `comm/pid` of the task the watchdog's timer last interrupted on a CPU
/// (its name as seen then), `-` if it never ran there.
pub(crate) struct CheckedTask<'a>(pub(crate) &'a CpuLive);

impl Display for CheckedTask<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.0.check_ns.load(Relaxed) == 0 {
            return f.write_str("-");
        }
        let comm = self.0.check_comm();
        write!(f, "{}/{}", comm_str(&comm), self.0.check_pid.load(Relaxed))
    }
}

/// `touch_age_ms=... touch_source=... touch_caller=...`: the last thing
/// that refreshed a CPU's watchdog (a touch, or the watchdog's own work).
pub(crate) struct LastTouch<'a, N: Names> {
    /// The CPU.
    pub(crate) live: &'a CpuLive,
    /// Now.
    pub(crate) now_ns: u64,
    /// Name source.
    pub(crate) names: &'a N,
}

impl<N: Names> Display for LastTouch<'_, N> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let live = self.live;
        let touch = live.touch_ns.load(Relaxed);
        let work = live.work_ns.load(Relaxed);
        if touch == 0 && work == 0 {
            f.write_str("touch_age_ms=- touch_source=- touch_caller=-")
        } else if work >= touch {
            write!(
                f,
                "touch_age_ms={} touch_source=work touch_caller=-",
                Ms(self.now_ns.saturating_sub(work))
            )
        } else {
            let name = TouchSource::from_u8(live.touch_source.load(Relaxed) as u8)
                .map_or("?", TouchSource::name);
            write!(
                f,
                "touch_age_ms={} touch_source={name} touch_caller={}",
                Ms(self.now_ns.saturating_sub(touch)),
                Sym(self.names, live.touch_caller.load(Relaxed))
            )
        }
    }
}

/// One CPU's line of the `cpus` view (and of the panic dump), without
/// the newline.
pub(crate) struct CpuLine<'a, N: Names> {
    /// CPU id.
    pub(crate) cpu: usize,
    /// Its live state.
    pub(crate) live: &'a CpuLive,
    /// Whether it is online.
    pub(crate) online: bool,
    /// Now.
    pub(crate) now_ns: u64,
    /// Name source.
    pub(crate) names: &'a N,
}

impl<N: Names> Display for CpuLine<'_, N> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let live = self.live;
        write!(
            f,
            "cpu={} online={} {}",
            self.cpu,
            u8::from(self.online),
            LastTouch {
                live,
                now_ns: self.now_ns,
                names: self.names
            }
        )?;
        let check = live.check_ns.load(Relaxed);
        if check == 0 {
            f.write_str(" check_age_ms=- task=-")?;
        } else {
            write!(
                f,
                " check_age_ms={} task={}",
                Ms(self.now_ns.saturating_sub(check)),
                CheckedTask(live)
            )?;
        }
        match live.stop() {
            Some(p) => write!(
                f,
                " stop={} state={} in_state_ms={}",
                p.stop,
                p.state.name(),
                Ms(self.now_ns.saturating_sub(p.since_ns))
            ),
            None => f.write_str(" stop=- state=- in_state_ms=-"),
        }
    }
}

/// The first line of the `cpus` view, without the newline: the instance
/// CPUs wait in, who waits and for whom.
pub(crate) struct WaitSummary<'a, 'b, O: Fn(usize) -> bool>(pub(crate) &'a LiveCpus<'b, O>);

impl<O: Fn(usize) -> bool> Display for WaitSummary<'_, '_, O> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let cpus = self.0;
        let now = cpus.now_ns;
        let Some(stop) = cpus.waiting_stop() else {
            return write!(
                f,
                "# now={} stop=- (no CPU waits in stop_machine)",
                Secs(now)
            );
        };
        let wait = cpus.wait(stop);
        write!(
            f,
            "# now={} stop={stop} state=PREPARE waiting_ms={} waiting_cpus={} culprit_cpus=",
            Secs(now),
            Ms(now.saturating_sub(wait.since_ns)),
            CpusWhere {
                n: cpus.live.len(),
                pick: |c| cpus.waits(c, stop)
            },
        )?;
        // In the order of `missing_cpus`, and the tasks in the same order.
        let mut any = false;
        for (i, cpu) in cpus.missing_cpus(stop).enumerate() {
            any = true;
            write!(f, "{}{cpu}", if i == 0 { "" } else { "," })?;
        }
        if !any {
            f.write_str("-")?;
        }
        for (i, live) in cpus
            .missing_cpus(stop)
            .filter_map(|c| cpus.live.get(c))
            .enumerate()
        {
            let sep = if i == 0 { " culprit_task=" } else { "," };
            write!(f, "{sep}{}", CheckedTask(live))?;
        }
        write!(
            f,
            " blocked_cpus={}",
            CpusWhere {
                n: cpus.live.len(),
                pick: |c| cpus.blocked_in(c, stop).is_some()
            }
        )
    }
}

/// The early warning for one instance: several lines, each ending in a
/// newline, to be printed one `printk` per line.
///
/// ```text
/// stop_machine #12 has waited 1003.112 ms in PREPARE (lockup threshold 2000.000 ms): waiting_cpus=0-1,3 not_arrived=2
/// #12 called by stopwatch_storm/68 at stop_machine+0x2a/0x40 fn=storm_fn+0x0/0x40 [stopwatch_storm] began_ms_ago=1004.020
/// #12 CPU 2 has not arrived: task=stopwatch_hog/2/115 check_age_ms=... touch_age_ms=... touch_source=plain touch_caller=... touches_since_begin=10
/// ```
pub(crate) struct WarningText<'a, 'b, O: Fn(usize) -> bool, N: Names> {
    /// The CPUs.
    pub(crate) cpus: &'a LiveCpus<'b, O>,
    /// The instance, if the open-instance table has it.
    pub(crate) instance: Option<Instance>,
    /// Its id.
    pub(crate) stop: u32,
    /// Watchdog touches each CPU has made so far (its touch probes' hits).
    pub(crate) touches: &'a dyn Fn(&CpuLive) -> u64,
    /// Name source.
    pub(crate) names: &'a N,
}

impl<O: Fn(usize) -> bool, N: Names> Display for WarningText<'_, '_, O, N> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let cpus = self.cpus;
        let now = cpus.now_ns;
        let stop = self.stop;
        let wait = cpus.wait(stop);
        let threshold = (0..cpus.live.len())
            .find(|&c| cpus.waits(c, stop))
            .and_then(|c| cpus.live.get(c))
            .map_or(0, CpuLive::lockup_threshold_ns);
        let not_arrived = CpusWhere {
            n: cpus.live.len(),
            pick: |c| cpus.missing(c, stop),
        };
        if wait.waiting == 0 {
            writeln!(
                f,
                "stop_machine #{stop}: no CPU waits in PREPARE: not_arrived={not_arrived}"
            )?;
        } else {
            writeln!(
                f,
                "stop_machine #{stop} has waited {} ms in PREPARE (lockup threshold {} ms): waiting_cpus={} not_arrived={not_arrived}",
                Ms(now.saturating_sub(wait.since_ns)),
                Ms(threshold),
                CpusWhere {
                    n: cpus.live.len(),
                    pick: |c| cpus.waits(c, stop)
                },
            )?;
        }
        if let Some(i) = self.instance {
            writeln!(
                f,
                "#{stop} called by {} at {} fn={} began_ms_ago={}",
                Task(self.names, i.pid),
                Sym(self.names, i.caller),
                Sym(self.names, i.func),
                Ms(now.saturating_sub(i.begin_ns))
            )?;
        }
        for cpu in cpus.missing_cpus(stop).take(NAMED_CPUS) {
            let Some(live) = cpus.live.get(cpu) else {
                continue;
            };
            let check = live.check_ns.load(Relaxed);
            write!(f, "#{stop} CPU {cpu} has not arrived")?;
            if let Some(func) = cpus.blocked_in(cpu, stop) {
                write!(
                    f,
                    " (blocked in another multi_cpu_stop(), fn={})",
                    Sym(self.names, func)
                )?;
            }
            write!(f, ": task={} check_age_ms=", CheckedTask(live))?;
            if check == 0 {
                f.write_str("-")?;
            } else {
                write!(f, "{}", Ms(now.saturating_sub(check)))?;
            }
            let since = (self.touches)(live).wrapping_sub(live.touches_at_begin.load(Relaxed));
            writeln!(
                f,
                " {} touches_since_begin={since}",
                LastTouch {
                    live,
                    now_ns: now,
                    names: self.names
                }
            )?;
        }
        if wait.missing > NAMED_CPUS {
            writeln!(
                f,
                "#{stop} and {} more CPUs have not arrived",
                wait.missing - NAMED_CPUS
            )?;
        }
        // Every CPU has arrived, but some still wait: they have not seen
        // the wait end yet. Whom they waited for is the last to arrive.
        if let Some(last) = cpus.last_arrival(stop).filter(|_| wait.waiting > 0) {
            writeln!(
                f,
                "#{stop} CPU {} arrived last: task={} after_first_ms={}",
                last.cpu,
                CheckedTask(last.live),
                Ms(last.after_first_ns)
            )?;
        }
        Ok(())
    }
}

/// The line added after the kernel's soft-lockup report of a CPU that
/// waits in PREPARE, without the newline:
///
/// `CPU 0 is waiting in stop_machine #4 (PREPARE, 2.9 s) for CPU 2 (stopwatch_hog/2/115)`
pub(crate) struct BlameNote<'a, 'b, O: Fn(usize) -> bool> {
    /// The CPUs.
    pub(crate) cpus: &'a LiveCpus<'b, O>,
    /// The CPU the kernel reported.
    pub(crate) cpu: usize,
}

impl<O: Fn(usize) -> bool> BlameNote<'_, '_, O> {
    /// The instance the reported CPU waits in, if it waits: only then is
    /// there something to say.
    pub(crate) fn stop(&self) -> Option<u32> {
        self.cpus.live.get(self.cpu)?.waiting_in()
    }
}

impl<O: Fn(usize) -> bool> Display for BlameNote<'_, '_, O> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let cpus = self.cpus;
        let (Some(stop), Some(live)) = (self.stop(), cpus.live.get(self.cpu)) else {
            return write!(f, "CPU {} is not waiting in stop_machine", self.cpu);
        };
        let waited = cpus.now_ns.saturating_sub(live.stop_since_ns.load(Relaxed));
        // Tenths of a second, rounded down.
        write!(
            f,
            "CPU {} is waiting in stop_machine #{stop} (PREPARE, {}.{} s) for ",
            self.cpu,
            waited / 1_000_000_000,
            waited % 1_000_000_000 / 100_000_000
        )?;
        let wait = cpus.wait(stop);
        match wait.missing {
            0 => {
                f.write_str("no CPU (all have arrived")?;
                if let Some(last) = cpus.last_arrival(stop) {
                    write!(
                        f,
                        "; the last was CPU {} ({}), {} ms after the first",
                        last.cpu,
                        CheckedTask(last.live),
                        Ms(last.after_first_ns)
                    )?;
                }
                return f.write_str(")");
            }
            1 => f.write_str("CPU ")?,
            _ => f.write_str("CPUs ")?,
        }
        for (i, cpu) in cpus.missing_cpus(stop).take(NAMED_CPUS).enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            let task = cpus.live.get(cpu).map(CheckedTask);
            let blocked = if cpus.blocked_in(cpu, stop).is_some() {
                ", blocked in another multi_cpu_stop()"
            } else {
                ""
            };
            match task {
                Some(t) => write!(f, "{cpu} ({t}{blocked})")?,
                None => write!(f, "{cpu}")?,
            }
        }
        if wait.missing > NAMED_CPUS {
            write!(f, ", and {} more", wait.missing - NAMED_CPUS)?;
        }
        Ok(())
    }
}

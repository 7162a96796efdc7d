// SPDX-License-Identifier: GPL-2.0

//! What the live state says about a `stop_machine()` call in flight, and
//! the words stopwatch uses for it on the console.
//!
//! The probe handlers keep each CPU's live state (`live.rs`). This file
//! reads it at one moment without allocating and without locks, so the
//! same code serves a debugfs read (the `cpus` view), an `irq_work` in hard
//! interrupt context (the early warning and the annotation of the kernel's
//! report) and a panic notifier running while the other CPUs are stopped.
//!
//! One rule decides who waits for whom. A CPU *waits* in instance `stop`
//! when its stopper is inside that instance and last saw PREPARE. An online
//! CPU whose stopper is not inside the instance *has not arrived*: PREPARE
//! ends only when every CPU has acknowledged it, so everyone waits for
//! those. The analysis of the records (`analysis.rs`) applies the same rule
//! to an instance's arrivals after the fact.

use super::{
    comm::comm_str,
    live::CpuLive,
    record::{StopState, TouchSource},
    text::{CpusWhere, Ms, Names, Secs, Sym, Task},
};
use core::fmt::{self, Display, Formatter};
use core::sync::atomic::Ordering::Relaxed;

/// CPUs that have not arrived named one by one in a warning or an
/// annotation; the rest are counted.
pub(crate) const NAMED_CPUS: usize = 8;

/// A `stop_machine()` call between its entry and return, as the
/// recorder's open-instance table has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Instance {
    /// Instance id.
    pub(crate) stop: u32,
    /// Pid of the calling task.
    pub(crate) pid: u32,
    /// Return address into the caller of `stop_machine_cpuslocked()`
    /// (usually the `stop_machine()` wrapper: the task says more).
    pub(crate) caller: u64,
    /// The `fn` every CPU runs.
    pub(crate) func: u64,
    /// When the call began.
    pub(crate) begin_ns: u64,
}

/// The live state of every CPU, read at `now_ns`.
pub(crate) struct LiveCpus<'a, O: Fn(usize) -> bool> {
    /// Per CPU, indexed by CPU id.
    pub(crate) live: &'a [CpuLive],
    /// Whether a CPU is online.
    pub(crate) online: O,
    /// The moment of the reading (`ktime_get_mono_fast_ns()`).
    pub(crate) now_ns: u64,
}

/// How one instance's wait stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Wait {
    /// The instance.
    pub(crate) stop: u32,
    /// CPUs waiting in PREPARE.
    pub(crate) waiting: usize,
    /// Online CPUs that have not arrived.
    pub(crate) missing: usize,
    /// Since when the longest-waiting CPU has been in PREPARE.
    pub(crate) since_ns: u64,
}

impl<O: Fn(usize) -> bool> LiveCpus<'_, O> {
    /// The instance CPUs wait in PREPARE in, if any (the lowest such CPU's;
    /// `stop_cpus_mutex` lets only one `stop_machine()` run its stoppers
    /// at a time).
    pub(crate) fn waiting_stop(&self) -> Option<u32> {
        self.live.iter().find_map(CpuLive::waiting_in)
    }

    /// Whether `cpu`'s stopper waits in PREPARE of `stop`.
    pub(crate) fn waits(&self, cpu: usize, stop: u32) -> bool {
        self.live
            .get(cpu)
            .and_then(CpuLive::stop)
            .is_some_and(|p| p.stop == stop && p.state == StopState::Prepare)
    }

    /// Whether `cpu` is online and its stopper not inside `stop`.
    pub(crate) fn missing(&self, cpu: usize, stop: u32) -> bool {
        (self.online)(cpu) && self.live.get(cpu).is_some_and(|c| !c.in_stop(stop))
    }

    /// Where instance `stop`'s wait stands.
    pub(crate) fn wait(&self, stop: u32) -> Wait {
        let mut wait = Wait {
            stop,
            waiting: 0,
            missing: 0,
            since_ns: self.now_ns,
        };
        for (cpu, live) in self.live.iter().enumerate() {
            if self.waits(cpu, stop) {
                wait.waiting += 1;
                wait.since_ns = wait.since_ns.min(live.stop_since_ns.load(Relaxed));
            } else if self.missing(cpu, stop) {
                wait.missing += 1;
            }
        }
        wait
    }

    /// The `fn` of the other `multi_cpu_stop()` that keeps `cpu` from
    /// arriving in `stop`, if it is missing because its stopper is busy
    /// in one (a nested stop; 0: fn unknown).
    pub(crate) fn blocked_in(&self, cpu: usize, stop: u32) -> Option<u64> {
        if !self.missing(cpu, stop) {
            return None;
        }
        self.live.get(cpu)?.other_stop()
    }

    /// The CPUs `stop` waits for: those held up by nothing but themselves
    /// first, then those blocked in another `multi_cpu_stop()` (which
    /// waits for the first ones: the chain ends at a CPU whose stopper
    /// cannot run); lowest first in each group. The same order as
    /// `crate::logic::analysis::Culprit::Late`.
    pub(crate) fn missing_cpus(&self, stop: u32) -> impl Iterator<Item = usize> + '_ {
        let n = self.live.len();
        let free = (0..n)
            .filter(move |&cpu| self.missing(cpu, stop) && self.blocked_in(cpu, stop).is_none());
        let blocked = (0..n).filter(move |&cpu| self.blocked_in(cpu, stop).is_some());
        free.chain(blocked)
    }
}

/// How long ago a CPU's soft-lockup watchdog was last refreshed (a touch,
/// or the watchdog's own work), if ever.
pub(crate) fn refreshed_age_ns(live: &CpuLive, now_ns: u64) -> Option<u64> {
    let at = live.touch_ns.load(Relaxed).max(live.work_ns.load(Relaxed));
    (at != 0).then(|| now_ns.saturating_sub(at))
}

/// Whether asking `live`'s CPU for a backtrace leaves the kernel's own
/// reporting of it as it was.
///
/// Dumping a stack touches that CPU's watchdog (x86's
/// `printk_stack_address()` calls `touch_nmi_watchdog()`, as does the
/// kernel's own NMI backtrace), which postpones a soft-lockup report of
/// that CPU by the age of its last refresh. A CPU that refreshed within
/// half a threshold is being touched anyway (the hog, the OOM task dump)
/// and the kernel will not report it: the backtrace costs nothing. One
/// that has not will soon be reported by the kernel, backtrace included:
/// stopwatch leaves it alone.
pub(crate) fn backtrace_is_harmless(live: &CpuLive, now_ns: u64) -> bool {
    refreshed_age_ns(live, now_ns).is_some_and(|age| age < live.lockup_threshold_ns() / 2)
}

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
            0 => return f.write_str("no CPU (all have arrived)"),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::comm::comm_to_words;
    use crate::logic::live::NOT_IN_STOP;
    use alloc::{string::String, vec::Vec};
    use core::fmt::Write;

    const S: u64 = 1_000_000_000;

    struct FakeNames;

    impl Names for FakeNames {
        fn symbol(&self, f: &mut Formatter<'_>, addr: u64) -> fmt::Result {
            write!(f, "sym{addr:x}")
        }
        fn comm(&self, _pid: u32) -> Option<crate::logic::comm::Comm> {
            None
        }
    }

    /// Four CPUs: 0, 1 and 3 wait in PREPARE of #7 since 10 s; CPU 2 runs
    /// `hog/2` (pid 115), last touched at 12.9 s, and made 5 touches.
    fn incident() -> Vec<CpuLive> {
        let cpus: Vec<CpuLive> = (0..4).map(|_| CpuLive::new()).collect();
        for (cpu, live) in cpus.iter().enumerate() {
            live.check_interval_ns.store(400_000_000, Relaxed);
            if cpu == 2 {
                let mut comm = [0u8; 16];
                comm[..5].copy_from_slice(b"hog/2");
                let w = comm_to_words(&comm);
                live.check_comm[0].store(w[0], Relaxed);
                live.check_comm[1].store(w[1], Relaxed);
                live.check_pid.store(115, Relaxed);
                live.check_ns.store(12 * S, Relaxed);
                live.touch_ns.store(12 * S + 900_000_000, Relaxed);
                live.touch_source.store(TouchSource::Plain as u32, Relaxed);
                live.touch_caller.store(0xabc, Relaxed);
                live.touches_at_begin.store(3, Relaxed);
                continue;
            }
            live.stop_id.store(7, Relaxed);
            live.stop_since_ns.store(10 * S + cpu as u64, Relaxed);
            live.stop_state.store(StopState::Prepare as u32, Relaxed);
        }
        cpus
    }

    /// `live` read at `now_ns`, every CPU online.
    fn all_online(live: &[CpuLive], now_ns: u64) -> LiveCpus<'_, impl Fn(usize) -> bool> {
        LiveCpus {
            live,
            online: |_| true,
            now_ns,
        }
    }

    fn text(d: impl Display) -> String {
        let mut s = String::new();
        write!(s, "{d}").unwrap();
        s
    }

    #[test]
    fn the_rule_names_the_cpu_that_has_not_arrived() {
        let live = incident();
        let cpus = all_online(&live, 13 * S);
        assert_eq!(cpus.waiting_stop(), Some(7));
        assert_eq!(
            cpus.wait(7),
            Wait {
                stop: 7,
                waiting: 3,
                missing: 1,
                since_ns: 10 * S
            }
        );
        assert!(cpus.missing(2, 7) && !cpus.missing(0, 7));
        // An offline CPU is waited for by nobody.
        let offline = LiveCpus {
            live: &live,
            online: |c| c != 2,
            now_ns: 13 * S,
        };
        assert_eq!(offline.wait(7).missing, 0);
        assert_eq!(
            text(BlameNote {
                cpus: &offline,
                cpu: 0
            }),
            "CPU 0 is waiting in stop_machine #7 (PREPARE, 3.0 s) for no CPU (all have arrived)"
        );
    }

    #[test]
    fn warning_names_instance_waiters_and_the_missing_cpu() {
        let live = incident();
        let cpus = all_online(&live, 13 * S);
        let touches = |c: &CpuLive| {
            if c.check_pid.load(Relaxed) == 115 {
                8
            } else {
                0
            }
        };
        let warning = text(WarningText {
            cpus: &cpus,
            instance: Some(Instance {
                stop: 7,
                pid: 68,
                caller: 0x10,
                func: 0x20,
                begin_ns: 9 * S,
            }),
            stop: 7,
            touches: &touches,
            names: &FakeNames,
        });
        let lines: Vec<&str> = warning.lines().collect();
        assert_eq!(
            lines,
            [
                "stop_machine #7 has waited 3000.000 ms in PREPARE (lockup threshold 2000.000 ms): waiting_cpus=0-1,3 not_arrived=2",
                "#7 called by <...>/68 at sym10 fn=sym20 began_ms_ago=4000.000",
                "#7 CPU 2 has not arrived: task=hog/2/115 check_age_ms=1000.000 touch_age_ms=100.000 touch_source=touch touch_caller=symabc touches_since_begin=5",
            ]
        );
        assert!(warning.ends_with('\n'));
    }

    #[test]
    fn note_names_the_cpu_waited_for_and_only_for_waiters() {
        let live = incident();
        let cpus = all_online(&live, 12 * S + 950_000_000);
        let note = BlameNote {
            cpus: &cpus,
            cpu: 0,
        };
        assert_eq!(note.stop(), Some(7));
        assert_eq!(
            text(note),
            "CPU 0 is waiting in stop_machine #7 (PREPARE, 2.9 s) for CPU 2 (hog/2/115)"
        );
        // The hog's own CPU waits for nobody: nothing to add.
        assert_eq!(
            BlameNote {
                cpus: &cpus,
                cpu: 2
            }
            .stop(),
            None
        );
        // Once past PREPARE, neither.
        live[0]
            .stop_state
            .store(StopState::DisableIrq as u32, Relaxed);
        assert_eq!(
            BlameNote {
                cpus: &cpus,
                cpu: 0
            }
            .stop(),
            None
        );
    }

    #[test]
    fn many_missing_cpus_are_named_up_to_a_bound() {
        let live: Vec<CpuLive> = (0..20).map(|_| CpuLive::new()).collect();
        live[0].stop_id.store(3, Relaxed);
        live[0].stop_state.store(StopState::Prepare as u32, Relaxed);
        let cpus = all_online(&live, S);
        let note = text(BlameNote {
            cpus: &cpus,
            cpu: 0,
        });
        assert!(
            note.ends_with(
                "for CPUs 1 (-), 2 (-), 3 (-), 4 (-), 5 (-), 6 (-), 7 (-), 8 (-), and 11 more"
            ),
            "{note}"
        );
        let warning = text(WarningText {
            cpus: &cpus,
            instance: None,
            stop: 3,
            touches: &|_| 0,
            names: &FakeNames,
        });
        assert_eq!(warning.lines().count(), 1 + NAMED_CPUS + 1);
        assert!(warning.ends_with("#3 and 11 more CPUs have not arrived\n"));
        // Past PREPARE: nobody waits, and the text says so.
        live[0].stop_state.store(StopState::Run as u32, Relaxed);
        let warning = text(WarningText {
            cpus: &cpus,
            instance: None,
            stop: 3,
            touches: &|_| 0,
            names: &FakeNames,
        });
        assert!(
            warning.starts_with("stop_machine #3: no CPU waits in PREPARE: not_arrived=1-19\n"),
            "{warning}"
        );
    }

    #[test]
    fn backtraces_only_where_they_postpone_no_report() {
        let live = incident();
        // CPU 2 touched 100 ms ago (threshold 2 s): harmless.
        assert!(backtrace_is_harmless(&live[2], 13 * S));
        // 1.1 s later its last refresh is 1.2 s old: the kernel will
        // report it by itself, and a stack dump would postpone that.
        assert!(!backtrace_is_harmless(&live[2], 14 * S + 100_000_000));
        // Never refreshed: the kernel reports it, not stopwatch.
        assert!(!backtrace_is_harmless(&live[0], 13 * S));
        live[0].work_ns.store(12 * S + 500_000_000, Relaxed);
        assert_eq!(refreshed_age_ns(&live[0], 13 * S), Some(500_000_000));
    }

    #[test]
    fn a_cpu_blocked_in_a_nested_stop_comes_after_the_cpu_it_waits_for() {
        // CPU 1's stopper is in another multi_cpu_stop() (stop_two_cpus(),
        // fn 0xbeef), waiting there for CPU 2: missing from #7, blocked.
        let live = incident();
        live[1].stop_id.store(0, Relaxed);
        live[1].stop_func.store(0xbeef, Relaxed);
        let cpus = all_online(&live, 13 * S);
        assert_eq!(cpus.blocked_in(1, 7), Some(0xbeef));
        assert_eq!(cpus.blocked_in(2, 7), None);
        assert_eq!(cpus.blocked_in(0, 7), None);
        assert_eq!(cpus.missing_cpus(7).collect::<Vec<_>>(), [2, 1]);
        let summary = text(WaitSummary(&cpus));
        assert!(
            summary.ends_with(
                " waiting_cpus=0,3 culprit_cpus=2,1 culprit_task=hog/2/115,- blocked_cpus=1"
            ),
            "{summary}"
        );
        let warning = text(WarningText {
            cpus: &cpus,
            instance: None,
            stop: 7,
            touches: &|_| 0,
            names: &FakeNames,
        });
        let lines: Vec<&str> = warning.lines().collect();
        assert!(
            lines[1].starts_with("#7 CPU 2 has not arrived: task=hog/2/115 "),
            "{warning}"
        );
        assert!(
            lines[2].starts_with(
                "#7 CPU 1 has not arrived (blocked in another multi_cpu_stop(), fn=symbeef): task=- "
            ),
            "{warning}"
        );
        assert_eq!(
            text(BlameNote {
                cpus: &cpus,
                cpu: 0
            }),
            "CPU 0 is waiting in stop_machine #7 (PREPARE, 3.0 s) for CPUs 2 (hog/2/115), \
             1 (-, blocked in another multi_cpu_stop())"
        );
    }

    #[test]
    fn summary_and_cpu_lines() {
        let live = incident();
        let cpus = all_online(&live, 13 * S);
        assert_eq!(
            text(WaitSummary(&cpus)),
            "# now=13.000000 stop=7 state=PREPARE waiting_ms=3000.000 waiting_cpus=0-1,3 culprit_cpus=2 culprit_task=hog/2/115 blocked_cpus=-"
        );
        assert_eq!(
            text(CpuLine {
                cpu: 2,
                live: &live[2],
                online: true,
                now_ns: 13 * S,
                names: &FakeNames
            }),
            "cpu=2 online=1 touch_age_ms=100.000 touch_source=touch touch_caller=symabc check_age_ms=1000.000 task=hog/2/115 stop=- state=- in_state_ms=-"
        );
        for l in &live {
            l.stop_state.store(NOT_IN_STOP, Relaxed);
        }
        assert_eq!(
            text(WaitSummary(&cpus)),
            "# now=13.000000 stop=- (no CPU waits in stop_machine)"
        );
        assert_eq!(
            text(CpusWhere {
                n: 4,
                pick: |_| false
            }),
            "-"
        );
    }
}

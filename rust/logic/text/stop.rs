// SPDX-License-Identifier: GPL-2.0

//! A line of the `stops` file: one `stop_machine()` instance, from the
//! analysis of the records.

use super::{CompactSym, MaybeTask, Ms, Names, Secs, Sym, Task};
use crate::logic::{
    analysis::{Blame, CpuInStop, Culprit, Late, StopSummary},
    sort, Alloc, List,
};
use core::fmt::{self, Display, Formatter};

/// `caller:count,...` of the touches a CPU made before it arrived, most
/// first; `-` if none.
pub(crate) struct TouchCallerList<'a, N: Names>(pub(crate) &'a N, pub(crate) Option<&'a CpuInStop>);

impl<N: Names> Display for TouchCallerList<'_, N> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let Some(c) = self.1 else {
            return f.write_str("-");
        };
        let mut first = true;
        for t in c.touch_callers.by_count().iter().filter(|t| t.count > 0) {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{}:{}", CompactSym(self.0, t.caller), t.count)?;
        }
        if c.touch_callers.other > 0 {
            write!(f, ",other:{}", c.touch_callers.other)?;
        } else if first {
            f.write_str("-")?;
        }
        Ok(())
    }
}

/// What a CPU `s` waited for ran: the task it ran before it arrived, if
/// it did, else the one the watchdog last saw on it (`task_on`).
pub(crate) fn late_task<A: Alloc>(
    s: &StopSummary<A>,
    l: &Late,
    task_on: &dyn Fn(u16) -> Option<u32>,
) -> Option<u32> {
    if l.arrived {
        s.cpu(l.cpu).and_then(|c| c.task_before_arrival)
    } else {
        task_on(l.cpu)
    }
}

/// One line of the `stops` file, without the newline.
pub(crate) struct StopLine<'a, A: Alloc, N: Names> {
    /// The instance.
    pub(crate) stop: &'a StopSummary<A>,
    /// Now, for instances still running.
    pub(crate) now_ns: u64,
    /// Online CPUs, for instances still running.
    pub(crate) online: &'a [u16],
    /// Name source.
    pub(crate) names: &'a N,
    /// Pid the watchdog last saw on a CPU (for CPUs not arrived).
    pub(crate) task_on: &'a dyn Fn(u16) -> Option<u32>,
    /// Who is to blame, and when.
    pub(crate) blame: Blame,
    /// The instance it is queued behind
    /// (`crate::logic::analysis::StopLog::queued_behind`).
    pub(crate) queued_behind: Option<u32>,
}

impl<A: Alloc, N: Names> Display for StopLine<'_, A, N> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let s = self.stop;
        let n = self.names;
        write!(f, "stop={}", s.stop)?;
        match s.caller {
            Some(c) => write!(f, " caller={} caller_cpu={}", Task(n, c.pid), c.cpu)?,
            None => f.write_str(" caller=- caller_cpu=-")?,
        }
        write!(f, " fn={}", Sym(n, s.func))?;
        let start = s.start_ns().unwrap_or(0);
        write!(f, " start={}", Secs(start))?;
        match s.queued_ns() {
            Some(q) => write!(f, " queued_ms={}", Ms(q))?,
            None => f.write_str(" queued_ms=-")?,
        }
        match s.end {
            Some(end) => write!(
                f,
                " duration_ms={} ret={} end=returned",
                Ms(end.ts_ns.saturating_sub(start)),
                end.ret
            )?,
            None if s.end_lost => f.write_str(" duration_ms=- ret=- end=lost")?,
            None => write!(
                f,
                " duration_ms={} ret=running end=running",
                Ms(self.now_ns.saturating_sub(start))
            )?,
        }
        write!(f, " cpus={} arrivals_ms=", s.nr_cpus)?;
        // By CPU, as the field has always listed them.
        let mut arrivals = s.arrivals().map_err(|_| fmt::Error)?;
        sort::sort_by_key(&mut arrivals, |a| a.cpu);
        for (i, a) in arrivals.iter().enumerate() {
            write!(
                f,
                "{}{}:+{}",
                if i == 0 { "" } else { "," },
                a.cpu,
                Ms(a.ts_ns.saturating_sub(start))
            )?;
        }
        if arrivals.is_empty() {
            f.write_str("-")?;
        }
        match s.longest_prepare(self.now_ns) {
            Some(w) => write!(
                f,
                " longest_prepare_ms={} longest_prepare_cpu={}",
                Ms(w.ns),
                w.cpu
            )?,
            None => f.write_str(" longest_prepare_ms=- longest_prepare_cpu=-")?,
        }
        by_cpu::<A>(f, "prepare_ms", s, &|c| c.prepare_wait_ns(self.now_ns))?;
        by_cpu::<A>(f, "untouched_ms", s, &|c| c.untouched_wait_ns(self.now_ns))?;
        let culprit = s
            .culprit(self.online, self.now_ns, self.blame)
            .map_err(|_| fmt::Error)?;
        let waiter_touches = |culprits: &[Late]| -> u32 {
            s.cpus
                .iter()
                .filter(|c| !culprits.iter().any(|l| l.cpu == c.cpu))
                .map(|c| c.touches_waiting)
                .sum()
        };
        match culprit {
            Culprit::Late(late) => {
                // Parallel lists, most late first.
                let list = |f: &mut Formatter<'_>,
                            name: &str,
                            item: &dyn Fn(&mut Formatter<'_>, &Late) -> fmt::Result|
                 -> fmt::Result {
                    write!(f, " {name}=")?;
                    for (i, l) in late.iter().enumerate() {
                        if i > 0 {
                            f.write_str(",")?;
                        }
                        item(f, l)?;
                    }
                    Ok(())
                };
                list(f, "culprit", &|f, l| write!(f, "{}", l.cpu))?;
                list(f, "culprit_why", &|f, l| {
                    f.write_str(match (l.blocked_in, l.arrived) {
                        (Some(_), _) => "blocked",
                        (None, true) => "late",
                        (None, false) => "not_arrived",
                    })
                })?;
                list(f, "culprit_lag_ms", &|f, l| write!(f, "{}", Ms(l.lag_ns)))?;
                list(f, "culprit_task", &|f, l| {
                    write!(f, "{}", MaybeTask(n, late_task(s, l, self.task_on)))
                })?;
                list(f, "culprit_touches", &|f, l| {
                    write!(f, "{}", s.cpu(l.cpu).map_or(0, |c| c.touches_before_arrival))
                })?;
                write!(
                    f,
                    " waiter_touches={} culprit_touch_callers={}",
                    waiter_touches(&late),
                    TouchCallerList(n, late.first().and_then(|l| s.cpu(l.cpu)))
                )?;
                // The blocked ones: `cpu:fn` of the other call each is in.
                f.write_str(" blocked_in=")?;
                let mut any = false;
                for l in late.iter() {
                    if let Some(b) = l.blocked_in {
                        f.write_str(if any { "," } else { "" })?;
                        any = true;
                        write!(f, "{}:{}", l.cpu, CompactSym(n, b.other.func))?;
                    }
                }
                if !any {
                    f.write_str("-")?;
                }
            }
            Culprit::Ordinary => write!(
                f,
                " culprit=- culprit_why=ordinary culprit_lag_ms=- culprit_task=- culprit_touches=- waiter_touches={} culprit_touch_callers=- blocked_in=-",
                waiter_touches(&[])
            )?,
            Culprit::Queued => f.write_str(
                " culprit=- culprit_why=queued culprit_lag_ms=- culprit_task=- culprit_touches=- waiter_touches=- culprit_touch_callers=- blocked_in=-",
            )?,
            Culprit::Unknown => f.write_str(
                " culprit=- culprit_why=unknown culprit_lag_ms=- culprit_task=- culprit_touches=- waiter_touches=- culprit_touch_callers=- blocked_in=-",
            )?,
        }
        match self.queued_behind {
            Some(id) => write!(f, " blocked_by={id}")?,
            None => f.write_str(" blocked_by=-")?,
        }
        write!(f, " warnings={}", s.warnings.len())?;
        match s.warnings.first() {
            Some(w) => write!(f, " warned_ms=+{}", Ms(w.ts_ns.saturating_sub(start))),
            None => f.write_str(" warned_ms=-"),
        }
    }
}

/// ` name=cpu:ms,...` of `value` for each CPU of `s` that has one, by CPU;
/// `-` if none.
fn by_cpu<A: Alloc>(
    f: &mut Formatter<'_>,
    name: &str,
    s: &StopSummary<A>,
    value: &dyn Fn(&CpuInStop) -> Option<u64>,
) -> fmt::Result {
    let mut values: A::List<(u16, u64)> = List::empty();
    for c in s.cpus.iter() {
        if let Some(v) = value(c) {
            values.try_push((c.cpu, v)).map_err(|_| fmt::Error)?;
        }
    }
    sort::sort(&mut values);
    write!(f, " {name}=")?;
    for (i, (cpu, v)) in values.iter().enumerate() {
        write!(f, "{}{cpu}:{}", if i == 0 { "" } else { "," }, Ms(*v))?;
    }
    if values.is_empty() {
        f.write_str("-")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        logic::{
            analysis::StopLog,
            record::{Event, Record, StopState, TouchSource},
            text::testing::Fake,
        },
        testing::{begin, rec, MS},
        Host,
    };
    use alloc::{format, string::String, vec::Vec};

    #[test]
    fn arrivals_are_listed_by_cpu() {
        let records = [
            begin(0, 1, 2, 0),
            rec(
                1,
                1,
                20,
                Event::CpuState {
                    stop: 1,
                    state: StopState::None,
                },
            ),
            rec(
                2,
                0,
                21,
                Event::CpuState {
                    stop: 1,
                    state: StopState::None,
                },
            ),
        ];
        let line = stop_line(&records, 3);
        // From the first arrival (CPU 1, 1 ms after the begin record).
        assert!(line.contains(" arrivals_ms=0:+1.000,1:+0.000 "), "{line}");
    }

    #[test]
    fn touch_callers_stay_one_field() {
        assert_eq!(format!("{}", TouchCallerList(&Fake, None)), "-");
        let mut records = Vec::new();
        records.push(begin(0, 1, 2, 0));
        for (t, caller) in [0xee, 0xdd, 0xdd, 1, 2, 3].into_iter().enumerate() {
            let source = TouchSource::Plain;
            records.push(rec(1 + t as u64, 0, 91, Event::Touch { source, caller }));
        }
        let log = StopLog::<Host>::from_records(&records).unwrap();
        assert_eq!(
            format!("{}", TouchCallerList(&Fake, log.stops[0].cpu(0))),
            "sym_dd:2,mod_fn+0x1/0x2[mod]:1,sym_1:1,sym_2:1,other:1"
        );
        let quiet = CpuInStop::default();
        assert_eq!(format!("{}", TouchCallerList(&Fake, Some(&quiet))), "-");
    }

    /// A held-up instance: CPUs 0 and 1 wait in PREPARE from 11 ms, CPU 2
    /// (the hog, pid 91) touches twice and arrives at 3000 ms.
    fn held_up(finished: bool) -> Vec<Record> {
        let mut v = Vec::new();
        v.push(rec(1, 2, 91, Event::WatchdogCheck { touch_age_ns: 0 }));
        v.push(begin(10, 4, 3, 0xf00));
        for cpu in [0, 1] {
            let pid = 20 + u32::from(cpu);
            for st in [StopState::None, StopState::Prepare] {
                v.push(rec(11, cpu, pid, Event::CpuState { stop: 4, state: st }));
            }
        }
        for t in [1000, 2000] {
            v.push(rec(
                t,
                2,
                91,
                Event::Touch {
                    source: TouchSource::Plain,
                    caller: 0xdd,
                },
            ));
        }
        if finished {
            for st in StopState::ALL {
                for cpu in [0, 1, 2] {
                    let t = if st == StopState::None && cpu == 2 {
                        3000
                    } else {
                        3000 + st as u64
                    };
                    if cpu < 2 && st <= StopState::Prepare {
                        continue;
                    }
                    v.push(rec(t, cpu, 30, Event::CpuState { stop: 4, state: st }));
                }
            }
            v.push(rec(
                3010,
                0,
                87,
                Event::StopEnd {
                    stop: 4,
                    ret: 0,
                    duration_ns: 3000 * MS,
                },
            ));
        }
        v
    }

    fn stop_line(records: &[Record], now_ms: u64) -> String {
        let log = StopLog::<Host>::from_records(records).unwrap();
        let task_on = |cpu: u16| (cpu == 2).then_some(91);
        format!(
            "{}",
            StopLine {
                stop: &log.stops[0],
                now_ns: now_ms * MS,
                online: &[0, 1, 2],
                names: &Fake,
                task_on: &task_on,
                blame: Blame::at(1000 * MS),
                queued_behind: log.queued_behind(4),
            }
        )
    }

    #[test]
    fn stops_line_names_every_late_cpu_and_none_for_an_ordinary_call() {
        // CPUs 1 and 2 both held up: 2 arrives at 3000 ms, 1 at 2500 ms.
        let mut v = alloc::vec![begin(10, 4, 3, 0xf00)];
        v.push(rec(
            11,
            0,
            20,
            Event::CpuState {
                stop: 4,
                state: StopState::None,
            },
        ));
        v.push(rec(
            11,
            0,
            20,
            Event::CpuState {
                stop: 4,
                state: StopState::Prepare,
            },
        ));
        v.push(rec(
            2500,
            1,
            21,
            Event::CpuState {
                stop: 4,
                state: StopState::None,
            },
        ));
        v.push(rec(
            3000,
            2,
            22,
            Event::CpuState {
                stop: 4,
                state: StopState::None,
            },
        ));
        // CPU 0 warns at 1011 ms and its watchdog is touched at 1500 ms.
        v.insert(
            3,
            rec(
                1011,
                0,
                20,
                Event::EarlyWarning {
                    stop: 4,
                    culprit: 1,
                    waited_ns: 1000 * MS,
                },
            ),
        );
        v.insert(
            4,
            rec(
                1500,
                0,
                20,
                Event::Touch {
                    source: TouchSource::Plain,
                    caller: 0xdd,
                },
            ),
        );
        let line = stop_line(&v, 3001);
        assert!(
            line.contains(
                " culprit=2,1 culprit_why=late,late culprit_lag_ms=2989.000,2489.000 \
                 culprit_task=-,- culprit_touches=0,0 waiter_touches=1 "
            ),
            "{line}"
        );
        // Per CPU, by CPU: the waits in PREPARE (CPUs 1 and 2 still in it)
        // and how long each went untouched (CPU 0 until 1500 ms).
        assert!(
            line.contains(
                " prepare_ms=0:2990.000,1:501.000,2:1.000 \
                 untouched_ms=0:1489.000,1:501.000,2:1.000 "
            ),
            "{line}"
        );
        assert!(line.ends_with(" warnings=1 warned_ms=+1000.000"), "{line}");
        // The same instance judged against a 5 s threshold: ordinary.
        let log = StopLog::<Host>::from_records(&v).unwrap();
        let ordinary = format!(
            "{}",
            StopLine {
                stop: &log.stops[0],
                now_ns: 3001 * MS,
                online: &[0, 1, 2],
                names: &Fake,
                task_on: &|_| None,
                blame: Blame::at(5000 * MS),
                queued_behind: None,
            }
        );
        assert!(
            ordinary.contains(" culprit=- culprit_why=ordinary culprit_lag_ms=- "),
            "{ordinary}"
        );
    }

    #[test]
    fn stops_line_names_the_nested_stop_a_cpu_was_blocked_in() {
        // CPU 1's stopper waits in another multi_cpu_stop() (fn 0xbeef)
        // for CPU 2 from 5 ms; stop 4 (CPU 0 waiting from 11 ms) waits for
        // both until CPU 2 runs the other call at 3000 ms.
        let state = |ts, cpu, state| rec(ts, cpu, 20, Event::CpuState { stop: 4, state });
        let other = |ts, cpu| {
            rec(
                ts,
                cpu,
                30,
                Event::OtherStop {
                    key: 1,
                    threads: 2,
                    func: 0xbeef,
                },
            )
        };
        let exit = |ts, cpu| {
            rec(
                ts,
                cpu,
                30,
                Event::OtherState {
                    key: 1,
                    state: StopState::Exit,
                },
            )
        };
        let v = [
            other(5, 1),
            begin(10, 4, 3, 0xf00),
            state(11, 0, StopState::None),
            other(3000, 2),
            exit(3000, 2),
            exit(3001, 1),
            state(3002, 1, StopState::None),
            state(3002, 2, StopState::None),
        ];
        let line = stop_line(&v, 4000);
        assert!(
            line.contains(
                " culprit=2,1 culprit_why=late,blocked culprit_lag_ms=2991.000,2991.000 "
            ),
            "{line}"
        );
        assert!(line.contains(" blocked_in=1:sym_beef "), "{line}");
    }

    #[test]
    fn stops_line_of_a_running_instance_names_the_missing_cpu() {
        assert_eq!(
            stop_line(&held_up(false), 2500),
            "stop=4 caller=<...>/87 caller_cpu=0 fn=sym_f00 start=0.011000 queued_ms=1.000 \
             duration_ms=2489.000 ret=running end=running cpus=3 arrivals_ms=0:+0.000,1:+0.000 \
             longest_prepare_ms=2489.000 longest_prepare_cpu=0 \
             prepare_ms=0:2489.000,1:2489.000 untouched_ms=0:2489.000,1:2489.000 culprit=2 \
             culprit_why=not_arrived culprit_lag_ms=2489.000 culprit_task=hog/91 \
             culprit_touches=2 waiter_touches=0 culprit_touch_callers=sym_dd:2 blocked_in=- blocked_by=- \
             warnings=0 warned_ms=-"
        );
    }

    #[test]
    fn stops_line_of_a_finished_instance_names_the_last_arrival() {
        assert_eq!(
            stop_line(&held_up(true), 9999),
            "stop=4 caller=<...>/87 caller_cpu=0 fn=sym_f00 start=0.011000 queued_ms=1.000 \
             duration_ms=2999.000 ret=0 end=returned cpus=3 arrivals_ms=0:+0.000,1:+0.000,2:+2989.000 \
             longest_prepare_ms=2991.000 longest_prepare_cpu=0 \
             prepare_ms=0:2991.000,1:2991.000,2:1.000 untouched_ms=0:2991.000,1:2991.000,2:1.000 \
             culprit=2 culprit_why=late culprit_lag_ms=2989.000 culprit_task=hog/91 \
             culprit_touches=2 waiter_touches=0 culprit_touch_callers=sym_dd:2 blocked_in=- blocked_by=- \
             warnings=0 warned_ms=-"
        );
    }
}

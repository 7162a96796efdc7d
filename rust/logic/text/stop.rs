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
mod tests;

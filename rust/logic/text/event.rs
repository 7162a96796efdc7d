// SPDX-License-Identifier: GPL-2.0

//! A line of the `events` file: one record.

use super::{comm_for, Ms, Names, Secs, Sym};
use crate::logic::{
    comm::comm_str,
    record::{Event, Record},
};
use core::fmt::{self, Display, Formatter};

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
            Event::WatchdogCheck { touch_age_ns } => match touch_age_ns {
                None => f.write_str("watchdog_check touch_age_ms=never"),
                Some(ns) => write!(f, "watchdog_check touch_age_ms={}", Ms(ns)),
            },
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
            Event::OtherStop { key, threads, func } => write!(
                f,
                "other_stop key={key:08x} threads={threads} fn={}",
                Sym(n, func)
            ),
            Event::OtherState { key, state } => {
                write!(f, "other_state key={key:08x} state={}", state.name())
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
                match culprit {
                    None => f.write_str("unknown"),
                    Some(cpu) => write!(f, "{cpu}"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::{
        record::{StopState, TouchSource},
        text::testing::Fake,
    };
    use alloc::{format, string::String};

    fn line(event: Event, pid: u32) -> String {
        let rec = Record {
            ts_ns: 12_345_678_901,
            cpu: 2,
            pid,
            event,
        };
        format!(
            "{}",
            EventLine {
                rec: &rec,
                names: &Fake
            }
        )
    }

    #[test]
    fn every_record_type_formats() {
        let head = "             hog-91      [002] 12.345678: ";
        let cases = [
            (
                Event::Touch {
                    source: TouchSource::Plain,
                    caller: 0xabc,
                },
                "touch caller=sym_abc",
            ),
            (
                Event::Touch {
                    source: TouchSource::All,
                    caller: 0x1,
                },
                "touch_all caller=sym_1",
            ),
            (Event::WatchdogWork, "watchdog_work"),
            (
                Event::WatchdogCheck {
                    touch_age_ns: Some(1_500_000),
                },
                "watchdog_check touch_age_ms=1.500",
            ),
            (
                Event::WatchdogCheck { touch_age_ns: None },
                "watchdog_check touch_age_ms=never",
            ),
            (
                Event::StopBegin {
                    stop: 12,
                    nr_cpus: 4,
                    nr_active: 0,
                    func: 0xf00,
                },
                "stop_begin stop=12 fn=sym_f00 cpus=4 active=any",
            ),
            (
                Event::StopEnd {
                    stop: 12,
                    ret: -16,
                    duration_ns: 5_100_000_000,
                },
                "stop_end stop=12 ret=-16 duration_ms=5100.000",
            ),
            (
                Event::CpuState {
                    stop: 12,
                    state: StopState::DisableIrq,
                },
                "stop_state stop=12 state=DISABLE_IRQ",
            ),
            (
                Event::EarlyWarning {
                    stop: 12,
                    culprit: Some(2),
                    waited_ns: 1_000_123_456,
                },
                "early_warning stop=12 waited_ms=1000.123 culprit=2",
            ),
            (
                Event::EarlyWarning {
                    stop: 12,
                    culprit: None,
                    waited_ns: 0,
                },
                "early_warning stop=12 waited_ms=0.000 culprit=unknown",
            ),
            (
                Event::OtherStop {
                    key: 0xab,
                    threads: 2,
                    func: 0xf00,
                },
                "other_stop key=000000ab threads=2 fn=sym_f00",
            ),
            (
                Event::OtherState {
                    key: 0xab,
                    state: StopState::Prepare,
                },
                "other_state key=000000ab state=PREPARE",
            ),
        ];
        for (event, want) in cases {
            assert_eq!(line(event, 91), format!("{head}{want}"));
        }
        // Unknown task names and the idle task read like ftrace's.
        assert_eq!(
            line(Event::WatchdogWork, 7),
            "           <...>-7       [002] 12.345678: watchdog_work"
        );
        assert_eq!(
            line(Event::WatchdogWork, 0),
            "          <idle>-0       [002] 12.345678: watchdog_work"
        );
    }
}

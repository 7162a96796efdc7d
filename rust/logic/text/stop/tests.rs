// SPDX-License-Identifier: GPL-2.0

//! The `stops` line: fields, lists and the culprit's.

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
    v.push(rec(
        1,
        2,
        91,
        Event::WatchdogCheck {
            touch_age_ns: Some(0),
        },
    ));
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
                culprit: Some(1),
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
        line.contains(" culprit=2,1 culprit_why=late,blocked culprit_lag_ms=2991.000,2991.000 "),
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

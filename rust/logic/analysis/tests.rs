// SPDX-License-Identifier: GPL-2.0

use super::{
    cpu::{CallerTouches, TouchCallers},
    summary::Wait,
    *,
};
use crate::{
    logic::{diagnosis::LiveCpus, live::CpuLive, record::TouchSource},
    testing::{rec, MS},
    Bounded, Host,
};
use alloc::vec::Vec;
use core::sync::atomic::Ordering::Relaxed;

mod culprit;

fn state(ts_ms: u64, cpu: u16, stop: u32, state: StopState) -> Record {
    rec(
        ts_ms,
        cpu,
        10 + u32::from(cpu),
        Event::CpuState { stop, state },
    )
}

fn touch(ts_ms: u64, cpu: u16) -> Record {
    rec(
        ts_ms,
        cpu,
        91,
        Event::Touch {
            source: TouchSource::Plain,
            caller: 0xffff_ffff_8100_0000,
        },
    )
}

fn begin(ts_ms: u64, stop: u32, nr_cpus: u16) -> Record {
    crate::testing::begin(ts_ms, stop, nr_cpus, 0xffff_ffff_a000_0000)
}

/// The seed's incident: 4 CPUs, CPU 2 runs a hog (pid 91) that touches
/// its own watchdog; stop 12 from pid 87 on CPU 0 waits for it.
fn incident() -> Vec<Record> {
    let mut seq = Vec::new();
    seq.push(rec(
        0,
        2,
        91,
        Event::WatchdogCheck {
            touch_age_ns: Some(0),
        },
    ));
    seq.push(begin(10, 12, 4));
    for cpu in [0u16, 1, 3] {
        seq.push(state(11 + u64::from(cpu), cpu, 12, StopState::None));
        seq.push(state(12 + u64::from(cpu), cpu, 12, StopState::Prepare));
    }
    seq.extend((1..50).map(|i| touch(100 * i, 2)));
    seq.push(state(5100, 2, 12, StopState::None));
    seq.push(state(5100, 2, 12, StopState::Prepare));
    for s in [StopState::DisableIrq, StopState::Run, StopState::Exit] {
        for cpu in 0u16..4 {
            seq.push(state(5101 + s as u64, cpu, 12, s));
        }
    }
    seq.push(rec(
        5110,
        0,
        87,
        Event::StopEnd {
            stop: 12,
            ret: 0,
            duration_ns: 5100 * MS,
        },
    ));
    seq
}

fn log_upto(records: &[Record], upto_ms: u64) -> StopLog<Host> {
    let mut log = StopLog::new();
    for r in records.iter().filter(|r| r.ts_ns <= upto_ms * MS) {
        log.feed(r).unwrap();
    }
    log
}

#[test]
fn finished_incident_blames_last_arrival() {
    let log = log_upto(&incident(), u64::MAX / MS);
    assert_eq!(log.stops.len(), 1);
    let s = &log.stops[0];
    assert_eq!(s.stop, 12);
    assert_eq!(s.caller, Some(Caller { pid: 87, cpu: 0 }));
    assert_eq!(
        s.end,
        Some(Ended {
            ts_ns: 5110 * MS,
            ret: 0
        })
    );
    // CPU 2 arrived 5089 ms after the first (CPU 0, at 11 ms).
    match s
        .culprit(&[0, 1, 2, 3], 6000 * MS, Blame::at(1000 * MS))
        .unwrap()
    {
        Culprit::Late(late) => assert_eq!(
            *late,
            [Late {
                cpu: 2,
                lag_ns: (5100 - 11) * MS,
                arrived: true,
                blocked_in: None,
            }]
        ),
        _ => panic!("expected Late"),
    }
    // With a threshold above the longest wait: an ordinary call.
    assert!(matches!(
        s.culprit(&[0, 1, 2, 3], 6000 * MS, Blame::at(6000 * MS))
            .unwrap(),
        Culprit::Ordinary
    ));
    // CPU 0 waited from 12 ms to 5103 ms.
    assert_eq!(
        s.longest_prepare(0),
        Some(Wait {
            cpu: 0,
            ns: 5091 * MS
        })
    );
    let c2 = s.cpu(2).unwrap();
    assert_eq!(c2.task_before_arrival, Some(91));
    assert_eq!(c2.touches_before_arrival, 49);
    for cpu in [0u16, 1, 3] {
        let c = s.cpu(cpu).unwrap();
        assert_eq!(c.touches_waiting, 0);
        assert_eq!(c.touches_before_arrival, 0);
        for st in StopState::ALL {
            assert!(c.state_ns[st as usize].is_some());
        }
    }
    let order: Vec<u16> = s.arrivals().unwrap().iter().map(|a| a.cpu).collect();
    assert_eq!(order, [0, 1, 3, 2]);
    assert_eq!(
        c2.touch_callers.by_count()[0],
        CallerTouches {
            caller: 0xffff_ffff_8100_0000,
            count: 49
        }
    );
}

#[test]
fn touch_callers_keep_the_first_few_and_count_the_rest() {
    let mut t = TouchCallers::default();
    for caller in [1, 2, 2, 3, 4, 5, 5, 2, 6] {
        t.add(caller);
    }
    let counts: Vec<(u64, u32)> = t.by_count().iter().map(|c| (c.caller, c.count)).collect();
    assert_eq!(counts, [(2, 3), (1, 1), (3, 1), (4, 1)]);
    assert_eq!(t.other, 3);
}

#[test]
fn ongoing_incident_names_missing_cpu() {
    let log = log_upto(&incident(), 3000);
    let s = &log.stops[0];
    assert_eq!(s.end, None);
    match s
        .culprit(&[0, 1, 2, 3], 3000 * MS, Blame::at(1000 * MS))
        .unwrap()
    {
        Culprit::Late(late) => assert_eq!(
            *late,
            [Late {
                cpu: 2,
                lag_ns: (3000 - 11) * MS,
                arrived: false,
                blocked_in: None,
            }]
        ),
        _ => panic!("expected Late"),
    }
    // Early on, nobody has waited the threshold yet.
    let early = log_upto(&incident(), 500);
    assert!(matches!(
        early.stops[0]
            .culprit(&[0, 1, 2, 3], 500 * MS, Blame::at(1000 * MS))
            .unwrap(),
        Culprit::Ordinary
    ));
    // Still waiting: measured up to "now".
    assert_eq!(
        s.longest_prepare(3000 * MS),
        Some(Wait {
            cpu: 0,
            ns: 2988 * MS
        })
    );
}

#[test]
fn a_queued_caller_waits_behind_the_instance_in_flight() {
    // #12 is held up by CPU 2; #13 begins at 1000 ms and waits for
    // stop_cpus_mutex: no arrival of its own.
    let mut records: Vec<Record> = incident()
        .into_iter()
        .filter(|r| r.ts_ns <= 3000 * MS)
        .collect();
    records.push(begin(1000, 13, 4));
    records.sort_by_key(|r| r.ts_ns);
    let log = StopLog::<Host>::from_records(&records).unwrap();
    let queued = log.stops.iter().find(|s| s.stop == 13).unwrap();
    assert!(matches!(
        queued
            .culprit(&[0, 1, 2, 3], 3000 * MS, Blame::at(1000 * MS))
            .unwrap(),
        Culprit::Queued
    ));
    assert_eq!(log.queued_behind(13), Some(12));
    assert_eq!(log.queued_behind(12), None);
    // #12's clock starts at its first arrival (11 ms), not its begin.
    let held = log.stops.iter().find(|s| s.stop == 12).unwrap();
    assert_eq!(held.start_ns(), Some(11 * MS));
    assert_eq!(held.queued_ns(), Some(MS));
}

#[test]
fn a_lost_end_is_not_a_running_instance() {
    // The incident at 3000 ms, but the live state says it returned:
    // its end record is gone. Nobody is blamed for not arriving.
    let mut log = log_upto(&incident(), 3000);
    log.confirm_running(|_| false);
    let s = &log.stops[0];
    assert!(s.end_lost && !s.running());
    assert!(matches!(
        s.culprit(&[0, 1, 2, 3], 3000 * MS, Blame::at(1000 * MS))
            .unwrap(),
        Culprit::Unknown
    ));
    // Confirmed running: CPU 2 has not arrived.
    let mut log = log_upto(&incident(), 3000);
    log.confirm_running(|stop| stop == 12);
    assert!(!log.stops[0].end_lost && log.stops[0].running());
}

#[test]
fn quick_stop_has_no_real_wait() {
    let mut log = StopLog::<Host>::new();
    log.feed(&rec(
        0,
        1,
        5,
        Event::StopBegin {
            stop: 1,
            nr_cpus: 2,
            nr_active: 1,
            func: 1,
        },
    ))
    .unwrap();
    for st in StopState::ALL {
        log.feed(&state(1 + st as u64, 0, 1, st)).unwrap();
        log.feed(&state(1 + st as u64, 1, 1, st)).unwrap();
    }
    let s = &log.stops[0];
    assert_eq!(s.longest_prepare(100 * MS), Some(Wait { cpu: 0, ns: MS }));
    assert!(matches!(
        s.culprit(&[0, 1], 100 * MS, Blame::at(10 * MS)).unwrap(),
        Culprit::Ordinary
    ));
}

#[test]
fn arrival_without_prepare_record_waits_from_arrival() {
    // What the recorder writes: an arrival, no PREPARE record, then
    // the states of the irqs-off window. CPU 1 arrives 2 s late.
    let mut log = StopLog::<Host>::new();
    log.feed(&begin(10, 1, 2)).unwrap();
    log.feed(&state(11, 0, 1, StopState::None)).unwrap();
    log.feed(&state(2011, 1, 1, StopState::None)).unwrap();
    for st in [StopState::DisableIrq, StopState::Run, StopState::Exit] {
        for cpu in [0, 1] {
            log.feed(&state(2011 + st as u64, cpu, 1, st)).unwrap();
        }
    }
    let s = &log.stops[0];
    let c0 = s.cpu(0).unwrap();
    assert_eq!(c0.state_ns[StopState::Prepare as usize], Some(11 * MS));
    assert_eq!(
        s.longest_prepare(3000 * MS),
        Some(Wait {
            cpu: 0,
            ns: (2011 + StopState::DisableIrq as u64 - 11) * MS
        })
    );
    // An old dump's PREPARE record, a spin after the arrival, wins.
    log.feed(&state(12, 0, 1, StopState::Prepare)).unwrap();
    let c0 = log.stops[0].cpu(0).unwrap();
    assert_eq!(c0.state_ns[StopState::Prepare as usize], Some(12 * MS));
}

#[test]
fn keeps_only_the_newest_stops() {
    let mut log = StopLog::<Host>::new();
    for id in 1..=(KEPT_STOPS as u32 + 5) {
        log.feed(&begin(u64::from(id), id, 1)).unwrap();
    }
    assert_eq!(log.stops.len(), KEPT_STOPS);
    let ids: Vec<u32> = log.stops.iter().map(|s| s.stop).collect();
    assert_eq!(ids, (6..=KEPT_STOPS as u32 + 5).collect::<Vec<_>>());
    // The replaced summaries start afresh.
    assert!(log.stops.iter().all(|s| s.cpus.is_empty()));
}

#[test]
fn non_stop_machine_states_are_ignored() {
    let mut log = StopLog::<Host>::new();
    log.feed(&state(1, 0, 0, StopState::None)).unwrap();
    assert!(log.stops.is_empty());
}

#[test]
fn running_out_of_memory_is_an_error_not_a_panic() {
    // Lists of at most 2: the third CPU of the incident does not fit.
    let mut log = StopLog::<Bounded<2>>::new();
    let r = incident().iter().try_for_each(|r| log.feed(r));
    assert_eq!(r, Err(NoMemory));
}

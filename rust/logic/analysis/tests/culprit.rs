// SPDX-License-Identifier: GPL-2.0

//! Who everyone waited for: nested stops, and the rule against a model.

use super::*;

/// A nested stop: CPU 3's stopper entered `stop_two_cpus(3, 2)`'s
/// `multi_cpu_stop()` at `enter_ms` and waits there for CPU 2, which a
/// hog holds until 3000 ms; stop 12 (CPUs 0 and 1 waiting from 11 ms)
/// waits for both. CPU 2 then runs the other call, and both arrive.
fn nested(enter_ms: u64) -> Vec<Record> {
    let other = |ts: u64, cpu: u16| {
        rec(
            ts,
            cpu,
            30,
            Event::OtherStop {
                key: 0xab,
                threads: 2,
                func: 0xbeef,
            },
        )
    };
    let other_state =
        |ts: u64, cpu: u16, state| rec(ts, cpu, 30, Event::OtherState { key: 0xab, state });
    let mut v = alloc::vec![begin(10, 12, 4)];
    v.push(other(enter_ms, 3));
    v.push(other_state(enter_ms, 3, StopState::Prepare));
    for cpu in [0, 1] {
        v.push(state(11, cpu, 12, StopState::None));
        v.push(state(11, cpu, 12, StopState::Prepare));
    }
    v.push(other(3000, 2));
    v.push(other_state(3000, 2, StopState::Exit));
    v.push(other_state(3001, 3, StopState::Exit));
    for cpu in [2, 3] {
        v.push(state(3002, cpu, 12, StopState::None));
    }
    v.sort_by_key(|r| r.ts_ns);
    v
}

/// The culprits of stop 12 at `now_ms`: (cpu, arrived, blocked in fn).
fn culprits(records: &[Record], now_ms: u64) -> Vec<(u16, bool, Option<u64>)> {
    let log = log_upto(records, now_ms);
    match log.stops[0]
        .culprit(&[0, 1, 2, 3], now_ms * MS, Blame::at(1000 * MS))
        .unwrap()
    {
        Culprit::Late(late) => late
            .iter()
            .map(|l| (l.cpu, l.arrived, l.blocked_in.map(|b| b.other.func)))
            .collect(),
        _ => panic!("expected Late"),
    }
}

#[test]
fn a_cpu_blocked_in_a_nested_stop_comes_after_the_cpu_it_waits_for() {
    // CPU 3 entered the other call before stop 12 began, and after.
    for enter_ms in [5, 12] {
        let v = nested(enter_ms);
        // Running: CPU 2 (not arrived), then CPU 3 (blocked), though
        // CPU 3 is the lower CPU with the same lag.
        assert_eq!(
            culprits(&v, 2000),
            [(2, false, None), (3, false, Some(0xbeef))],
            "entered at {enter_ms} ms"
        );
        // Finished: the same, arrived, CPU 3 arriving right after
        // leaving the other call.
        assert_eq!(
            culprits(&v, 4000),
            [(2, true, None), (3, true, Some(0xbeef))],
            "entered at {enter_ms} ms"
        );
    }
}

#[test]
fn a_cpu_that_left_a_nested_stop_long_before_arriving_is_late_itself() {
    // CPU 3 left the other call at 20 ms and arrived at 2500 ms: its
    // own lateness, not the other call's.
    let mut v: Vec<Record> = nested(5)
        .into_iter()
        .map(|mut r| {
            match (r.cpu, &r.event) {
                (
                    3,
                    Event::OtherState {
                        state: StopState::Exit,
                        ..
                    },
                ) => r.ts_ns = 20 * MS,
                (3, Event::CpuState { stop: 12, .. }) => r.ts_ns = 2500 * MS,
                _ => {}
            }
            r
        })
        .collect();
    v.sort_by_key(|r| r.ts_ns);
    assert_eq!(culprits(&v, 4000), [(2, true, None), (3, true, None)]);
}

/// Random instances on up to 8 CPUs, each CPU arriving at a random
/// time, finished (everyone moves on at the last arrival) or cut off
/// at a random time: against a model of the rule, with a warning
/// threshold of 2 s (a 200 ms margin).
#[test]
fn culprit_matches_the_rule() {
    let blame = Blame::at(2000 * MS);
    let mut rng = crate::testing::Rng(0xa11c_e5ee_d000_0007);
    let (mut ordinary, mut several, mut nested) = (0, 0, 0);
    for _ in 0..2000 {
        let n = 1 + rng.below(8) as u16;
        let online: Vec<u16> = (0..n).collect();
        // Most CPUs arrive together, some late.
        let mut arrive: Vec<(u64, u16)> = online
            .iter()
            .map(|&c| {
                let t = if rng.below(3) == 0 {
                    rng.below(6000)
                } else {
                    rng.below(50)
                };
                (1 + t, c)
            })
            .collect();
        arrive.sort_unstable();
        let finished = rng.below(2) == 0;
        let now = if finished {
            20_000
        } else {
            1 + rng.below(7000)
        };
        let arrived: Vec<(u64, u16)> = arrive.iter().copied().filter(|a| a.0 <= now).collect();
        // Some CPUs not arrived by now have their stopper busy in
        // another multi_cpu_stop() since the call began (a nested
        // stop).
        let blocked: Vec<bool> = online
            .iter()
            .map(|&c| {
                !finished && arrive.iter().any(|a| a.1 == c && a.0 > now) && rng.below(4) == 0
            })
            .collect();
        let other = OtherStop {
            key: 7,
            func: 0xbeef,
            threads: 2,
            since_ns: 0,
        };
        let mut records = Vec::new();
        records.push(begin(0, 1, n));
        for &c in online.iter().filter(|&&c| blocked[usize::from(c)]) {
            records.push(rec(
                0,
                c,
                40,
                Event::OtherStop {
                    key: other.key,
                    threads: other.threads,
                    func: other.func,
                },
            ));
        }
        for &(t, cpu) in &arrived {
            records.push(state(t, cpu, 1, StopState::None));
        }
        let last = arrive[arrive.len() - 1].0;
        if finished {
            for &(_, cpu) in &arrive {
                records.push(state(last, cpu, 1, StopState::DisableIrq));
            }
            records.push(rec(
                20_000,
                0,
                87,
                Event::StopEnd {
                    stop: 1,
                    ret: 0,
                    duration_ns: 0,
                },
            ));
        }
        let log = StopLog::<Host>::from_records(&records).unwrap();
        let got = log.stops[0].culprit(&online, now * MS, blame).unwrap();

        // The model.
        let Some(first) = arrived.iter().map(|a| a.0).min() else {
            // Begun, nobody arrived: queued on stop_cpus_mutex.
            assert!(!finished && matches!(got, Culprit::Queued));
            continue;
        };
        let end = if finished { last } else { now };
        let longest = arrived.iter().map(|a| end - a.0).max().unwrap();
        if longest * MS < blame.wait_ns {
            assert!(
                matches!(got, Culprit::Ordinary),
                "n={n} {arrive:?} now={now}"
            );
            ordinary += 1;
            continue;
        }
        let mut want: Vec<Late> = arrived
            .iter()
            .filter(|a| (a.0 - first) * MS > blame.margin_ns)
            .map(|a| Late {
                cpu: a.1,
                lag_ns: (a.0 - first) * MS,
                arrived: true,
                blocked_in: None,
            })
            .collect();
        if !finished {
            want.extend(arrive.iter().filter(|a| a.0 > now).map(|a| Late {
                cpu: a.1,
                lag_ns: (now - first) * MS,
                arrived: false,
                blocked_in:
                    (blocked[usize::from(a.1)] && (now - first) * MS > blame.margin_ns).then_some(
                        BlockedIn {
                            other,
                            until_ns: None,
                        },
                    ),
            }));
        }
        match got {
            Culprit::Late(late) => {
                // The same CPUs, each as the model has it...
                let mut by_cpu: Vec<Late> = late.to_vec();
                by_cpu.sort_unstable_by_key(|l| l.cpu);
                want.sort_unstable_by_key(|l| l.cpu);
                assert_eq!(by_cpu, want, "n={n} {arrive:?} now={now}");
                // ...named in the order the rule states: those held up by
                // nothing but themselves before those blocked in another
                // call; in each, a CPU later than the next, or as late and
                // lower.
                for pair in late.windows(2) {
                    let (a, b) = (pair[0], pair[1]);
                    let right = match (a.blocked_in.is_some(), b.blocked_in.is_some()) {
                        (false, true) => true,
                        (true, false) => false,
                        _ => a.lag_ns > b.lag_ns || (a.lag_ns == b.lag_ns && a.cpu < b.cpu),
                    };
                    assert!(right, "{a:?} before {b:?}: n={n} {arrive:?} now={now}");
                }
                if late.len() > 1 {
                    several += 1;
                }
                if late.iter().any(|l| l.blocked_in.is_some()) {
                    nested += 1;
                }
                // The live rule (the cpus view, the warning, the
                // note) names the CPUs not arrived in the same order.
                if !finished {
                    let live: Vec<CpuLive> = online.iter().map(|_| CpuLive::new()).collect();
                    for &(_, cpu) in &arrived {
                        live[usize::from(cpu)].stop_id.store(1, Relaxed);
                        live[usize::from(cpu)]
                            .stop_state
                            .store(StopState::Prepare as u32, Relaxed);
                    }
                    for (cpu, l) in live.iter().enumerate().filter(|(c, _)| blocked[*c]) {
                        assert!(l.stop().is_none(), "CPU {cpu}");
                        l.stop_func.store(other.func, Relaxed);
                        l.stop_state.store(StopState::Prepare as u32, Relaxed);
                    }
                    let cpus = LiveCpus {
                        live: &live,
                        online: |_| true,
                        now_ns: now * MS,
                    };
                    let live_order: Vec<u16> = cpus.missing_cpus(1).map(|c| c as u16).collect();
                    let recorded: Vec<u16> =
                        late.iter().filter(|l| !l.arrived).map(|l| l.cpu).collect();
                    assert_eq!(live_order, recorded, "n={n} {arrive:?} now={now}");
                }
            }
            Culprit::Unknown => assert!(want.is_empty()),
            Culprit::Ordinary | Culprit::Queued => {
                panic!("waited {longest} ms: {arrive:?} now={now}")
            }
        }
    }
    // The cases the rule distinguishes all occurred.
    assert!(
        ordinary > 100 && several > 100 && nested > 50,
        "{ordinary} {several} {nested}"
    );
}

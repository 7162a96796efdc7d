// SPDX-License-Identifier: GPL-2.0

use super::{text::LastTouch, *};
use crate::logic::{
    comm::comm_to_words,
    live::NOT_IN_STOP,
    record::TouchSource,
    text::{CpusWhere, Names},
};
use alloc::{string::String, vec::Vec};
use core::fmt::{self, Display, Formatter, Write};

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

/// The same CPUs a moment after CPU 2 arrived, 3.1 s after the others:
/// it saw PREPARE, was the last to ack it and moved on to DISABLE_IRQ,
/// while 0, 1 and 3 have not seen the wait end yet.
fn just_arrived() -> Vec<CpuLive> {
    let live = incident();
    for (cpu, l) in live.iter().enumerate() {
        l.stop_arrived_ns.store(10 * S + cpu as u64, Relaxed);
    }
    let hog = &live[2];
    hog.stop_id.store(7, Relaxed);
    hog.stop_arrived_ns.store(13 * S + 100_000_000, Relaxed);
    hog.stop_since_ns.store(13 * S + 100_000_050, Relaxed);
    hog.stop_state.store(StopState::DisableIrq as u32, Relaxed);
    live
}

#[test]
fn once_all_have_arrived_the_last_is_named() {
    let live = just_arrived();
    let cpus = all_online(&live, 13 * S + 200_000_000);
    assert_eq!(cpus.wait(7).missing, 0);
    let last = cpus.last_arrival(7).unwrap();
    assert_eq!((last.cpu, last.after_first_ns), (2, 3 * S + 100_000_000));
    assert_eq!(
        text(BlameNote {
            cpus: &cpus,
            cpu: 3
        }),
        "CPU 3 is waiting in stop_machine #7 (PREPARE, 3.1 s) for no CPU (all have arrived; the last was CPU 2 (hog/2/115), 3100.000 ms after the first)"
    );
    let touches = |_: &CpuLive| 0;
    let warning = text(WarningText {
        cpus: &cpus,
        instance: None,
        stop: 7,
        touches: &touches,
        names: &FakeNames,
    });
    assert!(warning.contains(" not_arrived=-\n"), "{warning}");
    assert!(
        warning.ends_with("#7 CPU 2 arrived last: task=hog/2/115 after_first_ms=3100.000\n"),
        "{warning}"
    );
    // While a CPU has not arrived, nobody is the last.
    let live = incident();
    for l in &live {
        l.stop_arrived_ns.store(10 * S, Relaxed);
    }
    assert!(all_online(&live, 13 * S).last_arrival(7).is_none());
    // Nor, for the warning, once nobody waits any more.
    let live = just_arrived();
    for l in &live {
        l.stop_state.store(StopState::Run as u32, Relaxed);
    }
    let warning = text(WarningText {
        cpus: &all_online(&live, 14 * S),
        instance: None,
        stop: 7,
        touches: &touches,
        names: &FakeNames,
    });
    assert!(!warning.contains("arrived last"), "{warning}");
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

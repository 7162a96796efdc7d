// SPDX-License-Identifier: GPL-2.0

//! The verdict on a held-up instance: CPUs 0 and 1 wait in PREPARE from
//! 11 ms, CPU 2 (the hog, pid 91) arrives at 3000 ms; the kernel reports
//! CPUs 0 and 1, and once more another CPU after the instance ended.

use super::*;
use crate::{
    logic::{
        record::{Event, Record, StopState, TouchSource},
        text::testing::Fake,
    },
    testing::{begin, rec, MS},
};
use alloc::{
    string::{String, ToString},
    vec,
    vec::Vec,
};

fn held_up() -> Vec<Record> {
    let mut v = vec![rec(
        1,
        2,
        91,
        Event::WatchdogCheck {
            touch_age_ns: Some(0),
        },
    )];
    v.push(begin(10, 4, 3, 0xf00));
    for cpu in [0, 1] {
        for st in [StopState::None, StopState::Prepare] {
            v.push(rec(
                11,
                cpu,
                20 + u32::from(cpu),
                Event::CpuState { stop: 4, state: st },
            ));
        }
    }
    for t in [1000, 2000] {
        let source = TouchSource::Plain;
        v.push(rec(
            t,
            2,
            91,
            Event::Touch {
                source,
                caller: 0xdd,
            },
        ));
    }
    for st in StopState::ALL {
        for cpu in [0, 1, 2] {
            if cpu < 2 && st <= StopState::Prepare {
                continue;
            }
            let t = if st == StopState::None {
                3000
            } else {
                3000 + st as u64
            };
            v.push(rec(t, cpu, 30, Event::CpuState { stop: 4, state: st }));
        }
    }
    let end = Event::StopEnd {
        stop: 4,
        ret: 0,
        duration_ns: 3000 * MS,
    };
    v.push(rec(3010, 0, 87, end));
    v
}

const DMESG: &str = "\
=== unload
rmmod stopwatch_hog ok
rmmod stopwatch_storm ok
rmmod stopwatch failed
=== dmesg
[    1.500000] stopwatch: #4 CPU 2 has not arrived: task=hog/91 check_age_ms=1.000
[    1.600000] stopwatch: #4 CPU 2 backtrace (IPI answered after 1.000 ms), running hog/91:
[    1.600001] Call Trace:
[    1.600002]  ? hog_thread+0x1/0x2 [stopwatch_hog]
[    1.600003]  </TASK>
[    2.100000] watchdog: BUG: soft lockup - CPU#0 stuck for 2s! [migration/0:16]
[    2.100001]  multi_cpu_stop+0x1/0x2
[    2.100002]  </TASK>
[    2.100100] stopwatch: CPU 0 is waiting in stop_machine #4 (PREPARE, 2.1 s) for CPU 2 (hog/91)
[    2.200000] watchdog: BUG: soft lockup - CPU#1 stuck for 2s! [migration/1:20]
[    9.000000] watchdog: BUG: soft lockup - CPU#3 stuck for 2s! [swapper/3:0]
[    9.500000] stopwatch_storm: stopped: calls=9 max_us=3010000
=== guest uptime_s=12.5
=== end
";

fn scenario(hog: u16) -> Scenario<'static> {
    Scenario {
        kernel: "7.3",
        flavour: "stock",
        workload: Workload::Hog,
        storm: true,
        stopwatch: true,
        cpus: 3,
        thresh_s: 1,
        hog_cpus: vec![hog],
        hog_seconds: "3",
        touch_ms: 1000,
    }
}

/// The summary and diagnosis of `console` with the records of
/// [`held_up`], and whether it reproduced.
fn verdict(sc: &Scenario<'_>, console: &str, recorded: bool) -> (String, String, bool) {
    let log = StopLog::<Host>::from_records(&held_up()).unwrap();
    let r = Recorded {
        log: &log,
        names: &Fake,
        now_ns: 4000 * MS,
        online: &[0, 1, 2],
        blame: Blame::at(1000 * MS),
        printk_offset_ns: 0,
    };
    let console = Console::new(console);
    let v = Verdict::of(sc, &console, recorded.then_some(&r)).unwrap();
    (
        v.summary().to_string(),
        v.diagnosis().to_string(),
        v.reproduced(),
    )
}

/// KEY's value in summary lines.
fn value<'a>(summary: &'a str, key: &str) -> &'a str {
    summary
        .lines()
        .find_map(|l| field(l, key))
        .unwrap_or_else(|| panic!("no {key} in\n{summary}"))
}

#[test]
fn a_held_up_instance_is_diagnosed() {
    let (s, d, ok) = verdict(&scenario(2), DMESG, true);
    assert!(ok, "{s}");
    for (key, want) in [
        ("reproduced", "1"),
        ("stop", "4"),
        ("culprit", "2"),
        ("culprit_task", "hog/91"),
        ("culprit_touches", "2"),
        ("culprit_touch_callers", "sym_dd:2"),
        ("culprit_lag_ms", "2989.000"),
        ("last_arrival", "2"),
        ("waiters", "0,1"),
        ("min_wait_ms", "2991.000"),
        ("longest_prepare_ms", "2991.000"),
        ("waiters_touched_before_threshold", "0"),
        ("bug_lines", "2"),
        ("bug_cpus", "0,1"),
        ("bug_tasks", "migration/0,migration/1"),
        ("first_bug_s", "2.100000"),
        ("longest_stuck_s", "2"),
        ("later_reports", "1"),
        ("later_tasks", "swapper/3"),
        ("expected_cpu", "2"),
        ("expected_cpu_reported", "0"),
        ("annotated_reports", "1"),
        ("unannotated_reports", "1"),
        ("console_lines", "3"),
        ("console_warning_s", "1.500000"),
        ("console_warning_cpu", "2"),
        ("console_warning_cpus", "2"),
        ("console_warning_task", "hog/91"),
        ("console_backtrace_culprit_frame", "1"),
        ("storm_max_ms", "3010.0"),
        ("guest_s", "12.5"),
        ("rmmod_ok", "2"),
        ("modules_loaded", "3"),
        ("checker_reports", "0"),
    ] {
        assert_eq!(value(&s, key), want, "{key} in\n{s}");
    }
    assert!(
        d.starts_with("stop_machine #4 from <...>/87 (fn=sym_f00) waited 3.0 s in PREPARE for CPU 2, which ran hog/91 without scheduling (2 watchdog touches there meanwhile, by sym_dd:2; 0 of the waiting CPUs touched before the threshold); CPUs 0,1 reported soft lockups in migration/0,migration/1."),
        "{d}"
    );
    assert!(
        d.contains("the kernel made 1 more report(s), in swapper/3"),
        "{d}"
    );
    // The report of the incident's own stack, and stopwatch's lines.
    assert_eq!(
        (value(&s, "report_lines"), value(&s, "stopwatch_lines")),
        ("4", "6"),
        "{s}"
    );
}

#[test]
fn another_culprit_than_the_hog_is_not_a_reproduction() {
    let (s, _, ok) = verdict(&scenario(1), DMESG, true);
    assert!(!ok);
    assert_eq!(value(&s, "culprit"), "2");
    assert_eq!(value(&s, "expected_cpu_reported"), "1");
    // CPU 0's note names CPU 2, not the expected 1.
    assert_eq!(value(&s, "annotated_reports"), "0");
}

#[test]
fn a_checker_report_fails_the_run() {
    let console = DMESG.replace(
        "=== guest",
        "[    9.600000] BUG: sleeping function called from invalid context at x.c:1\n=== guest",
    );
    let (s, d, ok) = verdict(&scenario(2), &console, true);
    assert!(!ok);
    assert_eq!(value(&s, "checker_reports"), "1");
    assert!(
        d.contains("The kernel's checkers reported 1 line(s)"),
        "{d}"
    );
    assert!(d.contains("BUG: sleeping function called"), "{d}");
}

#[test]
fn without_stopwatch_the_kernel_s_reports_are_the_verdict() {
    let mut sc = scenario(2);
    sc.stopwatch = false;
    let (s, d, ok) = verdict(&sc, DMESG, false);
    assert!(ok, "{s}");
    // No instance to end the incident: every report is the incident's.
    assert_eq!(
        (value(&s, "bug_lines"), value(&s, "later_reports")),
        ("3", "0")
    );
    assert_eq!(value(&s, "stop"), "-");
    assert!(
        d.starts_with("stopwatch was not loaded: the kernel reported 3 soft lockup(s) on CPUs 0,1,3 in migration/0,migration/1,swapper/3, the longest stuck for 2 s."),
        "{d}"
    );
    let only_idle = DMESG.replace("migration/", "kworker/");
    let (_, _, ok) = verdict(&sc, &only_idle, false);
    assert!(!ok);
}

#[test]
fn the_hog_alone_is_blamed_on_no_stop_machine() {
    let mut sc = scenario(2);
    sc.storm = false;
    let console = DMESG.replace("CPU#1 stuck", "CPU#2 stuck");
    // The records' instance waited past the threshold: not the hog alone.
    let (_, _, ok) = verdict(&sc, &console, true);
    assert!(!ok);
    let console = Console::new(&console);
    let v = Verdict::of::<Fake>(&sc, &console, None).unwrap();
    assert!(v.reproduced());
    assert!(
        v.diagnosis().to_string().starts_with("CPU 2 ran stopwatch_hog for 3 s without scheduling touching its watchdog every 1000 ms and the kernel reported that CPU itself"),
        "{}",
        v.diagnosis()
    );
}

#[test]
fn early_touches_are_those_within_1_6_thresholds() {
    assert!(touched_early(1_599_999_999, 1));
    assert!(!touched_early(1_600_000_000, 1));
    assert!(touched_early(3_199_999_999, 2));
}

#[test]
fn a_note_counts_once_and_only_naming_expected_cpus() {
    let lines = [
        "[ 2.1] watchdog: BUG: soft lockup - CPU#0 stuck for 2s! [migration/0:16]",
        "[ 2.1] stopwatch: CPU 0 is waiting in stop_machine #4 (PREPARE, 2.1 s) for CPUs 2 (hog/91), 3 (hog/92)",
        "[ 2.2] stopwatch: CPU 0 is waiting in stop_machine #4 (PREPARE, 2.1 s) for CPU 2 (hog/91)",
        "[ 5.1] watchdog: BUG: soft lockup - CPU#0 stuck for 5s! [migration/0:16]",
        "[ 5.1] watchdog: BUG: soft lockup - CPU#0 stuck for 8s! [migration/0:16]",
        "[ 8.1] watchdog: BUG: soft lockup - CPU#1 stuck for 2s! [migration/1:20]",
        "[ 8.1] stopwatch: CPU 1 is waiting in stop_machine #4 (PREPARE, 2.1 s) for no CPU (all have arrived)",
    ];
    assert_eq!(
        Annotations::of(&lines, &[2, 3]),
        Annotations {
            noted: 2,
            missed: 2
        }
    );
    // Naming CPU 3, not expected: the first note does not count, the
    // second (CPU 2 only) does.
    assert_eq!(
        Annotations::of(&lines, &[2]),
        Annotations {
            noted: 2,
            missed: 2
        }
    );
    assert_eq!(
        Annotations::of(&lines[..2], &[2]),
        Annotations {
            noted: 0,
            missed: 1
        }
    );
}

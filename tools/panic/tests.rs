// SPDX-License-Identifier: GPL-2.0

//! A panic run's serial console, as `scripts/reproduce --panic` reads it:
//! the hog on CPU 2, stopwatch's warning and backtrace, the kernel's
//! report and panic, then stopwatch's panic dump.

use super::*;
use crate::tools::kernel_log::field;
use alloc::{string::String, vec, vec::Vec};

const CONSOLE: &str = "\
[    6.170344] stopwatch: #4 CPU 2 has not arrived: task=stopwatch_hog/2/133 check_age_ms=220.554
[    6.170702] stopwatch: #4 CPU 2 backtrace (IPI answered after 2.464 ms), running stopwatch_hog/2/133:
[    6.171204] Call Trace:
[    6.171841]  ? sw_note_fn+0x20/0x20 [stopwatch]
[    6.172371]  ? hog::hog_thread+0x1a5/0x264 [stopwatch_hog]
[    6.172372]  </TASK>
[    7.843729] watchdog: BUG: soft lockup - CPU#0 stuck for 3s! [migration/0:16]
[    7.900000] Kernel panic - not syncing: softlockup: hung tasks
[    7.900100] stopwatch: panic dump: stop_machine #4 running
[    7.900200] stopwatch: #4 CPU 2 has not arrived: task=stopwatch_hog/2/133 check_age_ms=1950.0
[    7.900300] stopwatch: end of panic dump
";

fn scenario(workload: Workload) -> Scenario<'static> {
    Scenario {
        kernel: "7.3",
        flavour: "stock",
        workload,
        storm: true,
        stopwatch: true,
        cpus: 4,
        thresh_s: 1,
        hog_cpus: vec![2],
        hog_seconds: "6",
        touch_ms: 100,
    }
}

/// The report and whether it passed.
fn verdict(sc: &Scenario<'_>, console: &str, vmcore: Option<Vmcore<'_>>) -> (String, bool) {
    let console = Console::new(console);
    let v = PanicVerdict::of(sc, &console, 0, vmcore);
    (v.to_string(), v.passed())
}

fn value<'a>(report: &'a str, key: &str) -> &'a str {
    report
        .lines()
        .filter(|l| l.starts_with("summary "))
        .find_map(|l| field(l, key))
        .unwrap_or_else(|| panic!("no {key} in\n{report}"))
}

#[test]
fn what_reached_the_console_before_the_panic() {
    let (r, ok) = verdict(&scenario(Workload::Hog), CONSOLE, None);
    assert!(ok, "{r}");
    for (key, want) in [
        ("panicked", "1"),
        ("culprit_cpu", "2"),
        ("warning_before_panic", "1"),
        ("warning_before_first_bug", "1"),
        ("backtrace_before_panic", "1"),
        ("hog_frame_before_panic", "1"),
        ("dump_complete", "1"),
        ("dump_names_hog", "1"),
    ] {
        assert_eq!(value(&r, key), want, "{key} in\n{r}");
    }
    // The kernel's lines and stopwatch's, in that order.
    let shown: Vec<&str> = r.lines().skip(1).take_while(|l| !l.is_empty()).collect();
    assert_eq!(shown.len(), 6, "{r}");
    assert!(
        shown[0].contains("BUG: soft lockup") && shown[1].contains("Kernel panic"),
        "{r}"
    );
    assert!(!r.contains("vmcore"), "{r}");
}

#[test]
fn a_warning_after_the_panic_or_no_hog_frame_fails() {
    // Only the panic dump names the hog.
    let late: String = CONSOLE.lines().skip(6).flat_map(|l| [l, "\n"]).collect();
    let (r, ok) = verdict(&scenario(Workload::Hog), &late, None);
    assert!(!ok);
    assert_eq!(value(&r, "warning_before_panic"), "0");
    assert_eq!(value(&r, "backtrace_before_panic"), "0");
    assert_eq!(value(&r, "dump_names_hog"), "1");
    let no_frame = CONSOLE.replace("[stopwatch_hog]", "[other]");
    let (r, ok) = verdict(&scenario(Workload::Hog), &no_frame, None);
    assert!(!ok);
    assert_eq!(
        (
            value(&r, "backtrace_before_panic"),
            value(&r, "hog_frame_before_panic")
        ),
        ("1", "0")
    );
    let cut = CONSOLE.replace("stopwatch: end of panic dump", "");
    let (r, ok) = verdict(&scenario(Workload::Hog), &cut, None);
    assert!(!ok);
    assert_eq!(value(&r, "dump_complete"), "0");
}

#[test]
fn the_oom_s_culprit_is_the_one_the_panic_dump_names() {
    let oom = CONSOLE
        .replace("stopwatch_hog/2/133", "tail/9084")
        .replace("CPU 2", "CPU 3");
    let (r, ok) = verdict(&scenario(Workload::Oom), &oom, None);
    assert!(ok, "{r}");
    assert_eq!(value(&r, "culprit_cpu"), "3");
    // The panic dump's CPU, not the first warning's: a run whose warning
    // before the panic named another CPU names no culprit's warning.
    let dump_at = oom.find("stopwatch: panic dump").unwrap();
    let (before, after) = oom.split_at(dump_at);
    let other = format!(
        "{}{}",
        before.replace(
            "CPU 3 has not arrived: task=tail/9084",
            "CPU 1 has not arrived: task=tail/9084"
        ),
        after
    );
    let (r, ok) = verdict(&scenario(Workload::Oom), &other, None);
    assert!(!ok, "{r}");
    assert_eq!(value(&r, "culprit_cpu"), "3");
    assert_eq!(value(&r, "warning_before_panic"), "0");
    // The culprit arrived as the kernel reported: the dump names it as the
    // last to arrive.
    let arrived = format!(
        "{before}{}",
        after.replace(
            "#4 CPU 3 has not arrived: task=tail/9084 check_age_ms=1950.0",
            "#4 CPU 3 arrived last: task=tail/9084 after_first_ms=3111.170"
        )
    );
    assert!(!arrived.contains("check_age_ms=1950.0"));
    let (r, ok) = verdict(&scenario(Workload::Oom), &arrived, None);
    assert!(ok, "{r}");
    assert_eq!(value(&r, "culprit_cpu"), "3");
    assert_eq!(value(&r, "dump_names_hog"), "1");
}

#[test]
fn the_vmcore_must_name_the_culprit_too() {
    let vmcore = |stopwatch, kernel| Vmcore {
        path: "/x/vmcore",
        stopwatch,
        kernel,
    };
    let held = |cpus: Vec<u16>, task: &str| {
        Read::Got(StopwatchRead {
            stops: "stop=4 ...\n",
            held: vec![Held {
                cpus,
                task: task.into(),
            }],
        })
    };
    let kernel = "kernel_stop fn=x cpus=4 not_arrived=2\nkernel_stop CPU 2 has not arrived: in PREPARE? no: it runs stopwatch_hog/2/133\n";
    let sc = scenario(Workload::Hog);
    let (r, ok) = verdict(
        &sc,
        CONSOLE,
        Some(vmcore(
            held(vec![2], "stopwatch_hog/2/133"),
            Read::Got(kernel),
        )),
    );
    assert!(ok, "{r}");
    assert_eq!(
        (
            value(&r, "vmcore_read"),
            value(&r, "vmcore_names_hog"),
            value(&r, "vmcore_kernel_names_culprit")
        ),
        ("1", "1", "1")
    );
    assert!(
        r.contains("== from the vmcore (/x/vmcore)\nstop=4 ...\n"),
        "{r}"
    );
    // Another CPU first: not named (but read).
    let (r, ok) = verdict(
        &sc,
        CONSOLE,
        Some(vmcore(held(vec![1, 2], "a/1"), Read::NotAsked)),
    );
    assert!(ok, "{r}");
    assert_eq!(value(&r, "vmcore_names_hog"), "0");
    assert!(!r.contains("vmcore_kernel_names_culprit"), "{r}");
    // A read that failed fails the run.
    let (r, ok) = verdict(&sc, CONSOLE, Some(vmcore(Read::Failed, Read::NotAsked)));
    assert!(!ok);
    assert_eq!(value(&r, "vmcore_read"), "0");
    let (r, ok) = verdict(
        &sc,
        CONSOLE,
        Some(vmcore(
            Read::NotAsked,
            Read::Got("kernel_stop fn=x not_arrived=1\n"),
        )),
    );
    assert!(!ok);
    assert_eq!(value(&r, "vmcore_kernel_names_culprit"), "0");
    // Without stopwatch the kernel's own account is all there is.
    let mut bare = scenario(Workload::Hog);
    bare.stopwatch = false;
    let (r, ok) = verdict(
        &bare,
        "[ 7.9] Kernel panic - not syncing: softlockup: hung tasks\n",
        Some(vmcore(Read::NotAsked, Read::Got(kernel))),
    );
    assert!(ok, "{r}");
    assert!(!r.contains("== from the vmcore"), "{r}");
}

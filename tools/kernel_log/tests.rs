// SPDX-License-Identifier: GPL-2.0

//! The parser against lines from real runs (`scripts/reproduce --log`:
//! 7.3 and 6.12, x86_64; arm64's frames as `tools/verdict.rs`'s comments
//! record them).

use super::*;
use alloc::{string::ToString, vec};

#[test]
fn sections_and_markers() {
    let c = Console::new(
        "boot\r\n=== stops\nstop=1 a=b\n=== cpus\ncpu=0\n=== recovery storm_calls_before=6 storm_calls_after=10\n=== stops\nstop=2\n=== guest uptime_s=18.21\n=== end\n",
    );
    assert_eq!(c.section("stops"), vec!["stop=1 a=b", "stop=2"]);
    assert_eq!(c.section("cpus"), vec!["cpu=0"]);
    assert!(c.section("dump").is_empty());
    let r = c.marker("recovery").unwrap();
    assert_eq!(field(r, "storm_calls_after"), Some("10"));
    assert_eq!(field(r, "storm_calls"), None);
    assert_eq!(
        c.marker("guest").and_then(|g| field(g, "uptime_s")),
        Some("18.21")
    );
    assert_eq!(c.marker("end"), Some(""));
    assert_eq!(c.marker("en"), None);
    assert_eq!(c.lines()[0], "boot");
}

#[test]
fn kernel_messages_are_taken_out_of_what_a_program_printed() {
    // From Debian's rt-amd64 guest: a message inside a dump line.
    let c = Console::new(
        "=== dump\nr 1 2\tcomm=a\nr 0000002f00030602 000000000000000[   19.565940] Disabling IRQ #4\n0 0000000000000005\tcomm=migration/3\n[   19.6] handlers:\nr 3 4\n=== unload\n",
    );
    assert_eq!(
        c.printed("dump"),
        vec![
            "r 1 2\tcomm=a",
            "r 0000002f00030602 0000000000000000 0000000000000005\tcomm=migration/3",
            "r 3 4"
        ]
    );
    // More of the kernel's messages before the line's rest.
    let c = Console::new(
        "=== dump\nr 0000002f00030602 000000000000000[   19.565940] Disabling IRQ #4\n[   19.565950] handlers:\n[   19.565960] [<0>] serial8250_interrupt\n0 0000000000000005\tcomm=migration/3\nr 3 4\n",
    );
    assert_eq!(
        c.printed("dump"),
        vec![
            "r 0000002f00030602 0000000000000000 0000000000000005\tcomm=migration/3",
            "r 3 4"
        ]
    );
    // A `[` that is no stamp stays.
    let c = Console::new("=== stops\nstop=1 fn=f+0x0/0x3d [stopwatch_storm] x=[1]\n");
    assert_eq!(
        c.printed("stops"),
        vec!["stop=1 fn=f+0x0/0x3d [stopwatch_storm] x=[1]"]
    );
}

#[test]
fn stamps() {
    assert_eq!(
        Stamp::first("[    7.843729] watchdog: x"),
        Some(Stamp(7_843_729_000))
    );
    assert_eq!(Stamp::first("[12345.5] x"), Some(Stamp(12_345_500_000_000)));
    assert_eq!(Stamp::first(" [ 1.0] x"), None);
    assert_eq!(Stamp::first("[ x.1] y"), None);
    assert_eq!(Stamp::first("[CPU 1] y"), None);
    // Another CPU's message appended to an unfinished line.
    let l = "[   48.800000] tail 9000 [   60.300001] watchdog: BUG: soft lockup - CPU#0 stuck for 3s! [migration/0:16]";
    assert_eq!(Stamp::last(l), Some(Stamp(60_300_001_000)));
    assert_eq!(Stamp::last("no stamp [migration/0:16]"), None);
    assert_eq!(Stamp(7_843_729_000).to_string(), "7.843729");
    assert_eq!(Stamp(36_000_001_000).to_string(), "36.000001");
}

#[test]
fn soft_lockups() {
    let r = SoftLockup::parse(
        "[    7.843729] watchdog: BUG: soft lockup - CPU#0 stuck for 3s! [migration/0:16]",
    )
    .unwrap();
    assert_eq!(r.at, Some(Stamp(7_843_729_000)));
    assert_eq!((r.cpu, r.stuck_s, r.task), (0, 3, Some("migration/0")));
    assert_eq!(
        r.text,
        "BUG: soft lockup - CPU#0 stuck for 3s! [migration/0:16]"
    );
    // A comm with a colon.
    let r = SoftLockup::parse(
        "[ 9.1] watchdog: BUG: soft lockup - CPU#12 stuck for 22s! [kworker/2:1:123]",
    )
    .unwrap();
    assert_eq!((r.cpu, r.stuck_s, r.task), (12, 22, Some("kworker/2:1")));
    // The stamp just before BUG, not the line's first.
    let r = SoftLockup::parse(
        "[ 48.8] tail [ 60.3] watchdog: BUG: soft lockup - CPU#1 stuck for 6s! [migration/1:21]",
    )
    .unwrap();
    assert_eq!(r.at, Some(Stamp(60_300_000_000)));
    assert!(SoftLockup::parse("[ 1.0] watchdog: BUG: soft lockup - CPU# stuck").is_none());
    assert!(
        SoftLockup::parse("[ 1.0] rcu: INFO: rcu_preempt self-detected stall on CPU").is_none()
    );
}

#[test]
fn the_global_oom_report() {
    let lines = [
        "oom: 9000 sleeping processes, 9056 in all",
        "[   34.016735] tail invoked oom-killer: gfp_mask=0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO), order=0, oom_score_adj=0",
        "[   34.017553] CPU: 2 UID: 0 PID: 9084 Comm: tail Tainted: G           O       6.12.117 #1 ",
        "[   34.024926] Tasks state (memory values in pages):",
        "[   34.025000] [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",
        "[   36.558095] CPU: 0 UID: 0 PID: 18 Comm: migration/0 Tainted: G           O       6.12.117 #1 ",
        "[   41.852866] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),global_oom,task_memcg=/,task=tail,pid=9084,uid=0",
        "[   41.853965] Out of memory: Killed process 9084 (tail) total-vm:859872kB, anon-rss:857600kB",
        "[   41.874702] CPU: 3 UID: 0 PID: 9084 Comm: tail Tainted: G           O L     6.12.117 #1 ",
    ];
    let r = OomReport::first(&lines).unwrap();
    assert_eq!((r.cpu, r.comm, r.pid), (Some(2), Some("tail"), Some(9084)));
    assert_eq!(r.dump_ns, Some(41_852_866_000 - 34_024_926_000));
    assert!(OomReport::first(&lines[..1]).is_none());
    // A report cut before its dump ended.
    assert_eq!(OomReport::first(&lines[..5]).unwrap().dump_ns, None);
}

#[test]
fn checker_reports() {
    for l in [
        "[ 5.1] BUG: KASAN: slab-use-after-free in foo+0x1/0x2",
        "[ 5.1] WARNING: possible circular locking dependency detected",
        "[ 5.1] BUG: sleeping function called from invalid context at mm/slab.h:1",
        "[ 5.1] kmemleak: 3 new suspected memory leaks (see /sys/kernel/debug/kmemleak)",
        "[ 5.1] WARNING: CPU: 1 PID: 1 at kernel/foo.c:1 bar+0x1/0x2",
        "[ 5.1] Oops: general protection fault, probably for non-canonical address",
        "[ 5.1] ODEBUG: free active (active state 0) object: x",
    ] {
        assert!(is_checker_report(l), "{l}");
    }
    for l in [
        "[ 7.8] watchdog: BUG: soft lockup - CPU#0 stuck for 3s! [migration/0:16]",
        "[ 5.1] kmemleak: Kernel memory leak detector initialized (mempool available:16384)",
        "[ 5.1] kmemleak: new suspected",
    ] {
        assert!(!is_checker_report(l), "{l}");
    }
}

#[test]
fn stopwatch_lines() {
    let w = "[    6.170344] stopwatch: #4 CPU 2 has not arrived: task=stopwatch_hog/2/133 check_age_ms=220.554 touch_age_ms=13.952";
    let bt = "[    6.170702] stopwatch: #4 CPU 2 backtrace (IPI answered after 2.464 ms), running stopwatch_hog/2/133:";
    let note = "[    7.844970] stopwatch: CPU 0 is waiting in stop_machine #4 (PREPARE, 2.6 s) for CPU 2 (stopwatch_hog/2/133)";
    for l in [
        w,
        bt,
        note,
        "[ 9.0] stopwatch: stop_machine #4 returned after 5.1 s",
        "[ 9.0] stopwatch: panic dump: 4 CPUs",
    ] {
        assert!(is_blame_line(l), "{l}");
    }
    for l in [
        "[ 1.0] stopwatch: loaded, 4 CPUs",
        "[ 1.0] stopwatch: CPU 3 online",
        "[ 1.0] stopwatch: #x CPU",
    ] {
        assert!(!is_blame_line(l), "{l}");
    }
    assert_eq!(
        Warning::parse(w),
        Some(Warning {
            at: Some(Stamp(6_170_344_000)),
            stop: 4,
            cpu: 2,
            task: Some("stopwatch_hog/2/133"),
        })
    );
    assert!(Warning::parse(bt).is_none());
    assert_eq!(
        Note::parse(note),
        Some(Note {
            cpu: 0,
            waited_for: vec![2],
            readable: true
        })
    );
    let two = Note::parse("[ 7.8] stopwatch: CPU 0 is waiting in stop_machine #4 (PREPARE, 2.6 s) for CPUs 1 (stopwatch_hog/1/90), 2 (stopwatch_hog/2/91)").unwrap();
    assert_eq!((two.waited_for, two.readable), (vec![1, 2], true));
    let none = Note::parse("[ 7.8] stopwatch: CPU 3 is waiting in stop_machine #4 (PREPARE, 2.6 s) for no CPU (all have arrived)").unwrap();
    assert!(none.waited_for.is_empty() && none.readable);
    let last = Note::parse("[ 74.4] stopwatch: CPU 3 is waiting in stop_machine #115 (PREPARE, 3.1 s) for no CPU (all have arrived; the last was CPU 2 (tail/9078), 3111.170 ms after the first)").unwrap();
    assert_eq!(
        (last.cpu, last.waited_for, last.readable),
        (3, vec![2], true)
    );
    let cut = Note::parse("[ 74.4] stopwatch: CPU 3 is waiting in stop_machine #115 (PREPARE, 3.1 s) for no CPU (all have arrived; the last was").unwrap();
    assert!(!cut.readable);
    assert_eq!(
        LastArrival::parse(
            "[ 79.4] stopwatch: #115 CPU 2 arrived last: task=tail/9078 after_first_ms=3111.170"
        ),
        Some(LastArrival {
            stop: 115,
            cpu: 2,
            task: Some("tail/9078")
        })
    );
    assert_eq!(
        LastArrival::parse("[ 79.4] stopwatch: #115 CPU 2 has not arrived: task=tail/9078"),
        None
    );
    let odd = Note::parse(
        "[ 7.8] stopwatch: CPU 3 is waiting in stop_machine #4 (PREPARE, 2.6 s) for CPU x",
    )
    .unwrap();
    assert!(!odd.readable);
}

#[test]
fn frames() {
    let f = Frame::parse(
        "[    6.172371]  _RNvCscKUMUmkeL2K_3hog10hog_thread+0x1a5/0x264 [stopwatch_hog]",
    )
    .unwrap();
    assert_eq!(f.function, "_RNvCscKUMUmkeL2K_3hog10hog_thread");
    assert_eq!(
        (f.module, f.guess, f.register),
        (Some("stopwatch_hog"), false, false)
    );
    let f = Frame::parse("[    6.171841]  ? sw_note_fn+0x20/0x20 [stopwatch]").unwrap();
    assert_eq!(
        (f.function, f.module, f.guess),
        ("sw_note_fn", Some("stopwatch"), true)
    );
    let f = Frame::parse("[    6.171901]  __flush_smp_call_function_queue+0x175/0x2b0").unwrap();
    assert_eq!(
        (f.function, f.module),
        ("__flush_smp_call_function_queue", None)
    );
    // arm64's registers.
    let f = Frame::parse("[   12.5] pc : stopwatch_now_ns+0x0/0x20 [stopwatch_hog]").unwrap();
    assert_eq!(
        (f.function, f.module, f.register),
        ("stopwatch_now_ns", Some("stopwatch_hog"), true)
    );
    for l in [
        "[    6.172102] RIP: 0010:stopwatch_cpu_relax+0xb/0x10 [stopwatch_hog]",
        "[    6.171578]  <IRQ>",
        "[    6.171204] Call Trace:",
        "[    6.1] CPU: 2 UID: 0 PID: 133 Comm: stopwatch_hog/2",
        "[    6.1]  foo+0xq/0x2",
    ] {
        assert!(Frame::parse(l).is_none(), "{l}");
    }
}

#[test]
fn backtraces_end_where_the_stack_does() {
    let x86 = [
        "[ 6.0] stopwatch: #4 CPU 1 backtrace (IPI answered after 1.0 ms), running a/1:",
        "[ 6.1] stopwatch: #4 CPU 2 backtrace (IPI answered after 2.464 ms), running stopwatch_hog/2/133:",
        "[ 6.2] Call Trace:",
        "[ 6.3] RIP: 0010:stopwatch_cpu_relax+0xb/0x10 [stopwatch_hog]",
        "[ 6.4]  hog_thread+0x1a5/0x264 [stopwatch_hog]",
        "[ 6.5]  </TASK>",
        "[ 6.6] after",
    ];
    assert_eq!(backtrace(&x86, 2), x86[1..6].to_vec());
    assert_eq!(backtrace(&x86, 3), Vec::<&str>::new());
    let arm64 = [
        "[ 6.1] stopwatch: #4 CPU 2 backtrace (IPI answered after 2.4 ms), running stopwatch_hog/2/133:",
        "[ 6.2] pc : stopwatch_now_ns+0x0/0x20 [stopwatch_hog]",
        "[ 6.3] Call trace:",
        "[ 6.4]  stopwatch_now_ns+0x0/0x20 [stopwatch_hog]",
        "[ 6.5]  kthread+0x10c/0x118",
        "[ 6.6] stopwatch: CPU 0 is waiting in stop_machine #4",
    ];
    assert_eq!(backtrace(&arm64, 2), arm64[..5].to_vec());
}

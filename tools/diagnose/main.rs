// SPDX-License-Identifier: GPL-2.0

//! `stopwatch-diagnose`: the verdict of a reproduction, from the guest's
//! console (`scripts/reproduce` runs it on the transcript of
//! `scripts/guest/reproduce.sh`).
//!
//! It reads the console's blocks and the kernel log in it
//! (`tools/kernel_log.rs`), runs stopwatch's own analysis on the dump the
//! guest printed (`tools/dump.rs`: the analysis the `stops` view runs),
//! and weighs the two against the scenario (`tools/verdict.rs`). It prints
//! the excerpts a reader wants first (the kernel's soft-lockup reports,
//! stopwatch's console lines, `stops`, `cpus`), then the diagnosis in
//! words and the `summary key=value` lines scripts read.

use std::{fs, process::ExitCode};

// The tool uses part of the logic: the dump, the analysis, the text.
#[allow(
    dead_code,
    unused_imports,
    reason = "the module uses what the tool does not (the ring, the live state, the controls)"
)]
#[path = "../../rust"]
mod src {
    pub(crate) mod host_alloc;
    pub(crate) mod logic;
}
use src::{host_alloc::Host, logic};

extern crate alloc;

// What the host tools share: the dump, read, the kernel log and the
// verdict.
#[path = ".."]
mod tools {
    pub(crate) mod dump;
    pub(crate) mod kernel_log;
    pub(crate) mod panic;
    pub(crate) mod verdict;
}
use logic::{
    analysis::Culprit,
    text::{late_task, MaybeTask},
};
use tools::{
    dump::{Analysis, Dump},
    kernel_log::{is_blame_line, Console, SoftLockup},
    panic::{Held, PanicVerdict, Read, StopwatchRead, Vmcore},
    verdict::{Recorded, Scenario, Verdict, Workload},
};

const USAGE: &str = "\
Usage: stopwatch-diagnose CONSOLE --kernel K --flavour F --workload W
                          --cpus N --thresh T --hog-cpu LIST
                          --hog-seconds S --touch-ms M
                          [--no-storm] [--no-stopwatch]
                          [--write-dump FILE] [--write-dmesg FILE]
       stopwatch-diagnose CONSOLE --panic --vm-exit RC [--vmcore DIR
                          [--vmcore-kernel]] [the options above]

Reads the console of a scripts/reproduce guest (its `=== NAME` blocks:
stops, cpus, dump, unload, dmesg, ...), runs stopwatch's analysis on the
dump it holds, and prints the kernel's soft-lockup reports, stopwatch's
console lines, `stops` and `cpus`, the diagnosis in words and `summary
key=value` lines. The options say what the run set up (scripts/reproduce's
own). --write-dump and --write-dmesg copy the console's dump and dmesg
blocks to files (for stopwatch-timeline).
With --panic (the guest panicked at the first soft lockup): whether
stopwatch's warning and the culprit's backtrace reached the serial console
before `Kernel panic`, and its panic dump after it; with --vmcore DIR also
what stopwatch's rings held (DIR/dump.txt, read from DIR/vmcore by
scripts/vmcore, and its stops.txt) and, with --vmcore-kernel, the
kernel's own stop_machine() state (DIR/kernel.txt): a file missing is a
read that failed. Exit 0 if all of it holds.
Exit: 0 the lockup was reproduced and diagnosed, 1 it was not (or a
kernel checker reported), 2 bad usage, 3 the console cannot be read.";

/// The command line.
struct Args {
    console: String,
    kernel: String,
    flavour: String,
    workload: Workload,
    storm: bool,
    stopwatch: bool,
    cpus: u16,
    thresh_s: u32,
    hog_cpus: Vec<u16>,
    hog_seconds: String,
    touch_ms: u32,
    write_dump: Option<String>,
    write_dmesg: Option<String>,
    /// The guest panicked: `scripts/vm-run`'s exit code.
    panic: Option<i32>,
    vmcore: Option<String>,
    vmcore_kernel: bool,
}

/// Reads the command line; `Err` is the message for a bad one.
fn args() -> Result<Option<Args>, String> {
    let mut it = std::env::args().skip(1);
    let (mut console, mut kernel, mut flavour, mut workload) = (None, None, None, None);
    let (mut cpus, mut thresh, mut hog_cpus, mut hog_seconds, mut touch_ms) =
        (None, None, None, None, None);
    let (mut storm, mut stopwatch) = (true, true);
    let (mut write_dump, mut write_dmesg) = (None, None);
    let (mut panic, mut vm_exit, mut vmcore, mut vmcore_kernel) = (false, None, None, false);
    fn number<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, String> {
        v.parse()
            .map_err(|_| format!("{name} takes a whole number, got '{v}'"))
    }
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "-h" | "--help" => return Ok(None),
            "--kernel" => kernel = Some(value("--kernel")?),
            "--flavour" => flavour = Some(value("--flavour")?),
            "--workload" => {
                workload = Some(match value("--workload")?.as_str() {
                    "hog" => Workload::Hog,
                    "oom" => Workload::Oom,
                    "memcg" => Workload::Memcg,
                    w => return Err(format!("--workload must be hog, oom or memcg, got '{w}'")),
                })
            }
            "--cpus" => cpus = Some(number("--cpus", &value("--cpus")?)?),
            "--thresh" => thresh = Some(number("--thresh", &value("--thresh")?)?),
            "--hog-cpu" => {
                let v = value("--hog-cpu")?;
                hog_cpus = Some(
                    v.split(',')
                        .map(|c| number("--hog-cpu", c))
                        .collect::<Result<Vec<u16>, _>>()?,
                );
            }
            "--hog-seconds" => hog_seconds = Some(value("--hog-seconds")?),
            "--touch-ms" => touch_ms = Some(number("--touch-ms", &value("--touch-ms")?)?),
            "--write-dump" => write_dump = Some(value("--write-dump")?),
            "--write-dmesg" => write_dmesg = Some(value("--write-dmesg")?),
            "--panic" => panic = true,
            "--vm-exit" => vm_exit = Some(number("--vm-exit", &value("--vm-exit")?)?),
            "--vmcore" => vmcore = Some(value("--vmcore")?),
            "--vmcore-kernel" => vmcore_kernel = true,
            "--no-storm" => storm = false,
            "--no-stopwatch" => stopwatch = false,
            _ if a.starts_with('-') => return Err(format!("unknown option '{a}' (see --help)")),
            _ if console.is_none() => console = Some(a),
            _ => return Err(format!("one console only, got '{a}' too")),
        }
    }
    let need = |name: &str| format!("{name} is needed (see --help)");
    if panic != vm_exit.is_some()
        || (vmcore.is_some() && !panic)
        || (vmcore_kernel && vmcore.is_none())
    {
        return Err("--panic goes with --vm-exit, --vmcore with --panic, --vmcore-kernel with --vmcore (see --help)".to_string());
    }
    Ok(Some(Args {
        console: console.ok_or("no console given (see --help)")?,
        kernel: kernel.ok_or_else(|| need("--kernel"))?,
        flavour: flavour.ok_or_else(|| need("--flavour"))?,
        workload: workload.ok_or_else(|| need("--workload"))?,
        storm,
        stopwatch,
        cpus: cpus.ok_or_else(|| need("--cpus"))?,
        thresh_s: thresh.ok_or_else(|| need("--thresh"))?,
        hog_cpus: hog_cpus.ok_or_else(|| need("--hog-cpu"))?,
        hog_seconds: hog_seconds.ok_or_else(|| need("--hog-seconds"))?,
        touch_ms: touch_ms.ok_or_else(|| need("--touch-ms"))?,
        write_dump,
        write_dmesg,
        panic: vm_exit,
        vmcore,
        vmcore_kernel,
    }))
}

fn main() -> ExitCode {
    let args = match args() {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("stopwatch-diagnose: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("stopwatch-diagnose: {e}");
            ExitCode::from(3)
        }
    }
}

/// Lines, or `(none)`.
fn lines_or_none(lines: &[&str]) {
    if lines.is_empty() {
        println!("(none)");
    }
    for l in lines {
        println!("{l}");
    }
}

/// Lines as text, each ended.
fn lines_text<S: AsRef<str>>(lines: &[S]) -> String {
    lines.iter().flat_map(|l| [l.as_ref(), "\n"]).collect()
}

/// Prints the report; whether the run reproduced the incident.
fn run(args: &Args) -> Result<bool, String> {
    let path = &args.console;
    let text = fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let console = Console::new(&text);
    let dmesg = console.section("dmesg");
    let sc = Scenario {
        kernel: &args.kernel,
        flavour: &args.flavour,
        workload: args.workload,
        storm: args.storm,
        stopwatch: args.stopwatch,
        cpus: args.cpus,
        thresh_s: args.thresh_s,
        hog_cpus: args.hog_cpus.clone(),
        hog_seconds: &args.hog_seconds,
        touch_ms: args.touch_ms,
    };
    if let Some(vm_exit) = args.panic {
        return Ok(panicked(args, &sc, &console, vm_exit));
    }
    // The dump as the guest printed it, without the kernel's messages
    // that the console mixed into it.
    let dump_text = lines_text(&console.printed("dump"));
    let dump = if args.stopwatch {
        if dump_text.is_empty() {
            return Err(format!(
                "{path}: the guest printed no dump (no `=== dump` block)"
            ));
        }
        Some(Dump::parse(&dump_text).map_err(|e| format!("{path}, its dump: {e}"))?)
    } else {
        None
    };
    for (file, text) in [
        (&args.write_dump, &dump_text),
        (&args.write_dmesg, &lines_text(&dmesg)),
    ] {
        if let Some(file) = file {
            fs::write(file, text).map_err(|e| format!("{file}: {e}"))?;
        }
    }
    let analysed = match &dump {
        Some(d) => Some(d.analyse().map_err(|_| "out of memory".to_string())?),
        None => None,
    };
    let online: Vec<u16> = dump
        .as_ref()
        .map_or(Vec::new(), |d| d.header().online().collect());
    let recorded = match (&dump, &analysed) {
        (Some(d), Some(Analysis { log, blame })) => {
            let h = d.header();
            Some(Recorded {
                log,
                names: d,
                now_ns: h.now_ns,
                online: &online,
                blame: *blame,
                printk_offset_ns: h.printk_ns as i64 - h.now_ns as i64,
            })
        }
        _ => None,
    };
    let v =
        Verdict::of(&sc, &console, recorded.as_ref()).map_err(|_| "out of memory".to_string())?;

    println!("== the kernel booted");
    match console
        .lines()
        .iter()
        .find_map(|l| l.find("Linux version ").map(|i| &l[i..]))
    {
        Some(l) => println!("{l}"),
        None => println!("(no Linux version line)"),
    }
    println!("== kernel soft-lockup reports");
    let bugs: Vec<&str> = dmesg
        .iter()
        .copied()
        .filter(|l| SoftLockup::parse(l).is_some())
        .collect();
    lines_or_none(&bugs);
    println!();
    if args.stopwatch {
        println!("== stopwatch: its console lines (dmesg)");
        let blame: Vec<&str> = dmesg.iter().copied().filter(|l| is_blame_line(l)).collect();
        lines_or_none(&blame);
        println!();
        println!("== stopwatch: stops");
        lines_or_none(&console.section("stops"));
        println!();
        println!("== stopwatch: cpus, after the incident");
        for l in console.section("cpus") {
            println!("{l}");
        }
        println!();
    }
    if !v.console_backtrace() && v.warned() {
        // What the backtrace held instead, for whoever reads the failure
        // (stopwatch's own line says why, when it printed none).
        let cpu = v.expected_cpu().map_or("-".to_string(), |c| c.to_string());
        if v.culprit_backtrace.is_empty() {
            println!("The console has no backtrace of CPU {cpu}.");
        } else {
            let what = match args.workload {
                Workload::Hog => "of stopwatch_hog.ko",
                _ => "of dump_header(), dump_tasks() or out_of_memory()",
            };
            println!("The console's backtrace of CPU {cpu} has no frame {what}; it was:");
            for l in v.culprit_backtrace.iter().take(40) {
                println!("  | {l}");
            }
        }
    }
    println!("== diagnosis");
    print!("{}", v.diagnosis());
    println!();
    println!("== summary");
    print!("{}", v.summary());
    Ok(v.reproduced())
}

/// What stopwatch's reader wrote from a vmcore.
struct VmcoreFiles {
    /// Its `stops` lines (`stops.txt`).
    stops: String,
    /// The instances' culprits, by stopwatch's analysis of the dump read
    /// from it (`dump.txt`).
    held: Vec<Held>,
}

/// What the vmcore in `dir` gave stopwatch's reader.
fn held_in(dir: &str) -> Option<VmcoreFiles> {
    let text = fs::read_to_string(format!("{dir}/dump.txt")).ok()?;
    let stops = fs::read_to_string(format!("{dir}/stops.txt")).ok()?;
    let dump = Dump::parse(&text).ok()?;
    let Analysis { log, blame } = dump.analyse().ok()?;
    let h = dump.header();
    let online: Vec<u16> = h.online().collect();
    let task_on = |cpu: u16| log.last_check_pid(cpu);
    let mut held = Vec::new();
    for s in log.stops.iter() {
        if let Ok(Culprit::Late(late)) = s.culprit(&online, h.now_ns, blame) {
            held.push(Held {
                cpus: late.iter().map(|l| l.cpu).collect(),
                task: late.first().map_or("-".to_string(), |l| {
                    MaybeTask(&dump, late_task(s, l, &task_on)).to_string()
                }),
            });
        }
    }
    Some(VmcoreFiles { stops, held })
}

/// Prints the verdict of a run that panicked; whether it holds.
fn panicked(args: &Args, sc: &Scenario<'_>, console: &Console<'_>, vm_exit: i32) -> bool {
    let stopwatch = args
        .vmcore
        .as_deref()
        .filter(|_| args.stopwatch)
        .map(held_in);
    let kernel = args
        .vmcore
        .as_deref()
        .filter(|_| args.vmcore_kernel)
        .map(|dir| {
            fs::read_to_string(format!("{dir}/kernel.txt"))
                .ok()
                .filter(|t| !t.is_empty())
        });
    let path = args.vmcore.as_ref().map(|dir| format!("{dir}/vmcore"));
    let vmcore = path.as_deref().map(|path| Vmcore {
        path,
        stopwatch: match &stopwatch {
            None => Read::NotAsked,
            Some(None) => Read::Failed,
            Some(Some(files)) => Read::Got(StopwatchRead {
                stops: files.stops.as_str(),
                held: files.held.clone(),
            }),
        },
        kernel: match &kernel {
            None => Read::NotAsked,
            Some(None) => Read::Failed,
            Some(Some(text)) => Read::Got(text.as_str()),
        },
    });
    let v = PanicVerdict::of(sc, console, vm_exit, vmcore);
    print!("{v}");
    v.passed()
}

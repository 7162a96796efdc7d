// SPDX-License-Identifier: GPL-2.0

//! `stopwatch-timeline`: a picture of an incident from a stopwatch dump
//! (`/sys/kernel/debug/stopwatch/dump`, copied off the machine that
//! recorded it).
//!
//! It decodes the records and runs the analysis with stopwatch's own
//! logic, the very files the kernel module builds (`rust/logic/`), and
//! writes what it found:
//! - a Chrome Trace Event file (`--trace`) that ui.perfetto.dev and
//!   chrome://tracing open: a track per CPU with each stopper state as a
//!   slice, touches, watchdog checks, soft-lockup reports and early
//!   warnings as instants, and a track per calling CPU with each
//!   `stop_machine()` call as a slice, the culprit named (`trace.rs`);
//! - a self-contained SVG of one instance (`--svg`): CPUs as rows, states
//!   as bars, touches as ticks, the soft-lockup threshold, the reports and
//!   the culprit called out (`svg.rs`).
//!
//! What both draw is built once, in `model.rs`.

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

// What the host tools share: the dump, read, and the kernel log.
#[path = ".."]
mod tools {
    pub(crate) mod dump;
    #[expect(
        dead_code,
        unused_imports,
        reason = "the tools share the parser; the timeline reads soft-lockup reports only"
    )]
    pub(crate) mod kernel_log;
}
use tools::dump::Dump;

extern crate alloc;

mod drgn;
mod model;
mod svg;
mod trace;

/// What the command line asks for.
struct Args {
    /// The dump to read (or, with `vmcore`, where to write the one read).
    dump: Option<String>,
    /// A vmcore to read the dump from.
    vmcore: Option<String>,
    /// Files with symbols for it (vmlinux, .ko).
    debug: Vec<String>,
    /// A copy of /proc/kallsyms of the crashed boot.
    kallsyms: Option<String>,
    /// Read the kernel's own stop_machine() state from the vmcore, not
    /// stopwatch's rings.
    kernel_only: bool,
    /// Where the trace goes.
    trace: Option<String>,
    /// Where the image goes.
    svg: Option<String>,
    /// The instance the image shows.
    stop: Option<u32>,
    /// The kernel log of the same boot.
    dmesg: Option<String>,
}

const USAGE: &str = "\
Usage: stopwatch-timeline DUMP [--trace FILE.json] [--svg FILE.svg] [--stop N]
                          [--dmesg FILE]
       stopwatch-timeline --vmcore CORE [-s FILE]... [--kallsyms FILE]
                          [--write-dump DUMP] [the options above]
       stopwatch-timeline --vmcore CORE --kernel-only -s VMLINUX [-s FILE]...

Reads a stopwatch dump (a copy of /sys/kernel/debug/stopwatch/dump) and
runs stopwatch's own analysis on it (the same source the module builds).
  --vmcore CORE  read the dump from a crashed kernel's memory instead: a
                kdump vmcore or a QEMU dump-guest-memory core, through
                drgn (tools/vmcore/memory.py;
                STOPWATCH_DRGN_PYTHON: a python with drgn, scripts/vmcore
                sets one up); stopwatch.ko must have been loaded
  -s FILE       vmlinux or a module with symbols (repeatable), for names
  --kallsyms FILE  names from a copy of /proc/kallsyms of that boot
                (without -s or --kallsyms: the kernel's own kallsyms,
                through VMCOREINFO; module addresses stay numbers)
  --write-dump DUMP  write the dump read from CORE (nothing is written
                if it cannot be read)
  --kernel-only  with --vmcore: the kernel's own structures only, for a
                kernel with or without stopwatch: the stop_machine() in
                flight at the crash, which CPUs were in multi_cpu_stop(),
                which had not arrived and what they ran (`kernel_stop`
                lines); needs the kernel's debug info (-s vmlinux with
                DWARF: Debian's linux-image-RELEASE-dbg)
  --trace FILE  write a Chrome Trace Event file (open it in
                ui.perfetto.dev or chrome://tracing): a track per CPU
                with its stopper states, touches, watchdog checks,
                soft-lockup reports and early warnings; a track per
                calling CPU with its stop_machine() calls
  --svg FILE    write a timeline image of one stop_machine() instance
  --stop N      the instance the image shows (default: the one with a
                culprit that made the others wait longest, else the
                longest)
  --dmesg FILE  the kernel log of the same boot (dmesg): its soft-lockup
                reports are placed at their times (without it, the
                watchdog checks past the threshold stand for them)
Prints a line per instance, as the `stops` view does, and on stderr what
it wrote.";

/// Reads the command line; `Err` is the message for a bad one.
fn args() -> Result<Option<Args>, String> {
    let mut it = std::env::args().skip(1);
    let (mut dump, mut trace, mut svg, mut stop, mut dmesg) = (None, None, None, None, None);
    let (mut vmcore, mut debug, mut kallsyms, mut write_dump) = (None, Vec::new(), None, None);
    let mut kernel_only = false;
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "-h" | "--help" => return Ok(None),
            "--trace" => trace = Some(value("--trace")?),
            "--svg" => svg = Some(value("--svg")?),
            "--dmesg" => dmesg = Some(value("--dmesg")?),
            "--vmcore" => vmcore = Some(value("--vmcore")?),
            "-s" => debug.push(value("-s")?),
            "--kallsyms" => kallsyms = Some(value("--kallsyms")?),
            "--write-dump" => write_dump = Some(value("--write-dump")?),
            "--kernel-only" => kernel_only = true,
            "--stop" => {
                let v = value("--stop")?;
                stop = Some(
                    v.parse()
                        .map_err(|_| format!("--stop takes a number, got '{v}'"))?,
                );
            }
            _ if a.starts_with('-') => return Err(format!("unknown option '{a}' (see --help)")),
            _ if dump.is_none() => dump = Some(a),
            _ => return Err(format!("one dump only, got '{a}' too")),
        }
    }
    if kernel_only {
        if vmcore.is_none() {
            return Err("--kernel-only reads a vmcore: add --vmcore CORE (see --help)".to_string());
        }
        if write_dump.is_some()
            || trace.is_some()
            || svg.is_some()
            || stop.is_some()
            || dmesg.is_some()
        {
            return Err("--kernel-only prints the kernel's stop_machine() state only: drop --write-dump, --trace, --svg, --stop and --dmesg".to_string());
        }
    }
    if vmcore.is_some() {
        if dump.is_some() {
            return Err("a dump or --vmcore, not both (see --help)".to_string());
        }
        dump = write_dump;
    } else if write_dump.is_some() || !debug.is_empty() || kallsyms.is_some() {
        return Err("--write-dump, -s and --kallsyms go with --vmcore (see --help)".to_string());
    } else if dump.is_none() {
        return Err("no dump given (see --help)".to_string());
    }
    Ok(Some(Args {
        dump,
        vmcore,
        debug,
        kallsyms,
        kernel_only,
        trace,
        svg,
        stop,
        dmesg,
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
            eprintln!("stopwatch-timeline: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stopwatch-timeline: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The dump in a crashed kernel's memory, written to `out` if given.
fn from_vmcore(args: &Args, core: &str, out: Option<&str>) -> Result<String, String> {
    let mut mem = drgn::Drgn::open(core, &args.debug, args.kallsyms.as_deref())
        .map_err(|e| format!("{core}: {e}"))?;
    let (text, counts) =
        logic::vmcore::read::read_dump(&mut mem).map_err(|e| format!("{core}: {e}"))?;
    eprintln!(
        "vmcore: {core} (Linux {}): descriptor at 0x{:x}, {} CPUs with rings, {} records held, {} read, {} torn{}",
        mem.release,
        counts.descriptor,
        counts.rings,
        counts.held,
        counts.records,
        counts.torn,
        match counts.panic_cpu {
            Some(cpu) => format!(", panic on CPU {cpu}"),
            None => ", no panic stamped".to_string(),
        }
    );
    if let Some(path) = out {
        fs::write(path, &text).map_err(|e| format!("{path}: {e}"))?;
        eprintln!("dump: {path}");
    }
    Ok(text)
}

/// The kernel's own stop_machine() state in a crashed kernel's memory.
fn kernel_only(args: &Args, core: &str) -> Result<(), String> {
    let mut mem = drgn::Drgn::open(core, &args.debug, args.kallsyms.as_deref())
        .map_err(|e| format!("{core}: {e}"))?;
    let found =
        logic::vmcore::kernel::read_stop_machine(&mut mem).map_err(|e| format!("{core}: {e}"))?;
    eprintln!(
        "vmcore: {core} (Linux {}): the kernel's stop_machine() state",
        mem.release
    );
    print!("{found}");
    Ok(())
}

/// Reads, analyses, writes.
fn run(args: &Args) -> Result<(), String> {
    if let (true, Some(core)) = (args.kernel_only, &args.vmcore) {
        return kernel_only(args, core);
    }
    let (text, name) = match (&args.vmcore, &args.dump) {
        (Some(core), out) => (from_vmcore(args, core, out.as_deref())?, core.clone()),
        (None, Some(path)) => (
            fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?,
            path.clone(),
        ),
        (None, None) => unreachable!("args() requires one"),
    };
    let dump = Dump::parse(&text).map_err(|e| format!("{name}: {e}"))?;
    let dmesg = match &args.dmesg {
        Some(path) => Some(fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?),
        None => None,
    };
    let timeline =
        model::build(&dump, dmesg.as_deref()).map_err(|_| "out of memory".to_string())?;
    for i in &timeline.instances {
        println!("{}", i.line);
    }
    if let Some(path) = &args.trace {
        fs::write(path, trace::render(&timeline)).map_err(|e| format!("{path}: {e}"))?;
        eprintln!(
            "trace: {path} ({} slices, {} instants)",
            timeline.slices.len(),
            timeline.instants.len()
        );
    }
    if let Some(path) = &args.svg {
        let Some(instance) = timeline.pick(args.stop) else {
            return Err(match args.stop {
                Some(n) => format!("no instance {n} in the dump"),
                None => "no stop_machine() instance in the dump to draw".to_string(),
            });
        };
        fs::write(path, svg::render(&timeline, instance)).map_err(|e| format!("{path}: {e}"))?;
        eprintln!("svg: {path} (instance {})", instance.stop);
    }
    Ok(())
}

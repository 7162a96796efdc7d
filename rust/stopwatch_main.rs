// SPDX-License-Identifier: GPL-2.0

//! stopwatch: a flight recorder for soft lockups around `stop_machine`.
//!
//! The module kprobes the soft-lockup watchdog's touch path and
//! `multi_cpu_stop`, records per-CPU touch times and stop_machine states in
//! per-CPU rings, and shows them under `/sys/kernel/debug/stopwatch/`:
//! which CPU everyone waits for, since when, and what runs there. See
//! `Documentation/stopwatch.rst`.

use crate::hot::Relaxed;
use kernel::{debugfs::Scope, prelude::*, uaccess::UserSliceReader};

mod analysis;
mod control;
mod hot;
mod probes;
mod record;
mod recorder;
mod ring;
mod seam;
mod text;

use recorder::Recorder;

module! {
    type: Stopwatch,
    name: "stopwatch",
    authors: ["stopwatch developers"],
    description: "Flight recorder for soft lockups around stop_machine",
    license: "GPL",
    params: {
        buffer_size: usize {
            default: 4096,
            description: "Records per CPU ring (power of two, 16..=1048576)",
        },
        warn_percent: u32 {
            default: 50,
            description: "Early warning after this % of the soft-lockup threshold in PREPARE (1..=100)",
        },
        test_missing_probe: u32 {
            default: 0,
            description: "Testing: put probe N (1-based, see stats) on a symbol that does not exist",
        },
    },
}

/// The loaded module.
///
/// Fields drop in declaration order, and that order is load-bearing:
/// `probes` unregisters every probe (waiting for running handlers) before
/// `files` removes the debugfs files and frees the recorder they show.
struct Stopwatch {
    /// Every probe, feeding the recorder inside `files`.
    _probes: probes::Probes,
    /// `/sys/kernel/debug/stopwatch/` and the recorder it shows.
    files: Pin<KBox<Scope<Recorder>>>,
}

/// Reads a control write (at most [`control::MAX_INPUT`] bytes).
fn read_input(reader: &mut UserSliceReader) -> Result<([u8; control::MAX_INPUT + 1], usize)> {
    let mut buf = [0u8; control::MAX_INPUT + 1];
    let n = reader.len();
    if n == 0 || n > control::MAX_INPUT {
        return Err(EINVAL);
    }
    reader.read_slice(&mut buf[..n])?;
    Ok((buf, n))
}

/// `enable` read.
fn read_enable(rec: &Recorder, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
    writeln!(f, "{}", u8::from(rec.enabled.load(Relaxed)))
}

/// `buffer_size` read.
fn read_buffer_size(rec: &Recorder, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
    writeln!(f, "{}", rec.ring_records.load(Relaxed))
}

/// `warn_percent` read.
fn read_warn_percent(rec: &Recorder, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
    writeln!(f, "{}", rec.warn_percent.load(Relaxed))
}

/// `enable` write.
fn write_enable(rec: &Recorder, reader: &mut UserSliceReader) -> Result {
    let (buf, n) = read_input(reader)?;
    let on = control::parse_enable(&buf[..n])?;
    rec.enabled.store(on, Relaxed);
    Ok(())
}

/// `clear` write.
fn write_clear(rec: &Recorder, reader: &mut UserSliceReader) -> Result {
    let (buf, n) = read_input(reader)?;
    control::parse_clear(&buf[..n])?;
    rec.clear();
    Ok(())
}

/// `buffer_size` write: only while disabled (`EBUSY` otherwise).
fn write_buffer_size(rec: &Recorder, reader: &mut UserSliceReader) -> Result {
    let (buf, n) = read_input(reader)?;
    let records = control::parse_buffer_size(&buf[..n])?;
    rec.resize(records)
}

/// `warn_percent` write.
fn write_warn_percent(rec: &Recorder, reader: &mut UserSliceReader) -> Result {
    let (buf, n) = read_input(reader)?;
    let percent = control::parse_warn_percent(&buf[..n])?;
    rec.warn_percent.store(percent, Relaxed);
    Ok(())
}

impl kernel::Module for Stopwatch {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let records = module_parameters::buffer_size.value();
        if !ring::valid_size(records) {
            pr_err!(
                "buffer_size={records} must be a power of two in {}..={}\n",
                ring::MIN_RECORDS,
                ring::MAX_RECORDS
            );
            return Err(EINVAL);
        }
        let percent = module_parameters::warn_percent.value();
        if !(1..=100).contains(&percent) {
            pr_err!("warn_percent={percent} must be in 1..=100\n");
            return Err(EINVAL);
        }
        let nr_cpus = kernel::cpu::nr_cpu_ids() as usize;
        let files = KBox::pin_init(
            Scope::dir(
                Recorder::new(nr_cpus, records, percent),
                c"stopwatch",
                |rec, dir| {
                    dir.read_callback_file(c"events", rec, &text::events);
                    dir.read_callback_file(c"cpus", rec, &text::cpus);
                    dir.read_callback_file(c"stops", rec, &text::stops);
                    dir.read_callback_file(c"stats", rec, &text::stats);
                    dir.read_write_callback_file(c"enable", rec, &read_enable, &write_enable);
                    dir.write_only_callback_file(c"clear", rec, &write_clear);
                    dir.read_write_callback_file(
                        c"buffer_size",
                        rec,
                        &read_buffer_size,
                        &write_buffer_size,
                    );
                    dir.read_write_callback_file(
                        c"warn_percent",
                        rec,
                        &read_warn_percent,
                        &write_warn_percent,
                    );
                    dir.read_callback_file(
                        c"format",
                        rec,
                        &|_: &Recorder, f: &mut core::fmt::Formatter<'_>| {
                            writeln!(f, "{}", record::FORMAT_VERSION)
                        },
                    );
                },
            ),
            GFP_KERNEL,
        )?;
        let missing = match module_parameters::test_missing_probe.value() {
            0 => None,
            n if (n as usize) <= probes::PROBES.len() => Some(n as usize - 1),
            n => {
                pr_err!(
                    "test_missing_probe={n} must be 0..={}\n",
                    probes::PROBES.len()
                );
                return Err(EINVAL);
            }
        };
        // SAFETY: the recorder is pinned inside `files`, which `Stopwatch`
        // drops only after the returned `Probes`.
        let probes = unsafe { probes::Probes::register(&files, missing)? };
        pr_info!(
            "recording: {} probes, {} CPUs, {} records per CPU\n",
            probes::PROBES.len(),
            nr_cpus,
            records
        );
        Ok(Self {
            _probes: probes,
            files,
        })
    }
}

impl Drop for Stopwatch {
    fn drop(&mut self) {
        pr_info!(
            "unloading: {} layout errors\n",
            self.files.layout_errors.load(Relaxed)
        );
    }
}

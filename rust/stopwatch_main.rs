// SPDX-License-Identifier: GPL-2.0

//! stopwatch: a flight recorder for soft lockups around `stop_machine`.
//!
//! The module kprobes the soft-lockup watchdog's touch path and
//! `multi_cpu_stop`, records per-CPU touch times and stop_machine states in
//! per-CPU rings, and shows them under `/sys/kernel/debug/stopwatch/`:
//! which CPU everyone waits for, since when, and what runs there. See
//! `Documentation/stopwatch.rst`.
//!
//! The same source builds for every kernel stopwatch supports (6.12 and
//! 7.3): the pure logic (`logic`) depends on `core` only, and everything
//! the kernels' Rust bindings do not offer alike goes through the C seams
//! (`seam` for stopwatch's own needs, `services` for what every module
//! shares).

use crate::hot::Relaxed;
use kernel::prelude::*;

mod console;
mod entries;
mod hot;
mod hotplug;
mod lists;
mod logic;
mod probes;
mod recorder;
mod seam;
#[expect(dead_code, reason = "each module uses a part of the shared services")]
mod services;
mod views;

use logic::ring;
use recorder::Recorder;

module! {
    type: Stopwatch,
    name: "stopwatch",
    description: "Flight recorder for soft lockups around stop_machine",
    license: "GPL",
}

/// The loaded module.
///
/// Fields drop in declaration order, and that order is load-bearing:
/// `probes` unregisters every probe (waiting for running handlers, the only
/// ones that queue console work) before `console` waits for that work and
/// unregisters the panic notifier, and `hotplug` unregisters the CPU
/// hotplug callback (the rings of CPUs coming up), all before `files`
/// removes the debugfs files (waiting for their readers) and frees the
/// recorder they show.
struct Stopwatch {
    /// Every probe, feeding the recorder inside `files`.
    _probes: probes::Probes,
    /// The console side, reading the recorder inside `files`.
    _console: console::Console,
    /// The CPU hotplug callback, adding rings to the recorder inside
    /// `files`.
    _hotplug: hotplug::Hotplug,
    /// The vmcore descriptor, describing the recorder inside `files`
    /// (retracted before it is freed).
    _vmcore: recorder::vmcore::Published,
    /// `/sys/kernel/debug/stopwatch/` and the recorder it shows.
    files: services::Files<Recorder>,
}

impl kernel::Module for Stopwatch {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let params = seam::params();
        let records = usize::try_from(params.buffer_size).unwrap_or(usize::MAX);
        if !ring::valid_size(records) {
            pr_err!(
                "buffer_size={} must be a power of two in {}..={}\n",
                params.buffer_size,
                ring::MIN_RECORDS,
                ring::MAX_RECORDS
            );
            return Err(EINVAL);
        }
        let percent = params.warn_percent;
        if !(1..=100).contains(&percent) {
            pr_err!("warn_percent={percent} must be in 1..=100\n");
            return Err(EINVAL);
        }
        if params.test_layout_shift > 64 {
            pr_err!(
                "test_layout_shift={} must be 0..=64\n",
                params.test_layout_shift
            );
            return Err(EINVAL);
        }
        if u64::from(params.test_fill) > params.buffer_size {
            pr_err!(
                "test_fill={} must be 0..=buffer_size ({})\n",
                params.test_fill,
                params.buffer_size
            );
            return Err(EINVAL);
        }
        let missing = match params.test_missing_probe {
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
        let nr_cpus = services::nr_cpu_ids() as usize;
        // A `bool` parameter: the kernel refuses anything but 0/1, y/n.
        let console_on = params.console != 0;
        let recorder = KBox::pin_init(
            Recorder::new(nr_cpus, records, percent, console_on, probes::TOUCH_PROBES),
            GFP_KERNEL,
        )?;
        // Before the files and the probes: this thread is the rings' only
        // writer and nobody reads them.
        recorder.test_fill(params.test_fill);
        let files = services::Files::new(c"stopwatch", recorder, &views::FILES)?;
        // SAFETY: the recorder is pinned inside `files`, which `Stopwatch`
        // drops only after the returned `Published`.
        let vmcore = unsafe { recorder::vmcore::Published::publish(&files) };
        // SAFETY: the recorder is pinned inside `files`, which `Stopwatch`
        // drops only after the returned `Console`, and that only after the
        // probes.
        let console = unsafe { console::Console::start(&files) };
        // SAFETY: the recorder is pinned inside `files`, which `Stopwatch`
        // drops only after the returned `Hotplug`.
        let hotplug = unsafe { hotplug::Hotplug::start(&files)? };
        // SAFETY: the recorder is pinned inside `files`, which `Stopwatch`
        // drops only after the returned `Probes`.
        let probes = unsafe { probes::Probes::register(&files, missing)? };
        let memory = files.memory();
        pr_info!(
            "recording: {} probes, {} records per CPU, rings for {} of {} possible CPUs ({} KiB)\n",
            probes::PROBES.len(),
            records,
            memory.rings,
            nr_cpus,
            memory.ring_bytes / 1024
        );
        Ok(Self {
            _probes: probes,
            _console: console,
            _hotplug: hotplug,
            _vmcore: vmcore,
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

// SPDX-License-Identifier: GPL-2.0

//! stopwatch: a flight recorder for soft lockups around `stop_machine`.
//!
//! The module records, per CPU, when the soft-lockup watchdog was last
//! touched and from where, and what state each CPU's stopper is in during a
//! `stop_machine` call, and shows that history under
//! `/sys/kernel/debug/stopwatch/`. See `Documentation/stopwatch.rst`.

use kernel::{debugfs::Dir, prelude::*};

mod record;

module! {
    type: Stopwatch,
    name: "stopwatch",
    authors: ["stopwatch developers"],
    description: "Flight recorder for soft lockups around stop_machine",
    license: "GPL",
}

/// The loaded module.
///
/// Fields drop in declaration order: the debugfs files go before anything
/// they show.
struct Stopwatch {
    /// `/sys/kernel/debug/stopwatch/format`.
    _format: Pin<KBox<kernel::debugfs::File<u8>>>,
    /// `/sys/kernel/debug/stopwatch/`, removed last.
    _dir: Dir,
}

impl kernel::Module for Stopwatch {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let dir = Dir::new(c"stopwatch");
        let format = KBox::pin_init(
            dir.read_only_file(c"format", record::FORMAT_VERSION),
            GFP_KERNEL,
        )?;
        pr_info!("loaded (record format {})\n", record::FORMAT_VERSION);
        Ok(Self {
            _format: format,
            _dir: dir,
        })
    }
}

impl Drop for Stopwatch {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}

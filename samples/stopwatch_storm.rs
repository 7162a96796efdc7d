// SPDX-License-Identifier: GPL-2.0

//! stop_machine storm: calls `stop_machine()` every `period_ms` so that
//! stopwatch has instances to record and the seed's lockup can be replayed.
//!
//! Skeleton: parameters are validated; the calling kthread comes with the
//! reproducer.

use kernel::prelude::*;

module! {
    type: Storm,
    name: "stopwatch_storm",
    authors: ["stopwatch developers"],
    description: "Calls stop_machine() periodically (stopwatch sample)",
    license: "GPL",
    params: {
        period_ms: u32 {
            default: 1000,
            description: "Milliseconds between stop_machine() calls (1..=60000)",
        },
        work_us: u32 {
            default: 10,
            description: "Microseconds the stop function busy-works (0..=100000)",
        },
    },
}

/// The loaded sample.
struct Storm;

/// Checks that `value` lies in `range`, naming the parameter if not.
fn check_param(name: &str, value: u32, range: core::ops::RangeInclusive<u32>) -> Result {
    if range.contains(&value) {
        Ok(())
    } else {
        pr_err!(
            "{name}={value} out of range {}..={}\n",
            range.start(),
            range.end()
        );
        Err(EINVAL)
    }
}

impl kernel::Module for Storm {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let period = module_parameters::period_ms.value();
        let work = module_parameters::work_us.value();
        check_param("period_ms", period, 1..=60_000)?;
        check_param("work_us", work, 0..=100_000)?;
        pr_info!("loaded: period_ms={period} work_us={work}\n");
        Ok(Storm)
    }
}

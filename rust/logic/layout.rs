// SPDX-License-Identifier: GPL-2.0

//! Whether a `struct multi_stop_data` read through stopwatch's copy of its
//! layout (the C seam's `struct sw_multi_stop_data`) is what the kernel
//! built. The struct is private to `kernel/stop_machine.c`; if a kernel
//! changed it, every field read through the copy would be garbage, so no
//! state is read through it until it checks out.
//!
//! A `multi_cpu_stop()` call is matched to its `stop_machine()` instance by
//! where its `msdata` lies (in the caller's stack, recorded at the
//! instance's entry), which does not depend on the layout. Then every
//! field must be what that entry said and what `stop_machine_cpuslocked()`
//! sets before it queues the stoppers: `fn`, `data`, `num_threads` (the
//! online CPUs), `active_cpus` (the `cpus` argument), `state` PREPARE
//! (it cannot move on before this CPU acknowledges it), and `thread_ack`
//! between 1 and `num_threads` (this CPU has not acknowledged yet).

use super::record::StopState;

/// What the entry of `stop_machine_cpuslocked()` said about a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Expected {
    /// `fn`.
    pub(crate) func: u64,
    /// `data`.
    pub(crate) data: u64,
    /// Online CPUs at entry.
    pub(crate) nr_cpus: u32,
    /// The `cpus` argument (0 for NULL).
    pub(crate) active_cpus: u64,
}

/// The fields as read through the copy of the layout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Seen {
    /// `fn`.
    pub(crate) func: u64,
    /// `data`.
    pub(crate) data: u64,
    /// `active_cpus` (0 for NULL).
    pub(crate) active_cpus: u64,
    /// `num_threads`.
    pub(crate) num_threads: u32,
    /// `state`.
    pub(crate) state: u32,
    /// `thread_ack`.
    pub(crate) thread_ack: i32,
}

/// The first field that did not check out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mismatch {
    /// `state` was not PREPARE.
    State,
    /// `thread_ack` was not in `1..=num_threads`.
    ThreadAck,
    /// `fn` was not the instance's.
    Func,
    /// `data` was not the instance's.
    Data,
    /// `num_threads` was not the online CPUs at entry.
    NumThreads,
    /// `active_cpus` was not the `cpus` argument.
    ActiveCpus,
}

/// Checks a call's `msdata` at `multi_cpu_stop()` entry against its
/// instance's entry (`None` for a call that matches no instance, such as
/// `stop_two_cpus()`: only what holds for every call is checked).
pub(crate) fn check(seen: &Seen, expected: Option<&Expected>) -> Result<(), Mismatch> {
    if seen.state != StopState::Prepare as u32 {
        return Err(Mismatch::State);
    }
    if seen.thread_ack < 1 || seen.thread_ack as u32 > seen.num_threads {
        return Err(Mismatch::ThreadAck);
    }
    let Some(e) = expected else {
        return Ok(());
    };
    if seen.func != e.func {
        return Err(Mismatch::Func);
    }
    if seen.data != e.data {
        return Err(Mismatch::Data);
    }
    if seen.num_threads != e.nr_cpus {
        return Err(Mismatch::NumThreads);
    }
    if seen.active_cpus != e.active_cpus {
        return Err(Mismatch::ActiveCpus);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> (Seen, Expected) {
        (
            Seen {
                func: 0xf00,
                data: 0xda7a,
                active_cpus: 0,
                num_threads: 4,
                state: StopState::Prepare as u32,
                thread_ack: 3,
            },
            Expected {
                func: 0xf00,
                data: 0xda7a,
                nr_cpus: 4,
                active_cpus: 0,
            },
        )
    }

    #[test]
    fn what_the_kernel_built_checks_out() {
        let (seen, e) = good();
        assert_eq!(check(&seen, Some(&e)), Ok(()));
        assert_eq!(check(&seen, None), Ok(()));
    }

    #[test]
    fn each_field_is_checked() {
        let (seen, e) = good();
        let cases: [(fn(&mut Seen), Mismatch); 7] = [
            (|s| s.state = StopState::DisableIrq as u32, Mismatch::State),
            (|s| s.thread_ack = 0, Mismatch::ThreadAck),
            (|s| s.thread_ack = 5, Mismatch::ThreadAck),
            (|s| s.func = 1, Mismatch::Func),
            (|s| s.data = 1, Mismatch::Data),
            (|s| s.num_threads = 5, Mismatch::NumThreads),
            (|s| s.active_cpus = 8, Mismatch::ActiveCpus),
        ];
        for (change, want) in cases {
            let mut s = seen;
            change(&mut s);
            assert_eq!(check(&s, Some(&e)), Err(want));
        }
    }

    /// The same struct read 8 bytes off (a kernel that added a field in
    /// front): nothing checks out.
    #[test]
    fn a_shifted_layout_is_refused() {
        let (seen, e) = good();
        // fn <- data, data <- num_threads|pad, active_cpus <- state|ack...
        let shifted = Seen {
            func: seen.data,
            data: u64::from(seen.num_threads),
            active_cpus: u64::from(seen.state) | (u64::from(seen.thread_ack as u32) << 32),
            num_threads: 0,
            state: 0,
            thread_ack: 0,
        };
        assert_eq!(check(&shifted, Some(&e)), Err(Mismatch::State));
        assert_eq!(check(&shifted, None), Err(Mismatch::State));
    }
}

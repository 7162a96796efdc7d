// SPDX-License-Identifier: GPL-2.0

//! Text of records and instances: one line per item, `key=value` fields,
//! documented in `Documentation/stopwatch.rst`. Changing a field name is an
//! interface change. This file has the pieces every line uses (times,
//! names, CPU lists); a line of `events` is `text/event.rs`, a line of
//! `stops` is `text/stop.rs`. What is live (the `cpus` view, the console)
//! is worded by `diagnosis.rs`.

mod event;
mod stop;

pub(crate) use event::EventLine;
pub(crate) use stop::StopLine;
// The host tools' verdict (`tools/verdict.rs`) names culprits as the
// `stops` line does.
#[cfg(not(CONFIG_RUST))]
pub(crate) use stop::{late_task, TouchCallerList};

use super::comm::{comm_str, Comm, COMM_LEN};
use core::fmt::{self, Display, Formatter};

/// Nanoseconds shown as `seconds.micros` (ftrace style).
pub(crate) struct Secs(pub(crate) u64);

impl Display for Secs {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:06}",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000 / 1000
        )
    }
}

/// Nanoseconds shown as milliseconds with three decimals.
pub(crate) struct Ms(pub(crate) u64);

impl Display for Ms {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1_000_000, self.0 % 1_000_000 / 1000)
    }
}

/// Where names come from: the kernel, or a fake in tests.
pub(crate) trait Names {
    /// Writes `addr` as `symbol+off/size`.
    fn symbol(&self, f: &mut Formatter<'_>, addr: u64) -> fmt::Result;
    /// Name of `pid`, if known.
    fn comm(&self, pid: u32) -> Option<Comm>;
}

/// Name shown for `pid`: `<idle>` for pid 0 (every CPU's idle task has
/// it, under a different name), else the cached name.
pub(super) fn comm_for<N: Names>(names: &N, pid: u32) -> Option<Comm> {
    if pid == 0 {
        let mut idle = [0u8; COMM_LEN];
        idle[..6].copy_from_slice(b"<idle>");
        return Some(idle);
    }
    names.comm(pid)
}

/// `comm/pid`, `<...>/pid` if the name is unknown.
pub(crate) struct Task<'a, N: Names>(pub(crate) &'a N, pub(crate) u32);

impl<N: Names> Display for Task<'_, N> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match comm_for(self.0, self.1) {
            Some(comm) => write!(f, "{}/{}", comm_str(&comm), self.1),
            None => write!(f, "<...>/{}", self.1),
        }
    }
}

/// `comm/pid` or `-` if there is no pid.
pub(crate) struct MaybeTask<'a, N: Names>(pub(crate) &'a N, pub(crate) Option<u32>);

impl<N: Names> Display for MaybeTask<'_, N> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(pid) => write!(f, "{}", Task(self.0, pid)),
            None => f.write_str("-"),
        }
    }
}

/// An address through [`Names::symbol`].
pub(crate) struct Sym<'a, N: Names>(pub(crate) &'a N, pub(crate) u64);

impl<N: Names> Display for Sym<'_, N> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        // 0: unknown (never a symbol).
        match self.1 {
            0 => f.write_str("-"),
            addr => self.0.symbol(f, addr),
        }
    }
}

/// An address through [`Names::symbol`], as one field ([`Compact`]).
pub(super) struct CompactSym<'a, N: Names>(pub(super) &'a N, pub(super) u64);

impl<N: Names> Display for CompactSym<'_, N> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        Compact(Sym(self.0, self.1)).fmt(f)
    }
}

/// A symbol's text without spaces, so that it stays one field: the one
/// before the module dropped (`sym+0x1/0x2[module]`), any other (a
/// demangled name's) made `_` (`<hog::Hog_as_kernel::Module>::init+0x4/0x90[hog]`).
pub(crate) struct Compact<T: Display>(pub(crate) T);

impl<T: Display> Display for Compact<T> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        /// Passes text through without its spaces: one before `[` is
        /// dropped, any other becomes `_`.
        struct NoSpaces<'a, 'b> {
            f: &'a mut Formatter<'b>,
            space: bool,
        }
        impl fmt::Write for NoSpaces<'_, '_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                for part in s.split_inclusive(' ') {
                    let (text, ends_in_space) = match part.strip_suffix(' ') {
                        Some(text) => (text, true),
                        None => (part, false),
                    };
                    if self.space && !text.is_empty() {
                        if !text.starts_with('[') {
                            self.f.write_char('_')?;
                        }
                        self.space = false;
                    }
                    self.f.write_str(text)?;
                    self.space |= ends_in_space;
                }
                Ok(())
            }
        }
        let mut out = NoSpaces { f, space: false };
        fmt::Write::write_fmt(&mut out, format_args!("{}", self.0))
    }
}

/// The CPUs among `0..n` for which `pick` holds, as the kernel writes a
/// CPU list (`/sys/devices/system/cpu/online`, `%*pbl`): runs as ranges,
/// `0-1,3-63`; `-` if none. Its length grows with the number of runs, not
/// of CPUs: the waiters of one stop_machine() at 64 CPUs are `0-1,3-63`.
pub(crate) struct CpusWhere<F: Fn(usize) -> bool> {
    /// CPUs to consider: `0..n`.
    pub(crate) n: usize,
    /// Which to show.
    pub(crate) pick: F,
}

impl<F: Fn(usize) -> bool> Display for CpusWhere<F> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut cpu = 0;
        while cpu < self.n {
            if !(self.pick)(cpu) {
                cpu += 1;
                continue;
            }
            let start = cpu;
            while cpu + 1 < self.n && (self.pick)(cpu + 1) {
                cpu += 1;
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if start == cpu {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{cpu}")?;
            }
            cpu += 1;
        }
        if first {
            f.write_str("-")?;
        }
        Ok(())
    }
}

/// What the tests of the text (and of the host tools' verdict) share.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Comm, Formatter, Names, COMM_LEN};
    use core::fmt;

    /// Symbols as `sym_<hex>`, pid 91 is `hog`, others unknown.
    pub(crate) struct Fake;

    impl Names for Fake {
        fn symbol(&self, f: &mut Formatter<'_>, addr: u64) -> fmt::Result {
            if addr == 0xee {
                return f.write_str("mod_fn+0x1/0x2 [mod]");
            }
            write!(f, "sym_{addr:x}")
        }

        fn comm(&self, pid: u32) -> Option<Comm> {
            let mut comm = [0u8; COMM_LEN];
            (pid == 91).then(|| {
                comm[..3].copy_from_slice(b"hog");
                comm
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    /// `CpusWhere` over a set given as a list.
    fn cpus(n: usize, set: &[usize]) -> alloc::string::String {
        format!(
            "{}",
            CpusWhere {
                n,
                pick: |c| set.contains(&c)
            }
        )
    }

    /// Names with spaces, for [`CompactSym`].
    struct Spaced;

    impl Names for Spaced {
        fn symbol(&self, f: &mut Formatter<'_>, addr: u64) -> fmt::Result {
            match addr {
                1 => f.write_str("<hog::Hog as kernel::Module>::init+0x4/0x90 [hog]"),
                // In pieces, a space at the end of one.
                2 => {
                    f.write_str("<&mut ")?;
                    f.write_str("u8 as Tr>::f ")?;
                    f.write_str("[m]")
                }
                _ => f.write_str("plain+0x1/0x2"),
            }
        }

        fn comm(&self, _: u32) -> Option<Comm> {
            None
        }
    }

    #[test]
    fn compact_symbols_are_one_field_and_keep_their_words_apart() {
        let compact = |addr| format!("{}", CompactSym(&Spaced, addr));
        assert_eq!(
            compact(1),
            "<hog::Hog_as_kernel::Module>::init+0x4/0x90[hog]"
        );
        assert_eq!(compact(2), "<&mut_u8_as_Tr>::f[m]");
        assert_eq!(compact(3), "plain+0x1/0x2");
    }

    #[test]
    fn cpu_lists_are_ranges() {
        assert_eq!(cpus(4, &[]), "-");
        assert_eq!(cpus(4, &[2]), "2");
        assert_eq!(cpus(4, &[0, 1, 3]), "0-1,3");
        assert_eq!(cpus(4, &[0, 2]), "0,2");
        assert_eq!(cpus(4, &[0, 1, 2, 3]), "0-3");
        // Beyond `n` nothing is shown, whatever `pick` says.
        assert_eq!(cpus(3, &[1, 2, 3]), "1-2");
        let waiters: alloc::vec::Vec<usize> = (0..64).filter(|&c| c != 2).collect();
        assert_eq!(cpus(64, &waiters), "0-1,3-63");
        let even: alloc::vec::Vec<usize> = (0..8).filter(|c| c % 2 == 0).collect();
        assert_eq!(cpus(8, &even), "0,2,4,6");
    }

    /// Against a model: the text, expanded, is the set, in whole runs.
    #[test]
    fn cpu_lists_expand_to_the_set() {
        let mut rng = crate::testing::Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..500 {
            let x = rng.next();
            let n = (x % 70) as usize;
            let set: alloc::vec::Vec<usize> = (0..n).filter(|c| (x >> (c % 64)) & 1 == 1).collect();
            let text = cpus(n, &set);
            let mut got = alloc::vec::Vec::new();
            if text != "-" {
                for part in text.split(',') {
                    let (a, b) = part.split_once('-').unwrap_or((part, part));
                    let (a, b): (usize, usize) = (a.parse().unwrap(), b.parse().unwrap());
                    assert!(a <= b, "{text}");
                    // Runs are whole: a part never continues the last.
                    assert!(got.last().is_none_or(|&l: &usize| l + 1 < a), "{text}");
                    got.extend(a..=b);
                }
            }
            assert_eq!(got, set, "{text}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(
            format!("{} {} {}", Secs(0), Ms(999), Secs(1_000_000_000)),
            "0.000000 0.000 1.000000"
        );
    }
}

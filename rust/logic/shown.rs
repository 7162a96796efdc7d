// SPDX-License-Identifier: GPL-2.0

//! Which CPUs a bounded view shows: every CPU that matters first, then
//! the others in CPU order, up to a limit, with nothing allocated.
//!
//! The panic dump prints on a serial console at about 11 bytes a
//! millisecond (115200 baud), from a panicking kernel: at 64 CPUs and
//! more it cannot show every CPU, and the first 64 by number are the
//! wrong ones when the CPU every other waits for is CPU 85 (the seed's
//! servers). So it shows the CPUs that matter (those that have not
//! arrived in a `stop_machine()` call in flight, and the panicking CPU)
//! whatever their number, fills the rest of its limit with the others in
//! CPU order, and says which it left out.
//!
//! [`Shown`] is worked out in two passes over the CPUs and is then a
//! test of one CPU, so the dump can go over the CPUs once per section
//! (lines, records, what it left out) without remembering a list.

/// Which CPUs a view of at most some number of CPUs shows.
pub(crate) struct Shown {
    /// The highest CPU that matters and is shown (`None`: none).
    special_upto: Option<usize>,
    /// The highest other CPU shown (`None`: none).
    other_upto: Option<usize>,
}

impl Shown {
    /// Of CPUs `0..n`, at most `limit`: those for which `matters` holds,
    /// the lowest first, then the lowest others.
    pub(crate) fn new(n: usize, limit: usize, matters: impl Fn(usize) -> bool) -> Self {
        let specials = (0..n).filter(|&c| matters(c)).count();
        let mut special_left = specials.min(limit);
        let mut other_left = limit - special_left;
        let (mut special_upto, mut other_upto) = (None, None);
        for cpu in 0..n {
            let (left, upto) = if matters(cpu) {
                (&mut special_left, &mut special_upto)
            } else {
                (&mut other_left, &mut other_upto)
            };
            if *left > 0 {
                *left -= 1;
                *upto = Some(cpu);
            }
        }
        Self {
            special_upto,
            other_upto,
        }
    }

    /// Whether `cpu` is shown (`matters`: as given to [`Shown::new`]).
    pub(crate) fn shows(&self, cpu: usize, matters: bool) -> bool {
        let upto = if matters {
            self.special_upto
        } else {
            self.other_upto
        };
        upto.is_some_and(|u| cpu <= u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// The CPUs of `0..n` a pass shows, `special` picking those that
    /// matter.
    fn shown(n: usize, limit: usize, special: impl Fn(usize) -> bool) -> Vec<usize> {
        let view = Shown::new(n, limit, &special);
        (0..n).filter(|&c| view.shows(c, special(c))).collect()
    }

    #[test]
    fn under_the_limit_every_cpu() {
        assert_eq!(shown(4, 64, |c| c == 2), [0, 1, 2, 3]);
        assert_eq!(shown(64, 64, |_| false).len(), 64);
        assert_eq!(shown(4, 0, |_| true), []);
    }

    #[test]
    fn past_the_limit_the_cpus_that_matter_then_the_first_others() {
        // 128 CPUs, CPU 85 holds everyone up, CPU 3 panics.
        let got = shown(128, 8, |c| c == 85 || c == 3);
        assert_eq!(got, [0, 1, 2, 3, 4, 5, 6, 85]);
    }

    #[test]
    fn more_cpus_that_matter_than_the_limit_the_first_of_them() {
        assert_eq!(shown(100, 3, |c| c >= 90), [90, 91, 92]);
    }

    /// Against a model: at most `limit`, every CPU that matters up to the
    /// limit, then the lowest others.
    #[test]
    fn matches_a_model() {
        let mut rng = crate::testing::Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..300 {
            let n = rng.below(200) as usize;
            let limit = rng.below(70) as usize;
            let bits = rng.next();
            let special = |c: usize| (bits >> (c % 61)) & 7 == 0;
            let specials: Vec<usize> = (0..n).filter(|&c| special(c)).collect();
            let others: Vec<usize> = (0..n).filter(|&c| !special(c)).collect();
            let mut want: Vec<usize> = specials.iter().copied().take(limit).collect();
            let room = limit - want.len();
            want.extend(others.iter().copied().take(room));
            want.sort_unstable();
            assert_eq!(shown(n, limit, special), want);
        }
    }
}

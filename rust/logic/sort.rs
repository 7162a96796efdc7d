// SPDX-License-Identifier: GPL-2.0

//! The one sort the module uses: a heapsort, in place, without allocating,
//! in O(n log n) for any input.
//!
//! Why not `core`'s `sort_unstable`: its code ends, on an `Ord` that is not
//! a total order, in `core::slice::sort::shared::smallsort::
//! panic_on_ord_violation()`, a function that never returns. objtool (7.3)
//! knows a list of such `core` functions by name, and this one is not on
//! it, so in a kernel whose objtool checks modules (Debian's, built with
//! GCC) every instance of `core`'s sort drew "falls through to next
//! function" warnings: seven in stopwatch.ko. A function objtool cannot
//! follow has stack traces and ORC data a reviewer cannot trust. This sort
//! calls nothing but the key and `swap`. It is not stable; no caller needs
//! that (ties are broken by the key).

/// Sorts `v` by `key`, smallest first.
pub(crate) fn sort_by_key<T, K: Ord>(v: &mut [T], key: impl Fn(&T) -> K) {
    sort_by(v, |a, b| key(a) < key(b));
}

/// Sorts `v`, smallest first.
pub(crate) fn sort<T: Ord>(v: &mut [T]) {
    sort_by(v, |a, b| a < b);
}

/// The items of `a` and `b`, each already in the order of `key`, merged
/// in that order (`a`'s first among equals), without allocating.
pub(crate) fn merge_by_key<T, K: Ord, A, B, F>(a: A, b: B, key: F) -> Merge<A, B, F>
where
    A: Iterator<Item = T>,
    B: Iterator<Item = T>,
    F: Fn(&T) -> K,
{
    Merge {
        a: a.peekable(),
        b: b.peekable(),
        key,
    }
}

/// The iterator of [`merge_by_key`].
pub(crate) struct Merge<A: Iterator, B: Iterator, F> {
    a: core::iter::Peekable<A>,
    b: core::iter::Peekable<B>,
    key: F,
}

impl<T, K: Ord, A, B, F> Iterator for Merge<A, B, F>
where
    A: Iterator<Item = T>,
    B: Iterator<Item = T>,
    F: Fn(&T) -> K,
{
    type Item = T;

    fn next(&mut self) -> Option<T> {
        let take_b = match (self.a.peek(), self.b.peek()) {
            (Some(a), Some(b)) => (self.key)(b) < (self.key)(a),
            (None, _) => true,
            (Some(_), None) => false,
        };
        if take_b {
            self.b.next()
        } else {
            self.a.next()
        }
    }
}

/// Sorts `v` so that no element is `less` than the one before it.
fn sort_by<T>(v: &mut [T], less: impl Fn(&T, &T) -> bool) {
    let n = v.len();
    // Build a max-heap: no parent `less` than its children.
    for start in (0..n / 2).rev() {
        sift_down(v, start, n, &less);
    }
    // Move the largest to the end, one at a time, and restore the heap in
    // what is left.
    for end in (1..n).rev() {
        v.swap(0, end);
        sift_down(v, 0, end, &less);
    }
}

/// Moves `v[node]` down the heap `v[..end]` until it is not `less` than
/// either child.
fn sift_down<T>(v: &mut [T], mut node: usize, end: usize, less: &impl Fn(&T, &T) -> bool) {
    loop {
        let left = 2 * node + 1;
        if left >= end {
            return;
        }
        let right = left + 1;
        let child = if right < end && less(&v[left], &v[right]) {
            right
        } else {
            left
        };
        if !less(&v[node], &v[child]) {
            return;
        }
        v.swap(node, child);
        node = child;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::{vec, vec::Vec};

    /// A small deterministic generator (xorshift), for inputs.
    fn numbers(seed: u64, n: usize, modulo: u64) -> Vec<u64> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x % modulo
            })
            .collect()
    }

    #[test]
    fn merges_two_ordered_streams() {
        for (seed, n, m) in [(1, 0, 0), (3, 5, 0), (5, 0, 4), (7, 30, 17), (9, 100, 100)] {
            let mut a = numbers(seed, n, 50);
            let mut b = numbers(seed + 1, m, 50);
            a.sort_unstable();
            b.sort_unstable();
            // Tagged, to see which stream an item came from.
            let merged: Vec<(u64, u8)> = merge_by_key(
                a.iter().map(|&x| (x, 0)),
                b.iter().map(|&x| (x, 1)),
                |&(x, _)| x,
            )
            .collect();
            let mut want: Vec<(u64, u8)> = a
                .iter()
                .map(|&x| (x, 0))
                .chain(b.iter().map(|&x| (x, 1)))
                .collect();
            // Equal keys: `a`'s first.
            want.sort_unstable();
            assert_eq!(merged, want);
        }
    }

    #[test]
    fn sorts_like_the_standard_sort() {
        for n in [0, 1, 2, 3, 7, 8, 9, 16, 63, 64, 65, 1000] {
            for (seed, modulo) in [(1, 3), (7, 1_000), (42, u64::MAX)] {
                let mut ours = numbers(seed, n, modulo);
                let mut want = ours.clone();
                sort(&mut ours);
                want.sort_unstable();
                assert_eq!(ours, want, "n={n} seed={seed} modulo={modulo}");
            }
        }
    }

    #[test]
    fn sorts_sorted_reversed_and_equal_input() {
        let mut up: Vec<u32> = (0..100).collect();
        let mut down: Vec<u32> = (0..100).rev().collect();
        let mut same = vec![5u32; 100];
        sort(&mut up);
        sort(&mut down);
        sort(&mut same);
        assert_eq!(up, (0..100).collect::<Vec<_>>());
        assert_eq!(down, (0..100).collect::<Vec<_>>());
        assert_eq!(same, vec![5; 100]);
    }

    #[test]
    fn sorts_by_key_and_keeps_every_element() {
        // (key, tag): sorted by key, the same multiset of elements after.
        let mut v: Vec<(u64, usize)> = numbers(3, 200, 10).into_iter().zip(0..).collect();
        let mut all = v.clone();
        sort_by_key(&mut v, |e| e.0);
        assert!(v.windows(2).all(|w| w[0].0 <= w[1].0));
        v.sort_unstable();
        all.sort_unstable();
        assert_eq!(v, all);
    }

    #[test]
    fn a_key_that_is_not_a_total_order_does_not_panic() {
        // Every comparison says "less": core's sort may panic here; this
        // one ends, with every element still there.
        struct Liar(u32);
        impl PartialEq for Liar {
            fn eq(&self, _: &Self) -> bool {
                false
            }
        }
        impl Eq for Liar {}
        impl PartialOrd for Liar {
            fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }
        impl Ord for Liar {
            fn cmp(&self, _: &Self) -> core::cmp::Ordering {
                core::cmp::Ordering::Less
            }
        }
        let mut v: Vec<u32> = (0..50).collect();
        sort_by_key(&mut v, |&x| Liar(x));
        v.sort_unstable();
        assert_eq!(v, (0..50).collect::<Vec<_>>());
    }
}

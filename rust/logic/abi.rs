// SPDX-License-Identifier: GPL-2.0

//! What the C seam and Rust share: the layouts of the structs that cross
//! `stopwatch_seam.h`, the probe kinds and the constants both sides size
//! things by.
//!
//! Each fact is written three times and checked both ways:
//! - here, as data ([`HIT`], [`PARAMS`], [`MULTI_STOP_VIEW`], [`CONSTS`]);
//! - in `stopwatch_seam.h`, as `SW_ABI_FIELD()`, `SW_ABI_SIZE()` and
//!   `SW_ABI_CONST()` lines, each a `static_assert()` of the C build;
//! - on the Rust types (`crate::seam`), as [`pin_layout!`], each a
//!   compile-time assertion of the module build.
//!
//! A field moved on the Rust side only fails the module build; on the C
//! side only, the C build; moved on one side with its assertion updated to
//! match, the host test `c_header_states_the_same_layouts` below, which
//! reads the header. (`struct sw_file` of the services, which the samples
//! share without this module, is pinned the same way in `services.h` and
//! `services/debugfs.rs`, and compared by `services_pin_the_same_file_layout`.)

// In the module, the tables are read only by the const assertions of
// `pin_layout!` (which rustc 1.85, Debian's, does not count as uses, and
// 1.95 does) and `c_name` only by the host test: `allow`, not `expect`,
// since only some compilers warn.
#![cfg_attr(
    CONFIG_RUST,
    allow(dead_code, reason = "used by const assertions and host tests only")
)]

/// A field of a shared struct: its C name and offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Field {
    /// As C spells it.
    pub(crate) name: &'static str,
    /// Bytes from the start of the struct.
    pub(crate) offset: usize,
}

/// The layout of one struct both sides use.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout {
    /// `struct <c_name>` in `stopwatch_seam.h`.
    pub(crate) c_name: &'static str,
    /// `sizeof`.
    pub(crate) size: usize,
    /// Every field, in order.
    pub(crate) fields: &'static [Field],
}

/// Whether two names are the same (`==` on `str` is not `const`).
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

impl Layout {
    /// The offset of field `name`; a build error (const evaluation) if it
    /// has none.
    pub(crate) const fn offset(&self, name: &str) -> usize {
        let mut i = 0;
        while i < self.fields.len() {
            if same(self.fields[i].name, name) {
                return self.fields[i].offset;
            }
            i += 1;
        }
        panic!("a field the shared layout does not list");
    }
}

/// A named constant both sides use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Const {
    /// As C spells it.
    pub(crate) name: &'static str,
    /// Its value.
    pub(crate) value: u64,
}

/// The value of constant `name` of [`CONSTS`]; a build error if absent.
pub(crate) const fn constant(name: &str) -> u64 {
    let mut i = 0;
    while i < CONSTS.len() {
        if same(CONSTS[i].name, name) {
            return CONSTS[i].value;
        }
        i += 1;
    }
    panic!("a constant the seam does not list");
}

/// Pins a `#[repr(C)]` type to a [`Layout`]: its size, and each field
/// (by its Rust name, `=> "c_name"` where C spells it otherwise) at the
/// layout's offset, every field of the layout named once.
#[cfg_attr(
    not(CONFIG_RUST),
    expect(unused_macros, reason = "the Rust types it pins are the module's")
)]
macro_rules! pin_layout {
    ($ty:ty, $layout:expr, { $($field:ident $(=> $c:literal)?),* $(,)? }) => {
        const _: () = {
            let layout = &$layout;
            assert!(core::mem::size_of::<$ty>() == layout.size);
            let mut named = 0;
            $(
                assert!(
                    core::mem::offset_of!($ty, $field)
                        == layout.offset($crate::logic::abi::pin_layout!(@name $field $($c)?))
                );
                named += 1;
            )*
            assert!(named == layout.fields.len());
        };
    };
    (@name $field:ident $c:literal) => { $c };
    (@name $field:ident) => { stringify!($field) };
}
pub(crate) use pin_layout;

/// A layout's field list, each `name @ offset`.
macro_rules! fields {
    ($($name:tt @ $off:literal),* $(,)?) => {
        &[$(Field { name: stringify!($name), offset: $off }),*]
    };
}

/// `struct sw_hit`: what a probe saw (`seam::Hit`).
pub(crate) const HIT: Layout = Layout {
    c_name: "sw_hit",
    size: 88,
    fields: fields! {
        ts_ns @ 0, jiffies @ 8, args @ 16, caller @ 40, retval @ 48,
        instance @ 56, stack @ 64, cpu @ 72, pid @ 76, phase @ 80, pad @ 84,
    },
};

/// `struct sw_params`: the module parameters (`seam::Params`).
pub(crate) const PARAMS: Layout = Layout {
    c_name: "sw_params",
    size: 32,
    fields: fields! {
        buffer_size @ 0, warn_percent @ 8, test_missing_probe @ 12,
        console @ 16, test_layout_shift @ 20, test_fill @ 24,
    },
};

/// `struct sw_multi_stop_view`: a copy of a `struct multi_stop_data`
/// (`seam::MultiStop`).
pub(crate) const MULTI_STOP_VIEW: Layout = Layout {
    c_name: "sw_multi_stop_view",
    size: 40,
    fields: fields! {
        fn @ 0, data @ 8, active_cpus @ 16, num_threads @ 24, state @ 28,
        thread_ack @ 32, pad @ 36,
    },
};

/// Every struct of the seam.
#[cfg(test)]
const LAYOUTS: &[Layout] = &[HIT, PARAMS, MULTI_STOP_VIEW];

/// How a probe is placed and how its hits reach the recorder (`enum
/// sw_probe_kind`; the values are [`CONSTS`]' `SW_PROBE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum ProbeKind {
    /// An entry kprobe: each hit is filled in and goes to
    /// `entries::stopwatch_probe_hit`.
    Entry = constant("SW_PROBE_ENTRY") as u32,
    /// An int3 kprobe on `stop_machine_yield()`, whose handler no
    /// interrupt can land in (see `probes::spin`): the handler first hands
    /// `entries::stopwatch_spin_hit` the CPU's live state, the `cpumask`
    /// argument and jiffies, without filling in a `Hit`; a spin with
    /// nothing to record or check is only counted.
    Spin = constant("SW_PROBE_SPIN") as u32,
    /// A kretprobe with an entry handler: hits at entry (`phase` 0) and at
    /// the return of the same call (`phase` 1), always paired.
    Paired = constant("SW_PROBE_PAIRED") as u32,
    /// An entry kprobe on a watchdog touch function: the handler first
    /// hands `entries::stopwatch_touch_hit` the CPU's live state, jiffies
    /// and the caller, without filling in a `Hit` (the touch functions
    /// take no arguments); a touch that repeats the CPU's latest one is
    /// only counted.
    Touch = constant("SW_PROBE_TOUCH") as u32,
}

impl ProbeKind {
    /// The kprobe API it is registered with, for messages.
    pub(crate) fn api(self) -> &'static str {
        match self {
            Self::Paired => "kretprobe",
            Self::Entry | Self::Spin | Self::Touch => "kprobe",
        }
    }
}

/// The constants both sides use.
pub(crate) const CONSTS: &[Const] = &[
    Const {
        name: "SW_PROBE_ENTRY",
        value: 0,
    },
    Const {
        name: "SW_PROBE_SPIN",
        value: 1,
    },
    Const {
        name: "SW_PROBE_PAIRED",
        value: 2,
    },
    Const {
        name: "SW_PROBE_TOUCH",
        value: 3,
    },
    // Probe slots: one counter per slot in every CPU's live state.
    Const {
        name: "SW_MAX_PROBES",
        value: super::live::MAX_PROBES as u64,
    },
    // Bytes of per-call scratch a kretprobe carries from entry to return.
    Const {
        name: "SW_INSTANCE_BYTES",
        value: 16,
    },
    // TASK_COMM_LEN: the C seam asserts the kernel's is this.
    Const {
        name: "SW_COMM_LEN",
        value: super::comm::COMM_LEN as u64,
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::{
        boxed::Box,
        format,
        string::{String, ToString},
        vec::Vec,
    };

    /// The arguments of each `SW_ABI_<what>(...)` line of `header`.
    fn lines<'a>(header: &'a str, what: &str) -> Vec<Vec<&'a str>> {
        let prefix = format!("SW_ABI_{what}(");
        header
            .lines()
            .filter_map(|l| l.trim().strip_prefix(prefix.as_str()))
            .map(|rest| {
                rest.trim_end_matches(");")
                    .split(',')
                    .map(str::trim)
                    .collect()
            })
            .collect()
    }

    /// `stopwatch_seam.h` states every layout and constant of this file,
    /// and nothing else: a field or value changed on one side only fails
    /// here (or in the C build's `static_assert`s, or the module's
    /// `pin_layout!`).
    #[test]
    fn c_header_states_the_same_layouts() {
        let header = include_str!("../stopwatch_seam.h");
        let fields = lines(header, "FIELD");
        for layout in LAYOUTS {
            let c_type = format!("struct {}", layout.c_name);
            let stated: Vec<Field> = fields
                .iter()
                .filter(|f| f[0] == c_type)
                .map(|f| Field {
                    name: Box::leak(f[1].to_string().into_boxed_str()),
                    offset: f[2].parse().unwrap(),
                })
                .collect();
            assert_eq!(stated, layout.fields, "{c_type}");
            let size: Vec<usize> = lines(header, "SIZE")
                .iter()
                .filter(|s| s[0] == c_type)
                .map(|s| s[1].parse().unwrap())
                .collect();
            assert_eq!(size, [layout.size], "sizeof({c_type})");
        }
        for f in &fields {
            assert!(
                LAYOUTS
                    .iter()
                    .any(|l| f[0] == format!("struct {}", l.c_name)),
                "stopwatch_seam.h pins {} that abi.rs lacks",
                f[0]
            );
        }
        let consts: Vec<Const> = lines(header, "CONST")
            .iter()
            .map(|c| Const {
                name: Box::leak(c[0].to_string().into_boxed_str()),
                value: c[1].parse().unwrap(),
            })
            .collect();
        assert_eq!(consts, CONSTS);
    }

    /// `struct sw_file` (services.h) and `SwFile` (services/debugfs.rs, which the
    /// samples build without this module) pin the same offsets.
    #[test]
    fn services_pin_the_same_file_layout() {
        let header = include_str!("../services.h");
        let c: Vec<(String, usize)> = lines(header, "FIELD")
            .iter()
            .filter(|f| f[0] == "struct sw_file")
            .map(|f| (f[1].to_string(), f[2].parse().unwrap()))
            .collect();
        let rust = include_str!("../services/debugfs.rs");
        let pinned: Vec<(String, usize)> = rust
            .lines()
            .filter_map(|l| l.trim().strip_prefix("file_field!("))
            .map(|rest| {
                let args: Vec<&str> = rest
                    .trim_end_matches(");")
                    .split(',')
                    .map(str::trim)
                    .collect();
                (args[0].to_string(), args[1].parse().unwrap())
            })
            .collect();
        assert_eq!(c.len(), 5, "services.h pins every field of struct sw_file");
        assert_eq!(c, pinned);
    }

    #[test]
    fn lookups() {
        assert_eq!(HIT.offset("cpu"), 72);
        assert_eq!(MULTI_STOP_VIEW.offset("fn"), 0);
        assert_eq!(constant("SW_PROBE_TOUCH"), 3);
        assert_eq!(ProbeKind::Spin as u32, 1);
    }
}

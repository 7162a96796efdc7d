// SPDX-License-Identifier: GPL-2.0

//! The demangler against real names (`symbols.txt`) and against the model
//! every Rust tool uses, `rustc-demangle` in its alternate form.

use super::Demangled;
use alloc::{format, string::ToString};

/// The real names, one per line.
fn symbols() -> impl Iterator<Item = &'static str> {
    include_str!("symbols.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
}

fn shown(s: &str) -> alloc::string::String {
    Demangled(s).to_string()
}

#[test]
fn every_real_name_reads_as_rustc_demangle_writes_it() {
    let mut n = 0;
    for sym in symbols() {
        let model = format!("{:#}", rustc_demangle::demangle(sym));
        assert_ne!(model, sym, "the model reads {sym}");
        assert_eq!(shown(sym), model, "{sym}");
        n += 1;
    }
    assert!(n > 150, "symbols.txt has its names ({n})");
}

#[test]
fn a_symbol_keeps_its_offset_and_module() {
    assert_eq!(
        shown("_RNvCscKUMUmkeL2K_3hog10hog_thread+0x187/0x26d [stopwatch_hog]"),
        "hog::hog_thread+0x187/0x26d [stopwatch_hog]"
    );
    assert_eq!(
        shown("_RNvCscKUMUmkeL2K_3hog10hog_thread+0x187/0x26d"),
        "hog::hog_thread+0x187/0x26d"
    );
    assert_eq!(
        shown("_RNvCscKUMUmkeL2K_3hog10hog_thread"),
        "hog::hog_thread"
    );
}

#[test]
fn impls_closures_and_generics() {
    // <kernel::sync::Arc<T> as Drop>::drop, a closure inside a method, a
    // generic function's instance (the instantiating crate not shown).
    let cases = [
        "_RNvXs_NtCs1EKtwoKEMO2_6kernel4syncINtB4_3ArcmENtNtNtCs1peUGmbrgHn_4core3ops4drop4Drop4drop",
        "_RNCNvMNtCscKUMUmkeL2K_3hog4mainNtB4_3Hog5start0B4_",
        "_RINvNtCs1EKtwoKEMO2_6kernel5error12from_err_ptrNtNtCs1peUGmbrgHn_4core3ffi6c_voidECscKUMUmkeL2K_3hog",
    ];
    for sym in cases {
        assert_eq!(
            shown(sym),
            format!("{:#}", rustc_demangle::demangle(sym)),
            "{sym}"
        );
    }
    assert_eq!(
        shown(cases[0]),
        "<kernel::sync::Arc<u32> as core::ops::drop::Drop>::drop"
    );
    assert_eq!(shown(cases[1]), "<hog::main::Hog>::start::{closure#0}");
    assert_eq!(
        shown(cases[2]),
        "kernel::error::from_err_ptr::<core::ffi::c_void>"
    );
}

#[test]
fn c_symbols_and_addresses_pass_through() {
    for s in [
        "multi_cpu_stop+0x42/0x170",
        "touch_softlockup_watchdog+0x4/0x20",
        "0xffffffffc0257540",
        "-",
        "",
        "_R",
    ] {
        assert_eq!(shown(s), s);
    }
}

#[test]
fn what_it_cannot_read_stays_as_it_was() {
    for s in [
        // Cut short (a name longer than the symbol buffer).
        "_RNvCscKUMUmkeL2K_3hog10hog_thr+0x1/0x2 [stopwatch_hog]",
        // Punycode.
        "_RNvCs4fqI2P2rA04_11utf8_identsu30____7hkackfecea1cbdathfdh9qjf",
        // A backreference forward, and to itself.
        "_RNvB9_3foo",
        "_RNvB0_3foo",
        // An unknown tag, an encoding version, junk after the path.
        "_RZ3foo",
        "_R0NvC3foo3bar",
        "_RNvC3foo3barXYZ",
        // A constant of a kind it does not show (a str).
        "_RINvC3foo3barKe616263_E",
    ] {
        assert_eq!(shown(s), s, "{s}");
    }
}

#[test]
fn nesting_is_bounded() {
    // 200 nested references: refused, not a stack overflow.
    let mut sym = "_R".to_string();
    for _ in 0..200 {
        sym.push_str("INvC3foo3bar");
    }
    sym.push_str("NvC3foo3bar");
    for _ in 0..200 {
        sym.push('E');
    }
    assert_eq!(shown(&sym), sym);
}

#[test]
fn a_compiler_suffix_is_kept() {
    assert_eq!(
        shown("_RNvCscKUMUmkeL2K_3hog10hog_thread.llvm.123+0x4/0x8"),
        "hog::hog_thread.llvm.123+0x4/0x8"
    );
}

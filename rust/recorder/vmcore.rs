// SPDX-License-Identifier: GPL-2.0

//! The module's vmcore descriptor (`logic::vmcore`): the symbol
//! `stopwatch_vmcore`, published once the recorder is in place, kept
//! current on a resize, stamped by the panic notifier, retracted before
//! the recorder is freed.

use super::Recorder;
use crate::{
    hot::{Relaxed, Release},
    logic::{
        record::FORMAT_VERSION,
        vmcore::{address_of, Descriptor, VERSION},
    },
    services,
};

/// The descriptor. A reader finds it by this symbol, or by its magic in
/// physical memory. (`export_name` keeps it: not `#[used]`, which marks
/// its section `SHF_GNU_RETAIN`, the bit the module loader reads as
/// `SHF_RO_AFTER_INIT`: all of `.data` went read-only after init, and the
/// first `irq_work_queue()` on it faulted.)
#[export_name = "stopwatch_vmcore"]
static VMCORE: Descriptor = Descriptor::new();

/// The published descriptor; dropping it retracts it.
pub(crate) struct Published(());

impl Published {
    /// Describes `rec` and publishes the descriptor.
    ///
    /// # Safety
    ///
    /// `rec` must stay where it is until the returned value is dropped.
    pub(crate) unsafe fn publish(rec: &Recorder) -> Self {
        let d = &VMCORE;
        d.version.store(VERSION, Relaxed);
        d.record_format.store(u32::from(FORMAT_VERSION), Relaxed);
        d.online_mask.store(services::cpu_online_mask(), Relaxed);
        d.active_mask.store(services::cpu_active_mask(), Relaxed);
        d.load_mono_ns.store(services::now_ns(), Relaxed);
        d.load_printk_ns.store(services::printk_clock_ns(), Relaxed);
        rec.describe(d);
        // Last: a reader that sees the address sees the rest.
        d.self_addr.store(address_of(d), Release);
        Self(())
    }
}

impl Drop for Published {
    fn drop(&mut self) {
        VMCORE.self_addr.store(0, Release);
    }
}

/// The descriptor, for the recorder to keep current on a resize.
pub(super) fn descriptor() -> &'static Descriptor {
    &VMCORE
}

/// Stamps the panic (the panic notifier, on the panicking CPU): no lock,
/// no allocation.
pub(crate) fn stamp_panic(cpu: u32) {
    let d = &VMCORE;
    d.panic_mono_ns.store(services::now_ns(), Relaxed);
    d.panic_printk_ns
        .store(services::printk_clock_ns(), Relaxed);
    d.panic_cpu.store(cpu, Relaxed);
    d.panicked.store(1, Release);
}

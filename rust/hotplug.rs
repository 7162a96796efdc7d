// SPDX-License-Identifier: GPL-2.0

//! CPU hotplug: a CPU that comes up for the first time since the module
//! loaded gets its ring (`recorder/rings.rs`), from the C seam's callback
//! at `CPUHP_BP_PREPARE_DYN`.

use crate::{
    hot::{Acquire, AtomicPtr, Release},
    recorder::Recorder,
    seam, services,
};
use kernel::prelude::*;

/// The recorder the callback adds rings to (null: none).
static HOTPLUG: AtomicPtr<Recorder> = AtomicPtr::new(core::ptr::null_mut());

/// The CPU hotplug callback is registered while this exists.
///
/// # Invariants
///
/// While a `Hotplug` exists, `HOTPLUG` points to the recorder it was
/// started for. Dropping it unregisters the callback before clearing it.
pub(crate) struct Hotplug {
    /// Only [`Hotplug::start`] makes one.
    _private: (),
}

impl Hotplug {
    /// Registers the callback for `rec`, then gives every CPU online now
    /// its ring (those that came up after the recorder made its rings and
    /// before the callback was there; the others have one).
    ///
    /// # Safety
    ///
    /// `rec` must stay valid until the returned value is dropped.
    pub(crate) unsafe fn start(rec: &Recorder) -> Result<Self> {
        HOTPLUG.store(core::ptr::from_ref(rec).cast_mut(), Release);
        // SAFETY: `HOTPLUG` stays valid until `drop`, which unregisters
        // the callback first; on failure it is cleared below.
        if let Err(e) = unsafe { seam::hotplug_start() } {
            HOTPLUG.store(core::ptr::null_mut(), Release);
            return Err(e);
        }
        for cpu in 0..services::nr_cpu_ids() {
            if services::cpu_online(cpu) {
                rec.add_cpu(cpu as usize);
            }
        }
        Ok(Self { _private: () })
    }
}

impl Drop for Hotplug {
    fn drop(&mut self) {
        seam::hotplug_stop();
        HOTPLUG.store(core::ptr::null_mut(), Release);
    }
}

/// CPU `cpu` is coming up (process context, may sleep).
pub(crate) fn cpu_prepare(cpu: u32) {
    // SAFETY: by the `Hotplug` invariants a non-null `HOTPLUG` is a live
    // recorder while the callback is registered.
    if let Some(rec) = unsafe { HOTPLUG.load(Acquire).as_ref() } {
        rec.add_cpu(cpu as usize);
    }
}

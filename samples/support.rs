// SPDX-License-Identifier: GPL-2.0

//! What the samples share (each sample crate includes this file with
//! `#[path]`): parameter checks, and a kernel thread working on state that
//! debugfs files show. No kernel stopwatch supports has a Rust kthread
//! abstraction, so the exported C functions are declared here, in one
//! private `extern "C"` block, and wrapped in a safe owner that stops the
//! thread when dropped.

use crate::services::{self, c_str, Files};
use core::ffi::CStr;
use kernel::prelude::*;

mod ffi {
    use core::ffi::{c_int, c_long, c_uint, c_void};

    /// `struct task_struct`, only handled by pointer.
    pub(super) type TaskStruct = c_void;

    extern "C" {
        pub(super) fn kthread_create_on_node(
            threadfn: unsafe extern "C" fn(*mut c_void) -> c_int,
            data: *mut c_void,
            node: c_int,
            namefmt: *const u8,
            ...
        ) -> *mut TaskStruct;
        pub(super) fn kthread_create_on_cpu(
            threadfn: unsafe extern "C" fn(*mut c_void) -> c_int,
            data: *mut c_void,
            cpu: c_uint,
            namefmt: *const u8,
        ) -> *mut TaskStruct;
        pub(super) fn kthread_should_stop() -> bool;
        pub(super) fn kthread_stop(task: *mut TaskStruct) -> c_int;
        pub(super) fn wake_up_process(task: *mut TaskStruct) -> c_int;
        pub(super) fn schedule_timeout_interruptible(timeout: c_long) -> c_long;
    }
}

/// The body of a thread: runs until [`should_stop`] says so.
pub(crate) type ThreadFn = unsafe extern "C" fn(*mut core::ffi::c_void) -> core::ffi::c_int;

/// A running kernel thread, stopped (`kthread_stop()`) on drop.
///
/// # Invariants
///
/// `task` is a thread created by `kthread_create_on_*()` and woken; its
/// function returns only once [`should_stop`] is true, so the task stays
/// valid until `kthread_stop()` in `drop`.
pub(crate) struct KThread {
    /// The thread.
    task: *mut ffi::TaskStruct,
}

// SAFETY: the task pointer may be used (stopped) from any thread.
unsafe impl Send for KThread {}
// SAFETY: `KThread` has no `&self` methods touching the task.
unsafe impl Sync for KThread {}

impl KThread {
    /// Starts `f(data)` in a thread named `name`, bound to `cpu` if given.
    ///
    /// # Safety
    ///
    /// `f` must loop until [`should_stop`] returns true, and `data` must
    /// stay valid until the returned `KThread` is dropped.
    pub(crate) unsafe fn spawn(
        f: ThreadFn,
        data: *mut core::ffi::c_void,
        name: &CStr,
        cpu: Option<u32>,
    ) -> Result<Self> {
        let task = match cpu {
            // SAFETY: `f` and `data` are valid per the caller; `name` is a
            // NUL-terminated format with one `%u` (the kernel fills in the
            // CPU) or none.
            Some(cpu) => unsafe { ffi::kthread_create_on_cpu(f, data, cpu, c_str(name)) },
            // SAFETY: as above; `"%s"` with `name` as its argument.
            None => unsafe { ffi::kthread_create_on_node(f, data, -1, c_str(c"%s"), c_str(name)) },
        };
        let task = kernel::error::from_err_ptr(task)?;
        // SAFETY: `task` was just created and not yet woken.
        unsafe { ffi::wake_up_process(task) };
        Ok(Self { task })
    }
}

impl Drop for KThread {
    fn drop(&mut self) {
        // SAFETY: by the type invariants the task is still valid; this
        // waits until its function returns.
        unsafe { ffi::kthread_stop(self.task) };
    }
}

/// A kernel thread working on state that the sample's debugfs files show.
///
/// # Invariants
///
/// While `thread` is `Some`, it runs with a pointer to the pinned `T` in
/// `state`; it is stopped before `state` is dropped (fields drop in
/// declaration order, and `stop` takes it first).
pub(crate) struct Worker<T: 'static> {
    /// The thread; `None` once stopped.
    thread: Option<KThread>,
    /// The state and its debugfs directory.
    state: Files<T>,
}

impl<T: Send + Sync + 'static> Worker<T> {
    /// Starts `f` on `state` in a thread named `name`, bound to `cpu` if
    /// given.
    ///
    /// # Safety
    ///
    /// `f` must treat its argument as a `*const T` and loop until
    /// [`should_stop`] returns true.
    pub(crate) unsafe fn spawn(
        state: Files<T>,
        f: ThreadFn,
        name: &CStr,
        cpu: Option<u32>,
    ) -> Result<Self> {
        let data: *const T = &*state;
        // SAFETY: `f` loops until asked to stop (the caller's guarantee)
        // and `data` points into `state`, which is pinned and outlives the
        // thread (type invariants).
        let thread = unsafe { KThread::spawn(f, data.cast_mut().cast(), name, cpu)? };
        Ok(Self {
            thread: Some(thread),
            state,
        })
    }

    /// The state.
    pub(crate) fn state(&self) -> &T {
        &self.state
    }

    /// Stops the thread, waiting for its current iteration; idempotent.
    pub(crate) fn stop(&mut self) {
        drop(self.thread.take());
    }
}

impl<T: 'static> Drop for Worker<T> {
    fn drop(&mut self) {
        drop(self.thread.take());
    }
}

/// Whether the current kernel thread has been asked to stop.
pub(crate) fn should_stop() -> bool {
    // SAFETY: only called from threads started by `KThread::spawn`.
    unsafe { ffi::kthread_should_stop() }
}

/// Sleeps up to `ms` milliseconds; returns early, within 100 ms, when the
/// thread is asked to stop. (Sleeping in slices bounds the delay of a stop
/// request that races with going to sleep.)
pub(crate) fn sleep_ms(ms: u32) {
    let mut left = ms;
    while left > 0 && !should_stop() {
        let slice = left.min(100);
        let jiffies = services::msecs_to_jiffies(slice);
        // SAFETY: called from a kernel thread in process context.
        unsafe { ffi::schedule_timeout_interruptible(jiffies as core::ffi::c_long) };
        left -= slice;
    }
}

/// Checks that module parameter `name` lies in `lo..=hi`; says so in dmesg
/// and fails with `EINVAL` if not.
pub(crate) fn check_param(name: &str, value: i64, lo: i64, hi: i64) -> Result {
    if (lo..=hi).contains(&value) {
        Ok(())
    } else {
        pr_err!("{name}={value} out of range {lo}..={hi}\n");
        Err(EINVAL)
    }
}

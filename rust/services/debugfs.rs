// SPDX-License-Identifier: GPL-2.0

//! debugfs files over Rust data: a [`FileSpec`] per file (its show and
//! write functions, or a [`Stream`] for one that is read item by item),
//! [`Files`] owning a directory and what its files show, and the C entry
//! points `services.c`'s file operations call (`stopwatch_file_show`,
//! `stopwatch_file_write`, `stopwatch_stream_*`), which find the Rust
//! functions through [`SwFile`], the `struct sw_file` of `services.h`.

use super::{c_str, ffi};
use core::{
    ffi::{c_int, c_void, CStr},
    fmt,
};
use kernel::prelude::*;

/// Writes the text of a file.
pub(crate) type ReadFn<T> = fn(&T, &mut fmt::Formatter<'_>) -> fmt::Result;
/// Takes a write to a file: the bytes written (at most 64; longer writes
/// are `EINVAL` before this is called).
pub(crate) type WriteFn<T> = fn(&T, &[u8]) -> Result;

/// What a stream file shows, item by item (see [`FileSpec::stream`]): the
/// state of one open file, made at open and kept until it is closed.
pub(crate) trait Stream<T>: Sized {
    /// The state for a new open of a file over `data`.
    fn open(data: &T) -> Result<Self>;
    /// Moves to item `pos` (counting from 0; from any item to any other,
    /// `0` again after a seek back); `false` if there is no such item.
    fn seek(&mut self, data: &T, pos: u64) -> bool;
    /// Moves to the next item; `false` if there is none.
    fn advance(&mut self, data: &T) -> bool;
    /// Writes the current item (shown again, alone, if the buffer was too
    /// small).
    fn show(&self, data: &T, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

/// A debugfs file over a `T`. Its mode follows its handlers: 0400
/// read-only, 0200 write-only, 0600 both.
pub(crate) struct FileSpec<T: 'static> {
    /// File name.
    pub(crate) name: &'static CStr,
    /// What reading shows, made whole for each read (small files).
    pub(crate) read: Option<ReadFn<T>>,
    /// What writing does.
    pub(crate) write: Option<WriteFn<T>>,
    /// What reading shows, as a [`Stream`] (large files; instead of
    /// `read`): its functions, from [`stream_fns`].
    pub(crate) stream: Option<&'static StreamFns>,
}

/// The Rust-ABI functions of one [`Stream`] type, stored for C.
pub(crate) struct StreamFns {
    /// Makes the state of an open; null if out of memory.
    open: unsafe fn(&SwFile) -> *mut c_void,
    /// [`Stream::seek`].
    seek: unsafe fn(*mut c_void, u64) -> bool,
    /// [`Stream::advance`].
    advance: unsafe fn(*mut c_void) -> bool,
    /// [`Stream::show`] into a seq_file: 0 or a negative errno.
    show: unsafe fn(*mut c_void, *mut c_void) -> c_int,
    /// Frees the state.
    release: unsafe fn(*mut c_void),
}

/// The state of one open stream file: the stream and the data it reads.
/// `repr(C)` with `fns` first: the C entry points find the functions there
/// (`fns_of`).
#[repr(C)]
struct Open<T: 'static, S> {
    /// The functions made for `T` and `S`.
    fns: &'static StreamFns,
    /// The file's data.
    data: *const T,
    /// The stream.
    stream: S,
}

/// The functions of stream `S` over `T`, for [`FileSpec::stream`].
pub(crate) const fn stream_fns<T: 'static, S: Stream<T>>() -> StreamFns {
    /// See [`StreamFns::open`].
    ///
    /// # Safety
    ///
    /// `file` was made by [`Files::<T>::new`] and its directory is live.
    unsafe fn open<T: 'static, S: Stream<T>>(file: &SwFile) -> *mut c_void {
        let data = file.data.cast::<T>();
        let Some(fns) = file.stream else {
            return core::ptr::null_mut();
        };
        // SAFETY: by the caller, `data` is the live `T` of the file.
        let Ok(stream) = S::open(unsafe { &*data }) else {
            return core::ptr::null_mut();
        };
        match KBox::new(Open { fns, data, stream }, GFP_KERNEL) {
            Ok(b) => KBox::into_raw(b).cast(),
            Err(_) => core::ptr::null_mut(),
        }
    }
    /// See [`StreamFns::seek`].
    ///
    /// # Safety
    ///
    /// `o` came from `open::<T, S>` and is not released; the file's
    /// directory is live (a read handler runs).
    unsafe fn seek<T: 'static, S: Stream<T>>(o: *mut c_void, pos: u64) -> bool {
        // SAFETY: by the caller; the seq_file lock serialises the calls.
        let o = unsafe { &mut *o.cast::<Open<T, S>>() };
        // SAFETY: by the caller, the data outlives the read handler.
        o.stream.seek(unsafe { &*o.data }, pos)
    }
    /// See [`StreamFns::advance`].
    ///
    /// # Safety
    ///
    /// As for `seek`.
    unsafe fn advance<T: 'static, S: Stream<T>>(o: *mut c_void) -> bool {
        // SAFETY: as in `seek`.
        let o = unsafe { &mut *o.cast::<Open<T, S>>() };
        // SAFETY: as in `seek`.
        o.stream.advance(unsafe { &*o.data })
    }
    /// See [`StreamFns::show`].
    ///
    /// # Safety
    ///
    /// As for `seek`; `m` is the seq_file being shown.
    unsafe fn show<T: 'static, S: Stream<T>>(o: *mut c_void, m: *mut c_void) -> c_int {
        // SAFETY: as in `seek`.
        let o = unsafe { &*o.cast::<Open<T, S>>() };
        // SAFETY: as in `seek`.
        let data = unsafe { &*o.data };
        // A named closure: rustc 1.85 (Debian's) does not extend a
        // temporary's life through a tuple struct's constructor.
        let show = |f: &mut fmt::Formatter<'_>| o.stream.show(data, f);
        let shown = Showing(&show);
        match fmt::write(&mut SeqWriter(m), format_args!("{shown}")) {
            Ok(()) => 0,
            // services.c turns this into a retry if the buffer overflowed.
            Err(_) => ENOMEM.to_errno(),
        }
    }
    /// See [`StreamFns::release`].
    ///
    /// # Safety
    ///
    /// `o` came from `open::<T, S>`; nothing uses it after. The data may
    /// be gone (the file was removed while open): it is not touched.
    unsafe fn release<T: 'static, S: Stream<T>>(o: *mut c_void) {
        // SAFETY: by the caller.
        drop(unsafe { KBox::from_raw(o.cast::<Open<T, S>>()) });
    }
    StreamFns {
        open: open::<T, S>,
        seek: seek::<T, S>,
        advance: advance::<T, S>,
        show: show::<T, S>,
        release: release::<T, S>,
    }
}

/// A closure as something `format_args!` can show.
struct Showing<'a>(&'a dyn Fn(&mut fmt::Formatter<'_>) -> fmt::Result);

impl fmt::Display for Showing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.0)(f)
    }
}

/// A Rust-ABI dispatch function stored for C (`struct sw_file`).
type ShowFn = unsafe fn(*mut c_void, &SwFile) -> c_int;
/// See [`ShowFn`].
type StoreFn = unsafe fn(&SwFile, &[u8]) -> c_int;

/// One file as C holds it (`struct sw_file`).
///
/// # Invariants
///
/// `data` points to the `T` and `spec` to the `FileSpec<T>` that `show`
/// and `write` were instantiated for; both outlive the file.
#[repr(C)]
struct SwFile {
    /// The `T`.
    data: *const c_void,
    /// The `FileSpec<T>`.
    spec: *const c_void,
    /// `show_file::<T>` if the file can be read.
    show: Option<ShowFn>,
    /// `store_file::<T>` if the file can be written.
    write: Option<StoreFn>,
    /// The stream functions if the file is a stream file.
    stream: Option<&'static StreamFns>,
}

/// Pins a field of [`SwFile`] at the offset `services.h` gives it (the host
/// test `services_pin_the_same_file_layout` compares the two lists).
macro_rules! file_field {
    ($field:ident, $offset:literal) => {
        const _: () = assert!(core::mem::offset_of!(SwFile, $field) == $offset);
    };
}
file_field!(data, 0);
file_field!(spec, 8);
file_field!(show, 16);
file_field!(write, 24);
file_field!(stream, 32);
const _: () = assert!(core::mem::size_of::<SwFile>() == 40);

/// `core::fmt` output into a `struct seq_file`.
struct SeqWriter(*mut c_void);

impl fmt::Write for SeqWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // SAFETY: `self.0` is the seq_file of the `show` call in progress.
        match unsafe { ffi::stopwatch_seq_write(self.0, s.as_ptr(), s.len()) } {
            0 => Ok(()),
            _ => Err(fmt::Error),
        }
    }
}

/// Shows a file whose [`SwFile`] was made for `T`.
///
/// # Safety
///
/// `file` was made by [`Files::<T>::new`] and its [`Files`] is alive.
unsafe fn show_file<T: 'static>(m: *mut c_void, file: &SwFile) -> c_int {
    // SAFETY: by the `SwFile` invariants and the caller, `spec` and `data`
    // point to the live `FileSpec<T>` and `T`.
    let (spec, data) = unsafe { (&*file.spec.cast::<FileSpec<T>>(), &*file.data.cast::<T>()) };
    let Some(read) = spec.read else {
        return EINVAL.to_errno();
    };
    // Named, as in `StreamFns::show`.
    let show = |f: &mut fmt::Formatter<'_>| read(data, f);
    let shown = Showing(&show);
    match fmt::write(&mut SeqWriter(m), format_args!("{shown}")) {
        Ok(()) => 0,
        // services.c turns this into a retry if the buffer overflowed.
        Err(_) => ENOMEM.to_errno(),
    }
}

/// Writes a file whose [`SwFile`] was made for `T`.
///
/// # Safety
///
/// As for [`show_file`].
unsafe fn store_file<T: 'static>(file: &SwFile, bytes: &[u8]) -> c_int {
    // SAFETY: as in `show_file`.
    let (spec, data) = unsafe { (&*file.spec.cast::<FileSpec<T>>(), &*file.data.cast::<T>()) };
    match spec.write.map(|write| write(data, bytes)) {
        Some(Ok(())) => 0,
        Some(Err(e)) => e.to_errno(),
        None => EPERM.to_errno(),
    }
}

/// Called by services.c to show a file.
///
/// # Safety
///
/// `m` is the seq_file being shown; `file` is a `struct sw_file` given to
/// `stopwatch_debugfs_file()` whose directory has not been removed.
#[no_mangle]
unsafe extern "C" fn stopwatch_file_show(m: *mut c_void, file: *const SwFile) -> c_int {
    // SAFETY: guaranteed by the caller; the `Files` that owns `*file`
    // removes the directory (waiting for this call) before freeing it.
    let file = unsafe { &*file };
    match file.show {
        // SAFETY: `show` was instantiated for the type of `file`'s data.
        Some(show) => unsafe { show(m, file) },
        None => EINVAL.to_errno(),
    }
}

/// Called by services.c to open a stream file: its state, or null if out
/// of memory.
///
/// # Safety
///
/// `file` is a `struct sw_file` with stream functions, given to
/// `stopwatch_debugfs_file()`, whose directory has not been removed.
#[no_mangle]
unsafe extern "C" fn stopwatch_stream_open(file: *const SwFile) -> *mut c_void {
    // SAFETY: guaranteed by the caller.
    let file = unsafe { &*file };
    match file.stream {
        // SAFETY: the functions were made for `file`'s data.
        Some(fns) => unsafe { (fns.open)(file) },
        None => core::ptr::null_mut(),
    }
}

/// The stream functions of a state `stopwatch_stream_open` returned.
///
/// # Safety
///
/// `o` came from `stopwatch_stream_open` and is not released.
unsafe fn fns_of(o: *mut c_void) -> &'static StreamFns {
    // SAFETY: by the caller, `o` is an `Open<T, S>`, `repr(C)` with `fns`
    // first.
    unsafe { *o.cast::<&'static StreamFns>() }
}

/// Called by services.c to move stream `o` to item `pos`.
///
/// # Safety
///
/// `o` came from `stopwatch_stream_open`, is not released, and its file's
/// directory is live (a read handler runs); calls on one `o` do not
/// overlap (the seq_file lock).
#[no_mangle]
unsafe extern "C" fn stopwatch_stream_seek(o: *mut c_void, pos: i64) -> bool {
    // SAFETY: by the caller.
    unsafe { (fns_of(o).seek)(o, pos.max(0) as u64) }
}

/// Called by services.c to move stream `o` to its next item.
///
/// # Safety
///
/// As for [`stopwatch_stream_seek`].
#[no_mangle]
unsafe extern "C" fn stopwatch_stream_advance(o: *mut c_void) -> bool {
    // SAFETY: by the caller.
    unsafe { (fns_of(o).advance)(o) }
}

/// Called by services.c to show the current item of stream `o` into `m`.
///
/// # Safety
///
/// As for [`stopwatch_stream_seek`]; `m` is the seq_file being shown.
#[no_mangle]
unsafe extern "C" fn stopwatch_stream_show(m: *mut c_void, o: *mut c_void) -> c_int {
    // SAFETY: by the caller.
    unsafe { (fns_of(o).show)(o, m) }
}

/// Called by services.c to free stream `o` when its file is closed.
///
/// # Safety
///
/// `o` came from `stopwatch_stream_open`; nothing uses it after.
#[no_mangle]
unsafe extern "C" fn stopwatch_stream_release(o: *mut c_void) {
    // SAFETY: by the caller.
    unsafe { (fns_of(o).release)(o) }
}

/// Called by services.c for a write of `len` bytes at `buf`.
///
/// # Safety
///
/// As for [`stopwatch_file_show`]; `buf` is valid for `len` bytes.
#[no_mangle]
unsafe extern "C" fn stopwatch_file_write(
    file: *const SwFile,
    buf: *const u8,
    len: usize,
) -> c_int {
    // SAFETY: guaranteed by the caller.
    let (file, bytes) = unsafe { (&*file, core::slice::from_raw_parts(buf, len)) };
    match file.write {
        // SAFETY: `write` was instantiated for the type of `file`'s data.
        Some(store) => unsafe { store(file, bytes) },
        None => EPERM.to_errno(),
    }
}

/// `/sys/kernel/debug/NAME/` and the data its files show.
///
/// # Invariants
///
/// `dir` is the directory holding one file per entry of `files`, each
/// pointing into `data` and a `'static` spec. `files` is never resized
/// (C holds pointers into it). Dropping removes the directory first, which
/// waits for handlers in progress; the fields, data last, go after that.
pub(crate) struct Files<T: 'static> {
    /// The directory (a `struct dentry`).
    dir: *mut c_void,
    /// The files, as C holds them.
    files: KVec<SwFile>,
    /// What they show.
    data: Pin<KBox<T>>,
}

// SAFETY: the raw pointers are only used to remove the directory; `T` is
// shared with the handlers, which only get `&T`, and dropped by whoever
// drops the `Files`.
unsafe impl<T: Send + Sync> Send for Files<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for Files<T> {}

impl<T: Sync + 'static> Files<T> {
    /// Creates `/sys/kernel/debug/name/` with one file per spec, over
    /// `data`. On error nothing is left behind.
    pub(crate) fn new(
        name: &'static CStr,
        data: Pin<KBox<T>>,
        specs: &'static [FileSpec<T>],
    ) -> Result<Self> {
        let mut files = KVec::with_capacity(specs.len(), GFP_KERNEL)?;
        let ptr: *const T = &*data;
        for spec in specs {
            files.push(
                SwFile {
                    data: ptr.cast(),
                    spec: core::ptr::from_ref(spec).cast(),
                    show: spec.read.map(|_| show_file::<T> as ShowFn),
                    write: spec.write.map(|_| store_file::<T> as StoreFn),
                    stream: spec.stream,
                },
                GFP_KERNEL,
            )?;
        }
        let mut dir = core::ptr::null_mut();
        // SAFETY: `name` is NUL-terminated; `dir` is a valid destination.
        kernel::error::to_result(unsafe { ffi::stopwatch_debugfs_dir(c_str(name), &mut dir) })?;
        // From here on, dropping `this` removes the directory.
        let this = Self { dir, files, data };
        for (spec, file) in specs.iter().zip(this.files.iter()) {
            // SAFETY: `dir` is live; `file` stays at this address and
            // valid until `drop` removes `dir` (type invariants).
            kernel::error::to_result(unsafe {
                ffi::stopwatch_debugfs_file(
                    this.dir,
                    c_str(spec.name),
                    core::ptr::from_ref(file).cast(),
                )
            })?;
        }
        Ok(this)
    }
}

impl<T: 'static> core::ops::Deref for Files<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.data
    }
}

impl<T: 'static> Drop for Files<T> {
    fn drop(&mut self) {
        // SAFETY: `dir` is the live directory (type invariants); after
        // this returns no handler uses `files` or `data`, which drop next.
        unsafe { ffi::stopwatch_debugfs_remove(self.dir) };
    }
}

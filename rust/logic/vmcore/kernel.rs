// SPDX-License-Identifier: GPL-2.0

//! The kernel's own account of a `stop_machine()` at the crash, for a
//! vmcore of any kernel, stopwatch loaded or not: the call in flight, the
//! CPUs whose stoppers were in `multi_cpu_stop()`, and the ones that had not
//! arrived, with the task each was running instead.
//!
//! It reads what `kernel/stop_machine.c` leaves in memory, nothing else:
//!
//! - `stop_cpus()` queues every CPU's `cpu_stopper.stop_work` with
//!   `fn = multi_cpu_stop` and `arg = &msdata` (the caller's
//!   `struct multi_stop_data`, on its stack);
//! - `cpu_stopper_thread()` takes a work off the stopper's `works` list
//!   (`list_del_init()`: the work's own list head then points to itself)
//!   and sets `stopper->fn` and `stopper->caller` while the work runs.
//!
//! So on each CPU, if `stop_work.fn` is `multi_cpu_stop`: the work still
//! linked on the list means the stopper never started it (the CPU had not
//! arrived); `stopper->fn == multi_cpu_stop` with the same caller means it
//! is in `multi_cpu_stop()` (it arrived). `msdata.state` says how far the
//! call got and `msdata.thread_ack` how many CPUs have still to
//! acknowledge that state; the runqueue's `curr` is what a CPU that had not
//! arrived was running instead. The CPUs looked at are the online and the
//! active ones: a panic takes the other CPUs offline as it stops them
//! (`stop_this_cpu()`), not inactive, and a CPU going down is inactive
//! but still in the call.
//!
//! Not read: the task that called `stop_machine()`. It is not waiting on
//! the call's completion, as one might expect: the call includes its own
//! CPU, whose stopper preempts it as soon as the works are queued, before
//! it reaches `wait_for_completion()`; finding it would take a walk of
//! every task's stack.
//!
//! Offsets come from the kernel's debug info (drgn reads DWARF: `-s
//! vmlinux`, a distribution's `-dbg` package), enumerators and per-CPU
//! addresses too. Host only, like the rest of the vmcore reader.

use crate::logic::{
    demangle::Demangled,
    record::StopState,
    text::{Compact, CpusWhere},
    vmcore::{read::Memory, read_u32, read_u64},
};
use alloc::{format, string::String, vec::Vec};
use core::fmt::{self, Display, Formatter};

#[cfg(test)]
mod tests;

/// What the kernel's debug info answers, besides memory and symbols.
pub(crate) trait Kernel: Memory {
    /// The address of the kernel symbol `name`.
    fn address(&mut self, name: &str) -> Result<u64, String>;
    /// The address of `cpu`'s copy of the per-CPU variable `name`
    /// (`per_cpu_ptr()`).
    fn percpu(&mut self, name: &str, cpu: u32) -> Result<u64, String>;
    /// The offset of `member` (nested members with `.`) in
    /// `struct name`.
    fn offset(&mut self, name: &str, member: &str) -> Result<u64, String>;
    /// The value of the enumerator `name`.
    fn constant(&mut self, name: &str) -> Result<u64, String>;
}

/// A task, as the crashed kernel had it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Task {
    /// `task_struct.comm`.
    pub(crate) comm: String,
    /// `task_struct.pid`.
    pub(crate) pid: u32,
}

impl Display for Task {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.comm, self.pid)
    }
}

/// Where a CPU's stopper was in the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stopper {
    /// In `multi_cpu_stop()`: it arrived.
    Arrived,
    /// Its work queued, not started: it had not arrived.
    Queued,
    /// Neither: it had already left, or the call did not ask it.
    Out,
}

/// One CPU in the call.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CpuAt {
    /// The CPU.
    pub(crate) cpu: u32,
    /// Its stopper.
    pub(crate) stopper: Stopper,
    /// What it was running (`rq->curr`).
    pub(crate) task: Task,
}

/// The `stop_machine()` in flight at the crash.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct InFlight {
    /// `&msdata`.
    pub(crate) msdata: u64,
    /// The function the call runs (`msdata.fn`), named.
    pub(crate) func: String,
    /// Where the works were queued from (`stop_work.caller`), named.
    pub(crate) caller: String,
    /// `msdata.state`; `None` if it is none of the kernel's states.
    pub(crate) state: Option<StopState>,
    /// `msdata.state` as read.
    pub(crate) raw_state: u32,
    /// `msdata.num_threads`.
    pub(crate) threads: u32,
    /// `msdata.thread_ack`: CPUs still to acknowledge the state.
    pub(crate) acks_left: u32,
    /// Every CPU online or active, in order.
    pub(crate) cpus: Vec<CpuAt>,
}

/// What a read of the kernel's structures found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// No CPU's stopper had a `stop_machine()` work queued or running.
    Idle {
        /// The CPUs looked at (online or active).
        cpus: usize,
    },
    /// A call in flight.
    InFlight(InFlight),
}

/// Offsets and addresses, resolved once.
struct Layout {
    multi_cpu_stop: u64,
    stopper_fn: u64,
    stopper_caller: u64,
    work: u64,
    work_list: u64,
    work_fn: u64,
    work_caller: u64,
    work_arg: u64,
    ms_fn: u64,
    ms_threads: u64,
    ms_state: u64,
    ms_ack: u64,
    rq_curr: u64,
    task_pid: u64,
    task_comm: u64,
    states: [u64; 5],
}

/// The enumerators of `enum multi_stop_state`, in [`StopState`]'s order.
const STATE_NAMES: [&str; 5] = [
    "MULTI_STOP_NONE",
    "MULTI_STOP_PREPARE",
    "MULTI_STOP_DISABLE_IRQ",
    "MULTI_STOP_RUN",
    "MULTI_STOP_EXIT",
];

impl Layout {
    fn resolve(k: &mut impl Kernel) -> Result<Self, String> {
        let mut states = [0; 5];
        for (value, name) in states.iter_mut().zip(STATE_NAMES) {
            *value = k.constant(name)?;
        }
        Ok(Self {
            multi_cpu_stop: k.address("multi_cpu_stop")?,
            stopper_fn: k.offset("cpu_stopper", "fn")?,
            stopper_caller: k.offset("cpu_stopper", "caller")?,
            work: k.offset("cpu_stopper", "stop_work")?,
            work_list: k.offset("cpu_stop_work", "list")?,
            work_fn: k.offset("cpu_stop_work", "fn")?,
            work_caller: k.offset("cpu_stop_work", "caller")?,
            work_arg: k.offset("cpu_stop_work", "arg")?,
            ms_fn: k.offset("multi_stop_data", "fn")?,
            ms_threads: k.offset("multi_stop_data", "num_threads")?,
            ms_state: k.offset("multi_stop_data", "state")?,
            ms_ack: k.offset("multi_stop_data", "thread_ack")?,
            rq_curr: k.offset("rq", "curr")?,
            task_pid: k.offset("task_struct", "pid")?,
            task_comm: k.offset("task_struct", "comm")?,
            states,
        })
    }
}

fn u64_at(k: &mut impl Kernel, addr: u64, what: &str) -> Result<u64, String> {
    let b = k
        .read(addr, 8, false)
        .map_err(|e| format!("{what} at 0x{addr:x}: {e}"))?;
    Ok(read_u64(&b, 0))
}

fn u32_at(k: &mut impl Kernel, addr: u64, what: &str) -> Result<u32, String> {
    let b = k
        .read(addr, 4, false)
        .map_err(|e| format!("{what} at 0x{addr:x}: {e}"))?;
    Ok(read_u32(&b, 0))
}

/// The CPUs online or active (`nr_cpu_ids` bits of each mask).
fn cpus_in_use(k: &mut impl Kernel) -> Result<Vec<u32>, String> {
    let ids_at = k.address("nr_cpu_ids")?;
    let ids = u32_at(k, ids_at, "nr_cpu_ids")?;
    if ids == 0 || ids > 1 << 16 {
        return Err(format!("nr_cpu_ids is {ids} (corrupt memory?)"));
    }
    let words = ids.div_ceil(64) as usize;
    let mut masks = Vec::with_capacity(2);
    for name in ["__cpu_online_mask", "__cpu_active_mask"] {
        let at = k.address(name)?;
        masks.push(
            k.read(at, words * 8, false)
                .map_err(|e| format!("{name} at 0x{at:x}: {e}"))?,
        );
    }
    let set = |mask: &[u8], cpu: u32| read_u64(mask, cpu as usize / 64 * 8) >> (cpu % 64) & 1 == 1;
    Ok((0..ids)
        .filter(|&cpu| masks.iter().any(|m| set(m, cpu)))
        .collect())
}

fn task_at(k: &mut impl Kernel, l: &Layout, task: u64) -> Result<Task, String> {
    let pid = u32_at(k, task + l.task_pid, "a task's pid")?;
    let comm = k
        .read(task + l.task_comm, 16, false)
        .map_err(|e| format!("a task's comm at 0x{:x}: {e}", task + l.task_comm))?;
    let len = comm.iter().position(|&b| b == 0).unwrap_or(comm.len());
    Ok(Task {
        comm: String::from_utf8_lossy(&comm[..len]).into_owned(),
        pid,
    })
}

fn named(k: &mut impl Kernel, addr: u64) -> Result<String, String> {
    Ok(match k.symbol(addr)? {
        Some(s) => format!("{}", Demangled(&s)),
        None => format!("0x{addr:x}"),
    })
}

/// One CPU's stopper, as read.
struct Seen {
    cpu: u32,
    running_fn: u64,
    running_caller: u64,
    work_fn: u64,
    work_linked: bool,
    work_caller: u64,
    arg: u64,
    curr: u64,
}

/// Reads the kernel's `stop_machine()` state from `k`.
pub(crate) fn read_stop_machine(k: &mut impl Kernel) -> Result<Found, String> {
    let l = Layout::resolve(k).map_err(|e| needs_types(&e))?;
    let cpus = cpus_in_use(k)?;
    let mut seen = Vec::with_capacity(cpus.len());
    for &cpu in &cpus {
        let stopper = k.percpu("cpu_stopper", cpu).map_err(|e| needs_types(&e))?;
        let work_at = stopper + l.work;
        let rq = k.percpu("runqueues", cpu).map_err(|e| needs_types(&e))?;
        seen.push(Seen {
            cpu,
            running_fn: u64_at(k, stopper + l.stopper_fn, "cpu_stopper.fn")?,
            running_caller: u64_at(k, stopper + l.stopper_caller, "cpu_stopper.caller")?,
            work_fn: u64_at(k, work_at + l.work_fn, "stop_work.fn")?,
            work_linked: u64_at(k, work_at + l.work_list, "stop_work.list")?
                != work_at + l.work_list,
            work_caller: u64_at(k, work_at + l.work_caller, "stop_work.caller")?,
            arg: u64_at(k, work_at + l.work_arg, "stop_work.arg")?,
            curr: u64_at(k, rq + l.rq_curr, "rq.curr")?,
        });
    }
    let stopper_of = |s: &Seen| {
        if s.work_fn != l.multi_cpu_stop {
            Stopper::Out
        } else if s.work_linked {
            Stopper::Queued
        } else if s.running_fn == l.multi_cpu_stop && s.running_caller == s.work_caller {
            Stopper::Arrived
        } else {
            Stopper::Out
        }
    };
    // stop_cpus() runs one call at a time: the works in it share one
    // msdata.
    let Some(first) = seen.iter().find(|s| stopper_of(s) != Stopper::Out) else {
        return Ok(Found::Idle { cpus: cpus.len() });
    };
    let (msdata, caller) = (first.arg, first.work_caller);
    let raw_state = u32_at(k, msdata + l.ms_state, "msdata.state")?;
    let fn_addr = u64_at(k, msdata + l.ms_fn, "msdata.fn")?;
    let mut at = Vec::with_capacity(seen.len());
    for s in &seen {
        let stopper = if s.arg == msdata {
            stopper_of(s)
        } else {
            Stopper::Out
        };
        at.push(CpuAt {
            cpu: s.cpu,
            stopper,
            task: task_at(k, &l, s.curr)?,
        });
    }
    Ok(Found::InFlight(InFlight {
        msdata,
        func: named(k, fn_addr)?,
        caller: named(k, caller)?,
        state: l
            .states
            .iter()
            .position(|&v| v == u64::from(raw_state))
            .map(|i| StopState::ALL[i]),
        raw_state,
        threads: u32_at(k, msdata + l.ms_threads, "msdata.num_threads")?,
        acks_left: u32_at(k, msdata + l.ms_ack, "msdata.thread_ack")?,
        cpus: at,
    }))
}

impl InFlight {
    /// CPUs whose stopper is `which`, as a CPU list.
    fn cpus_where(&self, which: Stopper) -> impl Display + '_ {
        let n = self.cpus.last().map_or(0, |c| c.cpu as usize + 1);
        CpusWhere {
            n,
            pick: move |cpu| {
                self.cpus
                    .iter()
                    .any(|c| c.cpu as usize == cpu && c.stopper == which)
            },
        }
    }
}

/// [`Found`] as text: a `kernel_stop` line of `key=value` fields, then a
/// line for each CPU that had not arrived (documented in
/// `Documentation/stopwatch.rst`, "After a crash").
impl Display for Found {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let i = match self {
            Found::Idle { cpus } => {
                return writeln!(
                f,
                "kernel_stop none: no stop_machine() queued or running on the {cpus} CPUs online or active"
            )
            }
            Found::InFlight(i) => i,
        };
        // Symbols one field each, as in `stops`.
        write!(
            f,
            "kernel_stop msdata=0x{:x} fn={} caller={}",
            i.msdata,
            Compact(&i.func),
            Compact(&i.caller)
        )?;
        match i.state {
            Some(s) => write!(f, " state={}", s.name())?,
            None => write!(f, " state=?{}", i.raw_state)?,
        }
        writeln!(
            f,
            " threads={} acks_left={} arrived={} not_arrived={}",
            i.threads,
            i.acks_left,
            i.cpus_where(Stopper::Arrived),
            i.cpus_where(Stopper::Queued)
        )?;
        for c in i.cpus.iter().filter(|c| c.stopper == Stopper::Queued) {
            writeln!(
                f,
                "kernel_stop CPU {} has not arrived: its stopper's work is queued, not started; it runs {}",
                c.cpu, c.task
            )?;
        }
        Ok(())
    }
}

/// `e`, with what this reader needs that the memory may lack.
fn needs_types(e: &str) -> String {
    format!(
        "{e}: the kernel's own structures need its debug info \
         (-s vmlinux with DWARF; Debian's is in linux-image-RELEASE-dbg: \
         /usr/lib/debug/boot/vmlinux-RELEASE)"
    )
}

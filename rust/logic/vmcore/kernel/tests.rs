// SPDX-License-Identifier: GPL-2.0

//! The kernel-only reader on synthetic memory: a crashed kernel's
//! stoppers, runqueues and tasks laid out at made-up offsets (any offsets:
//! the reader takes them from the debug info, never assumes them).

use super::*;
use alloc::{collections::BTreeMap, string::ToString, vec};

const CPUS: u32 = 4;
/// The per-CPU areas, 16 KiB apart.
const AREAS: u64 = 0xffff_8880_7000_0000;
/// Per-CPU variables' offsets in an area.
const STOPPER: u64 = 0x100;
const RQ: u64 = 0x800;
const NR_CPU_IDS: u64 = 0xffff_ffff_8200_1000;
const ONLINE: u64 = 0xffff_ffff_8200_2000;
const ACTIVE: u64 = 0xffff_ffff_8200_2100;
const MULTI_CPU_STOP: u64 = 0xffff_ffff_8110_0000;
const STORM_FN: u64 = 0xffff_ffff_c000_0040;
const QUEUE_CALLER: u64 = 0xffff_ffff_8110_0400;
/// The caller's msdata and done, on its stack.
const MSDATA: u64 = 0xffff_c900_0001_3d00;
const DONE: u64 = 0xffff_c900_0001_3d40;
const TASKS: u64 = 0xffff_8880_0800_0000;
const HOG_PID: u32 = 91;

/// Offsets of the structures' members: deliberately not the kernel's.
const OFFSETS: &[(&str, &str, u64)] = &[
    ("cpu_stopper", "fn", 0x58),
    ("cpu_stopper", "caller", 0x50),
    ("cpu_stopper", "stop_work", 0x20),
    ("cpu_stop_work", "list", 0x0),
    ("cpu_stop_work", "fn", 0x10),
    ("cpu_stop_work", "caller", 0x18),
    ("cpu_stop_work", "arg", 0x20),
    ("cpu_stop_work", "done", 0x28),
    ("multi_stop_data", "fn", 0x0),
    ("multi_stop_data", "num_threads", 0x10),
    ("multi_stop_data", "state", 0x20),
    ("multi_stop_data", "thread_ack", 0x24),
    ("rq", "curr", 0x9c0),
    ("task_struct", "pid", 0x5e8),
    ("task_struct", "comm", 0x7a0),
];

/// A crashed kernel's memory: 8-byte words and byte strings, by address.
#[derive(Default)]
struct Dead {
    bytes: BTreeMap<u64, u8>,
    /// Offsets the debug info lacks.
    missing: Option<&'static str>,
}

impl Dead {
    fn put(&mut self, addr: u64, b: &[u8]) {
        for (i, &v) in b.iter().enumerate() {
            self.bytes.insert(addr + i as u64, v);
        }
    }

    fn word(&mut self, addr: u64, v: u64) {
        self.put(addr, &v.to_le_bytes());
    }

    fn off(member_of: &str, member: &str) -> u64 {
        OFFSETS
            .iter()
            .find(|(s, m, _)| *s == member_of && *m == member)
            .map(|o| o.2)
            .unwrap()
    }

    fn task(&mut self, n: u64, comm: &str, pid: u32) -> u64 {
        let t = TASKS + n * 0x2000;
        self.put(t + Self::off("task_struct", "pid"), &pid.to_le_bytes());
        let mut c = [0u8; 16];
        c[..comm.len()].copy_from_slice(comm.as_bytes());
        self.put(t + Self::off("task_struct", "comm"), &c);
        t
    }

    fn area(cpu: u32) -> u64 {
        AREAS + u64::from(cpu) * 0x4000
    }

    fn stop_work(cpu: u32) -> u64 {
        Self::area(cpu) + STOPPER + Self::off("cpu_stopper", "stop_work")
    }

    /// CPU `cpu`'s stop_work, with `fn`, `arg` and `done` of a call
    /// queued from `QUEUE_CALLER`; linked on the list (`queued`) or not.
    fn work(&mut self, cpu: u32, func: u64, queued: bool) {
        let w = Self::stop_work(cpu);
        let list = w + Self::off("cpu_stop_work", "list");
        // A linked work points elsewhere (the stopper's list head); a
        // taken one, to itself (list_del_init()).
        self.word(
            list,
            if queued {
                Self::area(cpu) + STOPPER + 0x8
            } else {
                list
            },
        );
        self.word(w + Self::off("cpu_stop_work", "fn"), func);
        self.word(w + Self::off("cpu_stop_work", "caller"), QUEUE_CALLER);
        self.word(w + Self::off("cpu_stop_work", "arg"), MSDATA);
        self.word(w + Self::off("cpu_stop_work", "done"), DONE);
    }

    /// CPU `cpu`'s stopper running `func` queued from `caller`.
    fn running(&mut self, cpu: u32, func: u64, caller: u64) {
        let s = Self::area(cpu) + STOPPER;
        self.word(s + Self::off("cpu_stopper", "fn"), func);
        self.word(s + Self::off("cpu_stopper", "caller"), caller);
    }

    fn curr(&mut self, cpu: u32, task: u64) {
        self.word(Self::area(cpu) + RQ + Self::off("rq", "curr"), task);
    }

    /// The caller's msdata in `state`, with `acks` acknowledgements left.
    fn msdata(&mut self, state: u32, acks: u32) {
        self.word(MSDATA + Self::off("multi_stop_data", "fn"), STORM_FN);
        self.put(
            MSDATA + Self::off("multi_stop_data", "num_threads"),
            &CPUS.to_le_bytes(),
        );
        self.put(
            MSDATA + Self::off("multi_stop_data", "state"),
            &state.to_le_bytes(),
        );
        self.put(
            MSDATA + Self::off("multi_stop_data", "thread_ack"),
            &acks.to_le_bytes(),
        );
    }
}

impl Memory for Dead {
    fn read(&mut self, addr: u64, len: usize, physical: bool) -> Result<Vec<u8>, String> {
        assert!(!physical, "the kernel-only reader reads virtual memory");
        (addr..addr + len as u64)
            .map(|a| {
                self.bytes
                    .get(&a)
                    .copied()
                    .ok_or(format!("0x{a:x} is not in the core"))
            })
            .collect()
    }

    fn find(&mut self, _: &[u8]) -> Result<Vec<u64>, String> {
        unreachable!("the kernel-only reader searches nothing")
    }

    fn symbol(&mut self, addr: u64) -> Result<Option<String>, String> {
        Ok(match addr {
            STORM_FN => Some("stopwatch_storm_work+0x0/0x44 [stopwatch_storm]".to_string()),
            QUEUE_CALLER => Some("stop_machine_cpuslocked+0x12c/0x190".to_string()),
            _ => None,
        })
    }
}

impl Kernel for Dead {
    fn address(&mut self, name: &str) -> Result<u64, String> {
        Ok(match name {
            "multi_cpu_stop" => MULTI_CPU_STOP,
            "nr_cpu_ids" => NR_CPU_IDS,
            "__cpu_online_mask" => ONLINE,
            "__cpu_active_mask" => ACTIVE,
            _ => return Err(format!("no symbol {name}")),
        })
    }

    fn percpu(&mut self, name: &str, cpu: u32) -> Result<u64, String> {
        let off = match name {
            "cpu_stopper" => STOPPER,
            "runqueues" => RQ,
            _ => return Err(format!("no per-CPU variable {name}")),
        };
        Ok(Dead::area(cpu) + off)
    }

    fn offset(&mut self, name: &str, member: &str) -> Result<u64, String> {
        if self.missing == Some(name) {
            return Err(format!("could not find 'struct {name}'"));
        }
        OFFSETS
            .iter()
            .find(|(s, m, _)| *s == name && *m == member)
            .map(|o| o.2)
            .ok_or(format!("struct {name} has no member {member}"))
    }

    fn constant(&mut self, name: &str) -> Result<u64, String> {
        STATE_NAMES
            .iter()
            .position(|&n| n == name)
            .map(|i| i as u64)
            .ok_or(format!("no enumerator {name}"))
    }
}

/// A machine of `CPUS` CPUs (`online`: the mask; active as well), each
/// running its stopper thread's task unless given one, every stopper idle.
fn machine(online: u64) -> Dead {
    let mut m = Dead::default();
    for cpu in 0..CPUS {
        let t = m.task(u64::from(cpu), &format!("migration/{cpu}"), 20 + cpu);
        m.curr(cpu, t);
        m.running(cpu, 0, 0);
        // Never used: the list head points to itself, fn is NULL.
        let list = Dead::stop_work(cpu);
        m.word(list, list);
        for f in ["fn", "caller", "arg", "done"] {
            m.word(Dead::stop_work(cpu) + Dead::off("cpu_stop_work", f), 0);
        }
    }
    m.put(NR_CPU_IDS, &CPUS.to_le_bytes());
    m.word(ONLINE, online);
    m.word(ACTIVE, online);
    m
}

/// The seed's incident: CPUs 0, 1 and 3 in multi_cpu_stop(), CPU 2
/// running the hog, its stopper's work still queued.
fn incident() -> Dead {
    let mut m = machine(0b1111);
    let hog = m.task(9, "stopwatch_hog/2", HOG_PID);
    for cpu in [0, 1, 3] {
        m.work(cpu, MULTI_CPU_STOP, false);
        m.running(cpu, MULTI_CPU_STOP, QUEUE_CALLER);
    }
    m.work(2, MULTI_CPU_STOP, true);
    m.curr(2, hog);
    m.msdata(1, 1);
    m
}

fn in_flight(m: &mut Dead) -> InFlight {
    match read_stop_machine(m).unwrap() {
        Found::InFlight(i) => i,
        other => panic!("expected a call in flight, got {other:?}"),
    }
}

#[test]
fn names_the_cpu_that_has_not_arrived_and_its_task() {
    let mut m = incident();
    let i = in_flight(&mut m);
    assert_eq!(i.msdata, MSDATA);
    assert_eq!(i.state, Some(StopState::Prepare));
    assert_eq!((i.threads, i.acks_left), (4, 1));
    let stoppers: Vec<_> = i.cpus.iter().map(|c| (c.cpu, c.stopper)).collect();
    assert_eq!(
        stoppers,
        vec![
            (0, Stopper::Arrived),
            (1, Stopper::Arrived),
            (2, Stopper::Queued),
            (3, Stopper::Arrived)
        ]
    );
    assert_eq!(
        i.cpus[2].task,
        Task {
            comm: "stopwatch_hog/2".to_string(),
            pid: HOG_PID
        }
    );
    assert_eq!(
        Found::InFlight(i).to_string(),
        "kernel_stop msdata=0xffffc90000013d00 fn=stopwatch_storm_work+0x0/0x44[stopwatch_storm] \
         caller=stop_machine_cpuslocked+0x12c/0x190 state=PREPARE \
         threads=4 acks_left=1 arrived=0-1,3 not_arrived=2\n\
         kernel_stop CPU 2 has not arrived: its stopper's work is queued, not started; \
         it runs stopwatch_hog/2/91\n"
    );
}

#[test]
fn a_kernel_with_no_call_in_flight_says_so() {
    let mut m = machine(0b1111);
    assert_eq!(read_stop_machine(&mut m).unwrap(), Found::Idle { cpus: 4 });
    assert_eq!(
        Found::Idle { cpus: 4 }.to_string(),
        "kernel_stop none: no stop_machine() queued or running on the 4 CPUs online or active\n"
    );
}

#[test]
fn a_finished_call_is_not_in_flight() {
    // Every stop_work still says multi_cpu_stop, taken off the list, and
    // no stopper runs anything: the call is over (msdata is garbage).
    let mut m = machine(0b1111);
    for cpu in 0..CPUS {
        m.work(cpu, MULTI_CPU_STOP, false);
    }
    assert_eq!(read_stop_machine(&mut m).unwrap(), Found::Idle { cpus: 4 });
}

#[test]
fn another_multi_cpu_stop_is_not_the_stop_machine_call() {
    // stop_two_cpus() runs multi_cpu_stop() from works of its own: the
    // stopper's fn says multi_cpu_stop, its caller is not stop_work's.
    let mut m = machine(0b1111);
    for cpu in 0..CPUS {
        m.work(cpu, MULTI_CPU_STOP, false);
    }
    m.running(1, MULTI_CPU_STOP, 0xffff_ffff_8110_0800);
    m.running(3, MULTI_CPU_STOP, 0xffff_ffff_8110_0800);
    assert_eq!(read_stop_machine(&mut m).unwrap(), Found::Idle { cpus: 4 });
}

#[test]
fn cpus_a_panic_took_offline_are_read() {
    // panic() stops the other CPUs, clearing them from the online mask
    // (stop_this_cpu()), not from the active one.
    let mut m = incident();
    m.word(ONLINE, 0b0010);
    let i = in_flight(&mut m);
    assert_eq!(i.cpus.len(), 4);
    assert!(Found::InFlight(i)
        .to_string()
        .contains(" arrived=0-1,3 not_arrived=2\n"));
}

#[test]
fn cpus_neither_online_nor_active_are_not_read() {
    // CPU 3 gone: its per-CPU area is not even in the core.
    let mut m = incident();
    m.word(ONLINE, 0b0111);
    m.word(ACTIVE, 0b0111);
    for b in 0..0x4000 {
        m.bytes.remove(&(Dead::area(3) + b));
    }
    let i = in_flight(&mut m);
    assert_eq!(
        i.cpus.iter().map(|c| c.cpu).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert!(Found::InFlight(i)
        .to_string()
        .contains(" arrived=0-1 not_arrived=2\n"));
}

#[test]
fn a_state_that_is_none_of_the_kernels_is_shown_as_read() {
    let mut m = incident();
    m.msdata(7, 1);
    let i = in_flight(&mut m);
    assert_eq!((i.state, i.raw_state), (None, 7));
    assert!(Found::InFlight(i)
        .to_string()
        .contains(" caller=stop_machine_cpuslocked+0x12c/0x190 state=?7 "));
}

#[test]
fn without_the_kernels_types_the_error_says_what_to_give() {
    let mut m = incident();
    m.missing = Some("multi_stop_data");
    let e = read_stop_machine(&mut m).unwrap_err();
    assert!(
        e.starts_with("could not find 'struct multi_stop_data'"),
        "{e}"
    );
    assert!(e.contains("-s vmlinux with DWARF"), "{e}");
    assert!(e.contains("linux-image-RELEASE-dbg"), "{e}");
}

#[test]
fn memory_the_core_lacks_is_an_error_not_a_guess() {
    let mut m = incident();
    for b in 0..4 {
        m.bytes
            .remove(&(MSDATA + Dead::off("multi_stop_data", "state") + b));
    }
    let e = read_stop_machine(&mut m).unwrap_err();
    assert!(e.starts_with("msdata.state at 0x"), "{e}");
}

// SPDX-License-Identifier: GPL-2.0

//! What the kernel log of the incident shows: whether stopwatch noted each
//! soft-lockup report, and who printed how much.

use crate::tools::kernel_log::{BacktraceHeader, Note, SoftLockup};
use alloc::vec::Vec;

/// Whether stopwatch's note on each soft-lockup report came, naming only
/// CPUs of `expected` (or none, all having arrived), before the same
/// CPU's next report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Annotations {
    /// Reports followed by such a note.
    pub(crate) noted: usize,
    /// Reports without.
    pub(crate) missed: usize,
}

impl Annotations {
    /// Counts over `lines` (the incident's, in order).
    pub(crate) fn of(lines: &[&str], expected: &[u16]) -> Self {
        let mut open: Vec<u16> = Vec::new();
        let mut a = Self {
            noted: 0,
            missed: 0,
        };
        for l in lines {
            if let Some(r) = SoftLockup::parse(l) {
                if open.contains(&r.cpu) {
                    a.missed += 1;
                } else {
                    open.push(r.cpu);
                }
            } else if let Some(n) = Note::parse(l) {
                let names_right = n.readable && n.waited_for.iter().all(|c| expected.contains(c));
                if let Some(i) = open.iter().position(|&c| c == n.cpu) {
                    if names_right {
                        a.noted += 1;
                        open.remove(i);
                    }
                }
            }
        }
        a.missed += open.len();
        a
    }
}

/// Lines and bytes printed during the incident, by whom: the kernel's
/// soft-lockup reports (each from its BUG line to the end of its stack)
/// and stopwatch's lines (its own, and the backtraces it asked for). On a
/// serial console every byte costs about 87 us at 115200 baud, spent by
/// the CPU printing it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Printed {
    pub(crate) report_lines: usize,
    pub(crate) report_bytes: usize,
    pub(crate) stopwatch_lines: usize,
    pub(crate) stopwatch_bytes: usize,
}

impl Printed {
    /// Counts over `lines` (the incident's).
    pub(crate) fn of(lines: &[&str]) -> Self {
        #[derive(PartialEq)]
        enum Block {
            None,
            Kernel,
            Stopwatch,
        }
        let mut p = Self::default();
        let mut block = Block::None;
        for l in lines {
            if SoftLockup::parse(l).is_some() {
                block = Block::Kernel;
            }
            let text = l.split_once("] stopwatch: ").map(|(_, t)| t);
            if text.is_some() && BacktraceHeader::parse(l).is_some() {
                block = Block::Stopwatch;
            }
            let bytes = l.len() + 1;
            if text.is_some() {
                p.stopwatch_lines += 1;
                p.stopwatch_bytes += bytes;
                continue;
            }
            match block {
                Block::Kernel => {
                    p.report_lines += 1;
                    p.report_bytes += bytes;
                }
                Block::Stopwatch => {
                    p.stopwatch_lines += 1;
                    p.stopwatch_bytes += bytes;
                }
                Block::None => {}
            }
            if l.contains("</TASK>") {
                block = Block::None;
            }
        }
        p
    }
}

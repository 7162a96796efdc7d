// SPDX-License-Identifier: GPL-2.0

//! [`Memory`] through drgn: `tools/vmcore/memory.py` in a child process,
//! one request per line (that file says the protocol).

use crate::logic::vmcore::{kernel::Kernel, read::Memory};
use std::{
    io::{BufRead, BufReader, Write},
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
};

/// Where the helper is, unless `STOPWATCH_VMCORE_HELPER` says.
const HELPER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/vmcore/memory.py");

/// The helper, running.
pub(crate) struct Drgn {
    child: Child,
    to: ChildStdin,
    from: BufReader<ChildStdout>,
    /// The kernel's release, as the helper found it.
    pub(crate) release: String,
}

impl Drgn {
    /// Starts the helper on `core` with the symbol sources given.
    pub(crate) fn open(
        core: &str,
        debug: &[String],
        kallsyms: Option<&str>,
    ) -> Result<Self, String> {
        let python =
            std::env::var("STOPWATCH_DRGN_PYTHON").unwrap_or_else(|_| "python3".to_string());
        let helper =
            std::env::var("STOPWATCH_VMCORE_HELPER").unwrap_or_else(|_| HELPER.to_string());
        let mut cmd = Command::new(&python);
        cmd.arg(&helper).arg("-c").arg(core);
        for d in debug {
            cmd.arg("-s").arg(d);
        }
        if let Some(k) = kallsyms {
            cmd.arg("--kallsyms").arg(k);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{python} {helper}: {e} (STOPWATCH_DRGN_PYTHON names a python with drgn; scripts/vmcore sets it)"))?;
        let to = child.stdin.take().ok_or("no pipe to the helper")?;
        let from = BufReader::new(child.stdout.take().ok_or("no pipe from the helper")?);
        let mut d = Self {
            child,
            to,
            from,
            release: String::new(),
        };
        let first = d.line()?;
        match first.strip_prefix("ready ") {
            Some(r) => d.release = r.to_string(),
            None => return Err(first.strip_prefix("err ").unwrap_or(&first).to_string()),
        }
        Ok(d)
    }

    fn line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        match self.from.read_line(&mut line) {
            Ok(0) => Err("the drgn helper exited (see its messages above)".to_string()),
            Ok(_) => Ok(line.trim_end().to_string()),
            Err(e) => Err(format!("the drgn helper: {e}")),
        }
    }

    /// One request; the `ok` answer's payload, or the error.
    fn ask(&mut self, request: &str) -> Result<Option<String>, String> {
        writeln!(self.to, "{request}").map_err(|e| format!("the drgn helper: {e}"))?;
        let answer = self.line()?;
        if answer == "none" {
            return Ok(None);
        }
        if let Some(payload) = answer.strip_prefix("ok") {
            return Ok(Some(payload.trim_start().to_string()));
        }
        Err(answer.strip_prefix("err ").unwrap_or(&answer).to_string())
    }
}

impl Drop for Drgn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|e| e.to_string()))
        .collect()
}

impl Memory for Drgn {
    fn read(&mut self, addr: u64, len: usize, physical: bool) -> Result<Vec<u8>, String> {
        let op = if physical { "readp" } else { "read" };
        let hex = self
            .ask(&format!("{op} {addr:x} {len}"))?
            .unwrap_or_default();
        let bytes = unhex(&hex)?;
        if bytes.len() != len {
            return Err(format!("{len} bytes asked, {} read", bytes.len()));
        }
        Ok(bytes)
    }

    fn find(&mut self, pattern: &[u8]) -> Result<Vec<u64>, String> {
        let hex: String = pattern.iter().map(|b| format!("{b:02x}")).collect();
        let found = self.ask(&format!("find {hex}"))?.unwrap_or_default();
        found
            .split_whitespace()
            .map(|a| u64::from_str_radix(a, 16).map_err(|e| e.to_string()))
            .collect()
    }

    fn symbol(&mut self, addr: u64) -> Result<Option<String>, String> {
        self.ask(&format!("sym {addr:x}"))
    }
}

impl Drgn {
    /// A number the helper answers `request` with.
    fn number(&mut self, request: &str) -> Result<u64, String> {
        let answer = self
            .ask(request)?
            .ok_or_else(|| format!("{request}: none"))?;
        let hex = answer.strip_prefix("0x").unwrap_or(&answer);
        u64::from_str_radix(hex, 16).map_err(|e| format!("{request}: '{answer}': {e}"))
    }
}

impl Kernel for Drgn {
    fn address(&mut self, name: &str) -> Result<u64, String> {
        self.number(&format!("addr {name}"))
    }

    fn percpu(&mut self, name: &str, cpu: u32) -> Result<u64, String> {
        self.number(&format!("percpu {name} {cpu}"))
    }

    fn offset(&mut self, name: &str, member: &str) -> Result<u64, String> {
        self.number(&format!("offset {name} {member}"))
    }

    fn constant(&mut self, name: &str) -> Result<u64, String> {
        self.number(&format!("const {name}"))
    }
}

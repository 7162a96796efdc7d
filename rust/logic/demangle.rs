// SPDX-License-Identifier: GPL-2.0

//! Rust symbols as a reader writes them: `hog::hog_thread`, not
//! `_RNvCscKUMUmkeL2K_3hog10hog_thread`.
//!
//! The kernel's kallsyms stores Rust functions under their v0 mangled
//! names (RFC 2603), and `%pS` prints them so. [`Demangled`] writes a
//! symbol as `%pS` gave it (`name+0x187/0x26d [module]`) with the name
//! demangled the way `rustc-demangle` writes it in its alternate form
//! (`{:#}`: no crate hashes, no const types): paths, impls (`<T>::f`,
//! `<T as Trait>::f`), closures and shims (`{closure#0}`), generic
//! arguments, and the types and integer constants they are made of.
//! Anything it does not know (punycode names, constants of other kinds,
//! an encoding version) leaves the name as it was: a symbol is never
//! shown wrong, only perhaps mangled. C symbols pass through.
//!
//! It allocates nothing and its work is bounded by the name's length (a
//! backreference points strictly backwards, nesting is capped), so the
//! console's `irq_work` can call it. It parses twice: once to check the
//! whole name, once to write it, so that a name it cannot read is never
//! written half-demangled.

use core::fmt::{self, Display, Formatter, Write};

mod paths;
#[cfg(test)]
mod tests;
mod types;

/// A symbol as `%pS` prints it, with its Rust name demangled.
pub(crate) struct Demangled<'a>(pub(crate) &'a str);

impl Display for Demangled<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        // The name ends at the offset (`+0x...`) or the module (` [...]`);
        // a suffix the compiler added (`.llvm.1234`) stays as it is.
        let end = self.0.find(['+', ' ']).unwrap_or(self.0.len());
        let Some((name, rest)) = split(self.0, end) else {
            return f.write_str(self.0);
        };
        let dot = name.find('.').unwrap_or(name.len());
        let Some((mangled, suffix)) = split(name, dot) else {
            return f.write_str(self.0);
        };
        let Some(body) = mangled.strip_prefix("_R") else {
            return f.write_str(self.0);
        };
        if Printer::new(body.as_bytes(), &mut Discard)
            .path_top()
            .is_err()
        {
            return f.write_str(self.0);
        }
        Printer::new(body.as_bytes(), &mut *f)
            .path_top()
            .map_err(|_| fmt::Error)?;
        f.write_str(suffix)?;
        f.write_str(rest)
    }
}

/// `s` split at `at`, `None` if that is no character boundary. (Not
/// `str::split_at`: its panic is one objtool does not know never returns,
/// and 6.12's Rust has no `split_at_checked`.)
fn split(s: &str, at: usize) -> Option<(&str, &str)> {
    Some((s.get(..at)?, s.get(at..)?))
}

/// A writer that writes nothing: the checking pass.
struct Discard;

impl Write for Discard {
    fn write_str(&mut self, _: &str) -> fmt::Result {
        Ok(())
    }
}

/// Why a name is left mangled.
#[derive(Debug)]
enum Fail {
    /// Not v0 as this file reads it.
    Invalid,
    /// The writer failed.
    Write,
}

impl From<fmt::Error> for Fail {
    fn from(_: fmt::Error) -> Self {
        Fail::Write
    }
}

type Parsed<T = ()> = Result<T, Fail>;

/// Deeper nesting than this is refused (no real symbol comes close).
const MAX_DEPTH: u32 = 64;

/// A parser of the part after `_R` that writes what it parses to `out`.
struct Printer<'s, W: Write> {
    sym: &'s [u8],
    pos: usize,
    depth: u32,
    /// Lifetimes bound by the binders around this point (`for<'a>`).
    bound_lifetimes: u32,
    out: W,
}

impl<'s, W: Write> Printer<'s, W> {
    fn new(sym: &'s [u8], out: W) -> Self {
        Self {
            sym,
            pos: 0,
            depth: 0,
            bound_lifetimes: 0,
            out,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.sym.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let yes = self.peek() == Some(b);
        if yes {
            self.pos += 1;
        }
        yes
    }

    fn next(&mut self) -> Parsed<u8> {
        let b = self.peek().ok_or(Fail::Invalid)?;
        self.pos += 1;
        Ok(b)
    }

    fn print(&mut self, s: &str) -> Parsed {
        Ok(self.out.write_str(s)?)
    }

    /// `{0-9a-zA-Z} _`: `_` is 0, else the digits' value plus one.
    fn base62(&mut self) -> Parsed<u64> {
        if self.eat(b'_') {
            return Ok(0);
        }
        let mut x: u64 = 0;
        while !self.eat(b'_') {
            let d = match self.next()? {
                c @ b'0'..=b'9' => c - b'0',
                c @ b'a'..=b'z' => 10 + c - b'a',
                c @ b'A'..=b'Z' => 36 + c - b'A',
                _ => return Err(Fail::Invalid),
            };
            x = x
                .checked_mul(62)
                .and_then(|x| x.checked_add(u64::from(d)))
                .ok_or(Fail::Invalid)?;
        }
        x.checked_add(1).ok_or(Fail::Invalid)
    }

    /// `[tag base62]`: 0 if absent, else the number plus one.
    fn opt_base62(&mut self, tag: u8) -> Parsed<u64> {
        if !self.eat(tag) {
            return Ok(0);
        }
        self.base62()?.checked_add(1).ok_or(Fail::Invalid)
    }

    /// A decimal length, no leading zero.
    fn decimal(&mut self) -> Parsed<usize> {
        let first = self.next()?;
        if !first.is_ascii_digit() {
            return Err(Fail::Invalid);
        }
        let mut n = usize::from(first - b'0');
        if n == 0 {
            return Ok(0);
        }
        while let Some(c @ b'0'..=b'9') = self.peek() {
            self.pos += 1;
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(usize::from(c - b'0')))
                .ok_or(Fail::Invalid)?;
        }
        Ok(n)
    }

    /// `[u] decimal [_] bytes`; punycode (`u`) is refused.
    fn ident(&mut self) -> Parsed<&'s str> {
        if self.peek() == Some(b'u') {
            return Err(Fail::Invalid);
        }
        let len = self.decimal()?;
        self.eat(b'_');
        let bytes = self
            .sym
            .get(self.pos..self.pos.checked_add(len).ok_or(Fail::Invalid)?)
            .ok_or(Fail::Invalid)?;
        self.pos += len;
        let s = core::str::from_utf8(bytes).map_err(|_| Fail::Invalid)?;
        if s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            Ok(s)
        } else {
            Err(Fail::Invalid)
        }
    }

    /// Runs `f` one level deeper, refusing past [`MAX_DEPTH`].
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Parsed<T>) -> Parsed<T> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Fail::Invalid);
        }
        let r = f(self);
        self.depth -= 1;
        r
    }

    /// `B base62`: `f` at an earlier position, then back here.
    fn backref<T>(&mut self, f: impl FnOnce(&mut Self) -> Parsed<T>) -> Parsed<T> {
        let at = self.pos - 1;
        let target = usize::try_from(self.base62()?).map_err(|_| Fail::Invalid)?;
        if target >= at {
            return Err(Fail::Invalid);
        }
        let back = core::mem::replace(&mut self.pos, target);
        let r = self.nested(f);
        self.pos = back;
        r
    }

    /// `{hex} _`, at most 64 bits.
    fn hex(&mut self) -> Parsed<u64> {
        let mut v: u64 = 0;
        let mut digits = 0;
        while !self.eat(b'_') {
            let d = match self.next()? {
                c @ b'0'..=b'9' => c - b'0',
                c @ b'a'..=b'f' => 10 + c - b'a',
                _ => return Err(Fail::Invalid),
            };
            digits += 1;
            if digits > 16 {
                return Err(Fail::Invalid);
            }
            v = v << 4 | u64::from(d);
        }
        Ok(v)
    }
}

/// The one-letter types.
fn basic_type(tag: u8) -> Option<&'static str> {
    Some(match tag {
        b'a' => "i8",
        b'b' => "bool",
        b'c' => "char",
        b'd' => "f64",
        b'e' => "str",
        b'f' => "f32",
        b'h' => "u8",
        b'i' => "isize",
        b'j' => "usize",
        b'l' => "i32",
        b'm' => "u32",
        b'n' => "i128",
        b'o' => "u128",
        b's' => "i16",
        b't' => "u16",
        b'u' => "()",
        b'v' => "...",
        b'x' => "i64",
        b'y' => "u64",
        b'z' => "!",
        b'p' => "_",
        _ => return None,
    })
}

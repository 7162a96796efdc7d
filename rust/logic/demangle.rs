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

#[cfg(test)]
mod tests;

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

    /// A path parsed (to check it) and not written: an impl's own path,
    /// the instantiating crate.
    fn skip_path(&mut self) -> Parsed {
        let mut skip = Printer::new(self.sym, Discard);
        skip.pos = self.pos;
        skip.depth = self.depth;
        skip.bound_lifetimes = self.bound_lifetimes;
        skip.path(false)?;
        self.pos = skip.pos;
        Ok(())
    }

    /// The whole symbol: a path, then maybe the instantiating crate (not
    /// shown). A version number after `_R` is refused.
    fn path_top(&mut self) -> Parsed {
        self.path(true)?;
        if self.pos < self.sym.len() {
            self.skip_path()?;
            if self.pos != self.sym.len() {
                return Err(Fail::Invalid);
            }
        }
        Ok(())
    }

    /// A path; `value`: in an expression (`f::<T>`), else in a type (`F<T>`).
    fn path(&mut self, value: bool) -> Parsed {
        self.nested(|p| p.path_inner(value))
    }

    fn path_inner(&mut self, value: bool) -> Parsed {
        match self.next()? {
            b'C' => {
                self.opt_base62(b's')?;
                let name = self.ident()?;
                self.print(name)
            }
            b'N' => {
                let ns = self.next()?;
                if !ns.is_ascii_alphabetic() {
                    return Err(Fail::Invalid);
                }
                self.path(value)?;
                let dis = self.opt_base62(b's')?;
                let name = self.ident()?;
                if ns.is_ascii_uppercase() {
                    self.print("::{")?;
                    match ns {
                        b'C' => self.print("closure")?,
                        b'S' => self.print("shim")?,
                        other => self.out.write_char(char::from(other))?,
                    }
                    if !name.is_empty() {
                        self.print(":")?;
                        self.print(name)?;
                    }
                    write!(self.out, "#{dis}")?;
                    self.print("}")
                } else if name.is_empty() {
                    Ok(())
                } else {
                    self.print("::")?;
                    self.print(name)
                }
            }
            tag @ (b'M' | b'X' | b'Y') => {
                if tag != b'Y' {
                    // The impl's own path is not shown.
                    self.opt_base62(b's')?;
                    self.skip_path()?;
                }
                self.print("<")?;
                self.ty()?;
                if tag != b'M' {
                    self.print(" as ")?;
                    self.path(false)?;
                }
                self.print(">")
            }
            b'I' => {
                self.path(value)?;
                if value {
                    self.print("::")?;
                }
                self.print("<")?;
                self.list(b'E', ", ", Self::generic_arg)?;
                self.print(">")
            }
            b'B' => self.backref(|p| p.path_inner(value)),
            _ => Err(Fail::Invalid),
        }
    }

    /// Items until `end`, separated by `sep`; how many.
    fn list(&mut self, end: u8, sep: &str, item: fn(&mut Self) -> Parsed) -> Parsed<usize> {
        let mut n = 0;
        while !self.eat(end) {
            if n > 0 {
                self.print(sep)?;
            }
            item(self)?;
            n += 1;
        }
        Ok(n)
    }

    fn generic_arg(&mut self) -> Parsed {
        if self.eat(b'L') {
            let lt = self.base62()?;
            self.lifetime(lt)
        } else if self.eat(b'K') {
            self.konst()
        } else {
            self.ty()
        }
    }

    /// A lifetime by its de Bruijn index: `'_`, or `'a`... for the
    /// binders around.
    fn lifetime(&mut self, lt: u64) -> Parsed {
        if lt == 0 {
            return self.print("'_");
        }
        let depth = u64::from(self.bound_lifetimes)
            .checked_sub(lt)
            .ok_or(Fail::Invalid)?;
        if depth < 26 {
            self.out.write_char('\'')?;
            Ok(self.out.write_char(char::from(b'a' + depth as u8))?)
        } else {
            Ok(write!(self.out, "'_{depth}")?)
        }
    }

    /// `[G base62]`: `for<'a, ...> ` and `f` with those lifetimes bound.
    fn binder(&mut self, f: impl FnOnce(&mut Self) -> Parsed) -> Parsed {
        let bound = self.opt_base62(b'G')?;
        let bound = u32::try_from(bound).map_err(|_| Fail::Invalid)?;
        if bound > 0 {
            self.print("for<")?;
            for i in 0..bound {
                if i > 0 {
                    self.print(", ")?;
                }
                self.bound_lifetimes += 1;
                self.lifetime(1)?;
            }
            self.print("> ")?;
        }
        let r = f(self);
        self.bound_lifetimes -= bound;
        r
    }

    fn ty(&mut self) -> Parsed {
        self.nested(Self::ty_inner)
    }

    fn ty_inner(&mut self) -> Parsed {
        let tag = self.next()?;
        if let Some(basic) = basic_type(tag) {
            return self.print(basic);
        }
        match tag {
            b'R' | b'Q' => {
                self.print("&")?;
                if self.eat(b'L') {
                    let lt = self.base62()?;
                    if lt != 0 {
                        self.lifetime(lt)?;
                        self.print(" ")?;
                    }
                }
                if tag == b'Q' {
                    self.print("mut ")?;
                }
                self.ty()
            }
            b'P' => {
                self.print("*const ")?;
                self.ty()
            }
            b'O' => {
                self.print("*mut ")?;
                self.ty()
            }
            b'A' | b'S' => {
                self.print("[")?;
                self.ty()?;
                if tag == b'A' {
                    self.print("; ")?;
                    self.konst()?;
                }
                self.print("]")
            }
            b'T' => {
                self.print("(")?;
                let n = self.list(b'E', ", ", Self::ty)?;
                if n == 1 {
                    self.print(",")?;
                }
                self.print(")")
            }
            b'F' => self.binder(|p| {
                if p.eat(b'U') {
                    p.print("unsafe ")?;
                }
                if p.eat(b'K') {
                    if p.eat(b'C') {
                        p.print("extern \"C\" ")?;
                    } else {
                        let abi = p.ident()?;
                        p.print("extern \"")?;
                        for part in abi.split('_').enumerate() {
                            if part.0 > 0 {
                                p.print("-")?;
                            }
                            p.print(part.1)?;
                        }
                        p.print("\" ")?;
                    }
                }
                p.print("fn(")?;
                p.list(b'E', ", ", Self::ty)?;
                p.print(")")?;
                if p.eat(b'u') {
                    return Ok(());
                }
                p.print(" -> ")?;
                p.ty()
            }),
            b'D' => {
                self.print("dyn ")?;
                self.binder(|p| p.list(b'E', " + ", Self::dyn_trait).map(|_| ()))?;
                if !self.eat(b'L') {
                    return Err(Fail::Invalid);
                }
                let lt = self.base62()?;
                if lt != 0 {
                    self.print(" + ")?;
                    self.lifetime(lt)?;
                }
                Ok(())
            }
            b'B' => self.backref(Self::ty_inner),
            _ => {
                self.pos -= 1;
                self.path(false)
            }
        }
    }

    /// A trait of a `dyn`, with its associated types (`Iterator<Item = u8>`).
    fn dyn_trait(&mut self) -> Parsed {
        let mut open = self.path_maybe_open()?;
        while self.eat(b'p') {
            self.print(if open { ", " } else { "<" })?;
            open = true;
            let name = self.ident()?;
            self.print(name)?;
            self.print(" = ")?;
            self.ty()?;
        }
        if open {
            self.print(">")?;
        }
        Ok(())
    }

    /// A path whose generic arguments stay open for more (`Trait<A`);
    /// whether they are.
    fn path_maybe_open(&mut self) -> Parsed<bool> {
        if self.eat(b'B') {
            return self.backref(Self::path_maybe_open);
        }
        if self.eat(b'I') {
            self.path(false)?;
            self.print("<")?;
            self.list(b'E', ", ", Self::generic_arg)?;
            return Ok(true);
        }
        self.path(false)?;
        Ok(false)
    }

    /// A constant: integers, `bool`, `char`, `_` (a placeholder);
    /// other kinds are refused.
    fn konst(&mut self) -> Parsed {
        self.nested(Self::konst_inner)
    }

    fn konst_inner(&mut self) -> Parsed {
        let tag = self.next()?;
        match tag {
            b'p' => self.print("_"),
            b'B' => self.backref(Self::konst_inner),
            b'h' | b't' | b'm' | b'y' | b'o' | b'j' | b'a' | b's' | b'l' | b'x' | b'n' | b'i' => {
                let negative = self.eat(b'n');
                if negative && matches!(tag, b'h' | b't' | b'm' | b'y' | b'o' | b'j') {
                    return Err(Fail::Invalid);
                }
                let v = self.hex()?;
                if negative {
                    self.print("-")?;
                }
                Ok(write!(self.out, "{v}")?)
            }
            b'b' => match self.hex()? {
                0 => self.print("false"),
                1 => self.print("true"),
                _ => Err(Fail::Invalid),
            },
            b'c' => {
                let c = u32::try_from(self.hex()?)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or(Fail::Invalid)?;
                Ok(write!(self.out, "{c:?}")?)
            }
            _ => Err(Fail::Invalid),
        }
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

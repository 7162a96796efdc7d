// SPDX-License-Identifier: GPL-2.0

//! Paths: the symbol's own, its nested names (crates, modules, impls,
//! closures and shims), generic arguments, lifetimes and binders.

use super::{Discard, Fail, Parsed, Printer};
use core::fmt::Write;

impl<W: Write> Printer<'_, W> {
    /// A path parsed (to check it) and not written: an impl's own path,
    /// the instantiating crate.
    pub(super) fn skip_path(&mut self) -> Parsed {
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
    pub(super) fn path_top(&mut self) -> Parsed {
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
    pub(super) fn path(&mut self, value: bool) -> Parsed {
        self.nested(|p| p.path_inner(value))
    }

    pub(super) fn path_inner(&mut self, value: bool) -> Parsed {
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
    pub(super) fn list(
        &mut self,
        end: u8,
        sep: &str,
        item: fn(&mut Self) -> Parsed,
    ) -> Parsed<usize> {
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

    pub(super) fn generic_arg(&mut self) -> Parsed {
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
    pub(super) fn lifetime(&mut self, lt: u64) -> Parsed {
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
    pub(super) fn binder(&mut self, f: impl FnOnce(&mut Self) -> Parsed) -> Parsed {
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
}

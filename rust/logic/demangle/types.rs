// SPDX-License-Identifier: GPL-2.0

//! Types and constants: the basic ones, references, pointers, arrays,
//! slices, tuples, function pointers, `dyn` traits, and integer, `bool`
//! and `char` constants.

use super::{basic_type, Fail, Parsed, Printer};
use core::fmt::Write;

impl<W: Write> Printer<'_, W> {
    pub(super) fn ty(&mut self) -> Parsed {
        self.nested(Self::ty_inner)
    }

    pub(super) fn ty_inner(&mut self) -> Parsed {
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
    pub(super) fn dyn_trait(&mut self) -> Parsed {
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
    pub(super) fn path_maybe_open(&mut self) -> Parsed<bool> {
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
    pub(super) fn konst(&mut self) -> Parsed {
        self.nested(Self::konst_inner)
    }

    pub(super) fn konst_inner(&mut self) -> Parsed {
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
}

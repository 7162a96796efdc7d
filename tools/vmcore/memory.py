#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A dead (or live) kernel's memory, served to stopwatch-timeline --vmcore.

drgn does what only it can: open a kdump vmcore, a QEMU dump-guest-memory
core (or /proc/kcore, untested), walk the kernel's page tables, search physical memory
and name addresses. Everything stopwatch reads there, and everything it
makes of it, is in Rust (rust/logic/vmcore/read.rs); this program only
answers requests, one per line on stdin, one line each on stdout:

  find HEX            -> ok ADDR...   physical addresses where bytes HEX start
  read ADDR LEN       -> ok HEX       LEN bytes at virtual ADDR
  readp ADDR LEN      -> ok HEX       the same, physical
  sym ADDR            -> ok NAME      "fn+0x1a/0x40 [mod]", or "none"
  addr NAME           -> ok ADDR      the address of the kernel symbol NAME
  percpu NAME CPU     -> ok ADDR      CPU's copy of the per-CPU variable NAME
                                      (per_cpu_ptr()); needs debug info
  offset STRUCT MEMBER -> ok OFF      offsetof(struct STRUCT, MEMBER), MEMBER
                                      may be nested (a.b.c); needs debug info
  const NAME          -> ok VALUE     the enumerator NAME; needs debug info
(numbers in hex)and "err MESSAGE" for a request that fails. Its first line is
"ready RELEASE" (the kernel's release) or "err MESSAGE", after which it
exits.
"""
import argparse
import bisect
import mmap
import os
import re
import sys


def vmcoreinfo_in(path):
    """The VMCOREINFO note's text, found in a core's memory: a QEMU
    dump-guest-memory core has no note unless the guest handed QEMU its
    address (-device vmcoreinfo and the qemu_fw_cfg driver); the note is in
    the guest's memory anyway (CONFIG_VMCORE_INFO)."""
    pattern = re.compile(
        rb"\x0b\x00\x00\x00(....)\x00\x00\x00\x00VMCOREINFO\x00\x00(?=OSRELEASE=)", re.S
    )
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        for match in pattern.finditer(m):
            size = int.from_bytes(match.group(1), "little")
            text = m[match.end() : match.end() + size].split(b"\x00")[0]
            if b"\nPAGESIZE=" in text:
                return text
    return None


class Kallsyms:
    """Names from a copy of /proc/kallsyms of the same boot."""

    def __init__(self, path):
        rows = []
        with open(path) as f:
            for line in f:
                parts = line.split()
                # Lines of anything else (a console's kernel messages) too.
                if len(parts) < 3 or len(parts[1]) != 1 or parts[1] in "aAUw":
                    continue
                try:
                    addr = int(parts[0], 16)
                except ValueError:
                    continue
                if addr == 0:
                    continue
                mod = parts[3].strip("[]") if len(parts) > 3 else None
                rows.append((addr, parts[2], mod))
        rows.sort()
        self.addrs = [r[0] for r in rows]
        self.rows = rows

    def name(self, addr):
        i = bisect.bisect_right(self.addrs, addr) - 1
        if i < 0:
            return None
        start, name, mod = self.rows[i]
        # The size as the kernel's kallsyms gives it: up to the next symbol.
        end = self.addrs[i + 1] if i + 1 < len(self.addrs) else start + 0x1000
        if addr >= end:
            return None
        text = f"{name}+0x{addr - start:x}/0x{end - start:x}"
        return f"{text} [{mod}]" if mod else text


def open_program(args):
    import drgn

    prog = drgn.Program()
    try:
        prog.set_core_dump(args.core)
        kernel = bool(prog.flags & drgn.ProgramFlags.IS_LINUX_KERNEL)
    except (ValueError, OSError):
        # drgn refuses a QEMU core without the note ("unrecognized QEMU
        # memory dump"): find the note, as below.
        kernel = False
    if not kernel:
        info = vmcoreinfo_in(args.core)
        if info is None:
            raise RuntimeError(
                "no VMCOREINFO in it: not a Linux kernel's memory, "
                "or a kernel without CONFIG_VMCORE_INFO (PROC_KCORE or CRASH_DUMP select it)"
            )
        prog = drgn.Program(vmcoreinfo=info)
        prog.set_core_dump(args.core)
    if args.debug:
        try:
            prog.load_debug_info(args.debug)
        except drgn.MissingDebugInfoError as e:
            print(f"memory.py: {e}", file=sys.stderr)
        # A file given that is no part of this kernel (a vmlinux or module
        # of another build, a module not loaded at the crash): drgn only
        # says so and ignores it; the names would be wrong or missing.
        used = set()
        for module in prog.modules():
            for path in (module.debug_file_path, module.loaded_file_path):
                if path:
                    used.add(os.path.realpath(path))
        for path in args.debug:
            if os.path.realpath(path) not in used:
                raise RuntimeError(
                    f"{path} is no part of the kernel in this memory "
                    "(a vmlinux or module of another build, or a module not loaded at the crash)"
                )
    return prog


def symbol_namer(prog, args):
    """Names from --kallsyms first (the modules), then from drgn: the debug
    files given, else the kernel's kallsyms through VMCOREINFO."""
    table = Kallsyms(args.kallsyms) if args.kallsyms else None
    if not args.debug:
        try:
            from drgn.helpers.linux.kallsyms import load_vmlinux_kallsyms

            prog.register_symbol_finder(
                "vmcoreinfo kallsyms", load_vmlinux_kallsyms(prog), enable_index=0
            )
        except Exception as e:  # an older kernel: no kallsyms in VMCOREINFO
            print(f"memory.py: no kallsyms from VMCOREINFO ({e})", file=sys.stderr)

    def name(addr):
        if table:
            found = table.name(addr)
            if found:
                return found
        try:
            s = prog.symbol(addr)
        except LookupError:
            return None
        text = f"{s.name}+0x{addr - s.address:x}/0x{s.size:x}"
        try:
            mod = prog.module(addr).name
        except (LookupError, AttributeError):
            mod = None
        return f"{text} [{mod}]" if mod and mod not in ("kernel", "vmlinux") else text

    return name


def serve(prog, name):
    import drgn

    release = "?"
    try:
        release = re.search(rb"OSRELEASE=(\S+)", prog["VMCOREINFO"].string_()).group(1).decode()
    except Exception:
        pass
    print(f"ready {release}", flush=True)
    for line in sys.stdin:
        req = line.split()
        try:
            if req[0] == "find":
                it = prog.search_memory(bytes.fromhex(req[1])).set_address_range(physical=True)
                out = "ok " + " ".join(f"{a:x}" for a in it)
            elif req[0] in ("read", "readp"):
                data = prog.read(int(req[1], 16), int(req[2]), req[0] == "readp")
                out = "ok " + data.hex()
            elif req[0] == "addr":
                out = f"ok {prog.symbol(req[1]).address:x}"
            elif req[0] == "percpu":
                from drgn.helpers.linux.percpu import per_cpu_ptr

                ptr = per_cpu_ptr(prog[req[1]].address_of_(), int(req[2]))
                out = f"ok {ptr.value_():x}"
            elif req[0] == "offset":
                out = f"ok {drgn.offsetof(prog.type('struct ' + req[1]), req[2]):x}"
            elif req[0] == "const":
                out = f"ok {prog.constant(req[1]).value_():x}"
            elif req[0] == "sym":
                n = name(int(req[1], 16))
                out = f"ok {n}" if n else "none"
            else:
                out = f"err unknown request {req[0]}"
        except Exception as e:
            out = "err " + str(e).replace("\n", " ")
        print(out, flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-c", "--core", required=True, help="vmcore, QEMU core or /proc/kcore")
    p.add_argument("-s", "--debug", action="append", default=[], help="vmlinux or a .ko with symbols")
    p.add_argument("--kallsyms", help="a copy of /proc/kallsyms of the same boot")
    args = p.parse_args()
    try:
        prog = open_program(args)
        name = symbol_namer(prog, args)
    except ImportError:
        print("err drgn is not installed for this python (scripts/vmcore installs it)", flush=True)
        sys.exit(1)
    except Exception as e:
        print("err " + str(e).replace("\n", " "), flush=True)
        sys.exit(1)
    serve(prog, name)


if __name__ == "__main__":
    main()

"""AMDGCN: the classification table and a parser of ``llvm-objdump -d`` output.

``llvm-objdump --triple=amdgcn-amd-amdhsa --mcpu=gfx90a -d code.o`` prints a header per kernel
symbol and one instruction a line, with its address, encoding and, for a branch, its target::

    0000000000001600 <C_kernel>:
    	ds_read_b128 v[4:7], v2 offset:512                 // 000000001690: D9FE0200 04000002
    	s_cbranch_scc1 26                                  // 000000001668: BF85001A <C_kernel+0xd4>

Widths come from the mnemonic's size part (``ds_read_b128`` and ``global_load_dwordx4`` = 16
bytes per thread; ``ds_read2_b32`` = two dwords). Vortex addresses global memory through
global/flat pointers, so ``scratch_*`` and ``buffer_*`` accesses in its code objects are the
private (scratch) memory of spills and stack arrays. Sources: LLVM "User Guide for AMDGPU
Backend" (instruction syntax, memory spaces) and the AMD Instinct MI200 ISA reference.
"""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

from .model import Instr, OpClass, Rule, Width
from .tools import LLVM_OBJDUMP

TOOL = LLVM_OBJDUMP
NAME = "AMDGCN"

_SIZE = Width({"b8": 1, "u8": 1, "i8": 1, "byte": 1, "ubyte": 1, "sbyte": 1,
               "b16": 2, "u16": 2, "i16": 2, "short": 2, "ushort": 2, "sshort": 2,
               "b32": 4, "dword": 4, "b64": 8, "dwordx2": 8, "b96": 12, "dwordx3": 12,
               "b128": 16, "dwordx4": 16},
              sep="_", repeats={"read2": 2, "write2": 2, "read2st64": 2, "write2st64": 2,
                                "2addr": 2})

RULES = (
    Rule(r"v_(mfma|smfmac|wmma)", OpClass.TENSOR),
    Rule(r"v_pk_fmac?_", OpClass.FMA, lanes=2),
    Rule(r"v_fmac?_|v_fma_mix|v_mac_f|v_mad_(legacy_)?f(16|32)", OpClass.FMA),
    Rule(r"v_pk_mul_f(16|32)", OpClass.MUL, lanes=2),
    Rule(r"v_mul_(legacy_)?f(16|32|64)", OpClass.MUL),
    Rule(r"v_pk_(add|sub)_f(16|32)", OpClass.ADD, lanes=2),
    Rule(r"v_(add|sub|subrev)_f(16|32|64)", OpClass.ADD),
    Rule(r"ds_(read|load)", OpClass.SHARED_LOAD, _SIZE),
    Rule(r"ds_(write|store)", OpClass.SHARED_STORE, _SIZE),
    Rule(r"(global|flat)_load", OpClass.GLOBAL_LOAD, _SIZE),
    Rule(r"(global|flat)_store", OpClass.GLOBAL_STORE, _SIZE),
    Rule(r"(scratch|buffer)_load", OpClass.LOCAL_LOAD, _SIZE),
    Rule(r"(scratch|buffer)_store", OpClass.LOCAL_STORE, _SIZE),
    Rule(r"s_barrier\b", OpClass.BARRIER),
)

_SYMBOL = re.compile(r"^([0-9a-f]+) <([^>]+)>:")
_INSTR = re.compile(r"^\s+([a-z]\w*)\b.*?//\s*([0-9A-F]+):[0-9A-F ]*(?:<([^>+]+)(?:\+0x([0-9a-f]+))?>)?")
# branches that can close a loop; s_cbranch_execz (skip a block no lane runs) never does, though
# block placement can make it jump backwards to a join block (s_or_b64 exec, exec, …)
_BRANCHES = re.compile(r"s_branch|s_cbranch_(scc[01]|vccz|vccnz|execnz)\b")


def disassemble(binary: bytes, arch: str) -> str:
    """``llvm-objdump -d`` of the code object ``binary`` (an ELF, not an offload bundle)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "kernel.co"
        path.write_bytes(binary)
        return TOOL.run("--triple=amdgcn-amd-amdhsa", f"--mcpu={arch}", "-d", str(path))


def parse(text: str) -> dict:
    """``{kernel: [Instr]}`` from ``llvm-objdump`` output (symbols ending in ``.kd``, the
    kernel descriptors, are data and skipped)."""
    kernels, symbols, current = {}, {}, None
    for line in text.splitlines():
        if m := _SYMBOL.match(line):
            symbols[m.group(2)] = int(m.group(1), 16)
            current = None if m.group(2).endswith(".kd") else kernels.setdefault(m.group(2), [])
            continue
        m = _INSTR.match(line)
        if m is None or current is None:
            continue
        mnemonic, addr, symbol, offset = m.groups()
        target = None
        if symbol is not None and _BRANCHES.match(mnemonic):
            target = (symbol, int(offset or "0", 16))
        current.append((int(addr, 16), mnemonic, target))
    return {k: [Instr(a, mn, symbols[t[0]] + t[1] if t and t[0] in symbols else None)
                for a, mn, t in v] for k, v in kernels.items()}
